"""Black bars around a photo's picture (letterbox, pillarbox: a still grabbed from widescreen video, a scan's
border): the bars are a frame around the picture, not a background behind the head.

Left in, the hair that reaches a bar is cut by it, and the background behind the head is filled from it: a
head that moves away from the bar opened a black hole in the hair (lia_monroe: 19 black rows above her hair).
``picture_area`` finds the picture; the head layer fills its background from the picture alone, the head is
warped as if the picture's edges were the photo's (``compose.warp_layer`` carries the hair on past them) and
every frame keeps the bars as they are.

Shapes: photo (H, W, 3) uint8; areas (x0, y0, x1, y1), x1 and y1 exclusive.
"""
from __future__ import annotations

import numpy as np

BAR_DARK = 16.0   # a bar's rows (or columns) are darker than this on average ...
BAR_FLAT = 1.0    # ... and vary by less than this (standard deviation, 0-255: a dark backdrop varies more) ...
BAR_MIN = 2       # ... over at least this many rows ...
BAR_MAX = 0.25    # ... and at most this fraction of the photo's height (or width)


def picture_area(photo: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): ``photo`` without the black bars along its edges (the whole photo without bars)."""
    image = np.asarray(photo, np.float32)
    if image.ndim == 3:
        image = image.mean(-1)
    h, w = image.shape
    top = _bar(image)
    bottom = _bar(image[::-1])
    left = _bar(image.T)
    right = _bar(image.T[::-1])
    return left, top, w - right, h - bottom


def _bar(lines: np.ndarray) -> int:
    """How many of ``lines`` (L, N), from the first, are a bar (dark and flat), or 0 for fewer than ``BAR_MIN``."""
    limit = int(BAR_MAX * len(lines))
    head = lines[:limit]
    bar = (head.mean(1) < BAR_DARK) & (head.std(1) < BAR_FLAT)
    n = int(np.argmin(bar)) if not bar.all() else len(bar)
    return n if n >= BAR_MIN and n < limit else 0


def outside(area: tuple[int, int, int, int], size: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the bars, the pixels of an (H, W) photo outside ``area``."""
    x0, y0, x1, y1 = area
    mask = np.ones(size, bool)
    mask[y0:y1, x0:x1] = False
    return mask
