"""Shared by the plugin files (not a plugin: pyblish skips files starting with "_")."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any


def runtime(context: Any) -> Any:
    """The context's Runtime (``context.data["runtime"]``), built with defaults on first use."""
    if context.data.get("runtime") is None:
        from talkinghead.runtime.runtime import Runtime

        context.data["runtime"] = Runtime()
    return context.data["runtime"]


def pipeline(context: Any) -> Any:
    """The shot's Pipeline (its preset, base model and fine-tuning budget; the context may override the budget
    with ``finetuneSteps`` / ``finetuneMaxSeconds``)."""
    from talkinghead.nodes.budget import Budget
    from talkinghead.nodes.pipeline import Pipeline, PipelineConfig

    sh = shot(context)
    budget = Budget(context.data.get("finetuneSteps", sh.finetune.steps),
                    context.data.get("finetuneMaxSeconds", sh.finetune.max_seconds))
    return Pipeline(runtime(context), PipelineConfig(preset=sh.preset, model=sh.model, residual=sh.residual,
                                                     budget=budget))


def shot(context: Any) -> Any:
    """The collected Shot."""
    return context.data["shot"]


def instance_of(context: Any, family: str) -> Any:
    """The first instance of ``family`` (the collector makes one of each)."""
    for instance in context:
        if instance.data.get("family") == family:
            return instance
    raise LookupError(f"no {family} instance collected")


def staging(context: Any) -> Path:
    """The hidden folder the extractors write into, next to the versions (renamed into place by the integrator)."""
    if context.data.get("stagingDir") is None:
        root = publish_root(shot(context))
        root.mkdir(parents=True, exist_ok=True)
        context.data["stagingDir"] = Path(tempfile.mkdtemp(prefix=f".{shot(context).name}.staging-", dir=root))
    return Path(context.data["stagingDir"])


def publish_root(shot_: Any) -> Path:
    """``<shot output>/publish``: holds v001, v002, ..."""
    return Path(shot_.output) / "publish"
