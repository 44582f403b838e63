// The only code that talks to the FakeLens backend. Content scripts, the popup and the options
// page ask it through runtime messages: pages on the web cannot reach 127.0.0.1, the service
// worker (or Firefox's background script) can, with the token the user pasted in Options.
import "./lib/settings.js";
import "./lib/wording.js";
import "./lib/follow-check.js";
import "./lib/private-host.js";
import "./lib/read-capped.js";
import { showConnection } from "./background/toolbar-state.js";
import { installContextMenus } from "./background/context-menus.js";
import { installPageScans } from "./background/page-scans.js";

const ext = globalThis.browser ?? globalThis.chrome;
const FL = globalThis.FakeLens;

const MAX_IMAGE_BYTES = 50 * 1024 * 1024;
const MAX_UPLOADS = 2; // concurrent uploads; the backend has its own bounded worker pool
const FETCH_TIMEOUT_MS = 30_000; // reading one image's bytes; past it the URL goes to the backend instead
// How long, once an image's bytes are read, to wait for the browser to say which address it connected to
// (its webRequest event comes by another way than the response, usually at once)
const ADDRESS_WAIT_MS = 1_000;
// A backend stopped but holding its port (Ctrl+Z on `fakelens serve`) accepts connections and never
// answers: without a limit every call, and what waits on it (the popup, a badge), waited for ever.
const HEALTH_TIMEOUT_MS = 5_000;
const API_TIMEOUT_MS = 15_000; // beyond what a call asks the backend to wait (?wait=)

class BackendError extends Error {
  constructor(code, message, status = 0, checkId = null) {
    super(message);
    this.code = code;
    this.status = status;
    this.checkId = checkId; // a check the backend made and failed (its report says why)
  }
}

// ---- connection state (shown on the toolbar icon, in the popup and in Options) ----

let connection = { state: "unknown" };
// Whether the backend at `url` downloads from this computer (its health says `fetch: {loopback: true}`
// only with allow_loopback, a setting for tests): the extension then reads images from a loopback
// address too; never otherwise, as netguard refuses them.
let backendLoopback = { url: null, allowed: false };

async function setConnection(next) {
  // an answer from a backend no longer configured (a call under way as the address changed in Options)
  // must not overwrite what the configured one said ("Connected" over "not reachable")
  if (next.url && next.url !== baseUrl(await FL.getSettings())) return connection;
  const changed = next.state !== connection.state;
  connection = { ...connection, ...next, at: Date.now() };
  if (changed) await showConnection(connection);
  return connection;
}

// A stored URL that is not on this computer is never used (the token would go with it), nor another name
// for this computer that FakeLens does not answer to.
function baseUrl(settings) {
  return FL.backendUrlInUse(settings.backendUrl);
}

// One HTTP call to the backend; throws BackendError with the API's {code, message}.
async function backend(path, { method = "GET", json, form, settings } = {}) {
  const s = settings || (await FL.getSettings());
  const base = baseUrl(s);
  let headers;
  try {
    headers = new Headers(s.token ? { Authorization: `Bearer ${s.token.trim()}` } : {});
  } catch {
    // a token no HTTP header can carry (an invisible character pasted with it) is a bad token,
    // not a backend that is down: built here, outside the network call's catch
    await setConnection({ state: "unauthorized", url: base });
    throw new BackendError("unauthorized", "The pairing token holds characters no token has: paste it again in Options");
  }
  let body;
  if (json !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  // the answer read in full within the time the call may take (a check's POST waits at most its ?wait=)
  const wait = Number((/[?&]wait=(\d+)/.exec(path) || [])[1] || 0);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), wait * 1000 + API_TIMEOUT_MS);
  let res, data;
  try {
    res = await fetch(base + path, { method, headers, body, credentials: "omit", cache: "no-store", signal: abort.signal });
    const isJson = (res.headers.get("content-type") || "").includes("json");
    // a body that is no JSON reads as none; one cut off by the time limit is a backend not answering
    data = isJson ? await res.json().catch((err) => { if (abort.signal.aborted) throw err; return null; }) : await res.text();
  } catch {
    if (abort.signal.aborted) {
      await setConnection({ state: "not_answering", url: base });
      throw new BackendError("not_answering", `FakeLens backend at ${base} does not answer`);
    }
    await setConnection({ state: "unreachable", url: base });
    throw new BackendError("unreachable", `FakeLens backend not reachable at ${base}`);
  } finally {
    clearTimeout(timer);
  }
  if (res.status === 401) {
    const state = s.token ? "unauthorized" : "unpaired";
    await setConnection({ state, url: base });
    throw new BackendError(state, state === "unpaired" ? "No pairing token set" : "The backend rejected the token");
  }
  if (!res.ok) {
    const err = (data && data.error) || { code: `http_${res.status}`, message: `The backend answered ${res.status}` };
    throw new BackendError(err.code, err.message, res.status, (data && data.id) || null);
  }
  if (connection.state !== "ok") await setConnection({ state: "ok", url: base });
  return data;
}

