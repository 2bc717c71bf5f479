"""Orchestration of the self-reenactment evaluation: clips x T x methods -> report, grids, frames.

Per clip: the dlib track (cached), the frames the protocol needs (decoded once). Per T: the split,
one crop from the few-shot frames' landmarks (``sketch.face_crop_matrix``), the Scene (few-shot and
target crops), the Reference (re-detected real landmarks, descriptors, hard frames), then every method
is run and scored. The report is rewritten (atomically) after every clip, so a long run can be read
while it goes and a crash keeps what was done.
"""
from __future__ import annotations

import datetime
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...runtime.errors import BadInputError, UsageError
from ..networks.presets import DEFAULT_PRESET
from . import report as R
from .methods import (
    METHODS,
    MethodResult,
    Scene,
    run_copy,
    run_model,
    run_portrait,
    run_warp,
    run_warp_regions,
)
from .protocol import HARD_THRESHOLD, MAX_TARGETS, hard_frames, nearest_fewshot, split_clip
from .scoring import Reference, score_outputs, summarise
from .scoring import make_reference as real_reference

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime


@dataclass(frozen=True)
class EvalConfig:
    """What to evaluate.

    Attributes:
        clips: folder of videos; only: clip stems to keep (None: all).
        shots: the T values; size: crop side S; margin: crop margin (None: the base's, else 0.4).
        methods: any of ``METHODS``; variants: objective variants for "model" (``training.objective.VARIANTS``).
        steps, batch, lr_g, lr_d, seed: fine-tuning; identity_weight: the face loss's identity term;
            augment: fine-tuning's joint frame + landmark augmentation (False: none).
        preset, base: base model preset and explicit file (None: ``person.load_base``'s choice).
        max_targets: targets per clip; grid_rows: targets shown per T in the grids.
        save_frames: folder for the scored PNGs (None: not written); grids: folder for the grids.
        cache_dir: landmark track cache (None: ``clips.default_cache_dir()``).
        command: the argv recorded in the report.
    """

    clips: Path
    shots: tuple[int, ...] = (1, 8, 32)
    size: int = 128
    margin: float | None = None
    methods: tuple[str, ...] = ("warp", "copy")
    variants: tuple[str, ...] = ("full",)
    steps: int = 100
    batch: int = 4
    lr_g: float | None = None
    lr_d: float | None = None
    seed: int = 0
    identity_weight: float = 0.0
    augment: bool = True
    preset: str = DEFAULT_PRESET
    base: Path | None = None
    max_targets: int = MAX_TARGETS
    grid_rows: int = 4
    only: tuple[str, ...] | None = None
    save_frames: Path | None = None
    grids: Path | None = None
    cache_dir: Path | None = None
    command: tuple[str, ...] = field(default_factory=tuple)


def method_names(cfg: EvalConfig) -> list[str]:
    """Report names: "model:<variant>" per variant, then "warp", "copy" (in ``cfg.methods`` order)."""
    from ..training.objective import VARIANTS

    names = []
    for m in cfg.methods:
        if m not in METHODS:
            raise UsageError(f"unknown method {m!r}; use {', '.join(METHODS)}")
        if m == "model":
            unknown = [v for v in cfg.variants if v not in VARIANTS]
            if unknown:
                raise UsageError(f"unknown variant(s) {', '.join(unknown)}; use {', '.join(VARIANTS)}")
            names += [f"model:{v}" for v in cfg.variants]
        else:
            names.append(m)
    return names


def make_scene(name: str, frames: dict[int, np.ndarray], landmarks: np.ndarray, fewshot: np.ndarray,
               targets: np.ndarray, size: int, margin: float) -> Scene:
    """The Scene of one clip and T: one crop from the few-shot landmarks, crops and crop landmarks."""
    from ..sketch import crop_image, face_crop_matrix, transform_landmarks

    matrix = face_crop_matrix(landmarks[fewshot], size, margin)
    fs_frames = [frames[int(i)] for i in fewshot]
    fs_lms, tg_lms = landmarks[fewshot].astype(np.float32), landmarks[targets].astype(np.float32)
    fs_crop_lms, tg_crop_lms = transform_landmarks(fs_lms, matrix), transform_landmarks(tg_lms, matrix)
    return Scene(size, matrix, fs_frames, fs_lms, np.stack([crop_image(f, matrix, size) for f in fs_frames]),
                 fs_crop_lms, np.stack([crop_image(frames[int(i)], matrix, size) for i in targets]), tg_crop_lms,
                 tg_lms, nearest_fewshot(fs_crop_lms, tg_crop_lms), name)


def make_reference(rt: Runtime, ctx: dict, scene: Scene) -> Reference:
    """Re-detected real landmarks, real descriptors and hard-frame flags of a Scene."""
    mouth, eyes = hard_frames(scene.fewshot_crop_landmarks, scene.target_landmarks, scene.nearest)
    return real_reference(rt, ctx["backend"], ctx["net"], scene.target_crops, scene.target_landmarks, mouth, eyes)


