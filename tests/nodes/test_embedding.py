"""EmbedIdentity: e_hat is the mean of E over the K crops (batched), Identity round trip, bad input (tiny-64, CPU)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data
from talkinghead.nodes import embedding
from talkinghead.nodes.embedding import EmbedIdentity
from talkinghead.nodes.person import load_base
from talkinghead.nodes.types import Identity
from talkinghead.runtime.errors import BadInputError, UsageError
from talkinghead.runtime.runtime import Runtime

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "astronaut_dlib_landmarks.npy"


@pytest.fixture(scope="module")
def rt() -> Runtime:
    return Runtime(device="cpu", precision="32-true")


@pytest.fixture(scope="module")
def base(rt):
    return load_base(rt, preset="tiny-64")


@pytest.fixture(scope="module")
def photos() -> tuple[list[np.ndarray], np.ndarray]:
    """Three views of the astronaut (original, shifted, scaled) and their landmarks."""
    import cv2

    image, lms = skimage.data.astronaut(), np.load(GOLDEN).astype(np.float32)
    shifted = np.roll(image, (12, -20), axis=(0, 1))
    small = cv2.resize(image, (300, 300), interpolation=cv2.INTER_AREA)
    return [image, shifted, small], np.stack([lms, lms + [-20, 12], lms * (300 / 512)]).astype(np.float32)


def test_e_hat_is_the_mean_of_single_embeddings_across_batches(rt, base, photos, monkeypatch):
    images, lms = photos
    node = EmbedIdentity()
    singles = [node.run(rt, base=base, images=[im], landmarks=lm[None])["identity"].e_hat for im, lm in zip(images, lms)]
    monkeypatch.setattr(embedding, "EMBED_BATCH", 2)  # 3 photos -> two batches
    identity = node.run(rt, base=base, images=images, landmarks=lms, names=["a.png", "b.png", "c.png"])["identity"]
    assert identity.e_hat.shape == (base.cfg.embed_dim,) and identity.e_hat.dtype == np.float32
    np.testing.assert_allclose(identity.e_hat, np.mean(singles, axis=0), rtol=1e-5, atol=1e-5)
    assert identity.k == 3 and identity.base_model == base.model_id
    assert identity.source_sizes.tolist() == [[512, 512], [512, 512], [300, 300]]
    assert len(set(identity.source_digests)) == 3
    assert not np.allclose(singles[0], singles[2])  # the embedding depends on the photo


def test_identity_round_trip(tmp_path, rt, base, photos):
    images, lms = photos
    identity = EmbedIdentity().run(rt, base=base, images=images[:2], landmarks=lms[:2], consent_id="c-1")["identity"]
    identity.save(tmp_path / "id.safetensors")
    back = Identity.load(tmp_path / "id.safetensors")
    np.testing.assert_array_equal(back.e_hat, identity.e_hat)
    np.testing.assert_array_equal(back.source_landmarks, lms[:2])
    assert back.source_digests == identity.source_digests and back.consent_id == "c-1"


def test_gray_and_rgba_photos_are_accepted(rt, base, photos):
    images, lms = photos
    gray = images[0].mean(axis=2).astype(np.uint8)
    rgba = np.concatenate([images[0], np.full((*images[0].shape[:2], 1), 255, np.uint8)], axis=2)
    e_gray = EmbedIdentity().run(rt, base=base, images=[gray], landmarks=lms[:1])["identity"].e_hat
    e_rgba = EmbedIdentity().run(rt, base=base, images=[rgba], landmarks=lms[:1])["identity"].e_hat
    e_rgb = EmbedIdentity().run(rt, base=base, images=[images[0]], landmarks=lms[:1])["identity"].e_hat
    np.testing.assert_allclose(e_rgba, e_rgb, atol=1e-6)
    assert not np.allclose(e_gray, e_rgb)


def test_bad_input(rt, base, photos):
    images, lms = photos
    node = EmbedIdentity()
    with pytest.raises(UsageError):
        node.run(rt, base=base, images=[], landmarks=np.zeros((0, 68, 2)))
    with pytest.raises(BadInputError, match=r"\(2, 68, 2\)"):
        node.run(rt, base=base, images=images[:2], landmarks=lms[:1])
    nan = lms[:2].copy()
    nan[1] = np.nan
    with pytest.raises(BadInputError, match="b.png"):
        node.run(rt, base=base, images=images[:2], landmarks=nan, names=["a.png", "b.png"])
    blank = np.full((200, 200, 3), 128, np.uint8)
    with pytest.raises(BadInputError, match="blank.png.*no face"):
        node.run(rt, base=base, images=[blank], names=["blank.png"], backend="dlib")
