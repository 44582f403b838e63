"""Fuse the detectors' signals into the verdict of DESIGN.md.

Rules, in order:
1. A provenance AI marker (Content Credentials, generator metadata, a generator's watermark) → ai_generated.
2. Any signal at or above its operating threshold → that signal's label (manipulated / ai_generated);
   the highest such score is the verdict's score.
3. Any signal within UNCERTAIN_MARGIN below its threshold, or held up to "uncertain" by its detector
   (a video's run of high frames), → uncertain.
4. Signals that ran and stayed low → no_evidence ("No signs of manipulation found", never "real").
5. Nothing could run (no face, nothing applicable) → not_applicable, score null.
Each signal in the result says whether it decided the verdict (`decisive`).
"""

import math
import re

from .detectors.base import Signal, score_text, stored_score
from .fetch.ytdlp import PAGE_ITEMS
from .media.types import Media
from .provenance import CAPTURE_SOURCE_TYPES
from .provenance.text import plain, signer_words

UNCERTAIN_MARGIN = 0.1
# bump with any change to how signals become a verdict, to which faces a detector scores or which
# decides, or to how a picture is decoded (cached verdicts also go with any change to the code:
# analyze.CODE_FINGERPRINT; this number names the rules a verdict was made by)
RULES_VERSION = "16"

# each label in words, for the CLI and the HTML report (never "real")
LABELS = {"manipulated": "Likely manipulated", "ai_generated": "AI-generated", "uncertain": "Uncertain",
          "no_evidence": "No signs of manipulation found", "not_applicable": "Not checked"}


PROVENANCE_SOURCES = {"c2pa": "Content Credentials", "metadata": "file metadata", "watermark": "watermark"}


def caveat(media: dict) -> str:
    """What a verdict did not cover, said beside its headline as the extension does (wording.js caveat):
    a page's other videos, a video's missing end, an animated image's (a multi-page TIFF's) later frames."""
    if (media.get("page_videos") or 1) > 1:
        return f"the first of {_videos(media['page_videos'])} videos on the page"
    if media.get("declared_duration") and media.get("duration") is not None:
        return f"only the first {_seconds(media['duration'])} s of {_seconds(media['declared_duration'])} s"
    if media.get("animated"):
        return "only its first frame"
    return ""


def label_words(result: dict) -> str:
    more = caveat(result.get("media") or {})
    return f"{_headline(result)} ({more})" if more else _headline(result)


def _headline(result: dict) -> str:
    """The headline as the CLI and the report write it, as the extension does: "AI-generated" outright
    only when the media's own provenance declares it, then naming that provenance; a model's opinion
    is "Likely …" with its score, "Uncertain" too; no score after "No signs…" (it would read as a chance of
    manipulation)."""
    label, prov = result["label"], result.get("provenance") or {}
    if label == "ai_generated" and prov.get("ai_generated"):
        # a photo with an AI-made part (generative fill) is not wholly AI-generated: its headline says so
        partly = "Partly " if _partly(prov) else ""
        if _untrusted_claim(prov):   # anyone can sign "this is AI" with a certificate of their own
            return f"{partly}AI-generated, as declared by {signer_words(prov.get('ai_signer'))} (not on FakeLens's trust list)"
        return f"{partly}AI-generated ({PROVENANCE_SOURCES.get(prov.get('source'), 'provenance')})"
    if label == "not_applicable":
        return f"Not checked: {not_checked_reason(result)}"
    if label == "uncertain" and _credentials_uncertain(result):
        return CREDENTIALS_CHANGED
    words = "Likely AI-generated" if label == "ai_generated" else LABELS[label]
    if label in ("manipulated", "ai_generated", "uncertain") and result.get("score") is not None:
        words += f" ({_score(result['score'])})"
    return words


# An "Uncertain" the credentials made, not a model (the file changed after they were signed, its
# detectors quiet): its headline says why, not the detectors' low score ("Uncertain (score < 0.01)"
# read as a model's doubt). wording.js says the same.
CREDENTIALS_CHANGED = "Uncertain (Content Credentials changed after signing)"


def _credentials_uncertain(result: dict) -> bool:
    """Whether the provenance signal decided an "Uncertain" (only the credentials-changed rule makes it so)."""
    return any(s.get("detector") == "provenance" and s.get("decisive") for s in result.get("signals") or [])


