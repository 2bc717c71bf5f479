"""pyblish extractor: the shot's person (photos, landmarks, consent record; a fine-tuned network when a
meta-learned base is present) into staging."""
from __future__ import annotations

from typing import ClassVar

import pyblish.api


class ExtractPerson(pyblish.api.InstancePlugin):
    """The person of the source portraits (``Pipeline.person``; the shot's fine-tuning budget unless the
    context overrides it) -> ``<staging>/<shot>.person.safetensors``."""

    order = pyblish.api.ExtractorOrder
    label = "talkinghead: person"
    families: ClassVar[list[str]] = ["talkinghead.render"]

    def process(self, instance) -> None:
        from talkinghead.nodes.provenance.consent import consent_for_model
        from talkinghead.plugin.pyblish._common import instance_of, pipeline, shot, staging

        context = instance.context
        sh = shot(context)
        sources = instance_of(context, "talkinghead.sources").data
        person = pipeline(context).person(sources["images"], sources["names"], sources["landmarks"],
                                          consent=consent_for_model(sh.consent))
        path = staging(context) / f"{sh.name}.person.safetensors"
        person.save(path)
        instance.data["personPath"] = str(path)
        instance.data["files"].append(str(path))
        self.log.info("%s: %s", path.name, person.info.get("network", ""))
