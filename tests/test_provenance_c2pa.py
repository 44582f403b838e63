"""C2PA Content Credentials: the public conformance files, and files we sign ourselves."""

import csv
import http.server
import os
import struct
import threading
import time
from pathlib import Path

import cv2
import pytest

from fakelens import provenance
from fakelens.config import Settings
from fakelens.provenance.c2pa_reader import _ai_markers, read_c2pa
from test_provenance_support import IPTC, c2pa_sign, make_test_ca, photo_like

TESTFILES = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "c2pa-testfiles"
if not TESTFILES.is_dir():
    TESTFILES = Path("/work/shared/data/c2pa-testfiles")


def _expected():
    path = TESTFILES / "EXPECTED.tsv"
    if not path.is_file():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


ROWS = _expected()


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return Settings(home=tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    ca_pem, chain, key = make_test_ca()
    path = tmp_path_factory.mktemp("anchors") / "test-root.pem"
    path.write_text(ca_pem)
    return {"pem_path": path, "chain": chain, "key": key}


def _jpeg(h=300, w=400, seed=1) -> bytes:
    ok, buf = cv2.imencode(".jpg", photo_like(h, w, seed), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return buf.tobytes()


def _check(tmp_path, data: bytes, settings, name="x.jpg", mime="image/jpeg", kind="image"):
    path = tmp_path / name
    path.write_bytes(data)
    return provenance.check(str(path), mime, kind, settings)


# --- conformance ------------------------------------------------------------------------

def test_conformance_set_is_complete():
    if not ROWS:
        pytest.skip(f"C2PA public test files not found at {TESTFILES} (../shared/data is absent)")
    assert len(ROWS) == 26
    assert {r["expected"] for r in ROWS} == {"none", "intact", "tampered"}


@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_conformance(row, settings):
    result = read_c2pa(str(TESTFILES / row["file"]), "image/jpeg", settings)
    assert result["status"] == row["expected"], (row["file"], result["codes"], result["reasons"])
    if row["expected"] == "tampered":
        assert result["codes"], "a tampered file must say which checks failed"
        assert not set(result["codes"]) & {"signingCredential.untrusted"}
    if row["expected"] != "none" and "claimSignature.mismatch" in result["codes"]:
        # a signature that does not verify names nobody (its certificate is public), but says what it carried
        assert result["signer"] is None and result["issuer"] is None and result["generator"], result
        assert "the certificate attached names " in " ".join(result["reasons"])
    elif row["expected"] != "none":
        assert result["signer"] and result["issuer"] and result["generator"]
        assert result["trusted"] is False            # test and sample signers: on no trust list


def test_conformance_codes_overlap_upstream(settings):
    if not ROWS:
        pytest.skip("C2PA test files absent")
    for row in ROWS:
        if row["expected"] != "tampered" or row["file"].startswith("nikon"):
            continue   # nikon: its signature verifies; older SDKs said "mismatch" for its expired certificate
                       # (test_an_expired_certificates_signature_is_still_checked)
        codes = set(read_c2pa(str(TESTFILES / row["file"]), "image/jpeg", settings)["codes"])
        assert codes & set(row["upstream_codes"].split(",")), row["file"]


def test_truepic_wide_exclusion_is_verified_not_assumed(settings, tmp_path):
    src = TESTFILES / "truepic-20230212-camera.jpg"
    if not src.is_file():
        pytest.skip("C2PA test files absent")
    good = read_c2pa(str(src), "image/jpeg", settings)
    assert good["status"] == "intact" and good.get("wide_exclusion_verified")
    data = bytearray(src.read_bytes())
    data[-5000] ^= 0xFF                         # one byte of the scan data, outside the exclusion
    bad_path = tmp_path / "truepic-edited.jpg"
    bad_path.write_bytes(bytes(data))
    bad = read_c2pa(str(bad_path), "image/jpeg", settings)
    assert bad["status"] == "tampered" and "assertion.dataHash.mismatch" in bad["codes"]


# --- files we sign -------------------------------------------------------------------------

def test_a_signers_name_cannot_hide_or_turn_round_the_words_around_it(tmp_path, settings):
    """Anyone can sign with a certificate of any name: one with a right-to-left override turned "(not on
    FakeLens's trust list)" backwards in the tooltip, the popup and the report; 3,000 blank characters pushed it
    out of view; an escape sequence rewrote the verdict line in a terminal; a 1 MB claim generator made
    a 1 MB verdict. Such text is made one plain line of at most 100 characters."""
    from fakelens.verdict import fuse
    from fakelens.detectors.base import Signal
    from fakelens.media.types import Media

    bad = "Reuters\u202e (verified)\x1b[2K\rphoto.jpg: No signs\n" + "\u2800 " * 3000 + "end"
    _, chain, key = make_test_ca(signer=bad)
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", chain, key, tool="Camera\x1b]0;x\x07 " + "x" * 100_000)
    r = _check(tmp_path, signed, settings)
    block = r["provenance"]
    assert block["status"] == "intact"
    texts = [block["signer"], block["issuer"], block["generator"], r["detail"]["reason"], *block["reasons"]]
    for text in texts:
        assert not any(c in text for c in "\x1b\x07\r\n\u202e\u2800"), repr(text[:200])
    assert block["signer"] == "Reuters (verified) [2K photo.jpg: No signs end"   # the blanks one space
    assert len(block["generator"]) == 100 and block["generator"].endswith("…")
    media = Media("image", "x.jpg", "0" * 64, 400, 300)
    summary = fuse([Signal("provenance", "1", None, provenance=block)], media, 1)["summary"]
    assert f"signed by “{block['signer']}” (not on FakeLens's trust list)" in summary and len(summary) < 400, summary


def test_a_signers_name_cannot_close_the_quotes_around_it_and_claim_trust(tmp_path, settings):
    """A certificate named `Nikon Corporation” (trusted). Also: “x` read "signed by “Nikon Corporation”
    (trusted). Also: “x” (not on FakeLens's trust list)": the quote marks in a quoted name are taken out."""
    from fakelens.verdict import fuse
    from fakelens.detectors.base import Signal
    from fakelens.media.types import Media

    _, chain, key = make_test_ca(signer="Nikon Corporation\u201d (trusted). Also: \u201cx \u00bby\u00ab \"z\" O\u2019Reilly")
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", chain, key)
    block = _check(tmp_path, signed, settings)["provenance"]
    assert block["status"] == "intact" and not block["trusted"]
    summary = fuse([Signal("provenance", "1", None, provenance=block)], Media("image", "x.jpg", "0" * 64, 400, 300),
                   1)["summary"]
    assert "signed by “Nikon Corporation (trusted). Also: x y z O'Reilly” (not on FakeLens's trust list)" in summary, summary
    for text in (summary, *block["reasons"]):
        assert "“Nikon Corporation (trusted). Also: x y z O'Reilly”" in text and "” (trusted)" not in text, text


def test_an_actions_name_and_source_type_are_one_plain_line_of_at_most_100_characters(tmp_path, settings):
    """An action's name and digitalSourceType are the signer's words: 100,000 characters and a
    right-to-left override and a new line went whole into the block and the report."""
    actions = [{"action": "c2pa.created", "digitalSourceType": IPTC + "\u202e" + "C" * 50_000},
               {"action": "x." + "B" * 100_000}, {"action": "c2pa.edited\u202eRLO\nNL"}]
    _, chain, key = make_test_ca()
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", chain, key, actions=actions)
    got = _check(tmp_path, signed, settings)["provenance"]["actions"]
    assert got[0]["digital_source_type"] == "C" * 99 + "…"
    assert got[1]["action"] == "x." + "B" * 97 + "…" and got[2]["action"] == "c2pa.edited RLO NL"


def test_signed_ai_image_untrusted_then_trusted(tmp_path, settings, ca):
    actions = [{"action": "c2pa.created", "digitalSourceType": IPTC + "trainedAlgorithmicMedia",
                "softwareAgent": {"name": "Adobe Firefly"}}]
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", ca["chain"], ca["key"], tool="Adobe Firefly", actions=actions)
    r = _check(tmp_path, signed, settings)
    block = r["provenance"]
    assert block["status"] == "intact" and block["trusted"] is False
    assert block["ai_generated"] is True and block["ai_tool"] == "Adobe Firefly"
    assert block["signer"] == "FakeLens Test Signer" and block["issuer"] == "FakeLens Test"
    assert block["actions"][0]["digital_source_type"] == "trainedAlgorithmicMedia"
    # anyone can sign "this is AI" with a home-made certificate: no higher than metadata's declared type
    assert r["score"] == pytest.approx(0.90) and r["score"] <= provenance.SCORES[("metadata", "source_type")]
    assert "generative AI tool (Adobe Firefly)" in r["detail"]["reason"]

    # an unknown signer's claim does not read as a trusted one's
    assert r["detail"]["reason"].startswith("Content Credentials signed by “FakeLens Test Signer” (not on FakeLens's "
                                            "trust list) say: created by a generative AI tool")

    trusting = Settings(home=tmp_path, trust_anchors=ca["pem_path"])
    r2 = _check(tmp_path, signed, trusting, name="y.jpg")
    assert r2["provenance"]["trusted"] is True and r2["score"] == pytest.approx(0.99)
    assert r2["detail"]["reason"].startswith("Content Credentials signed by “FakeLens Test Signer” (on FakeLens's "
                                             "trust list) say:")


@pytest.mark.parametrize("source_type, tool, reason", [
    ("compositeWithTrainedAlgorithmicMedia", "Adobe Photoshop",
     "Content Credentials signed by “FakeLens Test Signer” (not on FakeLens's trust list) say: includes "
     "AI-generated elements (“Adobe Photoshop”)"),
    # generative fill on a photo: it includes AI-made parts, it was not "created by a generative AI tool"
    ("trainedAlgorithmicMedia", "Adobe Firefly", "Content Credentials signed by “FakeLens Test Signer” (not on "
     "FakeLens's trust list) say: edited with a generative AI tool (Adobe Firefly)"),
    # a tool's name FakeLens does not know is the file's words, in quotes: it wrote a trusted signer after
    # a closing bracket of its own ("(Firefly). Signed by “Adobe Inc.” (on FakeLens's trust list).")
    ("trainedAlgorithmicMedia", "Fireflies). Signed by “Adobe Inc.” (on FakeLens's trust list",
     "Content Credentials signed by “FakeLens Test Signer” (not on FakeLens's trust list) say: edited with a "
     "generative AI tool (“Fireflies). Signed by Adobe Inc. (on FakeLens's trust list”)"),
])
def test_a_camera_capture_edited_with_ai_says_so_not_created_by_it(tmp_path, settings, ca, source_type, tool, reason):
    actions = [{"action": "c2pa.created", "digitalSourceType": IPTC + "digitalCapture"},
               {"action": "c2pa.edited", "digitalSourceType": IPTC + source_type, "softwareAgent": {"name": tool}}]
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", ca["chain"], ca["key"], tool="Adobe Photoshop", actions=actions)
    r = _check(tmp_path, signed, settings)
    assert r["provenance"]["ai_generated"] is True
    assert r["detail"]["reason"] == reason, r["detail"]["reason"]
    assert r["provenance"]["partly_ai"] is True   # "Partly AI-generated": a photo edited, not made, by AI
    # the block's source type is the AI edit's, not the capture's it was made from
    assert r["provenance"]["digital_source_type"] == source_type


def test_an_ai_marker_in_xmp_inside_a_signed_capture_gives_the_blocks_source_type_as_ai(tmp_path, settings, ca):
    """The XMP says trainedAlgorithmicMedia, the validating credentials say digitalCapture: the block
    says AI-generated from the metadata, and its source type is the AI one, not the capture's beside it."""
    import io

    from PIL import Image

    xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           '<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
           'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/>'
           '</rdf:RDF></x:xmpmeta>')
    buf = io.BytesIO()
    Image.open(io.BytesIO(_jpeg())).save(buf, "JPEG", quality=92, xmp=xmp.encode())
    actions = [{"action": "c2pa.created", "digitalSourceType": IPTC + "digitalCapture"}]
    signed, _ = c2pa_sign(buf.getvalue(), "image/jpeg", ca["chain"], ca["key"], tool="FakeLens Test Camera",
                          actions=actions)
    r = _check(tmp_path, signed, settings)
    block = r["provenance"]
    assert block["status"] == "intact" and block["ai_generated"] and block["source"] == "metadata", block
    assert block["digital_source_type"] == "trainedAlgorithmicMedia"


