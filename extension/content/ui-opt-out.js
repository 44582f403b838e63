// When FakeLens may draw on a page: not where the page says
// <meta name="CR-allow-UI-injection" content="false">, and not on a site switched off in Options.
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

  FL.uiAllowed = () => {
    const settings = FL.settings || FL.DEFAULT_SETTINGS;
    if (FL.pageRefusesUi()) return false;
    return !FL.siteListed(settings.disabledSites, FL.siteKey(location.href));
  };
})();
