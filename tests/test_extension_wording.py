"""The extension's wording (extension/lib/wording.js) run in node: what each verdict reads as."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import need_shared

WORDING_JS = Path(__file__).resolve().parents[1] / "extension" / "lib" / "wording.js"


def describe(results: list[dict], fn: str = "describe") -> list:
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    script = (WORDING_JS.read_text() + "\nconst checks = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n"
              f"console.log(JSON.stringify(checks.map((c) => globalThis.FakeLens.{fn}(c))));\n")
    run = subprocess.run(["node", "-e", script], input=json.dumps([{"status": "done", "result": r} for r in results]),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_ai_badge_names_the_provenance_that_said_so():
    """Only a C2PA manifest is "Content Credentials"; a PNG text chunk or a watermark says what it is."""
    ai = {"label": "ai_generated", "score": 0.99}
    got = describe([{**ai, "provenance": {"ai_generated": True, "source": source}}
                    for source in ("c2pa", "metadata", "watermark", None)]
                   + [{**ai, "score": 0.87, "provenance": {"ai_generated": False}}])
    assert [g["text"] for g in got] == ["AI-generated (Content Credentials)", "AI-generated (file metadata)",
                                        "AI-generated (watermark)", "AI-generated (provenance)",
                                        "Likely AI-generated (score 0.87)"]
    assert all(g["tone"] == "ai" for g in got)


def test_no_evidence_never_reads_real():
    got = describe([{"label": "no_evidence", "score": 0.1}, {"label": "manipulated", "score": 0.874}])
    assert got[0]["text"] == "No signs of manipulation found" and got[1]["text"] == "Likely manipulated (score 0.87)"
    assert not any("real" in g["text"].lower().split() for g in got)


def test_verdicts_are_counted_by_their_headline_without_the_score():
    """The popup's summary counts a page's verdicts ("2 Likely manipulated · 1 No signs…"): two scores
    are one group, a provenance source its own."""
    got = describe([{"label": "manipulated", "score": 0.874}, {"label": "manipulated", "score": 0.91},
                    {"label": "ai_generated", "score": 0.8}, {"label": "no_evidence", "score": 0.1},
                    {"label": "ai_generated", "score": 0.99, "provenance": {"ai_generated": True, "source": "c2pa"}},
                    {"label": "uncertain", "score": 0.62}])
    assert [g["group"] for g in got] == ["Likely manipulated", "Likely manipulated", "Likely AI-generated",
                                         "No signs of manipulation found", "AI-generated (Content Credentials)",
                                         "Uncertain"]


def test_uncertain_says_its_score_in_words_as_the_other_model_verdicts_do():
    """The badge's chip showed "Uncertain 0.62" while its full text (the tooltip, the screen reader's name,
    the popup's row) said "Uncertain" alone: the full text carries the score too; the popup still counts
    it as "Uncertain"."""
    got = describe([{"label": "uncertain", "score": 0.62}])[0]
    assert (got["text"], got["short"], got["group"]) == ("Uncertain (score 0.62)", "Uncertain 0.62", "Uncertain")


def test_an_uncertain_the_credentials_made_says_why_not_a_quiet_models_score():
    """Credentials whose file changed after signing make "Uncertain" beside a quiet face: the chip read
    "Uncertain <0.01", a model's doubt no model had. It says why, as the backend's headline does."""
    from fakelens.verdict import CREDENTIALS_CHANGED, label_words

    signals = [{"detector": "face_swap", "score": 0.004, "threshold": 0.69, "decisive": True},
               {"detector": "provenance", "score": 0.3, "threshold": 0.5, "decisive": True}]
    result = {"label": "uncertain", "score": 0.004, "signals": signals, "provenance": {"data_changed": True}}
    got = describe([result])[0]
    assert (got["text"], got["short"], got["group"]) == (CREDENTIALS_CHANGED, "Uncertain (CR changed)", "Uncertain")
    assert label_words(result) == CREDENTIALS_CHANGED
    # a model's own doubt keeps its score, the credentials' signal not deciding
    near = {**result, "score": 0.62, "signals": [{**signals[0], "score": 0.62}, {**signals[1], "decisive": False}]}
    assert describe([near])[0]["text"] == label_words(near) == "Uncertain (score 0.62)"


def test_not_checked_says_why():
    reasons = {"no face found": "no face", "faces too small to judge (under 32 px)": "faces too small",
               "faces cut off by the picture's edge, too little of them to judge": "face cut off",
               "faces too small or cut off by the picture's edge to judge": "small or cut-off faces"}
    results = [{"label": "not_applicable", "score": None, "faces": [{"score": None}],
                "summary": f"Not checked: {why}. No Content Credentials."} for why in reasons]
    got = describe(results)
    assert [g["text"] for g in got] == [f"Not checked: {r}" for r in reasons.values()]
    # the CLI and the report write the same headline (verdict.not_checked_reason)
    from fakelens.verdict import label_words
    assert [label_words(r) for r in results] == [g["text"] for g in got]
    # the provenance note's "too small" (for the watermark) is not why the faces were not checked
    cut = describe([{"label": "not_applicable", "score": None, "faces": [{"score": None}],
                     "summary": "Not checked: faces cut off by the picture's edge, too little of them to judge. No "
                                "Content Credentials or AI metadata found; the watermark was not looked for: too "
                                "small for the invisible watermark (200×200 < 256×256 pixels)."}])
    assert cut[0]["text"] == "Not checked: face cut off"


def test_a_quiet_verdict_shows_no_score_beside_its_words_and_the_badge_says_likely():
    """Beside "No signs of manipulation found" a score reads as a chance (the backend's summary leaves
    it out); the signal line still gives it with its threshold. A flag's short badge keeps "Likely"."""
    quiet = {"label": "no_evidence", "score": 0.12, "summary": "No signs of manipulation found by the face-swap detector.",
             "signals": [{"detector": "face_swap", "score": 0.12, "threshold": 0.69, "decisive": True}]}
    lines = describe([quiet], "detailLines")[0]
    assert not any(line.startswith("Score:") for line in lines) and "Face-swap detector: score 0.12 (threshold 0.69), decided the verdict" in lines
    flagged = {**quiet, "label": "manipulated", "score": 0.87}
    assert "Score: 0.87" in describe([flagged], "detailLines")[0]
    assert [g["short"] for g in describe([flagged, {"label": "ai_generated", "score": 0.91}])] == [
        "Likely manipulated 0.87", "Likely AI 0.91"]


