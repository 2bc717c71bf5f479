"""Warp the head layer with one backward map and composite it over the filled background, at full resolution.

The map is computed on a coarse lattice (``motion.lattice``) over a region of interest (ROI) and upsampled
with ``cv2.resize`` (bilinear); the layer (premultiplied RGB + alpha, float32) is sampled once with
``cv2.remap``. Upsampling the DISPLACEMENT (map minus pixel position), not the map, keeps the identity
exact: a zero displacement gives integer sample positions, so a frame whose target equals the source is
the photo itself. Outside the ROI the frame is the filled background, which equals the photo wherever
the head layer's alpha is 0.

Shapes: images (H, W, 3); the layer's premultiplied image (H, W, 4) float32 = (alpha * F, alpha).
"""
from __future__ import annotations

import numpy as np


def snap_roi(box: tuple[float, float, float, float], size: tuple[int, int], step: int) -> tuple[int, int, int, int]:
    """Grow ``box`` (x0, y0, x1, y1) to multiples of ``step`` clipped to the image; (0, 0, 0, 0) if empty.

    The clipped ROI may end at the image edge; the lattice is then one cell larger than the image on that
    side (the extra samples are dropped after upsampling).
    """
    h, w = size
    x0 = max(0, int(np.floor(box[0] / step)) * step)
    y0 = max(0, int(np.floor(box[1] / step)) * step)
    x1 = min(int(np.ceil(w / step)) * step, int(np.ceil(box[2] / step)) * step)
    y1 = min(int(np.ceil(h / step)) * step, int(np.ceil(box[3] / step)) * step)
    if x1 <= x0 or y1 <= y0:
        return 0, 0, 0, 0
    return x0, y0, x1, y1


