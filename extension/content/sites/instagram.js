// instagram.com: a post is an <article> with a /p/<code>/ or /reel/<code>/ link; photos carry a
// srcset (the largest candidate is taken) and sit under a transparent overlay that eats clicks.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  FL.sites.add({
    name: "instagram",
    hosts: ["instagram.com"],
    permalink(el) {
      const post = FL.closestComposed(el, "article");
      return FL.findLink(post, /^\/(p|reel|reels|tv)\/[\w-]+/);
    },
  });
})();
