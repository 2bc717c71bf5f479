"""Publish a shot through pyblish: collect, validate, fine-tune, render, integrate a versioned folder.

Runs the talkinghead pyblish plugins on the shot description (a face in every source frame, resolution,
driving-track coverage, consent record; then fine-tune, render and integrate <output>/publish/vNNN with a
manifest of every file and its sha256) and exits non-zero when any plugin failed (pyblish itself does not):
3 when a validator failed, else the failing step's exit code (4 missing weights, 5 interrupted, 1
otherwise). A failed publish leaves no version folder behind.
"""
# The plugins live in plugin/pyblish; the shot description format in nodes/shot.py.
from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

from ...runtime.errors import BadInputError, TalkingheadError

EXAMPLE = """\
  talkinghead publish sh010.yaml --sign-cert studio.pem --sign-key studio.key
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shot", help="shot description YAML (keys: shot, sources, driver, output; optional plate, frames, "
                                         "preset, model, finetune, consent)")
    parser.add_argument("--steps", type=int, default=None, help="fine-tuning steps (default: the shot's)")
    parser.add_argument("--max-seconds", type=float, default=None, help="fine-tuning time box (default: the shot's)")
    parser.add_argument("--backend", default="auto", choices=("auto", "fan", "dlib"), help="landmark backend")
    parser.add_argument("--sign-cert", default=None, help="C2PA signing certificate chain (PEM); else the environment")
    parser.add_argument("--sign-key", default=None, help="its private key (PEM)")


def publish(context_data: dict[str, Any]) -> tuple[Any, list[dict]]:
    """Run every plugin on a new context holding ``context_data``; (context, failed results)."""
    import pyblish.api
    import pyblish.util

    from ..pyblish import discover_plugins

    context = pyblish.api.Context()
    context.data.update(context_data)
    try:
        pyblish.util.publish(context, plugins=discover_plugins())
    finally:
        staging = context.data.get("stagingDir")
        if staging:  # a failed extractor or integrator: no half-built version stays behind
            shutil.rmtree(staging, ignore_errors=True)
    failed = [r for r in context.data.get("results", []) if not r.get("success")]
    return context, failed


def exit_code(failed: list[dict]) -> int:
    """3 when a validator failed, else the first failing step's TalkingheadError code, else 1; 0 if none."""
    import pyblish.api

    if not failed:
        return 0
    if any(pyblish.api.ValidatorOrder - 0.5 <= r["plugin"].order < pyblish.api.ExtractorOrder - 0.5 for r in failed):
        return BadInputError.exit_code
    for result in failed:
        error = result.get("error")
        for exc in (error, getattr(error, "__cause__", None)):
            if isinstance(exc, TalkingheadError):
                return exc.exit_code
    return 1


def _line(result: dict) -> str:
    plugin = result["plugin"]
    label = getattr(plugin, "label", None) or plugin.__name__
    where = f" [{result['instance']}]" if result.get("instance") is not None else ""
    status = "ok    " if result.get("success") else "FAILED"
    error = f": {result['error']}" if result.get("error") else ""
    return f"{status} {label}{where}{error}"


def run(args: argparse.Namespace) -> int:
    from ...nodes.render.shot import load_shot
    from ...runtime.preflight import check_output_dir

    check_output_dir(load_shot(args.shot).output, "the shot's output")  # before any plugin runs
    data: dict[str, Any] = {"shotPath": str(Path(args.shot)), "runtime": args.runtime(), "landmarkBackend": args.backend,
                            "signCert": args.sign_cert, "signKey": args.sign_key}
    if args.steps is not None:
        data["finetuneSteps"] = args.steps
    if args.max_seconds is not None:
        data["finetuneMaxSeconds"] = args.max_seconds
    context, failed = publish(data)
    for result in context.data.get("results", []):
        print(_line(result))
    if failed:
        print(f"{args.shot}: publish FAILED ({len(failed)} plugin(s) failed); nothing was published")
        return exit_code(failed)
    print(f"{args.shot}: published {context.data.get('publishDir')}")
    return 0
