"""Embed K photos of a person into an Identity: the mean of the embedder's vectors over the K photos.

INPUTs are photos (any size; the face is found, cropped as the base model was trained and sketched),
or videos / image sequences, from which --per-video frames spread over the clip are taken. A photo with
several faces: the largest is taken and the log says which (--face INDEX takes another, 0 = leftmost).
"""
# Paper §3.1: e_hat = mean_k E(x_k, y_k).
from __future__ import annotations

import argparse
from pathlib import Path

from ...runtime.errors import UsageError
from ...runtime.preflight import check_output_file
from .sources import add_source_arguments, load_sources

EXAMPLE = """\
  talkinghead embed jane_01.jpg jane_02.jpg --consent jane.consent.json --out jane.identity.safetensors
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_source_arguments(parser)
    parser.add_argument("--out", required=True, help="IDENTITY.safetensors")
    parser.add_argument("--consent", default=None,
                        help="CONSENT.json (talkinghead consent new) for this likeness; embedded in the output")


def run(args: argparse.Namespace) -> int:
    from ...nodes.embedding import EmbedIdentity
    from ...nodes.provenance.consent import attach_consent, consent_for_model

    if Path(args.out).suffix != ".safetensors":
        raise UsageError(f"--out {args.out}: an Identity file ends in .safetensors")
    check_output_file(args.out, "--out")  # before any work
    consent = consent_for_model(args.consent)
    rt = args.runtime()
    src = load_sources(rt, args)
    identity = EmbedIdentity().run(rt, base=src["base"], images=src["images"], landmarks=src["landmarks"],
                                   names=src["names"])["identity"]
    identity = attach_consent(identity, consent)
    identity.save(args.out)
    print(f"{args.out}: Identity from K={identity.k} frame(s), e_hat norm {float((identity.e_hat ** 2).sum()) ** 0.5:.3f}, "
          f"base {identity.base_model}")
    return 0
