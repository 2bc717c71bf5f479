"""Alpha matting of the head layer's edge, and the split of the photo into foreground and background.

- ``refine_alpha``: a binary head mask becomes an alpha matte: a trimap (the mask eroded = foreground,
  dilated = unknown band) solved by closed-form matting (Levin et al. 2008, ``pymatting.estimate_alpha_cf``)
  on the head box at a working scale, upsampled and sharpened against the full-resolution photo with a
  guided filter (He et al. 2010), so hair strands keep their soft edge at the photo's resolution.
- ``split_layers``: the photo I = alpha F + (1 - alpha) B, starting from multilevel foreground /
  background estimates (Germer et al. 2020, ``pymatting.estimate_foreground_ml``) and the clean plate or
  the inpainted background, with the rest of the compositing equation split between F and B by least
  squares, so that it holds exactly. An unmoved frame is therefore the photo itself, and the background
  the head uncovers is B.

Shapes: photo (H, W, 3) uint8; alpha (H, W) float32 in [0, 1].
"""
from __future__ import annotations

import numpy as np

MATTE_SIDE = 384      # closed-form matting runs on the head box scaled to this long side
BAND = 0.04           # the trimap's unknown band reaches this far inside the mask, in face heights
OUTWARD = 2.5         # ... and this many times as far outside it (stray hair)
SPECK = 0.03          # despeckle: islands of the matte under (this x the face height)^2 px are matting noise
B_STIFFNESS = 1000.0  # split_layers: a change of B costs this many times a change of F (B keeps the fill;
                      # at 10, pixels of a thin matte's fringe that show only the backdrop put their light into
                      # B: a speckled outline of the old head stood in the backdrop once the head moved)


def trimap(mask: np.ndarray, radius: int, outward: float = OUTWARD) -> np.ndarray:
    """(H, W) float64 trimap from a soft mask: 1 = foreground, 0 = background, 0.5 = unknown.

    The unknown band reaches ``radius`` px inside the mask and ``outward`` x ``radius`` outside it: coarse
    segmentations cut stray hair off, and matting can only find strands inside the band.
    """
    import cv2

    def disc(r: int) -> np.ndarray:
        return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))

    binary = (mask > 0.5).astype(np.uint8)
    fg = cv2.erode(binary, disc(radius)).astype(bool) & (mask > 0.9)
    bg = ~cv2.dilate(binary, disc(max(1, round(outward * radius)))).astype(bool) & (mask < 0.1)
    out = np.full(mask.shape, 0.5)
    out[fg], out[bg] = 1.0, 0.0
    return out


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float = 1e-4) -> np.ndarray:
    """Grey-guide guided filter (He et al. 2010): ``src`` (H, W) smoothed along ``guide``'s (H, W) edges."""
    import cv2

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = box(guide), box(src)
    var_i = box(guide * guide) - mean_i * mean_i
    cov = box(guide * src) - mean_i * mean_p
    a = cov / (var_i + eps)
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


def refine_alpha(photo: np.ndarray, mask: np.ndarray, box: tuple[int, int, int, int], face_height: float,
                 band: float = BAND) -> np.ndarray:
    """Alpha matte (H, W) float32 of the soft ``mask`` inside ``box``; exactly 0 outside it.

    Raises:
        ImportError: pymatting is not installed (callers fall back to ``feather``).
    """
    import cv2
    from pymatting import estimate_alpha_cf

    x0, y0, x1, y1 = box
    crop, sub = photo[y0:y1, x0:x1], mask[y0:y1, x0:x1]
    scale = min(1.0, MATTE_SIDE / max(x1 - x0, y1 - y0))
    small = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA).astype(np.float64) / 255
    small_mask = cv2.resize(sub, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
    radius = max(2, round(band * face_height * scale))
    tri = trimap(small_mask, radius)
    if (tri == 0.5).any() and (tri == 1).any() and (tri == 0).any():
        alpha_small = estimate_alpha_cf(small, tri)
    else:
        alpha_small = tri
    alpha = cv2.resize(alpha_small.astype(np.float32), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    unknown = cv2.resize((tri == 0.5).astype(np.uint8), (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
    if scale < 1.0:
        grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
        sharp = guided_filter(grey, alpha, max(1, round(1.5 / scale)))
        alpha = np.where(unknown.astype(bool), sharp, alpha)
    out = np.zeros(mask.shape, np.float32)
    out[y0:y1, x0:x1] = np.clip(alpha, 0, 1)
    out[out < 1 / 255] = 0
    out[out > 254 / 255] = 1
    return out


def despeckle(alpha: np.ndarray, face_height: float, level: float, speck: float = SPECK) -> np.ndarray:
    """``alpha`` (H, W) float32 without the matting's specks: a pinhole of background inside the layer
    (pixels at most ``level`` enclosed by the layer) takes the highest alpha around it, and a fleck of
    layer off the layer (not connected to its largest part) is dropped; both under (``speck`` x
    ``face_height``)^2 px. Left in, a pinhole keeps the photo's pixel in the background (a dot of the
    helmet ring left behind once the head moves) and a fleck carries a dot away with it."""
    import cv2

    limit = (speck * face_height) ** 2
    out = alpha.copy()
    layer = (alpha > level).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(1 - layer, connectivity=4)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    small = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] < limit)
    holes = np.isin(labels, np.setdiff1d(small[small > 0], edge))
    if holes.any():
        reach = 2 * int(np.ceil(np.sqrt(limit) / 2)) + 1
        out[holes] = cv2.dilate(alpha, np.ones((reach, reach), np.uint8))[holes]
    n, labels, stats, _ = cv2.connectedComponentsWithStats(layer, connectivity=8)
    if n > 2:
        main = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        flecks = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] < limit)
        out[np.isin(labels, flecks[(flecks > 0) & (flecks != main)])] = 0
    return out


