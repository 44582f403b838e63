// Finding media: <img> (currentSrc or the largest srcset candidate), <video>, and CSS background
// images, in the page and in every open shadow root, shown at the minimum size or more.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;

  const OWN_TAGS = new Set(["FAKELENS-BADGE", "FAKELENS-PILL"]);
  // Never media themselves: a page texture on <body> or <html> would put the hover pill over empty
  // page areas and into every page scan.
  const NOT_MEDIA = new Set([...OWN_TAGS, "BODY", "HTML"]);

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
  // `url("o'brien.jpg")` (a bare url(...) is read too, for other engines). The top image layer only
  // (gradients skipped); of an image-set() its highest resolution (`image-set(url("a.jpg") 1dppx,
  // url("b.jpg") 2dppx)`), not the first, which is the smallest.
  const QUOTED_URL = /url\("((?:[^"\\]|\\.)*)"\)(?:\s+([\d.]+)(dppx|x|dpi|dpcm))?/g;
  const DPPX = { dppx: 1, x: 1, dpi: 1 / 96, dpcm: 2.54 / 96 };
  function backgroundUrl(el) {
    const style = getComputedStyle(el);
    const bg = style.backgroundImage;
    if (!bg || bg === "none") return null;
    const repeats = (style.backgroundRepeat || "").split(",");
    const sizes = (style.backgroundSize || "").split(",");
    for (const [i, layer] of layers(bg).entries()) {   // the top image; a gradient over it (a tint) is no picture
      if (!/^((-webkit-)?image-set|url)\(/.test(layer)) continue;
      if (tiled(el, repeats[i % repeats.length], sizes[i % sizes.length])) continue;   // a texture, not a picture
      // a url() is an image-set() of one candidate
      let url = null, best = -1;
      for (const m of layer.matchAll(QUOTED_URL)) {
        const res = m[2] ? parseFloat(m[2]) * DPPX[m[3]] : 1;
        if (res > best) [best, url] = [res, m[1]];
      }
      if (!url) url = (/^url\(([^"')\s]+)\)/.exec(layer) || [])[1];   // unquoted, as other engines write it
      if (url) return absolute(url.replace(/\\(.)/g, "$1"), el.baseURI);
    }
    return null;
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

  // The image's best-resolution URL of what the browser shows: the largest candidate of the srcset
  // it chose from. In a <picture> that may be a <source>'s (art direction: another crop, even
  // another photo), so the <img>'s own srcset counts only when what is shown is one of its own.
  function imageUrl(el) {
    const shown = el.currentSrc || el.src;
    const lazy = lazyUrl(el, shown);
    if (lazy) return lazy;
    const own = el.getAttribute("srcset");
    if (!shown) return (own && largestSrcset(own, el.baseURI)) || null;   // not loaded yet
    const sources = el.parentElement && el.parentElement.tagName === "PICTURE"
      ? [...el.parentElement.querySelectorAll("source[srcset]")].map((s) => s.getAttribute("srcset")) : [];
    const names = (srcset) => srcsetCandidates(srcset).map(({ url }) => absolute(url, el.baseURI));
    for (const srcset of sources) if (names(srcset).includes(shown)) return largestSrcset(srcset, el.baseURI);
    if (own && (shown === el.src || names(own).includes(shown))) return largestSrcset(own, el.baseURI) || shown;
    return shown;
  }

  // A lazy loader's placeholder (a data: picture, or a tiny one stretched over the photo's place) is
  // not the photo: the address it will load is, in data-srcset / data-src (lazysizes and most others)
  // or data-lazy-srcset / data-lazy-src (WP Rocket). null for any other image.
  function lazyUrl(el, shown) {
    const tiny = el.complete && el.naturalWidth > 0 && el.naturalWidth < 16 && el.naturalHeight < 16;
    if (shown && !/^data:/i.test(shown) && !tiny) return null;
    const srcset = el.getAttribute("data-srcset") || el.getAttribute("data-lazy-srcset");
    const src = el.getAttribute("data-src") || el.getAttribute("data-lazy-src");
    return (srcset && largestSrcset(srcset, el.baseURI)) || (src && absolute(src, el.baseURI)) || null;
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
    if (!el || el.nodeType !== 1 || NOT_MEDIA.has(el.tagName)) return null;
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
      const shown = el.currentSrc || el.src;
      url = imageUrl(el);
      thumb = lazyUrl(el, shown) ? url : shown;   // a placeholder shows nothing of the photo
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
    if (url && kind === "image") url = site.mediaUrl(el, url);
    const permalink = site.permalink(el) || null;
    // a player that attaches its video only on play shows a poster and no source yet: its video is
    // the post's (or the page's), as for a blob: video, which yt-dlp resolves
    if (kind === "video" && !url && el.poster && !el.srcObject) url = permalink || location.href;
    const r = el.getBoundingClientRect();
    return {
      kind,
      url,
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
      if (el.tagName === "IMG" || el.tagName === "VIDEO" || FL.isSvgImage(el) || NOT_MEDIA.has(el.tagName)) continue;
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

  // The element showing `url` (e.g. the context menu's srcUrl), if any.
  FL.findByUrl = (url) => {
    if (!url) return null;
    return FL.deepQueryAll(document, FL.MEDIA_TAGS).find((el) => el.currentSrc === url || el.src === url
                                                             || (FL.isSvgImage(el) && svgImageUrl(el) === url)) || null;
  };
})();
