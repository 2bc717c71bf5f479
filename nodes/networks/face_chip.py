"""Differentiable face alignment: 68 (or 5) landmarks -> dlib's face chip, by ``grid_sample``.

Reproduces ``dlib.get_face_chip_details(shape, size, padding)`` followed by ``extract_image_chips``
(``dlib/image_transforms/interpolation.h``): a least-squares similarity (Umeyama) from dlib's mean
face template to the landmarks, then the chip's corner pixels mapped onto the rotated extraction
rectangle (``centered_drect`` shrinks the side by one pixel). dlib shrinks large faces through an
image pyramid; here an integer area (average-pool) pre-shrink and m x m supersampling per chip
pixel (m = ceil(remaining shrink)) do that job, so the sampling is antialiased and every output pixel
is differentiable w.r.t. the input pixels.
Used by the face-feature loss that takes VGGFace's place in L_CNT (paper §3.2).
"""
from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F

# dlib's mean face shape for parts 17..67 (get_face_chip_details, 68-point branch)
_MEAN_X = (
    0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124,
    0.904991, 0.98004, 0.490127, 0.490127, 0.490127, 0.490127, 0.36688, 0.426036,
    0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825, 0.334606, 0.260918,
    0.182743, 0.645647, 0.714428, 0.793132, 0.858516, 0.79751, 0.719335, 0.254149,
    0.340985, 0.428858, 0.490127, 0.551395, 0.639268, 0.726104, 0.642159, 0.556721,
    0.490127, 0.423532, 0.338094, 0.290379, 0.428096, 0.490127, 0.552157, 0.689874,
    0.553364, 0.490127, 0.42689)
_MEAN_Y = (
    0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891,
    0.0187482, 0.038915, 0.106454, 0.203352, 0.307009, 0.409805, 0.515625, 0.587326,
    0.609345, 0.628106, 0.609345, 0.587326, 0.216423, 0.178758, 0.179852, 0.231733,
    0.245099, 0.244077, 0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099,
    0.780233, 0.745405, 0.727388, 0.742578, 0.727388, 0.745405, 0.780233, 0.864805,
    0.902192, 0.909281, 0.902192, 0.864805, 0.784792, 0.778746, 0.785343, 0.778746,
    0.784792, 0.824182, 0.831803, 0.824182)
# dlib's 5-point template (shape_predictor_5_face_landmarks order)
_FIVE = ((0.8595674595992, 0.2134981538014), (0.6460604764104, 0.2289674387677),
         (0.1205750620789, 0.2137274526848), (0.3340850613712, 0.2290642403242),
         (0.4901123135679, 0.6277975316475))
# parts used: 17..67 without the eyebrows (17..26) and the lower lip (55..59, 65..67)
PARTS_68 = tuple(i for i in range(27, 68) if not (55 <= i <= 59 or 65 <= i <= 67))


def face_template(num_parts: int, size: int = 150, padding: float = 0.25) -> tuple[torch.Tensor, list[int]]:
    """dlib's template points in chip pixels and the landmark indices they pair with.

    Returns:
        (P,2) float64 template points and the P landmark indices (P = 33 for 68 points, 5 for 5).
    """
    if num_parts == 68:
        idx = list(PARTS_68)
        pts = [(_MEAN_X[i - 17], _MEAN_Y[i - 17]) for i in idx]
    elif num_parts == 5:
        idx, pts = list(range(5)), list(_FIVE)
    else:
        raise ValueError(f"face chips need 68 or 5 landmarks, got {num_parts}")
    t = torch.tensor(pts, dtype=torch.float64)
    return (padding + t) / (2 * padding + 1) * size, idx


