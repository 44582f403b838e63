"""`fakelens eval`: metrics, ROC PNG, per-file CSV and the list of files without a face, on real files."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from fakelens.config import Settings
from fakelens.errors import FakeLensError
from fakelens.evaluate import auc, recall_at_fpr, roc_curve, run_eval, summary_text
from fakelens.metrics import auc_interval

from conftest import REPO, need_shared


def test_auc_and_operating_point_arithmetic():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert auc(y, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]) == 1.0
    assert auc(y, [0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]) == 0.0
    assert auc(y, [0.5] * 8) == 0.5
    assert auc([0, 1, 1], [0.3, 0.3, 0.9]) == pytest.approx(0.75)
    fpr, tpr, _ = roc_curve(y, [0.1, 0.2, 0.3, 0.9, 0.5, 0.6, 0.7, 0.8])
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1 and (np.diff(fpr) >= 0).all()
    # 20 reals: 5 % allows one real above the threshold
    reals = list(np.linspace(0, 0.5, 19)) + [0.95]
    fakes = [0.4, 0.6, 0.9, 0.97]
    recall, threshold = recall_at_fpr([0] * 20 + [1] * 4, reals + fakes, 0.05)
    assert 0.5 < threshold <= 0.6 and recall == 0.75


def test_auc_interval_says_how_little_a_small_set_pins_down():
    rng = np.random.default_rng(3)
    def sample(n):
        y = np.r_[np.zeros(n), np.ones(n)]
        return y, np.r_[rng.normal(0, 1, n), rng.normal(1, 1, n)]   # AUC about 0.76
    small, large = sample(12), sample(1000)
    lo_s, hi_s = auc_interval(*small)
    lo_l, hi_l = auc_interval(*large)
    assert lo_s <= auc(*small) <= hi_s and lo_l <= auc(*large) <= hi_l
    assert 0.55 < lo_l < 0.76 < hi_l < 0.8 and hi_s - lo_s > 4 * (hi_l - lo_l)
    assert auc_interval(*small) == (lo_s, hi_s)                      # seeded: the same every run
    assert all(np.isnan(auc_interval([0, 0], [0.1, 0.2])))          # one class: no AUC, no interval


@pytest.fixture(scope="module")
def folders(tmp_path_factory, request):
    """Two real faces, their self-blends, and a picture with no face in the real folder."""
    pairs = request.getfixturevalue("blend_pairs")
    root = tmp_path_factory.mktemp("evalsets")
    (root / "real").mkdir()
    (root / "fake").mkdir()
    for k, (real, fake) in enumerate(pairs[:2]):
        (root / "real" / real.name).write_bytes(real.read_bytes())
        (root / "fake" / fake.name).write_bytes(fake.read_bytes())
    grad = np.tile(np.linspace(0, 255, 200, dtype=np.uint8)[None, :, None], (150, 1, 3))
    cv2.imwrite(str(root / "real" / "no_face.png"), grad)
    (root / "real" / "notes.txt").write_text("not media: ignored")
    return root


from test_face_swap_model import blend_pairs  # noqa: E402,F401  (the shared fixture)


def test_run_eval_writes_csv_roc_and_lists_faceless_files(folders, tmp_path):
    settings = Settings(home=tmp_path / "home")
    out = tmp_path / "out"
    summary = run_eval(folders / "real", folders / "fake", out, settings)
    assert summary["real"] == 2 and summary["fake"] == 2
    assert [p.endswith("no_face.png") for p in summary["no_face"]] == [True]
    assert summary["auc"] is not None and 0 <= summary["auc"] <= 1
    assert summary["auc"] >= 0.75, summary      # self-blends of held-out faces: the model should rank them
    assert summary["auc_95"][0] <= summary["auc"] <= summary["auc_95"][1]   # 2 + 2 files: a wide interval
    for key in ("accuracy", "fpr", "tpr", "recall_at_5pct_fpr"):
        assert 0 <= summary[key] <= 1
    assert [p.endswith("notes.txt") for p in summary["skipped"]] == [True]   # listed, not scored
    rows = list(csv.DictReader(open(out / "scores.csv")))
    assert len(rows) == 5
    assert {r["status"] for r in rows} == {"ok", "no face found"}
    # the 5 % operating point is rounded up: no real scores at or above it (2 reals: none allowed)
    reals = [float(r["score"]) for r in rows if r["label"] == "real" and r["score"]]
    assert max(reals) < summary["threshold_at_5pct_fpr"]
    roc = cv2.imread(str(out / "roc.png"))
    assert roc is not None and roc.shape[0] > 300
    assert json.loads((out / "summary.json").read_text())["auc"] == summary["auc"]


def test_file_names_cannot_run_in_a_spreadsheet_or_a_terminal(folders, tmp_path, capsys, monkeypatch):
    """A file named as a formula (media is found by content, not by name) became a live formula in
    scores.csv opened in a spreadsheet; a name with an escape sequence reached the terminal raw."""
    import shutil

    real = tmp_path / "real"
    shutil.copytree(folders / "real", real)
    shutil.copy(real / "no_face.png", real / '=HYPERLINK("http:"&CHAR(47)&CHAR(47)&"evil.example","open")')
    shutil.copy(real / "no_face.png", real / "x\x1b]0;owned\x07.png")
    out = tmp_path / "out"
    monkeypatch.chdir(real)   # `fakelens eval --real .`: the CSV names files as given, the name first
    run_eval(Path("."), folders / "fake", out, Settings(home=tmp_path / "home"))
    files = [r["file"] for r in csv.DictReader(open(out / "scores.csv"))]
    formula = [f for f in files if "HYPERLINK" in f]
    assert formula and all(f.startswith("'") for f in formula), files
    err = capsys.readouterr().err
    assert "\x1b" not in err and "x\\x1b]0;owned\\x07.png" in err, err[-2000:]


def test_eval_reads_every_media_file_and_lists_the_rest(folders, tmp_path):
    """Media found by content as well as by name, linked folders followed once, and whatever cannot
    be read or is not media listed: nothing dropped silently, one bad file never ends the run."""
    real = tmp_path / "real"
    real.mkdir()
    one, two = sorted((folders / "real").glob("real*.png"))[:2]
    (real / "no-extension").write_bytes(one.read_bytes())
    (real / "photo.jfif").write_bytes(two.read_bytes())
    linked = tmp_path / "elsewhere"
    linked.mkdir()
    (linked / "face.jpg").write_bytes(one.read_bytes())
    (real / "linked").symlink_to(linked)
    (linked / "loop").symlink_to(real)                      # a cycle: walked once
    (real / "gone.jpg").symlink_to(tmp_path / "deleted.jpg")
    (real / "eio.jpg").symlink_to("/proc/self/mem")          # open works, read fails (EIO)
    os.mkfifo(real / "pipe.jpg")                              # would block a reader forever
    (real / "l1").symlink_to("l2")                            # a symlink loop: unreadable, listed
    (real / "l2").symlink_to("l1")
    (real / "notes.txt").write_text("not media")
    weird = Path(os.fsdecode(b"caf\xe9.jpg"))                 # a name that is not UTF-8
    (real / weird).write_bytes(two.read_bytes())
    out = tmp_path / "out"
    summary = run_eval(real, folders / "fake", out, Settings(home=tmp_path / "home"))
    assert summary["real"] == 4 and summary["fake"] == 2, summary    # no-extension, jfif, linked, café
    assert sorted(Path(e["file"]).name for e in summary["errors"]) == ["eio.jpg", "gone.jpg", "l1", "l2"]
    assert all(e["error"].startswith("cannot read the file") for e in summary["errors"])
    assert "Too many levels of symbolic links" in next(e["error"] for e in summary["errors"]
                                                       if e["file"].endswith("l1"))
    assert sorted(Path(p).name for p in summary["skipped"]) == ["notes.txt", "pipe.jpg"]
    rows = list(csv.DictReader(open(out / "scores.csv", encoding="utf-8")))
    assert len(rows) == 10 and any(r["file"].endswith("caf\\udce9.jpg") for r in rows)
    assert (out / "roc.png").is_file()


def test_eval_refuses_folders_that_share_files(folders, tmp_path):
    with pytest.raises(FakeLensError) as err:
        run_eval(folders, folders / "fake", None, Settings(home=tmp_path / "home"))
    assert "the same folder or one is inside the other" in err.value.message and err.value.status == 400
    # the same folder twice with no media in it: refused as such, not "no images or videos in x or x" (exit 1)
    (tmp_path / "empty").mkdir()
    for real, fake in ((tmp_path / "empty", tmp_path / "empty"), (tmp_path / "empty", tmp_path / "empty" / ".")):
        with pytest.raises(FakeLensError, match="the same folder or one is inside the other"):
            run_eval(real, fake, None, Settings(home=tmp_path / "home"))
    linked = tmp_path / "fake-with-a-link"
    shutil.copytree(folders / "fake", linked)
    (linked / "real-by-a-link.png").symlink_to(folders / "real" / "real0.png")   # one file in both
    with pytest.raises(FakeLensError) as err:
        run_eval(folders / "real", linked, None, Settings(home=tmp_path / "home"))
    assert "under both --real and --fake" in err.value.message
    copy = tmp_path / "fake-with-a-copy"
    shutil.copytree(folders / "fake", copy)
    real = folders / "real" / "real0.png"
    shutil.copy(real, copy / "renamed.png")   # the same bytes under another name
    with pytest.raises(FakeLensError) as err:
        run_eval(folders / "real", copy, None, Settings(home=tmp_path / "home"))
    assert err.value.message == (f"1 file(s) in --fake have the same content as one in --real (first: "
                                 f"{copy / 'renamed.png'} and {real}): remove the copies"), err.value.message


def test_eval_counts_flagged_as_the_product_says_it(tmp_path, request):
    """A high score on a face too small to flag is "Uncertain" in the product, so not a flag in eval."""
    models = tmp_path / "models"
    models.mkdir()
    manifest = json.loads((REPO / "models" / "manifest.json").read_text())
    for m in manifest["models"]:
        (models / m["file"]).symlink_to(REPO / "models" / m["file"])
        if m["task"] == "face_swap":
            m["threshold"] = 0.0   # every scored face at or above it
    (models / "manifest.json").write_text(json.dumps(manifest))
    face = cv2.imread(str(need_shared("faces-real", "utkface", "100_1_0_20170110183726390.jpg.chip.jpg")))
    for name, size in (("large", 200), ("small", 56)):
        (tmp_path / name).mkdir()
        canvas = np.full((300, 300, 3), 180, np.uint8)
        canvas[40:40 + size, 40:40 + size] = cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(tmp_path / name / f"{name}.png"), canvas)
    summary = run_eval(tmp_path / "large", tmp_path / "small", tmp_path / "out",
                       Settings(home=tmp_path / "home", models_dir=models))
    assert summary["real"] == 1 and summary["fake"] == 1 and summary["capped"] == 1
    assert summary["fpr"] == 1.0 and summary["tpr"] == 0.0   # the small face is held at "Uncertain"
    rows = {r["label"]: r for r in csv.DictReader(open(tmp_path / "out" / "scores.csv"))}
    assert rows["fake"]["capped"].startswith("the face is small") and not rows["real"]["capped"]
    # a small face scoring under the threshold is held from nothing: not counted as held
    for m in manifest["models"]:
        if m["task"] == "face_swap":
            m["threshold"] = 0.99999
    (models / "manifest.json").write_text(json.dumps(manifest))
    summary = run_eval(tmp_path / "large", tmp_path / "small", tmp_path / "out2",
                       Settings(home=tmp_path / "home2", models_dir=models))
    assert summary["capped"] == 0 and summary["tpr"] == 0.0, summary


def test_run_eval_refuses_a_missing_folder(tmp_path):
    with pytest.raises(FakeLensError) as err:
        run_eval(tmp_path / "nope", tmp_path / "nope2", None, Settings(home=tmp_path / "home"))
    assert err.value.status == 400


def test_an_unwritable_out_is_refused_before_any_scoring(folders, tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.write_text("a file, not a folder")
    with pytest.raises(FakeLensError) as err:
        run_eval(folders / "real", folders / "fake", taken, Settings(home=tmp_path / "home"))
    assert "cannot write the results to" in err.value.message and err.value.status == 400
    assert "[1/" not in capsys.readouterr().err   # refused up front, not after scoring every file


def test_fakelens_eval_fails_when_one_class_has_nothing_scored(folders, tmp_path):
    empty = tmp_path / "fake"
    empty.mkdir()
    (empty / "notes.jpg").write_text("not an image")
    out = tmp_path / "out"
    out.mkdir()
    (out / "roc.png").write_bytes(b"an earlier run's curve")
    proc = subprocess.run([sys.executable, "-m", "fakelens.cli", "--home", str(tmp_path / "home"), "eval",
                           "--real", str(folders / "real"), "--fake", str(empty), "--out", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 1, proc.stderr[-2000:]
    # the summary is the command's output, on stdout (`> results.txt` was left empty); the progress, stderr
    assert "AUC n/a: it needs both real and fake files scored" in proc.stdout and "AUC" not in proc.stderr
    assert "[1/" in proc.stderr and "[1/" not in proc.stdout
    assert (out / "scores.csv").is_file() and not (out / "roc.png").exists()   # not beside these scores


@pytest.mark.slow
def test_fakelens_eval_cli(folders, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "fakelens.cli", "--home", str(tmp_path / "home"), "eval",
                           "--real", str(folders / "real"), "--fake", str(folders / "fake"),
                           "--out", str(tmp_path / "o"), "--json"],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["real"] == 2 and len(summary["no_face"]) == 1
    assert "AUC" in proc.stderr          # the readable summary
    assert (tmp_path / "o" / "roc.png").is_file()


def test_a_folder_eval_cannot_open_is_listed_and_an_out_inside_an_input_refused(folders, tmp_path):
    """A sub-folder without read permission: its files are not silently missing from the counts, the
    folder is listed as an error; the whole --real unreadable is refused. A results folder inside
    --real would have its ROC picture scored as a real picture next time: refused."""
    real = tmp_path / "real"
    shutil.copytree(folders / "real", real)
    locked = real / "locked"
    locked.mkdir()
    shutil.copy(folders / "real" / "real0.png", locked / "one-more.png")
    locked.chmod(0)
    as_user = []
    if os.geteuid() == 0:   # root reads any folder: drop the capabilities that let it
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv")
        as_user = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]

    def run(real_dir, *more):
        return subprocess.run(as_user + [sys.executable, "-m", "fakelens.cli", "--home", str(tmp_path / "home"),
                                         "eval", "--real", str(real_dir), "--fake", str(folders / "fake"), "--json",
                                         *more], capture_output=True, text=True, timeout=300, cwd=REPO)
    try:
        proc = run(real)
        assert proc.returncode == 0, proc.stderr[-2000:]
        summary = json.loads(proc.stdout)
        assert summary["real"] == 2 and summary["errors"] == [
            {"file": str(locked), "error": "cannot read this folder (Permission denied): its files are not counted"}]
        proc = run(locked)
        assert proc.returncode == 2 and f"cannot read {locked}: Permission denied" in proc.stderr, proc.stderr
    finally:
        locked.chmod(0o755)
    proc = run(real, "--out", str(real / "results"))
    assert proc.returncode == 2 and "is inside" in proc.stderr and not (real / "results").exists(), proc.stderr


def test_ctrl_c_in_eval_writes_what_was_scored_and_exits_130(folders, tmp_path):
    """Ctrl+C printed a traceback and lost every file scored so far (hours' worth, maybe)."""
    import signal

    for name in ("real", "fake"):   # enough files that the run is still scoring when it is stopped
        (tmp_path / name).mkdir()
        for k, picture in enumerate(sorted((folders / name).glob(f"{name}*.png")) * 15):
            shutil.copy(picture, tmp_path / name / f"{k:02}.png")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "fakelens.cli", "--home", str(tmp_path / "home"), "eval",
                             "--real", str(tmp_path / "real"), "--fake", str(tmp_path / "fake"), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))   # as a terminal's
    lines = [proc.stderr.readline()]
    while not lines[-1].startswith("[2/"):   # two files scored
        assert lines[-1], lines
        lines.append(proc.stderr.readline())
    proc.send_signal(signal.SIGINT)
    err = "".join(lines) + proc.stderr.read()
    assert proc.wait(60) == 130 and err.endswith("\ninterrupted\n") and "Traceback" not in err, err[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    rows = list(csv.DictReader(open(out / "scores.csv")))
    assert summary["interrupted"] is True and 2 <= len(rows) < 60 and summary["not_scored"] == 60 - len(rows)
    assert f"interrupted: {60 - len(rows)} file(s) not scored" in proc.stdout.read()


@pytest.mark.parametrize("name", ["scores.csv", "roc.png", "summary.json"])
def test_a_result_path_that_is_a_folder_is_refused_before_any_scoring(folders, tmp_path, capsys, name):
    """out/scores.csv a folder failed after the whole scoring; out/roc.png a folder was named as the
    curve written (cv2.imwrite's False went unread)."""
    out = tmp_path / "out"
    (out / name).mkdir(parents=True)
    with pytest.raises(FakeLensError) as err:
        run_eval(folders / "real", folders / "fake", out, Settings(home=tmp_path / "home"))
    assert err.value.message == f"cannot write the results to {out}: {out / name} is a folder"
    assert "[1/" not in capsys.readouterr().err   # refused up front, not after scoring every file


def test_a_result_that_cannot_be_written_is_said_and_the_others_are_written(folders, tmp_path):
    """A full disk at the end lost every result and the summary; a curve never written was named."""
    import resource
    import signal

    def small_files():   # a real write failure: past 8 KB a file gets EFBIG, as a full disk gives ENOSPC
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    out = tmp_path / "out"
    out.mkdir()
    (out / "roc.png").write_bytes(b"an earlier run's curve")
    proc = subprocess.run([sys.executable, "-m", "fakelens.cli", "--home", str(tmp_path / "home"), "eval", "--real",
                           str(folders / "real"), "--fake", str(folders / "fake"), "--out", str(out), "--json"],
                          capture_output=True, text=True, timeout=300, cwd=REPO, preexec_fn=small_files)
    assert proc.returncode == 1, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["not_written"] == [{"file": str(out / "roc.png"), "error": "File too large"}]
    assert "roc_png" not in summary and f"could not write {out / 'roc.png'}: File too large" in proc.stderr
    assert "ROC curve:" not in proc.stderr and "% interval" in proc.stderr   # the summary is still printed
    assert sorted(p.name for p in out.iterdir()) == ["scores.csv", "summary.json"]   # no half file, nor the old one
    assert json.loads((out / "summary.json").read_text())["not_written"] == summary["not_written"]
    assert len(list(csv.DictReader(open(out / "scores.csv")))) == 5


def test_a_result_path_linked_to_a_full_device_loses_nothing(folders, tmp_path):
    """out/scores.csv a link to /dev/full (a full disk, at the end of a long run): an OSError, and
    the curve and summary were never written. Each file goes through a temporary file now."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "scores.csv").symlink_to("/dev/full")
    summary = run_eval(folders / "real", folders / "fake", out, Settings(home=tmp_path / "home"))
    assert summary["not_written"] == [] and summary["csv"] == str(out / "scores.csv")
    assert len(list(csv.DictReader(open(out / "scores.csv")))) == 5
    assert (out / "roc.png").is_file() and json.loads((out / "summary.json").read_text())["auc"] == summary["auc"]


def test_empty_folder_arguments_are_refused_not_taken_as_the_current_folder(folders, tmp_path):
    """`--real ""` scored the current folder (Path("") is "."), `--out ""` meant no results at all."""
    def fakelens(*args):
        return subprocess.run([sys.executable, "-m", "fakelens.cli", "--home", str(tmp_path / "home"), *args],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path)
    for flag, args in (("--real", ["--real", "", "--fake", str(folders / "fake")]),
                       ("--fake", ["--real", str(folders / "real"), "--fake", ""]),
                       ("--out", ["--real", str(folders / "real"), "--fake", str(folders / "fake"), "--out", ""])):
        r = fakelens("eval", *args)
        assert r.returncode == 2 and f'argument {flag}: must not be empty ("")' in r.stderr, r.stderr[-2000:]
        assert "[1/" not in r.stderr
        # under --json in JSON too, as any folder that cannot be used (it was argparse's line alone)
        r = fakelens("eval", *args, "--json")
        assert r.returncode == 2 and json.loads(r.stdout)["error"] == {
            "code": "bad_request", "message": f'argument {flag}: must not be empty ("")'}, (r.stdout, r.stderr)
    a_file = tmp_path / "results"
    a_file.write_text("")
    r = fakelens("eval", "--real", str(folders / "real"), "--fake", str(folders / "fake"), "--out", str(a_file))
    assert r.returncode == 2 and f"{a_file}: it is a file, not a folder" in r.stderr, r.stderr   # "File exists"
    r = fakelens("check", "")   # ":  error:  is a folder" before
    assert r.returncode == 2 and 'argument PATH_OR_URL: must not be empty ("")' in r.stderr, r.stderr
    assert "writes scores.csv, roc.png and summary.json here" in fakelens("eval", "--help").stdout


def test_eval_without_out_says_how_to_keep_the_csv_and_the_curve(folders, tmp_path, capsys):
    summary = run_eval(folders / "real", folders / "fake", None, Settings(home=tmp_path / "home"))
    assert summary_text(summary, None).endswith("\n  --out DIR keeps the per-file CSV and the ROC curve")


def test_a_wrong_argument_exits_2_not_1_as_a_failed_run(folders, tmp_path):
    """README: a wrong argument exits 2; eval's own refusals of its folders exited 1, as "AUC n/a"."""
    def fakelens(*args):
        return subprocess.run([sys.executable, "-m", "fakelens.cli", "--home", str(tmp_path / "home"), "eval", *args],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path)
    real, fake = str(folders / "real"), str(folders / "fake")
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    for args, said in ((["--real", str(tmp_path / "nope"), "--fake", fake], "nope does not exist"),   # "is not a folder"
                       (["--real", str(folders / "real" / "real0.png"), "--fake", fake], "is a file, not a folder"),
                       (["--real", real, "--fake", real], "the same folder or one is inside the other"),
                       (["--real", "nope\x1b[2J", "--fake", fake], "nope\\x1b[2J does not exist"),   # escaped
                       (["--real", real, "--fake", fake, "--out", str(folders / "fake" / "o")], "is inside"),
                       (["--real", real, "--fake", fake, "--out", str(a_file)], "cannot write the results to")):
        r = fakelens(*args)
        assert r.returncode == 2 and said in r.stderr and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)
        assert "[1/" not in r.stderr


