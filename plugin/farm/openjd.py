"""Open Job Description (2023-09) job template for a shot: a fine-tune step, then render chunks.

The render step's task parameter ``Frames`` takes one "A-B" range per chunk and depends on the
fine-tune step, so a farm (AWS Deadline Cloud, or ``openjd run`` locally) fine-tunes once and renders
chunks in parallel. Chunks are identical to the same frames of a full render, and re-running a chunk
skips frames already written. The render step signs frames (C2PA) with the certificate named by the
workers' TALKINGHEAD_SIGN_CERT / TALKINGHEAD_SIGN_KEY environment.

Portable: every file and folder is a PATH-typed job parameter. Their defaults are relative to the template's
folder (OpenJD joins them to it), so a template kept beside the shot works wherever the tree is mounted;
values given at submission may be absolute, and the farm's path mapping rewrites them for workers that see
the files elsewhere. The command is a job parameter resolved on the worker (``talkinghead`` on its PATH by
default), never this machine's interpreter; ``gpus`` > 0 adds a host requirement (``amount.worker.gpu``).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...nodes.render.shot import Shot

COMMAND = "talkinghead"


def frame_chunks(frames: Sequence[int], chunk: int) -> list[str]:
    """Consecutive groups of ``chunk`` frame numbers in fileseq's range notation (what ``render --frames``
    reads): 1001..1025 by 10 -> ['1001-1010', '1011-1020', '1021-1025']; every 2nd -> ['1001-1019x2', ...]."""
    from ...nodes.render.shot import frames_text

    if chunk < 1:
        raise ValueError("chunk must be >= 1")
    return [frames_text(frames[a:a + chunk]) for a in range(0, len(frames), chunk)]


def path_parameter(name: str, path: Path, kind: str | None, flow: str, description: str,
                   folder: Path) -> dict[str, Any]:
    """A PATH job parameter (``kind`` FILE / DIRECTORY, or None for a ``####`` pattern) whose default is
    ``path`` relative to the template's ``folder``."""
    default = Path(os.path.relpath(path, folder)).as_posix()
    out: dict[str, Any] = {"name": name, "type": "PATH", "dataFlow": flow, "default": default,
                           "description": description}
    if kind:
        out["objectType"] = kind
    return out


def shot_parameters(shot: Shot, command: str, folder: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(parameterDefinitions, {key: "{{Param.Name}}" reference}) for every file and folder of ``shot``;
    defaults relative to the template's ``folder``."""
    params = [{"name": "TalkingheadCommand", "type": "STRING", "default": command,
               "description": "the talkinghead command on the workers (on their PATH, or a full path there)"}]
    refs: dict[str, Any] = {"sources": []}
    for k, source in enumerate(shot.sources):
        params.append(path_parameter(f"Source{k}", source, "FILE", "IN", f"source photo {k + 1} of the person",
                                     folder))
        refs["sources"].append(f"{{{{Param.Source{k}}}}}")
    files = [("Driver", "driver", shot.driver, "FILE", "IN", "driving clip or FaceTrack (.npz)"),
             ("Plate", "plate", shot.plate, "FILE" if shot.plate and "#" not in shot.plate.name else None, "IN",
              "plate to composite into (image, video or #### sequence)"),
             ("Consent", "consent", shot.consent, "FILE", "IN", "consent record of the likeness"),
             ("BaseModel", "model", shot.model, "FILE", "IN", "meta-learned base model"),
             ("OutputDir", "output", shot.output, "DIRECTORY", "OUT", "where the person file and frames go")]
    for name, key, path, kind, flow, description in files:
        if path is not None:
            params.append(path_parameter(name, path, kind, flow, description, folder))
            refs[key] = f"{{{{Param.{name}}}}}"
    return params, refs


def host_requirements(gpus: int) -> dict[str, Any]:
    """``{"hostRequirements": ...}`` asking for ``gpus`` GPUs, or {} for none."""
    return {"hostRequirements": {"amounts": [{"name": "amount.worker.gpu", "min": gpus}]}} if gpus > 0 else {}


def job_template(shot: Shot, frames: Sequence[int], chunk: int, folder: Path, command: str = COMMAND,
                 gpus: int = 0) -> dict:
    """The job template as a dict (dump it as YAML or JSON into ``folder``)."""
    params, ref = shot_parameters(shot, command, Path(folder).resolve())
    person = f"{ref['output']}/{shot.person_path.name}"
    finetune_args = ["finetune", *ref["sources"], "--out", person, "--preset", shot.preset, "--residual", shot.residual]
    for flag, value in (("--steps", shot.finetune.steps), ("--max-seconds", shot.finetune.max_seconds)):
        finetune_args += [] if value is None else [flag, str(value)]
    for key, flag in (("model", "--model"), ("consent", "--consent")):  # consent: render refuses a likeness without
        finetune_args += [flag, ref[key]] if key in ref else []
    render_args = ["render", "--person", person, "--driver", ref["driver"],
                   "--out", f"{ref['output']}/{shot.out_pattern.relative_to(shot.output).as_posix()}",
                   "--frames", "{{Task.Param.Frames}}"]
    render_args += ["--plate", ref["plate"]] if "plate" in ref else []
    run = {"command": "{{Param.TalkingheadCommand}}"}
    return {
        "specificationVersion": "jobtemplate-2023-09",
        "name": f"talkinghead {shot.name}",
        "parameterDefinitions": params,
        "steps": [
            {"name": "FineTune", **host_requirements(gpus),
             "script": {"actions": {"onRun": {**run, "args": finetune_args}}}},
            {"name": "Render", **host_requirements(gpus),
             "dependencies": [{"dependsOn": "FineTune"}],
             "parameterSpace": {"taskParameterDefinitions": [
                 {"name": "Frames", "type": "STRING", "range": frame_chunks(list(frames), chunk)}]},
             "script": {"actions": {"onRun": {**run, "args": render_args}}}},
        ],
    }
