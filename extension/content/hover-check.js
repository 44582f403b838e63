// Hovering an image or video shows a small "Check" pill on its corner; clicking it checks that
// media. Found through overlays and shadow roots with elementsFromPoint.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  let pill = null;
  let target = null;
  let frame = 0;
  let lastPoint = null;

  function makePill() {
    // a plain <div> (find-media.js): no page's class runs on it
    const host = FL.makeOwnHost("pill", "position: fixed !important; z-index: 2147483647 !important; display: none;");
    const shadow = host.attachShadow({ mode: "open" });
    const style = document.createElement("style");
    style.textContent = `:host { all: initial; direction: ltr; unicode-bidi: isolate; }
      :host::before, :host::after { content: none !important; }
      button { font: 600 12px/16px system-ui, sans-serif; padding: 3px 10px; border-radius: 12px; cursor: pointer;
        color: #fff; background: #263238; border: 1px solid rgba(255,255,255,.7); box-shadow: 0 1px 3px rgba(0,0,0,.45); }
      button:hover, button:focus { background: #37474f; }`;
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Check";
    // the keyboard's way to the same check (manifest.json's commands), which no pointer user would find;
    // the user may have changed its shortcut, which a content script cannot read (Options names it)
    button.title = "Check this with FakeLens (from the keyboard: Alt+Shift+K, unless changed in the browser's " +
      "extension shortcuts, on the image or the link around it)";
    button.addEventListener("click", (event) => {
      event.preventDefault();
      event.stopPropagation();
      if (!event.isTrusted) return; // not the page's scripts
      // a page that renders again (React) may have put a new element in the old one's place meanwhile:
      // the media under the pointer now, not the one taken out of the page
      const el = target && !target.isConnected
        ? lastPoint && FL.mediaAtPoint(lastPoint.x, lastPoint.y, FL.settings.minSize) : target;
      hide();
      if (el) FL.checkElement(el, { userAsked: true });
    });
    shadow.append(style, button);
    document.documentElement.append(host);
    return host;
  }

  // While the pill shows: its media taken out of the page with no pointer move (a re-render, a viewer
  // closed) moves or hides it. Only then: every frame of every page (an ad's blank frames too) runs this.
  let watch = 0;

  function hide() {
    if (pill) pill.style.setProperty("display", "none", "important");
    target = null;
    clearInterval(watch);
    watch = 0;
  }

  function showFor(el) {
    pill = pill && pill.isConnected ? pill : makePill();
    target = el;
    watch = watch || setInterval(() => {
      if (target && !target.isConnected && !frame) frame = requestAnimationFrame(update);
    }, 500);
    FL.toLayer(pill, el);   // in a modal dialog or popover the media is in, above the page
    // on the part of the media in view, as its badge: a tall photo scrolled half out of the window had
    // its pill above the window, out of reach
    const r = FL.shownPart(el);
    // below a header fixed to the window that the media's top is scrolled under: on it, the pill
    // covered the header's links, and a click meant for them checked the photo
    let top = r.top;
    for (let i = 0, over; i < 4 && (over = FL.pinnedOver(el, r.left + 20, top + 18)); i++) {
      top = Math.min(Math.max(top, over.getBoundingClientRect().bottom), r.bottom - 30);
    }
    const origin = FL.layerOrigin(pill.parentNode);   // a transformed dialog's corner, else the window's
    FL.unzoom(pill);
    pill.style.setProperty("left", `${Math.round(r.left + 6 - origin.x)}px`, "important");
    pill.style.setProperty("top", `${Math.round(top + 6 - origin.y)}px`, "important");
    pill.style.setProperty("display", "block", "important");
  }

  function update() {
    frame = 0;
    if (!lastPoint || !FL.uiAllowed()) return hide();
    const { x, y } = lastPoint;
    // not media that a layer fixed to the window hides here (a header, a "Sign in" wall): the pill
    // went on top of that layer's controls and took their clicks
    const found = FL.mediaAtPoint(x, y, FL.settings.minSize);
    const el = found && !FL.pinnedOver(found, x, y) ? found : null;
    if (target && !target.isConnected) target = null;   // taken out of the page: the pill goes, or moves to what took its place
    if (el && el !== target && !FL.badges.has(el) && FL.isBigEnough(el, FL.settings.minSize)) return showFor(el);
    if (el && el === target) return;
    if (!el && target && pill && pill.style.display !== "none") {
      // Keep the pill while the pointer is on it.
      const r = pill.getBoundingClientRect();
      if (x >= r.left && x <= r.right && y >= r.top && y <= r.bottom) return;
    }
    if (!el || FL.badges.has(el)) hide();
  }

  // The element with the focus, inside open shadow roots too.
  function focused() {
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    return el;
  }

  // The keyboard command (background.js): the media in focus (or in the focused link or button, a
  // photo's usual wrapper: FL.mediaInside), else the one under the pointer; its badge takes the focus
  // at once (it says "Checking…", then the verdict), so a screen reader reads it.
  FL.contentHandlers["check-focused"] = async () => {
    const el = focused();
    // a page whose focus is in one of its frames "has focus" too: the frame acts, not the page
    if (!document.hasFocus() || !FL.uiAllowed() || (el && /^I?FRAME$/.test(el.tagName))) return false;
    const media = (el && el !== document.body && FL.mediaKind(el) ? el : null)
      || FL.mediaInside(el, FL.settings.minSize)
      || (lastPoint && FL.mediaAtPoint(lastPoint.x, lastPoint.y, FL.settings.minSize));
    if (!media) {
      // said, or the key seemed to do nothing (the frame with the focus is the only one to say it)
      FL.badges.say("FakeLens: no image or video in focus or under the pointer to check");
      return false;
    }
    hide();
    const check = FL.checkElement(media, { userAsked: true });   // draws its badge before it waits
    FL.badges.focus(media);
    return Boolean(await check);
  };

  FL.startHoverCheck = () => {
    addEventListener(
      "mousemove",
      (event) => {
        if (!event.isTrusted) return; // only the user's pointer places the pill
        lastPoint = { x: event.clientX, y: event.clientY };
        if (!frame) frame = requestAnimationFrame(update);
      },
      { capture: true, passive: true },
    );
    addEventListener("scroll", hide, { capture: true, passive: true });
  };
})();
