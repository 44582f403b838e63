// Following a check until it is final: for the content scripts (through background.js) and for
// background.js itself (right-click checks). The backend keeps its checks across a restart, so one
// that cannot be reached for a while does not end a check: the poll goes on trying for OUTAGE_MS
// and only then gives up; any other error ends it at once.
(() => {
  "use strict";
  const root = globalThis.FakeLens || (globalThis.FakeLens = {});
  const FINAL = new Set(["done", "failed", "cancelled"]);
  // a restart, a backend paused (Ctrl+Z) and brought back, a locked database
  const PASSING = new Set(["unreachable", "not_answering", "storage_unavailable"]);
  const OUTAGE_MS = 120_000;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // Whether a check has ended (null, a check not made yet, has not).
  root.isFinal = (check) => Boolean(check) && FINAL.has(check.status);

  // What a check that left the backend while followed (not_found) is: removed by "clear history", not failed.
  root.removedCheck = () => ({ status: "cancelled", error: { code: "not_found", message: "removed: the history was cleared" } });

  // `status(id)` fetches the check as it stands; `onUpdate` sees each new state.
  root.followCheck = async (check, status, onUpdate = () => {}, { delay = 400, longest = 2000 } = {}) => {
    let troubleSince = null;
    while (!root.isFinal(check)) {
      await sleep(delay);
      delay = Math.min(delay * 1.5, longest);
      try {
        check = await status(check.id);
      } catch (err) {
        troubleSince = troubleSince ?? Date.now();
        if (!PASSING.has(err.code) || Date.now() - troubleSince > OUTAGE_MS) throw err;
        continue;
      }
      troubleSince = null;
      onUpdate(check);
    }
    return check;
  };
})();
