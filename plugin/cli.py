"""The `talkinghead` command: few-shot talking heads from one or a few photos and a driving performance.

Each subcommand lives in ``plugin/commands/<name>.py`` with ``add_arguments(parser)``, ``run(args) -> int``
and ``EXAMPLE`` (shown under its --help); its module docstring is its --help description, so it speaks to
users (no internal references: those go in comments). ``args.runtime()`` builds the Runtime from the global
flags on first use. A subcommand whose module is not there yet exits 2 with 'not available yet'.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import signal
import sys
from collections.abc import Sequence

from ..runtime.errors import Interrupted, TalkingheadError

DESCRIPTION = """\
Few-shot talking heads (Zakharov et al., ICCV 2019): one or a few photos of a person and a driving
performance (another video's facial landmarks) make a video of that person performing it."""
EPILOG = """\
exit codes:
  0  success
  2  usage error (a wrong flag or combination of flags)
  3  bad input (unreadable or truncated media, no face, damaged model file, ...; the message names the
     file and frame)
  4  missing weights (the message names every place looked in and how to get the file)
  5  interrupted (Ctrl-C or SIGTERM: stops at the next safe point, keeping what can be kept)

'talkinghead COMMAND --help' describes a command and shows an example.
"""

COMMANDS: dict[str, str] = {
    "demo": "animate the embedded default (astronaut photo + carphone clip), offline",
    "landmarks": "extract a 68-point FaceTrack from videos, images or image sequences",
    "embed": "embed K photos of a person into an Identity",
    "finetune": "few-shot fine-tune a PersonModel on K photos",
    "render": "render frames of a PersonModel driven by a video or track",
    "export": "export a PersonModel's generator to ONNX or TorchScript",
    "preprocess": "turn a folder of videos / stills into training shards",
    "train": "meta-learn a base model (torchrun for several GPUs)",
    "eval": "self-reenactment evaluation on real clips",
    "bench": "benchmark generator, embedder and landmark throughput",
    "weights": "list, verify or fetch model weights",
    "graph": "run a JSON graph of nodes",
    "publish": "publish a shot through pyblish",
    "farm": "write an Open Job Description render-farm template",
    "consent": "create, inspect and check consent records (and seal model files)",
    "verify": "verify the provenance marks of rendered files and the seals of model files",
    "doctor": "show device, precision, ONNX Runtime providers and weights",
    "info": "print parameter counts of the network presets",
}


def _command_module(name: str) -> str | None:
    module = f"{__package__}.commands.{name}"
    return module if importlib.util.find_spec(module) is not None else None


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="talkinghead", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"talkinghead {__version__}")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda[:N] | mps (env TALKINGHEAD_DEVICE)")
    parser.add_argument("--precision", default="auto", help="auto | 32-true | 16-mixed | bf16-mixed")
    parser.add_argument("--models-dir", default=None, help="extra folder searched for weights")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", action="store_true",
                          help="only warnings and errors on stderr: no progress bars or lines, no info messages "
                               "(results still go to stdout)")
    loudness.add_argument("-v", "--verbose", action="count", default=0, help="more log output: debug messages too")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        module_name = _command_module(name)
        if module_name is None:
            p = sub.add_parser(name, help=f"{help_text} (not available yet)", add_help=False)
            p.add_argument("rest", nargs=argparse.REMAINDER)
            p.set_defaults(_module=None)
            continue
        module = importlib.import_module(module_name)
        example = getattr(module, "EXAMPLE", "")
        p = sub.add_parser(name, help=help_text, description=(module.__doc__ or help_text).strip(),
                           epilog=f"example:\n{example}" if example else None,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def quiet_progress(total: int | None, desc: str):
    """The progress reporter of --quiet: no bar, no lines (the work and cancellation go on as usual)."""
    from ..runtime.progress import SilentProgress

    return SilentProgress()


def log_level(args: argparse.Namespace) -> int:
    """WARNING with --quiet, INFO by default, DEBUG with -v."""
    if args.quiet:
        return logging.WARNING
    return logging.DEBUG if args.verbose else logging.INFO


def _runtime_factory(args: argparse.Namespace):
    built: dict = {}

    def runtime():
        if "rt" not in built:
            from ..runtime.runtime import Runtime

            built["rt"] = Runtime(device=args.device, precision=args.precision, models_dir=args.models_dir,
                                  progress=quiet_progress if args.quiet else None)
        return built["rt"]

    runtime.built = built
    return runtime


def _sigterm_handler(built: dict):
    """SIGTERM (farm cancel, timeout): the first one cancels the runtime, so loops stop at their next
    safe point (a step or batch boundary: training saves a consistent checkpoint); before a runtime
    exists, or on a second SIGTERM, it interrupts at once."""
    def handler(signum: int, frame: object) -> None:
        rt = built.get("rt")
        if rt is None or rt.cancel.cancelled:
            raise Interrupted(f"terminated by signal {signum}")
        rt.cancel.cancel()
        rt.log.warning("terminated by signal %d: stopping at the next safe point (send it again to stop now)", signum)

    return handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=log_level(args), format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    logging.getLogger("talkinghead").setLevel(log_level(args))
    if args.command is None:
        parser.print_help()
        return 2
    if args._module is None:
        print(f"talkinghead {args.command}: not available yet", file=sys.stderr)
        return 2
    args.runtime = _runtime_factory(args)
    previous = signal.signal(signal.SIGTERM, _sigterm_handler(args.runtime.built))
    try:
        return int(args._module.run(args) or 0)
    except KeyboardInterrupt:
        print("talkinghead: interrupted", file=sys.stderr)
        return Interrupted.exit_code
    except TalkingheadError as exc:
        print(f"talkinghead {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
