// x.com / twitter.com: posts are article[data-testid="tweet"]; the permalink is the link around
// the post's <time>; photos come from pbs.twimg.com, where name=large asks for up to 2048 px (a
// smaller name is raised to it; orig and 4096x4096, larger still, are kept).
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  FL.sites.add({
    name: "x",
    hosts: ["x.com", "twitter.com"],
    permalink(el) {
      const post = FL.closestComposed(el, 'article[data-testid="tweet"], article');
      const time = post && post.querySelector('a[href*="/status/"] time');
      if (time) return time.closest("a").href;
      return FL.findLink(post, /\/status\/\d+/);
    },
    mediaUrl(el, url) {
      try {
        const u = new URL(url);
        const name = u.searchParams.get("name");
        if (u.hostname === "pbs.twimg.com" && name && !["orig", "4096x4096"].includes(name)) {
          u.searchParams.set("name", "large");
        }
        return u.href;
      } catch {
        return url;
      }
    },
  });
})();
