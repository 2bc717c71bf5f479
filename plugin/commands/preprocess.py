"""Turn videos and annotated stills into meta-learning shards for `talkinghead train`, computed once.

VIDEO_DIR: any folder of videos; the VoxCeleb layout identity/video/clip.mp4 makes one sequence per video,
otherwise each file is one. Up to --max-frames evenly spaced frames per clip are decoded, their landmarks
found (--backend: FAN when its weights are present, else dlib) and cropped with one face-centred crop per
clip (margin 0.4, the crop generation uses) at --size px.
--stills DIR: photos with 68-point .pts ground truth (index.json identity_group = identity), used as
one-frame identities whose training episodes come from augmentation.

Resumable (sequences already in DATASET are skipped), parallel (--workers processes), never aborted by a
corrupt or faceless video: those are listed in DATASET/report.json (and skipped on reruns unless
--retry-failed).
"""
# Paper §3.2, §4: one sequence = one W_i of D's embedding table; the crop is sketch.face_crop_matrix's.
from __future__ import annotations

import argparse

from ...runtime.errors import BadInputError

EXAMPLE = """\
  talkinghead preprocess videos/ --stills annotated_stills/ --out dataset-256 --workers 4
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("videos", nargs="*", metavar="VIDEO_DIR", help="folders of videos")
    parser.add_argument("--out", required=True, help="DATASET folder (created; existing shards are kept)")
    parser.add_argument("--stills", action="append", default=[], metavar="DIR",
                        help="folder of photos with .pts landmarks (repeatable)")
    parser.add_argument("--size", type=int, default=256, help="crop side in px (default 256, the paper's)")
    parser.add_argument("--max-frames", type=int, default=128, help="frames kept per clip (default 128)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2; 0 = in this process)")
    parser.add_argument("--backend", default="auto", choices=["auto", "fan", "dlib"], help="landmark backend")
    parser.add_argument("--quality", type=int, default=95, help="JPEG quality of the stored crops (default 95)")
    parser.add_argument("--retry-failed", action="store_true", help="retry sequences that failed before")


def run(args: argparse.Namespace) -> int:
    from ...nodes.training.preprocess import PreprocessConfig, preprocess_dataset
    from ...runtime.preflight import check_output_dir

    check_output_dir(args.out, "--out")  # before any work
    cfg = PreprocessConfig(size=args.size, max_frames=args.max_frames, quality=args.quality, backend=args.backend,
                           workers=args.workers, retry_failed=args.retry_failed)
    report = preprocess_dataset(args.runtime(), args.out, args.videos, args.stills, cfg)
    data = report["dataset"]
    if not data:
        raise BadInputError(f"no usable sequence ({len(report['failed'])} failed; see {args.out}/report.json)")
    print(f"{args.out}: {data['sequences']} sequences ({data['kinds'].get('video', 0)} videos, "
          f"{data['kinds'].get('still', 0)} still identities), {data['frames']} frames; this run: "
          f"{report['done_now']} done, {report['already_done']} already done, {len(report['failed'])} failed "
          f"(listed in {args.out}/report.json) in {report['seconds']:.0f} s")
    return 0
