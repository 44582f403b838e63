"""What background.js fetches itself, what it hands to the backend as a URL, and who may ask it what
(extension/background.js run in node as the module it is, with stand-ins for the browser's
extension APIs, the web and the backend; FAKELENS_EXTENSION_DIR points at another copy)."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

EXTENSION = Path(os.environ.get("FAKELENS_EXTENSION_DIR", Path(__file__).resolve().parents[1] / "extension"))

# The browser: extension APIs, and a fetch that answers the backend on 127.0.0.1:8731 and, for any
# other URL, what `web[url]` says. Every fetch is written down in `calls`.
HARNESS = """
const calls = [];
const web = {};
let listener = null;
let tabRemoved = null; // background.js's tabs.onRemoved listener
let responseStarted = null; // background.js's webRequest.onResponseStarted listener, and its filter
let responseFilter = null;
let beforeRequest = null; // its webRequest.onBeforeRequest listener (each request's start, stamped)
let requestSeq = 0;
const beforeLateBy = {}; // url -> ms after the request started that the browser reports its start
const manualReports = new Set(); // urls whose address reports the scenario sends itself (report())
const withheld = new Set(); // origins ("https://host/*") the user withheld host access to: no webRequest
const permissionAsks = []; // what background.js asked permissions.contains
const ips = {}; // url -> the address its server is at (by default a public one)
const lateBy = {}; // url -> ms after the response that the browser reports that address
let healthExtra = {}; // more of the backend's health answer
const store = { backendUrl: "http://127.0.0.1:8731", token: "good-token" };
const noop = () => {};
const menuItems = []; // the context-menu items background.js registers
// storage.session, kept as JSON as the browser keeps it; a write that would take it over `sessionQuota`
// characters fails, as Chrome's over its 10 MB
const sessionStore = {};
let sessionQuota = Infinity;
const session = {
  set: async (items) => {
    const next = { ...sessionStore, ...JSON.parse(JSON.stringify(items)) };
    if (JSON.stringify(next).length > sessionQuota) throw new Error("Session storage quota bytes exceeded. Values were not stored.");
    Object.assign(sessionStore, next);
  },
  get: async (k) => (k === null ? { ...sessionStore } : Object.fromEntries([k].flat().filter((x) => x in sessionStore).map((x) => [x, sessionStore[x]]))),
  remove: async (k) => { for (const x of [k].flat()) delete sessionStore[x]; },
};
globalThis.chrome = {
  runtime: { id: "fakelensid", getURL: (p) => `chrome-extension://fakelensid/${p}`, lastError: null,
             onMessage: { addListener: (fn) => { listener = fn; } }, getPlatformInfo: async () => ({}),
             openOptionsPage: async () => {} },
  storage: { local: { get: async (keys) => Object.fromEntries([keys].flat().filter((k) => k in store).map((k) => [k, store[k]])),
                      remove: async (key) => { delete store[key]; } },
             session,
             onChanged: { addListener: noop } },
  alarms: { create: noop, onAlarm: { addListener: noop } },
  contextMenus: { removeAll: async () => {}, create: (item) => menuItems.push(item), onClicked: { addListener: noop } },
  action: { setBadgeText: async () => {}, setBadgeBackgroundColor: async () => {}, setTitle: async () => {} },
  tabs: { create: async () => {}, sendMessage: async () => {}, query: async () => [], onRemoved: { addListener: (fn) => { tabRemoved = fn; } } },
  // the address each of the service worker's requests connected to, as Chrome reports it
  webRequest: { onResponseStarted: { addListener: (fn, filter) => { responseStarted = fn; responseFilter = filter; } },
                onBeforeRequest: { addListener: (fn) => { beforeRequest = fn; } } },
  permissions: { contains: async (what) => { permissionAsks.push(what);
                                             return !(what.origins || []).some((o) => withheld.has(o)); } },
};
// IndexedDB as far as settings.js uses it (the token's store): requests answer on the next turn.
const secrets = new Map();
const later = (fn) => setTimeout(fn, 0);
globalThis.indexedDB = { open: () => {
  const open = {};
  const request = (work) => ({ result: work() });
  const db = { close: noop, transaction: () => {
    const tx = { objectStore: () => ({ get: (k) => request(() => secrets.get(k)),
                                       put: (v, k) => request(() => { secrets.set(k, v); }) }) };
    later(() => tx.oncomplete());
    return tx;
  } };
  later(() => { open.result = db; open.onsuccess(); });
  return open;
} };
const json = (data, status = 200) => new Response(JSON.stringify(data), { status, headers: { "content-type": "application/json" } });
function backendAnswer(url, init, call) {
  const path = url.slice("http://127.0.0.1:8731".length);
  if (path === "/api/v1/health") return json({ status: "ok", version: "test", models: [], ...healthExtra });
  if (call.auth !== "Bearer good-token") return json({ error: { code: "unauthorized", message: "no" } }, 401);
  if (init.body instanceof FormData) call.sent = { bytes: init.body.get("media").size, source_url: init.body.get("source_url"),
                                                   priority: init.body.get("priority") };
  else if (init.body) call.sent = JSON.parse(init.body);
  if (call.method === "DELETE") return json({ deleted: 3 });
  if (path === "/api/v1/checks/batch") return json({ checks: call.sent.items.map((_, i) => ({ id: `b${i}`, status: "queued" })) });
  return json({ id: "c1", status: "done" });
}
globalThis.fetch = async (input, init = {}) => {
  const url = typeof input === "string" ? input : input.url;
  const headers = new Headers(init.headers); // as a browser does: a header value HTTP cannot carry throws
  const call = { url, method: init.method || "GET", redirect: init.redirect || "follow", credentials: init.credentials,
                 cache: init.cache, auth: headers.get("authorization") };
  calls.push(call);
  if (url.startsWith("http://127.0.0.1:8731/api/")) return backendAnswer(url, init, call);
  // the browser's webRequest events of this request: its start, stamped now, and (report()) the address
  // it connected to, both with its requestId; none for a host the user withheld access to
  const request = { url: new URL(url).href, requestId: String(++requestSeq), timeStamp: Date.now() };
  const reported = !withheld.has(`${new URL(url).protocol}//${new URL(url).hostname}/*`);
  const own = { tabId: -1, frameId: -1, initiator: "chrome-extension://fakelensid", type: "xmlhttprequest" };
  request.report = (ip, ms = 0) => {
    if (reported) setTimeout(() => responseStarted?.({ ...own, url: request.url, requestId: request.requestId, ip }), ms);
  };
  if (reported) {
    const started = () => beforeRequest?.({ ...own, url: request.url, requestId: request.requestId, timeStamp: request.timeStamp });
    if (url in beforeLateBy) setTimeout(started, beforeLateBy[url]);
    else started();
  }
  if (!web[url]) throw new TypeError("Failed to fetch");
  const res = await web[url](init, request);
  if (res.ok && !manualReports.has(url)) request.report(url in ips ? ips[url] : "93.184.216.34", lateBy[url] || 0);
  return res;
};
const jpeg = (size = 1000) => () => new Response(new Uint8Array(size), { headers: { "content-type": "image/jpeg" } });
// What the backend was sent for `url`: {bytes} when uploaded, {url} when sent as a URL.
const sentFor = (url) => {
  for (const c of calls) {
    if (!c.sent) continue;
    if (c.sent.bytes !== undefined && c.sent.source_url === url) return { bytes: c.sent.bytes };
    if (c.sent.url === url) return { url };
    if ((c.sent.items || []).some((item) => item.url === url)) return { url };
  }
  return null;
};
const fetched = (url) => calls.filter((c) => c.url === url);
"""


def run_background(tmp_path: Path, scenario: str):
    """background.js (imported as a module) under the harness above, then `scenario`, an async
    function body whose return value comes back as JSON."""
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    shutil.copytree(EXTENSION, tmp_path / "extension")
    (tmp_path / "extension" / "package.json").write_text('{"type": "module"}')
    driver = tmp_path / "driver.mjs"
    driver.write_text(HARNESS + """
