"""Fusion rules of verdict.py on hand-made signals."""

import numpy as np

from fakelens.detectors.base import Signal
from fakelens.media.types import Face, Frame, Media
from fakelens.verdict import fuse


def media(faces=1) -> Media:
    m = Media("image", "/x.jpg", "ab" * 32, 640, 480, frames=[Frame(0, 0.0, np.zeros((4, 4, 3), np.uint8))])
    m.faces = [Face(0, 0.0, (10, 10, 100, 100), 0.99, np.zeros((5, 2), np.float32)) for _ in range(faces)]
    return m


def face_swap(score, threshold=0.5):
    return Signal("face_swap", "1", score, threshold=threshold,
                  faces=[{"frame": 0, "t": 0.0, "box": [10, 10, 100, 100], "score": score}],
                  frames=[{"t": 0.0, "score": score}])


def provenance(ai=False, status="none", score=None):
    return Signal("provenance", "1", score, flags="ai_generated",
                  provenance={"status": status, "ai_generated": ai, "signer": "Adobe" if status != "none" else None},
                  detail={"reason": "Content Credentials say it was made by Adobe Firefly"} if ai else {})


def test_flagged_signal_decides():
    r = fuse([face_swap(0.87), provenance()], media(), 12)
    assert r["label"] == "manipulated" and r["score"] == 0.87
    assert r["summary"].startswith("Likely manipulated (score 0.87)")
    assert "beauty filters, a face out of focus or a photo of a screen" in r["summary"]   # its known false alarms
    assert [s["decisive"] for s in r["signals"]] == [True, False]
    assert r["faces"][0]["score"] == 0.87 and r["frames"] == [{"t": 0.0, "score": 0.87}]


def test_a_flag_says_what_provenance_found_when_it_found_anything():
    """A signed camera capture whose face a detector flags: the summary (the CLI's and the report's only
    word on it) names the credentials beside the flag; nothing found adds nothing."""
    signed = Signal("provenance", "1", None, provenance={"status": "intact", "ai_generated": False, "signer": "Leica",
                                                         "trusted": True})
    flagged = fuse([face_swap(0.87), signed], media(), 1)["summary"]
    assert flagged.startswith("Likely manipulated (score 0.87)")
    assert flagged.endswith("Content Credentials intact, signed by “Leica” (trusted)."), flagged
    near = fuse([face_swap(0.45), signed], media(), 1)["summary"]
    assert near.startswith("Uncertain") and near.endswith("Content Credentials intact, signed by “Leica” (trusted)."), near
    unread = Signal("provenance", "1", None, provenance={"status": "none", "ai_generated": False, "unreadable": True,
                                                         "reasons": ["Content Credentials were found but could not be read (x)"]})
    assert fuse([face_swap(0.87), unread], media(), 1)["summary"].endswith(
        "Content Credentials were found but could not be read (x).")
    failed = Signal("provenance", "1", None, provenance={"status": "none", "ai_generated": False, "failed": True,
                                                         "reasons": ["Content Credentials could not be checked (x)"]})
    assert fuse([face_swap(0.87), failed], media(), 1)["summary"].endswith(
        "Content Credentials could not be checked (x).")   # the summary of a flag dropped it
    nothing = Signal("provenance", "1", None, provenance={"status": "none", "ai_generated": False,
                                                          "reasons": ["no Content Credentials found"]})
    assert "Content Credentials" not in fuse([face_swap(0.87), nothing], media(), 1)["summary"]


