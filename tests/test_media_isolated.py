"""A video's frames are sampled in a process of its own (media/isolated.py): killed at decode_wall_s,
counted from before FFmpeg opens the file, and on cancel; the frames it sends back are the ones the
server's own process would have decoded; nothing is left behind.

The slow file is an FLV whose metadata (onMetaData) names tens of thousands of keys: FFmpeg looks each
new key up among those before it as it opens the file, so the open costs the count squared (50,000
keys in 0.5 MB: 3 s each time the file is opened, and sampling opens it two or three times).
"""

import io
import os
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import BASE_URL, need_shared
from test_api_robustness import CHECKS, wait_status
from test_media_bombs import flv_of_25_frames
from fakelens.analyze import load_media
from fakelens.api import create_app
from fakelens.config import Settings
from fakelens.errors import FakeLensError
from fakelens.media.video import sample_frames


def flv_with_metadata_keys(keys: int) -> bytes:
    """flv_of_25_frames whose onMetaData names `keys` keys."""
    base = flv_of_25_frames()
    entries = b"".join(struct.pack(">H", 6) + b"k%05d" % i + b"\x01\x01" for i in range(keys))   # k00001: true
    body = (b"\x02" + struct.pack(">H", 10) + b"onMetaData" + b"\x08" + struct.pack(">I", keys) + entries
            + b"\x00\x00\x09")
    tag = b"\x12" + struct.pack(">I", len(body))[1:] + bytes(7) + body + struct.pack(">I", 11 + len(body))
    return base[:13] + tag + base[13:]


@pytest.fixture(scope="module")
def slow_flv(tmp_path_factory) -> Path:
    """40,000 keys: about 2 s each time FFmpeg opens it here, 4 s for a sampling in the server's process."""
    path = tmp_path_factory.mktemp("slow") / "metadata.flv"
    path.write_bytes(flv_with_metadata_keys(40_000))
    return path


@pytest.fixture
def children(monkeypatch) -> list:
    """The processes started (by fakelens.isolation), as they start."""
    started = []
    popen = subprocess.Popen

    def recording(*args, **kwargs):
        child = popen(*args, **kwargs)
        started.append(child)
        return child

    monkeypatch.setattr(subprocess, "Popen", recording)
    return started


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_video_whose_opening_is_slow_is_stopped_at_the_time_limit(tmp_path, slow_flv, children):
    settings = Settings(home=tmp_path / "h", decode_wall_s=0.5)
    started = time.monotonic()
    with pytest.raises(FakeLensError) as err:
        load_media(slow_flv, "video", "video/x-flv", settings, sha="x")
    took = time.monotonic() - started
    assert err.value.code == "too_long" and err.value.message == "decoding passed the 0.5 s limit"
    assert took < 2.5, took   # in the server's process: two opens of 2 s each before any limit looked
    assert len(children) == 1 and gone(children[0].pid)


def test_cancel_during_decoding_kills_the_child_at_once(tmp_path, slow_flv, children):
    settings = Settings(home=tmp_path / "h")
    asked = time.monotonic() + 0.8
    started = time.monotonic()
    with pytest.raises(FakeLensError) as err:
        load_media(slow_flv, "video", "video/x-flv", settings, sha="x", cancelled=lambda: time.monotonic() > asked)
    assert err.value.code == "cancelled"
    assert time.monotonic() - started < 2.0
    assert len(children) == 1 and children[0].returncode == -9 and gone(children[0].pid)


def test_frames_and_info_from_the_child_are_those_decoded_here(tmp_path, children, monkeypatch):
    clip = need_shared("deepfake-clips", "dfo_real.mp4")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temp"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "temp"))   # the child's, a fresh interpreter's
    (tmp_path / "temp").mkdir()
    settings = Settings(home=tmp_path / "h")
    told = []
    media = load_media(clip, "video", "video/mp4", settings, sha="x", progress=told.append)
    here, info = sample_frames(clip, settings.video_frames, settings)
    assert len(children) == 1 and gone(children[0].pid)   # killed once it said "done", if not ended yet
    assert (media.width, media.height, media.duration, media.declared_duration) == (
        info["width"], info["height"], info["duration"], info["declared_duration"])
    assert [(f.index, f.t) for f in media.frames] == [(f.index, f.t) for f in here]
    for got, want in zip(media.frames, here):
        assert got.image.dtype == np.uint8 and got.image.flags.writeable and np.array_equal(got.image, want.image)
    assert told and told[-1] == 1.0
    assert not any((tmp_path / "temp").iterdir())   # the frames came through the pipe: no file to leave


