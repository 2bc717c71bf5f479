"""The background the moving head may uncover, filled once per shot (when no clean plate is given).

The region behind the head is bridged row by row (``row_fill``: each row of the hole blends the known pixels
to its left and right, then the fill is smoothed down its columns), at a reduced scale (it is only seen in the
bands the moving head uncovers), continued from the photo OUTSIDE the matte (the background estimated behind
thin hair carries the hair's colour, and a fill continued from it shows the old hair line as a halo once the
head moves). A backdrop's bands (a banner, a horizon, a collar's edge) carry on behind the head; Telea's
inpainting (Telea 2004) continued them as wedges into the hole (lia_taylor's banner, the astronaut's collar).
Rows the hole spans from edge to edge are taken from the rows above and below them. Then regrained, so the
band does not read as a clean patch on film grain, canvas or sensor noise. Next to the hole's edge, where a
moving head uncovers it, the photo is mirrored across that edge (``mirror_band``), fading into the bridged
fill: the uncovered band carries the background's own texture (a landscape, a backdrop) instead of a smooth
bridge.

Shapes: (H, W, 3) images, (H, W) masks.
"""
from __future__ import annotations

import numpy as np

INPAINT_SIDE = 256   # the hidden background is inpainted with the hole's box scaled to this long side
RADIUS = 5           # Telea's neighbourhood, px at the reduced scale (a column the hole fills top to bottom)
ROW_SMOOTH = 6.0     # the row-wise fill is smoothed down its columns over this sigma, px at the reduced scale
MIRROR_DEPTH = 0.08  # the band mirrored across the hole's edge, as a fraction of the hole's height


