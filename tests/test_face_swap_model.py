"""The shipped face-swap model: manifest entry, sha256, ONNX export agreement, and the detector end to end."""

import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from fakelens.config import Settings
from fakelens.detectors.face_swap import FaceSwapDetector, preprocess, score_crops
from fakelens.media.faces import detect_faces
from fakelens.media.types import Frame, Media
from fakelens.models import ModelStore, file_sha256

from conftest import REPO, need_shared

MODELS = REPO / "models"


@pytest.fixture(scope="module")
def store():
    return ModelStore(MODELS)


@pytest.fixture(scope="module")
def spec(store):
    found = store.first("face_swap")
    assert found is not None, "models/manifest.json has no face_swap entry"
    return found


def test_manifest_entry_is_complete_and_sha256_matches(spec):
    path = MODELS / spec.file
    assert path.is_file(), f"{path} is missing"
    assert file_sha256(path) == spec.sha256
    import onnxruntime as ort
    graph_input = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_inputs()[0]
    assert graph_input.shape[1:] == [3, spec.input_size, spec.input_size] and spec.colour == "RGB"
    assert 0 < spec.threshold < 1
    assert "non-commercial" in spec.extra["licence"]
    metrics = spec.extra["metrics"]
    for key in ("val_auc_selfblend_clean", "val_fpr_real_jpeg50", "val_fpr_real_half_size", "ffpp_dev_video_auc"):
        assert isinstance(metrics[key], float), key
    # the landmark model used for the training masks is listed with its licence too
    mesh = json.loads((MODELS / "manifest.json").read_text())
    entry = next(m for m in mesh["models"] if m["task"] == "face_landmarks")
    assert file_sha256(MODELS / entry["file"]) == entry["sha256"]
    assert (MODELS / "licenses" / "mediapipe-Apache-2.0.txt").is_file()


def test_onnx_runs_and_mirror_average_is_symmetric(store, spec):
    rng = np.random.default_rng(0)
    s = spec.input_size
    crops = [rng.integers(0, 255, (s, s, 3), dtype=np.uint8) for _ in range(3)]
    p = score_crops(crops, store, spec)
    assert p.shape == (3,) and ((p >= 0) & (p <= 1)).all()
    mirrored = score_crops([c[:, ::-1] for c in crops], store, spec)
    assert np.allclose(p, mirrored, atol=1e-5)
    x = preprocess(crops, spec)
    assert x.shape == (3, 3, s, s) and x.dtype == np.float32


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1.5, -0.2])
def test_a_score_that_is_not_a_probability_is_an_error_not_a_quiet_verdict(tmp_path, spec, value):
    """NaN compares false with the threshold, so a broken model would read "No signs of manipulation
    found": a model (a real ONNX file here) whose score is not a number, or lies outside 0 to 1, fails
    the check as a broken model instead."""
    import onnx
    from onnx import TensorProto, helper

    from fakelens.errors import FakeLensError

    size = spec.input_size
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["input"], ["mean"], axes=[1, 2, 3], keepdims=1),
         helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
         helper.make_node("Add", ["nothing", "value"], ["score"])],
        "constant", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 3, size, size])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["n", 1, 1, 1])],
        [helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]), helper.make_tensor("value", TensorProto.FLOAT, [], [value])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), tmp_path / "constant.onnx")
    entry = {"name": "constant", "task": "face_swap", "file": "constant.onnx", "version": "test",
             "sha256": file_sha256(tmp_path / "constant.onnx"), "input_size": size, "threshold": spec.threshold,
             "mean": list(spec.mean), "std": list(spec.std), "crop": spec.crop}
    (tmp_path / "manifest.json").write_text(json.dumps({"models": [entry]}))
    store = ModelStore(tmp_path)
    crop = np.full((size, size, 3), 128, np.uint8)
    with pytest.raises(FakeLensError) as err:
        score_crops([crop], store, store.first("face_swap"))
    assert err.value.code == "model_broken" and "not a probability" in err.value.message


@pytest.mark.parametrize("backbone", ["mobilenet_v2", "efficientnet_lite0"])
def test_onnx_export_agrees_with_pytorch(tmp_path, backbone):
    torch = pytest.importorskip("torch", reason="the [train] extra (torch) is not installed")
    import onnxruntime as ort

    from fakelens.train.backbones import face_swap_net
    from fakelens.train.face_swap import export

    torch.manual_seed(0)
    net = face_swap_net(backbone)
    # make the batch-norm statistics non-trivial, as after training
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(4, 3, 160, 160))
    torch.save({"model": net.state_dict(), "state": {"backbone": backbone}}, tmp_path / "ck.pt")
    export(tmp_path / "ck.pt", tmp_path / "m.onnx")
    net.eval()
    x = torch.randn(5, 3, 160, 160)
    with torch.no_grad():
        ref = torch.sigmoid(net(x)).numpy()
    got = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"]).run(
        None, {"input": x.numpy()})[0]
    assert got.shape == (5, 1)
    assert np.abs(ref - got).max() < 1e-4


@pytest.fixture(scope="module")
def blend_pairs(tmp_path_factory):
    """Held-out UTKFace faces (validation side of the split) with a border, and their self-blends."""
    from fakelens.train.landmarks import PAD, compute
    from fakelens.train.sbi import self_blend

    folder = need_shared("faces-real", "utkface")
    # held out from training by face_swap-1's split (models/face_swap-1.split.json)
    names = ["10_0_0_20170104013211746.jpg.chip.jpg", "30_1_0_20170104165043953.jpg.chip.jpg",
             "68_1_0_20170110141522160.jpg.chip.jpg"]
    files = [folder / n for n in names if (folder / n).is_file()]
    if not files:
        pytest.skip("the chosen UTKFace faces are absent")
    lm = compute(files, ModelStore(MODELS), log_every=0)
    out = tmp_path_factory.mktemp("pairs")
    pairs = []
    for k, (f, five, mesh) in enumerate(zip(files, lm["five"], lm["mesh"])):
        image = cv2.imread(str(f))
        # mask-covering full-strength blend, fixed seed; the border lets RetinaFace find the face
        blend, _ = self_blend(image, five, mesh, np.random.default_rng([7, k]))
        real_path, fake_path = out / f"real{k}.png", out / f"fake{k}.png"
        cv2.imwrite(str(real_path), cv2.copyMakeBorder(image, PAD, PAD, PAD, PAD, cv2.BORDER_REPLICATE))
        cv2.imwrite(str(fake_path), cv2.copyMakeBorder(blend, PAD, PAD, PAD, PAD, cv2.BORDER_REPLICATE))
        pairs.append((real_path, fake_path))
    return pairs