def test_credentials_that_do_not_validate_say_why():
    """An expired signing certificate is not an edit: the tooltip says what the backend says, from the
    backend's own provenance block for real C2PA test files, never "tampered" for everything."""
    from fakelens.config import Settings
    from fakelens.provenance import check

    def line(name):
        path = need_shared("c2pa-testfiles", name)
        prov = check(str(path), "image/jpeg", "image", Settings())["provenance"]
        assert prov["status"] == "tampered"
        lines = describe([{"label": "uncertain", "score": 0.3, "provenance": prov}], "detailLines")[0]
        return next(x for x in lines if x.startswith("Content Credentials"))

    assert line("nikon-20221019-building.jpeg") == ("Content Credentials: present, but the signing certificate has "
                                                   "expired, and no time-stamp shows it was valid when it signed")
    assert line("adobe-20220124-E-dat-CA.jpg") == ("Content Credentials: present, but the image data no longer "
                                                  "matches the signed hash (edited after signing)")
    stale = describe([{"label": "uncertain", "score": 0.3, "provenance": {"status": "tampered", "codes": ["x.y"]}}],
                     "detailLines")[0]
    assert "Content Credentials: present, but they do not validate" in stale   # an older backend's block


def test_credentials_found_but_not_read_are_not_called_none():
    """The block's status is "none" when credentials were found but could not be read, or are stored
    remotely and were not fetched: the tooltip says that, not "none" beside a summary that says otherwise."""
    blocks = [{"status": "none", "unreadable": True, "remote_manifest": None},
              {"status": "none", "unreadable": False, "remote_manifest": "https://cr.example/m.c2pa"},
              {"status": "none", "unreadable": False, "remote_manifest": None, "failed": True},
              {"status": "none", "unreadable": False, "remote_manifest": None}]
    got = describe([{"label": "manipulated", "score": 0.9, "provenance": b} for b in blocks], "detailLines")
    assert [next(x for x in lines if x.startswith("Content Credentials")) for lines in got] == [
        "Content Credentials: present, but they could not be read",
        "Content Credentials: stored elsewhere (a remote manifest), not read",
        "Content Credentials: could not be checked (an error in FakeLens)",
        "Content Credentials: none"]


