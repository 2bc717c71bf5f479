"""The warping floor (evaluation baseline, and what the warp-conditioned G sees): an X2Face-like piecewise-affine warp of a source frame to target landmarks.

Control points (source -> destination), all in crop px:
- the 68 landmarks, source to target;
- forehead points above the brows (the 68 points stop there), built from each frame's own landmarks by
  the same affine-equivariant rule, so they follow the brows and the head's tilt;
- optionally, a ring around the head (the face outline scaled about its centre) that moves rigidly
  with the best similarity from source to target landmarks; off by default: on 6 real clips at 128 px it
  lowered whole-crop SSIM by 0.01-0.02 (ring 1.2-1.8) and left face SSIM as it was;
- points on the crop border that stay put (the background of a static camera does not move).
The forehead height 0.3 was the best of 0.2-0.6 (differences under 0.003 SSIM).
The destination points are Delaunay-triangulated; every output pixel is mapped back into the source
by the affine of the triangle that contains it (barycentric coordinates, so there are no gaps between
triangles) and the source is sampled once, bilinearly, with the border repeated.

Images are (S, S, 3) uint8 RGB; landmarks (68, 2) float x, y px, iBUG 300-W order.
"""
from __future__ import annotations

import numpy as np

JAW = np.arange(0, 17)
BROWS = np.arange(17, 27)
FOREHEAD = 0.3       # forehead points: brows moved up by this fraction of the chin-to-brow vector
RING_SCALE = None    # ring: face outline scaled about the landmarks' centre (e.g. 1.45); None = no ring
BORDER_STEPS = 4     # border points per crop side


def align_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama, no reflection) mapping ``src`` onto ``dst``: (2, 3) matrix."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    cov = b.T @ a / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rot = u @ d @ vt
    var = (a ** 2).sum() / len(src)
    scale = float(np.trace(np.diag(s) @ d) / var) if var > 0 else 1.0
    t = mu_d - scale * rot @ mu_s
    return np.hstack([scale * rot, t[:, None]])


def aligned_distance(src: np.ndarray, dst: np.ndarray) -> float:
    """Mean point distance after aligning ``src`` to ``dst`` by a similarity, over ``dst``'s inter-ocular
    distance (outer eye corners 36, 45): pose and expression difference, not position or scale."""
    m = align_similarity(src, dst)
    moved = np.asarray(src, np.float64) @ m[:, :2].T + m[:, 2]
    iod = max(float(np.linalg.norm(dst[36] - dst[45])), 1e-9)
    return float(np.linalg.norm(moved - dst, axis=1).mean() / iod)



