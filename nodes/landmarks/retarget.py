"""Retargeting: drive a source face with another person's landmark track (paper §4, "puppeteering").

Two modes, both in the source photo's pixel space:
- "relative": out_t = src + T(drv_t - drv_neutral), where T is the rotation+scale of the similarity
  that maps the driver's neutral frame onto the source face. The source keeps its own face shape and
  performs the driver's motion (head motion and expression), scaled to the source face.
- "absolute": out_t = S(drv_t), S the full similarity (rotation, scale, translation) that maps the
  driver's neutral frame onto the source face: the driver's face shape is kept, placed on the source.

Retargeting a track onto its own neutral frame is the identity in both modes.
"""
from __future__ import annotations

import numpy as np

from ...runtime.errors import BadInputError, UsageError
from ..types import FaceTrack

TYPICAL_SHARE = 0.3   # pick_neutral with a photo: the share of frames nearest the median shape it chooses from

# Points that move little with expression (eye corners, nose), used to align faces (iBUG 0-based).
RIGID_POINTS = np.array([36, 39, 42, 45, 27, 28, 29, 30, 31, 33, 35])


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama 1991) mapping points ``src`` (K, 2) onto ``dst`` (K, 2).

    Returns:
        (2, 3) float64 matrix [s R | t].
    """
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    var = (a ** 2).sum() / len(a)
    if var <= 0:
        raise BadInputError("cannot align faces: degenerate (zero-size) landmarks")
    u, sig, vt = np.linalg.svd(b.T @ a / len(a))
    d = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rot = u @ d @ vt
    scale = float(np.trace(np.diag(sig) @ d)) / var
    return np.hstack([scale * rot, (mu_d - scale * rot @ mu_s)[:, None]])


def _openings(p: np.ndarray) -> np.ndarray:
    """(..., 3) eye openings (36-41, 42-47: lid gap / corner distance) and the mouth's (inner gap / width)."""
    def gap(a, b, c, d):
        return (np.linalg.norm(p[..., a, :] - p[..., b, :], axis=-1) + np.linalg.norm(p[..., c, :] - p[..., d, :], axis=-1)) / 2

    eyes = [gap(37, 41, 38, 40) / np.linalg.norm(p[..., 39, :] - p[..., 36, :], axis=-1),
            gap(43, 47, 44, 46) / np.linalg.norm(p[..., 45, :] - p[..., 42, :], axis=-1)]
    mouth = (gap(61, 67, 63, 65) + np.linalg.norm(p[..., 62, :] - p[..., 66, :], axis=-1)) / 2 / \
        np.linalg.norm(p[..., 54, :] - p[..., 48, :], axis=-1)
    return np.stack([*eyes, mouth], -1)


def pick_neutral(landmarks: np.ndarray, valid: np.ndarray, where: str | None = None,
                 photo: np.ndarray | None = None) -> int:
    """Index of the valid frame closest to the track's median shape (after similarity alignment).

    A rough "neutral" frame: closed-ish mouth, frontal-ish pose, typical of the clip. With ``photo``
    (68, 2) landmarks, the frame must also look like the photo's expression: each eye as open as the
    clip's typical (median) opening (a photo's eyes are at rest; a neutral frame that squints would open
    the photo's eyes wide all along) and the mouth as open as the photo's (relative motion from a frame
    with the photo's mouth), among the ``TYPICAL_SHARE`` of frames whose pose (jaw line, nose, eye corners)
    is closest to the median's. Each term is counted in units of the clip's spread (median absolute
    deviation).
    """
    index = np.flatnonzero(valid & np.isfinite(landmarks).all(axis=(1, 2)))
    if not len(index):
        raise BadInputError("driver track has no valid frame to use as neutral", where)
    median = np.median(landmarks[index], axis=0)
    errors = []
    for i in index:
        matrix = similarity(landmarks[i], median)
        aligned = landmarks[i] @ matrix[:, :2].T + matrix[:, 2]
        errors.append(np.linalg.norm(aligned - median, axis=1).mean())
    if photo is None:
        return int(index[int(np.argmin(errors))])
    pose = np.r_[0:5, 12:17, 27:36, 36, 39, 42, 45]          # points that show the pose, not the expression
    errors = []
    for i in index:
        matrix = similarity(landmarks[i][pose], median[pose])
        errors.append(np.linalg.norm(landmarks[i][pose] @ matrix[:, :2].T + matrix[:, 2] - median[pose], axis=1).mean())
    errors = np.asarray(errors)
    open_ = _openings(np.asarray(landmarks, np.float64)[index])
    want = np.median(open_, axis=0)
    want[2] = _openings(np.asarray(photo, np.float64))[2]
    spread = np.maximum(np.median(np.abs(open_ - np.median(open_, axis=0)), axis=0), 0.01)
    score = (np.abs(open_ - want) / spread).sum(axis=1)
    score[errors > np.quantile(errors, TYPICAL_SHARE)] = np.inf     # only among the clip's typical poses
    return int(index[int(np.argmin(score))])


def retarget(driver: FaceTrack, source_landmarks: np.ndarray, mode: str = "relative",
             neutral: int | None = None, image_size: tuple[int, int] | None = None) -> FaceTrack:
    """Drive ``source_landmarks`` (68, 2) with ``driver``'s track.

    Args:
        driver: the driving FaceTrack (N frames).
        source_landmarks: (68, 2) landmarks of the source photo, in its pixels.
        mode: "relative" | "absolute" (see module docstring).
        neutral: index (0..N-1) of the driver frame that corresponds to the source's expression;
            default ``pick_neutral``.
        image_size: (H, W) of the source photo (default: the driver's image size).

    Returns:
        FaceTrack in source pixels; invalid driver frames stay invalid (NaN).
    """
    if mode not in ("relative", "absolute"):
        raise UsageError(f"retarget mode must be 'relative' or 'absolute', got {mode!r}")
    source = np.asarray(source_landmarks, np.float64)
    if source.shape != (68, 2) or not np.isfinite(source).all():
        raise BadInputError(f"source landmarks must be finite (68, 2), got {source.shape}")
    drv = np.asarray(driver.landmarks, np.float64)
    if neutral is None:
        neutral = pick_neutral(drv, driver.valid, driver.where)
    if not (0 <= neutral < len(drv)) or not driver.valid[neutral]:
        raise BadInputError(f"neutral frame index {neutral} is not a valid driver frame", driver.where)
    matrix = similarity(drv[neutral][RIGID_POINTS], source[RIGID_POINTS])
    if mode == "relative":
        out = source + (drv - drv[neutral]) @ matrix[:, :2].T
    else:
        out = drv @ matrix[:, :2].T + matrix[:, 2]
    valid = driver.valid & np.isfinite(out).all(axis=(1, 2))
    out[~valid] = np.nan
    boxes = np.full((len(out), 4), np.nan)
    if valid.any():
        boxes[valid] = np.concatenate([out[valid].min(axis=1), out[valid].max(axis=1)], axis=1)
    extra = dict(driver.extra, retarget={"mode": mode, "neutral": int(neutral), "driver_source": driver.source})
    return FaceTrack(out.astype(np.float32), boxes, valid, np.where(valid, driver.score, 0), 
                     tuple(image_size or driver.image_size), driver.frame_numbers.copy(), driver.fps,
                     driver.backend, driver.backend_version, driver.source, driver.filled.copy(),
                     driver.smoothed, extra, path=driver.path)
