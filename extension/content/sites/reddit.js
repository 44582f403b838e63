// reddit.com: new Reddit wraps each post in <shreddit-post permalink="/r/…/comments/…"> and draws
// media inside shadow roots (shreddit-player, gallery-carousel); old Reddit has a.comments links.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  FL.sites.add({
    name: "reddit",
    hosts: ["reddit.com"],
    permalink(el) {
      const post = FL.closestComposed(el, "shreddit-post, article, .thing");
      if (!post) return null;
      const attr = post.getAttribute("permalink") || post.getAttribute("data-permalink");
      if (attr) return new URL(attr, location.href).href;
      return FL.findLink(post, /\/comments\/\w+/);
    },
  });
})();
