"""The cross-identity report: per-pair summaries, the JSON file and a Markdown table.

JSON schema ``talkinghead.eval-cross/1``::

    format, created, command, config {sources, drivers, methods, frames, preset, landmarks, misfit_check,
        iris_locator, second_iris_locator, identity_threshold, gaze_fail, background {dilate, side, hair}, sheets}
    notes      plain-language definitions and caveats
    drivers    [{driver, frames, faces (re-detected), tracked_faces, misfits, neutral, size, track_r {signal: r},
                 per_frame {signal: [N]}}]
      track_r  Pearson r of the driving track's own signals against the re-detected driver's: what a method
               that follows the track exactly scores (``cross_metrics.track_agreement``)
    rows       [{source, driver, method, frames, summary {...}, details {...}, per_frame {...}, info,
                 identity_backend, identity_rechecked, misfits, seconds {setup, method_per_frame, scoring_per_frame}}]
      misfits  re-detections that the face mesh contradicts (``misfit.MeshCheck``), counted as frames without a face
      summary  identity_kept, identity_distance, r_mouth, r_eye_left, r_eye_right, r_roll, r_yaw, r_pitch,
               mouth_agreement, mouth_agreement_judged (on the driver frames whose state their pixels show:
               closed, or parted by >= 8 px), gaze_mean, gaze_p90 (absolute offsets), gaze_rel_mean, gaze_rel_p90
               (offsets relative to the rest: the photo's own and the driver's at the retargeting neutral
               frame), gaze_floor_mean, gaze_floor_p90 (the instrument's own gaze noise on this pair: what a
               method that gave the photo the driver's gaze exactly would still show), gaze_locator_gap_mean,
               gaze_locator_gap_p90 (the two iris locators' disagreement on the driver), jitter_ratio,
               jitter_floor (the re-detection's jitter on the photo standing still, over
               the driver's: the lowest ratio any method can show on this pair), redetect_rate,
               driver_redetect_rate, background_psnr (pooled over the frames; capped at 100 = identical), background_psnr_min, background_ok (frames >= 35 dB),
               mask_fraction (mean share of the frame inside the head mask)
      details  {r: {signal: {r, r_detected, frames, failed}}, mouth, gaze, gaze_rel, gaze_floor, gaze_locator_gap,
              jitter}
      per_frame {detected, distance, mouth, eye_left, eye_right, roll, yaw, pitch, mouth_state, background_psnr}
    sheets     contact sheet paths;  errors [{source, driver, method, error}];  seconds
Non-finite numbers are written as null.
"""
from __future__ import annotations

import datetime
import math
from pathlib import Path
from typing import Any

import numpy as np

from .cross_metrics import GAZE_FAIL, IDENTITY_THRESHOLD, SIGNALS