def test_eval_output_that_cannot_be_written_exits_1_as_check(folders, tmp_path):
    """`fakelens eval --json > /dev/full` exited 2, as a data folder it cannot use."""
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "fakelens.cli", "--home", str(tmp_path / "home"), "eval",
                            "--real", str(folders / "real"), "--fake", str(folders / "fake"), "--json"],
                           stdout=full, stderr=subprocess.PIPE, text=True, timeout=300)
    assert r.returncode == 1, r.stderr[-2000:]
    assert r.stderr.endswith("error: cannot write the results: No space left on device\n"), r.stderr[-2000:]


def test_a_file_under_two_names_is_scored_once(folders, tmp_path):
    """A link to a file (or to a folder holding it) scored it once per name: the counts and the metrics
    counted it twice."""
    fake = tmp_path / "fake"
    shutil.copytree(folders / "fake", fake)
    first = sorted(fake.glob("*.png"))[0]
    (fake / "zz-link.png").symlink_to(first)
    os.link(first, fake / "zz-hard.png")
    (fake / "zz-folder").symlink_to(fake)   # the folder again: walked once already
    summary = run_eval(folders / "real", fake, None, Settings(home=tmp_path / "home"))
    assert summary["fake"] == 2, summary
    assert sorted(Path(p).name for p in summary["skipped"]) == ["notes.txt", "zz-hard.png", "zz-link.png"]


