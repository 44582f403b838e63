"""The everyday-transformation check of the face-swap model (fakelens.train.robustness) on a few faces."""

import json

import cv2
import numpy as np
import pytest

from fakelens.analyze import Analyzer
from fakelens.config import REPO_MODELS, Settings
from fakelens.models import ModelStore
from fakelens.train import robustness as R

from conftest import REPO, need_shared


def test_every_transformation_keeps_the_picture_and_is_scored_by_the_product(tmp_path):
    data = need_shared("faces-real", "utkface")
    faces = R.held_out_faces(2, data, R.FACE_SWAP_1_SPLIT)
    canvas = R.on_canvas(cv2.imread(str(faces[0])))
    for name, (transform, ext) in R.TRANSFORMS.items():
        out = transform(canvas, np.random.default_rng(0))
        assert out.shape == (600, 600, 3) and out.dtype == np.uint8, name
    assert np.array_equal(R.TRANSFORMS["baseline"][0](canvas, None), canvas)
    rows = R.measure(faces, Analyzer(Settings(home=tmp_path / "home", cache=False)), ["baseline", "grayscale"],
                     tmp_path)
    for row in rows.values():
        assert row["faces"] == 2 and row["flagged"] + row["uncertain"] + row["not_checked"] <= 1
        assert row["median_score"] is not None
    assert "| baseline | 2 |" in R.table(rows)


def test_a_transformation_draws_the_same_whichever_others_are_measured(tmp_path, monkeypatch):
    """`--only` must not change a random transformation's draws (moiré angles, noise), or one model
    measured on a few transformations cannot be compared with another measured on all."""
    data = need_shared("faces-real", "utkface")
    face = sorted(data.iterdir())[:1]
    seen = []
    screen, ext = R.TRANSFORMS["photo of a screen"]
    monkeypatch.setitem(R.TRANSFORMS, "photo of a screen",
                        (lambda im, rng: seen.append(rng.uniform()) or screen(im, rng), ext))
    analyzer = Analyzer(Settings(home=tmp_path / "home", cache=False))
    R.measure(face, analyzer, ["photo of a screen"], tmp_path)
    R.measure(face, analyzer, ["baseline", "noise (high ISO)", "photo of a screen"], tmp_path)
    assert len(seen) == 2 and seen[0] == seen[1]


def test_a_candidate_model_is_measured_with_its_own_file_and_threshold(tmp_path):
    shipped = ModelStore(REPO_MODELS).first("face_swap")
    folder = R.candidate_models(REPO_MODELS / shipped.file, 0.25, tmp_path / "models")
    store = ModelStore(folder)
    candidate = store.first("face_swap")
    assert candidate.threshold == 0.25 and candidate.version == "candidate"
    assert store.problem(candidate) is None and store.problem(store.first("face_detect")) is None
    assert candidate.input_size == shipped.input_size and candidate.crop["scale"] == shipped.crop["scale"]
    looser = ModelStore(R.candidate_models(REPO_MODELS / shipped.file, None, tmp_path / "m2", 1.15)).first("face_swap")
    assert looser.crop["scale"] == 1.15 and looser.threshold == shipped.threshold


def test_the_commands_without_a_split_say_what_makes_one(tmp_path):
    """runs/ is not in the repository: on a fresh clone the robustness and report commands ended in a
    FileNotFoundError traceback; they say what writes the file instead."""
    import subprocess
    import sys

    missing = tmp_path / "split.json"
    for module, args in (("fakelens.train.robustness", ["--split", str(missing), "--faces", "2", "--only", "baseline"]),
                         ("fakelens.train.report_face_swap", ["--onnx", str(REPO_MODELS / "face_swap-1.onnx"),
                                                              "--landmarks", str(tmp_path / "landmarks.npz"),
                                                              "--split", str(missing)])):
        run = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=120)
        assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr[-1500:]
        assert "is missing: " in run.stderr and ("--split" in run.stderr or "--landmarks" in run.stderr), run.stderr


