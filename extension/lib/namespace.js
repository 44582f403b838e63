// One global namespace shared by the classic scripts of a page (content scripts, popup, options).
// `ext` is the promise-based WebExtension API in Firefox (`browser`) and Chrome (`chrome`).
(() => {
  "use strict";
  // own only: a page's element named "FakeLens" (<form id="FakeLens">) shows through as globalThis.FakeLens
  // in a content script (a window's named properties), and writing to it threw: every content script died
  const root = Object.hasOwn(globalThis, "FakeLens") ? globalThis.FakeLens : (globalThis.FakeLens = {});
  // The API: in Chrome's content scripts no `browser` is defined, and a page's element named "browser"
  // (<div id="browser">) shows through as globalThis.browser: there, only an own one (Firefox's) is it
  root.ext = Object.hasOwn(globalThis, "browser") || /^(chrome|moz)-extension:$/.test(globalThis.location?.protocol || "")
    ? globalThis.browser ?? globalThis.chrome : globalThis.chrome;
  root.contentHandlers = root.contentHandlers || {}; // message type -> handler, in content scripts
  // A name no page can guess (a right-click's target, a page scan); crypto.randomUUID is for https pages only
  root.randomId = () => Array.from(crypto.getRandomValues(new Uint32Array(4)), (n) => n.toString(16)).join("-");

  // Send a message to background.js; resolves with its answer, rejects on {error}.
  root.ask = async (type, payload = {}) => {
    const answer = await root.ext.runtime.sendMessage({ type, ...payload });
    if (answer && answer.error) {
      const err = new Error(answer.error.message);
      err.code = answer.error.code;
      err.answer = answer;   // a check that failed comes this way too: it is in here, whole
      throw err;
    }
    return answer;
  };
})();
