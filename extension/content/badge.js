// The verdict badge on a media's corner. Each badge lives in its own shadow root so the page's
// CSS cannot restyle it; it follows scrolling and resizing and hides when its media is gone.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  const badges = new Map(); // media element -> {host, chip, tip, check}
  const RETRY = new Set(["failed", "cancelled"]); // a click on such a badge checks again
  // an automatic check waiting in the backend's queue: a click moves it ahead of the other automatic ones
  const waitingAutomatic = (check) => check.status === "queued" && (check.input || {}).priority === "low";
  const CORNER_PX = 14; // the chip's middle, from the media's top right corner
  const TIP_PX = 280; // the tooltip's width
  // the chip stays inside its media (6 px from each side); on media narrower than this it shows only its icon
  const NARROW_PX = 70;

  const CSS = `
    :host { all: initial; direction: ltr; unicode-bidi: isolate; }
    :host::before, :host::after { content: none !important; }   /* a page's div::after, on this <div> too */
    .chip { position: absolute; top: 6px; right: 6px; display: inline-flex; align-items: center; gap: 4px;
      max-width: min(260px, calc(100% - 12px)); box-sizing: border-box; padding: 3px 8px; border-radius: 12px; font: 600 12px/16px system-ui, sans-serif;
      color: #fff; background: #37474f; box-shadow: 0 1px 3px rgba(0,0,0,.45); cursor: pointer;
      pointer-events: auto; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; border: 1px solid rgba(255,255,255,.6); }
    .icon { font-size: 13px; } .text { overflow: hidden; text-overflow: ellipsis; }
    .chip.narrow { padding: 3px 5px; } .chip.narrow .text { display: none; }   /* a thumbnail: the icon; aria-label has all */
    .manipulated { background: #b00020; } .ai { background: #6a1b9a; } .clear { background: #2e5e4e; }
    .uncertain { background: #8a5a00; } .skipped { background: #546e7a; } .error { background: #4e342e; }
    .pending { background: #37474f; }
    .tip { display: none; position: absolute; top: 30px; right: 6px; width: ${TIP_PX}px; max-width: calc(100vw - 32px); padding: 8px 10px; border-radius: 6px;
      background: #fff; color: #111; font: 12px/16px system-ui, sans-serif; box-shadow: 0 2px 10px rgba(0,0,0,.35);
      pointer-events: auto; white-space: normal; max-height: 70vh; overflow: auto; }
    .tip.from-left { right: auto; left: 6px; }
    .tip.above { top: auto; bottom: -8px; }   /* over the chip's top edge: no gap the pointer falls through */
    .tip.dismissed { display: none !important; }
    .tip p { margin: 0 0 4px; } .tip .head { font-weight: 700; }
    .chip:hover + .tip, .chip:focus + .tip, .tip:hover { display: block; }`;

  function create(el) {
    // a plain <div> (find-media.js): no page's class runs on it
    const host = FL.makeOwnHost("badge", "position: fixed !important; z-index: 2147483647 !important;" +
      " height: 0 !important; pointer-events: none !important; top: 0; left: 0;");
    const shadow = host.attachShadow({ mode: "open" });
    const style = document.createElement("style");
    style.textContent = CSS;
    const chip = document.createElement("div");
    chip.className = "chip";
    // a button (Enter and Space work as a click), not a live region: a feed of badges counting up
    // their progress would talk over everything a screen reader says
    chip.tabIndex = 0;
    chip.setAttribute("role", "button");
    chip.setAttribute("aria-describedby", "tip");
    const tip = document.createElement("div");
    tip.className = "tip";
    tip.id = "tip";
    tip.setAttribute("role", "tooltip");
    shadow.append(style, chip, tip);
    const activate = (event) => {
      event.preventDefault();
      event.stopPropagation();
      if (!event.isTrusted) return; // the page's scripts can reach this open shadow root: only the user may click
      const check = (badges.get(el) || {}).check;
      if (!check) return;
      if (check.status === "done" && check.id) FL.ask("open-report", { id: check.id }).catch(() => {});
      else if (RETRY.has(check.status) || waitingAutomatic(check)) FL.checkElement(el, { userAsked: true });
    };
    chip.addEventListener("click", activate);
    chip.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") activate(event);
    });
    // Escape hid the tooltip (below) until the pointer or focus leaves the badge
    for (const type of ["mouseleave", "blur"]) chip.addEventListener(type, () => tip.classList.remove("dismissed"));
    tip.addEventListener("mouseleave", () => tip.classList.remove("dismissed"));
    FL.toLayer(host, el);   // in a modal dialog, popover or fullscreen element the media is in
    const entry = { host, chip, tip, check: null, el };
    badges.set(el, entry);
    resizeObserver.observe(el);
    return entry;
  }

  // "FakeLens on "Photo"", as the page names the media (its alt text), else "FakeLens"
  function aboutMedia(el) {
    const name = (el.getAttribute("alt") || el.getAttribute("aria-label") || el.title || "").trim();
    return `FakeLens${name ? ` on "${name.slice(0, 80)}"` : ""}`;
  }

  // The verdict of a check the user asked for (a right-click, the keyboard command, the hover pill, a
  // badge clicked to try again), said once when it ends in one polite live region (role=status) of
  // FakeLens's own: a badge is no live region (a feed of them would talk over everything). Automatic
  // checks and page scans say nothing. The region is emptied first and written a moment later, so a
  // region just made, or the same words again (a retry), are read too. Switching the site off
  // (removeAll) takes the region away, with its last words, and a verdict not yet written is not.
  let region = null;
  const announce = (el, check) => say(`${aboutMedia(el)}: ${FL.describe(check, el).text}`, el);
  function say(text, el = null) {
    if (!FL.uiAllowed()) return;
    if (!region || !region.isConnected) {
      const host = FL.makeOwnHost("announce", "position: fixed !important; top: 0 !important; left: 0 !important;" +
        " width: 1px !important; height: 1px !important; overflow: hidden !important; clip-path: inset(50%) !important;" +
        " white-space: nowrap !important; pointer-events: none !important;");
      region = document.createElement("div");
      region.setAttribute("role", "status");
      region.setAttribute("aria-live", "polite");
      host.attachShadow({ mode: "open" }).append(region);
    }
    FL.toLayer(region.getRootNode().host, el);   // outside a modal dialog it is inert: not read
    const said = region;
    said.textContent = "";
    setTimeout(() => {
      if (said === region && FL.uiAllowed()) said.textContent = text;
    }, 150);
  }

  function render(entry, check, note) {
    const look = FL.describe(check, entry.el);
    entry.check = check;
    entry.chip.className = `chip ${look.tone}`;
    entry.chip.replaceChildren();
    const icon = document.createElement("span");
    icon.className = "icon";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = look.icon;
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = look.short;
    entry.chip.append(icon, text);
    // which media it is about, as the page names it: a feed's badges are otherwise all alike. The name
    // starts with the words the chip shows (what a speech user says to click it: WCAG 2.5.3)
    entry.chip.setAttribute("aria-label", `${look.short} — ${aboutMedia(entry.el)}: ${look.text}`);
    entry.tip.replaceChildren();
    const head = document.createElement("p");
    head.className = "head";
    // the icon is not read out ("question mark") in the chip's description
    const headIcon = document.createElement("span");
    headIcon.setAttribute("aria-hidden", "true");
    headIcon.textContent = look.icon;
    head.append(headIcon, ` ${look.text}`);
    entry.tip.append(head);
    // the verdict came back about the page's first video: its lines (its score, "decided the verdict")
    // must not read as this one's under "Not checked"
    const details = look.otherVideo ? ["What FakeLens found in the page's first video is in the full report."]
      : check && check.result ? FL.detailLines(check) : [];
    for (const line of [...details, ...(note ? [FL.plainText(note)] : [])]) {
      const p = document.createElement("p");
      p.textContent = line;
      entry.tip.append(p);
    }
    const hint = check && check.id && check.status === "done" ? "Click the badge for the full report."
      : check && RETRY.has(check.status) ? "Click the badge to try again."
      : check && waitingAutomatic(check) ? "Click the badge to check this one first." : "";
    if (hint) {
      const p = document.createElement("p");
      p.textContent = hint;
      entry.tip.append(p);
    }
    // For people reading the DOM (and the tests): the verdict in attributes.
    entry.host.dataset.state = check ? check.status || "failed" : "pending";
    entry.host.dataset.label = look.label || "";
    entry.host.dataset.text = look.text;
    if (check && check.id) entry.host.dataset.checkId = check.id;
  }

  const within = FL.within;   // find-media.js: through shadow roots and slots

  // The window's size less its scrollbars: innerWidth counts a classic (non-overlay) scrollbar, and a
  // badge on media as wide as the window sat partly under it. The root element answers for the window
  // (the body in quirks mode), in window pixels even when the page zooms <html>.
  function view() {
    const root = document.compatMode === "BackCompat" ? document.body : document.documentElement;
    return { width: Math.min(innerWidth, (root && root.clientWidth) || innerWidth),
      height: Math.min(innerHeight, (root && root.clientHeight) || innerHeight) };
  }

  // Is `node`, or one it sits in that `el` does not, fixed to the window (a header, a viewer over the
  // page)? A layer inside the same fixed dialog as the photo is not over it from outside.
  function pinned(node, el) {
    for (let n = node; n && !within(el, n); n = n.assignedSlot || n.parentElement || n.getRootNode().host) {
      const position = getComputedStyle(n).position;
      if (position === "fixed" || position === "sticky") return true;
    }
    return false;
  }

  // The page's topmost element at a window point, FakeLens's own passed over (a shadow root's host
  // for what lies in it: a layer in the media's own component is not over it from outside)
  const topAt = (x, y) => document.elementsFromPoint(x, y).find((n) => !FL.isOwnHost(n)) || null;

  // What the page fixed to the window lies on `el` at (x, y) (a header it scrolls under, a viewer or
  // a "Sign in" wall over the page), else null; a transparent layer in the page's flow is not (a card's
  // stretched link, Instagram's overlay on every photo), nor one inside the same fixed dialog as `el`.
  FL.pinnedOver = (el, x, y) => {
    const top = topAt(x, y);
    return top && top !== el && !within(el, top) && pinned(top, el) ? top : null;
  };

  // `box` inside `r`, give or take 2 px (an overlay or a poster layer of the media's own)
  const inside = (box, r) => box.left >= r.left - 2 && box.top >= r.top - 2 && box.right <= r.right + 2 &&
    box.bottom <= r.bottom + 2;

  // Something of the page's own lies over the corner where the chip goes: a layer fixed to the window
  // (a header the photo scrolls under, a photo viewer opened over the feed) or other media (a
  // carousel's next slide where this one is clipped away). The badge would float on top of it.
  // Transparent layers in the page's flow do not count (a card's link stretched over it, Instagram's
  // overlay on every photo, a player's controls), nor does an element the media sits in.
  // `r`: the part of the media shown (its corner is where the chip goes), `whole`: all of it.
  function covered(el, r, whole) {
    const x = r.right - CORNER_PX, y = r.top + CORNER_PX, { width, height } = view();
    if (x < 0 || y < 0 || x >= width || y >= height) return false;
    const top = topAt(x, y);
    if (!top || top === el || within(el, top)) return false;
    return (FL.mediaKind(top) !== null && !inside(top.getBoundingClientRect(), whole)) || pinned(top, el);
  }

  const up = (n) => n.assignedSlot || n.parentElement || (n.getRootNode() && n.getRootNode().host) || null;

  // The part of `r` (the media's box) its scrolling or clipping containers let show: an app's feed
  // scrolled inside a box under its own header clips the photo, and the badge must not float over
  // the header. An absolutely positioned element escapes the static boxes between it and the box it
  // is placed in; a fixed one all of them.
  function shownPart(el, r = el.getBoundingClientRect()) {
    // the window first: media wider or taller than it keeps its badge on the part in view
    const { width, height } = view();
    let [left, top, right, bottom] = [Math.max(r.left, 0), Math.max(r.top, 0), Math.min(r.right, width),
      Math.min(r.bottom, height)];
    let position = getComputedStyle(el).position;
    let escaping = position === "absolute";
    for (let n = up(el); n && position !== "fixed" && n !== document.body && n !== document.documentElement; n = up(n)) {
      const style = getComputedStyle(n);
      if (!escaping || style.position !== "static") {
        const box = (style.overflowX !== "visible" || style.overflowY !== "visible") && n.getBoundingClientRect();
        if (box && style.overflowX !== "visible") [left, right] = [Math.max(left, box.left), Math.min(right, box.right)];
        if (box && style.overflowY !== "visible") [top, bottom] = [Math.max(top, box.top), Math.min(bottom, box.bottom)];
        escaping = style.position === "absolute";
      }
      position = style.position;
    }
    return { left, top, right, bottom, width: right - left, height: bottom - top };
  }

  FL.shownPart = shownPart;   // the hover pill goes on the same part

  // Where `el`'s badge goes (reads layout only), then writing it (styles only): placing every badge
  // reads all first and writes after, or each write would force a new layout for the next read.
  // Whether a box lies within `margin` of the window (0: in it).
  const near = (r, margin, { width, height } = view()) => r.bottom > -margin && r.right > -margin &&
    r.top < height + margin && r.left < width + margin;

  function measure(el, open) {
    const whole = el.getBoundingClientRect();
    // off the window it is hidden without the walk up its ancestors (a feed scrolled for an hour holds
    // hundreds of badges, each measured on every frame of a scroll)
    if (!near(whole, 0)) return { visible: false, r: whole, hangRight: false, above: false };
    const r = el.isConnected ? shownPart(el, whole) : whole;
    const { width, height } = view();
    // not on media that does not show (a crossfade's slide faded out, a view hidden): the badge
    // would float over the slide or page shown in its place
    const visible = el.isConnected && r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 &&
      r.top < height && r.left < width && FL.isShown(el) && !covered(el, r, whole);
    // the tooltip hangs left from the chip (its width, padding and the chip's inset: TIP_PX + 26); a
    // media near the window's left edge gets it hanging right, from inside the window; near the
    // window's bottom it opens upwards, where there is more room
    const room = height - (r.top + 30);
    const hangRight = r.right < TIP_PX + 26;
    // hanging right, it starts 6 px into the media (or the window), and ends 6 px inside the window where
    // it can: in a window narrower than the media's left plus the tooltip (a 400 px window, a thumbnail at
    // 154 px) it ran past the right edge. Its width as the CSS makes it: min(TIP_PX, 100vw - 32) + padding.
    const tipWidth = Math.min(TIP_PX, innerWidth - 32) + 20;   // (100vw: the scrollbar included)
    const tipLeft = Math.max(6 - r.left, Math.min(6, width - 6 - tipWidth - r.left));
    return { visible, r, hangRight, tipLeft, above: room < Math.min(260, height / 2) && r.top > room,
      origin: visible ? FL.layerOrigin(FL.layerFor(el, open)) : null };
  }

  function apply(entry, { visible, r, hangRight, tipLeft, above, origin }, zoom, open) {
    entry.host.style.setProperty("display", visible ? "block" : "none", "important");
    if (!visible) return;
    FL.toLayer(entry.host, entry.el, open);   // a dialog or popover opened or closed around the media
    unzoom(entry.host, zoom);
    entry.host.style.setProperty("left", `${Math.round(r.left - origin.x)}px`, "important");
    entry.host.style.setProperty("top", `${Math.round(r.top - origin.y)}px`, "important");
    entry.host.style.setProperty("width", `${Math.round(r.width)}px`, "important");
    entry.chip.classList.toggle("narrow", r.width < NARROW_PX);
    entry.tip.classList.toggle("from-left", hangRight);
    entry.tip.style.left = hangRight ? `${Math.round(tipLeft)}px` : "";
    entry.tip.classList.toggle("above", above);
  }

  const place = (el, entry) => {
    const open = FL.openLayers();
    apply(entry, measure(el, open), FL.rootZoom(), open);
  };

  // A page that zooms <html> zooms what hangs on it too, our layers included: the positions written
  // come from getBoundingClientRect (already zoomed), so such a layer is zoomed back to 1.
  FL.rootZoom = () => parseFloat(getComputedStyle(document.documentElement).zoom) || 1;
  function unzoom(host, zoom) {
    if (zoom === 1) host.style.removeProperty("zoom");
    else host.style.setProperty("zoom", String(1 / zoom), "important");
  }
  FL.unzoom = (host) => unzoom(host, FL.rootZoom());

  // Escape hides the tooltip under the pointer or the focus (content shown on hover must be dismissable)
  addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !event.isTrusted) return;
    for (const entry of badges.values()) entry.tip.classList.add("dismissed");
  }, true);

  let frame = 0;
  let checkMedia = false; // set once a second: describing every badge's media is too dear for each scroll frame
  function placeAll() {
    frame = 0;
    const recheck = checkMedia;
    checkMedia = false;
    const placing = [], open = badges.size ? FL.openLayers() : [];
    for (const [el, entry] of badges) {
      if (!el.isConnected) {
        FL.badges.remove(el);
        continue;
      }
      // The element shows other media now (a <picture> source, a responsive candidate, a new video
      // in the same player): the verdict was about the old one. Its new media is checked as new.
      // Only within a screen of the window: describing media (its post's link, searched up the page)
      // for every badge of a long feed each second is dear, and one far away is looked at on its way back.
      const media = recheck && near(el.getBoundingClientRect(), innerHeight) ? FL.describeMedia(el) : undefined;
      if (media !== undefined && ((media && media.key) || "") !== entry.media) {
        FL.badges.remove(el);
        if (FL.autoCheck) FL.autoCheck.observe(el);
        continue;
      }
      placing.push([entry, measure(el, open)]);
    }
    const zoom = FL.rootZoom();
    for (const [entry, where] of placing) apply(entry, where, zoom, open);
    const now = performance.now();
    if (now < followUntil || (sliding > 0 && now < slidingSince + MAX_SLIDE_MS)) schedule();
  }
  const schedule = () => {
    if (!frame && badges.size) frame = requestAnimationFrame(placeAll);
  };
  // A carousel slides its photos with a CSS transition or animation, which no scroll, resize or size
  // change tells (a verdict sat on the next slide for up to a second): while one runs, badges are
  // placed every frame, and once more when it ends.
  // A transition is followed until it ends, however long (a 2 s slide left the badge behind after
  // the first second), up to MAX_SLIDE_MS; an animation, which may never end (a spinner), for a second.
  let followUntil = 0;
  let sliding = 0;   // transitions running
  let slidingSince = 0;
  const MAX_SLIDE_MS = 10_000;
  const follow = () => {
    followUntil = performance.now() + 1000;
    schedule();
  };
  addEventListener("transitionrun", () => {
    slidingSince = performance.now();   // (the latest start: a count left up by a lost end runs out)
    sliding += 1;
    follow();
  }, { capture: true, passive: true });
  addEventListener("animationstart", follow, { capture: true, passive: true });
  for (const type of ["transitionend", "transitioncancel"]) {
    addEventListener(type, () => {
      sliding = Math.max(0, sliding - 1);
      schedule();
    }, { capture: true, passive: true });
  }
  addEventListener("animationend", schedule, { capture: true, passive: true });
  const resizeObserver = new ResizeObserver(schedule);
  addEventListener("scroll", schedule, { capture: true, passive: true });
  addEventListener("resize", schedule, { passive: true });
  setInterval(() => { // layout shifts in infinite feeds move media without a scroll
    checkMedia = true;
    schedule();
  }, 1000);

  FL.badges = {
    // Draw `check` on `el`; with `url` (the media checked: describeMedia's key) only while `el` still
    // shows that media: pages swap an element's src (carousels, players), and a verdict belongs to its media.
    show(el, check, note, url) {
      if (!el.isConnected) return null;   // gone from the page meanwhile: nothing drawn, nothing said
      const media = FL.describeMedia(el);
      const now = (media && media.key) || "";
      if (url && url !== now) return null;
      const entry = badges.get(el) || create(el);
      // what the verdict is about, kept here: the host's data-media is for people reading the DOM (and
      // the tests), and the page can write it (it kept a verdict on the photo it swapped in)
      entry.media = now;
      entry.host.dataset.media = now;
      render(entry, check, note);
      place(el, entry);
      return entry.host;
    },
    announce,
    say,   // words of FakeLens's own, in the same live region
    has: (el) => badges.has(el),
    focus: (el) => badges.has(el) && badges.get(el).chip.focus(),
    mediaUrl: (el) => (badges.has(el) ? badges.get(el).media : null), // what its verdict is about
    remove(el) {
      const entry = badges.get(el);
      if (!entry) return;
      entry.host.remove();
      resizeObserver.unobserve(el);
      badges.delete(el);
    },
    removeAll() {
      for (const el of [...badges.keys()]) FL.badges.remove(el);
      if (region) region.getRootNode().host.remove();   // its last verdict with it
      region = null;
    },
  };
})();
