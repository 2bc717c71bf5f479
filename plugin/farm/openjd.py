"""Open Job Description (2023-09) job template for a shot: a fine-tune step, then render chunks.

The render step's task parameter ``Frames`` takes one "A-B" range per chunk and depends on the
fine-tune step, so a farm (AWS Deadline Cloud, or ``openjd run`` locally) fine-tunes once and renders
chunks in parallel. Chunks are identical to the same frames of a full render, and re-running a chunk
skips frames already written. The render step signs frames (C2PA) with the certificate named by the
workers' TALKINGHEAD_SIGN_CERT / TALKINGHEAD_SIGN_KEY environment.
"""
from __future__ import annotations

import shlex
import sys

from ...nodes.render.shot import Shot


def frame_chunks(first: int, last: int, chunk: int) -> list[str]:
    """['1001-1010', '1011-1020', ...] covering first..last inclusive."""
    if chunk < 1:
        raise ValueError("chunk must be >= 1")
    return [f"{a}-{min(a + chunk - 1, last)}" for a in range(first, last + 1, chunk)]


def job_template(shot: Shot, first: int, last: int, chunk: int, executable: str | None = None) -> dict:
    """The job template as a dict (dump it as YAML or JSON)."""
    exe = executable or f"{sys.executable} -m talkinghead.plugin.cli"
    command, *prefix = shlex.split(exe)
    finetune_args = [*prefix, "finetune", *map(str, shot.sources), "--out", str(shot.person_path),
                     "--preset", shot.preset]
    for flag, value in (("--steps", shot.finetune.steps), ("--max-seconds", shot.finetune.max_seconds)):
        finetune_args += [] if value is None else [flag, str(value)]
    if shot.model is not None:
        finetune_args += ["--model", str(shot.model)]
    if shot.consent is not None:  # embedded in the person: render refuses a likeness without a consent record
        finetune_args += ["--consent", str(shot.consent)]
    render_args = [*prefix, "render", "--person", str(shot.person_path), "--driver", str(shot.driver),
                   "--out", str(shot.out_pattern), "--frames", "{{Task.Param.Frames}}"]
    if shot.plate is not None:
        render_args += ["--plate", str(shot.plate)]
    return {
        "specificationVersion": "jobtemplate-2023-09",
        "name": f"talkinghead {shot.name}",
        "steps": [
            {"name": "FineTune",
             "script": {"actions": {"onRun": {"command": command, "args": finetune_args}}}},
            {"name": "Render",
             "dependencies": [{"dependsOn": "FineTune"}],
             "parameterSpace": {"taskParameterDefinitions": [
                 {"name": "Frames", "type": "STRING", "range": frame_chunks(first, last, chunk)}]},
             "script": {"actions": {"onRun": {"command": command, "args": render_args}}}},
        ],
    }
