"""fakelens.train.report_face_swap and robustness: measured at the crop scale the model's export recorded."""

import json

import pytest

pytest.importorskip("onnx")

from fakelens.train import report_face_swap, robustness  # noqa: E402
from test_train_average_models import metadata, tiny_model  # noqa: E402

from conftest import REPO  # noqa: E402


class Measured(Exception):
    """Raised where the measuring would begin: what it was given is all these tests look at."""


def test_the_report_measures_at_the_crop_scale_the_export_recorded(tmp_path, monkeypatch):
    seen = []

    def spec_for(onnx, crop_scale, threshold=0.5):
        seen.append(crop_scale)
        raise Measured

    monkeypatch.setattr(report_face_swap, "spec_for", spec_for)
    recorded = tiny_model(tmp_path / "recorded.onnx", 1.0, props={"crop_scale": "1.1"})
    unrecorded = tiny_model(tmp_path / "unrecorded.onnx", 1.0)   # exported before the record, as face_swap-1
    for given in ([str(recorded)], [str(unrecorded)], [str(recorded), "--crop-scale", "0.95"]):
        with pytest.raises(Measured):
            report_face_swap.main(["--onnx", *given, "--out", str(tmp_path / "report.json")])
    assert seen == [1.1, 1.0, 0.95]
    assert "crop_scale" not in metadata(REPO / "models" / "face_swap-1.onnx")   # so measured at 1.0, as before


def test_fewer_report_faces_are_a_seeded_sample_of_all_the_held_out_ones(tmp_path, monkeypatch):
    names = [f"{age}_0_0_{age}.jpg" for age in range(10, 90)]   # file-name order is age order
    seen = []

    def pair_scores(store, spec, images, five, mesh, indices, condition, synthesis="mild"):
        seen.append(list(indices))
        raise Measured

    monkeypatch.setattr(report_face_swap, "pair_scores", pair_scores)
    monkeypatch.setattr(report_face_swap.D, "load_faces", lambda data, landmarks: (names, None, None, None))
    (tmp_path / "lm.npz").write_bytes(b"")
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": names[::2], "val": names[1::2]}))
    model = tiny_model(tmp_path / "m.onnx", 1.0)
    for _ in range(2):
        with pytest.raises(Measured):
            report_face_swap.main(["--onnx", str(model), "--out", str(tmp_path / "report.json"), "--val-faces", "10",
                                   "--landmarks", str(tmp_path / "lm.npz"), "--split", str(split)])
    held_out = list(range(1, 80, 2))
    assert seen[0] == seen[1] and len(seen[0]) == 10 and set(seen[0]) <= set(held_out)
    assert seen[0] != held_out[:10] and max(seen[0]) > held_out[20]   # not only the youngest
    assert seen[0] == sorted(seen[0])


def test_robustness_measures_a_candidate_at_the_crop_scale_its_export_recorded(tmp_path, monkeypatch):
    seen = []

    def candidate_models(onnx, threshold, folder, crop_scale=None):
        seen.append(crop_scale)
        raise Measured

    monkeypatch.setattr(robustness, "candidate_models", candidate_models)
    faces = tmp_path / "faces"
    faces.mkdir()
    (faces / "1_0_0_1.jpg").write_bytes(b"")
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": [], "val": ["1_0_0_1.jpg"]}))
    recorded = tiny_model(tmp_path / "recorded.onnx", 1.0, props={"crop_scale": "1.1"})
    unrecorded = tiny_model(tmp_path / "unrecorded.onnx", 1.0)
    for given in ([str(recorded)], [str(unrecorded)], [str(recorded), "--crop-scale", "0.95"]):
        with pytest.raises(Measured):
            robustness.main(["--onnx", *given, "--data", str(faces), "--split", str(split)])
    assert seen == [1.1, None, 0.95]   # None: the shipped entry's (face_swap-1's 1.0)
