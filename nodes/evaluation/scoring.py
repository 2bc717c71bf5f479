"""Scores of one method's outputs against the real targets, per frame and summarised (paper §4.1 +
the face-aware measures of ``nodes.evaluation.metrics``).

Per frame: SSIM, PSNR, face SSIM and face detail (inside the target's landmark hull), mouth / eye
region SSIM and PSNR, CSIM (cosine of dlib's 128-d descriptors of output and real, each aligned on the
landmarks RE-DETECTED on it by the same detector; the real on its tracked ones where none is found), landmark error (dlib re-detected on
the output vs re-detected on the real crop, over the real's inter-ocular distance). An output where no
face is re-detected has neither CSIM nor landmark error (None, NaN in the means' eyes: left out of them)
and counts against the re-detection rate: an output that is not a face never gets an identity score
from being described at the target's face position.

Caveat (said in every report): dlib CSIM saturates; two frames of one person score about 0.98,
different people about 0.85. A 5x5 blur of the real target still scores 0.99.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import metrics as M

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime

PER_FRAME_KEYS = ("ssim", "psnr", "face_ssim", "face_detail", "mouth_ssim", "eye_ssim", "mouth_psnr", "eye_psnr",
                  "csim", "lmk_error", "detected")


@dataclass
class Reference:
    """What the scores of every method on one Scene compare against (computed once).

    Attributes:
        crops: (M, S, S, 3) uint8 real targets; landmarks: (M, 68, 2) their tracked landmarks, crop px.
        redetected: M entries, (68, 2) landmarks re-detected on the real crop or None.
        descriptors: (M, 128) dlib descriptors of the real crops.
        hard_mouth, hard_eyes: (M,) bool (``protocol.hard_frames``).
    """

    crops: np.ndarray
    landmarks: np.ndarray
    redetected: list
    descriptors: np.ndarray
    hard_mouth: np.ndarray
    hard_eyes: np.ndarray


def redetect(rt: Runtime, backend: Any, crops: np.ndarray) -> list[np.ndarray | None]:
    """Landmarks re-detected on each (S, S, 3) crop by ``backend`` (``landmarks.make_backend``; its
    ``detect`` + ``align``, the largest face): (68, 2) float32, or None when no face is found."""
    from ..landmarks.extract import pick_face

    out: list[np.ndarray | None] = []
    for crop in crops:
        rt.check_cancelled()
        crop = np.ascontiguousarray(crop)
        dets = backend.detect(crop)
        k = pick_face(dets, None, "largest")
        out.append(None if k is None else backend.align([crop], dets[k:k + 1])[0][0])
    return out


def make_reference(rt: Runtime, backend: Any, net: Any, crops: np.ndarray, landmarks: np.ndarray,
                   hard_mouth: np.ndarray, hard_eyes: np.ndarray) -> Reference:
    """The Reference of (M, S, S, 3) real crops with their (M, 68, 2) tracked landmarks: landmarks
    re-detected on them, and their descriptors aligned on those (on the tracked ones where none is found),
    as outputs are (``score_outputs``), so an output equal to its real target scores CSIM 1."""
    found = redetect(rt, backend, crops)
    align = np.stack([lms if lms is not None else tracked for lms, tracked in zip(found, landmarks)]) if len(crops) \
        else np.zeros((0, 68, 2), np.float32)
    return Reference(crops, landmarks, found, descriptors(net, crops, align), hard_mouth, hard_eyes)


def descriptors(net: Any, crops: np.ndarray, landmarks: np.ndarray, batch: int = 16) -> np.ndarray:
    """dlib face descriptors of (M, S, S, 3) uint8 crops aligned by (M, 68, 2) landmarks -> (M, 128)."""
    import torch

    from ..networks.face_chip import extract_face_chips

    device = next(net.parameters()).device
    out = []
    for i in range(0, len(crops), batch):
        x = torch.from_numpy(np.ascontiguousarray(crops[i:i + batch])).permute(0, 3, 1, 2).float().to(device)
        lms = torch.from_numpy(np.asarray(landmarks[i:i + batch], np.float32)).to(device)
        with torch.no_grad():
            out.append(net(extract_face_chips(x, lms, input_range="0..255")).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 128), np.float32)


def region_psnr(output: np.ndarray, target: np.ndarray, landmarks: np.ndarray, region: str) -> float:
    """PSNR inside the mouth box or the union of the eye boxes (``metrics.region_box``)."""
    groups = {"mouth": (M.MOUTH,), "eyes": (M.LEFT_EYE, M.RIGHT_EYE)}[region]
    mask = np.zeros(target.shape[:2], bool)
    for idx in groups:
        x0, y0, x1, y1 = M.region_box(landmarks, idx, target.shape[:2])
        mask[y0:y1, x0:x1] = True
    return M.psnr(output[mask], target[mask])


def score_frame(output: np.ndarray, ref: Reference, i: int, out_lms: np.ndarray | None,
                out_desc: np.ndarray) -> dict[str, float | bool | None]:
    """All per-frame measures of output ``i`` (see ``PER_FRAME_KEYS``)."""
    real, lms = ref.crops[i], ref.landmarks[i]
    real_lms = ref.redetected[i]
    err = M.landmark_error(out_lms, real_lms) if out_lms is not None and real_lms is not None else None
    csim = float(M.csim(out_desc, ref.descriptors[i])) if out_lms is not None else None
    return {"ssim": M.ssim(output, real), "psnr": M.psnr(output, real), "face_ssim": M.face_ssim(output, real, lms),
            "face_detail": M.face_detail(output, real, lms), "mouth_ssim": M.region_ssim(output, real, lms, "mouth"),
            "eye_ssim": M.region_ssim(output, real, lms, "eyes"), "mouth_psnr": region_psnr(output, real, lms, "mouth"),
            "eye_psnr": region_psnr(output, real, lms, "eyes"), "csim": csim,
            "lmk_error": err, "detected": out_lms is not None}


def score_outputs(rt: Runtime, backend: Any, net: Any, outputs: np.ndarray, ref: Reference) -> dict[str, list]:
    """Per-frame measures of (M, S, S, 3) outputs: {key: M values} (None where not measurable).

    CSIM describes each output aligned on the landmarks re-detected on it; None where none are found.
    """
    if outputs.shape != ref.crops.shape or outputs.dtype != np.uint8:
        raise ValueError(f"outputs must be uint8 {ref.crops.shape}, got {outputs.dtype} {outputs.shape}")
    out_lms = redetect(rt, backend, outputs)
    found = [j for j, found_lms in enumerate(out_lms) if found_lms is not None]
    desc = np.full((len(outputs), 128), np.nan, np.float32)
    if found:
        desc[found] = descriptors(net, outputs[found], np.stack([out_lms[j] for j in found]))
    rows = [score_frame(outputs[i], ref, i, out_lms[i], desc[i]) for i in range(len(outputs))]
    return {key: [row[key] for row in rows] for key in PER_FRAME_KEYS}


def _mean(values: list, mask: np.ndarray | None = None) -> float | None:
    """Mean of the finite values (where ``mask``), None when there are none."""
    picked = [v for j, v in enumerate(values) if (mask is None or mask[j]) and v is not None
              and not (isinstance(v, float) and not math.isfinite(v))]
    return float(np.mean(picked)) if picked else None


def summarise(per_frame: dict[str, list], ref: Reference) -> dict[str, float | int | None]:
    """Clip-level means; hard-frame means over the mouth-hard (mouth measures), eye-hard (eye measures)
    and either-hard frames; re-detection rate = output faces found / real faces found; n_no_face = outputs
    where no face was re-detected (no CSIM, no landmark error: left out of those means)."""
    real_found = np.array([r is not None for r in ref.redetected])
    found = np.array(per_frame["detected"], bool)
    hard = ref.hard_mouth | ref.hard_eyes
    out: dict[str, float | int | None] = {k: _mean(per_frame[k]) for k in
                                         ("ssim", "psnr", "face_ssim", "face_detail", "csim", "lmk_error")}
    out.update(redetect_rate=float((found & real_found).sum() / real_found.sum()) if real_found.any() else None,
               real_redetect_rate=float(real_found.mean()), n_targets=len(found), n_no_face=int((~found).sum()),
               n_hard=int(hard.sum()),
               n_hard_mouth=int(ref.hard_mouth.sum()), n_hard_eyes=int(ref.hard_eyes.sum()),
               hard_mouth_ssim=_mean(per_frame["mouth_ssim"], ref.hard_mouth),
               hard_mouth_psnr=_mean(per_frame["mouth_psnr"], ref.hard_mouth),
               hard_eye_ssim=_mean(per_frame["eye_ssim"], ref.hard_eyes),
               hard_eye_psnr=_mean(per_frame["eye_psnr"], ref.hard_eyes),
               hard_any_mouth_ssim=_mean(per_frame["mouth_ssim"], hard),
               hard_any_eye_ssim=_mean(per_frame["eye_ssim"], hard))
    return out


__all__ = ["PER_FRAME_KEYS", "Reference", "descriptors", "make_reference", "redetect", "region_psnr", "score_frame", "score_outputs",
           "summarise"]
