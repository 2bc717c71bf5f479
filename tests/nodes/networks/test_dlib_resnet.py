"""dlib face ResNet port: descriptors equal dlib's own, the reader refuses bad files."""
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from talkinghead.nodes.networks.dlib_resnet import (
    DlibFaceResNet,
    add_prev,
    load_dlib_face_resnet,
    load_dlib_face_resnet_cached,
    read_dlib_face_resnet,
)
from talkinghead.runtime.errors import BadInputError
from talkinghead.runtime.runtime import Runtime

DATA = Path(os.environ.get("TALKINGHEAD_TEST_DATA", Path(__file__).resolve().parents[3].parent / "shared" / "data"))


@pytest.fixture(scope="module")
def rt():
    return Runtime(device="cpu")


@pytest.fixture(scope="module")
def dat_path(rt):
    return rt.resolve("dlib-face-resnet")


@pytest.fixture(scope="module")
def net(rt):
    return load_dlib_face_resnet_cached(rt)


def _images():
    import cv2
    import skimage.data
    images = [("astronaut", skimage.data.astronaut())]
    if DATA.exists():
        picks = ["portraits/einstein.jpg", "portraits/lia_monroe.png", "portraits/sadtalker_happy.png",
                 "stills/" + min(p.name for p in (DATA / "stills").glob("*.jpg"))]
        for rel in picks:
            img = cv2.imread(str(DATA / rel), cv2.IMREAD_COLOR)
            assert img is not None, rel
            images.append((rel, cv2.cvtColor(img, cv2.COLOR_BGR2RGB)))
    return images


def test_descriptor_matches_dlib_compute_face_descriptor(rt, net):
    dlib = pytest.importorskip("dlib", reason="dlib is not installed: nothing to compare the port with")
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(rt.resolve("dlib-landmarks-68")))  # iBUG 300-W: non-commercial
    recogniser = dlib.face_recognition_model_v1(str(rt.resolve("dlib-face-resnet")))
    chips, ref, names = [], [], []
    for name, img in _images():
        faces = detector(img, 1)
        assert faces, f"dlib found no face in {name}"
        shape = predictor(img, faces[0])
        chips.append(dlib.get_face_chip(img, shape, 150, 0.25))
        ref.append(np.array(recogniser.compute_face_descriptor(img, shape)))
        names.append(name)
    x = torch.from_numpy(np.stack(chips)).permute(0, 3, 1, 2).float()
    with torch.no_grad():
        ours = net(x).double().numpy()
    ref = np.stack(ref)
    cos = (ours * ref).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(ref, axis=1)
    assert cos.min() >= 0.9999, dict(zip(names, cos))
    assert np.abs(ours - ref).max() < 1e-4
    # different people stay apart (dlib's threshold 0.6 on the Euclidean distance)
    if len(ours) > 1:
        assert np.linalg.norm(ours[0] - ours[1:], axis=1).min() > 0.6


def test_network_shapes_and_parameter_count(net):
    assert isinstance(net, DlibFaceResNet) and not net.training
    assert sum(p.numel() for p in net.parameters()) == 5_607_488
    assert not any(p.requires_grad for p in net.parameters())
    x = torch.rand(2, 3, 150, 150) * 255
    feats = net.features(x)
    assert [tuple(f.shape[1:]) for f in feats] == [(32, 72, 72), (32, 35, 35), (64, 17, 17), (128, 8, 8),
                                                   (256, 4, 4), (256, 2, 2)]
    assert net(x).shape == (2, 128)
    # another size is resized to 150 inside the graph
    assert torch.allclose(net(torch.nn.functional.interpolate(x, size=(300, 300), mode="nearest")), net(x),
                          atol=1e-4)


def test_add_prev_zero_pads_top_left():
    a = torch.ones(1, 2, 3, 3)
    b = torch.full((1, 1, 4, 4), 2.0)
    out = add_prev(a, b)
    assert out.shape == (1, 2, 4, 4)
    assert out[0, 0, :3, :3].eq(3).all() and out[0, 0, 3].eq(2).all() and out[0, 0, :, 3].eq(2).all()
    assert out[0, 1, :3, :3].eq(1).all() and out[0, 1, 3].eq(0).all()


def test_cached_loader_returns_the_same_module(rt, net):
    assert load_dlib_face_resnet_cached(rt) is net


def test_header_values(dat_path):
    parsed = read_dlib_face_resnet(dat_path)
    np.testing.assert_allclose(parsed.means, (122.782, 117.001, 104.298), atol=1e-3)
    assert abs(parsed.distance_threshold - 0.6) < 1e-6


def _refused(path, *, match=None):
    with pytest.raises(BadInputError) as info:
        load_dlib_face_resnet(path)
    assert str(path) in str(info.value)
    if match:
        assert match in str(info.value)
    return info.value


@pytest.mark.parametrize("keep", [0, 5, 1000, 11_000_000, -1])
def test_truncated_file_is_refused(dat_path, tmp_path, keep):
    data = Path(dat_path).read_bytes()
    bad = tmp_path / "truncated.dat"
    bad.write_bytes(data[:keep] if keep >= 0 else data[:-1])
    _refused(bad, match="truncated")


def test_tampered_and_foreign_files_are_refused(dat_path, rt, tmp_path):
    data = Path(dat_path).read_bytes()
    pos = data.index(b"max_pool_2") + len(b"max_pool_2")
    assert data[pos:pos + 2] == b"\x01\x03"  # window height 3
    tampered = tmp_path / "tampered.dat"
    tampered.write_bytes(data[:pos] + b"\x01\x05" + data[pos + 2:])
    _refused(tampered, match="max_pool")
    pos = data.index(b"con_4\x01\x02") + 7  # first parameter tensor: n = 4736 (0x1280)
    assert data[pos:pos + 3] == b"\x02\x80\x12"
    forged = tmp_path / "forged_size.dat"
    forged.write_bytes(data[:pos] + b"\x08" + b"\x7f" * 8 + data[pos + 3:])
    _refused(forged, match="truncated")  # refused before any allocation of that size
    trailing = tmp_path / "trailing.dat"
    trailing.write_bytes(data + b"\x00")
    _refused(trailing, match="trailing")
    header = tmp_path / "header.dat"
    header.write_bytes(data.replace(b"loss_metric_2", b"loss_metric_9", 1))
    _refused(header, match="loss_metric_9")
    foreign = tmp_path / "shape_predictor.dat"
    foreign.write_bytes(Path(rt.resolve("dlib-landmarks-68")).read_bytes()[:4096])
    _refused(foreign)
    _refused(tmp_path / "missing.dat", match="cannot read")
