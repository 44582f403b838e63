"""What a Content Credentials AI claim makes of the verdict, on real signed files through the analyzer:
whose claim it is, whether FakeLens trusts them, and whether the credentials still describe the pixels."""

import datetime
import time

import cv2
import pytest

from fakelens import provenance
from fakelens.analyze import Analyzer
from fakelens.config import Settings
from fakelens.verdict import label_words
from test_provenance_support import IPTC, c2pa_sign, make_test_ca, photo_like

AI = [{"action": "c2pa.created", "digitalSourceType": IPTC + "trainedAlgorithmicMedia",
       "softwareAgent": {"name": "Adobe Firefly"}}]
CAPTURE = [{"action": "c2pa.created", "digitalSourceType": IPTC + "digitalCapture"}]
UNTRUSTED = "not on FakeLens's trust list"


@pytest.fixture(scope="module")
def trusted_ca(tmp_path_factory):
    """A CA FakeLens is told to trust, its signer named "Associated Press"."""
    ca_pem, chain, key = make_test_ca(cn="Test Trusted Root", signer="Associated Press")
    path = tmp_path_factory.mktemp("anchors") / "root.pem"
    path.write_text(ca_pem)
    return {"pem_path": path, "chain": chain, "key": key}


def _jpeg(h=300, w=400, seed=1) -> bytes:
    return cv2.imencode(".jpg", photo_like(h, w, seed), [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()


def _analyze(tmp_path, data: bytes, settings, name="x.jpg") -> dict:
    path = tmp_path / name
    path.write_bytes(data)
    return Analyzer(settings).analyze({"path": str(path)}, tmp_path)


def _app11(jpeg: bytes) -> bytes:
    """A JPEG's APP11 segments (where its C2PA manifest store lives), as they are."""
    pos, out = 2, b""
    while jpeg[pos] == 0xFF and jpeg[pos + 1] != 0xDA:
        end = pos + 2 + int.from_bytes(jpeg[pos + 2:pos + 4], "big")
        out += jpeg[pos:end] if jpeg[pos + 1] == 0xEB else b""
        pos = end
    return out


# --- 1. credentials copied from an AI picture onto a photo -----------------------------------

def test_ai_credentials_copied_onto_a_photo_are_a_hint_about_another_picture_not_ai_generated(tmp_path, trusted_ca,
                                                                                                face_jpeg):
    """A trusted Firefly manifest's APP11 segments pasted into a real photo read "AI-generated" (0.90), though
    the signed hash no longer matched: those credentials were made for another picture."""
    trusting = Settings(home=tmp_path / "home", trust_anchors=trusted_ca["pem_path"])
    ai_picture, _ = c2pa_sign(_jpeg(1080, 1920, 9), "image/jpeg", trusted_ca["chain"], trusted_ca["key"],
                              tool="Adobe Firefly", actions=AI)
    photo = face_jpeg.read_bytes()
    transplant = photo[:2] + _app11(ai_picture) + photo[2:]
    result = _analyze(tmp_path, transplant, trusting)
    block = result["provenance"]
    assert block["status"] == "tampered" and block["data_changed"] is True, block
    assert block["ai_generated"] is False and block["trusted"] is True
    assert result["label"] == "uncertain", result["summary"]
    assert not label_words(result).startswith(("AI-generated", "Partly AI-generated"))
    assert result["summary"].startswith("Uncertain: the file was changed after its Content Credentials were signed")
    assert ("Content Credentials made for another or earlier version of this picture (signed by “Associated Press”, "
            "on FakeLens's trust list) say: created by a generative AI tool (Adobe Firefly) — a hint only."
            ) in result["summary"], result["summary"]
    prov = next(s for s in result["signals"] if s["detector"] == "provenance")
    assert prov["score"] < 0.5 and prov["decisive"]


# --- 2. an unknown signer's, or an expired certificate's, AI claim ------------------------------

def test_an_unknown_signers_ai_claim_ranks_no_higher_than_metadata_and_names_them(tmp_path, face_jpeg, trusted_ca):
    """Anyone can sign "this is AI" onto a real photo with a home-made certificate: such a claim scored
    0.97, above XMP metadata's 0.90, and headlined "AI-generated (Content Credentials)"."""
    _, chain, key = make_test_ca(cn="Home-made Root", signer="Reuters")
    signed, _ = c2pa_sign(face_jpeg.read_bytes(), "image/jpeg", chain, key, tool="Adobe Firefly", actions=AI)
    result = _analyze(tmp_path, signed, Settings(home=tmp_path / "home"))
    block = result["provenance"]
    assert block["status"] == "intact" and block["trusted"] is False and block["ai_generated"] is True
    prov = next(s for s in result["signals"] if s["detector"] == "provenance")
    assert prov["score"] <= provenance.SCORES[("metadata", "source_type")], prov["score"]
    assert block["ai_signer"] == "Reuters" and block["ai_signer_trusted"] is False
    assert label_words(result) == "AI-generated, as declared by “Reuters” (not on FakeLens's trust list)"
    # both facts, each once: the claim, then why it counts for less (it read "… “Reuters” (not on FakeLens's
    # trust list) say: … . Anyone can sign such a claim with a certificate of their own.")
    assert result["summary"] == ("AI-generated: Content Credentials signed by “Reuters” say: created by a generative AI "
                                 "tool (Adobe Firefly). The signer is not on FakeLens's trust list, and anyone can sign "
                                 "such a claim with a certificate of their own."), result["summary"]

    # a trusted signer's claim is as it was
    signed, _ = c2pa_sign(face_jpeg.read_bytes(), "image/jpeg", trusted_ca["chain"], trusted_ca["key"],
                          tool="Adobe Firefly", actions=AI)
    result = _analyze(tmp_path, signed, Settings(home=tmp_path / "home2", trust_anchors=trusted_ca["pem_path"]),
                      name="trusted.jpg")
    assert result["label"] == "ai_generated" and result["score"] == pytest.approx(0.99)
    assert label_words(result) == "AI-generated (Content Credentials)"
    assert result["provenance"]["ai_signer_trusted"] is True
    assert "not on FakeLens's trust list" not in result["summary"]


def test_an_expired_certificates_ai_claim_names_its_signer_and_trust(tmp_path):
    """An expired certificate's AI claim read "Content Credentials (which no longer validate) say: …", its
    signer's name and trust gone from the lead."""
    _, chain, key = make_test_ca(cn="Canon Root", signer="Canon Inc.", valid_for=datetime.timedelta(seconds=2))
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", chain, key, tool="Canon", actions=AI)
    time.sleep(3)   # no time-stamp: the certificate is checked against today's date, and has now expired
    path = tmp_path / "expired.jpg"
    path.write_bytes(signed)
    r = provenance.check(str(path), "image/jpeg", "image", Settings(home=tmp_path / "home"))
    block = r["provenance"]
    assert block["codes"] == ["signingCredential.expired"] and block["data_changed"] is False, block
    assert r["detail"]["reason"] == ("Content Credentials signed by “Canon Inc.” (not on FakeLens's trust list), which "
                                     "no longer validate, say: created by a generative AI tool (Adobe Firefly)")
    assert r["score"] <= provenance.SCORES[("metadata", "source_type")]
    assert block["ai_signer"] == "Canon Inc." and block["ai_signer_trusted"] is False
    summary = _analyze(tmp_path, signed, Settings(home=tmp_path / "home2"), name="expired2.jpg")["summary"]
    assert summary == ("AI-generated: Content Credentials signed by “Canon Inc.”, which no longer validate, say: created "
                       "by a generative AI tool (Adobe Firefly). The signer is not on FakeLens's trust list, and anyone "
                       "can sign such a claim with a certificate of their own."), summary


# --- 3. an earlier version's signer, with its own trust ----------------------------------------

@pytest.mark.parametrize("ingredient_trusted", [False, True])
def test_an_earlier_versions_signer_is_named_with_its_own_trust(tmp_path, trusted_ca, ingredient_trusted):
    """A trusted manifest whose earlier version was signed by a made-up "OpenAI": the AI claim read
    "(signed by “OpenAI”)" at 0.95, as if FakeLens vouched for that signer too."""
    if ingredient_trusted:
        chain, key, name = trusted_ca["chain"], trusted_ca["key"], "Associated Press"
    else:
        _, chain, key = make_test_ca(cn="Some Root", signer="OpenAI")
        name = "OpenAI"
    earlier, _ = c2pa_sign(_jpeg(120, 120, 5), "image/jpeg", chain, key, tool="ChatGPT", actions=AI)
    ingredient = {"title": "ingredient.jpg", "relationship": "parentOf", "instance_id": "ing1", "label": "ing1"}
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", trusted_ca["chain"], trusted_ca["key"], tool="AP Photo Desk",
                          actions=[{"action": "c2pa.opened", "parameters": {"ingredientIds": ["ing1"]}},
                                   {"action": "c2pa.cropped"}], ingredients=[(ingredient, earlier)])
    trusting = Settings(home=tmp_path / "home", trust_anchors=trusted_ca["pem_path"])
    path = tmp_path / "x.jpg"
    path.write_bytes(signed)
    r = provenance.check(str(path), "image/jpeg", "image", trusting)
    block = r["provenance"]
    assert block["status"] == "intact" and block["trusted"] is True and block["ai_generated"] is True
    trust = "on FakeLens's trust list" if ingredient_trusted else "not on FakeLens's trust list"
    assert r["detail"]["reason"] == (f"Content Credentials of an earlier version (signed by “{name}”, {trust}) say: "
                                     "created by a generative AI tool (Adobe Firefly)"), r["detail"]["reason"]
    assert block["ai_signer"] == name and block["ai_signer_trusted"] is ingredient_trusted
    if ingredient_trusted:
        assert r["score"] == pytest.approx(0.95)
    else:
        assert r["score"] <= provenance.SCORES[("metadata", "source_type")]
    result = _analyze(tmp_path, signed, trusting, name="y.jpg")
    assert label_words(result) == ("AI-generated (Content Credentials)" if ingredient_trusted else
                                   "AI-generated, as declared by “OpenAI” (not on FakeLens's trust list)")
    assert result["summary"] == ("AI-generated: Content Credentials of an earlier version (signed by “Associated Press”, "
                                 "on FakeLens's trust list) say: created by a generative AI tool (Adobe Firefly)."
                                 if ingredient_trusted else
                                 "AI-generated: Content Credentials of an earlier version (signed by “OpenAI”) say: "
                                 "created by a generative AI tool (Adobe Firefly). The signer is not on FakeLens's trust "
                                 "list, and anyone can sign such a claim with a certificate of their own."), result["summary"]


@pytest.mark.parametrize("relationship", ["parentOf", "componentOf"])
def test_an_untrusted_signer_cannot_borrow_a_trusted_ingredients_trust(tmp_path, trusted_ca, relationship):
    """That a trusted AI image is an earlier version of these pixels (or placed in them) is the outer
    signer's word: "Mallory" attaching a trusted Firefly picture to a real photo got 0.95 and the bare
    "AI-generated (Content Credentials)", more than Mallory's own direct claim (0.90, untrusted)."""
    ai_image, _ = c2pa_sign(_jpeg(120, 120, 5), "image/jpeg", trusted_ca["chain"], trusted_ca["key"],
                            tool="Adobe Firefly", actions=AI)
    _, chain, key = make_test_ca(cn="Mallory Root", signer="Mallory")
    uses = ([{"action": "c2pa.opened", "parameters": {"ingredientIds": ["ing1"]}}] if relationship == "parentOf" else
            [{"action": "c2pa.created", "digitalSourceType": IPTC + "digitalCapture"},
             {"action": "c2pa.placed", "parameters": {"ingredientIds": ["ing1"]}}])
    ingredient = {"title": "i.jpg", "relationship": relationship, "instance_id": "ing1", "label": "ing1"}
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", chain, key, tool="Photo Editor", actions=uses,
                          ingredients=[(ingredient, ai_image)])
    trusting = Settings(home=tmp_path / "home", trust_anchors=trusted_ca["pem_path"])
    path = tmp_path / "x.jpg"
    path.write_bytes(signed)
    r = provenance.check(str(path), "image/jpeg", "image", trusting)
    block = r["provenance"]
    assert block["trusted"] is False and block["ai_generated"] is True
    assert r["score"] <= provenance.SCORES[("metadata", "source_type")]
    assert block["ai_signer"] == "Mallory" and block["ai_signer_trusted"] is False
    result = _analyze(tmp_path, signed, trusting, name="y.jpg")
    assert label_words(result).endswith("as declared by “Mallory” (not on FakeLens's trust list)"), label_words(result)