// Health (no token) then an authenticated call: tells "not running" from "wrong token".
async function checkConnection() {
  const s = await FL.getSettings();
  const base = baseUrl(s);
  let health;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), HEALTH_TIMEOUT_MS);
  backendLoopback = { url: base, allowed: false };   // until this backend's health says otherwise
  try {
    const res = await fetch(`${base}/api/v1/health`, { credentials: "omit", cache: "no-store", signal: abort.signal });
    health = await res.json();
    if (res.status === 403 && health && health.error && health.error.code === "forbidden_host") {
      // FakeLens is there but refuses the name or port it was reached by (its DNS-rebinding guard): an
      // older FakeLens that refused [::1], or one reached through a forwarded port (it answers on its own)
      return setConnection({ state: "wrong_host", url: base, version: null });
    }
    if (!res.ok || !health || !health.status) throw new Error("not FakeLens");
    backendLoopback = { url: base, allowed: Boolean(health.fetch && health.fetch.loopback === true) };
  } catch {
    return setConnection({ state: abort.signal.aborted ? "not_answering" : "unreachable", url: base, version: null });
  } finally {
    clearTimeout(timer);
  }
  const info = { url: base, version: health.version, models: (health.models || []).length };
  if (!s.token) return setConnection({ ...info, state: "unpaired" });
  try {
    await backend("/api/v1/checks?limit=1", { settings: s });
    return setConnection({ ...info, state: "ok" });
  } catch (err) {
    if (["unauthorized", "unreachable", "not_answering"].includes(err.code)) return setConnection({ ...info, state: err.code });
    // something answers as FakeLens but lacks this extension's API (another version, or another program)
    if (err.status === 404) return setConnection({ ...info, state: "incompatible", extension: ext.runtime.getManifest().version });
    return setConnection({ ...info, state: "trouble", message: err.message }); // e.g. its history file gone (503)
  }
}

// ---- checks ----

// At most `max` calls of fn at once; the rest wait their turn.
function limiter(max) {
  let active = 0;
  const waiting = [];
  return async (fn) => {
    if (active >= max) await new Promise((resolve) => waiting.push(resolve));
    active += 1;
    try {
      return await fn();
    } finally {
      active -= 1;
      const next = waiting.shift();
      if (next) next();
    }
  };
}
const withUploadSlot = limiter(MAX_UPLOADS);
// A page scan reads and uploads this many images at once, so a gallery is never all in memory.
const withScanSlot = limiter(MAX_UPLOADS + 2);
const MAX_BATCH = 100; // the backend's limit on one batch
const MAX_URL_CHARS = 4096; // the backend's limit on an address

const isHttp = (url) => /^https?:/i.test(url || "");

// Whether the image lies on the site of `pageUrl` (its host, or a subdomain of it, "www." aside:
// lib/settings.js's site keys). Cookies go with an image only when it lies on the site of both the
// frame showing it and the tab's page: a page could otherwise name an image of another site the user
// is signed in to, have it checked with those cookies and read the badge (the extension's requests
// carry even SameSite cookies that the page's own could not); and in a frame of another site (an ad,
// an embedded post) the browser may withhold that site's cookies as third-party ones.
const sameSite = (url, pageUrl) => FL.siteListed([FL.siteKey(pageUrl)], FL.siteKey(url));

// ---- where the extension's own image fetches connected ----

