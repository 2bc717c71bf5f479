"""``talkinghead preprocess``: videos and annotated stills -> training shards, computed once.

Videos: any folder of videos; in the VoxCeleb layout ``identity/video/clip.mp4`` the clips of one
video form one sequence (one W_i, §3.2), elsewhere every file is its own sequence. Per clip, up to
``max_frames`` evenly spaced frames are decoded, their landmarks extracted (``landmarks`` backend:
FAN when its weights are present, else dlib), and one crop matrix computed from the clip's landmarks
with ``sketch.face_crop_matrix`` (margin 0.4: the crop generation uses); frames without a face are
dropped. Stills (``stills.py``): the ``.pts`` ground truth is used, no detection.

Resumable: a sequence whose shard exists is skipped; one that failed leaves a marker under
``failed/`` and is skipped too unless ``retry_failed``. Corrupt or faceless videos never abort the
run: they are listed in ``report.json``. Work runs in a process pool (``workers``; 0 = inline).
"""
from __future__ import annotations

import concurrent.futures as cf
import functools
import json
import multiprocessing
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...runtime.atomic import atomic_write_text
from ...runtime.errors import BadInputError, UsageError
from ..media.io import VIDEO_EXTS
from .shards import DEFAULT_QUALITY, SHARD_DIR, SequenceFrames, shard_name, write_index, write_shard
from .stills import Still, discover_stills, group_stills

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime

REPORT_FORMAT = "talkinghead.preprocess-report/1"


@dataclass(frozen=True)
class PreprocessConfig:
    """Settings of one preprocessing run.

    Attributes:
        size: crop side in px (the paper's 256).
        margin: ``face_crop_matrix`` margin (0.4 = the crop generation uses).
        max_frames: frames kept per clip, evenly spaced (VoxCeleb clips are ~200 frames; neighbours
            are near duplicates).
        quality: JPEG quality of the stored crops.
        backend: landmark backend for videos ("auto" | "fan" | "dlib").
        workers: processes of the pool (0: in this process).
        stills_per_shard: photos per stills shard.
        retry_failed: retry sequences that failed in an earlier run.
    """

    size: int = 256
    margin: float = 0.4
    max_frames: int = 128
    quality: int = DEFAULT_QUALITY
    backend: str = "auto"
    workers: int = 2
    stills_per_shard: int = 256
    retry_failed: bool = False


@dataclass(frozen=True)
class Task:
    """One unit of work: the clips of one video sequence, or a pack of still identities."""

    kind: str  # "video" | "stills"
    key: str
    files: tuple[str, ...] = ()
    identity: str = ""
    stills: tuple[tuple[Still, ...], ...] = field(default=())

    @property
    def shard(self) -> str:
        return shard_name(self.key)


def discover_videos(root: str | Path) -> list[Task]:
    """Video tasks under ``root``: ``identity/video/clip.ext`` groups by video, else one per file.

    Keys start with the folder's name (``clips/lp_d0``, ``vox2/id00012/abc``), so two roots can share a dataset.
    """
    root = Path(root)
    if not root.is_dir():
        raise BadInputError("video folder does not exist", root)
    groups: dict[str, list[Path]] = {}
    identity: dict[str, str] = {}
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in VIDEO_EXTS and p.is_file()):
        rel = path.relative_to(root)
        key = "/".join(rel.parts[:-1]) if len(rel.parts) >= 3 else rel.with_suffix("").as_posix()
        key = f"{root.name}/{key}"
        groups.setdefault(key, []).append(path)
        identity[key] = f"{root.name}/{rel.parts[0] if len(rel.parts) >= 2 else rel.stem}"
    return [Task("video", k, tuple(str(p) for p in v), identity[k]) for k, v in sorted(groups.items())]