def test_a_signers_name_cannot_close_the_quotes_around_it_in_the_tooltip():
    """A certificate's name is said in quotes: its own quote marks go, or `Nikon” (trusted). Also: “x` read
    as FakeLens saying the signer is trusted."""
    prov = {"status": "intact", "trusted": False, "signer": "Nikon\u201d (trusted). Also: \u201cx \"y\" O\u2019Reilly"}
    lines = describe([{"label": "no_evidence", "score": 0.1, "provenance": prov}], "detailLines")[0]
    assert "Content Credentials: intact, signed by “Nikon (trusted). Also: x y O'Reilly” (not on FakeLens's trust list)" in lines


def test_a_score_beside_its_threshold_says_which_side_it_lies_on():
    """0.6926 against 0.6931 is "0.69 (threshold 0.69)" in two decimals: such a pair gets four."""
    signal = {"detector": "face_swap", "threshold": 0.6931, "decisive": True}
    got = describe([{"label": "uncertain", "score": score, "signals": [{**signal, "score": score}]}
                    for score in (0.6926, 0.8, 0.6931)], "detailLines")
    lines = [next(x for x in g if x.startswith("Face-swap detector:")) for g in got]
    assert lines == ["Face-swap detector: score 0.6926 (threshold 0.6931), decided the verdict",
                     "Face-swap detector: score 0.80 (threshold 0.69), decided the verdict",
                     "Face-swap detector: score 0.69 (threshold 0.69), decided the verdict"]


def test_the_popup_cuts_a_long_address_in_the_middle_keeping_the_file_name():
    """24 rows of one CDN read alike when the address is cut at its end: the file name stays. Media with
    no address of its own is named: an inline photo's row read its whole data: URL (6,400 characters of
    base64 for a small JPEG), and a blob: address is the page's memory, nothing a reader can use."""
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    row_js = WORDING_JS.parent.parent / "popup" / "result-row.js"
    urls = ["https://cdn.example.com/a.jpg",
            "https://images.cdn.example.com/users/12345/uploads/2026/11/holiday-photo-from-the-beach.jpg?w=1200&q=80",
            "https://images.cdn.example.com/users/12345/uploads/2026/11/" + "x" * 60 + "-end.jpg",
            "blob:https://x.com/0f7c2b1e-1111-2222-3333-444455556666",
            "data:image/jpeg;base64," + "/9j/4AAQSkZJRgABAQ" * 400, "data:image/svg+xml,%3Csvg%3E%3C/svg%3E",
            "DATA:image/x-icon;base64,AAAB", "data:,plain", "data:video/mp4;base64,AAAAIGZ0eXA"]
    kinds = ["image", "image", "image", "video", "image", "image", "image", "image", "video"]
    script = ("globalThis.FakeLens = {};\n" + row_js.read_text()
              + f"\nconsole.log(JSON.stringify({json.dumps(urls)}.map((u, i) => FakeLens.shortUrl(u, {json.dumps(kinds)}[i]))));")
    run = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == [
        "https://cdn.example.com/a.jpg",
        "images.cdn.example.com/…/holiday-photo-from-the-beach.jpg?…",
        "images.cdn.example.com/…/xxxxxxxxxxxxxx…xxxxxxxx-end.jpg",   # 14 + … + the last 16
        "video held by the page",
        "inline JPEG image", "inline SVG image", "inline ICON image", "inline image", "inline MP4 video"]