// A public name can resolve to the user's router or this computer (a page's own request there is
// stopped by the browser's Local Network Access; the extension's is not), and the page reads the
// verdict on its badge: so the address each image fetch connected to, as the browser reports it
// (webRequest, no blocking: Chrome and Firefox both report their extension's own requests), decides
// whether its bytes are used. Only this background's requests (no tab; Chrome: the service worker,
// no frame; Firefox: the background page), one fetch of an address at a time, and of its requests
// only those that started once its turn began: each request's reports carry its requestId, and the
// browser stamps its start (onBeforeRequest's timeStamp, the clock Date.now() reads), so a report that
// comes late (after a fetch that failed at once, a 404, or after the 1 s wait) is never taken for the
// next fetch of the same address, whose own report may come after its bytes are read.
const OWN_ORIGIN = ext.runtime.getURL("").replace(/\/$/, "");
const watched = new Map(); // request URL -> the fetch of it under way: { since, ids, seen(ip) }
const fetchTurns = new Map(); // request URL -> the fetch of it under way (the next waits its turn)
let lastTurnEnd = 0; // Date.now() when the last fetch's turn ended, whatever its address
const ownRequest = (d) => d.tabId === -1 &&
  (d.documentUrl ? d.documentUrl === globalThis.location?.href : d.frameId === -1 && d.initiator === OWN_ORIGIN);
const turnOf = (d) => (ownRequest(d) ? watched.get(requestUrl(d.url)) : undefined);
if (ext.webRequest) {
  const filter = { urls: ["http://*/*", "https://*/*"], tabId: -1, types: ["xmlhttprequest"] };
  ext.webRequest.onBeforeRequest.addListener((d) => {
    const turn = turnOf(d);
    if (turn && d.timeStamp >= turn.since) turn.ids.add(d.requestId);
  }, filter);
  ext.webRequest.onResponseStarted.addListener((d) => {
    const turn = turnOf(d);
    if (turn && turn.ids.has(d.requestId)) turn.seen(d.ip || null);
  }, filter);
}
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });
// When a fetch's turn begins, by the clock the browser stamps its requests with: 2 ms after the last
// turn ended, as Date.now() reads here (to the ms, or coarser: Firefox may round it either way by up to
// 1 ms, hence 1 ms earlier than read, and 3 ms after the last end), so that no request of an earlier
// turn is stamped at or after it, while this turn's request is. A clock set back meanwhile puts it
// ahead of the requests' stamps (none is taken: the images go to the backend as URLs) until the clock
// is past it again.
async function turnBegins() {
  let now = Date.now();
  while (now >= lastTurnEnd - 1 && now < lastTurnEnd + 3) {
    await sleep(1);
    now = Date.now();
  }
  return Math.max(now, lastTurnEnd + 3) - 1;
}
// Whether the extension may read `url`'s host (Chrome's site access "on click" or "on specific sites",
// an origin revoked in Firefox): where not, the browser reports none of its requests, so bytes read
// from there (a CDN that allows every origin) could not be used. Unknown (no such API): it may.
async function hostAllowed(url) {
  if (!ext.permissions || !ext.permissions.contains) return true;
  const u = new URL(url);
  // a match pattern has no port (Firefox refuses one)
  return ext.permissions.contains({ origins: [`${u.protocol}//${u.hostname}/*`] }).catch(() => true);
}
// an address as the URL parser writes it, without its fragment (never sent; Chrome reports it, and
// maybe not every browser)
const requestUrl = (url) => {
  const u = new URL(url);
  u.hash = "";
  return u.href;
};

// Whether bytes from `ip` may be used: a public address, or a loopback one where the backend would
// fetch it too (its health says so: tests); never a private, link-local or reserved one, nor none known.
async function addressAllowed(ip) {
  const kind = FL.addressKind(ip);
  if (kind === null) return true;
  if (kind !== "loopback") return false;
  const base = baseUrl(await FL.getSettings());
  if (backendLoopback.url !== base) await checkConnection();
  return backendLoopback.url === base && backendLoopback.allowed;   // not another backend's answer
}

