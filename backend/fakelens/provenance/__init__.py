"""Provenance: what the file says about where it came from.

Three independent sources, read locally, nothing sent anywhere:
- C2PA Content Credentials (signed; c2pa_reader.py, trust list in trust.py),
- ordinary metadata: EXIF, XMP/IPTC DigitalSourceType, PNG text chunks, JPEG comments (metadata.py),
- the invisible-watermark DWT-DCT mark of Stable Diffusion's reference scripts (watermark.py),
with one table of known generator names (generators.py).

check() fuses them into the verdict's `provenance` block, a score and plain reasons.
"""

import logging
import time

import cv2
import numpy as np

from .c2pa_reader import read_c2pa
from .text import quoted, signer_words
from .metadata import AI_SOURCE_TYPES, read_metadata
from .watermark import find_marks

VERSION = "1.13"   # bump with any change to what provenance finds or says (cached verdicts then go)
log = logging.getLogger(__name__)

# How much each kind of evidence says "AI-generated", as a probability for the verdict.
# A signed, validating AI marker of a signer on the trust list is as good as provenance gets. Anyone
# can sign "this is AI" onto a real photo with a certificate of their own, so an unknown signer's
# claim ranks no higher than metadata's declared source type ("untrusted"), and an earlier
# version's (an ingredient's) goes by its own signer's trust. Credentials that no longer validate
# for another reason (an expired certificate) still record what their signer said (0.90, no higher
# than an unknown signer's). Unsigned metadata can be copied or forged, so it ranks lower, a
# generator's own structured output (A1111 settings, a ComfyUI graph) above a bare tool name; a
# name in free text is only a hint (0.35: below the 0.5 threshold and the verdict's 0.4
# "uncertain" band), as is an AI-generated ingredient used only as an input (inputTo: a reference,
# not these pixels), a claim whose signature does not verify (anyone's word, whatever certificate it
# carries), and a claim in credentials whose signed hash no longer matches the file ("changed": they
# were made for another or earlier version of the picture, perhaps copied onto this one), or in the
# credentials of an ingredient whose data no longer matched them when it was taken in (the same, one
# step back: the validation status recorded with the ingredient says so). The SD
# watermark is specific (chance match < 1e-6) but anyone can embed it with the public encoder.
SCORES = {
    ("c2pa", "trusted"): 0.99, ("c2pa", "ingredient"): 0.95, ("c2pa", "untrusted"): 0.90,
    ("c2pa", "tampered"): 0.90, ("c2pa", "input"): 0.35, ("c2pa", "unsigned"): 0.35, ("c2pa", "changed"): 0.35,
    ("metadata", "source_type"): 0.90, ("metadata", "generator_chunk"): 0.93,
    ("metadata", "tool_name"): 0.85, ("metadata", "comment"): 0.35,
    ("watermark", "mark"): 0.95,
}
PARTLY_AI = "compositeWithTrainedAlgorithmicMedia"   # IPTC: a composite that includes AI-generated elements
# IPTC source types that say the picture was captured from real life: beside an AI-generated earlier
# version (a parentOf ingredient with an AI marker) the file's credentials contradict themselves
CAPTURE_SOURCE_TYPES = {"digitalCapture": "a camera capture", "computationalCapture": "a camera capture",
                        "compositeCapture": "a composite of camera captures"}
TAMPERED_SCORE = 0.3   # broken credentials alone: worth a look, not a "manipulated" verdict


def nothing_found(kind: str, mark: dict) -> str:
    """"No … found", naming only what was looked for: a video's metadata and watermark are not read,
    and a picture too small for the watermark says so instead of "no watermark found"."""
    looked = ["Content Credentials"] + (["AI metadata"] if kind == "image" else []) \
        + (["known invisible watermark"] if mark.get("checked") else [])
    words = looked[0] if len(looked) == 1 else f"{', '.join(looked[:-1])} or {looked[-1]}"
    skipped = f"; the watermark was not looked for: {mark['reason']}" if kind == "image" \
        and not mark.get("checked") and mark.get("reason") else ""
    return f"No {words} found{skipped}. Most sites strip them, so this says nothing either way."


