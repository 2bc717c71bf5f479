"""Meta-learn a base model (embedder, generator, discriminator) on a preprocessed dataset.

Episodes of K+1 frames of one video (K = 8): the embedder embeds K frames, the generator renders the
target frame from its landmark sketch, the discriminator scores it against the video's own row of its
embedding table. --variant ft adds the embedding-match loss (what fine-tuning's initialisation relies on);
ff leaves it out. Mixed precision follows --precision (auto: bf16 on recent GPUs, fp32 on CPU).

RUN gets checkpoint.safetensors (every --checkpoint-every steps, at the end, and at the next step boundary
after SIGTERM or Ctrl-C: exit code 5; --resume continues exactly), scalars.jsonl, sample grids
samples/step-*.png (K sources | target sketch | generated | real) and the base model
talkinghead-<preset>.safetensors, which embed, finetune, render and demo use when it lies in a folder the
weights are looked for in (--base-out copies it there, e.g. ~/.cache/torch/hub/checkpoints/).
--steps is the total step count of the run; `--resume --steps 0` only rewrites the base model.

Several GPUs or nodes: launch the same command with torchrun; each process takes --batch episodes per step
(gradients are averaged, rank 0 writes the files):

    torchrun --nproc_per_node 8 -m talkinghead.plugin.cli train --preset paper-256 --data DATA --out RUN
    torchrun --nnodes 2 --node_rank R --master_addr HOST --nproc_per_node 8 -m talkinghead.plugin.cli train ...

Memory of paper-256, K = 8, batch 8 per GPU (estimated from the saved activations, not measured on a GPU;
add allocator overhead): ~15 GiB fp32, ~8.6 GiB bf16-mixed, ~4.6 GiB fp32 with --grad-checkpointing (+70 %
compute), plus 0.9 GB for the embedding table and its optimiser state with 145k training videos.
"""
# Developer notes (not in --help): meta-learning as in Zakharov et al. 2019, §3.2 (E, G, D; L_MCH in the ft
# variant; Adam 5e-5 for E and G, 2e-4 for D; the rows W_i of D's embedding table are updated by SparseAdam).
# The memory figures come from scripts/estimate_train_memory.py (saved activations counted on a CPU). The small
# CPU base is made by scripts/train_small_base.sh from ../shared/data (non-commercial: never ship it).
from __future__ import annotations

import argparse
import shutil
import signal
import threading
from dataclasses import replace
from pathlib import Path

from ...runtime.atomic import atomic_path
from ...runtime.errors import UsageError

EXAMPLE = """\
  talkinghead train --preset small-128 --data dataset-256 --out run-small --steps 1000 --resume \\
      --base-out ~/.cache/torch/hub/checkpoints/talkinghead-small-128.safetensors
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .finetune import LOSS_VARIANTS  # the objective's variant names, without importing torch for --help

    parser.add_argument("--preset", default="small-128", help="network preset (default small-128)")
    parser.add_argument("--data", required=True, help="DATASET folder written by `talkinghead preprocess`")
    parser.add_argument("--out", required=True, help="RUN folder")
    parser.add_argument("--steps", type=int, default=2000, help="total optimisation steps (default 2000)")
    parser.add_argument("--variant", default="ft", choices=["ft", "ff"], help="ft: with L_MCH (default); ff: without")
    parser.add_argument("--resume", action="store_true", help="continue RUN/checkpoint.safetensors")
    parser.add_argument("--k", type=int, default=8, help="source frames per episode (default 8)")
    parser.add_argument("--batch", type=int, default=2, help="episodes per process and step (default 2)")
    parser.add_argument("--loss", default="full", choices=LOSS_VARIANTS,
                        help="full = pixel L1 + L_CNT + L_ADV (default); paper = L_CNT + L_ADV")
    parser.add_argument("--lr-eg", type=float, default=5e-5, help="Adam lr of E and G (default 5e-5)")
    parser.add_argument("--lr-d", type=float, default=2e-4, help="Adam lr of D and W (default 2e-4)")
    parser.add_argument("--video-fraction", type=float, default=None,
                        help="share of episodes from videos (default: uniform over sequences)")
    parser.add_argument("--augment-video", action="store_true", help="augment video frames like stills")
    parser.add_argument("--checkpoint-every", type=int, default=250, help="steps between checkpoints (default 250)")
    parser.add_argument("--sample-every", type=int, default=250, help="steps between sample grids (default 250)")
    parser.add_argument("--log-every", type=int, default=10, help="steps between JSONL lines (default 10)")
    parser.add_argument("--grad-checkpointing", action="store_true", help="recompute blocks in backward (less memory)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--base-out", default=None, help="also copy the final base model to this file")


def _config(args: argparse.Namespace):
    from ...nodes.training.augment import AugmentConfig
    from ...nodes.training.meta import MetaConfig

    if args.steps < 0 or min(args.checkpoint_every, args.sample_every, args.log_every) < 0:
        raise UsageError("--steps and the --*-every intervals must be >= 0")
    cfg = MetaConfig(preset=args.preset, k=args.k, batch_size=args.batch, variant=args.variant, lr_eg=args.lr_eg,
                     lr_d=args.lr_d, loss=args.loss, video_fraction=args.video_fraction, seed=args.seed,
                     checkpoint_every=args.checkpoint_every, sample_every=args.sample_every,
                     log_every=args.log_every, grad_checkpointing=args.grad_checkpointing)
    return replace(cfg, augment_video=AugmentConfig()) if args.augment_video else cfg


def run(args: argparse.Namespace) -> int:
    import torch

    from ...nodes.networks.presets import get_preset
    from ...nodes.training.dataset import EpisodeDataset
    from ...nodes.training.loop import base_path, train
    from ...nodes.training.objective import VARIANTS, Objective
    from ...runtime import distributed as ddp_env
    from ...runtime.preflight import check_output_dir, check_output_file

    cfg = _config(args)
    check_output_dir(args.out, "--out")  # before any work
    if args.base_out:
        check_output_file(Path(args.base_out).expanduser(), "--base-out")
    if args.threads:
        torch.set_num_threads(args.threads)
    rt = args.runtime()
    if rt.device.type == "cuda" and ddp_env.world_size() > 1:
        rt.device = torch.device("cuda", ddp_env.local_rank())
    ddp_env.init_from_env(rt.device)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda signum, frame: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        data = EpisodeDataset(args.data, get_preset(cfg.preset).image_size, cfg.augment_video, cfg.augment_still,
                              cfg.video_fraction)
        objective = Objective(rt, VARIANTS[cfg.loss])
        rt.say_once("train-setup", f"meta-learning {cfg.preset} ({cfg.variant}) on {len(data)} sequences "
                    f"({data.index['frames']} frames), {ddp_env.world_size()} process(es), {rt.describe()}, "
                    f"losses: {', '.join(objective.terms)}", level=20)
        st = train(rt, data, cfg, args.out, args.steps, objective, resume=args.resume, stop=stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        ddp_env.cleanup()
    if ddp_env.is_rank0():
        base = base_path(args.out, cfg.preset)
        if args.base_out:
            with atomic_path(Path(args.base_out).expanduser()) as tmp:
                shutil.copyfile(base, tmp)
        print(f"{args.out}: {st.step} steps; base model {base}" + (f" (copied to {args.base_out})" if args.base_out else ""))
    return 0