// The image bytes as the browser gets them (its cookies where the image lies on the page's site), or
// null when it cannot or must not: then the URL goes to the backend, which checks the address and
// every redirect itself. The request itself goes out even to a public name that leads to the local
// network; what it read from there is not used.
async function fetchImageBytes(url, cookies) {
  if (!isHttp(url)) return /^data:image\//i.test(url || "") ? readImage(url, cookies) : null;
  if (FL.privateHost(url)) return null;
  let key;
  try {
    key = requestUrl(url);
  } catch {
    return null;
  }
  if (!(await hostAllowed(url))) return null;
  while (fetchTurns.has(key)) await fetchTurns.get(key).catch(() => {});
  const turn = (async () => {
    const ips = [];
    let told;
    const answered = new Promise((resolve) => { told = resolve; });
    // the turn's end by a clock that never steps back (a clock set back during a fetch left `lastTurnEnd`
    // before that fetch's request's stamp, and the next turn of its address took its late report)
    let wall = Date.now(), mono = performance.now();
    try {
      const since = await turnBegins();
      [wall, mono] = [Date.now(), performance.now()];
      watched.set(key, { since, ids: new Set(), seen: (address) => { ips.push(address); told(); } });
      const blob = await readImage(url, cookies);
      if (!blob) return null;
      let timer;
      await Promise.race([answered, new Promise((resolve) => { timer = setTimeout(resolve, ADDRESS_WAIT_MS); })]);
      clearTimeout(timer);
      if (!ips.length) return null; // no address known: not used
      // (the settings unreadable for a loopback check: not used, the URL goes instead)
      for (const ip of ips) if (!(await addressAllowed(ip).catch(() => false))) return null;
      return blob;
    } finally {
      watched.delete(key);
      lastTurnEnd = Math.max(lastTurnEnd, Date.now(), wall + (performance.now() - mono));
    }
  })();
  fetchTurns.set(key, turn);
  try {
    return await turn;
  } finally {
    if (fetchTurns.get(key) === turn) fetchTurns.delete(key);
  }
}

async function readImage(url, cookies) {
  const credentials = cookies ? "include" : "omit";
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS); // a server that stalls holds a slot no longer
  try {
    // a redirect is not followed here (it could lead to a private address): it comes back as an
    // "opaqueredirect" response, not ok. Never kept in (or taken from) the browser's cache: the
    // extension's cache is its own, not the page's (the browser keeps each site's apart), so it saved
    // nothing but kept a copy of every picture checked that "Clear FakeLens history" left behind; and
    // it does not tell requests with cookies from those without (another site's page naming the same
    // address could have been checked from the signed-in copy)
    const res = await fetch(url, { credentials, cache: "no-store", redirect: "manual", signal: abort.signal });
    if (!res.ok) return null;
    const type = res.headers.get("content-type") || "";
    if (type && !/^(image\/|application\/octet-stream)/i.test(type)) return null;
    return await FL.readCapped(res, abort, MAX_IMAGE_BYTES);
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
    abort.abort(); // a body left unread is not downloaded any further
  }
}

function fileName(url, blob) {
  const ext = ((blob.type || "").split("/")[1] || "bin").replace(/[^a-z0-9]/gi, "");
  try {
    const last = new URL(url).pathname.split("/").pop();
    if (last && /\.[a-z0-9]{2,5}$/i.test(last)) return last.slice(-80);
  } catch {
    /* data: URL */
  }
  return `media.${ext}`;
}

// Where a video really lives: blob: and MediaSource URLs mean nothing to the backend,
// so the post's permalink (or the tab's URL) goes instead and yt-dlp resolves it.
function videoUrl(media) {
  if (isHttp(media.url)) return media.url;
  return media.permalink || media.pageUrl;
}

// `wait`: seconds the backend may hold the answer, inside an upload slot, so that a quick result
// comes in one round trip; a slower check is polled after that, out of the slot (two slots held by
// 20 s waits kept a page scan's uploads waiting behind them). A page scan sends 0: the popup follows
// every check itself. `ready` runs once the slot is there, and may throw instead (a scan stopped).
function uploadImage(media, blob, wait = 2, priority = "high", ready = () => {}) {
  return withUploadSlot(() => {
    ready();
    const form = new FormData();
    form.append("media", blob, fileName(media.url, blob));
    form.append("priority", priority);
    if (isHttp(media.url)) form.append("source_url", media.url);
    if (isHttp(media.pageUrl)) form.append("page_url", media.pageUrl);
    return backend(`/api/v1/checks?wait=${wait}`, { method: "POST", form });
  });
}

