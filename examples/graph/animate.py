"""The example graph as plain Python: the nodes called directly on one Runtime (no JSON, no host).

    python examples/graph/animate.py [--out DIR] [--preset tiny-64] [--steps 3]

Embeds the example portrait, fine-tunes a person model from the best base present (a seeded random
initialisation when there is no meta-learned one: the faces then look like noise; train a base or use
more steps), drives it with the example track, composites into the photo and writes ``DIR/frame.####.png``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

HERE = Path(__file__).resolve().parent
MEDIA = HERE.parent / "media"


def animate(out: Path, preset: str = "tiny-64", steps: int = 3, device: str = "auto") -> list[Path]:
    """Run the pipeline; returns the written frame paths."""
    from talkinghead.nodes.composite import Composite
    from talkinghead.nodes.embedding import EmbedIdentity
    from talkinghead.nodes.finetune import FineTune
    from talkinghead.nodes.generate import GenerateFrames
    from talkinghead.nodes.media.io import expand_pattern, read_image, write_image
    from talkinghead.nodes.person import load_base
    from talkinghead.nodes.types import FaceTrack
    from talkinghead.runtime.runtime import Runtime

    rt = Runtime(device=device)
    photo = read_image(MEDIA / "astronaut.png")
    driver = FaceTrack.load(MEDIA / "driver.track.npz")
    base = load_base(rt, preset=preset)
    identity = EmbedIdentity().run(rt, base, [photo], backend="dlib")["identity"]
    person = FineTune().run(rt, base, identity, [photo], steps=steps)["person"]
    person.save(out / "astronaut.person.safetensors")
    generated = GenerateFrames().run(rt, person=person, driver=driver, batch_size=4)["frames"]
    paths = []
    for number, image, _alpha in Composite().run(rt, generated, photo)["frames"]:
        path = expand_pattern(out / "frame.####.png", number)
        write_image(path, image)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "out-python")
    parser.add_argument("--preset", default="tiny-64")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    paths = animate(args.out, args.preset, args.steps, args.device)
    print(f"wrote {len(paths)} frames: {paths[0]} .. {paths[-1]}")


if __name__ == "__main__":
    main()
