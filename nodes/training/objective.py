"""The generator and discriminator objectives shared by meta-learning and fine-tuning (§3.2, §3.3).

G (and E): L_CNT + L_ADV, with L_ADV = -D(x_hat, y) + 10 L_FM; the paper's L_CNT compares VGG19 and
VGGFace activations. Offline, the terms whose weights are absent are skipped (said once) and dlib's
face ResNet takes VGGFace's place (``face_features.FaceFeatureLoss``). A pixel L1 term, not in the
paper, can be added (``l1``); the ablation variants of ``VARIANTS`` switch terms on one by one.
D: the hinge loss. L_MCH (meta-learning only) lives with the meta-learning loop.

Discriminator projections are passed as keyword arguments of ``Discriminator.forward``: ``{"i": ...}``
(meta-learning, W_i + w0) or ``{"w": w'}`` (fine-tuning, w' = w0 + e_hat).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from ...runtime.errors import MissingWeightsError
from ..networks.losses import (
    ContentLoss,
    LossWeights,
    adversarial_g_loss,
    feature_matching_loss,
    hinge_d_loss,
)

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime


@dataclass(frozen=True)
class ObjectiveConfig:
    """Which terms are on, and their weights.

    Attributes:
        l1: weight of the pixel L1 term (0 = the paper's objective).
        content: L_CNT with the networks present (VGG19, VGGFace, or the dlib face-ResNet stand-in).
        face_features: allow the dlib face-ResNet stand-in when VGGFace is absent.
        adversarial: L_ADV (realism -D(x_hat) + feature matching) and training D.
        identity_weight: optional cosine term on dlib's 128-d descriptor (off by default: when on,
            dlib CSIM is no longer an independent evaluation measure).
        weights: loss weights (§3.4).
    """

    l1: float = 0.0
    content: bool = True
    face_features: bool = True
    adversarial: bool = True
    identity_weight: float = 0.0
    weights: LossWeights = field(default_factory=LossWeights)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


VARIANTS: dict[str, ObjectiveConfig] = {
    "l1": ObjectiveConfig(l1=1.0, content=False, adversarial=False),
    "l1+face": ObjectiveConfig(l1=1.0, adversarial=False),
    "l1+adv": ObjectiveConfig(l1=1.0, content=False),
    "full": ObjectiveConfig(l1=1.0),
    "paper": ObjectiveConfig(),
}


class Objective:
    """Losses for one run: frozen loss networks resolved once through the runtime.

    Args:
        rt: Runtime.
        cfg: which terms.
        vgg19_path, vggface_path: explicit weights (else the runtime's search).
    """

    def __init__(self, rt: Runtime, cfg: ObjectiveConfig = ObjectiveConfig(), vgg19_path: Any = None,
                 vggface_path: Any = None):
        self.cfg = cfg
        self.content: ContentLoss | None = None
        if cfg.content:
            face = self._face_loss(rt) if cfg.face_features else None
            self.content = ContentLoss(rt, vgg19_path, vggface_path, face, cfg.weights)

    def _face_loss(self, rt: Runtime):
        from ..networks.dlib_resnet import load_dlib_face_resnet_cached
        from ..networks.face_features import FaceFeatureLoss

        try:
            net = load_dlib_face_resnet_cached(rt)
        except MissingWeightsError as exc:
            rt.say_once("face-loss-missing", f"dlib face ResNet not found; no face-feature term. {exc}")
            return None
        return FaceFeatureLoss(net, identity_weight=self.cfg.identity_weight).to(rt.device)

    @property
    def terms(self) -> list[str]:
        """Active terms, e.g. ["l1", "vgg19", "face_resnet", "adv"]."""
        out = ["l1"] if self.cfg.l1 else []
        out += self.content.active_terms if self.content is not None else []
        return out + (["adv", "fm"] if self.cfg.adversarial else [])

    def generator_loss(self, x_hat: torch.Tensor, x: torch.Tensor, y: torch.Tensor, landmarks: torch.Tensor,
                       D: Any = None, proj: dict | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """G's loss for one batch.

        Args:
            x_hat: (B,3,S,S) generated frames in [-1,1]; x: (B,3,S,S) real frames; y: their sketches.
            landmarks: (B,68,2) landmarks of x in crop px (for the face-feature term).
            D: the discriminator (needed when ``adversarial``); proj: its projection kwargs.
        Returns:
            scalar total, {term: unweighted value} for logging.
        """
        w = self.cfg.weights
        total = x_hat.new_zeros((), dtype=torch.float32)
        parts: dict[str, float] = {}
        if self.cfg.l1:
            l1 = F.l1_loss(x_hat.float(), x.float())
            total = total + self.cfg.l1 * l1
            parts["l1"] = float(l1.detach())
        if self.content is not None:
            cnt, cparts = self.content(x_hat, x, landmarks)
            total = total + cnt.float()
            parts.update({k: float(v.detach()) for k, v in cparts.items()})
        if self.cfg.adversarial:
            fake, fake_feats = D(x_hat, y, **(proj or {}))
            with torch.no_grad():
                _, real_feats = D(x, y, **(proj or {}))
            adv, fm = adversarial_g_loss(fake.float()), feature_matching_loss(real_feats, fake_feats).float()
            total = total + w.adv * adv + w.fm * fm
            parts.update(adv=float(adv.detach()), fm=float(fm.detach()))
        return total, parts

    def discriminator_loss(self, x_hat: torch.Tensor, x: torch.Tensor, y: torch.Tensor, D: Any,
                           proj: dict | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """Hinge loss of D on real x and generated x_hat (detached here), same sketches y."""
        real, _ = D(x, y, **(proj or {}))
        fake, _ = D(x_hat.detach(), y, **(proj or {}))
        loss = hinge_d_loss(real.float(), fake.float())
        return loss, {"d": float(loss.detach()), "d_real": float(real.detach().float().mean()),
                      "d_fake": float(fake.detach().float().mean())}
