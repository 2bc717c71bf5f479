"""Print the parameter counts of the embedder (E), generator (G) and discriminator (D) of the network presets.

The paper reports E 15 M, G 38 M and 20 M for D's convolutional part at 256 px (paper-256). D's embedding
table adds one row per training video and is listed separately.
"""
# Paper §3.4 gives the parameter counts quoted in the description.
from __future__ import annotations

import argparse

EXAMPLE = """\
  talkinghead info --preset paper-256 --videos 145000
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default=None, help="one preset (default: all)")
    parser.add_argument("--videos", type=int, default=0, help="rows of D's W to include (default 0)")


def parameter_counts(name: str, num_videos: int = 0) -> dict[str, int]:
    """Parameter counts of one preset's networks, built on the meta device (no memory, no init cost).

    Returns:
        {"E", "G", "G.P", "D" (V, w0, b and num_videos rows of W), "D.W_per_video"}.
    """
    import dataclasses

    import torch

    from ...nodes.networks.discriminator import Discriminator
    from ...nodes.networks.embedder import Embedder
    from ...nodes.networks.generator import Generator
    from ...nodes.networks.presets import get_preset

    # spectral norm adds buffers (u, v) but no parameters; building without it is much faster
    cfg = dataclasses.replace(get_preset(name), spectral_norm=False)

    def count(module: torch.nn.Module) -> int:
        return sum(p.numel() for p in module.parameters())

    with torch.device("meta"):
        E, G, D = Embedder(cfg), Generator(cfg), Discriminator(cfg, num_videos)
    return {"E": count(E), "G": count(G), "G.P": cfg.embed_dim * G.psi_dim, "D": count(D),
            "D.W_per_video": cfg.embed_dim}


def run(args: argparse.Namespace) -> int:
    from ...nodes.networks.presets import PRESETS, get_preset
    from ...runtime.errors import UsageError

    if args.videos < 0:
        raise UsageError("--videos must be >= 0")
    names = [get_preset(args.preset).name] if args.preset else list(PRESETS)
    print(f"{'preset':10s} {'size':>5s} {'N':>4s} {'E':>10s} {'G':>10s} {'(P)':>10s} {'D':>10s}  D.W/video")
    for name in names:
        cfg, c = PRESETS[name], parameter_counts(name, args.videos)
        print(f"{name:10s} {cfg.image_size:5d} {cfg.embed_dim:4d} {c['E']:10,d} {c['G']:10,d} {c['G.P']:10,d} "
              f"{c['D']:10,d}  {c['D.W_per_video']}")
    return 0
