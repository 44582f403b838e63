// Infinite feeds: a MutationObserver on the page and on every open shadow root hands new media
// (and media whose src changed) to the automatic checks.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  const watchedRoots = new WeakSet();
  let pending = [];
  let timer = 0;

  const observer = new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === "attributes") {
        // in a <picture> the new source is a <source>: the verdict on its <img> is what goes stale
        const el = record.target.tagName === "SOURCE" ? record.target.parentElement?.querySelector("img") || record.target : record.target;
        // a new src: the old verdict no longer applies (a style change alone keeps it)
        if (FL.badges.has(el) && FL.badges.mediaUrl(el) !== (FL.describeMedia(el) || {}).url) FL.badges.remove(el);
        pending.push(el);
      } else {
        for (const node of record.addedNodes) if (node.nodeType === 1) pending.push(node);
      }
    }
    if (!timer) timer = setTimeout(flush, 200);
  });

  function watch(root) {
    if (watchedRoots.has(root)) return;
    watchedRoots.add(root);
    observer.observe(root, { childList: true, subtree: true, attributes: true, attributeFilter: ["src", "srcset", "style"] });
  }

  // Register the media under `node` and watch the shadow roots inside it.
  function scan(node) {
    if (node.tagName === "FAKELENS-BADGE" || node.tagName === "FAKELENS-PILL") return;
    const all = [node, ...node.querySelectorAll("*")];
    for (const el of all) {
      if (el.tagName === "IMG" || el.tagName === "VIDEO" || (el.style && el.style.backgroundImage)) FL.autoCheck.observe(el);
      if (el.shadowRoot) {
        watch(el.shadowRoot);
        for (const child of el.shadowRoot.children) scan(child);
      }
    }
  }

  function flush() {
    timer = 0;
    const nodes = pending;
    pending = [];
    for (const node of nodes) if (node.isConnected) scan(node);
    // Custom elements often attach their shadow root a moment after insertion: look again.
    const late = nodes.filter((n) => n.isConnected && n.tagName && n.tagName.includes("-"));
    if (late.length) setTimeout(() => late.forEach(scan), 300);
  }

  FL.startWatchingFeed = () => {
    watch(document);
    scan(document.documentElement);
  };
  FL.rescanFeed = () => scan(document.documentElement);
})();