def similarity_fit(src: torch.Tensor, dst: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Least-squares similarity ``dst ~ M src + t`` (Umeyama; no reflection), batched.

    Args:
        src: (P,2) or (N,P,2); dst: (N,P,2).
    Returns:
        M (N,2,2) = scale * rotation, t (N,2).
    """
    src = src.expand_as(dst)
    ms, md = src.mean(1, keepdim=True), dst.mean(1, keepdim=True)
    s, d = src - ms, dst - md
    var = (s ** 2).sum((1, 2))
    a = (s * d).sum((1, 2)) / var
    b = (s[..., 0] * d[..., 1] - s[..., 1] * d[..., 0]).sum(1) / var
    m = torch.stack([torch.stack([a, -b], -1), torch.stack([b, a], -1)], 1)
    return m, md[:, 0] - (m @ ms[:, 0, :, None])[..., 0]


def face_chip_transform(landmarks: torch.Tensor, size: int = 150, padding: float = 0.25) -> torch.Tensor:
    """Chip-pixel -> image-pixel affine of ``dlib.get_face_chip(img, shape, size, padding)``.

    Args:
        landmarks: (N,68,2) or (N,5,2) x,y image pixels (0-based).
    Returns:
        (N,2,3) float64 A with ``image_xy = A[:, :, :2] @ chip_xy + A[:, :, 2]``.
    """
    if landmarks.ndim != 3 or landmarks.shape[-1] != 2:
        raise ValueError(f"landmarks must be (N,68,2) or (N,5,2), got {tuple(landmarks.shape)}")
    tmpl, idx = face_template(landmarks.shape[1], size, padding)
    m, t = similarity_fit(tmpl.to(landmarks.device), landmarks[:, idx].double())
    scale = torch.linalg.norm(m[:, :, 0], dim=1)  # |M (1,0)|; M / scale is the rotation
    centre = (m @ torch.full((2, 1), size / 2.0, dtype=m.dtype, device=m.device))[..., 0] + t
    # extract_image_chips maps chip corners (0,0), (size-1,0), (0,size-1) onto the rect corners;
    # centered_drect makes the rect side size*scale - 1 (dlib/geometry/drectangle.h).
    step = (size * scale - 1) / (size - 1)
    lin = m / scale[:, None, None] * step[:, None, None]
    offset = centre - (lin @ torch.full((2, 1), (size - 1) / 2.0, dtype=m.dtype, device=m.device))[..., 0]
    return torch.cat([lin, offset[..., None]], 2)


def extract_face_chips(images: torch.Tensor, landmarks: torch.Tensor, size: int = 150, padding: float = 0.25,
                       input_range: Literal["-1..1", "0..255"] = "-1..1") -> torch.Tensor:
    """Differentiable ``dlib.get_face_chip``: aligned face chips for dlib's face ResNet.

    Args:
        images: (N,3,H,W) RGB, in [-1,1] (project convention, default) or 0..255 (``input_range``).
        landmarks: (N,68,2) (or (N,5,2)) x,y pixels of ``images``, iBUG 300-W order.
        size: chip side in pixels (150 for the face ResNet).
        padding: dlib's padding around the template (0.25 as in ``compute_face_descriptor``).
        input_range: value range of ``images``.
    Returns:
        (N,3,size,size) RGB chips in 0..255 (float; outside the image is 0, as in dlib).
    """
    if images.ndim != 4 or images.shape[1] != 3 or landmarks.shape[0] != images.shape[0]:
        raise ValueError(f"images (N,3,H,W) and landmarks (N,68,2) disagree: {tuple(images.shape)}, "
                         f"{tuple(landmarks.shape)}")
    if not torch.isfinite(landmarks).all():
        raise ValueError("landmarks contain NaN or inf (an untracked frame?)")
    if input_range == "-1..1":
        images = (images + 1.0) * 127.5
    elif input_range != "0..255":
        raise ValueError(f"input_range must be '-1..1' or '0..255', got {input_range!r}")
    a = face_chip_transform(landmarks.detach(), size, padding)
    shrink = torch.linalg.norm(a[:, :, 0], dim=1)  # image pixels per chip pixel, (N,)
    p = max(1, int(float(shrink.min())))  # area pre-shrink by an integer factor p
    if p > 1:
        images = F.avg_pool2d(images, p, ceil_mode=True)
        # pooled pixel j covers image pixels j*p .. j*p+p-1: x_pooled = (x - (p-1)/2) / p
        a = torch.cat([a[:, :, :2], a[:, :, 2:] - (p - 1) / 2.0], 2) / p
    m = int(min(max(1, math.ceil(float(shrink.max()) / p - 0.25)), 8))
    return _sample(images, a, size, m)


def _sample(images: torch.Tensor, a: torch.Tensor, size: int, m: int) -> torch.Tensor:
    """Bilinear chips (N,3,size,size) from (N,3,H,W) through A (N,2,3), box-averaging m x m sub-samples."""
    h, w = images.shape[-2:]
    sub = (torch.arange(size * m, dtype=a.dtype, device=a.device) + 0.5) / m - 0.5  # chip px of sub-samples
    ys, xs = torch.meshgrid(sub, sub, indexing="ij")
    chip_xy = torch.stack([xs, ys, torch.ones_like(xs)], -1).reshape(-1, 3)  # (S*S*m*m, 3)
    img_xy = chip_xy @ a.transpose(1, 2)  # (N, S*S*m*m, 2)
    norm = torch.tensor([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)], dtype=a.dtype, device=a.device)
    grid = (img_xy * norm - 1).reshape(-1, size * m, size * m, 2).to(images.dtype)
    chips = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return F.avg_pool2d(chips, m) if m > 1 else chips


__all__ = ["PARTS_68", "extract_face_chips", "face_chip_transform", "face_template", "similarity_fit"]