def test_a_flag_beside_a_declared_camera_capture_says_the_two_disagree():
    """Intact credentials declaring a camera capture (c2pa.created, digitalCapture) beside a face-swap flag
    read "… Content Credentials intact, signed by “Leica” (trusted).": what they declare, the other side of
    the conflict, went unsaid. The label stays the detector's; a capture only the metadata declares is
    said as the weaker claim it is."""
    capture = [{"action": "c2pa.created", "digital_source_type": "digitalCapture"}]
    signed = Signal("provenance", "1", None, provenance={"status": "intact", "ai_generated": False, "signer": "Leica",
                                                         "trusted": True, "actions": capture,
                                                         "digital_source_type": "digitalCapture"})
    r = fuse([face_swap(0.96), signed], media(), 1)
    assert r["label"] == "manipulated" and r["score"] == 0.96
    assert r["summary"].endswith(" Its Content Credentials, intact and signed by “Leica” (trusted), declare a camera "
                                 "capture (digitalCapture): weigh the two."), r["summary"]
    near = fuse([face_swap(0.45), signed], media(), 1)
    assert near["label"] == "uncertain" and near["summary"].endswith("declare a camera capture (digitalCapture): weigh the two.")
    # a quiet detector is no conflict: the note is as it was
    assert "weigh" not in fuse([face_swap(0.1), signed], media(), 1)["summary"]
    xmp = Signal("provenance", "1", None, provenance={"status": "none", "ai_generated": False, "actions": [],
                                                      "digital_source_type": "digitalCapture",
                                                      "reasons": ["No Content Credentials found"]})
    r = fuse([face_swap(0.96), xmp], media(), 1)
    assert r["label"] == "manipulated"
    assert r["summary"].endswith(" Its metadata declares a camera capture (digitalCapture), a weaker claim than signed "
                                 "credentials: metadata can be copied or forged."), r["summary"]
    assert "metadata" not in fuse([face_swap(0.1), xmp], media(), 1)["summary"]


def test_low_scores_are_no_evidence_never_real():
    r = fuse([face_swap(0.1), provenance()], media(), 12)
    assert r["label"] == "no_evidence"
    assert r["summary"].startswith("No signs of manipulation found")
    assert "Content Credentials" in r["summary"] and "real" not in r["summary"].lower()
    # what the quiet detector cannot have seen is said beside its silence
    assert r["summary"].startswith("No signs of manipulation found by the face-swap detector. It looks for blended "
                                   "or swapped faces, not for wholly AI-generated images or videos. No Content Credentials")


def test_no_evidence_says_when_smaller_faces_were_not_judged():
    quiet = face_swap(0.1)
    assert "not judged" not in fuse([quiet], media(), 1)["summary"]
    quiet.detail["faces_too_small"] = 1   # a background face, listed but not scored
    r = fuse([quiet], media(2), 1)
    assert r["label"] == "no_evidence"
    assert "(faces too small were not judged)" in r["summary"]
    quiet.detail["faces_cut_off"] = 2
    assert ("(faces too small or cut off by the picture's edge were not judged)"
            in fuse([quiet], media(3), 1)["summary"])
    # a quiet score from little to go on says so too
    quiet.detail["quiet_caveat"] = "the face is small, 48 px: a swap shows less at that size"
    assert fuse([quiet], media(3), 1)["summary"].startswith(
        "No signs of manipulation found by the face-swap detector (faces too small or cut off by the picture's edge "
        "were not judged; the face is small, 48 px: a swap shows less at that size). ")


def test_near_threshold_is_uncertain():
    r = fuse([face_swap(0.45)], media(), 1)
    assert r["label"] == "uncertain" and r["signals"][0]["decisive"]


def test_ai_marker_wins():
    r = fuse([face_swap(0.1), provenance(ai=True, status="intact", score=0.99)], media(), 1)
    assert r["label"] == "ai_generated" and "Firefly" in r["summary"]
    assert r["provenance"]["ai_generated"] and r["provenance"]["trusted"] is False
    assert [s["decisive"] for s in r["signals"]] == [False, True]


def test_a_flagged_detector_is_named_beside_an_ai_marker():
    """Provenance decides the label, but a face-swap flag is not hidden behind it."""
    r = fuse([face_swap(0.97, threshold=0.6), provenance(ai=True, status="none", score=0.85)], media(), 1)
    assert r["label"] == "ai_generated" and r["score"] == 0.97
    assert [s["decisive"] for s in r["signals"]] == [True, True]
    assert r["summary"].endswith("Also flagged by the face-swap detector (score 0.97).")


def test_no_face_is_not_applicable():
    r = fuse([Signal("face_swap", "1", None, detail={"reason": "no face found"}), provenance()], media(0), 1)
    assert r["label"] == "not_applicable" and r["score"] is None
    assert r["summary"].startswith("Not checked: no face found. No Content Credentials")
    assert not any(s["decisive"] for s in r["signals"])


