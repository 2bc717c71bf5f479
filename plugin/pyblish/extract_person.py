"""pyblish extractor: few-shot fine-tune the shot's person model (consent record embedded) into staging."""
from __future__ import annotations

from typing import ClassVar

import pyblish.api


class ExtractPerson(pyblish.api.InstancePlugin):
    """Embed the source portraits and fine-tune a PersonModel (shot's steps/time box unless the context
    overrides them) -> ``<staging>/<shot>.person.safetensors``."""

    order = pyblish.api.ExtractorOrder
    label = "talkinghead: fine-tune person model"
    families: ClassVar[list[str]] = ["talkinghead.render"]

    def process(self, instance) -> None:
        from talkinghead.nodes.embedding import EmbedIdentity
        from talkinghead.nodes.finetune import FineTune
        from talkinghead.nodes.person import load_base
        from talkinghead.nodes.provenance.consent import attach_consent, consent_for_model
        from talkinghead.plugin.pyblish._common import instance_of, runtime, shot, staging

        context = instance.context
        sh, rt = shot(context), runtime(context)
        sources = instance_of(context, "talkinghead.sources").data
        base = load_base(rt, preset=sh.preset, path=sh.model)
        self.log.info("base model (%s): %s", base.cfg.name, base.origin)
        identity = EmbedIdentity().run(rt, base, sources["images"], sources["landmarks"],
                                       names=sources["names"])["identity"]
        identity = attach_consent(identity, consent_for_model(sh.consent))
        steps = context.data.get("finetuneSteps", sh.finetune.steps)
        seconds = context.data.get("finetuneMaxSeconds", sh.finetune.max_seconds)
        person = FineTune().run(rt, base, identity, sources["images"], sources["landmarks"], steps=steps,
                                max_seconds=seconds, names=sources["names"])["person"]
        path = staging(context) / f"{sh.name}.person.safetensors"
        person.save(path)
        instance.data["personPath"] = str(path)
        instance.data["files"].append(str(path))
        self.log.info("%s: %d steps in %.0f s", path.name, person.info["steps"], person.info["seconds"])
