"""Evaluation outputs: the JSON report (schema below, written atomically), a Markdown table, one PNG
grid per clip and the scored frames as PNG.

JSON schema ``talkinghead.eval/1``::

    format     "talkinghead.eval/1"
    created    ISO 8601 time; command: the argv list
    config     clips folder, shots, size, margin, max_targets, methods, variants, steps, batch, lr_g, lr_d,
               preset, seed, identity_weight, landmark backend + version, hard_threshold
    base       {origin, model_id, meta_learned} of the base model used by "model:*" methods, or null
    csim_independent  false when the identity term of the face-feature loss was on (then dlib CSIM is no
               independent measure), else true
    notes      list of plain-language caveats (dlib CSIM saturation, FID status, identity term)
    fid        {measured, reason, weights, values: {method: {T: FID}}} (values pooled over clips)
    methods    method names in column order: "warp", "copy", "model:<variant>"
    clips      [{clip, file, frames, faces, fps, size [H, W], runs: [run]}]
      run      {T, fewshot [frame indices], targets [frame indices], crop_matrix 2x3 (frame px -> crop px),
                nearest [few-shot position per target], hard_mouth [bool], hard_eyes [bool],
                real_redetected [bool], methods: {name: {summary, per_frame, seconds_per_frame,
                setup_seconds, info}}}
      summary  ssim, psnr, face_ssim, face_detail, csim, lmk_error (means over targets; csim over the
               targets with a face re-detected on the output, lmk_error over targets re-detected on both),
               redetect_rate (output faces found / real faces found), real_redetect_rate, n_targets,
               n_no_face (outputs with no face re-detected), n_hard, n_hard_mouth, n_hard_eyes, hard_mouth_ssim and
               hard_mouth_psnr (mouth box, mouth-hard targets), hard_eye_ssim and hard_eye_psnr (eye boxes,
               eye-hard targets), hard_any_mouth_ssim, hard_any_eye_ssim (either-hard targets); null when
               there is nothing to average
      per_frame  {key: [one value per target]} for ssim, psnr, face_ssim, face_detail, mouth_ssim, eye_ssim,
               mouth_psnr, eye_psnr, csim and lmk_error (null when no face is re-detected), detected
    summary    {method: {T: {metric: mean over clips (each clip weighs the same), clips: count}}}
    errors     [{clip, T, method, error}] for runs that could not be done
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ...runtime.atomic import atomic_write_text

FORMAT = "talkinghead.eval/1"
SUMMARY_KEYS = ("ssim", "psnr", "face_ssim", "face_detail", "csim", "lmk_error", "redetect_rate",
                "hard_mouth_ssim", "hard_eye_ssim", "hard_mouth_psnr", "hard_eye_psnr", "hard_any_mouth_ssim",
                "hard_any_eye_ssim", "n_hard_mouth", "n_hard_eyes", "seconds_per_frame", "setup_seconds")
DETAIL_NOTE = ("face detail is the output's Laplacian variance in the face over the real target's: above 1 it "
               "can mean artifacts (checkerboard, folds), not sharpness; read it with face SSIM and the grids")
CSIM_NOTE = ("dlib CSIM saturates: two frames of the same person score about 0.98, different people about "
             "0.85, and a 5x5 blur of the real target still scores 0.99; read it as a coarse identity check")


def _clean(value: Any) -> Any:
    """JSON-safe: numpy scalars/arrays to Python, non-finite floats to null."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value


def method_dir(name: str) -> str:
    """File-system name of a method ("model:l1+face" -> "model-l1+face")."""
    return name.replace(":", "-").replace("/", "_")