def test_the_commands_refuse_what_would_break_the_install_or_divide_by_nothing(tmp_path):
    """--write-manifest of a file outside models/ left the backend naming a model that is not there;
    robustness with faces missing from --data ended in a ZeroDivisionError."""
    import json
    import shutil
    import subprocess
    import sys

    outside = tmp_path / "face_swap-9.onnx"
    shutil.copy(REPO_MODELS / "face_swap-1.onnx", outside)
    before = (REPO_MODELS / "manifest.json").read_bytes()
    run = subprocess.run([sys.executable, "-m", "fakelens.train.report_face_swap", "--onnx", str(outside),
                          "--version", "9", "--write-manifest"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "copy it into" in run.stderr, run.stderr[-1500:]
    assert (REPO_MODELS / "manifest.json").read_bytes() == before
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": [], "val": ["nobody.jpg"]}))
    run = subprocess.run([sys.executable, "-m", "fakelens.train.robustness", "--split", str(split), "--data",
                          str(tmp_path), "--faces", "2", "--only", "baseline"], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 1 and "none of the held-out faces" in run.stderr and "Traceback" not in run.stderr


def test_the_judge_script_says_which_step_failed_and_leaves_no_old_results(tmp_path):
    """It failed silently, leaving an earlier judgement's report beside the new logs; and a relative
    RUN_DIR was taken from the repository, not from where it was called."""
    import subprocess

    run = tmp_path / "run"
    run.mkdir()
    (run / "report.json").write_text("{}")   # an earlier judgement's
    done = subprocess.run(["bash", str(REPO / "scripts" / "judge_face_swap.sh"), "run"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and f"the export step failed; see {run}/export.log" in done.stderr, done.stderr
    assert not (run / "report.json").exists() and (run / "export.log").is_file()


def test_the_manifest_names_what_a_model_was_trained_from(tmp_path):
    """The manifest's licence and training-data lines were fixed text (MobileNetV2, UTKFace) whatever the
    candidate: a model from other faces would have shipped under UTKFace's terms. They are written from
    what the export recorded; face_swap-1 (recorded nothing) keeps its lines, an unknown source stops."""
    import json

    import onnx

    from fakelens.train.report_face_swap import training_lines

    shipped = next(m for m in json.loads((REPO_MODELS / "manifest.json").read_text())["models"]
                   if m["task"] == "face_swap")
    assert training_lines(REPO_MODELS / shipped["file"]) == (shipped["licence"], shipped["training_data"])
    graph = onnx.load(str(REPO_MODELS / shipped["file"]))
    onnx.helper.set_model_props(graph, {"backbone": "mobilenet_v2", "data": "utk+sdfd", "synthesis": "mild"})
    other = tmp_path / "face_swap-9.onnx"
    onnx.save(graph, str(other))
    with pytest.raises(SystemExit, match="utk\\+sdfd"):
        training_lines(other)
    onnx.helper.set_model_props(graph, {"backbone": "mobilenet_v2", "data": "utkface", "synthesis": "swap"})
    onnx.save(graph, str(other))
    assert training_lines(other)[1].endswith("their self-blends and look-alike swaps between them")


def test_more_faces_reach_every_held_out_face_and_keep_the_first_ones(tmp_path):
    """--faces was cut at every sixth held-out face (157 of 941), so asking for more measured fewer
    than asked; a larger count now adds the others after the same first faces."""
    val = [f"{i:03d}.jpg" for i in range(30)]
    for name in val:
        (tmp_path / name).write_bytes(b"")
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": [], "val": val}))
    few = R.held_out_faces(3, tmp_path, split)
    every = R.held_out_faces(100, tmp_path, split)
    assert [p.name for p in few] == ["000.jpg", "006.jpg", "012.jpg"]
    assert every[:3] == few and sorted(p.name for p in every) == val
