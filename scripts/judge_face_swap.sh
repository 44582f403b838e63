#!/bin/bash
# Everything a face-swap candidate is judged by (models/README.md, "Tried and not shipped"), for one run:
#
#   scripts/judge_face_swap.sh RUN_DIR [CHECKPOINT]
#
# Exports RUN_DIR/best.onnx from CHECKPOINT (default RUN_DIR/best.pt), measures it with the full report
# against the shipped model (its own threshold by the report's rule; paired AUC differences) into
# RUN_DIR/report.json, then its false flags on every everyday transformation at that threshold into
# RUN_DIR/robustness.json, both on the run's own held-out faces (RUN_DIR/split.json; the paired
# differences hold where that is face_swap-1's split, as --split gives a run). Logs go to
# RUN_DIR/*.log. Takes about 15 minutes on this machine's CPUs.
# PYTHON (default .venv/bin/python) and AGAINST (default models/face_swap-1.onnx) can be set.
set -eu
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 RUN_DIR [CHECKPOINT]" >&2; exit 2
fi
absolute() { python3 -c 'import os, sys; print(os.path.abspath(sys.argv[1]))' "$1"; }   # (macOS has no realpath -m)
run=$(absolute "$1")   # named from where it was called, before the cd below
checkpoint=$(absolute "${2:-$run/best.pt}")
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
# an earlier judgement's outputs go first: a step that fails must not leave old ones looking current
rm -f "$run/best.onnx" "$run/report.json" "$run/robustness.json" "$run/export.log" "$run/report.log" "$run/robustness.log"
step=export
trap 'echo "judge_face_swap: the $step step failed; see $run/$step.log" >&2' ERR
"$python" -m fakelens.train.face_swap --out "$run" --checkpoint "$checkpoint" --export "$run/best.onnx" > "$run/export.log" 2>&1
# measured at the middle of the crop range it was trained on, as its own validation was
step=export   # (reading the checkpoint's crop range: export.log has the checkpoint's own error)
scale=$("$python" -c "import sys, torch; s = torch.load(sys.argv[1], map_location='cpu', weights_only=False).get('state', {}); \
lo, hi = s.get('crop_scales', [0.92, 1.08]); print(round((lo + hi) / 2, 4))" "$checkpoint")
step=report
"$python" -m fakelens.train.report_face_swap --onnx "$run/best.onnx" --version candidate --out "$run/report.json" \
  --split "$run/split.json" --crop-scale "$scale" --against "${AGAINST:-models/face_swap-1.onnx}" > "$run/report.log" 2>&1
threshold=$("$python" -c "import json, sys; print(json.load(open(sys.argv[1]))['threshold'])" "$run/report.json")
step=robustness
OMP_NUM_THREADS=1 "$python" -m fakelens.train.robustness --onnx "$run/best.onnx" --threshold "$threshold" \
  --split "$run/split.json" --crop-scale "$scale" --out "$run/robustness.json" > "$run/robustness.log" 2>&1
echo "threshold $threshold"
"$python" - "$run/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ff = r.get("ffpp_dev", {})
print("stills AUC clean / degraded:", r["val_auc_clean"], "/", r["val_auc_degraded"])
print("FF++ dev:", json.dumps(ff.get("all")), "| real clips flagged:", ff.get("fpr_at_threshold"))
print("against:", json.dumps(r.get("against")))
print("sanity clips:", json.dumps(r.get("deepfake_clips")))
PY
cat "$run/robustness.log"