def test_a_score_short_of_one_never_reads_as_one_and_both_sides_write_it_alike():
    from fakelens.verdict import score_text
    got = describe([{"label": "manipulated", "score": 0.9995, "signals": []}])
    assert got[0]["text"] == "Likely manipulated (score > 0.99)"
    scores = [0, 0.0001, 0.004999, 0.005, 0.125, 0.135, 0.865, 0.994999, 0.995, 0.9999, 1]
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    script = (WORDING_JS.read_text() + f"\nconsole.log(JSON.stringify({json.dumps(scores)}.map(globalThis.FakeLens.scoreText)));\n")
    run = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == [score_text(s) for s in scores]
    assert [score_text(s) for s in (0, 0.0001, 0.9999, 1)] == ["0.00", "< 0.01", "> 0.99", "1.00"]


def test_a_photo_with_an_ai_made_part_is_partly_ai_generated_on_both_sides():
    from fakelens.verdict import label_words
    composite = {"label": "ai_generated", "score": 0.97, "provenance": {
        "ai_generated": True, "source": "c2pa", "partly_ai": True}}
    whole = {**composite, "provenance": {**composite["provenance"], "partly_ai": False}}
    # a check stored before the block had partly_ai: its declared composite type says it
    stored = {**composite, "provenance": {"ai_generated": True, "source": "c2pa",
                                          "digital_source_type": "compositeWithTrainedAlgorithmicMedia"}}
    got = describe([composite, whole, stored])
    assert [g["text"] for g in got] == [label_words(composite), label_words(whole), label_words(stored)] == [
        "Partly AI-generated (Content Credentials)", "AI-generated (Content Credentials)",
        "Partly AI-generated (Content Credentials)"]


def test_what_a_verdict_did_not_cover_is_said_beside_its_headline_and_not_drawn_on_another_video():
    """The summary said it last, past the popup's three lines; and a <video>'s badge showed the verdict
    on the page's first video as its own."""
    from fakelens.verdict import label_words
    page = {"label": "no_evidence", "score": 0.2, "summary": "No signs…", "provenance": {},
            "media": {"kind": "video", "page_videos": 3, "media_url": "https://site.example/1.mp4"}}
    cut = {"label": "manipulated", "score": 0.9, "summary": "Likely…", "provenance": {},
           "media": {"kind": "video", "duration": 5.16, "declared_duration": 14.76}}
    many = {**page, "media": {**page["media"], "page_videos": 10}}
    half = {**cut, "media": {**cut["media"], "duration": 5.125, "declared_duration": 12345.67}}   # 123 frames at 24 fps
    gif = {"label": "no_evidence", "score": 0.1, "summary": "No signs…", "provenance": {},
           "media": {"kind": "image", "animated": True}}
    got = [g["text"] for g in describe([page, cut, many, half, gif])]
    assert got == [label_words(page), label_words(cut), label_words(many), label_words(half), label_words(gif)] == [
        "No signs of manipulation found (the first of 3 videos on the page)",
        "Likely manipulated (score 0.90) (only the first 5.16 s of 14.76 s)",
        "No signs of manipulation found (the first of 10 or more videos on the page)",
        "Likely manipulated (score 0.90) (only the first 5.13 s of 12345.67 s)",
        "No signs of manipulation found (only its first frame)"]
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    script = (WORDING_JS.read_text() + f"\nconst check = {{status: 'done', result: {json.dumps(page)}}};\n"
              "console.log(JSON.stringify([FakeLens.describe(check, {localName: 'video'}),"
              " FakeLens.describe(check, {localName: 'img'}).text]));\n")
    run = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    on_video, on_image = json.loads(run.stdout)
    assert on_video["short"] == "Not checked: another video" and on_video["tone"] == "skipped"
    assert on_video["text"].startswith("Not checked: the page has 3 videos, and FakeLens checked the first")
    assert on_image == "No signs of manipulation found (the first of 3 videos on the page)"


