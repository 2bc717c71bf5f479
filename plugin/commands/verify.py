"""Verify the provenance marks of rendered files (the C2PA manifest and the invisible watermark) and the
seals of model files (PersonModel / Identity: their tensors digest and its binding to the consent record).

  talkinghead verify FILE... [--trust CA.pem] [--json REPORT.json] [--max-frames N]
  talkinghead verify --make-test-ca DIR        (a local test CA + signing certificate, for tests/demos)

For each file: the manifest (embedded, or the .c2pa sidecar of an EXR) is valid and trusted / valid but
its signer is not in the trust list / tampered / absent, with its digital source type and consent entry;
and on what fraction of the frames the watermark decodes, with its payload (the consent id prefix).
For a PERSON.safetensors / IDENTITY.safetensors: whether its tensors still match the digest written when
it was saved, and whether its consent record holds and is the one bound to those tensors.
Trust anchors: --trust, else $TALKINGHEAD_TRUST_ANCHORS. Exit 0 when every file carries a mark and none
is tampered (model files: the seal matches and the consent holds); 3 otherwise.
"""
from __future__ import annotations

import argparse
import json

from ...runtime.errors import UsageError

EXAMPLE = """\
  talkinghead verify renders/sh010.1001.png renders/sh010.mp4 --trust studio-ca.pem
  talkinghead verify jane.person.safetensors
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", help="rendered files (PNG, JPEG, EXR, MP4, ...) or model files "
                                                  "(.safetensors)")
    parser.add_argument("--trust", action="append", default=[], help="trust anchor PEM (repeatable)")
    parser.add_argument("--json", default=None, help="also write the reports to this JSON file")
    parser.add_argument("--max-frames", type=int, default=None, help="decode the watermark on at most N frames")
    parser.add_argument("--make-test-ca", metavar="DIR", default=None,
                        help="write DIR/ca.pem, DIR/signer.pem, DIR/signer.key (not a studio certificate)")


def run(args: argparse.Namespace) -> int:
    from ...nodes.provenance.certs import ENV_CERT, ENV_KEY, make_test_ca, trust_anchors
    from ...nodes.provenance.verify import describe, verify_file
    from ...runtime.atomic import atomic_write_text
    from ...runtime.preflight import check_output_dir, check_output_file

    if args.json:
        check_output_file(args.json, "--json")  # before any work
    if args.make_test_ca:
        check_output_dir(args.make_test_ca, "--make-test-ca")
        paths = make_test_ca(args.make_test_ca)
        print(f"{paths['ca']}: local test CA (trust anchor for verify --trust)\n{paths['cert']}, {paths['key']}: "
              f"signing certificate + key (render --sign-cert/--sign-key, or {ENV_CERT}/{ENV_KEY})")
        if not args.files:
            return 0
    if not args.files:
        raise UsageError("name the files to verify (or --make-test-ca DIR)")
    trust = trust_anchors(args.trust)
    reports = [verify_file(path, trust, args.max_frames) for path in args.files]
    for report in reports:
        print(describe(report))
    if args.json:
        atomic_write_text(args.json, json.dumps(reports, indent=2, default=str))
    return 0 if all(r["ok"] for r in reports) else 3
