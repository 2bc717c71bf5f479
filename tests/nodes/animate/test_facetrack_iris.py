"""FaceTrack's optional iris array: round trip, shape check, files without it, and extraction fills it."""
from __future__ import annotations

import json

import numpy as np
import pytest
from talkinghead.nodes.types import FACETRACK_FORMAT, FaceTrack
from talkinghead.runtime.errors import BadInputError


def _track(n: int = 3, iris: np.ndarray | None = None) -> FaceTrack:
    lms = np.random.default_rng(0).uniform(0, 100, (n, 68, 2))
    return FaceTrack(lms, np.zeros((n, 4)), np.ones(n, bool), np.ones(n), (120, 160), iris=iris)


def test_iris_round_trips_through_save_and_load(tmp_path):
    iris = np.random.default_rng(1).uniform(0, 100, (3, 2, 3)).astype(np.float32)
    iris[1, 0] = np.nan
    _track(iris=iris).save(tmp_path / "t.npz")
    back = FaceTrack.load(tmp_path / "t.npz")
    np.testing.assert_array_equal(back.iris, iris)
    assert back.select(slice(1, 3)).iris.shape == (2, 2, 3)


def test_track_without_iris_saves_none_and_old_files_load(tmp_path):
    _track().save(tmp_path / "t.npz")
    assert FaceTrack.load(tmp_path / "t.npz").iris is None
    old = tmp_path / "old.npz"   # a file written before iris existed: exactly the old keys and meta
    meta = {"format": FACETRACK_FORMAT, "image_size": [120, 160], "fps": 25.0, "backend": "dlib",
            "backend_version": "x", "source": "", "smoothed": False}
    np.savez_compressed(old, landmarks=np.zeros((2, 68, 2), np.float32), boxes=np.zeros((2, 4), np.float32),
                        valid=np.ones(2, bool), score=np.ones(2, np.float32), frame_numbers=np.arange(2),
                        filled=np.zeros(2, bool), meta=np.array(json.dumps(meta)))
    track = FaceTrack.load(old)
    assert len(track) == 2 and track.iris is None


def test_iris_of_the_wrong_shape_is_refused():
    with pytest.raises(BadInputError):
        _track(iris=np.zeros((3, 3)))


def test_extraction_fills_iris_when_asked(monkeypatch):
    from talkinghead.nodes.landmarks import extract as mod
    from talkinghead.runtime.runtime import Runtime

    class Fake:  # a backend that finds one face in every frame
        name, version, batch_size = "fake", "0", 2

        def detect(self, rgb):
            return np.array([[0, 0, 30, 30, 1.0]])

        def align(self, images, dets):
            return np.full((len(images), 68, 2), 5.0, np.float32), np.ones(len(images))

        def follow(self, images, box):
            n = len(images)
            return np.full((n, 68, 2), 5.0, np.float32), np.zeros((n, 4)), np.ones(n), np.ones(n, bool)

        def follow_box(self, landmarks, box):
            return box

    monkeypatch.setattr(mod, "_iris_locator", lambda rt: lambda image, lms: np.full((2, 3), 7.0, np.float32))
    frames = [(i, np.zeros((40, 40, 3), np.uint8)) for i in range(3)]
    track = mod.extract_landmarks(Runtime(device="cpu"), frames, Fake(), iris=True)
    assert track.iris.shape == (3, 2, 3) and (track.iris == 7.0).all()
    assert mod.extract_landmarks(Runtime(device="cpu"), frames, Fake()).iris is None
