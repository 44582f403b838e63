// youtube.com: the player's video is the watch page itself (or the Short); a thumbnail's
// permalink is the link it sits in.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  FL.sites.add({
    name: "youtube",
    hosts: ["youtube.com", "youtu.be"],
    permalink(el) {
      const link = FL.closestComposed(el, 'a[href*="/watch"], a[href*="/shorts/"]');
      if (link) return link.href;
      if (el.tagName === "VIDEO") {
        const canonical = document.querySelector('link[rel="canonical"]');
        return canonical ? canonical.href : location.href;
      }
      return null;
    },
  });
})();