def test_plain_text_shows_commands_in_quotes_where_code_cannot_be_shown():
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    script = WORDING_JS.read_text() + ("\nconsole.log(JSON.stringify(FakeLens.plainText("
                                       "FakeLens.describeConnection({state: 'unauthorized'}).fix)));\n")
    run = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == ('Run "fakelens token" (in the FakeLens folder: "make token") and paste the '
                                      'token in Options.')


def test_a_refused_address_says_the_fix_the_user_does_not_have_yet():
    """Options takes only the names FakeLens answers to, so it refuses one reached as 127.0.0.1 for its
    port (one forwarded to FakeLens's): "Set the backend URL to" the very URL in use fixed nothing. An
    older FakeLens that refuses [::1] still gets 127.0.0.1 on that port."""
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    settings_js = WORDING_JS.with_name("settings.js").read_text()
    script = ("globalThis.chrome = { storage: { local: {} } };\n" + settings_js + WORDING_JS.read_text()
              + "\nconsole.log(JSON.stringify(['http://[::1]:9000', 'http://127.0.0.1:9000'].map((url) =>"
              " FakeLens.describeConnection({state: 'wrong_host', url}).fix)));\n")
    run = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    on_v6, on_v4 = json.loads(run.stdout)
    assert on_v6 == "Set the backend URL in Options to `http://127.0.0.1:9000`: FakeLens answers to no other host name."
    assert "http://127.0.0.1:9000" not in on_v4 and "the address `fakelens serve` prints" in on_v4


def test_a_declaration_shows_no_score_and_a_check_in_line_is_waiting_not_checking():
    """An AI marker in the file's own provenance is declared, not scored: its fixed signal value read as a
    model's confidence in the tooltip. A queued check read "Checking… 0%" for as long as it waited."""
    declared = {"label": "ai_generated", "score": 0.93, "summary": "AI-generated (file metadata): …",
                "provenance": {"ai_generated": True, "source": "metadata"},
                "signals": [{"detector": "provenance", "score": 0.93, "threshold": 0.5, "decisive": True}]}
    lines = describe([declared], "detailLines")[0]
    assert not any(line.startswith("Score:") for line in lines), lines
    assert "Provenance check: declared by file metadata, decided the verdict" in lines
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    script = (WORDING_JS.read_text() + "\nconsole.log(JSON.stringify(globalThis.FakeLens.describe("
              "{status: 'queued', progress: {stage: 'queued', fraction: 0}})));\n")
    run = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60)
    assert json.loads(run.stdout)["text"] == "Waiting to be checked…", run.stdout


def test_a_reused_verdict_says_so_in_the_tooltip():
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    script = (WORDING_JS.read_text() + "\nconsole.log(JSON.stringify(globalThis.FakeLens.detailLines("
              "{status: 'done', cached: true, result: {label: 'no_evidence', score: 0.1, summary: 'No signs.'}})));\n")
    run = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60)
    assert "The verdict of an earlier check of the same media, reused." in json.loads(run.stdout), run.stdout


def test_an_ai_claim_by_a_signer_not_on_the_trust_list_names_them_as_the_backend_does():
    """Anyone can sign "this is AI" with a home-made certificate: the badge read "AI-generated (Content
    Credentials)" for such a claim as for a trusted one's (verdict.label_words now names the signer)."""
    from fakelens.verdict import label_words

    ai = {"label": "ai_generated", "score": 0.9}
    results = [{**ai, "provenance": {"ai_generated": True, "source": "c2pa", "ai_signer": "Reu\u201dters",
                                     "ai_signer_trusted": False}},
               {**ai, "provenance": {"ai_generated": True, "source": "c2pa", "ai_signer": None,
                                     "ai_signer_trusted": False, "partly_ai": True}},
               {**ai, "provenance": {"ai_generated": True, "source": "c2pa", "ai_signer": "Adobe",
                                     "ai_signer_trusted": True}},
               {**ai, "provenance": {"ai_generated": True, "source": "c2pa"}}]   # stored before the field
    got = describe(results)
    assert [g["text"] for g in got] == [
        "AI-generated, as declared by “Reuters” (not on FakeLens's trust list)",
        "Partly AI-generated, as declared by an unknown signer (not on FakeLens's trust list)",
        "AI-generated (Content Credentials)", "AI-generated (Content Credentials)"]
    assert [g["text"] for g in got] == [label_words(r) for r in results]
    assert got[0]["short"] == "AI-generated (untrusted CR)"