def test_signed_camera_capture_has_no_ai_marker(tmp_path, settings, ca):
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", ca["chain"], ca["key"], tool="FakeLens Test Camera")
    r = _check(tmp_path, signed, settings)
    assert r["provenance"]["status"] == "intact" and r["provenance"]["ai_generated"] is False
    assert r["score"] is None
    assert "no AI marker" in r["detail"]["reason"]


def test_a_signed_capture_is_not_overruled_by_the_claim_generator_name(tmp_path, settings, ca):
    """digitalCapture, said by the action itself, wins over a claim generator that shares a name
    with an AI tool: the name is only a fallback for actions that give no source type."""
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", ca["chain"], ca["key"], tool="Adobe Firefly",
                          actions=[{"action": "c2pa.created", "digitalSourceType": IPTC + "digitalCapture"}])
    r = _check(tmp_path, signed, settings)
    assert r["provenance"]["status"] == "intact" and r["provenance"]["ai_generated"] is False, r["detail"]["reason"]
    assert r["score"] is None and "no AI marker" in r["detail"]["reason"]
    # without a source type (older manifests; today's SDK will not sign one) the name still counts
    manifest = {"claim_generator": "Adobe Firefly"}
    assert _ai_markers(manifest, [{"action": "c2pa.created"}])[0]["generator"] == "Adobe Firefly"
    assert _ai_markers(manifest, [{"action": "c2pa.created", "digital_source_type": "digitalCapture"}]) == []