def summarise_clips(clips: list[dict], methods: list[str]) -> dict[str, dict[str, dict]]:
    """{method: {T: {metric: mean over the clips that have it, clips: n}}} (each clip weighs the same)."""
    out: dict[str, dict[str, dict]] = {}
    for name in methods:
        by_t: dict[str, dict] = {}
        for clip in clips:
            for run in clip["runs"]:
                entry = run["methods"].get(name)
                if entry is None:
                    continue
                row = dict(entry["summary"], seconds_per_frame=entry["seconds_per_frame"],
                           setup_seconds=entry["setup_seconds"])
                by_t.setdefault(str(run["T"]), []).append(row)
        out[name] = {}
        for t, rows in sorted(by_t.items(), key=lambda kv: int(kv[0])):
            means = {}
            for key in SUMMARY_KEYS:
                vals = [r[key] for r in rows if r.get(key) is not None and math.isfinite(r[key])]
                means[key] = float(np.mean(vals)) if vals else None
            out[name][t] = dict(means, clips=len(rows))
    return out


def write_json(path: str | Path, report: dict) -> None:
    """Write the report atomically (NaN/inf become null)."""
    atomic_write_text(path, json.dumps(_clean(report), indent=1, allow_nan=False) + "\n")


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def markdown(report: dict) -> str:
    """The report as Markdown: config, caveats, one table per T (means over clips), per-clip tables."""
    cfg = report["config"]
    lines = [f"# Self-reenactment evaluation ({len(report['clips'])} clips, {cfg['size']} px)", "",
             (f"- methods: {', '.join(report['methods'])}; shots T = {', '.join(map(str, cfg['shots']))}; "
             f"up to {cfg['max_targets']} targets per clip"),
             f"- base: {report['base']['origin'] if report.get('base') else 'not used'}",
             (f"- fine-tuning: {cfg['steps']} steps, batch {cfg['batch']}, variants {', '.join(cfg['variants'])}, "
             f"lr G/D {cfg['lr_g'] or 'default'}/{cfg['lr_d'] or 'default'}, "
             f"augmentation {'on' if cfg.get('augment', True) else 'off'}")]
    lines += [f"- {note}" for note in report["notes"]]
    for name, by_t in (report.get("fid") or {}).get("values", {}).items():
        lines.append(f"- FID {name}: " + ", ".join(f"T={t} {v:.1f}" for t, v in by_t.items()))
    lines.append("")
    head = ("| method | SSIM | PSNR | face SSIM | face detail | CSIM | lmk err | redetect | hard mouth SSIM (n) "
            "| hard eye SSIM (n) | s/frame | setup s |")
    for t in cfg["shots"]:
        lines += [f"## T = {t} (mean over clips)", "", head, "|" + "---|" * 12]
        for name in report["methods"]:
            s = report["summary"].get(name, {}).get(str(t))
            if not s:
                continue
            lines.append(f"| {name} | {_fmt(s['ssim'])} | {_fmt(s['psnr'], 2)} | {_fmt(s['face_ssim'])} | "
                         f"{_fmt(s['face_detail'])} | {_fmt(s['csim'])} | {_fmt(s['lmk_error'], 4)} | "
                         f"{_fmt(s['redetect_rate'], 2)} | {_fmt(s['hard_mouth_ssim'])} ({_fmt(s['n_hard_mouth'], 1)})"
                         f" | {_fmt(s['hard_eye_ssim'])} ({_fmt(s['n_hard_eyes'], 1)}) | "
                         f"{_fmt(s['seconds_per_frame'], 4)} | {_fmt(s['setup_seconds'], 1)} |")
        lines.append("")
    lines += ["## Per clip", "", ("| clip | T | method | SSIM | face SSIM | face detail | CSIM | lmk err | "
              "hard mouth SSIM (n) | hard eye SSIM (n) |"), "|" + "---|" * 10]
    for clip in report["clips"]:
        for run in clip["runs"]:
            for name, entry in run["methods"].items():
                s = entry["summary"]
                lines.append(f"| {clip['clip']} | {run['T']} | {name} | {_fmt(s['ssim'])} | {_fmt(s['face_ssim'])} | "
                             f"{_fmt(s['face_detail'])} | {_fmt(s['csim'])} | {_fmt(s['lmk_error'], 4)} | "
                             f"{_fmt(s['hard_mouth_ssim'])} ({s['n_hard_mouth']}) | "
                             f"{_fmt(s['hard_eye_ssim'])} ({s['n_hard_eyes']}) |")
    if report.get("errors"):
        lines += ["", "## Errors", ""] + [f"- {e['clip']} T={e['T']} {e['method']}: {e['error']}"
                                          for e in report["errors"]]
    return "\n".join(lines) + "\n"


