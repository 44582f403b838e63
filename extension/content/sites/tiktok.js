// tiktok.com: a post's address is /@handle/video/<id> (or /photo/<id> for a slideshow). A profile's
// grid and search results wrap each thumbnail in a link to it; the feed's cards have no such link,
// but TikTok's player names its wrapper xgwrapper-<slot>-<video id>. A video is checked by its post,
// which yt-dlp resolves: its own source is blob: or a signed CDN address that wants the page's cookies.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  const POST_PATH = /^\/@[\w.-]*\/(video|photo)\/\d+/;
  const VIDEO_PATH = /^\/@[\w.-]*\/video\/\d+/;   // what yt-dlp reads (not a slideshow's /photo/)
  // yt-dlp knows a post by this host only (not tiktok.com or m.tiktok.com)
  const POST_ORIGIN = "https://www.tiktok.com";
  const CARD = '[data-e2e="recommend-list-item-container"], [data-e2e="user-post-item"], article';

  // The player around a video: its id says which post it plays.
  function playerPost(el) {
    const wrapper = FL.closestComposed(el, '[id^="xgwrapper-"]');
    const id = wrapper && /^xgwrapper-\d+-(\d{6,})$/.exec(wrapper.id);
    if (!id) return null;
    const card = FL.closestComposed(wrapper, CARD);
    // the author's handle from the card; TikTok (and yt-dlp) find a post by its id under any handle
    const author = card && (card.querySelector('a[data-e2e="video-author-avatar"][href*="/@"]')
      || card.querySelector('a[href*="/@"]'));
    return `${POST_ORIGIN}/@${author ? handleOf(author) : ""}/video/${id[1]}`;
  }

  // The link's path on TikTok, or null (another site's link, or no URL).
  function tiktokPath(href) {
    try {
      const url = new URL(href, location.href);
      return url.hostname === "tiktok.com" || url.hostname.endsWith(".tiktok.com") ? url.pathname : null;
    } catch {
      return null;
    }
  }

  const handleOf = (link) => /^\/@([\w.-]+)/.exec(tiktokPath(link.getAttribute("href")) || "")?.[1] || "";

  // The post an address leads to (query and hash dropped, on yt-dlp's host), or null.
  function postOf(href, pattern = POST_PATH) {
    const path = pattern.exec(tiktokPath(href) || "");
    return path ? POST_ORIGIN + path[0] : null;
  }

  // A thumbnail inside its post's link, a video by its player, media in an embedded post by the
  // frame's address, else the post link nearest it in its card; null (the tab's address goes
  // instead) on a post's own page without a player TikTok's way.
  function permalink(el) {
    const video = el.tagName === "VIDEO";
    const pattern = video ? VIDEO_PATH : POST_PATH;   // a video is fetched by its post
    const link = FL.closestComposed(el, "a[href]");
    const linked = link && postOf(link.getAttribute("href"), pattern);
    if (linked) return linked;
    const played = video ? playerPost(el) : null;
    if (played) return played;
    // an embedded post (the frame news sites show, /embed/v2/<id>, which yt-dlp does not read)
    const embedded = /^\/embed(?:\/v\d+)?\/(\d+)/.exec(location.pathname);
    if (embedded) return `${POST_ORIGIN}/@/video/${embedded[1]}`;
    const card = FL.closestComposed(el, CARD);
    const near = card && FL.nearestLink(el, card, pattern);
    return near ? postOf(near, pattern) : null;
  }

  FL.sites.add({
    name: "tiktok",
    hosts: ["tiktok.com"],
    permalink,
    mediaUrl: (el, url, kind, post) => (kind === "video" && post) || url,
  });
})();
