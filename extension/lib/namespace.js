// One global namespace shared by the classic scripts of a page (content scripts, popup, options).
// `ext` is the promise-based WebExtension API in Firefox (`browser`) and Chrome (`chrome`).
(() => {
  "use strict";
  const root = globalThis.FakeLens || (globalThis.FakeLens = {});
  root.ext = globalThis.browser ?? globalThis.chrome;
  root.contentHandlers = root.contentHandlers || {}; // message type -> handler, in content scripts

  // Send a message to background.js; resolves with its answer, rejects on {error}.
  root.ask = async (type, payload = {}) => {
    const answer = await root.ext.runtime.sendMessage({ type, ...payload });
    if (answer && answer.error) {
      const err = new Error(answer.error.message);
      err.code = answer.error.code;
      throw err;
    }
    return answer;
  };
})();
