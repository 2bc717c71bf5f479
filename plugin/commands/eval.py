"""Self-reenactment evaluation on real clips (the protocol of Zakharov et al. 2019).

For each clip: T frames spread over the first half are the few-shot set, up to 40 frames spread over the
second half are the targets, each generated from its own landmarks, in one face-centred square crop per
clip and T. Methods: model (embed + fine-tune + generate), warp (piecewise-affine warp of the nearest
few-shot frame, the floor), warp-regions and copy (the nearest few-shot frame). Identity similarity (CSIM)
and landmark error are measured on faces re-detected on each output: an output with no face gets neither
and counts against the re-detection rate. Writes REPORT.json, REPORT.md, one PNG grid per clip
(REPORT_grids/ unless --grids) and, with --save-frames, the scored frames as PNG.

--cross --source PHOTO --driver CLIP: the cross-identity evaluation instead (one photo driven by another
person's clip): identity kept, Pearson r of mouth, eyes, roll, yaw and pitch against the driver, mouth state,
gaze, jitter, re-detection, background PSNR outside the head, contact sheets.
"""
# Paper §4.1 (self-reenactment); scoring in nodes/evaluation/scoring.py.
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...nodes.networks.presets import DEFAULT_PRESET
from ...runtime.errors import UsageError

EXAMPLE = """\
  talkinghead eval --clips clips/ --shots 1,8 --method model warp copy --steps 100 --out eval/report.json
"""


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from exc


def _names(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _num(value: float | None, spec: str = ".3f") -> str:
    """A summary number, or 'n/a' where nothing could be measured (e.g. CSIM when no output has a face)."""
    return "n/a" if value is None else format(value, spec)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clips", type=Path, default=None, help="folder of video clips")
    parser.add_argument("--out", type=Path, default=None, help="REPORT.json (Markdown goes to REPORT.md)")
    parser.add_argument("--shots", type=_ints, default=(1, 8, 32), help="T values, e.g. 1,8,32")
    parser.add_argument("--size", type=int, default=128, help="crop side in px (default 128)")
    parser.add_argument("--method", nargs="+", default=None, help="model, warp, warp-regions "
                        "and/or copy (space or comma separated; default warp copy); with --cross: warp, product, "
                        "rendered (default warp product)")
    parser.add_argument("--variant", type=_names, default=("full",),
                        help="objective variant(s) for the model: l1, l1+face, l1+adv, full, paper (comma list)")
    parser.add_argument("--steps", type=int, default=100, help="fine-tuning steps per clip and T (default 100)")
    parser.add_argument("--batch", type=int, default=4, help="fine-tuning batch (default 4)")
    parser.add_argument("--lr-g", type=float, default=None, help="G learning rate (default: fine_tune's)")
    parser.add_argument("--lr-d", type=float, default=None, help="D learning rate (default: fine_tune's)")
    parser.add_argument("--identity-weight", type=float, default=0.0,
                        help="identity term of the face-feature loss (makes dlib CSIM non-independent)")
    parser.add_argument("--no-augment", action="store_true", help="fine-tune without augmentation")
    parser.add_argument("--preset", default=DEFAULT_PRESET, help=f"base model preset (default {DEFAULT_PRESET})")
    parser.add_argument("--model", type=Path, default=None, help="explicit base model file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--margin", type=float, default=None, help="crop margin (default: the base's, else 0.4)")
    parser.add_argument("--max-targets", type=int, default=40, help="targets per clip (default 40)")
    parser.add_argument("--only", type=_names, default=None, help="clip names (stems) to evaluate, comma list")
    parser.add_argument("--save-frames", type=Path, default=None, help="write scored frames: DIR/CLIP/T<T>/...")
    parser.add_argument("--grids", type=Path, default=None, help="grid folder (default REPORT_grids/)")
    parser.add_argument("--landmark-cache", type=Path, default=None,
                        help="landmark track cache (default ~/.cache/talkinghead/eval-landmarks)")
    from .eval_cross import add_cross_arguments

    add_cross_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from ...nodes.evaluation.run import EvalConfig, evaluate
    from ...runtime.preflight import check_output_dir, check_output_file

    if args.cross:
        from .eval_cross import run_cross

        return run_cross(args)
    if args.clips is None or args.out is None:
        raise UsageError("eval needs --clips DIR and --out REPORT.json (or --cross --source ... --driver ...)")
    if args.out.suffix != ".json":
        raise UsageError(f"--out {args.out}: the report is a .json file")
    check_output_file(args.out, "--out")  # before any work
    for option, folder in (("--grids", args.grids), ("--save-frames", args.save_frames)):
        if folder is not None:
            check_output_dir(folder, option)
    methods = tuple(m for item in (args.method or ["warp", "copy"]) for m in _names(item))
    cfg = EvalConfig(clips=args.clips, shots=args.shots, size=args.size, margin=args.margin, methods=methods,
                     variants=args.variant, steps=args.steps, batch=args.batch, lr_g=args.lr_g, lr_d=args.lr_d,
                     seed=args.seed, identity_weight=args.identity_weight, augment=not args.no_augment,
                     preset=args.preset or DEFAULT_PRESET, base=args.model,
                     max_targets=args.max_targets, only=args.only, save_frames=args.save_frames,
                     grids=args.grids or args.out.with_name(args.out.stem + "_grids"),
                     cache_dir=args.landmark_cache, command=tuple(sys.argv))
    report = evaluate(args.runtime(), cfg, args.out)
    base = report.get("base")
    print(f"preset {cfg.preset}" + (f"; base model: {base['origin']}" if base else " (no model method run)"))
    for name, by_t in report["summary"].items():
        for t, s in by_t.items():
            print(f"{name:>16} T={t:>2}: SSIM {_num(s['ssim'])}  face SSIM {_num(s['face_ssim'])}  "
                  f"CSIM {_num(s['csim'])}  faces re-detected {_num(s['redetect_rate'], '.0%')}  "
                  f"({s['clips']} clips)")
    print(f"wrote {args.out}, {args.out.with_suffix('.md')} and grids in {cfg.grids}")
    return 0