# EXIF orientation -> how to turn the displayed (upright) pixels back into the stored ones.
# Views only: nothing is copied until the watermark reader takes the rows it needs.
_UNDO_ORIENTATION = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],                              # mirrored
    3: lambda a: a[::-1, ::-1],                           # rotated 180°
    4: lambda a: a[::-1],                                 # mirrored vertically
    5: lambda a: a.transpose(1, 0, 2),                    # transposed
    6: lambda a: np.rot90(a, 1),                          # shown rotated 90° clockwise
    7: lambda a: np.rot90(a.transpose(1, 0, 2), 2),       # transverse
    8: lambda a: np.rot90(a, -1),                         # shown rotated 90° counter-clockwise
}


def _pixels(path: str, meta: dict, frame, settings):
    """(stored-orientation pixels, where from) for the watermark, which lives in the pixels as
    stored: the media stage's decoded frame turned back when it has the stored size, else a
    decode of our own (OpenCV, EXIF orientation ignored)."""
    size = meta.get("size")
    if size is not None:
        w, h = size
        undo = _UNDO_ORIENTATION.get(meta.get("orientation") or 1)
        if frame is not None and undo is not None:
            stored = undo(frame)
            if stored.shape[:2] == (h, w):
                return stored, "frame"
    elif frame is not None:
        # metadata unreadable, so the stored orientation is unknown: decode our own, bounded by
        # the frame the media stage already checked (the same pixels, perhaps turned)
        h, w = frame.shape[:2]
    else:
        return None, None
    if w * h > getattr(settings, "max_pixels", 60_000_000):
        return None, None
    try:
        pixels = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    except Exception:
        return None, None
    return pixels, "decoded"


def _watermark(path, meta, frame, settings) -> dict:
    pixels, origin = _pixels(path, meta, frame, settings)
    mark = find_marks(pixels) if pixels is not None else {"checked": False, "found": None, "unread": True,
                                                           "reason": "pixels unavailable"}
    mark["pixels"] = origin
    return mark


def _safely(step, fallback):
    """Run one reading step; an odd file must never take the whole check down."""
    try:
        return step()
    except Exception:           # logged with its traceback: a bug to fix, not a verdict
        log.exception("provenance step failed")
        return fallback


