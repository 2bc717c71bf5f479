"""What the default path measures on a driving video's frames, in one pass, once per track (``portrait.perform``).

Per frame with a face: each eye's iris offset (``features.locate_both``: the iris model when a runner is
given, else the classical locator; or the track's own ``FaceTrack.iris``), how much upper and lower teeth
the mouth shows (``teeth.teeth_visibility``), the lips' mean chroma (a hand or a microphone over the mouth
changes it), glare over each eye (glasses) and, given a check (``landmarks.misfit.MeshCheck``), whether the
tracker's landmarks are a misfit (a mouth on the chin). Then, over the whole track: the gaze stabilised
(``iris.stabilise``: no jumps, no flicker, failures held), the teeth smoothed (a 3-frame median, then a 1-2-1
filter: no flicker), the covered mouths flagged (``covered_mouths``) and the covered eyes (``covered_eyes``).
Doing this on the full track is what lets any frame be rendered alone.

Shapes: landmarks (N, 68, 2) in the driver's px; frames (H, W, 3) uint8 RGB.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

MOUTH_OUTLIER = 8.0      # Lab a/b distance of the lips from the clip's median (and 4 MADs): "covered"
TEETH_GAP_PX = (3.0, 8.0)   # driver's inner-lip gap in its own px: below the first its teeth cannot be seen,
                            # from the second they are measured alone; between, measure and prior blend


@dataclass
class DriverMeasures:
    """Per-frame measures of a driving track (see module docstring).

    Attributes:
        gaze: (N, 2, 2) iris offsets in eye widths per eye, stabilised; None when no iris was measured.
        gaze_found: (N, 2) bool, the raw iris detections that succeeded.
        teeth: (N, 2) upper / lower teeth shown in [0, 1], smoothed; None without frames.
        dark: (N,) how dark the parted mouth's interior is in [0, 1] (``teeth.interior_darkness``), smoothed;
            None without frames.
        mouth_covered: (N,) bool, the lips do not look like the clip's lips; None without frames.
        kept: the frames asked for (``keep``), by index.
        eyes_covered: (N, 2) bool, the eye is hidden by glare (glasses: ``eyes.eye_occluded``) on this frame
            or the next or previous one (no flicker between animated and plain); None without frames.
        misfit: (N,) bool, the frame's landmarks are a misfit (nothing is measured on it: its gaze and
            mouth shades are held from the frames around it); None without frames or check.
    """

    gaze: np.ndarray | None
    gaze_found: np.ndarray
    teeth: np.ndarray | None
    mouth_covered: np.ndarray | None
    kept: dict = field(default_factory=dict)
    dark: np.ndarray | None = None
    eyes_covered: np.ndarray | None = None
    misfit: np.ndarray | None = None


def smooth_teeth(teeth: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(N, D) per-frame mouth shades (teeth shown, darkness) without flicker: frames without a face hold the last value, then a 3-frame
    median and a 1-2-1 filter (zero phase)."""
    from .iris import hold_last_good

    held = hold_last_good(teeth, valid)
    if not np.isfinite(held).all():
        return np.zeros_like(teeth)
    pad = np.concatenate([held[:1], held, held[-1:]])
    med = np.median(np.stack([pad[:-2], pad[1:-1], pad[2:]]), axis=0)
    pad = np.concatenate([med[:1], med, med[-1:]])
    return (0.25 * pad[:-2] + 0.5 * pad[1:-1] + 0.25 * pad[2:]).astype(np.float32)


def covered_mouths(lip_ab: np.ndarray, threshold: float = MOUTH_OUTLIER) -> np.ndarray:
    """(N,) bool: frames whose lips' mean Lab chroma ``lip_ab`` (N, 2) (NaN: unknown) is far from the
    clip's median: more than ``threshold`` and 4 median absolute deviations."""
    good = np.isfinite(lip_ab).all(axis=1)
    if good.sum() < 3:
        return np.zeros(len(lip_ab), bool)
    med = np.median(lip_ab[good], axis=0)
    dist = np.linalg.norm(lip_ab - med, axis=1)
    mad = float(np.median(dist[good]))
    return good & (dist > max(threshold, 4 * 1.4826 * mad))


def covered_eyes(glare: np.ndarray) -> np.ndarray:
    """(N, 2) bool: eyes hidden on a frame (``glare`` (N, 2) bool) or on a frame next to it."""
    g = np.asarray(glare, bool)
    out = g.copy()
    out[1:] |= g[:-1]
    out[:-1] |= g[1:]
    return out


def teeth_weight(landmarks: np.ndarray) -> np.ndarray:
    """(N,) in [0, 1]: how far the teeth a driver frame shows can be measured, from its inner-lip gap in px
    (``TEETH_GAP_PX``). A parted mouth a few px high (a small or low-resolution face) reads as dark whatever
    it holds."""
    from .pose import inner_lip_gap

    lo, hi = TEETH_GAP_PX
    return np.clip((np.nan_to_num(inner_lip_gap(landmarks)) - lo) / (hi - lo), 0.0, 1.0)


