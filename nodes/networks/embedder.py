"""Embedder E(x_i, y_i; phi) -> e_i in R^N (Zakharov et al. 2019, §3.1, §3.4)."""
from __future__ import annotations

import torch
from torch import nn

from .blocks import ResBlockDown, SelfAttention, apply_spectral_norm, check_image, sum_pool_relu
from .presets import NetworkConfig


def down_path(cfg: NetworkConfig, c_in: int) -> nn.ModuleList:
    """Residual down blocks without normalisation, image_size -> 4x4, self-attention at cfg.attn_down_res.

    Shared by E and D's V (§3.4: "residual downsampling blocks ... without normalization layers").
    The last block outputs cfg.embed_dim channels.
    """
    layers: list[nn.Module] = []
    c, res = c_in, cfg.image_size
    for level in range(cfg.num_down):
        c_out = cfg.embed_dim if level == cfg.num_down - 1 else cfg.channels(level)
        layers.append(ResBlockDown(c, c_out, norm=False, first=level == 0))
        c, res = c_out, res // 2
        if res == cfg.attn_down_res:
            layers.append(SelfAttention(c))
    return nn.ModuleList(layers)


class Embedder(nn.Module):
    """E: frame + its landmark sketch (6 channels) -> e_i (B, N); e_hat is the mean over K frames.

    Args:
        cfg: network config.
    """

    def __init__(self, cfg: NetworkConfig):
        super().__init__()
        self.cfg = cfg
        self.blocks = down_path(cfg, 6)
        if cfg.spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """e_i = E(x_i, y_i).

        Args:
            x: (B,3,H,W) frames in [-1,1].
            y: (B,3,H,W) landmark sketches in [-1,1].
        Returns:
            (B, embed_dim) embeddings (non-negative: sum pooling + ReLU).
        """
        check_image("E: x", x, 3, 1 << self.cfg.num_down)
        if y.shape != x.shape:
            raise ValueError(f"E: y {list(y.shape)} must match x {list(x.shape)}")
        h = torch.cat([x, y], dim=1)
        for layer in self.blocks:
            h = layer(h)
        return sum_pool_relu(h)
