"""fakelens.train.average_models: one ONNX that averages face-swap models, scored without the mirror."""

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

from fakelens.train.average_models import main as average_main  # noqa: E402
from fakelens.train.report_face_swap import entry, mirrored  # noqa: E402
from fakelens.train.robustness import candidate_models  # noqa: E402

from conftest import REPO  # noqa: E402


def tiny_model(path: Path, weight: float, size: int = 8, props: dict | None = None) -> Path:
    """input N×3×S×S → prob N×1 = sigmoid(weight × mean of the pixels): a stand-in with the real names."""
    nodes = [helper.make_node("ReduceMean", ["input"], ["m"], axes=[1, 2, 3], keepdims=0),
             helper.make_node("Mul", ["m", "w"], ["z"]),
             helper.make_node("Sigmoid", ["z"], ["p"]),
             helper.make_node("Unsqueeze", ["p", "one"], ["prob"])]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 3, size, size])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["n", 1])],
        [helper.make_tensor("w", TensorProto.FLOAT, [], [weight]), helper.make_tensor("one", TensorProto.INT64, [1], [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, props or {})
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def run(path: Path, x: np.ndarray) -> np.ndarray:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]


def metadata(path: Path) -> dict:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map


def test_the_merged_model_is_the_mean_of_its_members_and_is_scored_without_the_mirror(tmp_path):
    a = tiny_model(tmp_path / "a.onnx", 1.0)   # no metadata, as face_swap-1
    b = tiny_model(tmp_path / "b" / "best.onnx", -3.0, props={"backbone": "mobilenet_v2", "synthesis": "swap"})
    out = tmp_path / "ab.onnx"
    average_main([str(a), str(b), "--out", str(out)])
    x = np.random.default_rng(0).normal(size=(5, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(run(out, x), (run(a, x) + run(b, x)) / 2, atol=1e-6)
    meta = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    assert meta["synthesis"] == "swap" and meta["backbone"] == "mobilenet_v2"
    assert "a.onnx" in meta["members"] and str(tmp_path / "b" / "best.onnx") in meta["members"]
    # the report's manifest entry and the robustness command's candidate entry both turn the mirror off
    assert not mirrored(out) and mirrored(a)
    assert entry("face_swap", "x", out, 0.5, 1.0)["crop"]["mirror"] is False
    folder = candidate_models(out, 0.5, tmp_path / "models")
    swap = next(e for e in json.loads((folder / "manifest.json").read_text())["models"]
                if e["task"] == "face_swap")
    assert swap["crop"]["mirror"] is False and swap["file"] == str(out.resolve())


def test_models_of_different_input_sizes_are_refused(tmp_path):
    a = tiny_model(tmp_path / "a.onnx", 1.0, size=8)
    b = tiny_model(tmp_path / "b.onnx", 1.0, size=12)
    with pytest.raises(SystemExit, match="different inputs"):
        average_main([str(a), str(b), "--out", str(tmp_path / "ab.onnx")])
    assert not (tmp_path / "ab.onnx").exists()


def test_models_trained_at_different_crop_scales_are_refused_and_the_one_scale_is_recorded(tmp_path):
    a = tiny_model(tmp_path / "a.onnx", 1.0, props={"crop_scale": "1.1"})
    b = tiny_model(tmp_path / "b.onnx", -1.0)   # none recorded, as face_swap-1: 1.0
    with pytest.raises(SystemExit, match=r"different crop scales \[1.0, 1.1\]"):
        average_main([str(a), str(b), "--out", str(tmp_path / "ab.onnx")])
    assert not (tmp_path / "ab.onnx").exists()
    c = tiny_model(tmp_path / "c.onnx", -1.0, props={"crop_scale": "1.1"})
    average_main([str(a), str(c), "--out", str(tmp_path / "ac.onnx")])
    assert metadata(tmp_path / "ac.onnx")["crop_scale"] == "1.1"
    average_main([str(b), str(tiny_model(tmp_path / "d.onnx", 2.0)), "--out", str(tmp_path / "bd.onnx")])
    assert metadata(tmp_path / "bd.onnx")["crop_scale"] == "1.0"


def test_one_model_alone_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        average_main([str(tiny_model(tmp_path / "a.onnx", 1.0)), "--out", str(tmp_path / "ab.onnx")])
    assert "at least two" in capsys.readouterr().err


def test_the_shipped_model_is_scored_with_its_mirror():
    assert mirrored(REPO / "models" / "face_swap-1.onnx")