def stills_tasks(folder: str | Path, per_shard: int) -> list[Task]:
    """Packs of still identities of ``folder`` (``stills.discover_stills``), one shard each."""
    folder = Path(folder)
    packs = group_stills(discover_stills(folder), per_shard)
    return [Task("stills", f"{folder.name}/stills/{pack[0][0].identity}", identity=folder.name,
                 stills=tuple(tuple(s) for s in pack)) for pack in packs]


def select_frames(path: str | Path, max_frames: int) -> list[tuple[int, np.ndarray]]:
    """Up to ``max_frames`` evenly spaced (frame number, RGB) frames of a video, streaming."""
    from ..media.io import iter_frames, probe

    n = probe(path).n_frames
    wanted = set(np.unique(np.linspace(0, n - 1, min(n, max_frames)).round().astype(int))) if n > 0 else None
    kept: list[tuple[int, np.ndarray]] = []
    stride = 1
    for number, image in iter_frames(path):
        if wanted is not None:
            if number in wanted:
                kept.append((number, image))
        elif number % stride == 0:
            kept.append((number, image))
            if len(kept) >= 2 * max_frames:  # unknown length: thin out as the clip goes on
                stride *= 2
                kept = [f for f in kept if f[0] % stride == 0]
    if wanted is None and len(kept) > max_frames:
        kept = [kept[i] for i in np.linspace(0, len(kept) - 1, max_frames).round().astype(int)]
    return kept


