"""Render frames of a PersonModel driven by a video or a FaceTrack, as an image sequence and/or MP4.

Frames are written atomically under --out ('####' = the driver frame number, zero-padded to the number of
#s). --frames A-B renders part of the shot: the pixels are bit-identical to the same frames of a full
render. A re-run skips frames already on disk that are complete and renders only the rest, so a killed
render resumes where it stopped; a killed render leaves at most a hidden temporary file, never a partial
frame under the final name. Where --out and --mp4 go is checked before any work.

Frames have the person's photo size: the photo's whole head (hair, ears, neck) moves, its mouth talks and
its eyes look as the driver's do, over the background the head uncovers (inpainted once, or --clean-plate).
With --plate (a plate video or '####' sequence of the photo's size) the head is composited over the plate
instead; --alpha writes the moved head's matte as an alpha channel. When the driver is a video, its mouth
interior is used when the mouth opens wider than the photo's; from a track alone it is synthesised.

Provenance: the PersonModel must carry a current, unedited consent record (embedded by embed / finetune
--consent CONSENT.json) that is bound to its weights, else render refuses (exit 3, naming the file) unless
--no-consent-check is given, which each output's manifest records. A model file whose weights changed after
it was saved is always refused. Every frame gets an invisible watermark (a deterministic function of the
frame, so chunks still equal a full render pixel for pixel) and every file a C2PA manifest (AI-generated
media; EXR: a .c2pa sidecar file) signed with --sign-cert/--sign-key (default $TALKINGHEAD_SIGN_CERT /
$TALKINGHEAD_SIGN_KEY). A frame on disk counts as complete only when it carries its manifest.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ...runtime.errors import BadInputError, UsageError

EXAMPLE = """\
  talkinghead render --person jane.person.safetensors --driver performance.npz --out 'renders/sh010.####.png' \\
      --plate plate.####.exr --alpha --frames 1001-1100 --sign-cert studio.pem --sign-key studio.key
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--person", required=True, help="PersonModel .safetensors (talkinghead finetune)")
    parser.add_argument("--driver", required=True, help="driving video, image sequence or FaceTrack .npz")
    parser.add_argument("--out", required=True, help="image sequence pattern, e.g. 'renders/sh010.####.png' (or .exr)")
    parser.add_argument("--frames", default=None,
                        help="driver frames: A-B, A-BxN (every Nth), A-B,C-D (default: all)")
    parser.add_argument("--plate", default=None, help="composite into this image, video or #### sequence")
    parser.add_argument("--mp4", default=None, help="also write this MP4 (H.264) of the rendered range")
    parser.add_argument("--clean-plate", default=None,
                        help="the background behind the head (an image of the photo's size; default: inpainted)")
    parser.add_argument("--alpha", action="store_true", help="write RGBA frames (alpha = the moved head's matte)")
    parser.add_argument("--retarget", default="relative", choices=("relative", "absolute"),
                        help="relative: the photo keeps its face shape and its irises' rest and performs the "
                             "driver's motion and gaze changes (default); absolute: the driver's face shape and "
                             "iris offsets are placed on the photo")
    parser.add_argument("--batch", type=int, default=8,
                        help="network batch size, when the person carries a fine-tuned network (default 8)")
    parser.add_argument("--backend", default="torch", choices=("torch", "onnx"),
                        help="network backend, when the person carries a fine-tuned network")
    parser.add_argument("--overwrite", action="store_true", help="re-render frames that already exist")
    parser.add_argument("--colorspace", default=None, choices=("linear", "acescg", "srgb"),
                        help="colour space of EXR frames (OpenColorIO built-in config; tagged in the header): "
                             "scene-linear Rec.709 (default), ACEScg, or sRGB-encoded; PNG/JPEG are always sRGB")
    parser.add_argument("--sign-cert", default=None,
                        help="C2PA signing certificate chain PEM (default $TALKINGHEAD_SIGN_CERT; a local test CA: "
                             "talkinghead verify --make-test-ca DIR)")
    parser.add_argument("--sign-key", default=None, help="its private key PEM (default $TALKINGHEAD_SIGN_KEY)")
    parser.add_argument("--no-consent-check", action="store_true",
                        help="render without a valid consent record (recorded in every output's manifest)")
    parser.add_argument("--strict", action="store_true",
                        help="stop (exit 3) when a driver or plate video holds fewer frames than its container "
                             "says (a truncated file); default: a warning")


def run(args: argparse.Namespace) -> int:
    from ...nodes.media.io import read_image
    from ...nodes.pipeline import Pipeline, PipelineConfig
    from ...nodes.render.driver import driver_media, load_driver
    from ...nodes.render.frames_on_disk import frame_path
    from ...nodes.render.plate import plate_source
    from ...nodes.render.renderer import render, render_marker
    from ...nodes.render.shot import parse_frames
    from ...nodes.types import PersonModel
    from ...runtime.preflight import check_output_dir, check_output_file

    frame_path(args.out, 0)  # usage error early when the pattern has no ####
    if args.colorspace not in (None, "srgb") and Path(args.out).suffix.lower() != ".exr":
        raise UsageError(f"--colorspace {args.colorspace} applies to EXR frames; {Path(args.out).suffix} is sRGB")
    frames = parse_frames(args.frames) if args.frames else None
    config = PipelineConfig(retarget=args.retarget, batch_size=args.batch, backend=args.backend)
    check_output_dir(Path(args.out).parent, "--out")  # before any work: never render all, then fail to write
    if args.mp4:
        check_output_file(args.mp4, "--mp4")
    person_path = Path(args.person)
    if not person_path.is_file():
        raise BadInputError("no such PersonModel file", person_path)
    person = PersonModel.load(person_path)
    marker = render_marker(person, person_path, args.sign_cert, args.sign_key, args.no_consent_check)
    clean = read_image(args.clean_plate) if args.clean_plate else None
    rt = args.runtime()
    driver = load_driver(rt, args.driver, Path(args.out).parent, strict=args.strict)
    numbers = driver.frame_numbers
    first = int(numbers[0]) if len(numbers) else 0
    plate, where = plate_source(args.plate, first, strict=args.strict)
    result = render(Pipeline(rt, config), person, driver, args.out, frames, plate, where, args.mp4, args.alpha,
                    args.overwrite, marker=marker, colour=args.colorspace or "linear", clean_plate=clean,
                    driver_media=driver_media(args.driver, first, strict=args.strict))
    held = f", {len(result['held'])} without a driver face (pose held)" if result["held"] else ""
    mouth = ", ".join(f"{k} {v}" for k, v in sorted(result["report"]["mouth"].items()))
    print(f"{args.out}: rendered {len(result['rendered'])} frame(s), kept {len(result['skipped'])} "
          f"valid existing frame(s){held}; {person.info.get('kind', 'network')} person"
          + (f", network preset {person.config.get('name', '?')}" if person.has_network else "")
          + (f"; mouth interiors: {mouth}" if mouth else "") + (f"; {args.mp4}" if args.mp4 else ""))
    return 0
