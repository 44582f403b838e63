// User settings (options page) with their defaults, kept in storage.local (the token must not sync),
// all but the pairing token: browsers open storage.local to content scripts, which run in the web
// page's process, so the token lives in the extension's own IndexedDB, which only the extension's
// pages and its background can open (a content script's indexedDB is the web page's).
(() => {
  "use strict";
  const root = Object.hasOwn(globalThis, "FakeLens") ? globalThis.FakeLens : (globalThis.FakeLens = {});   // (namespace.js)
  // namespace.js's choice where it ran first (content scripts, FakeLens's pages); the background, which
  // imports this file alone, has no page's elements to mistake for the API
  const ext = root.ext ?? globalThis.browser ?? globalThis.chrome;

  const DEFAULT_PORT = "8731";   // `fakelens serve`'s
  root.DEFAULT_SETTINGS = Object.freeze({
    backendUrl: `http://127.0.0.1:${DEFAULT_PORT}`,
    token: "",
    autoCheck: false,        // check visible images without a hover
    disabledSites: [],       // hostnames where FakeLens draws nothing
    minSize: 128,            // smallest rendered width and height, in CSS pixels
  });
  const PLAIN_KEYS = Object.keys(root.DEFAULT_SETTINGS).filter((key) => key !== "token"); // in storage.local

  // One request on the extension's store of secrets (the token): (store) => IDBRequest; its result.
  const secrets = (mode, request) => new Promise((resolve, reject) => {
    const open = indexedDB.open("fakelens-secrets", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("secrets");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction("secrets", mode);
      const req = request(tx.objectStore("secrets"));
      tx.oncomplete = () => { db.close(); resolve(req.result); };
      tx.onerror = tx.onabort = () => { db.close(); reject(tx.error); };
    };
  });

  // Extension pages and background only. A token saved in storage.local by an earlier version
  // moves to the store of secrets the first time it is read, when that holds none yet: content
  // scripts can write storage.local too, and one in a compromised page replaced the user's token so.
  // A store the browser refuses (IndexedDB switched off) reads as no token: the toolbar then says
  // "not paired", and saving says why not.
  root.readToken = async () => {
    try {
      const { token: earlier } = await ext.storage.local.get("token");
      let token = await secrets("readonly", (store) => store.get("token"));
      if (earlier !== undefined) {
        if (!token) {
          token = String(earlier);
          await secrets("readwrite", (store) => store.put(token, "token"));
        }
        await ext.storage.local.remove("token");
      }
      return token || "";
    } catch (err) {
      console.warn("FakeLens: the pairing token could not be read:", err);
      return "";
    }
  };

  root.getSettings = async () => {
    const stored = await ext.storage.local.get(PLAIN_KEYS);
    return { ...root.DEFAULT_SETTINGS, ...stored, token: await root.readToken() };
  };

  // What content scripts use: every setting but the token, which only background.js sends.
  root.getPageSettings = async () => {
    const settings = { ...root.DEFAULT_SETTINGS, ...(await ext.storage.local.get(PLAIN_KEYS)) };
    delete settings.token;
    return settings;
  };

  // Extension pages and background only. A new token is announced by `tokenSavedAt` in
  // storage.local (a time, no secret), so storage.onChanged listeners hear of it.
  root.saveSettings = async ({ token, ...changes }) => {
    if (token !== undefined) {
      await secrets("readwrite", (store) => store.put(String(token), "token"));
      await ext.storage.local.remove("token");
      changes.tokenSavedAt = Date.now();
    }
    await ext.storage.local.set(changes);
  };

  // The backend runs on this computer only: the token and the media go to no other address. It answers
  // to these names alone, on its port (its Host check, against DNS rebinding; it listens on 127.0.0.1
  // and [::1]); the URL parser writes them so however typed ("LOCALHOST", "127.1", "[0::1]").
  root.BACKEND_NAMES = Object.freeze(["127.0.0.1", "localhost", "[::1]"]);
  // Other names for this computer, which it refuses ("localhost.": the Host keeps the dot) or does not
  // listen on (127.0.0.2).
  const OTHER_LOOPBACK_NAME = /^(([a-z0-9-]+\.)*localhost\.?|127(\.\d{1,3}){3})$/;

  // "127.0.0.1:8731/" -> URL("http://127.0.0.1:8731"); null when it is no address (no server listens on port 0).
  // An address typed without a port is on FakeLens's (URL would take port 80, where nothing answers).
  const parseBackendUrl = (text) => {
    let value = String(text || "").trim().replace(/\/+$/, "");
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) value = `http://${value}`;
    try {
      const u = new URL(value);
      const authority = value.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").split(/[/?#]/, 1)[0];
      const hostAndPort = authority.slice(authority.lastIndexOf("@") + 1).replace(/^\[[^\]]*\]/, "");
      if (!/:\d+$/.test(hostAndPort) && u.protocol === "http:") u.port = DEFAULT_PORT;
      return u.port === "0" ? null : u;
    } catch {
      return null;
    }
  };

  // Why a backend URL is refused, in the user's words; null when FakeLens answers to it.
  root.backendUrlProblem = (text) => {
    const u = parseBackendUrl(text);
    if (!u) return "is not an address (a port goes from 1 to 65535)";
    if (!root.BACKEND_NAMES.includes(u.hostname)) {
      return OTHER_LOOPBACK_NAME.test(u.hostname)
        ? `names this computer as "${u.hostname}", which FakeLens does not answer to` : "must be on this computer";
    }
    if (u.protocol !== "http:") return "must start with http:// (FakeLens serves plain HTTP, on this computer only)";
    if (u.username || u.password) return "must not carry a user name or password";
    if (u.pathname !== "/" || u.search) return "must be the address alone, without a path such as /api/v1";
    return null;
  };

  // "127.0.0.1:8731/" -> "http://127.0.0.1:8731"; anything FakeLens does not answer to -> null. The port is
  // always written (URL leaves out 80, which read back alone would mean FakeLens's own).
  root.localBackendUrl = (text) => {
    if (root.backendUrlProblem(text)) return null;
    const u = parseBackendUrl(text);
    return `http://${u.hostname}:${u.port || "80"}`;
  };

  // What to use for a URL naming this computer otherwise: "http://localhost.:9000" -> "http://127.0.0.1:9000",
  // the same port; null for any other.
  root.backendUrlInstead = (text) => {
    const u = parseBackendUrl(text);
    if (!u || root.BACKEND_NAMES.includes(u.hostname) || !OTHER_LOOPBACK_NAME.test(u.hostname)) return null;
    u.hostname = "127.0.0.1";
    return root.localBackendUrl(u.href);
  };

  // The address a saved backend URL stands for. One saved before Options refused it is never used as it
  // is: another name for this computer (earlier versions took "localhost." and 127.0.0.2) becomes
  // 127.0.0.1 on its port, which is where that FakeLens listens; any other, the default.
  root.backendUrlInUse = (saved) =>
    root.localBackendUrl(saved) || root.backendUrlInstead(saved) || root.DEFAULT_SETTINGS.backendUrl;

  // A site switched off covers its subdomains too: "facebook.com" is off on m.facebook.com.
  // "*.example.com" or ".example.com" (saved before Options cleaned them) mean example.com.
  root.siteListed = (list, site) => Boolean(site) && (list || []).some((entry) => {
    const d = String(entry).replace(/^\*?\./, "");
    return Boolean(d) && (site === d || site.endsWith(`.${d}`));
  });

  // One entry of Options' site list ("*.example.com", "https://www.example.com/a") -> its site key
  // ("example.com"), or null when it is not a host name at all.
  root.siteEntry = (text) => {
    const bare = String(text || "").trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/^\*?\./, "");
    const site = bare && root.siteKey(`http://${bare}`);
    const hostName = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;
    return site && (hostName.test(site) || /^\[[0-9a-f:.]+\]$/.test(site)) ? site : null;
  };

  // "https://www.x.com/a" -> "x.com": the per-site switch ignores a leading "www." and a trailing dot
  // (www.facebook.com./ is facebook.com: switched off, it showed badges there)
  root.siteKey = (url) => {
    try {
      const u = new URL(url);
      return /^https?:$/.test(u.protocol) ? u.hostname.replace(/^www\./, "").replace(/\.+$/, "") : "";
    } catch {
      return "";
    }
  };
})();