@pytest.fixture(scope="module")
def ai_ingredient(ca):
    actions = [{"action": "c2pa.created", "digitalSourceType": IPTC + "trainedAlgorithmicMedia",
                "softwareAgent": {"name": "Adobe Firefly"}}]
    signed, _ = c2pa_sign(_jpeg(120, 120, seed=5), "image/jpeg", ca["chain"], ca["key"], tool="Adobe Firefly",
                          actions=actions)
    return signed


@pytest.mark.parametrize("relationship, actions, ai, score, words", [
    ("parentOf", [{"action": "c2pa.opened", "parameters": {"ingredientIds": ["ing1"]}},
                  {"action": "c2pa.color_adjustments"}],
     True, 0.90, "Content Credentials of an earlier version (signed by “FakeLens Test Signer”, not on FakeLens's trust "
                 "list) say: created by a generative AI tool (Adobe Firefly)"),
    ("componentOf", [{"action": "c2pa.created", "digitalSourceType": IPTC + "digitalCapture"},
                     {"action": "c2pa.placed", "parameters": {"ingredientIds": ["ing1"]}}],
     True, 0.90, "Content Credentials (signed by “FakeLens Test Signer”, not on FakeLens's trust list) say: includes "
                 "AI-generated elements, an ingredient placed into it (Adobe Firefly)"),
    ("inputTo", [{"action": "c2pa.created", "digitalSourceType": IPTC + "digitalCapture"}],
     False, 0.35, "an AI-generated picture was used as an input to make it (Adobe Firefly) — a hint only"),
])
def test_an_ai_ingredient_is_worded_by_how_it_went_in(tmp_path, settings, ca, ai_ingredient,
                                                      relationship, actions, ai, score, words):
    """Only a parentOf ingredient is an earlier version; an AI element placed into a real capture
    (componentOf) makes it include AI-generated elements; an AI picture used only as an input
    (inputTo) is not in these pixels: a hint."""
    ingredient = {"title": "ingredient.jpg", "relationship": relationship, "instance_id": "ing1", "label": "ing1"}
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", ca["chain"], ca["key"], tool="Photo Editor", actions=actions,
                          ingredients=[(ingredient, ai_ingredient)])
    r = _check(tmp_path, signed, settings)
    assert r["provenance"]["status"] == "intact", r["provenance"]["reasons"]
    assert r["provenance"]["ai_generated"] is ai and r["score"] == pytest.approx(score)
    assert words in r["detail"]["reason"], r["detail"]["reason"]
    if relationship != "parentOf":
        assert "earlier version" not in " ".join(r["provenance"]["reasons"])
    # an AI element placed into a capture: "Partly AI-generated" (it read "AI-generated" outright)
    assert r["provenance"]["partly_ai"] is (relationship == "componentOf")


