// One row of the popup's list: thumbnail, verdict chip (icon + text, with its score), progress bar for
// running jobs, and a link to the backend's HTML report.
(() => {
  "use strict";
  const FL = globalThis.FakeLens;

  const el = (tag, props = {}, children = []) => {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children);
    return node;
  };

  // A long address cut in the middle, so the file name that tells rows apart stays:
  // "cdn.example.com/…/holiday-photo-from-the-beach.jpg" (the whole address is the title). Media
  // with no address of its own gets a name: a data: URL ("inline JPEG image": its whole base64, 6,400
  // characters for a small photo, was the row's text, title and every label a screen reader reads),
  // a blob: URL ("video held by the page"). `kind`: image or video.
  FL.shortUrl = (url, kind = "media", max = 52) => {
    if (/^data:/i.test(url || "")) {
      const type = /^data:[a-z]+\/([a-z0-9.+-]+)/i.exec(url);
      const format = type ? type[1].replace(/^x-/i, "").replace(/\+xml$/i, "").toUpperCase() : "";
      return `inline ${format ? `${format} ` : ""}${kind}`;
    }
    if (/^blob:/i.test(url || "")) return `${kind} held by the page`;
    if (!url || url.length <= max || !/^https?:/.test(url)) return url;
    try {
      const u = new URL(url);
      const name = decodeURIComponent(u.pathname.split("/").filter(Boolean).pop() || "");
      const tail = name.length > 32 ? `${name.slice(0, 14)}…${name.slice(-16)}` : name;
      return `${u.host}/…/${tail}${u.search ? "?…" : ""}`;
    } catch {
      return url;
    }
  };

  // a picture of a picture: a screen reader would read out "black square button" (the row says what it is)
  const placeholder = (item) => {
    const glyph = el("div", { className: "thumb", textContent: item.kind === "video" ? "▶" : "▣" });
    glyph.setAttribute("aria-hidden", "true");
    return glyph;
  };

  const MAX_THUMB_BYTES = 20 * 1024 * 1024;
  const THUMB_TIMEOUT_MS = 15_000;

  // The popup is an extension page: an <img> it loads carries every cookie, even SameSite ones the page
  // itself could not send (crossorigin="anonymous" does not stop that in an extension with host access).
  // A page could name its visitor's router, or another site's address, as a picture. So the thumbnail
  // is fetched as background.js fetches what it checks: none for a private address, cookies only on the
  // page's own site, no redirect followed (it could lead to a private address), then shown from memory.
  const thumbnail = (item, pageUrl) => {
    const glyph = placeholder(item);
    if (!item.thumb || !/^(https?|data):/.test(item.thumb)) return glyph;
    if (item.thumb.startsWith("data:")) {
      return el("img", { className: "thumb", alt: "", src: item.thumb });
    }
    if (FL.privateHost(item.thumb)) return glyph;
    later(glyph, () => load(glyph, item, pageUrl));
    return glyph;
  };

  // Thumbnails load as their rows come into view, a few at a time: a scan of 200 pictures fetched all
  // 200 at once, beside the scan's own downloads of them, for rows most people never scroll to.
  const THUMBS_AT_ONCE = 4;
  const jobs = new Map();   // glyph → its loading, not begun
  const queue = [];
  let loading = 0;
  const next = () => {
    while (loading < THUMBS_AT_ONCE && queue.length) {
      const job = queue.shift();
      loading += 1;
      job().finally(() => {
        loading -= 1;
        next();
      });
    }
  };
  let inView = null;   // made with the first thumbnail
  const seen = (entries) => {
    for (const { target, isIntersecting } of entries) {
      if (!isIntersecting || !jobs.has(target)) continue;
      inView.unobserve(target);
      queue.push(jobs.get(target));
      jobs.delete(target);
    }
    next();
  };
  const later = (glyph, job) => {
    jobs.set(glyph, () => (glyph.isConnected ? job() : Promise.resolve()));   // a row gone meanwhile: nothing
    inView ??= new IntersectionObserver(seen, { rootMargin: "200px" });
    inView.observe(glyph);
  };

  const load = (glyph, item, pageUrl) => {
    const ownSite = Boolean(pageUrl) && FL.siteListed([FL.siteKey(pageUrl)], FL.siteKey(item.thumb));
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), THUMB_TIMEOUT_MS);
    // with cookies, not through the cache, as background.js's fetchImageBytes
    return fetch(item.thumb, { credentials: ownSite ? "include" : "omit", cache: ownSite ? "no-store" : "force-cache", redirect: "manual",
                        referrerPolicy: "no-referrer", signal: abort.signal })
      .then(async (res) => {
        if (!res.ok || !/^image\//i.test(res.headers.get("content-type") || "")) return;
        const blob = await FL.readCapped(res, abort, MAX_THUMB_BYTES);
        if (!blob || !glyph.isConnected) return;
        const img = el("img", { className: "thumb", alt: "" });
        const url = URL.createObjectURL(blob);
        img.addEventListener("load", () => glyph.replaceWith(img), { once: true });
        for (const end of ["load", "error"]) img.addEventListener(end, () => URL.revokeObjectURL(url), { once: true });
        img.src = url;
      })
      .catch(() => {})   // no thumbnail: the glyph stays
      .finally(() => clearTimeout(timer));
  };

  FL.resultRow = (item, pageUrl) => {
    const row = el("li");
    row.dataset.index = item.index;
    row.dataset.kind = item.kind;
    row.append(thumbnail(item, pageUrl), el("div", { className: "body" }));
    FL.updateRow(row, item, null);
    return row;
  };

  FL.updateRow = (row, item, check) => {
    const look = FL.describe(check);
    row.dataset.state = check ? check.status || "failed" : "pending";
    row.dataset.label = look.label || "";
    const body = row.querySelector(".body");
    const chip = el("span", { className: `chip ${look.tone}`, title: look.text }, [
      el("span", { textContent: look.icon, ariaHidden: "true" }),
      ` ${look.text}`,
    ]);
    const parts = [chip];   // (its text says the score, where a verdict has one)
    const result = check && check.result;
    const sent = (check && check.sent_url) || (item.kind === "video" && !/^https?:/.test(item.url) ? item.permalink : item.url);
    // an address is shown after its kind, cut short; a name in its place ("inline JPEG image") says the kind
    const named = /^(data|blob):/i.test(sent || "");
    const name = FL.shortUrl(sent, item.kind);
    const lines = [el("div", {}, parts), el("div", { className: "meta", title: named ? "" : sent || "",
                                                     textContent: named ? name : `${item.kind} · ${name || "no address"}` })];
    if (!FL.isFinal(check)) {
      const fraction = check && check.progress && typeof check.progress.fraction === "number" ? check.progress.fraction : undefined;
      const bar = el("progress", { max: 1 });
      // which one: "Checking" alone, row after row, told a screen reader nothing
      bar.setAttribute("aria-label", `${check && check.status === "queued" ? "Waiting to check" : "Checking"} `
        + (named ? name : `${item.kind} ${name || "with no address"}`));
      if (fraction !== undefined) bar.value = fraction;
      if (check && check.progress && check.progress.stage) bar.title = check.progress.stage;
      lines.push(bar);
    }
    if (result && result.summary) {
      lines.push(el("div", { className: "meta said", textContent: result.summary, title: FL.detailLines(check).join("\n") }));
    }
    if (check && check.id && check.status === "done") {
      const link = el("a", { href: "#", className: "report", textContent: "Report" });
      link.setAttribute("aria-label", `Report on ${name || item.kind}`);   // "Report" alone, row after row
      link.addEventListener("click", (event) => {
        event.preventDefault();
        FL.ask("open-report", { id: check.id });
      });
      lines.push(link);
    }
    body.replaceChildren(...lines);
  };
})();
