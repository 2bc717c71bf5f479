"""ComfyUI nodes for the default path: Make Person (photos -> PERSON) and Animate (PERSON + FACETRACK -> the
frames at the photo's resolution and the moved head's MASK). Adapters only: the work is ``nodes.pipeline``."""
from __future__ import annotations

from typing import Any

import numpy as np

from ...nodes.networks.presets import DEFAULT_PRESET
from ...nodes.pipeline_nodes import Animate, MakePerson
from . import host
from .files import fingerprint_path
from .spec import FACETRACK, PERSON, NodeSpec, Port, from_port
from .tensors import image_to_uint8, to_mask, uint8_to_image


def make_person(images: Any, landmarks: Any = None, consent: str = "", preset: str = DEFAULT_PRESET, residual: str = "auto",
                steps: int = 0, max_seconds: float = 0.0, backend: str = "auto") -> tuple:
    """K photos (IMAGE batch) -> PERSON (the first photo moves; a network only with a meta-learned base)."""
    from ...runtime.errors import BadInputError

    photos = list(image_to_uint8(images))
    lms = None
    if landmarks is not None:
        if len(landmarks) != len(photos) or not landmarks.valid.all():
            raise BadInputError(f"the landmarks track has {int(landmarks.valid.sum())} valid of {len(landmarks)} "
                                f"frames; {len(photos)} photo(s) need one valid face each", landmarks.where)
        lms = landmarks.landmarks
    path = host.resolve_path(consent) if consent.strip() else None
    rt = host.make_runtime()
    with host.host_errors(), host.autograd():  # a network, when fine-tuned, trains
        out = MakePerson().run(rt, photos, landmarks=lms, consent=path, preset=preset,
                               residual=residual, steps=steps or None, max_seconds=max_seconds or None,
                               backend=backend)
    return (out["person"],)


def animate(person: Any, driver: Any, retarget: str = "relative", frame_range: str = "",
            plate: Any = None) -> tuple:
    """PERSON + driving FACETRACK -> IMAGE (frames at the photo's size, watermarked) and MASK (the moved head)."""
    from ...nodes.render.shot import parse_frames
    from ...runtime.errors import BadInputError

    frames = None
    if frame_range.strip():
        frames = parse_frames(frame_range)
    plates = None if plate is None else image_to_uint8(plate, "plate")
    rt = host.make_runtime()
    with host.host_errors():
        wanted = frames if frames is not None else driver.frame_numbers
        if plates is not None and len(plates) not in (1, len(wanted)):
            raise BadInputError(f"plate has {len(plates)} frames; give 1 or {len(wanted)} (one per frame)")
        index = {int(n): i for i, n in enumerate(wanted)}

        def plate_for(number: int) -> np.ndarray:
            return plates[0] if len(plates) == 1 else plates[index[number]]

        out = Animate().run(rt, person, driver, frames, None if plates is None else plate_for, None, retarget)
        rendered = list(out["frames"])
    return uint8_to_image([f.image for f in rendered]), to_mask([f.alpha for f in rendered])


SPECS = (
    NodeSpec("TalkingheadMakePerson", "Make Person",
             "Photos of one person -> the person to animate (the first photo's whole head moves; the others offer "
             "mouth interiors). A network is fine-tuned only when a meta-learned base is present.",
             [Port("images", "IMAGE"), Port("landmarks", FACETRACK, optional=True),
              Port("consent", "STRING", "", tooltip="consent record JSON of this likeness (talkinghead consent new)"),
              from_port(MakePerson, "preset"), from_port(MakePerson, "residual"),
              from_port(MakePerson, "steps", default=0, tooltip="network fine-tuning steps; 0: the default"),
              from_port(MakePerson, "max_seconds", kind="FLOAT", default=0.0, tooltip="network time box; 0: none"),
              from_port(MakePerson, "backend")],
             [Port("person", PERSON)], make_person,
             fingerprint=lambda consent="", **_: fingerprint_path(consent) if consent.strip() else ""),
    NodeSpec("TalkingheadAnimate", "Animate Person",
             "The person performing the driving track at the photo's resolution: the whole head moves, the mouth "
             "and eyes follow the driver. MASK is the moved head. The frames are watermarked; save them with "
             "Save Frames (talkinghead) to sign them.",
             [Port("person", PERSON), Port("driver", FACETRACK), from_port(Animate, "retarget"),
              Port("frame_range", "STRING", "", tooltip="driver frames: A-B, A-BxN (every Nth), A-B,C-D; empty: all"),
              Port("plate", "IMAGE", optional=True, tooltip="composite over this plate (the photo's size)")],
             [Port("images", "IMAGE"), Port("alpha", "MASK")], animate),
)