// The backend runs what the user asked for (a right-click, a hover, a retry) before automatic checks
// (images coming into view) and page scans, whatever came first.
const priorityOf = (media) => (media.automatic ? "low" : "high");

// Start one check; the same media asked for again while its start is under way (two tabs of one
// feed, a hover and a right-click) shares it instead of uploading and checking it twice.
// Per page host too: the backend's cache is (a page must not learn, by a verdict come at once, that
// another site's page asked for the same picture).
const starting = new Map(); // `${kind} ${url} ${cookies} ${page host} ${priority}` -> the start under way
const cookiesFor = (media) => sameSite(media.url, media.pageUrl) && sameSite(media.url, media.tabUrl || media.pageUrl);
function startCheck(media) {
  let host = "";
  try {
    host = new URL(media.pageUrl).host;
  } catch {
    /* no page: one key for all */
  }
  // cookies: see sameSite; an automatic start is not shared with the user's (theirs goes ahead of it)
  const key = `${media.kind} ${media.url} ${cookiesFor(media)} ${host} ${priorityOf(media)}`;
  if (!starting.has(key)) starting.set(key, startNewCheck(media).finally(() => starting.delete(key)));
  return starting.get(key);
}

// Images are uploaded as bytes; videos and links go as URLs.
async function startNewCheck(media) {
  const pageUrl = isHttp(media.pageUrl) ? media.pageUrl : undefined;
  const priority = priorityOf(media);
  if (media.kind === "image") {
    const blob = await fetchImageBytes(media.url, cookiesFor(media));
    if (blob) return uploadImage(media, blob, 2, priority);
    if (!isHttp(media.url)) throw new BackendError("bad_url", "This image cannot be read (not an http or https address)");
    return backend("/api/v1/checks?wait=20", { method: "POST", json: { url: media.url, page_url: pageUrl, kind: "image", priority } });
  }
  const url = media.kind === "video" ? videoUrl(media) : media.url;
  if (!isHttp(url)) throw new BackendError("bad_url", "Only http and https addresses can be checked");
  const kind = media.kind === "video" ? "video" : "auto";
  return backend("/api/v1/checks?wait=5", { method: "POST", json: { url, page_url: pageUrl, kind, priority } });
}

const getCheck = (id) => backend(`/api/v1/checks/${encodeURIComponent(id)}`);

// Poll until the check is final (lib/follow-check.js: a backend restarting meanwhile does not end
// it). Each round touches an extension API, which keeps a Chrome service worker alive through a long
// video check.
function untilDone(check, onProgress) {
  return FL.followCheck(check, async (id) => {
    await ext.runtime.getPlatformInfo();
    return getCheck(id);
  }, onProgress);
}

