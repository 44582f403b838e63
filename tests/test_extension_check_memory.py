"""How many results a page's content script keeps, and how many checks it runs at once
(extension/content/check-media.js run in node, with a stand-in for the background page that counts
the checks asked for)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parents[1] / "extension"

HARNESS = """
let asked = 0;
globalThis.location = { href: "https://feed.example/" };
globalThis.FakeLens = {
  contentHandlers: {},   // (lib/namespace.js's)
  ask: async (type) => { asked += 1; return { status: "done", id: String(asked) }; },
  describeMedia: (el) => ({ kind: "image", url: el.url, key: el.url }),
  // a page where the checks may run (checks are dropped where FakeLens may not draw, and automatic
  // ones while automatic checks are off); the badges drawn are not looked at
  uiAllowed: () => true,
  settings: { autoCheck: true },
  badges: { show() {}, remove() {}, has: () => false },
};
"""

RUN = """
(async () => {
  const FL = globalThis.FakeLens;
  const element = (i) => ({ url: `https://cdn.example/img-${i}.jpg` });
  for (let i = 0; i < 800; i += 1) await FL.checkElement(element(i));
  const afterFeed = asked;
  await FL.checkElement(element(799));   // recent: answered from memory
  const recent = asked - afterFeed;
  await FL.checkElement(element(0));     // long scrolled past: asked again
  console.log(JSON.stringify({ afterFeed, recent, old: asked - afterFeed - recent }));
})();
"""


def run_with_check_media(scenario: str) -> dict:
    """check-media.js (and the lib it follows checks with) in node under the harness above, then
    `scenario`; what it printed, as JSON."""
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    script = (HARNESS + (EXTENSION / "lib" / "follow-check.js").read_text()
              + (EXTENSION / "content" / "check-media.js").read_text() + scenario)
    run = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_a_long_feed_keeps_only_recent_results():
    assert run_with_check_media(RUN) == {"afterFeed": 800, "recent": 0, "old": 1}


RUN_AT_ONCE = """
(async () => {
  const FL = globalThis.FakeLens;
  let running = 0, most = 0;
  const waiting = [];
  FL.ask = (type) => new Promise((resolve) => {   // each check is answered when the test says so
    running += 1;
    most = Math.max(most, running);
    waiting.push(() => { running -= 1; resolve({ status: "done", id: "x" }); });
  });
  const all = [];
  for (let i = 0; i < 10; i += 1) all.push(FL.checkElement({ url: `https://cdn.example/photo-${i}.jpg` }));
  let finished = false;
  Promise.all(all).then(() => { finished = true; });
  while (!finished) {
    await new Promise((r) => setTimeout(r, 5));
    const next = waiting.shift();
    if (next) next();
  }
  console.log(JSON.stringify({ most }));
})();
"""


def test_a_page_runs_at_most_three_checks_at_once():
    assert run_with_check_media(RUN_AT_ONCE) == {"most": 3}


RUN_BLOBS = """
(async () => {
  const FL = globalThis.FakeLens;
  const read = [];
  const blobs = {
    "blob:https://feed.example/video": { type: "video/mp4", length: 900000000 },
    "blob:https://feed.example/big": { type: "image/jpeg", length: 30 * 1024 * 1024 },
    "blob:https://feed.example/photo": { type: "image/png", length: 4 },
  };
  globalThis.fetch = async (url) => ({
    headers: new Map([["content-type", blobs[url].type], ["content-length", String(blobs[url].length)]]),
    blob: async () => { read.push(url); return { size: blobs[url].length, type: blobs[url].type }; },
  });
  globalThis.FileReader = class {
    readAsDataURL(blob) { this.result = `data:${blob.type};base64,AAAA`; this.onload(); }
  };
  const out = {};
  for (const url of Object.keys(blobs)) out[url.split("/").pop()] = await FL.readableUrl(url);
  console.log(JSON.stringify({ out, read }));
})();
"""


def test_a_blob_video_or_an_oversized_blob_image_is_never_read():
    """A page's blob: video (MediaSource, often endless) and a blob image over 20 MB stay URLs without
    their bytes being read; a small blob image goes as a data: URL."""
    got = run_with_check_media(RUN_BLOBS)
    assert got["out"]["video"] == "blob:https://feed.example/video"
    assert got["out"]["big"] == "blob:https://feed.example/big"
    assert got["out"]["photo"] == "data:image/png;base64,AAAA"
    assert got["read"] == ["blob:https://feed.example/photo"]


RUN_CANCELLED = """
(async () => {
  const FL = globalThis.FakeLens;
  const shown = [];
  FL.connectionTrouble = () => false;   // (lib/wording.js's: the backend answered)
  FL.badges.announce = () => {};
  FL.badges.show = (el, check) => { shown.push(check && check.status); return {}; };
  FL.ask = async () => {   // as namespace.js's ask throws the backend's 409 cancelled (cancelled as its POST waited)
    const err = new Error("the check was cancelled");
    err.code = "cancelled";
    throw err;
  };
  const check = await FL.checkElement({ url: "https://cdn.example/photo.jpg" });
  console.log(JSON.stringify({ status: check.status, shown }));
})();
"""


def test_a_check_the_backend_answers_cancelled_is_drawn_cancelled_not_failed():
    """A check cancelled while its POST waited is answered 409 cancelled: the badge read "Check failed:
    the check was cancelled" where a check cancelled a moment later reads "Check cancelled"."""
    assert run_with_check_media(RUN_CANCELLED) == {"status": "cancelled", "shown": [None, "cancelled"]}
