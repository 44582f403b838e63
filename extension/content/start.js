// Content script entry: load the settings, route messages, start the page features.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;

  // Automatic checks (and the feed watcher that feeds them) run in the page, and in a frame only
  // when it is an embedded post of a site FakeLens knows: not in every ad's frame (60 ad images
  // checked on one article, and their pages' churn watched). Hover and right-click work everywhere.
  FL.watchHere = window === window.top || FL.sites.known();

  FL.ext.runtime.onMessage.addListener((message, _sender, sendResponse) => {
    const handler = message && FL.contentHandlers[message.type];
    if (!handler) return false;
    Promise.resolve()
      .then(() => handler(message))
      .then(sendResponse, (err) => sendResponse({ error: { code: "internal", message: String(err && err.message) } }));
    return true;
  });

  FL.ext.storage.onChanged.addListener(async (changes, area) => {
    if (area !== "local") return;
    const before = FL.settings || FL.DEFAULT_SETTINGS;
    const wasAllowed = FL.uiAllowed();
    FL.settings = await FL.getPageSettings(); // no token here
    if (changes.disabledSites) await FL.refreshTabSite();
    if (!FL.uiAllowed()) FL.badges.removeAll(); // this site was just switched off
    FL.dropDisallowedChecks(); // and what waits to be checked here, or automatic checks switched off
    // switched on again: the page is looked at afresh (verdicts this page remembers are drawn again, not asked again)
    const backOn = !wasAllowed && FL.uiAllowed();
    if (FL.watchHere && FL.settings.autoCheck && (!before.autoCheck || backOn || changes.tokenSavedAt || changes.backendUrl || changes.minSize)) {
      FL.autoCheck.restart();
    }
  });

  (async () => {
    FL.settings = await FL.getPageSettings(); // no token here
    await FL.refreshTabSite();
    // the pill first: the feed watcher's first look at a large page is long (Firefox stopped it twice
    // as a slow script under load), and the rest of this start never ran, the pill with it
    FL.startHoverCheck();
    if (FL.watchHere) FL.startWatchingFeed();
  })();
})();