def _ai_evidence(cred: dict, meta: dict, mark: dict, kind: str = "image") -> list[dict]:
    evidence = []
    this = "this video" if kind == "video" else "this picture"
    for m in cred.get("ai", []):
        # an ingredient's marker says what it means for this file by how the ingredient went in:
        # an earlier version (parentOf), an element placed into it (componentOf), or only something
        # used to make it (inputTo: a reference or style picture, whose pixels need not be in it)
        rel = m.get("relationship") if m["where"] == "ingredient" else None
        # made by the tool (c2pa.created), or a camera's or a person's picture it edited (generative fill)
        what = ("includes AI-generated elements" if m.get("source_type") == "compositeWithTrainedAlgorithmicMedia"
                else "created by a generative AI tool" if m.get("action") in ("c2pa.created", None)
                else "edited with a generative AI tool")
        if rel == "componentOf":
            what = "includes AI-generated elements, an ingredient placed into it"
        if rel == "inputTo":
            what = "an AI-generated picture was used as an input to make it"
        # who vouches for the claim, and whether FakeLens trusts them: an earlier version's or a placed
        # element's own signer (not this file's); this file's for its own claim, and for an input it names.
        own = m["where"] == "ingredient" and rel != "inputTo"
        signer, trusted = (m.get("signer"), bool(m.get("trusted"))) if own else (cred.get("signer"), bool(cred["trusted"]))
        by, trust = f"signed by {signer_words(signer)}", f"{'on' if trusted else 'not on'} FakeLens's trust list"
        attached = ""
        if own and not m.get("trust_checked", True):   # past the ingredients read again (c2pa_reader.MAX_TRUST_READS)
            trust = "its trust not checked by FakeLens"
        elif own and trusted and not cred["trusted"]:
            # that a trusted ingredient is an earlier version of these pixels (or placed in them) is this
            # file's signer's word: an untrusted one cannot borrow the ingredient's trust, and is named
            attached = f", attached by {signer_words(cred.get('signer'))}"
            signer, trusted, trust = cred.get("signer"), False, "not on FakeLens's trust list"
        # the ingredient's data (or a version it came in through) no longer matched its signed hash when it
        # was taken in: its credentials were made for other pixels (c2pa_reader._changed_when_added)
        added_changed = own and not m.get("unsigned") and not m.get("actions_changed") and m.get("changed_when_added")
        whose = {"parentOf": "Content Credentials of an earlier version",
                 "componentOf": "Content Credentials of an ingredient" if added_changed else "Content Credentials"}.get(
            rel, "Content Credentials of an ingredient")
        # whose credentials say it, with the signer's trust and without (the verdict's summary says an
        # untrusted signer's once, in a sentence of its own)
        signed, plainly = (f"{whose} ({by}{attached}, {trust})", f"{whose} ({by}{attached})") if own else \
            (f"Content Credentials {by} ({trust})", f"Content Credentials {by}")
        of = " of an ingredient" if m["where"] == "ingredient" else ""
        if m.get("unsigned"):
            key = "unsigned"
            lead = plainly = f"Content Credentials{of} whose signature does not verify (anyone could have written them)"
            signer = trusted = None
        elif m.get("actions_changed"):
            # the claim's signature verifies, but the actions that say AI are not the ones it signed: they
            # are not its signer's words, who is not named beside them
            key = "unsigned"
            lead = plainly = (f"Content Credentials{of} whose actions were changed after signing (not the signer's "
                              "words: anyone could have written them)")
            signer = trusted = None
        elif rel == "inputTo":
            broken = ", which no longer validate," if cred["status"] == "tampered" else ""
            key, lead, plainly = "input", signed + broken, plainly + broken
        elif cred.get("data_changed"):
            # the file is not what they were signed for (edited, or the credentials copied onto another
            # picture): what they say is about another or earlier version, a hint at most
            key = "changed"
            lead = f"Content Credentials made for another or earlier version of {this} ({by}, {trust})"
            plainly = f"Content Credentials made for another or earlier version of {this} ({by})"
        elif added_changed:
            # as for this file's own credentials when its data changed: what they say is a hint at most
            key = "changed"
            broken = (", which did not validate when it was added (its data no longer matched their signed hash),"
                      if added_changed == "own" else
                      ", which came in through a version whose Content Credentials did not validate when it was added,")
            lead, plainly = signed + broken, plainly + broken
        elif cred["status"] == "tampered":
            key, lead, plainly = "tampered", f"{signed}, which no longer validate,", f"{plainly}, which no longer validate,"
        else:
            key = ("ingredient" if own else "trusted") if trusted else "untrusted"
            lead = signed
        tool = m.get("generator")
        tool = f" ({tool if m.get('named') else quoted(tool)})" if tool else ""
        evidence.append({"source": "c2pa", "score": SCORES[("c2pa", key)], "generator": m.get("generator"),
                         "reason": f"{lead} say: {what}{tool}", "evidence": m["evidence"], "signer": signer, "trusted": trusted,
                         # the same in parts, for the summary: whose credentials (no trust words), what they say,
                         # and whether they are this file's own, signed by its signer (an input it names)
                         "claimant": plainly, "claim": f"{what}{tool}",
                         "of_file": not own and not m.get("unsigned") and not m.get("actions_changed"),
                         # an earlier version's claim (parentOf): the file's own capture claim contradicts it
                         "earlier_version": own and rel == "parentOf",
                         "partly": what.startswith(("includes AI-generated elements", "edited with"))})
    for m in meta.get("ai", []):
        evidence.append({"source": "metadata", "score": SCORES[("metadata", m["strength"])],
                         "generator": m.get("generator"), "partly": PARTLY_AI in m["evidence"],
                         "reason": f"{m['evidence']} (metadata: can be copied or forged)", "evidence": m["evidence"]})
    if mark.get("found"):
        acc = mark["bit_accuracy"][mark["found"]]
        evidence.append({"source": "watermark", "score": SCORES[("watermark", "mark")], "generator": "Stable Diffusion",
                         "reason": f"invisible watermark of Stable Diffusion's reference scripts "
                                   f"('{mark['found']}', {acc:.0%} of bits; {mark['embedded_by']})",
                         "evidence": f"imwatermark dwtDct message {mark['found']}"})
    return sorted(evidence, key=lambda e: -e["score"])