# --- 4. a hint beside credentials that validate --------------------------------------------------

@pytest.mark.parametrize("trusting", [True, False])
def test_a_hint_in_validating_credentials_is_said_in_the_summary_naming_their_signer_once(tmp_path, trusted_ca,
                                                                                           face_jpeg, trusting):
    """A trusted capture made with an AI-generated input: the summary said only "No signs of manipulation
    found … Content Credentials intact, signed by “Associated Press” (trusted).", the hint (0.35) only in
    the reasons. Then it named the signer twice: "… (trusted). Content Credentials signed by “Associated
    Press” (on FakeLens's trust list) say: …": the hint is the same credentials', said as theirs."""
    _, chain, key = make_test_ca(cn="Some Root", signer="OpenAI")
    reference, _ = c2pa_sign(_jpeg(120, 120, 5), "image/jpeg", chain, key, tool="ChatGPT", actions=AI)
    ingredient = {"title": "ingredient.jpg", "relationship": "inputTo", "instance_id": "ing1", "label": "ing1"}
    signed, _ = c2pa_sign(face_jpeg.read_bytes(), "image/jpeg", trusted_ca["chain"], trusted_ca["key"],
                          tool="AP Photo Desk", actions=CAPTURE, ingredients=[(ingredient, reference)])
    settings = Settings(home=tmp_path / "home", trust_anchors=trusted_ca["pem_path"] if trusting else None)
    result = _analyze(tmp_path, signed, settings)
    assert result["label"] == "no_evidence", result["summary"]
    prov = next(s for s in result["signals"] if s["detector"] == "provenance")
    assert prov["score"] == pytest.approx(0.35)
    assert result["summary"].endswith(
        f"Content Credentials intact, signed by “Associated Press” ({'trusted' if trusting else UNTRUSTED}); "
        "they say an AI-generated picture was used as an input to make it (Adobe Firefly) — a hint only."
    ), result["summary"]
    assert result["summary"].count("Associated Press") == 1 and "trust list)" not in result["summary"].replace(
        "(not on FakeLens's trust list);", ""), result["summary"]


