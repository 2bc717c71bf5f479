"""Face-feature loss: zero on identical faces, grows with blur, gradients reach the generated pixels."""
import pytest
import torch
import torch.nn.functional as F
from talkinghead.nodes.networks.dlib_resnet import load_dlib_face_resnet_cached
from talkinghead.nodes.networks.face_chip import extract_face_chips
from talkinghead.nodes.networks.face_features import NUM_FEATURES, FaceFeatureLoss
from talkinghead.runtime.runtime import Runtime

dlib = pytest.importorskip("dlib", reason="dlib is not installed: no landmarks for the test faces")


@pytest.fixture(scope="module")
def rt():
    return Runtime(device="cpu")


@pytest.fixture(scope="module")
def net(rt):
    return load_dlib_face_resnet_cached(rt)


@pytest.fixture(scope="module")
def crop(rt):
    """Astronaut face as a 192 px crop in [-1,1] (1,3,192,192) and its landmarks (1,68,2) in crop pixels."""
    import skimage.data
    img = skimage.data.astronaut()
    predictor = dlib.shape_predictor(str(rt.resolve("dlib-landmarks-68")))  # iBUG 300-W: non-commercial
    shape = predictor(img, dlib.get_frontal_face_detector()(img, 1)[0])
    lm = torch.tensor([[p.x, p.y] for p in shape.parts()], dtype=torch.float32)
    x0, y0 = (lm.min(0).values - 40).int().tolist()
    x = torch.from_numpy(img[y0:y0 + 192, x0:x0 + 192]).permute(2, 0, 1)[None].float() / 127.5 - 1
    return x, (lm - torch.tensor([x0, y0]))[None]


def _blur(x, k=5, sigma=1.1):
    t = torch.arange(k, dtype=torch.float32) - k // 2
    g = torch.exp(-0.5 * (t / sigma) ** 2)
    g = (g[:, None] * g[None]) / g.sum() ** 2
    return F.conv2d(F.pad(x, (k // 2,) * 4, mode="replicate"), g.expand(3, 1, k, k), groups=3)


def test_identical_faces_give_zero_and_blur_gives_more(net, crop):
    x, lm = crop
    loss = FaceFeatureLoss(net)
    assert float(loss(x, x, lm)) == 0.0
    blurred = float(loss(_blur(x), x, lm))
    shifted = float(loss(torch.roll(x, 6, dims=3), x, lm))
    assert 0 < blurred < shifted  # a 5x5 blur costs less than a 6 px misalignment, but costs


def test_gradients_flow_to_fake_pixels_only(net, crop):
    x, lm = crop
    fake = _blur(x).requires_grad_(True)
    real = x.clone().requires_grad_(True)
    FaceFeatureLoss(net)(fake, real, lm).backward()
    assert real.grad is None
    g = fake.grad[0].abs().sum(0)
    assert torch.isfinite(g).all()
    (x0, y0), (x1, y1) = lm[0, 17:].min(0).values.int().tolist(), lm[0, 17:].max(0).values.int().tolist()
    assert (g[y0:y1, x0:x1] > 0).float().mean() > 0.95  # the inner face (brows to chin) all gets gradient
    # a gradient step on the loss moves the fake towards the real face
    loss = FaceFeatureLoss(net)
    fake2 = (fake - 0.02 * fake.grad.sign()).detach()
    assert float(loss(fake2, x, lm)) < float(loss(fake.detach(), x, lm))


def test_identity_term_is_off_by_default_and_adds_cosine_distance(net, crop):
    x, lm = crop
    fake = _blur(x, 7, 2.0)
    base = FaceFeatureLoss(net)
    assert base.identity_weight == 0.0
    with_id = FaceFeatureLoss(net, identity_weight=2.0)
    with torch.no_grad():
        d_fake, d_real = net(extract_face_chips(fake, lm)), net(extract_face_chips(x, lm))
    expected = 2.0 * (1 - F.cosine_similarity(d_fake, d_real)).mean()
    assert float(expected) > 0
    assert torch.allclose(with_id(fake, x, lm) - base(fake, x, lm), expected, rtol=1e-4, atol=1e-7)


def test_layer_weights_select_feature_maps(net, crop):
    x, lm = crop
    fake = _blur(x)
    parts = []
    for i in range(NUM_FEATURES):
        w = [0.0] * NUM_FEATURES
        w[i] = 1.0
        parts.append(float(FaceFeatureLoss(net, layer_weights=w)(fake, x, lm)))
    assert all(p > 0 for p in parts)
    assert abs(sum(parts) - float(FaceFeatureLoss(net)(fake, x, lm))) < 1e-5
    with pytest.raises(ValueError, match="layer weights"):
        FaceFeatureLoss(net, layer_weights=[1.0, 2.0])


def test_train_mode_keeps_the_face_network_frozen(net):
    loss = FaceFeatureLoss(net).train()
    assert loss.training and not loss.net.training
    assert not any(p.requires_grad for p in loss.parameters())
