"""Cross-identity measures: Pearson r with failed frames, identity, mouth agreement, gaze, jitter, background."""
import math

import numpy as np
import pytest
from cross_faces import base_landmarks
from talkinghead.nodes.evaluation import background as B
from talkinghead.nodes.evaluation import cross_metrics as C
from talkinghead.nodes.evaluation.cross_report import background_summary


def test_pearson_matches_numpy_and_is_nan_when_constant():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=50), rng.normal(size=50)
    assert C.pearson(x, y) == pytest.approx(np.corrcoef(x, y)[0, 1])
    assert math.isnan(C.pearson(x, np.ones(50))) and math.isnan(C.pearson(x[:2], y[:2]))


def test_failed_output_frames_count_against_r():
    """A frame where the output has no face carries the output's mean: r drops (never rises), r_detected
    (the detected frames only) is reported beside it; frames without a driver face are left out."""
    t = np.linspace(0, 4 * np.pi, 80)
    driver = np.sin(t)
    output = 0.5 * driver + 0.1
    perfect = C.pearson_with_failures(driver, output)
    assert perfect["r"] == pytest.approx(1.0) and perfect["failed"] == 0 and perfect["frames"] == 80
    failed = output.copy()
    failed[np.abs(driver) > 0.9] = np.nan  # the output loses the face exactly on the extreme poses
    out = C.pearson_with_failures(driver, failed)
    assert out["r_detected"] == pytest.approx(1.0)
    assert out["r"] < 0.9 and out["failed"] == int(np.isnan(failed).sum())
    no_driver = driver.copy()
    no_driver[:10] = np.nan
    out = C.pearson_with_failures(no_driver, output)
    assert out["frames"] == 70 and out["failed"] == 0 and out["r"] == pytest.approx(1.0)
    assert math.isnan(C.pearson_with_failures(driver, np.full(80, np.nan))["r"])


def test_pearson_with_failures_never_exceeds_detected():
    rng = np.random.default_rng(3)
    for _ in range(20):
        d, o = rng.normal(size=40), rng.normal(size=40)
        o[rng.random(40) < 0.3] = np.nan
        out = C.pearson_with_failures(d, o)
        assert abs(out["r"]) <= abs(out["r_detected"]) + 1e-12


def test_identity_counts_no_face_as_not_kept():
    out = C.identity_summary(np.array([0.3, 0.5, 0.7, np.nan]))
    assert out["kept"] == 0.5 and out["mean_distance"] == pytest.approx(0.5)
    assert C.identity_summary(np.array([np.nan, np.nan]))["kept"] == 0.0


def test_mouth_agreement_counts_missing_output_as_disagreement():
    out = C.mouth_agreement(["closed", "teeth", "open-dark", None], ["closed", None, "teeth", "teeth"])
    assert out["agreement"] == pytest.approx(1 / 3) and out["frames"] == 3
    assert out["driver_states"] == {"closed": 1, "open-dark": 1, "teeth": 1}


def test_mouth_agreement_judged_only_where_the_drivers_pixels_show_the_state():
    """A mouth parted by 2 px cannot show teeth; closed and wide-open (12 px) frames can be judged."""
    base = np.zeros((68, 2))
    lms = np.stack([base, base, base])
    for k, gap in enumerate((0.0, 2.0, 12.0)):
        lms[k, [67, 66, 65], 1] = gap
    states = ["closed", "open-dark", "open-dark"]
    assert C.judged_mouths(lms, states) == [True, False, True]
    out = C.mouth_agreement(states, ["closed", "teeth", "teeth"], C.judged_mouths(lms, states))
    assert out["agreement"] == pytest.approx(1 / 3)
    assert out["agreement_judged"] == pytest.approx(1 / 2) and out["frames_judged"] == 2


def test_gaze_errors_absolute_relative_and_failures():
    driver = np.zeros((4, 2, 2))
    driver[:, :, 0] = [[0.1], [0.2], [0.0], [-0.1]]
    output = driver + np.array([0.05, 0.0])
    out = C.gaze_errors(driver, output)
    assert out["mean"] == pytest.approx(0.05) and out["failed"] == 0
    rel = C.gaze_errors(driver, output, driver_rest=np.zeros((2, 2)), output_rest=np.full((2, 2), [0.05, 0.0]))
    assert rel["mean"] == pytest.approx(0.0, abs=1e-12)
    output[1, 0] = np.nan  # one eye of one frame not found on the output: GAZE_FAIL for that eye
    driver[3] = np.nan     # no driver iris: left out
    out = C.gaze_errors(driver, output)
    assert out["frames"] == 3 and out["failed"] == 1
    assert out["mean"] == pytest.approx((0.05 + (C.GAZE_FAIL + 0.05) / 2 + 0.05) / 3)