def _media(path: Path, store) -> Media:
    image = cv2.imread(str(path))
    h, w = image.shape[:2]
    media = Media("image", str(path), "0" * 64, w, h, frames=[Frame(0, 0.0, image)])
    media.faces = detect_faces(image, store)
    return media


def test_detector_scores_a_self_blend_above_its_source(store, spec, blend_pairs):
    detector = FaceSwapDetector(spec, store, Settings())
    for real_path, fake_path in blend_pairs:
        real, fake = detector.run(_media(real_path, store)), detector.run(_media(fake_path, store))
        assert real.score is not None and fake.score is not None, "no face found in a test face"
        assert fake.score > real.score, (real_path.name, real.score, fake.score)
        assert len(fake.faces) == 1 and len(fake.faces[0]["box"]) == 4
        assert fake.threshold == spec.threshold and fake.detail["faces_scored"] == 1


def _face_on_canvas(sizes, canvas=(480, 640)):
    """Real faces (UTKFace) pasted at the given sizes on a plain background, left to right."""
    names = sorted(need_shared("faces-real", "utkface").iterdir())[:len(sizes)]
    image = np.full((*canvas, 3), 180, np.uint8)
    x = 40
    for name, size in zip(names, sizes):
        face = cv2.resize(cv2.imread(str(name)), (size, size), interpolation=cv2.INTER_AREA)
        image[100:100 + size, x:x + size] = face
        x += size + 60
    return image


def test_small_faces_are_listed_not_scored_or_cannot_flag(store, spec):
    """A small face stretched to the model's input scores high whatever it is: beside a large face it
    is not scored (background), and alone it can make the verdict at most uncertain."""
    from fakelens.detectors.face_swap import FLAG_FACE_PX

    both = _face_on_canvas([260, 60])
    media = Media("image", "x.png", "0" * 64, both.shape[1], both.shape[0], frames=[Frame(0, 0.0, both)])
    media.faces = detect_faces(both, store, 0, 0.0)
    sizes = sorted(min(f.box[2], f.box[3]) for f in media.faces)
    assert len(sizes) == 2 and sizes[0] * 2 < sizes[1], sizes
    signal = FaceSwapDetector(spec, store, Settings()).run(media)
    scored = [f for f in signal.faces if f["score"] is not None]
    assert len(signal.faces) == 2 and len(scored) == 1 and signal.detail["faces_too_small"] == 1
    assert round(signal.score, 4) == scored[0]["score"]  # the large face's score, whatever the small one's
    assert "at_most_uncertain" not in signal.detail
    only_small = _face_on_canvas([60])
    media = Media("image", "y.png", "1" * 64, only_small.shape[1], only_small.shape[0],
                  frames=[Frame(0, 0.0, only_small)])
    media.faces = detect_faces(only_small, store, 0, 0.0)
    assert min(media.faces[0].box[2:]) < FLAG_FACE_PX
    signal = FaceSwapDetector(spec, store, Settings()).run(media)
    assert signal.score is not None and signal.detail["at_most_uncertain"].startswith("the face is small")
    assert signal.detail["quiet_caveat"].startswith("the face is small")   # said under "No signs…" too


def test_a_small_face_scoring_higher_does_not_hide_a_flagged_face_large_enough_to_flag(store, spec):
    """A small face's high score is held at "uncertain"; a face from FLAG_FACE_PX at or above the threshold
    beside it still decides (a bystander in the background must not turn a flag into "Uncertain")."""
    from fakelens.detectors.face_swap import FLAG_FACE_PX

    faces = sorted(need_shared("faces-real", "utkface").iterdir())
    image = np.full((400, 600, 3), (150, 120, 90), np.uint8)
    image[150:238, 150:238] = cv2.resize(cv2.imread(str(faces[147])), (88, 88), interpolation=cv2.INTER_AREA)
    image[160:230, 400:470] = cv2.resize(cv2.imread(str(faces[15])), (70, 70), interpolation=cv2.INTER_AREA)
    media = Media("image", "x.png", "3" * 64, 600, 400, frames=[Frame(0, 0.0, image)])
    media.faces = detect_faces(image, store, 0, 0.0)
    signal = FaceSwapDetector(spec, store, Settings()).run(media)
    scored = {min(f["box"][2:]): f["score"] for f in signal.faces}
    large, small = max(scored), min(scored)
    assert len(scored) == 2 and small < FLAG_FACE_PX <= large, scored
    # the pictures were chosen so: the larger face is flagged, the smaller one scores higher still
    assert spec.threshold <= scored[large] < scored[small], scored
    assert round(signal.score, 4) == scored[large] and "at_most_uncertain" not in signal.detail


def test_a_video_is_held_for_its_small_faces_only_when_its_large_faces_alone_would_not_flag_it(store, spec):
    """A video's score is the mean of each frame's highest face score. When that flags it only through
    small faces' scores it is held at "Uncertain"; a large face flagged in every frame flags it."""
    faces = sorted(need_shared("faces-real", "utkface").iterdir())
    both = np.full((400, 600, 3), (150, 120, 90), np.uint8)
    both[150:238, 150:238] = cv2.resize(cv2.imread(str(faces[147])), (88, 88), interpolation=cv2.INTER_AREA)
    both[160:230, 400:470] = cv2.resize(cv2.imread(str(faces[15])), (70, 70), interpolation=cv2.INTER_AREA)
    small_only = np.full((400, 600, 3), (150, 120, 90), np.uint8)
    small_only[160:230, 400:470] = both[160:230, 400:470]

    def run(images):
        # each frame a little brighter than the one before: moments of a video, not one still picture
        frames = [Frame(i, i / 10, np.clip(image.astype(np.int16) + 4 * i, 0, 255).astype(np.uint8))
                  for i, image in enumerate(images)]
        media = Media("video", "v.mp4", "4" * 64, 600, 400, duration=len(frames) / 10, frames=frames)
        for frame in frames:
            media.faces += detect_faces(frame.image, store, frame.index, frame.t)
        return FaceSwapDetector(spec, store, Settings()).run(media)

    flagged = run([both] * 4)   # the 84 px face is flagged in every frame; the 58 px one scores higher
    assert flagged.score >= spec.threshold and "at_most_uncertain" not in flagged.detail, flagged.detail
    held = run([small_only] * 3 + [both])   # flagged only through the small face
    assert held.score >= spec.threshold and held.detail["at_most_uncertain"].startswith("the face is small"), held.detail