def run_method(rt: Runtime, ctx: dict, cfg: EvalConfig, name: str, scene: Scene) -> MethodResult:
    """Run one named method on a Scene."""
    if name == "copy":
        return run_copy(scene)
    if name == "warp":
        return run_warp(scene)
    if name == "warp-regions":
        return run_warp_regions(scene)
    if name == "portrait":
        return run_portrait(rt, scene)
    from ..finetune import Budget, FineTuneConfig
    from ..training.augment import NO_AUGMENT, AugmentConfig
    from ..training.objective import VARIANTS

    objective = replace(VARIANTS[name.split(":", 1)[1]], identity_weight=cfg.identity_weight)
    ft = FineTuneConfig(budget=Budget(cfg.steps), batch_size=cfg.batch, lr_g=cfg.lr_g, lr_d=cfg.lr_d, objective=objective,
                        seed=cfg.seed, augment=AugmentConfig() if cfg.augment else NO_AUGMENT)
    return run_model(rt, ctx["base"], scene, ft)


def evaluate_run(rt: Runtime, ctx: dict, cfg: EvalConfig, clip: str, t: int, frames: dict, landmarks: np.ndarray,
                 split: Any, margin: float) -> tuple[dict, dict]:
    """One clip and T: the run record for the report and the grid section."""
    scene = make_scene(clip, frames, landmarks, split.fewshot, split.targets, cfg.size, margin)
    ref = make_reference(rt, ctx, scene)
    run = {"T": t, "fewshot": split.fewshot, "targets": split.targets, "crop_matrix": scene.matrix,
           "nearest": scene.nearest, "hard_mouth": ref.hard_mouth, "hard_eyes": ref.hard_eyes,
           "real_redetected": [r is not None for r in ref.redetected], "methods": {}}
    outputs: dict[str, np.ndarray] = {}
    for name in ctx["names"]:
        try:
            result = run_method(rt, ctx, cfg, name, scene)
        except (BadInputError, ValueError) as exc:
            ctx["errors"].append({"clip": clip, "T": t, "method": name, "error": str(exc)})
            continue
        per_frame = score_outputs(rt, ctx["backend"], ctx["net"], result.outputs, ref)
        summary = summarise(per_frame, ref)
        run["methods"][name] = {"summary": summary, "per_frame": per_frame, "info": result.info,
                                "seconds_per_frame": result.seconds_per_frame, "setup_seconds": result.setup_seconds}
        outputs[name] = result.outputs
        if ctx["fid"]["measured"]:
            ctx["pool"].setdefault((name, t), []).append(result.outputs)
        nan = float("nan")  # CSIM and landmark error are None when no output has a face re-detected
        rt.log.info("eval %s T=%d %s: SSIM %.3f face SSIM %.3f detail %.2f CSIM %.3f lmk %.4f (no face on %d of %d)",
                    clip, t, name, summary["ssim"], summary["face_ssim"], summary["face_detail"] or nan,
                    nan if summary["csim"] is None else summary["csim"],
                    nan if summary["lmk_error"] is None else summary["lmk_error"], summary["n_no_face"],
                    summary["n_targets"])
    if ctx["fid"]["measured"]:
        ctx["pool"].setdefault(("real", t), []).append(scene.target_crops)
    if cfg.save_frames is not None:
        R.save_frames(cfg.save_frames, clip, t, scene.target_crops, outputs, split.targets.tolist(),
                      {"targets": split.targets, "landmarks": scene.target_landmarks, "crop_matrix": scene.matrix,
                       "hard_mouth": ref.hard_mouth, "hard_eyes": ref.hard_eyes, "nearest": scene.nearest})
    section = {"T": t, "rows": R.grid_rows(ref.hard_mouth | ref.hard_eyes, cfg.grid_rows),
               "fewshot": scene.fewshot_crops[scene.nearest], "real": scene.target_crops, "outputs": outputs,
               "frames": split.targets.tolist(), "hard_mouth": ref.hard_mouth, "hard_eyes": ref.hard_eyes}
    return run, section


def evaluate_clip(rt: Runtime, ctx: dict, cfg: EvalConfig, path: Path, margin: float) -> dict:
    """All T of one clip: the clip record (and its grid PNG when ``cfg.grids``)."""
    from .clips import clip_track, read_frames

    track = clip_track(rt, path, cfg.cache_dir)
    valid = track.valid & np.isfinite(track.landmarks).all(axis=(1, 2))
    splits = {}
    for t in cfg.shots:
        try:
            splits[t] = split_clip(valid, t, cfg.max_targets)
        except ValueError as exc:
            ctx["errors"].append({"clip": path.stem, "T": t, "method": "*", "error": str(exc)})
    needed = set()
    for s in splits.values():
        needed |= set(s.fewshot.tolist()) | set(s.targets.tolist())
    frames = read_frames(path, needed)
    record = {"clip": path.stem, "file": str(path), "frames": len(track), "faces": int(valid.sum()),
              "fps": track.fps, "size": list(track.image_size), "runs": []}
    sections = []
    for t, split in splits.items():
        run, section = evaluate_run(rt, ctx, cfg, path.stem, t, frames, track.landmarks, split, margin)
        record["runs"].append(run)
        sections.append(section)
    if cfg.grids is not None:
        R.write_grid(Path(cfg.grids) / f"{path.stem}.png", sections, ctx["names"])
    return record


