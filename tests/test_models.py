"""The model store: sha256 checked before loading, one session per model, real onnxruntime on a tiny
model built on the fly (no placeholder model ships)."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from fakelens.config import REPO_MODELS
from fakelens.errors import FakeLensError
from fakelens.models import ModelStore, file_sha256


def tiny_model(path):
    """y = sigmoid(mean(x)) for x of shape (1, 3, 8, 8)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])
    graph = helper.make_graph([
        helper.make_node("ReduceMean", ["x"], ["m"], keepdims=0),
        helper.make_node("Reshape", ["m", "shape"], ["r"]),
        helper.make_node("Sigmoid", ["r"], ["y"]),
    ], "tiny", [x], [y], [helper.make_tensor("shape", TensorProto.INT64, [2], [1, 1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.save(model, path)


def write_manifest(folder, sha):
    (folder / "manifest.json").write_text(json.dumps({"models": [{
        "name": "tiny", "task": "test_task", "file": "tiny.onnx", "sha256": sha, "version": "0",
        "input_size": 8, "threshold": 0.7}]}))


def test_session_runs_and_is_reused(tmp_path):
    tiny_model(tmp_path / "tiny.onnx")
    write_manifest(tmp_path, file_sha256(tmp_path / "tiny.onnx"))
    store = ModelStore(tmp_path)
    spec = store.first("test_task")
    assert spec.threshold == 0.7 and spec.input_size == 8
    session = store.session(spec)
    assert store.session(spec) is session
    (out,) = session.run(None, {"x": np.zeros((1, 3, 8, 8), np.float32)})
    assert out.shape == (1, 1) and abs(out[0, 0] - 0.5) < 1e-6
    assert session.get_session_options().intra_op_num_threads == 1


def test_sha_mismatch_or_missing_file_refused(tmp_path):
    tiny_model(tmp_path / "tiny.onnx")
    write_manifest(tmp_path, "0" * 64)
    store = ModelStore(tmp_path)
    with pytest.raises(FakeLensError, match="sha256") as err:
        store.session(store.first("test_task"))
    assert err.value.code == "model_broken"
    (tmp_path / "tiny.onnx").unlink()
    with pytest.raises(FakeLensError, match="is missing"):
        ModelStore(tmp_path).session(store.first("test_task"))


def test_a_changed_model_is_named_by_the_cli_not_an_internal_error(tmp_path, face_jpeg):
    """`fakelens models` checks every file; `fakelens check` says which model is broken."""
    models = tmp_path / "models"
    shutil.copytree(REPO_MODELS, models)
    face_swap = ModelStore(models).first("face_swap")
    with open(models / face_swap.file, "ab") as fh:
        fh.write(b"x")
    env = {**os.environ, "FAKELENS_HOME": str(tmp_path / "home"), "FAKELENS_MODELS_DIR": str(models)}
    run = lambda *args: subprocess.run([sys.executable, "-m", "fakelens.cli", *args], env=env,  # noqa: E731
                                       capture_output=True, text=True, timeout=120)
    listed = run("models")
    assert listed.returncode == 1 and "BROKEN: model face_swap" in listed.stderr and "changed or corrupt" in listed.stderr
    as_json = run("models", "--json")
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["models"] and "BROKEN: model face_swap" in as_json.stderr
    line = json.loads(run("check", "--json", str(face_jpeg)).stdout)
    assert line["error"]["code"] == "model_broken" and "face_swap" in line["error"]["message"], line
    (models / "manifest.json").write_text("{bad")
    assert "is not valid JSON" in run("models").stderr


def test_a_broken_manifest_is_named_never_a_traceback(tmp_path):
    """No manifest (FakeLens run from outside its folder), one that is not a list of models, an entry
    a hand edit left without its sha256, or one without the face-swap model: each is model_broken,
    naming what is wrong, for every command."""
    from fakelens.analyze import Analyzer
    from fakelens.config import Settings

    with pytest.raises(FakeLensError, match="no model manifest at .*FAKELENS_MODELS_DIR") as err:
        ModelStore(tmp_path)
    assert err.value.code == "model_broken"
    (tmp_path / "manifest.json").write_text("[]")
    with pytest.raises(FakeLensError, match="has no list of models"):
        ModelStore(tmp_path)
    manifest = json.loads((REPO_MODELS / "manifest.json").read_text())
    del next(m for m in manifest["models"] if m["task"] == "face_swap")["sha256"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FakeLensError, match="the entry of model face_swap lacks sha256"):
        ModelStore(tmp_path)
    manifest["models"] = [m for m in manifest["models"] if m["task"] != "face_swap"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FakeLensError, match="lists no face_swap model") as err:
        Analyzer(Settings(home=tmp_path / "home", models_dir=tmp_path))
    assert err.value.code == "model_broken"


def test_serve_refuses_to_start_with_a_changed_model(tmp_path):
    """Not "ok" on /health and then an error for every check: the server says which file and stops."""
    models = tmp_path / "models"
    shutil.copytree(REPO_MODELS, models)
    with open(models / ModelStore(models).first("face_detect").file, "ab") as fh:
        fh.write(b"x")
    env = {**os.environ, "FAKELENS_HOME": str(tmp_path / "home"), "FAKELENS_MODELS_DIR": str(models)}
    run = subprocess.run([sys.executable, "-m", "fakelens.cli", "serve", "--port", "1"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "error: model retinaface" in run.stderr and "changed or corrupt" in run.stderr, run.stderr
    os.remove(models / "manifest.json")
    run = subprocess.run([sys.executable, "-m", "fakelens.cli", "check", "--json", str(models / "x.jpg")], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and json.loads(run.stdout)["error"]["code"] == "model_broken", run.stdout


def test_shipped_models_match_manifest():
    store = ModelStore(__import__("fakelens.config", fromlist=["REPO_MODELS"]).REPO_MODELS)
    assert store.specs, "models/manifest.json lists no model"
    for spec in store.specs:
        assert file_sha256(store.dir / spec.file) == spec.sha256, spec.name


def test_a_new_threshold_with_the_same_file_changes_the_fingerprint(tmp_path):
    """Cached verdicts go when a manifest entry changes, not only when a model file does."""
    models = tmp_path / "models"
    shutil.copytree(REPO_MODELS, models)
    before = ModelStore(models).fingerprint
    manifest = json.loads((models / "manifest.json").read_text())
    entry = next(m for m in manifest["models"] if m["task"] == "face_swap")
    entry["threshold"] = round(entry["threshold"] - 0.1, 4)
    (models / "manifest.json").write_text(json.dumps(manifest))
    assert ModelStore(models).fingerprint != before


def test_any_change_to_the_code_that_makes_a_verdict_starts_the_cache_afresh(tmp_path):
    """Changes that moved verdicts (interlaced video, stretched pixels) went in without a bump of
    RULES_VERSION, and the cache kept serving the older code's verdicts: the code itself is in the
    cache's fingerprint now (training code aside: it never makes a verdict)."""
    import fakelens
    from fakelens.analyze import CODE_FINGERPRINT, code_fingerprint
    package = tmp_path / "fakelens"
    shutil.copytree(os.path.dirname(fakelens.__file__), package, ignore=shutil.ignore_patterns("__pycache__"))
    assert code_fingerprint(package) == CODE_FINGERPRINT
    (package / "train" / "face_swap.py").write_text((package / "train" / "face_swap.py").read_text() + "\n# note\n")
    assert code_fingerprint(package) == CODE_FINGERPRINT
    (package / "media" / "video.py").write_text((package / "media" / "video.py").read_text() + "\n# note\n")
    assert code_fingerprint(package) != CODE_FINGERPRINT
    from fakelens import analyze
    from fakelens.config import Settings
    before = analyze.Analyzer(Settings(home=tmp_path / "home")).fingerprint
    analyze.CODE_FINGERPRINT, kept = code_fingerprint(package), analyze.CODE_FINGERPRINT
    try:
        assert analyze.Analyzer(Settings(home=tmp_path / "home")).fingerprint != before
    finally:
        analyze.CODE_FINGERPRINT = kept


def test_no_model_session_sends_or_keeps_anything_for_onnxruntimes_telemetry(tmp_path):
    """onnxruntime's wheel carries Microsoft's telemetry client: a model's first session looked up
    mobile.events.data.microsoft.com, kept a device id in ~/.cache/Microsoft and a session file in
    TMPDIR. FakeLens turns it off before onnxruntime is imported, for itself and its child processes."""
    home, temp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("ORT_DISABLE_TELEMETRY", "XDG_CACHE_HOME")}
    code = ("from pathlib import Path; from fakelens.models import ModelStore; import os; "
            f"m = ModelStore(Path({str(REPO_MODELS)!r})); m.session(m.first('face_detect')); "
            "print(os.environ['ORT_DISABLE_TELEMETRY'])")
    r = subprocess.run([sys.executable, "-c", code], env={**env, "HOME": str(home), "TMPDIR": str(temp)},
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "1", r.stderr   # children inherit it
    assert list(home.rglob("*")) == [] and list(temp.iterdir()) == []
