// Following a check until it is final: for the content scripts (through background.js) and for
// background.js itself (right-click checks). The backend keeps its checks across a restart, so one
// that cannot be reached for a while does not end a check: the poll goes on trying for OUTAGE_MS
// and only then gives up; any other error ends it at once.
(() => {
  "use strict";
  const root = Object.hasOwn(globalThis, "FakeLens") ? globalThis.FakeLens : (globalThis.FakeLens = {});   // (namespace.js)
  const FINAL = new Set(["done", "failed", "cancelled"]);
  // a restart, a backend paused (Ctrl+Z) and brought back, a locked database
  const PASSING = new Set(["unreachable", "not_answering", "storage_unavailable"]);
  const OUTAGE_MS = 120_000;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // Whether a check has ended (null, a check not made yet, has not).
  root.isFinal = (check) => Boolean(check) && FINAL.has(check.status);

  // What a check that left the backend while followed (not_found) is: removed by "clear history", not failed.
  root.removedCheck = () => ({ status: "cancelled", error: { code: "not_found", message: "removed: the history was cleared" } });

  // A page scan's check not sent yet when the background script stopped (Chrome stops an idle service
  // worker, Firefox unloads an idle event page): its upload went with it, and the scan, restored, says so.
  root.interruptedCheck = () => ({ status: "cancelled", error: { code: "interrupted", message: "not sent: the scan was interrupted" } });

  // A page scan's check never sent because the scan failed before it made any (the backend unreachable):
  // why is said once, above the rows, by the popup that scanned; every popup's rows say this
  root.notSentCheck = (err) => ({ status: "cancelled", error: { code: "not_sent", message: err.message } });

  // A check that could not be started or followed, as the badge and the report tab show it: one the
  // backend answered as cancelled (cancelled while its POST waited: 409 cancelled) is cancelled, not failed.
  root.failedCheck = (err) => ({ status: err.code === "cancelled" ? "cancelled" : "failed", id: err.checkId || undefined,
    error: { code: err.code || "internal", message: err.message } });

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

  // Following many checks (a page scan's, in the popup). Asking after each every 2 s made 100
  // requests a second for a scan of 200, though a check waiting in line makes no progress. A round
  // asks after the `atOnce` checks the backend is on or takes next (the running ones, then the
  // earliest made: it takes a page's checks in the order they came) and one of the others in turn (one
  // may end out of line: cancelled, or cleared from the history). A round that found checks ended is
  // followed at once (the backend is ahead), else after `delay`, growing to `longest`. A backend out
  // of reach is waited out as by followCheck, for all of them. `onUpdate(i, check)` sees each new
  // state of checks[i]; `onError(i, err)`, a check whose following ended in an error. Following stops
  // early once `active()` says no (a page scan another scan of its tab replaced).
  root.followChecks = async (checks, status, onUpdate, onError,
                             { delay = 1000, longest = 2000, atOnce = 4, active = () => true } = {}) => {
    const open = [];
    checks.forEach((check, i) => {
      if (check && check.id && !root.isFinal(check)) open.push({ i, check });
    });
    const running = (entry) => (entry.check.status === "running" ? 0 : 1);
    const order = (a, b) => running(a) - running(b) || (a.check.created || 0) - (b.check.created || 0) || a.i - b.i;
    const first = delay;
    let troubleSince = null;
    let turn = 0;
    while (open.length) {
      await sleep(delay);
      if (!active()) return;
      open.sort(order);
      const asked = open.slice(0, atOnce);
      if (open.length > atOnce) asked.push(open[atOnce + (turn++ % (open.length - atOnce))]);
      let trouble = null;
      let answered = false;
      await Promise.all(asked.map(async (entry) => {
        try {
          entry.check = await status(entry.check.id);
        } catch (err) {
          if (PASSING.has(err.code)) {
            trouble = err;
            return;
          }
          answered = true;
          entry.ended = true;
          onError(entry.i, err);
          return;
        }
        answered = true;
        entry.ended = root.isFinal(entry.check);
        onUpdate(entry.i, entry.check);
      }));
      troubleSince = answered || !trouble ? null : (troubleSince ?? Date.now());
      if (troubleSince !== null && Date.now() - troubleSince > OUTAGE_MS) {
        open.forEach((entry) => onError(entry.i, trouble));
        return;
      }
      const before = open.length;
      open.splice(0, open.length, ...open.filter((entry) => !entry.ended));
      delay = open.length < before ? 0 : Math.min(Math.max(delay, first) * 1.5, longest);
    }
  };
})();
