"""Publish the example shot through pyblish (the same plugins ``talkinghead publish SHOT.yaml`` runs).

    python examples/pyblish/publish.py [SHOT.yaml] [--sign-cert PEM --sign-key PEM]

Frames are C2PA-signed: without a certificate (here or in TALKINGHEAD_SIGN_CERT/_KEY) a local test CA is
made under the shot's output folder (``talkinghead verify --make-test-ca`` does the same); a studio signs
with its own certificate. Prints each plugin's result and the published version folder; exits 1 on failure.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def publish_shot(shot: Path, sign_cert: str | None = None, sign_key: str | None = None) -> tuple[int, str | None]:
    """(exit code, published folder) after running every plugin on the shot."""
    from talkinghead.nodes.render.shot import load_shot
    from talkinghead.plugin.commands.publish import exit_code, publish

    if not sign_cert and not os.environ.get("TALKINGHEAD_SIGN_CERT"):
        from talkinghead.nodes.provenance.certs import make_test_ca

        ca = make_test_ca(load_shot(shot).output / "test-ca")
        sign_cert, sign_key = str(ca["cert"]), str(ca["key"])
    context, failed = publish({"shotPath": str(shot), "signCert": sign_cert, "signKey": sign_key,
                               "landmarkBackend": "dlib"})
    for result in context.data["results"]:
        label = getattr(result["plugin"], "label", result["plugin"].__name__)
        print(("ok     " if result["success"] else "FAILED ") + label + (f": {result['error']}" if result["error"] else ""))
    return exit_code(failed), context.data.get("publishDir")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shot", nargs="?", type=Path, default=HERE / "shot.yaml")
    parser.add_argument("--sign-cert")
    parser.add_argument("--sign-key")
    args = parser.parse_args()
    code, folder = publish_shot(args.shot, args.sign_cert, args.sign_key)
    print(f"published {folder}" if code == 0 else f"publish failed (exit {code})")
    return code


if __name__ == "__main__":
    sys.exit(main())
