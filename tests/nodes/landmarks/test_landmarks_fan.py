"""FAN backend offline: stand-in weights under face-alignment's cache file names exercise the real loading
path (nothing downloads), the hash check refuses them by default, and the crop/heatmap geometry maps
landmarks back to image pixels."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from talkinghead.nodes.landmarks.extract import extract_landmarks, make_backend
from talkinghead.runtime.errors import MissingWeightsError
from talkinghead.runtime.runtime import Runtime

GOLDEN = np.load(Path(__file__).resolve().parents[2] / "golden" / "astronaut_dlib_landmarks.npy")


@pytest.fixture(scope="module")
def fan_state() -> dict:
    from face_alignment.models import FAN

    torch.manual_seed(0)
    return FAN(4).state_dict()


@pytest.fixture
def torch_home(tmp_path, monkeypatch, fan_state):
    """A TORCH_HOME with random FAN-4 weights (and no S3FD), downloads made to fail loudly."""
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.save(fan_state, folder / "2DFAN4-11f355bf06.pth.tar")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv("TALKINGHEAD_MODELS", raising=False)

    def no_download(*args, **kwargs):
        raise AssertionError("attempted download")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    return folder


def test_auto_picks_fan_and_hash_check_refuses_stand_in(torch_home):
    rt = Runtime(device="cpu")
    assert rt.has_weights("fan-2d")
    with pytest.raises(MissingWeightsError, match="sha256"):
        make_backend(rt, "auto")  # auto chose fan; the stand-in file is not the real model


def test_fan_without_weights_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    monkeypatch.delenv("TALKINGHEAD_MODELS", raising=False)
    rt = Runtime(device="cpu")
    if rt.has_weights("fan-2d"):
        pytest.skip("fan-2d weights found in another models folder")
    with pytest.raises(MissingWeightsError, match="2DFAN4-11f355bf06.pth.tar"):
        make_backend(rt, "fan")
    assert make_backend(rt, "auto").name == "dlib"


def test_fan_loads_stand_in_and_tracks(torch_home):
    from talkinghead.nodes.landmarks.fan_backend import FanBackend

    rt = Runtime(device="cpu")
    backend = FanBackend(rt, check_hash=False, flip=False)
    assert backend._s3fd is None  # no S3FD weights: dlib HOG finds the faces
    image = skimage.data.astronaut()
    frames = [(i, np.roll(image, 2 * i, axis=1)) for i in range(2)]
    track = extract_landmarks(rt, frames, backend)
    assert track.backend == "fan" and track.backend_version.startswith("face-alignment")
    assert track.valid.all() and track.landmarks.shape == (2, 68, 2)
    box = track.boxes[0]
    side = max(box[2] - box[0], box[3] - box[1])
    centre = (box[:2] + box[2:]) / 2
    assert (np.abs(track.landmarks[0] - centre) < 1.2 * side).all()  # inside the FAN crop around the face


def test_fan_heatmap_geometry_maps_back_to_pixels(torch_home):
    """A network that puts each heatmap's peak where the golden landmark falls in the crop must give
    the golden landmarks back in image pixels (checks centre, scale, crop and decoding)."""
    from face_alignment.utils import CENTER_Y_OFFSET, REFERENCE_SCALE, transform
    from talkinghead.nodes.landmarks.fan_backend import FanBackend

    backend = FanBackend(Runtime(device="cpu"), check_hash=False, flip=False)
    box = np.array([170.0, 80.0, 270.0, 175.0])
    centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2 - (box[3] - box[1]) * CENTER_Y_OFFSET])
    scale = (box[2] - box[0] + box[3] - box[1]) / REFERENCE_SCALE

    class Peaks(torch.nn.Module):
        def forward(self, x):
            heat = torch.zeros(len(x), 68, 64, 64)
            for k, point in enumerate(GOLDEN):
                u, v = transform(torch.tensor(point + 1.0), centre, scale, 64, False).tolist()
                heat[:, k, int(v) - 1, int(u) - 1] = 1.0
            return [heat]

    backend.net = Peaks()
    landmarks, scores = backend.align([skimage.data.astronaut()], [box])
    assert landmarks.shape == (1, 68, 2) and np.allclose(scores, 1.0)
    pixel = 200 * scale / 64  # one heatmap cell in image pixels
    assert np.abs(landmarks[0] - GOLDEN).max() < 1.5 * pixel


def test_s3fd_stand_in_loads_offline(torch_home):
    from face_alignment.detection.sfd.net_s3fd import s3fd
    from talkinghead.nodes.landmarks.fan_backend import FanBackend

    torch.save(s3fd().state_dict(), torch_home / "s3fd-619a316812.pth")
    backend = FanBackend(Runtime(device="cpu"), check_hash=False)
    assert backend._s3fd is not None
    dets = backend.detect(np.zeros((96, 128, 3), np.uint8))
    assert dets.ndim == 2 and dets.shape[1] == 5 and np.isfinite(dets).all()


@pytest.mark.slow
def test_decoding_matches_face_alignment():
    from face_alignment.utils import get_preds_fromhm
    from talkinghead.nodes.landmarks.fan_backend import decode_heatmaps

    heat = np.random.default_rng(0).random((2, 68, 64, 64)).astype(np.float32)
    centres, scales = np.array([[200.0, 150.0], [90.0, 80.0]]), np.array([1.3, 0.7])
    ours, peaks = decode_heatmaps(heat, centres, scales)
    for i in range(2):
        _, theirs, their_peaks = get_preds_fromhm(heat[i:i + 1].copy(), centres[i], scales[i])
        assert np.abs(ours[i] - theirs[0]).max() < 1.0  # they truncate to integers
        assert np.allclose(peaks[i], their_peaks[0])