def inpaint_background(known: np.ndarray, hole: np.ndarray, photo: np.ndarray, bars: np.ndarray | None = None
                       ) -> np.ndarray:
    """``known`` with the ``hole`` filled: (H, W, 3) float32.

    Args:
        known: (H, W, 3) background known or estimated everywhere outside ``hole`` (0-255).
        hole: (H, W) bool, where the head hides the background.
        photo: (H, W, 3) uint8, whose fine detail around the hole sets the grain.
        bars: (H, W) bool, pixels the fill never continues from (``letterbox``: the black bars around the
            picture), or None.
    """
    import cv2

    out = np.asarray(known, np.float32).copy()
    ys, xs = np.nonzero(hole)
    if not len(ys):
        return out
    h, w = hole.shape
    pad = max(16, int(np.ptp(ys) + np.ptp(xs)) // 16)
    y0, y1 = max(0, ys.min() - pad), min(h, ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(w, xs.max() + pad + 1)
    scale = min(1.0, INPAINT_SIDE / max(y1 - y0, x1 - x0))
    size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    region = hole[y0:y1, x0:x1]
    small = cv2.resize(np.clip(out[y0:y1, x0:x1] + 0.5, 0, 255).astype(np.uint8), size, interpolation=cv2.INTER_AREA)
    unknown = region if bars is None else region | bars[y0:y1, x0:x1]
    small_hole = cv2.dilate(cv2.resize(unknown.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST),
                            np.ones((3, 3), np.uint8))
    filled = row_fill(small, small_hole.astype(bool))
    filled = cv2.resize(filled, (x1 - x0, y1 - y0), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    filled += regrain(photo[y0:y1, x0:x1], region)
    out[y0:y1, x0:x1][region] = filled[region]
    return mirror_band(out, np.asarray(known, np.float32), hole, MIRROR_DEPTH * float(np.ptp(ys) + 1), bars)


def row_fill(image: np.ndarray, hole: np.ndarray, smooth: float = ROW_SMOOTH) -> np.ndarray:
    """``image`` (h, w, 3) uint8 with its ``hole`` (h, w) bool filled: (h, w, 3) uint8. Each hole pixel blends the
    nearest known pixels to its left and right on its row by distance (the one side's where the row runs into
    the image's edge; where the row has no known pixel, the rows above and below it: ``bridge``), then the
    hole is smoothed down its columns (a Gaussian of sigma ``smooth`` over the bridged hole pixels only: the
    ends of neighbouring rows differ by the backdrop's texture, and neither its known pixels above and below
    nor rows with none are drawn in)."""
    import cv2

    if not hole.any():
        return image.copy()
    img = image.astype(np.float32)
    bridged, lost = bridge(img, hole, axis=1)
    if smooth > 0:
        bridging = (hole & ~lost).astype(np.float32)
        down = {"ksize": (1, 0), "sigmaX": 0.01, "sigmaY": smooth, "borderType": cv2.BORDER_REFLECT}
        weight = cv2.GaussianBlur(bridging, **down)
        bridged = cv2.GaussianBlur(bridged * bridging[..., None], **down) / np.maximum(weight, 1e-6)[..., None]
    out = np.where(hole[..., None], bridged, img)
    if lost.any():   # rows the hole spans from edge to edge: the rows above and below them, column by column
        across, alone = bridge(out, lost, axis=0)
        out[lost] = across[lost]
        if alone.any():   # a column the hole fills from top to bottom as well
            telea = cv2.inpaint(image, hole.astype(np.uint8), RADIUS, cv2.INPAINT_TELEA).astype(np.float32)
            out[alone] = telea[alone]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def bridge(image: np.ndarray, hole: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Each ``hole`` (h, w) bool pixel blended from the nearest pixels of ``image`` (h, w, 3) outside the hole
    before and after it along ``axis`` (1: its row, 0: its column), by distance; the one side's where the line
    runs into the picture's edge. Returns ((h, w, 3) float, (h, w) bool: the hole pixels with neither side).

    Along columns it fills the rows a hole spans from edge to edge (hair reaching both sides of a tight crop):
    Telea's inpainting drew them as a streak from whatever the hole's outline passed (lia_monroe: a
    bright-to-dark line across the fill)."""
    img = np.moveaxis(np.asarray(image, np.float32), axis, 1)
    gap = np.moveaxis(hole, axis, 1)
    n = gap.shape[1]
    at = np.arange(n)[None, :]
    before = np.maximum.accumulate(np.where(~gap, at, -1), axis=1)
    after = np.minimum.accumulate(np.where(~gap, at, n)[:, ::-1], axis=1)[:, ::-1]
    has_b, has_a = before >= 0, after < n
    span = np.maximum(after - before, 1).astype(np.float32)
    w_b = np.where(has_b & has_a, (after - at) / span, has_b.astype(np.float32))
    w_a = np.where(has_b & has_a, (at - before) / span, has_a.astype(np.float32))
    lines = np.arange(gap.shape[0])[:, None]
    out = (w_b[..., None] * img[lines, np.clip(before, 0, n - 1)]
           + w_a[..., None] * img[lines, np.clip(after, 0, n - 1)])
    return np.moveaxis(out, 1, axis), np.moveaxis(gap & ~(has_b | has_a), 1, axis)


def mirror_band(filled: np.ndarray, known: np.ndarray, hole: np.ndarray, depth: float,
                bars: np.ndarray | None = None) -> np.ndarray:
    """``filled`` (H, W, 3) float32 with each ``hole`` pixel within ``depth`` px of the hole's edge blended
    towards ``known`` mirrored across the edge (the pixel as far outside the nearest known pixel as it is
    inside: ``cv2.distanceTransformWithLabels``), fully at the edge, not at all ``depth`` px in; where the
    mirror image leaves the frame or falls in the hole or the ``bars``, ``filled`` is kept."""
    import cv2

    if not hole.any() or hole.all():
        return filled
    dist, labels = cv2.distanceTransformWithLabels(hole.astype(np.uint8), cv2.DIST_L2, 5,
                                                   labelType=cv2.DIST_LABEL_PIXEL)
    ky, kx = np.nonzero(~hole)
    at = np.zeros((labels.max() + 1, 2), np.int64)
    at[labels[ky, kx]] = np.stack([kx, ky], 1)          # label -> its known pixel
    hy, hx = np.nonzero(hole & (dist < depth))
    nearest = at[labels[hy, hx]]
    sx, sy = 2 * nearest[:, 0] - hx, 2 * nearest[:, 1] - hy
    h, w = hole.shape
    inside = (sx >= 0) & (sx < w) & (sy >= 0) & (sy < h)
    sx, sy = np.clip(sx, 0, w - 1), np.clip(sy, 0, h - 1)
    usable = ~hole[sy, sx] if bars is None else ~(hole[sy, sx] | bars[sy, sx])
    weight = (1.0 - dist[hy, hx] / depth) * (inside & usable)
    out = filled.copy()
    out[hy, hx] += weight[:, None] * (known[sy, sx] - out[hy, hx])
    return out


def regrain(crop: np.ndarray, hole: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """Gaussian grain (fixed seed) with the per-channel spread of the photo's fine detail (the photo minus
    its blur) in a ring around ``hole``, measured robustly (median absolute deviation): (h, w, 3) float32."""
    import cv2

    image = crop.astype(np.float32)
    detail = image - cv2.GaussianBlur(image, (0, 0), sigma)
    near = cv2.dilate(hole.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    ring = cv2.dilate(hole.astype(np.uint8), np.ones((31, 31), np.uint8)).astype(bool) & ~near
    if ring.sum() < 50:
        return np.zeros_like(image)
    values = detail[ring]
    spread = 1.4826 * np.median(np.abs(values - np.median(values, 0)), 0)
    noise = np.random.default_rng(0).standard_normal(image.shape).astype(np.float32)
    return noise * spread
