"""pyblish extractor: render the shot's frames (C2PA-signed, watermarked) from the fine-tuned person into staging."""
from __future__ import annotations

from typing import ClassVar

import pyblish.api


class ExtractRender(pyblish.api.InstancePlugin):
    """Render the shot's frame range with ``talkinghead render``'s code (composited into the plate if the
    shot has one) -> ``<staging>/<pattern>``."""

    order = pyblish.api.ExtractorOrder + 0.1
    label = "talkinghead: render frames"
    families: ClassVar[list[str]] = ["talkinghead.render"]

    def process(self, instance) -> None:
        from pathlib import Path

        from talkinghead.nodes.render.plate import plate_source
        from talkinghead.nodes.render.renderer import render, render_marker
        from talkinghead.nodes.types import PersonModel
        from talkinghead.plugin.pyblish._common import instance_of, pipeline, shot, staging

        context = instance.context
        sh = shot(context)
        person_path = Path(instance.data["personPath"])
        person = PersonModel.load(person_path)
        marker = render_marker(person, person_path, context.data.get("signCert"), context.data.get("signKey"))
        track = instance_of(context, "talkinghead.driver").data["track"]
        plate, where = plate_source(sh.plate, int(track.frame_numbers[0]))
        out = staging(context) / sh.pattern
        result = render(pipeline(context), person, track, out, sh.frames, plate, where, marker=marker)
        instance.data["files"].extend(str(p) for p in result["paths"])
        self.log.info("rendered %d frame(s) to %s", len(result["paths"]), out)
