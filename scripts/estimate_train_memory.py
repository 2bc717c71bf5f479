"""Estimate the training memory of one meta-learning step (issue 4 item 5) on any device, CPU included.

Measures, for each --batch: the peak bytes autograd holds for backward during one real ``meta_step``
(``memory.SavedTensorMeter``: unique storages, parameters excluded), and counts parameters, gradients,
Adam states and the frozen loss networks. Activations grow linearly with the batch, so two batches give
slope and intercept, extrapolated to --target-batch. Not measured: allocator fragmentation, cuDNN
workspaces, temporaries that live only inside one operator; add ~10-20 % on a GPU. Writes JSON.

    python scripts/estimate_train_memory.py --preset paper-256 --batch 1 2 --out mem.json
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace

import torch


def _bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def _episode(b: int, k: int, s: int, device: torch.device):
    from talkinghead.nodes.training.dataset import Episode

    g = torch.Generator().manual_seed(0)
    x = torch.rand(b, k + 1, 3, s, s, generator=g) * 2 - 1
    y = torch.rand(b, k + 1, 3, s, s, generator=g) * 2 - 1
    centre = torch.tensor([s / 2, s / 2])
    lms = centre + (torch.rand(b, k + 1, 68, 2, generator=g) - 0.5) * s * 0.5  # points on the face area
    return Episode(x, y, lms, torch.arange(b) % 4).to(device)


def stand_in_vgg(folder) -> dict:
    """Random VGG19 and VGG-Face (VGG16 layout) weights files: the paper's L_CNT networks, for memory only."""
    from pathlib import Path

    from talkinghead.nodes.networks.vgg import VGG16_LAYOUT, VGG19_LAYOUT
    from talkinghead.runtime.weights import save_safetensors

    paths = {}
    for name, layout, style in (("vgg19", VGG19_LAYOUT, "caffe-vgg19"), ("vggface", VGG16_LAYOUT, "caffe-vggface")):
        state, idx, c = {}, 0, 3
        for v in layout:
            if v == "M":
                idx += 1
                continue
            state[f"features.{idx}.weight"] = torch.randn(v, c, 3, 3) * (2 / (9 * c)) ** 0.5
            state[f"features.{idx}.bias"] = torch.zeros(v)
            idx, c = idx + 2, v
        paths[f"{name}_path"] = Path(folder) / f"{name}.safetensors"
        save_safetensors(paths[f"{name}_path"], state, {"input_style": style})
    return paths


def measure(rt, cfg, batch: int, vgg: dict) -> dict:
    """One warm-up step, then one measured step of ``batch`` episodes."""
    from talkinghead.nodes.networks.presets import get_preset
    from talkinghead.nodes.training.memory import SavedTensorMeter
    from talkinghead.nodes.training.meta import build_state, meta_step
    from talkinghead.nodes.training.objective import VARIANTS, Objective

    cfg = replace(cfg, batch_size=batch)
    st = build_state(rt, cfg, 4)
    objective = Objective(rt, VARIANTS[cfg.loss], **vgg)
    ep = _episode(batch, cfg.k, get_preset(cfg.preset).image_size, rt.device)
    meta_step(rt, st, objective, ep, cfg)
    params = [p for m in st.modules().values() for p in m.parameters()]
    start = time.monotonic()
    with SavedTensorMeter(exclude=params) as meter:
        meta_step(rt, st, objective, ep, cfg)
    frozen = [p for m in (objective.content,) if m is not None for p in m.parameters()]
    dense = [p for p in params if p.requires_grad]
    return {"batch": batch, "seconds": round(time.monotonic() - start, 2), "activations_peak": meter.peak,
            "params": _bytes(params), "grads": _bytes(dense), "adam_states": 2 * _bytes(dense),
            "loss_networks": _bytes(frozen), "terms": objective.terms}


def main() -> None:
    from talkinghead.nodes.training.meta import MetaConfig
    from talkinghead.runtime.atomic import atomic_write_text
    from talkinghead.runtime.runtime import Runtime

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="paper-256")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--target-batch", type=int, default=8)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="32-true")
    parser.add_argument("--grad-checkpointing", action="store_true")
    parser.add_argument("--stand-in-vgg", action="store_true",
                        help="random VGG19 + VGG-Face weights: count the paper's L_CNT networks (loss 'paper')")
    parser.add_argument("--out", default="train_memory.json")
    args = parser.parse_args()
    rt = Runtime(device=args.device, precision=args.precision)
    cfg = MetaConfig(preset=args.preset, k=args.k, grad_checkpointing=args.grad_checkpointing,
                     loss="paper" if args.stand_in_vgg else "full")
    with tempfile.TemporaryDirectory() as folder:
        vgg = stand_in_vgg(folder) if args.stand_in_vgg else {}
        rows = [measure(rt, cfg, b, vgg) for b in args.batch]
    a0, a1 = rows[0], rows[-1]
    slope = (a1["activations_peak"] - a0["activations_peak"]) / max(a1["batch"] - a0["batch"], 1)
    fixed = a0["params"] + a0["grads"] + a0["adam_states"] + a0["loss_networks"]
    target = a0["activations_peak"] + slope * (args.target_batch - a0["batch"])
    report = {"preset": args.preset, "k": args.k, "loss": cfg.loss, "device": str(rt.device), "precision": rt.precision.name,
              "grad_checkpointing": args.grad_checkpointing, "rows": rows, "activation_bytes_per_episode": slope,
              "target_batch": args.target_batch, "estimate_bytes": {"fixed": fixed, "activations": target,
                                                                    "total": fixed + target},
              "not_measured": "allocator fragmentation, cuDNN workspaces, per-operator temporaries (+10-20 % on GPU); "
                              "the W table (+ SparseAdam) adds 3 x 4 x videos x embed_dim bytes if kept on the GPU"}
    atomic_write_text(args.out, json.dumps(report, indent=1))
    gib = 1 << 30
    print(f"{args.preset} K={args.k} {rt.precision.name}: {slope / gib:.2f} GiB activations per episode; batch "
          f"{args.target_batch}: {(fixed + target) / gib:.1f} GiB (fixed {fixed / gib:.2f} GiB) -> {args.out}")


if __name__ == "__main__":
    main()