def nearest_source(sources: np.ndarray, targets: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
    """For each target, the index of the source nearest by ``aligned_distance`` (pose and expression).

    Args:
        sources: (T, 68, 2); targets: (M, 68, 2); exclude: (M,) one source index barred per target
            (ignored when T = 1).
    Returns:
        (M,) int64.
    """
    dist = np.array([[aligned_distance(s, t) for s in sources] for t in targets]).reshape(len(targets), len(sources))
    if exclude is not None and len(sources) > 1:
        dist[np.arange(len(targets)), np.asarray(exclude)] = np.inf
    return dist.argmin(axis=1).astype(np.int64)

def forehead_points(landmarks: np.ndarray, height: float = FOREHEAD) -> np.ndarray:
    """(10, 2) points above the brows: brow + ``height`` x (brow centre - chin). Affine-equivariant."""
    p = np.asarray(landmarks, np.float64)
    up = p[BROWS].mean(0) - p[8]
    return p[BROWS] + height * up


def ring_points(landmarks: np.ndarray, scale: float = 1.45, forehead: float = FOREHEAD) -> np.ndarray:
    """(27, 2) points around the head: jaw + forehead outline scaled by ``scale`` about the centre."""
    p = np.asarray(landmarks, np.float64)
    outline = np.concatenate([p[JAW], forehead_points(p, forehead)[::-1]])
    centre = p.mean(0)
    return centre + scale * (outline - centre)


def border_points(size: tuple[int, int], steps: int = BORDER_STEPS) -> np.ndarray:
    """Points on the crop's outer pixel boundary (-0.5 .. W-0.5), ``steps`` per side: (4 * steps, 2)."""
    h, w = size
    t = np.arange(steps) / steps
    xs, ys = -0.5 + t * w, -0.5 + t * h
    top = np.stack([xs, np.full(steps, -0.5)], 1)
    right = np.stack([np.full(steps, w - 0.5), ys], 1)
    bottom = np.stack([w - 0.5 - t * w, np.full(steps, h - 0.5)], 1)
    left = np.stack([np.full(steps, -0.5), h - 0.5 - t * h], 1)
    return np.concatenate([top, right, bottom, left])


def control_points(src: np.ndarray, dst: np.ndarray, size: tuple[int, int], ring_scale: float | None = RING_SCALE,
                   forehead: float = FOREHEAD) -> tuple[np.ndarray, np.ndarray]:
    """Matching source and destination control points (see module docstring): (P, 2) each.

    Args:
        src, dst: (68, 2) landmarks of the source frame and of the target.
        size: (H, W) of the crop (border points).
        ring_scale: size of the rigid ring around the head (None: no ring).
        forehead: height of the forehead points (``forehead_points``).
    """
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    pts_src = [src, forehead_points(src, forehead)]
    pts_dst = [dst, forehead_points(dst, forehead)]
    if ring_scale is not None:
        ring_src = ring_points(src, ring_scale, forehead)
        m = align_similarity(src, dst)
        pts_src.append(ring_src)
        pts_dst.append(ring_src @ m[:, :2].T + m[:, 2])
    border = border_points(size)
    return np.concatenate([*pts_src, border]), np.concatenate([*pts_dst, border])


def delaunay(points: np.ndarray) -> np.ndarray:
    """Delaunay triangles of (P, 2) points as (K, 3) indices into ``points`` (cv2.Subdiv2D)."""
    import cv2

    pts = np.asarray(points, np.float64)
    lo, hi = np.floor(pts.min(0)) - 2, np.ceil(pts.max(0)) + 2
    subdiv = cv2.Subdiv2D((int(lo[0]), int(lo[1]), int(hi[0] - lo[0]) + 1, int(hi[1] - lo[1]) + 1))
    for x, y in pts:
        subdiv.insert((float(x), float(y)))
    corners = subdiv.getTriangleList().reshape(-1, 3, 2).astype(np.float64)
    inside = ((corners >= lo) & (corners <= hi)).all(axis=(1, 2))  # drop triangles on the virtual vertices
    corners = corners[inside]
    dist = np.linalg.norm(corners[:, :, None, :] - pts[None, None], axis=-1)  # (K, 3, P)
    return dist.argmin(-1).astype(np.int64)


def piecewise_affine(image: np.ndarray, src_points: np.ndarray, dst_points: np.ndarray,
                     triangles: np.ndarray | None = None) -> np.ndarray:
    """Warp ``image`` so that ``src_points`` land on ``dst_points``, one affine per triangle.

    Args:
        image: (H, W, C) or (H, W) array (uint8 or float).
        src_points, dst_points: (P, 2) matching x, y px.
        triangles: (K, 3) indices (default: Delaunay of ``dst_points``).
    Returns:
        Array of ``image``'s shape and dtype. Pixels outside every triangle use the nearest triangle's
        affine (extrapolated).
    """
    import cv2

    map_x, map_y = piecewise_affine_maps(image.shape[:2], src_points, dst_points, triangles)
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def piecewise_affine_maps(size: tuple[int, int], src_points: np.ndarray, dst_points: np.ndarray,
                          triangles: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The sampling maps of ``piecewise_affine``: for every output pixel, the source x and y it reads.

    Args:
        size: (H, W) of the output.
        src_points, dst_points, triangles: as in ``piecewise_affine``.
    Returns:
        map_x, map_y: (H, W) float32 each, ready for ``cv2.remap``.
    """
    src, dst = np.asarray(src_points, np.float64), np.asarray(dst_points, np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2:
        raise ValueError(f"control points must be two (P, 2) arrays, got {src.shape} and {dst.shape}")
    tris = delaunay(dst) if triangles is None else np.asarray(triangles, np.int64)
    homog = np.concatenate([dst[tris], np.ones((len(tris), 3, 1))], 2)  # (K, 3, 3) rows [x y 1]
    keep = np.abs(np.linalg.det(homog)) > 1e-9
    tris, homog = tris[keep], homog[keep]
    if not len(tris):
        raise ValueError("no non-degenerate triangle among the control points")
    inv = np.linalg.inv(homog)  # barycentric coordinates of p: [x y 1] @ inv
    h, w = size
    best_bary, best_k = _assign(inv, dst[tris], h, w)
    mapped = np.einsum("nj,njc->nc", best_bary.reshape(-1, 3), src[tris][best_k.ravel()])
    return mapped[:, 0].reshape(h, w).astype(np.float32), mapped[:, 1].reshape(h, w).astype(np.float32)


def _assign(inv: np.ndarray, corners: np.ndarray, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, the triangle whose smallest barycentric coordinate is largest (the one containing it).

    Args:
        inv: (K, 3, 3) inverse homogeneous corner matrices; corners: (K, 3, 2) destination corners.
        h, w: output size.
    Returns:
        barycentric coordinates (H, W, 3) and triangle index (H, W).
    """
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    pix = np.stack([xs, ys, np.ones_like(xs)], -1)
    best = np.full((h, w), -np.inf)
    bary_out, k_out = np.zeros((h, w, 3)), np.zeros((h, w), np.int64)
    lo = np.clip(np.floor(corners.min(1)).astype(int) - 1, 0, [w, h])
    hi = np.clip(np.ceil(corners.max(1)).astype(int) + 2, 0, [w, h])
    for k in range(len(inv)):
        (x0, y0), (x1, y1) = lo[k], hi[k]
        if x1 <= x0 or y1 <= y0:
            continue
        bary = pix[y0:y1, x0:x1] @ inv[k]
        score = bary.min(-1)
        better = score > best[y0:y1, x0:x1]
        best[y0:y1, x0:x1][better] = score[better]
        bary_out[y0:y1, x0:x1][better] = bary[better]
        k_out[y0:y1, x0:x1][better] = k
    missed = ~np.isfinite(best)  # outside every triangle's box: nearest triangle, extrapolated
    if missed.any():
        bary = pix[missed] @ inv  # (K, M, 3)
        k = bary.min(-1).argmax(0)
        bary_out[missed], k_out[missed] = bary[k, np.arange(len(k))], k
    return bary_out, k_out


def warp_face(image: np.ndarray, src_landmarks: np.ndarray, dst_landmarks: np.ndarray,
              ring_scale: float | None = RING_SCALE, forehead: float = FOREHEAD) -> np.ndarray:
    """The warp baseline: ``image`` (with face ``src_landmarks``) warped to ``dst_landmarks``, same size."""
    src, dst = control_points(src_landmarks, dst_landmarks, image.shape[:2], ring_scale, forehead)
    return piecewise_affine(image, src, dst)


def warp_face_maps(size: tuple[int, int], src_landmarks: np.ndarray, dst_landmarks: np.ndarray,
                   ring_scale: float | None = RING_SCALE, forehead: float = FOREHEAD) -> tuple[np.ndarray, np.ndarray]:
    """``warp_face``'s sampling maps (map_x, map_y), (H, W) float32 each, for an image of ``size`` (H, W)."""
    src, dst = control_points(src_landmarks, dst_landmarks, size, ring_scale, forehead)
    return piecewise_affine_maps(size, src, dst)


__all__ = ["border_points", "control_points", "delaunay", "forehead_points", "piecewise_affine",
           "piecewise_affine_maps", "ring_points", "warp_face", "warp_face_maps"]
