"""Building blocks of E, G and D (Zakharov et al. 2019, §3.4; residual blocks after Brock et al. [6]).

Pure functions (``adain``) plus thin modules. Blocks that consume AdaIN parameters expose ``psi_dim``
and take their slice of psi = P e_hat in ``forward``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm


def adain(x: torch.Tensor, psi: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Adaptive instance normalisation (Huang & Belongie [14]; §3.4): psi are the affine coefficients.

    Args:
        x: (B,C,H,W) activations.
        psi: (B,2C) or (1,2C): [scale offset (added to 1), bias]; the offset form keeps psi = 0 an identity.
        eps: variance epsilon.
    Returns:
        (B,C,H,W): (1 + scale) * instance_norm(x) + bias.
    """
    c = x.shape[1]
    if not torch.jit.is_tracing() and (psi.ndim != 2 or psi.shape[1] != 2 * c):
        raise ValueError(f"adain: psi must be (B,{2 * c}) for {c} channels, got {list(psi.shape)}")
    scale, bias = psi[:, :c, None, None], psi[:, c:, None, None]
    return F.instance_norm(x, eps=eps) * (1 + scale) + bias


class AdaIN(nn.Module):
    """Module form of ``adain`` for ``channels`` channels (``psi_dim`` = 2 * channels)."""

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels
        self.psi_dim = 2 * channels

    def forward(self, x: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
        return adain(x, psi)


def _conv(c_in: int, c_out: int, k: int = 3) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, k, padding=k // 2)


class ResBlockDown(nn.Module):
    """Residual downsampling block: [IN] ReLU conv3 [IN] ReLU conv3 avgpool  +  conv1 avgpool.

    Args:
        c_in, c_out: channels.
        norm: instance norm (G's down path); E and D use none (§3.4).
        first: the block reads raw images: no ReLU before its first convolution.
        down: halve the resolution (False: D's extra 4x4 block).
    """

    def __init__(self, c_in: int, c_out: int, norm: bool = False, first: bool = False, down: bool = True):
        super().__init__()
        self.first, self.down = first, down
        self.norm1 = nn.InstanceNorm2d(c_in, affine=True) if norm else nn.Identity()
        self.norm2 = nn.InstanceNorm2d(c_out, affine=True) if norm else nn.Identity()
        self.conv1, self.conv2 = _conv(c_in, c_out), _conv(c_out, c_out)
        self.skip = _conv(c_in, c_out, 1) if (c_in != c_out or down) else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        h = self.conv1(h if self.first else F.relu(h))
        h = self.conv2(F.relu(self.norm2(h)))
        s = self.skip(x)
        if self.down:
            h, s = F.avg_pool2d(h, 2), F.avg_pool2d(s, 2)
        return h + s


class ResBlockAdaIN(nn.Module):
    """Residual block at constant resolution: AdaIN ReLU conv3 AdaIN ReLU conv3 + x (G's bottleneck)."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm1, self.norm2 = AdaIN(channels), AdaIN(channels)
        self.conv1, self.conv2 = _conv(channels, channels), _conv(channels, channels)
        self.psi_dim = 4 * channels

    def forward(self, x: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
        p1, p2 = psi.split([self.norm1.psi_dim, self.norm2.psi_dim], dim=1)
        h = self.conv1(F.relu(self.norm1(x, p1)))
        return x + self.conv2(F.relu(self.norm2(h, p2)))


class ResBlockUp(nn.Module):
    """Residual upsampling block: AdaIN ReLU up conv3 AdaIN ReLU conv3  +  up conv1 (G's up path)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.norm1, self.norm2 = AdaIN(c_in), AdaIN(c_out)
        self.conv1, self.conv2 = _conv(c_in, c_out), _conv(c_out, c_out)
        self.skip = _conv(c_in, c_out, 1)
        self.psi_dim = self.norm1.psi_dim + self.norm2.psi_dim

    def forward(self, x: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
        p1, p2 = psi.split([self.norm1.psi_dim, self.norm2.psi_dim], dim=1)
        h = F.interpolate(F.relu(self.norm1(x, p1)), scale_factor=2.0, mode="nearest")
        h = self.conv2(F.relu(self.norm2(self.conv1(h), p2)))
        return h + self.skip(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class SelfAttention(nn.Module):
    """Self-attention block (SAGAN, Zhang et al. [42]): x + gamma * softmax(q^T k) v; gamma starts at 0."""

    def __init__(self, channels: int):
        super().__init__()
        inner = max(channels // 8, 1)
        self.query, self.key = _conv(channels, inner, 1), _conv(channels, inner, 1)
        self.value = _conv(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))
        self.psi_dim = 0  # consumes no AdaIN coefficients (uniform call signature in G's up path)

    def forward(self, x: torch.Tensor, psi: torch.Tensor | None = None) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # (B, HW, C/8)
        k = self.key(x).flatten(2)  # (B, C/8, HW)
        attn = torch.softmax(torch.bmm(q, k), dim=-1)  # (B, HW, HW)
        v = self.value(x).flatten(2)  # (B, C, HW)
        out = torch.bmm(v, attn.transpose(1, 2)).view(b, c, h, w)
        return x + self.gamma * out


def sum_pool_relu(h: torch.Tensor) -> torch.Tensor:
    """Global sum pooling over space followed by ReLU (§3.4): (B,C,H,W) -> (B,C)."""
    return F.relu(h.sum(dim=(2, 3)))


def check_image(name: str, t: torch.Tensor, channels: int, multiple: int) -> None:
    """Raise ValueError unless ``t`` is (B,channels,H,W) with H, W positive multiples of ``multiple``.

    Skipped while tracing (ONNX/TorchScript export), where shapes are example values.
    """
    if torch.jit.is_tracing():
        return
    if t.ndim != 4 or t.shape[1] != channels:
        raise ValueError(f"{name} must be (B,{channels},H,W), got {list(t.shape)}")
    h, w = t.shape[-2:]
    if h % multiple or w % multiple or h == 0 or w == 0:
        raise ValueError(f"{name}: height and width must be multiples of {multiple}, got {h}x{w}")


def _sn_targets(module: nn.Module) -> list[nn.Module]:
    return [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def apply_spectral_norm(module: nn.Module, exclude: tuple[nn.Module, ...] = ()) -> nn.Module:
    """Spectral norm (Miyato et al. [33]) on every Conv2d and Linear weight but ``exclude``, in place (§3.4)."""
    for m in _sn_targets(module):
        if all(m is not e for e in exclude) and not parametrize.is_parametrized(m, "weight"):
            spectral_norm(m)
    return module


def remove_spectral_norm(module: nn.Module) -> nn.Module:
    """Fold spectral norm into plain weights, in place, without another power iteration.

    The folded weight is W / sigma with the stored (u, v), i.e. exactly what eval mode computes.
    """
    for m in _sn_targets(module):
        if parametrize.is_parametrized(m, "weight"):
            m.parametrizations.weight.eval()
            parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
    return module
