#!/bin/bash
# Face-swap training runs side by side on a lent GPU machine, from the folder device_pack made.
#
#   scripts/train_side_by_side.sh MINUTES NAME "ARGS" [NAME "ARGS" ...]
#   e.g. scripts/train_side_by_side.sh 7 s0 "--degradations everyday --seed 0" s1 "--degradations everyday --seed 1"
#
# Expects /tmp/utk (both parts of .gpu/utk-*, joined), /tmp/landmarks.npz, /tmp/imagenet-fp16.pth and
# /tmp/split.json (copied there by the device calls; models/README.md, "On a GPU"). 15 loader workers
# are shared among the runs. Each run's best.pt and log go to $OUT as NAME.pt and NAME.log, which
# the device tool brings back (at most 8 files: 4 runs). Runs are stopped SLACK (90) s after their
# budget. DEVICE=cpu PYTHON=<absolute path of .venv/bin/python> SLACK=300 tries it here.
set -u
if [ $# -lt 3 ] || [ $(($# % 2)) -ne 1 ]; then
  echo "usage: $0 MINUTES NAME \"ARGS\" [NAME \"ARGS\" ...]" >&2; exit 2
fi
cd "$(dirname "$0")/../backend"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
minutes=$1; shift
runs=$(($# / 2))
workers=$((15 / runs))
limit=$(python3 -c "print(int($minutes * 60 + ${SLACK:-90}))")
names=()
while [ $# -ge 2 ]; do
  name=$1; args=$2; shift 2; names+=("$name")
  # a fresh run each call: a machine kept warm still holds the last call's run of that NAME, which
  # would be resumed (or, asked for another recipe, refused while its old best.pt came back)
  rm -rf "/tmp/runs/$name" "/tmp/$name.log"
  # shellcheck disable=SC2086  # ARGS are several options
  timeout "$limit" "${PYTHON:-python3}" -m fakelens.train.face_swap --data /tmp/utk --landmarks /tmp/landmarks.npz \
    --imagenet /tmp/imagenet-fp16.pth --split /tmp/split.json --device "${DEVICE:-cuda}" --workers "$workers" --threads 1 \
    --minutes "$minutes" $args --out "/tmp/runs/$name" > "/tmp/$name.log" 2>&1 &
done
wait
mkdir -p "${OUT:-/tmp/out}"
for name in "${names[@]}"; do
  cp "/tmp/$name.log" "${OUT:-/tmp/out}/$name.log"
  cp "/tmp/runs/$name/best.pt" "${OUT:-/tmp/out}/$name.pt" 2>/dev/null || echo "$name: no checkpoint"
  echo "== $name"; tail -1 "/tmp/$name.log"
done
