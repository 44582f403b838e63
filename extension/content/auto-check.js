// Optional automatic checks: images that come into view (IntersectionObserver) are checked
// without a hover. Off-screen media cost nothing; a missing backend pauses it for a minute, and the
// images that came into view meanwhile are looked at again when the minute is over (an observer
// says nothing more about an image that stays in view).
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  const PAUSE_MS = 60_000;
  let pausedUntil = 0;
  let resumeTimer = 0;
  const waiting = new Set(); // seen in view while paused
  // In view but under the minimum size, or not shown (a crossfade's next slide at opacity 0; X's
  // own <img> of a photo, transparent under the picture drawn as a background, which is checked):
  // measured again each second, since growing (a zoom-in reveal, a transform, a layout change) or
  // fading in does not change how much of it is in view, so the observer would say nothing more.
  const small = new Set();
  let smallTimer = 0;

  const ready = (el) => FL.isBigEnough(el, FL.settings.minSize) && FL.isShown(el);

  function measureSmall() {
    smallTimer = 0;
    for (const el of small) {
      if (!el.isConnected) small.delete(el);
      else if (ready(el)) {
        small.delete(el);
        visible.unobserve(el);
        visible.observe(el);
      }
    }
    if (small.size) smallTimer = setTimeout(measureSmall, 1000);
  }

  function resume() {
    resumeTimer = 0;
    const again = [...waiting].filter((el) => el.isConnected);
    waiting.clear();
    for (const el of again) {
      visible.unobserve(el);
      visible.observe(el);
    }
  }

  const visible = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        const el = entry.target;
        if (!entry.isIntersecting) {
          small.delete(el);
          continue;
        }
        if (!FL.settings.autoCheck || !FL.uiAllowed()) continue;
        if (Date.now() < pausedUntil) {
          waiting.add(el);
          continue;
        }
        if (el.tagName === "IMG" && !el.complete) {
          el.addEventListener("load", () => { visible.unobserve(el); visible.observe(el); }, { once: true });
          continue;
        }
        // a lazy loader's placeholder (a 1×1 GIF stretched over the photo's place) holds no face: its
        // real src, when it comes, is looked at then (watch-feed.js)
        if (el.tagName === "IMG" && el.naturalWidth > 0 && el.naturalWidth < 16 && el.naturalHeight < 16) continue;
        if (!ready(el)) {
          // measured again only if it could plausibly grow into a photo: not a 16 px sprite icon (one
          // of no size at all may be a reveal starting from scale(0))
          const { width, height } = el.getBoundingClientRect();
          const side = Math.max(width, height);
          if (side === 0 || side >= FL.settings.minSize / 4) small.add(el);
          if (small.size && !smallTimer) smallTimer = setTimeout(measureSmall, 1000);
          continue;
        }
        small.delete(el);
        visible.unobserve(el);
        FL.checkElement(el);
      }
    },
    { threshold: 0.3 },
  );

  FL.autoCheck = {
    // Called for every image found; videos are checked only when asked (they cost much more).
    // Observed afresh, so the observer reports it at once even if it was observed already (an
    // image whose src changed while in view: a lazy loader's real photo after its placeholder).
    observe(el) {
      // not in a frame where the automatic checks do not run (an ad's: start.js), whoever asks
      if (FL.watchHere === false || FL.mediaKind(el) !== "image") return;
      visible.unobserve(el);
      visible.observe(el);
    },
    pause() {
      pausedUntil = Date.now() + PAUSE_MS;
      clearTimeout(resumeTimer);
      resumeTimer = setTimeout(resume, PAUSE_MS);
    },
    // Settings changed (autoCheck turned on): look at everything again (the feed watcher hands every
    // image, SVG image and background of the page back, each observed afresh).
    restart() {
      pausedUntil = 0;
      waiting.clear();
      FL.rescanFeed();
    },
  };
})();