def feather(mask: np.ndarray, face_height: float) -> np.ndarray:
    """Fallback matte without pymatting: the binary mask blurred over a few pixels (H, W) float32."""
    import cv2

    sigma = max(0.8, 0.01 * face_height)
    return np.clip(cv2.GaussianBlur((mask > 0.5).astype(np.float32), (0, 0), sigma), 0, 1)


def coverage_need(photo: np.ndarray, b0: np.ndarray) -> np.ndarray:
    """(H, W) float32 in [0, 1]: the least coverage that explains the photo (H, W, 3) over the background ``b0``
    (H, W, 3, 0-255) with a foreground in 0-255: I = a F + (1 - a) B0 needs a >= 1 - I / B0 (a pixel darker
    than the background's share) and a >= (I - B0) / (255 - B0) (a brighter one), per channel."""
    image = photo.astype(np.float32)
    b = np.clip(np.asarray(b0, np.float32), 0, 255)
    darker = 1 - image / np.maximum(b, 1e-3)
    brighter = (image - b) / np.maximum(255 - b, 1e-3)
    return np.clip(np.maximum(darker, brighter).max(-1), 0, 1).astype(np.float32)


def least_alpha(photo: np.ndarray, alpha: np.ndarray, b0: np.ndarray, also: np.ndarray | None = None,
                need: np.ndarray | None = None) -> np.ndarray:
    """``alpha`` (H, W) float32 raised, where it is above 0 or ``also`` ((H, W) bool) holds, to the least
    coverage that explains the photo over the filled background ``b0`` (``coverage_need``, or ``need`` when the
    caller has it). Below it, ``split_layers`` must put the rest into B: the black ring of a helmet matted at
    0.97 left a black or orange dot in the background (B = (I - a F) / (1 - a)), and its rim a streak, where
    the head moves away."""
    where = alpha > 0 if also is None else (alpha > 0) | also
    need = coverage_need(photo, b0) if need is None else need
    return np.where(where, np.maximum(alpha, need), alpha).astype(np.float32)


def split_layers(photo: np.ndarray, alpha: np.ndarray, f0: np.ndarray, b0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Foreground F and background B (H, W, 3) float32 with photo == alpha F + (1 - alpha) B exactly.

    Starting from estimates F0 (``estimate_fb``) and B0 (the clean plate, or the filled background), the
    residual r = I - alpha F0 - (1 - alpha) B0 is split by weighted least squares (the smallest
    |dF|^2 + K |dB|^2 with alpha dF + (1 - alpha) dB = r, K = ``B_STIFFNESS``): dF = r alpha / n,
    dB = r (1 - alpha) / (K n), n = alpha^2 + (1 - alpha)^2 / K. No value is divided by a small alpha (dF is
    at most about sqrt(K) / 2 x r), and B keeps the fill: a share of r left in B (hair-coloured, or the
    backdrop's light where a thin fringe shows only the backdrop) is the outline the moving head uncovers.
    F is kept in 0-255; what clipping leaves goes into B. Outside the box of alpha > 0 this is F0 (clipped)
    and the photo, so only that box is computed.

    Args:
        photo: (H, W, 3) uint8; alpha: (H, W) float32; f0, b0: (H, W, 3) float 0-255.
    """
    f = np.clip(np.asarray(f0, np.float32), 0, 255)
    b = photo.astype(np.float32)
    ys, xs = np.nonzero(alpha > 0)
    if not len(ys):
        return f, b
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    image = b[box].copy()
    inside = alpha[box]
    a = inside[..., None].astype(np.float32)
    f0, b0 = np.asarray(f0, np.float32)[box], np.asarray(b0, np.float32)[box]
    residual = image - (a * f0 + (1 - a) * b0)
    norm = a * a + (1 - a) * (1 - a) / B_STIFFNESS
    f_box = np.clip(f0 + residual * a / norm, 0, 255)
    b_box = b0 + residual * (1 - a) / (B_STIFFNESS * norm)
    residual = image - (a * f_box + (1 - a) * b_box)  # left by clipping F (zero where alpha == 1: F = I there)
    b_box = np.where(a < 1, b_box + residual / np.maximum(1 - a, 1e-6), b_box)
    b_box[inside <= 0] = image[inside <= 0]
    f[box], b[box] = f_box, b_box
    return f, b


def estimate_fb(photo: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F and B (H, W, 3) float32 0-255 by pymatting's multilevel estimation on the alpha's bounding box
    (the photo itself outside it, or everywhere when pymatting is missing)."""
    ys, xs = np.nonzero(alpha > 0)
    f = photo.astype(np.float32)
    b = f.copy()
    if not len(ys):
        return f, b
    pad = 16
    y0, y1 = max(0, ys.min() - pad), min(alpha.shape[0], ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(alpha.shape[1], xs.max() + pad + 1)
    try:
        from pymatting import estimate_foreground_ml
    except ImportError:  # pragma: no cover - pymatting is a dependency; keep the layer usable without it
        return f, b
    crop = photo[y0:y1, x0:x1].astype(np.float64) / 255
    fg, bg = estimate_foreground_ml(crop, alpha[y0:y1, x0:x1].astype(np.float64), return_background=True)
    f[y0:y1, x0:x1] = fg * 255
    b[y0:y1, x0:x1] = bg * 255
    return f, b
