"""Self-reenactment protocol: the split (no target is ever a few-shot frame), nearest frame, hard frames."""
import numpy as np
import pytest
from talkinghead.nodes.evaluation import protocol as P
from talkinghead.nodes.evaluation.metrics import eye_opening, mouth_opening

GOLDEN = __import__("pathlib").Path(__file__).resolve().parents[2] / "golden" / "astronaut_dlib_landmarks.npy"


@pytest.fixture(scope="module")
def face():
    return np.load(GOLDEN).astype(np.float64)


def test_spread_is_even_unique_and_centred():
    c = np.arange(100)
    assert P.spread(c, 1).tolist() == [50]
    assert P.spread(c, 4).tolist() == [12, 37, 62, 87]
    assert P.spread(c, 200).tolist() == c.tolist()
    assert len(np.unique(P.spread(np.arange(33), 32))) == 32


@pytest.mark.parametrize("n,shots", [(78, 1), (78, 8), (78, 32), (100, 32), (601, 8), (80, 32)])
def test_split_never_puts_a_target_in_the_few_shot_set(n, shots):
    rng = np.random.default_rng(n + shots)
    valid = rng.random(n) > 0.03
    split = P.split_clip(valid, shots)
    assert len(split.fewshot) == shots and 1 <= len(split.targets) <= P.MAX_TARGETS
    assert not set(split.fewshot.tolist()) & set(split.targets.tolist())
    assert split.fewshot.max() < n // 2 <= split.targets.min()
    assert valid[split.fewshot].all() and valid[split.targets].all()
    assert (np.diff(split.fewshot) > 0).all() and (np.diff(split.targets) > 0).all()


def test_split_spreads_targets_over_the_second_half():
    split = P.split_clip(np.ones(400, bool), 8)
    assert len(split.targets) == 40
    assert split.targets.min() < 210 and split.targets.max() > 390  # covers the second half, not its start


def test_split_errors():
    with pytest.raises(ValueError, match="first half"):
        P.split_clip(np.ones(20, bool), 11)
    valid = np.ones(20, bool)
    valid[10:] = False
    with pytest.raises(ValueError, match="no targets"):
        P.split_clip(valid, 2)


def test_nearest_is_found_through_a_similarity(face):
    rng = np.random.default_rng(0)
    others = [face + rng.normal(0, 3, face.shape) for _ in range(3)]
    angle = 0.3
    rot = 1.7 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = face @ rot.T + [40, -25]  # same expression, another place, scale and roll
    fewshot = np.stack([others[0], face, others[1], others[2]])
    assert P.aligned_distance(face, moved) < 1e-9
    assert P.nearest_fewshot(fewshot, moved[None]).tolist() == [1]


def _open_mouth(lm: np.ndarray, amount: float) -> np.ndarray:
    out = lm.copy()
    out[[65, 66, 67, 56, 57, 58]] += [0, amount]  # lower inner and outer lip down
    return out


def test_hard_frames_follow_the_opening_threshold(face):
    base = face.copy()
    width = np.linalg.norm(face[48] - face[54])
    targets = np.stack([_open_mouth(face, 0.1 * width), _open_mouth(face, 0.3 * width), face])
    targets[2, [37, 38, 43, 44]] -= [0, 0.5 * np.linalg.norm(face[36] - face[39])]  # eyes wide open
    mouth, eyes = P.hard_frames(base[None], targets, np.zeros(3, np.int64))
    assert abs(mouth_opening(targets[0]) - mouth_opening(base)) < P.HARD_THRESHOLD
    assert mouth.tolist() == [False, True, False]
    assert abs(eye_opening(targets[2]) - eye_opening(base)) > P.HARD_THRESHOLD
    assert eyes.tolist() == [False, False, True]
