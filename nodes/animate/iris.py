"""Iris centres and radii, by a pure image-processing locator inside the dlib eye polygon and by MediaPipe's
iris landmark model (``iris_landmark.tflite``, Apache-2.0) when a runner for it is given; and the temporal
stabiliser that holds the last good value over failed frames and smooths the rest (One Euro, zero phase).

Classical locator (``locate_iris``): the darkest disc with a bright surround inside the eye opening
(normalised convolution with disc and ring kernels over the visible part, several radii), refined by a
least-squares circle through the limbus edge points found along rays to the sides (the top and bottom of the
iris are often under the lids, its sides rarely are).

Model (``locate_iris_model``): the eye is cropped as MediaPipe does (a square 2.3x the corner distance,
turned so the corners are level, the image-right eye mirrored), resized to 64 x 64 RGB in [0, 1]; the model's
5 iris points (centre + 4 on the limbus) are mapped back.

Eye points are (6, 2) px (iBUG 36-41 or 42-47); an estimate is (cx, cy, r) px + ok.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .regions import EYE_CORNERS, EYES, polygon_mask

RADII = (0.15, 0.18, 0.21, 0.24, 0.27, 0.30)   # candidate radii, fractions of the corner distance
MIN_COVER = 0.3          # visible fraction of the disc needed
MIN_CONTRAST = 0.035     # surround minus disc, in [0, 1] grey levels
MIN_OPENING = 0.12       # eye_opening below this: the iris is not looked for (the eye is closed)
MODEL_SCALE = 2.3        # MediaPipe's eye crop: 2.3 x the corner distance
MODEL_SIZE = 64
SPIKE = 0.12             # eye widths: an estimate this far from its neighbours' median is a failure
REFINE_MIN_AREA = 0.65   # lids refined to an opening smaller than this share of dlib's: the model traced the iris


@dataclass
class IrisEstimate:
    """One eye's iris: centre (2,) px, radius px, ok (False: not found; the values are then meaningless)."""

    centre: np.ndarray
    radius: float
    ok: bool

    def as_array(self) -> np.ndarray:
        """(3,) float32 x, y, r; NaN when not ok."""
        return np.array([*self.centre, self.radius] if self.ok else [np.nan] * 3, np.float32)


FAILED = IrisEstimate(np.array([np.nan, np.nan]), float("nan"), False)


def _grey(image: np.ndarray) -> np.ndarray:
    import cv2

    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    return grey.astype(np.float32) / (255.0 if grey.dtype == np.uint8 else 1.0)


def _disc(radius: float, inner: float = 0.0) -> np.ndarray:
    half = int(np.ceil(radius)) + 1
    y, x = np.mgrid[-half:half + 1, -half:half + 1]
    d = np.hypot(x, y)
    return (np.clip(radius + 0.5 - d, 0, 1) * np.clip(d - inner + 0.5, 0, 1)).astype(np.float32)


def _coarse(grey: np.ndarray, mask: np.ndarray, width: float) -> tuple[np.ndarray, float, float] | None:
    """Best (centre, radius, contrast) of the disc search, or None."""
    import cv2

    best = None
    masked = grey * mask
    for frac in RADII:
        r = frac * width
        if r < 1.0:
            continue
        disc, ring = _disc(r), _disc(1.6 * r, inner=r + 0.5)
        cover = cv2.filter2D(mask, -1, disc, borderType=cv2.BORDER_CONSTANT)
        mean_in = cv2.filter2D(masked, -1, disc, borderType=cv2.BORDER_CONSTANT) / np.maximum(cover, 1e-6)
        ring_cover = cv2.filter2D(mask, -1, ring, borderType=cv2.BORDER_CONSTANT)
        mean_ring = cv2.filter2D(masked, -1, ring, borderType=cv2.BORDER_CONSTANT) / np.maximum(ring_cover, 1e-6)
        ok = (cover / disc.sum() >= MIN_COVER) & (ring_cover / ring.sum() >= 0.1) & (mask > 0.5)
        score = np.where(ok, mean_ring - mean_in, -np.inf)
        k = int(np.argmax(score))
        y, x = divmod(k, score.shape[1])
        if np.isfinite(score[y, x]) and (best is None or score[y, x] > best[2]):
            best = (np.array([x, y], np.float64), r, float(score[y, x]))
    return best


