"""Face-aware metrics: SSIM equals skimage's; face SSIM / detail on known cases; ratios and errors."""
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from skimage.metrics import structural_similarity
from talkinghead.nodes.evaluation import metrics as M

DATA = Path(os.environ.get("TALKINGHEAD_TEST_DATA", Path(__file__).resolve().parents[3].parent / "shared" / "data"))


def _read_pts(path: Path) -> np.ndarray:
    lines = path.read_text().splitlines()
    rows = lines[lines.index("{") + 1:lines.index("}")]
    return np.array([[float(v) for v in r.split()] for r in rows]) - 1.0  # .pts files are 1-based


@pytest.fixture(scope="module")
def face():
    """A HELEN still (256x256) with ground-truth landmarks, or the astronaut with dlib's."""
    if DATA.exists():
        jpg = min((DATA / "stills").glob("*.jpg"))
        img = cv2.cvtColor(cv2.imread(str(jpg)), cv2.COLOR_BGR2RGB)
        return img, _read_pts(jpg.with_suffix(".pts"))
    dlib = pytest.importorskip("dlib", reason="neither ../shared/data nor dlib: no face with landmarks")
    from talkinghead.runtime.runtime import Runtime
    img = skimage.data.astronaut()
    predictor = dlib.shape_predictor(str(Runtime(device="cpu").resolve("dlib-landmarks-68")))  # iBUG: non-commercial
    shape = predictor(img, dlib.get_frontal_face_detector()(img, 1)[0])
    return img, np.array([[p.x, p.y] for p in shape.parts()], float)


@pytest.mark.parametrize("gray", [False, True])
def test_ssim_map_agrees_with_skimage(gray):
    img = skimage.data.astronaut()[100:300, 100:320]
    rng = np.random.default_rng(0)
    other = np.clip(cv2.GaussianBlur(img, (3, 3), 0) + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
    if gray:
        img, other = img[..., 0], other[..., 0]
    mean, full = structural_similarity(img, other, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                       data_range=255, channel_axis=None if gray else -1, full=True)
    ours = M.ssim_map(img, other)
    assert ours.shape == img.shape[:2]
    np.testing.assert_allclose(ours, full if gray else full.mean(axis=2), atol=1e-9)
    assert abs(M.ssim(img, other) - mean) < 1e-9


def test_identical_images_score_one(face):
    img, lm = face
    assert M.face_ssim(img, img, lm) == pytest.approx(1.0, abs=1e-12)
    assert M.face_detail(img, img, lm) == pytest.approx(1.0, abs=1e-12)
    assert M.ssim(img, img) == pytest.approx(1.0, abs=1e-12)
    assert M.psnr(img, img) == float("inf")
    for region in ("mouth", "eyes"):
        assert M.region_ssim(img, img, lm, region) == pytest.approx(1.0, abs=1e-12)


def test_blur_keeps_little_face_detail_but_high_ssim(face):
    img, lm = face
    blurred = cv2.GaussianBlur(img, (5, 5), 0)
    assert M.face_detail(blurred, img, lm) < 0.5
    assert M.face_ssim(blurred, img, lm) < 0.99
    sharpened = cv2.addWeighted(img, 2.0, blurred, -1.0, 0)
    assert M.face_detail(sharpened, img, lm) > 1.2


def test_face_measures_ignore_everything_outside_the_hull(face):
    img, lm = face
    mask = M.face_hull_mask(lm, img.shape[:2])
    noisy = img.copy()
    rng = np.random.default_rng(1)
    # change only pixels at least 8 px outside the hull (the SSIM window and Laplacian reach 5 / 1 px)
    far = cv2.dilate(mask.astype(np.uint8), np.ones((17, 17), np.uint8)) == 0
    noisy[far] = rng.integers(0, 256, (int(far.sum()), 3))
    assert M.face_ssim(noisy, img, lm) == pytest.approx(1.0, abs=1e-12)
    assert M.face_detail(noisy, img, lm) == pytest.approx(1.0, abs=1e-12)
    assert M.ssim(noisy, img) < 0.9


def test_face_hull_mask_is_the_convex_hull(face):
    img, lm = face
    mask = M.face_hull_mask(lm, img.shape[:2])
    hull = cv2.convexHull(lm.astype(np.float32))
    area = cv2.contourArea(hull)
    perimeter = cv2.arcLength(hull, True)
    assert abs(mask.sum() - area) < perimeter  # within a pixel along the outline
    ys, xs = np.mgrid[:img.shape[0]:7, :img.shape[1]:7]
    for x, y in zip(xs.ravel(), ys.ravel()):
        d = cv2.pointPolygonTest(hull, (float(x), float(y)), True)
        if abs(d) > 1:
            assert mask[y, x] == (d > 0)


def test_region_ssim_sees_only_its_region(face):
    img, lm = face
    x0, y0, x1, y1 = M.region_box(lm, M.MOUTH, img.shape[:2])
    damaged = img.copy()
    damaged[y0:y1, x0:x1] = cv2.GaussianBlur(img, (9, 9), 0)[y0:y1, x0:x1]
    assert M.region_ssim(damaged, img, lm, "mouth") < 0.95
    eye_bottom = max(M.region_box(lm, eye, img.shape[:2])[3] for eye in (M.LEFT_EYE, M.RIGHT_EYE))
    assert eye_bottom + 5 < y0  # the eye boxes lie above the mouth box and the SSIM window's reach
    assert M.region_ssim(damaged, img, lm, "eyes") == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match="region"):
        M.region_ssim(img, img, lm, "nose")


def test_opening_ratios_and_landmark_error(face):
    _, lm = face
    closed = lm.copy()
    closed[[65, 66, 67]] = lm[[63, 62, 61]]  # lower inner lip onto the upper one
    assert M.mouth_opening(closed) == pytest.approx(0.0, abs=1e-12)
    opened = closed.copy()
    opened[[65, 66, 67]] += [0.0, 6.0]  # a 6 px inner-lip gap
    assert M.mouth_opening(opened) == pytest.approx(6.0 / np.linalg.norm(lm[48] - lm[54]))
    taller = lm.copy()
    for eye in (M.LEFT_EYE, M.RIGHT_EYE):
        idx = list(eye)
        c = lm[idx, 1].mean()
        taller[idx, 1] = (lm[idx, 1] - c) * 2 + c
    assert M.eye_opening(taller) == pytest.approx(2 * M.eye_opening(lm), rel=0.05)
    iod = np.linalg.norm(lm[36] - lm[45])
    assert M.landmark_error(lm + [3.0, 4.0], lm) == pytest.approx(5.0 / iod)
    assert M.landmark_error(lm, lm) == 0.0


def test_psnr_and_csim_known_values():
    a = np.full((8, 8, 3), 100, np.uint8)
    assert M.psnr(a, a + np.uint8(10)) == pytest.approx(10 * np.log10(255.0 ** 2 / 100))
    assert M.csim(np.array([1.0, 0.0]), np.array([1.0, 1.0])) == pytest.approx(np.sqrt(0.5))
    batch = M.csim(np.eye(3), -np.eye(3))
    np.testing.assert_allclose(batch, [-1, -1, -1])


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="one shape"):
        M.ssim_map(np.zeros((8, 8, 3)), np.zeros((8, 9, 3)))
    with pytest.raises(ValueError, match="68,2"):
        M.face_hull_mask(np.zeros((5, 2)), (8, 8))
