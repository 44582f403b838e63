// The right-click target. Sites like Instagram lay a transparent overlay over their photos, so
// the context menu sees a <div>; FakeLens remembers the point of the last right-click and finds
// the media under it with elementsFromPoint (through shadow roots).
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  let last = null; // {x, y, el}
  const targets = new Map(); // token -> {el, url}: the element a right-click check was started on, and its media
  let nextToken = 1;

  addEventListener(
    "contextmenu",
    (event) => {
      if (!event.isTrusted) return; // a page's own event must not aim the user's right-click elsewhere
      // The element clicked when it is media that shows at the minimum size, else the topmost such
      // media under the point: not a wrapper around it (a page's texture), nor a transparent or small
      // picture over it (a spacer, a play button)
      const minSize = (FL.settings || FL.DEFAULT_SETTINGS).minSize;
      // The keyboard (Shift+F10, the Menu key) opens the menu on the focused element at no point of
      // it (0, 0): a focused link or button wrapping a photo names the photo inside it (FL.mediaInside),
      // unless the point is on media inside it (a right-click on one of a card's photos); only a small
      // one inside (an icon) goes after the media under the point
      const hit = event.composedPath()[0];
      const fits = hit && FL.mediaKind(hit) && FL.isShown(hit) && FL.isBigEnough(hit, minSize);
      const under = fits ? null : FL.mediaAtPoint(event.clientX, event.clientY, minSize);
      const inside = fits ? null : FL.mediaInside(hit, minSize);
      const el = fits ? hit : under && hit && hit.contains(under) ? under
        : inside && (!under || FL.isBigEnough(inside, minSize)) ? inside : under || inside;
      last = { x: event.clientX, y: event.clientY, el };
    },
    { capture: true, passive: true },
  );

  function targetFor(srcUrl) {
    const el = last && last.el;
    if (el && el.isConnected) {
      const media = FL.describeMedia(el);
      if (!srcUrl || (media && (media.url === srcUrl || el.currentSrc === srcUrl || el.src === srcUrl))) return el;
    }
    // the browser names the picture it hit: a transparent one over the media clicked is not it
    const named = FL.findByUrl(srcUrl);
    if (named && el && el.isConnected && !FL.isShown(named)) return el;
    return named || (srcUrl ? null : el);
  }

  FL.contentHandlers["context-target"] = async ({ srcUrl }) => {
    const el = targetFor(srcUrl);
    const media = el && FL.describeMedia(el);
    if (!media) return { url: null };
    const token = nextToken++;
    targets.set(token, { el, url: media.url });
    if (targets.size > 20) targets.delete(targets.keys().next().value); // the oldest is long finished
    // a blob: image means nothing outside this page: its bytes go instead, as a data: URL
    const url = media.kind === "image" ? await FL.readableUrl(media.url) : media.url;
    return { kind: media.kind, url, permalink: media.permalink, token };
  };

  const announced = new Set(); // tokens whose verdict was said (the background and this page both report it)
  function draw(token, check) {
    const { el, url } = targets.get(token) || {};
    if (!el || !el.isConnected || !FL.uiAllowed()) return false;
    const fix = check && check.error && FL.connectionTrouble(check.error) ? FL.describeConnection({ state: check.error.code }).fix : "";
    const drawn = FL.badges.show(el, check, fix, url) !== null; // null: the element now shows other media
    if (drawn && check && FL.isFinal(check) && !announced.has(token)) {
      announced.add(token);
      FL.badges.announce(el, check);   // the user asked: the verdict is said once
    }
    return drawn;
  }

  // background.js reports the progress and result of a right-click check; draw it on its element.
  // Its own poll ends with its service worker (Chrome stops an idle one, an update restarts it), so
  // this page follows a running check too: the badge still ends at the verdict.
  const following = new Set(); // tokens of checks this page follows
  FL.contentHandlers["context-result"] = ({ check, token }) => {
    const drawn = draw(token, check);
    if (drawn && check && check.id && !FL.isFinal(check) && !following.has(token)) {
      following.add(token);
      FL.followCheck(check, (id) => FL.ask("check-status", { id }), (next) => draw(token, next), { delay: 1000, longest: 3000 })
        .catch(() => {}) // the background's poll (or the next right-click) says why
        .finally(() => following.delete(token));
    }
    return drawn;
  };
})();
