"""Per-feature landmark targets, applied to the retargeted landmarks before the face is warped (issue 19):

- ``eyelid_targets``: each eye opens and closes as the driver's SAME eye does, relative to the driver's
  typical opening of that eye and down to fully closed (relative retargeting alone closes a wink only partly
  when the photo's eye is larger than the driver's); ``eye_levels`` reads, per driver, the typical opening and
  the opening its tracker gives a shut eye (its blinks);
- ``mouth_targets``: the lips take the driver's lip shape (its mouth points mapped by the similarity of the
  driver's rigid points onto the target's, placed at the photo's mouth), so a smiling photo follows an "O"
  or pressed lips instead of keeping its smile; the chin follows the lower lip's change.

Landmarks (68, 2) px in the photo's pixels; the driver's in its own.
"""
from __future__ import annotations

import numpy as np

from .regions import EYES, eye_opening

RIGID = np.array([36, 39, 42, 45, 27, 28, 29, 30, 31, 33, 35])
MOUTH = np.arange(48, 68)
CHIN = np.arange(5, 12)
CHIN_WEIGHTS = np.array([0.3, 0.6, 0.85, 1.0, 0.85, 0.6, 0.3])
UPPER_SHARE = 0.8       # share of a blink carried by the upper lid
MAX_OPEN = 2.0          # opening ratio cap (wide-eyed drivers)
CLOSED_LEVEL = 0.25     # without blinks to read it from: a tracked eye whose opening is this fraction of its
                        # typical one is shut (68-point trackers rarely put the lids of a closed eye together)
BLINK_DEPTH = 0.6       # a dip of an eye's opening below this fraction of its typical opening ...
BLINK_OPEN = 0.8        # ... between two frames above this fraction ...
BLINK_SECONDS = 0.5     # ... lasting at most this long is a blink; its lowest opening reads as shut


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    from ..warping.warp import align_similarity

    return align_similarity(src, dst)


