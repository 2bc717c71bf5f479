"""Landmark accuracy per backend on a 68-point ground-truth set (300-W style ``.jpg`` + ``.pts``).

Writes JSON: for each available backend, the normalised mean error (mean point-to-point error over
the 68 points divided by the inter-ocular distance, outer eye corners 36-45, the 300-W convention),
its median, the failure rate (NME > 8%), and the detection rate. NME is averaged over detected faces.

Usage:
    python scripts/landmark_accuracy.py --data ../shared/data/landmarks/helen_test --out accuracy.json
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def read_pts(path: Path) -> np.ndarray:
    """(68, 2) float32 0-based pixels from a 1-based 300-W ``.pts`` file."""
    lines = path.read_text().splitlines()
    start = lines.index("{") + 1
    points = [line.split() for line in lines[start:lines.index("}")]]
    return np.array(points, np.float32) - 1.0


def nme(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean point error over 68 points / inter-ocular (outer eye corners) distance."""
    iod = np.linalg.norm(truth[36] - truth[45])
    return float(np.linalg.norm(pred - truth, axis=1).mean() / iod)


def evaluate(rt, backend: str, files: list[Path]) -> dict:
    from talkinghead.nodes.landmarks.extract import extract_landmarks, make_backend
    from talkinghead.nodes.media.io import read_image
    from talkinghead.runtime.errors import BadInputError

    engine = make_backend(rt, backend)
    errors, missed, start = [], [], time.perf_counter()
    for image_path in files:
        truth = read_pts(image_path.with_suffix(".pts"))
        try:
            track = extract_landmarks(rt, [(0, read_image(image_path))], engine, source=str(image_path))
        except BadInputError:  # no face found
            missed.append(image_path.name)
            continue
        errors.append(nme(track.landmarks[0], truth))
    errors = np.array(errors)
    return {"backend": engine.name, "backend_version": engine.version, "faces": len(files),
            "detected": len(errors), "detection_rate": len(errors) / max(len(files), 1),
            "nme_mean": float(errors.mean()) if len(errors) else None,
            "nme_median": float(np.median(errors)) if len(errors) else None,
            "failure_rate_nme_gt_8pct": float((errors > 0.08).mean()) if len(errors) else None,
            "seconds": time.perf_counter() - start, "missed": missed}


def main(argv: list[str] | None = None) -> int:
    from talkinghead.runtime.atomic import atomic_write_text
    from talkinghead.runtime.runtime import Runtime

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[1] / "../shared/data/landmarks/helen_test"))
    parser.add_argument("--out", required=True)
    parser.add_argument("--backends", default="dlib,fan")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N images")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    files = sorted(Path(args.data).glob("*.jpg"))[: args.limit or None]
    rt = Runtime(device=args.device)
    report = {"data": str(Path(args.data).resolve()), "normalisation": "inter-ocular (outer eye corners 36, 45)",
              "device": str(rt.device), "results": {}}
    for backend in args.backends.split(","):
        if backend == "fan" and not rt.has_weights("fan-2d"):
            report["results"][backend] = {"skipped": "fan-2d weights not present (nothing is downloaded)"}
            continue
        report["results"][backend] = evaluate(rt, backend, files)
        summary = {k: v for k, v in report["results"][backend].items() if k != "missed"}
        print(backend, json.dumps(summary))
    atomic_write_text(args.out, json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