def test_faces_beyond_max_faces_are_listed_and_a_quiet_verdict_says_so(store, spec, tmp_path):
    """A crowd: the `max_faces` largest faces of a frame are scored, the others listed (never silently
    dropped: a swapped fifth face must not vanish behind "No signs of manipulation found")."""
    from fakelens.analyze import Analyzer

    crowd = _face_on_canvas([150, 145, 140, 135, 130], canvas=(400, 1100))
    media = Media("image", "x.png", "2" * 64, crowd.shape[1], crowd.shape[0], frames=[Frame(0, 0.0, crowd)])
    media.faces = detect_faces(crowd, store, 0, 0.0)
    assert len(media.faces) == 5
    signal = FaceSwapDetector(spec, store, Settings(max_faces=4)).run(media)
    scored = [f for f in signal.faces if f["score"] is not None]
    assert len(signal.faces) == 5 and len(scored) == 4 and signal.detail["faces_over_limit"] == 1
    smallest = min(media.faces, key=lambda f: f.box[2] * f.box[3])
    assert [f["score"] for f in signal.faces if f["box"] == list(smallest.box)] == [None]
    signal = FaceSwapDetector(spec, store, Settings()).run(media)   # the default judges 8
    assert signal.detail["faces_scored"] == 5 and "faces_over_limit" not in signal.detail
    cv2.imwrite(str(tmp_path / "crowd.png"), crowd)
    result = Analyzer(Settings(home=tmp_path / "home", max_faces=4, cache=False)).analyze(
        {"path": str(tmp_path / "crowd.png")}, tmp_path)
    assert result["label"] == "no_evidence" and len(result["faces"]) == 5, result["summary"]
    assert "(faces beyond the 4 largest of a frame were not judged)" in result["summary"]


