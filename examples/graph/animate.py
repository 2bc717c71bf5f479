"""The example graph as plain Python: the pipeline called directly on one Runtime (no JSON, no host).

    python examples/graph/animate.py [--out DIR]

Makes the person of the example portrait (photo, landmarks, consent record; no network unless a
meta-learned base is present), drives it with the example track and writes ``DIR/frame.####.png`` (watermarked; signed when
$TALKINGHEAD_SIGN_CERT/KEY are set, else flagged unsigned).
"""
from __future__ import annotations

import argparse
from pathlib import Path

HERE = Path(__file__).resolve().parent
MEDIA = HERE.parent / "media"


def animate(out: Path, device: str = "auto") -> list[Path]:
    """Run the pipeline; returns the written frame paths."""
    from talkinghead.nodes.media.io import expand_pattern, read_image
    from talkinghead.nodes.pipeline import Pipeline, PipelineConfig
    from talkinghead.nodes.provenance.consent import consent_for_model
    from talkinghead.nodes.provenance.output import output_marker
    from talkinghead.nodes.types import FaceTrack
    from talkinghead.runtime.runtime import Runtime

    pipeline = Pipeline(Runtime(device=device), PipelineConfig(landmarks="dlib"))
    photo = read_image(MEDIA / "astronaut.png")
    driver = FaceTrack.load(MEDIA / "driver.track.npz")
    person = pipeline.person([photo], ["astronaut.png"], consent=consent_for_model(MEDIA / "astronaut.consent.json"))
    person.save(out / "astronaut.person.safetensors")
    marker = output_marker(person, where=out)  # watermark; C2PA with $TALKINGHEAD_SIGN_CERT/KEY, else "unsigned"
    paths = []
    for frame in pipeline.frames(person, driver):
        path = expand_pattern(out / "frame.####.png", frame.frame_number)
        marker.write_image(path, marker.watermark(frame.image), frame.frame_number)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "out-python")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    paths = animate(args.out, args.device)
    print(f"wrote {len(paths)} frames: {paths[0]} .. {paths[-1]}")


if __name__ == "__main__":
    main()