def with_teeth_prior(measured: np.ndarray, landmarks: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """(N, 2) teeth shown: ``measured`` (N, 2) where the driver's parted mouth is large enough to see them
    (``teeth_weight``), else the photo's own ``prior`` (2,) (a person who shows teeth when parting the lips
    keeps doing so); a closed mouth (measured 0 because ``teeth.OPEN_THRESHOLD`` is not reached) stays 0."""
    from .regions import mouth_opening
    from .teeth import OPEN_THRESHOLD

    w = teeth_weight(landmarks)[:, None]
    opened = np.array([np.isfinite(p).all() and mouth_opening(p) >= 0.5 * OPEN_THRESHOLD for p in landmarks])
    blended = w * measured + (1.0 - w) * np.asarray(prior, np.float64)[None]
    return np.where(opened[:, None] & np.isfinite(measured), blended, measured)


def measure_driver(frames: Iterable[np.ndarray] | None, landmarks: np.ndarray, valid: np.ndarray, fps: float,
                   iris_run: Callable | None = None, iris: np.ndarray | None = None, keep: tuple[int, ...] = (),
                   teeth_prior: np.ndarray | None = None,
                   check: Callable[[np.ndarray, np.ndarray], bool] | None = None) -> DriverMeasures:
    """Measure the driving track (module docstring).

    Args:
        frames: the driver's frames in order, or None (a landmark-only driver: only ``iris`` is used).
        landmarks: (N, 68, 2); valid: (N,) bool.
        fps: the clip's frame rate (for the gaze filter).
        iris_run: the iris model runner (None: the classical locator).
        iris: (N, 2, 3) the track's irises (x, y, r px; NaN where absent), used instead of locating them.
        keep: frame indices whose images to return (``DriverMeasures.kept``).
        teeth_prior: (2,) the teeth the photo shows (``teeth.teeth_visibility``), for frames whose parted
            mouth is too small to measure (``with_teeth_prior``); None: measured only.
        check: ``(image, landmarks) -> bool``, False for a misfit (``landmarks.misfit.MeshCheck``), or None.
    """
    from .colour_match import lab_stats
    from .eyes import eye_occluded
    from .features import locate_both
    from .iris import stabilise
    from .regions import OUTER_LIP, box_around, to_eye_units
    from .teeth import interior_darkness, lip_mask, teeth_visibility

    n = len(landmarks)
    raw = np.full((n, 2, 2), np.nan)
    teeth, lip_ab = np.full((n, 3), np.nan), np.full((n, 2), np.nan)
    glare, misfit = np.zeros((n, 2), bool), np.zeros(n, bool)
    if iris is not None:
        for t in np.flatnonzero(valid):
            for e in (0, 1):
                if np.isfinite(iris[t, e]).all():
                    raw[t, e] = to_eye_units(iris[t, e, :2], landmarks[t], e)
    seen, kept = 0, {}
    for t, image in enumerate(frames if frames is not None else ()):
        seen = t + 1
        if t in keep:
            kept[t] = image
        if t >= n or not valid[t]:
            continue
        lms = landmarks[t]
        if check is not None and not check(image, lms):
            misfit[t] = True
            continue
        if iris is None:
            for e, est in enumerate(locate_both(image, lms, iris_run)):
                if est.ok:
                    raw[t, e] = to_eye_units(est.centre, lms, e)
        teeth[t] = [*teeth_visibility(image, lms), interior_darkness(image, lms)]
        glare[t] = [eye_occluded(image, lms, e) for e in (0, 1)]
        x0, y0, x1, y1 = box_around(lms[OUTER_LIP], image.shape[:2], grow=0.2)
        stats = lab_stats(image[y0:y1, x0:x1], lip_mask((y1 - y0, x1 - x0), lms - [x0, y0]))
        if stats is not None:
            lip_ab[t] = stats[0][1:]
    found = np.isfinite(raw).all(axis=2)
    gaze = stabilise(raw, found, fps) if (iris is not None or seen) and found.any() else None
    has = np.isfinite(teeth).all(axis=1)
    if not seen:
        return DriverMeasures(gaze, found, None, None)
    if teeth_prior is not None:
        teeth[:, :2] = with_teeth_prior(teeth[:, :2], landmarks, teeth_prior)
    shades = smooth_teeth(teeth, has)
    return DriverMeasures(gaze, found, shades[:, :2], covered_mouths(lip_ab), kept, shades[:, 2],
                          covered_eyes(glare), misfit if check is not None else None)


__all__ = ["MOUTH_OUTLIER", "TEETH_GAP_PX", "DriverMeasures", "covered_eyes", "covered_mouths", "measure_driver",
           "smooth_teeth", "teeth_weight", "with_teeth_prior"]