def test_tampered_credentials_alone_are_not_a_detector_verdict():
    tampered = provenance(status="tampered", score=0.3)
    tampered.provenance["reasons"] = ["Content Credentials are present but do not validate (claimSignature.mismatch)"]
    r = fuse([Signal("face_swap", "1", None, detail={"reason": "no face found"}), tampered], media(0), 1)
    assert r["label"] == "not_applicable"
    assert "no face found" in r["summary"] and "do not validate (claimSignature.mismatch)." in r["summary"]
    r = fuse([face_swap(0.1), tampered], media(), 1)
    assert r["label"] == "no_evidence" and "by the face-swap detector." in r["summary"]
    assert [s["decisive"] for s in r["signals"]] == [True, False]


def test_ai_generated_is_said_outright_only_when_provenance_declares_it():
    from fakelens.verdict import label_words

    declared = {"label": "ai_generated", "score": 0.93, "provenance": {"ai_generated": True, "source": "metadata"}}
    modelled = {"label": "ai_generated", "score": 0.91, "provenance": {"ai_generated": False}}
    assert label_words(declared) == "AI-generated (file metadata)"   # no score: nothing was scored
    assert label_words(modelled) == "Likely AI-generated (score 0.91)"
    # a quiet verdict's score would read as a chance of manipulation: none shown
    assert label_words({"label": "no_evidence", "score": 0.36, "provenance": {}}) == "No signs of manipulation found"
    assert label_words({"label": "manipulated", "score": 0.874, "provenance": {}}) == "Likely manipulated (score 0.87)"
    # halves up, as the extension's Math.round (Python's round() would say 0.86)
    assert label_words({"label": "manipulated", "score": 0.865, "provenance": {}}) == "Likely manipulated (score 0.87)"
    # as the extension says it: "Uncertain" alone hid how near the flag it came
    assert label_words({"label": "uncertain", "score": 0.65, "provenance": {}}) == "Uncertain (score 0.65)"


def test_a_detector_held_to_uncertain_does_not_flag():
    """A video whose face shows in one sampled frame: a high score from that frame is "uncertain"."""
    held = face_swap(0.95)
    held.detail["at_most_uncertain"] = "a face was seen in only 1 of 16 sampled frames"
    r = fuse([held, provenance()], media(), 1)
    assert r["label"] == "uncertain" and r["score"] == 0.95
    assert r["summary"] == ("Uncertain (score 0.95): the face-swap detector scored high, but a face was seen in only "
                            "1 of 16 sampled frames.")


def test_the_summary_says_what_provenance_could_not_look_for():
    """A picture too small for the watermark: the summary says the watermark was not looked for
    (it read "No Content Credentials" as if every trace had been searched)."""
    from fakelens.provenance import nothing_found

    quiet = provenance()
    reason = nothing_found("image", {"checked": False, "reason": "too small for the invisible watermark"})
    quiet.provenance["reasons"] = [reason]
    r = fuse([face_swap(0.1), quiet], media(), 1)
    assert r["summary"].endswith("No Content Credentials or AI metadata found; the watermark was not looked for: "
                                 "too small for the invisible watermark. Most sites strip them, so this says "
                                 "nothing either way."), r["summary"]


def test_an_ai_marker_in_metadata_beside_credentials_that_validate_without_one_says_both():
    """XMP says AI-generated inside a file whose signed Content Credentials (a camera's) validate and
    carry no AI marker: the label follows the marker, and the summary says the credentials disagree."""
    prov = Signal("provenance", "1", 0.9, flags="ai_generated",
                  provenance={"status": "intact", "ai_generated": True, "source": "metadata", "signer": "Leica"},
                  detail={"reason": "the XMP metadata says it was made by a generative AI tool"})
    r = fuse([face_swap(0.1), prov], media(), 1)
    assert r["label"] == "ai_generated"
    assert r["summary"] == ("AI-generated: the XMP metadata says it was made by a generative AI tool. Its Content "
                            "Credentials, which validate (signed by “Leica”), carry no AI marker.")
    said_by_c2pa = Signal("provenance", "1", 0.99, flags="ai_generated",
                          provenance={"status": "intact", "ai_generated": True, "source": "c2pa", "signer": "Adobe"},
                          detail={"reason": "Content Credentials say: created by a generative AI tool (Adobe Firefly)",
                                  "evidence": [{"source": "c2pa", "score": 0.99}]})
    assert "carry no AI marker" not in fuse([said_by_c2pa], media(), 1)["summary"]
    # metadata decided (it scored higher), but the credentials name an AI ingredient used as an input
    hint_in_c2pa = Signal("provenance", "1", 0.93, flags="ai_generated",
                          provenance={"status": "intact", "ai_generated": True, "source": "metadata", "signer": "Adobe"},
                          detail={"reason": "a Midjourney generation chunk",
                                  "evidence": [{"source": "metadata", "score": 0.93}, {"source": "c2pa", "score": 0.35}]})
    assert "carry no AI marker" not in fuse([hint_in_c2pa], media(), 1)["summary"]
    # that hint in credentials that no longer validate: that they do not is still said (it was not)
    broken = Signal("provenance", "1", 0.93, flags="ai_generated",
                    provenance={"status": "tampered", "ai_generated": True, "source": "metadata", "data_changed": True,
                                "failure_words": ["the image data no longer matches the signed hash (edited after signing)"]},
                    detail=hint_in_c2pa.detail)
    assert fuse([broken], media(), 1)["summary"] == (
        "AI-generated: a Midjourney generation chunk. Its Content Credentials do not validate: the image data no "
        "longer matches the signed hash (edited after signing).")


