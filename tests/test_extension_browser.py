"""The real extension in Debian's chromium, against the real backend (`live_backend` in conftest.py).

Imitation feeds (tests/fixtures/pages) are served over HTTPS under their real host names
(x.com, www.instagram.com, www.reddit.com, www.facebook.com, www.youtube.com, mapped to 127.0.0.1
with --host-resolver-rules) so the site adapters run as they would on the real sites; a plain page is served over HTTP on
127.0.0.1, which the backend may download from (FAKELENS_ALLOW_LOOPBACK=1).
Screenshots go to test-artifacts/.
"""

import base64
import datetime
import functools
import hashlib
import json
import math
import os
import http.server
import ipaddress
import re
import shutil
import socket
import socketserver
import sqlite3
import ssl
import threading
import time
import warnings
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import cv2
import numpy as np
import pytest
import requests

from conftest import need_shared

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
EXTENSION = Path(os.environ.get("FAKELENS_EXTENSION_DIR", REPO / "extension"))  # another copy, e.g. to test a change
PAGES = Path(__file__).resolve().parent / "fixtures" / "pages"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
FAKE_HOSTS = ["x.com", "www.instagram.com", "www.reddit.com", "www.facebook.com", "www.youtube.com", "www.tiktok.com",
              "m.facebook.com",
              "platform.twitter.com", "ads.example", "chromewebstore.google.com", "chrome.google.com"]
WAIT_MS = 60_000  # the first check loads the models
SHORTCUT = json.loads((EXTENSION / "manifest.json").read_text())["commands"]["check-focused"]["suggested_key"]["default"]

# The exact wording of DESIGN.md and issue 4, by label.
WORDING = {
    "manipulated": re.compile(r"^Likely manipulated \(score \d\.\d\d\)$"),
    "ai_generated": re.compile(r"^(AI-generated \((Content Credentials|file metadata|watermark)\)"
                              r"|Likely AI-generated \(score \d\.\d\d\))$"),
    "no_evidence": re.compile(r"^No signs of manipulation found$"),
    "uncertain": re.compile(r"^Uncertain \(score \d\.\d\d\)$"),
    "not_applicable": re.compile(r"^Not checked: (no face|faces too small|face cut off|small or cut-off faces|unsupported media|"
                                r"no detector applies)$"),
}


# ---------------------------------------------------------------- the imitation sites

def _faces(name: str, count: int) -> list[Path]:
    folder = need_shared(*name.split("/"))
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if len(files) < count:
        pytest.skip(f"{folder} holds fewer than {count} images")
    return files[:count]


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    """Faces from ../shared/data (never copied into the repo), a face-less image and a short clip."""
    out = tmp_path_factory.mktemp("fixture-media")
    for i, src in enumerate(_faces("faces-real/utkface", 7), start=1):
        shutil.copy(src, out / f"real-{i}.jpg")
    for i, src in enumerate(_faces("synthetic-faces/sdfd", 3), start=1):
        shutil.copy(src, out / f"ai-{i}.jpg")
    # The srcset candidate the Instagram imitation shows (600w, drawn at 400 px): the same face at 600 px.
    face = cv2.imread(str(out / "real-3.jpg"))
    cv2.imwrite(str(out / "real-3-large.jpg"), cv2.resize(face, (600, 600), interpolation=cv2.INTER_CUBIC))
    gradient = np.zeros((240, 320, 3), np.uint8)
    gradient[:, :, 0] = np.linspace(40, 220, 320, dtype=np.uint8)
    gradient[:, :, 2] = np.linspace(220, 40, 240, dtype=np.uint8)[:, None]
    cv2.imwrite(str(out / "plain.jpg"), gradient)
    # names a CSS url() must quote (late-media.html)
    shutil.copy(out / "real-7.jpg", out / "photo(1).jpg")
    shutil.copy(out / "real-6.jpg", out / "o'brien.jpg")
    shutil.copy(need_shared("deepfake-clips", "dfo_real.mp4"), out / "clip.mp4")
    return out


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fakelens test sites")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in FAKE_HOSTS]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Pages from tests/fixtures/pages, /media/* from the temporary media folder (/private-media/* too,
    only with the cookie session=s3cret); every other path (a post's permalink) answers a small page."""

    media: Path = None
    HOME = {"x.com": "x-feed.html", "www.instagram.com": "instagram-feed.html", "www.reddit.com": "reddit-feed.html",
            "www.facebook.com": "facebook-feed.html", "www.youtube.com": "youtube-home.html",
            "www.tiktok.com": "tiktok-feed.html"}

    def do_GET(self):
        if self.path.startswith("/private-media/"):   # a signed-in user's picture: only with the session cookie
            cookie = self.headers.get("Cookie") or ""
            self.private_requests.append((self.headers.get("Sec-Fetch-Dest"), cookie))
            if "session=s3cret" not in cookie:
                self.send_error(403)
                return None
            body = (self.media / Path(urlsplit(self.path).path).name).read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "private, max-age=3600")   # a browser may keep it
            self.end_headers()
            self.wfile.write(body)
            return None
        if self.path.startswith("/slow-media/"):   # a video server that takes its time (4 s, or ?wait=S)
            time.sleep(float(parse_qs(urlsplit(self.path).query).get("wait", ["4"])[0]))
            self.path = "/media/" + self.path[len("/slow-media/"):]
        if self.path == "/slow-page.html":   # a page still loading: no content script in it yet
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<!doctype html><title>slow</title><p>loading")
            self.wfile.flush()
            time.sleep(4)
            self.wfile.write(b" done</p>")
            return None
        return super().do_GET()

    def translate_path(self, path):
        path = unquote(urlsplit(path).path)
        host = (self.headers.get("Host") or "").split(":")[0]
        if path in ("/", "/home") and host in self.HOME:
            return str(PAGES / self.HOME[host])
        if path.startswith("/media/"):
            return str(self.media / Path(path).name)
        if host == "www.tiktok.com" and path.startswith("/embed/v2/"):   # the frame of an embedded post
            return str(PAGES / "tiktok-embed.html")
        return str(PAGES / Path(path).name) if path.count("/") == 1 else str(PAGES / "missing")

    def log_message(self, *args):
        pass


class Sites:
    """One HTTP server on 127.0.0.1 and one HTTPS server for the imitation hosts."""

    def __init__(self, media: Path, tmp: Path):
        self.private_requests = []   # (Sec-Fetch-Dest, Cookie) of each /private-media/ request
        handler = type("Handler", (_Handler,), {"media": media, "private_requests": self.private_requests})
        handler = functools.partial(handler, directory=str(PAGES))
        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.https = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*_self_signed(tmp))
        self.https.socket = ctx.wrap_socket(self.https.socket, server_side=True)
        for server in (self.http, self.https):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        self.local = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.https_port = self.https.server_address[1]
        self.media = media

    def close(self):
        for server in (self.http, self.https):
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def sites(media_dir, tmp_path_factory):
    s = Sites(media_dir, tmp_path_factory.mktemp("tls"))
    yield s
    s.close()


# ---------------------------------------------------------------- the browser with the extension

class Browser:
    def __init__(self, context, extension_id: str):
        self.context, self.id = context, extension_id

    def url(self, path: str) -> str:
        return f"chrome-extension://{self.id}/{path}"

    def worker(self):
        for w in self.context.service_workers:
            if w.url.startswith(self.url("")):
                return w
        # The service worker went idle: opening an extension page starts it again.
        page = self.context.new_page()
        with self.context.expect_event("serviceworker", timeout=20_000) as event:
            page.goto(self.url("report/report.html"))
        page.close()
        return event.value

    def sw(self, script: str, arg=None):
        """Evaluate in the extension's service worker (restarting it once if it was stopped)."""
        try:
            return self.worker().evaluate(script, arg)
        except Exception as err:  # the worker closed between lookup and evaluate
            if "closed" not in str(err).lower() and "destroyed" not in str(err).lower():
                raise
            return self.worker().evaluate(script, arg)

    def configure(self, **settings):
        self.sw("s => FakeLens.saveSettings(s)", settings)

    def menu_click(self, info: dict, tab: int, wait: bool = True):
        """What a context-menu click does, run in the service worker: the final check, or (wait=False)
        started, its result then from menu_result()."""
        if not wait:
            return self.sw("async ([info, tab]) => { globalThis.pendingCheck = "
                           "FakeLens.background.handleMenuClick(info, await chrome.tabs.get(tab)); }", [info, tab])
        return self.sw("async ([info, tab]) => FakeLens.background.handleMenuClick(info, await chrome.tabs.get(tab))",
                       [info, tab])

    def menu_result(self):
        return self.sw("() => globalThis.pendingCheck")

    def tab_id(self, page) -> int:
        # Just after a navigation commits, the tab may still show its old address for a moment (the new
        # one as pendingUrl), so both are matched and the lookup waits up to 5 s.
        return self.sw("""async url => {
            for (let tries = 0; tries < 50; tries++) {
                const tab = (await chrome.tabs.query({})).find(t => t.url === url || t.pendingUrl === url);
                if (tab) return tab.id;
                await new Promise(resolve => setTimeout(resolve, 100));
            }
            throw new Error(`no tab shows ${url}`);
        }""", page.url)

    def badge_text(self) -> str:
        return self.sw("() => chrome.action.getBadgeText({})")


def _lan_address() -> str | None:
    """This machine's own address on its network when netguard refuses it (a private, link-local or
    reserved one, not loopback: the backend's allow_loopback does not cover it), else None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.123", 9))   # nothing is sent: the address the route would send from
            address = s.getsockname()[0]
    except OSError:
        return None
    ip = ipaddress.ip_address(address)
    return None if ip.is_loopback or ip.is_global or ip.is_unspecified else address


LAN_ADDRESS = _lan_address()


@pytest.fixture(scope="module")
def browser(tmp_path_factory, sites, live_backend):
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent: run scripts/setup_browser.sh")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    ARTIFACTS.mkdir(exist_ok=True)
    rules = ", ".join(f"MAP {h} 127.0.0.1:{sites.https_port}" for h in FAKE_HOSTS)
    # a public-looking site on plain http, and a public-looking name for this machine's address on its
    # local network (test_an_image_on_a_public_name_that_leads_to_the_local_network_is_not_uploaded)
    rules += f", MAP news.example 127.0.0.1:{sites.http.server_address[1]}"
    if LAN_ADDRESS:
        rules += f", MAP lan-camera.example {LAN_ADDRESS}"
    pw = sync_api.sync_playwright().start()
    context = pw.chromium.launch_persistent_context(
        str(tmp_path_factory.mktemp("chromium-profile")),
        executable_path=str(CHROMIUM),
        headless=False,
        viewport={"width": 1000, "height": 1700},
        ignore_https_errors=True,
        args=["--headless=new", f"--disable-extensions-except={EXTENSION}", f"--load-extension={EXTENSION}",
              "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", f"--host-resolver-rules={rules}",
              "--ignore-certificate-errors"],
    )
    worker = context.service_workers[0] if context.service_workers else context.wait_for_event("serviceworker",
                                                                                                 timeout=20_000)
    b = Browser(context, worker.url.split("/")[2])
    b.playwright = pw   # one Playwright per thread: a test launching a browser of its own uses this one
    b.configure(backendUrl=live_backend.url, token=live_backend.token, autoCheck=True, minSize=128,
                disabledSites=[])
    yield b
    context.close()
    pw.stop()


# ---------------------------------------------------------------- helpers

BADGES_JS = """() => [...document.querySelectorAll('div[data-fakelens=badge]')].map(b => ({
    state: b.dataset.state, label: b.dataset.label, text: b.dataset.text, id: b.dataset.checkId || null,
    media: b.dataset.media, shown: b.shadowRoot.querySelector('.chip').textContent,
    visible: b.style.display !== 'none'}))"""


def final_badges(page, count: int) -> list[dict]:
    """Wait until `count` badges carry a finished check, and return them all."""
    try:
        page.wait_for_function(
            """n => [...document.querySelectorAll('div[data-fakelens=badge]')]
                     .filter(b => ['done', 'failed', 'cancelled'].includes(b.dataset.state)).length >= n""",
            arg=count, timeout=WAIT_MS)
    except Exception as err:
        pytest.fail(f"expected {count} finished badges, found {page.evaluate(BADGES_JS)} ({err})")
    return page.evaluate(BADGES_JS)


def open_popup(browser, popup, page):
    """The toolbar popup for `page`'s tab, in the page `popup`, once it says it is connected."""
    popup.goto(browser.url(f"popup/popup.html?tab={browser.tab_id(page)}"))
    popup.wait_for_selector("#connection[data-state='ok']", timeout=10_000)


def scan_from_popup(browser, popup, page):
    """The popup's Scan button pressed for `page`'s tab."""
    open_popup(browser, popup, page)
    popup.click("#scan")


def check_from_the_pill(page, selector: str, x: int, y: int) -> dict:
    """Point at (x, y) in the media at `selector`, click its Check pill, and return its finished badge."""
    box = page.locator(selector).bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    pill = page.locator("div[data-fakelens=pill] button")
    pill.wait_for(state="visible", timeout=5_000)
    pill.click()
    return final_badges(page, 1)[0]


def backend_check(live_backend, check_id: str) -> dict:
    res = requests.get(f"{live_backend.url}/api/v1/checks/{check_id}", headers=live_backend.headers, timeout=10)
    assert res.status_code == 200, res.text
    return res.json()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_badge_is_backend_verdict(badge: dict, live_backend, media_dir: Path):
    """The badge shows the backend's own verdict for exactly the bytes the page showed."""
    assert badge["state"] == "done", badge
    check = backend_check(live_backend, badge["id"])
    result = check["result"]
    assert badge["label"] == result["label"]
    assert WORDING[result["label"]].match(badge["text"]), badge["text"]
    assert "real" not in badge["text"].lower() and "authentic" not in badge["text"].lower()
    served = media_dir / Path(urlsplit(badge["media"]).path).name
    assert result["media"]["sha256"] == sha256(served), f"{badge['media']} was not the file checked"
    return result


# ---------------------------------------------------------------- tests

def test_x_feed_badges_carry_the_backends_verdicts(browser, live_backend, media_dir):
    """Auto-check on: every face photo on the X imitation gets a badge, including the one in a
    shadow root and the one added after load; videos are not checked automatically."""
    page = browser.context.new_page()
    page.goto("https://x.com/home")
    page.wait_for_function("document.body.dataset.loadedLater === '1'", timeout=10_000)
    badges = final_badges(page, 3)
    by_file = {Path(urlsplit(b["media"]).path).name: b for b in badges}
    assert {"real-1.jpg", "ai-1.jpg", "real-2.jpg"} <= set(by_file), by_file.keys()
    assert not any(b["media"].endswith(".mp4") or b["media"].startswith("blob:") for b in badges)
    results = {}
    for name in ("real-1.jpg", "ai-1.jpg", "real-2.jpg"):
        result = results[name] = assert_badge_is_backend_verdict(by_file[name], live_backend, media_dir)
        assert by_file[name]["visible"]
        assert result["media"]["kind"] == "image"
        assert result["media"]["source_url"] == f"https://x.com/media/{name}"
        # automatic: behind what the user asks for in the backend's queue
        assert backend_check(live_backend, by_file[name]["id"])["input"]["priority"] == "low"
    # The tooltip explains: summary, score, signals and provenance.
    tip = page.evaluate("""() => [...document.querySelectorAll('div[data-fakelens=badge]')]
        .find(b => b.dataset.media.endsWith('real-1.jpg')).shadowRoot.querySelector('.tip').textContent""")
    verdict = results["real-1.jpg"]
    assert verdict["summary"] in tip and "Content Credentials: none" in tip and "1 face found" in tip, tip
    if verdict["score"] is not None:
        # a score read against its threshold, not a probability: never a percentage, and not beside
        # "No signs of manipulation found" (the signal line has it, with its threshold)
        two = lambda x: f"{math.floor(x * 100 + 0.5) / 100:.2f}"   # as Math.round, halves up
        assert (f"Score: {two(verdict['score'])}" in tip) == (verdict["label"] != "no_evidence"), tip
        assert "%" not in tip and "chance" not in tip, tip
        threshold = next(s["threshold"] for s in verdict["signals"] if s["detector"] == "face_swap")
        assert "Face-swap detector: score" in tip and f"(threshold {two(threshold)})" in tip, tip
    page.screenshot(path=str(ARTIFACTS / "extension-x-feed.png"))
    # Badges follow the page when it scrolls (the lowest one: it stays in the window)
    page.evaluate("document.body.style.paddingBottom = '2000px'")
    lowest = """() => [...document.querySelectorAll('div[data-fakelens=badge]')].map(b => b.getBoundingClientRect().top)
        .reduce((a, b) => Math.max(a, b))"""
    before = page.evaluate(lowest)
    assert before > 250, before
    page.mouse.wheel(0, 200)
    page.wait_for_function(f"""() => Math.abs(({lowest})() - ({before} - 200)) < 2""", timeout=5_000)
    page.close()


def test_reddit_feed_shadow_dom_and_css_backgrounds(browser, live_backend, media_dir):
    page = browser.context.new_page()
    page.goto("https://www.reddit.com/")
    page.wait_for_function("document.body.dataset.loadedLater === '1'", timeout=10_000)
    badges = final_badges(page, 3)
    names = {Path(urlsplit(b["media"]).path).name: b for b in badges}
    # real-4 sits in <shreddit-post>'s shadow root, ai-3 is a CSS background, real-5 came after load.
    assert {"real-4.jpg", "ai-3.jpg", "real-5.jpg"} <= set(names), names.keys()
    for name in ("real-4.jpg", "ai-3.jpg", "real-5.jpg"):
        assert_badge_is_backend_verdict(names[name], live_backend, media_dir)
    page.screenshot(path=str(ARTIFACTS / "extension-reddit-feed.png"))
    page.close()


def test_popup_lists_the_pages_media(browser, live_backend, media_dir):
    """The popup's page scan lists every image and the blob: video, the video by its permalink;
    an image drawn from a blob: URL is checked from its bytes."""
    page = browser.context.new_page()
    page.goto("https://x.com/home")
    page.wait_for_function("document.body.dataset.loadedLater === '1' && "
                           "document.querySelector('video').src.startsWith('blob:')", timeout=10_000)
    page.evaluate("""async () => {
        const blob = await (await fetch('/media/real-5.jpg')).blob();
        const img = Object.assign(document.createElement('img'), {src: URL.createObjectURL(blob)});
        img.style.cssText = 'width:200px;height:200px';
        document.body.append(img);
        await img.decode();
    }""")
    popup = browser.context.new_page()
    popup.set_viewport_size({"width": 400, "height": 900})
    open_popup(browser, popup, page)
    popup.evaluate("""() => { window.spoken = []; new MutationObserver(() => window.spoken.push(
        document.querySelector('#announce').textContent)).observe(document.querySelector('#announce'),
        {childList: true, characterData: true, subtree: true}); }""")
    popup.focus("#scan")
    popup.keyboard.press("Enter")
    assert popup.evaluate("document.activeElement.id") == "scan"   # busy, but not dropping the focus
    popup.wait_for_function("""() => { const rows = [...document.querySelectorAll('#results li')];
        return rows.length >= 4 && rows.every(r => ['done', 'failed', 'cancelled'].includes(r.dataset.state)); }""",
                            timeout=WAIT_MS)
    assert popup.evaluate("[document.activeElement.id, document.querySelector('#scan').ariaDisabled]") == ["scan", "false"]
    rows = popup.evaluate("""() => [...document.querySelectorAll('#results li')].map(r => ({
        kind: r.dataset.kind, state: r.dataset.state, label: r.dataset.label,
        chip: r.querySelector('.chip').textContent.trim(), meta: r.querySelector('.meta').textContent,
        report: !!r.querySelector('a.report')}))""")
    images = [r for r in rows if r["kind"] == "image"]
    videos = [r for r in rows if r["kind"] == "video"]
    assert len(images) == 4 and len(videos) == 1, rows
    assert videos[0]["meta"] == "video · https://x.com/cleo/status/1003"  # the permalink, not blob:
    assert sum(r["meta"] == "image held by the page" for r in images) == 1, rows  # a blob:, sent as bytes
    for row in images:
        assert row["state"] == "done" and row["report"], row
        assert WORDING[row["label"]].match(row["chip"][1:].strip()), row["chip"]
    summary = popup.text_content("#summary")
    assert summary.startswith("5 media found:") and "score" not in summary, summary   # counted by headline
    # a screen reader hears the start and the end, not each of the summary's changes (the only live line)
    assert popup.evaluate("window.spoken") == ["Looking for images and videos…", "5 media found; checking them…",
                                               f"Scan finished: {summary}"]
    assert popup.get_attribute("#summary", "role") is None
    popup.screenshot(path=str(ARTIFACTS / "extension-popup.png"), full_page=True)
    # The report link opens the backend's HTML report (fetched with the token).
    with browser.context.expect_page() as new_page:
        popup.click("#results li[data-state='done'] a.report")
    report = new_page.value
    report.wait_for_selector("iframe#report:not([hidden])", timeout=15_000)
    assert len(report.eval_on_selector("iframe#report", "f => f.srcdoc")) > 200
    report.close()
    popup.close()
    page.close()


def test_a_page_scan_lists_lazy_photos_by_the_address_they_will_load(browser, live_backend, media_dir, sites):
    """Photos a lazy loader has not loaded yet all show one placeholder (a data: GIF, a tiny picture, an
    SVG that draws nothing): the scan listed that placeholder once and none of the photos. It lists each
    photo now, by its data-src, the largest of its data-srcset or its data-lazy-src."""
    (media_dir / "blank.gif").write_bytes(bytes.fromhex(
        "47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b"))
    page = browser.context.new_page()
    popup = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/lazy-gallery.html")
        page.wait_for_function("[...document.images].every(i => i.complete)")
        scan_from_popup(browser, popup, page)
        popup.wait_for_function("""() => { const rows = [...document.querySelectorAll('#results li')];
            return rows.length && rows.every(r => ['done', 'failed', 'cancelled'].includes(r.dataset.state)); }""",
                                timeout=WAIT_MS)
        rows = popup.evaluate("""() => [...document.querySelectorAll('#results li')].map(r =>
            [r.querySelector('.meta').title, r.dataset.state])""")
        assert rows == [[f"{sites.local}/media/{name}", "done"]
                        for name in ("real-5.jpg", "real-1.jpg", "real-3-large.jpg", "real-4.jpg", "real-2.jpg")], rows
    finally:
        popup.close()
        page.close()


# A picture labelled AI-generated in its file (a Stable Diffusion web UI's "parameters" PNG chunk): the
# backend's verdict on it is "AI-generated (file metadata)" whatever its face models say.
A1111 = ("portrait photo of a person\nNegative prompt: blurry\n"
         "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: {seed}, Size: 512x512, Model hash: 6ce0161689")


def _ai_png(face: Path, out: Path, side: int, seed: int) -> Path:
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", A1111.format(seed=seed))
    Image.open(face).convert("RGB").resize((side, side)).save(out, pnginfo=info)
    return out


def test_the_verdict_is_about_the_picture_shown_not_one_the_page_names(browser, live_backend, media_dir, sites):
    """A page shows an AI picture and names a clean one beside it: FakeLens checked the one named and
    drew "No signs of manipulation found" on the AI picture, on the page and in the popup's scan: a
    data: picture taken for a lazy loader's placeholder (its data-src checked), the largest srcset
    candidate (w or x) rather than the one the browser shows, and a background's top layer though it
    is drawn at 0×0, at 1 px in a corner, or outside its box. Each verdict is about the picture shown
    now, and each popup row's thumbnail is the picture its verdict is about."""
    # each AI picture at its own size, so a thumbnail tells which one it is; the clean ones are 200 px
    cells = ["ctl", "data", "srcset-w", "srcset-x", "bg-zero", "bg-corner", "bg-outside"]
    fakes = {cell: _ai_png(media_dir / "ai-1.jpg", media_dir / f"shown-{cell}.png", 320 + 10 * i, i)
             for i, cell in enumerate(cells)}
    data_url = "data:image/png;base64," + base64.b64encode(fakes["data"].read_bytes()).decode()
    bg = "width:300px;height:300px;background-repeat:no-repeat"
    (media_dir / "shown-page.html").write_text(f"""<!doctype html><title>shown and named</title>
<style>body {{ margin: 0 }} .cell {{ display: inline-block; width: 300px; height: 300px; margin: 10px }}
img {{ display: block; width: 300px; height: 300px }}</style>
<div class=cell><img id=ctl alt="" src="/media/shown-ctl.png"></div>
<div class=cell><img id=data alt="" src="{data_url}" data-src="/media/real-1.jpg"></div>
<div class=cell><img id=srcset-w alt="" src="/media/shown-srcset-w.png"
  srcset="/media/shown-srcset-w.png 300w, /media/real-2.jpg 3000w" sizes="300px"></div>
<div class=cell><img id=srcset-x alt="" src="/media/shown-srcset-x.png" srcset="/media/real-3.jpg 2x"></div>
<div class=cell><div id=bg-zero style="{bg};background-image:url(/media/real-4.jpg), url(/media/shown-bg-zero.png);
  background-size:0 0, cover"></div></div>
<div class=cell><div id=bg-corner style="{bg};background-image:url(/media/real-5.jpg), url(/media/shown-bg-corner.png);
  background-size:1px 1px, cover"></div></div>
<div class=cell><div id=bg-outside style="{bg};background-image:url(/media/real-6.jpg), url(/media/shown-bg-outside.png);
  background-size:300px 300px, cover;background-position:-2000px 0, center"></div></div>
""")
    # a public name: the popup shows no thumbnail of a picture on 127.0.0.1
    shown = {cell: f"https://ads.example/media/shown-{cell}.png" for cell in cells}
    shown["data"] = data_url
    page = browser.context.new_page()
    popup = browser.context.new_page()
    try:
        page.goto("https://ads.example/media/shown-page.html")
        # what the browser shows is the AI picture each time
        assert page.evaluate("""() => [...document.images].map(i => i.currentSrc)""") == [shown[c] for c in cells[:4]]
        final_badges(page, len(cells))
        for cell in cells:
            badge = badge_on(page, f"#{cell}")
            assert badge and badge["state"] == "done", (cell, page.evaluate(BADGES_JS))
            assert badge["media"] == shown[cell], (cell, badge["media"][:80])
            # the backend checked the bytes of the picture shown (for the data: one, the same file's)
            result = assert_badge_is_backend_verdict({**badge, "media": f"/media/shown-{cell}.png"}, live_backend,
                                                     media_dir)
            assert result["label"] == "ai_generated", (cell, result["summary"])

        scan_from_popup(browser, popup, page)
        popup.wait_for_function("""n => { const rows = [...document.querySelectorAll('#results li')];
            return rows.length === n && rows.every(r => ['done', 'failed', 'cancelled'].includes(r.dataset.state)
                                                        && r.querySelector('img.thumb')); }""",
                                arg=len(cells), timeout=WAIT_MS)
        rows = popup.evaluate("""() => [...document.querySelectorAll('#results li')].map(r => ({
            label: r.dataset.label, sent: r.querySelector('.meta').title, meta: r.querySelector('.meta').textContent,
            thumb: r.querySelector('img.thumb').naturalWidth}))""")
        assert [r["label"] for r in rows] == ["ai_generated"] * len(cells), rows
        assert [r["thumb"] for r in rows] == [320 + 10 * i for i in range(len(cells))], rows
        # (the data: one is named, "inline PNG image", with no title: its address is 1,000s of characters)
        assert [r["sent"] for r in rows if r["sent"]] == [shown[c] for c in cells if c != "data"]
        assert [r["meta"] for r in rows if not r["sent"]] == ["inline PNG image"], rows
    finally:
        popup.close()
        page.close()


