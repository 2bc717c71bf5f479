"""The methods the evaluation compares, each turning one clip's few-shot set into target crops.

All work in the clip's fixed crop (``Scene``): few-shot crops and target landmarks in crop px.
- ``copy``: the nearest few-shot crop, unchanged.
- ``warp``: the nearest few-shot crop warped piecewise-affinely to the target's landmarks (``warp.py``).
- ``warp-regions``: that warp with the mouth and eyes taken from the few-shot crops whose mouth / eyes
  best match the target's (``warping/region_warp.py``): what the warp-conditioned G sees, so its gain over
  ``warp`` can be split into source choice and learned residual.
- ``portrait``: the default animation path (``animate.portrait``) on the nearest few-shot frame at its full
  resolution (``prepare``, with the other few-shot frames as its own mouths), driven by the target's
  landmarks (``perform_landmarks``), irises (located on the target crop, as a driver's FaceTrack carries
  them) and how much upper and lower teeth it shows (measured on the target crop, as ``perform`` measures a
  driving video's), its output cropped with the scene's matrix. The mouth interior never comes from the
  target frame: no interior frame is passed, so it is the person's own few-shot mouth when one matches, else
  synthesised (the photo's own teeth, shown as much as the target shows teeth).
- ``model``: embed the T few-shot crops (e_hat, §3.1), fine-tune the base on them in the same crop
  (§3.3) and generate every target from the sketch of its own landmarks (self-reenactment).

Each returns a ``MethodResult``: (M, S, S, 3) uint8 outputs in target order and its timings.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime

METHODS = ("model", "warp", "warp-regions", "portrait", "copy")


@dataclass
class Scene:
    """One clip and T in the fixed crop.

    Attributes:
        size: crop side S.
        matrix: (2, 3) frame px -> crop px.
        fewshot_frames: T full frames (H, W, 3) uint8; fewshot_landmarks: (T, 68, 2) frame px.
        fewshot_crops: (T, S, S, 3) uint8; fewshot_crop_landmarks: (T, 68, 2) crop px.
        target_crops: (M, S, S, 3) uint8 real targets; target_landmarks: (M, 68, 2) crop px.
        target_frame_landmarks: (M, 68, 2) frame px.
        nearest: (M,) index of each target's nearest few-shot frame.
        name: clip name (for messages).
    """

    size: int
    matrix: np.ndarray
    fewshot_frames: list
    fewshot_landmarks: np.ndarray
    fewshot_crops: np.ndarray
    fewshot_crop_landmarks: np.ndarray
    target_crops: np.ndarray
    target_landmarks: np.ndarray
    target_frame_landmarks: np.ndarray
    nearest: np.ndarray
    name: str = ""


@dataclass
class MethodResult:
    """Outputs of one method on one Scene.

    Attributes:
        outputs: (M, S, S, 3) uint8 in target order.
        seconds_per_frame: time to produce one target once the method is set up.
        setup_seconds: one-off cost per clip and T (embedding + fine-tuning for the model; 0 otherwise).
        info: method details (fine-tuning record, base origin, ...).
    """

    outputs: np.ndarray
    seconds_per_frame: float
    setup_seconds: float = 0.0
    info: dict = field(default_factory=dict)


def run_copy(scene: Scene) -> MethodResult:
    """The nearest few-shot crop unchanged."""
    start = time.perf_counter()
    out = scene.fewshot_crops[scene.nearest].copy()
    return MethodResult(out, (time.perf_counter() - start) / max(len(out), 1))


def run_warp(scene: Scene) -> MethodResult:
    """The nearest few-shot crop warped to each target's landmarks."""
    from ..warping.warp import warp_face

    start = time.perf_counter()
    out = np.stack([warp_face(scene.fewshot_crops[k], scene.fewshot_crop_landmarks[k], lms)
                    for k, lms in zip(scene.nearest, scene.target_landmarks)])
    return MethodResult(out, (time.perf_counter() - start) / max(len(out), 1))


def run_warp_regions(scene: Scene) -> MethodResult:
    """The nearest few-shot crop warped to each target, mouth and eyes from their best-matching crops: exactly
    the warp-conditioned G's input (``SourceWarper``)."""
    from ..warping.source_warp import SourceWarper

    start = time.perf_counter()
    out = SourceWarper(scene.fewshot_crops, scene.fewshot_crop_landmarks)(scene.target_landmarks)
    return MethodResult(out, (time.perf_counter() - start) / max(len(out), 1))


def target_gaze(rt: Runtime | None, scene: Scene) -> np.ndarray:
    """(M, 2, 2) iris offsets in eye widths of each target (the iris model when present, else the classical
    locator), on its crop (eye widths do not change with the crop); NaN where not found."""
    from ..animate.features import locate_both
    from ..animate.iris import iris_runner
    from ..animate.regions import to_eye_units

    run = iris_runner(rt) if rt is not None else None
    out = np.full((len(scene.target_crops), 2, 2), np.nan)
    for j, (crop, lms) in enumerate(zip(scene.target_crops, scene.target_landmarks)):
        for e, est in enumerate(locate_both(crop, np.asarray(lms, np.float64), run)):
            if est.ok:
                out[j, e] = to_eye_units(est.centre, np.asarray(lms, np.float64), e)
    return out


