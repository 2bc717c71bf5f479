"""Composite: paste generated face crops back into the plate (inverse crop transform, feathered matte).

The generator works on a square crop of the SOURCE face (``face_crop_matrix``: 2x3 affine, image px ->
crop px, fixed for the whole shot). Pasting warps the crop and its matte with the inverse matrix
(``cv2.warpAffine``) and blends ``out = plate * (1 - a) + crop * a``; ``a`` is also returned so hosts can
write it as an alpha channel.

Matte: the convex hull of the generated face's 68 landmarks in crop pixels together with the source
face's (so the plate's own face never peeks out where the generated head moved away), extended over the
foreheads (the iBUG 68 points stop at the eyebrows), eroded and Gaussian-feathered, and always limited
to the crop square feathered inwards (so no crop edge ever shows). ``mode="square"`` uses the square alone.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..runtime.errors import BadInputError, UsageError
from .base import Port

if TYPE_CHECKING:
    from ..runtime.runtime import Runtime

MATTE_MODES = ("hull", "square")


def _feather(mask: np.ndarray, erode_px: float, feather_px: float) -> np.ndarray:
    """Erode a binary (S, S) float mask by ``erode_px`` and blur it with sigma ``feather_px / 2``."""
    import cv2

    if erode_px >= 1:
        k = 2 * round(erode_px) + 1
        mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    if feather_px > 0:
        mask = cv2.GaussianBlur(mask, (0, 0), sigmaX=feather_px / 2.0, borderType=cv2.BORDER_CONSTANT)
    return np.clip(mask, 0.0, 1.0)


def forehead_points(landmarks: np.ndarray, scale: float = 0.45) -> np.ndarray:
    """Points above the eyebrows (17..26) so the hull covers the forehead.

    Args:
        landmarks: (68, 2) pixels.
        scale: how far up, as a fraction of the brow-to-chin distance.

    Returns:
        (10, 2) float32: the brow points moved along the chin -> brow direction.
    """
    brows = landmarks[17:27]
    up = brows.mean(0) - landmarks[8]
    return (brows + scale * up).astype(np.float32)


def face_matte(size: int, landmarks: np.ndarray | None = None, mode: str = "hull",
               erode_frac: float = 0.02, feather_frac: float = 0.06) -> np.ndarray:
    """Feathered matte of a generated crop.

    Args:
        size: S, the crop side in pixels.
        landmarks: (68, 2) or (K, 68, 2) landmarks in crop pixels (the sketch the crop was generated from,
            and optionally the source face's); the hull covers all of them. Needed for "hull".
        mode: "hull" (face hull + forehead, within the square) or "square" (the crop square).
        erode_frac: erosion as a fraction of S.
        feather_frac: feather width as a fraction of S.

    Returns:
        (S, S) float32 in [0, 1].
    """
    import cv2

    if mode not in MATTE_MODES:
        raise UsageError(f"unknown matte mode {mode!r}; use {' or '.join(MATTE_MODES)}")
    erode, feather = erode_frac * size, feather_frac * size
    square = np.zeros((size, size), np.float32)
    inset = round(erode + feather)
    square[inset:size - inset, inset:size - inset] = 1.0
    square = _feather(square, 0, feather)
    if mode == "square":
        return square
    faces = None if landmarks is None else np.asarray(landmarks, np.float32).reshape(-1, 68, 2)
    if faces is None or not np.isfinite(faces).all():
        raise BadInputError("matte mode 'hull' needs finite (68, 2) landmarks")
    points = np.concatenate([np.concatenate([f, forehead_points(f)]) for f in faces])
    hull = cv2.convexHull(np.round(points * 16).astype(np.int32))
    mask = np.zeros((size, size), np.float32)
    cv2.fillConvexPoly(mask, hull, 1.0, lineType=cv2.LINE_AA, shift=4)
    return _feather(mask, erode, feather) * square


def matte_faces(item: Any, source_landmarks: np.ndarray | None) -> np.ndarray:
    """(K, 68, 2) crop-px faces the hull matte covers: the generated face, plus the source face if given."""
    if source_landmarks is None:
        return item.landmarks[None]
    src = np.asarray(source_landmarks, np.float64) @ np.asarray(item.matrix)[:, :2].T + np.asarray(item.matrix)[:, 2]
    return np.stack([item.landmarks, src.astype(np.float32)])


def paste(plate: np.ndarray, crop: np.ndarray, matrix: np.ndarray, matte: np.ndarray,
          where: str | os.PathLike | None = None, frame: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Paste ``crop`` into ``plate`` through the inverse of ``matrix``.

    Args:
        plate: (H, W, 3) uint8 or float32 image.
        crop: (S, S, 3) same dtype kind as plate (uint8 or float).
        matrix: (2, 3) crop matrix (plate px -> crop px).
        matte: (S, S) float32 [0, 1].
        where, frame: named in errors.

    Returns:
        (image, alpha): image (H, W, 3) with plate's dtype; alpha (H, W) float32 [0, 1] = the warped matte.
    """
    import cv2

    if plate.ndim != 3 or plate.shape[2] != 3:
        raise BadInputError(f"plate must be (H, W, 3), got {plate.shape}", where, frame)
    size = crop.shape[0]
    if crop.shape != (size, size, 3) or matte.shape != (size, size):
        raise BadInputError(f"crop {crop.shape} and matte {matte.shape} must be (S, S, 3) and (S, S)", where, frame)
    h, w = plate.shape[:2]
    inverse = cv2.invertAffineTransform(np.asarray(matrix, np.float64))
    face = cv2.warpAffine(crop.astype(np.float32), inverse, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(matte.astype(np.float32), inverse, (w, h), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    alpha = np.clip(alpha, 0.0, 1.0)
    out = plate.astype(np.float32) * (1.0 - alpha[..., None]) + face * alpha[..., None]
    if plate.dtype == np.uint8:
        out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out, alpha


def with_alpha(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """(H, W, 3) + (H, W) float alpha -> (H, W, 4) in the image's dtype (uint8 alpha rounded from 0..255)."""
    if image.dtype == np.uint8:
        a = np.clip(np.rint(alpha * 255.0), 0, 255).astype(np.uint8)
    else:
        a = alpha.astype(image.dtype)
    return np.concatenate([image, a[..., None]], axis=-1)


def check_plate(plate: np.ndarray, expected_hw: tuple[int, int], where: str | os.PathLike | None,
                frame: int | None = None) -> None:
    """BadInputError unless ``plate`` is (H, W, 3) with the source image's (H, W) (the crop matrix's frame)."""
    if plate.ndim != 3 or plate.shape[2] != 3:
        raise BadInputError(f"plate must be an RGB image (H, W, 3), got {plate.shape}", where, frame)
    if tuple(plate.shape[:2]) != tuple(int(v) for v in expected_hw):
        raise BadInputError(f"plate is {plate.shape[1]}x{plate.shape[0]} but the person's source image was "
                            f"{int(expected_hw[1])}x{int(expected_hw[0])}: the crop transform would not line up",
                            where, frame)


class Composite:
    """Node: generated crops + plate -> composited frames with an alpha matte (stateless, streaming).

    ``run(rt, frames, plate, expected_size=None, mode="hull", source_landmarks=None)``: ``frames`` is the
    stream from ``GenerateFrames`` (items with ``frame_number, crop, matrix, landmarks``); ``plate`` is one
    (H, W, 3) image or a callable ``frame_number -> (H, W, 3)`` (a plate video or sequence);
    ``source_landmarks`` (68, 2) in plate px (the person's source face) joins the matte's hull. Returns
    ``{"frames": iterator of (frame_number, image (H, W, 3), alpha (H, W) float32)}``.
    """

    inputs: ClassVar[tuple[Port, ...]] = (
        Port("frames", object, doc="GenerateFrames' stream"),
        Port("plate", object, doc="one (H, W, 3) image, or frame number -> image"),
        Port("expected_size", tuple, None, "(H, W) every plate frame must have"),
        Port("mode", str, "hull", "matte shape", choices=MATTE_MODES),
        Port("where", object, None, "the plate's name, for messages"),
        Port("source_landmarks", np.ndarray, None, "(68, 2) source face joining the matte's hull"))
    outputs: ClassVar[tuple[Port, ...]] = (Port("frames", object, doc="iterator of (frame number, image, alpha)"),)
    models: ClassVar[tuple[str, ...]] = ()

    def run(self, rt: Runtime, frames: Iterable[Any], plate: np.ndarray | Callable[[int], np.ndarray],
            expected_size: tuple[int, int] | None = None, mode: str = "hull",
            where: str | os.PathLike | None = None, source_landmarks: np.ndarray | None = None
            ) -> dict[str, Iterator[tuple[int, np.ndarray, np.ndarray]]]:
        if mode not in MATTE_MODES:
            raise UsageError(f"unknown matte mode {mode!r}; use {' or '.join(MATTE_MODES)}")
        return {"frames": composite_stream(frames, plate, expected_size, mode, where, source_landmarks)}


def composite_stream(frames: Iterable[Any], plate: np.ndarray | Callable[[int], np.ndarray],
                     expected_size: tuple[int, int] | None, mode: str = "hull",
                     where: str | os.PathLike | None = None, source_landmarks: np.ndarray | None = None
                     ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Generator behind ``Composite.run`` (see there)."""
    for item in frames:
        image = plate(item.frame_number) if callable(plate) else plate
        if expected_size is not None:
            check_plate(image, expected_size, where, item.frame_number)
        matte = face_matte(item.crop.shape[0], matte_faces(item, source_landmarks), mode)
        out, alpha = paste(image, item.crop, item.matrix, matte, where, item.frame_number)
        yield item.frame_number, out, alpha
