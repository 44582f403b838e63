// Page scans ("Scan this page" in the popup), one per tab, kept here rather than in the popup. A click
// on the page closes Chrome's popup: the scan went on uploading every picture while the verdicts,
// which only the popup drew on the page, were lost with it, and a popup opened again showed nothing.
// Here each check is followed to its end, drawn on the page the moment it is final, and told to any
// popup open; a popup opened again on the same page shows the scan as it stands.
// What that popup needs is kept in storage.session too (per tab: the scan, its page, its rows and what
// each row shows of its check): Chrome stops an idle service worker after 30 s and Firefox unloads an
// idle event page, and a popup opened again after that was blank while the page kept its badges. A
// scan restored so follows again the checks it had not seen end (they live in the backend); a check it
// had not sent yet when the background stopped says so. Session storage is the browser session's only,
// and out of content scripts' reach (its default access level, kept).
export function installPageScans({ ext, scan, getCheck }) {
  const FL = globalThis.FakeLens;
  const scans = new Map();   // tab id → { tabId, scanId, pageUrl, rows, checks }
  const session = ext.storage && ext.storage.session;   // (absent: kept in memory only)
  const KEY = "pageScan:";
  const key = (tabId) => `${KEY}${tabId}`;

  // A new document or a new scan of the tab ends the old one's following.
  const current = (state) => scans.get(state.tabId) === state;

  // What a row shows of a check, and no more (a check's result holds every face box and signal):
  // lib/wording.js's describe and detailLines, and result-row.js.
  const pick = (from, names) => {
    if (!from || typeof from !== "object") return undefined;
    const out = {};
    for (const name of names) if (from[name] !== undefined) out[name] = from[name];
    return out;
  };
  function slim(check) {
    if (!check) return null;
    const kept = pick(check, ["id", "status", "sent_url", "cached", "created"]);
    if (check.error) kept.error = pick(check.error, ["code", "message"]);
    if (check.progress) kept.progress = pick(check.progress, ["fraction", "stage"]);
    const r = check.result;
    if (r && typeof r === "object") {
      kept.result = pick(r, ["label", "score", "summary", "reason"]);
      if (r.provenance) {
        kept.result.provenance = pick(r.provenance, ["ai_generated", "source", "partly_ai", "digital_source_type",
          "ai_signer_trusted", "ai_signer", "status", "signer", "trusted", "generator", "failure_words", "unreadable",
          "remote_manifest", "failed"]);
      }
      if (r.media) kept.result.media = pick(r.media, ["kind", "page_videos", "declared_duration", "duration", "animated"]);
      if (Array.isArray(r.signals)) {
        kept.result.signals = r.signals.map((sig) => pick(sig, ["detector", "score", "threshold", "weight", "decisive"]));
      }
      if (Array.isArray(r.faces)) kept.result.faces = r.faces.map((face) => pick(face, ["frame"]));
    }
    return kept;
  }
  // A row's own addresses, small: all tabs' scans share the browser's 10 MB of session storage, and a
  // tab's is written whole at each change. A data: picture's whole base64 (megabytes) is not kept, its
  // kind is (the row names it "inline JPEG image"), nor a data: thumbnail over 2 KB, nor an address
  // over the backend's 4,096 characters (the row's glyph stands in; such an address is not checked
  // anyway); a thumbnail that is the row's own address (most pictures') is not kept twice.
  const MAX_THUMB_CHARS = 2048;
  const MAX_URL_CHARS = 4096;
  const shortEnough = (url) => (typeof url === "string" && url.length > MAX_URL_CHARS ? undefined : url);
  const slimRow = (row) => {
    const url = /^data:/i.test(row.url || "") ? `${row.url.split(",")[0]},` : row.url;
    const thumb = /^data:/i.test(row.thumb || "") && row.thumb.length > MAX_THUMB_CHARS ? undefined : row.thumb;
    const kept = { ...row, url: shortEnough(url), thumb: shortEnough(thumb), permalink: shortEnough(row.permalink) };
    if (kept.thumb && kept.thumb === kept.url) {
      delete kept.thumb;
      kept.thumbIsUrl = true;
    }
    return kept;
  };
  const fullRow = ({ thumbIsUrl, ...row }) => (thumbIsUrl ? { ...row, thumb: row.url } : row);
  // One tab's scan is kept up to this size (its rows and checks as stored), leaving the rest to other tabs
  const MAX_KEPT_CHARS = 2 * 1024 * 1024;

  // Written after a change, one write at a time (the last state wins; a scan dropped meanwhile is not
  // written again), at most every half second: a scan's checks come one by one as its pictures upload,
  // and its checks' progress with each round it follows them; at once (`now`) when the scan is made,
  // has sent everything, or has ended. A write that fails (the storage full) or a scan too big to keep
  // drops what was kept of the tab's scan, saying why in the console: a popup opened after the
  // background stopped shows no rows then, never an old state of this scan.
  const WRITE_EVERY_MS = 500;
  function keep(state, { now = false } = {}) {
    if (!session || !Number.isInteger(state.tabId) || state.unkept) return;
    state.dirty = true;
    if (now) {
      clearTimeout(state.timer);
      state.timer = null;
      write(state);
    } else {
      state.timer ??= setTimeout(() => {
        state.timer = null;
        write(state);
      }, WRITE_EVERY_MS);
    }
  }
  function write(state) {
    if (state.writing) return;   // the write under way writes again once done
    state.writing = (async () => {
      while (state.dirty && current(state) && !state.unkept) {
        state.dirty = false;
        state.kept ??= state.rows.map(slimRow);
        const record = { scanId: state.scanId, pageUrl: state.pageUrl, rows: state.kept, checks: state.checks.map(slim) };
        const size = JSON.stringify(record).length;
        const why = size > MAX_KEPT_CHARS ? `it is too big (${size} characters, over ${MAX_KEPT_CHARS})`
          : await session.set({ [key(state.tabId)]: record }).then(() => null, (err) => String((err && err.message) || err));
        if (why && current(state)) {
          state.unkept = true;
          await unkeep(state.tabId);
          console.warn(`FakeLens: the page scan of tab ${state.tabId} is not kept in session storage (${why}): ` +
                       "a popup opened after the browser stops the idle background script will not show it");
        }
      }
      state.writing = null;
    })();
  }
  const unkeep = (tabId) => (session ? session.remove(key(tabId)).catch(() => {}) : Promise.resolve());

  // The tab's scan ends here (its page changed, the tab closed, another scan, the history cleared).
  function drop(tabId) {
    scans.delete(tabId);
    return unkeep(tabId);
  }

  function tell(state, index, { page = true } = {}) {
    const check = state.checks[index];
    keep(state, { now: state.checks.every(FL.isFinal) });
    // to the popup, when one is open (none is: the promise fails, and nothing is lost)
    ext.runtime.sendMessage({ type: "scan-update", tabId: state.tabId, scanId: state.scanId, index, check })
      .catch(() => {});
    if (page && FL.isFinal(check)) {   // the page's content script draws it where that scan found the media
      ext.tabs.sendMessage(state.tabId, { type: "scan-results", scanId: state.scanId, results: [{ index, check }] },
                           { frameId: 0 }).then((answer) => {
        // another page in the tab now (or one the scan's document no longer knows): the scan ends there
        if (answer === "other-scan") pageChanged(state);
      }, () => pageChanged(state));   // no page answers: the tab went where FakeLens does not run (a PDF, a browser page)
    }
  }

  // The scan ends, and a popup following it is told why (its rows waited on checks no longer followed, for ever).
  function pageChanged(state) {
    if (!current(state)) return;
    drop(state.tabId);
    ext.runtime.sendMessage({ type: "scan-ended", tabId: state.tabId, scanId: state.scanId, why: "page_changed" })
      .catch(() => {});
  }

  // `told`: the checks already told to the page and any popup (a scan restored: only what changes is)
  async function follow(state, { told = false } = {}) {
    if (!told) state.checks.forEach((check, i) => tell(state, i));
    await FL.followChecks(state.checks, async (id) => {
      await ext.runtime.getPlatformInfo();   // an extension API call keeps Chrome's service worker alive
      return getCheck(id);
    }, (i, check) => {
      state.checks[i] = { ...check, sent_url: state.checks[i].sent_url };
      tell(state, i);
    }, (i, err) => {
      // gone from the backend while followed: the history was cleared (Options), not a failure
      state.checks[i] = err.code === "not_found" ? FL.removedCheck()
        : FL.failedCheck(err);
      tell(state, i);
    }, { active: () => current(state) });
  }

  // The tab's scan as kept in session storage, once the background was stopped since (its memory gone):
  // followed again from here. A check still unsent then (its upload under way) was lost with it, and
  // its row says so rather than "Checking…" for ever.
  const restoring = new Map();   // tab id → the restore under way (two popups at once follow it once)
  function restore(tabId) {
    if (!session || !Number.isInteger(tabId)) return Promise.resolve(null);
    if (!restoring.has(tabId)) {
      restoring.set(tabId, (async () => {
        const kept = await read(tabId);
        if (!kept || scans.has(tabId) || !Array.isArray(kept.rows) || !Array.isArray(kept.checks)) return scans.get(tabId) || null;
        const state = { tabId, scanId: kept.scanId, pageUrl: kept.pageUrl, rows: kept.rows.map(fullRow), kept: kept.rows,
                        checks: kept.checks.map((check) => check || FL.interruptedCheck()) };
        scans.set(tabId, state);
        if (kept.checks.some((check) => !check)) keep(state, { now: true });
        if (!state.checks.every(FL.isFinal)) follow(state, { told: true }).catch(() => {});
        return state;
      })().finally(() => restoring.delete(tabId)));
    }
    return restoring.get(tabId);
  }

  ext.tabs.onRemoved.addListener((tabId) => { drop(tabId); });
  const read = async (tabId) => (session && (await session.get(key(tabId)).catch(() => ({})))[key(tabId)]) || null;

  // The scan `scanId` of the tab ends, if it is still the tab's (one started meanwhile stays).
  async function dropIf(tabId, scanId) {
    const state = scans.get(tabId);
    if (state) {
      if (state.scanId === scanId) pageChanged(state);
      return;
    }
    if ((await read(tabId) || {}).scanId === scanId && !scans.has(tabId)) await unkeep(tabId);
  }

  // A new document in the tab knows no scan: once the tab has loaded, its scan is kept only if its page
  // still names it (a same-document navigation, as a feed's pushState, keeps its scan and badges).
  if (ext.tabs.onUpdated) {
    ext.tabs.onUpdated.addListener((tabId, change) => {
      if (change.status !== "complete") return;
      (async () => {
        const scanId = (scans.get(tabId) || await read(tabId) || {}).scanId;
        if (!scanId) return;
        const named = await ext.tabs.sendMessage(tabId, { type: "scan-id" }, { frameId: 0 }).catch(() => null);
        if (named !== scanId) await dropIf(tabId, scanId);
      })();
    });
  }

  const handlers = {
    // `rows`: what the popup shows of each item (kind, addresses, thumbnail), for a popup opened again.
    // Answers once every item is uploaded or sent; the checks are followed here after that. Each check
    // is kept as soon as it is made, while the rest still upload: a background stopped meanwhile
    // follows it again (only those not made yet say the scan was interrupted).
    async scan({ tabId, scanId, items, rows, pageUrl }) {
      items = items || [];
      const state = { tabId, scanId, pageUrl, rows: rows || [], checks: new Array(items.length).fill(null) };
      if (Number.isInteger(tabId)) {
        scans.set(tabId, state);
        keep(state, { now: true });
      }
      const made = (i, check) => {
        if (!Number.isInteger(tabId) || !current(state) || i < 0 || i >= state.checks.length) return;
        state.checks[i] = check;
        keep(state);
      };
      let checks;
      try {
        // (a scan of no tab is kept nowhere: nothing replaces it)
        checks = await scan(items, pageUrl, () => !Number.isInteger(tabId) || current(state), made);
      } catch (err) {
        if (current(state)) {
          drop(tabId);
          // a popup opened again meanwhile waits on these rows: each says why (the first popup gets the
          // error); nothing is drawn on the page, as the first popup draws nothing of a failed scan
          state.checks = items.map(() => FL.notSentCheck(err));   // as the scanning popup's rows say
          state.checks.forEach((_, i) => tell(state, i, { page: false }));
        }
        throw err;
      }
      if (current(state)) {
        state.checks = checks.slice();
        follow(state).catch(() => {});
        keep(state, { now: true });   // every check made: kept at once
      }
      return { checks };
    },
    // The tab's scan, if it is the scan its page's content script made last (its document's).
    async "scan-state"({ tabId, scanId }) {
      const state = scans.get(tabId) || await restore(tabId);
      if (!state || !scanId) return {};
      // the page names another scan: an older one (the kept one is of a page gone: dropped once the tab
      // loads, onUpdated below) or, a popup asking as a new scan starts, a newer one (not to be ended)
      if (state.scanId !== scanId) return {};
      return { pageUrl: state.pageUrl, rows: state.rows, checks: state.checks };
    },
  };
  // handlers: the messages "scan" and "scan-state"; following: whether a tab's scan is still kept;
  // clearAll: every scan forgotten (the history was cleared), here and in session storage
  async function clearAll() {
    scans.clear();
    if (!session) return;
    const all = await session.get(null).catch(() => ({}));
    const keys = Object.keys(all || {}).filter((k) => k.startsWith(KEY));
    if (keys.length) await session.remove(keys).catch(() => {});
  }
  // A background started again (by the 30 s alarm, a message, a page) follows at once the scans kept
  // before it stopped: their verdicts go on being drawn on the page and told to a popup left open (only
  // a popup opened afresh, which asks for them, restored them: an open one waited for ever, the page got
  // no badges). A kept scan whose tab closed meanwhile goes.
  (async () => {
    if (!session || !ext.tabs.get) return;
    const all = await session.get(null).catch(() => ({}));
    for (const k of Object.keys(all || {}).filter((name) => name.startsWith(KEY))) {
      const tabId = Number(k.slice(KEY.length));
      if (await ext.tabs.get(tabId).then(() => true, () => false)) restore(tabId).catch(() => {});
      else unkeep(tabId);
    }
  })().catch(() => {});
  return { handlers, following: (tabId) => scans.has(tabId), clearAll };
}
