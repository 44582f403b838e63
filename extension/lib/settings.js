// User settings (options page) with their defaults, kept in storage.local (the token must not sync).
(() => {
  "use strict";
  const root = globalThis.FakeLens || (globalThis.FakeLens = {});
  const ext = globalThis.browser ?? globalThis.chrome;

  root.DEFAULT_SETTINGS = Object.freeze({
    backendUrl: "http://127.0.0.1:8731",
    token: "",
    autoCheck: false,        // check visible images without a hover
    disabledSites: [],       // hostnames where FakeLens draws nothing
    minSize: 128,            // smallest rendered width and height, in CSS pixels
  });

  root.getSettings = async () => {
    const stored = await ext.storage.local.get(Object.keys(root.DEFAULT_SETTINGS));
    return { ...root.DEFAULT_SETTINGS, ...stored };
  };

  root.saveSettings = (changes) => ext.storage.local.set(changes);

  // "https://www.x.com/a" -> "x.com": the per-site switch ignores a leading "www."
  root.siteKey = (url) => {
    try {
      const u = new URL(url);
      return /^https?:$/.test(u.protocol) ? u.hostname.replace(/^www\./, "") : "";
    } catch {
      return "";
    }
  };
})();