def target_teeth(scene: Scene) -> np.ndarray:
    """(M, 2) how much upper and lower teeth each target shows (``teeth.teeth_visibility`` on its crop)."""
    from ..animate.teeth import teeth_visibility

    return np.array([teeth_visibility(crop, np.asarray(lms, np.float64))
                     for crop, lms in zip(scene.target_crops, scene.target_landmarks)]).reshape(-1, 2)


def run_portrait(rt: Runtime | None, scene: Scene) -> MethodResult:
    """The default animation path at the few-shot frames' resolution, cropped (module docstring)."""
    from ..animate.portrait import perform_landmarks, prepare, render
    from ..sketch import crop_image

    gaze, teeth = target_gaze(rt, scene), target_teeth(scene)
    out = np.empty((len(scene.target_landmarks), scene.size, scene.size, 3), np.uint8)
    setup, render_s = 0.0, 0.0
    for k in np.unique(scene.nearest):
        start = time.perf_counter()
        own = [(scene.fewshot_frames[j], scene.fewshot_landmarks[j]) for j in range(len(scene.fewshot_frames))
               if j != k]
        portrait = prepare(rt, scene.fewshot_frames[k], scene.fewshot_landmarks[k], own=own)
        index = np.flatnonzero(scene.nearest == k)
        performance = perform_landmarks(portrait, scene.target_frame_landmarks[index], scene.fewshot_landmarks[k],
                                        gaze[index], teeth[index])
        setup += time.perf_counter() - start
        for n, j in enumerate(index):
            start = time.perf_counter()
            out[j] = crop_image(render(portrait, performance, n).image, scene.matrix, scene.size)
            render_s += time.perf_counter() - start
    info = {"source": "nearest few-shot frame, full resolution", "driven_by": "target landmarks + irises + teeth shown",
            "mouth_interior": "own few-shot frames or synthesised (never the target)"}
    return MethodResult(out, render_s / max(len(out), 1), setup, info)


def run_model(rt: Runtime, base: Any, scene: Scene, config: Any, batch_size: int = 8) -> MethodResult:
    """Embed + fine-tune ``base`` on the few-shot frames in the scene's crop, then generate the targets.

    Args:
        rt: Runtime. base: ``person.BaseModel`` (its crop size must be the scene's).
        scene: the clip and T. config: ``finetune.FineTuneConfig``.
        batch_size: generation batch.
    """
    from ...runtime.errors import UsageError
    from ..embedding import embed, pixel_digest
    from ..finetune import fine_tune
    from ..generate import generate_stream
    from ..person import person_generator
    from ..types import Identity

    if base.crop["size"] != scene.size:
        raise UsageError(f"the base model ({base.cfg.name}) works on {base.crop['size']} px crops; "
                         f"evaluate it with --size {base.crop['size']}")
    start = time.perf_counter()
    e_hat = embed(rt, base, scene.fewshot_crops, scene.fewshot_crop_landmarks)
    identity = Identity(e_hat=e_hat, k=len(scene.fewshot_frames),
                        source_digests=[pixel_digest(f) for f in scene.fewshot_frames],
                        source_landmarks=np.asarray(scene.fewshot_landmarks, np.float32),
                        source_sizes=np.array([f.shape[:2] for f in scene.fewshot_frames]),
                        base_model=base.model_id)
    matrices = np.repeat(np.asarray(scene.matrix, np.float64)[None], len(scene.fewshot_frames), 0)
    person = fine_tune(rt, base, identity, scene.fewshot_frames, scene.fewshot_landmarks, config,
                       names=[f"{scene.name} few-shot {k}" for k in range(len(scene.fewshot_frames))],
                       crop_matrices=matrices)
    setup = time.perf_counter() - start
    G = person_generator(person, rt.device)
    n = len(scene.target_landmarks)
    start = time.perf_counter()
    stream = generate_stream(rt, G, np.asarray(scene.target_frame_landmarks, np.float32), np.ones(n, bool),
                             np.arange(n), np.arange(n), scene.matrix, scene.size, batch_size)
    out = np.stack([frame.crop for frame in stream])
    per_frame = (time.perf_counter() - start) / max(n, 1)
    info = {k: person.info.get(k) for k in ("base_model", "base_origin", "meta_learned_base", "steps", "seconds",
                                            "batch_size", "lr_g", "lr_d", "loss_terms", "objective", "augment",
                                            "reconstruction_l1_before", "reconstruction_l1_after", "last")}
    return MethodResult(out, per_frame, setup, info)


__all__ = ["METHODS", "MethodResult", "Scene", "run_copy", "run_model", "run_portrait", "run_warp", "run_warp_regions",
           "target_gaze", "target_teeth"]