def test_still_jitter_is_the_trackers_own_noise_on_a_face_that_does_not_move():
    """A tracker that finds the face to the sub-pixel has no jitter on a still photo (the shifts are taken
    back out); one that finds it to the whole pixel jitters, and the floor says by how much."""
    import cv2

    base = base_landmarks()
    photo = np.zeros((600, 600, 3), np.uint8)
    cv2.circle(photo, (300, 300), 40, (255, 255, 255), -1, cv2.LINE_AA)

    def centroid(image: np.ndarray) -> np.ndarray:
        w = image[..., 0].astype(np.float64)
        yy, xx = np.mgrid[0:w.shape[0], 0:w.shape[1]]
        return np.array([(xx * w).sum(), (yy * w).sum()]) / w.sum()

    exact = C.still_jitter(C.still_readings(lambda im: base + centroid(im) - 300, photo)[0])
    rounded = C.still_jitter(C.still_readings(lambda im: base + np.round(centroid(im)) - 300, photo)[0])
    assert exact < 0.1 * rounded and rounded > 1e-3
    assert math.isnan(C.still_jitter(C.still_readings(lambda im: None, photo)[0]))


def test_the_gaze_floor_is_the_noise_of_both_readings_and_nothing_else():
    """The driver read twice (its frames, shifted copies) and the photo read still: a perfect instrument has
    no floor; reading noise of sigma_d on the driver (each reading) and sigma_o on the photo gives the error
    two independent readings show, sqrt(sigma_d^2 + sigma_o^2) x sqrt(pi / 2) per eye (Rayleigh), whatever
    the gaze itself does. A frame the second reading missed is left out."""
    rng = np.random.default_rng(1)
    n, sd, so = 4000, 0.01, 0.02
    gaze = rng.uniform(-0.1, 0.1, (n, 2, 2))                     # the driver's gaze moves; the floor ignores it
    photo = np.array([[0.02, -0.08], [0.01, -0.07]])
    exact = C.gaze_floor(gaze, gaze, np.repeat(photo[None], 24, 0))
    assert exact["mean"] == pytest.approx(0.0, abs=1e-12) and exact["frames"] == n
    d1, d2 = gaze + rng.normal(0, sd, gaze.shape), gaze + rng.normal(0, sd, gaze.shape)
    still = photo + rng.normal(0, so, (n, 2, 2))
    d2[0] = np.nan
    floor = C.gaze_floor(d1, d2, still)
    assert floor["frames"] == n - 1
    assert floor["mean"] == pytest.approx(math.hypot(sd, so) * math.sqrt(math.pi / 2), rel=0.05)
    assert floor["p90"] > floor["mean"]
    assert math.isnan(C.gaze_floor(d1, d2, np.full((24, 2, 2), np.nan))["mean"])


def test_the_locator_gap_is_the_two_readings_difference_on_the_eyes_both_read():
    """Two locators on the same eyes: one reads the visible iris's centre, lower than the circle the other
    places (lids cover the iris's top) by 0.03 eye widths, with independent noise; the gap is that offset
    plus the noise, per frame over the eyes both read, and an eye one of them misses is left out, not failed."""
    rng = np.random.default_rng(2)
    n = 3000
    gaze = rng.uniform(-0.1, 0.1, (n, 2, 2))
    circle = gaze + rng.normal(0, 0.005, gaze.shape)
    visible = gaze + [0.0, 0.03] + rng.normal(0, 0.005, gaze.shape)
    gap = C.locator_gap(visible, circle)
    assert gap["frames"] == n and gap["mean"] == pytest.approx(0.03, rel=0.08) and gap["p90"] >= gap["mean"]
    assert C.locator_gap(gaze, gaze)["mean"] == 0.0
    visible[:, 1] = np.nan                                        # one eye closed for one locator: not a failure
    visible[0] = np.nan                                           # a frame neither eye was read on both sides
    half = C.locator_gap(visible, circle)
    assert half["frames"] == n - 1 and half["mean"] == pytest.approx(0.03, rel=0.08)
    assert math.isnan(C.locator_gap(np.full((5, 2, 2), np.nan), circle[:5])["mean"])


