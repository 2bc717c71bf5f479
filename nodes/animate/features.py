"""Mouth and eyes on the warped frame (issue 19): the per-shot preparation of the photo and the per-frame
pass that follows the face warp (``nodes/animate`` motion, or ``warp.warp_face`` until it lands).

Per shot, ``prepare``: the photo with closed apertures (``plate``), its mouth (``mouth.analyse_source``)
and its two eyes (``eyes.analyse_eye``, iris from a model runner when given, else ``iris.locate_iris``).
Per frame, ``animate_frame``: where the face warp sampled the photo's mouth or eye openings, it samples the
closed plate instead; then the mouth interior and the eyeballs are drawn inside the target's openings. Every
frame returns a ``FrameReport`` saying which mouth source it used and whether each eye was animated or fell
back to the plain warp (and why); ``summarise`` counts them.

What a driving clip asks for (gaze, teeth, covered mouths and eyes) is measured once per track by
``driver_measures.measure_driver``.

Images (H, W, 3) uint8 RGB; landmarks (68, 2) px; maps: (map_x, map_y) (H, W) float32 for ``cv2.remap``.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import eyes as eyes_mod
from . import mouth as mouth_mod
from .iris import IrisEstimate, locate_iris, locate_iris_model
from .plate import aperture_masks, close_apertures, lips_meet
from .regions import EYES, OUTER_LIP, box_around
from .teeth import teeth_visibility


@dataclass
class FaceFeatures:
    """The photo's features, prepared once per shot (see module docstring); ``own_teeth`` (K, 2): how much
    upper and lower teeth each own frame shows (``teeth.teeth_visibility``)."""

    photo: np.ndarray
    landmarks: np.ndarray
    plate: np.ndarray
    plate_masks: dict
    mouth: mouth_mod.SourceMouth
    eyes: tuple[eyes_mod.SourceEye, eyes_mod.SourceEye]
    own: list = field(default_factory=list)
    lips_meet: bool = False
    own_teeth: np.ndarray | None = None


@dataclass
class FrameReport:
    """What one frame used: mouth source (``mouth.SOURCES``) and per eye "animated" or "fallback: why"."""

    mouth: str
    eyes: tuple[str, str]


def locate_both(image: np.ndarray, landmarks: np.ndarray, run: Callable | None = None) -> list[IrisEstimate]:
    """Both irises: the model when ``run`` is given (falling back per eye to the classical locator when it
    fails), else the classical locator."""
    out = []
    for eye in (0, 1):
        est = locate_iris_model(image, landmarks, eye, run) if run is not None else None
        if est is None or not est.ok:
            est = locate_iris(image, np.asarray(landmarks)[EYES[eye]])
        out.append(est)
    return out


def prepare(photo: np.ndarray, landmarks: np.ndarray, iris_run: Callable | None = None,
            own: list[tuple[np.ndarray, np.ndarray]] | None = None) -> FaceFeatures:
    """Prepare the photo (see module docstring). ``own``: the person's other few-shot (image, landmarks)."""
    import cv2

    lms = np.asarray(landmarks, np.float64)
    irises = locate_both(photo, lms, iris_run)
    eyes = tuple(eyes_mod.analyse_eye(photo, lms, e, irises[e]) for e in (0, 1))
    apertures = aperture_masks(photo, lms)
    masks = {}
    for name, m in apertures.items():
        grown = cv2.dilate(m, np.ones((5, 5), np.uint8)).astype(np.float32)
        masks[name] = cv2.GaussianBlur(grown, (0, 0), 1.0)
    own = list(own or [])
    own_teeth = np.array([teeth_visibility(image, np.asarray(o_lms, np.float64)) for image, o_lms in own]).reshape(-1, 2)
    return FaceFeatures(photo, lms, close_apertures(photo, lms, masks=apertures), masks,
                        mouth_mod.analyse_source(photo, lms), eyes, own, lips_meet(photo, lms), own_teeth)


