"""Episodes of K+1 frames (§3.2): shapes, distinct video frames, augmented stills, landmarks follow pixels."""
import numpy as np
import pytest
import torch
from talkinghead.nodes.training.augment import AugmentConfig, augmented_crop
from talkinghead.nodes.training.dataset import EpisodeDataset, resize_matrix
from talkinghead.nodes.training.shards import read_index
from talkinghead.runtime.errors import BadInputError, UsageError


def test_episode_shapes_and_ranges(tiny_dataset):
    data = EpisodeDataset(tiny_dataset, 64)
    keys = [s["key"] for s in data.sequences]  # sorted: the W_i order
    assert keys == sorted(keys) and [k.split("/")[-1] for k in keys] == ["g0", "g2", "v0", "v1", "v2"]
    assert list(data.indices("video")) == [2, 3, 4] and list(data.indices("still")) == [0, 1]
    ep = data.sample(np.random.default_rng(0), 3, 4)
    assert ep.x.shape == ep.y.shape == (3, 5, 3, 64, 64) and ep.landmarks.shape == (3, 5, 68, 2)
    assert ep.i.dtype == torch.long and ep.i.shape == (3,) and ((ep.i >= 0) & (ep.i < 5)).all()
    assert ep.x.min() >= -1 and ep.x.max() <= 1 and ep.y.min() == -1 and ep.y.max() > 0


def test_sampling_is_a_pure_function_of_the_generator(tiny_dataset):
    data = EpisodeDataset(tiny_dataset, 64, augment_video=AugmentConfig())
    a, b = (data.sample(np.random.default_rng([7, 3, 0]), 2, 2) for _ in range(2))
    assert torch.equal(a.x, b.x) and torch.equal(a.i, b.i)
    c = data.sample(np.random.default_rng([7, 4, 0]), 2, 2)
    assert not torch.equal(a.x, c.x)


def test_video_episodes_use_distinct_frames_and_stills_distinct_views(tiny_dataset):
    data = EpisodeDataset(tiny_dataset, 64)
    video = int(data.indices("video")[0])
    ep = data.sample(np.random.default_rng(0), 1, 4, i=np.array([video]))  # 5 frames of a 5-frame video
    flat = ep.x[0].flatten(1)
    assert torch.cdist(flat, flat).add(torch.eye(5) * 1e9).min() > 0  # no frame twice
    single = next(i for i in data.indices("still") if data.sequences[i]["stop"] - data.sequences[i]["start"] == 1)
    ep = data.sample(np.random.default_rng(0), 1, 2, i=np.array([single]))  # one photo, 3 augmented views
    assert not torch.equal(ep.x[0, 0], ep.x[0, 1]) and not torch.equal(ep.landmarks[0, 0], ep.landmarks[0, 1])


def test_video_fraction_picks_the_kind(tiny_dataset):
    for fraction, kind in ((1.0, "video"), (0.0, "still")):
        data = EpisodeDataset(tiny_dataset, 64, video_fraction=fraction)
        picks = data.pick_sequences(np.random.default_rng(0), 50)
        assert {data.sequences[i]["kind"] for i in picks} == {kind}


@pytest.mark.parametrize("src,dst", [(128, 64), (256, 128), (128, 128)])
def test_landmarks_follow_the_pixels_through_resize_and_augmentation(src, dst):
    image = np.zeros((src, src, 3), np.uint8)
    point = np.array([0.3 * src, 0.6 * src])
    image[int(point[1]) - 1:int(point[1]) + 2, int(point[0]) - 1:int(point[0]) + 2] = 255  # a 3x3 dot
    centre = np.floor(point)  # the dot's centre pixel
    rng = np.random.default_rng(3)
    for _ in range(5):
        crop, lms = augmented_crop(image, np.tile(centre, (68, 1)), resize_matrix(src, dst), dst, rng,
                                   AugmentConfig(0.1, 10.0, 0.05, 0.5))
        weights = crop[..., 0].astype(np.float64)
        ys, xs = np.mgrid[:dst, :dst]
        found = np.array([(weights * xs).sum(), (weights * ys).sum()]) / weights.sum()
        assert np.abs(found - lms[0]).max() < 0.35, (found, lms[0])


def test_bad_dataset_paths_and_sizes(tmp_path, tiny_dataset):
    with pytest.raises(BadInputError, match="dataset.json"):
        EpisodeDataset(tmp_path, 64)
    assert read_index(tiny_dataset)["crop"]["size"] == 128
    with pytest.raises(UsageError, match="256"):
        EpisodeDataset(tiny_dataset, 256)