def test_jitter_ratio_is_one_for_the_driver_itself_and_grows_with_noise():
    rng = np.random.default_rng(0)
    base = base_landmarks()
    track = np.stack([base + [3 * np.sin(k / 5), 0] + rng.normal(0, 0.3, base.shape) for k in range(40)])
    out = C.jitter_ratio(track, track.copy())
    assert out["ratio"] == pytest.approx(1.0) and out["coverage"] == 1.0
    scaled = (track - 300) * 2 + 300  # twice the size, same motion relative to the face: same jitter
    assert C.jitter_ratio(track, scaled)["ratio"] == pytest.approx(1.0)
    noisy = track + rng.normal(0, 1.0, track.shape)
    assert C.jitter_ratio(track, noisy)["ratio"] > 2
    holes = track.copy()
    holes[10] = np.nan
    assert C.jitter_ratio(track, holes)["coverage"] == pytest.approx(35 / 38)


def test_a_turned_face_moving_alike_does_not_read_as_more_jitter():
    """A face turned 37 degrees is 0.8 as wide (its inter-ocular distance too), not 0.8 as tall: the same head
    motion over the inter-ocular distance would read 1.25 x the jitter."""
    rng = np.random.default_rng(1)
    base = base_landmarks()
    motion = np.stack([[3 * np.sin(k / 5), 2 * np.cos(k / 7)] + rng.normal(0, 0.3, 2) for k in range(40)])
    turned = base.copy()
    turned[:, 0] = 300 + 0.8 * (base[:, 0] - 300)
    ratio = C.jitter_ratio(base + motion[:, None], turned + motion[:, None])["ratio"]
    assert 1.0 < ratio < 1.15


def test_track_agreement_is_one_for_the_driver_itself_and_drops_where_the_track_is_noisy():
    """The driving track's own r against the re-detected driver: 1 when both runs agree, lower for the signal
    a second run reads differently (here the lids), untouched for the others; invalid frames are left out."""
    rng = np.random.default_rng(1)
    base = base_landmarks()
    size = (600, 600)
    frames = []
    for k in range(30):
        lms = base + [4 * np.sin(k / 4), 2 * np.cos(k / 3)]
        lms[[37, 38, 43, 44], 1] -= 2 * np.sin(k / 2)                 # lids open and close
        lms[[61, 62, 63], 1] -= 3 * np.cos(k / 5)                     # the mouth too
        frames.append(lms)
    track = np.stack(frames)
    signals = [C.shape_signals(p, size) for p in track]
    valid = np.ones(len(track), bool)
    same = C.track_agreement(track, valid, signals, size)
    assert all(r == pytest.approx(1.0) for r in same.values())
    noisy = track.copy()
    noisy[:, [37, 38, 40, 41, 43, 44, 46, 47], 1] += rng.normal(0, 3.0, (len(track), 8))
    noisy[5] = np.nan
    valid[5] = False
    out = C.track_agreement(noisy, valid, signals, size)
    assert out["eye_left"] < 0.8 and out["eye_right"] < 0.8
    assert out["mouth"] == pytest.approx(1.0) and out["roll"] == pytest.approx(1.0, abs=1e-6)


def test_background_unchanged_plate_is_infinite_and_shift_is_low():
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (600, 600, 3), dtype=np.uint8)
    lms = base_landmarks()
    mask = B.head_mask(photo.shape[:2], lms, lms)
    assert 0.05 < mask.mean() < 0.6 and mask[300, 300] and not mask[5, 5]
    same = photo.copy()
    same[mask] = 0  # anything inside the head is allowed
    assert B.psnr_from_sse(*B.outside_error(same, photo, mask)) == math.inf
    shifted = np.roll(photo, 3, axis=1)
    assert B.psnr_from_sse(*B.outside_error(shifted, photo, mask)) < 15
    summary = background_summary([(*B.outside_error(same, photo, mask), float(mask.mean()))])
    assert summary["background_psnr"] == 100.0 and summary["background_ok"] == 1.0


def test_head_mask_uses_the_method_alpha():
    lms = base_landmarks()
    alpha = np.zeros((600, 600), np.float32)
    alpha[500:560, 500:560] = 1.0
    with_alpha = B.head_mask((600, 600), lms, None, alpha)
    assert with_alpha[530, 530] and with_alpha[300, 300]  # the alpha, and the photo's head region
    rest = np.zeros((600, 600), np.float32)
    rest[10:20, 10:20] = 1.0
    only_layers = B.head_mask((600, 600), lms, lms, alpha, rest)
    assert only_layers[15, 15] and only_layers[530, 530] and not only_layers[300, 300]
