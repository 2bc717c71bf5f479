"""Eyes: gaze and eyelids (issue 19). The eyeball is a layer under the lids: the photo's own eye (sclera and
iris) moved with the eye corners and scaled across the eye as the face is (``eyeball_transform``), its iris
moved to the driver's gaze, and shown only inside the target's lid opening; everything outside the opening
comes from the warped plate whose eyes are closed (``plate``), so a closing lid is lid skin from the photo,
down to fully closed, with no ghost of the iris.

Per shot (``analyse_eye``): the iris (``iris``), a texture of it whose lid-hidden part is filled from its
visible mirror image, and the eyeball (``eyeball``): the photo's opening with the iris taken out (each row
filled between the sclera to its left and right, then smoothed across the rows: ``smooth_hole``), and where a target opens wider than the photo, the
sclera from just below the photo's lid margin carried up past its upper lid. Per frame (``render_eye``):
the eyeball layer in the target, the photo's upper-lid margin (lashes and their shadow, ``LID_MARGIN`` of
the opening) carried under the target's upper lid wherever it goes (``lid_margin``), and the anti-aliased
matte of the opening between the lids, each lid an arc through its points (``lid_curve``). The lid margin
belongs to the lid: streaked upwards with the eyeball, it drew dark bands and boxes above the iris of an
eye opened wider than the photo's.

Gaze is an iris offset from the eye centre (the corners' midpoint) in eye widths, in the eye's own rotated
frame (``regions.to_eye_units``), so it transfers between faces and head poses.
Images (H, W, 3) uint8 RGB; landmarks (68, 2) px.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .colour_match import LUMA
from .fill import bridge
from .iris import IrisEstimate
from .regions import (
    EYES,
    box_around,
    corner_frame,
    eye_frame,
    eye_opening,
    polygon_mask,
    polyline_at,
    to_eye_units,
)

GLARE_LEVEL = 0.97       # grey level counted as specular glare
GLARE_SHARE = 0.25       # share of the opening in glare: the eye is occluded (glasses)
MATTE_FEATHER = 0.35     # px, on top of the anti-aliasing
IRIS_EDGE = 0.9          # px of soft limbus edge
LID_MARGIN = 0.4         # the top share of the photo's opening is the upper lid's margin (lashes and their shadow)
SCLERA_LIGHT = 75        # the sclera's colour: median of the opening's pixels above this luma percentile (iris out)
HOLE_SMOOTH = 0.06       # the iris' hole in the eyeball is smoothed over this x the eye's width (``smooth_hole``)
IRIS_REACH = 1.5         # the iris as it shows (``visible_radius``) is looked for up to this x the located radius
KEEP_RAMP = 0.15         # below the lid's margin, the photo's own eyeball fades in over this share of the opening
ACROSS_RANGE = (0.6, 1.6)  # the eyeball's scale across the eye stays within this range of its scale along it
NOSE = (27, 33)          # the nose's length: the face's own scale across the eyes (``eyeball_transform``)
CURVE_SPACING = 0.05     # lid points closer than this share of the eye's width along it: the lid is a polyline


@dataclass
class SourceEye:
    """One eye of the photo, prepared once per shot.

    Attributes:
        eye: 0 (iBUG 36-41) or 1 (42-47).
        ok: False when the eye cannot be animated (no iris found, glare): plain warp then.
        reason: why not ok ("" when ok).
        box: window x0, y0, x1, y1 of ``sclera`` in the photo.
        sclera: (h, w, 3) float32 [0, 1], the eyeball in ``box`` (``eyeball``: the iris removed).
        iris_rgb: (s, s, 3) float32, the iris texture centred on its centre; iris_radius: px in the photo.
        gaze: (2,) the photo's iris offset in eye widths.
        window: (h, w, 3) float32 [0, 1], the photo's pixels in ``box`` with the iris filled from the sclera
            beside it: the light under its upper lid is measured on them (``lid_margin``); None: no margin.
        points: (6, 2) the photo's eye points, px.
        sclera_colour: (3,) the sclera's colour (``eyeball``).
    """

    eye: int
    ok: bool
    reason: str = ""
    box: tuple[int, int, int, int] = (0, 0, 0, 0)
    sclera: np.ndarray | None = None
    iris_rgb: np.ndarray | None = None
    iris_radius: float = 0.0
    gaze: np.ndarray | None = None
    window: np.ndarray | None = None
    points: np.ndarray | None = None
    sclera_colour: np.ndarray | None = None


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
    of the hole in that row (one side when the other has none: ``fill.bridge`` along rows); a row with no
    such pixel takes the nearest row's fill. window (h, w, 3) float; masks (h, w) bool."""
    known = valid & ~hole
    rows = np.flatnonzero(known.any(axis=1))
    if not len(rows):
        return window.copy()
    bridged, _ = bridge(window, ~known, axis=1)
    out = np.where(hole[..., None], bridged, window).astype(window.dtype)
    for y in np.flatnonzero(hole.any(axis=1) & ~known.any(axis=1)):  # no sclera in the row: the nearest row's
        near = rows[np.argmin(np.abs(rows - y))]
        out[y, hole[y]] = out[near, hole[y]]
    return out