def crop_clip(rt: Runtime, engine: Any, path: str, cfg: PreprocessConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Face crops of one clip: crops (N, S, S, 3) uint8, landmarks (N, 68, 2) crop px, frame numbers (N,)
    and the number of selected frames dropped for want of a face.

    Raises:
        BadInputError: unreadable video or no face in any selected frame.
    """
    from ..landmarks.extract import extract_landmarks
    from ..sketch import crop_image, face_crop_matrix, transform_landmarks

    frames = select_frames(path, cfg.max_frames)
    if not frames:
        raise BadInputError("video has no decodable frames", path)
    track = extract_landmarks(rt, frames, backend=engine, source=path, total=len(frames))
    valid = np.flatnonzero(track.valid)
    matrix = face_crop_matrix(track.landmarks[valid], cfg.size, cfg.margin)  # one crop per clip
    crops = np.stack([crop_image(frames[k][1], matrix, cfg.size) for k in valid])
    lms = transform_landmarks(track.landmarks[valid], matrix).astype(np.float32)
    return crops, lms, np.array([frames[k][0] for k in valid], np.int64), len(frames) - len(valid)


def process_video(rt: Runtime, engine: Any, task: Task, cfg: PreprocessConfig, out: Path) -> dict:
    """Crop every clip of a video task and write its shard; clips that fail are listed, others kept."""
    crops, lms, numbers, sources, errors, dropped = [], [], [], [], [], 0
    for path in task.files:
        try:
            c, lm, n, no_face = crop_clip(rt, engine, path, cfg)
        except BadInputError as exc:
            errors.append(str(exc))
            continue
        crops.append(c)
        lms.append(lm)
        numbers.append(n)
        sources.append(path)
        dropped += no_face
    if not crops:
        raise BadInputError("; ".join(errors) or "no usable clip")
    seq = SequenceFrames(task.key, "video", task.identity, np.concatenate(crops), np.concatenate(lms),
                         np.concatenate(numbers), sources)
    frames = write_shard(out / SHARD_DIR / task.shard, [seq], {"size": cfg.size, "margin": cfg.margin}, cfg.quality)
    return {"frames": frames, "clip_errors": errors, "frames_without_face": dropped}


def process_stills(task: Task, cfg: PreprocessConfig, out: Path) -> dict:
    """Crop a pack of annotated stills (ground-truth landmarks) into one shard; bad photos are listed."""
    from ..media.io import read_image
    from ..sketch import crop_image, face_crop_matrix, transform_landmarks
    from .stills import read_pts

    sequences, errors = [], []
    for stills in task.stills:
        crops, lms, sources = [], [], []
        for still in stills:
            try:
                image, points = read_image(still.image), read_pts(still.pts)
            except BadInputError as exc:
                errors.append(str(exc))
                continue
            matrix = face_crop_matrix(points, cfg.size, cfg.margin)
            crops.append(crop_image(image, matrix, cfg.size))
            lms.append(transform_landmarks(points, matrix))
            sources.append(str(still.image))
        if crops:
            sequences.append(SequenceFrames(f"{task.identity}/{stills[0].identity}", "still",
                                            f"{task.identity}/{stills[0].identity}", np.stack(crops),
                                            np.stack(lms).astype(np.float32), np.zeros(len(crops), np.int64),
                                            sources))
    if not sequences:
        raise BadInputError("; ".join(errors[:3]) or "no usable still")
    frames = write_shard(out / SHARD_DIR / task.shard, sequences, {"size": cfg.size, "margin": cfg.margin},
                         cfg.quality)
    return {"frames": frames, "clip_errors": errors}


def run_task(rt: Runtime, engine: Any, task: Task, cfg: PreprocessConfig, out: Path) -> dict:
    """Run one task; never raises: {"key", "status": "done" | "failed", "error", "frames", "seconds"}."""
    start = time.monotonic()
    result: dict[str, Any] = {"key": task.key, "kind": task.kind, "files": list(task.files)}
    try:
        if task.kind == "video":
            result.update(process_video(rt, engine, task, cfg, out), status="done")
        else:
            result.update(process_stills(task, cfg, out), status="done")
    except Exception as exc:  # noqa: BLE001 - one bad input must not abort the run; it is reported
        result.update(status="failed", error=f"{type(exc).__name__}: {exc}")
    result["seconds"] = round(time.monotonic() - start, 2)
    return result


@functools.lru_cache(maxsize=1)
def _worker_context(backend: str) -> tuple[Any, Any]:
    """This worker process's Runtime and landmark backend, built once per process."""
    from ...runtime.runtime import Runtime
    from ..landmarks.extract import make_backend

    rt = Runtime(device="cpu", precision="32-true")
    return rt, make_backend(rt, backend)


def _worker_init() -> None:
    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def _worker_task(task: Task, cfg: PreprocessConfig, out: str) -> dict:
    rt, engine = _worker_context(cfg.backend) if task.kind == "video" else (None, None)
    return run_task(rt, engine, task, cfg, Path(out))


def _marker(out: Path, task: Task) -> Path:
    return out / "failed" / f"{task.shard}.json"


def split_pending(tasks: list[Task], out: Path, cfg: PreprocessConfig) -> tuple[list[Task], int, int]:
    """(tasks still to run, number already done, number skipped as failed before)."""
    todo, done, failed = [], 0, 0
    for task in tasks:
        if (out / SHARD_DIR / task.shard).is_file():
            done += 1
        elif _marker(out, task).is_file() and not cfg.retry_failed:
            failed += 1
        else:
            todo.append(task)
    return todo, done, failed


def _record(out: Path, task: Task, result: dict) -> None:
    marker = _marker(out, task)
    if result["status"] == "failed" and not result.get("transient"):
        atomic_write_text(marker, json.dumps(result, indent=1))
    elif marker.is_file():
        marker.unlink()


def run_tasks(rt: Runtime, tasks: list[Task], cfg: PreprocessConfig, out: Path, results: list[dict]) -> list[dict]:
    """Run ``tasks`` inline (``workers == 0``) or in a spawn process pool, appending to ``results``.

    Never aborts on a bad input; a crashed worker marks its tasks failed without a marker, so a rerun
    retries them. Cancellation (``rt.check_cancelled``) stops between tasks.
    """
    with rt.progress(len(tasks), "preprocess") as bar:
        if cfg.workers <= 0:
            engine = None
            for task in tasks:
                rt.check_cancelled()
                if task.kind == "video" and engine is None:
                    from ..landmarks.extract import make_backend

                    engine = make_backend(rt, cfg.backend)
                results.append(run_task(rt, engine, task, cfg, out))
                _record(out, task, results[-1])
                bar.update(1)
            return results
        context = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(cfg.workers, mp_context=context, initializer=_worker_init) as pool:
            futures = {pool.submit(_worker_task, task, cfg, str(out)): task for task in tasks}
            try:
                for future in cf.as_completed(futures):
                    task = futures[future]
                    try:
                        result = future.result()
                    except Exception as exc:  # noqa: BLE001 - a dead worker (BrokenProcessPool) is reported
                        result = {"key": task.key, "kind": task.kind, "files": list(task.files), "status": "failed",
                                  "error": f"worker process failed ({type(exc).__name__}: {exc})", "transient": True}
                    results.append(result)
                    _record(out, task, result)
                    bar.update(1)
                    rt.check_cancelled()
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    return results


def write_report(out: Path, cfg: PreprocessConfig, sources: list[str], results: list[dict], done_before: int,
                 seconds: float, index: dict | None) -> dict:
    """``out/report.json``: this run's results plus every sequence that has failed so far (markers)."""
    failed = []
    for marker in sorted((out / "failed").glob("*.json")) if (out / "failed").is_dir() else []:
        with open(marker, encoding="utf-8") as handle:
            failed.append(json.load(handle))
    failed += [r for r in results if r["status"] == "failed" and r.get("transient")]
    report = {"format": REPORT_FORMAT, "config": asdict(cfg), "sources": sources, "seconds": round(seconds, 1),
              "processed": len(results), "done_now": sum(r["status"] == "done" for r in results),
              "already_done": done_before, "frames_written": sum(r.get("frames", 0) for r in results),
              "frames_without_face": sum(r.get("frames_without_face", 0) for r in results),
              "failed": failed, "partial": [r for r in results if r.get("clip_errors")],
              "dataset": None if index is None else {"sequences": len(index["sequences"]),
                                                     "frames": index["frames"], "kinds": index["kinds"]}}
    atomic_write_text(out / "report.json", json.dumps(report, indent=1))
    return report


def preprocess_dataset(rt: Runtime, out: str | Path, videos: list[str | Path] = (), stills: list[str | Path] = (),
                       cfg: PreprocessConfig = PreprocessConfig()) -> dict:
    """Preprocess video folders and stills folders into the dataset ``out``; returns the report.

    The index (``dataset.json``) and ``report.json`` are written even when the run is interrupted.
    """
    if not videos and not stills:
        raise UsageError("give a video folder and/or --stills folders to preprocess")
    if cfg.size < 16 or cfg.max_frames < 1:
        raise UsageError("--size must be >= 16 and --max-frames >= 1")
    out = Path(out)
    (out / SHARD_DIR).mkdir(parents=True, exist_ok=True)
    tasks = [t for root in videos for t in discover_videos(root)]
    tasks += [t for folder in stills for t in stills_tasks(folder, cfg.stills_per_shard)]
    if not tasks:
        raise BadInputError(f"no videos ({', '.join(VIDEO_EXTS)}) or annotated stills found",
                            ", ".join(str(p) for p in [*videos, *stills]))
    todo, done, skipped = split_pending(tasks, out, cfg)
    rt.say_once(f"preprocess:{out}", f"preprocess: {len(tasks)} sequence packs, {done} already done, "
                f"{skipped} failed before (skipped), {len(todo)} to do", level=20)
    start, results, index = time.monotonic(), [], None
    try:
        run_tasks(rt, todo, cfg, out, results)
    finally:
        if any((out / SHARD_DIR).glob("*.safetensors")):
            index = write_index(out)
        report = write_report(out, cfg, [str(p) for p in [*videos, *stills]], results, done,
                              time.monotonic() - start, index)
    return report
