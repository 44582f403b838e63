// Site adapters: each file in content/sites/ teaches FakeLens where one site keeps its post
// permalinks and its full-size media. Every other site gets the generic fallback below.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;
  const adapters = [];

  // closest() that climbs out of shadow roots, for sites built from web components.
  FL.closestComposed = (el, selector) => {
    let node = el;
    while (node) {
      const hit = node.closest && node.closest(selector);
      if (hit) return hit;
      const root = node.getRootNode && node.getRootNode();
      node = root && root.host ? root.host : null;
    }
    return null;
  };

  // The first link in `container` (light DOM or its shadow root) whose path matches `pattern`.
  FL.findLink = (container, pattern) => {
    if (!container) return null;
    for (const scope of [container, container.shadowRoot].filter(Boolean)) {
      for (const a of scope.querySelectorAll("a[href]")) {
        const href = a.href || a.getAttribute("href");
        try {
          const url = new URL(href, location.href);
          if (pattern.test(url.pathname + url.search)) return url.href;
        } catch {
          /* not a URL */
        }
      }
    }
    return null;
  };

  // The link matching `pattern` nearest `el` in `container`: looked for in the element `el` sits in,
  // then in the one around that, up to `container` (a post that shares another's video names both).
  FL.nearestLink = (el, container, pattern) => {
    if (!container) return null;
    for (let node = el.parentElement || el.getRootNode().host; node; node = node.parentElement || node.getRootNode().host) {
      const hit = FL.findLink(node, pattern);
      if (hit || node === container) return hit;
    }
    return null;
  };

  const generic = {
    name: "generic",
    permalink(el) {
      const post = FL.closestComposed(el, "article, [role=article]");
      const own = post && (post.querySelector("a[rel~=bookmark]") || post.querySelector("a[href] time")?.closest("a"));
      if (own) return own.href;
      return null; // background.js then sends the tab's URL
    },
    mediaUrl: (el, url, kind, permalink) => url, // what to check for this image or video (a site's full size, its post)
  };

  function known() {
    const host = location.hostname.replace(/^www\./, "");
    return adapters.find((a) => a.hosts.some((h) => host === h || host.endsWith(`.${h}`)));
  }

  FL.sites = {
    add(adapter) {
      adapters.push(adapter);
    },
    // The adapter for this page: matched by hostname, e.g. "x.com" also matches "mobile.x.com".
    current() {
      const hit = known();
      return hit ? { ...generic, ...hit } : generic;
    },
    // Whether this page is on a site with an adapter (in a frame: an embedded post of that site).
    known: () => Boolean(known()),
  };
})();
