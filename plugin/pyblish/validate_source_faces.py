"""pyblish validator: a face in every source frame (landmarks kept for the extractors)."""
from __future__ import annotations

from typing import ClassVar

import pyblish.api


class ValidateSourceFaces(pyblish.api.InstancePlugin):
    """Every source portrait (and every frame taken from a source video) shows a face."""

    order = pyblish.api.ValidatorOrder
    label = "talkinghead: a face in every source frame"
    families: ClassVar[list[str]] = ["talkinghead.sources"]

    def process(self, instance) -> None:
        import numpy as np
        from talkinghead.nodes.landmarks.extract import detect_landmarks_image
        from talkinghead.plugin.commands.sources import read_sources
        from talkinghead.plugin.pyblish._common import runtime
        from talkinghead.runtime.errors import BadInputError

        rt = runtime(instance.context)
        backend = instance.context.data.get("landmarkBackend", "auto")
        images, names = read_sources(instance.data["paths"], per_video=8)
        landmarks, faceless = [], []
        for image, name in zip(images, names):
            try:
                landmarks.append(detect_landmarks_image(rt, image, backend, path=name)[0])
            except BadInputError as exc:
                faceless.append(str(exc))
        if faceless:
            raise AssertionError(f"{len(faceless)} of {len(images)} source frame(s) without a face: "
                                 + "; ".join(faceless))
        instance.data.update(images=images, names=names, landmarks=np.stack(landmarks))
        self.log.info("%d source frame(s), a face in each", len(images))
