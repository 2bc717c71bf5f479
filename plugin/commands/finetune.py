"""Make a person from T photos of one face: what `render` animates.

The photos are kept at full resolution with their landmarks and the consent record: the first one is the
photo that moves (its whole head: hair, ears, neck), the others offer mouth interiors. When a meta-learned
base model is present for --preset (or --model, or --residual on), the paper's networks are also fine-tuned on
the photos (with joint frame + landmark augmentation, for --steps steps and/or --max-seconds seconds) and their
residual is added on top at render time; the training state is checkpointed next to --out
(OUT.state.safetensors) every --checkpoint-every steps and when interrupted, and --resume continues from it.
Without a meta-learned base nothing is fine-tuned (a random network would add nothing), and it says so.
"""
# Paper §3.3: psi' = P e_hat, w' = w0 + e_hat; G and D trained on the T photos.
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from ...nodes.budget import DEFAULT_STEPS
from ...runtime.errors import UsageError
from ...runtime.preflight import check_output_file
from .sources import add_source_arguments

EXAMPLE = """\
  talkinghead finetune jane_01.jpg jane_02.jpg --consent jane.consent.json --max-seconds 600 \\
      --out jane.person.safetensors
"""


# names of nodes.training.objective.VARIANTS, listed here so `--help` does not import torch (tested equal)
LOSS_VARIANTS = ("full", "l1", "l1+adv", "l1+face", "paper")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_source_arguments(parser)
    parser.add_argument("--out", required=True, help="PERSON.safetensors")
    parser.add_argument("--steps", type=int, default=None, help=f"optimisation steps (default {DEFAULT_STEPS}, or the time box)")
    parser.add_argument("--max-seconds", type=float, default=None, help="time box for this run")
    parser.add_argument("--batch", type=int, default=4, help="frames per step (default 4)")
    parser.add_argument("--loss", default="full", choices=LOSS_VARIANTS,
                        help="loss terms: full = L1 + L_CNT (+ face features) + L_ADV (default); paper = no L1")
    parser.add_argument("--checkpoint-every", type=int, default=50, help="steps between checkpoints (0: only at the end)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT.state.safetensors when present")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--consent", default=None,
                        help="CONSENT.json (talkinghead consent new) for this likeness; embedded in the output")
    parser.add_argument("--residual", default="auto", choices=("auto", "on", "off"),
                        help="fine-tune the network whose residual goes on top: auto = when a meta-learned base "
                             "is present (default); on = always; off = never")


def state_path(out: str | Path) -> Path:
    """OUT.safetensors -> OUT.state.safetensors (the resumable training state)."""
    out = Path(out)
    return out.with_name(out.stem + ".state.safetensors")


def run(args: argparse.Namespace) -> int:
    from ...nodes.budget import Budget
    from ...nodes.finetune import FineTuneConfig
    from ...nodes.landmarks.extract import parse_face
    from ...nodes.pipeline import Pipeline, PipelineConfig
    from ...nodes.provenance.consent import consent_for_model
    from ...nodes.training.objective import VARIANTS
    from .sources import read_sources

    if Path(args.out).suffix != ".safetensors":
        raise UsageError(f"--out {args.out}: a PersonModel file ends in .safetensors")
    check_output_file(args.out, "--out")  # before any work
    if args.checkpoint_every < 0:
        raise UsageError("--checkpoint-every must be >= 0")
    face = parse_face(args.face)
    if face == "track":
        raise UsageError("--face track follows a face through a clip; for photos use largest or an index")
    config = PipelineConfig(preset=args.preset, model=args.model, residual=args.residual, landmarks=args.backend,
                            face=face, budget=Budget(args.steps, args.max_seconds))
    consent = consent_for_model(args.consent)
    images, names = read_sources(args.inputs, args.per_video, args.strict)
    rt = args.runtime()
    finetune = replace(FineTuneConfig(), batch_size=args.batch, objective=VARIANTS[args.loss], seed=args.seed,
                       checkpoint_every=args.checkpoint_every)
    person = Pipeline(rt, config).person(images, names, consent=consent, checkpoint=state_path(args.out),
                                         resume=args.resume, finetune=finetune)
    person.save(args.out)
    info = person.info
    if person.has_network:
        print(f"{args.out}: person from T={info['T']} photo(s), network fine-tuned {info['steps']} steps in "
              f"{info['seconds']:.0f} s from {info['base_origin']}; losses {', '.join(info['loss_terms'])}; reconstruction L1 "
              f"{info['reconstruction_l1_before']:.3f} -> {info['reconstruction_l1_after']:.3f}")
    else:
        print(f"{args.out}: person from {len(images)} photo(s) ({info['network']})")
    return 0