def test_the_tooltips_provenance_line_says_when_the_declaring_signer_is_not_on_the_trust_list():
    """"Provenance check: declared by Content Credentials" read the same for a home-made certificate's claim
    as for a trusted one's, under a summary that says the signer is not on the trust list."""
    def declared(**prov):
        return {"label": "ai_generated", "score": 0.9, "summary": "AI-generated: …",
                "provenance": {"ai_generated": True, "source": "c2pa", **prov},
                "signals": [{"detector": "provenance", "score": 0.9, "threshold": 0.5, "decisive": True}]}
    got = describe([declared(ai_signer="Reuters", ai_signer_trusted=False),
                    declared(ai_signer="Adobe", ai_signer_trusted=True),
                    declared()], "detailLines")   # a check stored before ai_signer_trusted
    lines = [next(x for x in g if x.startswith("Provenance check:")) for g in got]
    assert lines == [
        "Provenance check: declared by Content Credentials of a signer not on FakeLens's trust list, decided the verdict",
        "Provenance check: declared by Content Credentials, decided the verdict",
        "Provenance check: declared by Content Credentials, decided the verdict"]


def test_a_signer_not_on_the_trust_list_is_worded_alike_in_the_summary_and_the_tooltip():
    """One fact, three wordings: the summary said "(not on the trust list)", the headline "(not on
    FakeLens's trust list)", the tooltip "(signer not trusted)". All say "not on FakeLens's trust list",
    the tooltip right after the signer's name (not after the tool's)."""
    from fakelens.detectors.base import Signal
    from fakelens.media.types import Media
    from fakelens.verdict import fuse

    block = {"status": "intact", "ai_generated": False, "signer": "Leica", "trusted": False, "generator": "Leica M11"}
    summary = fuse([Signal("provenance", "1", None, provenance=block)], Media("image", "x.jpg", "0" * 64, 400, 300),
                   1)["summary"]
    assert summary.endswith("Content Credentials intact, signed by “Leica” (not on FakeLens's trust list)."), summary
    got = describe([{"label": "no_evidence", "score": 0.1, "provenance": block},
                    {"label": "no_evidence", "score": 0.1, "provenance": {**block, "signer": None, "generator": None}},
                    {"label": "no_evidence", "score": 0.1, "provenance": {**block, "trusted": True}}], "detailLines")
    assert [next(x for x in g if x.startswith("Content Credentials")) for g in got] == [
        "Content Credentials: intact, signed by “Leica” (not on FakeLens's trust list), made with “Leica M11”",
        "Content Credentials: intact, signed by an unknown signer (not on FakeLens's trust list)",
        "Content Credentials: intact, signed by “Leica”, made with “Leica M11”"]
    group = describe([{"label": "ai_generated", "score": 0.9, "provenance": {
        "ai_generated": True, "source": "c2pa", "ai_signer": "Reuters", "ai_signer_trusted": False}}])[0]["group"]
    assert group == "AI-generated (Content Credentials of a signer not on FakeLens's trust list)"
    for path in [*Path(__file__).resolve().parents[1].joinpath("backend", "fakelens").rglob("*.py"), WORDING_JS]:
        text = path.read_text()
        assert "(not on the trust list)" not in text and "signer not trusted" not in text, path
