"""The extension in real Firefox (Debian's firefox-esr, driven over WebDriver BiDi): it installs, pairs
from its options page, and checks a photo on a page, reading the photo's bytes itself over plain
http (Firefox's default policy for extension pages upgraded that fetch to https, and it failed)."""

import functools
import hashlib
import http.server
import os
import shutil
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from support.live_backend import free_port

EXTENSION = Path(os.environ.get("FAKELENS_EXTENSION_DIR", Path(__file__).resolve().parents[1] / "extension"))
FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox")
EXTENSION_ID = "fakelens@fakelens.invalid"   # browser_specific_settings.gecko.id
BADGES = """[...document.querySelectorAll('div[data-fakelens=badge]')].map((b) => ({state: b.dataset.state,
    label: b.dataset.label, id: b.dataset.checkId || null, media: b.dataset.media, text: b.dataset.text}))"""


@pytest.fixture(scope="module")
def firefox(tmp_path_factory):
    if not FIREFOX:
        pytest.skip("Firefox is absent: run scripts/setup_browser.sh")
    pytest.importorskip("websockets.sync.client", reason="pip install websockets (the test extra)")
    from support.bidi import open_session, start_firefox

    folder = tmp_path_factory.mktemp("firefox")
    internal = str(uuid.uuid4())
    port = free_port()
    process = start_firefox(FIREFOX, folder / "profile", port, {EXTENSION_ID: internal}, folder / "firefox.log")
    bidi = None
    try:
        bidi = open_session(port, process)
        bidi.cmd("webExtension.install", extensionData={"type": "path", "path": str(EXTENSION)})
        bidi.base = f"moz-extension://{internal}"
        bidi.tab = bidi.cmd("browsingContext.getTree")["contexts"][0]["context"]
        yield bidi
    finally:
        if bidi is not None:
            try:
                bidi.cmd("session.end", timeout=10)
            except Exception:
                pass
            bidi.close()
        process.terminate()
        try:
            process.wait(timeout=15)
        except Exception:
            process.kill()


@pytest.fixture
def site(tmp_path, face_jpeg):
    """A page with one photo, served over plain http on 127.0.0.1 (Firefox reaches it by any name)."""
    shutil.copy(face_jpeg, tmp_path / "face.jpg")
    (tmp_path / "page.html").write_text('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A photo</title>'
                                        '</head><body><img id="photo" alt="a portrait" src="/face.jpg" '
                                        'style="width:240px;height:240px"></body></html>')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tmp_path, server.server_address[1]
    server.shutdown()
    server.server_close()


def wait_for(read, done, timeout: float = 60):
    """Poll `read()` until `done(value)`; the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def paired_page_badges(firefox, backend, page: str) -> list[dict]:
    """Pair the extension with `backend` from its options page (automatic checks on), open `page`, and
    return its badges once one has finished."""
    tab = firefox.tab
    firefox.cmd("browsingContext.navigate", context=tab, url=f"{firefox.base}/options/options.html", wait="complete")
    firefox.evaluate(tab, f"FakeLens.saveSettings({{backendUrl: '{backend.url}', token: '{backend.token}', "
                          "autoCheck: true, minSize: 128, disabledSites: []}).then(() => true)")
    connection = wait_for(lambda: firefox.evaluate(tab, "FakeLens.showConnection(true).then((s) => s.state)"),
                          lambda state: state == "ok", timeout=20)
    assert connection == "ok"
    firefox.cmd("browsingContext.navigate", context=tab, url=page, wait="complete")
    return wait_for(lambda: firefox.evaluate(tab, BADGES), lambda got: any(b["state"] in ("done", "failed") for b in got))


def test_firefox_pairs_and_checks_a_photo_it_reads_over_http(firefox, live_backend, site):
    folder, port = site
    # a public-looking name (every name resolves to 127.0.0.1 in this profile): the extension fetches
    # the photo itself; the backend could not (no such name for it), so a verdict means the bytes came
    # from the browser
    badges = paired_page_badges(firefox, live_backend, f"http://photos.example:{port}/page.html")
    assert len(badges) == 1 and badges[0]["state"] == "done", badges
    assert badges[0]["media"] == f"http://photos.example:{port}/face.jpg"
    check = requests.get(f"{live_backend.url}/api/v1/checks/{badges[0]['id']}", headers=live_backend.headers,
                         timeout=10).json()
    media = check["result"]["media"]
    assert media["sha256"] == hashlib.sha256((folder / "face.jpg").read_bytes()).hexdigest()
    assert media["source_url"] == badges[0]["media"] and check["result"]["label"] == badges[0]["label"]


def test_firefox_does_not_upload_a_photo_read_from_an_address_the_backend_would_refuse(firefox, site, tmp_path):
    """A public-looking name that resolves to this computer (or the local network): Firefox tells the
    extension which address its own request connected to (webRequest), and with a backend that does not
    download from this computer (allow_loopback off, as shipped) the bytes read there are not uploaded;
    the backend is sent the address, and looks it up itself (here it finds no such name)."""
    from support.live_backend import start_backend

    _, port = site
    backend = start_backend(tmp_path / "home", FAKELENS_ALLOW_LOOPBACK="0")
    try:
        assert "fetch" not in requests.get(f"{backend.url}/api/v1/health", timeout=10).json()
        badges = paired_page_badges(firefox, backend, f"http://camera.example:{port}/page.html")
        assert len(badges) == 1 and badges[0]["state"] == "failed", badges
        assert badges[0]["text"].startswith("Check failed: could not find the server camera.example"), badges
        history = requests.get(f"{backend.url}/api/v1/checks?limit=50", headers=backend.headers, timeout=10).json()
        assert history["checks"] == [], history   # no upload: the address was refused before any check was made
    finally:
        backend.stop()