def test_edited_after_signing_is_tampered_not_manipulated(tmp_path, settings, ca):
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", ca["chain"], ca["key"])
    data = bytearray(signed)
    data[-200] ^= 0x55
    r = _check(tmp_path, bytes(data), settings)
    block = r["provenance"]
    assert block["status"] == "tampered" and "assertion.dataHash.mismatch" in block["codes"]
    assert block["ai_generated"] is False
    assert r["score"] == pytest.approx(0.3) and r["score"] < 0.5
    assert "does not show the picture was manipulated" in r["detail"]["reason"]
    assert "image data no longer matches the signed hash" in r["detail"]["reason"]   # the code, in plain words


def test_a_face_edited_after_signing_is_uncertain_not_no_signs_found(tmp_path, settings, ca, face_jpeg):
    """The credentials say the file changed after signing: a quiet face-swap detector beside them read
    "No signs of manipulation found", a headline its own tooltip contradicted."""
    from fakelens.analyze import Analyzer

    signed, _ = c2pa_sign(face_jpeg.read_bytes(), "image/jpeg", ca["chain"], ca["key"])
    data = bytearray(signed)
    # one quantisation step changed: a picture edited, still a whole JPEG (a flipped byte in its
    # compressed data is refused as damaged before any detector looks)
    table = signed.rindex(b"\xff\xdb", 0, signed.rindex(b"\xff\xda")) + 5   # the picture's, not a thumbnail's
    data[table + 63] = data[table + 63] % 200 + 1
    path = tmp_path / "edited.jpg"
    path.write_bytes(bytes(data))
    result = Analyzer(settings).analyze({"path": str(path)}, tmp_path)
    assert result["provenance"]["data_changed"] is True
    assert result["label"] == "uncertain", result["summary"]
    assert result["summary"].startswith("Uncertain: the file was changed after its Content Credentials were signed")
    assert "image data no longer matches the signed hash" in result["summary"]
    assert "No signs of manipulation were found by the face-swap detector (score" in result["summary"]
    # the credentials and the quiet detector the summary names decide together, the score the detector's
    # (it was the broken credentials' fixed 0.3, read "Uncertain (score 0.30)" as if measured)
    assert [s["detector"] for s in result["signals"] if s["decisive"]] == ["face_swap", "provenance"]
    face_swap = next(s for s in result["signals"] if s["detector"] == "face_swap")
    assert result["score"] == face_swap["score"] != provenance.TAMPERED_SCORE
    unchanged = tmp_path / "signed.jpg"
    unchanged.write_bytes(signed)
    result = Analyzer(settings).analyze({"path": str(unchanged)}, tmp_path)
    assert result["provenance"]["data_changed"] is False and result["label"] == "no_evidence"


def test_an_expired_certificate_is_not_called_an_edit(settings):
    path = TESTFILES / "nikon-20221019-building.jpeg"
    if not path.is_file():
        pytest.skip(f"{path} is absent (../shared/data)")
    r = provenance.check(str(path), "image/jpeg", "image", settings)
    reason = r["detail"]["reason"]
    assert r["provenance"]["status"] == "tampered", reason
    # its certificate ran from 2022-10-04 to 2023-10-05 and it was signed in October 2022, with no
    # time-stamp: the SDK checks it against today, so "had expired when it signed" was untrue
    assert "the signing certificate has expired, and no time-stamp shows it was valid when it signed" in reason, reason
    assert "changed after signing" not in reason and "edited after signing" not in reason
    assert r["provenance"]["data_changed"] is False   # no reason for "Uncertain"


def test_an_expired_certificates_signature_is_still_checked(tmp_path, settings):
    """The upstream listing of the Nikon file has claimSignature.mismatch beside signingCredential.expired:
    older SDKs reported a certificate that failed its checks that way, the signature never checked. This
    SDK checks the signature of an expired certificate too (an RSA-PSS check of our own over the claim
    agrees that it verifies), so the signer is named; were it to stop at the certificate, a broken signature
    would name them too: one changed byte of it must say claimSignature.mismatch and name nobody."""
    import json

    import c2pa

    path = TESTFILES / "nikon-20221019-building.jpeg"
    if not path.is_file():
        pytest.skip(f"{path} is absent (../shared/data)")
    with open(path, "rb") as fh, c2pa.Reader("image/jpeg", fh) as reader:
        success = json.loads(reader.json())["validation_results"]["activeManifest"]["success"]
    assert "claimSignature.validated" in {e["code"] for e in success}, success
    good = read_c2pa(str(path), "image/jpeg", settings)
    assert good["codes"] == ["signingCredential.expired"] and good["signer"] == "NIKON CORPORATION", good

    broken = tmp_path / "nikon-broken.jpg"
    broken.write_bytes(_break_signature(path.read_bytes()))
    bad = read_c2pa(str(broken), "image/jpeg", settings)
    assert bad["codes"] == ["claimSignature.mismatch", "signingCredential.expired"], bad["codes"]
    assert bad["signer"] is None and bad["issuer"] is None and bad["trusted"] is False, bad
    assert "the signature does not match the claim" in bad["reasons"][0], bad["reasons"]
    assert any("the certificate attached names “NIKON CORPORATION”" in r for r in bad["reasons"]), bad["reasons"]


def test_the_summary_says_credentials_were_there_when_they_cannot_be_read(tmp_path, settings, ca):
    """status 'none' covers 'no credentials' and 'credentials we could not read': the verdict's
    sentence must not say there were none when there were."""
    from fakelens.analyze import Analyzer

    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", ca["chain"], ca["key"])
    data = bytearray(signed)
    at = data.find(b"jumb")
    for k in range(at + 20, at + 80):
        data[k] ^= 0x5A
    path = tmp_path / "garbled.jpg"
    path.write_bytes(bytes(data))
    result = Analyzer(settings).analyze({"path": str(path)}, tmp_path)
    if result["provenance"]["status"] != "none":
        pytest.skip("this damage made the SDK report tampering instead")
    assert "could not be read" in result["summary"] and "No Content Credentials" not in result["summary"], result
    assert result["provenance"]["unreadable"] is True   # the block says so too (the tooltip words it)


