"""A real server killed mid-check loses nothing: queued checks run after the restart, an interrupted one
runs again, and one interrupted twice is failed with its reason. Stopped in good order (Ctrl+C,
SIGTERM) it puts the running check back as it was; a second server on the same port or data folder
is refused and leaves the first one's checks alone."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from conftest import need_shared
from support.live_backend import free_port, start_backend
from fakelens.config import load_settings
from fakelens.jobs import JobPool
from fakelens.store import Store


def upload(backend, path, **params):
    with open(path, "rb") as fh:
        r = requests.post(f"{backend.url}/api/v1/checks", params={"wait": 0, **params},
                          headers=backend.headers, files={"media": (path.name, fh)}, timeout=30)
    assert r.status_code in (200, 202), r.text
    return r.json()["id"]


def status(backend, check_id):
    r = requests.get(f"{backend.url}/api/v1/checks/{check_id}", headers=backend.headers, timeout=10)
    return r.json()


def wait_for(backend, check_id, states, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = status(backend, check_id)
        if body["status"] in states:
            return body
        time.sleep(0.1)
    raise AssertionError(f"{check_id} never reached {states}: {body}")


def uploads_left(home, wait_s: float = 10.0) -> list:
    """The upload files still there once they had `wait_s` to go (each goes just after its result is stored)."""
    deadline = time.monotonic() + wait_s
    while (left := list((home / "uploads").iterdir())) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def kill(backend):
    backend.proc.send_signal(signal.SIGKILL)
    backend.proc.wait(10)


def test_restart_keeps_every_check(tmp_path, plain_jpeg):
    video = need_shared("deepfake-clips", "dfo_fake.mp4")   # 1080p: several seconds of work
    home = tmp_path / "home"
    env = {"FAKELENS_VIDEO_FRAMES": 48, "FAKELENS_CACHE": 0}
    backend = start_backend(home, **env)
    try:
        slow = upload(backend, video)
        queued = [upload(backend, plain_jpeg) for _ in range(2)]
        wait_for(backend, slow, {"running"})
        kill(backend)                                   # 1st interruption, others still queued
        backend = start_backend(home, port=backend.port, **env)
        wait_for(backend, slow, {"running"})
        assert status(backend, slow)["progress"]["stage"] is not None
        kill(backend)                                   # 2nd interruption of the same check
        backend = start_backend(home, port=backend.port, **env)
        failed = wait_for(backend, slow, {"failed", "done"})
        assert failed["status"] == "failed"
        assert failed["error"]["code"] == "interrupted" and "stopped 2 times" in failed["error"]["message"]
        for check_id in queued:
            assert wait_for(backend, check_id, {"done", "failed"})["status"] == "done"
        assert not uploads_left(home), "uploaded files must be removed once checked"
    finally:
        backend.stop()


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_stopping_puts_the_running_check_back(tmp_path, how):
    video = need_shared("deepfake-clips", "dfo_fake.mp4")
    home = tmp_path / "home"
    env = {"FAKELENS_VIDEO_FRAMES": 48, "FAKELENS_CACHE": 0}
    backend = start_backend(home, **env)
    try:
        slow = upload(backend, video)
        wait_for(backend, slow, {"running"})
        backend.proc.send_signal(how)
        # stopping waits up to 5 s per worker; on a loaded machine (2 cores, the suite and a training
        # job beside it) the whole exit once took over 20 s
        assert backend.proc.wait(45) == 0
        store = Store(home / "fakelens.db")
        check = store.get(slow)
        store.close()
        assert check["status"] == "queued" and check["attempts"] == 0, check   # not "cancelled"
        assert Path(check["request"]["path"]).exists(), "its upload is kept for the next start"
        backend = start_backend(home, port=backend.port, **env)
        assert wait_for(backend, slow, {"done", "failed", "cancelled"}, timeout=180)["status"] == "done"
        assert not uploads_left(home)
    finally:
        backend.stop()


@pytest.mark.parametrize("cancelled", [False, True])
def test_a_check_stuck_on_a_silent_server_goes_back_as_it_was_too(tmp_path, plain_jpeg, cancelled):
    """Stopping waits a few seconds for each worker; one blocked in a read from a silent server
    (up to read_timeout_s) outlasts that. Its check must still go back uncounted, not be taken for
    a crash at the next start (and failed at the second stop); one the user cancelled stays cancelled."""
    from support.httpd import MediaServer

    home = tmp_path / "home"
    media = tmp_path / "media"
    media.mkdir()
    with MediaServer(media) as site:
        backend = start_backend(home, FAKELENS_READ_TIMEOUT_S=60, FAKELENS_CACHE=0)
        try:
            r = requests.post(f"{backend.url}/api/v1/checks", params={"wait": 0}, headers=backend.headers,
                              json={"url": site.url("/stall"), "kind": "image"}, timeout=30)
            stuck = r.json()["id"]
            wait_for(backend, stuck, {"running"})
            deadline = time.monotonic() + 20
            while "/stall" not in site.seen and time.monotonic() < deadline:   # in the silent read
                time.sleep(0.05)
            assert "/stall" in site.seen
            time.sleep(0.3)
            if cancelled:   # the worker, stuck in its read, cannot notice before the stop
                requests.delete(f"{backend.url}/api/v1/checks/{stuck}", headers=backend.headers, timeout=10)
            backend.proc.send_signal(signal.SIGTERM)
            assert backend.proc.wait(30) == 0
        finally:
            backend.stop()
    store = Store(home / "fakelens.db")
    check = store.get(stuck)
    store.close()
    if cancelled:
        assert check["status"] == "cancelled", check
    else:
        assert check["status"] == "queued" and check["attempts"] == 0, check


def serve_again(home, port) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fakelens.cli", "--home", str(home), "serve", "--port", str(port)],
                          capture_output=True, text=True, timeout=60)


def test_a_second_server_is_refused_and_leaves_the_first_alone(tmp_path, plain_jpeg):
    video = need_shared("deepfake-clips", "dfo_fake.mp4")
    home = tmp_path / "home"
    backend = start_backend(home, FAKELENS_VIDEO_FRAMES=48, FAKELENS_CACHE=0)
    try:
        slow = upload(backend, video)
        queued = upload(backend, plain_jpeg)
        wait_for(backend, slow, {"running"})
        same_port = serve_again(home, backend.port)
        assert same_port.returncode == 2 and "Is FakeLens already running?" in same_port.stderr, same_port
        assert "pairing token" not in same_port.stdout
        other_port = serve_again(home, free_port())
        assert other_port.returncode == 2, other_port
        assert "another FakeLens server is using the data folder" in other_port.stderr
        for check_id in (slow, queued):
            assert wait_for(backend, check_id, {"done", "failed", "cancelled"}, timeout=180)["status"] == "done"
    finally:
        backend.stop()


def test_cancel_running_check(tmp_path):
    video = need_shared("deepfake-clips", "dfo_fake.mp4")
    backend = start_backend(tmp_path / "home", FAKELENS_VIDEO_FRAMES=48)
    try:
        check_id = upload(backend, video)
        wait_for(backend, check_id, {"running"})
        r = requests.delete(f"{backend.url}/api/v1/checks/{check_id}", headers=backend.headers, timeout=10)
        assert r.status_code == 200
        body = wait_for(backend, check_id, {"cancelled", "done", "failed"}, timeout=30)
        assert body["status"] == "cancelled" and body["error"]["code"] == "cancelled"
    finally:
        backend.stop()


def test_a_check_that_outlives_the_stop_keeps_its_upload_for_the_next_start(tmp_path, face_jpeg):
    """stop() waits a while for each worker, then puts a check still running back in the queue. A
    worker that ends it after that (it was blocked where it could not notice the stop) must leave its
    upload, or the check fails at the next start for want of its file."""
    import threading

    from fakelens.analyze import Analyzer

    settings = load_settings(home=tmp_path / "home", workers=1)
    analyzer, started, go = Analyzer(settings), threading.Event(), threading.Event()
    real = analyzer.analyze

    def blocked(request, workdir, progress, cancelled, pictured):   # the real analysis, after the stop
        started.set()
        go.wait(30)
        return real(request, workdir, progress, lambda: False, pictured)   # blind to the stop, as when blocked

    analyzer.analyze = blocked
    store = Store(tmp_path / "home" / "fakelens.db")
    pool = JobPool(settings, store, analyzer)
    pool.start()
    with face_jpeg.open("rb") as fh:
        path = pool.save_upload(fh, 1 << 30)
    check_id = pool.submit({"path": str(path), "kind": "image"})
    assert started.wait(30)
    pool.stop(timeout=0)   # gives up on the worker at once: the check goes back in the queue
    assert store.get(check_id)["status"] == "queued"
    go.set()
    pool._threads[0].join(60)
    assert store.get(check_id)["status"] == "queued" and path.exists()
    again = JobPool(settings, store, Analyzer(settings))   # the next start runs it
    again.start()
    try:
        deadline = time.monotonic() + 60
        while store.get(check_id)["status"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert store.get(check_id)["status"] == "done", store.get(check_id)
    finally:
        again.stop()


def test_start_removes_uploads_no_waiting_check_names(tmp_path):
    """A kill between a check finishing and its file being removed leaves an orphan upload behind."""
    settings = load_settings(home=tmp_path / "home")
    store = Store(tmp_path / "home" / "fakelens.db")
    pool = JobPool(settings, store, analyzer=None)
    waiting, spelled, finished, orphan = (pool.uploads / f"{name}.upload"
                                          for name in ("waiting", "spelled", "finished", "orphan"))
    for path in (waiting, spelled, finished, orphan):
        path.write_bytes(b"media")
    store.create({"path": str(waiting), "kind": "image"})
    # the same folder spelled another way, as when the data folder was first given as a relative path
    store.create({"path": str(pool.uploads / ".." / "uploads" / spelled.name), "kind": "image"})
    store.create({"path": str(finished), "kind": "image"}, status="done", result={"media": {}}, media={})
    left = pool.work / "check-dead" / "fetch-1" / "media.mp4"   # a server killed mid-download left this
    left.parent.mkdir(parents=True)
    left.write_bytes(b"video")
    mine = pool.work / "notes.txt"   # a data folder given as an existing folder with its own work/
    mine.write_text("a user's file")
    pool._recover()   # what start() does before any worker or request runs
    assert waiting.exists() and spelled.exists() and not finished.exists() and not orphan.exists()
    assert not (pool.work / "check-dead").exists() and mine.read_text() == "a user's file"


def test_start_removes_the_temporary_copies_a_dead_server_left_in_the_spool(tmp_path):
    """Request bodies waitress buffers and form files Werkzeug spools go to work/spool (`fakelens
    serve` points tempfile there); a server killed while one was open (where the file system cannot
    keep them nameless) leaves it behind: removed at the next start, and nothing else is."""
    settings = load_settings(home=tmp_path / "home")
    pool = JobPool(settings, Store(tmp_path / "home" / "fakelens.db"), analyzer=None)
    spool = tmp_path / "home" / "work" / "spool"
    spool.mkdir(parents=True)
    left = spool / "tmpk3x_9q2a"   # tempfile's names
    left.write_bytes(b"a request body")
    mine = pool.work / "tmp-notes.txt"   # a data folder given as an existing folder with its own work/
    mine.write_text("a user's file")
    pool._recover()
    assert not left.exists() and spool.is_dir() and mine.read_text() == "a user's file"


def test_a_queued_upload_whose_file_is_gone_fails_plainly_after_restart(tmp_path, plain_jpeg, caplog):
    """An upload queued when the server stopped, whose file was then removed from uploads/ (a cleaner,
    an old fakelens.db put back): after the restart the check ends failed, saying the file is gone,
    not "internal error: FileNotFoundError" with a traceback in the log."""
    import logging

    from fakelens.api import create_app
    from fakelens.config import Settings

    settings = Settings(home=tmp_path / "home", workers=1, sync_wait_s=0, cache=False)
    app = create_app(settings, start_jobs=False)   # no worker: the upload stays queued
    ctx = app.extensions["fakelens"]
    headers = {"Authorization": f"Bearer {app.config['TOKEN'].current()}"}
    with plain_jpeg.open("rb") as fh:
        r = app.test_client().post("/api/v1/checks?wait=0", base_url="http://127.0.0.1:8731", headers=headers,
                                   data={"media": (fh, "photo.jpg")}, content_type="multipart/form-data")
    assert r.status_code == 202, r.get_json()
    check_id = r.get_json()["id"]
    ctx["pool"].stop()
    ctx["store"].close()
    uploads = list((settings.home / "uploads").iterdir())
    assert len(uploads) == 1
    uploads[0].unlink()                               # removed while the server was stopped
    caplog.set_level(logging.INFO)
    app = create_app(settings)                        # the restart
    ctx = app.extensions["fakelens"]
    try:
        check = ctx["pool"].wait(check_id, 30)
        assert check["status"] == "failed", check
        assert check["error"]["code"] == "upload_missing", check["error"]
        assert "no longer in the data folder" in check["error"]["message"], check["error"]
        assert "internal" not in check["error"]["message"], check["error"]
    finally:
        ctx["pool"].stop()
        ctx["store"].close()
    assert not [rec for rec in caplog.records if rec.exc_info], [rec.getMessage() for rec in caplog.records]


def test_discard_removes_an_upload_however_its_folder_is_spelled_and_nothing_else(tmp_path):
    settings = load_settings(home=tmp_path / "home")
    pool = JobPool(settings, Store(tmp_path / "home" / "fakelens.db"), analyzer=None)
    upload, elsewhere, named = (pool.uploads / "a.upload", tmp_path / "b.upload", pool.uploads / "keep.jpg")
    for path in (upload, elsewhere, named):
        path.write_bytes(b"media")
    # the uploads folder spelled another way, as when the data folder was first given as a relative path
    pool.discard_upload({"path": str(pool.uploads / ".." / "uploads" / upload.name)})
    pool.discard_upload({"path": str(elsewhere)})   # a local file the user asked about
    pool.discard_upload({"path": str(named)})
    pool.discard_upload({"url": "https://example.org/a.jpg"})
    assert not upload.exists() and elsewhere.exists() and named.exists()
