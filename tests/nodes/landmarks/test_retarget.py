"""Retargeting invariants: identity is a no-op; motion is scaled/rotated to the source face."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from talkinghead.nodes.landmarks.retarget import pick_neutral, retarget, similarity
from talkinghead.nodes.types import FaceTrack
from talkinghead.runtime.errors import BadInputError, UsageError

BASE = np.load(Path(__file__).resolve().parents[2] / "golden" / "astronaut_dlib_landmarks.npy").astype(np.float64)


def _track(n: int = 12) -> FaceTrack:
    rng = np.random.default_rng(1)
    lms = BASE[None] + rng.normal(0, 2, (n, 68, 2)) + np.arange(n)[:, None, None] * np.array([3.0, -1.0])
    lms[:, 57, 1] += np.linspace(0, 15, n)  # the mouth opens
    valid = np.ones(n, bool)
    valid[5] = False
    lms[5] = np.nan
    return FaceTrack(lms.astype(np.float32), np.zeros((n, 4)), valid, np.ones(n), (512, 512), fps=25.0)


def _rotate(points, angle, scale, shift):
    c, s = np.cos(angle), np.sin(angle)
    return scale * points @ np.array([[c, -s], [s, c]]).T + shift


@pytest.mark.parametrize("mode", ["relative", "absolute"])
def test_identity_retarget_is_noop(mode):
    track = _track()
    for neutral in (0, 7):
        out = retarget(track, track.landmarks[neutral], mode=mode, neutral=neutral)
        assert np.allclose(out.landmarks, track.landmarks, atol=1e-3, equal_nan=True)
        assert np.array_equal(out.valid, track.valid)


def test_relative_motion_scaled_and_rotated_to_source():
    track = _track()
    angle, scale, shift = 0.3, 2.0, np.array([40.0, -25.0])
    source = _rotate(track.landmarks[0].astype(np.float64), angle, scale, shift)
    out = retarget(track, source, "relative", neutral=0, image_size=(1024, 1024))
    expected = source + _rotate(track.landmarks[3] - track.landmarks[0], angle, scale, 0)
    assert np.allclose(out.landmarks[3], expected, atol=1e-2)
    assert out.image_size == (1024, 1024) and np.isnan(out.landmarks[5]).all() and not out.valid[5]
    assert out.extra["retarget"] == {"mode": "relative", "neutral": 0, "driver_source": ""}


def test_relative_keeps_source_shape_absolute_keeps_driver_shape():
    track = _track()
    track.landmarks[0] = BASE  # a clean neutral frame
    source = _rotate(BASE, 0.1, 1.5, np.array([30.0, 10.0]))
    centre = source[48:68].mean(0)
    source[48:68] = centre + (source[48:68] - centre) * np.array([1.4, 1.0])  # a wider mouth than the driver's
    rel = retarget(track, source, "relative", neutral=0)
    absolute = retarget(track, source, "absolute", neutral=0)
    assert np.allclose(rel.landmarks[0], source, atol=1e-3)  # neutral frame -> the source itself
    mouth = lambda p: np.linalg.norm(p[54] - p[48])
    assert abs(mouth(absolute.landmarks[0]) - 1.5 * mouth(BASE)) < 0.5  # driver's mouth, at the source's scale
    assert mouth(source) > 1.3 * 1.5 * mouth(BASE)


def test_similarity_recovers_transform_and_neutral_choice():
    moved = _rotate(BASE, -0.2, 0.7, np.array([5.0, 9.0]))
    m = similarity(BASE, moved)
    assert np.allclose(BASE @ m[:, :2].T + m[:, 2], moved, atol=1e-6)
    track = _track()
    neutral = pick_neutral(track.landmarks, track.valid)
    assert track.valid[neutral] and 1 <= neutral <= 10


def test_bad_requests():
    track = _track()
    with pytest.raises(UsageError):
        retarget(track, BASE, mode="sideways")
    with pytest.raises(BadInputError):
        retarget(track, BASE, neutral=5)  # an invalid frame
    with pytest.raises(BadInputError):
        retarget(track, np.zeros((5, 2)))