def upsample_map(coarse: np.ndarray, points: np.ndarray, roi: tuple[int, int, int, int],
                 size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Full-resolution ``cv2.remap`` maps for ``roi`` from a coarse map sampled at ``points``.

    Args:
        coarse: (gh, gw, 2) source positions at the lattice ``points`` (gh, gw, 2).
        roi: (x0, y0, x1, y1) the lattice covers (multiples of its step).
        size: (H, W) of the image (the ROI is cropped to it).
    Returns:
        map_x, map_y: (h, w) float32 each, for the ROI cropped to the image.
    """
    import cv2

    x0, y0, x1, y1 = roi
    disp = (np.asarray(coarse, np.float64) - points).astype(np.float32)
    full = cv2.resize(disp, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    h, w = min(y1, size[0]) - y0, min(x1, size[1]) - x0
    full = full[:h, :w]
    xs = np.arange(x0, x0 + w, dtype=np.float32)
    ys = np.arange(y0, y0 + h, dtype=np.float32)
    return full[..., 0] + xs[None, :], full[..., 1] + ys[:, None]


def warp_layer(premult: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    """Sample the premultiplied layer (H, W, 4) at the maps: (h, w, 4) float32.

    Outside the photo the layer carries on (hair cut by the top edge, a neck by the bottom one, a tight head
    crop): a head that moves away from that edge brings hair or neck with it instead of opening a hole onto
    the background behind it (``beyond_edges``); where the layer does not reach the edge, nothing."""
    import cv2

    warped = cv2.remap(premult, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    h, w = premult.shape[:2]
    if map_x.min() >= 0 and map_y.min() >= 0 and map_x.max() <= w - 1 and map_y.max() <= h - 1:
        return warped                                   # nothing past the edges (0.3 ms; the mask below 2.3)
    outside = ((map_x < 0) | (map_x > w - 1) | (map_y < 0) | (map_y > h - 1)) & (warped[..., 3] > 0)
    if outside.any():
        rows, cols = np.nonzero(outside)
        warped[rows, cols] = beyond_edges(premult, map_x[rows, cols], map_y[rows, cols], warped[rows, cols])
    return warped


def beyond_edges(premult: np.ndarray, xs: np.ndarray, ys: np.ndarray, edge: np.ndarray) -> np.ndarray:
    """The layer (H, W, 4) carried on past its edges at (n,) source positions outside it, where ``edge`` (n, 4)
    is the layer's edge pixel for each (premultiplied, the edge repeated): (n, 4) premultiplied.

    Colour: the layer mirrored about the edge (``cv2.BORDER_REFLECT_101``; repeating the edge's pixels drew cut
    hair as vertical streaks), over the edge pixel's colour where the mirror falls outside the layer
    (shoulders that widen down to the bottom edge: mirrored, their sides land on the background above the
    shoulder line, and were drawn black).
    Shape: ``edge_taper`` on each edge passed (a plain mirror or repeat stood a column of hair on the head)."""
    import cv2

    h, w = premult.shape[:2]
    got = sample_points(premult, xs, ys, cv2.BORDER_REFLECT_101)
    layer = premult[..., 3]
    edge = np.asarray(edge, np.float32)
    alpha = edge[:, 3].copy()
    for beyond, along, lines in ((-ys, xs, layer), (ys - (h - 1), xs, layer[::-1]),
                                 (-xs, ys, layer.T), (xs - (w - 1), ys, layer.T[::-1])):
        hit = beyond > 0
        if hit.any():
            alpha[hit] *= edge_taper(lines, along[hit], beyond[hit])
    below = np.where(edge[:, 3:4] >= 0.05, edge[:, :3] / np.maximum(edge[:, 3:4], 1e-6), 0.0)
    mirrored = np.clip(got[:, 3:4], 0.0, 1.0)
    colour = got[:, :3] + (1.0 - mirrored) * below
    return np.concatenate([colour * alpha[:, None], alpha[:, None]], 1).astype(np.float32)


def sample_points(image: np.ndarray, xs: np.ndarray, ys: np.ndarray, border: int | None = None,
                  row: int = 1024) -> np.ndarray:
    """``image`` (H, W, C) float32 sampled bilinearly at (n,) positions: (n, C); outside it by ``border``
    (a ``cv2.BORDER_*`` mode; None: the edge repeated). ``cv2.remap`` takes maps of fewer than 32767 rows, so
    the points are laid out in rows of ``row``."""
    import cv2

    border = cv2.BORDER_REPLICATE if border is None else border
    n = len(xs)
    rows = max(1, -(-n // row))
    grid = np.zeros((2, rows * row), np.float32)
    grid[0, :n], grid[1, :n] = xs, ys
    got = cv2.remap(image, grid[0].reshape(rows, row), grid[1].reshape(rows, row), cv2.INTER_LINEAR,
                    borderMode=border)
    return got.reshape(rows * row, -1)[:n]


def edge_taper(lines: np.ndarray, along: np.ndarray, beyond: np.ndarray, depth: float = 0.25, soft: float = 0.03
               ) -> np.ndarray:
    """(n,) in [0, 1]: how much of the layer lies at (n,) positions ``along`` an edge and ``beyond`` it (px).

    ``lines`` (D, L): the layer's alpha from the edge inwards (row 0 on the edge). Each run [a, b] where the
    layer meets the edge (alpha > 0.5) goes on past it with each side continuing the layer's outline as it
    leaves the edge: the side's outward offset e(d) at d px inside, measured at ``depth`` and half of it x
    the run's length, is fitted as e = s d + k d^2 and continued to d = -u past the edge (its slope and its
    bend kept: hair cut by the top edge closes into a dome; a neck cut by the bottom edge goes on straight).
    A side never moves out past the edge, and fades out over ``soft`` x the run's length (at least 1 px)."""
    edge = np.asarray(lines[0]) > 0.5
    steps = np.diff(np.r_[0, edge.astype(np.int8), 0])
    starts, ends = np.flatnonzero(steps == 1), np.flatnonzero(steps == -1) - 1
    out = np.zeros(len(along), np.float32)
    if not len(starts):
        return out
    run = np.clip(np.searchsorted(starts, along, "right") - 1, 0, len(starts) - 1)
    fits = np.zeros((len(starts), 2, 2))   # per run, per side (left, right): s, k
    for i, (a, b) in enumerate(zip(starts, ends)):
        t2 = int(np.clip(round(depth * (b - a + 1)), 2, len(lines) - 1)) if len(lines) > 2 else 0
        t1 = t2 // 2
        sides = [_sides(lines[t], (a + b) // 2) for t in (t1, t2)] if t2 else [None]
        if any(side is None for side in sides):
            continue
        offsets = np.array([[a - left, right - b] for left, right in sides], np.float64)   # (2 depths, 2 sides)
        design = np.array([[t1, t1 * t1], [t2, t2 * t2]], np.float64)
        fits[i] = np.linalg.solve(design, offsets).T
    u = beyond[:, None]
    inward = np.maximum(fits[run, :, 0] * u - fits[run, :, 1] * u ** 2, 0.0)   # (n, 2): -e(-u), never outward
    a, b = starts[run] - 0.5 + inward[:, 0], ends[run] + 0.5 - inward[:, 1]
    ramp = np.maximum(soft * (ends[run] - starts[run] + 1), 1.0)
    return np.clip(0.5 + np.minimum(along - a, b - along) / ramp, 0.0, 1.0).astype(np.float32)


def _sides(line: np.ndarray, centre: int) -> tuple[int, int] | None:
    """First and last index of the run of ``line`` > 0.5 that holds ``centre``, or None where it does not."""
    inside = np.asarray(line) > 0.5
    if not inside[centre]:
        return None
    left = centre - int((np.flatnonzero(~inside[centre::-1])[:1].tolist() or [centre + 1])[0]) + 1
    right = centre + int((np.flatnonzero(~inside[centre:])[:1].tolist() or [len(inside) - centre])[0]) - 1
    return left, right


def composite(base: np.ndarray, background: np.ndarray, warped: np.ndarray,
              roi: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Over-composite the warped layer onto the filled background inside ``roi``.

    Args:
        base: (H, W, 3) uint8 filled background rounded (the frame outside the ROI).
        background: (H, W, 3) float32 filled background.
        warped: (h, w, 4) float32 premultiplied warped layer for the ROI (cropped to the image).
        roi: (x0, y0, x1, y1).
    Returns:
        frame (H, W, 3) uint8 and the warped alpha (H, W) float32.
    """
    x0, y0 = roi[:2]
    h, w = warped.shape[:2]
    frame = base.copy()
    alpha = np.zeros(base.shape[:2], np.float32)
    if h and w:
        import cv2

        a = warped[..., 3]
        mixed = background[y0:y0 + h, x0:x0 + w] * (1.0 - a)[..., None]
        mixed += warped[..., :3]
        frame[y0:y0 + h, x0:x0 + w] = cv2.convertScaleAbs(mixed)  # rounds and saturates to uint8
        alpha[y0:y0 + h, x0:x0 + w] = a
    return frame, alpha
