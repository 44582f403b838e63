"""Training on another machine: the data packed in parts with hull-only landmarks, and a run that
holds out exactly the faces of a given split."""

import json
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import REPO, need_shared
from fakelens.train.device_pack import hull_only
from fakelens.train.sbi import blend_pair, face_hull


def fill(hull, shape=(300, 300)):
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, np.round(hull).astype(np.int32), 1)
    return mask


def test_hull_only_keeps_every_face_outline_and_faces_without_a_mesh():
    rng = np.random.default_rng(0)
    mesh = rng.uniform(40, 260, (3, 468, 2)).astype(np.float32)
    mesh[1] = rng.normal(150, 20, (468, 2))         # a rounder cloud: a hull of another length
    mesh[2] = np.nan                                # the mesh missed this face
    five = np.array([[110, 120], [190, 120], [150, 160], [120, 200], [180, 200]], np.float32)
    packed = hull_only(mesh)
    assert packed.shape[0] == 3 and packed.shape[1] < 468
    for full, small in zip(mesh[:2], packed[:2]):
        assert np.array_equal(fill(face_hull(five, full)), fill(face_hull(five, small)))
    assert np.isnan(packed[2]).all()
    assert np.array_equal(face_hull(five, packed[2]), face_hull(five, None))


@pytest.mark.slow
def test_packed_parts_train_with_the_given_split(tmp_path):
    torch = pytest.importorskip("torch", reason="the [train] extra (torch) is not installed")
    from fakelens.train.landmarks import main as landmarks_main
    from fakelens.train.mobilenet import MobileNetV2

    folder = need_shared("faces-real", "utkface")
    data = tmp_path / "faces"
    data.mkdir()
    for f in sorted(folder.iterdir())[::700][:10]:
        shutil.copy(f, data / f.name)
    landmarks_main(["--data", str(data), "--out", str(tmp_path / "lm.npz")])
    names = sorted(p.name for p in data.iterdir())
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": names[3:], "val": names[:3]}))
    imagenet = tmp_path / "imagenet.pth"
    torch.save(MobileNetV2().state_dict(), imagenet)
    pack = tmp_path / "pack"
    done = subprocess.run([sys.executable, "-m", "fakelens.train.device_pack", "--data", str(data), "--landmarks",
                           str(tmp_path / "lm.npz"), "--imagenet", str(imagenet), "--split", str(split),
                           "--out", str(pack), "--parts", "2"], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]

    # the parts hold every face once, each part's landmarks list its own faces, blends are unchanged
    parts = [sorted(p.name for p in (pack / f"utk-{k}").iterdir()) for k in range(2)]
    assert sorted(parts[0] + parts[1]) == names and parts[0] and parts[1]
    for k in range(2):
        assert sorted(np.load(pack / f"landmarks-{k}.npz")["files"]) == parts[k]
    full, small = np.load(tmp_path / "lm.npz"), np.load(pack / "landmarks.npz")
    for i, name in enumerate(full["files"]):
        image = cv2.imread(str(data / name))
        a = blend_pair(image, full["five"][i], full["mesh"][i], np.random.default_rng(i), "mild")
        b = blend_pair(image, small["five"][i], small["mesh"][i], np.random.default_rng(i), "mild")
        assert all(np.array_equal(x, y) for x, y in zip(a, b)), name
    weights = torch.load(pack / "imagenet-fp16.pth", weights_only=True)
    assert all(v.dtype == torch.float16 for v in weights.values() if v.is_floating_point())

    # the parts joined again, a run on the packed files holds out exactly the given split
    joined = tmp_path / "joined"
    for k in range(2):
        shutil.copytree(pack / f"utk-{k}", joined, dirs_exist_ok=True)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "fakelens.train.face_swap", "--data", str(joined), "--landmarks",
           str(pack / "landmarks.npz"), "--imagenet", str(pack / "imagenet-fp16.pth"), "--batch", "4",
           "--minutes", "0.02", "--workers", "0", "--threads", "1", "--device", "auto"]
    run = subprocess.run(cmd + ["--out", str(out), "--split", str(pack / "split.json")], capture_output=True,
                         text=True, timeout=600, cwd=REPO)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"split from {pack / 'split.json'}" in run.stdout and "on cpu" in run.stdout
    assert json.loads((out / "split.json").read_text()) == json.loads(split.read_text())
    # a split that leaves a face out is refused, not guessed
    split.write_text(json.dumps({"train": names[4:], "val": names[:3]}))
    short = subprocess.run(cmd + ["--out", str(tmp_path / "run2"), "--split", str(split)], capture_output=True,
                           text=True, timeout=600, cwd=REPO)
    assert short.returncode != 0 and "lists neither side for 1 faces" in short.stderr
