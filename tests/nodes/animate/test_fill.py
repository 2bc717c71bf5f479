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


def test_a_band_of_the_backdrop_carries_on_behind_the_head_without_a_wedge():
    """A horizontal band (a banner) crossing behind a head that widens below it: the fill bridges the band
    across the head's narrow top and keeps the backdrop's grey below it; Telea's inpainting ran the band down
    into the wide part as a wedge (lia_taylor's blue banner)."""
    from talkinghead.nodes.animate.fill import row_fill

    grey, blue = np.array([150, 150, 150]), np.array([40, 120, 220])
    image = np.full((128, 128, 3), grey, np.uint8)
    image[30:46] = blue
    hole = np.zeros((128, 128), bool)
    hole[10:46, 50:78] = True                    # the head's top, inside the band's rows
    hole[46:120, 20:108] = True                  # wider below
    out = row_fill(image, hole, smooth=2.0).astype(np.float64)
    assert np.abs(out[34:42, 55:73] - blue).max() < 12                # the band carries on across the head
    assert np.abs(out[52:110, 25:103] - grey).max() < 3               # and nowhere below it
    import cv2

    telea = cv2.inpaint(image, hole.astype(np.uint8), 5, cv2.INPAINT_TELEA).astype(np.float64)
    assert np.abs(telea[52:110, 25:103] - grey).max() > 30            # (the wedge this replaces)


def test_rows_the_hole_spans_edge_to_edge_do_not_darken_their_neighbours():
    """A hole that runs across the whole picture on some rows (a tight crop's hair) has no known pixel there to
    bridge from: those rows are inpainted, and the bridged rows beside them keep the backdrop's grey."""
    from talkinghead.nodes.animate.fill import row_fill

    image = np.full((96, 96, 3), 150, np.uint8)
    hole = np.zeros((96, 96), bool)
    hole[30:40] = True                            # edge to edge
    hole[40:70, 20:76] = True
    out = row_fill(image, hole, smooth=4.0).astype(np.float64)
    assert np.abs(out[hole] - 150).max() < 4


def test_rows_the_hole_spans_edge_to_edge_take_the_rows_above_and_below():
    """Rows a hole spans from edge to edge (hair reaching both sides of a tight crop, lia_monroe), between rows
    it leaves known only at one end: filled from the rows above and below them, not inpainted from whatever
    the hole's outline passes (Telea's inpainting drew a dark corner of the backdrop across lia_monroe's fill
    as a bright-to-dark line)."""
    from talkinghead.nodes.animate.fill import row_fill

    image = np.full((96, 96, 3), 150, np.uint8)
    image[:26, 84:] = 30                          # a dark corner of the backdrop, above the hole's right end
    hole = np.zeros((96, 96), bool)
    hole[26:44, 3:] = True                        # known only at x < 3 on these rows ...
    hole[30:40] = True                            # ... and nowhere on these
    out = row_fill(image, hole, smooth=4.0).astype(np.float64)
    assert np.abs(out[30:40] - 150).max() < 4     # the rows above and below, not a streak from the dark corner
