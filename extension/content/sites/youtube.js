// youtube.com: the player's video is the watch page itself (or the Short); a thumbnail's
// permalink is the link it sits in.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  const VIDEO_PAGE = /^\/(watch|shorts\/)/;

  // The video this page plays. YouTube moves between videos without reloading and leaves the
  // canonical link naming the first one, so the address bar wins on a watch page or a Short
  // (keeping only the video's id); the canonical link only elsewhere (an embed, a channel's trailer).
  function watchPage() {
    if (VIDEO_PAGE.test(location.pathname)) {
      const id = new URLSearchParams(location.search).get("v");
      return location.pathname === "/watch" && id ? `${location.origin}/watch?v=${encodeURIComponent(id)}`
        : location.origin + location.pathname;
    }
    const canonical = document.querySelector('link[rel="canonical"]');
    return canonical && VIDEO_PAGE.test(new URL(canonical.href).pathname) ? canonical.href : location.href;
  }

  FL.sites.add({
    name: "youtube",
    hosts: ["youtube.com", "youtu.be"],
    permalink(el) {
      const link = FL.closestComposed(el, 'a[href*="/watch"], a[href*="/shorts/"]');
      if (link) return link.href;
      if (el.tagName === "VIDEO") return watchPage();
      return null;
    },
  });
})();
