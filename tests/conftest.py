"""Shared fixtures: settings in a temporary data folder, the Flask app, and the real server in a subprocess."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from fakelens.api import create_app
from fakelens.config import Settings
from support.live_backend import start_backend

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
BASE_URL = "http://127.0.0.1:8731"


def need_shared(*parts) -> Path:
    """A path in ../shared/data, or skip the test where the data set is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (the development data lives in ../shared/data)")
    return path


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(home=tmp_path / "home", allow_loopback=True, workers=1, sync_wait_s=0.0,
                    read_timeout_s=3.0, fetch_wall_s=20.0)


@pytest.fixture
def app(settings):
    app = create_app(settings)
    yield app
    app.extensions["fakelens"]["pool"].stop()
    app.extensions["fakelens"]["store"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth(app) -> dict:
    return {"Authorization": f"Bearer {app.config['TOKEN'].current()}"}


@pytest.fixture
def face_jpeg(tmp_path) -> Path:
    """A 1080p JPEG with one real face (UTKFace, scaled up) on a plain background."""
    face = cv2.imread(str(need_shared("faces-real", "utkface", "100_1_0_20170110183726390.jpg.chip.jpg")))
    canvas = np.full((1080, 1920, 3), 200, np.uint8)
    canvas[240:840, 660:1260] = cv2.resize(face, (600, 600), interpolation=cv2.INTER_CUBIC)
    path = tmp_path / "face-1080p.jpg"
    cv2.imwrite(str(path), canvas, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path


@pytest.fixture
def plain_jpeg(tmp_path) -> Path:
    """A small JPEG without a face."""
    img = np.zeros((120, 160, 3), np.uint8)
    img[:, :, 1] = np.linspace(0, 255, 160, dtype=np.uint8)
    path = tmp_path / "plain.jpg"
    cv2.imwrite(str(path), img)
    return path


@pytest.fixture(scope="session")
def live_backend(tmp_path_factory):
    """The real `fakelens serve` (waitress) in a subprocess, loopback downloads allowed for the tests."""
    backend = start_backend(tmp_path_factory.mktemp("live-home"))
    yield backend
    backend.stop()
