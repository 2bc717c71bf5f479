"""Projection discriminator D(x, y, i) = V(x, y)^T (W_i + w0) + b (Zakharov et al. 2019, §3.2, §3.4)."""
from __future__ import annotations

import torch
from torch import nn

from .blocks import ResBlockDown, apply_spectral_norm, check_image, sum_pool_relu
from .embedder import down_path
from .presets import NetworkConfig


class Discriminator(nn.Module):
    """D: realism score of frame x given its landmark sketch y for video i (Miyato & Koyama's projection).

    V is E's down path plus one extra residual block at 4x4 (§3.4). W holds one column W_i per
    training video, stored as an embedding table.

    Args:
        cfg: network config.
        num_videos: rows of W (videos seen in meta-learning; 0 or 1 suffices for fine-tuning).
        sparse: sparse gradients for W (pair with torch.optim.SparseAdam for very many videos).
    """

    def __init__(self, cfg: NetworkConfig, num_videos: int, sparse: bool = False):
        super().__init__()
        self.cfg = cfg
        self.blocks = down_path(cfg, 6)
        self.blocks.append(ResBlockDown(cfg.embed_dim, cfg.embed_dim, down=False))
        self.W = nn.Embedding(num_videos, cfg.embed_dim, sparse=sparse)
        nn.init.normal_(self.W.weight, std=0.02)
        self.w0 = nn.Parameter(torch.randn(cfg.embed_dim) * 0.02)
        self.b = nn.Parameter(torch.zeros(1))
        if cfg.spectral_norm:
            apply_spectral_norm(self)

    def features(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """V(x, y) (B, embed_dim) and the activations after every residual block (for L_FM, §3.4)."""
        check_image("D: x", x, 3, 1 << self.cfg.num_down)
        if y.shape != x.shape:
            raise ValueError(f"D: y {list(y.shape)} must match x {list(x.shape)}")
        h = torch.cat([x, y], dim=1)
        feats = []
        for layer in self.blocks:
            h = layer(h)
            if isinstance(layer, ResBlockDown):
                feats.append(h)
        return sum_pool_relu(h), feats

    def forward(self, x: torch.Tensor, y: torch.Tensor, i: torch.Tensor | None = None,
                w: torch.Tensor | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Realism score r = V^T (W_i + w0) + b.

        Args:
            x: (B,3,H,W) frames in [-1,1].
            y: (B,3,H,W) sketches in [-1,1].
            i: (B,) long video indices: projection W_i + w0; or
            w: (B or 1, embed_dim) projection vector used as is (fine-tuning's w' = w0 + e_hat);
               neither: w0 alone.
        Returns:
            score (B,), features: activations after every residual block.
        """
        if i is not None and w is not None:
            raise ValueError("D: give at most one of i and w")
        v, feats = self.features(x, y)
        if i is not None:
            if i.ndim != 1 or i.shape[0] != x.shape[0]:
                raise ValueError(f"D: i must be ({x.shape[0]},) video indices, got {list(i.shape)}")
            w = self.W(i) + self.w0
        elif w is None:
            w = self.w0[None]
        elif w.ndim != 2 or w.shape[1] != self.cfg.embed_dim:
            raise ValueError(f"D: w must be (B,{self.cfg.embed_dim}), got {list(w.shape)}")
        return (v * w).sum(dim=1) + self.b, feats
