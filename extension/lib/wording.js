// How a check reads to the user: one place for every label, icon and tooltip line.
// Colour never stands alone: every tone comes with an icon and text. Never say "real".
(() => {
  "use strict";
  const root = Object.hasOwn(globalThis, "FakeLens") ? globalThis.FakeLens : (globalThis.FakeLens = {});   // (namespace.js)

  const PROVENANCE_SOURCES = {
    c2pa: ["Content Credentials", "CR"],
    metadata: ["file metadata", "metadata"],
    watermark: ["watermark", "watermark"],
  };

  // Why Content Credentials do not validate, in the backend's words (provenance.failure_words, from
  // c2pa_reader.py PLAIN): an expired certificate is not an edit, so never "tampered" for everything.
  function credentialFailures(p) {
    const words = Array.isArray(p.failure_words) ? p.failure_words.filter((w) => typeof w === "string") : [];
    return words.length ? words.join("; ") : "they do not validate";
  }

  // Quote marks in a name said in quotes (as provenance/text.py signer_words): one closed the quotes
  // and wrote its own "(trusted)" after them. Double ones go; single ones become a plain apostrophe
  const quotedName = (name) => String(name).replace(/["“”„‟«»〝〞〟＂❝❞⹂″‶]/g, "").replace(/[‘’‚‛‹›❛❜＇`′‵]/g, "'");

  const clamp = (x) => Math.max(0, Math.min(1, Number(x) || 0));
  const pct = (x) => `${Math.round(clamp(x) * 100)}%`;   // progress only
  // A model's score, read against its threshold: not a chance (the face-swap score is not calibrated),
  // so never a percentage. Two decimals, as the backend writes them (verdict.score_text); a score short
  // of 1 or above 0 never reads as exactly that, since the end points would say certainty.
  function scoreText(x) {
    const s = clamp(x);
    if (s >= 0.995 && s < 1) return "> 0.99";
    if (s > 0 && s < 0.005) return "< 0.01";
    return (Math.round(s * 100) / 100).toFixed(2);
  }

  function notCheckedReason(result) {
    // (verdict.not_checked_reason writes the same for the CLI and the report)
    // the summary's first sentence only: the provenance note after it has its own "too small" (for
    // the watermark), which is not why the faces were not checked
    const text = `${result.reason || ""} ${(result.summary || "").split(". ")[0]}`.toLowerCase();
    if (/no face|no faces|without a face/.test(text)) return "no face";
    // (short enough for a badge: its text is cut past 260 px)
    if (/small/.test(text) && /cut off/.test(text)) return "small or cut-off faces";
    if (/too small|small/.test(text)) return "faces too small";
    if (/cut off/.test(text)) return "face cut off";
    if (/unsupported|not supported/.test(text)) return "unsupported media";
    if (Array.isArray(result.faces) && result.faces.length === 0) return "no face";
    return "no detector applies";
  }

  // The headline of a finished verdict; `group` is the headline without its score (the popup counts
  // a page's verdicts by it).
  function describeResult(result) {
    const score = scoreText(result.score);
    switch (result.label) {
      case "manipulated":
        return { tone: "manipulated", icon: "⚠", text: `Likely manipulated (score ${score})`, short: `Likely manipulated ${score}`,
                 group: "Likely manipulated" };
      case "ai_generated":
        if (result.provenance && result.provenance.ai_generated) {
          // name the provenance that said so: only C2PA is "Content Credentials"
          const [where, abbr] = PROVENANCE_SOURCES[result.provenance.source] || ["provenance", "provenance"];
          // a photo with an AI-made part (generative fill) is not wholly AI-generated (verdict.label_words)
          // (a check stored before the block had partly_ai goes by its declared composite type)
          const partly = result.provenance.partly_ai
            ?? result.provenance.digital_source_type === "compositeWithTrainedAlgorithmicMedia";
          const what = partly ? "Partly AI-generated" : "AI-generated";
          // anyone can sign "this is AI" with a certificate of their own: a signer not on the trust list
          // is named as the one who declared it (verdict.label_words says the same)
          if (result.provenance.source === "c2pa" && result.provenance.ai_signer_trusted === false) {
            const who = result.provenance.ai_signer ? `“${quotedName(result.provenance.ai_signer)}”` : "an unknown signer";
            return { tone: "ai", icon: "✦", text: `${what}, as declared by ${who} (not on FakeLens's trust list)`,
                     short: `${what} (untrusted CR)`, group: `${what} (Content Credentials of a signer not on FakeLens's trust list)` };
          }
          return { tone: "ai", icon: "✦", text: `${what} (${where})`, short: `${what} (${abbr})`,
                   group: `${what} (${where})` };
        }
        return { tone: "ai", icon: "✦", text: `Likely AI-generated (score ${score})`, short: `Likely AI ${score}`,
                 group: "Likely AI-generated" };
      case "no_evidence":
        return { tone: "clear", icon: "○", text: "No signs of manipulation found", short: "No signs found" };
      case "uncertain":
        // made by the credentials (their file changed after signing), not a model: no score, the reason
        // (verdict.CREDENTIALS_CHANGED); the popup counts it as "Uncertain" still
        if ((result.signals || []).some((s) => s.detector === "provenance" && s.decisive)) {
          return { tone: "uncertain", icon: "?", text: "Uncertain (Content Credentials changed after signing)",
                   short: "Uncertain (CR changed)", group: "Uncertain" };
        }
        return { tone: "uncertain", icon: "?", text: `Uncertain (score ${score})`, short: `Uncertain ${score}`,
                 group: "Uncertain" };
      case "not_applicable": {
        const reason = notCheckedReason(result);
        return { tone: "skipped", icon: "–", text: `Not checked: ${reason}`, short: `Not checked: ${reason}` };
      }
      default:
        return { tone: "uncertain", icon: "?", text: "Uncertain", short: "Uncertain" };
    }
  }

  // How many videos a page has: only its first 10 media are listed (fetch/ytdlp.py PAGE_ITEMS).
  const videos = (n) => (n >= 10 ? `${n} or more` : `${n}`);

  // What a verdict did not cover, beside its headline (verdict.caveat): the summary says it last, where
  // the popup's three lines and a badge's chip do not reach.
  function caveat(result) {
    const media = result.media || {};
    if (media.page_videos > 1) return `the first of ${videos(media.page_videos)} videos on the page`;
    if (typeof media.declared_duration === "number" && typeof media.duration === "number") {
      const seconds = (x) => (Math.round(x * 100) / 100).toFixed(2).replace(/\.?0+$/, "");   // as verdict._seconds
      return `only the first ${seconds(media.duration)} s of ${seconds(media.declared_duration)} s`;
    }
    if (media.animated) return "only its first frame";
    return "";
  }

  // Where text cannot show code (a tooltip, a title, a plain message), `fakelens token` reads "fakelens token".
  root.plainText = (text) => String(text).replace(/`([^`]*)`/g, '"$1"');

  // Any check object from the API (or a local error) -> {tone, icon, text, short, label}, and `group`
  // for a finished one. `el`, the element a badge is drawn on: a verdict on the first video of a page
  // of several is not drawn on a <video> as if it were that video's.
  root.describe = (check, el) => {
    if (!check) return { tone: "pending", icon: "…", text: "Checking…", short: "Checking…", label: "" };
    if (check.status === "done" && check.result) {
      const pageVideos = (check.result.media || {}).page_videos;
      if (pageVideos > 1 && el && el.localName === "video") {
        return { tone: "skipped", icon: "–", label: "not_applicable", short: "Not checked: another video",
                 group: "Not checked: another video", otherVideo: true,
                 text: `Not checked: the page has ${videos(pageVideos)} videos, and `
                   + "FakeLens checked the first it could download, which may not be this one" };
      }
      const look = describeResult(check.result);
      const more = caveat(check.result);
      return { group: look.text, ...look, text: more ? `${look.text} (${more})` : look.text, label: check.result.label };
    }
    if (check.status === "cancelled" && check.error && check.error.code === "page_changed") {
      // a page scan's check the popup follows no more: the page was reloaded or left (the backend goes on)
      return { tone: "skipped", icon: "–", text: "Not followed: the page changed", short: "Not followed",
               label: "cancelled", group: "not followed" };
    }
    if (check.status === "cancelled" && check.error && check.error.code === "not_sent") {
      // a page scan that failed before it made any check: the popup says why once, above its rows
      return { tone: "skipped", icon: "–", text: "Not sent: the scan failed", short: "Not sent",
               label: "cancelled", group: "not sent" };
    }
    if (check.status === "cancelled" && check.error && check.error.code === "interrupted") {
      // a page scan's check not sent when the background script stopped (FakeLens.interruptedCheck)
      return { tone: "skipped", icon: "–", text: "Not sent: the scan was interrupted (scan again)", short: "Not sent",
               label: "cancelled", group: "not sent (scan again)" };
    }
    if (check.status === "cancelled") {   // by the user, or gone with a cleared history (FL.removedCheck)
      const why = check.error && check.error.code === "not_found" ? " (the history was cleared)" : "";
      return { tone: "error", icon: "×", text: `Check cancelled${why}`, short: "Cancelled", label: "cancelled" };
    }
    if (check.status === "failed" || check.error) {
      const msg = (check.error && check.error.message) || "unknown error";
      return { tone: "error", icon: "!", text: `Check failed: ${msg}`, short: "Check failed", label: "failed" };
    }
    if (check.status === "queued") {   // in line behind other checks: not yet being checked
      return { tone: "pending", icon: "…", text: "Waiting to be checked…", short: "Waiting…", label: "" };
    }
    const fraction = check.progress && typeof check.progress.fraction === "number" ? check.progress.fraction : null;
    const text = fraction === null ? "Checking…" : `Checking… ${pct(fraction)}`;
    return { tone: "pending", icon: "…", text, short: text, label: "" };
  };

  // A signal's name in the tooltip, in words a reader knows (verdict.py DETECTOR_NAMES)
  const SIGNAL_NAMES = { face_swap: "Face-swap detector", synthetic: "AI-image detector", provenance: "Provenance check" };
  const signalName = (detector) => SIGNAL_NAMES[detector] || detector;

  // Tooltip lines: summary, score, the deciding signals and the provenance.
  root.detailLines = (check) => {
    const result = check && check.result;
    if (!result) return [root.describe(check).text];
    const lines = [];
    if (result.summary) lines.push(result.summary);
    if (check.cached) lines.push("The verdict of an earlier check of the same media, reused.");
    // a declaration (Content Credentials, metadata, a watermark) is no model's score: none is shown for it
    const declared = result.label === "ai_generated" && result.provenance && result.provenance.ai_generated;
    if (!["not_applicable", "no_evidence"].includes(result.label) && !declared) {
      // a model score, not a probability: what it means is where it stands against the threshold below
      // (not beside "No signs of manipulation found", where it would read as a chance, as the backend's
      // summary leaves it out too; the signal lines below still give it with its threshold)
      lines.push(`Score: ${scoreText(result.score)}`);
    }
    const signals = (Array.isArray(result.signals) ? result.signals : []).filter((s) => typeof s.score === "number");
    let deciding = signals.filter((s) => s.decisive);
    if (!deciding.length) {
      deciding = [...signals].sort((a, b) => (b.score * (b.weight ?? 1)) - (a.score * (a.weight ?? 1))).slice(0, 2);
    }
    for (const s of deciding) {
      if (s.detector === "provenance" && declared) {
        // a signer not on the trust list is said here too, as the summary above says it
        const untrusted = result.provenance.source === "c2pa" && result.provenance.ai_signer_trusted === false;
        lines.push(`${signalName(s.detector)}: declared by ${(PROVENANCE_SOURCES[result.provenance.source] || ["provenance"])[0]}`
          + (untrusted ? " of a signer not on FakeLens's trust list" : "") + (s.decisive ? ", decided the verdict" : ""));
        continue;
      }
      // a score just under its threshold that rounds to the same two decimals gets more, or "0.69
      // (threshold 0.69)" would not say which side it lies on
      const close = typeof s.threshold === "number" && s.score !== s.threshold && scoreText(s.score) === scoreText(s.threshold);
      const text = (x) => (close ? clamp(x).toFixed(4) : scoreText(x));
      const threshold = typeof s.threshold === "number" ? ` (threshold ${text(s.threshold)})` : "";
      lines.push(`${signalName(s.detector)}: score ${text(s.score)}${threshold}${s.decisive ? ", decided the verdict" : ""}`);
    }
    const p = result.provenance || {};
    if (p.status === "intact") {
      // a certificate's name is whatever its maker typed: said as a claim, in quotes; a signer not on the
      // trust list in the backend's words (verdict._provenance_note), right after the name, not the tool's
      const name = p.signer ? `“${quotedName(p.signer)}”` : "an unknown signer";
      const signed = p.trusted ? (p.signer && `signed by ${name}`) : `signed by ${name} (not on FakeLens's trust list)`;
      const who = [signed, p.generator && `made with “${quotedName(p.generator)}”`].filter(Boolean).join(", ");
      lines.push(`Content Credentials: intact${who ? `, ${who}` : ""}`);
    } else if (p.status === "tampered") {
      lines.push(`Content Credentials: present, but ${credentialFailures(p)}`);
    } else if (p.unreadable) {
      lines.push("Content Credentials: present, but they could not be read");
    } else if (p.remote_manifest) {
      lines.push("Content Credentials: stored elsewhere (a remote manifest), not read");
    } else if (p.failed) {
      lines.push("Content Credentials: could not be checked (an error in FakeLens)");
    } else {
      lines.push("Content Credentials: none");
    }
    if (Array.isArray(result.faces)) {
      const perFrame = {};
      for (const f of result.faces) perFrame[f.frame] = (perFrame[f.frame] || 0) + 1;
      const most = Math.max(0, ...Object.values(perFrame));
      const frames = Object.keys(perFrame).length;
      const faces = most === 1 ? "1 face" : `${most} faces`;
      // a video lists each face once per sampled frame: say how many at once, and in how many frames
      lines.push(result.media && result.media.kind === "video" && frames > 1 ? `${faces} in ${frames} sampled frames` : `${faces} found`);
    }
    return lines;
  };

  // Whether an error (a thrown one, or a check's `error`) is the connection's: no backend, one not
  // answering, a wrong or missing token. Its fix is the connection's, and it is no verdict on any media.
  const CONNECTION_CODES = new Set(["unreachable", "not_answering", "unauthorized", "unpaired"]);
  root.connectionTrouble = (err) => CONNECTION_CODES.has(err && err.code);

  // What the toolbar popup and the options page say about the backend, with the one-line fix.
  root.describeConnection = (state) => {
    switch (state && state.state) {
      case "ok":
        return { tone: "clear", icon: "●", text: `Connected to FakeLens ${state.version || ""}`.trim(), fix: "" };
      case "unpaired":
        return { tone: "uncertain", icon: "⚠", text: "Not paired", fix: "Run `fakelens token` (in the FakeLens folder: `make token`) and paste the token in Options." };
      case "unauthorized":
        return { tone: "error", icon: "⚠", text: "Token rejected", fix: "Run `fakelens token` (in the FakeLens folder: `make token`) and paste the token in Options." };
      case "wrong_host": {
        // the address given, with the default's host name (which every FakeLens answers to); already that,
        // it was the port: one forwarded to FakeLens's own, which it does not answer on
        let fixed = (root.DEFAULT_SETTINGS || {}).backendUrl || "";
        try {
          const url = new URL(state.url);
          url.hostname = new URL(fixed).hostname;
          fixed = url.origin;
        } catch {
          /* keep the default */
        }
        return {
          tone: "error", icon: "!", text: "Wrong backend address",
          fix: fixed === state.url
            ? "FakeLens answers only on the port it serves on (is this one forwarded to it?): " +
              "set the backend URL in Options to the address `fakelens serve` prints."
            : `Set the backend URL in Options to \`${fixed}\`: FakeLens answers to no other host name.`,
        };
      }
      case "incompatible":
        return {
          tone: "error", icon: "!", text: `Backend of another version (FakeLens ${state.version || "?"})`,
          fix: `It does not offer what this extension (${state.extension || "?"}) asks for: install both from one FakeLens release.`,
        };
      case "trouble":
        return { tone: "error", icon: "!", text: "The backend answers with an error", fix: state.message || "" };
      case "unreachable":
        return { tone: "error", icon: "!", text: "Backend not reachable", fix: "Start it with `fakelens serve` (in the FakeLens folder: `make serve`), or fix the backend URL in Options." };
      case "not_answering":   // a backend stopped but holding its port
        return { tone: "error", icon: "!", text: "Backend not answering",
                 fix: "FakeLens accepts connections but does not answer: is `fakelens serve` paused (Ctrl+Z)? Bring it back with `fg`, or restart it." };
      default:
        return { tone: "pending", icon: "…", text: "Checking the backend…", fix: "" };
    }
  };

  root.scoreText = scoreText;
})();
