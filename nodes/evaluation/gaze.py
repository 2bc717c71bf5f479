"""Iris centres and gaze offsets for the cross-identity evaluation.

A locator is any function ``(image (H, W, 3) uint8, landmarks (68, 2)) -> (2, 2) float`` giving the iris
centres (x, y px) of the image-left eye (points 36-41) and the image-right eye (42-47), NaN rows where
an iris is not found (a closed eye, an eye outside the image). ``classic_iris_centres`` is the evaluation's
own classical locator; ``product_iris_centres`` wraps the product's (``nodes/animate``) when the build has
it; ``model_locator`` runs MediaPipe's iris landmark model (Apache-2.0; the model the product reads a driver's
gaze with), which places the whole iris circle, lids or not; ``LOCATORS`` names all three (``eval --cross
--iris``) and ``make_locator`` builds one.

Classical locator, per eye, in a patch resampled in the eye's own frame (corner-to-corner axis
horizontal, ``WORK_WIDTH`` px long) and slightly blurred: the eye polygon (6 points, eroded by one pixel)
is the search area; an eye whose height is below ``MIN_OPENING`` x its width is closed (no iris). The
score of a centre is the mean darkness of an iris-sized disc (``IRIS_RADIUS`` x the eye width) minus the
mean darkness of the flanks beside it along the eye axis (the sclera; one flank when the other falls
outside the polygon), all over polygon pixels only: a dark round iris between bright sclera wins over
lash lines (dark along the whole eye) and corner shadows. The best centre (the score has a plateau where
the disc holds the whole visible iris) is refined by a few mean-shift steps: the darkness-weighted
centroid of the polygon pixels within ``REFINE_RADIUS`` disc radii. It finds the centre of the VISIBLE
iris: where the lids cover part of it, a vertical offset reads smaller than it is.

Offsets are measured in the eye's own frame: u along the corner-to-corner axis (pointing to the image's
right for both eyes), v perpendicular (pointing down), relative to the midpoint of the corners, in units
of the corner-to-corner width.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

EYES = (tuple(range(36, 42)), tuple(range(42, 48)))
CORNERS = ((36, 39), (42, 45))  # (image-left corner, image-right corner) of each eye
WORK_WIDTH = 48
IRIS_RADIUS = 0.2
MIN_OPENING = 0.12
REFINE_STEPS = 4
REFINE_RADIUS = 1.25

IrisLocator = Callable[[np.ndarray, np.ndarray], np.ndarray]


def eye_openings(landmarks: np.ndarray) -> tuple[float, float]:
    """(image-left eye, image-right eye) height / width: ((37-41) + (38-40)) / 2 / (36-39), likewise 42-47."""
    p = np.asarray(landmarks, np.float64)

    def one(a: int) -> float:
        height = (np.linalg.norm(p[a + 1] - p[a + 5]) + np.linalg.norm(p[a + 2] - p[a + 4])) / 2
        return float(height / max(np.linalg.norm(p[a + 3] - p[a]), 1e-9))

    return one(36), one(42)


def _eye_patch(image: np.ndarray, pts: np.ndarray, eye: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One eye resampled in its own frame: (gray (h, w) float32, polygon (6, 2) in the patch, (2, 3) patch
    px -> image px). The corner-to-corner axis is horizontal, ``WORK_WIDTH`` px long, centred."""
    import cv2

    a, b = CORNERS[eye]
    axis = pts[b] - pts[a]
    width = float(np.linalg.norm(axis))
    u = axis / width
    v = np.array([-u[1], u[0]])
    step = width / WORK_WIDTH                      # image px per patch px
    w, h = round(1.5 * WORK_WIDTH), round(0.9 * WORK_WIDTH)
    centre = (pts[a] + pts[b]) / 2
    to_image = np.stack([u * step, v * step, centre - u * step * (w - 1) / 2 - v * step * (h - 1) / 2], 1)
    rgb = np.ascontiguousarray(image[..., :3]).astype(np.float32)
    gray = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    if step > 1.5:  # shrinking: blur first so the resampling does not alias
        gray = cv2.GaussianBlur(gray, (0, 0), 0.5 * step)
    patch = cv2.warpAffine(gray, to_image, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_REPLICATE)
    to_patch = cv2.invertAffineTransform(to_image)
    poly = pts[list(EYES[eye])] @ to_patch[:, :2].T + to_patch[:, 2]
    return patch, poly, to_image


