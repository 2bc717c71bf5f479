"""Per-frame signals and clip-level measures of the cross-identity evaluation (pure numpy / OpenCV).

Every measure compares the OUTPUT (landmarks re-detected on it) with the DRIVER (landmarks detected the
same way on the driver's frames). Failure rules, the same everywhere: a frame where the driver has no
face has no reference value and is left out of every driver-relative measure (the report counts those
frames); a frame where the output has no face while the driver has one is a FAILURE:
- identity kept: not kept (the mean distance is over the frames with a face; the report gives the rate);
- Pearson r: the output's value there is set to its mean over the frames that have one, so the frame
  adds nothing to the covariance while the driver's motion there still counts in its variance (|r| can
  only drop, never rise; ``r_detected``, over the frames with both, is reported beside it);
- mouth state: disagrees; gaze: an error of ``GAZE_FAIL`` eye widths (also when the output's iris is not
  found while the driver's is);
- jitter: it needs three consecutive frames with a face on both sides; its coverage is reported.
"""
from __future__ import annotations

import math

import numpy as np

IDENTITY_THRESHOLD = 0.6
GAZE_FAIL = 0.5     # eye widths: the distance from the eye's centre to its corner
STABLE_POINTS = (27, 28, 29, 30, 31, 33, 35, 36, 39, 42, 45)  # eye corners + nose: move little with expression
SIGNALS = ("mouth", "eye_left", "eye_right", "roll", "yaw", "pitch")
JUDGED_GAP_PX = 8.0   # a driver's inner-lip gap below this (its own px) cannot show whether it holds teeth
STILL_FRAMES = 24     # sub-pixel shifted copies of the photo re-detected for the jitter and gaze floors


def frame_signals(image: np.ndarray, landmarks: np.ndarray | None, locator) -> dict:
    """Every per-frame signal of one face (NaN / None without a face).

    Args:
        image: (H, W, 3) uint8 RGB.
        landmarks: (68, 2) px re-detected on ``image``, or None.
        locator: ``gaze.IrisLocator``.
    Returns:
        {"mouth", "eye_left", "eye_right", "roll", "yaw", "pitch": float; "mouth_state": str | None;
         "iris": (2, 2) iris offsets in eye widths (``gaze.iris_offsets``)}.
    """
    from .gaze import iris_offsets
    from .mouth_state import mouth_state

    if landmarks is None:
        return {**dict.fromkeys(SIGNALS, float("nan")), "mouth_state": None, "iris": np.full((2, 2), np.nan)}
    pts = np.asarray(landmarks, np.float64)
    return {**shape_signals(pts, image.shape[:2]), "mouth_state": mouth_state(image, pts),
            "iris": iris_offsets(np.asarray(locator(image, pts), np.float64), pts)}


def shape_signals(landmarks: np.ndarray, size: tuple[int, int]) -> dict[str, float]:
    """The ``SIGNALS`` of one face from its (68, 2) landmarks alone, in an image of ``size`` (H, W)."""
    from .gaze import eye_openings
    from .head_pose import head_pose
    from .metrics import mouth_opening

    pts = np.asarray(landmarks, np.float64)
    left, right = eye_openings(pts)
    roll, yaw, pitch = head_pose(pts, size)
    return {"mouth": mouth_opening(pts), "eye_left": left, "eye_right": right, "roll": roll, "yaw": yaw,
            "pitch": pitch}


def track_agreement(track: np.ndarray, valid: np.ndarray, signals: list[dict], size: tuple[int, int]) -> dict:
    """Pearson r of each signal of the driving track (what every method is driven by) against the driver's
    re-detected signals (what every method is scored against), over the frames with both.

    Two landmark runs on the same frames disagree where the face is small or blurred (a 176 x 144 clip's eye
    openings, its pitch), and no method driven by the track can be expected to follow the re-detected
    driver better than the track itself does: these are the ceilings of the method's r.

    Args:
        track: (N, 68, 2) the driving FaceTrack's landmarks; valid: (N,) bool.
        signals: N per-frame dicts of the re-detected driver (``frame_signals``).
        size: (H, W) of the driver's frames.
    Returns:
        {signal: r} (NaN when fewer than 3 frames have both).
    """
    track = np.asarray(track, np.float64)
    ok = np.asarray(valid, bool) & np.isfinite(track).all(axis=(1, 2))
    own = [shape_signals(p, size) if v else None for p, v in zip(track, ok)]
    out = {}
    for key in SIGNALS:
        pairs = [(o[key], s[key]) for o, s in zip(own, signals) if o is not None and np.isfinite(s[key])]
        out[key] = pearson(*np.array(pairs).T) if len(pairs) >= 3 else float("nan")
    return out


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r of two equal-length finite vectors; NaN when either is constant or shorter than 3."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(x) < 3:
        return float("nan")
    dx, dy = x - x.mean(), y - y.mean()
    den = math.sqrt(float((dx * dx).sum()) * float((dy * dy).sum()))
    return float((dx * dy).sum() / den) if den > 0 else float("nan")


