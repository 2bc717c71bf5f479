"""FID (Heusel et al. 2017), as the paper's Table 1 reports it, when Inception weights are present locally.

Weights: ModelSpec ``inception-fid`` (pytorch-fid's port of the TF Inception, Apache-2.0), resolved
through the runtime, never downloaded. The feature network is pytorch-fid's ``InceptionV3`` (pool3,
2048-d); without the weights or without pytorch-fid, FID is reported as not measured, with the reason.
FID pools every target of one method and T over all clips (40 frames per clip are too few alone).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime


def fid_status(rt: Runtime) -> dict[str, Any]:
    """{"measured": bool, "reason": str, "weights": path or None}: whether FID can be measured here.

    pytorch-fid's ``InceptionV3`` reads its weights from the torch hub cache by file name, so FID is
    measured only when the resolved file is there (it is never downloaded).
    """
    import importlib.util
    from pathlib import Path

    from ...runtime.errors import MissingWeightsError
    from ...runtime.weights import torch_hub_checkpoints

    try:
        path = rt.resolve("inception-fid", check_hash=False)
    except MissingWeightsError:
        return {"measured": False, "reason": "not measured: no Inception weights (ModelSpec inception-fid, "
                "pt_inception-2015-12-05-6726825d.pth, not found locally)", "weights": None}
    if importlib.util.find_spec("pytorch_fid") is None:
        return {"measured": False, "reason": f"not measured: Inception weights found at {path} but the FID "
                "feature network (pytorch-fid) is not installed", "weights": str(path)}
    if Path(path).resolve().parent != torch_hub_checkpoints().resolve():
        return {"measured": False, "reason": f"not measured: pytorch-fid reads its weights only from "
                f"{torch_hub_checkpoints()}; {path} is elsewhere", "weights": str(path)}
    return {"measured": True, "reason": "pytorch-fid InceptionV3 pool3 features (2048-d), targets pooled over "
            "clips", "weights": str(path)}


def frechet_distance(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """Fréchet distance of Gaussians fitted to (N, D) and (M, D) features.

    ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)), the trace of the square root taken as the sum
    of the square roots of the eigenvalues of S_a S_b (real, non-negative up to round-off).
    """
    a, b = np.asarray(feats_a, np.float64), np.asarray(feats_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"need (N, D) and (M, D) features with N, M >= 2, got {a.shape} and {b.shape}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eig = np.linalg.eigvals(np.atleast_2d(s_a) @ np.atleast_2d(s_b))
    tr_sqrt = float(np.sqrt(np.clip(eig.real, 0, None)).sum())
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(np.atleast_2d(s_a)) + np.trace(np.atleast_2d(s_b))
                 - 2 * tr_sqrt)


def inception_features(rt: Runtime, images: np.ndarray, batch: int = 32) -> np.ndarray:
    """(N, 2048) pool3 features of (N, H, W, 3) uint8 images (only when ``fid_status`` says measured)."""
    import torch
    from pytorch_fid.inception import InceptionV3

    net = rt.load_cached("inception-fid-net", lambda: InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]])
                         .eval().to(rt.device))
    feats = []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(np.ascontiguousarray(images[i:i + batch])).permute(0, 3, 1, 2).float() / 255.0
        with torch.no_grad():
            feats.append(net(x.to(rt.device))[0].reshape(len(x), -1).cpu().numpy())
    return np.concatenate(feats)


__all__ = ["fid_status", "frechet_distance", "inception_features"]