def test_an_ai_marker_in_credentials_that_no_longer_match_the_file_is_a_hint(tmp_path, settings, ca):
    """The signed hash no longer matches: the credentials were made for another or earlier version of the
    picture (or copied onto this one), so their AI claim is a hint, not "AI-generated" (it was, at 0.90)."""
    actions = [{"action": "c2pa.created", "digitalSourceType": IPTC + "trainedAlgorithmicMedia",
                "softwareAgent": {"name": "DALL-E"}}]
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", ca["chain"], ca["key"], tool="ChatGPT", actions=actions)
    data = bytearray(signed)
    data[-200] ^= 0x55
    r = _check(tmp_path, bytes(data), settings)
    assert r["provenance"]["status"] == "tampered" and r["provenance"]["data_changed"] is True
    assert r["provenance"]["ai_generated"] is False and r["score"] == pytest.approx(0.35)
    assert r["detail"]["reason"] == ("Content Credentials made for another or earlier version of this picture (signed by "
                                     "“FakeLens Test Signer”, not on FakeLens's trust list) say: created by a generative "
                                     "AI tool (DALL·E (OpenAI)) — a hint only"), r["detail"]["reason"]


def _break_signature(signed: bytes) -> bytes:
    """`signed` with one byte of its claim signature (the end of the c2pa.signature box's CBOR) changed."""
    at = signed.find(b"cbor", signed.find(b"c2pa.signature"))
    end = at - 4 + int.from_bytes(signed[at - 4:at], "big")
    data = bytearray(signed)
    data[end - 1] ^= 0x01
    return bytes(data)


def test_a_signature_that_does_not_verify_names_no_signer_and_its_ai_claim_is_a_hint(tmp_path, ca):
    """A certificate is public: anyone can attach a real organisation's chain to a garbage signature.
    Such credentials read "on FakeLens's trust list", signed by that organisation, and their AI claim
    gave the headline "AI-generated (Content Credentials)" at 0.90."""
    from fakelens.analyze import Analyzer
    from fakelens.verdict import label_words

    trusting = Settings(home=tmp_path, trust_anchors=ca["pem_path"])
    actions = [{"action": "c2pa.created", "digitalSourceType": IPTC + "trainedAlgorithmicMedia",
                "softwareAgent": {"name": "Adobe Firefly"}}]
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", ca["chain"], ca["key"], tool="Adobe Firefly", actions=actions)
    r = _check(tmp_path, _break_signature(signed), trusting)
    block = r["provenance"]
    assert block["status"] == "tampered" and "claimSignature.mismatch" in block["codes"], block
    assert block["trusted"] is False and block["signer"] is None and block["issuer"] is None, block
    assert not block["ai_generated"] and r["score"] == pytest.approx(0.35)
    assert r["detail"]["reason"] == ("Content Credentials whose signature does not verify (anyone could have written "
                                     "them) say: created by a generative AI tool (Adobe Firefly) — a hint only")
    assert not any("FakeLens's trust list" in reason for reason in block["reasons"]), block["reasons"]
    assert any("the certificate attached names “FakeLens Test Signer”" in reason for reason in block["reasons"])

    (tmp_path / "broken.jpg").write_bytes(_break_signature(signed))
    result = Analyzer(trusting).analyze({"path": str(tmp_path / "broken.jpg")}, tmp_path)
    assert result["label"] != "ai_generated" and not label_words(result).startswith("AI-generated"), result["summary"]
    assert "whose signature does not verify" in result["summary"], result["summary"]


def test_actions_changed_after_signing_are_a_hint_not_their_trusted_signers_word(tmp_path, ca):
    """The claim's signature still verifies, but its actions statement no longer matches the hash the
    claim signed (one word swapped, same length): a trusted signer's "algorithmicallyEnhanced" edited
    into "trainedAlgorithmicMedia" gave "AI-generated (Content Credentials)" at 0.90, credited to it."""
    from fakelens.analyze import Analyzer
    from fakelens.verdict import label_words

    trusting = Settings(home=tmp_path, trust_anchors=ca["pem_path"])
    actions = [{"action": "c2pa.created", "digitalSourceType": IPTC + "algorithmicallyEnhanced"}]
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", ca["chain"], ca["key"], tool="Camera", actions=actions)
    assert signed.count(b"algorithmicallyEnhanced") == 1
    before = _check(tmp_path, signed, trusting)["provenance"]
    assert before["status"] == "intact" and before["trusted"] and not before["ai_generated"], before

    forged = signed.replace(b"algorithmicallyEnhanced", b"trainedAlgorithmicMedia")
    r = _check(tmp_path, forged, trusting)
    block = r["provenance"]
    assert block["status"] == "tampered" and block["codes"] == ["assertion.hashedURI.mismatch"], block
    assert not block["ai_generated"] and block["ai_signer"] is None and r["score"] == pytest.approx(0.35)
    assert r["detail"]["reason"] == ("Content Credentials whose actions were changed after signing (not the signer's "
                                     "words: anyone could have written them) say: created by a generative AI tool "
                                     "(“Camera 1.0”) — a hint only"), r["detail"]["reason"]

    (tmp_path / "forged.jpg").write_bytes(forged)
    result = Analyzer(trusting).analyze({"path": str(tmp_path / "forged.jpg")}, tmp_path)
    assert result["label"] != "ai_generated" and not label_words(result).startswith("AI-generated"), result["summary"]
    assert "whose actions were changed after signing" in result["summary"], result["summary"]


