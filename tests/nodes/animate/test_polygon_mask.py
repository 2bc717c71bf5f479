"""``regions.polygon_mask``: coverage, and a small polygon in a large frame costs its box, not the frame."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from talkinghead.nodes.animate.regions import polygon_mask

TRIANGLE = np.array([[10.3, 12.8], [41.6, 15.1], [22.4, 47.9]])


@pytest.mark.parametrize("feather", [0.0, 1.5, 4.0])
def test_the_mask_moves_with_the_polygon(feather):
    small = polygon_mask(TRIANGLE + 30, (120, 120), feather)
    assert small.dtype == np.float32 and 0.0 <= small.min() and small.max() <= 1.0
    area = 0.5 * abs(np.cross(TRIANGLE[1] - TRIANGLE[0], TRIANGLE[2] - TRIANGLE[0]))
    assert small.sum() == pytest.approx(area, rel=0.02)
    moved = polygon_mask(TRIANGLE + [900, 700], (1000, 1200), feather)      # whole pixels: the same coverage
    assert np.abs(moved[670:790, 870:990] - small).max() < 1e-5
    assert moved.sum() == pytest.approx(small.sum(), rel=1e-5)            # nothing outside the polygon's reach


def test_a_small_polygon_in_a_large_frame_is_drawn_in_its_box():
    size = (3000, 3000)
    tracemalloc.start()
    try:
        mask = polygon_mask(TRIANGLE + 1000, size, 2.0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert mask.shape == size and mask[1010:1050, 1010:1050].max() > 0.99
    assert peak < 1.5 * mask.nbytes   # the frame's mask itself, not a canvas 16 x its size (18 x measured before)
