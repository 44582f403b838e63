// Page scans ("Scan this page" in the popup), one per tab, kept here rather than in the popup. A click
// on the page closes Chrome's popup: the scan went on uploading every picture while the verdicts,
// which only the popup drew on the page, were lost with it, and a popup opened again showed nothing.
// Here each check is followed to its end, drawn on the page the moment it is final, and told to any
// popup open; a popup opened again on the same page shows the scan as it stands.
export function installPageScans({ ext, scan, getCheck }) {
  const FL = globalThis.FakeLens;
  const scans = new Map();   // tab id → { tabId, scanId, pageUrl, rows, checks }

  // A new document or a new scan of the tab ends the old one's following.
  const current = (state) => scans.get(state.tabId) === state;

  function tell(state, index, { page = true } = {}) {
    const check = state.checks[index];
    // to the popup, when one is open (none is: the promise fails, and nothing is lost)
    ext.runtime.sendMessage({ type: "scan-update", tabId: state.tabId, scanId: state.scanId, index, check })
      .catch(() => {});
    if (page && FL.isFinal(check)) {   // the page's content script draws it where that scan found the media
      ext.tabs.sendMessage(state.tabId, { type: "scan-results", scanId: state.scanId, results: [{ index, check }] },
                           { frameId: 0 }).then((answer) => {
        // another page in the tab now (or one the scan's document no longer knows): the scan ends there
        if (answer === "other-scan") pageChanged(state);
      }, () => pageChanged(state));   // no page answers: the tab went where FakeLens does not run (a PDF, a browser page)
    }
  }

  // The scan ends, and a popup following it is told why (its rows waited on checks no longer followed, for ever).
  function pageChanged(state) {
    if (!current(state)) return;
    scans.delete(state.tabId);
    ext.runtime.sendMessage({ type: "scan-ended", tabId: state.tabId, scanId: state.scanId, why: "page_changed" })
      .catch(() => {});
  }

  async function follow(state) {
    state.checks.forEach((check, i) => tell(state, i));
    await FL.followChecks(state.checks, async (id) => {
      await ext.runtime.getPlatformInfo();   // an extension API call keeps Chrome's service worker alive
      return getCheck(id);
    }, (i, check) => {
      state.checks[i] = { ...check, sent_url: state.checks[i].sent_url };
      tell(state, i);
    }, (i, err) => {
      // gone from the backend while followed: the history was cleared (Options), not a failure
      state.checks[i] = err.code === "not_found" ? FL.removedCheck()
        : FL.failedCheck(err);
      tell(state, i);
    }, { active: () => current(state) });
  }

  ext.tabs.onRemoved.addListener((tabId) => scans.delete(tabId));

  const handlers = {
    // `rows`: what the popup shows of each item (kind, addresses, thumbnail), for a popup opened again.
    // Answers once every item is uploaded or sent; the checks are followed here after that.
    async scan({ tabId, scanId, items, rows, pageUrl }) {
      items = items || [];
      const state = { tabId, scanId, pageUrl, rows: rows || [], checks: new Array(items.length).fill(null) };
      if (Number.isInteger(tabId)) scans.set(tabId, state);
      let checks;
      try {
        // (a scan of no tab is kept nowhere: nothing replaces it)
        checks = await scan(items, pageUrl, () => !Number.isInteger(tabId) || current(state));
      } catch (err) {
        if (current(state)) {
          scans.delete(tabId);
          // a popup opened again meanwhile waits on these rows: each says why (the first popup gets the
          // error); nothing is drawn on the page, as the first popup draws nothing of a failed scan
          state.checks = items.map(() => FL.failedCheck(err));
          state.checks.forEach((_, i) => tell(state, i, { page: false }));
        }
        throw err;
      }
      if (current(state)) {
        state.checks = checks.slice();
        follow(state).catch(() => {});
      }
      return { checks };
    },
    // The tab's scan, if it is the scan its page's content script made last (its document's).
    async "scan-state"({ tabId, scanId }) {
      const state = scans.get(tabId);
      if (!state || !scanId || state.scanId !== scanId) return {};
      return { pageUrl: state.pageUrl, rows: state.rows, checks: state.checks };
    },
  };
  // handlers: the messages "scan" and "scan-state"; following: whether a tab's scan is still kept;
  // clearAll: every scan forgotten (the history was cleared)
  return { handlers, following: (tabId) => scans.has(tabId), clearAll: () => scans.clear() };
}