def pearson_with_failures(driver: np.ndarray, output: np.ndarray) -> dict:
    """Pearson r of the output's signal against the driver's, output failures counted (module docstring).

    Args:
        driver, output: (N,) per-frame values, NaN where that side has no face.
    Returns:
        {"r", "r_detected": float or NaN, "frames": driver frames with a face, "failed": of those, the
         frames where the output has none}.
    """
    d, o = np.asarray(driver, np.float64), np.asarray(output, np.float64)
    ref = np.isfinite(d)
    got = ref & np.isfinite(o)
    out = {"frames": int(ref.sum()), "failed": int((ref & ~got).sum()),
           "r_detected": pearson(d[got], o[got]), "r": float("nan")}
    if got.sum() >= 3:
        filled = np.where(got, o, o[got].mean())[ref]
        out["r"] = pearson(d[ref], filled)
    return out


def identity_summary(distances: np.ndarray, threshold: float = IDENTITY_THRESHOLD) -> dict:
    """Identity kept: fraction of ALL frames with a face at descriptor distance <= ``threshold``.

    Args:
        distances: (N,) dlib descriptor distances to the photo, NaN where the output has no face.
    """
    d = np.asarray(distances, np.float64)
    found = np.isfinite(d)
    return {"kept": float((found & (np.where(found, d, np.inf) <= threshold)).mean()) if len(d) else float("nan"),
            "mean_distance": float(d[found].mean()) if found.any() else float("nan"),
            "threshold": threshold}


def mouth_agreement(driver: list, output: list, judged: list[bool] | None = None) -> dict:
    """Fraction of driver frames with a known mouth state whose output state is the same (None = failure).

    ``judged`` (N,) bool: the driver frames whose state can be judged from their pixels (``judged_mouths``);
    the agreement over those alone is reported as ``agreement_judged`` (with ``frames_judged``)."""
    pairs = [(d, o) for d, o in zip(driver, output) if d is not None]
    counts = {s: sum(1 for d, _ in pairs if d == s) for s in ("closed", "open-dark", "teeth")}
    agree = sum(1 for d, o in pairs if d == o)
    out = {"agreement": agree / len(pairs) if pairs else float("nan"), "frames": len(pairs),
           "driver_states": counts, "output_states": {s: sum(1 for _, o in pairs if o == s) for s in counts}}
    if judged is not None:
        sure = [(d, o) for d, o, j in zip(driver, output, judged) if d is not None and j]
        out["agreement_judged"] = sum(1 for d, o in sure if d == o) / len(sure) if sure else float("nan")
        out["frames_judged"] = len(sure)
    return out


def judged_mouths(landmarks: np.ndarray, states: list) -> list[bool]:
    """(N,) bool: driver frames whose mouth state its pixels can show: closed, or parted by at least
    ``JUDGED_GAP_PX`` px in the driver's own frame (a gap of a few px reads as dark whatever it holds)."""
    p = np.asarray(landmarks, np.float64)
    gap = np.linalg.norm(p[:, [61, 62, 63]] - p[:, [67, 66, 65]], axis=-1).mean(1)
    return [s == "closed" or bool(np.isfinite(g) and g >= JUDGED_GAP_PX) for g, s in zip(gap, states)]