def _context(rt: Runtime, cfg: EvalConfig, names: list[str]) -> dict:
    from ..landmarks.extract import make_backend
    from ..networks.dlib_resnet import load_dlib_face_resnet_cached
    from .clips import BACKEND
    from .fid import fid_status

    ctx = {"names": names, "backend": make_backend(rt, BACKEND), "net": load_dlib_face_resnet_cached(rt),
           "base": None, "errors": [], "pool": {}, "fid": fid_status(rt)}
    if any(n.startswith("model:") for n in names):
        from ..person import load_base

        ctx["base"] = load_base(rt, cfg.preset, cfg.base)
    return ctx


def _header(cfg: EvalConfig, ctx: dict, margin: float) -> dict:
    base = ctx["base"]
    notes = [R.CSIM_NOTE, R.DETAIL_NOTE, "FID: " + ctx["fid"]["reason"]]
    if cfg.identity_weight and base is not None:
        notes.append(f"the identity term of the face-feature loss was ON (weight {cfg.identity_weight}): the "
                     "model was trained on dlib's descriptor, so dlib CSIM is NOT an independent measure here")
    config = {"clips": str(cfg.clips), "only": cfg.only, "shots": list(cfg.shots), "size": cfg.size,
              "margin": margin, "max_targets": cfg.max_targets, "methods": list(cfg.methods),
              "variants": list(cfg.variants), "steps": cfg.steps, "batch": cfg.batch, "lr_g": cfg.lr_g,
              "lr_d": cfg.lr_d, "preset": cfg.preset, "seed": cfg.seed, "identity_weight": cfg.identity_weight,
              "augment": cfg.augment, "landmarks": {"backend": ctx["backend"].name, "version": ctx["backend"].version},
              "hard_threshold": HARD_THRESHOLD}
    return {"format": R.FORMAT, "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": list(cfg.command), "config": config,
            "base": None if base is None else {"origin": base.origin, "model_id": base.model_id,
                                               "meta_learned": base.meta_learned},
            "csim_independent": not (cfg.identity_weight and base is not None), "notes": notes,
            "fid": dict(ctx["fid"], values={}), "methods": ctx["names"], "clips": [], "summary": {}, "errors": []}


def _fid_values(rt: Runtime, ctx: dict) -> dict:
    from .fid import frechet_distance, inception_features

    pool = ctx["pool"]
    values: dict[str, dict[str, float]] = {}
    for (name, t), chunks in pool.items():
        if name != "real" and ("real", t) in pool:
            real = inception_features(rt, np.concatenate(pool[("real", t)]))
            fake = inception_features(rt, np.concatenate(chunks))
            values.setdefault(name, {})[str(t)] = frechet_distance(fake, real)
    return values


def evaluate(rt: Runtime, cfg: EvalConfig, out: str | Path) -> dict:
    """Run the evaluation and write OUT (JSON), OUT with .md (Markdown) and the grids; returns the report."""
    from .clips import list_clips

    if cfg.size < 32 or any(t < 1 for t in cfg.shots) or cfg.max_targets < 1 or cfg.steps < 0:
        raise UsageError("--size must be >= 32, shots and --max-targets >= 1, --steps >= 0")
    out = Path(out)
    names = method_names(cfg)
    clips = list_clips(cfg.clips, cfg.only)
    ctx = _context(rt, cfg, names)
    margin = cfg.margin if cfg.margin is not None else (ctx["base"].crop["margin"] if ctx["base"] else 0.4)
    report = _header(cfg, ctx, margin)
    start = time.monotonic()
    for path in clips:
        rt.check_cancelled()
        report["clips"].append(evaluate_clip(rt, ctx, cfg, path, margin))
        report["summary"] = R.summarise_clips(report["clips"], names)
        report["errors"] = ctx["errors"]
        report["seconds"] = round(time.monotonic() - start, 1)
        R.write_json(out, report)
        R.write_markdown(out.with_suffix(".md"), report)
    if ctx["fid"]["measured"]:
        report["fid"]["values"] = _fid_values(rt, ctx)
        R.write_json(out, report)
        R.write_markdown(out.with_suffix(".md"), report)
    return report


__all__ = ["EvalConfig", "evaluate", "evaluate_clip", "evaluate_run", "make_reference", "make_scene",
           "method_names"]