def _refine(grey: np.ndarray, mask: np.ndarray, centre: np.ndarray, radius: float) -> tuple[np.ndarray, float] | None:
    """Circle fitted to the limbus edge (dark -> bright along rays towards the sides)."""
    import cv2

    angles = np.deg2rad(np.concatenate([np.arange(-50, 51, 5), np.arange(130, 231, 5)]))
    steps = np.arange(0.4 * radius, 1.7 * radius, 0.25)
    inner = cv2.erode((mask > 0.99).astype(np.float32), np.ones((3, 3), np.uint8))  # off the lid edge
    edges = []
    for a in angles:
        direction = np.array([np.cos(a), np.sin(a)])
        pts = centre + steps[:, None] * direction
        xs, ys = pts[:, 0].astype(np.float32), pts[:, 1].astype(np.float32)
        vals = cv2.remap(grey, xs[None], ys[None], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[0]
        keep = cv2.remap(inner, xs[None], ys[None], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)[0] > 0.99
        grad = np.gradient(vals)
        keep[1:-1] &= keep[:-2] & keep[2:]          # both sides of the edge inside the opening
        grad[~keep] = -np.inf
        k = int(np.argmax(grad))
        if not np.isfinite(grad[k]) or grad[k] <= 0 or k in (0, len(grad) - 1):
            continue
        g0, g1, g2 = grad[k - 1], grad[k], grad[k + 1]
        denom = g0 - 2 * g1 + g2
        shift = 0.5 * (g0 - g2) / denom if np.isfinite(denom) and abs(denom) > 1e-12 else 0.0
        edges.append(centre + (steps[k] + float(np.clip(shift, -1, 1)) * 0.25) * direction)
    if len(edges) < 6:
        return None
    e = np.array(edges)
    a_mat = np.column_stack([2 * e, np.ones(len(e))])
    sol, *_ = np.linalg.lstsq(a_mat, (e ** 2).sum(1), rcond=None)
    c = sol[:2]
    r = float(np.sqrt(max(sol[2] + c @ c, 0)))
    resid = np.abs(np.linalg.norm(e - c, axis=1) - r)
    if (resid > max(1.0, 0.15 * r)).mean() > 0.3:    # one refit without the outliers
        e = e[resid <= np.median(resid) * 2 + 0.5]
        if len(e) < 6:
            return None
        a_mat = np.column_stack([2 * e, np.ones(len(e))])
        sol, *_ = np.linalg.lstsq(a_mat, (e ** 2).sum(1), rcond=None)
        c, r = sol[:2], float(np.sqrt(max(sol[2] + sol[:2] @ sol[:2], 0)))
    if not (0.6 * radius <= r <= 1.5 * radius) or np.linalg.norm(c - centre) > 0.6 * radius:
        return None
    return c, r


def locate_iris(image: np.ndarray, eye_points: np.ndarray) -> IrisEstimate:
    """The iris in one eye by image processing alone (see module docstring).

    Args:
        image: (H, W, 3) uint8 RGB (or (H, W) grey).
        eye_points: (6, 2) the eye's 6 landmarks.
    Returns:
        IrisEstimate in image px; FAILED when the eye is closed or no dark disc stands out.
    """
    from .regions import box_around

    p = np.asarray(eye_points, np.float64)
    width = float(np.linalg.norm(p[3] - p[0]))
    gap = (np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])) / 2
    if width < 6 or gap / width < MIN_OPENING or not np.isfinite(p).all():
        return FAILED
    x0, y0, x1, y1 = box_around(p, image.shape[:2], grow=0.35)
    grey = _grey(image[y0:y1, x0:x1])
    local = p - [x0, y0]
    mask = polygon_mask(local, grey.shape)
    found = _coarse(grey, mask, width)
    if found is None or found[2] < MIN_CONTRAST:
        return FAILED
    centre, radius, _ = found
    refined = _refine(grey, mask, centre, radius)
    if refined is not None:
        centre, radius = refined
    return IrisEstimate(centre + [x0, y0], float(radius), True)


def model_crop(landmarks: np.ndarray, eye: int) -> tuple[np.ndarray, bool]:
    """MediaPipe's eye crop as a (2, 3) affine image px -> 64 x 64 model px, and whether it is mirrored
    (the image-right eye, as the model is trained on image-left eyes)."""
    p = np.asarray(landmarks, np.float64)
    a, b = p[EYE_CORNERS[eye][0]], p[EYE_CORNERS[eye][1]]
    flip = eye == 1
    centre, axis = (a + b) / 2, b - a
    side = MODEL_SCALE * float(np.linalg.norm(axis))
    x = axis / max(np.linalg.norm(axis), 1e-9)
    rot = np.array([x, [-x[1], x[0]]])            # rows: crop x, crop y axes in image px
    scale = MODEL_SIZE / max(side, 1e-9)
    lin = scale * rot
    if flip:
        lin = np.diag([-1.0, 1.0]) @ lin
    t = np.full(2, (MODEL_SIZE - 1) / 2) - lin @ centre       # pixel centres at integers (cv2)
    return np.hstack([lin, t[:, None]]), flip