def test_a_hint_from_other_credentials_beside_validating_ones_keeps_its_own_source(tmp_path, trusted_ca, face_jpeg):
    """An AI input whose own signature does not verify is not what the file's signer says: its hint keeps
    its own words after the file's credentials."""
    _, chain, key = make_test_ca(cn="Some Root", signer="OpenAI")
    reference, _ = c2pa_sign(_jpeg(120, 120, 5), "image/jpeg", chain, key, tool="ChatGPT", actions=AI)
    at = reference.find(b"cbor", reference.find(b"c2pa.signature"))   # one byte of its claim signature changed
    end = at - 4 + int.from_bytes(reference[at - 4:at], "big")
    broken = reference[:end - 1] + bytes([reference[end - 1] ^ 0x01]) + reference[end:]
    ingredient = {"title": "ingredient.jpg", "relationship": "inputTo", "instance_id": "ing1", "label": "ing1"}
    signed, _ = c2pa_sign(face_jpeg.read_bytes(), "image/jpeg", trusted_ca["chain"], trusted_ca["key"],
                          tool="AP Photo Desk", actions=CAPTURE, ingredients=[(ingredient, broken)])
    result = _analyze(tmp_path, signed, Settings(home=tmp_path / "home", trust_anchors=trusted_ca["pem_path"]))
    assert result["summary"].endswith(
        "Content Credentials intact, signed by “Associated Press” (trusted). Content Credentials of an ingredient whose "
        "signature does not verify (anyone could have written them) say: an AI-generated picture was used as an input "
        "to make it (Adobe Firefly) — a hint only."), result["summary"]


