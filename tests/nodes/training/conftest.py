"""Fixtures of the meta-learning tests: a real face (astronaut + dlib landmarks) and a tiny dataset."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

DATA = Path(os.environ.get("TALKINGHEAD_TEST_DATA", Path(__file__).resolve().parents[3] / "../shared/data"))


@pytest.fixture(scope="session")
def face():
    """scikit-image's astronaut (512x512 RGB) and its 68 dlib landmarks (image px)."""
    skimage_data = pytest.importorskip("skimage.data", reason="scikit-image provides the test photo")
    from talkinghead.nodes.landmarks.extract import detect_landmarks_image
    from talkinghead.runtime.runtime import Runtime

    image = skimage_data.astronaut()
    landmarks, _, _ = detect_landmarks_image(Runtime(device="cpu"), image, backend="dlib")
    return image, landmarks


def write_pts(path: Path, landmarks: np.ndarray) -> None:
    """A 300-W .pts file (1-based coordinates) of 0-based ``landmarks``."""
    body = "\n".join(f"{x + 1:.6f} {y + 1:.6f}" for x, y in landmarks)
    path.write_text(f"version: 1\nn_points: 68\n{{\n{body}\n}}\n")


def make_stills(folder: Path, face, n: int = 3) -> Path:
    """``n`` shifted copies of the astronaut with .pts files and an index.json: photos 0 and 1 are one
    identity group, photo 2 another, and a duplicate of photo 0 that must be dropped."""
    import cv2

    image, landmarks = face
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for k in range(n + 1):
        shift = np.array([[1, 0, 6.0 * k], [0, 1, -4.0 * k]])
        cv2.imwrite(str(folder / f"p{k}.jpg"), cv2.warpAffine(image, shift, (512, 512))[..., ::-1])
        write_pts(folder / f"p{k}.pts", landmarks + shift[:, 2])
        group = "g0" if k < 2 else f"g{k}"
        records.append({"name": f"p{k}", "image": f"p{k}.jpg", "pts": f"p{k}.pts", "identity_group": group,
                        "duplicate_of": "p0" if k == n else None})
    (folder / "index.json").write_text(json.dumps({"images": records}))
    return folder


@pytest.fixture(scope="session")
def stills_maker():
    """``make_stills`` for tests (test modules cannot import conftest under --import-mode=importlib)."""
    return make_stills


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory, face):
    """A 128 px dataset: 3 'videos' of 5 augmented views of the astronaut + the stills of ``make_stills``."""
    from talkinghead.nodes.sketch import face_crop_matrix
    from talkinghead.nodes.training.augment import AugmentConfig, augmented_crop
    from talkinghead.nodes.training.preprocess import PreprocessConfig, preprocess_dataset
    from talkinghead.nodes.training.shards import SequenceFrames, shard_name, write_shard
    from talkinghead.runtime.runtime import Runtime

    root = tmp_path_factory.mktemp("dataset")
    image, landmarks = face
    matrix = face_crop_matrix(landmarks, 128, 0.4)
    rng = np.random.default_rng(0)
    for v in range(3):
        views = [augmented_crop(image, landmarks, matrix, 128, rng, AugmentConfig(0.1, 10, 0.05, 0.0))
                 for _ in range(5)]
        seq = SequenceFrames(f"vids/v{v}", "video", f"vids/v{v}", np.stack([c for c, _ in views]),
                             np.stack([lm for _, lm in views]), np.arange(5), ["synthetic"])
        write_shard(root / "shards" / shard_name(seq.key), [seq], {"size": 128, "margin": 0.4})
    stills = make_stills(tmp_path_factory.mktemp("stills"), face)
    preprocess_dataset(Runtime(device="cpu"), root, stills=[stills], cfg=PreprocessConfig(size=128, workers=0))
    return root
