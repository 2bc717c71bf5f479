"""The background behind the head: the band a moving head uncovers carries the background's own texture."""
import numpy as np
from talkinghead.nodes.animate.fill import MIRROR_DEPTH, inpaint_background


def test_the_band_next_to_the_hole_carries_the_backgrounds_texture():
    """Vertical stripes behind a round head: next to the hole's left and right edges the fill continues the
    stripes (mirrored across the edge) instead of smearing the edge's colour inwards (Telea's streaks)."""
    h, w = 240, 320
    xx = np.arange(w, dtype=np.float32)
    stripes = 128 + 80 * np.sin(2 * np.pi * xx / 12)
    photo = np.repeat(np.repeat(stripes[None, :, None], h, 0), 3, 2).astype(np.uint8)
    yy, xg = np.mgrid[0:h, 0:w]
    hole = np.hypot(xg - 160, yy - 120) < 70
    out = inpaint_background(photo.astype(np.float32), hole, photo)
    assert np.array_equal(out[~hole], photo[~hole].astype(np.float32))          # the background is kept
    row = out[120, :, 0]
    depth = MIRROR_DEPTH * 141
    for edge, step in ((90, 1), (230, -1)):                   # the last background pixel left / right of the hole
        band = [edge + step * d for d in range(1, int(depth / 2))]
        mirrored = [float(photo[120, edge - step * d, 0]) for d in range(1, int(depth / 2))]
        assert np.corrcoef(row[band], mirrored)[0, 1] > 0.9                     # the stripes go on
