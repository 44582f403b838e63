// A response's body, read no further than `max` bytes (Content-Length may be absent or lie, and a page
// could name an endless "image"): a Blob, or null past `max` (the download is then stopped) or when empty.
// Loaded by background.js and the popup.
(() => {
  "use strict";
  const root = Object.hasOwn(globalThis, "FakeLens") ? globalThis.FakeLens : (globalThis.FakeLens = {});   // (namespace.js)

  root.readCapped = async (res, abort, max) => {
    if (Number(res.headers.get("content-length") || 0) > max || !res.body) return null;
    const reader = res.body.getReader();
    const chunks = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > max) {
        abort.abort();
        return null;
      }
      chunks.push(value);
    }
    const type = (res.headers.get("content-type") || "").split(";")[0].trim().toLowerCase();
    return size ? new Blob(chunks, { type }) : null;
  };
})();
