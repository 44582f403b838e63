// The toolbar popup: the backend's state with its one-line fix, "Scan this page", the per-site
// switch, and the list of the page's media with their verdicts.
// Opened as popup.html?tab=ID it works on that tab (the end-to-end tests open it that way).
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  const ext = FL.ext;
  const $ = (id) => document.getElementById(id);

  const mine = (tab) => (tab.url || "").startsWith(ext.runtime.getURL(""));

  // Pages no extension may read (the browser keeps its extension stores to itself), whatever is done.
  const STORE = /^https:\/\/(chromewebstore\.google\.com|chrome\.google\.com\/webstore|addons\.mozilla\.org)([/?#]|$)/i;
  const PDF = "FakeLens cannot look inside PDF files: the pictures in this one are not checked.";
  const isPdf = (url) => /^https?:/i.test(url) && /\.pdf$/i.test(new URL(url).pathname);

  // Why no content script answers in `tab`, and what to do when something would help.
  function whyNotRunning(tab) {
    const url = tab.url || "";
    if (mine(tab)) return "This is one of FakeLens's own pages (Options, a report): there is nothing on it to scan.";
    if (STORE.test(url)) return "Browser extension stores are closed to extensions: FakeLens cannot scan this page.";
    if (/^file:/i.test(url)) {
      return 'FakeLens does not scan files on this computer (file:// pages): check one with "fakelens check FILE".';
    }
    if (isPdf(url)) return PDF;   // Firefox's PDF viewer runs no content script
    // (in Chrome) a page open since before FakeLens was installed or updated, or one still loading
    if (/^https?:/i.test(url)) return "FakeLens is not running on this page yet: reload the page, then scan again.";
    if (url) return "This page cannot be scanned (browser pages are closed to extensions).";
    // the browser hides the address of a site FakeLens may not read
    return "This page cannot be scanned: it is a browser page, or a site FakeLens is not allowed on " +
      "(Firefox: the Extensions menu → FakeLens → Always allow on this site).";
  }

  async function targetTab() {
    const id = Number(new URLSearchParams(location.search).get("tab"));
    if (id) return ext.tabs.get(id);
    const tabs = await ext.tabs.query({ lastFocusedWindow: true });
    // The toolbar's popup is no tab: its page is the active tab, FakeLens's own Options or report too
    // (the tab used before it, hidden behind, was scanned instead)
    if (!(await ext.tabs.getCurrent())) return tabs.find((tab) => tab.active);
    // opened as a tab of its own (Firefox for Android, or by hand), the active tab is this page: the
    // page meant is the one shown before it
    const others = tabs.filter((tab) => !mine(tab)).sort((a, b) => (b.lastAccessed || 0) - (a.lastAccessed || 0));
    return tabs.find((tab) => tab.active && !mine(tab)) || others[0] || tabs.find((tab) => tab.active);
  }

  function summarize(items, checks) {
    const counts = {};
    checks.forEach((check) => {
      const look = FL.describe(check);
      // in the words of the rows ("Checking…", "Waiting to be checked…"); refused by a full queue: not
      // checked, and another scan once these are done checks them
      const key = !FL.isFinal(check) ? (check && check.status === "queued" ? "waiting" : "checking")
        : check.status === "done" || look.group ? look.group
        : check.error && check.error.code === "queue_full" ? "not checked: too many checks waiting (scan again later)"
          : check.status;
      counts[key] = (counts[key] || 0) + 1;
    });
    const parts = Object.entries(counts).map(([k, n]) => `${n} ${k}`);
    $("summary").textContent = items.length
      ? `${items.length} media found: ${parts.join(" · ")}`
      : "No images or videos of the minimum size on this page.";
  }

  // The live line a screen reader reads: the scan's start, a stop, and its end. The summary above
  // changes with every result (55 images: 59 changes in 4 s), too often to be read out each time.
  const announce = (text) => { $("announce").textContent = text; };
  const say = (text) => { $("summary").textContent = text; announce(text); };

  async function scan(tab) {
    const button = $("scan");
    if (FL.isBusy(button)) return;
    FL.setBusy(button, true);
    $("results").replaceChildren();
    say("Looking for images and videos…");
    let page;
    try {
      // the page itself (frame 0): content scripts run in its frames too, and the first to answer would win
      page = await ext.tabs.sendMessage(tab.id, { type: "scan-page" }, { frameId: 0 });
    } catch {
      say(whyNotRunning(tab));
      FL.setBusy(button, false);
      return;
    }
    if (page && page.error) {   // the page's own script failed: say so, not "no media"
      say(`Scan failed: ${page.error.message}`);
      FL.setBusy(button, false);
      return;
    }
    if (page.contentType === "application/pdf") {   // Chrome's PDF viewer: a page with no pictures of its own
      say(PDF);
      FL.setBusy(button, false);
      return;
    }
    const items = page.items || [];
    // the address of the document that listed the items (its content script's location: a page cannot
    // change its own host), not the tab's when the popup opened: the tab may have gone to another site
    // since, and that site's items were fetched with the first site's cookies
    const pageUrl = /^https?:/.test(page.pageUrl || "") ? page.pageUrl : tab.url;
    if (!items.length) {
      summarize(items, []);
      announce($("summary").textContent);
      FL.setBusy(button, false);
      return;
    }
    announce(`${items.length} media found; checking them…`);
    // background.js uploads, follows and draws them on the page, the popup closed or not (a click on the
    // page closes it); the popup shows what it is told
    const shown = show(tab, page.scanId, items, pageUrl);
    let answer, failure;
    try {
      answer = await FL.ask("scan", {
        tabId: tab.id, scanId: page.scanId, pageUrl,
        items: items.map(({ kind, url, sendUrl, permalink }) => ({ kind, url: sendUrl || url, permalink })),
        rows: items.map(({ index, kind, url, permalink, thumb }) => ({ index, kind, url, permalink, thumb })),
      });
    } catch (err) {
      // no answer at all (an error with no code): the background was stopped mid-scan (Chrome stops an
      // idle worker: "the message channel closed"), its scan kept: followed on as restored there, not
      // "Scan failed" with the browser's words over checks the backend has
      const kept = !err.code && await FL.ask("scan-state", { tabId: tab.id, scanId: page.scanId }).catch(() => null);
      if (kept && Array.isArray(kept.checks) && kept.checks.length === items.length) answer = kept;
      else failure = err;
    }
    if (failure) {
      const err = failure;
      // no check was made: every row says so too, instead of "Checking…" for ever (why: once, above them)
      shown.stop();
      shown.rows.forEach((row, i) => FL.updateRow(row, items[i], FL.notSentCheck(err)));
      say(`Scan failed: ${err.message}`);
      await FL.showConnection();
      FL.setBusy(button, false);
      return;
    }
    answer.checks.forEach((check, i) => shown.update(i, check));
    if (await shown.done) say(`${PAGE_CHANGED} ${$("summary").textContent}`);
    else announce(`Scan finished: ${$("summary").textContent}`);
    FL.setBusy(button, false);
  }

  // A scan background.js follows no more, its page reloaded or left (the new page cannot show its verdicts).
  const PAGE_CHANGED = "The page changed (reloaded or left): scan again.";

  // The rows of a scan of `tab`, kept up to date from background.js's messages about it; `done`
  // resolves once every check is final, or with "page_changed" when background.js ended the scan
  // before that (the rows it no longer follows say so, instead of waiting for ever).
  function show(tab, scanId, items, pageUrl, known = []) {
    const rows = items.map((item) => FL.resultRow(item, pageUrl));
    $("results").replaceChildren(...rows);
    const checks = items.map((_, i) => known[i] || null);
    let finish;
    const done = new Promise((resolve) => { finish = resolve; });
    let troubleShown = false;
    const update = (i, check) => {
      // an answer overtaken by the message that it ended (both come from background.js) is old news
      if (!rows[i] || !check || (FL.isFinal(checks[i]) && !FL.isFinal(check))) return;
      checks[i] = check;
      // the backend went away (or refused the token) during the scan: the line above says so, with its
      // fix, not "Connected" for as long as the popup is open (once: every row fails alike)
      if (!troubleShown && FL.connectionTrouble(check.error)) {
        troubleShown = true;
        FL.showConnection();
      }
      FL.updateRow(rows[i], items[i], check);
      summarize(items, checks);
      if (checks.every(FL.isFinal)) finish();
    };
    const ended = (why) => {
      const left = { status: "cancelled", error: { code: why, message: "not followed: the page changed" } };
      checks.forEach((check, i) => {
        if (FL.isFinal(check)) return;
        checks[i] = left;
        FL.updateRow(rows[i], items[i], left);
      });
      summarize(items, checks);
      finish(why);
    };
    const listener = (message) => {
      if (!message || message.tabId !== tab.id || message.scanId !== scanId) return false;
      if (message.type === "scan-update") update(message.index, message.check);
      if (message.type === "scan-ended") ended(message.why);
      return false;   // no answer: background.js expects none
    };
    ext.runtime.onMessage.addListener(listener);
    const stop = () => ext.runtime.onMessage.removeListener(listener);
    done.then(stop);
    checks.forEach((check, i) => check && FL.updateRow(rows[i], items[i], check));
    summarize(items, checks);
    if (checks.length && checks.every(FL.isFinal)) finish();
    return { rows, update, done, stop };
  }

  // A popup opened again on a page scanned before (the last one closed with a click on the page): the
  // scan as it stands, followed on if it is still running.
  async function resume(tab) {
    let scanId;
    try {
      scanId = await ext.tabs.sendMessage(tab.id, { type: "scan-id" }, { frameId: 0 });
    } catch {
      return;   // no content script there: nothing was scanned
    }
    const state = scanId && typeof scanId === "string" ? await FL.ask("scan-state", { tabId: tab.id, scanId }).catch(() => null) : null;
    if (!state || !Array.isArray(state.rows) || !state.rows.length || FL.isBusy($("scan"))) return;
    const button = $("scan");
    FL.setBusy(button, true);
    const shown = show(tab, scanId, state.rows, state.pageUrl, state.checks);
    if (await shown.done) say(`${PAGE_CHANGED} ${$("summary").textContent}`);
    FL.setBusy(button, false);
  }

  async function siteSwitch(tab) {
    const site = STORE.test(tab.url || "") ? "" : FL.siteKey(tab.url);   // no badges there, whatever it says
    const box = $("site-on");
    if (!site) {
      box.disabled = true;
      return;
    }
    $("site-name").textContent = site;
    const settings = await FL.getSettings();
    box.checked = !FL.siteListed(settings.disabledSites, site);
    // switched off through a parent domain (facebook.com for m.facebook.com): that entry is changed in Options
    const parent = settings.disabledSites.find((d) => d !== site && FL.siteListed([d], site));
    if (parent) {
      box.disabled = true;
      $("site-name").textContent = `${site} (off for all of ${parent}: change it in Options)`;
      return;
    }
    // sent at once to background.js, which stores it even when the popup closes with the click
    // (not stored: the box goes back and says why, or the next popup showed the old state unexplained)
    box.addEventListener("change", () => {
      const on = box.checked;
      FL.ask("switch-site", { site, on }).catch((err) => {
        if (box.checked === on) box.checked = !on;   // (unless clicked again meanwhile)
        say(`Not saved: ${err.message}`);
      });
    });
  }

  // Site access withheld (Firefox lets the user take it away in about:addons; Chrome's "on click" site
  // access): no badge here and no scan, which only Scan used to say. Said on opening, with the grant
  // Options offers. The browser hides the address of a tab on a site FakeLens may not read: with none,
  // it is such a site or a browser page (closed to every extension), told apart only when FakeLens may
  // read every site (then it is a browser page, said by whyNotRunning on Scan).
  const ALL_SITES = { origins: ["<all_urls>"] };
  const WEB_PAGES = { origins: ["http://*/*", "https://*/*"] };   // what the content scripts match
  async function allowedOn(tab) {
    const url = (tab && tab.url) || "";
    const contains = (what) => ext.permissions.contains(what).catch(() => true);   // (unknown: nothing said)
    if (/^https?:/i.test(url)) {
      const u = new URL(url);   // a match pattern has no port (Firefox refuses one, and the notice hid)
      return (await contains({ origins: [`${u.protocol}//${u.hostname}/*`] })) ? "yes" : "no";
    }
    if (url) return "yes";   // a page no grant opens (a browser page, a file, FakeLens's own)
    return (await contains(WEB_PAGES)) || (await contains(ALL_SITES)) ? "yes" : "unsure";
  }
  async function showAccess(tab) {
    const allowed = await allowedOn(tab);
    // (a status line is shown before its words are written: words written while hidden are not read)
    $("access").hidden = allowed === "yes";
    $("accessWhy").textContent = allowed === "yes" ? ""
      : "FakeLens is not allowed on this site" + (allowed === "unsure" ? " (or this is a browser page, closed to every extension)" : "")
        + ": it shows no badges here and cannot scan the page.";
    if (allowed === "yes") return true;
    const box = $("site-on");
    box.disabled = true;
    box.title = "FakeLens is not allowed on this site";
    return false;
  }
  $("grantAccess").addEventListener("click", async () => {
    // asked for first: the browser grants a request only inside the click's own turn
    const granted = await ext.permissions.request(ALL_SITES).catch(() => false);
    $("accessNote").textContent = granted ? "Allowed: reload the page, then scan it."
      : "Not allowed. FakeLens stays off on pages until you allow it here, in Options or in the browser's Extensions menu.";
    if (!granted) return;
    $("accessWhy").textContent = "";
    $("grantAccess").hidden = true;
  });

  (async () => {
    $("options").addEventListener("click", (event) => {
      event.preventDefault();
      ext.runtime.openOptionsPage();
    });
    const tab = await targetTab();
    $("scan").addEventListener("click", () => scan(tab));
    await Promise.all([FL.showConnection(), siteSwitch(tab).then(() => showAccess(tab)), tab && resume(tab)]);
  })();
})();
