"""The default animation path for one photo, as three calls the pipeline makes (Averbuch-Elor et al. 2017):

- ``prepare`` (once per shot): the head layer (``head_layer.build_head_layer``: matte + filled background)
  and the face features (``features.prepare``: closed-aperture plate, mouth, eyes, irises);
- ``perform`` (once per driving track): the retargeted landmarks of every frame with each eye's lids and the
  lips following the driver (``targets``), the driver's gaze (its FaceTrack's irises, stabilised) and which
  frames hold no face (the previous pose is held). Everything that looks across frames happens here, on the
  full track, so any frame can be rendered alone (chunked renders equal a full render);
- ``render`` (per frame): the head layer warped by the fold-free map (``animate.animate_frame``), then the
  mouth interior and the eyes drawn in the target's openings (``features.animate_frame``).

Shapes: photo (H, W, 3) uint8 RGB; landmarks (68, 2) px; tracks (N, 68, 2).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ...runtime.errors import BadInputError
from .animate import animate_frame, blas_single_thread
from .features import FaceFeatures, FrameReport
from .head_layer import HeadLayer
from .motion import TPS_SMOOTH, NeckLine

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime
    from ..types import FaceTrack


MESH_MIN_FACE = 80.0   # px brows to chin: a smaller driver face gives the mesh too few pixels for its depth
GIVEN_SMOOTH = 0.01    # the head map's regulariser for landmarks given in the photo's own frame (``perform_landmarks``)


@dataclass
class Portrait:
    """A photo prepared for animation (see module docstring)."""

    photo: np.ndarray
    landmarks: np.ndarray
    head: HeadLayer
    features: FaceFeatures
    neck: NeckLine
    one_thread: Callable[[], AbstractContextManager]
    iris_run: Callable | None = None
    mesh_run: Callable | None = None
    depth: np.ndarray | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self.photo.shape[0], self.photo.shape[1]

    def describe(self) -> str:
        return self.head.describe()


@dataclass
class Performance:
    """A driving track prepared for one portrait.

    Attributes:
        targets: (N, 68, 2) float64 target landmarks in the photo's px (held where the driver has no face).
        valid: (N,) bool: the driver had a face.
        gaze: (N, 2, 2) iris offsets in eye widths per eye, or None (the photo keeps its gaze).
        frame_numbers: (N,) the driver's frame numbers.
        neutral: index of the driver frame matched to the photo's expression.
        teeth: (N, 2) how much upper / lower teeth the driver shows, smoothed, or None (no driver frames).
        mouth_covered: (N,) bool, the driver's mouth is covered (a hand): plain warp there; or None.
        dark: (N,) how dark the driver's parted mouth is inside (0: a lip-coloured strip), or None (dark).
        eyes_covered: (N, 2) bool, the driver's eye is hidden (glare): that eye keeps the photo's own shape
            and is not animated on that frame (plain warp); or None.
        smooth: the head map's regulariser away from the eyes and lips (``motion.fit_head_motion``):
            ``motion.TPS_SMOOTH`` smooths another person's track over, ``GIVEN_SMOOTH`` lands the photo's own.
        repaired: (N,) bool, the driver's landmarks there were a misfit and were interpolated from the frames
            around them (``perform``); or None.
    """

    targets: np.ndarray
    valid: np.ndarray
    gaze: np.ndarray | None
    frame_numbers: np.ndarray
    neutral: int
    teeth: np.ndarray | None = None
    mouth_covered: np.ndarray | None = None
    dark: np.ndarray | None = None
    eyes_covered: np.ndarray | None = None
    smooth: float = TPS_SMOOTH
    repaired: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.targets)


@dataclass
class PortraitFrame:
    """One rendered frame: image (H, W, 3) uint8, the moved head's alpha (H, W) float32, what it used."""

    image: np.ndarray
    alpha: np.ndarray
    report: FrameReport
    folds_repaired: int


