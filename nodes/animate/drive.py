"""The driving track turned into the photo's target landmarks, frame by frame (``portrait.perform``).

1. The head is steadied (``steady_pose``): a landmark tracker's boxes shift by a pixel from frame to frame
   and its points with them; moving a photo by that noise makes the whole head shake. The eye corners and
   the nose (the points that move little with expression) are smoothed over time (zero-phase One Euro,
   ``landmarks.smoothing``), and every other point is moved by the similarity that takes its frame's raw
   rigid points onto the smoothed ones, so the head moves smoothly while lips and lids keep every frame.
2. Retargeting (``landmarks.retarget``, relative by default) onto the photo.
3. Per feature (``targets``): each eye's lids open and close as the driver's same eye, down to shut; the
   inner lips open as wide as the driver's (relative to the mouth's width) around the photo's own lips.
Frames without a face hold the previous target (the photo's own landmarks before the first face).

Shapes: landmarks (N, 68, 2); the photo's (68, 2).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..types import FaceTrack

STEADY = np.array([27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45])   # nose and eye corners
POSE_CUTOFF = 1.0      # One Euro min cut-off (Hz) and speed coefficient for the steadied points: the
POSE_BETA = 10.0       # defaults of ``landmarks --smooth``


def steady_pose(landmarks: np.ndarray, valid: np.ndarray, fps: float, min_cutoff: float = POSE_CUTOFF,
                beta: float = POSE_BETA) -> np.ndarray:
    """(N, 68, 2) landmarks with a steadied head (module docstring, step 1); invalid rows stay as given."""
    from ..landmarks.retarget import similarity
    from ..landmarks.smoothing import smooth_landmarks

    raw = np.asarray(landmarks, np.float64)
    ok = np.asarray(valid, bool) & np.isfinite(raw).all(axis=(1, 2))
    masked = np.where(ok[:, None, None], raw, np.nan)
    smooth = smooth_landmarks(masked, fps, min_cutoff, beta).astype(np.float64)
    out = raw.copy()
    for t in np.flatnonzero(ok):
        m = similarity(raw[t, STEADY], smooth[t, STEADY])
        out[t] = raw[t] @ m[:, :2].T + m[:, 2]
        out[t, STEADY] = smooth[t, STEADY]
    return out


def drive_targets(driver: FaceTrack, photo_landmarks: np.ndarray, size: tuple[int, int], mode: str = "relative",
                  neutral: int | None = None, photo_depth: np.ndarray | None = None,
                  neutral_depth: np.ndarray | None = None, rest: int | None = None,
                  closed_level: float | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Target landmarks for every frame of ``driver`` (module docstring).

    Args:
        driver: the driving FaceTrack (N frames), its head already steadied (``steady_pose``) if wanted.
        photo_landmarks: (68, 2) of the photo; size: (H, W) of the photo.
        mode: "relative" | "absolute" retargeting.
        neutral: the driver frame matched to the photo (default ``retarget.pick_neutral``); with depths, the
            frame whose head pose the photo's stands for, and ``rest`` the one whose expression it stands for
            (the lids open and close relative to the driver's at ``rest``).
        photo_depth, neutral_depth: (68,) depths of the photo's and the neutral frame's points
            (``head3d.depth_68``): given both, relative retargeting turns the head in 3-D
            (``head3d.lift_retarget``); else it is 2-D (``landmarks.retarget``).
        closed_level: None (another person's track): each eye opens relative to the driver's typical
            opening and shuts where the driver's blinks read (``targets.eye_levels``); a number: relative
            to the driver's at ``rest``, shut at that opening ratio (0: the lids' ratio as measured).
    Returns:
        targets (N, 68, 2) float64 in the photo's px, valid (N,) bool, the index of the frame whose
        expression the photo's stands for.
    """
    from ..landmarks.retarget import retarget
    from .head3d import lift_retarget
    from .regions import eye_opening
    from .targets import eye_levels, eyelid_targets, lip_targets

    drv = np.asarray(driver.landmarks, np.float64)
    photo = np.asarray(photo_landmarks, np.float64)
    lifting = mode == "relative" and photo_depth is not None and neutral_depth is not None
    moved = retarget(driver, photo, mode, neutral if lifting or rest is None else rest, image_size=size)
    neutral = int(moved.extra["retarget"]["neutral"])
    rest = neutral if rest is None or not lifting else rest
    valid = moved.valid.copy()
    poses = np.asarray(moved.landmarks, np.float64)
    if lifting:   # the jaw outline (an occluding contour, not a rigid 3-D point set) keeps the 2-D motion
        lifted = lift_retarget(drv, valid, neutral, photo, photo_depth, neutral_depth)
        lifted[:, :17] = poses[:, :17]
        poses = lifted
    if closed_level is None:
        typical, closed = eye_levels(drv, valid, driver.fps or 25.0)
    else:
        typical, closed = np.array([eye_opening(drv[rest], eye) for eye in (0, 1)]), closed_level
    targets = np.empty((len(drv), 68, 2))
    current = photo
    for t in range(len(drv)):
        if valid[t]:
            pose = eyelid_targets(poses[t], photo, drv[t], typical, closed)
            current = lip_targets(pose, drv[t])
        targets[t] = current
    return targets, valid, rest