def _masked_mean(values: np.ndarray, mask: np.ndarray, kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean of ``values`` over ``mask`` pixels under ``kernel`` at every position, covered pixel count)."""
    import cv2

    m = mask.astype(np.float32)
    total = cv2.filter2D(values * m, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    count = cv2.filter2D(m, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    return total / np.maximum(count, 1e-6), count


def _score(dark: np.ndarray, mask: np.ndarray, r: int) -> np.ndarray:
    """Disc darkness minus flank darkness at every patch pixel (-inf outside ``mask``)."""
    import cv2

    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)).astype(np.float32)
    inner, _ = _masked_mean(dark, mask, disc)
    flanks = []
    for side in (0, 1):  # boxes r wide, 2r - r//2*2 high, centred 2r to the left / right of the pixel
        k = np.zeros((2 * r + 1, 5 * r + 1), np.float32)
        k[r // 2: 2 * r + 1 - r // 2, side * 4 * r: side * 4 * r + r + 1] = 1.0
        flanks.append(_masked_mean(dark, mask, k))
    (left, n_left), (right, n_right) = flanks
    least = 0.2 * r * r
    side = np.where((n_left > least) & (n_right > least), (left + right) / 2,
                    np.where(n_left > least, left, np.where(n_right > least, right, inner)))
    return np.where(mask, inner - side, -np.inf)


def locate_iris(image: np.ndarray, landmarks: np.ndarray, eye: int) -> np.ndarray:
    """Iris centre (2,) px of eye 0 (points 36-41) or 1 (42-47) by the classical locator; NaN if not found."""
    import cv2

    pts = np.asarray(landmarks, np.float64)
    a, b = CORNERS[eye]
    if np.linalg.norm(pts[b] - pts[a]) < 4 or eye_openings(pts)[eye] < MIN_OPENING:
        return np.full(2, np.nan)
    gray, poly, to_image = _eye_patch(image, pts, eye)
    gray = cv2.GaussianBlur(gray, (0, 0), 0.8)
    mask = np.zeros(gray.shape, np.uint8)
    cv2.fillPoly(mask, [np.round(poly * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8)).astype(bool)
    if mask.sum() < 4:
        return np.full(2, np.nan)
    dark = np.maximum(gray[mask].max() - gray, 0.0).astype(np.float32)
    r = max(1, round(IRIS_RADIUS * WORK_WIDTH))
    score = _score(dark, mask, r)
    cy, cx = np.unravel_index(int(np.argmax(score)), score.shape)
    if not np.isfinite(score[cy, cx]) or score[cy, cx] <= 0:
        return np.full(2, np.nan)
    ys, xs = np.mgrid[0:gray.shape[0], 0:gray.shape[1]]
    c = np.array([cx, cy], np.float64)
    for _ in range(REFINE_STEPS):  # mean shift: the darkness centroid of the polygon pixels near c
        weights = dark * mask * ((xs - c[0]) ** 2 + (ys - c[1]) ** 2 <= (REFINE_RADIUS * r) ** 2)
        total = float(weights.sum())
        if total <= 0:
            break
        c = np.array([(weights * xs).sum(), (weights * ys).sum()]) / total
    return to_image[:, :2] @ c + to_image[:, 2]


def classic_iris_centres(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(2, 2) iris centres of both eyes (the evaluation's classical locator; see module docstring)."""
    return np.stack([locate_iris(image, landmarks, e) for e in (0, 1)])


