// Infinite feeds: a MutationObserver on the page and on every open shadow root hands new media
// (and media whose src changed) to the automatic checks.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  const watchedRoots = new WeakSet();
  // Sets, so a node changed many times before a flush is looked at once. Added nodes are scanned
  // with their subtree; an element whose attribute changed is looked at alone (a page writing a
  // CSS variable on <html> every frame must not rescan the whole page each time).
  const added = new Set();
  const changed = new Set();
  // style changed: its background is read at the flush, once, not in the observer on every frame.
  // Class changes are not watched: a page animating classes on hundreds of elements makes 60 records
  // a second each, and watching them cost 3× the script time (measured); a background a class sets
  // later is found by hover and the page scan, not by the automatic checks.
  const restyled = new Set();
  const lastBackground = new WeakMap(); // element -> its background-image when last seen
  const undefinedHosts = new Map(); // custom element not upgraded yet -> when first seen
  let timer = 0;
  let upgradeTimer = 0;

  // The computed background (a stylesheet's rule counts, not only the style attribute); "" for none.
  // One style read per element: the first after a change recalculates, the rest are cheap. Elements
  // that never paint a background are not asked: inside an SVG (a feed's icons are hundreds of
  // paths), and what is not drawn at all.
  const NO_BACKGROUND = new Set(["IMG", "VIDEO", "SCRIPT", "STYLE", "LINK", "META", "NOSCRIPT", "TEMPLATE", "BR",
                                 "SOURCE", "TRACK", "OPTION", "HEAD", "TITLE", "BASE"]);
  const background = (el) => {
    if (!el.style || NO_BACKGROUND.has(el.tagName)) return "";
    if (el.namespaceURI === FL.SVG_NS && el.localName !== "svg") return "";
    const bg = getComputedStyle(el).backgroundImage;
    return bg && bg !== "none" ? bg : "";
  };

  const observer = new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === "attributes") {
        if (record.attributeName === "style") {
          restyled.add(record.target);
          continue;
        }
        // href matters on an SVG <image> only (links rewrite theirs all the time). Facebook's
        // xlink:href set with setAttributeNS gives no record at all: the badge's once-a-second
        // check of its media catches that swap.
        if (/href$/.test(record.attributeName) && !FL.isSvgImage(record.target)) continue;
        // in a <picture> the new source is a <source>: the verdict on its <img> is what goes stale
        const el = record.target.tagName === "SOURCE" ? record.target.parentElement?.querySelector("img") || record.target : record.target;
        dropStale(el);
        changed.add(el);
      } else {
        for (const node of record.addedNodes) if (node.nodeType === 1) added.add(node);
      }
    }
    if (!timer && (added.size || changed.size || restyled.size)) timer = setTimeout(flush, 200);
  });

  // a new src or background: the old verdict no longer applies
  function dropStale(el) {
    if (FL.badges.has(el) && FL.badges.mediaUrl(el) !== (FL.describeMedia(el) || {}).key) FL.badges.remove(el);
  }

  function watch(root) {
    if (watchedRoots.has(root)) return;
    watchedRoots.add(root);
    observer.observe(root, { childList: true, subtree: true, attributes: true, attributeFilter: ["src", "srcset", "style", "href", "xlink:href"] });
  }

  // One element: hand it to the automatic checks if it shows media.
  function look(el, bg = background(el)) {
    lastBackground.set(el, bg);
    if (el.tagName === "IMG" || el.tagName === "VIDEO" || FL.isSvgImage(el) || bg) FL.autoCheck.observe(el);
  }

  // Register the media under `node` and watch the shadow roots inside it.
  function scan(node) {
    if (FL.isOwnHost(node)) return;
    const all = [node, ...node.querySelectorAll("*")];
    for (const el of all) {
      if (FL.isOwnHost(el)) continue;   // a badge on <html>: nothing of the page's in it
      look(el);
      // a custom element defined later (a lazy module) gets its shadow root without any DOM mutation
      if (el.tagName.includes("-") && !el.shadowRoot && !el.matches(":defined") && !undefinedHosts.has(el)) {
        undefinedHosts.set(el, Date.now());
        if (!upgradeTimer) upgradeTimer = setTimeout(lookAtUpgrades, UPGRADE_POLL_MS);
      }
      if (el.shadowRoot) {
        watch(el.shadowRoot);
        for (const child of el.shadowRoot.children) scan(child);
      }
    }
  }

  function flush() {
    timer = 0;
    const nodes = [...added];
    const elements = [...changed].filter((el) => !added.has(el));
    const styled = [...restyled].filter((el) => !added.has(el) && !changed.has(el));
    added.clear();
    changed.clear();
    restyled.clear();
    for (const node of nodes) if (node.isConnected) scan(node);
    for (const el of elements) if (el.isConnected) look(el);
    // a style change matters only when it changes the background image (not a variable, a transform…)
    for (const el of styled) {
      if (!el.isConnected) continue;
      const bg = background(el);
      if (lastBackground.get(el) === bg) continue;
      dropStale(el);
      look(el, bg);
    }
    // Custom elements often attach their shadow root a moment after insertion: look again.
    const late = nodes.filter((n) => n.isConnected && n.tagName && n.tagName.includes("-"));
    if (late.length) setTimeout(() => late.forEach(scan), 300);
  }

  // Content scripts cannot use the page's customElements.whenDefined: ask ":defined" each second,
  // for a minute at most per element.
  const UPGRADE_POLL_MS = 1000;
  const UPGRADE_WAIT_MS = 60_000;
  function lookAtUpgrades() {
    upgradeTimer = 0;
    for (const [el, since] of undefinedHosts) {
      if (el.matches(":defined")) {
        undefinedHosts.delete(el);
        if (el.isConnected) scan(el);
      } else if (!el.isConnected || Date.now() - since > UPGRADE_WAIT_MS) {
        undefinedHosts.delete(el);
      }
    }
    if (undefinedHosts.size) upgradeTimer = setTimeout(lookAtUpgrades, UPGRADE_POLL_MS);
  }

  FL.startWatchingFeed = () => {
    watch(document);
    scan(document.documentElement);
  };
  FL.rescanFeed = () => scan(document.documentElement);
})();
