"""Content scripts run in node with small stand-ins for the page: what the feed watcher costs when a
page writes styles every frame, that <body>/<html> textures are no media, and that the settings a
page's content script holds carry no token. FAKELENS_EXTENSION_DIR points at another copy."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

EXTENSION = Path(os.environ.get("FAKELENS_EXTENSION_DIR", Path(__file__).resolve().parents[1] / "extension"))


def run_scripts(prelude: str, scripts: list[str], scenario: str):
    """`prelude`, the extension's `scripts` in order, then `scenario` (an async function body whose
    return value comes back as JSON)."""
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    source = prelude + "".join((EXTENSION / s).read_text() + "\n" for s in scripts)
    source += "(async () => {" + scenario + "})().then((out) => console.log(JSON.stringify(out)));"
    run = subprocess.run(["node", "-e", source], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


# A page as far as watch-feed.js looks at it: elements with children, inline style and a count of
# every element a subtree walk (querySelectorAll) hands out.
PAGE = """
let visits = 0;
const observed = [];
class El {
  constructor(tagName, parent) {
    Object.assign(this, { tagName, nodeType: 1, children: [], style: { backgroundImage: "" }, isConnected: true,
                          shadowRoot: null, parentElement: parent || null });
    if (parent) parent.children.push(this);
  }
  querySelectorAll() {
    const out = [];
    const walk = (el) => { for (const child of el.children) { out.push(child); walk(child); } };
    walk(this);
    visits += out.length;
    return out;
  }
  querySelector() { return null; }
  matches() { return true; }   // ":defined"
}
// what a stylesheet sets (`sheet`) or else the style attribute, as the computed style reads
globalThis.getComputedStyle = (el) => ({ backgroundImage: el.sheet || el.style.backgroundImage || "none" });
let onMutations = null;
globalThis.MutationObserver = class { constructor(callback) { onMutations = callback; } observe() {} };
const timers = [];
globalThis.setTimeout = (fn) => { timers.push(fn); return timers.length; };
const runTimers = () => { while (timers.length) timers.shift()(); };
const html = new El("HTML");
const body = new El("BODY", html);
const posts = [];
for (let i = 0; i < 1000; i += 1) { const post = new El("DIV", body); new El("IMG", post); posts.push(post); }
globalThis.document = { documentElement: html };
globalThis.FakeLens = {
  autoCheck: { observe: (el) => observed.push(el) },
  badges: { has: () => false, mediaUrl: () => null, remove() {} },
  describeMedia: () => null,
  isOwnHost: () => false,
  isSvgImage: () => false,
  SVG_NS: "http://www.w3.org/2000/svg",
};
"""


def test_style_writes_every_frame_cost_no_page_rescan():
    """A page writing a CSS variable on <html> every frame (60 writes a frame for a second) made the
    feed watcher walk the whole page for each write; now each costs no element visit, while a real
    new background, a new src and added posts are still handed to the automatic checks."""
    got = run_scripts(PAGE, ["content/watch-feed.js"], """
      const FL = globalThis.FakeLens;
      FL.startWatchingFeed();
      runTimers();
      const out = { start: { visits, observed: observed.length } };
      visits = 0; observed.length = 0;
      for (let frame = 0; frame < 60; frame += 1) {
        onMutations(Array.from({ length: 60 }, () => ({ type: "attributes", attributeName: "style", target: html })));
      }
      runTimers();
      out.styleWrites = { visits, observed: observed.length };

      visits = 0; observed.length = 0;
      const post = posts[5];
      post.style.backgroundImage = 'url("https://cdn.example/a.jpg")';      // a real new background, written 10 times
      onMutations(Array.from({ length: 10 }, () => ({ type: "attributes", attributeName: "style", target: post })));
      const img = posts[7].children[0];
      onMutations([{ type: "attributes", attributeName: "src", target: img }, { type: "attributes", attributeName: "src", target: img }]);
      onMutations([{ type: "attributes", attributeName: "style", target: posts[9] }]);   // a post with an image inside
      // a stylesheet rule gives an added post its background
      const styled = new El("DIV", body);
      styled.sheet = 'url("https://cdn.example/b.jpg")';
      onMutations([{ type: "childList", addedNodes: [styled] }]);
      const added = new El("DIV", body);
      new El("IMG", new El("DIV", added));
      onMutations([{ type: "childList", addedNodes: [added] }]);
      runTimers();
      out.changes = { visits, observed: observed.map((el) => el === post ? "post background" : el === img ? "new src"
                                                      : el === styled ? "stylesheet background"
                                                      : el.parentElement.parentElement === added ? "added image" : el.tagName) };
      return out;
    """)
    assert got["start"] == {"visits": 2001, "observed": 1000}
    assert got["styleWrites"] == {"visits": 0, "observed": 0}
    assert got["changes"]["visits"] <= 2   # the added post's own subtree, and nothing else
    assert sorted(got["changes"]["observed"]) == ["added image", "new src", "post background", "stylesheet background"]


FIND = """
globalThis.getComputedStyle = (el) => ({ backgroundImage: el.bg ? `url("${el.bg}")` : "none" });
const el = (tagName, bg) => ({ tagName, bg, nodeType: 1, baseURI: "https://site.example/", shadowRoot: null,
                               getBoundingClientRect: () => ({ width: 900, height: 900 }) });
