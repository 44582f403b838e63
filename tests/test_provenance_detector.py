"""The provenance detector behind the Detector interface, on real files."""

import hashlib

import cv2
import pytest

from fakelens.config import Settings
from fakelens.detectors import DETECTORS, Signal, load_detectors
from fakelens.media.types import Frame, Media
from fakelens.models import ModelStore
from fakelens.provenance import watermark
from test_provenance_support import imwatermark_encode, photo_like


def _media(path, kind="image", mime="image/jpeg", frame=None):
    data = path.read_bytes()
    h, w = (frame.shape[:2] if frame is not None else (0, 0))
    return Media(kind=kind, path=str(path), sha256=hashlib.sha256(data).hexdigest(), width=w, height=h,
                 mime=mime, frames=[Frame(0, 0.0, frame)] if frame is not None else [])


@pytest.fixture
def detector(tmp_path):
    cls = DETECTORS["provenance"]
    assert cls.task is None and cls.kinds == ("image", "video")
    return cls(None, None, Settings(home=tmp_path))


def test_registered_and_loaded_without_a_model(tmp_path):
    settings = Settings(home=tmp_path)
    models = ModelStore(settings.models_dir)
    assert any(d.name == "provenance" for d in load_detectors(models, settings))


def test_plain_photo_gives_no_score(tmp_path, detector):
    img = photo_like(480, 640)
    path = tmp_path / "p.jpg"
    cv2.imwrite(str(path), img)
    sig = detector.run(_media(path, frame=cv2.imread(str(path))))
    assert isinstance(sig, Signal) and sig.detector == "provenance" and sig.flags == "ai_generated"
    assert sig.score is None
    assert set(sig.provenance) >= {"status", "trusted", "signer", "generator", "ai_generated", "actions", "codes"}
    assert sig.provenance["status"] == "none" and "strip" in sig.detail["reason"]


def test_marked_frame_is_used_and_flags_ai(tmp_path, detector):
    marked = imwatermark_encode(photo_like(512, 512, seed=2), watermark.MARKS[0].bits)
    path = tmp_path / "m.png"
    cv2.imwrite(str(path), marked)
    sig = detector.run(_media(path, mime="image/png", frame=cv2.imread(str(path))))
    assert sig.provenance["ai_generated"] and sig.score >= sig.threshold
    assert sig.to_dict(decisive=True)["detail"]["reason"] == sig.detail["reason"]


def test_video_without_credentials(tmp_path, detector):
    path = tmp_path / "v.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 5, (160, 120))
    if not writer.isOpened():
        pytest.skip("this OpenCV build cannot write MP4")
    for i in range(5):
        writer.write(photo_like(120, 160, seed=i))
    writer.release()
    sig = detector.run(_media(path, kind="video", mime="video/mp4"))
    assert sig.score is None and sig.provenance["status"] == "none"


def test_corrupt_file_does_not_crash(tmp_path, detector):
    path = tmp_path / "bad.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00garbage-garbage")
    sig = detector.run(_media(path))
    assert sig.provenance["status"] == "none" and sig.score is None
