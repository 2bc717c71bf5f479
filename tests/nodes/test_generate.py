"""GenerateFrames: determinism, chunk invariance, the hold policy for faceless frames, bad input (tiny-64, CPU)."""
from __future__ import annotations

import numpy as np
import pytest
from talkinghead.nodes.generate import GenerateFrames, hold_invalid
from talkinghead.nodes.types import FaceTrack, Identity
from talkinghead.runtime.errors import BadInputError, UsageError


def face68(cx: float, cy: float, s: float, mouth: float = 0.0, turn: float = 0.0) -> np.ndarray:
    """A plausible iBUG-68 face: centre (cx, cy), half-width s px, mouth opening (0..0.3), head turn (-1..1)."""
    t = np.linspace(0, np.pi, 17)
    jaw = np.stack([-0.9 * np.cos(t), 0.95 * np.sin(t)], -1)
    brow = np.linspace(0.15, 0.75, 5)
    brows = np.stack([np.r_[-brow[::-1], brow], np.full(10, -0.45)], -1)
    nose = np.r_[np.stack([np.zeros(4), np.linspace(-0.3, 0.15, 4)], -1),
                 np.stack([np.linspace(-0.2, 0.2, 5), [0.25, 0.27, 0.28, 0.27, 0.25]], -1)]
    a = np.array([np.pi, 2.4, 2.0 * np.pi / 3 - 0.6, 0.0, -0.7, -2.4])
    eye = np.stack([0.18 * np.cos(a), -0.07 * np.sin(a)], -1)
    eyes = np.r_[eye + [-0.4, -0.25], eye + [0.4, -0.25]]
    b = np.linspace(np.pi, -np.pi, 13)[:12]
    outer = np.stack([0.35 * np.cos(b), 0.55 - (0.1 + mouth / 2) * np.sin(b)], -1)
    c = np.linspace(np.pi, -np.pi, 9)[:8]
    inner = np.stack([0.25 * np.cos(c), 0.55 - (mouth / 2 + 0.005) * np.sin(c)], -1)
    pts = np.concatenate([jaw, brows, nose, eyes, outer, inner])
    pts[:, 0] += turn * 0.25 * (1 - pts[:, 0] ** 2)
    return (pts * s + [cx, cy]).astype(np.float32)


def make_track(n: int = 12, invalid: tuple[int, ...] = (), size: tuple[int, int] = (120, 160)) -> FaceTrack:
    """Driver: mouth opens and closes, head turns; ``invalid`` frames have no face (NaN)."""
    lms = np.stack([face68(80 + 3 * np.sin(i), 60, 30, mouth=0.15 * (1 + np.sin(i)), turn=0.3 * np.cos(i / 2))
                    for i in range(n)])
    valid = np.ones(n, bool)
    for i in invalid:
        valid[i], lms[i] = False, np.nan
    boxes = np.zeros((n, 4), np.float32)
    return FaceTrack(lms, boxes, valid, valid.astype(np.float32), size, np.arange(100, 100 + n), 25.0, "synthetic",
                     "0", "driver.mp4")


@pytest.fixture(scope="module")
def rt():
    from talkinghead.runtime.runtime import Runtime

    return Runtime(device="cpu", precision="32-true")


@pytest.fixture(scope="module")
def person(rt):
    """A tiny-64 feed-forward PersonModel from the seeded random base (no files needed)."""
    import torch
    from talkinghead.nodes.person import feed_forward_person, load_base

    torch.manual_seed(0)
    base = load_base(rt, preset="tiny-64")
    dim = int(getattr(base.cfg, "embed_dim", 512))
    e_hat = np.random.default_rng(0).standard_normal(dim).astype(np.float32)
    identity = Identity(e_hat, 1, ["0" * 64], face68(110, 100, 40)[None], np.array([[200, 220]]), base.model_id)
    person = feed_forward_person(base, identity)
    person.info["crop"] = {"size": 64, "margin": 0.4}
    return person


