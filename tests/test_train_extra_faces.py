"""Extra training faces (fakelens.train.extra_faces): photos cut into UTKFace-framed chips that join the
training side only, with their landmarks beside UTKFace's."""

import json
import shutil

import cv2
import numpy as np

from conftest import need_shared
from fakelens.config import REPO_MODELS
from fakelens.media.align import TEMPLATE
from fakelens.media.faces import detect_faces
from fakelens.models import ModelStore
from fakelens.train import extra_faces
from fakelens.train.landmarks import compute


def test_photos_become_framed_chips_on_the_training_side_only(tmp_path):
    photos, utk = tmp_path / "photos", tmp_path / "utk"
    photos.mkdir()
    utk.mkdir()
    for f in sorted(need_shared("synthetic-faces", "sdfd").iterdir())[:2]:
        shutil.copy(f, photos / f.name)
    whole = cv2.imread(str(photos / sorted(p.name for p in photos.iterdir())[0]))
    cv2.imwrite(str(photos / "edge.jpg"), whole[:, : whole.shape[1] // 2])   # the face cut by the edge
    cv2.imwrite(str(photos / "blank.jpg"), np.full((300, 300, 3), 128, np.uint8))
    names = [f.name for f in sorted(need_shared("faces-real", "utkface").iterdir())[::3000][:2]]
    for name in names:
        shutil.copy(need_shared("faces-real", "utkface", name), utk / name)
    models = ModelStore(REPO_MODELS)
    np.savez(tmp_path / "utk.npz", **compute(sorted(utk.iterdir()), models, log_every=0))
    (tmp_path / "split.json").write_text(json.dumps({"train": names[:1], "val": names[1:]}))

    extra_faces.main(["--photos", str(photos), "--utkface", str(utk), "--landmarks", str(tmp_path / "utk.npz"),
                      "--split", str(tmp_path / "split.json"), "--out", str(tmp_path / "out")])

    faces = tmp_path / "out" / "faces"
    chips = sorted(faces.glob("extra-*.png"))
    assert len(chips) == 2 and not (faces / "extra-edge.png").exists() and not (faces / "extra-blank.png").exists()
    for chip in chips:   # framed as UTKFace's crops: the eyes where the template has them
        image = cv2.imread(str(chip))
        assert image.shape == (200, 200, 3)
        eyes = detect_faces(cv2.copyMakeBorder(image, 50, 50, 50, 50, cv2.BORDER_REPLICATE), models)[0].landmarks[:2] - 50
        assert np.abs(eyes / 200 - TEMPLATE[:2]).max() < 0.05, eyes
    assert sorted(p.name for p in faces.iterdir() if p.is_symlink()) == sorted(names)
    joined = np.load(tmp_path / "out" / "landmarks.npz")
    assert list(joined["files"]) == sorted(names) + [c.name for c in chips]
    split = json.loads((tmp_path / "out" / "split.json").read_text())
    assert split == {"train": names[:1] + [c.name for c in chips], "val": names[1:]}   # validation stays UTKFace's