def test_credentials_changed_after_signing_make_uncertain_with_the_detectors_measured_score():
    """A quiet face beside credentials whose signed data changed read "Uncertain (score 0.30)": the broken
    credentials' fixed 0.3, no model's measurement, as the headline's score; and the face-swap signal the
    summary leans on ("No signs … were found by the face-swap detector") was marked as not deciding."""
    from fakelens.verdict import label_words
    changed = Signal("provenance", "1", 0.3, flags="ai_generated",
                     provenance={"status": "tampered", "ai_generated": False, "data_changed": True,
                                 "failure_words": ["the image data no longer matches the signed hash (edited after signing)"]},
                     detail={"reason": "The Content Credentials do not validate: the image data no longer matches the "
                                       "signed hash (edited after signing). That alone does not show the picture was "
                                       "manipulated"})
    r = fuse([face_swap(0.12, threshold=0.69), changed], media(), 1)
    assert r["label"] == "uncertain"   # as README documents: the credentials no longer describe the file
    # the headline says why, not the quiet detectors' score as if a model doubted ("Uncertain (score < 0.01)")
    assert r["score"] == 0.12 and label_words(r) == "Uncertain (Content Credentials changed after signing)", label_words(r)
    assert r["summary"].startswith("Uncertain: the file was changed after its Content Credentials were signed")
    assert "No signs of manipulation were found by the face-swap detector (score 0.12)." in r["summary"]
    assert [s["decisive"] for s in r["signals"]] == [True, True]


def test_a_composite_with_an_ai_made_part_is_partly_ai_generated():
    signal = provenance(ai=True, status="intact", score=0.97)
    signal.provenance["partly_ai"] = True
    r = fuse([signal], media(), 5)
    assert r["label"] == "ai_generated" and r["summary"].startswith("Partly AI-generated: "), r["summary"]


def test_a_score_short_of_one_is_not_stored_as_one():
    """0.99996 was stored as 1.0, so the headline read "score 1.00" beside a summary's "> 0.99"."""
    from fakelens.verdict import label_words
    r = fuse([face_swap(0.99996, threshold=0.69)], media(), 5)
    assert r["score"] == 0.9999 and r["signals"][0]["score"] == 0.9999 and r["faces"][0]["score"] == 0.99996
    assert label_words(r) == "Likely manipulated (score > 0.99)" and "(score > 0.99)" in r["summary"]
    low = fuse([face_swap(0.00004, threshold=0.69)], media(), 5)
    assert low["score"] == 0.0001


def test_a_flagged_video_says_how_many_frames_scored_high_and_when():
    """The summary gave the mean alone: whether one frame or most of the video scored high was not said."""
    video = media()
    video.kind = "video"
    signal = face_swap(0.8, threshold=0.69)
    signal.frames = [{"t": t, "score": s} for t, s in ((0.0, 0.5), (1.25, 0.9), (2.5, 0.95), (3.75, 0.85))]
    assert fuse([signal], video, 1)["summary"].startswith(
        "Likely manipulated (score 0.80): flagged by the face-swap detector (the mean over 4 sampled frames with "
        "faces; 3 of them at or above its threshold, between 1.2 and 3.8 s). ")
    assert "sampled frames" not in fuse([face_swap(0.8, threshold=0.69)], media(), 1)["summary"]   # an image


