"""Per-frame motion of the head layer: one dense, smooth, fold-free BACKWARD map (output px -> source px).

The map is built in three parts (in the spirit of Averbuch-Elor et al. 2017, §3: a global head motion plus
a smooth landmark-driven warp, with anchors that keep what must not move still):
1. rigid head: the least-squares similarity ``S`` (rotation, scale, translation) of the stable landmarks
   (eye corners, nose; ``retarget.RIGID_POINTS``) from the source face to the target face. Hair, ears and
   the outline of the head follow ``S`` exactly;
2. face: a thin-plate spline of the residual ``src_k - S^-1(dst_k)`` at the 68 landmarks and 10 forehead
   points, with zero-residual anchors on a ring around the head outline, faded to zero outside that ring,
   so the face follows the landmarks while hair and ears stay rigid;
3. neck: the map is blended towards the identity below the chin (``NeckLine``): no displacement below the
   neck line, so the neck joins the still shoulders.
The map is evaluated on a coarse lattice (every ``step`` px, centres at ``(i + 0.5) * step - 0.5`` so that
``cv2.resize`` upsamples it exactly; ``compose.upsample_map``). A fold (non-injective map) is a defect:
``jacobian_det`` / ``fold_mask`` find it and ``repair_folds`` smooths the displacement until none is left.

Shapes: landmarks (68, 2) float x, y px (iBUG 300-W order); maps (gh, gw, 2) float32 source x, y px.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..retarget import RIGID_POINTS, similarity
from ..warp import forehead_points

JAW = np.arange(0, 17)
NECK_TOP = 0.15        # neck weight 1 (full head motion) above chin + NECK_TOP x face height
NECK_BOTTOM = 0.7      # neck weight 0 (still) below chin + NECK_BOTTOM x face height
RING_SCALE = 1.3       # zero-residual anchors: face outline (jaw + forehead) scaled about the face centre
RING_FADE = 1.35       # the face residual fades from the ring (rho = 1) to zero at rho = RING_FADE
TPS_SMOOTH = 1e-3      # thin-plate regulariser (in face-height units): damps landmark noise slightly
FOLD_EPS = 0.05        # a map whose local area ratio (Jacobian determinant) is below this is folded


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
    def from_landmarks(cls, landmarks: np.ndarray) -> HeadFrame:
        ring = ring_points(landmarks)
        centre = ring.mean(0)
        down = NeckLine.from_landmarks(landmarks).down
        axes = np.stack([np.array([-down[1], down[0]]), down])
        local = (ring - centre) @ axes.T
        return cls(centre, axes, np.abs(local).max(0))

    def rho(self, source_points: np.ndarray) -> np.ndarray:
        """Elliptic radius of source points (1 on the ring's bounding ellipse): (...,)."""
        local = (np.asarray(source_points, np.float64) - self.centre) @ self.axes.T
        return np.sqrt(((local / self.radii) ** 2).sum(-1))


def ring_points(landmarks: np.ndarray, scale: float = RING_SCALE) -> np.ndarray:
    """(27, 2) anchors on the head outline: jaw + forehead points scaled by ``scale`` about the face centre."""
    p = np.asarray(landmarks, np.float64)
    outline = np.concatenate([p[JAW], forehead_points(p)[::-1]])
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


def tps_fit(centres: np.ndarray, values: np.ndarray, scale: float, smooth: float = TPS_SMOOTH) -> tuple:
    """Thin-plate spline through ``values`` (P, D) at ``centres`` (P, 2); coordinates divided by ``scale``.

    Returns:
        (centres / scale, weights (P, D), affine (3, D), scale) for ``tps_eval``.
    """
    c = np.asarray(centres, np.float64) / scale
    n = len(c)
    k = _tps_kernel(c, c) + smooth * np.eye(n)
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
    """Evaluate a ``tps_fit`` model at ``points`` (..., 2): (..., D)."""
    c, w, a, scale = model
    flat = np.asarray(points, np.float64).reshape(-1, 2) / scale
    out = _tps_kernel(flat, c) @ w + a[0] + flat @ a[1:]
    return out.reshape(*np.shape(points)[:-1], w.shape[1])


def _tps_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """U(r) = r^2 log r for all pairs of rows of ``a`` (M, 2) and ``b`` (P, 2): (M, P)."""
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    d2 = np.maximum(d2, 1e-20)
    return 0.5 * d2 * np.log(d2)


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


def head_map(source: np.ndarray, target: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Backward map of the moving head (before the neck blend) at target ``points`` (..., 2): (..., 2).

    q(p) = S^-1(p) + fade(rho) * TPS(p), with the TPS through the residuals src_k - S^-1(dst_k) at the
    landmarks and forehead points and through zero at the ring anchors S(ring_k).
    """
    source, target = np.asarray(source, np.float64), np.asarray(target, np.float64)
    s = head_similarity(source, target)
    s_inv = invert_affine(s)
    face_dst = np.concatenate([target, forehead_points(target)])
    face_src = np.concatenate([source, forehead_points(source)])
    ring_dst = apply_affine(s, ring_points(source))
    residual = face_src - apply_affine(s_inv, face_dst)
    centres = np.concatenate([face_dst, ring_dst])
    values = np.concatenate([residual, np.zeros_like(ring_dst)])
    height = NeckLine.from_landmarks(source).height * abs(np.linalg.det(s[:, :2])) ** 0.5
    model = tps_fit(centres, values, height)
    rigid = apply_affine(s_inv, points)
    fade = 1.0 - smoothstep(1.0, RING_FADE, HeadFrame.from_landmarks(source).rho(rigid))
    return rigid + fade[..., None] * tps_eval(model, points)


def backward_map(source: np.ndarray, target: np.ndarray, points: np.ndarray,
                 neck: NeckLine | None = None) -> np.ndarray:
    """The full backward map at ``points`` (..., 2): head motion blended to the identity below the neck.

    Args:
        source: (68, 2) landmarks of the photo; target: (68, 2) retargeted landmarks of this frame.
        points: (..., 2) output positions (usually ``lattice``).
        neck: the neck line (default: from ``source``).
    Returns:
        (..., 2) float64 source positions.
    """
    neck = neck or NeckLine.from_landmarks(source)
    weight = neck.weight(points)[..., None]
    return points + weight * (head_map(source, target, points) - points)


def jacobian_det(mapping: np.ndarray, spacing: float = 1.0) -> np.ndarray:
    """Jacobian determinant of a map sampled on a regular grid: (gh - 1, gw - 1) for (gh, gw, 2).

    Forward differences on each grid cell, averaged over the cell's two edges in each direction; a value
    <= 0 means the map folds (reverses orientation) there, 1 means it preserves area.
    """
    m = np.asarray(mapping, np.float64) / spacing
    dx = 0.5 * ((m[:-1, 1:] - m[:-1, :-1]) + (m[1:, 1:] - m[1:, :-1]))   # d map / d x (per cell)
    dy = 0.5 * ((m[1:, :-1] - m[:-1, :-1]) + (m[1:, 1:] - m[:-1, 1:]))   # d map / d y
    return dx[..., 0] * dy[..., 1] - dx[..., 1] * dy[..., 0]


def fold_mask(mapping: np.ndarray, spacing: float = 1.0, eps: float = FOLD_EPS) -> np.ndarray:
    """Cells where the map folds or nearly collapses (Jacobian determinant < ``eps``): bool (gh-1, gw-1)."""
    return jacobian_det(mapping, spacing) < eps


def repair_folds(mapping: np.ndarray, points: np.ndarray, spacing: float, max_iter: int = 30,
                 eps: float = FOLD_EPS) -> tuple[np.ndarray, int]:
    """Smooth the displacement (map - points) around folded cells until no cell folds.

    Each round blurs the displacement with a 3x3 box filter where cells fold (and their neighbours);
    if folds remain after ``max_iter`` rounds, the displacement is scaled down globally until none is left.

    Returns:
        (repaired map (gh, gw, 2), rounds used; 0 when the map was fold-free).
    """
    import cv2

    disp = (np.asarray(mapping, np.float64) - points).astype(np.float32)
    for rounds in range(max_iter + 1):
        bad = fold_mask(points + disp, spacing, eps)
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
        if not fold_mask(points + factor * disp, spacing, eps).any():
            return points + factor * disp, max_iter + 1
    return points.copy(), max_iter + 1