def relative_gaze(gaze: np.ndarray, photo_gaze: np.ndarray) -> np.ndarray:
    """The driver's gaze as a change of the photo's own: per eye, the photo's iris offset plus the driver's
    offset less its median over the clip (its rest). Where the irises sit against the lids differs from face
    to face: given the driver's offsets as they are, a painting whose irises rest under its upper lids (the
    portrait_s4 x lp_d19 pair: -0.11 eye widths against the driver's -0.05) had them lowered in every frame, a
    startled stare. gaze (N, 2, D) eye widths (u, v first; NaN where never found); photo_gaze (2, 2) (NaN: the
    eye keeps the driver's offsets). Returns (N, 2, D) float32."""
    out = np.array(gaze, np.float32)
    for e in range(out.shape[1]):
        uv = out[:, e, :2]
        found = np.isfinite(uv).all(axis=1)
        if not found.any() or not np.isfinite(photo_gaze[e]).all():
            continue
        out[:, e, :2] = np.asarray(photo_gaze[e], np.float32) + uv - np.median(uv[found], axis=0)
    return out


def repair_frames(driver: FaceTrack, frames: np.ndarray) -> FaceTrack:
    """A copy of ``driver`` whose ``frames`` ((N,) bool) take landmarks interpolated from the valid frames
    around them (``landmarks.extract.fill_gaps``; at the ends the nearest) and stay valid: a tracker's misfit
    (a mouth on the chin) is replaced, not held."""
    from ..landmarks.extract import fill_gaps

    broken = driver.select(slice(None))
    broken.valid = driver.valid & ~np.asarray(frames, bool)
    if not broken.valid.any():
        return driver.select(slice(None))
    fixed = np.asarray(fill_gaps(broken).landmarks)
    out = driver.select(slice(None))
    out.landmarks = np.where(np.asarray(frames, bool)[:, None, None] & driver.valid[:, None, None], fixed,
                             np.asarray(driver.landmarks)).astype(np.asarray(driver.landmarks).dtype)
    out.filled = np.asarray(driver.filled, bool) | (np.asarray(frames, bool) & driver.valid)
    return out


def steadied(driver: FaceTrack) -> FaceTrack:
    """A copy of ``driver`` whose head is steadied (``steady_pose``)."""
    out = driver.select(slice(None))
    out.landmarks = steady_pose(driver.landmarks, driver.valid, driver.fps or 25.0).astype(np.float32)
    return out


__all__ = ["POSE_BETA", "POSE_CUTOFF", "STEADY", "drive_targets", "relative_gaze", "repair_frames", "steadied",
           "steady_pose"]