def render(rt, person, track, **kwargs) -> list:
    return list(GenerateFrames().run(rt, person=person, driver=track, **kwargs)["frames"])


def test_determinism_same_inputs_same_bytes(rt, person):
    track = make_track(10)
    a, b = render(rt, person, track), render(rt, person, track)
    assert [x.frame_number for x in a] == list(range(100, 110))
    for x, y in zip(a, b):
        assert x.crop.dtype == np.uint8 and x.crop.shape == (64, 64, 3)
        assert x.crop.tobytes() == y.crop.tobytes()
    # frames with different mouth/head landmarks give different faces
    assert np.abs(a[0].crop.astype(int) - a[3].crop.astype(int)).mean() > 0.5


@pytest.mark.parametrize("frames", [range(103, 106), [100], range(107, 110), [101, 108]])
def test_chunks_are_bitwise_equal_to_the_full_render(rt, person, frames):
    track = make_track(10)
    full = {x.frame_number: x for x in render(rt, person, track, batch_size=4)}
    part = render(rt, person, track, batch_size=4, frames=frames)
    assert [x.frame_number for x in part] == sorted(frames)
    for x in part:
        assert x.crop.tobytes() == full[x.frame_number].crop.tobytes()
        np.testing.assert_array_equal(x.matrix, full[x.frame_number].matrix)


def test_crop_matrix_is_the_source_face_crop(rt, person):
    from talkinghead.nodes.sketch import face_crop_matrix, transform_landmarks

    out = render(rt, person, make_track(3), retarget="absolute")
    expected = face_crop_matrix(person.identity.source_landmarks[0], 64, margin=0.4)
    for x in out:
        np.testing.assert_allclose(x.matrix, expected)
    # retargeting onto its own face ("none" with the source's landmarks) puts the face where the source is
    src = make_track(1)
    src.landmarks[0] = person.identity.source_landmarks[0]
    (item,) = render(rt, person, src, retarget="none")
    np.testing.assert_allclose(item.landmarks, transform_landmarks(person.identity.source_landmarks[0], expected),
                               atol=1e-4)


def test_faceless_frames_hold_the_last_valid_pose_and_are_marked(rt, person):
    track = make_track(8, invalid=(0, 4, 5))
    out = render(rt, person, track)
    assert [x.frame_number for x in out] == list(range(100, 108))  # never skipped
    assert [x.valid for x in out] == [False, True, True, True, False, False, True, True]
    np.testing.assert_array_equal(out[4].landmarks, out[3].landmarks)
    assert out[4].crop.tobytes() == out[3].crop.tobytes() == out[5].crop.tobytes()
    # before the first valid frame: the source pose (relative retargeting of the neutral = source)
    assert np.isfinite(out[0].landmarks).all()


def test_hold_invalid_policy():
    poses = np.arange(4 * 68 * 2, dtype=np.float32).reshape(4, 68, 2)
    rest = np.full((68, 2), -1, np.float32)
    held = hold_invalid(poses, np.array([False, True, False, True]), rest)
    np.testing.assert_array_equal(held[0], rest)
    np.testing.assert_array_equal(held[2], poses[1])
    np.testing.assert_array_equal(held[3], poses[3])


def test_bad_input(rt, person):
    empty = make_track(3).select(slice(0, 0))
    with pytest.raises(BadInputError, match="driver.mp4: the driving track is empty"):
        render(rt, person, empty)
    with pytest.raises(BadInputError, match="no frame with a valid face"):
        render(rt, person, make_track(3, invalid=(0, 1, 2)))
    with pytest.raises(BadInputError, match=r"frame 99: .* not in the driving track \(frames 100-102\)"):
        render(rt, person, make_track(3), frames=[99, 100])
    with pytest.raises(UsageError):
        render(rt, person, make_track(3), retarget="sideways")
    with pytest.raises(UsageError):
        render(rt, person, make_track(3), batch_size=0)