def _close_region(out: np.ndarray, feat: FaceFeatures, name: str, maps: tuple[np.ndarray, np.ndarray],
                  box: tuple[int, int, int, int]) -> None:
    """In ``box`` of ``out``, replace what the warp sampled from the photo's aperture ``name`` by the plate."""
    import cv2

    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:  # the region lies outside the frame
        return
    mx, my = maps[0][y0:y1, x0:x1], maps[1][y0:y1, x0:x1]
    m = cv2.remap(feat.plate_masks[name], mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)[..., None]
    if m.max() <= 0:
        return
    plate = cv2.remap(feat.plate, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    win = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(np.round(win + m * (plate - win)), 0, 255).astype(np.uint8)


def animate_frame(feat: FaceFeatures, warped: np.ndarray, target: np.ndarray,
                  maps: tuple[np.ndarray, np.ndarray] | None = None, gaze: np.ndarray | None = None,
                  interior: tuple[np.ndarray, np.ndarray] | None = None, mouth_covered: bool = False,
                  eyes_covered: tuple[bool, bool] = (False, False), teeth: np.ndarray | None = None,
                  dark: float | None = None) -> tuple[np.ndarray, FrameReport]:
    """Mouth interior and eyes for one frame.

    Args:
        feat: from ``prepare``.
        warped: (H, W, 3) uint8, the photo warped to ``target`` by the face warp.
        target: (68, 2) target landmarks (after ``targets.eyelid_targets`` / ``mouth_targets``).
        maps: the face warp's sampling maps (default: ``warp.warp_face_maps`` of the photo to ``target``).
        gaze: (2, 2) iris offsets in eye widths per eye (None or NaN rows: the photo's own gaze).
        interior: (image, landmarks) whose mouth interior to use (the driver frame; in self-reenactment a
            frame of ANOTHER clip); None: synthesised.
        mouth_covered, eyes_covered: the driver's mouth / eyes are occluded on this frame: plain warp there.
        teeth: (2,) how much upper / lower teeth the driver shows (``mouth.render_mouth``), or None.
        dark: how dark the driver's parted mouth is inside, [0, 1] (``mouth.render_mouth``), or None.
    Returns:
        (H, W, 3) uint8 and the FrameReport.
    """
    target = np.asarray(target, np.float64)
    if maps is None:
        from ..warping.warp import warp_face_maps

        maps = warp_face_maps(warped.shape[:2], feat.landmarks, target)
    out = warped.copy()
    own_lms = np.array([lms for _, lms in feat.own]) if feat.own else None
    source = mouth_mod.choose(target, own_lms, interior is not None, mouth_covered, feat.own_teeth, teeth)
    if not _inside(target[OUTER_LIP], out.shape[:2]):
        source = "fallback"  # the mouth is (partly) outside the frame: the plain warp there
    if source != "fallback":
        if not (source == "closed" and feat.lips_meet):   # closed over closed lips: the photo's own junction
            _close_region(out, feat, "mouth", maps, box_around(target[OUTER_LIP], out.shape[:2], grow=0.6))
        own = None
        if source == "own":
            own = feat.own[mouth_mod.own_match(own_lms, target, mouth_mod.OWN_GATE, feat.own_teeth, teeth)]
        out = mouth_mod.render_mouth(out, target, feat.mouth, source, interior, own, teeth, dark)
    states = []
    for e, src in enumerate(feat.eyes):
        if not src.ok or eyes_covered[e] or not _inside(target[EYES[e]], out.shape[:2]):
            why = src.reason if not src.ok else "occluded in the driver" if eyes_covered[e] else "outside the frame"
            states.append("fallback: " + why)
            continue
        _close_region(out, feat, f"eye{e}", maps, box_around(target[EYES[e]], out.shape[:2], grow=0.8))
        g = None if gaze is None else np.asarray(gaze, np.float64)[e]
        out = eyes_mod.render_eye(out, feat.landmarks, target, src, g)
        states.append("animated")
    return out, FrameReport(source, (states[0], states[1]))


def _inside(points: np.ndarray, size: tuple[int, int], margin: float = 2.0) -> bool:
    """Do (K, 2) ``points`` lie inside an image of ``size`` (H, W), ``margin`` px from its edges?"""
    h, w = size
    return bool(((points >= margin) & (points <= [w - 1 - margin, h - 1 - margin])).all())


def summarise(reports: list[FrameReport]) -> dict:
    """Counts per mouth source and per eye state over a shot, e.g. for the render report."""
    return {"frames": len(reports), "mouth": dict(Counter(r.mouth for r in reports)),
            "eye0": dict(Counter(r.eyes[0] for r in reports)), "eye1": dict(Counter(r.eyes[1] for r in reports))}


__all__ = ["FaceFeatures", "FrameReport", "animate_frame", "locate_both", "prepare", "summarise"]