// Page scan from the popup: one message with every item. Images whose bytes the browser
// can read are uploaded; videos and the rest go to the backend as one batch of URLs.
// `active`: false once the tab is closed or scanned again: what is not sent by then is not sent (a new
// scan of the tab waited behind the old one's uploads, each read and sent for nobody).
// `made(i, check)`: each item's check as soon as it exists (uploaded, sent in a batch, or failed), long
// before the whole scan answers (a page of hundreds of pictures uploads a few at a time): page-scans.js
// keeps it, so a background stopped mid-scan follows again the checks the backend already has.
async function scan(items, pageUrl, active = () => true, made = () => {}) {
  const checks = new Array(items.length);
  const put = (i, check) => {
    checks[i] = check;
    try {
      made(i, check);
    } catch {
      /* the scan goes on whatever its listener does */
    }
  };
  const batch = [];
  // A connection failure (no backend, one not answering, a wrong token) is the scan's, not each
  // image's: the images after it are not sent (each would fail the same way, one not answering after
  // 15 s), and with no check made the popup says why the scan failed, once.
  let stopped = null;
  const goOn = () => {
    if (stopped) throw stopped;
    if (!active()) throw new BackendError("cancelled", "This tab was scanned again or closed");
  };
  // The backend's queue has no room for this page's checks (it keeps room for what the user asks for
  // and for other sites'): the items not sent yet are not sent either (each would be refused the same
  // way: a gallery of 400 read and uploaded 300 pictures for nothing), and each says why.
  let full = null;
  const roomLeft = () => {
    if (full) throw new BackendError(full.code, full.message);
  };
  const isFull = (error) => {
    if (error && error.code === "queue_full") full = full || { code: error.code, message: error.message };
  };
  await Promise.all(
    items.map(async (item, i) => {
      if (item.kind === "image") {
        try {
          const sent = await withScanSlot(async () => {
            goOn();
            roomLeft();
            const blob = await fetchImageBytes(item.url, sameSite(item.url, pageUrl));
            if (blob) put(i, await uploadImage({ ...item, pageUrl }, blob, 0, "low", () => { goOn(); roomLeft(); }));
            return Boolean(blob);
          });
          if (sent) return;
        } catch (err) {
          if (FL.connectionTrouble(err)) stopped = stopped || err;
          isFull(err);
          put(i, FL.failedCheck(err));
          return;
        }
      }
      const url = item.kind === "video" ? videoUrl({ ...item, pageUrl }) : item.url;
      if (!isHttp(url)) {
        put(i, { status: "failed", error: { code: "bad_url", message: "Not an http or https address" } });
        return;
      }
      if (url.length > MAX_URL_CHARS) {   // the backend's limit: refused here, not with the whole batch (1 MB)
        put(i, { status: "failed", error: { code: "bad_request", message: `The address is longer than ${MAX_URL_CHARS} characters` } });
        return;
      }
      batch.push({ i, url, kind: item.kind === "video" ? "video" : item.kind === "image" ? "image" : "auto" });
    }),
  );
  if (stopped && !checks.some((check) => check && check.id)) throw stopped;
  // in batches the backend accepts; a batch that fails fails its own items only
  for (let start = 0; start < batch.length; start += MAX_BATCH) {
    const part = batch.slice(start, start + MAX_BATCH);
    try {
      goOn();
      roomLeft();
      const answer = await backend("/api/v1/checks/batch", {
        method: "POST",
        json: { items: part.map(({ url, kind }) => ({ url, kind })), page_url: isHttp(pageUrl) ? pageUrl : undefined, priority: "low" },
      });
      (answer.checks || []).forEach((check, k) => {
        put(part[k].i, { ...check, sent_url: part[k].url });
        isFull(check.error);
      });
    } catch (err) {
      isFull(err);
      // nothing made yet: the popup says why the scan failed; else the images uploaded are followed
      if (!start && !checks.some((check) => check && check.id)) throw err;
      for (const { i } of part) put(i, FL.failedCheck(err));
    }
  }
  return checks;
}

// ---- messages from content scripts, popup, options and report pages ----

const pageScans = installPageScans({ ext, scan, getCheck });

