"""Losses of meta-learning and fine-tuning (Zakharov et al. 2019, §3.2, §3.3, §3.4).

L(phi, psi, P, theta, W, w0, b) = L_CNT + L_ADV + L_MCH for E and G, and the hinge loss for D:
- L_CNT: L1 between VGG19 and VGGFace activations of x_hat and x (weights 1.5e-1 and 2.5e-2, §3.4);
  offline, dlib's face ResNet feature matching (``face_features.FaceFeatureLoss``) stands in for VGGFace.
- L_ADV = -D(x_hat, y, i) + L_FM (feature matching on D's residual-block activations, weight 10).
- L_MCH = |W_i - e_i|_1 (weight 10), meta-learning only; fine-tuning has no W_i.
- L_DSC = max(0, 1 + D(x_hat)) + max(0, 1 - D(x)).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from ...runtime.errors import MissingWeightsError
from .vgg import build_vgg

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime


@dataclass(frozen=True)
class LossWeights:
    """Loss weights (§3.4).

    Attributes:
        cnt_vgg19: VGG19 content term.
        cnt_vggface: VGGFace content term.
        cnt_face: dlib face-feature term used in VGGFace's place (its own scale; tune it).
        adv: -D(x_hat) term of the generator.
        fm: feature matching L_FM.
        mch: embedding match L_MCH.
    """

    cnt_vgg19: float = 1.5e-1
    cnt_vggface: float = 2.5e-2
    cnt_face: float = 2.5e-2
    adv: float = 1.0
    fm: float = 10.0
    mch: float = 10.0


def hinge_d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """L_DSC = mean(max(0, 1 - D(x))) + mean(max(0, 1 + D(x_hat))) (§3.2); scores (B,)."""
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


def adversarial_g_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """Generator's realism term -mean(D(x_hat)) (§3.2); scores (B,)."""
    return -fake_scores.mean()


def feature_matching_loss(real_feats: Sequence[torch.Tensor], fake_feats: Sequence[torch.Tensor]) -> torch.Tensor:
    """L_FM: sum over D's blocks of mean |f(x_hat) - f(x)| (real activations are targets, detached)."""
    if len(real_feats) != len(fake_feats) or not real_feats:
        raise ValueError(f"feature lists differ in length: {len(real_feats)} vs {len(fake_feats)}")
    return sum(F.l1_loss(f, r.detach()) for r, f in zip(real_feats, fake_feats))


def embedding_match_loss(W_i: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    """L_MCH = |W_i - e_i|_1 averaged over the batch and the N entries (§3.2); both (B, N)."""
    if W_i.shape != e.shape:
        raise ValueError(f"W_i {tuple(W_i.shape)} and e {tuple(e.shape)} differ")
    return F.l1_loss(W_i, e)


def perceptual_l1(feats_fake: Sequence[torch.Tensor], feats_real: Sequence[torch.Tensor]) -> torch.Tensor:
    """Sum over layers of mean |a - b|."""
    return sum(F.l1_loss(a, b) for a, b in zip(feats_fake, feats_real))


class ContentLoss(nn.Module):
    """L_CNT with the networks that are available (§3.2, §3.4).

    VGG19 ("vgg19") and VGG-Face ("vggface") weights are resolved through the runtime (and the frozen
    networks shared through its model cache); a missing one drops its term, and which terms are active
    is said once. With VGG-Face absent, ``face_feature_loss``
    (dlib face ResNet, needs landmarks) takes its place when given.

    Args:
        rt: Runtime (resolve, say_once).
        vgg19_path, vggface_path: explicit weights files (else the runtime's search).
        face_feature_loss: module ``(fake, real, landmarks) -> scalar`` used when VGG-Face is absent.
        weights: loss weights.
        vgg19_style, vggface_style: override the input style (``vgg.INPUT_STYLES`` key).
    """

    def __init__(self, rt: Runtime, vgg19_path: str | os.PathLike | None = None,
                 vggface_path: str | os.PathLike | None = None, face_feature_loss: nn.Module | None = None,
                 weights: LossWeights = LossWeights(), vgg19_style: str | None = None,
                 vggface_style: str | None = None):
        super().__init__()
        self.weights = weights
        self.vgg19 = self._load(rt, "vgg19", vgg19_path, vgg19_style)
        self.vggface = self._load(rt, "vggface", vggface_path, vggface_style)
        self.face = face_feature_loss if self.vggface is None else None
        terms = ", ".join(self.active_terms) or "none (pixel losses only)"
        skipped = [n for n, m in (("VGG19", self.vgg19), ("VGGFace", self.vggface)) if m is None]
        note = f"; skipped for lack of weights: {', '.join(skipped)}" if skipped else ""
        if self.vggface is None and self.face is not None:
            note += " (dlib face-feature loss replaces VGGFace)"
        rt.say_once(f"content-loss:{terms}{note}", f"content loss L_CNT uses: {terms}{note}")

    @staticmethod
    def _load(rt: Runtime, name: str, explicit, style: str | None) -> nn.Module | None:
        try:
            path = rt.resolve(name, explicit=explicit, check_hash=False)
        except MissingWeightsError as exc:
            rt.say_once(f"content-loss-missing:{name}", f"{name} weights not found; its L_CNT term is skipped. {exc}")
            return None
        key = ("content-loss", name, str(path.resolve()), path.stat().st_mtime_ns, style)
        return rt.load_cached(key, lambda: build_vgg(path, name, style).to(rt.device))

    @property
    def active_terms(self) -> list[str]:
        """Networks in use: subset of ["vgg19", "vggface", "face_resnet"]."""
        return [n for n, m in (("vgg19", self.vgg19), ("vggface", self.vggface), ("face_resnet", self.face))
                if m is not None]

    def forward(self, fake: torch.Tensor, real: torch.Tensor,
                landmarks: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Weighted L_CNT.

        Args:
            fake: (B,3,H,W) x_hat in [-1,1].
            real: (B,3,H,W) x in [-1,1].
            landmarks: (B,68,2) landmarks of ``real`` in crop pixels (needed by the face-feature term).
        Returns:
            total (scalar, zero if no term is active), {"cnt_vgg19": .., "cnt_vggface"|"cnt_face": ..} unweighted.
        """
        if fake.shape != real.shape:
            raise ValueError(f"ContentLoss: fake {tuple(fake.shape)} and real {tuple(real.shape)} differ")
        parts: dict[str, torch.Tensor] = {}
        total = fake.new_zeros(())
        for key, net, weight in (("cnt_vgg19", self.vgg19, self.weights.cnt_vgg19),
                                 ("cnt_vggface", self.vggface, self.weights.cnt_vggface)):
            if net is not None:
                with torch.no_grad():
                    target = net(real)
                parts[key] = perceptual_l1(net(fake), target)
                total = total + weight * parts[key]
        if self.face is not None:
            if landmarks is None:
                raise ValueError("ContentLoss: the face-feature term (VGGFace stand-in) needs landmarks (B,68,2)")
            parts["cnt_face"] = self.face(fake, real, landmarks)
            total = total + self.weights.cnt_face * parts["cnt_face"]
        return total, parts
