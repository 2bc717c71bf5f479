"""GenerateFrames: a PersonModel + a driving FaceTrack -> generated face crops, streamed (paper §3.3).

Per driver frame t: the driver's landmarks are retargeted to the source face (``retarget``), mapped into
the person's crop (the crop matrix of the SOURCE face, fixed for the whole shot, so results paste back),
rasterised to the sketch y_t and the person's generator gives x_hat_t = G(y_t; psi').

Guarantees:
- Streaming: a generator of ``GeneratedFrame``; memory does not grow with clip length.
- Chunk-invariance: batches are aligned to the frame's index in the full track (batch b holds indices
  b*B .. b*B+B-1) and whole batches are computed, so rendering any subset of frames gives bit-identical
  pixels to the same frames of a full render (same device, precision, batch size and thread count).
- Retargeting (and the hold policy below) is computed on the full track, never on the requested range.
- Frames without a valid driver face are never skipped: they repeat the pose of the last valid frame
  before them (the source pose before the first valid one) and are yielded with ``valid=False``.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np

from ..runtime.errors import BadInputError, UsageError
from .base import Port
from .types import FaceTrack, Identity, PersonModel

if TYPE_CHECKING:
    from ..runtime.runtime import Runtime

RETARGET_MODES = ("relative", "absolute", "none")


class GeneratedFrame(NamedTuple):
    """One generated frame.

    Attributes:
        frame_number: the driver's frame number.
        crop: (S, S, 3) uint8 RGB generated face crop.
        matrix: (2, 3) float64 crop matrix (source-image px -> crop px); paste back with its inverse.
        valid: False where the driver had no valid face (pose held, see module docstring).
        landmarks: (68, 2) float32 landmarks the crop was generated from, in crop px.
        warped: (S, S, 3) uint8 warped source the warp-conditioned G started from (its residual is
            ``crop - warped``), or None for the paper's G.
    """

    frame_number: int
    crop: np.ndarray
    matrix: np.ndarray
    valid: bool
    landmarks: np.ndarray
    warped: np.ndarray | None = None


def crop_spec(person: PersonModel) -> tuple[int, float | None]:
    """(S, margin) of the crop the person was fine-tuned on (``info["crop"]``; else the preset's size and
    ``face_crop_matrix``'s default margin, None)."""
    crop = (person.info or {}).get("crop") or {}
    size = crop.get("size") or person.config.get("image_size") or person.config.get("size")
    if not size:
        raise BadInputError("the PersonModel records no crop size (info['crop']['size'])")
    margin = crop.get("margin")
    return int(size), None if margin is None else float(margin)


def hold_invalid(poses: np.ndarray, valid: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Replace poses of invalid frames by the last valid pose before them (``rest`` before the first).

    Args:
        poses: (N, 68, 2) landmarks (NaN allowed where invalid).
        valid: (N,) bool.
        rest: (68, 2) pose used before the first valid frame (the source face's own pose).

    Returns:
        (N, 68, 2) float32, finite everywhere.
    """
    out = np.empty_like(poses, dtype=np.float32)
    last = np.asarray(rest, np.float32)
    for i in range(len(poses)):
        if valid[i]:
            last = poses[i]
        out[i] = last
    return out


def driving_poses(driver: FaceTrack, identity: Identity, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Retargeted driver landmarks in source-image px for every frame of the track.

    Returns:
        poses (N, 68, 2) float32 (invalid frames held), valid (N,) bool.
    """
    from .landmarks.retarget import retarget

    if mode not in RETARGET_MODES:
        raise UsageError(f"unknown retarget mode {mode!r}; use {', '.join(RETARGET_MODES)}")
    where = driver.where
    if len(driver) == 0:
        raise BadInputError("the driving track is empty", where)
    source = np.asarray(identity.source_landmarks[0], np.float32)
    valid = driver.valid & np.isfinite(driver.landmarks).all(axis=(1, 2))
    if not valid.any():
        raise BadInputError("the driving track has no frame with a valid face", where,
                            int(driver.frame_numbers[0]))
    poses = driver.landmarks if mode == "none" else retarget(driver, source, mode).landmarks
    poses = np.asarray(poses, np.float32)
    valid &= np.isfinite(poses).all(axis=(1, 2))
    return hold_invalid(poses, valid, source), valid


def frame_positions(driver: FaceTrack, frames: Iterable[int] | None) -> np.ndarray:
    """Indices into the track of the requested driver frame numbers (all when None), sorted, unique."""
    if frames is None:
        return np.arange(len(driver))
    lookup = {int(n): i for i, n in enumerate(driver.frame_numbers)}
    wanted = sorted({int(f) for f in frames})
    missing = [f for f in wanted if f not in lookup]
    if missing:
        first, last = int(driver.frame_numbers[0]), int(driver.frame_numbers[-1])
        raise BadInputError(f"frame(s) {missing[:5]}{'...' if len(missing) > 5 else ''} are not in the driving "
                            f"track (frames {first}-{last})", driver.where, missing[0])
    return np.asarray([lookup[f] for f in wanted], dtype=np.int64)


def tensor_to_uint8(x: Any) -> np.ndarray:
    """(B, 3, S, S) tensor in [-1, 1] -> (B, S, S, 3) uint8 (round half to even, clipped)."""
    import torch

    x = ((x.detach().float().cpu() + 1.0) * 127.5).clamp_(0, 255)
    return torch.round(x).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def generate_stream(rt: Runtime, generator: Any, poses: np.ndarray, valid: np.ndarray, frame_numbers: np.ndarray,
                    positions: np.ndarray, matrix: np.ndarray, size: int, batch_size: int
                    ) -> Iterator[GeneratedFrame]:
    """Run G over the aligned batches that contain ``positions`` and yield the requested frames in order.

    Args:
        rt: Runtime (device, precision, cancellation).
        generator: callable (B, 3, S, S) sketches in [-1, 1] -> (B, 3, S, S) RGB in [-1, 1]; one with a
            ``warper`` attribute (warp variant) is called with the warped sources as a second input.
        poses: (N, 68, 2) retargeted landmarks in source px for the full track.
        valid, frame_numbers: (N,) per track index.
        positions: sorted track indices to yield.
        matrix: (2, 3) crop matrix of the source face.
        size: S.
        batch_size: B (batch b always holds track indices b*B .. b*B+B-1, clipped at the end).
    """
    import torch

    from .sketch import draw_sketches, sketch_to_tensor, transform_landmarks

    wanted = set(positions.tolist())
    n = len(poses)
    warper = getattr(generator, "warper", None)  # warp-conditioned variant: the warped source too
    for b in sorted({int(p) // batch_size for p in positions}):
        rt.check_cancelled()
        index = np.arange(b * batch_size, min((b + 1) * batch_size, n))
        crop_lms = np.asarray(transform_landmarks(poses[index], matrix), np.float32)
        y = sketch_to_tensor(draw_sketches(crop_lms, (size, size))).to(rt.device, torch.float32)
        warped = warper.tensor(crop_lms, rt.device) if warper is not None else None
        with torch.inference_mode(), rt.precision.autocast():
            crops = tensor_to_uint8(generator(y) if warped is None else generator(y, warped))
        starts = None if warped is None else tensor_to_uint8(warped)
        for j, i in enumerate(index.tolist()):
            if i in wanted:
                yield GeneratedFrame(int(frame_numbers[i]), crops[j], matrix, bool(valid[i]), crop_lms[j],
                                     None if starts is None else starts[j])


class GenerateFrames:
    """Node: PersonModel (or base model + Identity, feed-forward) + driving FaceTrack -> generated crops.

    ``run(rt, person, driver, retarget="relative", batch_size=8, frames=None, backend="torch")`` returns
    ``{"frames": iterator of GeneratedFrame, "matrix": (2, 3), "size": S, "n": number of frames yielded}``.
    ``frames`` is an iterable of driver frame numbers (e.g. ``range(A, B + 1)``), None for all. Pass
    ``base=BaseModel, identity=Identity`` instead of ``person`` for the feed-forward model (psi = P e_hat).
    ``backend="onnx"`` runs the exported generator through ONNX Runtime (``nodes.generate_onnx``).
    """

    inputs: ClassVar[tuple[Port, ...]] = (
        Port("person", PersonModel, None, "the fine-tuned person (or give base + identity)"),
        Port("driver", FaceTrack, None, "the driving performance"),
        Port("retarget", str, "relative", "how driver landmarks map onto the source face", choices=RETARGET_MODES),
        Port("batch_size", int, 8, "frames per generator batch", min=1),
        Port("frames", object, None, "driver frame numbers to generate (default: all)"),
        Port("backend", str, "torch", "generator backend", choices=("torch", "onnx")),
        Port("base", object, None, "base model, for the feed-forward person (with identity)"),
        Port("identity", Identity, None, "Identity, for the feed-forward person (with base)"))
    outputs: ClassVar[tuple[Port, ...]] = (Port("frames", object, doc="iterator of GeneratedFrame"),
                                           Port("matrix", np.ndarray), Port("size", int), Port("n", int))
    models: ClassVar[tuple[str, ...]] = ()

    def run(self, rt: Runtime, person: PersonModel | None = None, driver: FaceTrack | None = None,
            retarget: str = "relative", batch_size: int = 8, frames: Iterable[int] | None = None,
            backend: str = "torch", base: Any = None, identity: Identity | None = None) -> dict[str, Any]:
        from .sketch import face_crop_matrix

        if person is None:
            if base is None or identity is None:
                raise UsageError("GenerateFrames needs a PersonModel, or a base model and an Identity")
            from .person import feed_forward_person

            person = feed_forward_person(base, identity)
        if not isinstance(person, PersonModel) or not isinstance(driver, FaceTrack):
            raise UsageError("GenerateFrames: 'person' must be a PersonModel and 'driver' a FaceTrack")
        if batch_size < 1:
            raise UsageError(f"batch size must be >= 1, got {batch_size}")
        size, margin = crop_spec(person)
        poses, valid = driving_poses(driver, person.identity, retarget)
        positions = frame_positions(driver, frames)
        kwargs = {} if margin is None else {"margin": margin}
        matrix = np.asarray(face_crop_matrix(person.identity.source_landmarks[0], size, **kwargs), np.float64)
        if (~valid).any():
            rt.say_once(f"held:{driver.where}", f"{driver.where or 'driver'}: {int((~valid).sum())} frame(s) "
                        "without a valid face repeat the last valid pose (the source pose before the first) "
                        "and are marked invalid")
        generator = self._generator(rt, person, backend)
        stream = generate_stream(rt, generator, poses, valid, driver.frame_numbers, positions, matrix, size,
                                 batch_size)
        return {"frames": stream, "matrix": matrix, "size": size, "n": len(positions)}

    @staticmethod
    def _generator(rt: Runtime, person: PersonModel, backend: str) -> Any:
        if backend == "onnx":
            from .generate_onnx import onnx_person_generator

            return onnx_person_generator(rt, person)
        if backend != "torch":
            raise UsageError(f"unknown generator backend {backend!r}; use torch or onnx")
        from .person import person_generator

        return person_generator(person, rt.device)