const handlers = {
  ...pageScans.handlers,   // scan, scan-state
  async connection({ fresh }) {
    if (fresh || connection.state === "unknown" || Date.now() - (connection.at || 0) > 5000) await checkConnection();
    return connection;
  },
  async check({ media }, sender) {
    // the page is the frame the browser says asked, in the tab it names, not what the message claims
    if (extensionPage(sender)) return startCheck(media);
    return startCheck({ ...media, pageUrl: sender && sender.url, tabUrl: sender && sender.tab && sender.tab.url });
  },
  async "check-status"({ id }) {
    return getCheck(id);
  },
  // The user now waits on what an automatic check sent (they hovered that image): ahead of the other
  // automatic checks and page scans in the backend's queue, if it still waits there.
  async "raise-check"({ id }) {
    return backend(`/api/v1/checks/${encodeURIComponent(id)}`, { method: "PATCH", json: { priority: "high" } });
  },
  // For a frame: whether the tab's page is on a site switched off in Options (a site switched off
  // covers what it embeds; a frame cannot always tell which page it sits in). Only that yes or no:
  // the tab's address stays here.
  async "tab-site-off"(_message, sender) {
    const tab = sender && sender.tab && sender.tab.url;
    return { off: Boolean(tab) && FL.siteListed((await FL.getSettings()).disabledSites, FL.siteKey(tab)) };
  },
  async report({ id }) {
    const html = await backend(`/api/v1/checks/${encodeURIComponent(id)}/report`);
    return { html: typeof html === "string" ? html : JSON.stringify(html) };
  },
  // The popup's site switch: stored here, not in the popup, which the user may close the moment they
  // click (its own read-then-write of the site list was lost with it). Other sites' entries stay.
  async "switch-site"({ site, on }) {
    if (typeof site !== "string" || !site) throw new BackendError("bad_request", "no site to switch");
    const others = (await FL.getSettings()).disabledSites.filter((s) => s !== site);
    await FL.saveSettings({ disabledSites: on ? others : [...others, site] });
    return {};
  },
  async "clear-history"() {
    const answer = await backend("/api/v1/checks", { method: "DELETE" });
    // what this browser remembers of them goes too: the scans followed here and kept in session storage
    // (a popup opened again showed them), and each page's verdicts and badges
    await pageScans.clearAll();
    const tabs = await ext.tabs.query({});
    await Promise.all(tabs.map((tab) => ext.tabs.sendMessage(tab.id, { type: "history-cleared" }).catch(() => {})));
    return answer;
  },
  async "open-report"({ id }) {
    await ext.tabs.create({ url: ext.runtime.getURL(`report/report.html?id=${encodeURIComponent(id)}`) });
    return {};
  },
  async "open-options"() {
    await ext.runtime.openOptionsPage();
    return {};
  },
};

// Content scripts run in web pages (a compromised page could speak through them): they may check
// media, follow their checks and open a report; scanning, reading reports, clearing the history and
// the rest are for the extension's own pages (popup, options, report), wherever they are open.
const FROM_CONTENT_SCRIPTS = new Set(["check", "check-status", "raise-check", "open-report", "tab-site-off"]);
const extensionPage = (sender) => Boolean(sender && sender.url && sender.url.startsWith(ext.runtime.getURL("")));

ext.runtime.onMessage.addListener((message, sender, sendResponse) => {
  const type = message && message.type;
  // own keys only: "constructor" or "toString" is an unknown type, not Object.prototype's function
  if (typeof type !== "string" || !Object.hasOwn(handlers, type)) return false;
  if (!FROM_CONTENT_SCRIPTS.has(type) && !extensionPage(sender)) {
    sendResponse({ error: { code: "forbidden", message: `Only FakeLens's own pages may ask for "${type}"` } });
    return false;
  }
  handlers[type](message, sender).then(
    (answer) => sendResponse(answer),
    (err) => sendResponse({ error: { code: err.code || "internal", message: err.message || String(err) } }),
  );
  return true; // answer asynchronously (works in Chrome and Firefox)
});

ext.storage.onChanged.addListener((changes, area) => {
  if (area === "local" && (changes.backendUrl || changes.tokenSavedAt)) checkConnection();
});

// the toolbar's `!` for a backend stopped while nothing asks it: 30 s is the shortest period Chrome
// (120+) allows; at 1 minute the toolbar looked healthy for up to a minute after the backend stopped
ext.alarms.create("fakelens-connection", { periodInMinutes: 0.5 });
ext.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === "fakelens-connection") checkConnection();
});

const menus = installContextMenus({ ext, startCheck, untilDone });

// The keyboard's way to check (the hover pill needs a pointer): the frame with the focus checks the
// media in focus, or under the pointer, and moves the focus to its badge.
async function runCommand(command, tab) {
  if (command !== "check-focused" || !tab || tab.id === undefined || tab.id < 0) return;
  await ext.tabs.sendMessage(tab.id, { type: "check-focused" }).catch(() => {}); // every frame; the focused acts
}
if (ext.commands) ext.commands.onCommand.addListener((command, tab) => { runCommand(command, tab); });

// For the end-to-end tests and for debugging from the service worker console.
FL.background = { checkConnection, startCheck, untilDone, scan, handleMenuClick: menus.handleClick, runCommand,
                  connection: () => connection, scanFollowed: pageScans.following };

checkConnection();