def test_an_uncertain_video_says_how_many_frames_scored_high_too():
    """Half a video's frames at 1.0 and the rest low read only "scored close to its threshold": what
    the frames showed was said beside a flag alone."""
    video = media()
    video.kind = "video"
    signal = face_swap(0.62, threshold=0.69)
    signal.frames = [{"t": float(t), "score": 0.99 if t % 2 else 0.25} for t in range(8)]
    assert fuse([signal], video, 1)["summary"].startswith(
        "Uncertain (score 0.62): the face-swap detector (the mean over 8 sampled frames with faces; 4 of them at or "
        "above its threshold, between 1.0 and 7.0 s) scored close to its threshold.")


def test_a_quiet_video_says_how_many_of_its_frames_scored_high():
    """A real clip with 7 of 16 frames over the threshold read only "No signs of manipulation found":
    the detector's disagreement with itself over half the video was not said."""
    video = media()
    video.kind = "video"
    signal = face_swap(0.55, threshold=0.69)
    signal.frames = [{"t": float(t), "score": 0.8 if t in (1, 4, 5, 7, 8, 10, 13) else 0.3} for t in range(16)]
    summary = fuse([signal], video, 1)["summary"]
    assert summary.startswith("No signs of manipulation found by the face-swap detector (7 of its 16 sampled frames "
                              "with faces scored at or above its threshold, their mean under it). "), summary
    signal.frames = [{"t": float(t), "score": 0.3} for t in range(16)]
    assert "sampled frames" not in fuse([signal], video, 1)["summary"]   # none high: nothing to say


def test_a_page_of_ten_videos_may_have_more():
    """Only a page's first 10 media are listed (fetch.ytdlp.PAGE_ITEMS): ten means ten or more."""
    from fakelens.verdict import page_videos_note
    assert page_videos_note(2, "u") == " The page has 2 videos; only the first that could be downloaded was checked (u)."
    assert page_videos_note(10, "u").startswith(" The page has 10 or more videos;")
    # the address is whatever the page wrote: one plain line, cut
    odd = page_videos_note(2, "https://site.example/v.mp4?n=\u202eevil&pad=" + "q" * 3000)
    assert "\u202e" not in odd and len(odd) < 200 and odd.endswith("q…).")


def test_a_flag_names_what_else_raises_the_score_for_the_kind_of_media_without_saying_real():
    picture = fuse([face_swap(0.87)], media(), 1)["summary"]
    assert "a photo of a screen can also raise this score on unedited faces" in picture
    video = media()
    video.kind = "video"
    assert "filming a screen can also raise" in fuse([face_swap(0.87)], video, 1)["summary"]
    assert "real" not in picture.lower().split()


def test_a_score_is_never_rounded_across_its_threshold():
    """0.69307 under a threshold of 0.6931 was stored 0.6931 ("at or above the threshold" in the
    report, level in the tooltip) on a verdict that found it under; a flag's 0.6933 read "0.693
    (threshold 0.6931)" in the report's table and the CLI."""
    from fakelens.detectors.base import shown_score, stored_score
    r = fuse([face_swap(0.69307, threshold=0.6931), provenance()], media(), 1)
    assert r["label"] == "uncertain" and r["score"] == 0.693 and r["signals"][0]["score"] == 0.693
    r = fuse([face_swap(0.693096, threshold=0.6931), provenance()], media(), 1)
    assert r["label"] == "uncertain" and r["score"] == 0.693
    assert stored_score(0.69312, 4, 0.6931) == 0.6931 and stored_score(0.6, 4, 0.6931) == 0.6
    assert [shown_score(x, 0.6931) for x in (0.6933, 0.69307, 0.5, 0.99996, 0.71)] == [
        "0.6933", "0.693", "0.500", "0.999", "0.710"]
    assert shown_score(0.6933, None) == "0.693"
    # a score too small for three decimals is said so: 0.0001 (the API's) read "0.001" in the report
    assert [shown_score(x, 0.6931) for x in (0.0001, 0.0004, 0.0005, 0.0)] == ["< 0.001", "< 0.001", "0.001", "0.000"]