def locate_iris_model(image: np.ndarray, landmarks: np.ndarray, eye: int,
                      run: Callable[[np.ndarray], np.ndarray]) -> IrisEstimate:
    """The iris by MediaPipe's iris landmark model.

    Args:
        image: (H, W, 3) uint8 RGB.
        landmarks: (68, 2) px.
        eye: 0 (points 36-41) or 1 (42-47).
        run: (1, 64, 64, 3) float32 RGB in [0, 1] -> the model's iris output, 15 floats (5 points x, y, z
            in model px), e.g. from ``iris_runner``.
    """
    import cv2

    p = np.asarray(landmarks, np.float64)[EYES[eye]]
    width = float(np.linalg.norm(p[3] - p[0]))
    gap = (np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])) / 2
    if width < 4 or gap / width < MIN_OPENING:
        return FAILED
    m, _ = model_crop(landmarks, eye)
    crop = cv2.warpAffine(image, m, (MODEL_SIZE, MODEL_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    out = np.asarray(run(crop[None].astype(np.float32) / 255.0), np.float64).reshape(-1)[:15].reshape(5, 3)[:, :2]
    inv = cv2.invertAffineTransform(m)
    pts = (out - 0.5) @ inv[:, :2].T + inv[:, 2]   # the model's px have edges at integers
    centre = pts[0]
    radius = float(np.linalg.norm(pts[1:] - centre, axis=1).mean())
    if not (np.isfinite(centre).all() and 0.05 * width < radius < 0.5 * width):
        return FAILED
    return IrisEstimate(centre, radius, True)


def iris_runner(rt) -> Callable[[np.ndarray], np.ndarray] | None:
    """A ``run`` for ``locate_iris_model`` from the "mediapipe-iris" ModelSpec on LiteRT, or None (said once)
    when the model file or ai-edge-litert is absent: callers then use the classical locator."""
    from ...runtime.errors import MissingWeightsError
    from ...runtime.litert import load_litert

    try:
        model = load_litert(rt, "mediapipe-iris")
    except MissingWeightsError as exc:
        rt.say_once("iris-model-missing", f"iris: classical locator only ({exc})")
        return None
    names = [o["name"] for o in model.outputs]
    k = names.index("output_iris") if "output_iris" in names else len(names) - 1
    return lambda batch: model(batch)[k]


def contour_runner(rt) -> Callable[[np.ndarray], np.ndarray] | None:
    """A ``run`` giving the iris model's eye contour output (71 points x, y, z in model px; the first 16 are
    the lids: 0 and 8 the corners, 1-7 the lower lid, 9-15 the upper lid), or None without the model."""
    from ...runtime.errors import MissingWeightsError
    from ...runtime.litert import load_litert

    try:
        model = load_litert(rt, "mediapipe-iris")
    except MissingWeightsError:
        return None
    names = [o["name"] for o in model.outputs]
    k = next((i for i, n in enumerate(names) if "contour" in n), 0)
    return lambda batch: model(batch)[k]


def eye_contour(image: np.ndarray, landmarks: np.ndarray, eye: int,
                run: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray] | None:
    """The lids of one eye by the iris model: (upper (9, 2), lower (9, 2)) px, each from corner to corner,
    or None when the eye is too small."""
    import cv2

    p = np.asarray(landmarks, np.float64)[EYES[eye]]
    if float(np.linalg.norm(p[3] - p[0])) < 4 or not np.isfinite(p).all():
        return None
    m, _ = model_crop(landmarks, eye)
    crop = cv2.warpAffine(image, m, (MODEL_SIZE, MODEL_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    out = np.asarray(run(crop[None].astype(np.float32) / 255.0), np.float64).reshape(-1)[:48].reshape(16, 3)[:, :2]
    inv = cv2.invertAffineTransform(m)
    pts = (out - 0.5) @ inv[:, :2].T + inv[:, 2]
    if not np.isfinite(pts).all():
        return None
    return pts[[0, *range(9, 16), 8]], pts[0:9]


def refine_eyelids(landmarks: np.ndarray, contours: list, max_change: float = 0.5,
                   min_area: float = REFINE_MIN_AREA) -> np.ndarray:
    """``landmarks`` (68, 2) with each eye's lid points (37, 38, 40, 41 / 43, 44, 46, 47) moved onto the
    model's lid curves (``eye_contour``), each at its own position along the eye's axis.

    dlib's 6 points often sit inside the lids (the upper lid above its polygon), so a closed-eye plate
    made from them leaves the top of the iris and the lash line behind, and a closing lid ghosts. An eye
    whose refined opening differs from dlib's by more than ``max_change`` x the eye width, or covers less than
    ``min_area`` of dlib's opening, keeps dlib's: dlib's points rarely lie outside the lids, so a much smaller
    opening is the model's failure (on a painted eye seen three-quarters it traces the iris, and the eye's
    sclera is then lost to the plate). ``contours``: per eye (upper, lower) or None."""
    from .regions import eye_frame, polygon_area

    out = np.asarray(landmarks, np.float64).copy()
    for eye, lids in enumerate(contours):
        if lids is None:
            continue
        centre, rot, width = eye_frame(out, eye)
        idx = EYES[eye]
        new = out[idx].copy()
        for curve, points in ((lids[0], (1, 2)), (lids[1], (5, 4))):
            local = (curve - centre) @ rot.T / width
            order = np.argsort(local[:, 0])
            for k in points:
                u = ((out[idx[k]] - centre) @ rot.T / width)[0]
                v = np.interp(u, local[order, 0], local[order, 1])
                new[k] = centre + np.array([u, v]) * width @ rot
        change = np.abs(((new - out[idx]) @ rot.T / width)[:, 1]).max()
        if np.isfinite(new).all() and change <= max_change and polygon_area(new) >= min_area * polygon_area(out[idx]):
            out[idx] = new
    return out


def hold_last_good(values: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Replace failed rows of ``values`` (T, D) by the last good row (leading failures by the first good one).

    Returns a copy; all-NaN when no row is good.
    """
    values = np.asarray(values, np.float64).copy()
    ok = np.asarray(ok, bool) & np.isfinite(values).all(axis=1)
    if not ok.any():
        return np.full_like(values, np.nan)
    last = values[np.flatnonzero(ok)[0]]
    for t in range(len(values)):
        if ok[t]:
            last = values[t]
        else:
            values[t] = last
    return values


def despike(values: np.ndarray, ok: np.ndarray, limit: float = SPIKE) -> np.ndarray:
    """``ok`` with isolated jumps removed: a good row farther than ``limit`` from the median of the good rows
    among its 2 neighbours on each side is marked failed. values (T, D), ok (T,)."""
    ok = np.asarray(ok, bool).copy()
    vals = np.asarray(values, np.float64)
    good = ok & np.isfinite(vals).all(axis=1)
    for t in np.flatnonzero(good):
        near = [s for s in range(max(0, t - 2), min(len(vals), t + 3)) if s != t and good[s]]
        if len(near) >= 2 and np.linalg.norm(vals[t] - np.median(vals[near], axis=0)) > limit:
            ok[t] = False
    return ok


def stabilise(offsets: np.ndarray, ok: np.ndarray, fps: float, min_cutoff: float = 1.5,
              beta: float = 2.0) -> np.ndarray:
    """Per-eye iris tracks without jumps or flicker: despike, hold the last good value, One Euro (zero phase).

    Args:
        offsets: (T, E, D) per frame and eye, e.g. iris offsets in eye widths (u, v) [+ radius].
        ok: (T, E) bool, the detections that succeeded.
        fps: frame rate of the clip.
    Returns:
        (T, E, D) float32; an eye never found stays NaN.
    """
    from ..landmarks.smoothing import one_euro

    rate = float(fps) if fps and fps > 0 else 25.0
    out = np.full(np.shape(offsets), np.nan, np.float32)
    for e in range(np.shape(offsets)[1]):
        vals = np.asarray(offsets, np.float64)[:, e]
        held = hold_last_good(vals, despike(vals, np.asarray(ok)[:, e]))
        if not np.isfinite(held).all():
            continue
        fwd = one_euro(held, rate, min_cutoff, beta)
        bwd = one_euro(held[::-1], rate, min_cutoff, beta)[::-1]
        out[:, e] = 0.5 * (fwd + bwd)
    return out


__all__ = [
    "FAILED",
    "IrisEstimate",
    "contour_runner",
    "despike",
    "eye_contour",
    "hold_last_good",
    "iris_runner",
    "locate_iris",
    "locate_iris_model",
    "model_crop",
    "refine_eyelids",
    "stabilise",
]