def test_the_popups_thumbnails_send_no_cookies_off_the_page_s_site_and_none_to_private_addresses(
        browser, live_backend, sites):
    """The popup is an extension page: its requests carry every cookie, SameSite ones too. A page naming
    its visitor's router, or another site's address, as a picture must not get a credentialed request
    out of a scan: no thumbnail for a private address, none with cookies off the page's own site."""
    browser.context.add_cookies([{"name": "session", "value": "s3cret", "domain": host, "path": "/",
                                  "sameSite": "Strict", "secure": True} for host in ("x.com", "www.reddit.com")])
    page = browser.context.new_page()
    page.goto("https://x.com/home")
    page.wait_for_function("document.body.dataset.loadedLater === '1'", timeout=10_000)
    router = f"{sites.local}/media/real-4.jpg?router"
    page.evaluate("""urls => { for (const url of urls) {
        const div = document.createElement('div');
        div.style.cssText = `width:200px;height:200px;background:url("${url}") center/cover`;
        document.body.append(div); } }""", [router, "https://www.reddit.com/media/real-5.jpg?other-site"])
    popup = browser.context.new_page()
    seen = []
    popup.on("request", lambda r: seen.append((r.url, r.all_headers().get("cookie"))))
    popup.set_viewport_size({"width": 400, "height": 900})
    scan_from_popup(browser, popup, page)
    popup.wait_for_function("""() => { const rows = [...document.querySelectorAll('#results li')];
        return rows.length >= 6 && rows.every(r => ['done', 'failed', 'cancelled'].includes(r.dataset.state)); }""",
                            timeout=WAIT_MS)
    popup.wait_for_timeout(500)
    thumbs = {url: cookie for url, cookie in seen if "/media/" in url}
    assert router not in thumbs, thumbs
    assert thumbs.get("https://www.reddit.com/media/real-5.jpg?other-site", "absent") is None, thumbs
    own = [cookie for url, cookie in thumbs.items() if url.startswith("https://x.com/media/")]
    assert own and all(cookie == "session=s3cret" for cookie in own), thumbs   # the page's own site, as the page
    kinds = popup.evaluate("""() => [...document.querySelectorAll('#results li')].map(r =>
        [r.querySelector('.meta').title, r.querySelector('.thumb').tagName])""")
    assert dict(kinds)[router] == "DIV", kinds   # a glyph, never loaded
    assert dict(kinds)["https://www.reddit.com/media/real-5.jpg?other-site"] == "IMG", kinds   # shown all the same
    browser.context.clear_cookies()
    popup.close()
    page.close()


def test_the_popups_thumbnails_load_as_their_rows_come_into_view(browser, live_backend, sites):
    """A scan of 200 pictures had the popup fetch all 200 thumbnails at once (at full size, beside the
    scan's own downloads of the same pictures), for rows most people never scroll to. They load as their
    rows come into view, a few at a time."""
    page = browser.context.new_page()
    browser.configure(autoCheck=False)
    try:
        page.goto(f"{sites.local}/plain-page.html")
        page.evaluate("""() => document.querySelector('#feed').replaceChildren(...Array.from({ length: 40 }, (_, n) =>
            Object.assign(document.createElement('img'), { width: 130, height: 130, src: `https://x.com/media/real-${n % 7 + 1}.jpg?n=${n}` })))""")
        page.wait_for_function("[...document.images].every(i => i.complete)", timeout=10_000)
        popup = browser.context.new_page()
        asked = []
        popup.on("request", lambda r: asked.append(r.url) if "/media/" in r.url else None)
        popup.set_viewport_size({"width": 400, "height": 500})
        scan_from_popup(browser, popup, page)
        popup.wait_for_function("""() => { const rows = [...document.querySelectorAll('#results li')];
            return rows.length >= 40 && rows.every(r => ['done', 'failed', 'cancelled'].includes(r.dataset.state)); }""",
                                timeout=WAIT_MS)
        popup.wait_for_timeout(500)
        assert 0 < len(asked) <= 15, asked   # the rows in view and just below, not all 40
        assert popup.evaluate("document.querySelector('#results li:first-child .thumb').tagName") == "IMG"
        popup.evaluate("document.querySelector('#results li:last-child').scrollIntoView()")
        popup.wait_for_function("() => document.querySelector('#results li:last-child .thumb').tagName === 'IMG'",
                                timeout=10_000)
        popup.close()
    finally:
        browser.configure(autoCheck=True)
        page.close()


def test_facebook_youtube_and_tiktok_adapters_name_the_post(browser, live_backend, media_dir, sites):
    """A right-click check on the Facebook, YouTube and TikTok imitations carries the post's permalink
    (what a video is fetched by, and what the report names): the post link, a shared blob: video's own
    /videos/ link (not the page /photographydaily, taken for a /photo permalink, nor the sharing post's
    link), the /watch link a thumbnail sits in, the link of the thumbnail a hover preview plays over
    (not the home page), and the watch page itself for its player, also after
    moving to another video without a reload (YouTube leaves the canonical link naming the first);
    TikTok's feed videos by their player's id and their card's author (the tab's address named neither),
    a grid thumbnail by its link without the query. A TikTok video is checked by its post even when it
    plays from an http address (a signed CDN address the backend could not fetch without the page's
    cookies): yt-dlp resolves the post."""
    browser.configure(autoCheck=False)
    try:
        cases = [("https://www.facebook.com/", "#fb-photo", "fakelens-check-image", "https://www.facebook.com/dana.k/posts/pfbid02Xy9", None),
                 ("https://www.facebook.com/", "#fb-video", "fakelens-check-video",
                  "https://www.facebook.com/watchmojo/videos/1234567890/", None),
                 ("https://www.youtube.com/", "#yt-thumb", "fakelens-check-image", "https://www.youtube.com/watch?v=aBcDeF12345", None),
                 ("https://www.youtube.com/", "#yt-preview", "fakelens-check-video", "https://www.youtube.com/watch?v=PreView0001", None),
                 ("https://www.youtube.com/", "#yt-player", "fakelens-check-video", "https://www.youtube.com/watch?v=dQw4w9WgXcQ", None),
                 ("https://www.youtube.com/", "#yt-player", "fakelens-check-video", "https://www.youtube.com/watch?v=NxT4vid0001",
                  "/watch?v=NxT4vid0001&list=PLx&t=42s"),
                 ("https://www.youtube.com/", "#yt-player", "fakelens-check-video", "https://www.youtube.com/shorts/Sh0rt5vid01",
                  "/shorts/Sh0rt5vid01?feature=share"),
                 ("https://www.tiktok.com/", "#tt-feed", "fakelens-check-video",
                  "https://www.tiktok.com/@dana.k/video/7301234567890123456", None),
                 ("https://www.tiktok.com/", "#tt-cdn", "fakelens-check-video",
                  "https://www.tiktok.com/@news.daily/video/7309999999999999999", None),
                 ("https://www.tiktok.com/", "#tt-thumb", "fakelens-check-image",
                  "https://www.tiktok.com/@dana.k/video/7301111111111111111", None),
                 ("https://www.tiktok.com/", "#tt-photo", "fakelens-check-image",
                  "https://www.tiktok.com/@dana.k/photo/7302222222222222222", None),
                 ("https://www.tiktok.com/embed/v2/7305555555555555555?lang=en", "#tt-embed", "fakelens-check-video",
                  "https://www.tiktok.com/@/video/7305555555555555555", None)]
        for url, selector, menu, permalink, moved_to in cases:
            page = browser.context.new_page()
            page.goto(url)
            if moved_to:   # the next video, as YouTube plays it: the address changes, the page stays
                page.evaluate("path => history.pushState({}, '', path)", moved_to)
            page.wait_for_function("sel => { const el = document.querySelector(sel); return el.currentSrc || el.src; }",
                                   arg=selector, timeout=10_000)   # a blob: video's comes after load
            src = page.eval_on_selector(selector, "el => el.currentSrc || el.src")
            page.locator(selector).click(button="right")
            info = {"menuItemId": menu, "srcUrl": src, "pageUrl": page.url, "frameId": 0}
            check = browser.menu_click(info, browser.tab_id(page))
            assert check["media"]["permalink"] == permalink, (selector, check["media"])
            if selector == "#tt-cdn":
                assert check["media"]["url"] == permalink, check["media"]   # the post, not its CDN address
            if menu == "fakelens-check-image":   # its bytes go from the browser; a video the backend fetches
                assert check["status"] == "done", check   # itself, from a host it cannot resolve offline
            page.close()
    finally:
        browser.configure(autoCheck=True)


def test_a_tiktok_feed_video_is_checked_by_its_post_from_the_hover_pill(browser, live_backend, sites):
    """The hover pill on a TikTok feed video playing from a signed CDN address asks the backend for the
    post (yt-dlp's to resolve), not for the CDN address (which wants the page's cookies): the badge's
    media is the post. The backend here cannot reach www.tiktok.com, so the check fails, saying so."""
    browser.configure(autoCheck=False)
    try:
        page = browser.context.new_page()
        page.goto("https://www.tiktok.com/")
        badge = check_from_the_pill(page, "#tt-cdn", 100, 150)
        assert badge["media"] == "https://www.tiktok.com/@news.daily/video/7309999999999999999", badge
        assert badge["state"] == "failed" and "could not find the server www.tiktok.com" in badge["text"], badge
        page.close()
    finally:
        browser.configure(autoCheck=True)


def test_context_menu_checks(browser, live_backend, media_dir, sites):
    """The context-menu handler, run in the service worker as a click would: through Instagram's
    overlay (elementsFromPoint, the srcset candidate shown), a video by URL, and a link."""
    browser.configure(autoCheck=False)  # so that only the menu handler can draw a badge
    page = browser.context.new_page()
    page.goto("https://www.instagram.com/")
    page.wait_for_function("document.body.dataset.loadedLater === '1'", timeout=10_000)
    box = page.locator("article img").first.bounding_box()
    page.mouse.click(box["x"] + 200, box["y"] + 200, button="right")  # lands on the overlay <div>
    # the page's own right-click event aimed at another photo changes nothing: only the user's counts
    other = page.locator("article img").nth(1).bounding_box()
    page.evaluate("""([x, y]) => document.elementFromPoint(x, y).dispatchEvent(
        new MouseEvent('contextmenu', {clientX: x, clientY: y, bubbles: true, composed: true}))""",
                  [other["x"] + 20, other["y"] + 20])
    tab = browser.tab_id(page)
    info = {"menuItemId": "fakelens-check-here", "pageUrl": page.url, "frameId": 0, "editable": False}
    check = browser.menu_click(info, tab)
    assert check["status"] == "done", check
    assert check["input"]["priority"] == "high"   # the user asked: ahead of automatic checks
    assert check["media"]["permalink"] == "https://www.instagram.com/p/Cx1aB2cD3e/"
    assert check["result"]["media"]["sha256"] == sha256(media_dir / "real-3-large.jpg")
    assert check["result"]["media"]["width"] == 600
    badge = final_badges(page, 1)[0]
    assert badge["id"] == check["id"] and badge["label"] == check["result"]["label"]
    page.screenshot(path=str(ARTIFACTS / "extension-instagram-context-menu.png"))
    page.close()

    # A video with a real http source (the backend downloads it) and a link, on a plain page.
    page = browser.context.new_page()
    page.goto(f"{sites.local}/plain-page.html")
    tab = browser.tab_id(page)
    video_url = f"{sites.local}/media/clip.mp4"
    page.locator("#clip").click(button="right")
    info = {"menuItemId": "fakelens-check-video", "srcUrl": video_url, "pageUrl": page.url, "frameId": 0}
    check = browser.menu_click(info, tab)
    assert check["status"] == "done", check
    assert check["result"]["media"]["kind"] == "video"
    assert check["result"]["media"]["sha256"] == sha256(media_dir / "clip.mp4")
    assert check["result"]["label"] in WORDING

    info = {"menuItemId": "fakelens-check-link", "linkUrl": f"{sites.local}/media/real-7.jpg", "pageUrl": page.url,
            "frameId": 0}
    check = browser.menu_click(info, tab)
    assert check["status"] == "done", check
    assert check["result"]["media"]["sha256"] == sha256(media_dir / "real-7.jpg")

    # An image the page drew from a blob: URL (which means nothing to the backend): its bytes go.
    blob_url = page.evaluate("""async () => {
        const blob = await (await fetch('/media/real-5.jpg')).blob();
        const img = Object.assign(document.createElement('img'), {id: 'blobbed', src: URL.createObjectURL(blob)});
        img.style.cssText = 'width:200px;height:200px';
        document.querySelector('#feed').append(img);
        await img.decode();
        return img.src;
    }""")
    assert blob_url.startswith("blob:")
    page.locator("#blobbed").click(button="right")
    info = {"menuItemId": "fakelens-check-image", "srcUrl": blob_url, "pageUrl": page.url, "frameId": 0}
    check = browser.menu_click(info, tab)
    assert check["status"] == "done", check
    assert check["result"]["media"]["sha256"] == sha256(media_dir / "real-5.jpg")
    page.close()
    browser.configure(autoCheck=True)


def test_check_here_over_a_link_checks_the_media_under_it(browser, live_backend, media_dir, sites):
    """"Check the image or video here" is offered over links now (a news card's link laid over its
    photo, Instagram's grid): clicked there, it checks the photo under the click point, not the link's
    page, and draws the verdict on it."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/overlays.html")
        box = page.locator("#card-photo").bounding_box()
        page.mouse.click(box["x"] + 150, box["y"] + 120, button="right")   # lands on the link
        assert page.evaluate(f"document.elementFromPoint({box['x'] + 150}, {box['y'] + 120}).tagName") == "A"
        info = {"menuItemId": "fakelens-check-here", "linkUrl": f"{sites.local}/story/1", "pageUrl": page.url,
                "frameId": 0, "editable": False}
        check = browser.menu_click(info, browser.tab_id(page))
        assert check["status"] == "done", check
        assert check["media"]["url"] == f"{sites.local}/media/real-1.jpg", check["media"]
        assert check["result"]["media"]["sha256"] == sha256(media_dir / "real-1.jpg")
        badge = final_badges(page, 1)[0]
        assert badge["id"] == check["id"] and badge["media"].endswith("/media/real-1.jpg"), badge
    finally:
        browser.configure(autoCheck=True)
        page.close()


def test_a_context_menu_opened_from_the_keyboard_checks_the_photo_in_the_focused_link(browser, live_backend,
                                                                                       media_dir, sites):
    """Shift+F10 (or the Menu key) on a focused link that wraps a photo opens the menu at no point of the
    link (0, 0), on the <a>: "Check this image" found nothing there and said "No image or video found
    where you clicked". The photo inside the link is the one checked now, as the keyboard command's is."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/many-photos.html")
        page.wait_for_function("[...document.images].every(i => i.complete)")
        # a link as most pages write it: inline, around a photo laid out as a block
        page.evaluate("""async () => { const a = Object.assign(document.createElement('a'), {id: 'kb-link', href: '/photo/9'});
            const img = Object.assign(document.createElement('img'), {alt: 'nine', src: '/media/real-6.jpg'});
            img.style.cssText = 'display:block;width:300px;height:240px';
            a.append(img); document.querySelector('#feed').prepend(a); await img.decode();
            window.menuAt = null; addEventListener('contextmenu', e => {
                window.menuAt = {x: e.clientX, y: e.clientY, target: e.target.id,
                                 media: document.elementsFromPoint(e.clientX, e.clientY).some(el => el.tagName === 'IMG')}; }, true); }""")
        page.focus("#kb-link")
        page.keyboard.press("Shift+F10")
        page.wait_for_function("window.menuAt !== null")
        menu_at = page.evaluate("window.menuAt")
        assert menu_at["target"] == "kb-link" and not menu_at["media"], menu_at   # no photo under that point
        info = {"menuItemId": "fakelens-check-here", "linkUrl": f"{sites.local}/photo/9", "pageUrl": page.url,
                "frameId": 0, "editable": False}
        check = browser.menu_click(info, browser.tab_id(page))
        assert check["status"] == "done", check
        assert check["media"]["url"] == f"{sites.local}/media/real-6.jpg", check["media"]
        assert badge_on(page, "#kb-link img")["id"] == check["id"]
    finally:
        browser.configure(autoCheck=True)
        page.close()


RIGHT_CLICK_TARGET = "FakeLens.contentHandlers['context-target']({}).then(r => r.url && r.url.split('/').pop())"


STRETCHED = '::after { content: ""; position: absolute; inset: 0; }'   # a link stretched over its card


def right_click_through(page, media_js, overlay_id):
    """Right-clicks the middle of the media `media_js` names, where the element `overlay_id` (a link's
    stretched ::after) lies over it, and gives the file name of the media FakeLens would check."""
    box = page.evaluate(f"{media_js}.getBoundingClientRect().toJSON()")
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    assert page.evaluate(f"document.elementFromPoint({x}, {y}).id") == overlay_id   # the overlay: the link
    page.mouse.click(x, y, button="right")
    return content_script(page)(RIGHT_CLICK_TARGET)


def test_a_right_click_on_a_cards_photo_in_a_shadow_root_checks_that_photo(browser, live_backend, sites):
    """A card's link with a ::after overlay over the whole card, around a gallery component whose open
    shadow root holds two photos: a right-click on the second photo lands on the link, and the photo
    under the point was taken only when the link "contains" it, which Node.contains does not say
    through a shadow root: the first photo in the link was checked. It is the one clicked now."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/plain-page.html")
        page.add_style_tag(content=f"#card{STRETCHED}")   # its ::after laid over the whole card
        page.evaluate("""async () => {
            const card = Object.assign(document.createElement('a'), {id: 'card', href: '/story/2'});
            card.style.cssText = 'display:block;position:relative;width:700px;padding:20px';
            const gallery = card.appendChild(document.createElement('x-gallery'));
            gallery.attachShadow({mode: 'open'}).innerHTML = '<img id=one src=/media/real-1.jpg style="width:300px;height:200px"> '
                + '<img id=two src=/media/real-2.jpg style="width:300px;height:200px">';
            document.body.prepend(card);
            await Promise.all([...gallery.shadowRoot.querySelectorAll('img')].map(i => i.decode())); }""")
        gallery = "document.querySelector('x-gallery').shadowRoot"
        assert right_click_through(page, f"{gallery}.querySelector('#two')", "card") == "real-2.jpg"
        box = page.evaluate("document.querySelector('x-gallery').shadowRoot.querySelector('#one').getBoundingClientRect().toJSON()")
        page.mouse.click(box["x"] + 150, box["y"] + 100, button="right")
        assert content_script(page)(RIGHT_CLICK_TARGET) == "real-1.jpg"
    finally:
        browser.configure(autoCheck=True)
        page.close()


def test_a_right_click_through_a_stretched_links_overlay_checks_the_photo_not_an_icon_in_the_link(browser,
                                                                                                   live_backend, sites):
    """A news card: a photo, and a title link (with a small icon in it) whose ::after is stretched over
    the whole card. A right-click on the photo lands on the title link, off its own boxes, which read
    as a menu opened from the keyboard: the icon in the link was checked. The right button is no
    keyboard: the photo under the point is checked."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/plain-page.html")
        page.add_style_tag(content=f"#title{STRETCHED}")   # its ::after laid over the whole card
        page.evaluate("""async () => {
            const card = document.createElement('div');
            card.style.cssText = 'position:relative;width:400px;padding:10px';
            const photo = Object.assign(document.createElement('img'), {id: 'photo', src: '/media/real-3.jpg'});
            photo.style.cssText = 'display:block;width:300px;height:200px';
            const title = Object.assign(document.createElement('a'), {id: 'title', href: '/story/3', textContent: 'Story '});
            const icon = Object.assign(document.createElement('img'), {id: 'icon', src: '/media/real-5.jpg'});
            icon.style.cssText = 'width:16px;height:16px';
            title.append(icon); card.append(photo, title); document.body.prepend(card);
            await Promise.all([photo.decode(), icon.decode()]); }""")
        assert right_click_through(page, "document.querySelector('#photo')", "title") == "real-3.jpg"
    finally:
        browser.configure(autoCheck=True)
        page.close()


@pytest.mark.parametrize("logo", ["above", "over"])
def test_a_context_menu_opened_from_the_keyboard_checks_a_small_photo_in_the_focused_link(browser, live_backend,
                                                                                           sites, logo):
    """Shift+F10 on a focused link around a 100 px thumbnail (under the 128 px minimum) opens the menu at
    (0, 0): the media under that point (a 40 px logo in the window's corner, above the link or fixed
    over it) was taken before the small photo inside the link. A menu whose point a pointer would not
    hit the element it opened on at came from the keyboard: the photo the link wraps is the one,
    whatever its size, as for the keyboard command."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/plain-page.html")
        page.evaluate("""async (over) => {
            const logo = Object.assign(document.createElement('img'), {id: 'logo', src: '/media/real-7.jpg'});
            logo.style.cssText = over ? 'position:fixed;left:0;top:0;width:40px;height:40px;z-index:5'
                                      : 'display:block;width:40px;height:40px';
            const a = Object.assign(document.createElement('a'), {id: 'thumb-link', href: '/photo/4'});
            const img = Object.assign(document.createElement('img'), {alt: 'four', src: '/media/real-4.jpg'});
            img.style.cssText = 'display:block;width:100px;height:100px';
            a.append(img); document.body.prepend(logo, a);
            await Promise.all([logo.decode(), img.decode()]);
            window.menuAt = null; addEventListener('contextmenu', e => {
                window.menuAt = {x: e.clientX, y: e.clientY, target: e.target.id}; }, true); }""", logo == "over")
        page.focus("#thumb-link")
        page.keyboard.press("Shift+F10")
        page.wait_for_function("window.menuAt !== null")
        menu_at = page.evaluate("window.menuAt")
        assert menu_at == {"x": 0, "y": 0, "target": "thumb-link"}, menu_at   # on the logo, not the link
        assert content_script(page)(RIGHT_CLICK_TARGET) == "real-4.jpg"
        # a right-click with the pointer on the logo is still about the logo
        page.mouse.click(20, 20, button="right")
        assert content_script(page)(RIGHT_CLICK_TARGET) == "real-7.jpg"
    finally:
        browser.configure(autoCheck=True)
        page.close()


def test_a_video_with_a_poster_and_no_source_yet_is_checked_by_its_page(browser, live_backend, media_dir, sites):
    """A player that gives its <video> a source only on play shows a poster and no address: the hover
    check did nothing at all. Its video is the page's, sent as a blob: video's is (yt-dlp finds it)."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/poster-player.html")
        box = page.locator("#later").bounding_box()
        page.mouse.move(box["x"] + 100, box["y"] + 100)
        page.mouse.move(box["x"] + 110, box["y"] + 110)
        page.locator("div[data-fakelens=pill] button").click(timeout=5_000)
        badge = final_badges(page, 1)[0]
        assert badge["media"] == page.url, badge
        assert badge["state"] == "done", badge
        result = backend_check(live_backend, badge["id"])["result"]
        assert result["media"]["kind"] == "video" and result["media"]["sha256"] == sha256(media_dir / "clip.mp4"), result
        # a live stream (a video call's tile, a camera preview: srcObject, no poster) is no page's video
        urls = content_script(page)("""(() => { const v = document.createElement('video');
            const c = document.createElement('canvas'); c.getContext('2d').fillRect(0, 0, 10, 10);
            v.srcObject = c.captureStream(); v.id = 'call'; v.style.cssText = 'width:320px;height:240px';
            document.querySelector('#feed').append(v);
            // a player that draws its poster as a picture of its own, beside a <video> with none
            const bare = document.createElement('video');
            document.querySelector('#feed').append(bare);
            return [FakeLens.describeMedia(v).url, FakeLens.describeMedia(document.querySelector('#later')).url,
                    FakeLens.describeMedia(bare).url]; })()""")
        assert urls == ["", page.url, page.url], urls   # the last was "": its pill's click did nothing
    finally:
        browser.configure(autoCheck=True)
        page.close()


