"""Face-feature matching loss on dlib's face ResNet: the offline stand-in for VGGFace in L_CNT.

The paper's content loss (§3.2, L_CNT) compares VGGFace activations of the generated and real frames.
VGGFace weights cannot be fetched offline; dlib's face-recognition ResNet ships with
face-recognition-models (CC0), so this module aligns both images to dlib's face chip
(``face_chip.extract_face_chips``, differentiable) and matches L1 distances of the stem and of every
residual stage. An optional identity term on the 128-d descriptor (cosine distance) is off by default:
when it is on, dlib CSIM stops being an independent evaluation measure (the generator can be pushed
to any descriptor distance), and the evaluation must say so.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .dlib_resnet import DlibFaceResNet
from .face_chip import extract_face_chips

# stem (72x72) + stage outputs at 35, 17, 8, 4 and 2 px (DlibFaceResNet.features)
NUM_FEATURES = 6


def face_feature_loss(net: DlibFaceResNet, fake: torch.Tensor, real: torch.Tensor, landmarks: torch.Tensor,
                      layer_weights: Sequence[float], identity_weight: float = 0.0) -> torch.Tensor:
    """L1 feature matching (+ optional cosine identity term) on aligned face chips.

    Args:
        net: dlib face ResNet (frozen).
        fake: (N,3,H,W) generated images in [-1,1]; gradients flow back to them.
        real: (N,3,H,W) real images in [-1,1] (no gradient).
        landmarks: (N,68,2) landmarks in the pixels of these images (the real frame's).
        layer_weights: one weight per feature map (``NUM_FEATURES``).
        identity_weight: weight of ``1 - cos(desc(fake), desc(real))``; 0 disables it.
    Returns:
        scalar loss: sum_l w_l * mean|f_l(fake) - f_l(real)| (+ identity term).
    """
    if fake.shape != real.shape:
        raise ValueError(f"fake {tuple(fake.shape)} and real {tuple(real.shape)} differ")
    if len(layer_weights) != NUM_FEATURES:
        raise ValueError(f"need {NUM_FEATURES} layer weights, got {len(layer_weights)}")
    with torch.no_grad():
        real_feats = net.features(extract_face_chips(real, landmarks))
    fake_feats = net.features(extract_face_chips(fake, landmarks))
    loss = fake.new_zeros(())
    for w, a, b in zip(layer_weights, fake_feats, real_feats):
        if w:
            loss = loss + w * F.l1_loss(a, b)
    if identity_weight:
        with torch.no_grad():
            d_real = net.embed(real_feats[-1])
        cos = F.cosine_similarity(net.embed(fake_feats[-1]), d_real, dim=1)
        loss = loss + identity_weight * (1 - cos).mean()
    return loss


class FaceFeatureLoss(nn.Module):
    """Module wrapper of ``face_feature_loss`` (holds the frozen network and the weights).

    Args:
        net: ``DlibFaceResNet`` (e.g. ``load_dlib_face_resnet_cached(rt)``).
        identity_weight: weight of the descriptor cosine-distance term (0 = off, the default).
        layer_weights: per feature map weights (stem, 32, 64, 128, 256, final down); default all 1.
    """

    def __init__(self, net: DlibFaceResNet, identity_weight: float = 0.0,
                 layer_weights: Sequence[float] | None = None):
        super().__init__()
        self.net = net.eval().requires_grad_(False)
        self.identity_weight = float(identity_weight)
        self.layer_weights = tuple(float(w) for w in (layer_weights or (1.0,) * NUM_FEATURES))
        if len(self.layer_weights) != NUM_FEATURES:
            raise ValueError(f"need {NUM_FEATURES} layer weights, got {len(self.layer_weights)}")

    def train(self, mode: bool = True) -> FaceFeatureLoss:
        """The face network always stays in eval mode (it has no batch norm, but keep it frozen)."""
        super().train(mode)
        self.net.eval()
        return self

    def forward(self, fake: torch.Tensor, real: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        """(N,3,H,W) [-1,1] fake and real, (N,68,2) landmarks in their pixels -> scalar loss."""
        return face_feature_loss(self.net, fake, real, landmarks, self.layer_weights, self.identity_weight)


__all__ = ["NUM_FEATURES", "FaceFeatureLoss", "face_feature_loss"]
