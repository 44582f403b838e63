// youtube.com: the player's video is the watch page itself (or the Short); a thumbnail's
// permalink is the link it sits in, a hover preview's the link of the thumbnail it plays over.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  const VIDEO_PAGE = /^\/(watch|shorts\/)/;

  const LOADED_AT = location.href;
  const watchAddress = (id) => `${location.origin}/watch?v=${encodeURIComponent(id)}`;

  // The video this page plays. YouTube moves between videos without reloading and leaves the
  // canonical link naming the first one, so the address bar wins on a watch page or a Short
  // (keeping only the video's id). The miniplayer (a video playing on while the user browses) plays
  // the watch page's video, whose element keeps its id. The canonical link only on a page not moved
  // from since it loaded (an embed, a channel's trailer): after a move it named another video, whose
  // verdict was drawn on this one.
  function watchPage(video) {
    if (VIDEO_PAGE.test(location.pathname)) {
      const id = new URLSearchParams(location.search).get("v");
      return location.pathname === "/watch" && id ? watchAddress(id) : location.origin + location.pathname;
    }
    const watch = document.querySelector("ytd-watch-flexy[video-id], ytd-watch-grid[video-id]");
    if (watch && watch.getAttribute("video-id") && FL.closestComposed(video, "ytd-miniplayer")) {
      return watchAddress(watch.getAttribute("video-id"));
    }
    const canonical = document.querySelector('link[rel="canonical"]');
    return canonical && location.href === LOADED_AT && VIDEO_PAGE.test(new URL(canonical.href).pathname)
      ? canonical.href : location.href;
  }

  const VIDEO_LINK = 'a[href*="/watch"], a[href*="/shorts/"]';

  // A hover preview on the home page or a channel plays over its thumbnail, outside the thumbnail's
  // link: the video is that link's, found under the preview's middle. Only a link whose box matches
  // the video's (the thumbnail it covers), so a miniplayer over some other thumbnail does not take
  // that one's address.
  function thumbnailUnder(video) {
    if (FL.closestComposed(video, "ytd-miniplayer")) return null;
    const box = video.getBoundingClientRect();
    if (!box.width || !box.height) return null;
    for (const hit of document.elementsFromPoint(box.left + box.width / 2, box.top + box.height / 2)) {
      if (hit === video || video.contains(hit)) continue;
      const link = FL.closestComposed(hit, VIDEO_LINK);
      if (!link) continue;
      // the picture hit, or the link itself (an inline link's own box is only its line)
      return Math.max(matching(box, hit.getBoundingClientRect()), matching(box, link.getBoundingClientRect())) > 0.6
        ? link.href : null;
    }
    return null;
  }

  // How well two boxes coincide: their intersection over their union.
  function matching(a, b) {
    const overlap = Math.max(0, Math.min(a.right, b.right) - Math.max(a.left, b.left))
      * Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top));
    return overlap / (a.width * a.height + b.width * b.height - overlap || 1);
  }

  FL.sites.add({
    name: "youtube",
    hosts: ["youtube.com", "youtu.be"],
    permalink(el) {
      const link = FL.closestComposed(el, VIDEO_LINK);
      if (link) return link.href;
      if (el.tagName !== "VIDEO") return null;
      return (!VIDEO_PAGE.test(location.pathname) && thumbnailUnder(el)) || watchPage(el);
    },
  });
})();