def not_checked_reason(result: dict) -> str:
    """Why nothing was checked, in the extension's words (wording.js notCheckedReason: the same rules),
    from the summary's first sentence (the provenance note after it has its own "too small")."""
    text = f"{result.get('reason') or ''} {(result.get('summary') or '').split('. ')[0]}".lower()
    if re.search(r"no face|no faces|without a face", text):
        return "no face"
    if "small" in text and "cut off" in text:
        return "small or cut-off faces"
    if "small" in text:
        return "faces too small"
    if "cut off" in text:
        return "face cut off"
    if "unsupported" in text or "not supported" in text:
        return "unsupported media"
    if isinstance(result.get("faces"), list) and not result["faces"]:
        return "no face"
    return "no detector applies"


NO_PROVENANCE = {"status": "none", "trusted": False, "signer": None, "generator": None,
                 "ai_generated": False, "actions": [], "codes": []}

DETECTOR_NAMES = {"face_swap": "the face-swap detector", "synthetic": "the AI-image detector",
                  "provenance": "the provenance check"}
# what a quiet detector cannot have seen, said beside its silence
BLIND_SPOTS = {"face_swap": "It looks for blended or swapped faces, not for wholly AI-generated images or videos."}


def _name(signal: Signal) -> str:
    return DETECTOR_NAMES.get(signal.detector, signal.detector)


def _score(score: float) -> str:
    return f"score {score_text(score)}"


def _untrusted_claim(prov: dict) -> bool:
    """Whether the Content Credentials claim that declared AI was signed by a signer not on FakeLens's
    trust list (a check stored before the block had `ai_signer_trusted` reads as before)."""
    return prov.get("source") == "c2pa" and prov.get("ai_signer_trusted") is False


def _said(prov_signal: Signal | None) -> dict | None:
    """The piece of provenance evidence whose words set the provenance signal's reason (a claim that
    decided, or a hint), else None."""
    if prov_signal is None or prov_signal.score is None:
        return None
    reason = prov_signal.detail.get("reason") or ""
    said = [e for e in prov_signal.detail.get("evidence", [])
            if e.get("reason") and reason.startswith(e["reason"].rstrip(". "))]
    return max(said, key=lambda e: len(e["reason"]), default=None)


def _hint(prov_signal: Signal | None) -> str | None:
    """The provenance hint that set its score (an AI claim too weak to decide: a name in free text, an
    input, credentials made for another version of the picture), in the summary's words, with what
    contradicts it (_contradiction); else None."""
    if _said(prov_signal) is None:
        return None
    reason = prov_signal.detail["reason"]
    return reason[0].upper() + reason[1:].rstrip(". ") + "." + _contradiction(prov_signal)


def _contradiction(prov_signal: Signal | None) -> str:
    """" This file's own Content Credentials (…) say it is a camera capture (digitalCapture), which
    contradicts its AI-generated earlier version.", where the provenance step found that; else ""."""
    said = prov_signal.detail.get("contradiction") if prov_signal is not None else None
    return f" {said.rstrip('. ')}." if said else ""


def _untrusted_summary(prov: dict, prov_signal: Signal) -> str:
    """"AI-generated: <whose credentials> say: <claim>." and why an untrusted signer's claim counts for
    less, each said once (the signer's trust not in the lead as well)."""
    partly = "Partly " if _partly(prov) else ""
    e = _said(prov_signal)
    if e and e.get("claimant") and e.get("claim"):
        return (f"{partly}AI-generated: {e['claimant']} say: {e['claim']}. The signer is not on FakeLens's trust "
                "list, and anyone can sign such a claim with a certificate of their own.")
    # evidence without its parts: the reason says the trust, this only why it counts for less
    reason = prov_signal.detail.get("reason") or "its provenance declares it AI-generated"
    return f"{partly}AI-generated: {reason}. Anyone can sign such a claim with a certificate of their own."


def _capture(prov: dict, prov_signal: Signal | None) -> str | None:
    """The capture from real life (digitalCapture, …) the file's intact Content Credentials declare, else
    None; None too where the provenance step already said it against an AI-generated earlier version."""
    if prov["status"] != "intact" or (prov_signal is not None and prov_signal.detail.get("contradiction")):
        return None
    return next((a["digital_source_type"] for a in prov.get("actions") or []
                 if a.get("digital_source_type") in CAPTURE_SOURCE_TYPES), None)


