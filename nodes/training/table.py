"""The discriminator's per-video table W (§3.2) trained row-wise, out of the dense optimizers.

W has one row W_i per training video (VoxCeleb2: ~145k rows x 512). Dense Adam would keep two more
tables and, worse, move every row every step through momentum although a step touches B rows. Here
W (``D.W``, an ``nn.Embedding`` with ``requires_grad=False``, so DDP and the dense Adams ignore it) is
read as a leaf ``rows = W[i]`` each step; after the E/G and D backward passes ``rows.grad`` holds
d(10 L_MCH + L_DSC)/dW_i. The row gradients of all ranks are gathered (``all_gather``), averaged as
DDP averages dense gradients, turned into one sparse gradient and applied by ``torch.optim.SparseAdam``
(lazy Adam: rows not in the batch do not move).

Sizes for VoxCeleb2 (145,569 videos, N = 512, fp32): W 298 MB, SparseAdam moments 596 MB (its state is
dense-shaped, updated lazily). A paper-256 training checkpoint then weighs about 1.76 GB: E + G + D
(72.5 M parameters, 290 MB) and their Adam moments (580 MB) plus W and its moments (894 MB); the base
model file (``person.save_base``, 290 MB) excludes W. (small-128 on the 1,172 sequences here: 157 MB.)
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn


def table_bytes(num_videos: int, embed_dim: int) -> dict[str, int]:
    """Bytes of W and of its SparseAdam state (exp_avg + exp_avg_sq), fp32."""
    w = num_videos * embed_dim * 4
    return {"W": w, "sparse_adam_state": 2 * w, "total": 3 * w}


def make_table_optimizer(D: nn.Module, lr: float, betas: tuple[float, float]) -> torch.optim.SparseAdam:
    """Freeze ``D.W`` for autograd (row-wise updates only) and return its SparseAdam."""
    D.W.weight.requires_grad_(False)
    return torch.optim.SparseAdam([D.W.weight], lr=lr, betas=betas)


def gather_rows(D: nn.Module, i: torch.Tensor) -> torch.Tensor:
    """W_i for the batch as a fresh leaf (B, N) that collects the step's row gradients."""
    return D.W.weight.detach()[i].clone().requires_grad_(True)


def _all_gather(t: torch.Tensor) -> torch.Tensor:
    parts = [torch.empty_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, t.contiguous())
    return torch.cat(parts)


def table_step(D: nn.Module, opt: torch.optim.SparseAdam, i: torch.Tensor, rows: torch.Tensor,
               scale: float = 1.0) -> bool:
    """Apply the gathered row gradients of this step; False (no update) when they are absent or not finite.

    Args:
        D: the discriminator whose ``W`` is updated.
        opt: its SparseAdam (``make_table_optimizer``).
        i: (B,) this rank's video indices.
        rows: the leaf from ``gather_rows`` after backward (its grad is scaled by ``scale``).
        scale: the GradScaler's current scale (1 without loss scaling).
    """
    grad = rows.grad
    if grad is None:
        grad = torch.zeros_like(rows)
    grad = grad.float() / scale
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        i, grad = _all_gather(i), _all_gather(grad) / dist.get_world_size()
    if rows.grad is None and not grad.any():
        return False
    finite = torch.isfinite(grad).all()
    if not bool(finite):
        return False
    weight = D.W.weight
    weight.grad = torch.sparse_coo_tensor(i[None].to(weight.device), grad.to(weight.dtype), weight.shape,
                                          check_invariants=True).coalesce()
    opt.step()
    return True