def test_a_right_click_checks_the_media_under_what_lies_on_it(browser, live_backend, media_dir, sites):
    """The right-click took the first media of the clicked element's ancestors (a wrapper's texture)
    or the topmost media under the point, however small or transparent (a spacer picture over a photo,
    a play button's 64 px background over a video): it is the photo or video beneath now, as the hover
    pill's is."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/overlays.html")
        tab = browser.tab_id(page)

        def right_click(selector, menu, src=None):
            box = page.locator(selector).bounding_box()
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, button="right")
            info = {"menuItemId": menu, "pageUrl": page.url, "frameId": 0, **({"srcUrl": src} if src else {})}
            check = browser.menu_click(info, tab)
            assert check["status"] == "done", check
            return check

        # "Check this image" names what the browser hit, the transparent spacer: the photo under it goes
        check = right_click("#spacer", "fakelens-check-image", f"{sites.local}/media/plain.jpg")
        assert check["result"]["media"]["sha256"] == sha256(media_dir / "real-4.jpg"), check["media"]
        assert badge_on(page, "#spaced-photo")["id"] == check["id"]
        # a veil over a photo in a wrapper with a paper texture: the photo, not the texture
        check = right_click("#wrapped-photo", "fakelens-check-here")
        assert check["result"]["media"]["sha256"] == sha256(media_dir / "real-6.jpg"), check["media"]
        # hovering a play button drawn as a 64 px background over the video offers the video's check
        # (before the video has a verdict: media with a badge gets no pill, and the badge of the
        # right-click below came before the hover on a slow machine)
        box = page.locator(".play").bounding_box()
        page.mouse.move(box["x"] + 30, box["y"] + 30)
        page.mouse.move(box["x"] + 32, box["y"] + 32)
        pill = page.locator("div[data-fakelens=pill] button")
        pill.wait_for(state="visible", timeout=5_000)
        # the pill names the keyboard's way to the same check (manifest.json's command)
        assert f"from the keyboard: {SHORTCUT}, unless changed" in pill.get_attribute("title"), pill.get_attribute("title")
        video = page.locator("#played").bounding_box()
        assert abs(pill.bounding_box()["x"] - video["x"] - 6) < 2, (pill.bounding_box(), video)
        # and a right-click there checks the video
        check = right_click(".play", "fakelens-check-here")
        assert check["media"]["kind"] == "video" and check["media"]["url"] == f"{sites.local}/media/clip.mp4", check["media"]
    finally:
        browser.configure(autoCheck=True)
        page.close()


def test_checks_the_user_asks_for_go_before_queued_automatic_ones(browser, live_backend, sites):
    """Every image coming into view queues an automatic check, three run at a time, first come first
    served: a hover check or the keyboard's waited behind the whole gallery. The user's go next now, and
    queued automatic checks of images taken out of the page are dropped. The backend is held here (the
    content script's messages for checks wait until the test answers them), so the order is exact."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/many-photos.html")
        page.wait_for_function("[...document.images].every(i => i.complete)")
        run = content_script(page)
        run("""(() => { window.asked = []; const ask = FakeLens.ask;
            FakeLens.ask = (type, message) => type !== 'check' ? ask(type, message) : new Promise((resolve) =>
                asked.push({url: message.media.url, answer: () => resolve({status: 'cancelled'})}));
            return 1; })()""")
        asked = lambda: run("asked.map(a => a.url.split('/').pop())")
        answer = lambda n: run(f"asked.slice(0, {n}).forEach(a => a.answer()); 1")
        browser.configure(autoCheck=True)
        page.wait_for_function("() => document.querySelectorAll('div[data-fakelens=badge]').length === 8")
        page.wait_for_timeout(300)
        assert asked() == ["real-1.jpg", "real-2.jpg", "real-3.jpg"]   # three at a time, the rest wait
        page.evaluate("document.querySelectorAll('#grid img')[3].remove(); document.querySelectorAll('#grid img')[3].remove()")
        box = page.locator("#clip").bounding_box()   # no automatic check for a video: the user hovers it
        page.mouse.move(box["x"] + 100, box["y"] + 100)
        page.mouse.move(box["x"] + 110, box["y"] + 110)
        page.locator("div[data-fakelens=pill] button").click(timeout=5_000)
        answer(1)
        page.wait_for_timeout(300)
        assert asked()[3:] == ["clip.mp4"]   # before the four automatic checks still waiting
        page.focus("#last-link")   # the keyboard's check of the last photo of the gallery, queued automatically
        page.bring_to_front()
        browser.sw("tab => { chrome.tabs.get(tab).then(t => FakeLens.background.runCommand('check-focused', t)); }",
                   browser.tab_id(page))
        page.wait_for_function("() => { const a = document.activeElement; return a && a.matches('div[data-fakelens=badge]'); }")
        answer(2)
        page.wait_for_timeout(300)
        assert asked()[4:] == ["ai-1.jpg"], asked()
        for _ in range(10):   # the rest, as slots come free
            answer(99)
            page.wait_for_timeout(200)
        assert asked()[5:] == ["real-6.jpg", "real-7.jpg"], asked()   # not the two taken out of the page
    finally:
        browser.configure(autoCheck=True)
        page.close()


def test_a_waiting_automatic_checks_badge_clicked_moves_it_ahead_in_the_backend(browser, live_backend, sites,
                                                                                tmp_path):
    """Automatic checks wait in the backend behind the user's (priority low): the user clicking the badge
    of one ("Waiting…") wants it now, and the backend moves it ahead of the other automatic checks."""
    from support.httpd import MediaServer

    stamp = time.time_ns()   # new bytes: the backend's cache must not answer at once
    for n in range(3):
        data = (sites.media / f"real-{n + 1}.jpg").read_bytes()
        (sites.media / f"wait-{n}-{stamp}.jpg").write_bytes(data[:-2] + b"\xff\xfe\x00\x0a" + str(stamp)[-8:].encode()
                                                             + data[-2:])
    photos = "".join(f'<img alt="photo {n}" src="/media/wait-{n}-{stamp}.jpg" style="width:200px;height:200px">'
                     for n in range(3))
    (sites.media / f"waiting-{stamp}.html").write_text(f"<!doctype html><title>waiting</title>{photos}")
    page = browser.context.new_page()
    with MediaServer(tmp_path) as silent:   # its /silent answers nothing: the backend's one worker is held
        held = requests.post(f"{live_backend.url}/api/v1/checks", headers=live_backend.headers,
                             json={"url": silent.url("/silent"), "kind": "video"}, timeout=30).json()
        try:
            page.goto(f"{sites.local}/media/waiting-{stamp}.html")
            page.wait_for_function("""() => { const b = [...document.querySelectorAll('div[data-fakelens=badge]')];
                return b.length === 3 && b.every(x => x.dataset.state === 'queued'); }""", timeout=WAIT_MS)
            # in the order they came: the last is clicked
            ids = sorted((b["id"] for b in page.evaluate(BADGES_JS)), key=lambda i: backend_check(live_backend, i)["created"])
            assert [backend_check(live_backend, i)["input"]["priority"] for i in ids] == ["low"] * 3
            last = page.locator(f"div[data-fakelens=badge][data-check-id='{ids[2]}']")
            assert "Click the badge to check this one first." in last.evaluate(
                "b => b.shadowRoot.querySelector('.tip').textContent")
            last.locator(".chip").click()
            deadline = time.monotonic() + 15
            while backend_check(live_backend, ids[2])["input"]["priority"] != "high":
                assert time.monotonic() < deadline, "the clicked check was not moved ahead"
                time.sleep(0.2)
            assert [backend_check(live_backend, i)["input"]["priority"] for i in ids[:2]] == ["low", "low"]
            page.wait_for_function("""(id) => { const b = document.querySelector(`div[data-fakelens=badge][data-check-id="${id}"]`);
                return !b.shadowRoot.querySelector('.tip').textContent.includes('first'); }""", arg=ids[2],
                                   timeout=10_000)   # once moved, the hint goes
            requests.delete(f"{live_backend.url}/api/v1/checks/{held['id']}", headers=live_backend.headers, timeout=30)
            final_badges(page, 3)
            with sqlite3.connect(live_backend.home / "fakelens.db") as db:   # when each ended
                ended = {i: db.execute("SELECT updated FROM checks WHERE id = ?", (i,)).fetchone()[0] for i in ids}
            assert ended[ids[2]] < ended[ids[0]] < ended[ids[1]], ended   # the one clicked first, then the others
        finally:
            requests.delete(f"{live_backend.url}/api/v1/checks/{held['id']}", headers=live_backend.headers, timeout=30)
            page.close()


def gallery(sites, count: int) -> str:
    """A page of `count` face photos, each at an address of its own, all in view: its address."""
    stamp = time.time_ns()
    name = f"gallery-{stamp}.html"
    photos = "".join(f'<img alt="photo {i}" src="/media/real-{i % 7 + 1}.jpg?n={i}-{stamp}" '
                     'style="width:130px;height:130px">' for i in range(count))
    (sites.media / name).write_text(f"<!doctype html><title>gallery</title>{photos}")
    return f"{sites.local}/media/{name}"


def checks_made_for(live_backend, page_url: str) -> int:
    history = requests.get(f"{live_backend.url}/api/v1/checks?limit=500", headers=live_backend.headers, timeout=10)
    return sum((c.get("input") or {}).get("page_url") == page_url for c in history.json()["checks"])


@pytest.mark.parametrize("switch", [{"disabledSites": ["127.0.0.1"]}, {"autoCheck": False}], ids=["site-off", "auto-off"])
def test_checks_waiting_on_a_page_stop_when_its_site_or_automatic_checks_are_switched_off(browser, live_backend,
                                                                                         sites, switch):
    """Switching a site off (popup, Options) or automatic checks off left the checks already waiting in
    the page's queue to run: all 56 of a 60-photo gallery were still uploaded and kept in the history."""
    url = gallery(sites, 60)
    browser.configure(autoCheck=True, disabledSites=[])
    page = browser.context.new_page()
    try:
        page.goto(url)
        page.wait_for_function("() => document.querySelectorAll('div[data-fakelens=badge]').length >= 8", timeout=30_000)
        browser.configure(**switch)
        page.wait_for_timeout(1_000)   # the checks under way at the switch (three at most) reach the backend
        made = checks_made_for(live_backend, url)
        page.wait_for_timeout(6_000)
        assert checks_made_for(live_backend, url) <= made + 3, made   # none of those waiting
        assert made < 40, made
        # no badge left saying "Checking…" for a check that will not run
        page.wait_for_function("""() => [...document.querySelectorAll('div[data-fakelens=badge]')]
            .every(b => ['done', 'failed', 'cancelled'].includes(b.dataset.state))""", timeout=10_000)
    finally:
        browser.configure(autoCheck=True, disabledSites=[])
        page.close()


def test_a_site_switched_on_again_gets_its_badges_back_without_new_checks(browser, live_backend, sites):
    """Switched off and on again (the popup's switch), a page had no badges until it was reloaded. Its
    verdicts come back now, from what the page remembers: nothing is checked again."""
    url = gallery(sites, 6)
    browser.configure(autoCheck=True, disabledSites=[])
    page = browser.context.new_page()
    try:
        page.goto(url)
        final_badges(page, 6)
        made = checks_made_for(live_backend, url)
        browser.configure(disabledSites=["127.0.0.1"])
        page.wait_for_function("() => !document.querySelector('div[data-fakelens=badge]')", timeout=5_000)
        browser.configure(disabledSites=[])
        assert len(final_badges(page, 6)) == 6
        assert checks_made_for(live_backend, url) == made
    finally:
        browser.configure(disabledSites=[])
        page.close()


def assert_nothing_drawn(browser, url: str, wait_ms: int):
    """Hovering the page's portrait leaves no pill and no badge."""
    page = browser.context.new_page()
    page.goto(url)
    box = page.locator("#portrait").bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 100)
    page.wait_for_timeout(wait_ms)
    assert page.evaluate("document.querySelectorAll('div[data-fakelens=badge], div[data-fakelens=pill]').length") == 0
    page.close()


def test_hover_pill_checks_and_page_opt_out(browser, live_backend, media_dir, sites):
    browser.configure(autoCheck=False)
    try:
        page = browser.context.new_page()
        page.goto(f"{sites.local}/plain-page.html")
        page.wait_for_timeout(500)
        assert page.evaluate(BADGES_JS) == []  # auto-check off: nothing checked yet
        box = page.locator("#noface").bounding_box()
        page.mouse.move(box["x"] + 100, box["y"] + 100)
        pill = page.locator("div[data-fakelens=pill] button")
        pill.wait_for(state="visible", timeout=5_000)
        assert pill.text_content().strip().endswith("Check")
        pill.click()
        badge = final_badges(page, 1)[0]
        result = assert_badge_is_backend_verdict(badge, live_backend, media_dir)
        assert result["label"] == "not_applicable" and badge["text"] == "Not checked: no face"
        page.screenshot(path=str(ARTIFACTS / "extension-hover-check.png"))
        page.close()

        # <meta name="CR-allow-UI-injection" content="false">: no pill, no badge.
        browser.configure(autoCheck=True)
        assert_nothing_drawn(browser, f"{sites.local}/no-ui.html", wait_ms=1500)

        # A site switched off in Options (or the popup): no pill either.
        browser.configure(autoCheck=False, disabledSites=["127.0.0.1"])
        assert_nothing_drawn(browser, f"{sites.local}/plain-page.html", wait_ms=1000)
    finally:
        browser.configure(autoCheck=True, disabledSites=[])