def _metadata_capture(prov: dict) -> str:
    """" Its metadata declares a camera capture (digitalCapture), …" where only the file's metadata (IPTC
    DigitalSourceType in XMP) declares one, said as the weaker claim it is; else "". The block's type is the
    credentials' where their actions declare any (provenance.check), and then theirs is what is said."""
    declared = prov.get("digital_source_type")
    if declared not in CAPTURE_SOURCE_TYPES or any(a.get("digital_source_type") for a in prov.get("actions") or []):
        return ""
    return (f" Its metadata declares {CAPTURE_SOURCE_TYPES[declared]} ({declared}), a weaker claim than signed "
            "credentials: metadata can be copied or forged.")


def _provenance_note(prov: dict, prov_signal: Signal | None = None, flagged: bool = False) -> str:
    if prov["status"] == "none":
        # as the provenance step wrote it: credentials there but unreadable or remote, a metadata hint,
        # or what was looked for and found nothing (and what was not: a picture too small for the watermark)
        first = (prov.get("reasons") or [""])[0]
        if first:
            return first[0].upper() + first[1:].rstrip(". ") + "."
        return "No Content Credentials (most sites strip them, so this says nothing either way)."
    if prov["status"] == "tampered":
        reasons = prov.get("reasons") or ["its Content Credentials do not validate"]
        return reasons[0][0].upper() + reasons[0][1:] + "."
    who = signer_words(prov.get("signer"))
    trust = "trusted" if prov.get("trusted") else "not on FakeLens's trust list"
    intact = f"Content Credentials intact, signed by {who} ({trust})"
    capture = _capture(prov, prov_signal) if flagged else None
    if capture:
        # beside a detector's flag, a signed capture from real life is the other side of a conflict: said
        # as such ("intact" alone left it unsaid), the label still the detectors'
        intact = (f"Its Content Credentials, intact and signed by {who} ({trust}), declare "
                  f"{CAPTURE_SOURCE_TYPES[capture]} ({capture}): weigh the two")
    hint = _hint(prov_signal)   # what they say that did not decide (an AI-generated input) is said too
    e = _said(prov_signal) if hint else None
    if e and e.get("of_file") and e.get("claim") and e.get("signer") == prov.get("signer"):
        # these same credentials' words: theirs, their signer not named again ("— a hint only" as the reason's)
        only = prov_signal.detail["reason"][len(e["reason"].rstrip(". ")):].rstrip(". ")
        return f"{intact}. They also say {e['claim']}{only}." if capture else f"{intact}; they say {e['claim']}{only}."
    return f"{intact}." + (f" {hint}" if hint else "")


def _provenance_aside(prov: dict, prov_signal: Signal | None) -> str:
    """Beside a detector's flag, what provenance found, when it found anything: intact or broken
    credentials (a signed camera capture that a detector flags is worth knowing, and said as a capture),
    credentials not read, a hint, a capture the metadata declares. Nothing when it found nothing (the
    usual case, and no evidence either way)."""
    found = prov["status"] != "none" or prov.get("unreadable") or prov.get("remote_manifest") \
        or prov.get("failed") or (prov_signal is not None and prov_signal.score is not None)
    return (" " + _provenance_note(prov, prov_signal, flagged=True) if found else "") + _metadata_capture(prov)


def _frames_said(signal: Signal, media: Media) -> str:
    """Beside a video's flag, what its score is made of: how many sampled frames it averaged, how many of
    them scored at or above the threshold, and when (one frame's score and many frames' read alike)."""
    if media.kind != "video" or not signal.frames:
        return ""
    high = _high_times(signal)
    # (between the first and the last high frame: "0.0–22.2 s" was read as the frames all that while)
    when = f", between {high[0]:.1f} and {high[-1]:.1f} s" if len(high) > 1 else f", at {high[0]:.1f} s" if high else ""
    return (f" (the mean over {len(signal.frames)} sampled frames with faces; {len(high)} of them at or above "
            f"its threshold{when})")


def _high_times(signal: Signal) -> list[float]:
    """The times of a video's sampled frames that scored at or above the signal's threshold."""
    return [f["t"] for f in signal.frames or [] if f["score"] >= signal.threshold]


def _high_frames_note(signal: Signal, media: Media) -> str:
    """Beside "No signs…" for a video, how many of its sampled frames scored at or above the threshold."""
    high = len(_high_times(signal)) if media.kind == "video" else 0
    return (f"{high} of its {len(signal.frames)} sampled frames with faces scored at or above its threshold, "
            "their mean under it") if high else ""


def _partly(prov: dict) -> bool:
    """Whether what declared AI says AI-made elements in a picture not AI-made as a whole; a check stored
    before the block had `partly_ai` goes by its declared composite type."""
    return bool(prov.get("partly_ai", prov.get("digital_source_type") == "compositeWithTrainedAlgorithmicMedia"))