def eye_levels(landmarks: np.ndarray, valid: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Per eye of a driver's track: its typical opening (the median over the valid frames) and the opening
    its tracker reads for a shut eye, as a fraction of the typical one: the median of its blinks' lowest
    openings (``BLINK_DEPTH``, ``BLINK_OPEN``, ``BLINK_SECONDS``), ``CLOSED_LEVEL`` in a clip without blinks.

    Args:
        landmarks: (N, 68, 2); valid: (N,) bool; fps: frames per second (the blinks' length).
    Returns:
        typical (2,) openings (``regions.eye_opening``), closed (2,) fractions in [0, ``BLINK_DEPTH``].
    """
    ok = np.asarray(valid, bool) & np.isfinite(landmarks).all(axis=(1, 2))
    typical, closed = np.zeros(2), np.full(2, CLOSED_LEVEL)
    longest = max(1, round(BLINK_SECONDS * (fps or 25.0)))
    if not ok.any():
        return typical, closed
    for eye in (0, 1):
        opening = np.array([eye_opening(p, eye) if good else np.nan for p, good in zip(landmarks, ok)])
        typical[eye] = float(np.nanmedian(opening))
        ratio = opening[ok] / max(typical[eye], 1e-9)
        dips, start = [], None
        for t, low in enumerate(ratio < BLINK_OPEN):
            if low and start is None:
                start = t
            elif not low and start is not None:
                if start > 0 and t - start <= longest and ratio[start:t].min() < BLINK_DEPTH:
                    dips.append(float(ratio[start:t].min()))
                start = None
        if dips:
            closed[eye] = float(np.median(dips))
    return typical, closed


def eyelid_targets(target: np.ndarray, photo: np.ndarray, driver: np.ndarray, typical: np.ndarray,
                   closed: np.ndarray | float = CLOSED_LEVEL) -> np.ndarray:
    """``target`` with each eye's lid gap set to the photo's gap x the driver's opening ratio for that eye:
    its opening over its ``typical`` one, rescaled below 1 so that ``closed`` reads as shut (above 1 as
    measured: a widening is not amplified).

    Args:
        target: (68, 2) retargeted landmarks of this frame.
        photo: (68, 2) the photo's landmarks.
        driver: (68, 2) the driver's landmarks at this frame.
        typical: (2,) the driver's openings that stand for the photo's (``eye_levels``, or a frame's).
        closed: (2,) or one opening ratio that reads as shut (0: the ratio as measured).
    Returns:
        (68, 2) float64; only points 37, 38, 40, 41, 43, 44, 46, 47 move (along the eye's vertical axis).
    """
    out = np.asarray(target, np.float64).copy()
    shut = np.broadcast_to(np.asarray(closed, np.float64), (2,))
    for eye, idx in enumerate(EYES):
        ref = float(typical[eye])
        if ref <= 1e-6:
            continue
        ratio = eye_opening(driver, eye) / ref
        if ratio < 1:
            ratio = (ratio - shut[eye]) / (1 - shut[eye])
        ratio = float(np.clip(ratio, 0.0, MAX_OPEN))
        a, b = out[idx[0]], out[idx[3]]
        x = (b - a) / max(np.linalg.norm(b - a), 1e-9)
        down = np.array([-x[1], x[0]])
        if down[1] < 0:
            down = -down
        photo_pts = np.asarray(photo, np.float64)[idx]
        scale = np.linalg.norm(b - a) / max(np.linalg.norm(photo_pts[3] - photo_pts[0]), 1e-9)
        for up_i, low_i in ((1, 5), (2, 4)):
            gap_now = float((out[idx[low_i]] - out[idx[up_i]]) @ down)
            gap_want = ratio * float((photo_pts[low_i] - photo_pts[up_i]) @ down) * scale
            change = gap_now - max(gap_want, 0.0)
            out[idx[up_i]] += UPPER_SHARE * change * down
            out[idx[low_i]] -= (1 - UPPER_SHARE) * change * down
    return out


def mouth_targets(target: np.ndarray, photo: np.ndarray, driver: np.ndarray, neutral: np.ndarray,
                  weight: float = 1.0) -> np.ndarray:
    """``target`` whose mouth (48-67) takes the driver's lip shape, blended by ``weight`` (0: unchanged).

    The driver's mouth at this frame is mapped by the similarity of its rigid points (eye corners, nose)
    onto the target's, then shifted by the constant that puts the driver's neutral mouth on the photo's
    mouth centre; the chin (5-11) follows the lower lip's change.
    """
    out = np.asarray(target, np.float64).copy()
    if weight <= 0:
        return out
    drv, neu, pho = (np.asarray(a, np.float64) for a in (driver, neutral, photo))
    m_now = _similarity(drv[RIGID], out[RIGID])
    m_ref = _similarity(neu[RIGID], pho[RIGID])
    shift_ref = pho[MOUTH].mean(0) - (neu[MOUTH] @ m_ref[:, :2].T + m_ref[:, 2]).mean(0)
    shift = m_now[:, :2] @ np.linalg.solve(m_ref[:, :2], shift_ref)   # the same offset, in this frame's pose
    mouth = drv[MOUTH] @ m_now[:, :2].T + m_now[:, 2] + shift
    new = out[MOUTH] + weight * (mouth - out[MOUTH])
    lower = [56, 57, 58]
    delta = (new[np.array(lower) - 48] - out[lower]).mean(0)
    out[MOUTH] = new
    out[CHIN] += CHIN_WEIGHTS[:, None] * delta
    return out


INNER_PAIRS = np.array([[61, 67], [62, 66], [63, 65]])   # (upper, lower) inner-lip points, left to right
OUTER_PAIRS = np.array([[50, 58], [51, 57], [52, 56]])   # the outer lip points above / below them
LIP_UPPER_SHARE = 0.35   # share of an opening change carried by the upper lip (the jaw carries the rest)


def lip_targets(target: np.ndarray, driver: np.ndarray) -> np.ndarray:
    """``target`` whose inner lips are as far apart as the driver's, relative to the mouth's width.

    Relative retargeting gives the lips the photo's own shape plus the driver's change, which keeps the
    photo's mouth (its width, its smile) but not its opening: a photo that shows its teeth never closes,
    and a closed photo driven from an open neutral frame gets lips that cross. Here each inner-lip gap
    (61-67, 62-66, 63-65) is set to the driver's gap x (target mouth width / driver mouth width), measured
    along the face's vertical axis; the upper lip takes ``LIP_UPPER_SHARE`` of the change, the lower lip the
    rest; the outer lip points above / below each pair follow their inner point (the lips keep their
    thickness), the points beside the mouth corners half of it, and the chin the lower lip's mean change.

    Args:
        target: (68, 2) retargeted landmarks of this frame (photo px).
        driver: (68, 2) the driver's landmarks at this frame (its px).
    Returns:
        (68, 2) float64.
    """
    out = np.asarray(target, np.float64).copy()
    drv = np.asarray(driver, np.float64)
    m = _similarity(drv[RIGID], out[RIGID])
    down = m[:, :2] @ (drv[8] - drv[17:27].mean(0))
    down /= max(np.linalg.norm(down), 1e-9)
    drv_width = np.linalg.norm(m[:, :2] @ (drv[54] - drv[48]))
    scale = np.linalg.norm(out[54] - out[48]) / max(drv_width, 1e-9)
    want = ((drv[INNER_PAIRS[:, 1]] - drv[INNER_PAIRS[:, 0]]) @ m[:, :2].T @ down) * scale
    have = (out[INNER_PAIRS[:, 1]] - out[INNER_PAIRS[:, 0]]) @ down
    change = np.maximum(want, 0.0) - have
    up, low = -LIP_UPPER_SHARE * change, (1 - LIP_UPPER_SHARE) * change
    for k in range(3):
        for idx, amount in ((INNER_PAIRS[k, 0], up[k]), (OUTER_PAIRS[k, 0], up[k]),
                            (INNER_PAIRS[k, 1], low[k]), (OUTER_PAIRS[k, 1], low[k])):
            out[idx] += amount * down
    for idx, near in ((49, 0), (53, 2)):
        out[idx] += 0.5 * up[near] * down
    for idx, near in ((59, 0), (55, 2)):
        out[idx] += 0.5 * low[near] * down
    out[CHIN] += CHIN_WEIGHTS[:, None] * (low.mean() * down)
    return out


__all__ = ["BLINK_DEPTH", "BLINK_OPEN", "BLINK_SECONDS", "CLOSED_LEVEL", "eye_levels", "eyelid_targets", "lip_targets",
           "mouth_targets"]