def gaze_errors(driver: np.ndarray, output: np.ndarray, driver_rest: np.ndarray | None = None,
                output_rest: np.ndarray | None = None) -> dict:
    """Gaze error per frame: mean over the eyes of |output offset - driver offset| (eye widths).

    With ``driver_rest`` / ``output_rest`` ((2, 2) offsets), each side's offsets are taken relative to
    its rest (relative gaze transfer). Eyes the driver has no iris for are left out; an eye where the
    output has none counts ``GAZE_FAIL``.

    Args:
        driver, output: (N, 2, 2) iris offsets (``gaze.iris_offsets``), NaN where not found.
    Returns:
        {"mean", "p90": eye widths, "frames": frames with a driver iris, "failed": eyes without an output iris}.
    """
    d, o = np.asarray(driver, np.float64), np.asarray(output, np.float64)
    if driver_rest is not None:
        d = d - np.asarray(driver_rest, np.float64)[None]
    if output_rest is not None:
        o = o - np.asarray(output_rest, np.float64)[None]
    ref = np.isfinite(d).all(-1)                                  # (N, 2)
    err = np.where(np.isfinite(o).all(-1), np.linalg.norm(o - d, axis=-1), GAZE_FAIL)
    err = np.where(ref, err, np.nan)
    frames = ref.any(-1)
    per_frame = np.nanmean(err[frames], axis=1) if frames.any() else np.zeros(0)
    return {"mean": float(per_frame.mean()) if len(per_frame) else float("nan"),
            "p90": float(np.percentile(per_frame, 90)) if len(per_frame) else float("nan"),
            "frames": int(frames.sum()), "failed": int((ref & ~np.isfinite(o).all(-1)).sum())}


def jitter_series(landmarks: np.ndarray) -> np.ndarray:
    """(N,) |second difference| of the stable points, mean over points / the face's size (the square root of
    its 68 points' box area, as 3-D face alignment normalises: the inter-ocular distance shrinks with the
    face's turn, by 0.8 on a photo turned 37 degrees, and would count the same motion as more jitter there);
    NaN at the ends and where any of the three frames has no face."""
    p = np.asarray(landmarks, np.float64)[:, list(STABLE_POINTS)]
    out = np.full(len(p), np.nan)
    if len(p) < 3:
        return out
    acc = np.linalg.norm(p[2:] - 2 * p[1:-1] + p[:-2], axis=-1).mean(-1)
    full = np.asarray(landmarks, np.float64)[1:-1]
    size = np.sqrt(np.ptp(full[..., 0], axis=1) * np.ptp(full[..., 1], axis=1))
    out[1:-1] = acc / np.maximum(size, 1e-9)
    return out


