// "Scan this page" (toolbar popup): list the page's media for the popup, and draw the verdicts
// background.js follows for that scan on the matching media.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  let lastScan = [];
  // names this document's last scan: background.js sends its verdicts with it, and one from an earlier
  // scan (whose item numbers meant other media) is not drawn
  let scanId = "";
  // blob: images go as their bytes (data: URLs, in one message to the popup): up to this many
  // characters in all; past it they fail with a clear error rather than a message too large.
  const MAX_BYTES_CHARS = 32 * 1024 * 1024;

  FL.contentHandlers["scan-page"] = async () => {
    const seen = new Set();
    lastScan = [];
    scanId = FL.randomId();
    const items = [];
    for (const el of FL.findAllMedia((FL.settings || FL.DEFAULT_SETTINGS).minSize)) {
      const media = FL.describeMedia(el);
      if (!media || !media.url) continue;
      const key = `${media.kind} ${media.key}`;   // (blob: and MediaSource videos by their post)
      if (seen.has(key)) continue;
      seen.add(key);
      lastScan.push({ el, url: media.key });
      items.push({ index: items.length, ...media });
    }
    let budget = MAX_BYTES_CHARS;
    for (const item of items) {
      if (item.kind !== "image" || !/^blob:/.test(item.url)) continue;
      const dataUrl = await FL.readableUrl(item.url);
      if (dataUrl === item.url || dataUrl.length > budget) continue;
      budget -= dataUrl.length;
      item.sendUrl = dataUrl; // the row keeps showing the blob: URL
    }
    // contentType: a PDF shown by the browser is a page of no pictures of its own (its pictures are not looked at)
    return { scanId, pageUrl: location.href, title: document.title, contentType: document.contentType, uiAllowed: FL.uiAllowed(), items };
  };

  // for a popup opened again: which scan this document's badges come from
  FL.contentHandlers["scan-id"] = () => scanId;

  FL.contentHandlers["scan-results"] = ({ scanId: of, results }) => {
    if (!of || of !== scanId) return "other-scan";   // background.js then stops following that scan
    if (!FL.uiAllowed()) return false;
    for (const { index, check } of results || []) {
      const { el, url } = lastScan[index] || {};
      // a connection failure is no verdict on the media: the popup says it, the page is left alone
      if (el && el.isConnected && check && !FL.connectionTrouble(check.error)) FL.badges.show(el, check, "", url);
    }
    return true;
  };
})();