def test_a_long_chain_of_ai_versions_reads_again_a_bounded_number_of_ingredients(tmp_path, trusted_ca, monkeypatch):
    """Each version's store holds all its ancestors: reading every AI ingredient's store again for its
    signer's trust took the square of the chain's length (120 links: 9 s for one picture)."""
    from fakelens.provenance import c2pa_reader

    earlier = None
    for i in range(12):
        uses = AI if earlier is None else [{"action": "c2pa.opened", "parameters": {"ingredientIds": [f"ing{i}"]}},
                                           {"action": "c2pa.edited", "digitalSourceType": IPTC + "trainedAlgorithmicMedia"}]
        ingredients = [({"title": f"i{i}.jpg", "relationship": "parentOf", "instance_id": f"ing{i}", "label": f"ing{i}"},
                        earlier)] if earlier else []
        earlier, _ = c2pa_sign(_jpeg(16, 16, i), "image/jpeg", trusted_ca["chain"], trusted_ca["key"],
                               tool="Adobe Firefly", actions=uses, ingredients=ingredients)
    path = tmp_path / "chain.jpg"
    path.write_bytes(earlier)
    reads = []
    real = c2pa_reader.c2pa.Reader

    def counted(mime, *args, **kwargs):   # the real reader, counted
        reads.append(mime)
        return real(mime, *args, **kwargs)

    monkeypatch.setattr(c2pa_reader.c2pa, "Reader", counted)
    out = c2pa_reader.read_c2pa(str(path), "image/jpeg", Settings(home=tmp_path / "h", trust_anchors=trusted_ca["pem_path"]))
    assert out["status"] == "intact" and out["trusted"] is True and len(out["ai"]) >= 2
    # the active manifest's ingredient first, then its ancestors, up to a bound (all 11 were read again)
    assert reads.count("application/c2pa") == c2pa_reader.MAX_TRUST_READS, reads
    checked = [m for m in out["ai"] if m["where"] == "ingredient" and m["trust_checked"]]
    assert len(checked) == c2pa_reader.MAX_TRUST_READS and all(m["trusted"] for m in checked)
    unchecked = [m for m in out["ai"] if m["where"] == "ingredient" and not m["trust_checked"]]
    assert unchecked and not any(m["trusted"] for m in unchecked)
    reasons = provenance.check(str(path), "image/jpeg", "image", Settings(home=tmp_path / "h2",
                               trust_anchors=trusted_ca["pem_path"]))["provenance"]["reasons"]
    assert any("its trust not checked by FakeLens" in r for r in reasons), reasons


