// instagram.com: a post is an <article> with a /p/<code>/ or /reel/<code>/ link, now often with its
// author first (/natgeo/p/<code>/); photos carry a srcset (the largest candidate is taken) and sit
// under a transparent overlay that eats clicks. A reel's "Original audio" link (/reels/audio/<id>/)
// is no post.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  const POST = /^(\/[^/]+)?\/(p|tv|reels?(?!\/audio\/))\/[\w-]+/;
  FL.sites.add({
    name: "instagram",
    hosts: ["instagram.com"],
    permalink(el) {
      return FL.nearestLink(el, FL.closestComposed(el, "article"), POST);
    },
  });
})();