def product_iris_centres(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(2, 2) iris centres by the product's own classical locator (``nodes.animate.features.locate_both``).

    Raises:
        UsageError: this build has no ``nodes.animate`` iris locator.
    """
    try:
        from ..animate.features import locate_both
    except ImportError as exc:
        from ...runtime.errors import UsageError

        raise UsageError("the product's iris locator (nodes.animate) is not in this build; use --iris classic") \
            from exc
    found = locate_both(np.ascontiguousarray(image[..., :3]), np.asarray(landmarks, np.float64))
    return np.stack([np.asarray(e.centre, np.float64) if e.ok else np.full(2, np.nan) for e in found])


def model_locator(rt) -> IrisLocator:
    """A locator running MediaPipe's iris landmark model (``nodes.animate.iris.locate_iris_model``: the
    "mediapipe-iris" ModelSpec on LiteRT) on each eye.

    Raises:
        UsageError: the build has no ``nodes.animate``, or the model file or LiteRT is missing.
    """
    from ...runtime.errors import UsageError

    try:
        from ..animate.iris import iris_runner, locate_iris_model
    except ImportError as exc:
        raise UsageError("the iris model's reader (nodes.animate) is not in this build; use --iris classic") \
            from exc
    run = iris_runner(rt)
    if run is None:
        raise UsageError("the iris model is not available (talkinghead weights fetch mediapipe-iris); "
                         "use --iris classic")

    def locate(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        found = [locate_iris_model(np.ascontiguousarray(image[..., :3]), np.asarray(landmarks, np.float64), e, run)
                 for e in (0, 1)]
        return np.stack([np.asarray(f.centre, np.float64) if f.ok else np.full(2, np.nan) for f in found])

    return locate


LOCATORS: dict[str, str] = {
    "classic": ("classical (the evaluation's own: darkest iris-sized disc between brighter flanks in the eye "
                "polygon)"),
    "product": "the product's classical locator (nodes.animate.features.locate_both)",
    "model": "MediaPipe's iris landmark model (Apache-2.0; the one the product reads a driver's gaze with)",
}


def make_locator(name: str, rt) -> tuple[IrisLocator, str]:
    """(locator, its description) for a name in ``LOCATORS``; ``rt`` (a Runtime) finds the model's file.

    Raises:
        UsageError: an unknown name, or a locator this build or machine cannot run.
    """
    from ...runtime.errors import UsageError

    if name not in LOCATORS:
        raise UsageError(f"unknown iris locator {name!r}; use {', '.join(LOCATORS)}")
    if name == "model":
        return model_locator(rt), LOCATORS[name]
    return (classic_iris_centres if name == "classic" else product_iris_centres), LOCATORS[name]


def second_locator(name: str, rt) -> tuple[IrisLocator, str] | None:
    """The locator that reads the driver's irises a second way for ``locator_gap``: MediaPipe's iris model
    beside a classical locator, the evaluation's classical locator beside the model; None when the model
    cannot run here (no file or no LiteRT)."""
    from ...runtime.errors import UsageError

    other = "classic" if name == "model" else "model"
    try:
        return make_locator(other, rt)
    except UsageError:
        return None


def iris_offsets(centres: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(2, 2) offsets (u, v) of the iris centres from each eye's corner midpoint, in eye widths (NaN kept)."""
    pts = np.asarray(landmarks, np.float64)
    out = np.full((2, 2), np.nan)
    for eye, (a, b) in enumerate(CORNERS):
        axis = pts[b] - pts[a]
        width = float(np.linalg.norm(axis))
        if width <= 0 or not np.isfinite(centres[eye]).all():
            continue
        u = axis / width
        v = np.array([-u[1], u[0]])
        d = np.asarray(centres[eye], np.float64) - (pts[a] + pts[b]) / 2
        out[eye] = [d @ u / width, d @ v / width]
    return out


__all__ = ["CORNERS", "EYES", "LOCATORS", "IrisLocator", "classic_iris_centres", "eye_openings", "iris_offsets",
           "locate_iris", "make_locator", "model_locator", "product_iris_centres", "second_locator"]