# --- 5. an ingredient whose data no longer matched its credentials when it was taken in -------------

def _broken_data(signed: bytes) -> bytes:
    """A signed JPEG with one byte of its image data changed: its data hash no longer matches."""
    data = bytearray(signed)
    data[-200] ^= 0x55
    return bytes(data)


@pytest.mark.parametrize("relationship, uses, whose, what", [
    ("parentOf", [{"action": "c2pa.opened", "parameters": {"ingredientIds": ["ing1"]}}, {"action": "c2pa.cropped"}],
     "Content Credentials of an earlier version", "created by a generative AI tool (Adobe Firefly)"),
    ("componentOf", [*CAPTURE, {"action": "c2pa.placed", "parameters": {"ingredientIds": ["ing1"]}}],
     "Content Credentials of an ingredient", "includes AI-generated elements, an ingredient placed into it (Adobe Firefly)"),
])
def test_an_ingredient_whose_data_was_already_changed_when_it_was_added_is_a_hint(tmp_path, trusted_ca, relationship,
                                                                                   uses, whose, what):
    """The manifest that took the ingredient in recorded that its data no longer matched its signed hash
    (assertion.dataHash.mismatch in the ingredient assertion's validation status): its AI claim counted
    as firm (0.95, both signers trusted; 0.90 otherwise) and nothing said so. Its credentials were made
    for other pixels, as this file's own are when its data changed: a hint (0.35)."""
    ai_image, _ = c2pa_sign(_jpeg(120, 120, 5), "image/jpeg", trusted_ca["chain"], trusted_ca["key"],
                            tool="Adobe Firefly", actions=AI)
    ingredient = {"title": "i.jpg", "relationship": relationship, "instance_id": "ing1", "label": "ing1"}
    signed, _ = c2pa_sign(_jpeg(), "image/jpeg", trusted_ca["chain"], trusted_ca["key"], tool="AP Photo Desk",
                          actions=uses, ingredients=[(ingredient, _broken_data(ai_image))])
    path = tmp_path / "x.jpg"
    path.write_bytes(signed)
    r = provenance.check(str(path), "image/jpeg", "image",
                         Settings(home=tmp_path / "home", trust_anchors=trusted_ca["pem_path"]))
    block = r["provenance"]
    assert block["status"] == "intact" and block["trusted"] is True, block["reasons"]   # this file's own validate
    assert block["ai_generated"] is False and r["score"] == pytest.approx(0.35), r["detail"]["reason"]
    assert r["detail"]["reason"] == (
        f"{whose} (signed by “Associated Press”, on FakeLens's trust list), which did not validate when it was added "
        f"(its data no longer matched their signed hash), say: {what} — a hint only"), r["detail"]["reason"]
    assert block["data_changed"] is False   # this file's own data still matches its credentials

    # the same ingredient taken in whole is firm, as before
    whole, _ = c2pa_sign(_jpeg(), "image/jpeg", trusted_ca["chain"], trusted_ca["key"], tool="AP Photo Desk",
                         actions=uses, ingredients=[(ingredient, ai_image)])
    path.write_bytes(whole)
    r = provenance.check(str(path), "image/jpeg", "image",
                         Settings(home=tmp_path / "home2", trust_anchors=trusted_ca["pem_path"]))
    assert r["provenance"]["ai_generated"] is True and r["score"] == pytest.approx(0.95)
    assert "did not validate" not in r["detail"]["reason"]


