"""Contact sheet of one photo x clip: a header row (the photo), then rows of evenly spaced frames with
the driver frame and each method's output side by side, every cell labelled.

Cells: ``cell`` px high (aspect kept, letterboxed), or at full resolution with ``cell=0`` (images at
their own size; each row as high as its tallest image). ``crop="head"`` shows the head region (the
square around ``background.head_region_points`` of the photo's / the driver's landmarks, grown by 50 %)
instead of the whole frame, the same box for every frame of a side, so motion stays visible.
"""
from __future__ import annotations

import numpy as np

LABEL_PX = 18


def sheet_indices(n_frames: int, rows: int) -> list[int]:
    """Up to ``rows`` evenly spaced frame indices in 0..n_frames-1 (first and last included)."""
    if n_frames <= 0 or rows <= 0:
        return []
    return sorted({round(float(v)) for v in np.linspace(0, n_frames - 1, min(rows, n_frames))})


def head_box(landmarks: np.ndarray, size: tuple[int, int], grow: float = 1.5) -> tuple[int, int, int, int]:
    """Square (x0, y0, x1, y1) around the head region of (68, 2) ``landmarks``, clipped to (H, W)."""
    from .background import head_region_points

    pts = head_region_points(landmarks)
    lo, hi = pts.min(0), pts.max(0)
    centre, side = (lo + hi) / 2, grow * float((hi - lo).max())
    h, w = size
    x0, y0 = (centre - side / 2).astype(int)
    x1, y1 = (centre + side / 2).astype(int)
    return max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)


def _fit(image: np.ndarray, cell: int) -> np.ndarray:
    """Resize so the height is ``cell`` (0: unchanged)."""
    import cv2

    if cell <= 0 or image.shape[0] == cell:
        return image
    scale = cell / image.shape[0]
    size = (max(1, round(image.shape[1] * scale)), cell)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def _label(image: np.ndarray, text: str) -> np.ndarray:
    """``image`` with a black strip on top holding ``text``."""
    import cv2

    strip = np.zeros((LABEL_PX, image.shape[1], 3), np.uint8)
    cv2.putText(strip, text[: max(1, image.shape[1] // 8)], (3, LABEL_PX - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.42,
                (255, 255, 255), 1, cv2.LINE_AA)
    return np.concatenate([strip, image], axis=0)


def _row(cells: list[np.ndarray], gap: int = 4) -> np.ndarray:
    height = max(c.shape[0] for c in cells)
    padded = []
    for c in cells:
        box = np.zeros((height, c.shape[1] + gap, 3), np.uint8)
        box[:c.shape[0], :c.shape[1]] = c
        padded.append(box)
    return np.concatenate(padded, axis=1)


def contact_sheet(photo: np.ndarray, driver: list[np.ndarray], outputs: dict[str, list[np.ndarray]],
                  numbers: list[int], cell: int = 320, photo_box: tuple[int, int, int, int] | None = None,
                  driver_box: tuple[int, int, int, int] | None = None, title: str = "") -> np.ndarray:
    """The sheet (see module docstring) as one (H, W, 3) uint8 image.

    Args:
        photo: (H, W, 3) the source photo.
        driver: one driver frame per row; outputs: {method: one output frame per row} (photo's size).
        numbers: the frame index of each row (labels).
        cell: cell height in px, 0 for full resolution.
        photo_box, driver_box: (x0, y0, x1, y1) crops of the photo / outputs and of the driver frames.
    """
    def crop(image: np.ndarray, box: tuple[int, int, int, int] | None) -> np.ndarray:
        return image if box is None else image[box[1]:box[3], box[0]:box[2]]

    rows = [_row([_label(_fit(crop(photo, photo_box), cell), f"photo {title}")])]
    for k, number in enumerate(numbers):
        cells = [_label(_fit(crop(driver[k], driver_box), cell), f"driver #{number}")]
        cells += [_label(_fit(crop(frames[k], photo_box), cell), f"{name} #{number}") for name, frames in outputs.items()]
        rows.append(_row(cells))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0))) for r in rows]
    return np.concatenate(rows, axis=0)


__all__ = ["contact_sheet", "head_box", "sheet_indices"]
