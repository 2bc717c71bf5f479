"""Region-wise warp sources: the mouth / eyes come from the source that shows them like the target, only
when clearly better, never from an excluded source; the composite is the base warp away from the regions."""
from pathlib import Path

import numpy as np
import pytest
from talkinghead.nodes.sketch import face_crop_matrix, transform_landmarks
from talkinghead.nodes.warping import region_warp as R
from talkinghead.nodes.warping.source_warp import SourceWarper
from talkinghead.nodes.warping.warp import warp_face

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "astronaut_dlib_landmarks.npy"
S = 128
INNER_LIPS_LOWER = [65, 66, 67]
LOWER_LIP = [55, 56, 57, 58, 59]


@pytest.fixture(scope="module")
def closed():
    lm = np.load(GOLDEN).astype(np.float32)
    return transform_landmarks(lm, face_crop_matrix(lm, S)).astype(np.float64)


def _open_mouth(lms: np.ndarray, gap: float = 6.0) -> np.ndarray:
    out = lms.copy()
    out[INNER_LIPS_LOWER + LOWER_LIP] += [0, gap]
    return out


def _sources(closed):
    """0: the closed mouth, same head; 1: mouth open, but brows raised and head turned (farther overall)."""
    other = _open_mouth(closed)
    other[17:27] += [0, -5]
    other[0:8] += [3, 0]
    return np.stack([closed, other])


def test_the_mouth_comes_from_the_source_whose_mouth_matches(closed):
    sources = _sources(closed)
    target = _open_mouth(closed)
    assert R.choose_layers(sources, target) == [(0, None), (1, "mouth")]
    # a target like the base source everywhere takes nothing from elsewhere
    assert R.choose_layers(sources, closed) == [(0, None)]
    # the gate: a source only slightly better is not blended in
    assert R.region_sources(sources, target, base=0, gate=1e-6) == {"mouth": 0, "eyes": 0}


def test_an_excluded_source_is_never_used_for_any_region(closed):
    sources = _sources(closed)
    for target in (_open_mouth(closed), sources[1]):
        layers = R.choose_layers(sources, target, exclude=1)
        assert all(k != 1 for k, _ in layers)
    assert R.choose_layers(sources[:1], sources[1], exclude=0) == [(0, None)]  # T = 1: nothing to exclude


def test_the_composite_is_the_base_warp_away_from_the_region_and_the_other_source_inside(closed):
    rng = np.random.default_rng(0)
    sources = _sources(closed)
    crops = rng.integers(0, 256, (2, S, S, 3), dtype=np.uint8)
    target = _open_mouth(closed)
    out = R.composite_warp([(crops[0], sources[0], None), (crops[1], sources[1], "mouth")], target)
    base, mouth = warp_face(crops[0], sources[0], target), warp_face(crops[1], sources[1], target)
    mask = R.region_mask(target, R.REGIONS["mouth"][1], (S, S))
    assert mask.max() > 0.95 and mask[:40].max() < 1e-3  # on the mouth, nowhere near the eyes
    expected = base + mask * (mouth.astype(np.float32) - base)
    assert np.abs(out - expected).max() <= 0.5 + 1e-3  # the feathered blend, rounded
    np.testing.assert_array_equal(out[mask[..., 0] < 1e-4], base[mask[..., 0] < 1e-4])
    warper = SourceWarper(crops, sources.astype(np.float32))
    np.testing.assert_array_equal(warper(target[None])[0], out)


def test_the_evaluation_method_warp_regions_is_this_composite(closed):
    from talkinghead.nodes.evaluation.methods import Scene, run_warp, run_warp_regions
    from talkinghead.nodes.evaluation.protocol import nearest_fewshot

    rng = np.random.default_rng(1)
    sources = _sources(closed)
    crops = rng.integers(0, 256, (2, S, S, 3), dtype=np.uint8)
    targets = np.stack([_open_mouth(closed), closed])
    scene = Scene(S, np.eye(2, 3), [crops[0], crops[1]], sources, crops, sources, crops, targets, targets,
                  nearest_fewshot(sources, targets))
    regions, plain = run_warp_regions(scene).outputs, run_warp(scene).outputs
    np.testing.assert_array_equal(regions[0], R.composite_warp([(crops[0], sources[0], None),
                                                               (crops[1], sources[1], "mouth")], targets[0]))
    assert not np.array_equal(regions[0], plain[0])
    np.testing.assert_array_equal(regions[1], plain[1])  # nothing better elsewhere: the plain warp
