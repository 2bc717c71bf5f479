"""Per-frame motion of the head layer: one dense, smooth, fold-free BACKWARD map (output px -> source px).

The map is built in three parts (in the spirit of Averbuch-Elor et al. 2017, §3: a global head motion plus
a smooth landmark-driven warp, with anchors that keep what must not move still):
1. rigid head: the least-squares similarity ``S`` (rotation, scale, translation) of the stable landmarks
   (eye corners, nose; ``retarget.RIGID_POINTS``) from the source face to the target face. Hair, ears and
   the outline of the head follow ``S`` exactly;
2. face: a thin-plate spline of the residual ``src_k - S^-1(dst_k)`` at the 68 landmarks, 10 forehead
   points and 8 points of skin around the eyes that follow the brows and the eye corners, not the lids
   (``lid_skin_anchors``), with anchors on two rings around the head outline (the inner one carries half
   the residual of its outline point, the outer one none), faded to zero outside the outer ring, so the face
   follows the landmarks while hair and ears follow the head rigidly (and a compressed cheek cannot cross
   its ring); lids and lips that shut are held a little open in the map (``hold_open``), and the skin
   above a shutting lid is held at its crease (``skin_stiffness``) and unrolled over the eye column by
   column (``lid_strips``);
3. neck: the map is blended towards the identity below the chin (``NeckLine``): no displacement below the
   neck line, so the neck joins the still shoulders.
The map is evaluated on a coarse lattice (every ``step`` px, centres at ``(i + 0.5) * step - 0.5`` so that
``cv2.resize`` upsamples it exactly; ``compose.upsample_map``). A fold (non-injective map) is a defect:
``jacobian_det`` / ``fold_mask`` find it and ``repair_folds`` smooths the displacement until none is left.

Shapes: landmarks (68, 2) float x, y px (iBUG 300-W order); maps (gh, gw, 2) float32 source x, y px.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..landmarks.retarget import RIGID_POINTS, similarity
from ..warping.warp import forehead_points
from .regions import smooth_closed
from .targets import LIP_UPPER_SHARE

JAW = np.arange(0, 17)
NECK_TOP = 0.15        # neck weight 1 (full head motion) above chin + NECK_TOP x face height
NECK_BOTTOM = 0.7      # neck weight 0 (still) below chin + NECK_BOTTOM x face height
NECK_TOP_MIN = -0.1    # the band's top never rises higher (the lower lip is ~0.25 above the chin)
RING_SCALE = 1.35      # inner anchors: face outline (upper jaw + forehead) scaled about the face centre;
                       # they carry half the residual of their outline point (a yaw moves the near hair too)
OUTER_SCALE = 1.8      # outer anchors: zero residual (hair and ears beyond follow the head rigidly)
RING_FADE = 1.3        # the face residual fades from the outer ring (rho = 1) to zero at rho = RING_FADE
TPS_SMOOTH = 0.03      # thin-plate regulariser (face-height units): on 4 real drivers it removes every fold
                       # (lp_d3, dagan_drv fold at 1e-3) and moves landmarks by < 1 % of the face height
FEATURE_SMOOTH = 1e-4  # the regulariser at the nose, eyes and lips (FEATURE_POINTS): they land on their targets
                       # (on the demo pair the lips missed by 3 px, 11 px at worst, at 0.03; the nose 0.7 px
                       # on average, which moved its tip against the eye corners: a nod the driver did not make)
FEATURE_POINTS = np.arange(27, 68)
FOLD_EPS = 0.05        # a map whose local area ratio (Jacobian determinant) is below this is folded
OPENING_MARGIN = 0.15  # the opening's cells (``opening_cells``) reach this x its height past the lip line
CREASE = 0.4           # lid skin anchors (``lid_skin_anchors``): this share of the way from an upper lid to its brow
UNDER_EYE = 0.5        # ... and this x the lid-to-brow distance below a lower lid
APERTURE_FLOOR = 0.3   # the map closes lids and lips to no less than this x the photo's gap (``hold_open``)
LASH_BAND = 0.4        # the lashes and their shadow above a shut lid keep their scale: this x the photo's lid gap ...
LASH_MOST = 0.8        # ... at most this share of the skin between crease and lid
BROW_NEAR = 2.0        # a brow this many lid gaps above its lid or closer is in a shutting lid's reach ...
BROW_FAR = 2.6         # ... one this far or farther is not (``skin_stiffness``, ``lid_strips``)
SHUT_STIFF = 0.5       # a lid at this x its photo's gap or less holds its crease anchors as firmly as the lids


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """0 below ``edge0``, 1 above ``edge1``, C1-smooth between."""
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


@dataclass(frozen=True)
class NeckLine:
    """Where the head's motion fades out, fixed in the photo (the shoulders do not move).

    Attributes:
        chin: (2,) the source chin (landmark 8), px.
        down: (2,) unit vector from the brows' centre towards the chin.
        height: face height (brows' centre to chin), px.
    """

    chin: np.ndarray
    down: np.ndarray
    height: float

    @classmethod
    def from_landmarks(cls, landmarks: np.ndarray) -> NeckLine:
        p = np.asarray(landmarks, np.float64)
        axis = p[8] - p[17:27].mean(0)
        height = float(np.linalg.norm(axis))
        if height <= 1e-6:
            raise ValueError("degenerate landmarks: zero face height")
        return cls(p[8].copy(), axis / height, height)

    def depth(self, points: np.ndarray) -> np.ndarray:
        """Signed distance below the chin along ``down``, in face heights: (...,) for points (..., 2)."""
        return ((np.asarray(points, np.float64) - self.chin) @ self.down) / self.height

    def weight(self, points: np.ndarray, top: float = NECK_TOP, bottom: float = NECK_BOTTOM) -> np.ndarray:
        """1 where the head moves fully, 0 below the neck line: (...,)."""
        return 1.0 - smoothstep(top, bottom, self.depth(points))


@dataclass(frozen=True)
class HeadFrame:
    """The head's elliptic outline in the source face's frame (for the residual's fade-out).

    Attributes:
        centre: (2,) source px; axes: (2, 2) rows = unit right and down vectors; radii: (2,) px.
    """

    centre: np.ndarray
    axes: np.ndarray
    radii: np.ndarray

    @classmethod
    def from_landmarks(cls, landmarks: np.ndarray, scale: float = OUTER_SCALE) -> HeadFrame:
        ring = ring_points(landmarks, scale)
        centre = ring.mean(0)
        down = NeckLine.from_landmarks(landmarks).down
        axes = np.stack([np.array([-down[1], down[0]]), down])
        local = (ring - centre) @ axes.T
        return cls(centre, axes, np.abs(local).max(0))

    def rho(self, source_points: np.ndarray) -> np.ndarray:
        """Elliptic radius of source points (1 on the ring's bounding ellipse): (...,)."""
        local = (np.asarray(source_points, np.float64) - self.centre) @ self.axes.T
        return np.sqrt(((local / self.radii) ** 2).sum(-1))


def ring_points(landmarks: np.ndarray, scale: float = RING_SCALE, jaw: bool = True) -> np.ndarray:
    """Anchors on the head outline: jaw + forehead points scaled by ``scale`` about the face centre.

    Args:
        jaw: keep the lower jaw's anchors (points 4-12); the residual's anchors leave them out, so that the
            skin under the chin follows the jaw (the neck band fades it out below).
    Returns:
        (27, 2), or (18, 2) without the lower jaw.
    """
    p = np.asarray(landmarks, np.float64)
    jaw_index = JAW if jaw else np.r_[0:4, 13:17]
    outline = np.concatenate([p[jaw_index], forehead_points(p)[::-1]])
    centre = p.mean(0)
    return centre + scale * (outline - centre)


def head_similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Similarity (2, 3) mapping the source's stable landmarks onto the target's."""
    return similarity(np.asarray(source)[RIGID_POINTS], np.asarray(target)[RIGID_POINTS])


def invert_affine(m: np.ndarray) -> np.ndarray:
    a = np.linalg.inv(m[:, :2])
    return np.hstack([a, -a @ m[:, 2:]])


def apply_affine(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    return np.asarray(points, np.float64) @ m[:, :2].T + m[:, 2]


def tps_fit(centres: np.ndarray, values: np.ndarray, scale: float, smooth: float | np.ndarray = TPS_SMOOTH) -> tuple:
    """Thin-plate spline through ``values`` (P, D) at ``centres`` (P, 2); coordinates divided by ``scale``.

    ``smooth``: the regulariser, one value or one per centre (P,) (a smaller value holds that centre closer).

    Returns:
        (centres / scale, weights (P, D), affine (3, D), scale) for ``tps_eval``.
    """
    c = np.asarray(centres, np.float64) / scale
    n = len(c)
    k = _tps_kernel(c, c) + np.diag(np.broadcast_to(np.asarray(smooth, np.float64), (n,)))
    p = np.hstack([np.ones((n, 1)), c])
    system = np.zeros((n + 3, n + 3))
    system[:n, :n], system[:n, n:], system[n:, :n] = k, p, p.T
    rhs = np.zeros((n + 3, values.shape[1]))
    rhs[:n] = values
    try:
        sol = np.linalg.solve(system, rhs)
    except np.linalg.LinAlgError:  # coincident centres: least squares still gives a smooth map
        sol = np.linalg.lstsq(system, rhs, rcond=None)[0]
    return c, sol[:n], sol[n:], scale


def tps_eval(model: tuple, points: np.ndarray) -> np.ndarray:
    """Evaluate a ``tps_fit`` model at ``points`` (..., 2): (..., D) float64.

    The kernel and its weighted sum run in float32, about the centres' mean (the logarithm over every
    point x centre pair is most of a frame's motion time, and float32 runs it in half the time); the values
    move by about 0.01 px (the large weights of a face's spline, up to several hundred px, cancel)."""
    c, w, a, scale = model
    flat = np.asarray(points, np.float64).reshape(-1, 2) / scale
    mid = c.mean(0)
    bent = _tps_kernel((flat - mid).astype(np.float32), (c - mid).astype(np.float32)) @ w.astype(np.float32)
    out = bent + a[0] + flat @ a[1:]
    return out.reshape(*np.shape(points)[:-1], w.shape[1])


def _tps_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """U(r) = r^2 log r for all pairs of rows of ``a`` (M, 2) and ``b`` (P, 2): (M, P), in their dtype."""
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    d2 = np.maximum(d2, d2.dtype.type(1e-20))
    return d2.dtype.type(0.5) * d2 * np.log(d2)


def lattice(roi: tuple[int, int, int, int], step: int) -> np.ndarray:
    """Coarse sample positions (gh, gw, 2) for ``roi`` = (x0, y0, x1, y1), aligned for ``cv2.resize``.

    ``roi``'s width and height must be multiples of ``step``; sample (i, j) sits at
    ``(x0 + (j + 0.5) * step - 0.5, y0 + (i + 0.5) * step - 0.5)``.
    """
    x0, y0, x1, y1 = roi
    xs = x0 + (np.arange((x1 - x0) // step) + 0.5) * step - 0.5
    ys = y0 + (np.arange((y1 - y0) // step) + 0.5) * step - 0.5
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx, gy], -1)


INNER_LIPS = ((61, 67), (62, 66), (63, 65))   # (upper, lower) inner-lip pairs, iBUG order


LID_PAIRS = ((37, 41), (38, 40), (43, 47), (44, 46))   # (upper, lower) eyelid points, iBUG order
APERTURES = ((LID_PAIRS[:2], (36, 39), 0.0), (LID_PAIRS[2:], (42, 45), 0.0), (INNER_LIPS, (48, 54), LIP_UPPER_SHARE))


def hold_open(target: np.ndarray, source: np.ndarray, down: np.ndarray, floor: float = APERTURE_FLOOR) -> np.ndarray:
    """Landmarks (68, 2) whose eyes' lids and inner lips are at least ``floor`` x the source's gap apart
    (scaled by the eye's or the mouth's width), along ``down``. The lids open by moving the lower lid (the
    upper lid's lash line stays on its target), the lips by moving both, the upper lip ``LIP_UPPER_SHARE``.

    A shutting eye, or a photo's open mouth pressed shut, brings each upper point within a pixel of its
    lower one, whose source points are a whole opening apart: no smooth map takes two points that close to
    sources that far apart, and the thin-plate spline rings instead (on a 512 px face, lids at 0.05-0.1 of
    their gap dragged the skin between lid and brow down by twice the lid's own travel, a V-shaped crease;
    lips at 0.05 of a 16 px gap folded the map past repair and moved the chin by 2.4 px). The band left
    open is skin and lip from the closed-aperture plate (``plate``): the eyeball and the mouth interior are
    drawn only inside the target's own openings. Lips that cross are opened the same way: relative
    retargeting adds the driver's lip motion to the photo's own lips, so a photo with closed lips driven
    from a slightly open neutral frame gets lips that pass through each other (a fold, and a mouth that
    reads as open); a source whose own lips touch or cross is held at a gap of zero.
    """
    out = np.array(target, np.float64)
    src = np.asarray(source, np.float64)
    for pairs, (a, b), share in APERTURES:
        scale = np.linalg.norm(out[b] - out[a]) / max(float(np.linalg.norm(src[b] - src[a])), 1e-9)
        for upper, lower in pairs:
            want = max(floor * float((src[lower] - src[upper]) @ down) * scale, 0.0)
            have = float((out[lower] - out[upper]) @ down)
            if have < want:
                out[upper] -= share * (want - have) * down
                out[lower] += (1 - share) * (want - have) * down
    return out


LID_SKIN = ((37, 41, 19), (38, 40, 20), (43, 47, 23), (44, 46, 24))   # (upper lid, lower lid, brow) columns


def lid_skin_anchors(source: np.ndarray, target: np.ndarray, linear: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Anchors for the skin around the eyes, which does not travel with the lids: (source (8, 2), target (8, 2)).

    Above each upper lid point, ``CREASE`` of the way to its brow point (the lid crease), the skin moves with
    the brow; below each lower lid point, ``UNDER_EYE`` x the lid-to-brow distance down, it moves with the
    eye's corners. Each keeps its source offset from what it follows, turned and scaled by ``linear`` (2, 2),
    the head similarity's linear part. Without them the spline spread every lid motion over the brow and the
    cheek: a blink pulled the brows down, and a tracker's lids closing on an open, narrow eye dragged the skin
    above it along.
    """
    src, dst = np.asarray(source, np.float64), np.asarray(target, np.float64)
    above, below = [], []
    for upper, lower, brow in LID_SKIN:
        corners = [36, 39] if upper < 42 else [42, 45]
        p = src[upper] + CREASE * (src[brow] - src[upper])
        above.append((p, dst[brow] + linear @ (p - src[brow])))
        q = src[lower] + UNDER_EYE * (src[lower] - src[brow])
        centre_s, centre_d = src[corners].mean(0), dst[corners].mean(0)
        below.append((q, centre_d + linear @ (q - centre_s)))
    pairs = above + below
    return np.array([a for a, _ in pairs]), np.array([b for _, b in pairs])


def skin_stiffness(source: np.ndarray, target: np.ndarray, smooth: float) -> np.ndarray:
    """The thin-plate regulariser (8,) of the ``lid_skin_anchors`` (in their order) for (68, 2) landmarks.

    A crease anchor above a lid that shuts, its brow within the lid's reach, is held as firmly as the lids
    (``FEATURE_SMOOTH`` as ``_hold`` reaches 1, log-interpolated from ``smooth`` at 0): a soft anchor gave way to
    the lid's pull, and on a face whose brow sits close above the lid (lia_macron, sadtalker_happy) a blink
    dragged the brow's hair down into the closed lid, a dark wedge. An eye that opens wider keeps ``smooth``:
    held firmly, the skin between a rising lid and its anchor crumpled into loops (mona_lisa). The anchors
    below the lower lids keep ``smooth``.
    """
    src, dst = np.asarray(source, np.float64), np.asarray(target, np.float64)
    out = np.full(2 * len(LID_SKIN), smooth)
    for k, column in enumerate(LID_SKIN):
        held = _hold(src, dst, *column)
        out[k] = np.exp((1 - held) * np.log(smooth) + held * np.log(FEATURE_SMOOTH))
    return out


@dataclass(frozen=True)
class LidStrip:
    """The skin between a shutting upper lid and its crease, unrolled without a fold (``lid_strips``).

    Attributes:
        origin: (2,) the eye's first corner in the target; axis: (2,) unit vector to its other corner;
            down: (2,) unit normal towards the lower lid; width: px between the corners.
        u: (4,) the columns' positions along the axis, 0 to 1 (corner, the two upper lid points, corner).
        lid, crease: (4,) the target's upper lid and crease at the columns, px along ``down``.
        lashes: px (target) above the lid that keep the source's scale: the lash band (``LASH_BAND``);
        lash_share: its share of the source strip.
        weight: how far the lid has shut, 0 (the photo's gap or wider) to 1 (``SHUT_STIFF`` or less).
    """

    origin: np.ndarray
    axis: np.ndarray
    down: np.ndarray
    width: float
    u: np.ndarray
    lid: np.ndarray
    crease: np.ndarray
    lashes: float
    lash_share: float
    weight: float

    def crease_arc(self, u: np.ndarray) -> np.ndarray:
        """An arc from corner to corner through the crease at the two middle columns, px along ``down`` at ``u``
        (0 to 1 along the axis): elliptical at the corners, where the lid's rounded top meets them. The map's
        chords (``apply``) leave the skin between chord and arc to the spline, which stretches it as well."""
        u = np.asarray(u, np.float64)
        mid = self.u[1:3]
        lift = self.crease[1:3] / np.maximum(np.sqrt(1.0 - (2.0 * mid - 1.0) ** 2), 1e-6)
        return np.sqrt(np.clip(1.0 - (2.0 * u - 1.0) ** 2, 0.0, 1.0)) * np.interp(u, mid, lift)

    def skin_bottom(self, crease: np.ndarray, lid: np.ndarray) -> np.ndarray:
        """Where the stretched skin ends above the lash band, px along ``down``, for ``crease`` and ``lid``."""
        return lid - np.minimum(self.lashes, LASH_MOST * (lid - crease))

    def apply(self, points: np.ndarray, mapped: np.ndarray,
              smooth_map: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """``mapped`` (..., 2) with the strip's points (``points`` (..., 2), target px) sampling, in each
        column, the source between what ``smooth_map`` (target px (K, 2) -> source px) samples at the crease
        and at the lid: the lash band (``lash_share`` of it, at the lid) at the face's scale, the rest stretched
        evenly over the remaining height; blended by ``weight``."""
        rel = points - self.origin
        u, v = rel @ self.axis / self.width, rel @ self.down
        lid, crease = np.interp(u, self.u, self.lid), np.interp(u, self.u, self.crease)
        inside = (u > 0) & (u < 1) & (v >= crease) & (v <= lid) & (lid - crease > 1e-6)
        if not inside.any():
            return mapped
        along = self.origin + (u[inside] * self.width)[:, None] * self.axis
        top = smooth_map(along + crease[inside][:, None] * self.down)
        bottom = smooth_map(along + lid[inside][:, None] * self.down)
        height = lid[inside] - crease[inside]
        t = (v[inside] - crease[inside]) / height
        band = np.clip(self.lashes / height, 1e-6, 1.0)      # the lash band's share of the target strip
        f = self.lash_share
        share = np.where(t >= 1 - band, 1 - f * (1 - t) / band,
                         (1 - f) * t / np.maximum(1 - band, 1e-9))   # of the way down the source strip
        out = mapped.copy()
        out[inside] += self.weight * (top + share[:, None] * (bottom - top) - out[inside])
        return out


def lid_strips(source: np.ndarray, target: np.ndarray, skin_src: np.ndarray, skin_dst: np.ndarray,
               down: np.ndarray) -> tuple[LidStrip, ...]:
    """The ``LidStrip`` of each eye whose upper lid shuts (``skin_stiffness``'s measure), from the (68, 2)
    landmarks, the target crease anchors ``skin_dst`` (``lid_skin_anchors``, the first four) and the
    target's ``down`` (2,).

    A shutting lid must unroll the skin above it over the eye, but the thin-plate spline cannot turn from
    the squeeze between the lids (the photo's whole opening in a band 0.3 of it) to the stretch above the
    upper lid in a few pixels: it rang, and a band of output rows sampled one source row (a fold; vertical
    streaks of the crease, or of the brow's hair when the crease anchors gave way). Between crease and lid
    the map is therefore set column by column (``LidStrip.apply``): the lashes and their shadow keep their
    size at the lid, and the skin below the crease is stretched over the rest, as a closed lid shows it.
    """
    src, dst = np.asarray(source, np.float64), np.asarray(target, np.float64)
    out = []
    for e, (a, b, uppers) in enumerate(((36, 39, (37, 38)), (42, 45, (43, 44)))):
        columns = LID_SKIN[2 * e:2 * e + 2]
        weight = max(_hold(src, dst, *column) for column in columns)
        if weight <= 0:
            continue
        width = float(np.linalg.norm(dst[b] - dst[a]))
        axis = (dst[b] - dst[a]) / max(width, 1e-9)
        normal = np.array([-axis[1], axis[0]])
        normal = normal if normal @ down >= 0 else -normal
        cols = [dst[a], dst[uppers[0]], dst[uppers[1]], dst[b]]
        u = np.array([(c - dst[a]) @ axis / max(width, 1e-9) for c in cols])
        if not np.all(np.diff(u) > 0):
            continue
        creases = [dst[a], skin_dst[2 * e], skin_dst[2 * e + 1], dst[b]]
        scale = width / max(float(np.linalg.norm(src[b] - src[a])), 1e-9)
        strip = np.mean([np.linalg.norm(src[k] - c) for k, c in zip(uppers, skin_src[2 * e:2 * e + 2])])
        gap = np.mean([np.linalg.norm(src[lo] - src[up]) for up, lo, _ in columns])
        lashes = min(LASH_BAND * gap, LASH_MOST * strip)
        out.append(LidStrip(dst[a], axis, normal, width, u, np.array([(c - dst[a]) @ normal for c in cols]),
                            np.array([(c - dst[a]) @ normal for c in creases]), lashes * scale,
                            lashes / max(strip, 1e-9), weight))
    return tuple(out)


def _hold(src: np.ndarray, dst: np.ndarray, upper: int, lower: int, brow: int) -> float:
    """How firmly the skin above the lid pair (upper, lower) is held, 0 to 1: how far the lid has shut (0 at the
    photo's gap, scaled by the eye's width, or wider; 1 at ``SHUT_STIFF`` x it or less) times how near its
    brow sits (1 at ``BROW_NEAR`` photo gaps above the lid or closer, 0 at ``BROW_FAR`` or farther: a brow
    that far is out of the lid's reach, and the skin coming down with the lid is the closed lid's crease)."""
    corners = [36, 39] if upper < 42 else [42, 45]
    width = np.linalg.norm(src[corners[1]] - src[corners[0]])
    scale = np.linalg.norm(dst[corners[1]] - dst[corners[0]]) / max(width, 1e-9)
    gap = max(float(np.linalg.norm(src[lower] - src[upper])), 1e-9)
    ratio = np.linalg.norm(dst[lower] - dst[upper]) / (gap * scale)
    near = 1.0 - smoothstep(BROW_NEAR, BROW_FAR, np.array(np.linalg.norm(src[brow] - src[upper]) / gap))
    return float(np.clip((1.0 - ratio) / (1.0 - SHUT_STIFF), 0.0, 1.0) * near)


@dataclass(frozen=True)
class FrameMotion:
    """One frame's head motion, fitted once and evaluated at any output points (``frame_motion``).

    Attributes:
        s_inv: (2, 3) the inverse of the head's similarity (target -> source).
        model: the thin-plate spline of the face residual (``tps_fit``).
        head: the source head's outline (``HeadFrame``) where the residual fades out.
        neck: the neck line; band: (top, bottom) of this frame's neck band (``neck_band``).
    """

    s_inv: np.ndarray
    model: tuple
    head: HeadFrame
    neck: NeckLine
    band: tuple[float, float] = (0.15, 0.7)
    strips: tuple[LidStrip, ...] = ()

    def head_map(self, points: np.ndarray) -> np.ndarray:
        """Backward map of the moving head (before the neck blend) at ``points`` (..., 2): (..., 2)."""
        mapped = self.smooth_map(points)
        for strip in self.strips:
            mapped = strip.apply(points, mapped, self.smooth_map)
        return mapped

    def smooth_map(self, points: np.ndarray) -> np.ndarray:
        """The head map before the lid strips (``lid_strips``): the similarity plus the faded spline, (..., 2)."""
        rigid = apply_affine(self.s_inv, points)
        fade = 1.0 - smoothstep(1.0, RING_FADE, self.head.rho(rigid))
        return rigid + fade[..., None] * tps_eval(self.model, points)

    def backward(self, points: np.ndarray) -> np.ndarray:
        """The full backward map at ``points`` (..., 2): the head blended to the identity below the neck."""
        points = np.asarray(points, np.float64)
        weight = self.neck.weight(points, *self.band)[..., None]
        return points + weight * (self.head_map(points) - points)


def fit_head_motion(source: np.ndarray, target: np.ndarray, neck: NeckLine | None = None,
                    smooth: float = TPS_SMOOTH) -> FrameMotion:
    """The head motion from ``source`` to ``target`` landmarks (68, 2), with the default neck band.

    q(p) = S^-1(p) + fade(rho) * TPS(p) (the target's shut or crossed lids and lips held a little open:
    ``hold_open``), with the TPS through the residuals src_k - S^-1(dst_k) at
    the landmarks, the forehead points and the skin around the eyes (``lid_skin_anchors``), through half of
    them at the inner ring anchors S(ring_k) and through zero at the outer ones. The nose, eyes and lips
    (``FEATURE_POINTS``) are held closer (``FEATURE_SMOOTH``) than the rest (``smooth``): the lids and lips
    must land where their targets are, and so must the nose (its tip against the eye corners is the head's
    nod); so are the skin anchors of a lid that shuts (``skin_stiffness``).
    """
    source, target = np.asarray(source, np.float64), np.asarray(target, np.float64)
    neck = neck or NeckLine.from_landmarks(source)
    s = head_similarity(source, target)
    down = s[:, :2] @ neck.down / max(float(np.linalg.norm(s[:, :2] @ neck.down)), 1e-9)
    target = hold_open(target, source, down)
    s_inv = invert_affine(s)
    skin_src, skin_dst = lid_skin_anchors(source, target, s[:, :2])
    face_dst = np.concatenate([target, forehead_points(target), skin_dst])
    face_src = np.concatenate([source, forehead_points(source), skin_src])
    residual = face_src - apply_affine(s_inv, face_dst)
    outline = np.r_[0:4, 13:17, 68:78]  # upper jaw and forehead points, the order ring_points uses
    inner = apply_affine(s, ring_points(source, RING_SCALE, jaw=False))
    outer = apply_affine(s, ring_points(source, OUTER_SCALE, jaw=False))
    centres = np.concatenate([face_dst, inner, outer])
    values = np.concatenate([residual, 0.5 * residual[_ring_order(outline)], np.zeros_like(outer)])
    height = neck.height * abs(np.linalg.det(s[:, :2])) ** 0.5
    regulariser = np.full(len(centres), smooth)
    regulariser[FEATURE_POINTS] = FEATURE_SMOOTH
    skin = len(face_dst) - len(skin_dst)
    regulariser[skin:skin + len(skin_dst)] = skin_stiffness(source, target, smooth)
    model = tps_fit(centres, values, height, regulariser)
    return FrameMotion(s_inv, model, HeadFrame.from_landmarks(source), neck, (NECK_TOP, NECK_BOTTOM),
                       lid_strips(source, target, skin_src, skin_dst, down))


def frame_motion(source: np.ndarray, target: np.ndarray, points: np.ndarray,
                 neck: NeckLine | None = None, smooth: float = TPS_SMOOTH) -> FrameMotion:
    """``fit_head_motion`` with this frame's neck band measured on ``points`` (..., 2) (the lattice)."""
    motion = fit_head_motion(source, target, neck, smooth)
    band = neck_band(motion.neck, points, motion.head_map(points))
    return FrameMotion(motion.s_inv, motion.model, motion.head, motion.neck, band, motion.strips)


def head_map(source: np.ndarray, target: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Backward map of the moving head (before the neck blend) at target ``points`` (..., 2): (..., 2)
    (``FrameMotion.head_map``)."""
    return fit_head_motion(source, target).head_map(points)


def _ring_order(outline: np.ndarray) -> np.ndarray:
    """Indices into ``outline`` in ``ring_points``' order (jaw points, then forehead points reversed)."""
    return np.concatenate([outline[:8], outline[8:][::-1]])


def backward_map(source: np.ndarray, target: np.ndarray, points: np.ndarray,
                 neck: NeckLine | None = None) -> np.ndarray:
    """The full backward map at ``points`` (..., 2): head motion blended to the identity below the neck.

    Args:
        source: (68, 2) landmarks of the photo; target: (68, 2) retargeted landmarks of this frame.
        points: (..., 2) output positions (usually ``lattice``; the neck band is measured on them).
        neck: the neck line (default: from ``source``).
    Returns:
        (..., 2) float64 source positions.
    """
    return frame_motion(source, target, points, neck).backward(points)


def neck_band(neck: NeckLine, points: np.ndarray, head: np.ndarray) -> tuple[float, float]:
    """The neck band (top, bottom) for this frame, in face heights below the chin: (``NECK_TOP``,
    ``NECK_BOTTOM``), widened when the head pulls the neck up a lot.

    Where the head's map reaches further down than the output point (the head moves up, or rolls about a
    far pivot), the band is stretched; it folds once that reach exceeds band / max slope. The band is
    widened so that the reach stays below 0.4 of what would fold (Jacobian determinant >= 0.4) by raising
    its top, but never above ``NECK_TOP_MIN`` (just above the chin: higher up the face, lips included, must
    follow the head fully); its bottom stays where the layer's alpha starts to fade (lower, the background
    estimated behind the neck would show). Beyond that, ``repair_folds`` smooths what folds.
    """
    depth = neck.depth(points)
    lateral = (np.asarray(points) - neck.chin) @ np.array([-neck.down[1], neck.down[0]]) / neck.height
    band = (depth > -0.5) & (depth < NECK_BOTTOM) & (np.abs(lateral) < 1.5)
    if not band.any():
        return NECK_TOP, NECK_BOTTOM
    reach = float(max(0.0, ((head - points)[band] @ neck.down).max())) / neck.height
    need = 1.5 * reach / 0.6
    return max(NECK_TOP_MIN, min(NECK_TOP, NECK_BOTTOM - need)), NECK_BOTTOM


def jacobian_det(mapping: np.ndarray, spacing: float = 1.0) -> np.ndarray:
    """Jacobian determinant of a map sampled on a regular grid: (gh - 1, gw - 1) for (gh, gw, 2).

    Forward differences on each grid cell, averaged over the cell's two edges in each direction; a value
    <= 0 means the map folds (reverses orientation) there, 1 means it preserves area.
    """
    m = np.asarray(mapping, np.float64) / spacing
    dx = 0.5 * ((m[:-1, 1:] - m[:-1, :-1]) + (m[1:, 1:] - m[1:, :-1]))   # d map / d x (per cell)
    dy = 0.5 * ((m[1:, :-1] - m[:-1, :-1]) + (m[1:, 1:] - m[:-1, 1:]))   # d map / d y
    return dx[..., 0] * dy[..., 1] - dx[..., 1] * dy[..., 0]


def fold_mask(mapping: np.ndarray, spacing: float = 1.0, eps: float = FOLD_EPS,
              where: np.ndarray | None = None, ignore: np.ndarray | None = None) -> np.ndarray:
    """Cells where the map folds or nearly collapses (Jacobian determinant < ``eps``): bool (gh-1, gw-1).

    Args:
        where: (gh, gw) bool, the samples whose source is in the layer (``in_layer``); a cell counts only
            if one of its corners is. Outside the layer the map samples nothing visible, so a fold there
            is harmless (the head's rotation about a far pivot may shear empty background).
        ignore: (gh-1, gw-1) bool, cells that never count (``opening_cells``: the mouth's opening).
    """
    folded = jacobian_det(mapping, spacing) < eps
    if where is not None:
        w = np.asarray(where, bool)
        folded &= w[:-1, :-1] | w[1:, :-1] | w[:-1, 1:] | w[1:, 1:]
    if ignore is not None:
        folded &= ~np.asarray(ignore, bool)
    return folded


def opening_cells(points: np.ndarray, target: np.ndarray, spacing: float) -> np.ndarray:
    """(gh-1, gw-1) bool: lattice cells whose centre is inside the target's inner-lip opening (the rounded
    curve the mouth renderer paints, ``regions.smooth_closed``), or near its edge (half a cell, or
    ``OPENING_MARGIN`` of the opening's height if more), for ``points`` (gh, gw, 2) spaced ``spacing`` px.

    A photo's closed lips opened by the driver map the whole opening onto the thin line between the lips:
    the map nearly collapses there (Jacobian determinant ~ source gap / target gap, 0.03 for a 1.4 px gap
    opened to 45 px) by design, not by a fold, and the mouth renderer paints the opening. Repairing it
    smoothed the lips' own motion away (in self-reenactment of lp_d3 the lips then missed their targets).
    The spline's squeeze does not stop at the lip line: it spills onto the lips' inner edge by a few
    percent of the opening, hence the margin.
    """
    import cv2

    points = np.asarray(points, np.float64)
    shape = (max(points.shape[0] - 1, 0), max(points.shape[1] - 1, 0))
    if not shape[0] or not shape[1]:
        return np.zeros(shape, bool)
    inner = np.asarray(target, np.float64)[60:68]
    height = max(float(np.linalg.norm(inner[lower] - inner[upper])) for upper, lower in ((1, 7), (2, 6), (3, 5)))
    margin = max(0.5 * spacing, OPENING_MARGIN * height)
    origin = 0.5 * (points[0, 0] + points[1, 1])               # the first cell's centre; cells are ``spacing`` apart
    lo, hi = (inner.min(0) - origin) / spacing, (inner.max(0) - origin) / spacing
    if height < 1.0 or (hi < -1).any() or (lo > np.array(shape[::-1])).any():
        return np.zeros(shape, bool)                            # no opening, or not in this lattice (an eye window)
    curve = (smooth_closed(inner) - origin) / spacing           # in cell units
    reach = margin / spacing + 1
    i0, j0 = (max(0, int(np.floor(curve[:, k].min() - reach))) for k in (1, 0))
    i1, j1 = (min(shape[k], int(np.ceil(curve[:, 1 - k].max() + reach)) + 1) for k in (0, 1))
    out = np.zeros(shape, bool)
    if i1 <= i0 or j1 <= j0:
        return out
    inside = np.zeros((i1 - i0, j1 - j0), np.uint8)
    cv2.fillPoly(inside, [np.round((curve - [j0, i0]) * 16).astype(np.int32)], 1, cv2.LINE_8, shift=4)
    if inside.any():
        out[i0:i1, j0:j1] = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 5) <= margin / spacing
    return out


def in_layer(alpha: np.ndarray, mapping: np.ndarray, radius: int = 1) -> np.ndarray:
    """(gh, gw) bool: lattice samples whose source position (``mapping``) is on the layer (alpha > 0),
    grown by ``radius`` samples."""
    import cv2

    m = np.asarray(mapping, np.float32)
    sampled = cv2.remap(np.ascontiguousarray(alpha, np.float32), m[..., 0], m[..., 1], cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    used = (sampled > 0).astype(np.uint8)
    return cv2.dilate(used, np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)).astype(bool)


def repair_folds(mapping: np.ndarray, points: np.ndarray, spacing: float, max_iter: int = 30,
                 eps: float = FOLD_EPS, where: np.ndarray | None = None,
                 ignore: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Smooth the displacement (map - points) around folded cells until no cell folds (``fold_mask`` with
    ``where`` and ``ignore``).

    Each round blurs the displacement with a 3x3 box filter where cells fold (and their neighbours);
    if folds remain after ``max_iter`` rounds, the displacement is scaled down globally until none is left.

    Returns:
        (repaired map (gh, gw, 2), rounds used; 0 when the map was fold-free).
    """
    import cv2

    disp = (np.asarray(mapping, np.float64) - points).astype(np.float32)
    for rounds in range(max_iter + 1):
        bad = fold_mask(points + disp, spacing, eps, where, ignore)
        if not bad.any():
            return points + disp, rounds
        region = np.zeros(disp.shape[:2], np.uint8)
        for di in (0, 1):
            for dj in (0, 1):
                region[di:di + bad.shape[0], dj:dj + bad.shape[1]] |= bad.astype(np.uint8)
        region = cv2.dilate(region, np.ones((5, 5), np.uint8)).astype(bool)
        blurred = cv2.blur(disp, (3, 3), borderType=cv2.BORDER_REPLICATE)
        disp[region] = blurred[region]
    for factor in np.linspace(0.9, 0.0, 10):
        if not fold_mask(points + factor * disp, spacing, eps, where, ignore).any():
            return points + factor * disp, max_iter + 1
    return points.copy(), max_iter + 1
