"""Extract a 68-point FaceTrack (.npz) from each INPUT: a video (mp4/mov/...), an image, an image
sequence ('shot.####.png', 'shot.%04d.exr') or a folder of images.

One input: --out is the track file (TRACK.npz). Several inputs: --out is a folder and each track is
written there as <input name>.npz (the frame placeholder and extension dropped: shot.####.png -> shot.npz).
Backends: fan (face-alignment 2D-FAN-4, the paper's tracker; needs its cached weights), dlib (offline;
68-point predictor trained on iBUG 300-W, non-commercial), auto (fan when its weights are present, else dlib).
Frames with no face are marked invalid; --fill interpolates them (and marks them filled). With several
inputs, one that fails (unreadable, no face) does not stop the others: their tracks are written and the
failures are listed at the end (exit 3). A photo with several faces: the largest is taken and the log says
which (--face INDEX takes another). Where the tracks go is checked before any work.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from ...runtime.errors import UsageError

EXAMPLE = """\
  talkinghead landmarks performance.mov --out performance.npz --smooth
  talkinghead landmarks photos/*.jpg --out tracks/                      (one track per input)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="video, image, sequence pattern or folder")
    parser.add_argument("--out", required=True, help="TRACK.npz (one input) or a folder (several inputs)")
    parser.add_argument("--backend", default="auto", choices=["auto", "fan", "dlib"])
    parser.add_argument("--face", default="largest",
                        help="largest | track | INDEX (0 = leftmost face); the chosen face is followed")
    parser.add_argument("--smooth", action="store_true", help="One Euro temporal smoothing (zero phase)")
    parser.add_argument("--fill", action="store_true", help="interpolate frames where no face was found")
    parser.add_argument("--strict", action="store_true",
                        help="stop (exit 3) when a video holds fewer frames than its container says (a truncated "
                             "file); default: a warning naming the file and both counts")
    parser.add_argument("--iris", action=argparse.BooleanOptionalAction, default=True,
                        help="also locate both irises on every frame, so a driven face follows the gaze (default on)")


def track_name(source: str) -> str:
    """'clip.mp4' -> 'clip.npz'; 'shot.####.png' / 'shot.%04d.png' -> 'shot.npz'; folder 'plates/' -> 'plates.npz'."""
    path = Path(source)
    name = path.name if path.is_dir() else path.stem
    name = re.sub(r"[._-]?(#+|%0?\d*d)$", "", name) or "track"
    return f"{name}.npz"


def output_paths(inputs: list[str], out: str) -> list[Path]:
    """Where each input's track goes (see module docstring); UsageError for ambiguous requests."""
    target = Path(out)
    if len(inputs) == 1 and not target.is_dir():
        if target.suffix.lower() != ".npz":
            raise UsageError(f"--out {out}: a track file must end in .npz (or give an existing folder)")
        return [target]
    if target.suffix.lower() == ".npz":
        raise UsageError(f"--out {out}: with {len(inputs)} inputs --out must be a folder, not a .npz file")
    paths = [target / track_name(source) for source in inputs]
    if len(set(paths)) != len(paths):
        raise UsageError("several inputs would write the same track name in --out; run them separately")
    return paths


def run(args: argparse.Namespace) -> int:
    from ...nodes.landmarks.extract import ExtractLandmarks, parse_face
    from ...runtime.errors import BadInputError
    from ...runtime.preflight import check_output_file

    parse_face(args.face)
    outs = output_paths(args.inputs, args.out)
    for out in outs:  # before any work: never extract everything, then fail to write
        check_output_file(out, "--out")
    rt = args.runtime()
    node = ExtractLandmarks()
    failed: list[BadInputError] = []
    for source, out in zip(args.inputs, outs):
        try:
            track = node.run(rt, source, backend=args.backend, face=args.face, smooth=args.smooth,
                             fill=args.fill, strict=args.strict, iris=args.iris)["track"]
        except BadInputError as exc:
            if len(outs) == 1:
                raise
            failed.append(exc)
            rt.log.warning("%s; going on with the other inputs", exc)
            continue
        track.save(out)
        print(f"{out}: {len(track)} frames, face found in {int(track.valid.sum())}"
              f"{f', {int(track.filled.sum())} filled' if args.fill else ''}; backend {track.backend}"
              f"{', smoothed' if track.smoothed else ''}{', irises' if track.iris is not None else ''}")
    if failed:
        raise BadInputError(f"{len(failed)} of {len(outs)} input(s) failed, the other tracks were written:\n  "
                            + "\n  ".join(str(exc) for exc in failed))
    return 0
