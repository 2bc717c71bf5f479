"""Region-wise sources for the warp: the mouth and the eyes from the few-shot frame whose mouth / eyes
look most like the target's, composited over the warp of the nearest frame.

A warp of one frame cannot open a closed mouth or eye (the floor's weakness on "hard" frames), but
another of the person's T frames often shows the mouth or eyes in the target's state. For each region
the source minimising

    region_distance(source, target) + POSE_WEIGHT * aligned_distance(source, target)

is chosen (shape of the region after a similarity fit, over the region's width; plus the whole face's
pose and expression distance, so a frame in a very different head pose is not pulled in); it replaces
the nearest frame for that region only when its cost is below REGION_GATE x the nearest frame's (a
small gain is not worth the blend). Each chosen source is warped to the target landmarks
(``warp.warp_face``) and laid over the base warp through a feathered mask around the region.

Measured on the 14 clips of ../shared/data/clips at 128 px (40 targets each, mean over clips),
against the warp of the nearest frame: hard-frame eye SSIM 0.678 -> 0.707 (T = 8) and 0.645 -> 0.729
(T = 32), hard-frame mouth SSIM 0.754 -> 0.757 and 0.760 -> 0.788, face SSIM +0.001 to +0.002, face
detail 0.840 -> 0.834 (T = 8). The weights were chosen on those clips (a sweep of pose weight
0.25 / 0.5 / 1 at gate 0.8; an ungated first version that matched openings only lost 0.05 face detail).

Images are (S, S, 3) uint8 RGB; landmarks (68, 2) float x, y px, iBUG 300-W order.
"""
from __future__ import annotations

import numpy as np

from .warp import align_similarity, aligned_distance, warp_face

# region -> (points whose shape picks the source, point groups whose hulls form the mask)
REGIONS: dict[str, tuple[np.ndarray, tuple[np.ndarray, ...]]] = {
    "mouth": (np.arange(48, 68), (np.arange(48, 60),)),
    "eyes": (np.arange(36, 48), (np.arange(36, 42), np.arange(42, 48))),
}
POSE_WEIGHT = 0.5
REGION_GATE = 0.8
MASK_GROW = 0.3  # each hull grown by this fraction about its centre; feathered by 0.15 x its width


def region_distance(src: np.ndarray, dst: np.ndarray, idx: np.ndarray) -> float:
    """Mean distance of ``src``'s points ``idx`` to ``dst``'s after a similarity fit, over their width in ``dst``."""
    s, d = np.asarray(src, np.float64)[idx], np.asarray(dst, np.float64)[idx]
    m = align_similarity(s, d)
    moved = s @ m[:, :2].T + m[:, 2]
    return float(np.linalg.norm(moved - d, axis=1).mean() / max(float(np.ptp(d[:, 0])), 1e-9))


def region_sources(sources: np.ndarray, target: np.ndarray, base: int, allowed: np.ndarray | None = None,
                   pose_weight: float = POSE_WEIGHT, gate: float = REGION_GATE,
                   pose: np.ndarray | None = None) -> dict[str, int]:
    """For each region, the source index to take it from (``base`` when no other is clearly better).

    Args:
        sources: (T, 68, 2) source landmarks; target: (68, 2).
        base: index of the frame the rest of the face is warped from.
        allowed: (T,) bool, sources that may be used (default all); ``base`` must be allowed.
        pose_weight, gate: see the module docstring.
        pose: (T,) ``aligned_distance`` of each source to the target, when already computed.
    Returns:
        {"mouth": index, "eyes": index}.
    """
    allowed = np.ones(len(sources), bool) if allowed is None else np.asarray(allowed, bool)
    pose = np.array([aligned_distance(s, target) for s in sources]) if pose is None else np.asarray(pose)
    picks = {}
    for name, (idx, _) in REGIONS.items():
        cost = np.array([region_distance(s, target, idx) for s in sources]) + pose_weight * pose
        cost[~allowed] = np.inf
        k = int(cost.argmin())
        picks[name] = k if cost[k] < gate * cost[base] else int(base)
    return picks


def region_mask(landmarks: np.ndarray, groups: tuple[np.ndarray, ...], size: tuple[int, int],
                grow: float = MASK_GROW) -> np.ndarray:
    """(H, W, 1) float32 in [0, 1]: the grown convex hulls of ``groups`` of ``landmarks``, feathered."""
    import cv2

    mask = np.zeros(size, np.float32)
    width = 1.0
    for idx in groups:
        pts = np.asarray(landmarks, np.float64)[idx]
        centre = pts.mean(0)
        hull = cv2.convexHull(np.round(centre + (pts - centre) * (1 + grow)).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 1.0)
        width = max(width, float(np.ptp(pts, axis=0).max()))
    return cv2.GaussianBlur(mask, (0, 0), max(1.0, 0.15 * width))[..., None]


def composite_warp(layers: list[tuple[np.ndarray, np.ndarray, str | None]], target: np.ndarray) -> np.ndarray:
    """Warp every layer to ``target`` and lay the region layers over the first (the base, region None).

    Args:
        layers: (crop (S,S,3) uint8, its landmarks (68,2), region name or None), base first.
        target: (68, 2) target landmarks.
    Returns:
        (S, S, 3) uint8.
    """
    crop, lms, _ = layers[0]
    out = warp_face(crop, lms, target)
    if len(layers) == 1:
        return out
    out = out.astype(np.float32)
    for crop, lms, region in layers[1:]:
        mask = region_mask(target, REGIONS[region][1], crop.shape[:2])
        out += mask * (warp_face(crop, lms, target).astype(np.float32) - out)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def choose_layers(sources: np.ndarray, target: np.ndarray, exclude: int | None = None) -> list[tuple[int, str | None]]:
    """The (source index, region) layers for one target: the nearest allowed source (region None), then each
    region whose best source differs from it. ``exclude`` bars one source (ignored when T = 1)."""
    allowed = np.ones(len(sources), bool)
    if exclude is not None and len(sources) > 1:
        allowed[int(exclude)] = False
    pose = np.array([aligned_distance(s, target) for s in sources])
    base = int(np.where(allowed, pose, np.inf).argmin())
    picks = region_sources(sources, target, base, allowed, pose=pose)
    return [(base, None)] + [(k, name) for name, k in picks.items() if k != base]


__all__ = ["MASK_GROW", "POSE_WEIGHT", "REGIONS", "REGION_GATE", "choose_layers", "composite_warp", "region_distance",
           "region_mask", "region_sources"]
