"""Shared fixtures: settings in a temporary data folder, the Flask app, and the real server in a subprocess."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests

from fakelens.api import create_app
from fakelens.config import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
BASE_URL = "http://127.0.0.1:8731"


def need_shared(*parts) -> Path:
    """A path in ../shared/data, or skip the test where the data set is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (the development data lives in ../shared/data)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class LiveBackend:
    def __init__(self, home: Path, port: int, env: dict):
        self.home, self.port, self.env = home, port, env
        self.url = f"http://127.0.0.1:{port}"
        self.proc = None
        self.token = None

    def start(self, timeout: float = 60.0):
        log = open(self.home / "serve.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "fakelens.cli", "serve", "--port", str(self.port)],
                                     env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fakelens serve exited: {(self.home / 'serve.log').read_text()[-2000:]}")
            try:
                if requests.get(self.url + "/api/v1/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        else:
            raise RuntimeError("fakelens serve did not answer in time")
        self.token = (self.home / "token").read_text().strip()
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


def start_backend(home: Path, port: int | None = None, **env_extra) -> LiveBackend:
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "FAKELENS_HOME": str(home), "FAKELENS_ALLOW_LOOPBACK": "1",
           "FAKELENS_WORKERS": "1", **{k: str(v) for k, v in env_extra.items()}}
    return LiveBackend(home, port or free_port(), env).start()


@pytest.fixture(scope="session")
def live_backend(tmp_path_factory):
    """The real `fakelens serve` (waitress) in a subprocess, loopback downloads allowed for the tests."""
    backend = start_backend(tmp_path_factory.mktemp("live-home"))
    yield backend
    backend.stop()