def test_an_image_on_a_public_name_that_leads_to_the_local_network_is_not_uploaded(browser, live_backend, media_dir,
                                                                                   sites):
    """A page names a picture on a public-looking name whose DNS answers an address of the visitor's local
    network (a camera, a router's admin page): the page's own request there may be stopped by the browser
    (Local Network Access), the extension's is not, and the page can read the verdict on the badge. The
    extension's request still goes out, but what it read is not uploaded: the backend is sent the URL
    (which it resolves and refuses), and the badge says the check failed. (Here the backend cannot look
    the test's name up at all; with real DNS it answers "blocked address".)"""
    if not LAN_ADDRESS:
        pytest.skip("this machine has no private address of its own besides loopback")
    requests_seen = []   # (Referer, path) of each request to the local network's server

    class Camera(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests_seen.append((self.headers.get("Referer"), self.path))
            body = (media_dir / "real-5.jpg").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    camera = http.server.ThreadingHTTPServer((LAN_ADDRESS, 0), Camera)
    threading.Thread(target=camera.serve_forever, daemon=True).start()
    browser.configure(autoCheck=False)
    try:
        image = f"http://lan-camera.example:{camera.server_address[1]}/snapshot.jpg"
        page = browser.context.new_page()
        page.goto(f"http://news.example/lan-image.html?src={image}")
        page.wait_for_function("document.getElementById('cam').naturalWidth > 0", timeout=10_000)
        badge = check_from_the_pill(page, "#cam", 100, 100)
        page.close()
        assert badge["media"] == image
        # the extension's own request went out (without the page's Referer)
        assert (None, "/snapshot.jpg") in requests_seen, requests_seen
        # the backend was sent the address, which it looked up itself (refused before any check is made),
        # and no picture: no check holds the camera's
        assert badge["state"] == "failed" and badge["text"].startswith("Check failed: could not find the server "
                                                                        "lan-camera.example"), badge
        history = requests.get(f"{live_backend.url}/api/v1/checks?limit=500", headers=live_backend.headers,
                               timeout=10).json()["checks"]
        assert not [c for c in history if (c.get("input") or {}).get("source_url") == image]
    finally:
        browser.configure(autoCheck=True)
        camera.shutdown()
        camera.server_close()


def right_click_a_fresh_clip(browser, sites):
    """The plain page with its video given a never-checked URL (no cached verdict), right-clicked:
    (page, tab id, the context-menu click's info)."""
    page = browser.context.new_page()
    page.goto(f"{sites.local}/plain-page.html")
    video = page.evaluate("(() => { const v = document.querySelector('#clip');"
                          " v.src = '/media/clip.mp4?fresh=' + Date.now(); return v.src; })()")
    page.locator("#clip").click(button="right")
    return page, browser.tab_id(page), {"menuItemId": "fakelens-check-video", "srcUrl": video, "pageUrl": page.url,
                                        "frameId": 0}


def test_a_right_click_result_stays_on_its_media_and_a_miss_says_why(browser, live_backend, sites):
    """A second right-click while a check runs does not take its result; "Check the image or video
    here" where there is none opens a tab that says so (it used to do nothing)."""
    browser.configure(autoCheck=False)
    try:
        page, tab, info = right_click_a_fresh_clip(browser, sites)
        video = info["srcUrl"]
        browser.menu_click(info, tab, wait=False)
        page.locator("#noface").click(button="right")   # meanwhile the user right-clicks another picture
        check = browser.menu_result()
        assert check["status"] == "done", check
        badges = final_badges(page, 1)
        assert [b["media"] for b in badges] == [video] and badges[0]["id"] == check["id"], badges

        page.locator("#link").click(button="right")     # a text link: no image or video there
        info = {"menuItemId": "fakelens-check-here", "pageUrl": page.url, "frameId": 0}
        with browser.context.expect_page() as opened:
            check = browser.menu_click(info, tab)
        assert check["error"]["code"] == "not_found"
        report = opened.value
        report.wait_for_selector("#message", timeout=10_000)
        assert report.text_content("#message") == ("FakeLens could not check this: "
                                                   "No image or video found where you clicked")
        report.close()
        page.close()
    finally:
        browser.configure(autoCheck=True)


def test_check_here_in_an_embedded_player_checks_the_frames_video(browser, live_backend, media_dir, sites):
    """"Check the image or video here" inside a frame whose content script does not answer (one
    open since before FakeLens was installed) checks the frame's page as a link, so an embedded
    player's video is downloaded and judged; the result opens in a tab (it used to say "No image or
    video found")."""
    browser.configure(autoCheck=False)
    try:
        page = browser.context.new_page()
        page.goto(f"{sites.local}/embed-page.html")
        frame = page.frame_locator("#player")
        frame.locator("video").wait_for(timeout=10_000)
        frame.locator("video").click(button="right")
        tab = browser.tab_id(page)
        # Chrome's frame ids are not visible to the page; an id no frame has stands for one without our script.
        info = {"menuItemId": "fakelens-check-here", "pageUrl": page.url, "frameId": 3,
                "frameUrl": f"{sites.local}/embedded-player.html"}
        with browser.context.expect_page() as opened:
            check = browser.menu_click(info, tab)
        assert check["status"] == "done", check
        assert check["media"] == {"kind": "auto", "url": info["frameUrl"], "pageUrl": page.url, "tabUrl": page.url}
        assert check["result"]["media"]["kind"] == "video"
        assert check["result"]["media"]["sha256"] == sha256(media_dir / "clip.mp4")
        report = opened.value
        assert f"id={check['id']}" in report.url
        report.wait_for_selector("iframe#report:not([hidden])", timeout=15_000)
        report.close()
        assert page.evaluate(BADGES_JS) == []   # nothing drawn on the top page
        page.close()
    finally:
        browser.configure(autoCheck=True)


def test_media_in_an_embedded_post_from_another_site_is_checked_in_its_frame(browser, live_backend, media_dir,
                                                                             sites):
    """An article embedding a post of a site FakeLens knows (a frame): the post's photo is checked
    automatically and its badge drawn in the frame; an ad's frame is not checked automatically (every
    ad image of an article was), but hovering its photo still checks it; switching the article's
    site off takes the frames' badges away too; the popup's page scan lists the page's own media only."""
    page = browser.context.new_page()
    done = """() => [...document.querySelectorAll('div[data-fakelens=badge]')].some(b => b.dataset.state === 'done')"""
    try:
        page.goto(f"{sites.local}/article-with-post.html")
        for frame_id in ("#post", "#ad"):
            page.frame_locator(frame_id).locator("#photo").wait_for(timeout=10_000)
        post = next(f for f in page.frames if f.url.startswith("https://platform.twitter.com/"))
        ad = next(f for f in page.frames if f.url.startswith("https://ads.example/"))
        post.wait_for_function(done, timeout=WAIT_MS)
        got = post.evaluate(BADGES_JS)
        assert len(got) == 1 and got[0]["media"] == "https://platform.twitter.com/media/real-2.jpg", got
        assert_badge_is_backend_verdict(got[0], live_backend, media_dir)
        assert page.evaluate(BADGES_JS) == []   # nothing of the frames' drawn on the article
        assert ad.evaluate(BADGES_JS) == [], "an ad's frame was checked automatically"
        box = page.locator("#ad").bounding_box()
        page.mouse.move(box["x"] + 120, box["y"] + 120)   # over the ad's photo: its pill
        ad.wait_for_selector("div[data-fakelens=pill]", state="attached", timeout=5_000)
        ad.locator("div[data-fakelens=pill] button").click()
        ad.wait_for_function(done, timeout=WAIT_MS)
        popup = browser.context.new_page()
        scan_from_popup(browser, popup, page)   # the article answers, not its frames (whose photos would be listed)
        popup.wait_for_function("() => document.querySelector('#summary').textContent.startsWith('No images')",
                                timeout=10_000)
        popup.close()
        browser.configure(disabledSites=["127.0.0.1"])   # the article's site
        for frame in (post, ad):
            frame.wait_for_function("() => !document.querySelector('div[data-fakelens=badge]')", timeout=10_000)
    finally:
        browser.configure(disabledSites=[])
        page.close()


def badge_on(page, selector: str) -> dict | None:
    """The badge drawn over the element `selector` (badges live on <html>, placed over their media)."""
    return page.evaluate("""sel => {
        const r = document.querySelector(sel).getBoundingClientRect();
        const b = [...document.querySelectorAll('div[data-fakelens=badge]')].find(b =>
            b.style.display !== 'none' && Math.abs(parseFloat(b.style.left) - r.left) < 2 && Math.abs(parseFloat(b.style.top) - r.top) < 2);
        return b ? {state: b.dataset.state, id: b.dataset.checkId || null, media: b.dataset.media, label: b.dataset.label,
                    text: b.dataset.text} : null;
    }""", selector)


def test_verdicts_stay_with_their_media_and_only_the_user_clicks_them(browser, live_backend, sites):
    """A <picture> whose <source> changes drops the old verdict and gets its own; a page script
    cannot click a badge (it opened report tabs without limit), the user can, from the keyboard too;
    "Check this link" over a thumbnail
    opens the linked photo's report instead of drawing it on the thumbnail; switching the site off
    takes the badges away."""
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/picture-page.html")
        final_badges(page, 2)
        page.wait_for_function("document.querySelector('#shown').currentSrc.endsWith('/media/real-3.jpg')")
        before = badge_on(page, "#shown")
        assert before["media"].endswith("/media/real-3.jpg") and before["state"] == "done", before
        page.evaluate("document.querySelector('#source').srcset = '/media/real-4.jpg'")
        page.wait_for_function("""() => [...document.querySelectorAll('div[data-fakelens=badge]')].some(b =>
            b.dataset.media.endsWith('/media/real-4.jpg') && b.dataset.state === 'done')""", timeout=WAIT_MS)
        after = badge_on(page, "#shown")
        assert after["media"].endswith("/media/real-4.jpg") and after["id"] != before["id"], after
        assert not any(b["media"].endswith("/media/real-3.jpg") for b in page.evaluate(BADGES_JS))

        thumb = badge_on(page, "#thumb")
        assert thumb and thumb["state"] == "done", thumb
        # the report tabs the background opens, counted where it opens them (no waiting on a timer)
        browser.sw("""() => { self.reportTabs = 0;
            if (!self.countingTabs) {
                const create = chrome.tabs.create.bind(chrome.tabs);
                chrome.tabs.create = (props, ...rest) => {
                    if (String(props && props.url).includes('report/report.html')) self.reportTabs += 1;
                    return create(props, ...rest);
                };
                self.countingTabs = true;
            } }""")
        page.evaluate("""() => { for (const b of document.querySelectorAll('div[data-fakelens=badge]'))
            for (let i = 0; i < 3; i++) b.shadowRoot.querySelector('.chip').click();
            for (const b of document.querySelectorAll('div[data-fakelens=badge]'))
                b.shadowRoot.querySelector('.chip').dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter'}));
        }""")
        # from the keyboard: Tab to a badge (a button, not a live region), Enter opens its report
        chip = page.locator(f"div[data-fakelens=badge][data-check-id='{thumb['id']}'] .chip")
        assert chip.get_attribute("role") == "button"
        chip.focus()
        with browser.context.expect_page() as opened:
            page.keyboard.press("Enter")
        assert f"id={thumb['id']}" in opened.value.url
        # one tab: the page script's clicks and key presses, sent before it, would have come first
        assert browser.sw("() => self.reportTabs") == 1, "a page script opened report tabs"
        opened.value.close()
        chip.blur()   # its tooltip shows while it has focus

        page.locator("#thumb").click(button="right")
        tab = browser.tab_id(page)
        info = {"menuItemId": "fakelens-check-link", "linkUrl": f"{sites.local}/media/real-7.jpg",
                "srcUrl": f"{sites.local}/media/real-5.jpg", "pageUrl": page.url, "frameId": 0}
        with browser.context.expect_page() as opened:
            check = browser.menu_click(info, tab)
        assert check["status"] == "done" and f"id={check['id']}" in opened.value.url
        opened.value.close()
        assert badge_on(page, "#thumb")["id"] == thumb["id"]   # the thumbnail keeps its own verdict

        browser.configure(disabledSites=["127.0.0.1"])
        page.wait_for_function("document.querySelectorAll('div[data-fakelens=badge]').length === 0", timeout=5_000)
    finally:
        browser.configure(disabledSites=[])
        page.close()


def test_a_badge_hides_under_what_the_page_lays_over_its_media(browser, live_backend, sites):
    """A fixed header the photo scrolls under, or a viewer opened over the page, hides the badge (it
    floated on top of them); a transparent layer in the page's flow does not (Instagram's overlay on
    the photo, a card's link stretched over the whole card). A photo near the window's left edge gets
    its tooltip hanging right, inside the window."""
    page = browser.context.new_page()
    hidden = "sel => { const r = document.querySelector(sel).getBoundingClientRect(); " \
             "return ![...document.querySelectorAll('div[data-fakelens=badge]')].some(b => b.style.display !== 'none' " \
             "&& Math.abs(parseFloat(b.style.left) - r.left) < 2 && Math.abs(parseFloat(b.style.top) - r.top) < 2); }"
    lay = """([id, css]) => { const r = document.querySelector('#thumb').getBoundingClientRect();
        const el = Object.assign(document.createElement('div'), {id});
        el.style.cssText = css.replace('TOP', r.top - 10).replace('LEFT', r.left).replace('W', r.width).replace('H', r.height);
        document.body.append(el); dispatchEvent(new Event('resize')); }"""
    try:
        page.goto(f"{sites.local}/picture-page.html")
        final_badges(page, 2)
        assert badge_on(page, "#thumb") is not None
        page.evaluate(lay, ["bar", "position:fixed;left:0;right:0;top:TOPpx;height:60px;background:#fff;z-index:10"])
        page.wait_for_function(hidden, arg="#thumb", timeout=5_000)
        page.evaluate("document.querySelector('#bar').remove(); dispatchEvent(new Event('resize'))")
        page.wait_for_function(f"sel => !({hidden})(sel)", arg="#thumb", timeout=5_000)
        page.evaluate(lay, ["viewer", "position:fixed;inset:0;background:rgba(0,0,0,.8);z-index:10"])
        page.wait_for_function(hidden, arg="#thumb", timeout=5_000)
        page.evaluate("document.querySelector('#viewer').remove()")
        page.evaluate(lay, ["overlay", "position:absolute;left:LEFTpx;top:calc(TOPpx + 10px);width:Wpx;height:Hpx;z-index:10"])
        # a card's link stretched over the whole card, larger than the photo, transparent
        page.evaluate(lay, ["stretched", "position:absolute;left:0;top:0;width:800px;height:900px;z-index:11"])
        # the resize event schedules the badges' placing for the next frame, ahead of this one's
        page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        assert badge_on(page, "#thumb") is not None, "a transparent layer in the page's flow hid the badge"
        # the photo itself in a dialog fixed to the window, a transparent layer over it inside the dialog
        page.evaluate("""() => { document.querySelector('#stretched').remove();
            const dialog = Object.assign(document.createElement('div'), {id: 'dialog'});
            dialog.style.cssText = 'position:fixed;left:20px;top:20px;width:500px;height:500px;z-index:20';
            const veil = document.createElement('div');
            veil.style.cssText = 'position:absolute;inset:0;z-index:1';
            dialog.append(document.querySelector('#thumb-link'), veil);
            document.body.append(dialog); dispatchEvent(new Event('resize')); }""")
        page.wait_for_function(f"sel => !({hidden})(sel)", arg="#thumb", timeout=5_000)   # shown where it moved

        chip = page.locator(f"div[data-fakelens=badge][data-check-id='{badge_on(page, '#thumb')['id']}'] .chip")
        chip.focus()   # its tooltip shows
        tip = page.evaluate("""id => document.querySelector(`div[data-fakelens=badge][data-check-id='${id}']`)
            .shadowRoot.querySelector('.tip').getBoundingClientRect().toJSON()""", badge_on(page, "#thumb")["id"])
        assert tip["width"] > 200 and tip["left"] >= 0, tip
        chip.blur()
    finally:
        page.close()


def test_a_right_click_result_is_not_drawn_on_media_swapped_in_meanwhile(browser, live_backend, sites):
    """A player that loads the next video in the same element: the verdict on the first one is not
    drawn on it; a tab opens with the report instead."""
    browser.configure(autoCheck=False)
    try:
        page, tab, info = right_click_a_fresh_clip(browser, sites)
        with browser.context.expect_page(timeout=WAIT_MS) as opened:
            browser.menu_click(info, tab, wait=False)
            page.evaluate("document.querySelector('#clip').src = '/media/clip.mp4?next=' + Date.now()")
            check = browser.menu_result()
        assert check["status"] == "done", check
        assert f"id={check['id']}" in opened.value.url
        opened.value.close()
        assert badge_on(page, "#clip") is None, page.evaluate(BADGES_JS)
        page.close()
    finally:
        browser.configure(autoCheck=True)


def test_the_popup_draws_each_verdict_on_the_page_as_soon_as_it_is_final(browser, live_backend, sites):
    """A click on the page closes the popup; the verdicts it already had must be on the page by then,
    not only once the slowest video is done."""
    page = browser.context.new_page()
    browser.configure(autoCheck=False)
    try:
        page.goto(f"{sites.local}/slow-video-page.html")
        page.evaluate("document.querySelector('#slow').src = '/slow-media/clip.mp4?t=' + Date.now()")  # never cached
        # the photo from a public name, so the browser reads and uploads it (one on 127.0.0.1 it leaves
        # to the backend, as a URL queued behind the video)
        page.evaluate("""() => { const img = document.querySelector('#photo');
            img.src = 'https://x.com/media/real-2.jpg'; return img.decode(); }""")
        popup = browser.context.new_page()
        scan_from_popup(browser, popup, page)
        page.wait_for_function("[...document.querySelectorAll('div[data-fakelens=badge]')].some(b => b.dataset.state === 'done')",
                               timeout=WAIT_MS)
        rows = popup.evaluate("[...document.querySelectorAll('#results li')].map(r => [r.dataset.kind, r.dataset.state])")
        assert ["video", "done"] not in rows, rows   # the video was still being checked
        popup.close()
        assert [b["media"].endswith("/media/real-2.jpg") for b in page.evaluate(BADGES_JS)] == [True]
    finally:
        browser.configure(autoCheck=True)
        page.close()


def test_a_page_scan_goes_on_with_the_popup_closed_and_a_popup_opened_again_shows_it(browser, live_backend, sites):
    """A click on the page closes Chrome's popup. The scan went on uploading, but the verdicts not final
    by then were never drawn (only the popup drew them), and a popup opened again was blank: scanning
    again checked everything twice. background.js follows the scan now: the page gets every verdict, and
    a popup opened again shows the scan as it stands, with no new check."""
    history = lambda: {c["id"] for c in requests.get(f"{live_backend.url}/api/v1/checks?limit=500",
                                                     headers=live_backend.headers, timeout=10).json()["checks"]}
    page = browser.context.new_page()
    browser.configure(autoCheck=False)
    try:
        popup = scan_a_slow_video(browser, page, sites, wait_s=6)
        popup.wait_for_selector("#results li[data-kind='video']", timeout=10_000)
        popup.close()   # as a click on the page closes it, the video not checked yet
        badges = final_badges(page, 2)
        assert sorted(b["state"] for b in badges) == ["done", "done"], badges
        assert any(b["media"].split("?")[0].endswith("/slow-media/clip.mp4") for b in badges), badges
        made = history()
        again = browser.context.new_page()
        again.goto(browser.url(f"popup/popup.html?tab={browser.tab_id(page)}"))
        again.wait_for_function("""() => { const rows = [...document.querySelectorAll('#results li')];
            return rows.length === 2 && rows.every(r => r.dataset.state === 'done'); }""", timeout=10_000)
        assert again.text_content("#summary").startswith("2 media found:")
        assert again.get_attribute("#scan", "aria-disabled") == "false"
        assert history() == made   # shown, not checked again
        again.close()
        # a scan of another page in the tab is not shown for this one, and ends with its next verdict
        popup = browser.context.new_page()
        popup.goto(browser.url(f"popup/popup.html?tab={browser.tab_id(page)}"))
        page.evaluate("document.querySelector('#slow').src = '/slow-media/clip.mp4?wait=6&t=' + Date.now()")
        popup.click("#scan")
        popup.wait_for_selector("#results li[data-kind='video'][data-state='running'], "
                                "#results li[data-kind='video'][data-state='queued']", timeout=15_000)
        popup.close()
        tab = browser.tab_id(page)
        assert browser.sw("tab => FakeLens.background.scanFollowed(tab)", tab)
        page.goto(f"{sites.local}/plain-page.html")
        other = browser.context.new_page()
        other.goto(browser.url(f"popup/popup.html?tab={tab}"))
        other.wait_for_selector("#connection[data-state='ok']", timeout=10_000)
        time.sleep(1)
        assert other.evaluate("document.querySelectorAll('#results li').length") == 0
        other.close()
        deadline = time.monotonic() + 30
        while browser.sw("tab => FakeLens.background.scanFollowed(tab)", tab):   # not followed for ever
            assert time.monotonic() < deadline, "the scan of the page left is still followed"
            time.sleep(0.5)
    finally:
        browser.configure(autoCheck=True)
        page.close()


def scan_a_slow_video(browser, page, sites, wait_s: int):
    """`page` on the slow-video page, its video answered after `wait_s` seconds (never cached), scanned from
    a popup of its own, which is returned."""
    page.goto(f"{sites.local}/slow-video-page.html")
    page.evaluate(f"document.querySelector('#slow').src = '/slow-media/clip.mp4?wait={wait_s}&t=' + Date.now()")
    popup = browser.context.new_page()
    scan_from_popup(browser, popup, page)
    return popup


def stop_service_worker(browser, page):
    """Stop the extension's service worker, as Chrome stops an idle one after 30 s: its memory is gone."""
    browser.sw("() => { globalThis.stoppedYet = false; }")
    cdp = browser.context.new_cdp_session(page)
    try:
        cdp.send("ServiceWorker.enable")
        cdp.send("ServiceWorker.stopAllWorkers")
    finally:
        cdp.detach()
    assert browser.sw("() => globalThis.stoppedYet") is None, "the service worker was not stopped"


def test_a_popup_opened_again_after_the_background_stopped_shows_the_scan(browser, live_backend, sites):
    """Chrome stops an idle service worker after 30 s (Firefox unloads an idle event page): the page scans
    it kept in memory went with it, and the popup opened again on a scanned page was blank, no summary
    and no rows, while the page still showed its badges. The scan is kept in session storage now (what
    the rows show of each check, not whole results): the popup shows it again, and a check still running
    when the worker stopped is followed again, its verdict drawn on the page; a new page in the tab
    drops what was kept."""
    kept = lambda tab: browser.sw("tab => chrome.storage.session.get(`pageScan:${tab}`)", tab).get(f"pageScan:{tab}")
    page = browser.context.new_page()
    browser.configure(autoCheck=False)
    try:
        popup = scan_a_slow_video(browser, page, sites, wait_s=15)
        tab = browser.tab_id(page)
        popup.wait_for_selector("#results li[data-kind='video'][data-state='running'], "
                                "#results li[data-kind='video'][data-state='queued']", timeout=15_000)
        popup.wait_for_function("""() => [...document.querySelectorAll('#results li')]
            .every(r => r.dataset.state !== 'pending')""", timeout=10_000)   # both sent
        popup.close()
        stop_service_worker(browser, page)   # the video not checked yet
        again = browser.context.new_page()
        again.goto(browser.url(f"popup/popup.html?tab={tab}"))
        again.wait_for_function("() => document.querySelectorAll('#results li').length === 2", timeout=10_000)
        assert again.text_content("#summary").startswith("2 media found:")
        again.wait_for_function("""() => [...document.querySelectorAll('#results li')]
            .every(r => r.dataset.state === 'done')""", timeout=WAIT_MS)
        summary = again.text_content("#summary")
        assert summary.startswith("2 media found:") and "checking" not in summary, summary
        again.wait_for_selector("#scan[aria-disabled='false']", timeout=5_000)
        badges = final_badges(page, 2)   # the video's verdict came after the worker stopped
        assert sorted(b["state"] for b in badges) == ["done", "done"], badges
        again.close()
        after = kept(tab)["checks"]
        assert all(c["status"] == "done" for c in after), after
        for check in after:   # what the rows show, not whole results
            assert set(check) <= {"id", "status", "sent_url", "cached", "created", "error", "progress", "result"}, check
            assert all(set(face) <= {"frame"} for face in check["result"].get("faces", [])), check
        page.goto(f"{sites.local}/plain-page.html")   # a new page: the scan kept is dropped
        deadline = time.monotonic() + 10
        while kept(tab):
            assert time.monotonic() < deadline, "the scan of the page left is still kept"
            time.sleep(0.3)
    finally:
        browser.configure(autoCheck=True)
        page.close()


def test_a_popup_left_open_while_the_background_stops_gets_the_scans_verdicts(browser, live_backend, sites):
    """Only a popup opened afresh restored a kept scan: one left open while the service worker stopped
    said "Waiting to be checked…" for ever, and the page got no verdicts, though the backend had them.
    The background, started again (here by the next call into it; else the 30 s alarm, a page), follows
    the kept scans at once."""
    page = browser.context.new_page()
    browser.configure(autoCheck=False)
    try:
        popup = scan_a_slow_video(browser, page, sites, wait_s=8)
        popup.wait_for_function("""() => { const rows = [...document.querySelectorAll('#results li')];
            return rows.length === 2 && rows.every(r => r.dataset.state !== 'pending'); }""", timeout=15_000)   # both sent
        stop_service_worker(browser, page)   # the popup stays open; the video not checked yet
        popup.wait_for_function("""() => [...document.querySelectorAll('#results li')]
            .every(r => r.dataset.state === 'done')""", timeout=WAIT_MS)
        badges = final_badges(page, 2)
        assert sorted(b["state"] for b in badges) == ["done", "done"], badges
        popup.wait_for_selector("#scan[aria-disabled='false']", timeout=5_000)
        popup.close()
    finally:
        browser.configure(autoCheck=True)
        page.close()


def test_a_page_reloaded_mid_scan_ends_the_popups_scan_saying_why(browser, live_backend, media_dir, sites):
    """The page reloaded while two videos were still being checked: background.js stopped following the
    scan at its next verdict (the new page knows no such scan), but the popup was never told. Its rows
    said "Waiting to be checked…" for ever, the Scan button stayed busy and "Scan finished" never came,
    though the backend had finished every check. It says the page changed, once, and can scan again."""
    stamp = time.time_ns()
    (media_dir / f"reloaded-{stamp}.html").write_text(
        "<!doctype html><title>reloaded</title>"
        + "".join(f'<img src="/media/real-{k}.jpg?t={stamp}" style="width:200px;height:200px">' for k in (1, 2))
        + "".join(f'<video src="/slow-media/clip.mp4?wait={w}&t={stamp}-{w}" muted preload="none" '
                  'style="width:320px;height:180px;background:#000"></video>' for w in (4, 14)))
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    popup = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/media/reloaded-{stamp}.html")
        open_popup(browser, popup, page)
        popup.evaluate("""() => { window.spoken = []; new MutationObserver(() => window.spoken.push(
            document.querySelector('#announce').textContent)).observe(document.querySelector('#announce'),
            {childList: true, characterData: true, subtree: true}); }""")
        popup.click("#scan")
        popup.wait_for_selector("#results li[data-kind='video']", timeout=20_000)
        page.reload()   # both videos still on their way (4 s and 14 s from the server)
        popup.wait_for_selector("#scan[aria-disabled='false']", timeout=WAIT_MS)
        rows = popup.evaluate("""() => [...document.querySelectorAll('#results li')].map(r => [r.dataset.kind,
            r.dataset.state, r.querySelector('.chip').textContent.trim()])""")
        summary = popup.text_content("#summary")
        assert summary.startswith("The page changed (reloaded or left): scan again. 4 media found:"), summary
        assert ["video", "cancelled", "– Not followed: the page changed"] in rows, rows   # the 14 s one
        assert all(state in ("done", "failed", "cancelled") for _, state, _ in rows), rows
        assert "not followed" in summary, summary
        popup.wait_for_timeout(500)
        assert popup.evaluate("window.spoken") == ["Looking for images and videos…", "4 media found; checking them…",
                                                   summary]   # the end, said once
    finally:
        browser.configure(autoCheck=True)
        popup.close()
        page.close()


def test_a_scans_checks_failing_for_the_connection_turn_the_popups_connected_line(browser, live_backend, sites):
    """The backend stopped mid-scan: every row ended "FakeLens backend not reachable" (after the two
    minutes an outage is waited out) under "● Connected to FakeLens" for as long as the popup stayed
    open; the line was checked again only for errors in the scan's first answer. A row failing for the
    connection checks it again, with its fix (here the token, refused mid-scan, fails them at once)."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    popup = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/slow-video-page.html")
        page.evaluate("document.querySelector('#slow').src = '/slow-media/clip.mp4?wait=8&t=' + Date.now()")
        scan_from_popup(browser, popup, page)
        popup.wait_for_selector("#results li[data-kind='video'][data-state='queued'], "
                                "#results li[data-kind='video'][data-state='running']", timeout=20_000)
        browser.configure(token="not-the-token")   # the backend refuses the next poll
        popup.wait_for_selector("#results li[data-kind='video'][data-state='failed']", timeout=20_000)
        popup.wait_for_selector("#connection[data-state='unauthorized']", timeout=10_000)
        assert popup.text_content("#connection .text") == "Token rejected"
        assert "fakelens token" in popup.text_content("#fix") and popup.is_visible("#fix")
        popup.wait_for_selector("#scan[aria-disabled='false']", timeout=10_000)
    finally:
        browser.configure(autoCheck=True, token=live_backend.token)
        popup.close()
        page.close()


def test_a_right_clicked_link_opens_its_report_tab_at_once_with_the_checks_progress(browser, live_backend, sites):
    """"Check this link" showed nothing at all until its check had ended (a video page can take a minute):
    no tab, no badge, and the user clicked again. The report tab opens as soon as the check is made, says
    what it is doing, then shows the report; one tab."""
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/plain-page.html")
        link = f"{sites.local}/slow-media/clip.mp4?wait=10&t={time.time()}"
        info = {"menuItemId": "fakelens-check-link", "linkUrl": link, "pageUrl": page.url, "frameId": 0}
        with browser.context.expect_page(timeout=15_000) as opened:
            browser.menu_click(info, browser.tab_id(page), wait=False)
        report = opened.value
        report.wait_for_function("""link => { const m = document.querySelector('#message');
            return m && (m.textContent.startsWith(`Checking ${link}`) || m.textContent.startsWith(`Waiting to check ${link}`)); }""",
                                 arg=link, timeout=10_000)
        assert report.evaluate("!document.querySelector('#progress').hidden")
        check = browser.menu_result()
        assert check["status"] == "done", check
        report.wait_for_selector("iframe#report:not([hidden])", timeout=15_000)
        assert report.evaluate("!document.querySelector('#progress')")   # gone with the message
        assert [p for p in browser.context.pages if f"id={check['id']}" in p.url] == [report]
        report.close()
    finally:
        page.close()


def test_a_page_scan_of_more_than_a_batch_sends_every_item(browser, live_backend, sites, tmp_path):
    """The backend takes at most 100 URLs a batch; a gallery of 130 images the browser cannot read
    (here: 404s, which go to the backend as URLs) used to fail the whole scan. (On a backend whose queue
    has room for them all: one page host's checks may have half of max_queue waiting.)"""
    from support.live_backend import start_backend

    roomy = start_backend(tmp_path / "home", FAKELENS_MAX_QUEUE=400)
    browser.configure(backendUrl=roomy.url, token=roomy.token)
    try:
        items = [{"kind": "image", "url": f"{sites.local}/media/missing-{i}.jpg"} for i in range(130)]
        checks = browser.sw("([items, page]) => FakeLens.background.scan(items, page)",
                            [items, f"{sites.local}/gallery"])
        assert len(checks) == 130
        assert all(c and c.get("id") for c in checks), [c for c in checks if not (c and c.get("id"))][:2]
        assert {c["sent_url"] for c in checks} == {i["url"] for i in items}
        # addresses longer than the backend takes fail one by one: 12 of 100 kB would make a batch over
        # the backend's 1 MB of JSON, and fail it whole
        long = [{"kind": "image", "url": f"{sites.local}/media/missing.jpg?{i}={'x' * 100_000}"} for i in range(12)]
        checks = browser.sw("([items, page]) => FakeLens.background.scan(items, page)",
                            [items[:3] + long, f"{sites.local}/gallery"])
        assert all(c.get("id") for c in checks[:3]), checks[:3]
        assert [c["error"]["message"] for c in checks[3:]] == ["The address is longer than 4096 characters"] * 12
    finally:
        browser.configure(backendUrl=live_backend.url, token=live_backend.token)
        roomy.stop()


def test_a_page_scan_follows_its_checks_a_few_at_a_time(browser, live_backend, sites, tmp_path):
    """60 pictures from a server that never answers: the backend's one worker waits on the first, the
    others wait in line. The popup asked after every one of them every 2 s (30 requests a second here;
    the audit's page of 200: 100), though a check waiting in line makes no progress. It asks after the
    few the backend is on or takes next, and one other in turn. The summary said "60 running" while 59
    rows said "Waiting to be checked…": it counts them in the rows' words."""
    from support.live_backend import start_backend

    silent, held = socket.socket(), []
    silent.bind(("127.0.0.1", 0))
    silent.listen(128)

    def hold():
        while True:
            try:
                held.append(silent.accept()[0])
            except OSError:   # closed
                return

    threading.Thread(target=hold, daemon=True).start()
    backend = start_backend(tmp_path / "home", FAKELENS_READ_TIMEOUT_S=60)   # one worker
    browser.configure(backendUrl=backend.url, token=backend.token, autoCheck=False)
    browser.sw("""() => { self.checkPolls = 0; self.fetchBeforeCount = self.fetch;
        self.fetch = (url, init) => { if (/\\/api\\/v1\\/checks\\/[0-9a-f]{16}$/.test(String(url))) self.checkPolls += 1;
                                      return self.fetchBeforeCount(url, init); }; }""")
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/plain-page.html")
        page.evaluate("""src => document.querySelector('#feed').replaceChildren(...Array.from({ length: 60 }, (_, n) =>
            Object.assign(document.createElement('img'), { width: 130, height: 130, src: `${src}/${n}.jpg` })))""",
                      f"http://127.0.0.1:{silent.getsockname()[1]}")
        popup = browser.context.new_page()
        scan_from_popup(browser, popup, page)
        popup.wait_for_selector("#results li[data-state='running']", timeout=30_000)   # followed since
        browser.sw("() => { self.checkPolls = 0; }")
        time.sleep(10)
        polls = browser.sw("() => self.checkPolls")
        summary = popup.text_content("#summary")
        popup.close()
    finally:
        browser.sw("() => { if (self.fetchBeforeCount) self.fetch = self.fetchBeforeCount; }")
        browser.configure(autoCheck=True, backendUrl=live_backend.url, token=live_backend.token)
        page.close()
        backend.stop()
        silent.close()
        for conn in held:
            conn.close()
    assert summary == "60 media found: 1 checking · 59 waiting", summary
    assert polls <= 30, polls   # five each 2 s at most (300 before)


def test_a_failed_check_is_retried_from_its_badge(browser, live_backend, media_dir, sites):
    """Checked while the backend was down: a click on the failed badge checks again once it is up."""
    browser.configure(autoCheck=False, backendUrl=_dead_port_url(live_backend)[0])
    try:
        page = browser.context.new_page()
        page.goto(f"{sites.local}/plain-page.html")
        box = page.locator("#portrait").bounding_box()
        page.mouse.move(box["x"] + 100, box["y"] + 100)
        page.locator("div[data-fakelens=pill] button").click(timeout=5_000)
        failed = final_badges(page, 1)[0]
        assert failed["state"] == "failed" and "not reachable" in failed["text"], failed
        browser.configure(backendUrl=live_backend.url)
        page.locator("div[data-fakelens=badge] .chip").click()
        page.wait_for_function("document.querySelector('div[data-fakelens=badge]').dataset.state === 'done'", timeout=WAIT_MS)
        assert_badge_is_backend_verdict(page.evaluate(BADGES_JS)[0], live_backend, media_dir)
        page.close()
    finally:
        browser.configure(autoCheck=True, backendUrl=live_backend.url)


def test_a_verdict_follows_its_image_when_the_page_swaps_the_src(browser, live_backend, media_dir, sites):
    """Carousels and lazy loaders change an <img>'s src: the old verdict goes and the new image is
    checked; a style change alone keeps the verdict."""
    page = browser.context.new_page()
    page.goto(f"{sites.local}/plain-page.html")
    badge = page.locator("div[data-fakelens=badge][data-media$='/media/plain.jpg']")
    badge.wait_for(state="attached", timeout=WAIT_MS)
    page.wait_for_function("document.querySelector(\"div[data-fakelens=badge][data-media$='/media/plain.jpg']\")"
                           ".dataset.state === 'done'", timeout=WAIT_MS)
    page.evaluate("document.querySelector('#noface').style.opacity = '0.99'")
    page.wait_for_timeout(600)
    assert badge.count() == 1, "a style change must not drop the verdict"
    page.evaluate("document.querySelector('#noface').src = '/media/real-7.jpg'")
    swapped = page.locator("div[data-fakelens=badge][data-media$='/media/real-7.jpg']")
    swapped.wait_for(state="attached", timeout=WAIT_MS)
    page.wait_for_function("document.querySelector(\"div[data-fakelens=badge][data-media$='/media/real-7.jpg']\")"
                           ".dataset.state === 'done'", timeout=WAIT_MS)
    assert badge.count() == 0
    got = [b for b in page.evaluate(BADGES_JS) if b["media"].endswith("/media/real-7.jpg")][0]
    assert_badge_is_backend_verdict(got, live_backend, media_dir)
    page.close()


def test_media_that_turns_up_late_or_oddly_is_checked(browser, live_backend, media_dir, sites):
    """An image taken out of the page and put back gets its badge again; a stylesheet's background (on
    an element there at load, and on one added later), background URLs with brackets or quotes, a web component defined after
    it is in the page, a photo that grows to the minimum size and an SVG <image> (Facebook's profile
    photos) are all checked automatically; a lazy loader's 1×1 placeholder is not, its photo is."""
    page = browser.context.new_page()
    done = """name => [...document.querySelectorAll('div[data-fakelens=badge]')].some(b => b.dataset.media &&
        decodeURIComponent(b.dataset.media).endsWith('/media/' + name) && b.dataset.state === 'done')"""
    try:
        page.goto(f"{sites.local}/late-media.html")
        for name in ("real-1.jpg", "real-2.jpg", "photo(1).jpg", "o'brien.jpg", "ai-3.jpg", "ai-1.jpg"):
            page.wait_for_function(done, arg=name, timeout=WAIT_MS)
        assert not page.evaluate(done, "real-5.jpg"), "a photo shown at 90 px was checked"
        assert not any(b["media"] == page.url for b in page.evaluate(BADGES_JS)), "an SVG <image> without href"
        page.evaluate("document.querySelector('#reveal').style.transform = 'none'")   # from scale(0)
        page.wait_for_function(done, arg="real-6.jpg", timeout=WAIT_MS)
        assert not any(b["media"].startswith("data:") for b in page.evaluate(BADGES_JS)), "a placeholder was checked"
        page.evaluate("const p = document.querySelector('#placeholder'); p.src = p.dataset.src")
        page.wait_for_function(done, arg="ai-2.jpg", timeout=WAIT_MS)
        # out of the page until its badge goes, then back
        page.evaluate("window.again = document.querySelector('#again'); again.remove()")
        page.wait_for_function("!document.querySelector(\"div[data-fakelens=badge][data-media$='/media/real-1.jpg']\")",
                               timeout=WAIT_MS)
        page.evaluate("document.querySelector('#list').append(again)")
        page.wait_for_function(done, arg="real-1.jpg", timeout=WAIT_MS)
        # an element added later whose background a stylesheet rule sets
        page.evaluate("document.querySelector('#lazy-slot').append(Object.assign(document.createElement('div'), "
                      "{className: 'tile lazy-bg'}))")
        page.wait_for_function(done, arg="real-4.jpg", timeout=WAIT_MS)
        page.evaluate("""customElements.define('my-card', class extends HTMLElement {
            connectedCallback() { this.attachShadow({mode: 'open'}).innerHTML =
                '<img alt="" src="/media/real-3.jpg" style="width:200px;height:200px">'; } })""")
        page.wait_for_function(done, arg="real-3.jpg", timeout=WAIT_MS)
        page.evaluate("document.querySelector('#grow').style.transform = 'none'")
        page.wait_for_function(done, arg="real-5.jpg", timeout=WAIT_MS)
        for badge in page.evaluate(BADGES_JS):
            if badge["media"].endswith(("/media/real-1.jpg", "/media/real-5.jpg", "/media/ai-3.jpg")):
                assert_badge_is_backend_verdict(badge, live_backend, media_dir)
    finally:
        page.close()


def test_media_that_does_not_show_is_not_checked_nor_badged(browser, live_backend, media_dir, sites):
    """A crossfade slideshow lays its slides on one another, all but one at opacity 0: each was checked
    and badged over the slide shown. Only the slide shown is now, the next once it fades in, and a
    slide's badge goes while it is faded out."""
    page = browser.context.new_page()
    shown = "id => { const b = document.querySelector(`div[data-fakelens=badge][data-media$='/media/${id}']`); " \
            "return b && b.dataset.state === 'done' && b.style.display !== 'none'; }"
    try:
        page.goto(f"{sites.local}/crossfade.html")
        page.wait_for_function(shown, arg="real-1.jpg", timeout=WAIT_MS)
        page.wait_for_timeout(1500)
        assert [b["media"].split("/")[-1] for b in page.evaluate(BADGES_JS)] == ["real-1.jpg"]
        page.evaluate("document.querySelector('#s1').classList.remove('active'); "
                      "document.querySelector('#s2').classList.add('active')")
        page.wait_for_function(shown, arg="real-2.jpg", timeout=WAIT_MS)
        page.wait_for_function(f"id => !({shown})(id)", arg="real-1.jpg", timeout=5_000)
        assert not any(b["media"].endswith("real-3.jpg") for b in page.evaluate(BADGES_JS))
    finally:
        page.close()


def test_a_badge_slides_with_its_photo(browser, live_backend, sites):
    """A carousel that slides with a CSS transform moves its photo without a scroll, a resize or a size
    change: the badge stayed where the photo had been, over the next slide, until the next second's
    look. It follows the photo while the slide runs, the whole 2 s (it stopped after the first)."""
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/slider.html")
        badge = "document.querySelector(`div[data-fakelens=badge][data-media$='/media/real-1.jpg']`)"
        page.wait_for_function(f"() => {{ const b = {badge}; return b && b.dataset.state === 'done'; }}", timeout=WAIT_MS)
        page.evaluate("document.querySelector('#track').style.transform = 'translateX(200px)'")   # 2 s, linear
        gaps = []
        for _ in range(10):   # 1.5 s and more of it
            page.wait_for_timeout(150)
            gaps.append(page.evaluate(f"""() => Math.abs(parseFloat({badge}.style.left)
                                              - document.querySelector('#first').getBoundingClientRect().left)"""))
        assert max(gaps) < 12, gaps   # within a frame or two of its photo, at 100 px a second
    finally:
        page.close()


def test_an_x_photo_is_checked_once_on_the_picture_shown(browser, live_backend, media_dir, sites):
    """X draws a photo as a background over the same picture's <img>, made transparent: both were
    checked and badged, one badge over the other. The picture shown is, automatically, by a page scan
    and from the keyboard on the photo's link; the transparent <img> is not."""
    page = browser.context.new_page()
    try:
        page.goto("https://x.com/x-photo.html")
        badges = final_badges(page, 1)
        page.wait_for_timeout(1500)
        badges = page.evaluate(BADGES_JS)
        assert len(badges) == 1 and badges[0]["visible"], badges
        assert_badge_is_backend_verdict(badges[0], live_backend, media_dir)
        run = content_script(page)
        assert run("FakeLens.findAllMedia(128).map(el => el.className)") == ["bg"]

        browser.configure(autoCheck=False)
        page.reload()
        page.focus("#photo-link")
        page.bring_to_front()
        browser.sw("async (tab) => FakeLens.background.runCommand('check-focused', await chrome.tabs.get(tab))",
                   browser.tab_id(page))
        page.wait_for_function("""() => { const a = document.activeElement;
            return a && a.matches('div[data-fakelens=badge]') && a.dataset.state === 'done' && a.style.display !== 'none'; }""",
                               timeout=WAIT_MS)
        assert len(page.evaluate(BADGES_JS)) == 1
    finally:
        browser.configure(autoCheck=True)
        page.close()


def test_a_picture_is_checked_as_shown_and_its_badge_stays_in_its_scrolling_box(browser, live_backend, media_dir,
                                                                                sites):
    """Art direction: on a wide window the <source> shows another photo than the <img> names, and that
    photo is the one checked. In an app whose feed scrolls in a box under its header, the badge sits on
    the part of the photo still shown, never over the header, and goes once the photo is scrolled away."""
    page = browser.context.new_page()
    badge = "div[data-fakelens=badge][data-media$='/media/real-5.jpg']"
    try:
        page.goto(f"{sites.local}/art-direction.html")
        got = final_badges(page, 1)
        assert len(got) == 1 and got[0]["media"].endswith("/media/real-5.jpg"), got
        assert_badge_is_backend_verdict(got[0], live_backend, media_dir)
        page.evaluate("document.querySelector('#feed').scrollTop = 100")   # the photo's top under the header
        page.wait_for_function(f"""() => {{ const b = document.querySelector("{badge}");
            const r = document.querySelector('#art').getBoundingClientRect();
            return r.top < 140 && b.style.display !== 'none' && parseFloat(b.style.top) >= 140; }}""", timeout=5_000)
        page.evaluate("document.querySelector('#feed').scrollTop = 400")   # scrolled away, inside the box
        page.wait_for_function(f"document.querySelector(\"{badge}\").style.display === 'none'", timeout=5_000)
    finally:
        page.close()


def test_badges_stay_usable_at_the_windows_edges_zoomed_right_to_left_and_by_keyboard(browser, live_backend,
                                                                                     sites):
    """A banner wider than the window keeps its badge in the window; a photo at the window's bottom gets
    its tooltip above; a page that zooms <html> still has its badges on their media; a right-to-left
    page does not turn the badge's English around; a badge names its media to a screen reader, and
    Escape hides its tooltip."""
    page = browser.context.new_page()
    chip = "sel => { const m = document.querySelector(sel).getBoundingClientRect(); " \
           "const b = [...document.querySelectorAll('div[data-fakelens=badge]')].find(b => b.dataset.media.endsWith(" \
           "sel === '#wide' ? 'real-1.jpg' : 'real-2.jpg')); const c = b.shadowRoot.querySelector('.chip');" \
           "const r = c.getBoundingClientRect(); return {media: m.toJSON(), chip: r.toJSON(), shown: b.style.display," \
           "label: c.getAttribute('aria-label'), tip: getComputedStyle(b.shadowRoot.querySelector('.tip')).display," \
           "text: b.dataset.text, shows: c.querySelector('.text').textContent, head: [...b.shadowRoot.querySelector(" \
           "'.tip .head').childNodes].filter(n => !(n.nodeType === 1 && n.getAttribute('aria-hidden') === 'true'))" \
           ".map(n => n.textContent).join('').trim()," \
           "above: b.shadowRoot.querySelector('.tip').classList.contains('above')," \
           "direction: getComputedStyle(b.shadowRoot.querySelector('.tip')).direction, width: innerWidth}; }"
    inside = lambda c: (c["chip"]["left"] >= c["media"]["left"] - 1 and c["chip"]["right"] <= c["media"]["right"] + 1
                        and c["chip"]["top"] >= c["media"]["top"] - 1 and c["chip"]["right"] <= c["width"])
    frames = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
    try:
        page.goto(f"{sites.local}/layout-page.html")
        final_badges(page, 2)
        page.evaluate(frames)
        wide, low = page.evaluate(chip, "#wide"), page.evaluate(chip, "#low")
        assert wide["shown"] == "block" and inside(wide), wide   # its right corner is past the window
        assert low["above"] and 'FakeLens on "Portrait of Ann": ' in low["label"], low
        # the name starts with the words shown (WCAG 2.5.3), then the media and the verdict in full; the
        # tooltip's head, its description, reads the verdict without its icon ("question mark")
        assert low["label"] == f'{low["shows"]} — FakeLens on "Portrait of Ann": {low["text"]}', low
        assert low["head"] == low["text"], low
        # the tooltip opens on focus, above the chip, inside the window; Escape hides it
        badge = page.locator("div[data-fakelens=badge][data-media$='/media/real-2.jpg'] .chip")
        badge.focus()
        tip = page.evaluate("""() => [...document.querySelectorAll('div[data-fakelens=badge]')].find(b => b.dataset.media
            .endsWith('real-2.jpg')).shadowRoot.querySelector('.tip').getBoundingClientRect().toJSON()""")
        assert tip["height"] > 40 and 0 <= tip["top"] and tip["bottom"] <= page.evaluate("innerHeight"), tip
        assert tip["bottom"] >= low["chip"]["top"], (tip, low["chip"])   # no gap for the pointer to fall through
        page.keyboard.press("Escape")
        assert page.evaluate(chip, "#low")["tip"] == "none"
        badge.blur()
        page.evaluate("document.documentElement.dir = 'rtl'")
        assert page.evaluate(chip, "#low")["direction"] == "ltr"
        page.evaluate("document.documentElement.dir = ''; document.documentElement.style.zoom = '1.5'; "
                      "dispatchEvent(new Event('resize'))")
        page.evaluate(frames)
        zoomed = page.evaluate(chip, "#wide")
        assert zoomed["shown"] == "block" and inside(zoomed), zoomed
    finally:
        page.close()


def test_the_keyboard_command_checks_the_photo_in_focus_and_focuses_its_verdict(browser, live_backend, media_dir,
                                                                               sites):
    """The hover pill needs a pointer; the keyboard's way is the command (Alt+Shift+K): it checks the
    photo in focus, here inside the link the user tabbed to, and its badge takes the focus, so a
    screen reader reads the verdict."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/picture-page.html")
        page.focus("#thumb-link")
        page.bring_to_front()
        browser.sw("async (tab) => FakeLens.background.runCommand('check-focused', await chrome.tabs.get(tab))",
                   browser.tab_id(page))
        page.wait_for_function("""() => { const a = document.activeElement;
            return a && a.matches('div[data-fakelens=badge]') && a.dataset.state === 'done'; }""", timeout=WAIT_MS)
        got = page.evaluate(BADGES_JS)
        assert len(got) == 1 and got[0]["media"].endswith("/media/real-5.jpg"), got
        assert_badge_is_backend_verdict(got[0], live_backend, media_dir)
        label, shows = page.evaluate("""() => { const c = document.activeElement.shadowRoot.activeElement;
            return [c.getAttribute('aria-label'), c.querySelector('.text').textContent]; }""")
        assert label.startswith(f'{shows} — FakeLens on "a thumbnail": '), label   # the words shown first (WCAG 2.5.3)
        # with nothing to check in focus (nor under the pointer), the key did nothing a screen reader could tell
        page.evaluate("""() => { const a = Object.assign(document.createElement('a'), {href: '#', id: 'words',
            textContent: 'words only'}); document.body.append(a); a.focus(); }""")
        browser.sw("async (tab) => FakeLens.background.runCommand('check-focused', await chrome.tabs.get(tab))",
                   browser.tab_id(page))
        page.wait_for_function("""() => [...document.querySelectorAll('div[data-fakelens=announce]')].some(h =>
            h.shadowRoot.textContent === 'FakeLens: no image or video in focus or under the pointer to check')""",
                               timeout=5_000)
        assert page.evaluate("document.activeElement.id") == "words"   # the focus stays where the user left it
    finally:
        page.close()
        browser.configure(autoCheck=True)


def test_the_verdict_of_a_check_the_user_asked_for_is_said_once_and_automatic_ones_say_nothing(browser,
                                                                                                 live_backend, sites):
    """A badge is no live region (a feed of them would talk over everything), so a screen reader user who
    asked for a check (the keyboard command, a right-click) heard nothing of its end. Its verdict is said
    once, in one polite status region of FakeLens's own; the automatic checks stay silent."""
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/picture-page.html")
        # every word written into the region, and the regions there are
        page.evaluate("""() => { window.said = []; const watched = new WeakSet();
            const watch = () => { for (const host of document.querySelectorAll('div[data-fakelens=announce]')) {
                if (watched.has(host)) continue; watched.add(host);
                new MutationObserver(() => { const t = host.shadowRoot.querySelector('[role=status]').textContent;
                    if (t) said.push(t); }).observe(host.shadowRoot, {childList: true, subtree: true, characterData: true}); } };
            new MutationObserver(watch).observe(document.documentElement, {childList: true}); watch(); }""")
        badges = final_badges(page, 2)   # automatic
        page.wait_for_timeout(500)
        assert page.evaluate("window.said") == [], "an automatic check spoke"
        text = {Path(urlsplit(b["media"]).path).name: b["text"] for b in badges}
        page.focus("#thumb-link")
        page.bring_to_front()
        browser.sw("async (tab) => FakeLens.background.runCommand('check-focused', await chrome.tabs.get(tab))",
                   browser.tab_id(page))
        first = f'FakeLens on "a thumbnail": {text["real-5.jpg"]}'
        page.wait_for_function("n => window.said.length >= n", arg=1, timeout=WAIT_MS)
        region = page.evaluate("""() => { const hosts = document.querySelectorAll('div[data-fakelens=announce]');
            const r = hosts[0].shadowRoot.querySelector('[role=status]');
            return {hosts: hosts.length, role: r.getAttribute('role'), live: r.getAttribute('aria-live')}; }""")
        assert region == {"hosts": 1, "role": "status", "live": "polite"}, region
        page.locator("#shown").click(button="right")
        src = page.eval_on_selector("#shown", "el => el.currentSrc")
        check = browser.menu_click({"menuItemId": "fakelens-check-image", "srcUrl": src, "pageUrl": page.url,
                                    "frameId": 0}, browser.tab_id(page))
        assert check["status"] == "done", check
        page.wait_for_function("n => window.said.length >= n", arg=2, timeout=WAIT_MS)
        page.wait_for_timeout(1500)   # nothing said twice (the page and the background both report the end)
        portrait = f'FakeLens on "a portrait": {badge_on(page, "#shown")["text"]}'
        assert page.evaluate("window.said") == [first, portrait]
        assert page.evaluate("document.querySelectorAll('div[data-fakelens=announce]').length") == 1   # one, shared
    finally:
        page.close()


# In FakeLens's content-script world: the backend answers the checks of this page (a check runs, then
# ends "manipulated" at its second poll); `window.onPoll` runs at each poll; every word the status
# region says is kept in `window.said`.
STUB_BACKEND_AND_LISTEN = """(() => { window.said = []; window.onPoll = () => {}; const polls = {};
    FakeLens.ask = async (type, {id} = {}) => {
        if (type === 'check') { const n = Object.keys(polls).length + 1; polls[`c${n}`] = 0; return {id: `c${n}`, status: 'running'}; }
        if (type !== 'check-status') return {};
        window.onPoll(id);
        return ++polls[id] < 2 ? {id, status: 'running'} : {id, status: 'done', result: {label: 'manipulated', score: 0.93,
            summary: '', signals: [], faces: [], provenance: {}}}; };
    const watched = new WeakSet();
    const watch = () => { for (const host of document.querySelectorAll('div[data-fakelens=announce]')) {
        if (watched.has(host)) continue; watched.add(host);
        new MutationObserver(() => { const t = host.shadowRoot.querySelector('[role=status]').textContent;
            if (t) said.push(t); }).observe(host.shadowRoot, {childList: true, subtree: true, characterData: true}); } };
    new MutationObserver(watch).observe(document.documentElement, {childList: true}); watch(); })()"""


def test_a_verdict_not_drawn_on_a_slide_swapped_in_meanwhile_is_not_said_either(browser, live_backend, sites):
    """A carousel swaps the checked <img> to its next slide while the check the user asked for runs: the
    old slide's verdict was rightly not drawn on the new one, but it was said, under the new slide's
    name ("FakeLens on "Slide two"": Likely manipulated"). Only a verdict drawn is said."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/plain-page.html")
        run = content_script(page)
        run(STUB_BACKEND_AND_LISTEN)
        run("""(async () => { window.onPoll = () => { const i = document.querySelector('#noface');
                                                        i.src = '/media/real-2.jpg'; i.alt = 'Slide two'; };
            return Boolean(await FakeLens.checkElement(document.querySelector('#noface'), {userAsked: true})); })()""")
        page.wait_for_timeout(500)   # a verdict is written 150 ms after the region is emptied
        assert run("window.said") == []
        assert page.evaluate(BADGES_JS) == []
        # the same, with no swap, is drawn and said
        run("""(async () => { window.onPoll = () => {};
            await FakeLens.checkElement(document.querySelector('#portrait'), {userAsked: true}); })()""")
        page.wait_for_timeout(500)
        assert run("window.said") == ['FakeLens on "a portrait": Likely manipulated (score 0.93)']
        assert [b["label"] for b in page.evaluate(BADGES_JS)] == ["manipulated"]
    finally:
        browser.configure(autoCheck=True)
        page.close()


def test_a_site_switched_off_keeps_no_verdict_in_its_status_region(browser, live_backend, sites):
    """Switching the site off took its badges away but left FakeLens's hidden status region on the page
    with the last verdict in it (a screen reader can still read it), and a verdict about to be written
    (150 ms after the region is emptied) was written after the switch. The region goes with the
    badges now, and a verdict not yet written is not."""
    browser.configure(autoCheck=False, disabledSites=[])
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/plain-page.html")
        run = content_script(page)
        run(STUB_BACKEND_AND_LISTEN)
        run("FakeLens.checkElement(document.querySelector('#portrait'), {userAsked: true})")
        page.wait_for_timeout(500)
        assert run("window.said") == ['FakeLens on "a portrait": Likely manipulated (score 0.93)']
        browser.configure(disabledSites=["127.0.0.1"])   # the popup's switch
        page.wait_for_function("() => !document.querySelector('div[data-fakelens=badge]')", timeout=5_000)
        page.wait_for_timeout(200)
        assert page.evaluate("document.querySelectorAll('div[data-fakelens=announce]').length") == 0

        browser.configure(disabledSites=[])
        assert run("""new Promise((resolve) => { const t0 = Date.now();   // back on
            const wait = () => (FakeLens.uiAllowed() || Date.now() - t0 > 5000 ? resolve(FakeLens.uiAllowed()) : setTimeout(wait, 50));
            wait(); })""")
        # a verdict said a moment before the switch (start.js takes the badges away as it learns of it)
        written = run("""(async () => { const FL = FakeLens; const el = document.querySelector('#portrait');
            FL.badges.announce(el, {id: 'c9', status: 'done', result: {label: 'uncertain', score: 0.6, summary: '',
                                                                       signals: [], faces: [], provenance: {}}});
            const host = document.querySelector('div[data-fakelens=announce]');
            FL.settings = {...FL.settings, disabledSites: [location.hostname]};
            FL.badges.removeAll();
            await new Promise((resolve) => setTimeout(resolve, 300));
            return [host.shadowRoot.textContent, document.querySelectorAll('div[data-fakelens=announce]').length]; })()""")
        assert written == ["", 0]
    finally:
        browser.configure(autoCheck=True, disabledSites=[])
        page.close()


def scrolls_within(frame, seconds, press) -> bool:
    """Whether the frame scrolls down within the time, `press` called each second until it does."""
    deadline = time.monotonic() + seconds
    while frame.evaluate("scrollY") < 100:
        if time.monotonic() > deadline:
            return False
        press()
        time.sleep(1)
    return True


def test_the_report_page_scrolls_from_the_keyboard(browser, live_backend, face_jpeg):
    """The report sits in a sandboxed frame with nothing focusable in it: the frame takes the focus
    once shown, so the arrow and page keys scroll it."""
    with face_jpeg.open("rb") as fh:
        check = requests.post(f"{live_backend.url}/api/v1/checks?wait=30", headers=live_backend.headers,
                              files={"media": ("face.jpg", fh, "image/jpeg")}, timeout=60).json()
    page = browser.context.new_page()
    page.set_viewport_size({"width": 900, "height": 500})
    try:
        page.goto(browser.url(f"report/report.html?id={check['id']}"))
        page.bring_to_front()   # the keys go to the tab in front (other tests' pages are open beside it)
        page.wait_for_selector("iframe#report:not([hidden])", timeout=15_000)
        report = next(f for f in page.frames if f != page.main_frame)
        report.wait_for_load_state()
        page.wait_for_function("() => document.activeElement && document.activeElement.id === 'report'", timeout=5_000)
        assert report.evaluate("document.documentElement.scrollHeight") > 900   # more than the window shows
        assert report.evaluate("document.hasFocus()")   # the keys go to the report
        # polled from here: no script runs in the sandboxed frame, so its own wait_for_function never polls;
        # the key pressed again each second, the focus handed to the frame again before each later press (as
        # a click would): on a loaded machine one press could come before the frame was ready for keys.
        page.evaluate("addEventListener('keydown', () => { window.outerKeys = (window.outerKeys || 0) + 1 }, true)")
        if not scrolls_within(report, 10, lambda: (page.keyboard.press("PageDown"), page.bring_to_front(),
                                                   page.focus("iframe#report"))):
            # Under load (inside CI, never alone) Chromium now and then routed none of the keys to the focused
            # out-of-process frame for the whole ten seconds, though it had the focus (asserted above: the
            # product's part). Said as a warning, and the keys then sent to the frame's own input: the report
            # must still scroll from them.
            warnings.warn(f"keys sent to the report tab did not reach its focused frame: "
                          f"{page.evaluate('[document.activeElement.id, window.outerKeys, document.hasFocus()]')}")
            frame_input = browser.context.new_cdp_session(report)
            key = {"key": "PageDown", "code": "PageDown", "windowsVirtualKeyCode": 34}
            assert scrolls_within(report, 10, lambda: [frame_input.send("Input.dispatchKeyEvent", {"type": t, **key})
                                                       for t in ("rawKeyDown", "keyUp")]), "the report did not scroll"
    finally:
        page.close()


def test_options_page_pairs_and_shows_a_wrong_token(browser, live_backend):
    page = browser.context.new_page()
    page.goto(browser.url("options/options.html"))
    try:
        page.fill("#token", "not-the-token")
        page.click("#save")
        page.wait_for_selector("#connection[data-state='unauthorized']", timeout=10_000)
        # the field is above the line, on this page: not "paste the token in Options"
        assert page.text_content("#fix").endswith("and paste the token above."), page.text_content("#fix")
        assert browser.badge_text() == "key"
        page.screenshot(path=str(ARTIFACTS / "extension-options-wrong-token.png"))

        page.fill("#token", live_backend.token)  # paste the token from `fakelens token`
        page.click("#save")
        page.wait_for_selector("#connection[data-state='ok']", timeout=10_000)
        assert page.text_content("#connection .text").startswith("Connected to FakeLens")
        assert browser.badge_text() == ""
        page.screenshot(path=str(ARTIFACTS / "extension-options-paired.png"))
    finally:
        browser.configure(token=live_backend.token)
        page.close()


def test_options_page_offers_site_access_only_when_it_is_withheld(browser, tmp_path):
    """Host access withheld (Firefox leaves it to the user; here: a copy of the extension that lists it
    as optional, as Firefox treats it) means no page is read: the options page says so and offers the
    grant. Granted (the extension as shipped, in Chromium), it says nothing."""
    page = browser.context.new_page()
    try:
        page.goto(browser.url("options/options.html"))
        page.wait_for_selector("#connection[data-state='ok']", timeout=10_000)
        assert page.is_hidden("#access")
    finally:
        page.close()
    copy = tmp_path / "extension"
    shutil.copytree(EXTENSION, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["optional_host_permissions"] = manifest.pop("host_permissions")
    manifest["content_scripts"][0]["matches"] = ["https://optional.invalid/*"]   # Chromium grants these
    (copy / "manifest.json").write_text(json.dumps(manifest))
    context = browser.playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=False,
        args=["--headless=new", f"--disable-extensions-except={copy}", f"--load-extension={copy}",
              "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync"])
    try:
        worker = context.service_workers[0] if context.service_workers else \
            context.wait_for_event("serviceworker", timeout=20_000)
        options = context.new_page()
        options.goto(f"chrome-extension://{worker.url.split('/')[2]}/options/options.html")
        options.wait_for_selector("#access:not([hidden])", timeout=10_000)
        assert "not allowed to read every site" in options.text_content("#access")
        assert options.is_visible("#grantAccess")
    finally:
        context.close()


def launch_copy(browser, tmp_path, name, edit):
    """Another Chromium with a copy of the extension whose manifest `edit` changed: (context, extension id)."""
    copy = tmp_path / name
    shutil.copytree(EXTENSION, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    edit(manifest)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    context = browser.playwright.chromium.launch_persistent_context(
        str(tmp_path / f"{name}-profile"), executable_path=str(CHROMIUM), headless=False,
        args=["--headless=new", f"--disable-extensions-except={copy}", f"--load-extension={copy}",
              "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync"])
    worker = context.service_workers[0] if context.service_workers else \
        context.wait_for_event("serviceworker", timeout=20_000)
    return context, worker


def test_the_popup_says_on_opening_when_fakelens_is_not_allowed_on_the_site(browser, live_backend, sites, tmp_path):
    """Host access withheld (Firefox lets the user take it away; Chrome's "on click" site access): the popup
    showed "Badges on this site" greyed out with no reason, and only a click on Scan said FakeLens could
    not run there. It says so on opening now, with the grant Options offers. Granted, it says nothing."""
    page = browser.context.new_page()
    popup = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/plain-page.html")
        open_popup(browser, popup, page)
        popup.wait_for_timeout(300)
        assert popup.is_hidden("#access")
    finally:
        popup.close()
        page.close()

    def optional(manifest):
        manifest["optional_host_permissions"] = manifest.pop("host_permissions")
        manifest["content_scripts"][0]["matches"] = ["https://optional.invalid/*"]   # Chromium grants these
    context, worker = launch_copy(browser, tmp_path, "optional", optional)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(f"{sites.local}/plain-page.html")
        # (its address is hidden from an extension not allowed there: the one tab without one)
        tabs = worker.evaluate("async () => (await chrome.tabs.query({})).filter(t => !t.url).map(t => t.id)")
        assert len(tabs) == 1, tabs
        popup = context.new_page()
        popup.goto(f"chrome-extension://{worker.url.split('/')[2]}/popup/popup.html?tab={tabs[0]}")
        popup.wait_for_selector("#access:not([hidden])", timeout=10_000)
        assert "FakeLens is not allowed on this site" in popup.text_content("#access")
        assert popup.is_visible("#grantAccess")
        assert popup.text_content("#grantAccess") == "Allow FakeLens on all sites"
        assert popup.is_disabled("#site-on")
    finally:
        context.close()


def test_options_say_nothing_of_site_access_when_every_web_page_is_allowed(browser, sites, tmp_path):
    """Firefox grants the content scripts' match patterns (http://*/* and https://*/*) with the extension:
    with the user's <all_urls> taken away and those still granted, FakeLens runs on every page, but
    Options, which looked only at <all_urls>, said it was not allowed to read every site. Nor does the
    popup say it is not allowed on a web page."""
    def web_pages(manifest):
        manifest["host_permissions"] = ["http://*/*", "https://*/*"]
    context, worker = launch_copy(browser, tmp_path, "web-pages", web_pages)
    extension_id = worker.url.split("/")[2]
    try:
        assert not worker.evaluate("() => chrome.permissions.contains({origins: ['<all_urls>']})")
        options = context.new_page()
        options.goto(f"chrome-extension://{extension_id}/options/options.html")
        options.wait_for_selector("#connection[data-state]", timeout=10_000)
        options.wait_for_timeout(500)
        assert options.is_hidden("#access")
        page = context.new_page()
        page.goto(f"{sites.local}/plain-page.html")
        tab = worker.evaluate("async url => (await chrome.tabs.query({url})).map(t => t.id)", page.url)
        assert len(tab) == 1, tab
        popup = context.new_page()
        popup.goto(f"chrome-extension://{extension_id}/popup/popup.html?tab={tab[0]}")
        popup.wait_for_selector("#connection[data-state]", timeout=10_000)
        popup.wait_for_timeout(500)
        assert popup.is_hidden("#access")
        assert popup.text_content("#site-name") == "127.0.0.1"
    finally:
        context.close()


def watch_lines(page, *ids):
    """From now on, what happens to the lines `ids` in order: "shown" (un-hidden) and "written" (words in).
    A screen reader does not read words written into a live region while it is hidden, and shown later."""
    page.evaluate("""ids => { window.lines = {}; for (const id of ids) { const line = document.getElementById(id);
        lines[id] = []; new MutationObserver((records) => { for (const r of records) lines[id].push(
            r.type === 'attributes' ? (line.hidden ? 'hidden' : 'shown') : 'written'); })
          .observe(line, {attributes: true, attributeFilter: ['hidden'], childList: true, subtree: true, characterData: true}); } }""",
                  list(ids))


def shown_then_written(page, line_id) -> bool:
    events = page.evaluate("id => window.lines[id]", line_id)
    return "shown" in events and "written" in events[events.index("shown"):]


def test_options_page_says_when_the_browser_will_not_store_the_token(browser, live_backend):
    """The token lives in the extension's IndexedDB; a browser that refuses it (site data off) gets
    "Not saved" and why, and the token in use stays the one that works."""
    page = browser.context.new_page()
    page.goto(browser.url("options/options.html"))
    try:
        page.wait_for_selector("#connection[data-state='ok']", timeout=10_000)
        page.evaluate("""() => { indexedDB.open = () => {
            const open = { error: new DOMException('refused', 'UnknownError') };
            setTimeout(() => open.onerror());
            return open;
        }; }""")
        page.fill("#token", "another-token")
        watch_lines(page, "notSaved")
        page.click("#save")
        # an alert, not a status beside the connection's fix: the save asked for did not happen
        page.wait_for_selector("#notSaved:not([hidden])", timeout=5_000)
        assert page.text_content("#notSaved").startswith("Not saved: the browser would not store the settings")
        assert page.get_attribute("#notSaved", "role") == "alert"
        assert shown_then_written(page, "notSaved") is True
        assert browser.sw("() => FakeLens.readToken()") == live_backend.token
    finally:
        page.close()


def test_options_page_keeps_the_token_on_this_computer(browser, live_backend):
    """A backend URL on another computer is refused before anything is saved (the token and every
    checked image would go there); a local one without its scheme is completed; sites split on commas too."""
    from playwright.sync_api import expect

    page = browser.context.new_page()
    page.goto(browser.url("options/options.html"))
    stored = lambda: browser.sw("async () => (await chrome.storage.local.get(['backendUrl', 'disabledSites']))")  # noqa: E731
    try:
        page.wait_for_selector("#connection[data-state='ok']", timeout=10_000)
        page.fill("#backendUrl", "https://fakelens.example.com")
        watch_lines(page, "fix")
        page.click("#save")
        page.wait_for_selector("#fix:not([hidden])", timeout=5_000)
        assert "must be on this computer" in page.text_content("#fix")
        assert page.get_attribute("#fix", "role") == "status" and shown_then_written(page, "fix")   # announced
        assert page.text_content("#fix code") == "fakelens serve" and "`" not in page.text_content("#fix")
        # said where the user is: the field marked wrong, described by the message, focused
        assert page.evaluate("""() => { const f = document.querySelector('#backendUrl');
            return [f.getAttribute('aria-invalid'), f.getAttribute('aria-describedby'), document.activeElement === f]; }""") \
            == ["true", "fix", True]
        assert stored()["backendUrl"] == live_backend.url
        # an address on this computer refused for another reason says that reason
        for typed, reason in (("https://127.0.0.1:8771", "must start with http://"),
                              ("http://127.0.0.1:8771/api/v1", "without a path such as /api/v1"),
                              ("127.0.0.1:99999", "is not an address (a port goes from 1 to 65535)")):
            page.fill("#backendUrl", typed)
            page.click("#save")
            page.locator("#fix", has_text=reason).wait_for(timeout=5_000)
            assert "must be on this computer" not in page.text_content("#fix")
        assert stored()["backendUrl"] == live_backend.url
        # another name for this computer, which FakeLens refuses (its Host check keeps the dot): refused,
        # with the address to use; it was saved, and the user saw only "Wrong backend address"
        page.fill("#backendUrl", f"localhost.:{live_backend.port}")
        page.click("#save")
        page.locator("#fix", has_text=f"use {live_backend.url} (or localhost or [::1] on that port)").wait_for(timeout=5_000)
        assert 'names this computer as "localhost."' in page.text_content("#fix")
        assert stored()["backendUrl"] == live_backend.url
        page.fill("#backendUrl", live_backend.url.replace("http://", "") + "/")
        page.fill("#disabledSites", "example.org, example.net")
        page.click("#save")
        # the connection line was "ok" before the click too: the form reloaded from storage is the sign
        expect(page.locator("#disabledSites")).to_have_value("example.org\nexample.net", timeout=10_000)
        assert stored() == {"backendUrl": live_backend.url, "disabledSites": ["example.org", "example.net"]}
        assert page.get_attribute("#backendUrl", "aria-invalid") is None
        # one saved by an older version is never used, and Options shows the address that is
        browser.configure(backendUrl="https://fakelens.example.com")
        page.reload()
        page.wait_for_selector("#connection[data-state]", timeout=10_000)   # set once the settings are in
        assert page.input_value("#backendUrl") == "http://127.0.0.1:8731"
        assert "must be on this computer: http://127.0.0.1:8731 is used instead" in page.text_content("#backendNote")
        # one on this computer under a name FakeLens refuses keeps its port, and is said too
        browser.configure(backendUrl=f"http://localhost.:{live_backend.port}")
        page.reload()
        page.wait_for_selector("#connection[data-state='ok']", timeout=10_000)
        assert page.input_value("#backendUrl") == live_backend.url
        assert page.text_content("#backendNote") == (
            f'The backend URL saved earlier, http://localhost.:{live_backend.port}, names this computer as "localhost.", '
            f"which FakeLens does not answer to: {live_backend.url} is used instead. Save to keep it.")
        page.click("#save")
        page.wait_for_selector("#backendNote[hidden]", state="attached", timeout=10_000)
        assert stored()["backendUrl"] == live_backend.url
    finally:
        browser.configure(backendUrl=live_backend.url, disabledSites=[])
        page.close()


def test_options_says_saved_and_checks_the_connection_afresh(browser, live_backend):
    """"Save and connect" showed nothing when the connection stayed as it was (the minimum size
    changed, say): no word that it saved, and the old "Connected" line stood while it checked again,
    as if it were the answer. It says "Saved." and the line says it is checking, then the answer."""
    page = browser.context.new_page()
    try:
        page.goto(browser.url("options/options.html"))
        page.wait_for_selector("#connection[data-state='ok']", timeout=10_000)
        page.evaluate("""() => { window.lines = []; const line = document.querySelector('#connection');
            new MutationObserver(() => window.lines.push(line.textContent.trim()))
                .observe(line, {childList: true, characterData: true, subtree: true}); }""")
        page.fill("#minSize", "140")
        page.click("#save")
        page.locator("#saved", has_text="Saved.").wait_for(timeout=10_000)
        # (the line was "Connected" before the save too: what it said since is waited for, not its state,
        # which could be read before the save's check began)
        deadline = time.monotonic() + 10
        while not ((lines := page.evaluate("window.lines")) and lines[-1].startswith("● Connected to FakeLens")):
            assert time.monotonic() < deadline, lines
            time.sleep(0.1)
        assert "… Checking the backend…" in lines, lines
        assert browser.sw("async () => (await chrome.storage.local.get('minSize')).minSize") == 140
        page.fill("#minSize", "150")   # an edit since: "Saved." no longer stands
        assert page.text_content("#saved") == ""
    finally:
        browser.configure(minSize=128)
        page.close()


def test_the_popups_site_switch_is_kept_when_the_popup_closes_with_the_click(browser, live_backend, sites):
    """A toolbar popup closes the moment the user clicks elsewhere: the switch read the site list
    first and wrote it after, and a popup closed in between lost the change. Other sites' entries stay."""
    browser.configure(disabledSites=["example.org"])
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/plain-page.html")
        for on, want in ((False, ["example.org", "127.0.0.1"]), (True, ["example.org"])):
            popup = browser.context.new_page()
            popup.goto(browser.url(f"popup/popup.html?tab={browser.tab_id(page)}"))
            popup.wait_for_selector("#site-on:not([disabled])", timeout=10_000)
            popup.wait_for_function("document.querySelector('#site-name').textContent === '127.0.0.1'")
            popup.set_checked("#site-on", on)
            popup.close()   # at once, as a toolbar popup does when the user clicks the page
            deadline = time.monotonic() + 10
            while (stored := browser.sw("async () => (await chrome.storage.local.get('disabledSites')).disabledSites")) != want:
                assert time.monotonic() < deadline, ("the popup's switch was not saved", on, stored)
                time.sleep(0.1)
    finally:
        browser.configure(disabledSites=[])
        page.close()


def test_a_save_in_options_keeps_the_popups_site_switch(browser, live_backend, sites):
    """Options open, a site switched off in the popup, then anything saved in Options: the site list
    was written back as Options had loaded it, and the site was on again. The fields not edited
    follow the change; one being edited is left as the user has it."""
    from playwright.sync_api import expect

    browser.configure(autoCheck=True, disabledSites=[])
    options = browser.context.new_page()
    page = browser.context.new_page()
    try:
        options.goto(browser.url("options/options.html"))
        options.wait_for_selector("#connection[data-state='ok']", timeout=10_000)
        page.goto(f"{sites.local}/plain-page.html")
        popup = browser.context.new_page()
        open_popup(browser, popup, page)
        popup.uncheck("#site-on")
        deadline = time.monotonic() + 10   # saved (the popup saves once it has read the settings), then closed
        while browser.sw("async () => (await chrome.storage.local.get('disabledSites')).disabledSites") != ["127.0.0.1"]:
            assert time.monotonic() < deadline, "the popup's switch was not saved"
            popup.wait_for_timeout(100)
        popup.close()
        expect(options.locator("#disabledSites")).to_have_value("127.0.0.1", timeout=5_000)
        options.fill("#minSize", "150")   # being edited: a change elsewhere leaves it
        browser.configure(minSize=200)
        options.wait_for_timeout(500)
        assert options.input_value("#minSize") == "150"
        options.uncheck("#autoCheck")
        options.evaluate("document.querySelector('#connection').dataset.state = 'saving'")
        options.click("#save")
        options.wait_for_selector("#connection[data-state='ok']", timeout=10_000)   # saved, then checked
        stored = browser.sw("() => chrome.storage.local.get(['disabledSites', 'autoCheck', 'minSize'])")
        assert stored == {"disabledSites": ["127.0.0.1"], "autoCheck": False, "minSize": 150}, stored
    finally:
        browser.configure(autoCheck=True, disabledSites=[], minSize=128)
        options.close()
        page.close()


def test_options_page_clears_the_history(browser, live_backend, media_dir, sites):
    # a page with verdicts drawn (automatic checks): they go with the history, and are not asked again
    shown = browser.context.new_page()
    shown.goto(f"{sites.local}/picture-page.html")
    final_badges(shown, 2)
    with open(media_dir / "real-1.jpg", "rb") as fh:
        r = requests.post(f"{live_backend.url}/api/v1/checks?wait=30", headers=live_backend.headers,
                          files={"media": ("real-1.jpg", fh)}, timeout=60)
    assert r.status_code == 200 and r.json()["status"] == "done", r.text
    history = lambda: requests.get(f"{live_backend.url}/api/v1/checks", headers=live_backend.headers,
                                   timeout=10).json()["checks"]
    assert any(c["id"] == r.json()["id"] for c in history())
    page = browser.context.new_page()
    page.goto(browser.url("options/options.html"))
    asked = []
    # nothing cleared can be brought back: the page asks first, and "Cancel" keeps everything (what the
    # page sends is recorded: the handler would send at once after the dialog, no timer to wait on)
    page.evaluate("""() => { window.sent = []; const ask = FakeLens.ask;
        FakeLens.ask = (type, payload) => { window.sent.push(type); return ask(type, payload); }; }""")
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("#clearHistory")
    assert asked and asked[0].startswith("Delete all FakeLens history"), asked
    assert "clear-history" not in page.evaluate("window.sent") and any(c["id"] == r.json()["id"] for c in history())
    page.once("dialog", lambda dialog: dialog.accept())
    page.focus("#clearHistory")
    page.keyboard.press("Enter")   # from the keyboard: the focus stays on the button (not the page's body)
    # a locator, not wait_for_function: its polling evaluates a string, which an extension page's CSP refuses
    page.locator("#cleared", has_text="History cleared:").wait_for(timeout=10_000)
    assert page.evaluate("document.activeElement.id") == "clearHistory"
    assert [c for c in history() if c["status"] not in ("queued", "running")] == []
    shown.wait_for_function("() => !document.querySelector('div[data-fakelens=badge]')", timeout=10_000)
    time.sleep(2)
    assert history() == [] and shown.evaluate(BADGES_JS) == []   # none drawn or checked again
    shown.close()
    # another program reading the database keeps the cleared rows in its log: the page says so
    import sqlite3
    with open(media_dir / "real-1.jpg", "rb") as fh:   # something to clear, in the log
        assert requests.post(f"{live_backend.url}/api/v1/checks?wait=30", headers=live_backend.headers,
                             files={"media": ("real-1.jpg", fh)}, timeout=60).status_code == 200
    reader = sqlite3.connect(live_backend.home / "fakelens.db")
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM checks").fetchall()
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#clearHistory")
        page.locator("#cleared", has_text="But the cleared history is still readable in").wait_for(timeout=20_000)
    finally:
        reader.close()
    page.close()


def test_clearing_the_history_with_the_backend_gone_shows_the_fix(browser, live_backend, tmp_path):
    """The backend stopped while Options was open: "Not cleared: backend not reachable" stood beside a
    green "Connected" line, with no fix."""
    from support.live_backend import start_backend

    gone = start_backend(tmp_path / "home")
    browser.configure(backendUrl=gone.url, token=gone.token)
    page = browser.context.new_page()
    try:
        page.goto(browser.url("options/options.html"))
        page.wait_for_selector("#connection[data-state='ok']", timeout=10_000)
        gone.stop()
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#clearHistory")
        page.locator("#cleared", has_text="Not cleared").wait_for(timeout=10_000)
        page.wait_for_selector("#connection[data-state='unreachable']", timeout=10_000)
        assert page.is_visible("#fix") and "fakelens serve" in page.text_content("#fix")
    finally:
        gone.stop()
        browser.configure(backendUrl=live_backend.url, token=live_backend.token)
        page.close()


def test_a_report_tab_is_named_after_its_media(browser, live_backend, plain_jpeg):
    """Every report tab was titled "FakeLens report": several open could not be told apart."""
    r = requests.post(f"{live_backend.url}/api/v1/checks?wait=30", headers=live_backend.headers,
                      files={"media": ("holiday.jpg", plain_jpeg.read_bytes()[:300], "image/jpeg")}, timeout=60)
    assert r.status_code == 422, r.text   # a failed check has its report too
    page = browser.context.new_page()
    try:
        page.goto(browser.url(f"report/report.html?id={r.json()['id']}"))
        page.wait_for_selector("iframe#report:not([hidden])", timeout=15_000)
        assert page.title() == "FakeLens report: holiday.jpg – Check failed"
    finally:
        page.close()


def test_the_report_page_says_what_to_do_when_a_report_cannot_be_loaded(browser, live_backend):
    """A check cleared from the history (or past keep_days) said only "no check with id ..."."""
    page = browser.context.new_page()
    try:
        page.goto(browser.url("report/report.html?id=0123456789abcdef"))
        page.locator("#message", has_text="no longer keeps this check").wait_for(timeout=10_000)
        assert "keep_days" in page.text_content("#message")
    finally:
        page.close()


def test_a_right_click_check_refused_for_its_token_says_the_fix_in_plain_words(browser):
    """The page a failed link check opens said only "The backend rejected the token"; and where a fix
    was said, its commands showed their backticks."""
    page = browser.context.new_page()
    try:
        page.goto(browser.url("report/report.html?error=The%20backend%20rejected%20the%20token&code=unauthorized"))
        page.locator("#message", has_text='Run "fakelens token"').wait_for(timeout=10_000)
        assert "`" not in page.text_content("#message")
    finally:
        page.close()


def _dead_port_url(live_backend, cleanup=None) -> tuple[str, str]:
    from support.live_backend import free_port

    return f"http://127.0.0.1:{free_port()}", "fakelens serve"


def _pipe(src: socket.socket, dst: socket.socket):
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)   # the end of what src sent
    except OSError:
        pass


class _Forward(socketserver.BaseRequestHandler):
    def handle(self):
        with socket.create_connection(self.server.target) as upstream:
            back = threading.Thread(target=_pipe, args=(upstream, self.request), daemon=True)
            back.start()
            _pipe(self.request, upstream)
            back.join(10)


def _forwarded_port_url(live_backend, cleanup) -> tuple[str, str]:
    # the same server through a port forwarded to its own (an SSH tunnel, say): it answers only on its own
    # port, and Options takes no name for this computer that FakeLens refuses, so this is how one is refused
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Forward)
    server.daemon_threads, server.target = True, ("127.0.0.1", live_backend.port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cleanup(server.server_close)
    cleanup(server.shutdown)
    return f"http://127.0.0.1:{server.server_address[1]}", "the address fakelens serve prints"



def test_a_popup_rows_progress_bar_names_its_media_and_uncertain_says_its_score_once(browser, live_backend):
    """Each row's progress bar was named "Checking", row after row: it names its media now. The row of an
    "Uncertain" verdict said its score twice once the verdict's words carried it."""
    popup = browser.context.new_page()
    try:
        popup.goto(browser.url("popup/popup.html"))
        popup.wait_for_selector("#connection[data-state]", timeout=10_000)
        got = popup.evaluate("""() => { const FL = globalThis.FakeLens;
            const item = {index: 0, kind: 'image', url: 'https://cdn.example/photos/beach.jpg', thumb: null};
            const row = FL.resultRow(item, 'https://site.example/');
            const label = () => row.querySelector('progress').getAttribute('aria-label');
            const out = {waiting: label()};
            FL.updateRow(row, item, {id: 'c1', status: 'queued'});
            out.queued = label();
            FL.updateRow(row, item, {id: 'c1', status: 'running', progress: {fraction: 0.4}});
            out.running = label();
            FL.updateRow(row, item, {id: 'c1', status: 'done', result: {label: 'uncertain', score: 0.62}});
            out.done = row.querySelector('.body').textContent;
            return out; }""")
        assert got["waiting"] == got["running"] == "Checking image https://cdn.example/photos/beach.jpg", got
        assert got["queued"] == "Waiting to check image https://cdn.example/photos/beach.jpg", got
        assert got["done"].count("0.62") == 1 and "Uncertain (score 0.62)" in got["done"], got
    finally:
        popup.close()


def test_a_popup_row_names_an_inline_picture_instead_of_reading_out_its_data_address(browser, live_backend):
    """A photo written into the page as a data: URL put its whole address (6,400+ characters of base64)
    into its row's text and title, its progress bar's name and its Report link's name: a screen reader
    read it all out. The row names it by its type, and by its kind one held by the page (blob:)."""
    popup = browser.context.new_page()
    try:
        popup.goto(browser.url("popup/popup.html"))
        popup.wait_for_selector("#connection[data-state]", timeout=10_000)
        got = popup.evaluate("""() => { const FL = globalThis.FakeLens;
            const inline = 'data:image/jpeg;base64,' + '/9j/4AAQSkZJRgABAQ'.repeat(400);
            const said = (item, check) => { const row = FL.resultRow(item, 'https://site.example/');
                FL.updateRow(row, item, check);
                const meta = row.querySelector('.meta'), bar = row.querySelector('progress'), link = row.querySelector('a.report');
                return {meta: meta.textContent, title: meta.title, bar: bar && bar.getAttribute('aria-label'),
                        report: link && link.getAttribute('aria-label'), all: row.outerHTML}; };
            const photo = {index: 0, kind: 'image', url: inline, thumb: null};
            return {queued: said(photo, {id: 'c1', status: 'queued', sent_url: inline}),
                    done: said(photo, {id: 'c1', status: 'done', sent_url: inline, result: {label: 'no_evidence', score: 0.1}}),
                    blob: said({index: 1, kind: 'image', url: 'blob:https://site.example/0f7c2b1e-1111-2222-3333-444455556666',
                                thumb: null}, {id: 'c2', status: 'running'}),
                    video: said({index: 2, kind: 'video', url: 'https://site.example/v.mp4', thumb: null}, null)}; }""")
        assert (got["queued"]["meta"], got["queued"]["bar"]) == ("inline JPEG image", "Waiting to check inline JPEG image"), got["queued"]
        assert (got["done"]["meta"], got["done"]["report"]) == ("inline JPEG image", "Report on inline JPEG image"), got["done"]
        assert "base64" not in got["queued"]["all"] and "base64" not in got["done"]["all"]
        assert (got["blob"]["meta"], got["blob"]["bar"]) == ("image held by the page", "Checking image held by the page"), got["blob"]
        # an address as before: after its kind, whole in the title
        assert (got["video"]["meta"], got["video"]["title"], got["video"]["bar"]) == (
            "video · https://site.example/v.mp4", "https://site.example/v.mp4", "Checking video https://site.example/v.mp4")
    finally:
        popup.close()


@pytest.mark.parametrize("make_url, state, text, screenshot", [
    (_dead_port_url, "unreachable", "Backend not reachable", "extension-unreachable.png"),
    (_forwarded_port_url, "wrong_host", "Wrong backend address", "extension-wrong-host.png"),
])
def test_backend_trouble_shows_its_state(browser, live_backend, request, make_url, state, text, screenshot):
    """Nothing listening, and FakeLens on a port forwarded to its own, each say what is wrong and the fix."""
    url, fix = make_url(live_backend, request.addfinalizer)
    browser.configure(backendUrl=url)
    try:
        popup = browser.context.new_page()
        popup.set_viewport_size({"width": 400, "height": 400})
        popup.goto(browser.url("popup/popup.html"))
        popup.wait_for_selector(f"#connection[data-state='{state}']", timeout=10_000)
        assert popup.text_content("#connection .text") == f"{text} at {url}"
        assert fix in popup.text_content("#fix")
        assert popup.get_attribute("#fix", "role") == "status"   # the fix is announced with its state
        assert browser.badge_text() == "!"
        popup.screenshot(path=str(ARTIFACTS / screenshot))
        popup.close()
    finally:
        browser.configure(backendUrl=live_backend.url)
    assert browser.sw("async () => (await FakeLens.background.checkConnection()).state") == "ok"
    assert browser.badge_text() == ""


def test_a_backend_that_holds_its_port_but_does_not_answer_is_said_so(browser, live_backend, sites):
    """A backend stopped with Ctrl+Z keeps its port: connections are taken and nothing answers (here a
    socket that listens and never reads). The popup said "Checking the backend…" for ever, the toolbar
    kept "connected", and a page scan or a hover check never ended."""
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(64)
    url = f"http://127.0.0.1:{hung.getsockname()[1]}"
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto("https://ads.example/plain-page.html")   # a public name: its photos are uploaded
        browser.configure(backendUrl=url)
        popup = browser.context.new_page()
        popup.goto(browser.url(f"popup/popup.html?tab={browser.tab_id(page)}"))
        popup.wait_for_selector("#connection[data-state='not_answering']", timeout=15_000)
        assert popup.text_content("#connection .text") == f"Backend not answering at {url}"
        assert "paused (Ctrl+Z)" in popup.text_content("#fix") and "fg" in popup.eval_on_selector_all(
            "#fix code", "codes => codes.map(c => c.textContent)")
        assert browser.badge_text() == "!"
        started = time.monotonic()
        popup.click("#scan")
        popup.locator("#summary", has_text="Scan failed").wait_for(timeout=60_000)
        assert "does not answer" in popup.text_content("#summary"), popup.text_content("#summary")
        popup.wait_for_selector("#scan[aria-disabled='false']", timeout=15_000)   # the button comes back
        popup.close()
        # a hover check ends too, with the fix
        page.bring_to_front()
        box = page.locator("#portrait").bounding_box()
        page.mouse.move(box["x"] + 100, box["y"] + 100)
        page.mouse.move(box["x"] + 110, box["y"] + 110)
        page.locator("div[data-fakelens=pill] button").click(timeout=5_000)
        badge = final_badges(page, 1)[0]
        assert badge["state"] == "failed" and "does not answer" in badge["text"], badge
        tip = page.evaluate("document.querySelector('div[data-fakelens=badge]').shadowRoot.querySelector('.tip').textContent")
        assert 'is "fakelens serve" paused (Ctrl+Z)?' in tip, tip
        assert time.monotonic() - started < 60
    finally:
        browser.configure(autoCheck=True, backendUrl=live_backend.url)
        hung.close()
        page.close()
    assert browser.sw("async () => (await FakeLens.background.checkConnection()).state") == "ok"


def test_a_page_scan_with_the_backend_gone_says_so_once_and_draws_nothing_on_the_page(browser, live_backend):
    """The backend stopped after the popup opened: the scan said "2 media found: 2 failed" under a green
    "Connected" line, and drew "Check failed" on every photo of the page (a connection failure is no
    verdict on a photo). It fails as a whole, with the backend's state and fix above it."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto("https://www.instagram.com/")   # photos the browser reads and uploads
        popup = browser.context.new_page()
        open_popup(browser, popup, page)
        url, _ = _dead_port_url(live_backend)
        browser.configure(backendUrl=url)   # the backend gone; the popup's line still says "Connected"
        popup.click("#scan")
        popup.wait_for_selector("#connection[data-state='unreachable']", timeout=20_000)
        assert popup.text_content("#summary") == f"Scan failed: FakeLens backend not reachable at {url}"
        assert "fakelens serve" in popup.text_content("#fix")
        # said once: each row says it was not sent (it repeated "Check failed: … not reachable …")
        rows = popup.evaluate("[...document.querySelectorAll('#results li .chip')].map(c => c.textContent)")
        assert rows and all(r.endswith("Not sent: the scan failed") for r in rows), rows
        popup.wait_for_selector("#scan[aria-disabled='false']", timeout=10_000)
        page.wait_for_timeout(1_000)
        assert page.evaluate(BADGES_JS) == []
        popup.close()
    finally:
        browser.configure(autoCheck=True, backendUrl=live_backend.url)
        page.close()


class _OtherBackend(http.server.BaseHTTPRequestHandler):
    """Answers health as FakeLens does; every other call with `answer` (status, JSON body or None)."""
    answer = (404, None)

    def do_GET(self):
        status, body = (200, {"status": "ok", "version": "2.0.0", "models": []}) if self.path == "/api/v1/health" \
            else self.answer
        data = json.dumps(body).encode() if body is not None else b"<h1>Not Found</h1>"
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if body is not None else "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("answer, state, text, fix", [
    ((404, None), "incompatible", "Backend of another version (FakeLens 2.0.0)", "install both from one FakeLens release"),
    ((503, {"error": {"code": "storage_unavailable", "message": "fakelens.db was removed: restart `fakelens serve`"}}),
     "trouble", "The backend answers with an error", "fakelens.db was removed: restart fakelens serve"),
])
def test_a_backend_that_answers_health_but_not_the_api_is_not_connected(browser, live_backend, answer, state, text, fix):
    """Another version's backend (its health answers, this extension's calls are not found), or one whose
    history fails, read as what they are, not as a green "Connected"."""
    handler = type("Handler", (_OtherBackend,), {"answer": answer})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    browser.configure(backendUrl=f"http://127.0.0.1:{server.server_address[1]}")
    try:
        popup = browser.context.new_page()
        popup.goto(browser.url("popup/popup.html"))
        popup.wait_for_selector(f"#connection[data-state='{state}']", timeout=10_000)
        assert popup.text_content("#connection .text") == text
        assert fix in popup.text_content("#fix")
        assert browser.badge_text() == "!"
        popup.close()
    finally:
        browser.configure(backendUrl=live_backend.url)
        server.shutdown()
        server.server_close()
    assert browser.sw("async () => (await FakeLens.background.checkConnection()).state") == "ok"


def contrast(one: str, two: str) -> float:
    """WCAG's contrast ratio of two CSS rgb()/rgba() colours (opaque)."""
    def luminance(css):
        r, g, b = (int(x) / 255 for x in re.findall(r"[\d.]+", css)[:3])
        lin = lambda c: c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4  # noqa: E731
        return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    hi, lo = sorted((luminance(one), luminance(two)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_options_name_the_keyboard_shortcut_and_where_to_change_it(browser, live_backend):
    """The keyboard command (Alt+Shift+K) was said nowhere in the extension: no one found it."""
    page = browser.context.new_page()
    page.goto(browser.url("options/options.html"))
    try:
        text = " ".join(page.text_content("body").split())
        assert f"{SHORTCUT} checks the image or video in focus" in text, text
        assert "chrome://extensions/shortcuts" in text and "about:addons" in text, text
    finally:
        page.close()


def test_options_say_the_shortcut_the_browser_has_or_that_there_is_none(browser, live_backend):
    """Options named Alt+Shift+K whatever the browser had: a shortcut the user changed, or none at all
    (Chrome leaves it unset when another extension has it), was never said."""
    for shortcut, expect in (("Ctrl+Shift+Y", "Ctrl+Shift+Y checks the image or video in focus"),
                             ("", "The keyboard command checks the image or video in focus")):
        page = browser.context.new_page()
        # what the browser would answer (its own list cannot be changed from a test)
        page.add_init_script(f"""chrome.commands.getAll = async () =>
            [{{name: "check-focused", shortcut: {json.dumps(shortcut)}, description: "x"}}];""")
        page.goto(browser.url("options/options.html"))
        try:
            page.wait_for_function("document.querySelector('#shortcut').textContent !== 'Alt+Shift+K'")
            text = " ".join(page.text_content("body").split())
            assert expect in text, text
            assert ("It has no shortcut now" in text) == (not shortcut), text
        finally:
            page.close()


def test_options_fields_have_borders_that_can_be_seen(browser, live_backend):
    """A text field's border is all that shows where it is: #90a4ae on white was 2.59:1, under WCAG's 3:1
    for the parts of a control (1.4.11); the backend URL's field (type=text) had the browser's own."""
    page = browser.context.new_page()
    page.goto(browser.url("options/options.html"))
    try:
        fields = page.evaluate("""() => [...document.querySelectorAll('input:not([type=checkbox]), textarea')].map(f => {
            const s = getComputedStyle(f); return {id: f.id, border: s.borderTopColor, width: s.borderTopWidth,
                                                   back: getComputedStyle(document.body).backgroundColor}; })""")
        assert {f["id"] for f in fields} == {"backendUrl", "token", "minSize", "disabledSites"}, fields
        for f in fields:
            back = "rgb(255, 255, 255)" if f["back"] == "rgba(0, 0, 0, 0)" else f["back"]
            assert contrast(f["border"], back) >= 3, f
        assert len({f["border"] for f in fields}) == 1, fields   # one look for every field
    finally:
        page.close()


def test_options_page_cleans_a_pasted_token_and_site_entries(browser, live_backend):
    """A token pasted with an invisible character (U+200B, from a chat) pairs; one stored that way
    earlier says the token is wrong, not that a healthy backend is down. "*.example.com" and
    ".example.net" are saved as the sites they name, and what is no site name is left out and said."""
    page = browser.context.new_page()
    page.goto(browser.url("options/options.html"))
    stored = lambda: browser.sw("async () => ({token: await FakeLens.readToken(), "  # noqa: E731
                                "...(await chrome.storage.local.get(['disabledSites']))})")
    try:
        page.wait_for_selector("#connection[data-state='ok']", timeout=10_000)
        # masked, and no password field, which a browser's password manager offers to keep (and sync)
        assert page.evaluate("""() => { const t = document.querySelector('#token');
            return [t.type, getComputedStyle(t).webkitTextSecurity]; }""") == ["text", "disc"]
        page.evaluate("document.querySelector('#connection').dataset.state = 'saving'")
        page.fill("#token", f"\u200b{live_backend.token}\u200b ")
        page.fill("#disabledSites", "*.example.com\n.example.net\nfoo!bar")
        watch_lines(page, "sitesNote")
        page.click("#save")
        page.wait_for_selector("#connection[data-state='ok']", timeout=10_000)
        assert stored() == {"token": live_backend.token, "disabledSites": ["example.com", "example.net"]}
        assert page.is_visible("#sitesNote") and page.text_content("#sitesNote") == "Not a site name, left out: foo!bar"
        assert shown_then_written(page, "sitesNote"), page.evaluate("window.lines")   # so a screen reader reads it

        browser.configure(token=f"\u200b{live_backend.token}")
        assert browser.sw("async () => (await FakeLens.background.checkConnection()).state") == "unauthorized"
        assert browser.badge_text() == "key"
    finally:
        browser.configure(token=live_backend.token, disabledSites=[])
        page.close()


def test_options_page_takes_the_token_from_the_whole_line_serve_printed(browser, live_backend):
    """`fakelens serve` printed "pairing token (paste it into the extension's options): TOKEN"; the whole
    line pasted kept every letter of its label glued onto the token: "Token rejected"."""
    page = browser.context.new_page()
    page.goto(browser.url("options/options.html"))
    try:
        page.wait_for_selector("#connection[data-state='ok']", timeout=10_000)
        for pasted in (f"pairing token (paste it into the extension's options): {live_backend.token}",
                       f"pairing token (paste it into the extension's options): {live_backend.token}"
                       f"  (stored in /home/me/.local/share/fakelens/token; `fakelens token` prints it again)",
                       # a user's name of 20 letters or more in that folder was taken for the token
                       f"pairing token (paste it into the extension's options): {live_backend.token}\n"
                       f"  (stored in /home/alexandra-montgomery/.local/share/fakelens/token; `fakelens token` "
                       f"prints it again)"):
            page.fill("#token", pasted)
            page.evaluate("document.querySelector('#connection').dataset.state = 'saving'")
            page.click("#save")
            page.wait_for_selector("#connection[data-state='ok']", timeout=10_000)
            assert browser.sw("() => FakeLens.readToken()") == live_backend.token
            assert page.input_value("#token") == live_backend.token
    finally:
        browser.configure(token=live_backend.token)
        page.close()


def content_script(page):
    """Evaluate JavaScript in FakeLens's content-script world of `page` (its isolated world, found
    through the DevTools protocol): what a page's content script could do."""
    cdp = page.context.new_cdp_session(page)
    contexts = []
    cdp.on("Runtime.executionContextCreated", lambda event: contexts.append(event["context"]))
    cdp.send("Runtime.enable")   # reports every existing context
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(c["name"] == "FakeLens" for c in contexts):
        page.wait_for_timeout(100)
    world = next(c["id"] for c in contexts if c["name"] == "FakeLens")

    def evaluate(expression: str):
        answer = cdp.send("Runtime.evaluate", {"expression": expression, "contextId": world, "awaitPromise": True,
                                               "returnByValue": True})
        assert "exceptionDetails" not in answer, answer
        return answer["result"].get("value")
    return evaluate


def test_a_content_script_can_check_media_but_not_clear_the_history(browser, live_backend, media_dir, sites):
    """A content script runs in the web page's process: it may ask for checks, but not clear the
    backend's history, read reports or scan, and the settings it holds carry no token."""
    with open(media_dir / "real-2.jpg", "rb") as fh:
        r = requests.post(f"{live_backend.url}/api/v1/checks?wait=30", headers=live_backend.headers,
                          files={"media": ("real-2.jpg", fh)}, timeout=60)
    assert r.status_code == 200, r.text
    kept = r.json()["id"]
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/plain-page.html")
        run = content_script(page)
        page.wait_for_function("document.readyState === 'complete'")
        for message in ({"type": "clear-history"}, {"type": "report", "id": kept}, {"type": "scan", "items": []}):
            answer = run(f"chrome.runtime.sendMessage({json.dumps(message)})")
            assert answer == {"error": {"code": "forbidden",
                                        "message": f"Only FakeLens's own pages may ask for \"{message['type']}\""}}, answer
        history = requests.get(f"{live_backend.url}/api/v1/checks", headers=live_backend.headers, timeout=10).json()
        assert any(c["id"] == kept for c in history["checks"])
        check = run("chrome.runtime.sendMessage({type: 'check', media: {kind: 'image', "
                    "url: location.origin + '/media/real-2.jpg', pageUrl: location.href}})")
        assert check.get("id") and "error" not in check, check
        assert run("Object.keys(FakeLens.settings).sort()") == ["autoCheck", "backendUrl", "disabledSites", "minSize"]
    finally:
        browser.configure(autoCheck=True)
        page.close()


def test_the_token_is_out_of_reach_of_content_scripts(browser, live_backend, sites):
    """storage.local is open to content scripts (the web page's process), so the token is not there: a
    content script reading all of storage.local, or its own IndexedDB, finds no token. A token an
    earlier version left in storage.local moves out the first time it is read, and still pairs."""
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/plain-page.html")
        run = content_script(page)
        stored = run("chrome.storage.local.get(null)")
        assert "token" not in stored and "tokenSavedAt" in stored, sorted(stored)
        assert live_backend.token not in json.dumps(stored)
        databases = run("indexedDB.databases().then((list) => list.map((d) => d.name))")
        assert "fakelens-secrets" not in databases, databases   # the page's IndexedDB, not the extension's

        browser.sw("t => Promise.all([chrome.storage.local.set({token: t}), "
                   "new Promise((ok) => { const r = indexedDB.deleteDatabase('fakelens-secrets'); r.onsuccess = ok; })])",
                   live_backend.token)
        assert browser.sw("async () => (await FakeLens.getSettings()).token") == live_backend.token
        assert "token" not in browser.sw("() => chrome.storage.local.get(null)")
        assert "token" not in run("chrome.storage.local.get(null)")
        assert browser.sw("async () => (await FakeLens.background.checkConnection()).state") == "ok"
        # a content script (a compromised page's) cannot replace the token so: it is dropped
        run("chrome.storage.local.set({token: 'chosen-by-the-page'}).then(() => 1)")
        assert browser.sw("async () => (await FakeLens.getSettings()).token") == live_backend.token
        assert "token" not in run("chrome.storage.local.get(null)")
        assert browser.sw("async () => (await FakeLens.background.checkConnection()).state") == "ok"
    finally:
        browser.configure(token=live_backend.token)
        page.close()


def test_a_page_texture_gets_no_check_pill(browser, live_backend, sites):
    """<body> and <html> with a CSS background image are no media: no pill over the empty page, and
    not in a page scan."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/plain-page.html")
        page.evaluate("""() => {
            document.body.style.cssText = 'background-image: url(/media/plain.jpg); min-height: 1600px';
            document.documentElement.style.backgroundImage = 'url(/media/real-1.jpg)';
        }""")
        page.mouse.move(950, 1500)
        page.mouse.move(960, 1510)
        page.wait_for_timeout(800)
        assert not page.is_visible("div[data-fakelens=pill] button")
        found = content_script(page)("FakeLens.findAllMedia(128).map(el => el.tagName)")
        assert found == ["IMG", "IMG", "VIDEO"], found
    finally:
        browser.configure(autoCheck=True)
        page.close()


def test_a_tiled_background_is_no_media(browser, live_backend, sites):
    """A wrapper's paper texture (a background repeating at its own size) was media: a check pill over
    the text it lies under and a row in every page scan. A picture laid as a background without
    repeating, sized, or alone in its box (the browser says "repeat" where nothing was said) still is."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/overlays.html")
        page.evaluate("""() => { for (const [id, css] of [['laid', 'no-repeat center'], ['covering', 'center / cover'],
                                                       ['plain', ''], ['sized', '0 0 / 300px 200px']]) {
            const div = Object.assign(document.createElement('div'), {id});
            div.style.cssText = `width:300px;height:200px;background:url(/media/real-2.jpg) ${css}`;
            document.querySelector('#feed').append(div); } }""")
        box = page.locator(".paper").bounding_box()
        page.mouse.move(box["x"] + 5, box["y"] + 5)   # on the texture, beside the post it wraps
        page.mouse.move(box["x"] + 8, box["y"] + 8)
        page.wait_for_timeout(800)
        assert not page.is_visible("div[data-fakelens=pill] button")
        found = content_script(page)("FakeLens.findAllMedia(128).map(el => el.id || el.className)")
        # (a photo set as a background with nothing said of repeating or size, or sized in pixels, is one)
        assert found == ["card-photo", "spaced-photo", "wrapped-photo", "played", "laid", "covering", "plain",
                         "sized"], found
    finally:
        browser.configure(autoCheck=True)
        page.close()


# FakeLens's own layers found by what they are, not by a name (the page below names its own elements
# as FakeLens's once were): hung on <html>, an open shadow root holding the badge's chip or the pill's button.
OWN_LAYERS_JS = """part => [...document.documentElement.children].filter(e => e.shadowRoot && e.shadowRoot.querySelector(part))"""
OWN_BADGES_JS = f"""() => ({OWN_LAYERS_JS})('.chip').map(b => ({{
    state: b.dataset.state, label: b.dataset.label, text: b.dataset.text, id: b.dataset.checkId || null,
    media: b.dataset.media, shown: b.shadowRoot.querySelector('.chip').textContent, visible: b.style.display !== 'none'}}))"""


@pytest.mark.parametrize("mode", ["before", "later", "throws"])
def test_a_page_that_defines_fakelens_element_names_cannot_switch_it_off(browser, live_backend, media_dir, sites, mode):
    """The badge and the pill were custom elements, <fakelens-badge> and <fakelens-pill>, and the custom
    element registry is the page's, even for elements a content script creates: a page that defined
    those names had its class run on FakeLens's layers, and a shadow root it attached made FakeLens's
    throw, so no badge and no pill showed on that page, whether it defined them before any was drawn or
    once the first one was (what was drawn later then failed). A constructor that throws ran on them too.
    No page's class runs on them now, and every verdict shows; a picture that copies FakeLens's marker
    attribute onto itself, or sits in an element named as the badge was, is still checked."""
    page = browser.context.new_page()

    def verdict_on(name: str) -> dict:
        try:
            page.wait_for_function(f"""name => ({OWN_BADGES_JS})().some(b => b.state === 'done'
                                       && b.media.endsWith('/media/' + name))""", arg=name, timeout=WAIT_MS)
        except Exception as err:
            pytest.fail(f"no verdict on {name}: found {page.evaluate(OWN_BADGES_JS)}; the page's class ran "
                        f"{page.evaluate('window.ranOnOthers')} times on FakeLens's elements ({err})")
        badge = next(b for b in page.evaluate(OWN_BADGES_JS) if b["media"].endswith("/media/" + name))
        assert_badge_is_backend_verdict(badge, live_backend, media_dir)
        assert badge["visible"] and badge["text"].split()[0] in badge["shown"], badge   # drawn in its own chip
        return badge

    try:
        page.goto(f"{sites.local}/hostile-elements.html?mode={mode}")
        verdict_on("real-6.jpg")
        verdict_on("plain.jpg")   # its <img> carries data-fakelens="badge"
        # a photo added once the page's class is defined (mode=later: FakeLens has drawn on <html>)
        page.wait_for_function("customElements.get('fakelens-badge') !== undefined")
        page.evaluate("""() => { const img = Object.assign(document.createElement('img'), {id: 'late', alt: '',
                                                                                        src: '/media/real-1.jpg'});
                                 img.style.cssText = 'width:240px;height:240px';
                                 document.querySelector('main').prepend(img); }""")
        verdict_on("real-1.jpg")
        # hovering the video (no automatic check) offers the pill
        box = page.locator("#clip").bounding_box()
        page.mouse.move(box["x"] + 100, box["y"] + 100)
        page.mouse.move(box["x"] + 110, box["y"] + 110)
        page.wait_for_function(f"""() => ({OWN_LAYERS_JS})('button').some(p => p.style.display === 'block'
                                   && p.shadowRoot.querySelector('button').textContent === 'Check')""", timeout=5_000)
        verdict_on("real-4.jpg")   # the background of the page's own <fakelens-badge>
        assert page.evaluate("window.ranOnOthers") == 0, "the page's class ran on FakeLens's elements"
        # nor do its rules for what hangs on <html> restyle them
        looks = page.evaluate(f"""() => ({OWN_LAYERS_JS})('.chip').map(b => [b.checkVisibility({{opacityProperty: true}}),
            getComputedStyle(b.shadowRoot.querySelector('.chip')).direction, getComputedStyle(b, '::after').content])""")
        assert looks and all(look == [True, "ltr", "none"] for look in looks), looks
    finally:
        page.close()


def test_the_popup_scrolls_as_one_page_and_keeps_its_scan_button_on_one_line(browser, live_backend, sites):
    """After a scan of 45 photos the list scrolled in a box of its own inside the popup's page (two
    scrollbars, Chrome's popup being at most 600 px tall) and hid the note under it; a long site
    name beside it squeezed "Scan this page" onto three lines."""
    url = gallery(sites, 45)
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto(url)
        popup = browser.context.new_page()
        popup.set_viewport_size({"width": 380, "height": 600})
        open_popup(browser, popup, page)
        one_line = popup.evaluate("document.querySelector('#scan').getBoundingClientRect().height")
        popup.evaluate("document.querySelector('#site-name').textContent = "
                       "'a-very-long-host-name-of-a-news-site.example.co.uk (off for all of example.co.uk: change it in Options)'")
        assert popup.evaluate("document.querySelector('#scan').getBoundingClientRect().height") == one_line
        popup.click("#scan")
        popup.locator("#results li").nth(44).wait_for(timeout=10_000)   # (a string to evaluate is refused by the CSP)
        assert popup.locator("#results li").count() == 45
        scrolls = popup.evaluate("""() => { const list = document.querySelector('#results');
            const page = document.scrollingElement;
            return {list: list.scrollHeight - list.clientHeight, page: page.scrollHeight - page.clientHeight}; }""")
        assert scrolls["list"] <= 1 and scrolls["page"] > 0, scrolls   # one scrollbar: the page's
        popup.evaluate("window.scrollTo(0, document.scrollingElement.scrollHeight)")
        assert popup.evaluate("document.querySelector('.note').getBoundingClientRect().bottom <= innerHeight")
        popup.close()
    finally:
        browser.configure(autoCheck=True)
        page.close()


def test_the_popups_placeholder_thumbnails_are_not_read_out(browser, live_backend):
    """A row without its thumbnail yet showed "▣" or "▶", which a screen reader read out as text."""
    popup = browser.context.new_page()
    try:
        popup.goto(browser.url("popup/popup.html"))
        hidden = popup.evaluate("""() => ['image', 'video'].map((kind) => FakeLens.resultRow(
            {index: 0, kind, url: `https://x.com/media/none.${kind === 'video' ? 'mp4' : 'jpg'}`}, '')
            .querySelector('.thumb').getAttribute('aria-hidden'))""")
        assert hidden == ["true", "true"]
    finally:
        popup.close()


def test_the_popup_switch_defers_to_a_parent_domains_entry(browser, live_backend):
    """facebook.com switched off in Options covers m.facebook.com: the popup there shows it off and
    greyed out, naming the entry to change (switching the subdomain alone would not turn it on)."""
    browser.configure(disabledSites=["facebook.com"])
    page = browser.context.new_page()
    try:
        page.goto("https://m.facebook.com/plain-page.html")
        popup = browser.context.new_page()
        popup.goto(browser.url(f"popup/popup.html?tab={browser.tab_id(page)}"))
        popup.wait_for_selector("#site-on:disabled", timeout=10_000)
        assert not popup.is_checked("#site-on")
        assert popup.text_content("#site-name") == "m.facebook.com (off for all of facebook.com: change it in Options)"
        popup.close()
    finally:
        browser.configure(disabledSites=[])
        page.close()


def test_the_popup_says_to_reload_a_web_page_it_does_not_run_in_yet(browser, live_backend, sites):
    """A web page without FakeLens's content script (still loading here; in Chrome also one open since
    before FakeLens was installed or updated) gets "reload the page, then scan again", and once the
    page has loaded, the scan runs."""
    page = browser.context.new_page()
    popup = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/slow-page.html", wait_until="commit")
        scan_from_popup(browser, popup, page)
        popup.locator("#summary", has_text="reload the page").wait_for(timeout=10_000)
        assert popup.text_content("#summary") == "FakeLens is not running on this page yet: reload the page, then scan again."
        assert not popup.is_disabled("#scan")
        page.wait_for_load_state("load")
        content_script(page)   # waits for FakeLens's content script to be in the page
        popup.click("#scan")
        popup.locator("#summary", has_text="No images or videos").wait_for(timeout=10_000)
    finally:
        popup.close()
        page.close()


def test_the_popup_opened_as_a_tab_scans_the_page_shown_before_it(browser, live_backend):
    """Opened as a tab of its own (Firefox for Android, or by hand), the popup took itself for the page
    and said it could not be scanned: it scans the tab shown before it."""
    page = browser.context.new_page()
    try:
        page.goto("https://x.com/home")
        page.wait_for_function("document.body.dataset.loadedLater === '1'", timeout=10_000)
        popup = browser.context.new_page()
        popup.goto(browser.url("popup/popup.html"))
        popup.wait_for_selector("#connection[data-state='ok']", timeout=10_000)
        popup.click("#scan")
        popup.locator("#summary", has_text="media found").wait_for(timeout=10_000)
        assert popup.text_content("#site-name") == "x.com"   # the tab shown before it, not another
        popup.close()
    finally:
        page.close()


def test_the_toolbar_popup_over_fakelenss_own_page_scans_no_other_tab(browser, live_backend):
    """The toolbar's popup opened over FakeLens's Options (or a report) took itself for a popup opened as
    a tab, and scanned the tab used before, hidden behind Options. Only a popup that is a tab does
    that; over FakeLens's own page it says there is nothing to scan."""
    from support.real_popup import RealPopup

    page = browser.context.new_page()
    options = browser.context.new_page()
    popup = None
    try:
        page.goto("https://x.com/home")
        page.wait_for_function("document.body.dataset.loadedLater === '1'", timeout=10_000)
        options.goto(browser.url("options/options.html"))
        options.bring_to_front()
        popup = RealPopup(browser, options)
        popup.wait("document.querySelector('#connection').dataset.state === 'ok'")
        popup.wait("document.querySelector('#site-on').disabled")
        assert popup.js("document.querySelector('#site-name').textContent") == "this site"
        popup.js("document.querySelector('#scan').click()")
        popup.wait("!document.querySelector('#summary').textContent.startsWith('Looking')"
                   " && document.querySelector('#summary').textContent !== ''")
        assert popup.js("document.querySelector('#summary').textContent") == \
            "This is one of FakeLens's own pages (Options, a report): there is nothing on it to scan."
    finally:
        if popup:
            popup.close()
        options.close()
        page.close()


def test_the_popup_says_when_a_page_cannot_be_scanned(browser, live_backend):
    """A tab no content script runs in (a data: page here; browser pages and extension stores alike)
    gets a sentence, not a scan that never ends."""
    page = browser.context.new_page()
    try:
        page.goto("data:text/html,<p>no content script here</p>")
        tabs = browser.sw("async () => (await chrome.tabs.query({})).map(t => [t.id, t.url])")
        tab = max(t for t, url in tabs if not url)   # the extension is not shown a data: page's address
        popup = browser.context.new_page()
        popup.goto(browser.url(f"popup/popup.html?tab={tab}"))
        popup.wait_for_selector("#connection[data-state='ok']", timeout=10_000)
        popup.click("#scan")
        popup.locator("#summary", has_text="cannot be scanned").wait_for(timeout=10_000)
        # its address hidden, as for a site FakeLens may not read: the way to allow it is said too
        assert "not allowed on" in popup.text_content("#summary")
        assert not popup.is_disabled("#scan")   # the button comes back
        popup.close()
    finally:
        page.close()


PDF = b"""%PDF-1.1
1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj
2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj
3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 144]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>endobj
4 0 obj<</Length 44>>stream
BT /F1 24 Tf 30 60 Td (Hello PDF) Tj ET
endstream endobj
5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj
trailer<</Root 1 0 R>>
%%EOF
"""


def test_the_popup_says_why_it_cannot_scan_a_store_a_local_file_or_a_pdf(browser, live_backend, sites):
    """The Chrome Web Store said "not running on this page yet: reload the page" (no reload helps: the
    browser keeps its stores from every extension) and offered its site switch; a file:// page was
    called a browser page; a PDF had "No images or videos of the minimum size", though a PDF's pictures
    are never looked at."""
    (sites.media / "doc.pdf").write_bytes(PDF)
    for url, said in (("https://chromewebstore.google.com/detail/fakelens/abcdef", "Browser extension stores are closed"),
                      ("https://chrome.google.com/webstore/detail/abcdef", "Browser extension stores are closed"),
                      ("file:///etc/hostname", "FakeLens does not scan files on this computer"),
                      (f"{sites.local}/media/doc.pdf", "FakeLens cannot look inside PDF files")):
        page = browser.context.new_page()
        try:
            page.goto(url)
            page.wait_for_timeout(1_000)   # a PDF's viewer, and the content script in it, come after the load
            popup = browser.context.new_page()
            scan_from_popup(browser, popup, page)
            popup.wait_for_selector("#scan[aria-disabled='false']", timeout=10_000)
            assert popup.text_content("#summary").startswith(said), (url, popup.text_content("#summary"))
            if "store" in said:
                assert popup.is_disabled("#site-on"), url   # no badges there, whatever it says
            popup.close()
        finally:
            page.close()


CHIPS_JS = """() => [...document.querySelectorAll('div[data-fakelens=badge]')].filter(b => b.style.display !== 'none')
    .map(b => { const img = [...document.querySelectorAll('img')].find(i => i.currentSrc === b.dataset.media);
        const c = b.shadowRoot.querySelector('.chip');
        return {media: b.dataset.media, img: img.getBoundingClientRect().toJSON(), chip: c.getBoundingClientRect().toJSON(),
                text: getComputedStyle(c.querySelector('.text')).display, label: c.getAttribute('aria-label')}; })"""


def test_badges_on_a_thumbnail_grid_stay_on_their_own_thumbnails(browser, live_backend, sites):
    """On a grid of 150 px thumbnails each chip ("Not checked: no face", 170 px) was wider than its
    picture: it reached past the window's left edge and over its neighbours' chips. Each chip stays in
    its own picture now (its words cut short); on one under 70 px only its icon shows, its accessible
    name still whole; the tooltip stays in a narrow window."""
    page = browser.context.new_page()
    frames = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
    inside = lambda b: (b["chip"]["left"] >= b["img"]["left"] - 0.5 and b["chip"]["right"] <= b["img"]["right"] + 0.5
                        and b["chip"]["top"] >= b["img"]["top"] - 0.5 and b["chip"]["bottom"] <= b["img"]["bottom"] + 0.5)
    try:
        page.goto(f"{sites.local}/thumbnail-grid.html")
        final_badges(page, 12)
        page.evaluate(frames)
        chips = page.evaluate(CHIPS_JS)
        assert len(chips) == 12
        assert [b for b in chips if not inside(b)] == [], chips
        overlapping = [(a["media"], b["media"]) for a in chips for b in chips if a is not b
                       and a["chip"]["left"] < b["chip"]["right"] and b["chip"]["left"] < a["chip"]["right"]
                       and a["chip"]["top"] < b["chip"]["bottom"] and b["chip"]["top"] < a["chip"]["bottom"]]
        assert overlapping == []
        # a thumbnail shrunk to 60 px: its chip shows only the icon, and is still named in full
        page.evaluate("document.querySelector('#i1').style.width = '60px'")
        page.evaluate(frames)
        page.evaluate(frames)
        small = next(b for b in page.evaluate(CHIPS_JS) if b["media"].endswith("thumb=1"))
        assert inside(small) and small["text"] == "none", small
        assert "Not checked: no face" in small["label"], small
        # a window narrower than the tooltip: the tooltip stays in it
        page.set_viewport_size({"width": 240, "height": 800})
        page.evaluate(frames)
        page.locator("div[data-fakelens=badge][data-media$='thumb=0'] .chip").focus()
        tip = page.evaluate("""() => document.querySelector("div[data-fakelens=badge][data-media$='thumb=0']")
            .shadowRoot.querySelector('.tip').getBoundingClientRect().toJSON()""")
        assert tip["width"] > 100 and tip["left"] >= 0 and tip["right"] <= page.evaluate("innerWidth"), tip
        # and one hanging right from a thumbnail away from the window's left edge (at 154 px in a 400 px
        # window it ran to 460 px)
        page.set_viewport_size({"width": 400, "height": 800})
        page.evaluate(frames)
        page.locator("div[data-fakelens=badge][data-media$='thumb=1'] .chip").focus()
        tip = page.evaluate("""() => document.querySelector("div[data-fakelens=badge][data-media$='thumb=1']")
            .shadowRoot.querySelector('.tip').getBoundingClientRect().toJSON()""")
        assert tip["width"] > 100 and tip["left"] >= 0 and tip["right"] <= page.evaluate(
            "document.documentElement.clientWidth"), tip
    finally:
        page.close()


def test_a_badge_on_a_banner_as_wide_as_the_window_is_not_under_the_scrollbar(browser, live_backend, sites):
    """With classic scrollbars (not overlay ones) a banner 100vw wide reaches under the page's scrollbar,
    and its badge sat partly under it too: it was placed by the window's width, scrollbar included."""
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/wide-banner.html")
        final_badges(page, 1)
        page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        got = page.evaluate("""() => { const c = document.querySelector('div[data-fakelens=badge]').shadowRoot
            .querySelector('.chip').getBoundingClientRect();
            return {chip: c.toJSON(), innerWidth, clientWidth: document.documentElement.clientWidth}; }""")
        if got["innerWidth"] == got["clientWidth"]:
            pytest.skip("this browser draws overlay scrollbars")
        assert got["chip"]["left"] >= 0 and got["chip"]["right"] <= got["clientWidth"], got
    finally:
        page.close()


def test_the_pill_checks_the_photo_a_page_rendered_again_under_it(browser, live_backend, sites):
    """A React-style page drew its photo again (a new <img> in the old one's place) while the pointer
    rested on the Check pill: a click on it checked the old element, out of the page, and nothing
    visible happened. It checks the photo under the pointer now; a photo taken out of the page takes
    its pill with it."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    pill = page.locator("div[data-fakelens=pill] button")
    try:
        page.goto(f"{sites.local}/rerender-page.html")
        page.wait_for_function("() => document.getElementById('p').complete")
        page.mouse.move(190, 140)
        page.mouse.move(200, 150)
        pill.wait_for(state="visible", timeout=5_000)
        box = pill.bounding_box()
        for i in range(1, 11):   # to the pill, over the photo
            page.mouse.move(200 + (box["x"] + 10 - 200) * i / 10, 150 + (box["y"] + 8 - 150) * i / 10)
        page.evaluate("rerender()")
        page.mouse.click(box["x"] + 10, box["y"] + 8)
        badge = final_badges(page, 1)[0]
        assert badge["media"].endswith("/media/plain.jpg?rerender") and badge["visible"], badge
        assert page.evaluate("document.querySelector('div[data-fakelens=badge]').dataset.checkId") == badge["id"]
        # the photo taken out of the page with the pointer on its pill (no move): the pill goes too
        page.evaluate("document.getElementById('root').innerHTML = '<img id=\"q\" src=\"/media/plain.jpg?other\"" 
                      " style=\"width:400px;height:300px;display:block\">'")
        page.mouse.move(300, 200)
        pill.wait_for(state="visible", timeout=5_000)
        page.evaluate("document.getElementById('root').replaceChildren()")
        pill.wait_for(state="hidden", timeout=3_000)
    finally:
        page.close()
        browser.configure(autoCheck=True)


def test_frames_of_srcdoc_or_about_blank_content_get_the_pill(browser, live_backend, sites):
    """A frame whose content the page wrote itself (srcdoc, or an about:blank frame it wrote into: ads'
    and widgets' usual way) got no content script: hovering its photo showed no Check pill."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/srcdoc-frames.html")
        for frame_id in ("#srcdoc", "#blank"):
            frame = page.frame_locator(frame_id)
            frame.locator("#in").wait_for(state="visible", timeout=5_000)
            box = page.locator(frame_id).bounding_box()
            page.mouse.move(1, 1)
            page.mouse.move(box["x"] + 150, box["y"] + 150)
            page.mouse.move(box["x"] + 160, box["y"] + 160)
            pill = frame.locator("div[data-fakelens=pill] button")
            pill.wait_for(state="visible", timeout=5_000)
            pill.click()
            inner = next(f for f in page.frames if f != page.main_frame
                         and f.evaluate("document.querySelector('#in').alt") == f"in {frame_id.strip('#').replace('blank', 'about:blank')}")
            badge = final_badges(inner, 1)[0]
            assert badge["media"].endswith(f"/media/plain.jpg?{frame_id.strip('#')}") and badge["visible"], badge
    finally:
        page.close()
        browser.configure(autoCheck=True)


def test_a_tall_photo_scrolled_half_out_of_view_gets_its_pill_in_view(browser, live_backend, sites):
    """The pill sat at the photo's top-left corner, above the window once that was scrolled away."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/plain-page.html")
        page.evaluate("""() => {
            const img = Object.assign(document.createElement('img'), {src: '/media/real-1.jpg', id: 'tall'});
            img.style.cssText = 'display:block;width:600px;height:2400px;object-fit:cover';
            document.body.prepend(img);
            window.scrollTo(0, 1200);
        }""")
        page.wait_for_function("() => document.getElementById('tall').complete")
        page.mouse.move(300, 300)
        page.mouse.move(310, 310)
        page.locator("div[data-fakelens=pill] button").wait_for(state="visible", timeout=5_000)
        box = page.locator("div[data-fakelens=pill] button").bounding_box()
        assert box and 0 <= box["y"] < 100, box   # at the top of the part in view
    finally:
        browser.configure(autoCheck=True)
        page.close()


def test_no_pill_over_a_fixed_header_or_a_window_wide_overlay(browser, live_backend, sites):
    """The pill looked through every layer: over a fixed header, with a photo scrolled under it, it
    showed on the header, over its "Home" link, and took the link's click (a check started on a photo
    the user could not see), and hovering the photo below the header put it there too; over a
    full-window "Sign in" overlay it showed on its Close button. Media that such a layer hides at the
    pointer gets no pill; the photo in view below the header still does, below the header."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    pill = page.locator("div[data-fakelens=pill] button")
    try:
        page.goto(f"{sites.local}/fixed-header.html")
        page.wait_for_function("() => document.getElementById('a').complete")
        page.evaluate("scrollTo(0, 100)")   # photo a's top under the 80 px header
        page.evaluate("window.clicked = 0; document.getElementById('home').addEventListener('click', "
                      "(e) => { e.preventDefault(); window.clicked++; })")
        home = page.locator("#home").bounding_box()
        page.mouse.move(300, 30)
        page.mouse.move(home["x"] + 10, home["y"] + 10)   # over the header only, the photo under it
        page.wait_for_timeout(500)
        assert not pill.is_visible(), pill.bounding_box()
        page.mouse.click(home["x"] + 10, home["y"] + 10)
        page.wait_for_timeout(300)
        assert page.evaluate("window.clicked") == 1
        assert page.evaluate(BADGES_JS) == []   # no check started
        page.mouse.move(300, 250)   # the photo in view below the header: its pill, below the header
        pill.wait_for(state="visible", timeout=5_000)
        assert pill.bounding_box()["y"] >= 80, pill.bounding_box()
        page.mouse.move(home["x"] + 10, home["y"] + 10)
        page.mouse.click(home["x"] + 10, home["y"] + 10)
        page.wait_for_timeout(300)
        assert page.evaluate("window.clicked") == 2 and page.evaluate(BADGES_JS) == []
        page.mouse.move(300, 250)
        pill.wait_for(state="visible", timeout=5_000)
        # a full-window overlay with a Close button over the page
        page.evaluate("""() => { const wall = document.createElement('div');
            wall.style.cssText = 'position:fixed;inset:0;background:rgba(0,0,0,.85);z-index:100;color:#fff;padding:40px';
            wall.innerHTML = '<button style="position:absolute;left:30px;top:125px;padding:10px 30px">Close</button>'
                + ' Sign in to continue';
            document.body.append(wall); }""")
        page.mouse.move(310, 260)
        pill.wait_for(state="hidden", timeout=3_000)
        page.mouse.move(60, 140)   # on the Close button
        page.wait_for_timeout(500)
        assert not pill.is_visible(), pill.bounding_box()
    finally:
        page.close()
        browser.configure(autoCheck=True)


def click_the_pill(page, selector: str, placed_right) -> tuple[dict, dict]:
    """Hover the media at `selector` until its Check pill shows, assert `placed_right(the pill's box, the
    media's box)`, and click the pill; returns the media's box and the pill's."""
    box = page.locator(selector).bounding_box()
    page.mouse.move(box["x"] + 190, box["y"] + 140)
    page.mouse.move(box["x"] + 200, box["y"] + 150)
    pill = page.locator("div[data-fakelens=pill] button")
    pill.wait_for(state="visible", timeout=5_000)
    spot = pill.bounding_box()
    assert placed_right(spot, box), (spot, box)
    page.mouse.move(spot["x"] + 10, spot["y"] + 8)
    page.mouse.click(spot["x"] + 10, spot["y"] + 8)
    return box, spot


def test_the_pill_badge_and_words_for_a_photo_in_a_modal_dialog_or_popover_show_in_it(browser, live_backend, sites):
    """FakeLens drew on <html>, below the browser's top layer: a photo opened in a modal <dialog> or a
    popover got its pill under the dialog (a click there hit the photo), the keyboard command's badge
    could not be seen nor take the focus, and its verdict was never read (the rest of the page is inert).
    Pill, badge and status words go inside the dialog or popover."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    top_is_own = """([x, y]) => { const t = document.elementFromPoint(x, y); return !!t && !!t.closest('[data-fakelens]'); }"""
    try:
        page.goto(f"{sites.local}/photo-dialog.html")
        page.evaluate("() => { document.getElementById('dlg').showModal(); document.getElementById('lnk').focus(); }")
        page.wait_for_function("() => document.getElementById('big').complete")
        page.bring_to_front()
        browser.sw("async (tab) => FakeLens.background.runCommand('check-focused', await chrome.tabs.get(tab))",
                   browser.tab_id(page))
        page.wait_for_function("""() => { const a = document.activeElement;
            return a && a.matches('div[data-fakelens=badge]') && a.dataset.state === 'done'; }""", timeout=WAIT_MS)
        chip = page.evaluate("""() => document.querySelector('div[data-fakelens=badge]').shadowRoot
            .querySelector('.chip').getBoundingClientRect().toJSON()""")
        assert page.evaluate(top_is_own, [chip["x"] + chip["width"] / 2, chip["y"] + chip["height"] / 2]), chip
        page.wait_for_function("""() => [...document.querySelectorAll('#dlg div[data-fakelens=announce]')]
            .some(h => h.shadowRoot.textContent.startsWith('FakeLens on "in dialog": '))""", timeout=5_000)
        # the popover's photo: its pill shows above the popover, and checks it
        page.evaluate("() => { document.getElementById('dlg').close(); document.getElementById('pop').showPopover(); }")
        page.wait_for_function("() => document.getElementById('popimg').complete")
        click_the_pill(page, "#popimg", lambda spot, _: page.evaluate(top_is_own, [spot["x"] + 10, spot["y"] + 8]))
        page.wait_for_function("() => !!document.querySelector('#pop div[data-fakelens=badge]')", timeout=5_000)
    finally:
        page.close()
        browser.configure(autoCheck=True)


def test_the_pill_and_badge_sit_on_a_photo_in_a_dialog_the_page_centres_with_a_transform(browser, live_backend,
                                                                                         sites):
    """A modal dialog centred the common way (top and left 50 %, `translate(-50%, -50%)`) holds fixed
    children itself: FakeLens's pill and badge, placed by window pixels, sat that far down and right of
    the photo (off it, or out of the window). They sit on the photo's top corners."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.set_viewport_size({"width": 1000, "height": 700})
        page.goto(f"{sites.local}/photo-dialog.html")
        page.evaluate("""() => { const d = document.getElementById('dlg');
            Object.assign(d.style, {top: '50%', left: '50%', margin: '0', transform: 'translate(-50%, -50%)'});
            d.showModal(); }""")
        page.wait_for_function("() => document.getElementById('big').complete")
        photo, _ = click_the_pill(page, "#big", lambda spot, box: (abs(spot["x"] - box["x"] - 6) <= 2
                                                                   and abs(spot["y"] - box["y"] - 6) <= 2))
        page.wait_for_selector("#dlg div[data-fakelens=badge][data-state=done]", state="attached", timeout=WAIT_MS)
        chip = page.evaluate("""() => document.querySelector('div[data-fakelens=badge]').shadowRoot
            .querySelector('.chip').getBoundingClientRect().toJSON()""")
        right, top = photo["x"] + photo["width"], photo["y"]
        assert right - 60 <= chip["right"] <= right and top <= chip["top"] <= top + 20, (chip, photo)
    finally:
        page.close()
        browser.configure(autoCheck=True)


def test_a_badge_whose_check_is_cleared_from_the_history_says_so(browser, live_backend, sites, tmp_path):
    """Clearing the history while a badge followed its check showed "Check failed: no check with id …"."""
    from support.httpd import MediaServer

    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        with MediaServer(tmp_path) as silent:   # its /silent answers nothing: the check keeps running
            page.goto(f"{sites.local}/plain-page.html")
            page.evaluate("""(url) => {
                const video = Object.assign(document.createElement('video'), {src: url, id: 'slow'});
                video.style.cssText = 'display:block;width:400px;height:300px';
                document.body.prepend(video);
            }""", silent.url("/silent"))
            content_script(page)("FakeLens.checkElement(document.getElementById('slow'), {userAsked: true}); 1")
            page.wait_for_function("() => { const b = document.querySelector('div[data-fakelens=badge]');"
                                   " return b && b.dataset.checkId; }", timeout=15_000)
            r = requests.delete(f"{live_backend.url}/api/v1/checks", headers=live_backend.headers, timeout=30)
            assert r.status_code == 200, r.text
            page.wait_for_function("() => { const b = document.querySelector('div[data-fakelens=badge]');"
                                   " return b && b.dataset.state === 'cancelled'; }", timeout=15_000)
            text = page.evaluate("document.querySelector('div[data-fakelens=badge]').dataset.text")
            tip = page.evaluate("document.querySelector('div[data-fakelens=badge]').shadowRoot.querySelector('.tip').textContent")
            assert text == "Check cancelled (the history was cleared)" and "no check with id" not in tip, (text, tip)
    finally:
        browser.configure(autoCheck=True)
        page.close()


def test_a_videos_badge_about_the_pages_first_video_shows_none_of_that_videos_lines(browser, live_backend, sites):
    """A `blob:` video sent as its page's address comes back about the page's first video: the chip said
    "Not checked: another video", and the tooltip under it listed the first video's "Likely
    manipulated", its score and "decided the verdict" as if they were this one's."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/plain-page.html")
        run = content_script(page)
        check = {"id": "c1", "status": "done", "result": {
            "label": "manipulated", "score": 0.9, "summary": "Likely manipulated (score 0.90): flagged by the face-swap detector.",
            "provenance": {"status": "none"}, "faces": [], "frames": [],
            "signals": [{"detector": "face_swap", "score": 0.9, "threshold": 0.69, "decisive": True}],
            "media": {"kind": "video", "page_videos": 3, "media_url": "https://site.example/1.mp4"}}}
        tip = run(f"""(() => {{ const badge = FakeLens.badges.show(document.querySelector('#clip'), {json.dumps(check)});
            return [...badge.shadowRoot.querySelectorAll('.tip p')].map((p) => p.textContent); }})()""")
        assert tip[0].startswith("– Not checked: the page has 3 videos"), tip
        assert not any("Likely manipulated" in line or "Score" in line or "decided the verdict" in line
                       for line in tip), tip
        assert "What FakeLens found in the page's first video is in the full report." in tip, tip
    finally:
        browser.configure(autoCheck=True)
        page.close()


def test_a_blob_videos_verdict_stays_while_its_player_makes_a_new_stream_of_the_same_post(browser, live_backend, sites):
    """A blob: video is checked by its post (or page); its badge was kept only while the element
    played the same blob: address, so a new stream of the same video (the player rebuilt, an ad
    before it ended) took the verdict away, and one still running was never drawn."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/plain-page.html")
        run = content_script(page)
        stream = """async () => { const blob = await (await fetch('/media/clip.mp4')).blob();
                                  document.querySelector('#clip').src = URL.createObjectURL(blob); }"""
        page.evaluate(stream)
        key = run("FakeLens.describeMedia(document.querySelector('#clip')).key")
        assert key == page.url, key   # the page it is fetched by, not its blob: address
        check = {"id": "c1", "status": "done", "result": {"label": "no_evidence", "score": 0.1, "summary": "x",
                                                          "provenance": {"status": "none"}, "faces": [], "frames": [], "signals": [],
                                                          "media": {"kind": "video"}}}
        assert run(f"FakeLens.badges.show(document.querySelector('#clip'), {json.dumps(check)}, '', {json.dumps(key)}) !== null")
        page.evaluate(stream)   # a new stream of the same page's video
        page.wait_for_timeout(2500)   # the badges' media are looked at again once a second
        assert run("FakeLens.badges.has(document.querySelector('#clip'))")
        page.evaluate(f"() => {{ document.querySelector('#clip').src = '{sites.local}/media/clip.mp4?other'; }}")
        page.wait_for_function("() => !document.querySelector('div[data-fakelens=badge]')", timeout=5_000)   # other media
    finally:
        browser.configure(autoCheck=True)
        page.close()


def test_badges_far_off_screen_are_not_described_every_second_and_are_on_their_way_back(browser, live_backend, sites):
    """Every badge's media was described again each second (on Facebook, its post's link searched up
    the page), however far the feed had scrolled past it. A photo swapped while far away still loses
    its verdict as it comes back into view."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/plain-page.html")
        run = content_script(page)
        run(f"""(async () => {{
            const check = {{ id: "c1", status: "done", result: {{ label: "no_evidence", score: 0.1, summary: "x",
              provenance: {{ status: "none" }}, faces: [], frames: [], signals: [], media: {{ kind: "image" }} }} }};
            for (let i = 0; i < 40; i += 1) {{
              const img = Object.assign(document.createElement('img'), {{ id: `p${{i}}`, src: `/media/real-1.jpg?n=${{i}}` }});
              img.style.cssText = 'display:block;width:300px;height:300px;margin-bottom:200px';
              document.body.append(img);
              await img.decode();
              FakeLens.badges.show(img, check, '', FakeLens.describeMedia(img).key);
            }}
            const describe = FakeLens.describeMedia;
            window.described = 0;
            FakeLens.describeMedia = (el) => {{ window.described += 1; return describe(el); }};
        }})()""")
        page.wait_for_timeout(3000)
        described = run("window.described")
        assert 0 < described <= 3 * 12, described   # those within a screen of the window, each second (40 each before)
        page.evaluate("() => { document.querySelector('#p39').src = '/media/real-2.jpg'; }")   # far below
        page.wait_for_timeout(1500)
        assert run("FakeLens.badges.has(document.querySelector('#p39'))")   # not looked at yet
        page.evaluate("() => document.querySelector('#p39').scrollIntoView()")
        page.wait_for_function("() => ![...document.querySelectorAll('div[data-fakelens=badge]')].some(b => b.dataset.media.includes('n=39'))",
                               timeout=5_000)
        # a check ended for a photo the page has dropped meanwhile: nothing drawn, so its verdict is not
        # read out to the user as if it were on the page
        assert run("""(() => { const gone = document.querySelector('#p0'); gone.remove();
                              return FakeLens.badges.show(gone, null) === null; })()""")
    finally:
        browser.configure(autoCheck=True)
        page.close()


def test_a_youtube_miniplayer_over_a_thumbnail_is_not_taken_for_that_thumbnails_video(browser, live_backend, sites):
    """A hover preview takes the link of the thumbnail it covers; the miniplayer, which plays the video
    last watched wherever it lies, must not take the address of the thumbnail under it."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto("https://www.youtube.com/")
        run = content_script(page)
        page.evaluate("""() => {
            const box = document.querySelector('#yt-thumb').getBoundingClientRect();
            const mini = document.createElement('ytd-miniplayer');
            mini.innerHTML = '<video id="mini" muted style="width:320px;height:180px"></video>';
            mini.style.cssText = `position:fixed;left:${box.left}px;top:${box.top}px`;
            document.body.append(mini);
        }""")
        assert run("FakeLens.describeMedia(document.querySelector('#mini')).permalink") == \
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ"   # the page's own, not aBcDeF12345 under it
        assert run("FakeLens.describeMedia(document.querySelector('#yt-preview')).permalink") == \
            "https://www.youtube.com/watch?v=PreView0001"
        # moved on without a reload: the canonical link still names the page first loaded's video, which
        # was checked and drawn on the miniplayer's; the watch page's element keeps the id it plays
        page.evaluate("() => history.pushState({}, '', '/feed/subscriptions')")
        assert run("FakeLens.describeMedia(document.querySelector('#mini')).permalink") == \
            "https://www.youtube.com/feed/subscriptions"   # not dQw4w9WgXcQ: no video named rather than another
        page.evaluate("""() => { const watch = document.createElement('ytd-watch-flexy');
                                 watch.setAttribute('video-id', 'MiniB000001'); watch.hidden = true;
                                 document.body.append(watch); }""")
        assert run("FakeLens.describeMedia(document.querySelector('#mini')).permalink") == \
            "https://www.youtube.com/watch?v=MiniB000001"
    finally:
        browser.configure(autoCheck=True)
        page.close()


def test_site_adapters_read_posts_and_photos_as_the_sites_link_them_now(browser, live_backend, sites):
    """Instagram's post links now carry their author (/natgeo/reel/<code>/: the tab's address was sent
    instead) and a reel's "Original audio" link (/reels/audio/<id>/) was taken for its post; a Facebook
    group post's /groups/<id>/permalink/<id>/ was not a post; X's larger photo sizes (name=orig) were
    asked for at name=large, smaller."""
    browser.configure(autoCheck=False)
    try:
        cases = {
            "https://www.instagram.com/": ("""<article><a href="/reels/audio/1234567/">Original audio</a>
                 <div><a href="/natgeo/reel/CWqAgUZgCku/"><video id="probe" muted></video></a></div></article>""",
                 "permalink", "https://www.instagram.com/natgeo/reel/CWqAgUZgCku/"),
            "https://www.facebook.com/": ("""<div role="article"><a href="/groups/12345/permalink/67890/">2 h</a>
                 <img id="probe" alt=""></div>""", "permalink", "https://www.facebook.com/groups/12345/permalink/67890/"),
        }
        for url, (html, what, expected) in cases.items():
            page = browser.context.new_page()
            page.goto(url)
            run = content_script(page)
            page.evaluate("html => { const box = document.createElement('div'); box.innerHTML = html; document.body.append(box); }",
                          html)
            assert run(f"FakeLens.sites.current().{what}(document.querySelector('#probe'))") == expected, url
            page.close()
        page = browser.context.new_page()
        page.goto("https://x.com/")
        run = content_script(page)
        sized = {name: run(f"FakeLens.sites.current().mediaUrl(null, 'https://pbs.twimg.com/media/A.jpg?format=jpg&name={name}')")
                 for name in ("small", "medium", "large", "orig", "4096x4096")}
        assert {k: v.rsplit("=", 1)[1] for k, v in sized.items()} == {
            "small": "large", "medium": "large", "large": "large", "orig": "orig", "4096x4096": "4096x4096"}, sized
        page.close()
    finally:
        browser.configure(autoCheck=True)


def test_elements_named_as_fakelens_globals_do_not_switch_it_off(browser, live_backend, media_dir, sites):
    """<form id="FakeLens"><input name="ext"> made globalThis.FakeLens that form in every content script
    (a window's named properties show through): writing its "ext" threw, and hover, automatic checks,
    the keyboard and the scan all stopped on the page."""
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/named-globals.html")
        badge = [b for b in final_badges(page, 1) if b["media"].endswith("/media/real-7.jpg")]
        assert badge, page.evaluate(BADGES_JS)
        assert_badge_is_backend_verdict(badge[0], live_backend, media_dir)
    finally:
        page.close()


def test_a_page_writing_a_badges_data_media_keeps_no_verdict_on_other_media(browser, live_backend, sites):
    """What a verdict was about was read back from its badge's data-media, which the page can write: a page
    that swapped in another photo and wrote its address there kept the old verdict (and its report) on it,
    and with automatic checks off (the default) nothing checked the new one."""
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    try:
        page.goto(f"{sites.local}/plain-page.html")
        url = page.evaluate("document.querySelector('#noface').src")
        page.locator("#noface").click(button="right")
        check = browser.menu_click({"menuItemId": "fakelens-check-image", "srcUrl": url, "pageUrl": page.url,
                                    "frameId": 0}, browser.tab_id(page))
        assert check["status"] == "done" and badge_on(page, "#noface")["id"] == check["id"], check
        page.evaluate("""() => { window.oldBadge = [...document.querySelectorAll('div[data-fakelens=badge]')]
                                   .find(b => b.dataset.media.endsWith('/media/plain.jpg'));
            const img = document.querySelector('#noface');
            img.addEventListener('load', () => { oldBadge.dataset.media = img.currentSrc; }, {once: true});
            img.src = '/media/real-7.jpg'; }""")
        page.wait_for_function("!window.oldBadge.isConnected", timeout=5_000)
        assert badge_on(page, "#noface") is None, page.evaluate(BADGES_JS)
    finally:
        page.close()
        browser.configure(autoCheck=True)


def test_a_right_click_in_the_next_document_gets_another_token(browser, live_backend, sites):
    """Right-click tokens counted from 1 in every document, and the background answers a frame by its
    token: a check begun on one site drew its verdict on the next site's right-clicked media."""
    page = browser.context.new_page()
    tokens = []
    try:
        for path in ("/plain-page.html", "/named-globals.html"):
            page.goto(f"{sites.local}{path}")
            page.click("img", button="right")
            tokens.append(browser.sw("""async (tab) => (await chrome.tabs.sendMessage(tab,
                {type: 'context-target', srcUrl: null}, {frameId: 0})).token""", browser.tab_id(page)))
        assert all(isinstance(t, str) and len(t) >= 16 for t in tokens) and tokens[0] != tokens[1], tokens
    finally:
        page.close()


def test_a_picture_fetched_with_cookies_is_not_kept_for_another_sites_page(browser, live_backend, sites):
    """The extension fetched pictures with cookies through its one HTTP cache ("force-cache"), and
    Chromium's cache does not tell requests with cookies from those without (two fetches of a probe
    extension, with and without, got the same private bytes from one request): a signed-in picture checked
    on its own site could be served to the check of another site's page naming the same address. Here
    the old code happened to ask again (its reads were not reused); now nothing with cookies is kept."""
    browser.context.add_cookies([{"name": "session", "value": "s3cret", "domain": "x.com", "path": "/",
                                  "sameSite": "Strict", "secure": True}])
    url = "https://x.com/private-media/real-6.jpg"
    show = """url => { const img = Object.assign(document.createElement('img'), {src: url, alt: 'private'});
                       img.style.cssText = 'width:240px;height:240px'; document.body.prepend(img); }"""
    done = """url => [...document.querySelectorAll('div[data-fakelens=badge]')].some(b => b.dataset.media === url
                     && ['done', 'failed'].includes(b.dataset.state))"""
    own, other = browser.context.new_page(), browser.context.new_page()
    try:
        own.goto("https://x.com/home")
        own.evaluate(show, url)
        own.wait_for_function(done, arg=url, timeout=WAIT_MS)
        fetched = [cookie for dest, cookie in sites.private_requests if dest == "empty"]   # fetch(), not an <img>
        assert fetched and "session=s3cret" in fetched[0], sites.private_requests
        other.goto("https://www.reddit.com/home")
        other.evaluate(show, url)   # (broken there: the page's own request carries no Strict cookie)
        other.locator("img[alt=private]").click(button="right")
        browser.menu_click({"menuItemId": "fakelens-check-image", "srcUrl": url, "pageUrl": other.url, "frameId": 0},
                           browser.tab_id(other))
        fetched = [cookie for dest, cookie in sites.private_requests if dest == "empty"]
        assert len(fetched) == 2 and "s3cret" not in fetched[1], sites.private_requests   # asked again, without
    finally:
        browser.context.clear_cookies()
        own.close()
        other.close()


def test_a_scan_after_the_tab_went_to_another_site_goes_by_the_page_it_scans(browser, live_backend, sites):
    """The popup took the scanned page's address from the tab as it was when the popup opened: a tab gone
    to another site since had that site's pictures fetched by the first site's cookie rule (its own
    pictures without their cookies here; the other way round, another site's with the first's)."""
    browser.context.add_cookies([{"name": "session", "value": "s3cret", "domain": "www.reddit.com", "path": "/",
                                  "sameSite": "Strict", "secure": True}])
    browser.configure(autoCheck=False)
    page = browser.context.new_page()
    popup = browser.context.new_page()
    try:
        page.goto("https://x.com/home")
        seen = []
        popup.on("request", lambda r: seen.append((r.url, r.all_headers().get("cookie"))))
        open_popup(browser, popup, page)
        page.goto("https://www.reddit.com/home")
        page.wait_for_function("document.readyState === 'complete'")
        page.wait_for_timeout(500)   # its content scripts at document_idle
        popup.click("#scan")
        popup.wait_for_function("""() => { const rows = [...document.querySelectorAll('#results li')];
            return rows.length > 0 && rows.every(r => ['done', 'failed', 'cancelled'].includes(r.dataset.state)); }""",
                                timeout=WAIT_MS)
        popup.wait_for_timeout(500)
        own = [cookie for url, cookie in seen if url.startswith("https://www.reddit.com/media/")]
        assert own and all(cookie == "session=s3cret" for cookie in own), seen
    finally:
        browser.context.clear_cookies()
        browser.configure(autoCheck=True)
        popup.close()
        page.close()
