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
      // refused by a full queue: not checked, and another scan once these are done checks them
      const key = !FL.isFinal(check) ? "running" : check.status === "done" ? look.group
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
    const rows = items.map((item) => FL.resultRow(item, pageUrl));
    $("results").append(...rows);
    const checks = new Array(items.length).fill(null);
    summarize(items, checks);
    if (!items.length) {
      announce($("summary").textContent);
      FL.setBusy(button, false);
      return;
    }
    announce(`${items.length} media found; checking them…`);
    let answer;
    try {
      answer = await FL.ask("scan", { items: items.map(({ kind, url, sendUrl, permalink }) => ({ kind, url: sendUrl || url, permalink })), pageUrl });
    } catch (err) {
      // no check was made: every row says so too, instead of "Checking…" for ever
      rows.forEach((row, i) => FL.updateRow(row, items[i], { status: "failed", error: { code: err.code, message: err.message } }));
      say(`Scan failed: ${err.message}`);
      await FL.showConnection();
      FL.setBusy(button, false);
      return;
    }
    const update = (i, check) => {
      checks[i] = check;
      FL.updateRow(rows[i], items[i], check);
      summarize(items, checks);
      // drawn on the page as soon as it is final: a click on the page closes the popup and ends this loop
      if (FL.isFinal(check)) {
        ext.tabs.sendMessage(tab.id, { type: "scan-results", results: [{ index: i, check }] }, { frameId: 0 }).catch(() => {});
      }
    };
    answer.checks.forEach((check, i) => update(i, check));
    // the backend went away during the scan: the line above says so, not "Connected"
    if (answer.checks.some((check) => check && FL.connectionTrouble(check.error))) FL.showConnection();
    // Follow the checks (videos take a while) until every one is final, a few at a time (those the
    // backend is on or takes next: the others wait in line); a backend restarting meanwhile keeps them
    // (lib/follow-check.js)
    await FL.followChecks(answer.checks, (id) => FL.ask("check-status", { id }),
      (i, check) => update(i, { ...check, sent_url: answer.checks[i].sent_url }),
      // gone from the backend while followed: the history was cleared (Options), not a failure
      (i, err) => update(i, err.code === "not_found" ? FL.removedCheck()
        : { status: "failed", error: { code: err.code, message: err.message } }));
    announce(`Scan finished: ${$("summary").textContent}`);
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
    box.addEventListener("change", () => FL.ask("switch-site", { site, on: box.checked }).catch(() => {}));
  }

  (async () => {
    $("options").addEventListener("click", (event) => {
      event.preventDefault();
      ext.runtime.openOptionsPage();
    });
    const tab = await targetTab();
    $("scan").addEventListener("click", () => scan(tab));
    await Promise.all([FL.showConnection(), siteSwitch(tab)]);
  })();
})();