def smooth_hole(window: np.ndarray, hole: np.ndarray, support: np.ndarray, sigma: float) -> np.ndarray:
    """``window`` whose ``hole`` pixels are replaced by its Gaussian blur (``sigma`` px) over the ``support``
    pixels alone (normalised: nothing outside ``support`` bleeds in). Row by row, the iris' hole is filled
    from the sclera to its left and right; rows whose ends touch the lashes' shadow and rows that touch
    bright sclera alternate, and the moved iris uncovered grey and white stripes. window (h, w, 3) float;
    masks (h, w) bool."""
    import cv2

    if not hole.any() or sigma <= 0:
        return window
    weight = support.astype(np.float32)
    total = cv2.GaussianBlur(window.astype(np.float32) * weight[..., None], (0, 0), sigma)
    count = cv2.GaussianBlur(weight, (0, 0), sigma)[..., None]
    smooth = total / np.maximum(count, 1e-6)
    return np.where(hole[..., None], smooth, window).astype(window.dtype)


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


def lid_frame(points: np.ndarray, size: tuple[int, int], origin: tuple[float, float]
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each pixel of a window lies relative to an eye's lids.

    Args:
        points: (6, 2) eye points (iBUG order: corner, two upper-lid points, corner, two lower-lid points), px.
        size: (h, w) of the window; origin: its top-left corner x, y in the same px as ``points``.
    Returns:
        u (h, w): position along the corner-to-corner axis, -1 at one corner, +1 at the other;
        depth (h, w): px below the upper lid, across the axis (negative above it);
        gap (h, w): the lids' distance at u, px.
    """
    centre, axes, half, local = _eye_axes(points)
    yy, xx = np.mgrid[0:size[0], 0:size[1]]
    rel = np.stack([xx + origin[0] - centre[0], yy + origin[1] - centre[1]], -1) @ axes
    v_up, gap = _lids_at(local, rel[..., 0])
    return rel[..., 0] / half, rel[..., 1] - v_up, gap


def _eye_axes(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """An eye's own frame: centre (2,), axes (2, 2) whose columns are along the corners and across the eye
    (pointing down the face), half the corner distance, and the 6 points in that frame (6, 2)."""
    p = np.asarray(points, np.float64)
    centre, rot, width = corner_frame(p[0], p[3])
    axes = rot.T
    return centre, axes, max(width / 2, 1e-6), (p - centre) @ axes


def lid_curve(points: np.ndarray, along: np.ndarray) -> np.ndarray:
    """A lid through (4, 2) points in its eye's frame (corner, two lid points, corner; x along the eye), at
    ``along`` (any shape): the cubic through the four points, so the lid is an arc whose corners stay pointed
    (the polyline drew a trapezoid over an eye opened wide), within a quarter of the lid's height beyond its
    points, and held at the corners' value beyond them. Points too close along the eye for a cubic: the
    polyline."""
    p = np.asarray(points, np.float64)
    x = np.sort(p[:, 0])
    if x[-1] - x[0] <= 0 or np.diff(x).min() < CURVE_SPACING * (x[-1] - x[0]):
        return polyline_at(p, along)
    v = np.polyval(np.polyfit(p[:, 0], p[:, 1], 3), np.clip(along, x[0], x[-1]))
    reach = 0.25 * float(np.ptp(p[:, 1]))
    return np.clip(v, p[:, 1].min() - reach, p[:, 1].max() + reach)


def _lids_at(local: np.ndarray, along: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The upper lid's position across the eye and the lids' gap at ``along`` (px in the eye's frame)."""
    v_up = lid_curve(local[[0, 1, 2, 3]], along)
    return v_up, np.maximum(lid_curve(local[[3, 4, 5, 0]], along) - v_up, 0.0)


def lid_outline(points: np.ndarray, samples: int = 16) -> np.ndarray:
    """The eye's opening between its lid curves (``lid_curve``): (2 * samples, 2) px, corner to corner along
    the upper lid and back along the lower; points (6, 2) px in iBUG order."""
    centre, axes, _, local = _eye_axes(points)
    along = np.linspace(local[0, 0], local[3, 0], samples)
    v_up, gap = _lids_at(local, along)
    loop = np.r_[np.c_[along, v_up], np.c_[along, v_up + gap][::-1]]
    return centre + loop @ axes.T


def eyeball(window: np.ndarray, opening: np.ndarray, iris_disc: np.ndarray, points: np.ndarray,
            origin: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The photo's eyeball in its window, for targets that open wider than the photo: its opening with the
    iris filled from the sclera beside it (``fill_rows``); above the upper lid and in the lid's margin rows
    (``LID_MARGIN`` of the opening: lashes and their shadow, which ``lid_margin`` carries with the lid), the
    eyeball just below that margin in the same place along the eye, fading into the photo's own eyeball over
    ``KEEP_RAMP`` of the opening below it (the photo's lashes never stay behind as a second lid line, and the
    sclera keeps its own shading); below the lower lid and beyond the corners as ``extend_columns``.
    window (h, w, 3) float; opening, iris_disc (h, w) bool; points (6, 2) px with the window's top-left at
    ``origin``.

    Returns:
        the eyeball (h, w, 3) float32; the opening with the iris filled (h, w, 3); the sclera's colour (3,),
        the median of its light pixels (``SCLERA_LIGHT``) (None: too little sclera to tell, and the eyeball
        is ``extend_columns``' alone).
    """
    import cv2

    hole = iris_disc & opening
    filled = smooth_hole(fill_rows(window, hole, opening), hole, hole,
                         HOLE_SMOOTH * float(np.linalg.norm(np.subtract(points[3], points[0]))))
    out = extend_columns(filled, opening)
    sclera = opening & ~iris_disc
    if sclera.sum() < 3:
        return out, filled, None
    px = filled[sclera]
    luma = px @ LUMA
    colour = np.median(px[luma >= np.percentile(luma, SCLERA_LIGHT)], axis=0)
    u, depth, gap = lid_frame(points, opening.shape, origin)
    margin = np.maximum(LID_MARGIN * gap, 1.0)
    down = _eye_axes(points)[1][:, 1]                  # across the eye, towards the lower lid
    yy, xx = np.mgrid[0:opening.shape[0], 0:opening.shape[1]]
    pos = np.stack([xx, yy], -1) + (np.minimum(margin + 0.5, gap) - depth)[..., None] * down   # just below the margin
    below = cv2.remap(out.astype(np.float32), pos[..., 0].astype(np.float32), pos[..., 1].astype(np.float32),
                      cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    keep = np.clip((depth - margin + 0.5) / np.maximum(KEEP_RAMP * gap, 1.0), 0, 1)[..., None]
    between = (np.abs(u) <= 1)[..., None] & ((depth < 0)[..., None] | opening[..., None])
    return np.where(between, below + keep * (out - below), out).astype(np.float32), filled, colour.astype(np.float32)


def lid_margin(src: SourceEye, target_points: np.ndarray, box: tuple[int, int, int, int], scale: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """The shade of the photo's upper-lid margin (its top ``LID_MARGIN`` of the opening: lashes and their
    shadow) under the target's upper lid, at the same place along the eye and the same depth below the lid
    (``scale``: target px per photo px): the photo's iris-free pixels there over its eyeball there
    (``eyeball``: the sclera just below the margin). Multiplied into the eyeball, it darkens whatever lies
    under the lid now, the moved iris included, as the photo's lid darkened its sclera. Returns the factor
    (h, w, 3) float32 and its alpha (h, w) float32 in the window ``box`` (x0, y0, x1, y1)."""
    import cv2

    x0, y0, x1, y1 = box
    size = (y1 - y0, x1 - x0)
    if src.window is None or src.sclera_colour is None:
        return np.ones((*size, 3), np.float32), np.zeros(size, np.float32)
    u, depth, _ = lid_frame(target_points, size, (x0, y0))
    centre, axes, half, local = _eye_axes(src.points)
    along = np.clip(u, -1, 1) * half                       # the same place along the photo's eye
    v_up, gap = _lids_at(local, along)
    d = depth / max(scale, 1e-6)
    pos = centre + np.stack([along, v_up + d], -1) @ axes.T - np.asarray(src.box[:2], np.float64)
    map_x, map_y = pos[..., 0].astype(np.float32), pos[..., 1].astype(np.float32)
    rgb = cv2.remap(src.window, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    ball = cv2.remap(src.sclera, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    factor = np.clip(rgb / np.maximum(ball, 1e-3), 0, 1)
    margin = np.maximum(LID_MARGIN * gap, 1.0)
    alpha = np.clip(margin - d + 0.5, 0, 1) * np.clip(d + 0.5, 0, 1) * (np.abs(u) <= 1)
    return factor.astype(np.float32), alpha.astype(np.float32)


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
    centre = iris.centre - [x0, y0]
    opening = polygon_mask(lid_outline(local), window.shape[:2]) > 0.5
    r = visible_radius(window, opening, centre, iris.radius)
    yy, xx = np.mgrid[0:y1 - y0, 0:x1 - x0]
    disc = np.hypot(xx - centre[0], yy - centre[1]) <= r + 1.0
    ball, filled, colour = eyeball(window, opening, disc, pts, (x0, y0))
    return SourceEye(eye, True, "", box, ball, _iris_texture(window, opening, centre, r), float(r),
                     to_eye_units(iris.centre, p, eye), filled if colour is not None else None, pts, colour)


def visible_radius(window: np.ndarray, opening: np.ndarray, centre: np.ndarray, radius: float) -> float:
    """The iris' radius as it shows in the photo, never below the located ``radius``: along the rows through
    ``centre`` (the lids hide its top and bottom, not its sides), the distance to where the iris ends, half a
    pixel before the first pixel at least as light as the midpoint of the iris' core luma and the sclera's
    (``SCLERA_LIGHT``), looked for up to ``IRIS_REACH`` x ``radius``; a side that runs into the lid or the
    corner first says nothing. The iris model can give the pupil and brown iris without its grey rim
    (girl_pearl: 8.4 px for an iris of about 11.5): left in the eyeball, the rim was filled row by row into
    dark stripes that showed wherever the iris moved away. window (h, w, 3) float; opening (h, w) bool;
    centre (2,) px."""
    luma = window @ LUMA
    yy, xx = np.mgrid[0:window.shape[0], 0:window.shape[1]]
    dist = np.hypot(xx - centre[0], yy - centre[1])
    core, rest = opening & (dist <= 0.7 * radius), opening & (dist > radius + 1)
    if core.sum() < 3 or rest.sum() < 3:
        return float(radius)
    level = (float(np.median(luma[core])) + float(np.percentile(luma[rest], SCLERA_LIGHT))) / 2
    reach = int(np.ceil(IRIS_REACH * radius))
    cx, cy = round(float(centre[0])), round(float(centre[1]))
    ends = []
    for y in range(cy - 1, cy + 2):
        if not 0 <= y < window.shape[0]:
            continue
        for step in (-1, 1):
            for k in range(1, reach + 1):
                x = cx + step * k
                if not 0 <= x < window.shape[1] or not opening[y, x]:
                    break                          # the lid or the corner: no edge on this side
                if luma[y, x] >= level:                # the edge lies halfway between the last dark pixel and this one
                    ends.append(float(np.hypot(x - step * 0.5 - float(centre[0]), y - float(centre[1]))))
                    break
    return float(max(radius, np.median(ends))) if ends else float(radius)


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


def eyeball_transform(src_lms: np.ndarray, dst_lms: np.ndarray, eye: int) -> tuple[np.ndarray, float]:
    """The (2, 3) affine moving the photo's eyeball onto the target's, and its scale across the eye.

    Along the eye, its corners go onto the target's; across it, the eyeball is scaled as the face is (the
    nose's length, ``NOSE``), not as the eye's width: an eye seen obliquely widens as the head turns towards
    the camera while its opening and its iris grow no taller (girl_pearl's far eye, 1.39 x as wide with the
    nose 1.06 x as long: scaled by its width alone, its iris was drawn taller than the lids, cut off by them
    in a straight line at the inner corner). The scale across stays within ``ACROSS_RANGE`` of the one along.
    """
    src, dst = np.asarray(src_lms, np.float64), np.asarray(dst_lms, np.float64)
    c0, r0, w0 = eye_frame(src, eye)
    c1, r1, w1 = eye_frame(dst, eye)
    along = w1 / max(w0, 1e-9)
    nose = np.linalg.norm(dst[NOSE[1]] - dst[NOSE[0]]) / max(float(np.linalg.norm(src[NOSE[1]] - src[NOSE[0]])), 1e-9)
    across = float(np.clip(nose, ACROSS_RANGE[0] * along, ACROSS_RANGE[1] * along))
    lin = r1.T @ np.diag([along, across]) @ r0
    return np.hstack([lin, (c1 - lin @ c0)[:, None]]), across


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
    matte = polygon_mask(lid_outline(pts) - [x0, y0], size, feather=MATTE_FEATHER)
    if matte.max() <= 0:
        return frame
    m, across = eyeball_transform(src_lms, dst, src.eye)
    # sclera window (photo box) -> target window
    sx0, sy0 = src.box[:2]
    to_window = m.copy()
    to_window[:, 2] += m[:, :2] @ [sx0, sy0] - [x0, y0]
    ball = cv2.warpAffine(src.sclera, to_window, (size[1], size[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    offset = src.gaze if gaze is None or not np.isfinite(gaze).all() else np.asarray(gaze, np.float64)
    from .regions import from_eye_units

    centre = from_eye_units(offset, dst, src.eye) - [x0, y0]
    ball = _paste_iris(ball, src.iris_rgb, centre, src.iris_radius, m[:, :2])
    factor, lid_alpha = lid_margin(src, pts, box, across)
    ball *= 1 + lid_alpha[..., None] * (factor - 1)
    out = frame.copy()
    win = out[y0:y1, x0:x1].astype(np.float32) / 255
    out[y0:y1, x0:x1] = np.clip(np.round((win + matte[..., None] * (ball - win)) * 255), 0, 255).astype(np.uint8)
    return out


def _paste_iris(ball: np.ndarray, texture: np.ndarray, centre: np.ndarray, radius: float,
                lin: np.ndarray) -> np.ndarray:
    """``texture`` (centred iris) drawn at ``centre``, scaled and turned by ``lin`` (2, 2); its disc of
    ``radius`` photo px, mapped by ``lin`` (an ellipse where the eyeball is scaled more along the eye than
    across it), has its edge softened over ``IRIS_EDGE`` px."""
    import cv2

    half = (texture.shape[0] - 1) / 2
    t = centre - lin @ [half, half]
    m = np.hstack([lin, t[:, None]])
    h, w = ball.shape[:2]
    iris = cv2.warpAffine(texture, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    yy, xx = np.mgrid[0:h, 0:w]
    inv = np.linalg.inv(lin)
    in_photo = np.hypot(inv[0, 0] * (xx - centre[0]) + inv[0, 1] * (yy - centre[1]),
                        inv[1, 0] * (xx - centre[0]) + inv[1, 1] * (yy - centre[1]))
    scale = float(np.sqrt(abs(np.linalg.det(lin))))
    alpha = np.clip((radius - in_photo) * scale / IRIS_EDGE + 0.5, 0, 1)[..., None]
    return ball + alpha * (iris - ball)


def eye_occluded(image: np.ndarray, landmarks: np.ndarray, eye: int) -> bool:
    """True when the photo's eye cannot be used: too much glare in the opening."""
    return glare_share(image, np.asarray(landmarks, np.float64)[EYES[eye]]) > GLARE_SHARE


__all__ = ["SourceEye", "analyse_eye", "extend_columns", "eye_occluded", "eye_opening", "eyeball", "eyeball_transform",
           "fill_rows", "glare_share", "lid_curve", "lid_frame", "lid_margin", "lid_outline", "render_eye",
           "visible_radius"]