@pytest.mark.parametrize("relationship, actions", [
    ("parentOf", [{"action": "c2pa.opened", "parameters": {"ingredientIds": ["ing1"]}}]),
    ("componentOf", [{"action": "c2pa.created", "digitalSourceType": IPTC + "digitalCapture"},
                     {"action": "c2pa.placed", "parameters": {"ingredientIds": ["ing1"]}}]),
])
def test_an_ingredient_whose_signature_failed_is_a_hint_and_names_no_signer(tmp_path, settings, ca, ai_ingredient,
                                                                             relationship, actions):
    """The manifest that took an ingredient in records its validation status (here: its signature does
    not match); the SDK does not validate it again, and its AI marker counted as validly signed (0.95)."""
    ingredient = {"title": "ingredient.jpg", "relationship": relationship, "instance_id": "ing1", "label": "ing1"}
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", ca["chain"], ca["key"], tool="Photo Editor", actions=actions,
                          ingredients=[(ingredient, _break_signature(ai_ingredient))])
    r = _check(tmp_path, signed, settings)
    assert r["provenance"]["status"] == "intact", r["provenance"]["reasons"]   # this file's own claim verifies
    assert not r["provenance"]["ai_generated"] and r["score"] == pytest.approx(0.35), r["detail"]["reason"]
    assert r["detail"]["reason"].startswith("Content Credentials of an ingredient whose signature does not verify "
                                            "(anyone could have written them) say: "), r["detail"]["reason"]
    assert "(signed by" not in r["detail"]["reason"] and r["detail"]["reason"].endswith(" — a hint only")


def test_an_ingredient_whose_actions_were_changed_after_signing_is_a_hint(tmp_path, settings, ca):
    """An earlier version's actions edited after it was signed (its claim's signature still verifies), as
    the manifest that took it in recorded: its AI marker is not its signer's word."""
    actions = [{"action": "c2pa.created", "digitalSourceType": IPTC + "algorithmicallyEnhanced"}]
    earlier, _ = c2pa_sign(_jpeg(120, 120, seed=5), "image/jpeg", ca["chain"], ca["key"], tool="Camera", actions=actions)
    forged = earlier.replace(b"algorithmicallyEnhanced", b"trainedAlgorithmicMedia")
    ingredient = {"title": "ingredient.jpg", "relationship": "parentOf", "instance_id": "ing1", "label": "ing1"}
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", ca["chain"], ca["key"], tool="Photo Editor",
                          actions=[{"action": "c2pa.opened", "parameters": {"ingredientIds": ["ing1"]}}],
                          ingredients=[(ingredient, forged)])
    r = _check(tmp_path, signed, settings)
    assert not r["provenance"]["ai_generated"] and r["score"] == pytest.approx(0.35), r["detail"]["reason"]
    assert r["detail"]["reason"] == ("Content Credentials of an ingredient whose actions were changed after signing "
                                     "(not the signer's words: anyone could have written them) say: created by a "
                                     "generative AI tool (“Camera 1.0”) — a hint only"), r["detail"]["reason"]


def _mp4(tmp_path) -> Path:
    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    if not writer.isOpened():
        pytest.skip("this OpenCV build cannot write MP4")
    for i in range(10):
        writer.write(photo_like(240, 320, seed=i))
    writer.release()
    return path


@pytest.mark.parametrize("ai", [True, False])
def test_a_videos_changed_credentials_speak_of_the_video_not_a_picture(tmp_path, settings, ca, ai):
    """A signed MP4 with a byte of its video data changed read "Content Credentials made for another or
    earlier version of this picture" (with an AI claim), or "That alone does not show the picture was
    manipulated" (without one)."""
    actions = [{"action": "c2pa.created", "digitalSourceType": IPTC + "trainedAlgorithmicMedia",
                "softwareAgent": {"name": "Sora"}}] if ai else [{"action": "c2pa.created", "digitalSourceType": IPTC + "digitalCapture"}]
    signed, _ = c2pa_sign(_mp4(tmp_path).read_bytes(), "video/mp4", ca["chain"], ca["key"], tool="Sora",
                          actions=actions)
    data = bytearray(signed)
    data[data.find(b"mdat") + 200] ^= 0x55
    r = _check(tmp_path, bytes(data), settings, name="changed.mp4", mime="video/mp4", kind="video")
    assert r["provenance"]["status"] == "tampered", r["detail"]
    said = " ".join([r["detail"]["reason"], *r["detail"]["reasons"]])
    assert "picture" not in said and ("this video" if ai else "the video was manipulated") in said, said


@pytest.mark.parametrize("mime", ["video/mp4", "image/jpeg", "image/png"])
def test_a_manifest_store_too_large_to_read_is_said_not_read(tmp_path, settings, ca, mime):
    """The SDK reads an embedded store whole, several times over in memory: a 150 MB thumbnail in a
    signed MP4 took 1.1 GB and 1.5 s, and a video may be 300 MB. A store over 16 MB (a remote one's
    limit) is said to be too large, found by walking the file (APP11, C2PA uuid box, caBX), not read."""
    if mime == "video/mp4":
        data = _mp4(tmp_path).read_bytes()
    else:
        data = cv2.imencode(".png" if mime == "image/png" else ".jpg", photo_like(240, 320, 3))[1].tobytes()
    name = {"video/mp4": "big.mp4", "image/jpeg": "big.jpg", "image/png": "big.png"}[mime]
    small, _ = c2pa_sign(data, mime, ca["chain"], ca["key"], thumbnail=b"\xff\xd8" + bytes(1000))
    big, _ = c2pa_sign(data, mime, ca["chain"], ca["key"], thumbnail=b"\xff\xd8" + os.urandom(17 << 20))
    assert _check(tmp_path, small, settings, name=name, mime=mime, kind="image")["provenance"]["status"] == "intact"
    path = tmp_path / name
    path.write_bytes(big)
    r = read_c2pa(str(path), mime, settings)
    assert r["status"] == "none" and r.get("unreadable") is True, r["reasons"]
    assert r["reasons"] == ["Content Credentials were found but could not be read (they take 17 MB, more than "
                            "the 16 MB FakeLens reads)"], r["reasons"]


