"""Make the example media: a 256 px portrait and a short synthetic driving FaceTrack (run once; outputs committed).

- ``astronaut.png``: scikit-image's astronaut photo (NASA, public domain), face region, 256 x 256.
- ``driver.track.npz``: 12 frames of the portrait's own dlib landmarks with a head sway and the mouth
  opening and closing (frame numbers 1001..1012), so the examples need no driving video.

    python examples/media/make_media.py
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
N_FRAMES = 12
FIRST = 1001


def portrait() -> np.ndarray:
    import cv2
    from skimage import data

    face = data.astronaut()[20:276, 120:376]  # the face and shoulders, 256 x 256
    return cv2.resize(face, (256, 256), interpolation=cv2.INTER_AREA)


def animate(landmarks: np.ndarray, n: int = N_FRAMES) -> np.ndarray:
    """(n, 68, 2): sway by a few pixels and degrees, open the mouth (points 48..67) up to ~12% of the face."""
    centre = landmarks.mean(0)
    height = landmarks[:, 1].max() - landmarks[:, 1].min()
    frames = []
    for i in range(n):
        phase = 2 * np.pi * i / n
        angle = np.deg2rad(4.0 * np.sin(phase))
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        points = landmarks.copy()
        lower = np.r_[55:60, 64:68]  # lower lip, outer and inner
        points[lower, 1] += 0.12 * height * max(0.0, np.sin(phase))
        points = (points - centre) @ rot.T + centre + [3.0 * np.sin(phase), 0.0]
        frames.append(points)
    return np.stack(frames).astype(np.float32)


def main() -> None:
    from talkinghead.nodes.landmarks.extract import detect_landmarks_image
    from talkinghead.nodes.media.io import write_image
    from talkinghead.nodes.types import FaceTrack
    from talkinghead.runtime.runtime import Runtime

    image = portrait()
    write_image(HERE / "astronaut.png", image)
    rt = Runtime(device="cpu", precision="32-true")
    landmarks, _box, score = detect_landmarks_image(rt, image, backend="dlib", path="astronaut.png")
    lms = animate(landmarks)
    boxes = np.concatenate([lms.min(1), lms.max(1)], axis=1)
    track = FaceTrack(lms, boxes, np.ones(N_FRAMES, bool), np.full(N_FRAMES, score, np.float32), image.shape[:2],
                      np.arange(FIRST, FIRST + N_FRAMES), 25.0, "dlib+synthetic-motion", "", "examples/media/astronaut.png")
    track.save(HERE / "driver.track.npz")
    print(f"wrote {HERE / 'astronaut.png'} and {HERE / 'driver.track.npz'} ({N_FRAMES} frames)")


if __name__ == "__main__":
    main()
