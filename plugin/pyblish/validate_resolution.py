"""pyblish validator: source portraits at least the shot's min_resolution (shorter side, pixels)."""
from __future__ import annotations

from typing import ClassVar

import pyblish.api


class ValidateSourceResolution(pyblish.api.InstancePlugin):
    """Each source's shorter side is at least ``min_resolution`` px (default 128): smaller faces blur."""

    order = pyblish.api.ValidatorOrder
    label = "talkinghead: source resolution"
    families: ClassVar[list[str]] = ["talkinghead.sources"]

    def process(self, instance) -> None:
        from talkinghead.nodes.media.io import probe

        minimum = int(instance.data.get("minResolution", 128))
        small = []
        for path in instance.data["paths"]:
            info = probe(path)
            if min(info.width, info.height) < minimum:
                small.append(f"{path}: {info.width}x{info.height}")
        if small:
            raise AssertionError(f"source(s) below the minimum resolution of {minimum} px: " + "; ".join(small))
