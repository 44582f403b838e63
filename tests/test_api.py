"""API v1 through Flask's test client: auth, Host, CORS, uploads, bad input, history, cache, report."""

import dataclasses
import io
import json
import os
import re
import struct
import time
import zlib
from html import unescape as html_unescape
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import BASE_URL, REPO, need_shared
from fakelens.api import create_app
from fakelens.api.auth import ensure_token

CHECKS = "/api/v1/checks"


def post_file(client, auth, data: bytes, name="x.jpg", wait=10, **form):
    return client.post(f"{CHECKS}?wait={wait}", base_url=BASE_URL, headers=auth,
                       data={"media": (io.BytesIO(data), name), **form}, content_type="multipart/form-data")


def test_health_needs_no_token_and_lists_models(client):
    r = client.get("/api/v1/health", base_url=BASE_URL)
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok" and "retinaface_mnet025" in [m["name"] for m in body["models"]]
    # the models a check runs: not face_mesh, which only training uses
    assert sorted(m["name"] for m in body["models"]) == ["face_swap", "retinaface_mnet025"]
    # downloads may reach 127.0.0.1 here (the tests' setting): said, so that the extension reads such images too
    assert body["fetch"] == {"loopback": True}


def test_health_says_nothing_of_loopback_where_downloads_may_not_reach_it(settings):
    """The extension reads an image served from a loopback address itself only where the backend would
    fetch it too (allow_loopback, for tests); a backend as shipped says nothing of it."""
    app = create_app(dataclasses.replace(settings, allow_loopback=False), start_jobs=False)
    try:
        body = app.test_client().get("/api/v1/health", base_url=BASE_URL).get_json()
    finally:
        app.extensions["fakelens"]["store"].close()
    assert body["status"] == "ok" and "fetch" not in body


@pytest.mark.parametrize("headers, code", [
    ({}, "unauthorized"),
    ({"Authorization": "Bearer wrong-token"}, "unauthorized"),
    ({"Authorization": "Basic abc"}, "unauthorized"),
])
def test_token_required(client, headers, code):
    r = client.get(CHECKS, base_url=BASE_URL, headers=headers)
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == code


def test_rotated_token_takes_effect_without_a_restart(app, client, auth):
    """`fakelens token --rotate` while the server runs: the new token works, the leaked one no longer."""
    assert client.get(CHECKS, base_url=BASE_URL, headers=auth).status_code == 200
    new = ensure_token(app.config["SETTINGS"].home, rotate=True)
    assert client.get(CHECKS, base_url=BASE_URL, headers=auth).status_code == 401
    assert client.get(CHECKS, base_url=BASE_URL, headers={"Authorization": f"Bearer {new}"}).status_code == 200