FORMAT = "talkinghead.eval-cross/1"
PSNR_CAP = 100.0
PSNR_OK = 35.0
NOTES = (
    ("landmarks are re-detected on every output frame (dlib HOG + 68 points), never copied from the driver; "
     "the driver's reference signals are detected the same way on its frames"),
    ("misfits: a re-detection whose mouth (corners and centre) lies more than 0.12 of the eye-corner span from "
     "MediaPipe Face Mesh's on the same frame is dlib settling on a wrong shape (a mouth on the nose); the frame "
     "counts as one without a face, on the driver's frames and the outputs alike (config misfit_check: null "
     "when the mesh model is absent, and then every fit is taken)"),
    ("a frame where the output has no face while the driver has one counts as a failure: not kept (identity), "
     "disagreeing (mouth state), an error of 0.5 eye widths (gaze), and in Pearson r it carries the output's "
     "mean (no information; r_detected in the details leaves it out); frames where the driver has no face are "
     "left out of the driver-relative measures"),
    ("pose: roll is the angle of the eye line; yaw and pitch come from cv2.solvePnP on a generic rigid 3-D face "
     "(nose and eye corners), f = 10 x the image's longer side"),
    ("mouth state: inner-lip opening + the pixels inside it (dark cavity vs teeth: not dark, less saturated "
     "than skin), one classifier for driver and output; 'mouth agree judged' counts only the driver frames whose "
     "state their pixels can show (closed, or an inner-lip gap of at least 8 px in the driver's frame: a "
     "narrower gap reads as dark whatever it holds)"),
    ("background PSNR is measured on the method's lossless frames (no watermark, no MP4) outside a dilated head "
     "mask (the method's alpha when it gives one, else head regions of the photo's and the output's landmarks)"),
    ("jitter ratio: mean |second difference| of stable landmarks (eye corners, nose) over the face's size "
     "(the square root of its landmarks' box area), output / driver, on frame triples with a face on both "
     "sides; jitter floor: the same measure on "
     "the photo standing still (copies shifted by random sub-pixel amounts, re-detected), over the driver's: "
     "the re-detection's own noise on this face, below which no method's ratio can go"),
    ("gaze floor: the gaze error the instrument itself makes on this pair, which a method that gave the photo "
     "the driver's gaze exactly would still show: per frame, the driver's reading noise (its iris offsets read on "
     "its frames and on copies shifted by random sub-pixel amounts, the difference over sqrt 2) plus the output's "
     "(the photo's offsets on its still copies about their mean); it grows as the eyes get smaller"),
    ("gaze locators: how far two iris locators disagree on the driver's own frames (the evaluation's classical "
     "locator, the centre of the visible dark iris, against MediaPipe's iris model, the whole iris circle; "
     "config second_iris_locator, null without the model): per frame the mean over the eyes both read of "
     "the offsets' difference. A method that gave the photo the driver's gaze exactly, as one of them reads it, "
     "shows about this error as the other reads it, so a gaze error below it is beyond what either certifies"),
    ("driver track r: every method is driven by the clip's landmark track and scored against landmarks "
     "re-detected on the clip's frames; where the two runs disagree (small or blurred faces: eye openings, "
     "pitch), the track's own r against the re-detected driver is what a method that follows the track exactly "
     "scores, and no method can be expected to score higher"),
)


def _arr(signals: list[dict], key: str) -> np.ndarray:
    return np.array([s[key] for s in signals], np.float64)


def _rest(iris: np.ndarray, neutral: int) -> np.ndarray:
    """The driver's rest iris offsets: at the neutral frame where located, else the median over the clip."""
    rest = iris[neutral].copy()
    with np.errstate(all="ignore"):
        median = np.nanmedian(iris, axis=0) if np.isfinite(iris).any() else np.full((2, 2), np.nan)
    return np.where(np.isfinite(rest), rest, median)


def background_summary(bg: list[tuple[float, int, float]]) -> dict:
    """Pooled PSNR, worst frame, frames >= 35 dB and mean mask share from per-frame (sse, count, mask share)."""
    from .background import psnr_from_sse

    per_frame = [min(psnr_from_sse(s, c), PSNR_CAP) for s, c, _ in bg]
    pooled = psnr_from_sse(sum(s for s, _, _ in bg), sum(c for _, c, _ in bg))
    finite = [p for p in per_frame if math.isfinite(p)]
    return {"background_psnr": min(pooled, PSNR_CAP), "background_psnr_min": min(finite) if finite else None,
            "background_ok": sum(p >= PSNR_OK for p in finite) / len(per_frame) if per_frame else None,
            "mask_fraction": float(np.mean([m for _, _, m in bg])) if bg else None, "per_frame": per_frame}


