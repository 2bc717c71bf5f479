"""Values on the adapter-only sockets (TALKINGHEAD_BASE, TALKINGHEAD_FRAMES); the others carry the
package's own wire types (FaceTrack, Identity, PersonModel)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class BaseHandle:
    """A loaded base model and the device/precision it was loaded for (the nodes fed by it use the same).

    Attributes:
        base: ``nodes.person.BaseModel``.
        device: device string the modules live on.
        precision: the runtime's precision name ("32-true", "16-mixed", "bf16-mixed").
    """

    base: Any
    device: str
    precision: str


@dataclass(frozen=True)
class GeneratedClip:
    """Generated frames on their way to Composite.

    Attributes:
        items: ``nodes.generate.GeneratedFrame`` per frame (crop, crop matrix, landmarks).
        source_landmarks: (68, 2) the person's source face in source-image px (joins the matte hull).
        source_size: (H, W) of the source image: the plate must have this size.
        payload: the watermark payload (the person's consent id prefix) Composite marks its frames with.
    """

    items: tuple
    source_landmarks: np.ndarray
    source_size: tuple[int, int]
    payload: int = 0