def _seconds(value: float) -> str:
    """Seconds to two decimals, halves up and no trailing zeros, as wording.js writes them."""
    return f"{math.floor(value * 100 + 0.5) / 100:.2f}".rstrip("0").rstrip(".")


def _videos(count: int) -> str:
    """How many videos a page has: only its first PAGE_ITEMS media are listed, so so many may be more."""
    return f"{count} or more" if count >= PAGE_ITEMS else str(count)


def page_videos_note(count: int, media_url: str | None) -> str:
    """Said after a summary when the address asked for was a page of several videos."""
    # the address is whatever the page wrote: one plain line, cut
    return (f" The page has {_videos(count)} videos; only the first that could be downloaded was checked"
            f" ({plain(media_url)}).")


def fuse(signals: list[Signal], media: Media, elapsed_ms: int) -> dict:
    prov_signal = next((s for s in signals if s.provenance is not None), None)
    prov = {**NO_PROVENANCE, **(prov_signal.provenance if prov_signal else {})}
    scored = [s for s in signals if s.score is not None]
    # provenance speaks through its block and its flags; below a flag it is not a detector's "no"
    detectors = [s for s in scored if s.provenance is None]
    decisive: list[Signal]

    if prov["ai_generated"] and prov_signal is not None:
        also = [s for s in detectors if s.score >= s.threshold and not s.detail.get("at_most_uncertain")]   # named too
        label, decisive = "ai_generated", [prov_signal, *also]
        score = max([prov_signal.score or 0.99] + [s.score for s in also])
        reason = prov_signal.detail.get("reason") or "its provenance declares it AI-generated"
        summary = (_untrusted_summary(prov, prov_signal) if _untrusted_claim(prov)
                   else f"{'Partly ' if _partly(prov) else ''}AI-generated: {reason}.") + _contradiction(prov_signal)
        if prov.get("source") != "c2pa":
            # file metadata or a watermark says AI: what the credentials say is said too ("no AI marker"
            # only where they carry none, not even a hint too weak to decide)
            hinted = any(e.get("source") == "c2pa" for e in prov_signal.detail.get("evidence", []))
            if prov["status"] == "intact":
                if not hinted:
                    summary += (f" Its Content Credentials, which validate (signed by "
                                f"{signer_words(prov.get('signer'))}), carry no AI marker.")
            elif prov["status"] == "tampered":
                summary += (" Its Content Credentials do not validate: "
                            + "; ".join(prov.get("failure_words") or ["they were changed after signing"]) + ".")
            elif prov.get("remote_manifest"):
                summary += " Its Content Credentials are stored elsewhere (a remote manifest) and were not read."
            elif prov.get("unreadable"):
                summary += " It has Content Credentials that could not be read."
        if also:
            summary += " Also flagged by " + ", ".join(f"{_name(s)} ({_score(s.score)})" for s in also) + "."
    elif flagged := [s for s in scored if s.score >= s.threshold and not s.detail.get("at_most_uncertain")]:
        top = max(flagged, key=lambda s: s.score)
        label, score, decisive = top.flags, top.score, flagged
        what = "Likely manipulated" if label == "manipulated" else "Likely AI-generated"
        summary = f"{what} ({_score(score)}): flagged by " + ", ".join(_name(s) + _frames_said(s, media) for s in flagged) + "."
        if any(s.detector == "face_swap" for s in flagged):   # measured: fakelens.train.robustness
            screen = "filming a screen" if media.kind == "video" else "a photo of a screen"
            summary += (f" Strong beauty filters, a face out of focus or {screen} can also "
                        "raise this score on unedited faces.")
        summary += _provenance_aside(prov, prov_signal)
    elif near := [s for s in detectors
                  if s.score >= s.threshold - UNCERTAIN_MARGIN or s.detail.get("at_least_uncertain")]:
        label, decisive = "uncertain", near
        score = max(s.score for s in near)
        held = [s.detail["at_most_uncertain"] for s in near
                if s.detail.get("at_most_uncertain") and s.score >= s.threshold]
        segment = [s.detail["at_least_uncertain"] for s in near if s.detail.get("at_least_uncertain")]
        # what a video's frames showed, as beside a flag: half its frames high reads otherwise as "close"
        summary = (f"Uncertain ({_score(score)}): " + ", ".join(_name(s) + _frames_said(s, media) for s in near)
                   + (f" scored high, but {held[0]}." if held else
                      f" stayed under its threshold on average over the whole video, but {segment[0]}: part of "
                      "it may be manipulated."
                      if segment else " scored close to its threshold.")) + _provenance_aside(prov, prov_signal)
    elif detectors and prov.get("data_changed") and prov_signal is not None and prov_signal.score is not None:
        # the file changed after its credentials were signed: a detector's silence must not read as
        # "No signs of manipulation found" beside credentials that say it was edited
        # the label is the credentials', the score the detectors' (a measured one: the broken credentials'
        # fixed 0.3 read "Uncertain (score 0.30)" as if a model had scored it); their silence, which the
        # summary says, decides with the credentials
        label, decisive = "uncertain", [*detectors, prov_signal]
        score = max(s.score for s in detectors)
        hint = _hint(prov_signal)
        summary = ("Uncertain: the file was changed after its Content Credentials were signed, so they no longer "
                   f"describe it ({'; '.join(prov.get('failure_words') or ['its data no longer matches the signed hash'])})"
                   "; what changed cannot be told from them. " + (f"{hint} " if hint else "")
                   + "No signs of manipulation were found by "
                   + ", ".join(f"{_name(s)} ({_score(s.score)})" for s in detectors) + ".")
    elif detectors:
        label, decisive = "no_evidence", detectors
        score = max(s.score for s in detectors)
        # a background face left unjudged must not hide behind the clean-sounding line
        limit = next((s.detail["max_faces_per_frame"] for s in detectors if s.detail.get("faces_over_limit")), 0)
        unjudged = [words for key, words in (("faces_too_small", "too small"),
                                             ("faces_cut_off", "cut off by the picture's edge"),
                                             ("faces_over_limit", f"beyond the {limit} largest of a frame"))
                    if any(s.detail.get(key) for s in detectors)]
        # and a quiet score from little to go on says so (a small face, a face in one or two frames)
        notes = ([f"faces {' or '.join(unjudged)} were not judged"] if unjudged else []) + sorted(
            {s.detail["quiet_caveat"] for s in detectors if s.detail.get("quiet_caveat")}) + [
            # a video's frames that scored high, whose mean did not: the clean line hid that half of them flagged
            note for s in detectors if (note := _high_frames_note(s, media))]
        summary = ("No signs of manipulation found by " + ", ".join(_name(s) for s in detectors)
                   + (f" ({'; '.join(notes)})" if notes else "")
                   + ". " + "".join(BLIND_SPOTS[s.detector] + " " for s in detectors if s.detector in BLIND_SPOTS)
                   + _provenance_note(prov, prov_signal))
    else:
        label, score, decisive = "not_applicable", None, []
        reasons = sorted({s.detail.get("reason") for s in signals
                          if s.provenance is None and s.detail.get("reason")})
        summary = ("Not checked: " + ("; ".join(reasons) if reasons else "no detector applies to this media")
                   + ". " + _provenance_note(prov, prov_signal))

    if media.animated:   # a GIF's later frames (a TIFF's later pages) may hold what the first does not
        summary += (" Only the first page of this multi-page TIFF was checked." if media.mime == "image/tiff"
                    else " Only the first frame of this animated image was checked.")
    if media.page_videos > 1:   # the badge sits on the video the user meant, which may be another
        summary += page_videos_note(media.page_videos, media.media_url)
    if media.declared_duration:   # what was not there was not checked: a quiet verdict must not hide it
        summary += (f" The file ends after {_seconds(media.duration)} s though it says it lasts "
                    f"{_seconds(media.declared_duration)} s"
                    " (a download cut off, or a truncated file): only that part was checked.")

    faces = [f for s in signals for f in s.faces]
    if not faces:
        faces = [{"frame": f.frame, "t": f.t, "box": list(f.box), "score": None} for f in media.faces]
    if media.scale != 1.0:   # boxes in the media's own pixels, not the shrunk frame's
        faces = [{**f, "box": [round(v / media.scale) for v in f["box"]]} for f in faces]
    framed = [s for s in decisive if s.frames] or [s for s in scored if s.frames]
    return {
        "label": label,
        "score": None if score is None else stored_score(score, threshold=next(
            (s.threshold for s in decisive if s.score == score), None)),   # on its signal's side of the threshold
        "summary": summary,
        "signals": [s.to_dict(any(s is d for d in decisive)) for s in signals],
        "faces": faces,
        "frames": max(framed, key=lambda s: s.score).frames if framed else [],
        "provenance": prov,
        "media": media.describe(),
        "elapsed_ms": int(elapsed_ms),
    }
