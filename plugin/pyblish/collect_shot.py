"""pyblish collector: a shot YAML (context.data["shotPath"]) -> instances for its sources, driver and render."""
from __future__ import annotations

import pyblish.api


class CollectTalkingheadShot(pyblish.api.ContextPlugin):
    """Read the shot description and create one instance each for the source portraits, the driving clip
    and the render (person model + frames) to publish."""

    order = pyblish.api.CollectorOrder
    label = "talkinghead: collect shot"

    def process(self, context) -> None:
        from talkinghead.nodes.render.shot import frames_text, load_shot

        path = context.data.get("shotPath")
        if not path:
            raise AssertionError('context.data["shotPath"] must name the shot YAML')
        shot = load_shot(path)
        context.data["shot"] = shot
        consent = str(shot.consent) if shot.consent else None
        common = {"shot": shot.name, "consent": consent}
        sources = context.create_instance(f"{shot.name}.sources", family="talkinghead.sources")
        sources.data.update(common, paths=[str(p) for p in shot.sources], minResolution=shot.min_resolution)
        driver = context.create_instance(f"{shot.name}.driver", family="talkinghead.driver")
        driver.data.update(common, path=str(shot.driver), frames=shot.frames, minCoverage=shot.min_track_coverage)
        render = context.create_instance(f"{shot.name}.render", family="talkinghead.render")
        render.data.update(common, files=[])
        self.log.info("shot %s: %d source(s), driver %s, frames %s", shot.name, len(shot.sources), shot.driver,
                      frames_text(shot.frames) if shot.frames else "all")