def _contradiction(cred: dict, lead: dict | None) -> str | None:
    """Where the claim that decided (or the hint) is an earlier version's (a parentOf ingredient's) AI
    marker and this file's own credentials declare a capture from real life, the sentence that says they
    contradict each other; else None. The earlier version's claim still decides: that it is this file's
    earlier version is the file's signer's word too, and which of their two words is wrong cannot be told."""
    if lead is None or not lead.get("earlier_version"):
        return None
    capture = next((a["digital_source_type"] for a in cred.get("actions") or []
                    if a.get("digital_source_type") in CAPTURE_SOURCE_TYPES), None)
    if capture is None:
        return None
    own = ("whose signature does not verify" if cred.get("unsigned") else
           f"signed by {signer_words(cred.get('signer'))}, {'on' if cred.get('trusted') else 'not on'} FakeLens's trust list")
    earlier = ("its partly AI-generated earlier version" if lead.get("partly") else "its AI-generated earlier version") \
        if lead["score"] >= 0.5 else "what its earlier version's Content Credentials say"
    return (f"This file's own Content Credentials ({own}) say it is {CAPTURE_SOURCE_TYPES[capture]} ({capture}), "
            f"which contradicts {earlier}")


def check(path: str, mime: str | None, kind: str, settings, frame=None) -> dict:
    """{"provenance": block, "score": float|None, "detail": {...}} for one file. Never raises
    for bad input: whatever cannot be read is said in detail["reasons"]."""
    t0 = time.perf_counter()
    cred = _safely(lambda: read_c2pa(path, mime, settings), {
        "status": "none", "trusted": False, "signer": None, "issuer": None, "generator": None,
        "actions": [], "codes": [], "ai": [], "failed": True,   # not "none found", nor "present": not known
        "reasons": ["Content Credentials could not be checked (an error in FakeLens)"]})
    t1 = time.perf_counter()
    no_meta = {"fields": {}, "ai": [], "size": None}
    meta = _safely(lambda: read_metadata(path), {
        **no_meta, "error": "the metadata could not be read (an error in FakeLens)"}) if kind == "image" else no_meta
    mark = {"checked": False, "found": None}
    if kind == "image":
        mark = _safely(lambda: _watermark(path, meta, frame, settings),
                       {"checked": False, "found": None, "unread": True, "reason": "watermark could not be read"})
    t2 = time.perf_counter()

    evidence = _ai_evidence(cred, meta, mark, kind)
    firm = [e for e in evidence if e["score"] >= 0.5]
    reasons = list(cred.get("reasons", []))
    if meta.get("error"):
        reasons.append(meta["error"])
    lead = None                                  # the evidence whose words the reason is
    if firm:
        score, reason, lead = firm[0]["score"], firm[0]["reason"], firm[0]
    elif evidence and evidence[0]["source"] == "c2pa":
        # what broken or indirect credentials claim (a signature that does not verify, an input): said
        # first, as a hint, with why it is only one; the failures follow among the reasons
        score, reason, lead = evidence[0]["score"], evidence[0]["reason"] + " — a hint only", evidence[0]
    elif cred["status"] == "tampered":
        score = TAMPERED_SCORE
        # what the codes say in plain words (an expired certificate is not an edit), then the caveat
        plain = next((r for r in cred.get("reasons", []) if r.startswith("the Content Credentials do not validate")),
                     "the Content Credentials do not validate (" + ", ".join(cred["codes"]) + ")")
        reason = plain[0].upper() + plain[1:] + ". That alone does not show the " + \
            ("video" if kind == "video" else "picture") + " was manipulated."
        reasons = [r for r in reasons if r != plain]
    elif evidence:                               # only weak hints
        score, reason, lead = evidence[0]["score"], evidence[0]["reason"] + " — a hint only", evidence[0]
    elif cred["status"] == "intact":
        score = None
        reason = (f"Content Credentials validate, signed by {signer_words(cred['signer'])}"
                  + (" (trusted)" if cred["trusted"] else " (not on FakeLens's trust list)") + "; they carry no AI marker.")
    elif cred.get("remote_manifest") or cred.get("unreadable") or cred.get("failed"):
        score, reason = None, cred["reasons"][0]
    elif meta.get("error") or mark.get("unread"):
        # a part that could not be read found nothing: say so, never "none found"
        unread = [w for w, bad in (("the metadata", meta.get("error")), ("the invisible watermark", mark.get("unread")))
                  if bad]
        read = ["Content Credentials"] + [w for w, bad in (("AI metadata", meta.get("error")),
                                                           ("known invisible watermark", mark.get("unread"))) if not bad]
        score = None
        reason = (f"{' and '.join(unread).capitalize()} could not be read, so provenance was only partly checked "
                  f"(no {' or '.join(read)} found)")
    else:
        score, reason = None, nothing_found(kind, mark)
    reasons += [e["reason"] for e in evidence if not reason.startswith(e["reason"])]   # a hint's has " — a hint only"
    # plain clauses without a final full stop: the verdict writes "AI-generated: <reason>."
    reason = reason.rstrip(". ")
    reasons = [r.rstrip(". ") for r in reasons]
    contradiction = _contradiction(cred, lead)
    if contradiction:
        reasons = [contradiction] + reasons       # said right after the claim it contradicts

    # a hint (a name in free text, "Sora Kobayashi") names no generator
    generator = cred.get("generator") or next((e["generator"] for e in firm if e.get("generator")), None) \
        or meta.get("fields", {}).get("EXIF Software") or meta.get("fields", {}).get("XMP CreatorTool")
    declared = [a["digital_source_type"] for a in cred["actions"] if a.get("digital_source_type")] + \
        ([meta["digital_source_type"]] if meta.get("digital_source_type") else [])
    block = {
        "status": cred["status"], "trusted": bool(cred["trusted"]), "signer": cred["signer"],
        "generator": generator, "ai_generated": bool(firm), "actions": cred["actions"], "codes": cred["codes"],
        "failure_words": cred.get("failure_words", []),
        "issuer": cred["issuer"],
        "ai_tool": firm[0]["generator"] if firm else None,
        # what decided declares AI-made elements in a picture that is not AI-made as a whole (a photo
        # with a generative fill, an AI picture placed into it): "Partly AI-generated"
        "partly_ai": bool(firm and firm[0].get("partly")),
        "source": firm[0]["source"] if firm else None,
        # who signed the Content Credentials claim that decided (this file's signer, or an earlier
        # version's), and whether FakeLens trusts them: "AI-generated, as declared by … (not on
        # FakeLens's trust list)"; null when no signed claim decided
        "ai_signer": firm[0].get("signer") if firm else None,
        "ai_signer_trusted": firm[0].get("trusted") if firm else None,
        # the first AI one declared, credentials' actions before the metadata (a camera capture edited
        # by AI is that edit's source type; a block that says "AI-generated, from the metadata" must not
        # say "digitalCapture" beside it), else the first declared at all
        # (and none when only a tool's name said AI: not a capture's type beside "AI-generated")
        "digital_source_type": next((d for d in declared if d in AI_SOURCE_TYPES),
                                    declared[0] if declared and not firm else None),
        "watermark": mark.get("found"),
        # credentials there but not read: "none" alone would say there are none
        "unreadable": bool(cred.get("unreadable")),
        # the file's data no longer matches its signed hash (not an ingredient's, not a certificate's age)
        "data_changed": bool(cred.get("data_changed")),
        # the credentials step itself failed (a bug in FakeLens): whether there are any is not known
        "failed": bool(cred.get("failed")),
        "remote_manifest": cred.get("remote_manifest"),
        "reasons": [reason] + [r for r in reasons if r != reason],
    }
    detail = {
        "reason": reason,
        "reasons": block["reasons"],
        "evidence": evidence,
        # the file's own capture claim against its AI-generated earlier version's (the summary says it too)
        "contradiction": contradiction,
        "c2pa": {k: cred.get(k) for k in ("status", "signed_at", "failures", "remote_manifest",
                                          "wide_exclusion_verified", "unreadable", "unsigned") if cred.get(k)},
        "metadata": meta.get("fields", {}),
        "watermark": {k: v for k, v in mark.items()},
        "elapsed_ms": {"c2pa": round((t1 - t0) * 1000, 2), "metadata_and_watermark": round((t2 - t1) * 1000, 2)},
    }
    return {"provenance": block, "score": score, "detail": detail}
