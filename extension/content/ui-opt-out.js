// When FakeLens may draw on a page: not where the page says
// <meta name="CR-allow-UI-injection" content="false">, and not on a site switched off in Options
// (nor in a frame of one).
(() => {
  "use strict";
  const FL = globalThis.FakeLens;

  FL.pageRefusesUi = () => {
    for (const meta of document.querySelectorAll("meta[name]")) {
      if (meta.name.toLowerCase() === "cr-allow-ui-injection" && (meta.content || "").trim().toLowerCase() === "false") {
        return true;
      }
    }
    return false;
  };

  // In a frame (an embedded post or player), a site switched off covers what it embeds: the pages it
  // sits in count too, where the browser names them (location.ancestorOrigins: Chrome, and recent
  // Firefox; without it a frame goes by its own site).
  const ancestors = () => [...(location.ancestorOrigins || [])];

  FL.uiAllowed = () => {
    const settings = FL.settings || FL.DEFAULT_SETTINGS;
    if (FL.pageRefusesUi()) return false;
    return ![location.href, ...ancestors()].some((url) => FL.siteListed(settings.disabledSites, FL.siteKey(url)));
  };
})();
