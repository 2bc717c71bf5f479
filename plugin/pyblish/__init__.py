"""pyblish adapter: publish a shot (nodes/shot.py YAML) as a versioned, checksummed folder.

Plugins (one file each, executed by pyblish as bare modules, hence absolute ``talkinghead.`` imports):
collect_shot (instances: sources, driver, render), validate_source_faces, validate_resolution,
validate_driver_coverage, validate_consent (provenance), extract_person, extract_render, integrate_publish.
Context data the plugins read: ``shotPath`` (required), ``runtime`` (a Runtime; default built on first
use), ``finetuneSteps`` / ``finetuneMaxSeconds`` (override the shot's), ``signCert`` / ``signKey`` (C2PA
signing; else the environment), ``landmarkBackend``.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def plugin_folder() -> Path:
    """The folder holding the plugin files (register it with ``pyblish.api.register_plugin_path``)."""
    return Path(__file__).resolve().parent


def discover_plugins() -> list[Any]:
    """Every plugin in ``plugin_folder()``, sorted by order; UsageError naming a plugin file that failed to
    load (pyblish itself only logs it and publishes without it)."""
    import pyblish.plugin

    from ...runtime.errors import UsageError

    folder = plugin_folder()
    plugins = pyblish.plugin.discover(paths=[str(folder)])
    for path in sorted(folder.glob("*.py")):
        if not path.name.startswith("_") and str(path) not in sys.modules:
            raise UsageError(f"{path}: pyblish could not load this plugin file (see the log above)")
    return sorted(plugins, key=lambda p: p.order)
