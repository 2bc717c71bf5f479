#!/usr/bin/env bash
# Reproduce the small-128 base model from ../shared/data in one command (CPU; ~2-4 s per step on 2 cores).
#
#   scripts/train_small_base.sh            # preprocess (resumable) + train (resumable) + install the base
#   STEPS=4000 scripts/train_small_base.sh # longer; extra arguments go to `talkinghead train` (e.g. --threads 1)
#
# The data (and so the model) are NON-COMMERCIAL / research only: the dataset, the run and the base model
# live outside the repository and are never committed or shipped. The base is copied to the torch hub
# cache, one of the folders the runtime searches, so embed/finetune/render/demo/eval pick it up.
# The learning rates are raised from the paper's 5e-5 / 2e-4 to 2e-4 / 4e-4 (FineTune's from-scratch
# rates): a CPU affords a few thousand steps, not the paper's hundreds of thousands.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
DATA_ROOT="${DATA_ROOT:-$HERE/../../shared/data}"
DATASET="${DATASET:-/work/datasets/shared-256}"
RUN="${RUN:-/work/runs/small-128}"
STEPS="${STEPS:-1000}"
BASE_OUT="${BASE_OUT:-${TORCH_HOME:-$HOME/.cache/torch}/hub/checkpoints/talkinghead-small-128.safetensors}"

talkinghead -v preprocess "$DATA_ROOT/clips" --stills "$DATA_ROOT/stills" --out "$DATASET" --workers 2
talkinghead -v train --preset small-128 --data "$DATASET" --out "$RUN" --steps "$STEPS" --batch 2 --k 8 \
    --variant ft --loss full --video-fraction 0.5 --augment-video --lr-eg 2e-4 --lr-d 4e-4 \
    --checkpoint-every 250 --sample-every 250 --log-every 10 --seed 0 --resume --base-out "$BASE_OUT" "$@"
