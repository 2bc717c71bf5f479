"""Generator G(y; psi) (Zakharov et al. 2019, §3.1, §3.4).

Image-to-image network after Johnson et al. [20] with residual blocks [6]: down blocks with instance
norm encode the landmark sketch y, residual blocks and up blocks use AdaIN whose coefficients come
from psi_hat = P e_hat; self-attention at ``attn_down_res`` (down) and ``attn_up_res`` (up).

Warp-conditioned variant (``cfg.g_warp``, not in the paper): the input is the sketch and a source
frame already warped to the target landmarks (6 channels), and the output is that warped frame plus
a learned residual whose last convolution starts at zero (an untrained G returns the warp).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import (
    AdaIN,
    ResBlockAdaIN,
    ResBlockDown,
    ResBlockUp,
    SelfAttention,
    apply_spectral_norm,
    check_image,
)
from .presets import NetworkConfig


class Generator(nn.Module):
    """G: landmark sketch -> frame, person-specific through psi.

    Attributes:
        P: linear map e_hat (embed_dim) -> psi (psi_dim), no bias (psi_hat = P e_hat, §3.1).
        psi_dim: total number of AdaIN coefficients.
    """

    def __init__(self, cfg: NetworkConfig):
        super().__init__()
        self.cfg = cfg
        down: list[nn.Module] = []
        c, res = (6 if cfg.g_warp else 3), cfg.image_size
        for level in range(cfg.g_num_down):
            down.append(ResBlockDown(c, cfg.channels(level), norm=True, first=level == 0))
            c, res = cfg.channels(level), res // 2
            if res == cfg.attn_down_res:
                down.append(SelfAttention(c))
        self.down = nn.ModuleList(down)
        up: list[nn.Module] = [ResBlockAdaIN(c) for _ in range(cfg.g_num_res)]
        for level in range(cfg.g_num_down - 2, -2, -1):
            c_out = cfg.channels(max(level, 0))
            up.append(ResBlockUp(c, c_out))
            c, res = c_out, res * 2
            if res == cfg.attn_up_res:
                up.append(SelfAttention(c))
        self.up = nn.ModuleList(up)
        self.out_norm = AdaIN(c)
        self.out_conv = nn.Conv2d(c, 3, 3, padding=1)
        self.g_warp = bool(cfg.g_warp)  # plain bool: TorchScript-friendly
        if self.g_warp:  # the residual's last convolution starts at zero (no spectral norm: it would undo that)
            nn.init.zeros_(self.out_conv.weight)
            nn.init.zeros_(self.out_conv.bias)
        self._psi_sizes = [m.psi_dim for m in [*self.up, self.out_norm]]  # attention blocks take 0
        self.psi_dim = sum(self._psi_sizes)
        self.embed_dim, self.multiple = cfg.embed_dim, 1 << cfg.g_num_down  # plain ints: TorchScript-friendly
        self.P = nn.Linear(cfg.embed_dim, self.psi_dim, bias=False)
        if cfg.spectral_norm:
            apply_spectral_norm(self, exclude=(self.out_conv,) if self.g_warp else ())

    def project(self, e_hat: torch.Tensor) -> torch.Tensor:
        """psi_hat = P e_hat: (B, embed_dim) -> (B, psi_dim)."""
        if e_hat.ndim != 2 or e_hat.shape[1] != self.embed_dim:
            raise ValueError(f"G.project: e_hat must be (B,{self.embed_dim}), got {list(e_hat.shape)}")
        return self.P(e_hat)

    def forward(self, y: torch.Tensor, e_hat: torch.Tensor | None = None,
                psi: torch.Tensor | None = None, warped: torch.Tensor | None = None) -> torch.Tensor:
        """x_hat = G(y, psi) (warp variant: G(y, warped, psi)).

        Args:
            y: (B,3,H,W) landmark sketches in [-1,1]; H, W multiples of 2^g_num_down.
            e_hat: (B, embed_dim) identity embedding (psi = P e_hat), or
            psi: (B, psi_dim) or (1, psi_dim) AdaIN coefficients (fine-tuned psi', broadcast over B).
            warped: (B,3,H,W) source frame warped to y's landmarks, in [-1,1] (warp variant only).
        Returns:
            (B,3,H,W) frames in [-1,1] (tanh; warp variant: warped + residual, not clamped).
        """
        check_image("G: y", y, 3, self.multiple)
        if self.g_warp:
            if warped is None:
                raise ValueError("G (warp variant): give the warped source frame 'warped' (B,3,H,W)")
            if not torch.jit.is_tracing() and warped.shape != y.shape:
                raise ValueError(f"G: warped {list(warped.shape)} must match y {list(y.shape)}")
        elif warped is not None:
            raise ValueError("G: 'warped' is only taken by the warp-conditioned variant (preset *-warp)")
        if psi is None:
            if e_hat is None:
                raise ValueError("G: give exactly one of e_hat and psi")
            psi = self.project(e_hat)
        elif e_hat is not None:
            raise ValueError("G: give exactly one of e_hat and psi")
        if not torch.jit.is_tracing() and (psi.ndim != 2 or psi.shape[1] != self.psi_dim
                                           or psi.shape[0] not in (1, y.shape[0])):
            raise ValueError(f"G: psi must be ({y.shape[0]} or 1, {self.psi_dim}), got {list(psi.shape)}")
        h = y
        if warped is not None:
            h = torch.cat([y, warped], dim=1)
        for layer in self.down:
            h = layer(h)
        chunks = psi.split(self._psi_sizes, dim=1)
        for k, layer in enumerate(self.up):
            h = layer(h, chunks[k])
        h = F.relu(self.out_norm(h, chunks[-1]))
        if warped is not None:
            return warped + self.out_conv(h)
        return torch.tanh(self.out_conv(h))
