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

  // In a frame (an embedded post or player), a site switched off covers what it embeds. The frame
  // asks background.js, which knows the tab's page (location.ancestorOrigins is missing in some
  // browsers and "null" under a no-referrer policy); until it answers, the frame stays quiet.
  let tabSiteOff = window !== window.top;
  FL.refreshTabSite = async () => {
    if (window === window.top) return;
    try {
      tabSiteOff = Boolean((await FL.ask("tab-site-off", {})).off);
    } catch {
      tabSiteOff = true;   // no answer (the extension was updated under the page): stay quiet
    }
  };

  FL.uiAllowed = () => {
    const settings = FL.settings || FL.DEFAULT_SETTINGS;
    if (FL.pageRefusesUi() || tabSiteOff) return false;
    // a frame of srcdoc or about:blank content (or a blob: one) is the site of the page that made it
    return !FL.siteListed(settings.disabledSites, FL.siteKey(/^https?:/i.test(location.href) ? location.href : location.origin));
  };
})();