def prepare(rt: Runtime | None, photo: np.ndarray, landmarks: np.ndarray, clean_plate: np.ndarray | None = None,
            own: list[tuple[np.ndarray, np.ndarray]] | None = None) -> Portrait:
    """Prepare ``photo`` with its (68, 2) ``landmarks``; ``clean_plate`` replaces the inpainted background;
    ``own``: the person's other photos as (image, landmarks) (mouth interiors to choose from).

    With the iris model, the eyelid points are first moved onto its lid contours (``iris.refine_eyelids``):
    the animation then moves, closes and repaints the lids the photo really has."""
    from .features import prepare as prepare_features
    from .head3d import depth_68, mesh_runner
    from .head_layer import build_head_layer
    from .iris import contour_runner, eye_contour, iris_runner, refine_eyelids

    lms = np.asarray(landmarks, np.float64)
    iris_run = iris_runner(rt) if rt is not None else None
    lids = contour_runner(rt) if rt is not None else None
    if lids is not None:
        lms = refine_eyelids(lms, [eye_contour(np.asarray(photo), lms, e, lids) for e in (0, 1)])
    mesh_run = mesh_runner(rt) if rt is not None else None
    depth = depth_68(np.asarray(photo), lms, mesh_run) if mesh_run is not None else None
    head = build_head_layer(rt, photo, lms, clean_plate)
    features = prepare_features(photo, lms, iris_run, own)
    return Portrait(np.asarray(photo), lms, head, features, NeckLine.from_landmarks(lms), blas_single_thread(),
                    iris_run, mesh_run, depth)


def perform(portrait: Portrait, driver: FaceTrack, mode: str = "relative",
            frames: Iterable[np.ndarray] | None = None,
            check: Callable[[np.ndarray, np.ndarray], bool] | None = None) -> Performance:
    """Targets for every frame of ``driver`` (``mode``: "relative" | "absolute" retargeting; the gaze follows
    the same mode: relative, the irises move from the photo's own rest by the driver's change from its rest,
    ``drive.relative_gaze``; absolute, they take the driver's offsets).

    ``frames``: the driver's frames (H', W', 3) uint8, in order, when the track carries no irises
    (``FaceTrack.iris``): the gaze is then located on them (the photo's iris locator); without either the
    photo keeps its own gaze. On them the tracker's landmarks are checked (``check``, default the face mesh's
    ``landmarks.misfit.MeshCheck`` when the portrait has the mesh): a misfit frame (dlib's mouth on the chin)
    takes landmarks interpolated from the frames around it (``Performance.repaired``)."""
    from ..landmarks.retarget import pick_neutral
    from .drive import drive_targets, relative_gaze, repair_frames, steadied
    from .driver_measures import measure_driver
    from .head3d import depth_68, mesh_check
    from .teeth import teeth_visibility

    if len(driver) == 0 or not driver.valid.any():
        raise BadInputError("the driving track has no frame with a valid face", driver.where,
                            int(driver.frame_numbers[0]) if len(driver) else None)
    steady = steadied(driver)
    drv = np.asarray(steady.landmarks, np.float64)
    valid = steady.valid & np.isfinite(drv).all(axis=(1, 2))
    neutral = pick_neutral(drv, valid, driver.where)                     # the clip's typical pose
    rest = pick_neutral(drv, valid, driver.where, photo=portrait.landmarks)   # ... with the photo's expression
    prior = teeth_visibility(portrait.photo, portrait.landmarks)
    if check is None and portrait.mesh_run is not None:
        check = mesh_check(portrait.mesh_run)
    measures = measure_driver(frames, drv, valid, driver.fps or 25.0, portrait.iris_run, driver.iris, keep=(neutral,),
                              teeth_prior=prior, check=check)
    repaired = np.zeros(len(drv), bool) if measures.misfit is None else measures.misfit & valid
    if repaired.any():   # chosen again without the misfits (a newly chosen neutral frame was not kept: its
                         # depth then falls back to the photo's, below)
        steady = repair_frames(steady, repaired)
        drv = np.asarray(steady.landmarks, np.float64)
        neutral = pick_neutral(drv, valid, driver.where)
        rest = pick_neutral(drv, valid, driver.where, photo=portrait.landmarks)
    neutral_depth = None
    if portrait.depth is not None:
        image = measures.kept.get(neutral)
        if image is not None and portrait.mesh_run is not None and face_size(drv[neutral]) >= MESH_MIN_FACE:
            neutral_depth = depth_68(image, drv[neutral], portrait.mesh_run)
        if neutral_depth is None:   # a landmark-only or small driver: the photo's depth, at the driver's face size
            neutral_depth = portrait.depth * face_size(drv[neutral]) / face_size(portrait.landmarks)
    targets, valid, neutral = drive_targets(steady, portrait.landmarks, portrait.size, mode, neutral, portrait.depth,
                                            neutral_depth, rest)
    if measures.eyes_covered is not None:
        targets = keep_covered_eyes(targets, portrait.landmarks, measures.eyes_covered)
    gaze = measures.gaze
    if gaze is not None and mode == "relative":   # the irises move as the driver's do, from where the photo's rest
        photo_gaze = np.array([np.full(2, np.nan) if eye.gaze is None else eye.gaze for eye in portrait.features.eyes])
        gaze = relative_gaze(gaze, photo_gaze)
    return Performance(targets, valid, gaze, np.asarray(driver.frame_numbers), neutral, measures.teeth,
                       measures.mouth_covered, measures.dark, measures.eyes_covered, repaired=repaired)


