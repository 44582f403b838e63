// facebook.com: posts are [role=article]; permalinks look like /posts/, /videos/, /reel/,
// /photo or permalink.php / story.php.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  FL.sites.add({
    name: "facebook",
    hosts: ["facebook.com", "fb.com"],
    permalink(el) {
      const post = FL.closestComposed(el, "[role=article], article");
      return FL.findLink(post, /\/(posts|videos|reel|watch|photo)|permalink\.php|story\.php/);
    },
  });
})();
