"""Head pose and mouth proxies from 68 2-D landmarks, and the supported range of the animation path.

The proxies are monotonic in the true angles for moderate poses (what a Pearson r against a driver needs),
not calibrated angles:
- roll: angle of the line through the eye centres, degrees;
- yaw: where the nose tip (30) falls between the jaw's ends (0, 16), as asin(2 t - 1), degrees;
- pitch: where the nose tip falls between the eye line and the mouth line, as asin of its offset from
  the middle, degrees (an arbitrary zero);
- mouth opening: inner-lip gap (61-67, 62-66, 63-65) over the face height.

Supported range (a warning names the frames outside it; the README states it): the head may turn by at most
``MAX_ROLL`` degrees of roll and ``MAX_YAW`` degrees of yaw away from the photo's own pose; a 2-D warp of
one photo cannot show the side of the head it does not see, so beyond that the face visibly flattens. The
head must also stay inside the frame (all 68 points and the layer's centre).
"""
from __future__ import annotations

import numpy as np

MAX_ROLL = 30.0   # degrees away from the photo's roll
MAX_YAW = 30.0    # degrees (proxy) away from the photo's yaw


def head_pose(landmarks: np.ndarray) -> np.ndarray:
    """(N, 3) roll, yaw, pitch proxies in degrees for (N, 68, 2) (or (3,) for one (68, 2))."""
    p = np.asarray(landmarks, np.float64)
    single = p.ndim == 2
    p = p[None] if single else p
    left, right = p[:, 36:42].mean(1), p[:, 42:48].mean(1)
    eye = right - left
    roll = np.degrees(np.arctan2(eye[:, 1], eye[:, 0]))
    yaw = np.degrees(np.arcsin(np.clip(2 * _along(p[:, 30], p[:, 0], p[:, 16]) - 1, -1, 1)))
    eyes, mouth = (left + right) / 2, p[:, [48, 54]].mean(1)
    pitch = np.degrees(np.arcsin(np.clip(2 * _along(p[:, 30], eyes, mouth) - 1, -1, 1)))
    out = np.stack([roll, yaw, pitch], 1)
    return out[0] if single else out


def _along(point: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Projection parameter t of ``point`` on segment a -> b (0 at a, 1 at b): (N,)."""
    ab = b - a
    return ((point - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12)


def inner_lip_gap(landmarks: np.ndarray) -> np.ndarray:
    """(N,) inner-lip gap in px (mean of 61-67, 62-66, 63-65) for (N, 68, 2) or (68, 2)."""
    p = np.asarray(landmarks, np.float64).reshape(-1, 68, 2)
    return np.linalg.norm(p[:, [61, 62, 63]] - p[:, [67, 66, 65]], axis=-1).mean(1)


def mouth_opening(landmarks: np.ndarray) -> np.ndarray:
    """(N,) inner-lip gap over the face height (brows' centre to chin) for (N, 68, 2)."""
    p = np.asarray(landmarks, np.float64).reshape(-1, 68, 2)
    height = np.linalg.norm(p[:, 8] - p[:, 17:27].mean(1), axis=-1)
    return inner_lip_gap(p) / np.maximum(height, 1e-9)


def frame_ranges(frames: list[int]) -> str:
    """'3-7, 12, 20-21' for sorted frame numbers."""
    runs: list[list[int]] = []
    for f in frames:
        if runs and f == runs[-1][1] + 1:
            runs[-1][1] = f
        else:
            runs.append([f, f])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def range_warnings(source: np.ndarray, targets: np.ndarray, size: tuple[int, int],
                   frame_numbers: np.ndarray | None = None, repaired: np.ndarray | None = None) -> list[str]:
    """Messages naming the frames where the head leaves the image or turns past the supported range, holds a
    pose, or was repaired.

    Args:
        source: (68, 2) landmarks of the photo; targets: (N, 68, 2) retargeted (NaN rows = invalid).
        size: (H, W) of the photo.
        frame_numbers: (N,) numbers to print (default 0..N-1).
        repaired: (N,) bool, the driver's landmarks were a misfit there and were interpolated
            (``Performance.repaired``), or None.
    """
    t = np.asarray(targets, np.float64)
    numbers = np.arange(len(t)) if frame_numbers is None else np.asarray(frame_numbers)
    valid = np.isfinite(t).all(axis=(1, 2))
    h, w = size
    out_of_frame = valid.copy()
    out_of_frame[valid] = ((t[valid] < 0) | (t[valid] > [w - 1, h - 1])).any(axis=(1, 2))
    turn = np.zeros(len(t), bool)
    if valid.any():
        delta = head_pose(t[valid]) - head_pose(source)
        turn[valid] = (np.abs(delta[:, 0]) > MAX_ROLL) | (np.abs(delta[:, 1]) > MAX_YAW)
    messages = []
    if out_of_frame.any():
        messages.append("the head leaves the frame (landmarks outside the image) at frames "
                        + frame_ranges([int(n) for n in numbers[out_of_frame]]))
    if turn.any():
        messages.append(f"the head turns past the supported range (roll +-{MAX_ROLL:.0f}, yaw +-{MAX_YAW:.0f} "
                        "degrees from the photo's pose) at frames " + frame_ranges([int(n) for n in numbers[turn]]))
    if (~valid).any():
        messages.append("no target landmarks (the previous pose is held) at frames "
                        + frame_ranges([int(n) for n in numbers[~valid]]))
    if repaired is not None and np.any(repaired):
        messages.append("the tracker's landmarks disagree with the face mesh (a misfit: the mouth placed on the "
                        "chin or the nose), interpolated from the frames around them, at frames "
                        + frame_ranges([int(n) for n in numbers[np.asarray(repaired, bool)]]))
    return messages