def shifted_copy(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``image`` (H, W, 3) moved by a random sub-pixel amount (bilinear, edges reflected): (the copy, its
    (2,) shift in px, to be taken back out of what is found on it)."""
    import cv2

    h, w = image.shape[:2]
    shift = rng.uniform(-0.5, 0.5, 2)
    moved = cv2.warpAffine(np.ascontiguousarray(image[..., :3]), np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]),
                           (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return moved, shift


def still_readings(follow, photo: np.ndarray, locator=None, frames: int = STILL_FRAMES, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """What the instrument reads on a face that does not move: landmarks found by ``follow`` (image
    (H, W, 3) uint8 -> (68, 2) or None, called frame by frame like a tracker) on ``frames`` copies of
    ``photo`` shifted by random sub-pixel amounts (each shift taken back out), and the iris offsets
    ``locator`` (``gaze.IrisLocator``; None: not read) finds on them. Returns ((frames, 68, 2),
    (frames, 2, 2)), NaN where nothing was found."""
    from .gaze import iris_offsets

    rng = np.random.default_rng(seed)
    found = np.full((frames, 68, 2), np.nan)
    iris = np.full((frames, 2, 2), np.nan)
    for i in range(frames):
        moved, shift = shifted_copy(photo, rng)
        lms = follow(moved)
        if lms is not None:
            lms = np.asarray(lms, np.float64)
            found[i] = lms - shift
            if locator is not None:
                iris[i] = iris_offsets(np.asarray(locator(moved, lms), np.float64), lms)
    return found, iris


def still_jitter(found: np.ndarray) -> float:
    """The re-detection's own jitter on a face that does not move: ``jitter_series``' mean over the landmarks
    ``still_readings`` found on the photo's still copies, ``found`` (frames, 68, 2), or NaN with fewer than
    three faces. An output's jitter cannot be measured below it: on a painting the re-detection alone
    jitters more than a real driver does."""
    series = jitter_series(found)
    return float(np.nanmean(series)) if np.isfinite(series).any() else float("nan")


def gaze_floor(driver: np.ndarray, driver_again: np.ndarray, photo_still: np.ndarray) -> dict:
    """The gaze error a method that gave the photo the driver's gaze exactly would still show: the
    instrument's own noise on this pair, read on both sides. Per frame, the driver's reading noise (its
    offsets read on its frames and on sub-pixel shifted copies of them, the difference over sqrt 2: one
    reading's share) plus the output's (the photo's still readings, ``still_readings``, about their mean,
    taken in turn); the error is ``gaze_errors``' (mean over the eyes of the length).

    Args:
        driver, driver_again: (N, 2, 2) the driver's iris offsets on its frames and on the shifted copies.
        photo_still: (F, 2, 2) the photo's offsets on its still copies.
    Returns:
        {"mean", "p90": eye widths (NaN without a frame read on both sides), "frames"}.
    """
    d = (np.asarray(driver_again, np.float64) - np.asarray(driver, np.float64)) / math.sqrt(2)
    still = np.asarray(photo_still, np.float64)
    with np.errstate(all="ignore"):
        rest = np.nanmean(still, axis=0) if np.isfinite(still).any() else np.full((2, 2), np.nan)
    took = still[np.isfinite(still).all(axis=(1, 2))] - rest
    if not len(took):
        return {"mean": float("nan"), "p90": float("nan"), "frames": 0}
    err = np.linalg.norm(d + took[np.arange(len(d)) % len(took)], axis=-1)      # (N, 2)
    ok = np.isfinite(err)
    frames = ok.any(axis=1)
    if not frames.any():
        return {"mean": float("nan"), "p90": float("nan"), "frames": 0}
    per_frame = np.array([err[i][ok[i]].mean() for i in np.flatnonzero(frames)])
    return {"mean": float(per_frame.mean()), "p90": float(np.percentile(per_frame, 90)), "frames": int(frames.sum())}


def locator_gap(first: np.ndarray, second: np.ndarray) -> dict:
    """How far two iris locators disagree on the same frames: per frame, the mean over the eyes both found of
    the length of the difference of their offsets (eye widths). Read on the driver, it bounds what a gaze
    error read by either can certify: a method that gave the photo the driver's gaze exactly, by one
    locator's reading, shows this error by the other's.

    Args:
        first, second: (N, 2, 2) iris offsets (``gaze.iris_offsets``), NaN where not found.
    Returns:
        {"mean", "p90": eye widths (NaN without a frame both read), "frames"}.
    """
    a, b = np.asarray(first, np.float64), np.asarray(second, np.float64)
    err = np.linalg.norm(a - b, axis=-1)                                   # NaN where either has no iris
    frames = np.isfinite(err).any(axis=1)
    if not frames.any():
        return {"mean": float("nan"), "p90": float("nan"), "frames": 0}
    per_frame = np.nanmean(err[frames], axis=1)
    return {"mean": float(per_frame.mean()), "p90": float(np.percentile(per_frame, 90)), "frames": int(frames.sum())}


def jitter_ratio(driver: np.ndarray, output: np.ndarray) -> dict:
    """Mean normalised landmark acceleration of the output over the driver's, on the frames both cover.

    Args:
        driver, output: (N, 68, 2) landmarks, NaN where no face.
    Returns:
        {"ratio", "driver", "output", "coverage": usable frames / frames with three driver faces}.
    """
    jd, jo = jitter_series(driver), jitter_series(output)
    ref = np.isfinite(jd)
    both = ref & np.isfinite(jo)
    if not both.any():
        return {"ratio": float("nan"), "driver": float("nan"), "output": float("nan"), "coverage": 0.0}
    md, mo = float(jd[both].mean()), float(jo[both].mean())
    return {"ratio": mo / md if md > 0 else float("nan"), "driver": md, "output": mo,
            "coverage": float(both.sum() / max(ref.sum(), 1))}


__all__ = ["GAZE_FAIL", "IDENTITY_THRESHOLD", "JUDGED_GAP_PX", "SIGNALS", "STABLE_POINTS", "STILL_FRAMES",
           "frame_signals", "gaze_errors", "gaze_floor", "identity_summary", "jitter_ratio", "jitter_series",
           "judged_mouths", "locator_gap", "mouth_agreement", "pearson", "pearson_with_failures", "shape_signals", "shifted_copy",
           "still_jitter", "still_readings", "track_agreement"]
