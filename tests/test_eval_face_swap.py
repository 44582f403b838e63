"""`fakelens eval`: metrics, ROC PNG, per-file CSV and the list of files without a face, on real files."""

import csv
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from fakelens.config import Settings
from fakelens.errors import FakeLensError
from fakelens.evaluate import auc, recall_at_fpr, roc_curve, run_eval

from conftest import REPO


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
    for key in ("accuracy", "fpr", "tpr", "recall_at_5pct_fpr"):
        assert 0 <= summary[key] <= 1
    rows = list(csv.DictReader(open(out / "scores.csv")))
    assert len(rows) == 5
    assert {r["status"] for r in rows} == {"ok", "no face found"}
    roc = cv2.imread(str(out / "roc.png"))
    assert roc is not None and roc.shape[0] > 300
    assert json.loads((out / "summary.json").read_text())["auc"] == summary["auc"]


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
    proc = subprocess.run([sys.executable, "-m", "fakelens.cli", "--home", str(tmp_path / "home"), "eval",
                           "--real", str(folders / "real"), "--fake", str(empty)],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "AUC n/a: it needs both real and fake files scored" in proc.stderr


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