def summarise_pair(photo: dict, drv: dict, landmarks: np.ndarray, signals: list[dict], distances: np.ndarray,
                   bg: list[tuple[float, int, float]]) -> dict:
    """The report row of one photo x clip x method (without its identification fields)."""
    from .cross_metrics import (
        gaze_errors,
        gaze_floor,
        identity_summary,
        jitter_ratio,
        judged_mouths,
        locator_gap,
        mouth_agreement,
        pearson_with_failures,
    )

    d_sig = drv["signals"]
    r = {k: pearson_with_failures(_arr(d_sig, k), _arr(signals, k)) for k in SIGNALS}
    ident = identity_summary(distances)
    d_states = [s["mouth_state"] for s in d_sig]
    mouth = mouth_agreement(d_states, [s["mouth_state"] for s in signals], judged_mouths(drv["landmarks"], d_states))
    d_iris, o_iris = np.stack([s["iris"] for s in d_sig]), np.stack([s["iris"] for s in signals])
    gaze = gaze_errors(d_iris, o_iris)
    gaze_rel = gaze_errors(d_iris, o_iris, _rest(d_iris, drv["neutral"]), photo["signals"]["iris"])
    floor = gaze_floor(d_iris, drv["iris_again"], photo["still_iris"])
    gap = locator_gap(d_iris, drv.get("iris_other", np.full_like(d_iris, np.nan)))
    jitter = jitter_ratio(drv["landmarks"], landmarks)
    jitter["floor"] = photo["still_jitter"] / jitter["driver"] if jitter["driver"] > 0 else float("nan")
    found = np.isfinite(landmarks).all(axis=(1, 2))
    d_found = np.isfinite(drv["landmarks"]).all(axis=(1, 2))
    back = background_summary(bg)
    summary = {"identity_kept": ident["kept"], "identity_distance": ident["mean_distance"],
               **{f"r_{k}": r[k]["r"] for k in SIGNALS}, "mouth_agreement": mouth["agreement"],
               "mouth_agreement_judged": mouth["agreement_judged"],
               "gaze_mean": gaze["mean"], "gaze_p90": gaze["p90"], "gaze_rel_mean": gaze_rel["mean"],
               "gaze_rel_p90": gaze_rel["p90"], "gaze_floor_mean": floor["mean"], "gaze_floor_p90": floor["p90"],
               "gaze_locator_gap_mean": gap["mean"], "gaze_locator_gap_p90": gap["p90"],
               "jitter_ratio": jitter["ratio"],
               "jitter_floor": jitter["floor"], "redetect_rate": float(found.mean()),
               "driver_redetect_rate": float(d_found.mean()),
               **{k: v for k, v in back.items() if k != "per_frame"}}
    per_frame = {"detected": found.tolist(), "distance": distances.tolist(),
                 **{k: _arr(signals, k).tolist() for k in SIGNALS},
                 "mouth_state": [s["mouth_state"] for s in signals], "background_psnr": back["per_frame"]}
    details = {"r": r, "mouth": mouth, "gaze": gaze, "gaze_rel": gaze_rel, "gaze_floor": floor,
               "gaze_locator_gap": gap, "jitter": jitter}
    return {"summary": summary, "details": details, "per_frame": per_frame}


def driver_per_frame(drv: dict) -> dict:
    """The driver's reference signals per frame (for the report)."""
    sig = drv["signals"]
    return {**{k: _arr(sig, k).tolist() for k in SIGNALS}, "mouth_state": [s["mouth_state"] for s in sig],
            "iris": [s["iris"].tolist() for s in sig]}


def new_report(cfg: Any, ctx: dict) -> dict:
    """The report header (config, notes) with empty rows."""
    from .background import DILATE, HAIR, SIDE

    backend = ctx["backend"]
    config = {"sources": [str(p) for p in cfg.sources], "drivers": [str(p) for p in cfg.drivers],
              "methods": list(cfg.methods), "frames": cfg.frames, "preset": cfg.preset,
              "landmarks": {"backend": backend.name, "version": backend.version},
              "misfit_check": None if ctx["verify"] is None else {"model": "mediapipe-face-mesh",
                                                                  "threshold": ctx["verify"].threshold},
              "iris_locator": ctx["locator_name"], "second_iris_locator": ctx.get("second_locator_name"),
              "identity_threshold": IDENTITY_THRESHOLD, "gaze_fail": GAZE_FAIL,
              "background": {"dilate_iod": DILATE, "side": SIDE, "hair": HAIR, "psnr_cap": PSNR_CAP},
              "sheet": {"rows": cfg.sheet_rows, "cell": cfg.sheet_cell, "crop": cfg.sheet_crop}}
    return {"format": FORMAT,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": list(cfg.command), "config": config, "notes": list(NOTES), "drivers": [], "rows": [],
            "sheets": [], "errors": []}


