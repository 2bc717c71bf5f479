"""Differentiable face chips equal dlib's get_face_chip geometry; gradients reach the pixels."""
import math

import numpy as np
import pytest
import torch
from talkinghead.nodes.networks.face_chip import extract_face_chips, face_chip_transform, similarity_fit
from talkinghead.runtime.runtime import Runtime

dlib = pytest.importorskip("dlib", reason="dlib is not installed: no reference face chips")


@pytest.fixture(scope="module")
def astronaut():
    """(image (512,512,3) uint8, dlib full_object_detection, landmarks (1,68,2) float64)."""
    import skimage.data
    img = skimage.data.astronaut()
    predictor = dlib.shape_predictor(str(Runtime(device="cpu").resolve("dlib-landmarks-68")))  # iBUG: non-commercial
    shape = predictor(img, dlib.get_frontal_face_detector()(img, 1)[0])
    lm = torch.tensor([[p.x, p.y] for p in shape.parts()], dtype=torch.float64)[None]
    return img, shape, lm


def test_transform_equals_dlib_chip_details(astronaut):
    _, shape, lm = astronaut
    ref = dlib.get_face_chip_details(shape, 150, 0.25)
    a = face_chip_transform(lm)[0].numpy()
    # dlib's rect: chip corner (0,0) -> rotated rect top-left, side (size*scale - 1)
    scale = np.hypot(*a[:, 0])
    assert math.isclose(math.atan2(a[1, 0], a[0, 0]), ref.angle, abs_tol=1e-9)
    assert math.isclose(scale * 149 + 1, ref.rect.width(), rel_tol=1e-9)
    centre = a[:, :2] @ np.array([74.5, 74.5]) + a[:, 2]
    r = ref.rect
    assert np.allclose(centre, [(r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2], atol=1e-6)


def test_chips_match_dlib_get_face_chip(astronaut):
    img, shape, lm = astronaut
    ref = torch.from_numpy(dlib.get_face_chip(img, shape, 150, 0.25)).permute(2, 0, 1).float()
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float()
    ours = extract_face_chips(x, lm.float(), input_range="0..255")[0]
    # dlib truncates to uint8 (mean 0.5 below); otherwise the same bilinear samples
    assert (ours - ref).abs().mean() < 0.8
    assert (ours.floor() - ref).abs().max() <= 1.0
    # the project's [-1,1] convention gives the same chips
    ours_pm1 = extract_face_chips(x / 127.5 - 1, lm.float())[0]
    assert torch.allclose(ours_pm1, ours, atol=1e-3)


def test_gradients_reach_input_pixels(astronaut):
    img, _, lm = astronaut
    x = (torch.from_numpy(img).permute(2, 0, 1)[None].float() / 127.5 - 1).requires_grad_(True)
    chips = extract_face_chips(x, lm.float())
    chips.sum().backward()
    g = x.grad[0].abs().sum(0)
    xs, ys = lm[0, :, 0], lm[0, :, 1]
    face = g[int(ys.min()):int(ys.max()), int(xs.min()):int(xs.max())]
    assert (face > 0).float().mean() > 0.95  # every face pixel feeds the chip
    assert g[:20, :20].sum() == 0 and g[-20:, -20:].sum() == 0  # far corners do not


def test_shrinking_is_antialiased():
    size, n = 600, 150
    yy, xx = np.mgrid[:size, :size]
    checker = torch.from_numpy(((xx + yy) % 2 * 255).astype(np.float32))[None, None].repeat(1, 3, 1, 1)
    # a face template spread over most of a 600 px image: about 3.8 image pixels per chip pixel
    from talkinghead.nodes.networks.face_chip import face_template
    tmpl, idx = face_template(68, n, 0.25)
    lm = torch.zeros(1, 68, 2, dtype=torch.float64)
    lm[0, idx] = tmpl * 3.8 + 10
    chips = extract_face_chips(checker, lm.float(), input_range="0..255")
    assert abs(float(face_chip_transform(lm)[0, :, 0].norm()) - 3.8) < 0.05
    chips = chips[..., 2:-2, 2:-2]
    assert chips.std() < 8 and abs(chips.mean() - 127.5) < 4  # point sampling would alias to 0/255


def test_similarity_fit_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = torch.from_numpy(rng.random((33, 2)) * 100)
    ang, s, t = 0.3, 1.7, torch.tensor([12.0, -5.0], dtype=torch.float64)
    m = s * torch.tensor([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]], dtype=torch.float64)
    dst = (src @ m.T + t)[None]
    m_fit, t_fit = similarity_fit(src, dst)
    assert torch.allclose(m_fit[0], m, atol=1e-9) and torch.allclose(t_fit[0], t, atol=1e-7)


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="68 or 5"):
        face_chip_transform(torch.zeros(1, 10, 2))
    with pytest.raises(ValueError, match="input_range"):
        extract_face_chips(torch.zeros(1, 3, 8, 8), torch.rand(1, 68, 2) * 8, input_range="0..1")
    with pytest.raises(ValueError, match="NaN"):
        extract_face_chips(torch.zeros(1, 3, 8, 8), torch.full((1, 68, 2), float("nan")))
