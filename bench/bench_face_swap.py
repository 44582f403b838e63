"""Milliseconds per face crop for the shipped face-swap model, onnxruntime CPU, one thread.

    .venv/bin/python bench/bench_face_swap.py [--runs 200] [--onnx CANDIDATE.onnx ...]

Times the detector's own path (detectors.face_swap.score_crops on an aligned 160 px crop) with and
without the mirror average, and the bare session call, after a warm-up. `--onnx` adds candidates,
timed after the shipped model in the same run (compare ratios: these machines are shared and noisy);
"as shipped" is the row its manifest entry would use (no mirror for a merged average of models).
"""

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

from fakelens.config import REPO_MODELS
from fakelens.detectors.face_swap import preprocess, score_crops
from fakelens.models import ModelStore
from fakelens.train.report_face_swap import spec_for


def timed(fn, runs: int) -> tuple[float, float]:
    for _ in range(10):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times)), float(np.percentile(times, 90))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--onnx", type=Path, action="append", default=[], help="a candidate face-swap ONNX (repeatable)")
    args = ap.parse_args()
    store = ModelStore(REPO_MODELS)      # its sessions use one intra-op thread
    spec = store.first("face_swap")
    if spec is None:
        raise SystemExit("no face_swap model in models/manifest.json")
    bench(store, spec, args.runs)
    for onnx in args.onnx:
        bench(*spec_for(onnx, spec.crop.get("scale", 1.0)), args.runs)


def bench(store, spec, runs: int):
    crop = np.random.default_rng(0).integers(0, 255, (spec.input_size, spec.input_size, 3), dtype=np.uint8)
    session = store.session(spec)
    x = preprocess([crop], spec)
    no_mirror = dataclasses.replace(spec, crop={**spec.crop, "mirror": False})
    with_mirror = dataclasses.replace(spec, crop={**spec.crop, "mirror": True})
    shipped = " (as shipped)"
    mirror = bool(spec.crop.get("mirror", True))
    rows = [("session.run, 1 crop", timed(lambda: session.run(None, {"input": x}), runs)),
            ("score_crops, no mirror" + ("" if mirror else shipped),
             timed(lambda: score_crops([crop], store, no_mirror), runs)),
            ("score_crops, mirror-averaged" + (shipped if mirror else ""),
             timed(lambda: score_crops([crop], store, with_mirror), runs))]
    print(f"{spec.file}, {spec.input_size} px, onnxruntime CPU, 1 thread, {runs} runs")
    for name, (median, p90) in rows:
        print(f"  {name:40} {median:6.2f} ms median, {p90:6.2f} ms p90 per face")


if __name__ == "__main__":
    main()