const html = el("HTML", "https://site.example/paper.png");
const body = el("BODY", "https://site.example/texture.png");
const empty = el("DIV");
const hero = el("DIV", "https://site.example/hero.jpg");
const img = el("IMG");
globalThis.document = {
  querySelectorAll: (selector) => selector === "*" ? [html, body, empty, hero, img] : [img],
  elementsFromPoint: (x) => x < 100 ? [empty, body, html] : [hero, body, html],
};
globalThis.FakeLens = {};
"""


def test_a_page_texture_on_body_or_html_is_no_media():
    """<body> and <html> with a CSS background image: no hover pill over empty page areas, and not
    in a page scan; a <div> with a background image still is media."""
    got = run_scripts(FIND, ["content/find-media.js"], """
      const FL = globalThis.FakeLens;
      const name = (e) => e && (e.bg ? `${e.tagName} ${e.bg.split("/").pop()}` : e.tagName);
      return {
        kinds: [html, body, hero, img].map((e) => FL.mediaKind(e)),
        overEmptyArea: name(FL.mediaAtPoint(10, 10)),
        overHero: name(FL.mediaAtPoint(500, 10)),
        scan: FL.findAllMedia(128).map(name),
      };
    """)
    assert got == {"kinds": [None, None, "image", "image"], "overEmptyArea": None, "overHero": "DIV hero.jpg",
                   "scan": ["IMG", "DIV hero.jpg"]}


def test_content_scripts_never_ask_for_the_token():
    """Content scripts run in the web page's process and use autoCheck, minSize and disabledSites
    only: the settings they read and keep carry no pairing token."""
    got = run_scripts("""
      const asked = [];
      const store = { token: "secret-token", autoCheck: true, minSize: 200, disabledSites: ["example.org"] };
      globalThis.chrome = {
        runtime: { onMessage: { addListener() {} }, sendMessage: async () => ({}) },
        storage: { local: { get: async (keys) => {
                     asked.push(...keys);
                     return Object.fromEntries(keys.filter((k) => k in store).map((k) => [k, store[k]]));
                   } },
                   onChanged: { addListener() {} } },
      };
      globalThis.window = globalThis; globalThis.top = globalThis;   // the page itself, not a frame
      globalThis.FakeLens = { startWatchingFeed() {}, startHoverCheck() {}, refreshTabSite: async () => {},
                              sites: { known: () => false } };
    """, ["lib/namespace.js", "lib/settings.js", "content/start.js"], """
      await new Promise((r) => setTimeout(r, 20));
      return { settings: globalThis.FakeLens.settings, askedForToken: asked.includes("token") };
    """)
    assert got == {"settings": {"backendUrl": "http://127.0.0.1:8731", "autoCheck": True, "disabledSites": ["example.org"],
                                "minSize": 200},
                   "askedForToken": False}


def test_automatic_checks_resume_on_images_already_in_view():
    """The backend was down: automatic checks pause for a minute. An image that came into view
    meanwhile and stays there (an observer says nothing more about it) is checked when the pause
    ends, without the user scrolling it away and back."""
    prelude = """