def test_a_face_cut_off_by_the_edge_is_listed_not_scored(store, spec):
    """The crop's part beyond the edge is filled with repeated border pixels, which the model can
    take for blending: real faces cut that way were flagged ever more often (up to 53 %)."""
    from fakelens.detectors.face_swap import MAX_OUTSIDE
    from fakelens.media.align import crop_matrix, outside_fraction

    face = cv2.imread(str(need_shared("faces-real", "utkface", "30_1_0_20170104165043953.jpg.chip.jpg")))
    canvas = np.full((600, 600, 3), (90, 120, 150), np.uint8)
    canvas[200:400, 200:400] = face
    seen = {}
    for cut in (0, 40, 80):   # pixels of the 200 px face cut off on the left
        image = np.ascontiguousarray(canvas[:, 200 + cut:])
        media = Media("image", "x.png", f"{cut:064d}", image.shape[1], image.shape[0], frames=[Frame(0, 0.0, image)])
        media.faces = detect_faces(image, store, 0, 0.0)
        assert len(media.faces) == 1
        landmarks = media.faces[0].landmarks
        # the fraction outside, on a grid, is what warping an all-ones picture says
        ones = cv2.warpAffine(np.ones(image.shape[:2], np.float32), crop_matrix(landmarks, spec.input_size),
                              (spec.input_size,) * 2, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        outside = outside_fraction(landmarks, image.shape, spec.input_size)
        assert abs(outside - (1 - ones.mean())) < 0.02
        seen[cut] = (outside, FaceSwapDetector(spec, store, Settings()).run(media))
    assert seen[0][0] < 0.05 and seen[40][0] < MAX_OUTSIDE < seen[80][0]
    for cut in (0, 40):
        assert seen[cut][1].score is not None and "faces_cut_off" not in seen[cut][1].detail
    signal = seen[80][1]
    assert signal.score is None and signal.detail["faces_cut_off"] == 1
    assert signal.detail["reason"].startswith("faces cut off by the picture's edge")
    assert signal.faces[0]["score"] is None   # still listed, with its box


def test_a_whole_face_beside_a_cut_off_larger_one_is_scored(store, spec):
    """The cut-off rule comes first: a large face half out of the picture does not make a whole one
    beside it a "background face" (under half its size) that nobody scores."""
    names = sorted(need_shared("faces-real", "utkface").iterdir())[:2]
    canvas = np.full((900, 1300, 3), (90, 120, 150), np.uint8)
    canvas[100:800, 0:700] = cv2.resize(cv2.imread(str(names[0])), (700, 700))
    canvas[500:630, 1000:1130] = cv2.resize(cv2.imread(str(names[1])), (130, 130))
    image = np.ascontiguousarray(canvas[:, 280:])   # the large face loses 280 of its 700 px
    media = Media("image", "x.png", "2" * 64, image.shape[1], image.shape[0], frames=[Frame(0, 0.0, image)])
    media.faces = detect_faces(image, store, 0, 0.0)
    assert len(media.faces) == 2 and min(media.faces[1].box[2:]) * 2 < min(media.faces[0].box[2:])
    signal = FaceSwapDetector(spec, store, Settings()).run(media)
    assert signal.detail["faces_cut_off"] == 1 and "faces_too_small" not in signal.detail
    assert signal.score is not None and [f["score"] is None for f in signal.faces] == [False, True]


@pytest.mark.parametrize("name", ["10_1_0_20170110220649364.jpg.chip.jpg", "10_1_4_20161223225900460.jpg.chip.jpg"])
def test_a_photo_turned_sideways_is_read_the_right_way_up(store, spec, name):
    """A photo whose EXIF orientation a site stripped shows its face turned a quarter: RetinaFace still
    finds it with landmarks that are wrong, and the crop cut from them scored as manipulated (0.73 to
    1.0 for these real faces). Such a face is read again from the photo turned: the landmarks
    are the upright ones turned with the picture, and the score is the upright face's. (On 157 held-out
    faces turned a quarter either way, 84 and 79 were flagged before, 22 and 19 after; 5 and 4 since
    bunched landmarks count as not upright, as many as upright: 5.)"""
    from fakelens.media.faces import detect_upright_faces

    face = cv2.imread(str(need_shared("faces-real", "utkface", name)))
    canvas = np.full((600, 800, 3), (90, 120, 150), np.uint8)
    canvas[150:450, 250:550] = cv2.resize(face, (300, 300))
    detector = FaceSwapDetector(spec, store, Settings())

    def read(image):
        media = Media("image", "x.png", "4" * 64, image.shape[1], image.shape[0], frames=[Frame(0, 0.0, image)])
        media.faces = detect_upright_faces(image, store)
        return media.faces, detector.run(media).score

    (upright_face,), upright_score = read(canvas)
    h, w = canvas.shape[:2]
    for turns in (1, 3):
        (found,), score = read(np.ascontiguousarray(np.rot90(canvas, turns)))
        expected = upright_face.landmarks.astype(np.float64)
        for n in range(turns):   # where the upright landmarks go as the picture turns counterclockwise
            expected = np.stack([expected[:, 1], (w if n % 2 == 0 else h) - expected[:, 0]], 1)
        assert np.abs(found.landmarks - expected).max() < 12, (turns, found.landmarks, expected)
        assert score < spec.threshold and abs(score - upright_score) < 0.1, (turns, score, upright_score)


def test_a_sideways_face_whose_landmarks_bunch_inside_it_is_read_again(tmp_path):
    """Frames of the real sanity clip dfo_real turned a quarter: RetinaFace read 7 of 10 with landmarks
    that pass as upright but lie bunched inside the face (the eyes 21 px apart in a 107 px box), the crop
    a zoomed patch of the face, "Likely manipulated" up to 0.98. Eyes closer than MIN_EYE_SPAN of the
    box make the face read again turned."""
    from fakelens.analyze import Analyzer
    from fakelens.media.faces import MIN_EYE_SPAN, detect_upright_faces

    cap = cv2.VideoCapture(str(need_shared("deepfake-clips", "dfo_real.mp4")))
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    analyzer = Analyzer(Settings(home=tmp_path / "home", cache=False))
    labels = []
    for i, index in enumerate(np.linspace(0, count - 1, 10).astype(int)):
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        ok, frame = cap.read()
        assert ok, index
        path = tmp_path / f"frame{i}.png"
        cv2.imwrite(str(path), np.ascontiguousarray(np.rot90(frame, 1)))
        result = analyzer.analyze({"path": str(path)}, tmp_path)
        labels.append(result["label"])
        for face in detect_upright_faces(cv2.imread(str(path)), analyzer.models):
            eyes = float(np.hypot(*(face.landmarks[1] - face.landmarks[0])))
            assert eyes >= MIN_EYE_SPAN * min(face.box[2:]), (i, face.box, eyes)
    cap.release()
    assert "manipulated" not in labels, labels


def _first_frames(path, n: int) -> list:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < n:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def _write_avi(path, frames, fps: int):
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for f in frames:
        writer.write(f)
    writer.release()


def test_a_video_stored_sideways_is_read_the_right_way_up(tmp_path):
    """A video whose frames lie sideways with no rotation in the file (MPEG-TS, Matroska and AVI carry
    none; a person lying down): the faces' landmarks came out wrong and the real sanity clip ff_real
    went from 0.13 to "Likely manipulated" 0.77. Its frames' faces are read again turned, as a photo's."""
    from fakelens.analyze import Analyzer

    frames = _first_frames(need_shared("deepfake-clips", "ff_real.mp4"), 48)
    analyzer = Analyzer(Settings(home=tmp_path / "home", cache=False, video_frames=8))
    scores = {}
    for name, turn in (("upright", 0), ("sideways", 1)):
        turned = [np.ascontiguousarray(np.rot90(f, turn)) for f in frames]
        _write_avi(tmp_path / f"{name}.avi", turned, 25)
        result = analyzer.analyze({"path": str(tmp_path / f"{name}.avi")}, tmp_path)
        scores[name] = next(s["score"] for s in result["signals"] if s["detector"] == "face_swap")
    assert scores["sideways"] < 0.5 and abs(scores["sideways"] - scores["upright"]) < 0.15, scores


def test_a_face_on_screen_briefly_is_looked_for_before_saying_there_is_none(tmp_path):
    """16 samples of a 20 s video are 1.3 s apart: a face shown for 0.7 s between two of them made
    "Not checked: no face found" (the audit's 3.4 s swapped face in a minute did too). A video whose
    samples show no face is sampled again with max_frames."""
    from fakelens.analyze import Analyzer

    face = cv2.resize(cv2.imread(str(need_shared("faces-real", "utkface", "10_1_0_20170110220649364.jpg.chip.jpg"))),
                      (200, 200))
    writer = cv2.VideoWriter(str(tmp_path / "brief.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (480, 360))
    for i in range(200):
        frame = np.full((360, 480, 3), (60 + i % 40, 110, 150), np.uint8)
        if 20 <= i <= 26:   # between samples 13 and 27 of 16 spread over 200 frames
            frame[80:280, 140:340] = face
        writer.write(frame)
    writer.release()
    result = Analyzer(Settings(home=tmp_path / "home", cache=False)).analyze({"path": str(tmp_path / "brief.avi")},
                                                                            tmp_path)
    signal = next(s for s in result["signals"] if s["detector"] == "face_swap")
    assert signal["score"] is not None and signal["detail"]["frames_sampled"] == 64, signal["detail"]
    assert signal["detail"]["frames_with_faces"] == 2   # and the verdict says how little it saw
    assert "a face was seen in only 2 of 64 sampled frames" in result["summary"], result["summary"]
    plain = tmp_path / "plain.avi"   # a video without any face still says so, after the second look
    writer = cv2.VideoWriter(str(plain), cv2.VideoWriter_fourcc(*"MJPG"), 10, (480, 360))
    for i in range(50):
        writer.write(np.full((360, 480, 3), (60 + i, 110, 150), np.uint8))
    writer.release()
    result = Analyzer(Settings(home=tmp_path / "home", cache=False)).analyze({"path": str(plain)}, tmp_path)
    assert result["label"] == "not_applicable" and "no face" in result["summary"], result["summary"]


def test_the_progress_of_a_video_looked_at_again_never_goes_back(tmp_path):
    """A video without a face in its 16 samples is sampled again, denser: that second look's "faces"
    progress restarted at the middle of the stage, and the bar went back (0.675, then 0.502)."""
    from fakelens.analyze import Analyzer

    plain = tmp_path / "plain.avi"
    writer = cv2.VideoWriter(str(plain), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    for i in range(50):
        writer.write(np.full((240, 320, 3), (60 + i, 110, 150), np.uint8))
    writer.release()
    said = []
    result = Analyzer(Settings(home=tmp_path / "home", cache=False)).analyze(
        {"path": str(plain)}, tmp_path, progress=lambda stage, fraction: said.append((stage, fraction)))
    assert result["label"] == "not_applicable", result["summary"]
    faces = [f for stage, f in said if stage == "faces"]
    assert len(faces) > 16 + 40, "no second look was taken"   # one step a frame: 16, then the video's 50
    fractions = [f for _, f in said]
    assert all(a <= b for a, b in zip(fractions, fractions[1:])), said
    assert faces[0] == 0.5 and max(faces) < 0.7, faces


def test_a_face_in_only_two_samples_is_looked_at_again_before_the_video_is_held(tmp_path):
    """A face in 1 or 2 of the 16 samples held the video at "Uncertain" for too few frames, while the
    same face on screen a little less, in none of them, was judged on the denser second look's frames."""
    from fakelens.analyze import Analyzer

    face = cv2.resize(cv2.imread(str(need_shared("faces-real", "utkface", "10_1_0_20170110220649364.jpg.chip.jpg"))),
                      (200, 200))
    writer = cv2.VideoWriter(str(tmp_path / "short.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (480, 360))
    for i in range(200):
        frame = np.full((360, 480, 3), (60 + i % 40, 110, 150), np.uint8)
        if 20 <= i <= 45:   # 2.6 s of 20: two of 16 samples 1.3 s apart; a little brighter each frame
            frame[80:280, 140:340] = np.clip(face.astype(np.int16) + 2 * (i - 20), 0, 255)   # (moments, not a still)
        writer.write(frame)
    writer.release()
    result = Analyzer(Settings(home=tmp_path / "home", cache=False)).analyze({"path": str(tmp_path / "short.avi")},
                                                                            tmp_path)
    detail = next(s for s in result["signals"] if s["detector"] == "face_swap")["detail"]
    assert detail["frames_sampled"] == 64 and detail["frames_with_faces"] >= 6, detail
    assert "at_most_uncertain" not in detail, detail   # judged on them, not held


def test_a_still_picture_shown_as_a_video_is_one_pictures_evidence(tmp_path):
    """One swapped frame repeated for 16 s was "Likely manipulated" as the mean over 16 sampled frames,
    16 of them high: one picture's evidence worded as a video's (a 2-frame video is held)."""
    from fakelens.analyze import Analyzer

    still = _first_frames(need_shared("deepfake-clips", "ff_fake.mp4"), 1)[0]
    _write_avi(tmp_path / "still.avi", [still] * 16, 1)
    analyzer = Analyzer(Settings(home=tmp_path / "home", cache=False))
    result = analyzer.analyze({"path": str(tmp_path / "still.avi")}, tmp_path)
    detail = next(s for s in result["signals"] if s["detector"] == "face_swap")["detail"]
    assert detail["different_pictures"] == 1 and detail["frames_with_faces"] == 16, detail
    assert result["label"] == "uncertain" and "show one still picture" in result["summary"], result["summary"]
    # the clip itself, its face moving, is still flagged: 16 different pictures
    _write_avi(tmp_path / "moving.avi", _first_frames(need_shared("deepfake-clips", "ff_fake.mp4"), 160)[::10], 1)
    result = analyzer.analyze({"path": str(tmp_path / "moving.avi")}, tmp_path)
    detail = next(s for s in result["signals"] if s["detector"] == "face_swap")["detail"]
    assert result["label"] == "manipulated" and detail["different_pictures"] >= 3, (detail, result["summary"])


def test_an_interlaced_video_is_checked_on_one_field(tmp_path):
    """Interlaced video weaves two moments into each frame, and a moving face's alternating rows read
    as blending: the real FF++ clip 241 woven so went from 0.33 to "Likely manipulated" 0.87 (and 6 of
    12 real clips). Combing on its faces makes the check use one field of each frame."""
    from fakelens.analyze import Analyzer

    frames = _first_frames(need_shared("ffpp-dev", "real", "241.mp4"), 200)
    woven = _woven(frames)
    analyzer = Analyzer(Settings(home=tmp_path / "home", cache=False))
    results = {}
    for name, clip in (("progressive", frames[0::2]), ("interlaced", woven)):
        _write_avi(tmp_path / f"{name}.avi", clip, 15)
        results[name] = analyzer.analyze({"path": str(tmp_path / f"{name}.avi")}, tmp_path)
    assert results["interlaced"]["media"].get("interlaced") is True
    assert "interlaced" not in results["progressive"]["media"]
    assert results["interlaced"]["score"] < 0.5 and results["interlaced"]["label"] == "no_evidence", results["interlaced"]
    assert abs(results["interlaced"]["score"] - results["progressive"]["score"]) < 0.15


def _woven(frames) -> list:
    """Even rows from one moment, odd rows from the next: an interlaced camera's frames."""
    woven = []
    for a, b in zip(frames[0::2], frames[1::2]):
        w = a.copy()
        w[1::2] = b[1::2]
        woven.append(w)
    return woven


def test_a_downscaled_progressive_video_is_not_read_as_interlaced(tmp_path):
    """Downscaled to 256x192, a progressive video's eyelids and lips thin to a row or two, and each such
    row zig-zags against its neighbours as combing does: the real sanity clip dfo_real so came back
    `"interlaced": true`, checked on one field (13 of 164 such variants of 41 clips at 0.4 of their
    size). Combing alternates over every row of what moved; a thin line is one row."""
    from fakelens.analyze import Analyzer

    frames = [cv2.resize(f, (256, 192), interpolation=cv2.INTER_LINEAR)
              for f in _first_frames(need_shared("deepfake-clips", "dfo_real.mp4"), 160)]
    _write_avi(tmp_path / "small.avi", frames, 25)
    result = Analyzer(Settings(home=tmp_path / "home", cache=False)).analyze({"path": str(tmp_path / "small.avi")},
                                                                            tmp_path)
    assert "interlaced" not in result["media"], result["media"]


def test_an_interlaced_video_at_a_smaller_size_is_read_as_interlaced(tmp_path):
    """Woven at 480x360, a clip whose faces comb in a few of the sampled frames only (the others hold
    still between two fields) was read as progressive, and its combed faces judged as they were."""
    from fakelens.analyze import Analyzer

    frames = [cv2.resize(f, (480, 360), interpolation=cv2.INTER_AREA)
              for f in _first_frames(need_shared("ffpp-dev", "fake", "Face2Face_828_830.mp4"), 320)]
    _write_avi(tmp_path / "woven.avi", _woven(frames), 12)
    result = Analyzer(Settings(home=tmp_path / "home", cache=False)).analyze({"path": str(tmp_path / "woven.avi")},
                                                                            tmp_path)
    assert result["media"].get("interlaced") is True, result["media"]


def test_grain_on_a_face_is_not_taken_for_combing():
    """Film grain or sensor noise zig-zags between neighbouring rows as combing does: without averaging
    along the rows, grain of sigma 5 read as combed on every face, and a grainy video would have been
    checked at half its height."""
    from fakelens.media.interlace import COMBED, comb_ratio

    rng = np.random.default_rng(0)
    faces = sorted(need_shared("faces-real", "utkface").iterdir())[::300][:30]
    combed = 0
    for path in faces:
        gray = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2GRAY).astype(np.float32)
        grainy = np.clip(gray + rng.normal(0, 5, gray.shape), 0, 255).astype(np.uint8)
        combed += comb_ratio(grainy) > COMBED
    assert combed <= 1, f"{combed} of {len(faces)} grainy faces read as combed"


def test_one_combed_face_in_a_video_with_few_face_frames_does_not_make_it_interlaced():
    """With faces in only 5 or 6 frames, one face that looked combed (fine horizontal stripes: a
    collar, blinds behind the head) was more than SHARE of them, and the whole video was read on one
    field. Two combed faces at least, whatever the share."""
    from types import SimpleNamespace

    from fakelens.media.interlace import interlaced

    smooth = np.dstack([np.linspace(0, 255, 120)[:, None] * np.ones((1, 120))] * 3).astype(np.uint8)
    striped = smooth.astype(int)
    striped[::2] += 40
    striped = np.clip(striped, 0, 255).astype(np.uint8)
    for n in (3, 5, 6, 8):
        for combed in (1, 2):
            media = SimpleNamespace(
                frames=[SimpleNamespace(index=i, image=striped if i < combed else smooth) for i in range(n)],
                faces=[SimpleNamespace(frame=i, box=(0, 0, 120, 120)) for i in range(n)])
            assert interlaced(media) is (combed == 2), (n, combed)


def test_a_real_face_in_a_gif_is_at_most_uncertain(tmp_path):
    """Saved with 256 colours (a GIF), a real face's dithering looks like blending: 10 of 30 real faces
    scored over 0.5 that way, this one 0.99. A palette picture is held at "Uncertain", and says why."""
    from PIL import Image

    from fakelens.analyze import Analyzer

    face = cv2.imread(str(need_shared("faces-real", "utkface", "11_1_4_20170109201611941.jpg.chip.jpg")))
    canvas = np.full((600, 600, 3), 150, np.uint8)
    canvas[100:500, 100:500] = cv2.resize(face, (400, 400), interpolation=cv2.INTER_CUBIC)
    Image.fromarray(canvas[:, :, ::-1]).quantize(256, method=Image.Quantize.FASTOCTREE).save(tmp_path / "face.gif")
    result = Analyzer(Settings(home=tmp_path / "home", cache=False)).analyze({"path": str(tmp_path / "face.gif")}, tmp_path)
    signal = next(s for s in result["signals"] if s["detector"] == "face_swap")
    assert signal["score"] >= signal["threshold"], signal   # what made it a false alarm
    assert result["label"] == "uncertain" and "at most 256 colours" in result["summary"], result["summary"]
    # the same pixels saved as an RGB PNG are held alike: the cap is about the pixels, not the container
    Image.open(tmp_path / "face.gif").convert("RGB").save(tmp_path / "face.png")
    again = Analyzer(Settings(home=tmp_path / "home", cache=False)).analyze({"path": str(tmp_path / "face.png")}, tmp_path)
    assert again["label"] == "uncertain" and "at most 256 colours" in again["summary"], again["summary"]


def test_which_faces_are_scored():
    """Not tiny (under 32 px), and not a small face (under 64 px) under half the largest face of its
    own frame; from 64 px a face is scored however large the others are."""
    from fakelens.detectors.face_swap import scorable
    from fakelens.media.types import Face

    def face(frame, px):
        return Face(frame, 0.0, (0, 0, px, px + 10), 0.9, np.zeros((5, 2), np.float32))

    faces = [face(0, 200), face(0, 60), face(0, 28), face(0, 120), face(0, 80), face(1, 40), face(2, 28)]
    assert [(f.frame, f.box[2]) for f in scorable(faces)] == [(0, 200), (0, 120), (0, 80), (1, 40)]


def test_a_swapped_face_behind_a_large_real_one_is_scored(store, spec, tmp_path):
    """A self-blended face of about 100 px in the background of a 350 px real face (under a third of
    its size) decides the verdict: a swap hidden behind a large real face must not go unjudged."""
    from fakelens.train.landmarks import compute
    from fakelens.train.sbi import self_blend

    folder = need_shared("faces-real", "utkface")
    big, small = folder / "68_1_0_20170110141522160.jpg.chip.jpg", folder / "30_1_0_20170104165043953.jpg.chip.jpg"
    lm = compute([small], store, log_every=0)
    source = cv2.imread(str(small))
    blend, _ = self_blend(source, lm["five"][0], lm["mesh"][0], np.random.default_rng([7, 1]))
    seen = {}
    for name, face in (("real", source), ("swapped", blend)):
        canvas = np.full((700, 1100, 3), (90, 120, 150), np.uint8)
        canvas[100:520, 40:460] = cv2.resize(cv2.imread(str(big)), (420, 420), interpolation=cv2.INTER_CUBIC)
        canvas[300:430, 700:830] = cv2.resize(face, (130, 130), interpolation=cv2.INTER_AREA)
        media = Media("image", "x.png", "3" * 64, 1100, 700, frames=[Frame(0, 0.0, canvas)])
        media.faces = detect_faces(canvas, store, 0, 0.0)
        sides = sorted(min(f.box[2:]) for f in media.faces)
        assert len(sides) == 2 and sides[0] * 3 < sides[1], sides
        seen[name] = FaceSwapDetector(spec, store, Settings()).run(media)
    for signal in seen.values():
        assert [f["score"] is None for f in signal.faces] == [False, False]
        assert "faces_too_small" not in signal.detail
    assert seen["swapped"].score >= spec.threshold > seen["real"].score, (seen["real"].faces, seen["swapped"].faces)
    assert round(seen["swapped"].score, 4) == max(f["score"] for f in seen["swapped"].faces)


def test_a_face_in_one_frame_of_a_video_cannot_flag_it(store, spec):
    one = _face_on_canvas([260])
    blank = np.full_like(one, 180)
    frames = [Frame(i, i * 0.5, one if i == 3 else blank) for i in range(8)]
    media = Media("video", "v.mp4", "2" * 64, one.shape[1], one.shape[0], 4.0, frames=frames)
    media.faces = detect_faces(one, store, 3, 1.5)
    signal = FaceSwapDetector(spec, store, Settings()).run(media)
    assert signal.detail["at_most_uncertain"] == "a face was seen in only 1 of 8 sampled frames"


@pytest.mark.parametrize("frames", [1, 2])
def test_a_video_of_one_or_two_frames_cannot_flag_it_either(store, spec, frames):
    """A face in every frame of a two-frame video (or one sampled with video_frames=2) was flagged
    outright: one or two frames are no more a video's verdict there. Said as the video's length ("a
    face was seen in only 1 of 1 sampled frames" read as if faces were missing); a video sampled so
    keeps the sampled frames' words."""
    one = _face_on_canvas([260])
    media = Media("video", "v.mp4", "2" * 64, one.shape[1], one.shape[0], 0.1,
                  frames=[Frame(i, i * 0.04, one) for i in range(frames)])
    media.faces = [face for i in range(frames) for face in detect_faces(one, store, i, i * 0.04)]
    signal = FaceSwapDetector(spec, store, Settings()).run(media)
    assert signal.detail["at_most_uncertain"] == f"the video has only {frames} frame{'s' if frames > 1 else ''}"
    sampled_so = FaceSwapDetector(spec, store, Settings(video_frames=frames)).run(media)
    assert sampled_so.detail["at_most_uncertain"] == f"a face was seen in only {frames} of {frames} sampled frames"


def test_longest_high_run_counts_consecutive_sampled_frames():
    from fakelens.detectors.face_swap import longest_high_run

    frames = [(0, 0.0, 0.9), (1, 0.5, 0.8), (2, 1.0, 0.2), (3, 1.5, 0.9), (4, 2.0, 0.9), (5, 2.5, 0.7),
              (7, 3.5, 0.9), (8, 4.0, 0.9)]   # position 6 had no face: it breaks a run
    assert longest_high_run(frames, 0.7) == [(3, 1.5, 0.9), (4, 2.0, 0.9), (5, 2.5, 0.7)]
    assert longest_high_run(frames, 0.95) == []


def test_a_swapped_segment_in_a_real_video_is_not_averaged_away(tmp_path):
    """A clip whose first quarter is a face swap and the rest real: the mean over frames stays low,
    but the run of high frames makes the verdict "uncertain", naming the segment."""
    from fakelens.analyze import Analyzer

    def frames(name, count):
        video = cv2.VideoCapture(str(need_shared("deepfake-clips", name)))
        out = [cv2.resize(video.read()[1], (640, 480)) for _ in range(count)]
        video.release()
        return out

    path = tmp_path / "spliced.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (640, 480))
    for frame in frames("ff_fake_000_003.mp4", 40) + frames("ff_real.mp4", 120):
        writer.write(frame)
    writer.release()
    analyzer = Analyzer(Settings(home=tmp_path / "home", cache=False))
    result = analyzer.analyze({"path": str(path)}, tmp_path)
    swap = next(s for s in result["signals"] if s["detector"] == "face_swap")
    assert swap["score"] < swap["threshold"] - 0.1, swap   # the mean alone would say "no signs"
    assert result["label"] == "uncertain" and swap["decisive"], result["summary"]
    assert "stayed under its threshold on average over the whole video, but " in result["summary"], result["summary"]
    assert re.search(r"\b\d consecutive sampled frames \(0\.0–1\.\d s\) scored high \((0\.[7-9]\d|> 0\.99) on average\)",
                     result["summary"]), result["summary"]   # not only the whole video's low score


def test_detector_without_faces_is_not_applicable(store, spec):
    detector = FaceSwapDetector(spec, store, Settings())
    media = Media("image", "x.png", "0" * 64, 64, 64, frames=[Frame(0, 0.0, np.zeros((64, 64, 3), np.uint8))])
    signal = detector.run(media)
    assert signal.score is None and signal.detail["reason"] == "no face found"


@pytest.mark.slow
def test_fakelens_check_scores_a_self_blend_above_its_source(blend_pairs, tmp_path):
    real_path, fake_path = blend_pairs[0]
    proc = subprocess.run([sys.executable, "-m", "fakelens.cli", "--home", str(tmp_path), "check", "--json",
                           str(real_path), str(fake_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    scores = []
    for verdict in lines:
        signal = next(s for s in verdict["signals"] if s["detector"] == "face_swap")
        scores.append(signal["score"])
        assert verdict["faces"] and len(verdict["faces"][0]["box"]) == 4
    assert scores[1] > scores[0], scores


def test_report_measures_an_onnx_outside_models(tmp_path, spec, blend_pairs):
    """A candidate model lies in runs/ or /tmp: the report scores it with the repo's face detector."""
    import shutil

    from fakelens.evaluate import score_file
    from fakelens.train.report_face_swap import spec_for

    candidate = tmp_path / "candidate.onnx"
    shutil.copy(MODELS / spec.file, candidate)
    store, test_spec = spec_for(candidate, float(spec.crop["scale"]), spec.threshold)
    assert test_spec.input_size == spec.input_size
    real_path, fake_path = blend_pairs[0]
    real, fake = (score_file(p, store, test_spec, Settings()) for p in (real_path, fake_path))
    assert real["score"] is not None and fake["score"] > real["score"]


def test_report_compares_two_models_on_the_same_faces(spec, blend_pairs):
    """--against: the AUC difference and its paired interval; a model against itself differs by 0."""
    from fakelens.train.landmarks import compute
    from fakelens.train.report_face_swap import compare, pair_scores, spec_for

    folder = need_shared("faces-real", "utkface")
    files = sorted(folder.iterdir())[:4]
    lm = compute(files, ModelStore(MODELS), log_every=0)
    images = [cv2.imread(str(f)) for f in files]
    faces = (images, lm["five"], lm["mesh"], list(range(len(files))))
    shipped = MODELS / spec.file
    store, own = spec_for(shipped, float(spec.crop["scale"]))
    scores = {c: pair_scores(store, own, *faces, c) for c in ("clean", "degraded")}
    got = compare(shipped, float(spec.crop["scale"]), scores, None, faces, "mild", Settings())
    assert got["stills_clean"] == got["stills_degraded"] == {"difference": 0.0, "interval_95": [0.0, 0.0]}
    assert "ffpp_video" not in got


def test_auc_difference_interval_pairs_the_items():
    from fakelens.metrics import auc_difference_interval

    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(60), np.ones(60)]
    a = rng.random(120) + 0.3 * y
    diff, lo, hi = auc_difference_interval(y, a, a + 0.5 * y)   # b separates the same items better
    assert 0 < lo < diff < hi
    assert auc_difference_interval(y, a, a) == (0.0, 0.0, 0.0)


def test_report_scores_a_folder_of_clips(tmp_path, spec):
    from fakelens.train.report_face_swap import clip_scores

    (tmp_path / "ff_real.mp4").symlink_to(need_shared("deepfake-clips", "ff_real.mp4"))
    (tmp_path / "notes.txt").write_text("not a clip")
    rows = clip_scores(tmp_path, ModelStore(MODELS), spec, Settings(home=tmp_path / "home"))
    assert [r["file"] for r in rows] == ["ff_real.mp4"] and rows[0]["score"] is not None


@pytest.mark.slow
def test_a_real_face_swap_video_is_flagged_and_its_source_is_not(tmp_path):
    """The product's promise end to end: `fakelens check` on FaceForensics++ clips (a Deepfakes swap
    and a real original) gives the labels and the scores the model card reports."""
    import os

    fake, real = need_shared("deepfake-clips", "ff_fake.mp4"), need_shared("deepfake-clips", "ff_real.mp4")
    run = subprocess.run([sys.executable, "-m", "fakelens.cli", "check", "--json", str(fake), str(real)],
                         env={**os.environ, "FAKELENS_HOME": str(tmp_path / "home")},
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    got = {Path(line["input"]).name: line for line in map(json.loads, run.stdout.splitlines())}
    reported = ModelStore(REPO / "models").first("face_swap").extra["metrics"]["deepfake_clips"]
    assert got["ff_fake.mp4"]["label"] == "manipulated", got["ff_fake.mp4"]["summary"]
    assert got["ff_real.mp4"]["label"] == "no_evidence", got["ff_real.mp4"]["summary"]
    for name in ("ff_fake.mp4", "ff_real.mp4"):
        assert abs(got[name]["score"] - reported[name]) < 0.05, (name, got[name]["score"], reported[name])


@pytest.mark.parametrize("name", ["16_1_0_20170104013530988.jpg.chip.jpg", "14_0_0_20170110220704398.jpg.chip.jpg"])
def test_a_blurred_real_face_is_at_most_uncertain(tmp_path, name):
    """Out of focus (σ 4 at twice its size) 71 % of held-out real faces were "Likely manipulated": a face
    whose crop holds too little fine detail is held at "Uncertain", and says why; the same face sharp
    holds enough detail not to be held."""
    from fakelens.analyze import Analyzer
    from fakelens.detectors.face_swap import BLURRED_DETAIL
    from fakelens.train.robustness import on_canvas

    analyzer = Analyzer(Settings(home=tmp_path / "home", cache=False))
    sharp = on_canvas(cv2.imread(str(need_shared("faces-real", "utkface", name))))
    for image, path in ((cv2.GaussianBlur(sharp, (0, 0), 4), tmp_path / "blurred.png"), (sharp, tmp_path / "sharp.png")):
        cv2.imwrite(str(path), image)
    result = analyzer.analyze({"path": str(tmp_path / "blurred.png")}, tmp_path)
    signal = next(s for s in result["signals"] if s["detector"] == "face_swap")
    assert signal["score"] >= signal["threshold"], signal   # what made it a false alarm
    assert signal["detail"]["face_detail"] < BLURRED_DETAIL
    assert result["label"] == "uncertain" and "the face is blurred" in result["summary"], result["summary"]
    sharp_signal = next(s for s in analyzer.analyze({"path": str(tmp_path / "sharp.png")}, tmp_path)["signals"]
                        if s["detector"] == "face_swap")
    assert sharp_signal["detail"]["face_detail"] >= BLURRED_DETAIL and "at_most_uncertain" not in sharp_signal["detail"]