def test_signed_mp4(tmp_path, settings, ca):
    path = _mp4(tmp_path)
    actions = [{"action": "c2pa.created", "digitalSourceType": IPTC + "trainedAlgorithmicMedia",
                "softwareAgent": {"name": "Sora"}}]
    signed, _ = c2pa_sign(path.read_bytes(), "video/mp4", ca["chain"], ca["key"], tool="Sora", actions=actions)
    r = _check(tmp_path, signed, settings, name="signed.mp4", mime="video/mp4", kind="video")
    assert r["provenance"]["status"] == "intact" and r["provenance"]["ai_generated"] is True
    assert r["provenance"]["ai_tool"] == "OpenAI Sora (video generation)"   # was "OpenAI image generation"
    plain = _check(tmp_path, path.read_bytes(), settings, name="plain.mp4", mime="video/mp4", kind="video")
    assert plain["provenance"]["status"] == "none" and plain["score"] is None


class _Serve(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/c2pa")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def test_remote_manifest_off_by_default_and_fetched_through_netguard(tmp_path, ca):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Serve)
    url = f"http://127.0.0.1:{server.server_address[1]}/manifest.c2pa"
    signed, store = c2pa_sign(_jpeg(), "image/jpeg", ca["chain"], ca["key"], remote_url=url)
    _Serve.body = store
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        off = _check(tmp_path, signed, Settings(home=tmp_path))
        assert off["provenance"]["status"] == "none"
        assert "remote_manifests" in " ".join(off["provenance"]["reasons"])
        assert off["provenance"]["remote_manifest"] == url and off["provenance"]["unreadable"] is False
        # enabled, but the netguard still refuses loopback
        blocked = _check(tmp_path, signed, Settings(home=tmp_path, remote_manifests=True), name="b.jpg")
        assert blocked["provenance"]["status"] == "none"
        assert "could not be fetched" in " ".join(blocked["provenance"]["reasons"])
        on = _check(tmp_path, signed, Settings(home=tmp_path, remote_manifests=True, allow_loopback=True), name="c.jpg")
        assert on["provenance"]["status"] == "intact", on["provenance"]["reasons"]
    finally:
        server.shutdown()


@pytest.mark.parametrize("fetching", [False, True])
def test_a_long_remote_manifest_address_is_cut_in_words_and_kept_whole_in_its_field(tmp_path, ca, fetching):
    """A remote manifest's address of 2,000 characters went whole into the summary."""
    from fakelens.verdict import fuse
    from fakelens.detectors.base import Signal
    from fakelens.media.types import Media

    url = "http://127.0.0.1:9/" + "m" * 1970 + ".c2pa"
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", ca["chain"], ca["key"], remote_url=url)
    # fetching on: the netguard refuses the loopback address at once, and that is said
    block = _check(tmp_path, signed, Settings(home=tmp_path, remote_manifests=fetching))["provenance"]
    assert block["remote_manifest"] == url and ("could not be fetched" in " ".join(block["reasons"])) == fetching
    summary = fuse([Signal("provenance", "1", None, provenance=block)], Media("image", "x.jpg", "0" * 64, 400, 300),
                   1)["summary"]
    assert "http://127.0.0.1:9/mmm" in summary and len(summary) < 500, summary
    assert all(len(reason) < 400 for reason in block["reasons"]), block["reasons"]


class _Trickle(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/c2pa")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            for _ in range(200):            # a byte every half second: never silent for read_timeout_s
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.5)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def test_a_trickling_remote_manifest_is_cut_off_at_the_wall_time(tmp_path, ca):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    url = f"http://127.0.0.1:{server.server_address[1]}/manifest.c2pa"
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", ca["chain"], ca["key"], remote_url=url)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        r = _check(tmp_path, signed, Settings(home=tmp_path, remote_manifests=True, allow_loopback=True,
                                              fetch_wall_s=2))
        assert time.monotonic() - started < 20       # not the 100 s the server would take
        reasons = " ".join(r["provenance"]["reasons"])
        assert r["provenance"]["status"] == "none" and "gave up after 2 s" in reasons, reasons
    finally:
        server.shutdown()


@pytest.mark.parametrize("data", [b"", b"\xff\xd8\xff\xe0garbage", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50,
                                  b"not an image at all" * 10])
def test_corrupt_files_never_crash(tmp_path, settings, data):
    r = _check(tmp_path, data, settings)
    assert r["provenance"]["status"] == "none" and r["score"] is None


def test_damaged_manifest_is_reported_not_crashed(tmp_path, settings, ca):
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", ca["chain"], ca["key"])
    data = bytearray(signed)
    at = data.find(b"jumb")
    data[at + 40:at + 400] = b"\x00" * 360
    r = _check(tmp_path, bytes(data), settings)
    assert r["provenance"]["status"] in ("none", "tampered")
    assert r["provenance"]["ai_generated"] is False


