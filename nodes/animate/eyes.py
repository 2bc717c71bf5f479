"""Eyes: gaze and eyelids (issue 19). The eyeball is a layer under the lids: the photo's own eye (sclera and
iris) moved rigidly with the eye corners, its iris moved to the driver's gaze, and shown only inside the
target's lid opening; everything outside the opening comes from the warped plate whose eyes are closed
(``plate``), so a closing lid is lid skin from the photo, down to fully closed, with no ghost of the iris.

Per shot (``analyse_eye``): the iris (``iris``), a texture of it whose lid-hidden part is filled from its
visible mirror image, and the sclera with the iris taken out (each row filled between the sclera to its left
and right: the photo's own sclera), extended beyond the lids column by column for eyes that open wider
than the photo's. Per frame (``render_eye``): the eyeball layer in the target and its
anti-aliased lid-opening matte.

Gaze is an iris offset from the eye centre (the corners' midpoint) in eye widths, in the eye's own rotated
frame (``regions.to_eye_units``), so it transfers between faces and head poses.
Images (H, W, 3) uint8 RGB; landmarks (68, 2) px.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .iris import IrisEstimate
from .regions import EYE_CORNERS, EYES, box_around, eye_opening, polygon_mask, to_eye_units

GLARE_LEVEL = 0.97       # grey level counted as specular glare
GLARE_SHARE = 0.25       # share of the opening in glare: the eye is occluded (glasses)
MATTE_FEATHER = 0.35     # px, on top of the anti-aliasing
IRIS_EDGE = 0.9          # px of soft limbus edge


@dataclass
class SourceEye:
    """One eye of the photo, prepared once per shot.

    Attributes:
        eye: 0 (iBUG 36-41) or 1 (42-47).
        ok: False when the eye cannot be animated (no iris found, glare): plain warp then.
        reason: why not ok ("" when ok).
        box: window x0, y0, x1, y1 of ``sclera`` in the photo.
        sclera: (h, w, 3) float32 [0, 1], the photo's eye window with the iris removed.
        iris_rgb: (s, s, 3) float32, the iris texture centred on its centre; iris_radius: px in the photo.
        gaze: (2,) the photo's iris offset in eye widths.
    """

    eye: int
    ok: bool
    reason: str = ""
    box: tuple[int, int, int, int] = (0, 0, 0, 0)
    sclera: np.ndarray | None = None
    iris_rgb: np.ndarray | None = None
    iris_radius: float = 0.0
    gaze: np.ndarray | None = None


def glare_share(image: np.ndarray, eye_points: np.ndarray) -> float:
    """Share of the eye opening's pixels at or above ``GLARE_LEVEL`` (specular light on glasses)."""
    import cv2

    x0, y0, x1, y1 = box_around(eye_points, image.shape[:2], grow=0.0)
    crop = image[y0:y1, x0:x1]
    if crop.size == 0:
        return 0.0
    mask = polygon_mask(np.asarray(eye_points, np.float64) - [x0, y0], crop.shape[:2]) > 0.5
    if mask.sum() < 4:
        return 0.0
    grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    return float((grey[mask] >= GLARE_LEVEL).mean())