def _fmt(value: Any, digits: int = 2, percent: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{100 * value:.0f} %" if percent else f"{value:.{digits}f}"


TABLE = (("id kept", "identity_kept", 0, True), ("id dist", "identity_distance", 2, False),
         ("r mouth", "r_mouth", 2, False), ("r eye L", "r_eye_left", 2, False), ("r eye R", "r_eye_right", 2, False),
         ("r roll", "r_roll", 2, False), ("r yaw", "r_yaw", 2, False), ("r pitch", "r_pitch", 2, False),
         ("mouth agree", "mouth_agreement", 0, True), ("mouth agree judged", "mouth_agreement_judged", 0, True),
         ("gaze mean", "gaze_mean", 3, False),
         ("gaze p90", "gaze_p90", 3, False), ("gaze rel", "gaze_rel_mean", 3, False),
         ("gaze floor", "gaze_floor_mean", 3, False), ("gaze locators", "gaze_locator_gap_mean", 3, False),
         ("jitter x", "jitter_ratio", 2, False), ("jitter floor", "jitter_floor", 2, False),
         ("re-detect", "redetect_rate", 0, True),
         ("bg PSNR", "background_psnr", 1, False))


def table_rows(report: dict) -> list[list[str]]:
    """Header + one row of strings per report row (photo, clip, method, then ``TABLE``)."""
    rows = [["photo", "clip", "method", "frames", *(t[0] for t in TABLE)]]
    for row in report["rows"]:
        s = row["summary"]
        rows.append([Path(row["source"]).stem, Path(row["driver"]).stem, row["method"], str(row["frames"]),
                     *(_fmt(s.get(key), digits, pct) for _, key, digits, pct in TABLE)])
    return rows


def markdown(report: dict) -> str:
    """The table, the notes and the errors as Markdown."""
    rows = table_rows(report)
    lines = ["# Cross-identity evaluation", "", "| " + " | ".join(rows[0]) + " |",
             "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    lines += ["", "Notes:", *(f"- {n}" for n in report["notes"])]
    if report["drivers"]:
        lines += ["", "Driver track r (what a method that follows the track exactly scores):", *(
            f"- {Path(d['driver']).stem}: " + ", ".join(f"{k.replace('_', ' ')} {_fmt(v)}" for k, v in d["track_r"].items())
            for d in report["drivers"] if "track_r" in d)]
    misfits = [f"- {Path(d['driver']).stem} (driver): {d['misfits']}" for d in report["drivers"] if d.get("misfits")]
    misfits += [f"- {Path(r['source']).stem} x {Path(r['driver']).stem} ({r['method']}): {r['misfits']}"
                for r in report["rows"] if r.get("misfits")]
    if misfits:
        lines += ["", "Misfits (re-detections the face mesh contradicts, counted as frames without a face):", *misfits]
    if report["errors"]:
        lines += ["", "Errors:", *(f"- {e['source']} x {e['driver']} ({e['method']}): {e['error']}"
                                   for e in report["errors"])]
    if report["sheets"]:
        lines += ["", "Contact sheets:", *(f"- {p}" for p in report["sheets"])]
    return "\n".join(lines) + "\n"


def write_report(out: Path, report: dict) -> None:
    """OUT (JSON, atomically, NaN/inf as null) and OUT with .md."""
    from ...runtime.atomic import atomic_write_text
    from .report import write_json

    write_json(out, report)
    atomic_write_text(Path(out).with_suffix(".md"), markdown(report))


__all__ = ["FORMAT", "NOTES", "background_summary", "driver_per_frame", "markdown", "new_report",
           "summarise_pair", "table_rows", "write_report"]