def test_identical_empty_files_in_both_folders_are_listed_not_refused_as_copies(folders, tmp_path):
    real, fake = tmp_path / "real", tmp_path / "fake"
    shutil.copytree(folders / "real", real)
    shutil.copytree(folders / "fake", fake)
    (real / "empty.jpg").write_bytes(b"")
    (fake / "also-empty.jpg").write_bytes(b"")
    summary = run_eval(real, fake, None, Settings(home=tmp_path / "home"))
    assert sorted(Path(e["file"]).name for e in summary["errors"]) == ["also-empty.jpg", "empty.jpg"], summary


def test_ctrl_c_while_summing_up_still_writes_every_score(folders, tmp_path, monkeypatch, capsys):
    """Ctrl+C after the last file was scored (in the AUC's bootstrap, seconds on a large set) lost the
    whole run: no scores.csv, no summary.json."""
    import fakelens.evaluate as evaluate

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(evaluate, "auc_interval", interrupted)
    out = tmp_path / "out"
    summary = run_eval(folders / "real", folders / "fake", out, Settings(home=tmp_path / "home"))
    assert summary["interrupted"] is True and summary["not_scored"] == 0 and summary["auc_95"] is None
    assert summary["auc"] is not None and json.loads((out / "summary.json").read_text())["interrupted"] is True
    assert len(list(csv.DictReader(open(out / "scores.csv")))) == 5
    text = summary_text(summary, out)
    assert "interrupted after every file was scored: the AUC's interval was left out" in text, text


def test_a_newline_in_a_listed_name_cannot_start_a_line_of_its_own():
    from fakelens.evaluate import format_summary
    summary = {"model": "face_swap", "version": "1", "real": 1, "fake": 1, "seconds": 1.0, "auc": None,
               "auc_95": None, "threshold": 0.69, "accuracy": None, "fpr": None, "tpr": None,
               "recall_at_5pct_fpr": None, "capped": 0, "no_face": ["r/no\nface\x1b[2J.png"], "skipped": [],
               "errors": [{"file": "r/bro\nken.jpg", "error": "cannot read the file"}]}
    lines = format_summary(summary).split("\n")
    assert "    r/no\\nface\\x1b[2J.png" in lines and "    r/bro\\nken.jpg: cannot read the file" in lines, lines