def test_a_token_file_that_is_not_text_is_made_anew_not_a_500(app, client, auth):
    (app.config["SETTINGS"].home / "token").write_bytes(b"\xff\xfe\n")
    assert client.get(CHECKS, base_url=BASE_URL, headers=auth).status_code == 401
    fresh = (app.config["SETTINGS"].home / "token").read_text().strip()
    assert len(fresh) >= 40
    assert client.get(CHECKS, base_url=BASE_URL, headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_wrong_host_refused_even_with_token(client, auth):
    r = client.get(CHECKS, base_url="http://evil.example:8731", headers=auth)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden_host"
    r = client.get(CHECKS, base_url="http://127.0.0.1:9999", headers=auth)
    assert r.status_code == 403


def test_the_ipv6_loopback_address_is_a_backend_address_too(client, auth):
    # the extension's options take http://[::1]:PORT (fakelens serve listens there too); a literal address
    # cannot be rebound by DNS, as localhost's name cannot
    assert client.get(CHECKS, base_url="http://[::1]:8731", headers=auth).status_code == 200
    assert client.get(CHECKS, base_url="http://[::2]:8731", headers=auth).status_code == 403


def test_port_80_is_reachable_without_the_port_in_the_host(tmp_path):
    """Browsers (and Werkzeug) leave the default port out of the Host header: port 80 locked everyone out."""
    from fakelens.api import create_app
    from fakelens.config import Settings

    app = create_app(Settings(home=tmp_path / "h", port=80))
    try:
        auth = {"Authorization": f"Bearer {app.config['TOKEN'].current()}"}
        for base in ("http://127.0.0.1", "http://localhost", "http://127.0.0.1:80", "http://[::1]"):
            assert app.test_client().get(CHECKS, base_url=base, headers=auth).status_code == 200, base
        assert app.test_client().get(CHECKS, base_url="http://evil.example", headers=auth).status_code == 403
    finally:
        app.extensions["fakelens"]["pool"].stop()


def test_foreign_origin_refused_extension_origin_allowed(client, auth):
    r = client.get(CHECKS, base_url=BASE_URL, headers={**auth, "Origin": "https://evil.example"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden_origin"
    assert "Access-Control-Allow-Origin" not in r.headers
    origin = "chrome-extension://abcdefghijklmnopabcdefghijklmnop"
    r = client.get(CHECKS, base_url=BASE_URL, headers={**auth, "Origin": origin})
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == origin


def test_preflight_without_token(client):
    origin = "moz-extension://1234-5678"
    r = client.options(CHECKS, base_url=BASE_URL, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == origin
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    r = client.options(CHECKS, base_url=BASE_URL, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403


def test_upload_image_gives_verdict_then_cache(client, auth, plain_jpeg):
    data = plain_jpeg.read_bytes()
    r = post_file(client, auth, data, source_url="https://example.com/a.jpg")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "done" and body["cached"] is False
    result = body["result"]
    assert result["label"] == "not_applicable" and result["score"] is None
    face_swap = next(s for s in result["signals"] if s["detector"] == "face_swap")
    manifest = client.get("/api/v1/models", base_url=BASE_URL, headers=auth).get_json()
    shipped = next(m for m in manifest["models"] if m["task"] == "face_swap")
    assert face_swap["threshold"] == shipped["threshold"] != 0.5   # the model's, even with no face to score
    assert result["media"]["kind"] == "image" and result["media"]["width"] == 160
    assert result["provenance"]["status"] in ("none", "intact", "tampered")
    assert result["media"]["source_url"] == "https://example.com/a.jpg"
    again = post_file(client, auth, data, wait=0, source_url="https://example.org/copy.jpg")
    assert again.status_code == 200 and again.get_json()["cached"] is True
    assert again.get_json()["result"]["media"]["sha256"] == result["media"]["sha256"]
    # the same bytes from another address: the cached verdict names where these came from
    assert again.get_json()["result"]["media"]["source_url"] == "https://example.org/copy.jpg"
    history = client.get(f"{CHECKS}?limit=5", base_url=BASE_URL, headers=auth).get_json()["checks"]
    assert [c["id"] for c in history] == [again.get_json()["id"], body["id"]]
    reused = client.get(again.get_json()["report_url"], base_url=BASE_URL, headers=auth)
    assert b"the verdict of an earlier check of the same media, reused" in reused.data   # not "checked in 3 ms"
    report = client.get(body["report_url"], base_url=BASE_URL, headers=auth)
    assert report.status_code == 200 and b"FakeLens report" in report.data and b"data:image/jpeg" in report.data
    assert b"silence is not proof" not in report.data   # said under "No signs of manipulation found" only


def test_api_answers_are_never_kept_in_the_browser_cache(client, auth, plain_jpeg):
    """A check's status, the history, a report and errors carry Cache-Control: no-store: what the
    browser kept in its HTTP cache would outlive "Clear FakeLens history"."""
    r = post_file(client, auth, plain_jpeg.read_bytes())
    assert r.status_code == 200, r.get_json()
    check = r.get_json()
    answers = {
        "upload": r,
        "status": client.get(f"{CHECKS}/{check['id']}", base_url=BASE_URL, headers=auth),
        "history": client.get(CHECKS, base_url=BASE_URL, headers=auth),
        "report": client.get(check["report_url"], base_url=BASE_URL, headers=auth),
        "models": client.get("/api/v1/models", base_url=BASE_URL, headers=auth),
        "health": client.get("/api/v1/health", base_url=BASE_URL),
        "error": client.get(f"{CHECKS}/nope", base_url=BASE_URL, headers=auth),
        "no token": client.get(CHECKS, base_url=BASE_URL),
        "clear": client.delete(CHECKS, base_url=BASE_URL, headers=auth),
    }
    assert answers["report"].mimetype == "text/html" and answers["error"].status_code == 404
    assert {name: a.headers.get("Cache-Control") for name, a in answers.items()} == \
        {name: "no-store" for name in answers}


def test_upload_face_is_found(client, auth, face_jpeg):
    r = post_file(client, auth, face_jpeg.read_bytes(), wait=30)
    assert r.status_code == 200, r.get_json()
    faces = r.get_json()["result"]["faces"]
    assert len(faces) == 1
    x, y, w, h = faces[0]["box"]
    assert 600 < x + w / 2 < 1320 and 200 < y + h / 2 < 880   # the face sits in the middle
    assert r.get_json()["result"]["label"] == "no_evidence"   # a real face (UTKFace), scoring 0.005
    report = client.get(r.get_json()["report_url"], base_url=BASE_URL, headers=auth)
    assert b"silence is not proof" in report.data
    assert report.data.count(b'<div class="box"') == 1   # its box neutral, not red, under "No signs…"
    # the page's policy is in the page too: the extension shows it through srcdoc, without the header
    policy = report.headers["Content-Security-Policy"]
    assert f'<meta http-equiv="Content-Security-Policy" content="{policy}">'.encode().replace(b"'", b"&#39;") \
        in report.data, report.data[:400]


def test_a_report_colours_each_face_box_by_its_score_against_the_threshold():
    from fakelens.api.report import _box_tone, _box_words
    tone = _box_tone({"signals": [{"detector": "provenance", "threshold": 0.5},
                                  {"detector": "face_swap", "threshold": 0.69}]})
    assert [tone(s) for s in (0.95, 0.69, 0.6, 0.58, 0.03, None)] == [" high", " high", " near", "", "", ""]
    assert _box_tone(None)(0.9) == ""   # a check without a result
    # a video's frame face scoring high under "No signs…" (its mean is low): amber, never red
    quiet = _box_tone({"label": "no_evidence", "signals": [{"detector": "face_swap", "threshold": 0.69}]})
    assert [quiet(s) for s in (0.95, 0.6, 0.03)] == [" near", " near", ""]
    held = _box_tone({"label": "uncertain", "signals": [{"detector": "face_swap", "threshold": 0.69}]})
    assert held(0.95) == " near"   # "Uncertain" flags nothing either
    # and in words, not by colour alone
    words = _box_words({"signals": [{"detector": "face_swap", "threshold": 0.69}]})
    assert [words(s) for s in (0.95, 0.6, 0.03, None)] == [
        "score 0.950, at or above the threshold", "score 0.600, just under the threshold", "score 0.030",
        "face, not scored"]
    assert words(0.6851) == "score 0.685, just under the threshold"   # not "0.69" under a threshold of 0.69


def stored_report(app, client, auth, result: dict, request: dict | None = None) -> str:
    """The report of a check stored as done with `result` (and a grey picture of its media)."""
    from fakelens.analyze import thumbnail_name

    media = result["media"]
    thumbs = app.config["SETTINGS"].thumbs_dir
    thumbs.mkdir(parents=True, exist_ok=True)
    ok, jpg = cv2.imencode(".jpg", np.full((media["height"], media["width"], 3), 128, np.uint8))
    # where the result names its picture's frame, that one; an older check's, its first face's
    t = result["picture"]["t"] if "picture" in result else min((f["t"] for f in result["faces"]), default=0.0)
    (thumbs / thumbnail_name(media["sha256"], t)).write_bytes(jpg)
    check_id = app.extensions["fakelens"]["store"].create(request or {"filename": "x.jpg"}, "done", result)
    return client.get(f"{CHECKS}/{check_id}/report", base_url=BASE_URL, headers=auth).data.decode()


def report_result(**changes) -> dict:
    """A video's verdict as the report reads it, without analysing anything."""
    return {"label": "no_evidence", "score": 0.1, "summary": "No signs of manipulation found.", "elapsed_ms": 5,
            "signals": [{"detector": "face_swap", "version": "1", "score": 0.1, "weight": 1.0, "threshold": 0.69,
                         "decisive": True, "detail": {}}],
            "faces": [], "frames": [], "provenance": {"status": "none"},
            "media": {"kind": "video", "sha256": "ab" * 32, "width": 320, "height": 240, "duration": 4.0},
            **changes}


def page_width(html: str, viewport: int = 1000) -> int | None:
    """How wide Chromium lays the page out in a window `viewport` px wide; None without Chromium."""
    return laid_out(html, viewport, "document.documentElement.scrollWidth")


def laid_out(html: str, viewport: int, expression: str):
    """`expression` in the page as Chromium lays it out in a window `viewport` px wide; None without Chromium."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not os.path.exists("/usr/bin/chromium"):
        return None
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless=new", "--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": viewport, "height": 800})
            page.set_content(html)
            return page.evaluate(expression)
        finally:
            browser.close()


def test_long_unbroken_text_and_a_long_timeline_stay_in_the_reports_column(app, client, auth):
    """A 500-character PNG text chunk made the report 4,449 px wide, a 4,000-character address 31,001 px
    and 128 frames' timeline, one row of cells, 7,479 px, far past its 860 px column: text and
    addresses wrap anywhere, and the timeline scrolls in a box of its own."""
    frames = [{"t": i / 4, "score": 0.1} for i in range(128)]
    html = stored_report(app, client, auth, report_result(
        frames=frames, summary="No signs. " + "x" * 3000,
        signals=[{"detector": "provenance", "version": "1", "score": None, "threshold": 0.5, "decisive": False,
                  "detail": {"metadata": {"PNG Comment": "x" * 500}}}],
        media={**report_result()["media"], "source_url": "https://cdn.example/p.jpg?t=" + "z" * 3950}))
    style = re.sub(r"/\*.*?\*/", "", re.search(r"<style>(.*?)</style>", html, re.S).group(1), flags=re.S)
    wrapping = [set(re.split(r"\s*,\s*", sel.strip()))
                for sel, body in re.findall(r"([^{}]+)\{([^}]*)\}", style) if "overflow-wrap: anywhere" in body]
    assert any({"p", "code"} <= sel for sel in wrapping), wrapping
    assert re.search(r"\.scroll\s*\{[^}]*overflow-x: auto", style), style
    timeline = re.search(r'<div class="scroll"><table><tr><th scope="row">time \(s\)</th>(.*?)</table></div>', html, re.S)
    assert timeline and timeline.group(1).count("<td>") == 2 * 128, html[-3000:]
    assert page_width(html) in (None, 1000)   # measured where Chromium is installed


def test_a_reports_signal_detail_and_provenance_read_as_words_not_json(app, client, auth):
    """Each signal's detail and each provenance entry was one line of raw JSON: braces, quotes,
    "null", "[]", "true" and snake_case keys. They are listed as "key: value" lines in words, the
    empty ones left out, a nested mapping under its key and true/false as yes/no."""
    detail = {"faces_scored": 16, "mirror_averaged": True, "contradiction": None, "evidence": [],
              "reason": "No Content Credentials found", "reasons": ["No Content Credentials found"],
              "metadata": {"EXIF Make": "Canon", "XMP CreatorTool": "Lightroom <5>"},
              "bit_accuracy": [0.522, 0.406], "c2pa": {}}
    html = stored_report(app, client, auth, report_result(
        signals=[{"detector": "provenance", "version": "1.13", "score": None, "threshold": 0.5, "decisive": False,
                  "detail": detail}],
        provenance={"status": "none", "signer": None, "trusted": False, "actions": [], "reasons": ["Nothing found"]}))
    cell = re.search(r"<td>provenance</td>(?:<td>.*?</td>){4}<td>(.*?)</td></tr>", html, re.S).group(1)
    lines = [re.sub(r"<[^>]+>", "", li).strip() for li in re.findall(r"<li>(.*?)(?=<li>|</ul>|$)", cell, re.S)]
    assert lines == ["faces scored: 16", "mirror averaged: yes", "reasons: No Content Credentials found",
                     "metadata:", "EXIF Make: Canon", "XMP CreatorTool: Lightroom &lt;5&gt;",
                     "bit accuracy: 0.522, 0.406"], cell
    assert not re.search(r"null|\{|\[\]|&#34;|true", cell), cell
    provenance = re.search(r"<h2>Provenance</h2>\s*<table>(.*?)</table>", html, re.S).group(1)
    rows = [(k, re.sub(r"<[^>]+>", "", v)) for k, v in
            re.findall(r'<tr><th scope="row">(.*?)</th><td>(.*?)</td></tr>', provenance, re.S)]
    assert rows == [("status", "none"), ("trusted", "no"), ("reasons", "Nothing found")], provenance


def test_a_reports_iptc_source_types_are_said_in_words(app, client, auth):
    """The report printed IPTC tokens bare ("digital source type: digitalCapture"), which few readers know:
    they are in words, the token kept after them; a token outside the vocabulary is as it was."""
    html = stored_report(app, client, auth, report_result(
        signals=[{"detector": "provenance", "version": "1.13", "score": 0.9, "threshold": 0.5, "decisive": True,
                  "detail": {"metadata": {"XMP DigitalSourceType": "trainedAlgorithmicMedia"}}}],
        provenance={"status": "intact", "signer": "Leica", "trusted": True, "digital_source_type": "digitalCapture",
                    "actions": [{"action": "c2pa.created", "digital_source_type": "digitalCapture"},
                                {"action": "c2pa.edited", "digital_source_type": "compositeWithTrainedAlgorithmicMedia"},
                                {"action": "c2pa.edited", "digital_source_type": "somethingNew"}]}))
    text = re.sub(r"<[^>]+>", "\n", html)
    assert "XMP DigitalSourceType: AI-generated (trainedAlgorithmicMedia)" in text, text
    provenance = text[text.index("Provenance\n"):]
    assert "digital source type: camera capture (digitalCapture)" in provenance, provenance
    assert "digital source type: composite with AI-generated elements (compositeWithTrainedAlgorithmicMedia)" \
        in provenance, provenance
    assert "digital source type: somethingNew" in provenance
    assert re.search(r"digital source type\n+camera capture \(digitalCapture\)", provenance), provenance   # the block's own row


@pytest.mark.parametrize("source_url", ["http://[bad/x.png", "http://ex\uff03ample.com/x.png"])
def test_the_report_of_an_upload_whose_source_address_does_not_parse_is_drawn(app, client, auth, source_url):
    """An upload's source_url is kept as sent; one urlsplit cannot read made its report a 500, for good."""
    html = stored_report(app, client, auth, report_result(), {"filename": "x.png", "source_url": source_url})
    assert "<h1" in html and source_url in html, html[:500]


def test_the_per_frame_scores_tell_which_side_of_the_threshold_they_are_on(app, client, auth):
    """0.6935 and 0.6926 both read "0.69" beside a threshold of 0.6931, in the table and the points'
    titles; the faces table (shown_score) told them apart."""
    frames = [{"t": 0.0, "score": 0.6935}, {"t": 1.0, "score": 0.6926}, {"t": 2.0, "score": 0.2}]
    html = stored_report(app, client, auth, report_result(
        frames=frames, signals=[{**report_result()["signals"][0], "threshold": 0.6931}]))
    row = re.search(r'<tr><th scope="row">score</th>(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r"<td>(.*?)</td>", row) == ["0.694", "0.693", "0.200"], row   # the tables' three decimals
    assert "<title>0.0 s: 0.694</title>" in html and "<title>1.0 s: 0.693</title>" in html


def test_a_report_fits_a_narrow_window_without_scrolling_sideways(app, client, auth):
    """In a window 320 px wide (a phone; a page zoomed to 400 %) the report scrolled sideways, its text
    with it: the timeline stayed 600 px wide, the signals table 500 px, and a face's label on the
    picture's right half reached past it. The timeline shrinks, the table scrolls in its own box, and
    a label on the right half is drawn from its box's right edge, wrapping."""
    faces = [{"frame": 0, "t": 0.0, "box": [250, 10, 40, 40], "score": 0.9}]
    signals = [{"detector": "face_swap", "version": "1", "score": 0.9, "threshold": 0.69, "decisive": True,
                "detail": {}},
               {"detector": "provenance", "version": "1.13", "score": None, "threshold": 0.5, "decisive": False,
                "detail": {"c2pa": {"status": "none"}}}]
    html = stored_report(app, client, auth, report_result(label="manipulated", score=0.9, faces=faces, signals=signals,
                                                          frames=[{"t": i / 4, "score": 0.9} for i in range(16)]))
    assert page_width(html, 320) in (None, 320)   # measured where Chromium is installed
    assert 'data-side="end"' in html


def test_a_signals_detail_reads_as_written_and_keeps_a_readable_width_in_a_narrow_window(app, client, auth):
    """Jinja's tojson wrote a detail's apostrophe, quotes and signs as \\u0027, \\u201c, \\u00d7, shown
    as typed ("the deciding face\\u0027s score"); and at 320 px the detail, wrapping anywhere, was a few
    characters a line, its row 1,945 px tall."""
    signals = [{"detector": "face_swap", "version": "1", "score": 0.9, "threshold": 0.69, "decisive": True,
                "detail": {"aggregation": "the deciding face's score", "watermark": "too small (200×200 < 256×256 pixels)",
                           "faces": [{"box": [1, 2, 3, 4], "score": 0.9}] * 6}},
               {"detector": "provenance", "version": "1", "score": None, "threshold": 0.5, "decisive": False,
                "detail": {"reason": "signed by “Truepic Lens” (not on FakeLens's trust list)"}}]
    html = stored_report(app, client, auth, report_result(label="manipulated", score=0.9, signals=signals))
    assert "\\u" not in html, re.findall(r".{20}\\\\u.{20}", html)[:3]
    assert "the deciding face&#39;s score" in html and "200×200 &lt; 256×256" in html and "“Truepic Lens”" in html
    width = laid_out(html, 320, "document.querySelector('.wide td:last-child .kv').getBoundingClientRect().width")
    assert width is None or width >= 250, width


def test_a_crowds_unscored_faces_do_not_cover_the_deciding_face_nor_fill_the_table(app, client, auth):
    """On a crowd picture every face's label was drawn in list order, the unscored last, over the
    deciding face's; and its table listed every face (a crowd video: 1,324 rows). The scored boxes are
    drawn last, the highest on top, the unscored dashed and unlabelled, and the table lists the scored."""
    scores = {5: 0.9, 17: 0.2, 30: 0.62}
    faces = [{"frame": 0, "t": 0.0, "box": [(i % 8) * 40, (i // 8) * 40, 36, 36], "score": scores.get(i)}
             for i in range(40)]
    html = stored_report(app, client, auth, report_result(label="manipulated", score=0.9, faces=faces))
    boxes = re.findall(r'<div class="box([^"]*)"[^>]*>(.*?)</div>', html)
    assert len(boxes) == 40
    assert boxes[-3:] == [("", "<span>score 0.200</span>"),
                          (" near", "<span>score 0.620, just under the threshold</span>"),
                          (" high", "<span>score 0.900, at or above the threshold</span>")], boxes[-3:]
    assert all(box == (" unscored", "") for box in boxes[:-3]), boxes[:-3]
    table = html.split("<h2>Faces</h2>")[1].split("<h2>")[0]
    assert table.count("<tr>") == 1 + 3 and "and 37 more faces, found but not scored." in table, table
    # a few faces are all listed, and an unscored one keeps its words where the pointer rests
    html = stored_report(app, client, auth, report_result(faces=faces[:6]))
    assert html.split("<h2>Faces</h2>")[1].split("<h2>")[0].count("<tr>") == 1 + 6
    assert 'title="face, not scored"' in html


@pytest.mark.parametrize("label, score, headline", [
    ("manipulated", 0.9, "Likely manipulated (score 0.90)"),
    ("ai_generated", 0.95, "Likely AI-generated (score 0.95)"),
    ("uncertain", 0.62, "Uncertain (score 0.62)"),
    ("no_evidence", 0.1, "No signs of manipulation found"),
])
def test_a_reports_title_names_its_verdict(app, client, auth, label, score, headline):
    """A report's title named its media only: a screen reader, which reads the title first, and the
    tab said nothing of the verdict."""
    html = stored_report(app, client, auth, report_result(label=label, score=score), {"filename": "clip.mp4"})
    assert f"<title>FakeLens report: clip.mp4 – {headline}</title>" in html, html[:400]


@pytest.mark.parametrize("label, symbol", [("manipulated", "⚠"), ("ai_generated", "✦"), ("uncertain", "?"),
                                           ("no_evidence", "○"), ("not_applicable", "–")])
def test_a_reports_verdict_symbol_is_hidden_from_a_screen_reader(app, client, auth, label, symbol):
    """The verdict's symbol was read out before its words ("white circle, No signs of manipulation
    found"): it is there for the eye, beside the colour, and the words say the verdict."""
    html = stored_report(app, client, auth, report_result(label=label))
    chip = re.search(r'<span class="chip [a-z_]+">(.*?)</span></p>', html, re.S).group(1)
    assert f'<span aria-hidden="true">{symbol}</span>' in chip, chip
    assert symbol not in re.sub(r'<span aria-hidden="true">.*?</span>', "", chip), chip


def test_a_reports_table_headers_say_what_they_head(app, client, auth):
    """The tables' header cells had no scope: a screen reader had to guess whether "score" heads a
    column (signals, faces) or a row (the per-frame timeline, provenance)."""
    faces = [{"frame": 0, "t": 0.0, "box": [10, 10, 50, 50], "score": 0.9}]
    html = stored_report(app, client, auth, report_result(label="manipulated", score=0.9, faces=faces,
                                                          frames=[{"t": 0.0, "score": 0.9}]))
    heads = re.findall(r"<th( [^>]*)?>([^<]*)</th>", html)
    assert heads and all(attrs for attrs, _ in heads), heads
    assert {text: attrs for attrs, text in heads if text in ("detector", "box (x, y, w, h)", "time (s)", "status")} == {
        "detector": ' scope="col"', "box (x, y, w, h)": ' scope="col"', "time (s)": ' scope="row"',
        "status": ' scope="row"'}


@pytest.mark.parametrize("t, said", [(1.5, "1.5"), (0.0, "0"), (2.0, "2")])
def test_a_reports_picture_says_what_it_is(app, client, auth, t, said):
    """The report's picture was "checked media" to a screen reader, whatever it showed: it names the
    media, and of a video the frame shown, its time as a person writes it ("at 2 s", not "at 2.0 s")."""
    faces = [{"frame": 3, "t": t, "box": [10, 10, 50, 50], "score": 0.9}]
    html = stored_report(app, client, auth, report_result(label="manipulated", score=0.9, faces=faces),
                         {"filename": "clip.mp4"})
    assert re.search(rf'<img src="data:image/jpeg;base64,[^"]+" alt="The frame at {re.escape(said)} s of the checked video, '
                     r'clip.mp4">', html), html[-3000:]
    html = stored_report(app, client, auth, report_result(media={**report_result()["media"], "kind": "image",
                                                                 "duration": None}),
                         {"url": "https://cdn.example/p/holiday.jpg"})
    assert re.search(r'<img src="data:image/jpeg;base64,[^"]+" alt="The checked image, holiday.jpg">', html)


def video_report(client, auth, clip: Path) -> tuple[dict, str]:
    """A real clip checked through the API: its result, and its report's HTML."""
    r = post_file(client, auth, clip.read_bytes(), name=clip.name, wait=120)
    assert r.status_code == 200 and r.get_json()["status"] == "done", r.get_json()
    body = r.get_json()
    return body["result"], client.get(body["report_url"], base_url=BASE_URL, headers=auth).data.decode()


def box_labels(html: str) -> list[str]:
    return re.findall(r'<div class="box[^"]*"[^>]*><span>(.*?)</span></div>', html)


@pytest.mark.parametrize("clip", ["ff_fake.mp4", "ff_real.mp4"])
def test_a_videos_report_pictures_its_highest_scoring_sampled_frame(client, auth, clip):
    """A video's report showed its first frame with a face ("The frame at 0 s", a box "score 0.863")
    beside a verdict about other frames ("Likely manipulated (score 0.97)"): it shows the sampled frame
    that scored highest, under a flag or "No signs…" alike (the worst case looked at), says so, and
    draws that frame's boxes."""
    from fakelens.detectors.base import shown_score

    result, html = video_report(client, auth, need_shared("deepfake-clips", clip))
    frames = result["frames"]
    best = max(frames, key=lambda f: f["score"])
    assert best is not frames[0], "the clip's first frame scores highest: it tells nothing"
    said = f"The sampled frame at {best['t']:g} s"
    why = f"the highest-scoring of the {len(frames)} sampled frames with faces"
    assert f'alt="{said} of the checked video, {clip}: {why}"' in html, re.findall(r'alt="[^"]*"', html)
    assert f"<p><small>{said}, {why}.</small></p>" in html
    shown = [f for f in result["faces"] if f["t"] == best["t"]]
    threshold = next(s["threshold"] for s in result["signals"] if s["detector"] == "face_swap")
    assert sorted(label.split(",")[0] for label in box_labels(html)) == sorted(
        f"score {shown_score(f['score'], threshold)}" for f in shown if f["score"] is not None)
    assert result["picture"] == {"frame": shown[0]["frame"], "t": best["t"], "highest_of": len(frames)}


def test_an_uncertain_videos_report_pictures_the_segment_its_verdict_names(client, auth):
    """FF++ dev real 147: "6 consecutive sampled frames (11.8–19.2 s) scored high", and its report
    showed the frame at 0 s: it shows the highest of those frames and names the segment as the verdict does."""
    result, html = video_report(client, auth, need_shared("ffpp-dev", "real", "147.mp4"))
    named = next(s["detail"]["at_least_uncertain"] for s in result["signals"] if s["detector"] == "face_swap")
    count, span = re.match(r"(\d+) consecutive sampled frames \((.*?) s\)", named).groups()
    start, end = map(float, span.split("–"))
    run = [f for f in result["frames"] if start <= round(f["t"], 1) <= end]
    assert len(run) == int(count), (named, result["frames"])
    best = max(run, key=lambda f: f["score"])
    caption = (f"The sampled frame at {best['t']:g} s, the highest-scoring of the {count} consecutive "
               f"sampled frames that scored high ({span} s)")
    assert f"<p><small>{caption}.</small></p>" in html, re.findall(r'alt="[^"]*"', html)
    assert result["picture"]["t"] == best["t"] != result["frames"][0]["t"]


def test_the_report_frame_of_an_uncertain_segment_is_its_highest_not_the_videos():
    """The frame pictured beside a named segment is that segment's highest, though a lone frame
    elsewhere scored higher; a sampled frame without a face breaks a run, as the detector counts it."""
    from fakelens.analyze import report_frame
    from fakelens.media.types import Frame, Media

    scores = [0.2, 0.99, 0.1, 0.8, 0.9, 0.85, 0.8, None, 0.95, 0.96]   # frame 7: no face, the run's only break
    media = Media("video", "v.mp4", "ab" * 32, 64, 48, 10.0,
                  frames=[Frame(i, float(i), np.zeros((48, 64, 3), np.uint8)) for i in range(len(scores))])
    faces = [{"frame": i, "t": float(i), "box": [1, 1, 20, 20], "score": s} for i, s in enumerate(scores) if s]
    signal = {"detector": "face_swap", "threshold": 0.69, "detail": {"at_least_uncertain": "3 consecutive…"}}
    assert report_frame({"faces": faces, "signals": [signal]}, media) == {
        "frame": 4, "t": 4.0, "highest_of": 4, "run": [3.0, 6.0]}
    signal["detail"] = {}   # no segment named: the video's highest
    assert report_frame({"faces": faces, "signals": [signal]}, media) == {"frame": 1, "t": 1.0, "highest_of": 9}
    unscored = [{**f, "score": None} for f in faces[2:]]   # nothing scored: the first frame with a face
    assert report_frame({"faces": unscored, "signals": [signal]}, media) == {"frame": 2, "t": 2.0}


def test_a_report_draws_the_frame_its_result_names_and_an_older_checks_first_face(app, client, auth):
    """The boxes drawn are the pictured frame's, with its caption, and the chart's dashed line is the
    threshold, labelled; a check stored before results named their picture still shows its first face's frame."""
    faces = [{"frame": 0, "t": 0.0, "box": [10, 10, 50, 50], "score": 0.863},
             {"frame": 5, "t": 12.4, "box": [100, 20, 60, 60], "score": 0.999}]
    frames = [{"t": 0.0, "score": 0.863}, {"t": 12.4, "score": 0.999}]
    result = report_result(label="manipulated", score=0.93, faces=faces, frames=frames)
    html = stored_report(app, client, auth, {**result, "picture": {"frame": 5, "t": 12.4, "highest_of": 2}},
                         {"filename": "clip.mp4"})
    assert ('alt="The sampled frame at 12.4 s of the checked video, clip.mp4: the highest-scoring of the 2 sampled '
            'frames with faces"') in html
    assert "<p><small>The sampled frame at 12.4 s, the highest-scoring of the 2 sampled frames with faces.</small></p>" in html
    assert box_labels(html) == ["score 0.999, at or above the threshold"]
    assert re.search(r'<line x1="0" y1="24.8" x2="600" y2="24.8"[^>]*stroke-dasharray', html), html[-2000:]
    assert ">threshold 0.69</text>" in html and 'aria-label="score per sampled frame; the dashed line is the threshold, 0.69"' in html
    html = stored_report(app, client, auth, result, {"filename": "clip.mp4"})   # no "picture": an older check
    assert 'alt="The frame at 0 s of the checked video, clip.mp4"' in html and "<p><small>The" not in html
    assert box_labels(html) == ["score 0.863, at or above the threshold"]


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(width: int, height: int) -> bytes:
    """A decompression bomb: a tiny PNG whose header claims width × height pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + png_chunk(b"IEND", b""))


@pytest.mark.parametrize("data, name, status, code", [
    (b"", "empty.jpg", 422, "undecodable"),
    (b"<html><body>not an image</body></html>", "page.jpg", 415, "unsupported_media"),
    (b"just some text, not a video\n" * 10, "clip.mp4", 415, "unsupported_media"),
    (png_header(30000, 30000), "bomb.png", 413, "too_large"),
])
def test_bad_uploads_are_clear_4xx(client, auth, data, name, status, code):
    r = post_file(client, auth, data, name=name)
    assert r.status_code == status, r.get_json()
    assert r.get_json()["error"]["code"] == code
    assert r.get_json()["error"]["message"]


def test_a_heic_or_avif_photo_is_refused_by_its_name(client, auth, tmp_path, face_jpeg):
    """An iPhone's HEIC photo, or an AVIF, read "this is not an image or video FakeLens can read (supported:
    JPEG, PNG, ...)", as if it were no photo at all: the refusal names the format and what to do."""
    from PIL import Image

    avif = tmp_path / "face.avif"
    with Image.open(face_jpeg) as im:
        im.save(avif, quality=80)   # Pillow's own AVIF encoder, from a real face
    data = avif.read_bytes()
    assert data[4:12] == b"ftypavif"
    # a HEIC's header (Pillow writes no HEIC): the same file under HEIC's brands, as an iPhone writes them
    heic = data[:8] + b"heic" + data[12:16] + b"mif1heic" + data[24:]
    for data, name, said in ((data, "face.avif", "an AVIF"), (heic, "IMG_0001.HEIC", "a HEIC")):
        r = post_file(client, auth, data, name=name)
        assert r.status_code == 415, r.get_json()
        assert r.get_json()["error"] == {"code": "unsupported_media", "message": f"this is {said} photo, which "
                                         "FakeLens does not read: export it as JPEG and check that copy"}


def thin_video(path, width: int, height: int) -> bytes:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (width, height))
    for i in range(5):
        writer.write(np.full((height, width, 3), 40 * i, np.uint8))
    writer.release()
    return path.read_bytes()


@pytest.mark.parametrize("width, height", [(1281, 1), (1, 6000), (2600, 2)])
def test_extreme_aspect_ratios_get_a_verdict(client, auth, tmp_path, width, height):
    """A one-pixel divider or strip (image, and a 2600×2 video) is checked, not a 500: its report
    picture shrinks to 640 px on the long side and keeps one pixel on the short one."""
    if height == 2:
        r = post_file(client, auth, thin_video(tmp_path / "strip.avi", width, height), name="strip.avi", wait=30)
    else:
        ok, png = cv2.imencode(".png", np.full((height, width, 3), 128, np.uint8))
        r = post_file(client, auth, png.tobytes(), name="divider.png")
    assert r.status_code == 200, r.get_json()
    media = r.get_json()["result"]["media"]
    assert (media["width"], media["height"]) == (width, height)
    report = client.get(r.get_json()["report_url"], base_url=BASE_URL, headers=auth)
    assert report.status_code == 200 and b"data:image/jpeg" in report.data


def test_truncated_jpeg_is_4xx(client, auth, plain_jpeg):
    data = plain_jpeg.read_bytes()
    r = post_file(client, auth, data[: len(data) // 2])
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "undecodable"
    assert "truncated" in r.get_json()["error"]["message"]
    report = client.get(f"/api/v1/checks/{r.get_json()['id']}/report", base_url=BASE_URL, headers=auth)
    assert report.status_code == 200 and b"truncated" in report.data
    assert b"Progress:" not in report.data   # a failed check's last progress is no news
    assert b"Check failed: the image file is truncated" in report.data   # in the extension's words
    # and what to do about it (it said only why)
    assert b"The file is damaged or incomplete: download it again, or check the original." in report.data


def test_a_failed_checks_report_names_its_media_and_when_it_was_asked_for(client, auth, plain_jpeg):
    """A failed check's report said only "Check failed: …" under its heading: not which picture, nor
    when; and every report's title was "FakeLens report" and an id, so report tabs looked alike."""
    data = plain_jpeg.read_bytes()[:300]
    before = time.time()
    r = post_file(client, auth, data, name="holiday.jpg")
    assert r.status_code == 422, r.get_json()
    html = client.get(f"/api/v1/checks/{r.get_json()['id']}/report", base_url=BASE_URL, headers=auth).data.decode()
    assert "<title>FakeLens report: holiday.jpg – Check failed</title>" in html
    assert "File: <code>holiday.jpg</code>" in html
    asked = re.search(r"asked for on (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", html)
    assert asked and abs(time.mktime(time.strptime(asked.group(1), "%Y-%m-%d %H:%M:%S")) - before) < 60, html
    # uploaded by the extension: named by the address it came from
    r = post_file(client, auth, data, name="media.jpg", source_url="https://cdn.example/p/beach%20day.jpg?s=1")
    html = client.get(f"/api/v1/checks/{r.get_json()['id']}/report", base_url=BASE_URL, headers=auth).data.decode()
    assert "<title>FakeLens report: beach day.jpg – Check failed</title>" in html
    assert "Address: <code>https://cdn.example/p/beach%20day.jpg?s=1</code>" in html


def test_a_page_videos_address_is_one_plain_short_line_in_the_summary_the_report_and_an_error(client, auth,
                                                                                              tmp_path):
    """The address of the video a page names is whatever the page wrote: a right-to-left override and
    3,000 characters went whole into the summary, the report's Media line and a failed check's message."""
    from fixtures.media.generate import generate
    from support.httpd import MediaServer

    def asked(server, page):
        r = client.post(f"{CHECKS}?wait=30", base_url=BASE_URL, headers=auth, json={"url": server.url(page)})
        check = r.get_json()
        for _ in range(120):
            if check["status"] not in ("queued", "running"):
                break
            time.sleep(0.25)
            check = client.get(f"{CHECKS}/{check['id']}", base_url=BASE_URL, headers=auth).get_json()
        html = client.get(f"{CHECKS}/{check['id']}/report", base_url=BASE_URL, headers=auth).data.decode()
        return check, html

    with MediaServer(generate(tmp_path / "media")) as server:
        done, html = asked(server, "/page/odd-address.html")
        assert done["status"] == "done", done
        assert "\u202e" in done["result"]["media"]["media_url"]   # the field keeps the address as it is
        summary = done["result"]["summary"]
        assert "\u202e" not in summary and len(summary) < 500, summary
        assert "checked (" + server.url("/files/clip.mp4?n= evil.exe&pad=q") in summary
        assert "\u202e" not in html
        assert max(len(html_unescape(c)) for c in re.findall(r"<code>([^<]*)</code>", html)) <= 500
        failed, html = asked(server, "/page/odd-address-gone.html")
        message = failed["error"]["message"]
        assert failed["status"] == "failed" and message.startswith("the server answered HTTP 404 for the video at "), message
        assert "\u202e" not in message and len(message) < 300, message
        assert "\u202e" not in html


def test_a_page_gets_a_cached_verdict_only_from_checks_asked_on_its_own_site(client, auth, plain_jpeg):
    """A page can time its badge: a verdict at once would tell it that its visitor checked the same
    picture on another site. The same bytes (or address) come from the cache only for the same page host."""
    data = plain_jpeg.read_bytes()
    cached = lambda page: post_file(client, auth, data, wait=10, page_url=page).get_json()["cached"]  # noqa: E731
    assert cached("https://news.example/story") is False
    assert cached("https://news.example/other-story") is True
    assert cached("https://shop.example/") is False and cached("https://shop.example/cart") is True
    # without a page (the command line, curl): one cache among them, as before
    r = post_file(client, auth, data, wait=10)
    assert r.get_json()["cached"] is False and post_file(client, auth, data, wait=10).get_json()["cached"] is True


def test_a_cached_verdict_is_not_served_once_a_setting_that_changes_it_does(tmp_path, plain_jpeg):
    """Turning on remote manifests (or trusting other signers, or sampling more frames) must not
    answer the same bytes with the verdict made before the change."""
    from fakelens.api import create_app
    from fakelens.config import Settings

    def cached(**settings):
        app = create_app(Settings(**{"home": tmp_path / "h", **settings}))
        try:
            auth = {"Authorization": f"Bearer {app.config['TOKEN'].current()}"}
            r = post_file(app.test_client(), auth, plain_jpeg.read_bytes())
            assert r.status_code == 200, r.get_json()
            return r.get_json()["cached"]
        finally:
            app.extensions["fakelens"]["pool"].stop()

    assert cached() is False and cached() is True
    assert cached(cache=False) is False                    # FAKELENS_CACHE=0: never from the cache
    from fakelens.store import Store
    store = Store(tmp_path / "off" / "fakelens.db")
    try:   # ... nor into it
        assert cached(cache=False, home=tmp_path / "off") is False
        assert store._read("SELECT count(*) FROM cache_hash")[0][0] == 0
    finally:
        store.close()
    assert cached(remote_manifests=True) is False and cached(remote_manifests=True) is True
    assert cached(remote_manifests=True, video_frames=24) is False
    bundled = (REPO / "backend" / "fakelens" / "provenance" / "trust_anchors" / "C2PA-TRUST-LIST.pem").read_text()
    one_cert = bundled[bundled.index("-----BEGIN CERTIFICATE-----"):bundled.index("-----END CERTIFICATE-----") + 25]
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    (anchors / "ours.pem").write_text(one_cert + "\n")
    assert cached(remote_manifests=True, video_frames=24, trust_anchors=anchors) is False
    assert cached(remote_manifests=True, video_frames=24, trust_anchors=anchors) is True
    import fakelens.analyze   # an upgraded c2pa (or OpenCV, onnxruntime) may validate or decode otherwise
    upgraded = tuple(v.replace("c2pa ", "c2pa 99.") for v in fakelens.analyze.LIBRARIES)
    assert upgraded != fakelens.analyze.LIBRARIES
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fakelens.analyze, "LIBRARIES", upgraded)
        assert cached(remote_manifests=True, video_frames=24, trust_anchors=anchors) is False


def test_a_bad_wait_starts_nothing_and_an_overlong_page_url_is_dropped_not_fatal(client, auth, plain_jpeg):
    before = len(client.get(f"{CHECKS}?limit=100", base_url=BASE_URL, headers=auth).get_json()["checks"])
    r = client.post(f"{CHECKS}?wait=abc", base_url=BASE_URL, headers=auth,
                    data={"media": (io.BytesIO(plain_jpeg.read_bytes()), "x.jpg")}, content_type="multipart/form-data")
    assert r.status_code == 400 and "'wait' must be a number" in r.get_json()["error"]["message"]
    # refused before it started: nothing runs behind the client's back (a retry would make two)
    assert len(client.get(f"{CHECKS}?limit=100", base_url=BASE_URL, headers=auth).get_json()["checks"]) == before
    long_page = "https://example.com/?" + "q" * 5000
    r = post_file(client, auth, plain_jpeg.read_bytes(), page_url=long_page, source_url="https://example.com/a.jpg")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["input"]["page_url"] is None and r.get_json()["input"]["source_url"] == "https://example.com/a.jpg"
    r = client.post(f"{CHECKS}/batch", base_url=BASE_URL, headers=auth,
                    json={"items": [{"url": "http://127.0.0.1:9/b.jpg"}], "page_url": long_page})   # nothing there: fails fast, offline
    assert r.status_code == 202 and r.get_json()["checks"][0]["status"] != "failed", r.get_json()


def test_the_report_shows_a_frame_with_faces_when_the_video_opens_without_one(tmp_path, face_jpeg):
    """A clip that opens on a faceless frame: the report's picture is the first frame with a face,
    with its boxes (it showed the empty first frame and no box)."""
    from fakelens.api import create_app
    from fakelens.config import Settings

    face = cv2.resize(cv2.imread(str(face_jpeg)), (640, 360))
    path = tmp_path / "opens-black.mp4"
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 360))
    for i in range(40):
        out.write(np.zeros((360, 640, 3), np.uint8) if i < 12 else face)
    out.release()
    app = create_app(Settings(home=tmp_path / "h", video_frames=4))
    try:
        client = app.test_client()
        auth = {"Authorization": f"Bearer {app.config['TOKEN'].current()}"}
        r = post_file(client, auth, path.read_bytes(), name="opens-black.mp4", wait=30)
        assert r.status_code == 200, r.get_json()
        result = r.get_json()["result"]
        assert result["faces"] and min(f["frame"] for f in result["faces"]) > 0, result["faces"]
        report = client.get(r.get_json()["report_url"], base_url=BASE_URL, headers=auth)
        assert report.data.count(b'class="box"') >= 1
    finally:
        app.extensions["fakelens"]["pool"].stop()


def test_a_report_keeps_its_own_picture_when_the_video_is_checked_again_otherwise(tmp_path, face_jpeg):
    """The report's picture was named by the media's sha256 only: the same video checked again with
    other frames sampled (another video_frames, another version) overwrote it, and the older report
    drew its boxes on the newer check's frame."""
    import base64
    import re

    from fakelens.api import create_app
    from fakelens.config import Settings

    face = cv2.resize(cv2.imread(str(face_jpeg)), (640, 360))
    path = tmp_path / "opens-black.mp4"
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 360))
    for i in range(40):
        out.write(np.zeros((360, 640, 3), np.uint8) if i < 12 else np.roll(face, i * 8, axis=1))   # sliding
    out.release()
    home, reports, firsts = tmp_path / "h", [], []
    for frames in (4, 6):
        app = create_app(Settings(home=home, video_frames=frames, cache=False))
        try:
            client = app.test_client()
            auth = {"Authorization": f"Bearer {app.config['TOKEN'].current()}"}
            r = post_file(client, auth, path.read_bytes(), name="opens-black.mp4", wait=30)
            assert r.status_code == 200, r.get_json()
            firsts.append(min(f["t"] for f in r.get_json()["result"]["faces"]))
            reports.append(r.get_json()["report_url"])
            pictures = [re.search(rb"data:image/jpeg;base64,([A-Za-z0-9+/=]+)",
                                  client.get(url, base_url=BASE_URL, headers=auth).data).group(1) for url in reports]
        finally:
            app.extensions["fakelens"]["pool"].stop()
            app.extensions["fakelens"]["store"].close()
    assert firsts[0] != firsts[1], firsts   # the two checks show different moments of the video
    assert pictures[0] != pictures[1]       # and each report its own
    decoded = [cv2.imdecode(np.frombuffer(base64.b64decode(p), np.uint8), cv2.IMREAD_COLOR) for p in pictures]
    assert all(d is not None for d in decoded)


def test_upload_over_limit_is_413(tmp_path):
    from fakelens.api import create_app
    from fakelens.config import Settings

    app = create_app(Settings(home=tmp_path / "h", max_video_bytes=1 << 20, max_image_bytes=1 << 20))
    try:
        client = app.test_client()
        auth = {"Authorization": f"Bearer {app.config['TOKEN'].current()}"}
        r = post_file(client, auth, b"\xff\xd8\xff" + b"\0" * (3 << 20))
        assert r.status_code == 413 and r.get_json()["error"]["code"] == "too_large"
    finally:
        app.extensions["fakelens"]["pool"].stop()


def test_a_small_image_limit_is_said_in_kilobytes(tmp_path, face_jpeg):
    from fakelens.api import create_app
    from fakelens.config import Settings

    app = create_app(Settings(home=tmp_path / "h", max_image_bytes=30000))
    try:
        client = app.test_client()
        auth = {"Authorization": f"Bearer {app.config['TOKEN'].current()}"}
        r = post_file(client, auth, face_jpeg.read_bytes())
        assert r.status_code == 413 and r.get_json()["error"]["message"] == "images are limited to 29 KB"
    finally:
        app.extensions["fakelens"]["pool"].stop()


@pytest.mark.parametrize("body, status, code", [
    ({"url": "ftp://example.com/a.jpg"}, 400, "bad_url"),
    ({"url": "file:///etc/passwd"}, 400, "bad_url"),
    ({"url": "http://[::1/a.jpg"}, 400, "bad_url"),                 # urlsplit raises on it
    ({"url": "http://a..b/a.jpg"}, 400, "bad_url"),                 # the IDNA codec raises on these
    ({"url": "http://" + "x" * 70 + ".example/a.jpg"}, 400, "bad_url"),
    ({"url": "http://10.0.0.1/a.jpg"}, 403, "blocked_address"),
    ({"url": "http://169.254.169.254/latest/meta-data"}, 403, "blocked_address"),
    ({"url": "https://example.com/a.jpg", "kind": "sound"}, 400, "bad_request"),
    ({"nourl": 1}, 400, "bad_request"),
])
def test_bad_url_requests(client, auth, body, status, code):
    r = client.post(CHECKS, base_url=BASE_URL, headers=auth, json=body)
    assert r.status_code == status
    assert r.get_json()["error"]["code"] == code


def test_not_json_and_unknown_routes(client, auth):
    r = client.post(CHECKS, base_url=BASE_URL, headers=auth, data="{oops", content_type="application/json")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_request"
    r = client.get(f"{CHECKS}/nope", base_url=BASE_URL, headers=auth)
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    r = client.get("/api/v1/nothing-here", base_url=BASE_URL, headers=auth)
    assert r.status_code == 404 and "error" in r.get_json()
    r = client.get(f"{CHECKS}?limit=abc", base_url=BASE_URL, headers=auth)
    assert r.status_code == 400


def test_deeply_nested_json_is_a_bad_request(client, auth):
    deep = '{"url": ' + "[" * 1500 + "]" * 1500 + "}"   # 3 kB that exhaust Python's recursion limit
    for path in (CHECKS, f"{CHECKS}/batch"):
        r = client.post(path, base_url=BASE_URL, headers=auth, data=deep, content_type="application/json")
        assert r.status_code == 400, r.get_json()
        assert r.get_json()["error"] == {"code": "bad_request", "message": "the JSON is nested too deeply"}


def test_a_json_body_is_held_to_1_mb_and_each_413_names_its_limit(client, auth, face_jpeg):
    """JSON is parsed in memory: it is held to 1 MB, not to the upload limit a video needs (a 21 MB body
    of brackets took 500 MB). A 413 says which limit it met."""
    big = json.dumps({"url": "http://example.com/a.jpg", "pad": "x" * (1 << 20)})
    for path in (CHECKS, f"{CHECKS}/batch"):
        r = client.post(path, base_url=BASE_URL, headers=auth, data=big, content_type="application/json")
        assert r.status_code == 413 and r.get_json()["error"] == {"code": "too_large",
                                                                  "message": "a JSON request is at most 1 MB"}
    # sent without its length (chunked): stopped at 1 MB all the same
    r = client.post(CHECKS, base_url=BASE_URL, headers={**auth, "Transfer-Encoding": "chunked"},
                    input_stream=io.BytesIO(big.encode()), content_type="application/json",
                    environ_overrides={"wsgi.input_terminated": True})
    assert r.status_code == 413 and r.get_json()["error"]["message"] == "a JSON request is at most 1 MB", r.get_json()
    # a form field other than the file past Werkzeug's 500 kB is not "larger than the upload limit"
    r = post_file(client, auth, face_jpeg.read_bytes(), page_url="https://example.com/" + "a" * 600_000)
    assert r.status_code == 413, r.get_json()
    assert r.get_json()["error"]["message"].startswith("a form field other than the file is longer than 500 kB")


def test_batch_reports_each_item(client, auth):
    r = client.post(f"{CHECKS}/batch", base_url=BASE_URL, headers=auth, json={
        "items": [{"url": "http://10.1.2.3/x.jpg"}, {"url": "gopher://x"}, {"url": "http://[::1/x"}],
        "page_url": "https://example.com/"})
    assert r.status_code == 202
    checks = r.get_json()["checks"]
    assert [c["error"]["code"] for c in checks] == ["blocked_address", "bad_url", "bad_url"]
    r = client.post(f"{CHECKS}/batch", base_url=BASE_URL, headers=auth, json={"items": []})
    assert r.status_code == 400


def test_a_lone_surrogate_in_a_url_is_a_400_and_fails_only_its_batch_item(client, auth):
    """JSON can spell "\\ud800", which is no text SQLite (the cache) or a URL can carry: refused as a
    bad request, never a 500; in a batch only that item fails, and a page_url holding one is dropped."""
    body = '{"url": "http://127.0.0.1:9/a\\ud800.jpg", "kind": "image"}'
    r = client.post(CHECKS, base_url=BASE_URL, headers={**auth, "Content-Type": "application/json"}, data=body)
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["error"]["message"] == "'url' is not valid text (it holds a lone UTF-16 surrogate)"
    body = ('{"items": [{"url": "http://127.0.0.1:9/a\\ud800.jpg"}, {"url": "http://127.0.0.1:9/b.jpg"}],'
            ' "page_url": "https://example.com/\\udfff"}')
    r = client.post(f"{CHECKS}/batch", base_url=BASE_URL, headers={**auth, "Content-Type": "application/json"}, data=body)
    assert r.status_code == 202, r.get_json()
    bad, good = r.get_json()["checks"]
    assert bad["error"]["code"] == "bad_request" and good["id"] and good["input"]["page_url"] is None


def test_clear_history(client, auth, plain_jpeg):
    post_file(client, auth, plain_jpeg.read_bytes())
    r = client.delete(CHECKS, base_url=BASE_URL, headers=auth)
    assert r.status_code == 200 and r.get_json()["deleted"] >= 1
    assert client.get(CHECKS, base_url=BASE_URL, headers=auth).get_json()["checks"] == []
    again = post_file(client, auth, plain_jpeg.read_bytes())
    assert again.get_json()["cached"] is False   # the cache went with the history


def test_clear_leaves_nothing_checked_so_far(app, client, auth):
    """The history goes, thumbnails with it, and checks still waiting or running are cancelled and go
    too (a "running" one no worker is on, here, at once)."""
    store = app.extensions["fakelens"]["store"]
    thumbs = app.config["SETTINGS"].home / "thumbs"
    thumbs.mkdir(parents=True, exist_ok=True)
    old = thumbs / ("a" * 64 + ".jpg")
    old.write_bytes(b"old")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    stuck = store.create({"url": "https://example.com/v.mp4", "kind": "video"}, status="running")
    waiting = store.create({"url": "https://example.com/w.mp4", "kind": "video"})
    r = client.delete(CHECKS, base_url=BASE_URL, headers=auth)
    assert r.status_code == 200 and r.get_json()["deleted"] == 2   # each counted once
    assert store.get(stuck) is None and store.get(waiting) is None and not old.exists()
    assert client.get(CHECKS, base_url=BASE_URL, headers=auth).get_json()["checks"] == []


def test_a_cleared_long_history_gives_its_disk_space_back(app, client, auth):
    """SQLite keeps deleted rows' pages as free space: a history of 100,000 checks cleared kept its
    836 MB file. Once most of the file is free, clearing rebuilds it small."""
    store = app.extensions["fakelens"]["store"]
    result = {"summary": "x" * 8000, "media": {"sha256": "a" * 64}}
    for n in range(600):   # about 5 MB of history
        store.create({"url": f"https://example.com/{n}.jpg"}, status="done", result=result, media=result["media"])
    store.scrub()
    db = app.config["SETTINGS"].home / "fakelens.db"
    full = db.stat().st_size
    assert full > 4_000_000
    r = client.delete(CHECKS, base_url=BASE_URL, headers=auth)
    assert r.status_code == 200 and r.get_json()["deleted"] == 600
    assert db.stat().st_size < full / 10, (db.stat().st_size, full)
    assert client.get(CHECKS, base_url=BASE_URL, headers=auth).get_json()["checks"] == []


def test_models_route(client, auth):
    r = client.get("/api/v1/models", base_url=BASE_URL, headers=auth)
    assert r.status_code == 200
    assert any(m["task"] == "face_detect" for m in r.get_json()["models"])


def test_full_queue_answers_429_and_keeps_no_file(tmp_path, plain_jpeg):
    from fakelens.api import create_app
    from fakelens.config import Settings

    app = create_app(Settings(home=tmp_path / "h", max_queue=1, sync_wait_s=0), start_jobs=False)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {app.config['TOKEN'].current()}"}
    first = post_file(client, auth, plain_jpeg.read_bytes(), wait=0)
    assert first.status_code == 202 and first.get_json()["status"] == "queued"
    second = post_file(client, auth, plain_jpeg.read_bytes() + b"\0", wait=0)
    assert second.status_code == 429 and second.get_json()["error"]["code"] == "queue_full"
    assert len(list((tmp_path / "h" / "uploads").iterdir())) == 1   # only the queued check's file
    app.extensions["fakelens"]["store"].close()


def test_clear_history_says_when_a_reader_keeps_the_cleared_rows_in_the_log(app, client, auth, plain_jpeg):
    """Another program reading the database stops the checkpoint: SQLite says so in a result row, not an
    error, and "cleared" was answered while the rows stayed readable in fakelens.db-wal."""
    import sqlite3
    post_file(client, auth, plain_jpeg.read_bytes(), page_url="https://secret.example/page")
    db = app.config["SETTINGS"].home / "fakelens.db"
    reader = sqlite3.connect(db)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM checks").fetchall()   # a read transaction held open
    try:
        r = client.delete(CHECKS, base_url=BASE_URL, headers=auth)
    finally:
        reader.close()
    assert r.status_code == 200 and r.get_json()["deleted"] == 1
    assert "still readable in" in r.get_json()["warning"] and "fakelens.db-wal" in r.get_json()["warning"]
    r = client.delete(CHECKS, base_url=BASE_URL, headers=auth)   # the reader gone, clearing again empties it
    assert r.status_code == 200 and "warning" not in r.get_json()
    assert b"secret.example" not in (db.parent / "fakelens.db-wal").read_bytes()