def write_markdown(path: str | Path, report: dict) -> None:
    atomic_write_text(path, markdown(report))


def save_frames(folder: str | Path, clip: str, t: int, real: np.ndarray, outputs: dict[str, np.ndarray],
                targets: list[int], record: dict) -> None:
    """DIR/CLIP/T<T>/real/ and DIR/CLIP/T<T>/<method>/ PNGs in target order (``<k>_f<frame>.png``), and
    ``targets.json`` (frame indices, crop landmarks, hard flags, crop matrix) for outside scorers."""
    from ..media.io import write_image

    root = Path(folder) / clip / f"T{t}"
    for name, images in [("real", real), *((method_dir(m), o) for m, o in outputs.items())]:
        for k, (frame, image) in enumerate(zip(targets, images)):
            write_image(root / name / f"{k:03d}_f{int(frame):05d}.png", image)
    atomic_write_text(root / "targets.json", json.dumps(_clean(record), indent=1) + "\n")


def _label(image: np.ndarray, lines: list[str]) -> np.ndarray:
    import cv2

    out = image.copy()
    for j, text in enumerate(lines):
        org = (3, 12 + 13 * j)
        cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.36, (0, 0, 0), 2, cv2.LINE_AA)
        cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.36, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def grid_rows(hard: np.ndarray, count: int = 4) -> np.ndarray:
    """Which targets to show: hard ones first (spread), then others (spread); ``count`` at most, in order."""
    from .protocol import spread

    hard_idx, easy_idx = np.flatnonzero(hard), np.flatnonzero(~np.asarray(hard, bool))
    picks = spread(hard_idx, min(len(hard_idx), (count + 1) // 2))
    picks = np.concatenate([picks, spread(easy_idx, count - len(picks))])
    return np.sort(picks[:count])


def write_grid(path: str | Path, sections: list[dict], methods: list[str]) -> None:
    """One PNG: for each section (a T) a few rows of nearest few-shot | target | each method.

    Args:
        sections: [{"T", "rows": [k], "fewshot": (M,S,S,3) nearest few-shot crops, "real": (M,S,S,3),
            "outputs": {method: (M,S,S,3)}, "frames": [frame index], "hard_mouth", "hard_eyes"}].
    """
    from ..media.io import write_image

    blocks = []
    for sec in sections:
        for k in sec["rows"]:
            flags = [n for n, f in (("mouth", sec["hard_mouth"][k]), ("eyes", sec["hard_eyes"][k])) if f]
            cells = [_label(sec["fewshot"][k], [f"T={sec['T']}", "few-shot"]),
                     _label(sec["real"][k], [f"f{sec['frames'][k]}", "target"] + (["hard: " + "+".join(flags)]
                                                                                  if flags else []))]
            cells += [_label(sec["outputs"][m][k], [m]) if m in sec["outputs"]
                      else np.zeros_like(sec["real"][k]) for m in methods]
            blocks.append(np.concatenate(cells, 1))
    if blocks:
        write_image(path, np.concatenate(blocks, 0))


__all__ = ["CSIM_NOTE", "DETAIL_NOTE", "FORMAT", "SUMMARY_KEYS", "grid_rows", "markdown", "method_dir", "save_frames",
           "summarise_clips", "write_grid", "write_json", "write_markdown"]