def keep_covered_eyes(targets: np.ndarray, photo: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """``targets`` (N, 68, 2) whose eyes that the driver hides (``covered`` (N, 2) bool) take the photo's own
    eye shape, moved by the similarity of that eye's corners: the tracker's lids under glare are noise."""
    from ..warping.warp import align_similarity
    from .regions import EYE_CORNERS, EYES

    out = np.array(targets, np.float64)
    p = np.asarray(photo, np.float64)
    for t, e in zip(*np.nonzero(np.asarray(covered, bool))):
        corners = list(EYE_CORNERS[e])
        m = align_similarity(p[corners], out[t, corners])
        out[t, list(EYES[e])] = p[list(EYES[e])] @ m[:, :2].T + m[:, 2]
    return out


def perform_landmarks(portrait: Portrait, landmarks: np.ndarray, source_landmarks: np.ndarray,
                      gaze: np.ndarray | None = None, teeth: np.ndarray | None = None) -> Performance:
    """Targets for landmarks already in the photo's own frame, e.g. other frames of the photo's own clip
    (self-reenactment) or keyframed curves: each frame's pose is kept as given (no steadying, no head
    model, no reference frame to align), and so are the lids: they open as far as the given landmarks'
    (``perform`` deepens another person's blinks to where its tracker reads shut, ``targets.eye_levels``;
    the same face's own landmarks need no such rescale). The lips follow as in ``perform``. The head map
    lands every point closer to where it is given (``GIVEN_SMOOTH``; ``perform`` smooths another face's
    shape over with ``motion.TPS_SMOOTH``).

    Args:
        portrait: from ``prepare``.
        landmarks: (N, 68, 2) in the photo's px, as the photo's own ``source_landmarks`` (68, 2) were found
            (``prepare`` may have refined the photo's lids: the targets keep that refinement).
        gaze: (N, 2, 2) iris offsets in eye widths, or None (the photo's own gaze).
        teeth: (N, 2) upper / lower teeth shown, or None (the synthesised interior shows the photo's).
    """
    from ..types import FaceTrack
    from .drive import drive_targets

    lms = np.asarray(landmarks, np.float64)
    if lms.ndim != 3 or lms.shape[1:] != (68, 2):
        raise BadInputError(f"landmarks must be (N, 68, 2), got {lms.shape}")
    n = len(lms)
    track = FaceTrack(np.concatenate([lms, np.asarray(source_landmarks, np.float64)[None]]), np.zeros((n + 1, 4)),
                      np.isfinite(lms).all(axis=(1, 2)).tolist() + [True], np.ones(n + 1), portrait.size)
    targets, valid, _ = drive_targets(track, portrait.landmarks, portrait.size, "relative", neutral=n, closed_level=0.0)
    return Performance(targets[:n], valid[:n], gaze, np.arange(n), n, teeth, None, smooth=GIVEN_SMOOTH)


def face_size(landmarks: np.ndarray) -> float:
    """The brows' centre to the chin, px, of (68, 2) landmarks."""
    p = np.asarray(landmarks, np.float64)
    return float(np.linalg.norm(p[8] - p[17:27].mean(0)))


def render(portrait: Portrait, performance: Performance, index: int,
           interior: tuple[np.ndarray, np.ndarray] | None = None) -> PortraitFrame:
    """Frame ``index`` of the performance; ``interior``: (image, landmarks) whose mouth interior to use (the
    driver's frame; in self-reenactment a frame of another clip), None: the interior is synthesised."""
    from .features import animate_frame as animate_features

    target = performance.targets[index]
    with portrait.one_thread():
        moved = animate_frame(portrait.size, portrait.landmarks, target, portrait.head, portrait.neck,
                              smooth=performance.smooth)
    gaze = None if performance.gaze is None else performance.gaze[index]
    teeth = None if performance.teeth is None else performance.teeth[index]
    covered = False if performance.mouth_covered is None else bool(performance.mouth_covered[index])
    dark = None if performance.dark is None else float(performance.dark[index])
    eyes = (False, False) if performance.eyes_covered is None else tuple(bool(c) for c in performance.eyes_covered[index])
    image, report = animate_features(portrait.features, moved.image, target, moved.full_maps(), gaze, interior,
                                     covered, eyes, teeth=teeth, dark=dark)
    return PortraitFrame(image, moved.alpha, report, moved.folds_repaired)