def fill_rows(window: np.ndarray, hole: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Each row's ``hole`` pixels filled by interpolating between the nearest ``valid`` pixels left and right
    of the hole in that row (one side when the other has none). window (h, w, 3) float; masks (h, w) bool."""
    out = window.copy()
    cols = np.arange(window.shape[1])
    for y in np.flatnonzero(hole.any(axis=1)):
        good = np.flatnonzero(valid[y] & ~hole[y])
        if not len(good):
            continue
        miss = np.flatnonzero(hole[y])
        for c in range(window.shape[2]):
            out[y, miss, c] = np.interp(miss, good, window[y, good, c])
    if hole.any():  # rows without any sclera: take the filled row above/below
        for y in np.flatnonzero(hole.any(axis=1) & ~(valid & ~hole).any(axis=1)):
            rows = np.flatnonzero((valid & ~hole).any(axis=1))
            if len(rows):
                near = rows[np.argmin(np.abs(rows - y))]
                out[y, hole[y]] = out[near, cols[hole[y]]]
    return out


def extend_columns(window: np.ndarray, opening: np.ndarray, inset: int = 1) -> np.ndarray:
    """The eyeball beyond the lids, for a target eye that opens wider than the photo's: every pixel outside
    ``opening`` takes the value ``inset`` px inside the opening's top or bottom in its column (columns
    beyond the corners take the nearest such column). window (h, w, 3) float; opening (h, w) bool."""
    out = window.copy()
    cols = np.flatnonzero(opening.any(axis=0))
    if not len(cols):
        return out
    rows = np.arange(window.shape[0])
    for x in cols:
        inside = np.flatnonzero(opening[:, x])
        top, bottom = inside[0], inside[-1]
        k = min(inset, (bottom - top) // 2)
        out[rows < top, x] = window[top + k, x]
        out[rows > bottom, x] = window[bottom - k, x]
    out[:, :cols[0]] = out[:, cols[0]:cols[0] + 1]
    out[:, cols[-1] + 1:] = out[:, cols[-1]:cols[-1] + 1]
    return out


def analyse_eye(photo: np.ndarray, landmarks: np.ndarray, eye: int, iris: IrisEstimate) -> SourceEye:
    """Prepare one eye of the photo (see ``SourceEye``); ``iris`` from ``iris.locate_iris`` or the model."""
    p = np.asarray(landmarks, np.float64)
    pts = p[EYES[eye]]
    if not iris.ok:
        return SourceEye(eye, False, "no iris found")
    if glare_share(photo, pts) > GLARE_SHARE:
        return SourceEye(eye, False, "glare")
    box = box_around(pts, photo.shape[:2], grow=0.6)
    x0, y0, x1, y1 = box
    window = photo[y0:y1, x0:x1].astype(np.float32) / 255
    local = pts - [x0, y0]
    centre, r = iris.centre - [x0, y0], iris.radius
    yy, xx = np.mgrid[0:y1 - y0, 0:x1 - x0]
    disc = np.hypot(xx - centre[0], yy - centre[1]) <= r + 1.0
    opening = polygon_mask(local, window.shape[:2]) > 0.5
    sclera = extend_columns(fill_rows(window, disc & opening, opening), opening)
    return SourceEye(eye, True, "", box, sclera, _iris_texture(window, opening, centre, r), float(r),
                     to_eye_units(iris.centre, p, eye))


def _iris_texture(window: np.ndarray, opening: np.ndarray, centre: np.ndarray, r: float) -> np.ndarray:
    """(s, s, 3) iris patch centred on ``centre`` (s = 2 * ceil(r) + 3); the part the lids hide is taken
    from its vertical mirror, else its horizontal mirror, else the visible iris' mean."""
    import cv2

    half = int(np.ceil(r)) + 1
    s = 2 * half + 1
    m = np.array([[1, 0, centre[0] - half], [0, 1, centre[1] - half]], np.float64)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    patch = cv2.warpAffine(window, m, (s, s), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    seen = cv2.warpAffine(opening.astype(np.float32), m, (s, s), flags=flags) > 0.99
    yy, xx = np.mgrid[0:s, 0:s]
    inside = np.hypot(xx - half, yy - half) <= r
    seen &= inside
    out = patch.copy()
    fill = inside & ~seen
    for flipped, fseen in ((patch[::-1], seen[::-1]), (patch[:, ::-1], seen[:, ::-1])):
        take = fill & fseen
        out[take] = flipped[take]
        fill &= ~take
    if fill.any() and seen.any():
        out[fill] = patch[seen].mean(0)
    return out.astype(np.float32)


def eyeball_transform(src_lms: np.ndarray, dst_lms: np.ndarray, eye: int) -> np.ndarray:
    """(2, 3) similarity moving the photo's eye corners onto the target's (the eyeball is rigid)."""
    from ..warping.warp import align_similarity

    idx = list(EYE_CORNERS[eye])
    return align_similarity(np.asarray(src_lms, np.float64)[idx], np.asarray(dst_lms, np.float64)[idx])


def render_eye(frame: np.ndarray, src_lms: np.ndarray, landmarks: np.ndarray, src: SourceEye,
               gaze: np.ndarray | None = None) -> np.ndarray:
    """Draw one eye's eyeball into ``frame`` inside the target's lid opening (a copy is returned).

    Args:
        frame: (H, W, 3) uint8, the warped closed-eye plate at the target pose.
        src_lms: (68, 2) landmarks of the photo; landmarks: (68, 2) of the target.
        src: the photo's ``SourceEye`` (not ok: ``frame`` is returned unchanged).
        gaze: (2,) iris offset in eye widths for the target (None: the photo's own gaze).
    """
    import cv2

    if not src.ok:
        return frame
    dst = np.asarray(landmarks, np.float64)
    pts = dst[EYES[src.eye]]
    box = box_around(pts, frame.shape[:2], grow=0.3)
    x0, y0, x1, y1 = box
    size = (y1 - y0, x1 - x0)
    matte = polygon_mask(pts - [x0, y0], size, feather=MATTE_FEATHER)
    if matte.max() <= 0:
        return frame
    m = eyeball_transform(src_lms, dst, src.eye)
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    # sclera window (photo box) -> target window
    sx0, sy0 = src.box[:2]
    to_window = m.copy()
    to_window[:, 2] += m[:, :2] @ [sx0, sy0] - [x0, y0]
    ball = cv2.warpAffine(src.sclera, to_window, (size[1], size[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    offset = src.gaze if gaze is None or not np.isfinite(gaze).all() else np.asarray(gaze, np.float64)
    from .regions import from_eye_units

    centre = from_eye_units(offset, dst, src.eye) - [x0, y0]
    ball = _paste_iris(ball, src.iris_rgb, centre, src.iris_radius * scale, m[:, :2])
    out = frame.copy()
    win = out[y0:y1, x0:x1].astype(np.float32) / 255
    out[y0:y1, x0:x1] = np.clip(np.round((win + matte[..., None] * (ball - win)) * 255), 0, 255).astype(np.uint8)
    return out


def _paste_iris(ball: np.ndarray, texture: np.ndarray, centre: np.ndarray, radius: float,
                lin: np.ndarray) -> np.ndarray:
    """``texture`` (centred iris) drawn at ``centre``, scaled and turned by ``lin`` (2, 2); its disc edge
    at ``radius`` px is softened over ``IRIS_EDGE`` px."""
    import cv2

    half = (texture.shape[0] - 1) / 2
    t = centre - lin @ [half, half]
    m = np.hstack([lin, t[:, None]])
    h, w = ball.shape[:2]
    iris = cv2.warpAffine(texture, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    yy, xx = np.mgrid[0:h, 0:w]
    alpha = np.clip((radius - np.hypot(xx - centre[0], yy - centre[1])) / IRIS_EDGE + 0.5, 0, 1)[..., None]
    return ball + alpha * (iris - ball)


def eye_occluded(image: np.ndarray, landmarks: np.ndarray, eye: int) -> bool:
    """True when the photo's eye cannot be used: too much glare in the opening."""
    return glare_share(image, np.asarray(landmarks, np.float64)[EYES[eye]]) > GLARE_SHARE


__all__ = ["SourceEye", "analyse_eye", "extend_columns", "eye_occluded", "eye_opening", "eyeball_transform", "fill_rows",
           "glare_share", "render_eye"]
