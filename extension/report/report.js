// The backend's HTML report needs the token, which a plain link cannot carry: background.js
// fetches it and this page shows it in a sandboxed frame (no scripts run in it).
(async () => {
  "use strict";
  const FL = globalThis.FakeLens;
  const params = new URLSearchParams(location.search);
  const id = params.get("id");
  const message = document.getElementById("message");
  const progress = document.getElementById("progress");
  // the stages analyze.py reports
  const STAGES = { fetch: "downloading it", decode: "reading it", faces: "finding faces", detect: "running the detectors" };
  function showProgress(check) {
    const what = (check.input && (check.input.url || check.input.filename)) || "the media";
    const stage = check.progress && STAGES[check.progress.stage];
    // the live line changes with the stage only (each poll's percentage would be read out)
    const text = check.status === "queued" ? `Waiting to check ${what} (other checks are ahead of it)…`
      : `Checking ${what}${stage ? `: ${stage}` : ""}…`;
    if (message.textContent !== text) message.textContent = text;
    const fraction = check.progress && check.progress.fraction;
    progress.hidden = false;
    if (typeof fraction === "number") progress.value = fraction;
  }
  if (!id) {
    // a right-click check that failed before the backend made a check of it, with the fix when it was
    // the connection (a wrong token, no backend)
    const fix = params.get("code") ? FL.describeConnection({ state: params.get("code") }).fix : "";
    message.textContent = `FakeLens could not check this: ${params.get("error") || "unknown error"}`
      + (fix ? `. ${FL.plainText(fix)}` : "");
    return;
  }
  try {
    // a check still running (a right-clicked link's page, opened at once so that the click is seen to
    // do something: a video page can take a minute): its progress first, then its report
    // A check that failed comes back as an error, with the check in it: final, not an outage to wait out
    // (a check failed for a full disk, storage_unavailable, was polled for two minutes). The report says
    // why it failed, and so does the report of one no longer kept, or the connection's trouble.
    const status = (checkId) => FL.ask("check-status", { id: checkId })
      .catch((err) => { if (err.answer && err.answer.status) return err.answer; throw err; });
    const check = await status(id).catch(() => null);
    if (check && !FL.isFinal(check)) {
      showProgress(check);
      await FL.followCheck(check, status, showProgress).catch(() => {});
    }
    progress.remove();
    const { html } = await FL.ask("report", { id });
    // the tab takes the report's title, which names the media: several report tabs are told apart
    // (parsed, not shown: DOMParser's document runs nothing and loads nothing)
    document.title = new DOMParser().parseFromString(html, "text/html").title || document.title;
    const frame = document.getElementById("report");
    // focused once shown, so the keys scroll the report (nothing in it can take focus: no scripts)
    frame.addEventListener("load", () => frame.focus(), { once: true });
    frame.srcdoc = html;
    frame.hidden = false;
    message.remove();
  } catch (err) {
    // what to do about it: a check no longer kept, or the backend's connection and its one fix
    const fix = err.code === "not_found"
      ? "FakeLens no longer keeps this check (the history was cleared, or it is older than keep_days)."
      : FL.describeConnection({ state: err.code }).fix;
    message.textContent = `The report could not be loaded: ${err.message}${fix ? `. ${FL.plainText(fix)}` : ""}`;
  }
})();