await import("./extension/background.js");
const FL = globalThis.FakeLens;
await new Promise((r) => setTimeout(r, 50)); // the first connection check
const out = await (async () => {""" + scenario + """})();
console.log(JSON.stringify(out));
""")
    run = subprocess.run(["node", str(driver)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


PRIVATE = ["http://127.0.0.1:8080/admin/camera.jpg", "http://127.1/a.jpg", "http://0x7f000001/a.jpg",
           "http://10.0.0.5/a.jpg", "http://172.20.0.1/a.jpg", "http://192.168.1.1/cam.jpg",
           "http://169.254.169.254/latest/a.jpg", "http://100.64.1.1/a.jpg", "http://0.0.0.0/a.jpg",
           "http://224.0.0.1/a.jpg", "http://255.255.255.255/a.jpg", "http://[::1]:8080/a.jpg",
           "http://[::ffff:127.0.0.1]/a.jpg", "http://[::ffff:192.168.0.1]/a.jpg", "http://[fd00::1]/a.jpg",
           "http://[fe80::1]/a.jpg", "http://[ff02::1]/a.jpg", "http://[fec0::1]/a.jpg", "http://[3fff::1]/a.jpg",
           "http://localhost:3000/a.jpg",
           "http://localhost./a.jpg", "http://admin.localhost/a.jpg", "http://router/a.jpg",
           "http://printer.local/a.jpg", "http://metadata.google.internal/a.jpg", "http://nas.lan/a.jpg",
           "http://cam.home.arpa/a.jpg"]
PUBLIC = ["https://cdn.example.com/a.jpg", "https://93.184.216.34/a.jpg", "http://[2606:4700::6810:84e5]/a.jpg",
          "http://[3fff:1000::1]/a.jpg",
          "https://pbs.twimg.com/media/x.jpg?name=large"]


def test_addresses_on_this_computer_or_network_are_never_fetched_by_the_extension(tmp_path):
    """A page naming http://127.0.0.1:PORT/admin/camera.jpg (or a router, or localhost) gets the URL
    sent to the backend, whose netguard refuses it; the extension never fetches it with the user's
    cookies. Public images are still read by the browser (without following redirects) and uploaded."""
    got = run_background(tmp_path, f"""
      const out = {{}};
      for (const url of {json.dumps(PRIVATE + PUBLIC)}) {{
        web[url] = jpeg();
        await FL.background.startCheck({{ kind: "image", url, pageUrl: "https://news.example/" }});
        out[url] = {{ fetched: fetched(url).map((c) => [c.redirect, c.credentials]), sent: sentFor(url) }};
      }}
      // a public URL that redirects (here: to a private one, which a followed fetch would read)
      web["https://cdn.example.com/moved.jpg"] = (init) => init.redirect === "manual"
        ? {{ ok: false, status: 0, type: "opaqueredirect", headers: new Headers(), body: null }} : jpeg()();
      await FL.background.startCheck({{ kind: "image", url: "https://cdn.example.com/moved.jpg" }});
      out.moved = sentFor("https://cdn.example.com/moved.jpg");
      // the page scan alike
      calls.length = 0;
      web["https://cdn.example.com/scan.jpg"] = jpeg();
      await FL.background.scan([{{ kind: "image", url: "http://192.168.1.1/scan.jpg" }},
                                {{ kind: "image", url: "https://cdn.example.com/scan.jpg" }}], "https://news.example/");
      out.scan = {{ fetchedPrivate: fetched("http://192.168.1.1/scan.jpg").length, sent: sentFor("http://192.168.1.1/scan.jpg"),
                   publicSent: sentFor("https://cdn.example.com/scan.jpg") }};
      return out;
    """)
    for url in PRIVATE:
        assert got[url] == {"fetched": [], "sent": {"url": url}}, url
    for url in PUBLIC:   # another site's images: without cookies (the next test)
        assert got[url] == {"fetched": [["manual", "omit"]], "sent": {"bytes": 1000}}, url
    assert got["moved"] == {"url": "https://cdn.example.com/moved.jpg"}
    assert got["scan"] == {"fetchedPrivate": 0, "sent": {"url": "http://192.168.1.1/scan.jpg"},
                           "publicSent": {"bytes": 1000}}


def test_bytes_from_a_public_name_that_leads_to_the_local_network_are_not_used(tmp_path):
    """A page names an image on a public name its DNS points at the user's router (or this computer):
    the page's own request there is stopped by the browser (Local Network Access), the extension's is
    not, and the page reads the verdict on the badge. The address the browser says it connected to
    decides: bytes from a private, link-local, reserved or loopback one are not uploaded (the request
    itself went out), and the URL goes to the backend, which resolves it and refuses it; nor are bytes
    whose address the browser never reported. A loopback address is read only where the backend's
    health says it fetches from there too (allow_loopback, for tests); a public one always."""
    got = run_background(tmp_path, """
      const out = {};
      const cases = {
        "https://router.example/cam.jpg": "192.168.1.1", "https://ten.example/a.jpg": "10.0.0.5",
        "https://meta.example/a.jpg": "169.254.169.254", "https://test.example/a.jpg": "192.0.2.2",
        "https://v6.example/a.jpg": "fe80::1", "https://ula.example/a.jpg": "fd00::2",
        "https://mapped.example/a.jpg": "::ffff:192.168.0.1", "https://nat64.example/a.jpg": "64:ff9b::a00:1",
        "https://loop.example/a.jpg": "127.0.0.1", "https://loop6.example/a.jpg": "::1",
        "https://unknown.example/a.jpg": null, "https://public.example/a.jpg": "93.184.216.34",
        "https://public6.example/a.jpg": "2606:4700::6810:84e5", "https://nat64public.example/a.jpg": "64:ff9b::5db8:d822",
        // 6to4 judged by the IPv4 address inside, and 192.0.0.0/24 but its two anycast addresses: as netguard
        "https://sixtofour.example/a.jpg": "2002:c0a8:101::1", "https://sixtofourpublic.example/a.jpg": "2002:808:808::1",
        "https://ietf.example/a.jpg": "192.0.0.8", "https://pcppublic.example/a.jpg": "192.0.0.9",
        "https://turnpublic.example/a.jpg": "192.0.0.10",
      };
      for (const [url, ip] of Object.entries(cases)) {
        web[url] = jpeg();
        ips[url] = ip;
        await FL.background.startCheck({ kind: "image", url, pageUrl: "https://evil.example/" });
        out[url] = { fetched: fetched(url).length, sent: sentFor(url) };
      }
      // the browser's report may come after the bytes are read: waited for
      web["https://late.example/a.jpg"] = jpeg();
      lateBy["https://late.example/a.jpg"] = 300;
      await FL.background.startCheck({ kind: "image", url: "https://late.example/a.jpg" });
      out.late = sentFor("https://late.example/a.jpg");
      web["https://lateprivate.example/a.jpg"] = jpeg();
      ips["https://lateprivate.example/a.jpg"] = "192.168.1.1";
      lateBy["https://lateprivate.example/a.jpg"] = 300;
      await FL.background.startCheck({ kind: "image", url: "https://lateprivate.example/a.jpg" });
      out.latePrivate = sentFor("https://lateprivate.example/a.jpg");
      // a page scan alike
      web["https://scan.example/lan.jpg"] = jpeg();
      ips["https://scan.example/lan.jpg"] = "192.168.1.20";
      web["https://scan.example/pub.jpg"] = jpeg();
      await FL.background.scan([{ kind: "image", url: "https://scan.example/lan.jpg" },
                                { kind: "image", url: "https://scan.example/pub.jpg" }], "https://evil.example/");
      out.scan = [sentFor("https://scan.example/lan.jpg"), sentFor("https://scan.example/pub.jpg")];
      // a backend that downloads from this computer (its tests) says so: loopback bytes are used then,
      // the local network's still never
      healthExtra = { fetch: { loopback: true } };
      await FL.background.checkConnection();
      calls.length = 0;
      for (const url of ["https://loop.example/a.jpg", "https://loop6.example/a.jpg", "https://router.example/cam.jpg"]) {
        await FL.background.startCheck({ kind: "image", url, pageUrl: "https://evil.example/" });
        out["allowed " + url] = sentFor(url);
      }
      // the listener hears only requests of no tab
      out.filter = responseFilter;
      return out;
    """)
    for url, answer in got.items():
        if url.startswith("https://") and "public" not in url:
            assert answer == {"fetched": 1, "sent": {"url": url}}, url
    for url in ("https://public.example/a.jpg", "https://public6.example/a.jpg", "https://nat64public.example/a.jpg",
                "https://sixtofourpublic.example/a.jpg", "https://pcppublic.example/a.jpg", "https://turnpublic.example/a.jpg"):
        assert got[url] == {"fetched": 1, "sent": {"bytes": 1000}}, url
    assert got["late"] == {"bytes": 1000}
    assert got["latePrivate"] == {"url": "https://lateprivate.example/a.jpg"}
    assert got["scan"] == [{"url": "https://scan.example/lan.jpg"}, {"bytes": 1000}]
    assert got["allowed https://loop.example/a.jpg"] == {"bytes": 1000}
    assert got["allowed https://loop6.example/a.jpg"] == {"bytes": 1000}
    assert got["allowed https://router.example/cam.jpg"] == {"url": "https://router.example/cam.jpg"}
    assert got["filter"]["tabId"] == -1


def test_only_the_background_s_own_request_tells_where_an_image_came_from(tmp_path):
    """The browser reports every extension page's requests (the popup's thumbnails too) and, in
    Chrome, a request's frame: only the service worker's own (no tab, no frame) counts; the report of
    another request for the same address says nothing of where this one went."""
    got = run_background(tmp_path, """
      const url = "https://router.example/cam.jpg";
      web[url] = async () => {
        // the popup's thumbnail of the same address, from a public server, started and reported as it is read
        const popup = { url, tabId: -1, frameId: 0, documentId: "popup", initiator: "chrome-extension://fakelensid",
                        type: "xmlhttprequest", requestId: "popup-1" };
        beforeRequest?.({ ...popup, timeStamp: Date.now() });
        responseStarted?.({ ...popup, ip: "93.184.216.34" });
        // and a tab's request for it
        const tab = { url, tabId: 4, frameId: 0, initiator: "https://evil.example", type: "xmlhttprequest", requestId: "tab-1" };
        beforeRequest?.({ ...tab, timeStamp: Date.now() });
        responseStarted?.({ ...tab, ip: "93.184.216.34" });
        return jpeg()();
      };
      ips[url] = "192.168.1.1";
      lateBy[url] = 200;
      await FL.background.startCheck({ kind: "image", url, pageUrl: "https://evil.example/" });
      return sentFor(url);
    """)
    assert got == {"url": "https://router.example/cam.jpg"}


def test_a_late_report_of_an_earlier_fetch_of_the_same_image_is_not_taken_for_the_next(tmp_path):
    """The extension fetches one address at a time and waits for the browser's report of where each
    fetch connected. A fetch that ends at once (a 404, not an image) or after the 1 s wait leaves its
    request's report to come later: it was taken for the next fetch of that address, whose own report
    (192.168.1.1: a name that answers both a public address and the user's router) came after its bytes
    were read, and the router's bytes were uploaded. Each report is now its own request's (requestId),
    and a request that started before the fetch's turn is never its."""
    got = run_background(tmp_path, """
      const out = {};
      // (a) the same picture asked for twice at once (two frames of different hosts, or hover + scan):
      // the first fetch gets a 404 from the public server, reported 5 ms later; the second connects to
      // the router, reported 30 ms after its bytes
      const race = async (url, startedLate) => {
        manualReports.add(url);
        // even its start reported once the next fetch's turn began (its report after that)
        if (startedLate) beforeLateBy[url] = 10;
        let n = 0;
        web[url] = async (init, request) => {
          n += 1;
          if (n === 1) {
            request.report("93.184.216.34", startedLate ? 20 : 5);
            return new Response("nope", { status: 404, headers: { "content-type": "text/html" } });
          }
          request.report("192.168.1.1", 30);
          return jpeg()();
        };
        calls.length = 0;
        await Promise.all(["https://a.evil.example/", "https://b.evil.example/"].map((pageUrl) =>
          FL.background.startCheck({ kind: "image", url, pageUrl }).catch(() => {})));
        return { fetches: n, uploads: calls.filter((c) => c.sent && c.sent.bytes !== undefined).length,
                 asUrl: calls.filter((c) => c.sent && c.sent.url === url).length };
      };
      out.after404 = await race("https://rebind.example/cam.jpg", false);
      out.after404StartedLate = await race("https://rebind2.example/cam.jpg", true);
      // (b) the first fetch's report comes 1.1 s late (past the 1 s wait: its bytes go as a URL), in the
      // second fetch's turn; the second's own (the router) comes 1.5 s late
      const url = "https://slow.example/cam.jpg";
      manualReports.add(url);
      let n = 0;
      web[url] = async (init, request) => {
        n += 1;
        request.report(n === 1 ? "93.184.216.34" : "192.168.1.1", n === 1 ? 1100 : 1500);
        return jpeg()();
      };
      calls.length = 0;
      await FL.background.startCheck({ kind: "image", url, pageUrl: "https://evil.example/" }).catch(() => {});
      out.firstSent = sentFor(url);
      calls.length = 0;
      await FL.background.startCheck({ kind: "image", url, pageUrl: "https://evil2.example/" }).catch(() => {});
      out.secondSent = sentFor(url);
      // (c) and a fetch's own report, come at once or late, still counts
      web["https://fine.example/a.jpg"] = jpeg();
      lateBy["https://fine.example/a.jpg"] = 200;
      await FL.background.startCheck({ kind: "image", url: "https://fine.example/a.jpg" });
      await FL.background.startCheck({ kind: "image", url: "https://fine.example/a.jpg", pageUrl: "https://other.example/" });
      out.fine = calls.filter((c) => c.sent && c.sent.source_url === "https://fine.example/a.jpg").map((c) => c.sent.bytes);
      return out;
    """)
    for case in ("after404", "after404StartedLate"):
        assert got[case] == {"fetches": 2, "uploads": 0, "asUrl": 2}, case
    assert got["firstSent"] == {"url": "https://slow.example/cam.jpg"}
    assert got["secondSent"] == {"url": "https://slow.example/cam.jpg"}
    assert got["fine"] == [1000, 1000]


def test_a_clock_set_back_during_a_fetch_or_another_backend_lets_no_private_bytes_through(tmp_path):
    """(A review of the fix above.) The wall clock stepped back 50 ms while a fetch was under way (an NTP
    step, a laptop waking): that turn's end was written before its own request's stamp, the next fetch of
    the address took its late report (a public address) and the router's bytes were uploaded. And after
    switching from a backend that allows loopback (tests) to one that answers its health "wrong host", the
    first backend's "loopback allowed" stood for the second: loopback bytes were uploaded to it."""
    got = run_background(tmp_path, """
      const out = {};
      const realNow = Date.now;
      let offset = 0;
      Date.now = () => realNow() + offset;
      const url = "http://rebind.example/cam.jpg";
      manualReports.add(url);
      beforeLateBy[url] = 10;
      let n = 0;
      web[url] = async (init, request) => {
        n += 1;
        if (n === 1) {
          offset = -50;   // set back once the first request was stamped
          request.report("93.184.216.34", 30);
          return new Response("nope", { status: 404, headers: { "content-type": "text/html" } });
        }
        delete beforeLateBy[url];
        request.report("192.168.1.1", 200);
        return jpeg()();
      };
      calls.length = 0;
      await Promise.all(["https://a.evil.example/", "https://b.evil.example/"].map((pageUrl) =>
        FL.background.startCheck({ kind: "image", url, pageUrl }).catch(() => {})));
      out.clock = { fetches: n, uploads: calls.filter((c) => c.sent && c.sent.bytes !== undefined).length };
      Date.now = realNow;
      // backend A allows loopback; B, now in the options, refuses the host name it is reached by
      healthExtra = { fetch: { loopback: true } };
      await FL.background.checkConnection();
      const B = "http://127.0.0.1:9999";
      store.backendUrl = B;
      const posted = [];
      web[B + "/api/v1/health"] = async () => json({ error: { code: "forbidden_host", message: "x" } }, 403);
      web[B + "/api/v1/checks?wait=2"] = async (init) => {
        posted.push(init.body instanceof FormData ? "bytes" : "url");
        return json({ id: "c9", status: "done" });
      };
      web[B + "/api/v1/checks?wait=20"] = web[B + "/api/v1/checks?wait=2"];
      const loop = "https://loop.example/a.jpg";
      web[loop] = jpeg();
      ips[loop] = "127.0.0.1";
      await FL.background.startCheck({ kind: "image", url: loop, pageUrl: "https://evil.example/" }).catch(() => {});
      out.otherBackend = posted;
      return out;
    """)
    assert got["clock"] == {"fetches": 2, "uploads": 0}, got
    assert got["otherBackend"] == ["url"], got


def test_an_image_on_a_host_the_extension_may_not_read_goes_as_a_url_at_once(tmp_path):
    """With host access withheld (Chrome's site access "on click" or "on specific sites", an origin
    revoked in Firefox) the browser reports none of the extension's requests there, while a CDN that
    allows every origin still answers its fetch: every image waited 1 s for a report and went as a URL
    (16 images: 4 s instead of 34 ms). Such an image is no longer fetched: its URL goes to the backend
    at once. A host allowed is read as before; the question asked has no port (Firefox refuses one)."""
    got = run_background(tmp_path, """
      withheld.add("https://cdn.example/*");
      const items = [];
      for (let i = 0; i < 16; i++) { const u = `https://cdn.example/${i}.jpg`; web[u] = jpeg(); items.push({ kind: "image", url: u }); }
      web["https://allowed.example:8443/a.jpg"] = jpeg();
      items.push({ kind: "image", url: "https://allowed.example:8443/a.jpg" });
      const t0 = Date.now();
      await FL.background.scan(items, "https://cdn.example/page");
      const ms = Date.now() - t0;
      const scanSent = sentFor("https://cdn.example/5.jpg"), allowed = sentFor("https://allowed.example:8443/a.jpg");
      calls.length = 0;
      await FL.background.startCheck({ kind: "image", url: "https://cdn.example/0.jpg", pageUrl: "https://news.example/" });
      return { ms, fetched: fetched("https://cdn.example/0.jpg").length, sent: sentFor("https://cdn.example/0.jpg"),
               scanSent, allowed, asked: permissionAsks.map((p) => p.origins).flat() };
    """)
    assert got["fetched"] == 0
    assert got["sent"] == {"url": "https://cdn.example/0.jpg"}
    assert got["scanSent"] == {"url": "https://cdn.example/5.jpg"}
    assert got["allowed"] == {"bytes": 1000}
    assert got["ms"] < 800, got["ms"]
    assert "https://allowed.example/*" in got["asked"]


def test_cookies_go_only_with_images_of_the_pages_own_site(tmp_path):
    """The extension's fetch carries the user's cookies (even SameSite ones a page's own request
    could not send), and the page can read the badge: so an image of another site than the tab's page
    is fetched without cookies (a frame's own images too: the browser may withhold that site's
    cookies as third-party ones), and the page is what the browser names, not what a content
    script's message says. An image of the page's own site (its host, a subdomain, "www." aside)
    keeps its cookies."""
    got = run_background(tmp_path, """
      const ask = (message, sender) => new Promise((resolve) => listener(message, sender, resolve));
      const frame = (url, tab = url) => ({ id: "fakelensid", url, tab: { id: 5, url: tab }, frameId: tab === url ? 0 : 3 });
      const urls = {
        own: ["https://www.news.example/story", "https://news.example/img/a.jpg"],
        cdn: ["https://news.example/story", "https://img.news.example/b.jpg"],
        // a parent domain is another site where a public suffix hides (x.github.io, github.io)
        parent: ["https://m.news.example/story", "https://news.example/c.jpg"],
        other: ["https://news.example/story", "https://bank.example/statement.png"],
        lookalike: ["https://news.example/story", "https://evilnews.example/d.jpg"],
        // a compromised page claims to be the bank: the browser's word counts
        claimed: ["https://evil.example/post", "https://bank.example/e.png", "https://bank.example/"],
        // an ad network's frame in a news page: its own image, but a third party's cookies in this tab
        adFrame: ["https://ads.example/frame", "https://ads.example/f.jpg", null, "https://news.example/story"],
        // the news site's own frame
        ownFrame: ["https://news.example/embed", "https://news.example/g.jpg", null, "https://news.example/story"],
        // an ad frame in the bank's page names the bank's image: the frame's site is not the bank's
        adFrameBankImage: ["https://ads.example/frame", "https://bank.example/balance.png", null, "https://bank.example/"],
      };
      const out = {};
      for (const [name, [page, url, claim, tab]] of Object.entries(urls)) {
        web[url] = jpeg();
        await ask({ type: "check", media: { kind: "image", url, pageUrl: claim || page } }, frame(page, tab || page));
        out[name] = fetched(url).map((c) => c.credentials);
      }
      // the popup's page scan: the page it names (the extension's own page asks)
      web["https://news.example/scan.jpg"] = jpeg();
      web["https://other.example/scan.jpg"] = jpeg();
      await FL.background.scan([{ kind: "image", url: "https://news.example/scan.jpg" },
                                { kind: "image", url: "https://other.example/scan.jpg" }], "https://news.example/");
      out.scan = [fetched("https://news.example/scan.jpg")[0].credentials, fetched("https://other.example/scan.jpg")[0].credentials];
      // and none is kept in the browser's cache, with cookies or without: a copy of every picture
      // checked without them stayed there after "Clear FakeLens history"
      out.caches = [...new Set(calls.filter((c) => !c.url.includes("127.0.0.1:8731")).map((c) => c.cache))];
      return out;
    """)
    assert got == {"own": ["include"], "cdn": ["include"], "parent": ["omit"], "other": ["omit"],
                   "lookalike": ["omit"], "claimed": ["omit"], "adFrame": ["omit"], "ownFrame": ["include"],
                   "adFrameBankImage": ["omit"], "scan": ["include", "omit"], "caches": ["no-store"]}


def test_an_image_past_the_cap_is_not_read_in_full(tmp_path):
    """50 MB at most: a Content-Length above it is not read at all, a body without one stops (and
    the download is aborted) past it; either goes to the backend as a URL. An image under the cap is
    uploaded whole."""
    mb = 1 << 20
    got = run_background(tmp_path, f"""
      // a body served 1 MB at a time, as the reader asks for it: how much was read, whether it was aborted
      const served = {{}};
      const stream = (url, total, headers) => (init) => {{
        const stats = served[url] = {{ read: 0, aborted: false }};
        init.signal?.addEventListener("abort", () => {{ stats.aborted = true; }});
        const body = new ReadableStream({{ pull(ctrl) {{
          if (stats.aborted) return ctrl.error(new DOMException("aborted", "AbortError"));
          if (stats.read >= total) return ctrl.close();
          stats.read += {mb};
          ctrl.enqueue(new Uint8Array({mb}));
        }} }}, {{ highWaterMark: 0 }});
        return new Response(body, {{ headers: {{ "content-type": "image/jpeg", ...headers }} }});
      }};
      const cases = {{
        "https://cdn.example.com/declared.jpg": [120 * {mb}, {{ "content-length": String(120 * {mb}) }}],
        "https://cdn.example.com/endless.jpg": [120 * {mb}, {{}}],
        "https://cdn.example.com/big.jpg": [5 * {mb}, {{}}],
      }};
      const out = {{}};
      for (const [url, [total, headers]] of Object.entries(cases)) {{
        web[url] = stream(url, total, headers);
        await FL.background.startCheck({{ kind: "image", url }});
        out[url] = {{ ...served[url], sent: sentFor(url) }};
      }}
      return out;
    """)
    declared = got["https://cdn.example.com/declared.jpg"]
    assert declared["read"] <= 1 * mb and declared["sent"] == {"url": "https://cdn.example.com/declared.jpg"}, declared
    endless = got["https://cdn.example.com/endless.jpg"]
    assert 50 * mb < endless["read"] <= 51 * mb and endless["aborted"], endless
    assert endless["sent"] == {"url": "https://cdn.example.com/endless.jpg"}
    assert got["https://cdn.example.com/big.jpg"]["sent"] == {"bytes": 5 * mb}


def test_a_token_no_header_can_carry_is_a_bad_token_not_a_dead_backend(tmp_path):
    """A token saved with an invisible character (U+200B pasted from a chat) made a healthy backend
    show "not reachable": the header is now built before the network call, and the state says the token."""
    got = run_background(tmp_path, """
      secrets.set("token", "\\u200bgood-token");   // the token's store (storage.local's is taken only into an empty one)
      const bad = (await FL.background.checkConnection()).state;
      let error = null;
      try { await FL.background.startCheck({ kind: "auto", url: "https://video.example/watch" }); }
      catch (err) { error = err.code; }
      secrets.set("token", "good-token");
      return { bad, error, good: (await FL.background.checkConnection()).state };
    """)
    assert got == {"bad": "unauthorized", "error": "unauthorized", "good": "ok"}


def test_a_browser_that_refuses_the_token_store_reads_as_not_paired(tmp_path):
    """The token lives in the extension's IndexedDB: where the browser refuses it, the backend is
    still told apart from the token ("not paired", whose fix says to paste the token), nothing throws."""
    got = run_background(tmp_path, """
      const working = globalThis.indexedDB.open;
      globalThis.indexedDB.open = () => {
        const open = { error: new DOMException("refused", "UnknownError") };
        later(() => open.onerror());
        return open;
      };
      const refused = (await FL.background.checkConnection()).state;
      let saved = "saved";
      try { await FL.saveSettings({ token: "good-token" }); } catch (err) { saved = err.name; }
      globalThis.indexedDB.open = working;
      return { refused, saved, back: (await FL.background.checkConnection()).state };
    """)
    assert got == {"refused": "unpaired", "saved": "UnknownError", "back": "ok"}


def test_web_pages_can_only_check_media(tmp_path):
    """A content script (a tab's page) may check media and follow the check; clearing the history,
    reading reports and scanning are for the extension's own pages, even when one is open in a tab.
    A type that is only a name on Object.prototype is unknown, not a crash."""
    got = run_background(tmp_path, """
      const ask = (message, sender) => new Promise((resolve) => {
        let answered = false;
        const reply = (answer) => { answered = true; resolve(answer); };
        try {
          if (listener(message, sender, reply) === false && !answered) resolve("no answer");
        } catch (err) {
          resolve(`threw: ${err.message}`);
        }
      });
      const page = { id: "fakelensid", url: "https://evil.example/post", origin: "https://evil.example", tab: { id: 5 }, frameId: 0 };
      const options = { id: "fakelensid", url: "chrome-extension://fakelensid/options/options.html", tab: { id: 7 } };
      const popup = { id: "fakelensid", url: "chrome-extension://fakelensid/popup/popup.html" };
      web["https://cdn.example.com/a.jpg"] = jpeg();
      const out = {};
      calls.length = 0;
      for (const type of ["clear-history", "report", "scan", "connection"]) {
        const answer = await ask({ type, id: "c1", items: [{ kind: "image", url: "https://cdn.example.com/a.jpg" }] }, page);
        out[`page ${type}`] = answer && answer.error ? answer.error.code : answer;
      }
      out["page backend calls"] = calls.filter((c) => c.url.includes("/api/v1/") && !c.url.endsWith("/health")).length;
      out["page check"] = (await ask({ type: "check", media: { kind: "image", url: "https://cdn.example.com/a.jpg" } }, page)).status;
      out["page check-status"] = (await ask({ type: "check-status", id: "c1" }, page)).status;
      out["options clear-history"] = await ask({ type: "clear-history" }, options);
      out["popup scan"] = (await ask({ type: "scan", items: [{ kind: "video", url: "https://v.example/1" }] }, popup)).checks.length;
      for (const type of ["constructor", "toString", "__proto__", "hasOwnProperty"]) out[`type ${type}`] = await ask({ type }, popup);
      return out;
    """)
    assert got == {
        "page clear-history": "forbidden", "page report": "forbidden", "page scan": "forbidden",
        "page connection": "forbidden", "page backend calls": 0,
        "page check": "done", "page check-status": "done",
        "options clear-history": {"deleted": 3}, "popup scan": 1,
        "type constructor": "no answer", "type toString": "no answer", "type __proto__": "no answer",
        "type hasOwnProperty": "no answer",
    }


def test_check_here_is_offered_over_links_and_selected_text(tmp_path):
    """"Check the image or video here" was registered for the "page" and "frame" contexts only, which the
    browser leaves out over a link or selected text: it was missing on Instagram's grid (each photo under
    a link) and on news cards with a stretched link, where the overlay hides the photo."""
    got = run_background(tmp_path, """
      return Object.fromEntries(menuItems.map((item) => [item.id, item.contexts]));
    """)
    assert got["fakelens-check-here"] == ["page", "frame", "link", "selection"]
    assert got["fakelens-check-image"] == ["image"] and got["fakelens-check-link"] == ["link"]


def test_a_page_scan_holds_at_most_four_images_at_a_time(tmp_path):
    """A gallery of 12 images: each is read, uploaded and let go before more than four are held."""
    got = run_background(tmp_path, """
      let held = 0, most = 0;
      const realFetch = globalThis.fetch;
      globalThis.fetch = async (input, init = {}) => {
        const url = typeof input === "string" ? input : input.url;
        if (url.startsWith("https://gallery.example/")) {   // its bytes are held from here...
          held += 1;
          most = Math.max(most, held);
          await new Promise((r) => setTimeout(r, 5));
        }
        const answer = await realFetch(input, init);
        if (init.body instanceof FormData) held -= 1;         // ...until they are uploaded
        return answer;
      };
      const items = [];
      for (let i = 0; i < 12; i += 1) {
        const url = `https://gallery.example/${i}.jpg`;
        web[url] = jpeg();
        items.push({ kind: "image", url });
      }
      const checks = await FL.background.scan(items, "https://gallery.example/");
      return { most, uploaded: items.filter((it) => (sentFor(it.url) || {}).bytes).length, checks: checks.length };
    """)
    assert got == {"most": 4, "uploaded": 12, "checks": 12}


def test_a_tab_scanned_again_or_closed_sends_no_more_of_its_old_scan(tmp_path):
    """A new scan of a tab (its page changed) waited behind the old scan's uploads, and a closed tab's
    scan went on reading and uploading every picture, for nobody."""
    got = run_background(tmp_path, """
      const popup = { id: "fakelensid", url: "chrome-extension://fakelensid/popup/popup.html" };
      const ask = (message) => new Promise((resolve) => listener(message, popup, resolve));
      const realFetch = globalThis.fetch;
      globalThis.fetch = async (input, init = {}) => {   // each picture takes a while to come
        const url = typeof input === "string" ? input : input.url;
        if (url.includes(".example/")) await new Promise((r) => setTimeout(r, 20));
        return realFetch(input, init);
      };
      const gallery = (site, n) => Array.from({ length: n }, (_, k) => {
        const url = `https://${site}.example/${k}.jpg`;
        web[url] = jpeg();
        return { kind: "image", url };
      });
      const uploaded = (site) => calls.filter((c) => c.sent && String(c.sent.source_url).startsWith(`https://${site}.example/`)).length;
      const old = ask({ type: "scan", tabId: 5, scanId: "s1", pageUrl: "https://old.example/", items: gallery("old", 40) });
      await new Promise((r) => setTimeout(r, 60));
      const again = await ask({ type: "scan", tabId: 5, scanId: "s2", pageUrl: "https://new.example/", items: gallery("new", 3) });
      const oldAnswer = await old;
      const closing = ask({ type: "scan", tabId: 6, scanId: "s3", pageUrl: "https://gone.example/", items: gallery("gone", 40) });
      await new Promise((r) => setTimeout(r, 60));
      tabRemoved(6);
      const closed = await closing;
      const said = (answer) => answer.error ? answer.error.code
        : [...new Set(answer.checks.filter((c) => !c.id).map((c) => c.error.code))];
      return { old: uploaded("old"), newMade: again.checks.filter((c) => c.id).length, gone: uploaded("gone"),
               oldAnswer: said(oldAnswer), closedAnswer: said(closed) };
    """)
    assert got["newMade"] == 3, got
    assert got["old"] <= 12 and got["gone"] <= 12, got   # those under way when it was replaced or closed
    assert got["oldAnswer"] == ["cancelled"] and got["closedAnswer"] == ["cancelled"], got


@pytest.mark.parametrize("page_answers", [
    'async () => "other-scan"',   # the page reloaded: its document knows no such scan
    'async () => { throw new Error("Could not establish connection. Receiving end does not exist."); }',
])   # ^ the tab went to a page without FakeLens's content script (a browser page, a PDF, the Web Store)
def test_a_scan_whose_page_changed_tells_the_popup_it_ended(tmp_path, page_answers):
    """The page reloaded mid-scan: its next verdict, sent to the new page, was answered "other-scan" and
    the scan stopped being followed, but the popup was never told: its rows said "Waiting to be
    checked…" and its Scan button stayed busy for ever. The popup is told the scan ended, and why; also
    when the tab went to a page that cannot answer at all (the scan was followed on, for no page)."""
    got = run_background(tmp_path, """
      const popup = { id: "fakelensid", url: "chrome-extension://fakelensid/popup/popup.html" };
      const ask = (message) => new Promise((resolve) => listener(message, popup, resolve));
      const told = [];
      chrome.runtime.sendMessage = async (message) => { told.push(message); };
      chrome.tabs.sendMessage = PAGE_ANSWERS;
      const realFetch = globalThis.fetch;
      let polls = 0;
      globalThis.fetch = async (input, init = {}) => {   // the first video is done, the others still running
        const url = typeof input === "string" ? input : input.url;
        const asked = url.match(/[/]api[/]v1[/]checks[/](b[0-9]+)$/);
        if (!asked) return realFetch(input, init);
        polls += 1;
        return new Response(JSON.stringify({ id: asked[1], status: asked[1] === "b0" ? "done" : "running" }),
                            { headers: { "content-type": "application/json" } });
      };
      const items = [0, 1, 2].map((n) => ({ kind: "video", url: `https://site.example/watch/${n}` }));
      await ask({ type: "scan", tabId: 7, scanId: "s1", pageUrl: "https://site.example/", items });
      await new Promise((r) => setTimeout(r, 3000));
      const pollsThen = polls;
      await new Promise((r) => setTimeout(r, 2500));
      return { ended: told.filter((m) => m.type === "scan-ended"), followed: FL.background.scanFollowed(7),
               pollsAfter: polls - pollsThen,
               done: told.filter((m) => m.type === "scan-update" && m.check && m.check.status === "done").map((m) => m.index) };
    """.replace("PAGE_ANSWERS", page_answers))
    assert got["ended"] == [{"type": "scan-ended", "tabId": 7, "scanId": "s1", "why": "page_changed"}], got
    assert got["done"] == [0] and not got["followed"] and got["pollsAfter"] == 0, got


def test_a_popup_asking_for_an_older_scan_leaves_the_running_one(tmp_path):
    """(A review of the kept scans.) A popup's "scan-state" naming an older scan id (read from the page
    just before the user pressed Scan) ended the scan now running: its rows "not followed", no badges."""
    got = run_background(tmp_path, """
      const popup = { id: "fakelensid", url: "chrome-extension://fakelensid/popup/popup.html" };
      const ask = (message) => new Promise((resolve) => listener(message, popup, resolve));
      const told = [];
      chrome.runtime.sendMessage = async (message) => { told.push(message); };
      chrome.tabs.sendMessage = async () => "s2";   // the page names the new scan
      const items = [0, 1].map((n) => ({ kind: "video", url: `https://site.example/watch/${n}` }));
      await ask({ type: "scan", tabId: 8, scanId: "s2", pageUrl: "https://site.example/", items });
      const stale = await ask({ type: "scan-state", tabId: 8, scanId: "s1" });
      await new Promise((r) => setTimeout(r, 100));
      return { stale, followed: FL.background.scanFollowed(8), ended: told.filter((m) => m.type === "scan-ended").length };
    """)
    assert got == {"stale": {}, "followed": True, "ended": 0}, got


def test_a_page_scan_hands_back_its_checks_without_waiting_for_results(tmp_path):
    """The popup follows every check of a scan itself: the scan's uploads ask for no wait (a wait held
    one of the two upload slots for each running check, so a gallery showed nothing until its last
    image was done), while a single hover check waits a little, for a quick answer in one round trip
    (20 s held the slot while the backend worked on a slow one)."""
    got = run_background(tmp_path, """
      const items = [];
      for (let i = 0; i < 3; i += 1) {
        const url = `https://gallery.example/${i}.jpg`;
        web[url] = jpeg();
        items.push({ kind: "image", url });
      }
      await FL.background.scan(items, "https://gallery.example/");
      const scanWaits = calls.filter((c) => c.method === "POST").map((c) => new URL(c.url).searchParams.get("wait"));
      web["https://cdn.example.com/one.jpg"] = jpeg();
      await FL.background.startCheck({ kind: "image", url: "https://cdn.example.com/one.jpg" });
      const last = calls.filter((c) => c.method === "POST").pop();
      return { scanWaits, hoverWait: new URL(last.url).searchParams.get("wait") };
    """)
    assert got == {"scanWaits": ["0", "0", "0"], "hoverWait": "2"}


def test_a_backend_restarting_mid_check_does_not_end_it(tmp_path):
    """The backend keeps its checks across a restart: two polls that cannot reach it are waited out
    (one failed poll ended the check, and a right-click check lost its id), while an error that is no
    outage still ends it at once."""
    got = run_background(tmp_path, """
      const realFetch = globalThis.fetch;
      const answers = ["down", "down", "running", "done"];
      globalThis.fetch = async (input, init = {}) => {
        const url = typeof input === "string" ? input : input.url;
        if (url.endsWith("/api/v1/checks/c7")) {
          const next = answers.shift();
          if (next === "down") throw new TypeError("Failed to fetch");
          return new Response(JSON.stringify({ id: "c7", status: next }), { headers: { "content-type": "application/json" } });
        }
        if (url.endsWith("/api/v1/checks/c8")) {
          return new Response(JSON.stringify({ error: { code: "not_found", message: "no check with id 'c8'" } }),
                              { status: 404, headers: { "content-type": "application/json" } });
        }
        return realFetch(input, init);
      };
      const seen = [];
      const done = await FL.background.untilDone({ id: "c7", status: "running" }, (c) => seen.push(c.status));
      let gone = null;
      try { await FL.background.untilDone({ id: "c8", status: "running" }); } catch (err) { gone = err.code; }
      return { final: done.status, seen, gone };
    """)
    assert got == {"final": "done", "seen": ["running", "done"], "gone": "not_found"}


def test_an_image_server_that_stalls_does_not_hold_a_check_forever(tmp_path):
    """A server that sends its headers and then nothing held a scan slot, and the scan, forever: the
    extension gives up reading after FETCH_TIMEOUT_MS and sends the URL to the backend instead."""
    got = run_background(tmp_path, """
      const realSetTimeout = globalThis.setTimeout;
      globalThis.setTimeout = (fn, ms, ...rest) => realSetTimeout(fn, ms >= 30000 ? 50 : ms, ...rest);   // time flies
      web["https://slow.example/stuck.jpg"] = (init) => new Response(new ReadableStream({
        start(controller) {
          controller.enqueue(new Uint8Array(10));   // then silence, until the reader gives up
          init.signal.addEventListener("abort", () => controller.error(new DOMException("aborted", "AbortError")));
        },
      }), { headers: { "content-type": "image/jpeg" } });
      const checks = await FL.background.scan([{ kind: "image", url: "https://slow.example/stuck.jpg" }], "https://slow.example/");
      return { sent: sentFor("https://slow.example/stuck.jpg"), checks: checks.length };
    """)
    assert got == {"sent": {"url": "https://slow.example/stuck.jpg"}, "checks": 1}


def test_a_scan_whose_first_batch_fails_keeps_the_images_it_uploaded(tmp_path):
    """A full queue refusing the scan's batch of URLs threw away the image checks already made: the
    popup said "Scan failed" and a second scan uploaded them again."""
    got = run_background(tmp_path, """
      const realFetch = globalThis.fetch;
      globalThis.fetch = async (input, init = {}) => {
        const url = typeof input === "string" ? input : input.url;
        if (url.endsWith("/api/v1/checks/batch")) {
          return new Response(JSON.stringify({ error: { code: "queue_full", message: "100 checks are already waiting" } }),
                              { status: 429, headers: { "content-type": "application/json" } });
        }
        return realFetch(input, init);
      };
      web["https://gallery.example/a.jpg"] = jpeg();
      const checks = await FL.background.scan([{ kind: "image", url: "https://gallery.example/a.jpg" },
                                               { kind: "video", url: "https://gallery.example/clip.mp4" }], "https://gallery.example/");
      return checks.map((c) => c.id || c.error.code);
    """)
    assert got == ["c1", "queue_full"]


def test_the_same_media_asked_for_twice_at_once_is_one_check(tmp_path):
    """Two tabs of one feed (or a hover and a right-click) asking at the same moment made two uploads
    and two checks of the same bytes; they share one now, and a later ask starts afresh."""
    got = run_background(tmp_path, """
      web["https://cdn.example.com/same.jpg"] = jpeg();
      const media = { kind: "image", url: "https://cdn.example.com/same.jpg" };
      const [a, b] = await Promise.all([FL.background.startCheck(media), FL.background.startCheck(media)]);
      const together = calls.filter((c) => c.method === "POST").length;
      await FL.background.startCheck(media);
      return { same: a === b, together, later: calls.filter((c) => c.method === "POST").length };
    """)
    assert got == {"same": True, "together": 1, "later": 2}


def test_the_same_media_asked_for_by_pages_on_two_hosts_is_two_checks(tmp_path):
    """As the backend's cache: a page must not get, at once, a check another site's page started."""
    got = run_background(tmp_path, """
      web["https://cdn.example.com/same.jpg"] = jpeg();
      const media = { kind: "image", url: "https://cdn.example.com/same.jpg" };
      const [a, b] = await Promise.all([
        FL.background.startCheck({ ...media, pageUrl: "https://news.example/a", tabUrl: "https://news.example/a" }),
        FL.background.startCheck({ ...media, pageUrl: "https://photos.example/b", tabUrl: "https://photos.example/b" })]);
      return { same: a === b, posts: calls.filter((c) => c.method === "POST").length };
    """)
    assert got == {"same": False, "posts": 2}


def test_automatic_checks_and_page_scans_ask_the_backend_for_low_priority(tmp_path):
    """The backend runs "high" checks before "low" ones: a right-click, a hover or the keyboard (high)
    no longer waits behind a page scan or the automatic checks of a feed's images (low). An automatic
    start under way is not shared with the user's own ask for the same media (that would keep it low)."""
    got = run_background(tmp_path, """
      const posted = () => calls.filter((c) => c.method === "POST").map((c) => c.sent.priority || c.sent);
      web["https://cdn.example.com/a.jpg"] = jpeg();
      await FL.background.startCheck({ kind: "image", url: "https://cdn.example.com/a.jpg", automatic: true });
      await FL.background.startCheck({ kind: "image", url: "https://cdn.example.com/a.jpg" });
      await FL.background.startCheck({ kind: "video", url: "https://cdn.example.com/v.mp4", automatic: true });
      await FL.background.startCheck({ kind: "video", url: "https://cdn.example.com/v.mp4" });
      const single = posted();
      calls.length = 0;
      web["https://cdn.example.com/b.jpg"] = jpeg();
      await FL.background.scan([{ kind: "image", url: "https://cdn.example.com/b.jpg" },
                                { kind: "video", url: "https://cdn.example.com/w.mp4" }], "https://news.example/");
      const scan = posted();
      calls.length = 0;
      const media = { kind: "image", url: "https://cdn.example.com/a.jpg" };
      await Promise.all([FL.background.startCheck({ ...media, automatic: true }), FL.background.startCheck(media)]);
      return { single, scan, together: posted() };
    """)
    assert got == {"single": ["low", "high", "low", "high"], "scan": ["low", "low"], "together": ["low", "high"]}


def test_an_answer_from_a_backend_no_longer_configured_does_not_change_the_connection(tmp_path):
    """A call under way when the backend's address changes in Options answered later, and its success
    set "Connected" over what the configured backend said (not reachable)."""
    got = run_background(tmp_path, """
      await FL.background.checkConnection();
      const before = FL.background.connection().state;
      let release;
      const held = new Promise((resolve) => { release = resolve; });
      const answer = globalThis.fetch;
      globalThis.fetch = async (input, init = {}) => {
        const url = typeof input === "string" ? input : input.url;
        if (url.includes("/api/v1/checks?wait=")) await held;   // the check's POST, on the old backend
        return answer(input, init);
      };
      const started = FL.background.startCheck({ kind: "video", url: "https://cdn.example.com/v.mp4" });
      await new Promise((r) => setTimeout(r, 20));
      store.backendUrl = "http://127.0.0.1:8732";   // nothing listens there
      await FL.background.checkConnection();
      const moved = FL.background.connection().state;
      release();   // the old backend answers the check now
      await started;
      return { before, moved, after: FL.background.connection().state };
    """)
    assert got == {"before": "ok", "moved": "unreachable", "after": "unreachable"}


def test_a_saved_backend_name_the_backend_refuses_is_reached_as_127_0_0_1(tmp_path):
    """Options took "localhost." (FakeLens refuses its Host) and 127.0.0.2 (FakeLens does not listen there),
    so the user saw only "Wrong backend address": such a URL saved earlier is used as 127.0.0.1 on its port."""
    got = run_background(tmp_path, """
      const out = {};
      for (const saved of ["http://localhost.:8731", "http://127.0.0.2:8731"]) {
        store.backendUrl = saved;
        calls.length = 0;
        const state = (await FL.background.checkConnection()).state;
        out[saved] = { state, asked: [...new Set(calls.map((c) => new URL(c.url).origin))] };
      }
      return out;
    """)
    assert got == {saved: {"state": "ok", "asked": ["http://127.0.0.1:8731"]}
                   for saved in ("http://localhost.:8731", "http://127.0.0.2:8731")}


def test_a_page_scans_checks_are_followed_a_few_at_a_time(tmp_path):
    """The popup asked after each of a scan's checks every 2 s: 200 checks waiting behind a slow one
    made 100 requests a second, though a check waiting in line makes no progress. A round now asks
    after the checks the backend is on or takes next (running ones, then the earliest made) and one
    other in turn: at most five requests at once, a few a second."""
    got = run_background(tmp_path, """
      const checks = Array.from({ length: 200 }, (_, n) => ({ id: `c${n}`, status: "queued", created: 1000 + n }));
      checks.reverse();   // the popup's order is the page's, not the order the backend made them in
      const asked = [];
      let busy = 0, most = 0, over = false;
      const status = async (id) => {
        asked.push(id);
        most = Math.max(most, ++busy);
        await new Promise((r) => setTimeout(r, 5));
        busy -= 1;
        const n = Number(id.slice(1));
        return { id, status: over ? "done" : n === 2 ? "running" : "queued", created: 1000 + n };
      };
      const updates = [];
      const following = FL.followChecks(checks, status, (i, check) => updates.push([i, check.status]), () => {});
      await new Promise((r) => setTimeout(r, 4700));   // rounds at 1, 2.5 and 4.5 s
      const seen = { requests: asked.length, most, rounds: [asked.slice(0, 5), asked.slice(5, 10)],
                     running: updates.filter(([, s]) => s === "running").length };
      over = true;   // the backend ends them all: followed to the end in quick rounds
      await following;
      return { ...seen, done: updates.filter(([, s]) => s === "done").length };
    """)
    assert got["most"] <= 5 and got["requests"] <= 15, got   # was 600 (200 checks, 3 rounds each)
    assert got["rounds"][0] == ["c0", "c1", "c2", "c3", "c4"], got   # the earliest made, then one of the others
    assert got["rounds"][1] == ["c2", "c0", "c1", "c3", "c5"], got   # the running one first; the next other
    assert got["running"] >= 2 and got["done"] == 200, got


def test_a_page_scans_checks_the_backend_ended_meanwhile_are_shown_at_once(tmp_path):
    """Checks that end quickly (small photos) are caught up with in quick rounds, not five each 2 s;
    ones gone from the backend (the history cleared) are reported as such; a backend out of reach ends
    them all once the outage is over two minutes long, not one after another."""
    got = run_background(tmp_path, """
      const checks = Array.from({ length: 40 }, (_, n) => ({ id: `c${n}`, status: "queued", created: n }));
      checks.push(null, { status: "failed", error: { code: "bad_url" } });   // nothing to follow
      const started = Date.now();
      let requests = 0;
      const ended = [];
      await FL.followChecks(checks, async (id) => {
        requests += 1;
        if (id === "c7") { const err = new Error("no check"); err.code = "not_found"; throw err; }
        return { id, status: "done" };
      }, (i, check) => ended.push([i, check.status]), (i, err) => ended.push([i, err.code]));
      const quick = { seconds: (Date.now() - started) / 1000, requests, ended: ended.length,
                      gone: ended.find(([i]) => i === 7) };
      const realNow = Date.now;
      let offset = 0;
      Date.now = () => realNow() + offset;
      const down = [];
      await FL.followChecks(checks.slice(0, 10), async () => {
        offset += 61_000;   // a minute passes with each round
        const err = new Error("not reachable"); err.code = "unreachable"; throw err;
      }, () => {}, (i, err) => down.push([i, err.code]));
      Date.now = realNow;
      return { quick, down };
    """)
    quick = got["quick"]
    assert quick["seconds"] < 3 and quick["requests"] <= 45 and quick["ended"] == 40, quick   # was 2 s per 5
    assert quick["gone"] == [7, "not_found"], quick
    assert got["down"] == [[i, "unreachable"] for i in range(10)], got["down"]


def test_a_scan_the_backends_queue_has_no_room_for_sends_no_more(tmp_path):
    """The backend keeps most of its queue from one page's automatic checks and scans: once it refuses
    one of a scan's checks, the pictures not sent yet are not read and uploaded for nothing (each is
    refused the same way, and says why)."""
    got = run_background(tmp_path, """
      const realFetch = globalThis.fetch;
      let posts = 0;
      globalThis.fetch = async (input, init = {}) => {
        const url = typeof input === "string" ? input : input.url;
        if (url.includes("/api/v1/checks?wait=") && ++posts > 3) {
          return new Response(JSON.stringify({ error: { code: "queue_full", message: "100 automatic and page-scan checks from pages on gallery.example are already waiting" } }),
                              { status: 429, headers: { "content-type": "application/json" } });
        }
        return realFetch(input, init);
      };
      const items = Array.from({ length: 40 }, (_, n) => ({ kind: "image", url: `https://gallery.example/${n}.jpg` }));
      items.forEach(({ url }) => { web[url] = jpeg(); });
      items.push({ kind: "video", url: "https://gallery.example/clip.mp4" });
      const checks = await FL.background.scan(items, "https://gallery.example/");
      return { read: calls.filter((c) => c.url.startsWith("https://gallery.example/")).length, posts,
               batches: calls.filter((c) => c.url.endsWith("/checks/batch")).length,
               made: checks.filter((c) => c.id).length,
               refused: [...new Set(checks.filter((c) => !c.id).map((c) => `${c.error.code}: ${c.error.message}`))] };
    """)
    assert got["made"] == 3 and got["batches"] == 0, got
    assert got["read"] <= 8 and got["posts"] <= 6, got   # those under way when the first was refused
    assert got["refused"] == ["queue_full: 100 automatic and page-scan checks from pages on gallery.example are "
                              "already waiting"], got


# A second background instance (the first stopped, its memory gone) over the same session storage
SECOND_BACKGROUND = """
      const { installPageScans } = await import("./extension/background/page-scans.js");
      const polled = [];
      const drawn = [];
      const second = installPageScans({
        ext: { ...chrome, runtime: { ...chrome.runtime, sendMessage: async () => {} },
               tabs: { onRemoved: { addListener() {} },
                       sendMessage: async (tab, message) => { if (message.type === "scan-results") drawn.push(...message.results.map((r) => r.index)); return "ok"; } } },
        scan: async () => [],
        getCheck: async (id) => { polled.push(id); return { id, status: "done", result: { label: "real", score: 0.1 } }; },
      });
"""


def test_a_background_stopped_mid_upload_follows_again_the_checks_it_had_sent(tmp_path):
    """A page of hundreds of pictures uploads a few at a time: while it did, session storage held no
    check of the scan at all (each was kept only once the last picture was sent), so a background
    stopped then came back with every row "Not sent: the scan was interrupted", also the pictures the
    backend was already checking: never followed, their badges never drawn. Each check is kept as soon
    as it is made (writes at most every half second); only what was not sent yet says interrupted."""
    got = run_background(tmp_path, """
      const popup = { id: "fakelensid", url: "chrome-extension://fakelensid/popup/popup.html" };
      const ask = (message) => new Promise((resolve) => listener(message, popup, resolve));
      chrome.runtime.sendMessage = async () => {};
      const realFetch = globalThis.fetch;
      let uploads = 0;
      globalThis.fetch = async (input, init = {}) => {   // an upload is made, queued behind the backend's work
        const url = typeof input === "string" ? input : input.url;
        if (init.body instanceof FormData) {
          await realFetch(input, init);
          uploads += 1;
          return new Response(JSON.stringify({ id: `c${init.body.get("source_url").match(/([0-9]+)[.]jpg/)[1]}`, status: "queued" }),
                              { status: 202, headers: { "content-type": "application/json" } });
        }
        return realFetch(input, init);
      };
      const urls = Array.from({ length: 6 }, (_, k) => `https://news.example/${k}.jpg`);
      urls.forEach((url, k) => {   // the last two never come (the background stops before)
        web[url] = k < 4 ? jpeg() : () => new Promise(() => {});
      });
      const items = urls.map((url) => ({ kind: "image", url }));
      const rows = urls.map((url, index) => ({ index, kind: "image", url, thumb: url }));
      let writes = 0;
      const set = session.set;
      session.set = async (o) => { writes += 1; return set(o); };
      ask({ type: "scan", tabId: 7, scanId: "s1", pageUrl: "https://news.example/", items, rows });
      await new Promise((r) => setTimeout(r, 1200));   // four uploaded, two still coming: the worker stops
      const kept = JSON.parse(JSON.stringify(sessionStore["pageScan:7"]));
      """ + SECOND_BACKGROUND + """
      const state = await second.handlers["scan-state"]({ tabId: 7, scanId: "s1" });
      const restored = state.checks.map((c) => c.error ? c.error.code : c.status);
      await new Promise((r) => setTimeout(r, 1500));   // followed again
      setTimeout(() => process.exit(0), 50);   // (the two pictures never come)
      return { uploads, writes, kept: kept.checks.map((c) => c && c.id), restored, rows: state.rows.map((r) => r.thumb),
               polled: [...new Set(polled)].sort(), drawn: drawn.sort() };
    """)
    assert got["uploads"] == 4, got
    assert got["kept"] == ["c0", "c1", "c2", "c3", None, None], got   # was all None
    assert got["restored"] == ["queued"] * 4 + ["interrupted"] * 2, got
    assert got["rows"] == [f"https://news.example/{k}.jpg" for k in range(6)], got
    assert got["polled"] == ["c0", "c1", "c2", "c3"] and got["drawn"] == [0, 1, 2, 3], got
    assert got["writes"] <= 4, got   # the scan made, then at most every half second; not one per check


def test_a_page_scan_kept_in_session_storage_stays_small_and_a_failed_write_drops_it(tmp_path):
    """Every tab's scan shares the browser's 10 MB of session storage: a row kept a data: thumbnail of
    up to 64 KB (500 rows: 32 MB), and a write over the quota failed silently, leaving an older state
    of the scan (or none) for a popup opened after the background stopped. Rows keep no data: thumbnail
    over 2 KB (the glyph stands in) nor an address twice; a write that fails drops the tab's kept scan
    and says why in the console."""
    got = run_background(tmp_path, """
      const popup = { id: "fakelensid", url: "chrome-extension://fakelensid/popup/popup.html" };
      const ask = (message) => new Promise((resolve) => listener(message, popup, resolve));
      chrome.runtime.sendMessage = async () => {};
      const warned = [];
      console.warn = (...words) => warned.push(words.join(" "));
      const big = `data:image/jpeg;base64,${"A".repeat(60_000)}`;
      const small = `data:image/gif;base64,${"R".repeat(100)}`;
      const scanOf = (n, thumb, site) => {
        const urls = Array.from({ length: n }, (_, k) => `https://cdn.${site}.example/photos/2026/11/${k}/a-photo-of-the-day-${k}.jpg?w=1080&sig=0123456789abcdef`);
        return { items: urls.map((url) => ({ kind: "video", url })),   // sent as one batch of URLs
                 rows: urls.map((url, index) => ({ index, kind: "image", url, permalink: null, thumb: thumb(url, index) })) };
      };
      const sizes = {};
      const { items, rows } = scanOf(500, (url, k) => (k % 2 ? url : big), "news");
      await ask({ type: "scan", tabId: 7, scanId: "s1", pageUrl: "https://news.example/", items, rows });
      await new Promise((r) => setTimeout(r, 100));
      const kept = sessionStore["pageScan:7"];
      sizes.data = JSON.stringify(kept).length;
      const plain = scanOf(500, (url) => url, "plain");
      await ask({ type: "scan", tabId: 8, scanId: "s2", pageUrl: "https://plain.example/", ...plain });
      await new Promise((r) => setTimeout(r, 100));
      sizes.plain = JSON.stringify(sessionStore["pageScan:8"]).length;
      const withSmall = scanOf(2, () => small, "small");
      await ask({ type: "scan", tabId: 9, scanId: "s3", pageUrl: "https://small.example/", ...withSmall });
      await new Promise((r) => setTimeout(r, 100));
      const smallKept = sessionStore["pageScan:9"].rows.map((r) => r.thumb === small);
      const answered = await ask({ type: "scan-state", tabId: 7, scanId: "s1" });
      // a scan kept as made, then the storage fills up (other tabs): the write of its checks fails
      const realFetch = globalThis.fetch;
      globalThis.fetch = async (input, init = {}) => {
        if (String(input).endsWith("/checks/batch")) await new Promise((r) => setTimeout(r, 300));
        return realFetch(input, init);
      };
      const full = scanOf(3, (url) => url, "full");
      const scanning = ask({ type: "scan", tabId: 10, scanId: "s4", pageUrl: "https://full.example/", ...full });
      await new Promise((r) => setTimeout(r, 100));
      const before = "pageScan:10" in sessionStore;
      sessionQuota = JSON.stringify(sessionStore).length;
      await scanning;
      await new Promise((r) => setTimeout(r, 300));
      return { sizes, dataThumbs: kept.rows.filter((r) => /^data:/.test(r.thumb || "")).length,
               same: kept.rows.filter((r) => r.thumbIsUrl).length, smallKept,
               shown: answered.rows.filter((r) => r.thumb === r.url).length, before, after: "pageScan:10" in sessionStore,
               warned };
    """)
    print(got["sizes"])
    assert got["dataThumbs"] == 0 and got["same"] == 250 and got["smallKept"] == [True, True], got
    assert got["shown"] == 250, got   # a popup opened again shows each picture's own thumbnail
    assert got["sizes"]["data"] < 200_000 and got["sizes"]["plain"] < 200_000, got["sizes"]   # was 30 MB
    assert got["before"] and not got["after"], got
    assert len(got["warned"]) >= 1 and "not kept in session storage" in got["warned"][0] and "quota" in got["warned"][0], got
