"""Cross-identity evaluation: photos x driving clips x methods -> per-frame measures, a table, contact sheets.

Per clip (once): its landmark track (``clips.clip_track``, cached: what a method is driven by) and the
REFERENCE: landmarks found on every driver frame by ``FaceFollower`` (dlib HOG in a window around the
last face, the 68-point predictor: the product's tracker), with every signal of
``cross_metrics.frame_signals``. Per photo: its landmarks, found as a clip's first frame is. Per method:
each output frame (the method's lossless pixels) has its landmarks RE-DETECTED by the same follower,
starting at the photo's face, never copied from the driver; then the signals, the dlib descriptor
distance to the photo (``identity``) and the squared error outside the head (``background``). The driver
and the output are measured by the very same functions, so an output that IS the driver's clip (with
its first frame as the photo) scores r = 1, full agreement and no gaze error (tested). Measures and failure rules:
``cross_metrics``; the report: ``cross_report``.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...runtime.errors import BadInputError, UsageError
from .cross_methods import METHODS, CrossScene

SHEET_ROWS = 6


@dataclass(frozen=True)
class CrossConfig:
    """What to evaluate.

    Attributes:
        sources: photos; drivers: driving clips (every photo x every clip).
        methods: names in ``cross_methods.METHODS``.
        frames: use only the first N frames of each clip (None: all).
        preset: the product's base model preset; rendered: the frames the "rendered" method reads.
        sheets: folder for one contact sheet per photo x clip (None: none); sheet: the path of the sheet
            when there is exactly one pair (overrides ``sheets``).
        sheet_rows, sheet_cell (0: full resolution), sheet_crop ("head" | "none").
        exact_identity: recheck distances near the threshold with dlib itself.
        iris: the iris locator, a name in ``gaze.LOCATORS``.
        cache_dir: landmark track cache (None: ``clips.default_cache_dir()``).
        command: argv recorded in the report.
    """

    sources: tuple[Path, ...]
    drivers: tuple[Path, ...]
    methods: tuple[str, ...] = ("warp", "product")
    frames: int | None = None
    preset: str = "small-128-warp"
    rendered: str | None = None
    sheets: Path | None = None
    sheet: Path | None = None
    sheet_rows: int = SHEET_ROWS
    sheet_cell: int = 320
    sheet_crop: str = "head"
    exact_identity: bool = True
    iris: str = "classic"
    cache_dir: Path | None = None
    command: tuple[str, ...] = field(default_factory=tuple)


class FaceFollower:
    """68 landmarks of one face through a stream of frames, found the way the product's tracker finds them
    (``DlibBackend.track``: HOG re-detection in a window around the last face, a few ms; full-frame HOG
    when it is lost), so the driver's track and an output are measured alike.

    Args:
        backend: the dlib landmark backend.
        box: (4,) x0, y0, x1, y1 where the face is expected (an output: the photo's face), or None
            (the largest face of the first frame).
        verify: ``(image, landmarks) -> bool``, False for a misfit (``misfit.MeshCheck``): that frame then
            has no face, and ``misfits`` counts it; None: every fit is taken.
    When the window loses the face, a full-frame detection counts only if it lies within one face width
    of the last face (a false face elsewhere, e.g. on clothing, is not this face).
    """

    def __init__(self, backend: Any, box: np.ndarray | None = None,
                 verify: Callable[[np.ndarray, np.ndarray], bool] | None = None):
        self.backend, self.verify, self.misfits = backend, verify, 0
        self.state: dict[str, Any] = {"box": None if box is None else np.asarray(box, np.float64),
                                      "tracking": box is not None}

    @staticmethod
    def _pick(dets: np.ndarray, previous: np.ndarray | None) -> int | None:
        if not len(dets):
            return None
        if previous is None:
            return int(np.argmax((dets[:, 2] - dets[:, 0]) * (dets[:, 3] - dets[:, 1])))
        centres = (dets[:, :2] + dets[:, 2:4]) / 2
        dist = np.linalg.norm(centres - (previous[:2] + previous[2:4]) / 2, axis=1)
        k = int(np.argmin(dist))
        return k if dist[k] <= previous[2] - previous[0] else None

    @property
    def box(self) -> np.ndarray | None:
        """(4,) box of the last face found (None before the first)."""
        return None if self.state["box"] is None else np.asarray(self.state["box"], np.float64)

    def __call__(self, image: np.ndarray) -> np.ndarray | None:
        """(68, 2) float32 landmarks of the face in ``image`` (H, W, 3) uint8, or None."""
        from ..landmarks.tracking import track

        lms, _, _ = track(self.backend, [np.ascontiguousarray(image[..., :3])], self.state, self._pick)
        if not np.isfinite(lms[0]).all():
            return None
        if self.verify is not None and not self.verify(image, lms[0]):
            self.misfits += 1
            return None
        return lms[0]


def start_follower(backend: Any, image: np.ndarray,
                   verify: Callable[[np.ndarray, np.ndarray], bool] | None = None) -> FaceFollower:
    """A FaceFollower (checking its fits with ``verify``) placed on the largest face of ``image``: a
    full-frame detection, then one window re-detection from that box, whose box it starts from (its first
    call on ``image`` then finds the face exactly as every later frame is found). Without a face it starts
    from nothing (full-frame detection)."""
    first = FaceFollower(backend)
    if first(image) is None:
        return FaceFollower(backend, verify=verify)
    settle = FaceFollower(backend, first.box)
    return FaceFollower(backend, settle.box if settle(image) is not None else first.box, verify)


def driver_reference(rt: Any, ctx: dict, clip: Path, frames: int | None, sheet_rows: int) -> dict:
    """The clip's track (first ``frames`` frames; the methods' input) and the reference: landmarks found on
    every driver frame by ``FaceFollower`` exactly as on the outputs, and every per-frame signal; the iris
    offsets read again on sub-pixel shifted copies of the frames (``iris_again``, for the gaze floor) and by
    the second locator (``iris_other``, for the locators' gap; NaN without one)."""
    from ..landmarks.retarget import pick_neutral
    from ..media.io import iter_frames
    from .clips import clip_track
    from .cross_metrics import frame_signals, shifted_copy
    from .gaze import iris_offsets
    from .sheet import sheet_indices

    track = clip_track(rt, clip, ctx["cache_dir"])
    n = len(track) if frames is None else min(frames, len(track))
    track = track.select(slice(0, n))
    if not track.valid.any():
        raise BadInputError("no face in the clip's first frames", clip)
    keep = set(sheet_indices(n, sheet_rows))
    lms, signals, kept, size = np.full((n, 68, 2), np.nan, np.float32), [], {}, None
    again, other, rng = np.full((n, 2, 2), np.nan), np.full((n, 2, 2), np.nan), np.random.default_rng(0)
    follower = second = None
    bar = rt.progress(n, f"driver {clip.stem}")
    for i, (_, image) in enumerate(iter_frames(clip)):
        if i >= n:
            break
        size = image.shape[:2]
        if follower is None:
            follower = start_follower(ctx["backend"], image, ctx["verify"])
            second = FaceFollower(ctx["backend"], follower.box, ctx["verify"])
        found = follower(image)
        if found is not None:
            lms[i] = found
        signals.append(frame_signals(image, found, ctx["locator"]))
        if found is not None and ctx.get("second_locator") is not None:
            pts = np.asarray(found, np.float64)
            other[i] = iris_offsets(np.asarray(ctx["second_locator"](image, pts), np.float64), pts)
        moved, _ = shifted_copy(image, rng)
        found_again = second(moved)
        if found_again is not None:
            pts = np.asarray(found_again, np.float64)
            again[i] = iris_offsets(np.asarray(ctx["locator"](moved, pts), np.float64), pts)
        if i in keep:
            kept[i] = image
        bar.update(1)
    bar.close()
    if len(signals) != n:
        raise BadInputError(f"the clip decoded to {len(signals)} frames, its track has {n}", clip)
    return {"clip": clip, "track": track, "landmarks": lms, "signals": signals, "sheet": kept, "size": size,
            "iris_again": again, "iris_other": other, "neutral": pick_neutral(track.landmarks, track.valid),
            "misfits": 0 if follower is None else follower.misfits}


def photo_reference(rt: Any, ctx: dict, path: Path) -> dict:
    """The photo, its landmarks (found as a driver's first frame is), its own signals, and what the
    instrument reads on it standing still (``cross_metrics.still_readings``): the re-detection's jitter
    (``still_jitter``: the floor of an output's jitter) and the iris offsets (``still_iris``, for the gaze
    floor)."""
    from ..media.io import read_image
    from .cross_metrics import frame_signals, still_jitter, still_readings

    photo = np.ascontiguousarray(read_image(path)[..., :3])
    follower = start_follower(ctx["backend"], photo)
    box = follower.box  # where every output's follower starts: the photo's own landmarks are found from it
    lms = follower(photo)
    if lms is None or box is None:
        raise BadInputError("no face found in the photo", path)
    found, iris = still_readings(FaceFollower(ctx["backend"], box, ctx["verify"]), photo, ctx["locator"])
    return {"path": path, "photo": photo, "landmarks": lms, "box": box,
            "signals": frame_signals(photo, lms, ctx["locator"]),
            "still_jitter": still_jitter(found), "still_iris": iris}


def score_method(rt: Any, ctx: dict, cfg: CrossConfig, photo: dict, drv: dict, method: str) -> tuple[dict, dict]:
    """Run ``method`` on one photo x clip and measure every output frame: (report row, sheet frames)."""
    from ..media.io import iter_frames
    from .background import head_mask, outside_error
    from .cross_metrics import frame_signals
    from .cross_report import summarise_pair
    from .identity import IdentityScorer

    clip, n = drv["clip"], len(drv["signals"])
    scene = CrossScene(photo["photo"], photo["landmarks"], drv["track"],
                       lambda: (img for _, img in iter_frames(clip)), f"{photo['path'].stem} x {clip.stem}",
                       {"preset": cfg.preset, "rendered": cfg.rendered})
    start = time.perf_counter()
    run = METHODS[method](rt, scene)
    setup, method_s, score_s = time.perf_counter() - start, 0.0, 0.0
    scorer = IdentityScorer(rt, photo["photo"], photo["landmarks"], cfg.exact_identity)
    lms, signals, bg, kept = np.full((n, 68, 2), np.nan, np.float32), [], [], {}
    frames = iter(run.frames)
    follower = FaceFollower(ctx["backend"], photo["box"], ctx["verify"])
    bar = rt.progress(n, f"{method} {scene.name}")
    for i in range(n):
        rt.check_cancelled()
        t0 = time.perf_counter()
        frame = next(frames, None)
        t1 = time.perf_counter()
        if frame is None:
            raise BadInputError(f"method {method} produced {i} frames for a {n}-frame clip", clip, i)
        image = frame.image
        found = follower(image)
        if found is not None:
            lms[i] = found
        signals.append(frame_signals(image, found, ctx["locator"]))
        scorer.add(image, found)
        mask = head_mask(image.shape[:2], photo["landmarks"], found, frame.alpha, run.rest_alpha)
        bg.append((*outside_error(image, photo["photo"], mask), float(mask.mean())))
        if i in drv["sheet"]:
            kept[i] = image
        method_s += t1 - t0
        score_s += time.perf_counter() - t1
        bar.update(1)
    bar.close()
    row = summarise_pair(photo, drv, lms, signals, scorer.finish(), bg)
    row.update(source=str(photo["path"]), driver=str(clip), method=method, info=run.info, frames=n,
               identity_backend=scorer.backend, identity_rechecked=scorer.rechecked, misfits=follower.misfits,
               seconds={"setup": round(setup, 2), "method_per_frame": round(method_s / n, 4),
                        "scoring_per_frame": round(score_s / n, 4)})
    return row, kept


def _context(rt: Any, cfg: CrossConfig) -> dict:
    from ..landmarks.extract import make_backend
    from .build import has_animate
    from .clips import BACKEND
    from .gaze import make_locator, second_locator
    from .misfit import mesh_check

    unknown = [m for m in cfg.methods if m not in METHODS]
    if unknown:
        raise UsageError(f"unknown method(s) {', '.join(unknown)}; use {', '.join(METHODS)}")
    if cfg.frames is not None and cfg.frames < 3:
        raise UsageError("--frames must be >= 3 (jitter needs three consecutive frames)")
    if cfg.sheet_crop not in ("head", "none"):
        raise UsageError(f"--sheet-crop must be 'head' or 'none', got {cfg.sheet_crop!r}")
    if cfg.iris == "product" and not has_animate():
        raise UsageError("the product's iris locator (nodes.animate) is not in this build; use --iris classic")
    locator, name = make_locator(cfg.iris, rt)
    second = second_locator(cfg.iris, rt)
    return {"backend": make_backend(rt, BACKEND), "locator": locator, "locator_name": name,
            "second_locator": None if second is None else second[0],
            "second_locator_name": None if second is None else second[1],
            "cache_dir": cfg.cache_dir, "verify": mesh_check(rt)}


def _sheet_path(cfg: CrossConfig, photo: Path, clip: Path) -> Path | None:
    if cfg.sheet is not None and len(cfg.sources) * len(cfg.drivers) == 1:
        return cfg.sheet
    return None if cfg.sheets is None else cfg.sheets / f"{photo.stem}__{clip.stem}.png"


def write_pair_sheet(cfg: CrossConfig, path: Path, photo: dict, drv: dict, outputs: dict[str, dict]) -> None:
    """The contact sheet of one photo x clip (``sheet.contact_sheet``)."""
    from ..media.io import write_image
    from .sheet import contact_sheet, head_box

    numbers = sorted(drv["sheet"])
    photo_box = driver_box = None
    if cfg.sheet_crop == "head":
        photo_box = head_box(photo["landmarks"], photo["photo"].shape[:2])
        valid = drv["track"].valid
        driver_box = head_box(np.median(drv["track"].landmarks[valid], axis=0), drv["size"])
    sheet = contact_sheet(photo["photo"], [drv["sheet"][i] for i in numbers],
                          {m: [kept[i] for i in numbers] for m, kept in outputs.items()}, numbers,
                          cfg.sheet_cell, photo_box, driver_box, f"{photo['path'].stem} x {drv['clip'].stem}")
    write_image(path, sheet)


def evaluate_cross(rt: Any, cfg: CrossConfig, out: Path | None = None) -> dict:
    """Every photo x clip x method; writes OUT (JSON) and OUT with .md after every pair when ``out`` is given,
    and the contact sheets. Returns the report."""
    from .cross_report import new_report, write_report

    ctx = _context(rt, cfg)
    report = new_report(cfg, ctx)
    photos = [photo_reference(rt, ctx, Path(p)) for p in cfg.sources]
    start = time.monotonic()
    for clip in cfg.drivers:
        drv = driver_reference(rt, ctx, Path(clip), cfg.frames, cfg.sheet_rows)
        report["drivers"].append(_driver_record(drv))
        for photo in photos:
            outputs = {}
            for method in cfg.methods:
                rt.check_cancelled()
                try:
                    row, outputs[method] = score_method(rt, ctx, cfg, photo, drv, method)
                except (BadInputError, ValueError) as exc:
                    report["errors"].append({"source": str(photo["path"]), "driver": str(clip), "method": method,
                                             "error": str(exc)})
                    continue
                report["rows"].append(row)
            path = _sheet_path(cfg, photo["path"], Path(clip))
            if path is not None and outputs:
                write_pair_sheet(cfg, path, photo, drv, outputs)
                report["sheets"].append(str(path))
            report["seconds"] = round(time.monotonic() - start, 1)
            if out is not None:
                write_report(out, report)
    return report


def _driver_record(drv: dict) -> dict:
    from .cross_metrics import track_agreement
    from .cross_report import driver_per_frame

    found = np.isfinite(drv["landmarks"]).all(axis=(1, 2))
    track = drv["track"]
    return {"driver": str(drv["clip"]), "frames": len(found), "faces": int(found.sum()),
            "tracked_faces": int(track.valid.sum()), "misfits": drv["misfits"], "neutral": drv["neutral"],
            "size": list(drv["size"]),
            "track_r": track_agreement(track.landmarks, track.valid, drv["signals"], drv["size"]),
            "per_frame": driver_per_frame(drv)}


__all__ = ["CrossConfig", "FaceFollower", "driver_reference", "evaluate_cross", "photo_reference", "score_method",
           "start_follower"]