let now = 0;
Date.now = () => now;
const timers = [];
globalThis.setTimeout = (fn, ms) => { timers.push({ fn, at: now + ms }); return timers.length; };
globalThis.clearTimeout = () => {};
const runDue = () => { for (const t of timers.splice(0)) { if (t.at <= now) t.fn(); else timers.push(t); } };
let observer = null;
globalThis.IntersectionObserver = class {
  constructor(callback) { this.callback = callback; this.watched = new Set(); observer = this; }
  // as a browser does: observing an element reports where it is now
  observe(el) { this.watched.add(el); this.callback([{ target: el, isIntersecting: el.inView }]); }
  unobserve(el) { this.watched.delete(el); }
};
const checked = [];
globalThis.FakeLens = {
  settings: { autoCheck: true, minSize: 100 }, uiAllowed: () => true, isBigEnough: () => true, isShown: () => true,
  mediaKind: () => "image", checkElement: (el) => checked.push(el.id),
};
"""
    got = run_scripts(prelude, ["content/auto-check.js"], """
      const FL = globalThis.FakeLens;
      FL.autoCheck.pause();   // a check just failed: the backend is not reachable
      const img = { id: "in-view", tagName: "IMG", complete: true, isConnected: true, inView: true };
      const away = { id: "scrolled-away", tagName: "IMG", complete: true, isConnected: true, inView: false };
      FL.autoCheck.observe(img);
      FL.autoCheck.observe(away);
      const during = checked.length;
      now = 30_000; runDue();
      const halfway = checked.length;
      now = 61_000; runDue();
      return { during, halfway, after: checked, stillWatched: observer.watched.has(away) };
    """)
    assert got == {"during": 0, "halfway": 0, "after": ["in-view"], "stillWatched": True}


def test_a_right_click_check_still_ends_when_the_background_stops_following_it():
    """The background follows a right-click check from its own memory: when Chrome stops its idle
    service worker (or an update restarts it) that poll ends, and the badge stayed at "running". The
    page follows a running check itself too, and draws its end, which is said once (the user asked for
    it; the background's word of the same end says nothing again)."""
    prelude = """
const shown = [];
const said = [];
const el = { isConnected: true, currentSrc: "https://cdn.example/a.jpg" };
globalThis.addEventListener = () => {};
globalThis.FakeLens = {
  contentHandlers: {}, uiAllowed: () => true, connectionTrouble: () => false,
  mediaKind: () => "image", findByUrl: () => el,
  describeMedia: () => ({ kind: "image", url: "https://cdn.example/a.jpg", permalink: null }),
  readableUrl: async (url) => url,
  badges: { show: (target, check) => { shown.push(check.status); return {}; },
            announce: (target, check) => said.push(check.status) },
  ask: async (type, { id }) => ({ id, status: "done" }),   // the backend, asked by the page itself
  randomId: () => Math.random().toString(16).slice(2),     // (lib/namespace.js's)
};
"""
    got = run_scripts(prelude, ["lib/follow-check.js", "content/context-target.js"], """
      const FL = globalThis.FakeLens;
      const { token } = await FL.contentHandlers["context-target"]({ srcUrl: "https://cdn.example/a.jpg" });
      FL.contentHandlers["context-result"]({ check: { id: "c1", status: "running" }, token });
      FL.contentHandlers["context-result"]({ check: { id: "c1", status: "running" }, token });   // one follow only
      await new Promise((resolve) => setTimeout(resolve, 1500));   // no more word from the background
      FL.contentHandlers["context-result"]({ check: { id: "c1", status: "done" }, token });   // until now
      return { shown, said };
    """)
    assert got == {"shown": ["running", "running", "done", "done"], "said": ["done"]}


def test_an_image_set_background_is_read_at_its_highest_resolution():
    """The first url() of a background was taken: of an image-set() that is its smallest picture. The
    values are what Chromium's computed style gives (measured)."""
    got = run_scripts("""
      globalThis.getComputedStyle = (el) => ({ backgroundImage: el.bg });
      globalThis.document = {};
      globalThis.FakeLens = {};
    """, ["content/find-media.js"], """
      const read = (bg) => globalThis.FakeLens.backgroundUrl({ bg, baseURI: "https://site.example/p/" });
      return [
        'image-set(url("a.jpg") 1dppx, url("b(1).jpg") 2dppx)',
        'image-set(url("a.jpg") 1dppx, url("b.jpg") 3dppx), url("c.jpg")',
        'image-set(url("a.jpg") 1dppx type("image/avif"), url("b.jpg") 1dppx type("image/jpeg"))',
        'url("c.jpg"), image-set(url("a.jpg") 1dppx, url("b.jpg") 2dppx)',
        'image-set(url("a, b.jpg") 192dpi, url("x.jpg") 1dppx)',
        'linear-gradient(rgba(0, 0, 0, 0.3), rgb(0, 0, 0)), image-set(url("s.jpg") 1dppx, url("big.jpg") 2dppx)',
        'linear-gradient(rgb(255, 0, 0), rgb(0, 0, 255)), url("under.jpg"), url("lower.jpg")',
        "linear-gradient(rgb(255, 0, 0), rgb(0, 0, 255))",
        "url(bare.jpg)",
        "none",
      ].map(read);
    """)
    assert got == ["https://site.example/p/b(1).jpg", "https://site.example/p/b.jpg", "https://site.example/p/a.jpg",
                   "https://site.example/p/c.jpg", "https://site.example/p/a,%20b.jpg",
                   "https://site.example/p/big.jpg", "https://site.example/p/under.jpg", None,
                   "https://site.example/p/bare.jpg", None]


def test_a_placeholder_is_only_a_picture_that_shows_nothing():
    """Any data: picture was taken for a lazy loader's placeholder, so a page could show an AI picture
    inline and have the clean one its data-src names checked. A placeholder is a picture under 16 px a
    side, loaded, or an SVG that draws nothing (WP Rocket's); a larger data: picture is what is shown."""
    got = run_scripts("globalThis.document = {};\nglobalThis.FakeLens = {};\n", ["content/find-media.js"], """
      const FL = globalThis.FakeLens;
      const img = (w, h, complete = true) => ({ complete, naturalWidth: w, naturalHeight: h });
      const svg = (text) => "data:image/svg+xml," + encodeURIComponent(text);
      const gif = "data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==";
      const rocket = "data:image/svg+xml,%3Csvg%20xmlns='http://www.w3.org/2000/svg'%20viewBox='0%200%20800%20600'%3E%3C/svg%3E";
      return [
        FL.isPlaceholder(img(1, 1), gif),
        FL.isPlaceholder(img(15, 10), "https://site.example/blank.gif"),
        FL.isPlaceholder(img(200, 150), rocket),
        FL.isPlaceholder(img(800, 600), "data:image/svg+xml;base64," + btoa('<svg xmlns="http://www.w3.org/2000/svg" width="800" height="600"/>')),
        FL.isPlaceholder(img(400, 400), "data:image/png;base64,iVBORw0KGgo"),   // an inline picture, shown
        FL.isPlaceholder(img(16, 16), "data:image/png;base64,iVBORw0KGgo"),
        FL.isPlaceholder(img(0, 0, false), gif),   // not loaded yet: not known to be one
        FL.isPlaceholder(img(800, 600), svg('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 6"><image href="data:image/png;base64,AAAA" width="8" height="6"/></svg>')),
        FL.isPlaceholder(img(800, 600), svg('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 6" style="background:url(data:image/png;base64,AAAA)"></svg>')),
      ];
    """)
    assert got == [True, True, True, True, False, False, False, False, False]


def test_the_background_layer_drawn_is_the_one_read():
    """The top layer was read though the page drew it at 0×0, at 1 px in a corner, outside its box or
    clipped to a box of no size, and showed the picture under it. The values are as Chromium's computed
    style gives them; the box is 300 px square."""
    got = run_scripts("""
      globalThis.getComputedStyle = (el) => el.computed;
      globalThis.document = {};
      globalThis.FakeLens = {};
    """, ["content/find-media.js"], """
      const read = (sizes, more = {}) => {
        const computed = { backgroundImage: 'url("top.jpg"), url("under.jpg")', backgroundSize: sizes,
                           backgroundRepeat: "no-repeat, no-repeat", backgroundPositionX: "0%, 50%",
                           backgroundPositionY: "0%, 50%", ...more };
        const url = globalThis.FakeLens.backgroundUrl({ computed, baseURI: "https://site.example/", offsetWidth: 300,
                                                        offsetHeight: 300, childElementCount: 0 });
        return url && url.split("/").pop();
      };
      return [
        read("0px 0px, cover"),
        read("1px 1px, cover"),
        read("300px 300px, cover", { backgroundPositionX: "-2000px, 50%" }),
        read("cover, cover", { backgroundClip: "content-box, border-box", paddingLeft: "150px", paddingRight: "150px" }),
        read("64px 64px, cover", { backgroundPositionX: "calc(100% - 10px), 50%" }),   // a logo on a photo
        read("100% 100%, cover"),
        read("cover, cover"),
        read("auto, cover"),   // at its own size: not known to cover the box
        read("auto, auto"),    // neither known: the top one
        read("64px 64px, 32px 32px"),
        read("10px 10px, cover", { backgroundRepeat: "repeat, no-repeat" }),   // repeated over the box
        read("0px 0px, 50% 0%"),   // nothing drawn
      ];
    """)
    assert got == ["under.jpg", "under.jpg", "under.jpg", "under.jpg", "under.jpg", "top.jpg", "top.jpg", "under.jpg",
                   "top.jpg", "top.jpg", "top.jpg", None]


def test_the_hover_pill_starts_even_when_the_feed_watchers_first_look_is_stopped():
    """Firefox stopped the feed watcher's first look at a large page as a slow script (twice, under
    load): start.js never went on to start the hover pill, so that tab had none. The pill starts first."""
    got = run_scripts("""
      globalThis.chrome = {
        runtime: { onMessage: { addListener() {} }, sendMessage: async () => ({}) },
        storage: { local: { get: async () => ({}) }, onChanged: { addListener() {} } },
      };
      globalThis.window = globalThis; globalThis.top = globalThis;
      const started = [];
      globalThis.FakeLens = { startWatchingFeed() { throw new Error("Script terminated by timeout"); },
                              startHoverCheck() { started.push("hover"); }, refreshTabSite: async () => {},
                              sites: { known: () => false } };
      globalThis.started = started;
      process.on("unhandledRejection", () => {});   // the stopped watcher's error, as the page would drop it
    """, ["lib/namespace.js", "lib/settings.js", "content/start.js"], """
      await new Promise((r) => setTimeout(r, 20));
      return globalThis.started;
    """)
    assert got == ["hover"]
