"""PNG sample grids of meta-learning: one row per episode, K sources | target sketch | generated | real."""
from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn

from ..generate import tensor_to_uint8
from .dataset import Episode


@torch.no_grad()
def generate(E: nn.Module, G: nn.Module, ep: Episode) -> torch.Tensor:
    """x_hat = G(y_t, P e_hat) with e_hat the mean of E over the K sources; eval mode, state restored.

    Returns:
        (B, 3, S, S) generated targets in [-1, 1].
    """
    b, k1 = ep.x.shape[:2]
    modes = (E.training, G.training)
    E.eval()
    G.eval()
    try:
        xs, ys = ep.x[:, :-1].flatten(0, 1), ep.y[:, :-1].flatten(0, 1)
        e_hat = E(xs, ys).float().view(b, k1 - 1, -1).mean(1)
        return G(ep.y[:, -1], e_hat=e_hat).float()
    finally:
        E.train(modes[0])
        G.train(modes[1])


def sample_grid(E: nn.Module, G: nn.Module, ep: Episode) -> np.ndarray:
    """(B*S, (K+3)*S, 3) uint8 grid: per row the K source frames, the target's sketch, x_hat and x_t."""
    x_hat = generate(E, G, ep)
    rows = []
    for b in range(ep.x.shape[0]):
        tiles = [*tensor_to_uint8(ep.x[b, :-1]), tensor_to_uint8(ep.y[b, -1:])[0], tensor_to_uint8(x_hat[b:b + 1])[0],
                 tensor_to_uint8(ep.x[b, -1:])[0]]
        rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)


def write_sample_grid(path: str | os.PathLike, E: nn.Module, G: nn.Module, ep: Episode) -> None:
    """Write ``sample_grid`` as a PNG atomically."""
    from ..media.io import write_image

    write_image(path, sample_grid(E, G, ep))