def test_errors_keep_their_code_and_message_and_nothing_is_left_behind(tmp_path, slow_flv, children):
    folder = tmp_path / "clips"
    folder.mkdir()
    broken = folder / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(200))
    settings = Settings(home=tmp_path / "h")
    with pytest.raises(FakeLensError) as err:
        load_media(broken, "video", "video/mp4", settings, sha="x")
    with pytest.raises(FakeLensError) as here:
        sample_frames(broken, 16, settings)
    assert (err.value.code, err.value.message) == (here.value.code, here.value.message)
    assert sorted(p.name for p in folder.iterdir()) == ["broken.mp4"]
    assert all(gone(child.pid) for child in children)


def test_a_cancelled_slow_video_no_longer_holds_the_only_worker(tmp_path, face_jpeg):
    """API, one worker: a video stuck in FFmpeg's open is cancelled, and the next check runs at once."""
    app = create_app(Settings(home=tmp_path / "home", workers=1, sync_wait_s=0, cache=False))
    try:
        client = app.test_client()
        headers = {"Authorization": f"Bearer {app.config['TOKEN'].current()}"}
        post = lambda name, data: client.post(CHECKS, base_url=BASE_URL, headers=headers,  # noqa: E731
                                              data={"media": (data, name)}).get_json()["id"]

        wait = lambda check_id, states, timeout: wait_status(client, headers, check_id, states, timeout)  # noqa: E731

        picture = face_jpeg.read_bytes()
        assert wait(post("a.jpg", io.BytesIO(picture)), {"done", "failed"}, 60)["status"] == "done"   # models loaded
        slow = post("slow.flv", io.BytesIO(flv_with_metadata_keys(50_000)))   # 3 s an open here
        assert wait(slow, {"running"}, 20)["status"] == "running"
        time.sleep(0.5)   # in FFmpeg's open
        assert client.delete(f"{CHECKS}/{slow}", base_url=BASE_URL, headers=headers).status_code == 200
        cancelled = time.monotonic()
        after = post("b.jpg", io.BytesIO(picture + b"\0"))   # other bytes: not the same check
        body = wait(after, {"done", "failed"}, 30)
        assert body["status"] == "done", body
        assert time.monotonic() - cancelled < 2.5   # before: the worker stayed in FFmpeg for 6 s and more
        assert wait(slow, {"cancelled"}, 5)["status"] == "cancelled"
    finally:
        app.extensions["fakelens"]["pool"].stop()
        app.extensions["fakelens"]["store"].close()


def test_a_module_in_the_working_folder_does_not_stand_in_for_the_librarys(tmp_path, monkeypatch, children):
    """`python -m` puts the working folder first on sys.path: started where a user keeps a json.py of
    their own, every video failed as "decoding the video stopped unexpectedly" (images, decoded by the
    `fakelens` script's own process, still worked)."""
    clip = need_shared("deepfake-clips", "dfo_real.mp4")
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "json.py").write_text("raise ImportError('the json.py of a user, not the library')\n")
    monkeypatch.chdir(folder)
    media = load_media(clip, "video", "video/mp4", Settings(home=tmp_path / "h"), sha="x")
    assert len(media.frames) == Settings(home=tmp_path / "h").video_frames


def test_a_child_is_not_started_while_a_decoder_has_the_servers_stderr():
    """An image decode swaps the process's stderr (fd 2) for a file that reads libjpeg's messages. A video
    or download child started meanwhile kept that file as its stderr, and what it wrote after the swap
    ended (FFmpeg's messages, a traceback) went nowhere. A child is started once the swap is over."""
    import threading

    from fakelens.isolation import child_process
    from fakelens.media.image import library_messages

    inside, ended = threading.Event(), []

    def decoding():
        with library_messages():
            inside.set()
            time.sleep(1.0)
            ended.append(time.monotonic())

    worker = threading.Thread(target=decoding)
    worker.start()
    assert inside.wait(5)
    with child_process("json.tool", None) as child:   # (any module: this one reads stdin and ends)
        started = time.monotonic()
        child.wait(30)
    worker.join()
    assert ended and started >= ended[0]
