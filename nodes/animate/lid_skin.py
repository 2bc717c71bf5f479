"""The skin of a shut upper lid, smoothed along the eye (issue 19: blinks).

``motion.LidStrip`` unrolls the skin between a shutting lid's crease and its lash band by stretching a few
source rows over many output rows. Every column keeps its own colour down the stretch, so a closed lid showed
vertical streaks: lia_macron's 256 px photo (3 px of lid skin over 12 px), girl_pearl's painted cracks, the
crease's own shadow. ``smooth_shut_lid`` blurs the output along the eye's axis over that skin: the streaks go,
the colour's course from crease to lashes stays. Its region runs under an arc from corner to corner
(``LidStrip.crease_arc``), as the lid's rounded top does: beside the strip's chords the spline stretched the
skin into the same streaks. Replacing the lid by a colour (crease to lashes), or adding the texture of the
skin above the crease mirrored or repeated into it, was tried: a flat patch that dlib read as the eye, and
ridges on girl_pearl.

Shapes: image (H, W, 3) uint8; ``LidStrip`` in the output frame's px.
"""
from __future__ import annotations

import numpy as np

from .motion import LidStrip

ALONG = 0.3      # the blur's length along the eye, x the eye's width
FEATHER = 0.15   # below the arc the blur fades in over this x the skin's height (at least EDGE px)
EDGE = 1.5


def smooth_shut_lid(image: np.ndarray, strip: LidStrip) -> np.ndarray:
    """``image`` with the skin of ``strip``'s shut lid (from its crease arc down to the lash band) blurred
    along the eye's axis, blended by how far the lid has shut (``strip.weight``). Returns a copy, or
    ``image`` itself when the strip lies outside it."""
    import cv2

    u_k = np.linspace(0.0, 1.0, 21)
    outline = [strip.origin + (u * strip.width) * strip.axis + v * strip.down
               for u, c, lid in zip(u_k, strip.crease_arc(u_k), np.interp(u_k, strip.u, strip.lid)) for v in (c, lid)]
    n = max(3, int(ALONG * strip.width) | 1)
    lo = np.floor(np.min(outline, 0)).astype(int) - n
    hi = np.ceil(np.max(outline, 0)).astype(int) + n + 1
    x0, y0 = max(lo[0], 0), max(lo[1], 0)
    x1, y1 = min(hi[0], image.shape[1]), min(hi[1], image.shape[0])
    if x1 <= x0 or y1 <= y0:
        return image
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    rel = np.stack([xs, ys], -1) - strip.origin
    u, v = rel @ strip.axis / strip.width, rel @ strip.down
    crease = strip.crease_arc(u)
    height = np.maximum(strip.skin_bottom(crease, np.interp(u, strip.u, strip.lid)) - crease, 1e-6)
    below = v - crease
    inside = (u > 0) & (u < 1) & (below >= 0) & (below <= height)
    if not inside.any():
        return image
    line = np.zeros((n, n), np.float32)
    c, reach = (n - 1) / 2, strip.axis * (n - 1) / 2
    ends = [tuple(int(k) for k in np.rint(c + sign * reach)) for sign in (-1, 1)]
    cv2.line(line, ends[0], ends[1], 1.0, 1)
    line /= line.sum()
    window = image[y0:y1, x0:x1].astype(np.float32)
    blurred = cv2.filter2D(window, -1, line, borderType=cv2.BORDER_REPLICATE)
    fade = np.clip(below / np.maximum(FEATHER * height, EDGE), 0.0, 1.0)
    alpha = (strip.weight * inside * fade).astype(np.float32)[..., None]
    out = image.copy()
    out[y0:y1, x0:x1] = np.clip(np.round(window + alpha * (blurred - window)), 0, 255).astype(np.uint8)
    return out
