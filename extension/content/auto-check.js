// Optional automatic checks: images that come into view (IntersectionObserver) are checked
// without a hover. Off-screen media cost nothing; a missing backend pauses it for a minute.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  let pausedUntil = 0;

  const visible = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        const el = entry.target;
        if (!FL.settings.autoCheck || !FL.uiAllowed() || Date.now() < pausedUntil) continue;
        if (el.tagName === "IMG" && !el.complete) {
          el.addEventListener("load", () => { visible.unobserve(el); visible.observe(el); }, { once: true });
          continue;
        }
        if (!FL.isBigEnough(el, FL.settings.minSize)) continue;
        visible.unobserve(el);
        FL.checkElement(el);
      }
    },
    { threshold: 0.3 },
  );

  FL.autoCheck = {
    // Called for every image found; videos are checked only when asked (they cost much more).
    observe(el) {
      if (FL.mediaKind(el) === "image") visible.observe(el);
    },
    pause() {
      pausedUntil = Date.now() + 60_000;
    },
    // Settings changed (autoCheck turned on): look at everything again.
    restart(elements) {
      pausedUntil = 0;
      for (const el of elements) {
        visible.unobserve(el);
        this.observe(el);
      }
    },
  };
})();
