// Right-click: "Check this image", "Check this video", "Check this link", and for sites whose
// overlay swallows the target, "Check the image or video here" (the content script of the page or
// frame clicked finds the media under the last right-click point with elementsFromPoint; in a frame
// where none answers, such as one opened before FakeLens was installed, the frame's page is checked
// as a link would be: an embedded player's video). That one shows over links and selected text too:
// the browser's "page" context leaves out both, and a photo's overlay is often a link (Instagram's
// grid, a news card's stretched link).
const MENUS = [
  { id: "fakelens-check-image", title: "Check this image", contexts: ["image"] },
  { id: "fakelens-check-video", title: "Check this video", contexts: ["video"] },
  { id: "fakelens-check-link", title: "Check this link", contexts: ["link"] },
  { id: "fakelens-check-here", title: "Check the image or video here", contexts: ["page", "frame", "link", "selection"] },
];

export function installContextMenus({ ext, startCheck, untilDone }) {
  const menus = ext.contextMenus || ext.menus;
  if (!menus) return { handleClick: async () => null };   // Firefox for Android has no menus
  Promise.resolve(menus.removeAll()).then(() => {
    for (const item of MENUS) menus.create(item, () => void ext.runtime.lastError);
  });

  // Ask the content script of that frame about the right-clicked media (permalink, bytes of blob: images).
  async function askTab(tab, frameId, message) {
    if (!tab || tab.id === undefined || tab.id < 0) return null;
    try {
      return await ext.tabs.sendMessage(tab.id, message, { frameId: frameId || 0 });
    } catch {
      return null; // no content script here (a browser page, or switched off for this site)
    }
  }

  function mediaFor(info, tab, target) {
    const media = choose(info, tab, target);
    // the tab's page decides whether cookies go with an image (background.js, sameSite)
    return media && { ...media, tabUrl: (tab && tab.url) || info.pageUrl };
  }

  function choose(info, tab, target) {
    const pageUrl = info.frameUrl || info.pageUrl || (tab && tab.url);
    switch (info.menuItemId) {
      case "fakelens-check-image":
        return { kind: "image", url: (target && target.url) || info.srcUrl, pageUrl, permalink: target && target.permalink };
      case "fakelens-check-video":   // the site's address for it where it has one (a TikTok video's post)
        return { kind: "video", url: (target && target.kind === "video" && target.url) || info.srcUrl, pageUrl,
                 permalink: target && target.permalink };
      case "fakelens-check-link":
        return { kind: "auto", url: info.linkUrl, pageUrl };
      case "fakelens-check-here":
        if (target && target.url) return { kind: target.kind, url: target.url, permalink: target.permalink, pageUrl };
        // A frame whose content script did not answer (an embedded player): check its page, as a link.
        if (info.frameId && /^https?:/.test(info.frameUrl || "")) return { kind: "auto", url: info.frameUrl, pageUrl: info.pageUrl };
        return null;
      default:
        return null;
    }
  }

  // Runs one check and shows its result where it was asked for; resolves with the final check.
  async function handleClick(info, tab) {
    // a link's verdict is about the page it links to: not drawn on the picture under it (a tab opens)
    const target = info.menuItemId === "fakelens-check-link" ? null
      : await askTab(tab, info.frameId, { type: "context-target", srcUrl: info.srcUrl || null });
    const media = mediaFor(info, tab, target);
    // the token names the right-clicked element, so a later right-click elsewhere does not take the result
    const tell = (check) => askTab(tab, info.frameId, { type: "context-result", check, token: target && target.token });
    const openReport = (query) => ext.tabs.create({ url: ext.runtime.getURL(`report/report.html?${query}`) });
    let check;
    let opened = false;
    if (!media || !media.url) {
      check = { status: "failed", error: { code: "not_found", message: "No image or video found where you clicked" } };
    } else {
      try {
        check = await startCheck(media);
        // Nowhere on the page to draw it (a link, a frame's page): the report tab opens now and shows the
        // check's progress until its report (a video page can take a minute, and nothing said it had begun).
        if (!(await tell(check)) && check.id && !globalThis.FakeLens.isFinal(check)) {
          opened = true;
          await openReport(`id=${encodeURIComponent(check.id)}`);
        }
        check = await untilDone(check, tell);
      } catch (err) {
        check = err.code === "not_found" && check ? globalThis.FakeLens.removedCheck()   // made, then cleared from the history
          : globalThis.FakeLens.failedCheck(err);
      }
    }
    const shown = await tell(check);
    if (!shown && !opened) {
      // Nowhere on the page to draw it (a link, a frame, a browser page): open the report, or the reason it failed.
      await openReport(check.id ? `id=${encodeURIComponent(check.id)}`
        : `error=${encodeURIComponent(check.error.message)}&code=${encodeURIComponent(check.error.code || "")}`);
    }
    return { ...check, media };
  }

  menus.onClicked.addListener((info, tab) => {
    handleClick(info, tab);
  });
  return { handleClick };
}