def test_an_ai_claim_that_came_in_through_a_version_broken_when_added_is_a_hint_and_says_so(tmp_path, trusted_ca,
                                                                                            face_jpeg):
    """An AI picture, then a crop of it (its own credentials say nothing of AI), whose data was changed
    before this file took it in as its earlier version: the AI claim comes through a version whose
    credentials did not validate when it was added. The verdict is not "AI-generated" and the summary
    says the hint and why."""
    ai_image, _ = c2pa_sign(_jpeg(120, 120, 5), "image/jpeg", trusted_ca["chain"], trusted_ca["key"],
                            tool="Adobe Firefly", actions=AI)
    opened = lambda ing: [{"action": "c2pa.opened", "parameters": {"ingredientIds": [ing]}}, {"action": "c2pa.cropped"}]
    crop, _ = c2pa_sign(_jpeg(100, 100, 6), "image/jpeg", trusted_ca["chain"], trusted_ca["key"], tool="Crop Tool",
                        actions=opened("ing0"), ingredients=[(
                            {"title": "a.jpg", "relationship": "parentOf", "instance_id": "ing0", "label": "ing0"}, ai_image)])
    signed, _ = c2pa_sign(face_jpeg.read_bytes(), "image/jpeg", trusted_ca["chain"], trusted_ca["key"],
                          tool="AP Photo Desk", actions=opened("ing1"), ingredients=[(
                              {"title": "b.jpg", "relationship": "parentOf", "instance_id": "ing1", "label": "ing1"},
                              _broken_data(crop))])
    result = _analyze(tmp_path, signed, Settings(home=tmp_path / "home", trust_anchors=trusted_ca["pem_path"]))
    assert result["provenance"]["ai_generated"] is False and result["label"] != "ai_generated", result["summary"]
    hint = ("Content Credentials of an earlier version (signed by “Associated Press”, on FakeLens's trust list), which "
            "came in through a version whose Content Credentials did not validate when it was added, say: created by "
            "a generative AI tool (Adobe Firefly) — a hint only.")
    assert hint in result["summary"], result["summary"]
    prov = next(s for s in result["signals"] if s["detector"] == "provenance")
    assert prov["score"] == pytest.approx(0.35)


# --- 6. a camera capture whose earlier version is AI-generated ---------------------------------------

def _capture_of_ai(trusted_ca, parent_chain, parent_key, uses, relationship="parentOf", parent=None, base=None):
    ai_image = parent or c2pa_sign(_jpeg(120, 120, 5), "image/jpeg", parent_chain, parent_key, tool="Adobe Firefly",
                                   actions=AI)[0]
    ingredient = {"title": "i.jpg", "relationship": relationship, "instance_id": "ing1", "label": "ing1"}
    return c2pa_sign(base or _jpeg(), "image/jpeg", trusted_ca["chain"], trusted_ca["key"], tool="AP Camera",
                     actions=uses, ingredients=[(ingredient, ai_image)])[0]


