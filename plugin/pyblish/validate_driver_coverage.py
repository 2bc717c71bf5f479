"""pyblish validator: the driving track has a face in enough of the shot's frames (min_track_coverage)."""
from __future__ import annotations

from typing import ClassVar

import pyblish.api


class ValidateDriverCoverage(pyblish.api.InstancePlugin):
    """The fraction of driver frames (in the shot's range) with a tracked face is at least the threshold;
    frames without one would hold the last pose."""

    order = pyblish.api.ValidatorOrder
    label = "talkinghead: driving-track coverage"
    families: ClassVar[list[str]] = ["talkinghead.driver"]

    def process(self, instance) -> None:
        from pathlib import Path

        import numpy as np
        from talkinghead.nodes.render.driver import load_driver
        from talkinghead.plugin.pyblish._common import runtime, shot

        sh = shot(instance.context)
        track = load_driver(runtime(instance.context), instance.data["path"], Path(sh.output))
        numbers = track.frame_numbers
        inside = np.ones(len(track), bool)
        if instance.data.get("frames"):
            from talkinghead.nodes.render.shot import frames_text

            wanted = instance.data["frames"]
            inside = np.isin(numbers, wanted)
            if inside.sum() != len(wanted):
                raise AssertionError(f"{instance.data['path']}: the shot's frames {frames_text(wanted)} are not all "
                                     f"in the driver (frames {numbers[0]}-{numbers[-1]})")
        valid = track.valid[inside]
        coverage = float(valid.mean()) if len(valid) else 0.0
        threshold = float(instance.data.get("minCoverage", 0.9))
        instance.data.update(track=track, coverage=coverage)
        if coverage < threshold:
            missing = numbers[inside][~valid][:10].tolist()
            raise AssertionError(f"{instance.data['path']}: a face in {coverage:.0%} of the frames, below "
                                 f"{threshold:.0%}; first frames without one: {missing}")
        self.log.info("driver coverage %.1f%% (threshold %.0f%%)", 100 * coverage, 100 * threshold)
