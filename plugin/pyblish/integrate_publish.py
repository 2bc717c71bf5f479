"""pyblish integrator: the staging folder + a JSON manifest (every file, size, sha256) renamed atomically
into the next version folder ``<output>/publish/vNNN``."""
from __future__ import annotations

from typing import ClassVar

import pyblish.api


class IntegratePublish(pyblish.api.InstancePlugin):
    """Write ``manifest.json`` into staging, then rename staging to the next free ``vNNN``: a version folder
    appears complete or not at all."""

    order = pyblish.api.IntegratorOrder
    label = "talkinghead: integrate versioned publish"
    families: ClassVar[list[str]] = ["talkinghead.render"]

    def process(self, instance) -> None:
        from talkinghead.plugin.pyblish._common import publish_root, shot, staging
        from talkinghead.plugin.pyblish._manifest import build_manifest, next_version, promote

        context = instance.context
        sh = shot(context)
        folder = staging(context)
        root = publish_root(sh)
        manifest = build_manifest(folder, sh, next_version(root), instance.data.get("consentRecord"))
        final = promote(folder, root, manifest)
        context.data["stagingDir"] = None
        context.data["publishDir"] = str(final)
        instance.data["publishDir"] = str(final)
        self.log.info("published %s (%d files)", final, len(manifest["files"]))