def test_bundled_trust_list_loads(settings):
    from cryptography import x509

    from fakelens.provenance import trust
    pem = trust.anchors_pem(settings)
    certs = x509.load_pem_x509_certificates(pem.encode())
    assert len(certs) >= 16
    names = " ".join(c.subject.rfc4514_string() for c in certs)
    assert "Google C2PA Root CA G3" in names and "DigiCert" in names
    assert trust.reader_context(settings) is trust.reader_context(settings)   # built once, then shared


def test_a_broken_file_beside_the_users_anchors_leaves_the_good_ones_trusted(tmp_path, ca):
    """The SDK refuses the whole anchor list for one unreadable certificate: every anchor of the
    user's was dropped (their signers "not on FakeLens's trust list") for one stale file beside them.
    Each file is tried alone and only the unreadable one is left out."""
    from fakelens.provenance import trust

    anchors = tmp_path / "anchors"
    anchors.mkdir()
    (anchors / "mine.pem").write_text(ca["pem_path"].read_text())
    (anchors / "old.crt").write_text("-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAKHHIG\n-----END CERTIFICATE-----\n")
    settings = Settings(home=tmp_path, trust_anchors=anchors)
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", ca["chain"], ca["key"])
    r = _check(tmp_path, signed, settings)
    assert r["provenance"]["status"] == "intact" and r["provenance"]["trusted"] is True, r["detail"]["reason"]
    assert anchors / "old.crt" not in trust.anchor_files(settings) and anchors / "mine.pem" in trust.anchor_files(settings)


def _app11_segments(data: bytes) -> list[tuple[int, int]]:
    """(offset, length with marker) of each APP11 segment before a JPEG's scan data."""
    found, i = [], 2
    while i + 4 <= len(data) and data[i] == 0xFF and data[i + 1] != 0xDA:
        length = 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
        if data[i + 1] == 0xEB:
            found.append((i, length))
        i += length
    return found


@pytest.mark.parametrize("name", ["adobe-20220124-CA.jpg", "truepic-20230212-camera.jpg"])
def test_credentials_missing_their_first_segment_are_unreadable_not_none(tmp_path, settings, name):
    """A JPEG whose first APP11 segment was lost (the SDK finds no manifest store) still carries the
    rest of its Content Credentials: it read "No Content Credentials found. Most sites strip them",
    where a cut last segment read "found but could not be read"."""
    src = TESTFILES / name
    if not src.is_file():
        pytest.skip("C2PA test files absent")
    data = src.read_bytes()
    segments = _app11_segments(data)
    assert len(segments) > 1, segments
    at, length = segments[0]
    damaged = tmp_path / name
    damaged.write_bytes(data[:at] + data[at + length:])
    r = read_c2pa(str(damaged), "image/jpeg", settings)
    assert r["status"] == "none" and r.get("unreadable") is True, r["reasons"]
    assert r["reasons"] == ["Content Credentials were found but could not be read (parts of them are in the "
                            "file, but their start is missing)"]
    assert read_c2pa(str(TESTFILES / "adobe-20220124-A.jpg"), "image/jpeg", settings).get("unreadable") is None


def test_trusted_signer_with_edited_pixels_is_tampered_but_trusted(tmp_path, ca):
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", ca["chain"], ca["key"])
    data = bytearray(signed)
    data[-200] ^= 0x55
    r = _check(tmp_path, bytes(data), Settings(home=tmp_path, trust_anchors=ca["pem_path"]))
    assert r["provenance"]["status"] == "tampered" and r["provenance"]["trusted"] is True


def test_ai_metadata_beside_capture_credentials_says_what_they_are_and_claims_no_capture_type(tmp_path, settings, ca):
    """EXIF Software "Midjourney" in a signed camera capture: the block said ai_generated with
    digital_source_type "digitalCapture"; broken, the credentials went unmentioned in the summary."""
    import io

    from PIL import Image

    from fakelens.analyze import Analyzer

    exif = Image.Exif()
    exif[0x0131] = "Midjourney"
    out = io.BytesIO()
    Image.open(io.BytesIO(_jpeg())).save(out, "JPEG", quality=92, exif=exif.tobytes())
    actions = [{"action": "c2pa.created", "digitalSourceType": IPTC + "digitalCapture"}]
    signed, _ = c2pa_sign(out.getvalue(), "image/jpeg", ca["chain"], ca["key"], tool="Camera", actions=actions)
    broken = bytearray(signed)
    broken[-200] ^= 0xFF
    results = {}
    for name, data in (("signed", signed), ("broken", bytes(broken))):
        (tmp_path / f"{name}.jpg").write_bytes(data)
        results[name] = Analyzer(settings).analyze({"path": str(tmp_path / f"{name}.jpg")}, tmp_path)
    for result in results.values():
        block = result["provenance"]
        assert block["ai_generated"] is True and block["source"] == "metadata"
        assert block["digital_source_type"] is None, block   # not the capture's beside "AI-generated"
    assert results["signed"]["summary"].endswith(", carry no AI marker."), results["signed"]["summary"]
    assert results["broken"]["provenance"]["status"] == "tampered"
    assert " Its Content Credentials do not validate: " in results["broken"]["summary"], results["broken"]["summary"]


def test_a_remote_manifest_address_with_brackets_is_read_whole():
    from fakelens.provenance.c2pa_reader import _remote_url
    assert _remote_url("Remote manifest not fetched (https://example.com/m/abc).c2pa?x=%271%27)") == \
        "https://example.com/m/abc).c2pa?x=%271%27"
    assert _remote_url("remote manifest at https://example.com/m/abc.c2pa.") == "https://example.com/m/abc.c2pa"
    assert _remote_url("remote manifest (https://example.com/m/(1).c2pa)") == "https://example.com/m/(1).c2pa"
    assert _remote_url("remote manifest, no address") is None
