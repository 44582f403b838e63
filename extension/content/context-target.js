// The right-click target. Sites like Instagram lay a transparent overlay over their photos, so
// the context menu sees a <div>; FakeLens remembers the point of the last right-click and finds
// the media under it with elementsFromPoint (through shadow roots).
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  let last = null; // {x, y, el}
  const targets = new Map(); // token -> {el, url}: the element a right-click check was started on, and its media
  // a random token, not a count: a count starts again at 1 in every document, and a check begun before
  // the tab moved to another site drew its verdict on that site's right-clicked media
  const newToken = FL.randomId;

  addEventListener(
    "contextmenu",
    (event) => {
      if (!event.isTrusted) return; // a page's own event must not aim the user's right-click elsewhere
      const minSize = (FL.settings || FL.DEFAULT_SETTINGS).minSize;
      const hit = event.composedPath()[0];
      // a pointer's right button is 2 (Chromium's keyboard menu says -1, Firefox's may say 0); a Mac's
      // Ctrl+click says 0 too, with the button still held (buttons 1): only a menu opened with no button
      // held, by none, can be the keyboard's
      const byKeyboard = event.button !== 2 && event.buttons === 0 && Boolean(hit) &&
        !hitAt(hit, event.clientX, event.clientY);
      last = { x: event.clientX, y: event.clientY, el: pick(hit, event.clientX, event.clientY, minSize, byKeyboard) };
    },
    { capture: true, passive: true },
  );

  // Whether a pointer at (x, y) hits `el`: the point is on its boxes and nothing else lies over it
  // there (into open shadow roots)
  function hitAt(el, x, y) {
    if (!el.getClientRects || ![...el.getClientRects()].some((r) => x >= r.left && x <= r.right && y >= r.top &&
                                                               y <= r.bottom)) return false;
    let top = document.elementFromPoint(x, y);
    while (top && top !== el && top.shadowRoot) {
      const inner = top.shadowRoot.elementFromPoint(x, y);
      if (!inner || inner === top) break;
      top = inner;
    }
    return top === el;
  }

  // The media a context menu opened at (x, y) on `hit` is about: `hit` when it is media that shows at
  // the minimum size. The keyboard (Shift+F10, the Menu key) opens the menu on the focused element at
  // a point where a pointer would not hit it ((0, 0): off it, or on a logo or a hero over it; not
  // the right button: a card's stretched link is right-clicked through its ::after, off its own boxes): a
  // focused link or button wrapping a photo names the photo inside it (FL.mediaInside), however
  // small, as the keyboard command does.
  // A right-click takes the topmost media that shows at the minimum size under the point (not a
  // wrapper's texture, nor a transparent or small picture over it: a spacer, a play button) when it
  // lies inside the element clicked (one of a card's photos, in its gallery's shadow root too); else
  // a photo the element wraps, when it shows at the minimum size, before a small picture under the
  // point (an icon); else what is under the point.
  function pick(hit, x, y, minSize, keyboard) {
    if (hit && FL.mediaKind(hit) && FL.isShown(hit) && FL.isBigEnough(hit, minSize)) return hit;
    // FL.mediaInside deep-queries the element and reads styles: only where it is needed
    const inside = keyboard ? FL.mediaInside(hit, minSize) : null;
    if (inside) return inside;
    const under = FL.mediaAtPoint(x, y, minSize);
    if (under && hit && FL.within(under, hit)) return under;
    const wrapped = keyboard ? null : FL.mediaInside(hit, minSize);
    return wrapped && (!under || FL.isBigEnough(wrapped, minSize)) ? wrapped : under || wrapped;
  }

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
    const token = newToken();
    targets.set(token, { el, url: media.key });
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
