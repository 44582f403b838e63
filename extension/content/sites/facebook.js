// facebook.com: posts are [role=article]; permalinks look like /posts/, /videos/, /reel/, /watch,
// /photo(s), a group's /permalink/ or permalink.php / story.php. The word must be a whole path segment: a page named
// /photographydaily or /watchmojo is a profile, not a post. A video is named by the video link
// nearest it (a shared video sits in a post whose own link is /posts/).
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  const VIDEO = /\/(videos|reels?|watch)(\/|\?|$)/;
  const POST = /\/(posts|videos|reels?|watch|photos?|permalink)(\/|\?|$)|\/(permalink|story|photo)\.php/;
  FL.sites.add({
    name: "facebook",
    hosts: ["facebook.com", "fb.com"],
    permalink(el) {
      const post = FL.closestComposed(el, "[role=article], article");
      return (el.tagName === "VIDEO" && FL.nearestLink(el, post, VIDEO)) || FL.nearestLink(el, post, POST);
    },
  });
})();
