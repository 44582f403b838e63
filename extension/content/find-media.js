// Finding media: <img> (the picture the browser shows, its currentSrc), <video>, and CSS background
// images (the layer drawn), in the page and in every open shadow root, shown at the minimum size or more.
// What is checked is what the page shows, never another picture it names beside it.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;

  // FakeLens's own layers (a badge, the hover pill): plain <div>s, which no page can define or
  // upgrade. They were custom elements (<fakelens-badge>), whose registry is the page's even for an
  // element a content script creates: a page that defined the name ran its class on ours and made
  // their shadow roots throw, and an element of its own under that name was never checked. They are
  // known by this set, held in the content scripts' world: a page can neither put its own media in
  // it (to hide them from the checks) nor take ours out. Their data-fakelens attribute is for people
  // reading the DOM and for the tests only: a page can set it on anything, so no script here reads it.
  // Their style is inline and important, so no page rule restyles them: `all` resets every property
  // but direction and unicode-bidi, which a page's rule for every <div> (a right-to-left site's) sets
  // too now. `css`: the layer's own, after that.
  const ownHosts = new WeakSet();
  FL.makeOwnHost = (name, css) => {
    const host = document.createElement("div");
    host.style.cssText = `all: initial !important; direction: ltr !important; unicode-bidi: isolate !important; ${css}`;
    host.dataset.fakelens = name;
    ownHosts.add(host);
    return host;
  };
  FL.isOwnHost = (el) => ownHosts.has(el);
  // Never media themselves: a page texture on <body> or <html> would put the hover pill over empty
  // page areas and into every page scan.
  const NOT_MEDIA = new Set(["BODY", "HTML"]);
  const notMedia = (el) => NOT_MEDIA.has(el.tagName) || ownHosts.has(el);

  // Every element matching `selector` under `root`, open shadow roots included.
  FL.deepQueryAll = (root, selector, out = []) => {
    if (root.matches && root.matches(selector)) out.push(root);
    for (const el of root.querySelectorAll(selector)) out.push(el);
    const hosts = root.shadowRoot ? [root] : [];
    for (const el of root.querySelectorAll("*")) if (el.shadowRoot) hosts.push(el);
    for (const host of hosts) FL.deepQueryAll(host.shadowRoot, selector, out);
    return out;
  };

  // srcset candidates split as the HTML spec does: a URL runs to the next whitespace (a comma
  // ending it is dropped), its descriptors to the next comma. "a.jpg 320w,b.jpg 1280w" is two.
  function srcsetCandidates(srcset) {
    const out = [];
    let i = 0;
    while (i < srcset.length) {
      while (i < srcset.length && /[\s,]/.test(srcset[i])) i += 1;
      let end = i;
      while (end < srcset.length && !/\s/.test(srcset[end])) end += 1;
      let url = srcset.slice(i, end);
      let descriptor = "";
      if (/,$/.test(url)) {
        url = url.replace(/,+$/, "");
        i = end;
      } else {
        const comma = srcset.indexOf(",", end);
        const stop = comma === -1 ? srcset.length : comma;
        descriptor = srcset.slice(end, stop).trim();
        i = stop + 1;
      }
      if (url) out.push({ url, descriptor: descriptor || "1x" });
    }
    return out;
  }

  // `url` resolved against `base`, or null when it is no URL.
  function absolute(url, base) {
    try {
      return new URL(url, base).href;
    } catch {
      return null;
    }
  }

  function largestSrcset(srcset, base) {
    let best = null;
    let bestSize = -1;
    for (const { url, descriptor } of srcsetCandidates(srcset)) {
      const size = parseFloat(descriptor) * (descriptor.endsWith("x") ? 10000 : 1);
      if (size > bestSize) {
        bestSize = size;
        best = url;
      }
    }
    return best ? absolute(best, base) : null;
  }
  FL.largestSrcset = largestSrcset; // for the tests

  // The computed value quotes the URL, escaping double quotes and backslashes: `url("a(1).jpg")`,
  // `url("o'brien.jpg")` (a bare url(...) is read too, for other engines). The top image layer drawn
  // (gradients skipped; a layer sized 0 or laid outside its box is not drawn; one drawn over all of
  // its box goes before one above it that covers only part of it, or is drawn at its own size, which
  // is not known here); of an image-set() its highest resolution (`image-set(url("a.jpg") 1dppx,
  // url("b.jpg") 2dppx)`), not the first, which is the smallest.
  const QUOTED_URL = /url\("((?:[^"\\]|\\.)*)"\)(?:\s+([\d.]+)(dppx|x|dpi|dpcm))?/g;
  const DPPX = { dppx: 1, x: 1, dpi: 1 / 96, dpcm: 2.54 / 96 };
  function backgroundUrl(el) {
    const style = getComputedStyle(el);
    const bg = style.backgroundImage;
    if (!bg || bg === "none") return null;
    const repeats = (style.backgroundRepeat || "").split(",");
    const sizes = (style.backgroundSize || "").split(",");
    let drawn = null;   // the top layer drawn over part of its box
    for (const [i, layer] of layers(bg).entries()) {   // the top image; a gradient over it (a tint) is no picture
      if (!/^((-webkit-)?image-set|url)\(/.test(layer)) continue;
      if (tiled(el, repeats[i % repeats.length], sizes[i % sizes.length])) continue;   // a texture, not a picture
      const lies = layerLies(el, style, i);
      if (lies === "none") continue;
      // a url() is an image-set() of one candidate
      let url = null, best = -1;
      for (const m of layer.matchAll(QUOTED_URL)) {
        const res = m[2] ? parseFloat(m[2]) * DPPX[m[3]] : 1;
        if (res > best) [best, url] = [res, m[1]];
      }
      if (!url) url = (/^url\(([^"')\s]+)\)/.exec(layer) || [])[1];   // unquoted, as other engines write it
      url = url && absolute(url.replace(/\\(.)/g, "$1"), el.baseURI);
      if (!url) continue;
      if (lies === "box") return url;
      drawn = drawn || url;
    }
    return drawn;
  }

  // Where background layer `i` of `el` lies, from its computed style: "none" when it is not drawn (a
  // side sized 0, clipped to a box of no size, or laid wholly outside its box: a page can name one
  // picture on top and show another under it), "box" when it is drawn over all of its box (cover,
  // contain: as large as fits; repeated; sized and placed to reach every edge), else "some" (over part
  // of its box, or at the picture's own size, or where the style does not say).
  function layerLies(el, style, i) {
    const nth = (prop) => {
      const all = (style[prop] || "").split(",");
      return all[i % all.length].trim();
    };
    const clip = boxSize(el, style, nth("backgroundClip"));
    if (clip && (clip[0] <= 0 || clip[1] <= 0)) return "none";
    const area = boxSize(el, style, nth("backgroundOrigin") || "padding-box");
    const size = nth("backgroundSize") || "auto";
    if (size === "cover" || size === "contain") return "box";
    const sides = size.split(/\s+/);
    const [rx, ry = rx] = nth("backgroundRepeat").replace("repeat-x", "repeat no-repeat")
      .replace("repeat-y", "no-repeat repeat").split(/\s+/);
    const repeats = [rx, ry].map((r) => Boolean(r) && r !== "no-repeat");
    const fixed = nth("backgroundAttachment") === "fixed";   // placed in the window, not in its box
    const at = [nth("backgroundPositionX"), nth("backgroundPositionY")];
    let whole = true;
    for (const axis of [0, 1]) {
      const len = area && area[axis];
      const side = lengthOf(sides[axis] || "auto", len);
      if (side === 0) return "none";
      if (repeats[axis]) continue;   // repeated: across the box, whatever its size
      const offset = side === null || !area || fixed ? null : lengthOf(at[axis] || "0%", len - side);
      if (offset === null) whole = false;
      else if (offset + side <= 0 || offset >= len) return "none";
      else if (offset > 0 || offset + side < len) whole = false;
    }
    return whole ? "box" : "some";
  }

  // A computed length in px: `value` ("12px", "50%", "calc(100% - 10px)") with 100% = `whole`;
  // null for auto, or what is not known.
  function lengthOf(value, whole) {
    const sum = value.replace(/^calc\((.*)\)$/, "$1").replace(/\s+/g, "");
    if (!/^([+-]?[\d.]+(px|%))+$/.test(sum)) return null;
    let px = 0;
    for (const [term, unit] of sum.matchAll(/[+-]?[\d.]+(px|%)/g)) {
      if (unit === "px") px += parseFloat(term);
      else if (typeof whole === "number") px += (parseFloat(term) / 100) * whole;
      else return null;
    }
    return px;
  }

  // [width, height] of `el`'s border-box, padding-box or content-box (layout sizes, before any
  // transform); null where it has no layout to ask (outside a page).
  function boxSize(el, style, which = "border-box") {
    let [w, h] = [el.offsetWidth, el.offsetHeight];
    if (w === undefined) {
      if (!el.getBoundingClientRect) return null;
      ({ width: w, height: h } = el.getBoundingClientRect());
    }
    const px = (prop) => parseFloat(style[prop]) || 0;
    if (which === "padding-box" || which === "content-box") {
      w -= px("borderLeftWidth") + px("borderRightWidth");
      h -= px("borderTopWidth") + px("borderBottomWidth");
    }
    if (which === "content-box") {
      w -= px("paddingLeft") + px("paddingRight");
      h -= px("paddingTop") + px("paddingBottom");
    }
    return [w, h];
  }

  // A layer that repeats at its own size under content it wraps (a page's paper or noise texture, a
  // pattern) rather than one picture: a photo is laid with no-repeat, or sized (cover, contain, a
  // length), or alone in its box (the browser says "repeat" where the page said nothing).
  function tiled(el, repeat = "", size = "") {
    if (!repeat.trim() || /^\s*no-repeat(\s+no-repeat)?\s*$/.test(repeat)) return false;
    if (!/^\s*auto(\s+auto)?\s*$/.test(size || "auto")) return false;
    return el.childElementCount > 0;
  }

  // The comma-separated layers of a background (brackets and quotes respected).
  function layers(value) {
    const out = [];
    let depth = 0, quoted = false, start = 0;
    for (let i = 0; i < value.length; i++) {
      const c = value[i];
      if (quoted) {
        if (c === "\\") i++;
        else if (c === '"') quoted = false;
      } else if (c === '"') quoted = true;
      else if (c === "(") depth++;
      else if (c === ")") depth--;
      else if (c === "," && depth === 0) {
        out.push(value.slice(start, i).trim());
        start = i + 1;
      }
    }
    out.push(value.slice(start).trim());
    return out;
  }
  FL.backgroundUrl = backgroundUrl; // for the tests

  // The URL of the picture the browser shows: its currentSrc, the srcset candidate it chose (in a
  // <picture> maybe a <source>'s: art direction, another crop or photo), not the largest one it names:
  // a page can name one picture at 4000w and show another at the size it is drawn. Before it has
  // chosen (an image not loaded yet), the largest of its own srcset, or its src: looked at again once
  // it shows (badge.js). A lazy loader's placeholder: the photo it will load.
  function imageUrl(el) {
    const shown = el.currentSrc || "";
    const lazy = lazyUrl(el, shown || el.src);
    if (lazy) return lazy;
    if (shown) return shown;
    const own = el.getAttribute("srcset");
    return (own && largestSrcset(own, el.baseURI)) || el.src || null;
  }

  // A lazy loader's placeholder is not the photo: the address it will load is, in data-srcset /
  // data-src (lazysizes and most others) or data-lazy-srcset / data-lazy-src (WP Rocket). null for
  // any other image, a data: one too: a page can show a picture inline and name another to load.
  function lazyUrl(el, shown) {
    if (shown && !placeholder(el, shown)) return null;
    const srcset = el.getAttribute("data-srcset") || el.getAttribute("data-lazy-srcset");
    const src = el.getAttribute("data-src") || el.getAttribute("data-lazy-src");
    return (srcset && largestSrcset(srcset, el.baseURI)) || (src && absolute(src, el.baseURI)) || null;
  }

  // A placeholder shows nothing of a photo: a picture under 16 px a side (a lazy loader's 1×1 GIF or
  // a few pixels of colour, stretched over the photo's place: it holds no face the backend would find,
  // which looks for faces of 24 px or more; a larger one, stretched, can show a face) or an SVG that
  // draws nothing (WP Rocket's, which only gives the box its aspect ratio).
  const TINY = 16;
  function placeholder(el, shown) {
    if (el.complete && el.naturalWidth > 0 && el.naturalWidth < TINY && el.naturalHeight < TINY) return true;
    return emptySvg(shown);
  }
  FL.isPlaceholder = placeholder; // for the tests

  // A data: SVG whose root element holds nothing and says only its size: `<svg xmlns="…"
  // viewBox="0 0 800 600"></svg>` (any other attribute, a style with a background, could draw).
  const SVG_SIZE_ATTRS = /^(xmlns(:xlink)?|version|viewBox|width|height|preserveAspectRatio)$/;
  function emptySvg(url) {
    const m = url && url.length < 2048 && /^data:image\/svg\+xml(;[^,]*)?,(.*)$/is.exec(url);   // an empty one is short
    if (!m) return false;
    let text;
    try {
      text = /;base64$/i.test(m[1] || "") ? atob(decodeURIComponent(m[2])) : decodeURIComponent(m[2]);
    } catch {
      return false;
    }
    const svg = /^\s*(<\?xml[^>]*\?>\s*)?<svg((?:\s+[\w:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/>|>\s*<\/svg>)\s*$/.exec(text);
    if (!svg) return false;
    return [...svg[2].matchAll(/([\w:-]+)\s*=/g)].every(([, name]) => SVG_SIZE_ATTRS.test(name));
  }

  // An SVG <image> (Facebook draws profile photos so): a picture like an <img>.
  FL.SVG_NS = "http://www.w3.org/2000/svg";
  FL.isSvgImage = (el) => el.localName === "image" && el.namespaceURI === FL.SVG_NS;
  const svgImageUrl = (el) => {
    const href = el.getAttribute("href") || el.getAttributeNS("http://www.w3.org/1999/xlink", "href");
    return href ? absolute(href, el.baseURI) : null;   // none: not the page's own address
  };
  // What counts as media by its tag ("image": SVG's, the HTML parser makes <image> an <img>)
  FL.MEDIA_TAGS = "img, video, image";

  // "image" | "video" | null for one element.
  FL.mediaKind = (el) => {
    if (!el || el.nodeType !== 1 || notMedia(el)) return null;
    if (el.tagName === "IMG" || (FL.isSvgImage(el) && svgImageUrl(el))) return "image";
    if (el.tagName === "VIDEO") return "video";
    return backgroundUrl(el) ? "image" : null;
  };

  FL.isBigEnough = (el, minSize) => {
    const r = el.getBoundingClientRect();
    return r.width >= minSize && r.height >= minSize;
  };

  // What FakeLens knows about one media element, for the backend and the popup.
  FL.describeMedia = (el) => {
    const kind = FL.mediaKind(el);
    if (!kind) return null;
    const site = FL.sites.current();
    let url = null;
    let thumb = null;
    if (el.tagName === "IMG") {
      url = imageUrl(el);
      thumb = url;   // the picture checked (a placeholder shows nothing of the photo)
    } else if (el.tagName === "VIDEO") {
      const source = el.querySelector("source[src]");
      url = el.currentSrc || el.src || (source && source.src) || "";
      thumb = el.poster || null;
    } else if (FL.isSvgImage(el)) {
      url = svgImageUrl(el);
      thumb = url;
    } else {
      url = backgroundUrl(el);
      thumb = url;
    }
    const permalink = site.permalink(el) || null;
    if (url) url = site.mediaUrl(el, url, kind, permalink);
    // a player that attaches its video only on play has no source yet (its poster on the element or
    // drawn beside it): its video is the post's (or the page's), as for a blob: video, which yt-dlp
    // resolves (the hover pill offered it, and its click did nothing)
    if (kind === "video" && !url && !el.srcObject) url = permalink || location.href;
    const r = el.getBoundingClientRect();
    return {
      kind,
      url,
      // what a verdict on it is about: its address; for a video playing from a blob: or MediaSource,
      // the post or page it is fetched by (background.js's videoUrl), as its address changes with
      // each stream the player makes (an ad before it, a rebuilt player) while the video checked does not
      key: !url ? "" : kind === "video" && !/^https?:/i.test(url) ? permalink || location.href : url,
      thumb,
      permalink,
      width: Math.round(r.width),
      height: Math.round(r.height),
      site: site.name,
    };
  };

  // All media on the page worth checking (page scan), in document order; not what does not show (a
  // slide faded out; on X the transparent <img> under its photo, whose background is listed).
  FL.findAllMedia = (minSize) => {
    const found = [];
    for (const el of FL.deepQueryAll(document, FL.MEDIA_TAGS)) {
      if (FL.mediaKind(el) && FL.isBigEnough(el, minSize) && FL.isShown(el)) found.push(el);
    }
    // CSS backgrounds: only elements big enough to matter, then their computed style.
    for (const el of FL.deepQueryAll(document, "*")) {
      if (el.tagName === "IMG" || el.tagName === "VIDEO" || FL.isSvgImage(el) || notMedia(el)) continue;
      if (FL.isBigEnough(el, minSize) && backgroundUrl(el) && FL.isShown(el)) found.push(el);
    }
    return found;
  };

  // Whether `el` shows at all: not fully transparent (its own opacity 0 or a wrapper's) nor hidden.
  FL.isShown = (el) => !el.checkVisibility || el.checkVisibility({ opacityProperty: true, visibilityProperty: true });

  // The media under a viewport point, through overlays and into open shadow roots: the topmost that
  // shows and is `minSize` or more, passing over what lies on it (a transparent spacer picture, a
  // play button's 64 px background over a video); else the topmost that shows.
  FL.mediaAtPoint = (x, y, minSize = 0) => {
    const seen = new Set();
    let small = null;
    const search = (root, depth) => {
      for (const el of root.elementsFromPoint(x, y)) {
        if (seen.has(el)) continue;
        seen.add(el);
        if (el.shadowRoot && depth < 8) {
          const inner = search(el.shadowRoot, depth + 1);
          if (inner) return inner;
        }
        if (!FL.mediaKind(el) || !FL.isShown(el)) continue;
        if (FL.isBigEnough(el, minSize)) return el;
        small = small || el;
      }
      return null;
    };
    return search(document, 0) || small;
  };

  // Where FakeLens's layers for `el` go: the top-layer element it shows in (a modal <dialog>, an open
  // popover, the fullscreen element), whose content alone shows above the page (and, for a modal
  // dialog, is not inert: a badge on <html> could not be seen, clicked or focused, nor its words read);
  // else <html>. With no `el`, the modal dialog open, if any (where FakeLens's words can be read).
  const NO_CHILDREN = /^(IMG|VIDEO|CANVAS|IFRAME|PICTURE|svg|image)$/;
  // Kept until a dialog or popover opens or closes (both fire "toggle" from Chrome 132; a dialog "close"),
  // fullscreen changes, or the user clicks or types (what opens most of them: Chrome 121-131 fire no
  // "toggle" for a dialog): the search of the whole page took 2 ms on a feed's 27,000 elements, each
  // frame badges moved.
  let openNow = null, watching = false;
  FL.openLayers = () => {
    if (!watching) {   // from the first use on (a page with no badge or pill listens for nothing)
      watching = true;
      for (const type of ["toggle", "close", "fullscreenchange", "click", "keydown"]) {
        addEventListener(type, () => { openNow = null; }, { capture: true, passive: true });
      }
    }
    if (openNow) return openNow;
    try {
      openNow = [document.fullscreenElement, ...document.querySelectorAll(":modal, :popover-open")];
    } catch {
      openNow = [document.fullscreenElement];   // a browser without these selectors
    }
    return openNow;
  };
  // `open`: FL.openLayers(), once for many
  FL.layerFor = (el, open = FL.openLayers()) => {
    let layer = document.documentElement;
    for (const l of open) {
      if (l && l !== el && !NO_CHILDREN.test(l.tagName) && (el ? FL.within(el, l) : l.matches(":modal")) &&
        FL.within(l, layer)) layer = l;
    }
    return layer;
  };
  // Where a layer of FakeLens's at left and top 0 lands in `layer` (FL.layerFor's), in window pixels:
  // the window's corner, unless the page made that dialog or popover hold fixed children itself (a
  // `translate(-50%, -50%)` centring, a filter, containment): then they count from its padding box,
  // as it is scrolled, and a badge placed by window pixels sat that far off its photo (its scale, as in
  // an opening animation, is not undone).
  FL.layerOrigin = (layer) => {
    if (layer === document.documentElement) return { x: 0, y: 0 };
    const s = getComputedStyle(layer);
    const set = (value) => Boolean(value) && value !== "none";
    const holds = ["transform", "translate", "rotate", "scale", "perspective", "filter", "backdropFilter"].some((p) => set(s[p])) ||
      /paint|layout|strict|content/.test(s.contain || "") || /transform|perspective|filter/.test(s.willChange || "") ||
      (Boolean(s.containerType) && s.containerType !== "normal") || s.contentVisibility === "auto";
    if (!holds) return { x: 0, y: 0 };
    const r = layer.getBoundingClientRect();
    return { x: r.left + layer.clientLeft - layer.scrollLeft, y: r.top + layer.clientTop - layer.scrollTop };
  };
  // `host` put in `el`'s layer (moved back to <html> once that closes)
  FL.toLayer = (host, el, open) => {
    const layer = FL.layerFor(el, open);
    if (host.parentNode !== layer) layer.append(host);
  };

  // Is `outer` one of the elements `el` sits in, `el` itself included, through shadow roots and slots
  // (Node.contains stops at a shadow root: a card's link around a gallery component holding its photos)?
  FL.within = (el, outer) => {
    for (let node = el; node; node = node.assignedSlot || node.parentNode || node.host) if (node === outer) return true;
    return false;
  };

  // The media a link or button wraps (a photo's usual wrapper), for what the keyboard points at (the
  // keyboard command, a context menu opened with Shift+F10 or the Menu key): the first media inside
  // that shows (on X a background, over a transparent <img>), one of `minSize` or more before a smaller
  // one (an icon beside the photo); null for any other element. Not `el` itself (a play button drawn
  // as a small background is no wrapper of the video under it).
  FL.WRAPPERS = "a, button, [role=link], [role=button]";
  FL.mediaInside = (el, minSize) => {
    if (!el || !el.matches || !el.matches(FL.WRAPPERS)) return null;
    const inside = FL.deepQueryAll(el, "*").filter((m) => m !== el && FL.mediaKind(m) && FL.isShown(m));
    return inside.find((m) => FL.isBigEnough(m, minSize)) || inside.find((m) => FL.isBigEnough(m, 1)) || null;
  };

  // The element showing `url` (e.g. the context menu's srcUrl), if any.
  FL.findByUrl = (url) => {
    if (!url) return null;
    return FL.deepQueryAll(document, FL.MEDIA_TAGS).find((el) => el.currentSrc === url || el.src === url
                                                             || (FL.isSvgImage(el) && svgImageUrl(el) === url)) || null;
  };
})();
