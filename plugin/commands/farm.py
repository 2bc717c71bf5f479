"""Write an Open Job Description job template for a shot: fine-tune once, then render frame chunks.

Run it locally with `openjd run TEMPLATE --step Render --run-dependencies`, or submit it to a farm that
takes OpenJD (AWS Deadline Cloud). Chunks render the same pixels as a full render, and a re-run chunk
skips frames already written. Every file and folder is a PATH job parameter (the farm's path mapping
rewrites them for workers that mount the files elsewhere) and the command is looked up on the worker.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ...nodes.render.shot import frames_text, load_shot, parse_frames
from ...runtime.atomic import atomic_write_text
from ...runtime.errors import BadInputError, UsageError
from ...runtime.preflight import check_output_file
from ..farm.openjd import COMMAND, job_template

EXAMPLE = """\
  talkinghead farm sh010.yaml --chunk 10 --out sh010.openjd.yaml
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shot", help="shot description YAML")
    parser.add_argument("--chunk", type=int, default=10, help="frames per render task (default 10)")
    parser.add_argument("--frames", default=None,
                        help="frames: A-B, A-BxN (every Nth), A-B,C-D (default: the shot's, else the driver's)")
    parser.add_argument("--out", default=None, help="template path (default: <shot output>/<shot>.openjd.yaml)")
    parser.add_argument("--command", default=COMMAND,
                        help=f"the talkinghead command on the workers (default {COMMAND!r}, found on their PATH; "
                             "a job parameter, so it can be changed at submission)")
    parser.add_argument("--gpus", type=int, default=0,
                        help="GPUs each worker must have (host requirement amount.worker.gpu; default 0: any host)")


def _driver_frames(driver: Path) -> tuple[int, ...]:
    if driver.suffix == ".npz":
        from ...nodes.types import FaceTrack

        numbers = FaceTrack.load(driver).frame_numbers
    else:
        from ...nodes.media.io import probe

        numbers = range(probe(driver).n_frames)
    if len(numbers) == 0:
        raise BadInputError("driver has no frames", driver)
    return tuple(int(n) for n in numbers)


def run(args: argparse.Namespace) -> int:
    import yaml

    if args.chunk < 1 or args.gpus < 0:
        raise UsageError("--chunk must be >= 1 and --gpus >= 0")
    shot = load_shot(args.shot)
    frames = parse_frames(args.frames) if args.frames else shot.frames or _driver_frames(shot.driver)
    out = check_output_file(Path(args.out) if args.out else shot.output / f"{shot.name}.openjd.yaml", "--out")
    template = job_template(shot, frames, args.chunk, out.parent, args.command, args.gpus)
    text = json.dumps(template, indent=2) if out.suffix == ".json" else yaml.safe_dump(template, sort_keys=False)
    atomic_write_text(out, text)
    n_tasks = len(template["steps"][1]["parameterSpace"]["taskParameterDefinitions"][0]["range"])
    print(f"{out}: fine-tune, then {n_tasks} render task(s) of up to {args.chunk} frames ({frames_text(frames)})")
    return 0