@pytest.mark.parametrize("uses", [
    [{"action": "c2pa.created", "digitalSourceType": IPTC + "digitalCapture"}],
    [{"action": "c2pa.opened", "digitalSourceType": IPTC + "digitalCapture", "parameters": {"ingredientIds": ["ing1"]}}],
], ids=["created", "opened"])
@pytest.mark.parametrize("parent_trusted", [True, False])
def test_a_files_camera_capture_claim_contradicting_its_ai_generated_earlier_version_is_said(
        tmp_path, trusted_ca, face_jpeg, uses, parent_trusted):
    """This file's credentials say it is a camera capture (digitalCapture); its earlier version (parentOf)
    says it was made by a generative AI tool. The earlier version's claim decided, as before, but nothing
    said the two contradict each other. The claim still decides (that it is the earlier version is this
    file's signer's word too), with the same score; the reasons and the summary say the contradiction."""
    if parent_trusted:
        chain, key, name = trusted_ca["chain"], trusted_ca["key"], "Associated Press"
    else:
        _, chain, key = make_test_ca(cn="Some Root", signer="OpenAI")
        name = "OpenAI"
    signed = _capture_of_ai(trusted_ca, chain, key, uses, base=face_jpeg.read_bytes())
    settings = Settings(home=tmp_path / "home", trust_anchors=trusted_ca["pem_path"])
    path = tmp_path / "x.jpg"
    path.write_bytes(signed)
    r = provenance.check(str(path), "image/jpeg", "image", settings)
    block = r["provenance"]
    assert block["status"] == "intact" and block["ai_generated"] is True
    assert r["score"] == pytest.approx(0.95 if parent_trusted else 0.90)   # as before: the earlier version decides
    contradiction = ("This file's own Content Credentials (signed by “Associated Press”, on FakeLens's trust list) say "
                     "it is a camera capture (digitalCapture), which contradicts its AI-generated earlier version")
    assert block["reasons"][0].startswith("Content Credentials of an earlier version (signed by ")
    assert block["reasons"][1] == contradiction, block["reasons"]

    result = _analyze(tmp_path, signed, settings, name="y.jpg")
    assert result["label"] == "ai_generated"
    assert label_words(result) == ("AI-generated (Content Credentials)" if parent_trusted else
                                   "AI-generated, as declared by “OpenAI” (not on FakeLens's trust list)")
    assert result["summary"].startswith(f"AI-generated: Content Credentials of an earlier version (signed by “{name}”")
    assert f" {contradiction}." in result["summary"], result["summary"]


@pytest.mark.parametrize("relationship, uses", [
    # a capture with an AI element placed into it: a composite, no contradiction
    ("componentOf", [*CAPTURE, {"action": "c2pa.placed", "parameters": {"ingredientIds": ["ing1"]}}]),
    # an edit of the AI picture that claims no capture
    ("parentOf", [{"action": "c2pa.opened", "parameters": {"ingredientIds": ["ing1"]}}, {"action": "c2pa.cropped"}]),
    # a capture made with the AI picture only as a reference
    ("inputTo", CAPTURE),
])
def test_no_contradiction_is_said_where_there_is_none(tmp_path, trusted_ca, relationship, uses):
    signed = _capture_of_ai(trusted_ca, trusted_ca["chain"], trusted_ca["key"], uses, relationship=relationship)
    path = tmp_path / "x.jpg"
    path.write_bytes(signed)
    r = provenance.check(str(path), "image/jpeg", "image",
                         Settings(home=tmp_path / "home", trust_anchors=trusted_ca["pem_path"]))
    assert r["detail"]["contradiction"] is None
    assert not any("contradicts" in reason for reason in r["provenance"]["reasons"]), r["provenance"]["reasons"]


def test_a_capture_claim_beside_a_hint_from_its_earlier_version_says_the_contradiction_after_the_hint(
        tmp_path, trusted_ca, face_jpeg):
    """The earlier version's AI claim is only a hint (its data was changed before it was taken in): the
    contradiction is said after the hint, without calling the earlier version AI-generated."""
    ai_image, _ = c2pa_sign(_jpeg(120, 120, 5), "image/jpeg", trusted_ca["chain"], trusted_ca["key"],
                            tool="Adobe Firefly", actions=AI)
    signed = _capture_of_ai(trusted_ca, None, None, CAPTURE, parent=_broken_data(ai_image), base=face_jpeg.read_bytes())
    result = _analyze(tmp_path, signed, Settings(home=tmp_path / "home", trust_anchors=trusted_ca["pem_path"]))
    assert result["label"] != "ai_generated", result["summary"]
    assert result["summary"].endswith(
        "— a hint only. This file's own Content Credentials (signed by “Associated Press”, on FakeLens's trust list) "
        "say it is a camera capture (digitalCapture), which contradicts what its earlier version's Content "
        "Credentials say."), result["summary"]
