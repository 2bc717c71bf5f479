"""Few-shot fine-tune a PersonModel on T photos of one person.

Embeds the photos, initialises the generator's person-specific parameters from that embedding and trains
the generator and discriminator on the photos (with joint frame + landmark augmentation) for --steps steps
and/or --max-seconds seconds. The training state is checkpointed next to --out (OUT.state.safetensors)
every --checkpoint-every steps and when interrupted; --resume continues from it. Starts from the best base
present (--model, else a meta-learned base of --preset, else a seeded random initialisation) and says which.
"""
# Paper §3.3: psi' = P e_hat, w' = w0 + e_hat; G and D trained on the T photos.
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from ...nodes.budget import DEFAULT_STEPS
from ...runtime.errors import UsageError
from ...runtime.preflight import check_output_file
from .sources import add_source_arguments, load_sources

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


def state_path(out: str | Path) -> Path:
    """OUT.safetensors -> OUT.state.safetensors (the resumable training state)."""
    out = Path(out)
    return out.with_name(out.stem + ".state.safetensors")


def run(args: argparse.Namespace) -> int:
    from ...nodes.embedding import EmbedIdentity
    from ...nodes.finetune import FineTune, FineTuneConfig
    from ...nodes.provenance.consent import attach_consent, consent_for_model
    from ...nodes.training.objective import VARIANTS

    if Path(args.out).suffix != ".safetensors":
        raise UsageError(f"--out {args.out}: a PersonModel file ends in .safetensors")
    check_output_file(args.out, "--out")  # before any work
    if args.checkpoint_every < 0:
        raise UsageError("--checkpoint-every must be >= 0")
    consent = consent_for_model(args.consent)
    rt = args.runtime()
    src = load_sources(rt, args)
    identity = EmbedIdentity().run(rt, base=src["base"], images=src["images"], landmarks=src["landmarks"],
                                   names=src["names"])["identity"]
    identity = attach_consent(identity, consent)
    cfg = replace(FineTuneConfig(), batch_size=args.batch, objective=VARIANTS[args.loss], seed=args.seed,
                  checkpoint_every=args.checkpoint_every)
    person = FineTune().run(rt, base=src["base"], identity=identity, images=src["images"],
                            landmarks=src["landmarks"], steps=args.steps, max_seconds=args.max_seconds,
                            names=src["names"], checkpoint=state_path(args.out), resume=args.resume,
                            config=cfg)["person"]
    person.save(args.out)
    info = person.info
    print(f"{args.out}: fine-tuned {info['steps']} steps in {info['seconds']:.0f} s on T={info['T']} frame(s); "
          f"losses {', '.join(info['loss_terms'])}; reconstruction L1 {info['reconstruction_l1_before']:.3f} -> "
          f"{info['reconstruction_l1_after']:.3f}")
    return 0
