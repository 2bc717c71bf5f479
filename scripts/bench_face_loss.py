"""Measure the dlib face ResNet port: speed on one CPU thread and agreement with dlib; write JSON.

    python scripts/bench_face_loss.py --out face_loss_bench.json [--faces 40]

Speed: ms per chip at batch 16 with torch.set_num_threads(1) for the network forward, the network
forward + backward (to the input pixels) and the whole FaceFeatureLoss (alignment of fake and real,
real features without grad, fake forward + backward) at 128 and 256 px crops.
Agreement: max |descriptor - dlib.compute_face_descriptor| and min cosine on dlib's own chips, and
the same for chips from the differentiable alignment, over the astronaut and ../shared/data faces.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from talkinghead.nodes.networks.dlib_resnet import load_dlib_face_resnet
from talkinghead.nodes.networks.face_chip import extract_face_chips, face_template
from talkinghead.nodes.networks.face_features import FaceFeatureLoss
from talkinghead.runtime.atomic import atomic_path
from talkinghead.runtime.runtime import Runtime

DATA = Path(os.environ.get("TALKINGHEAD_TEST_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


def _ms_per_chip(fn, batch: int, repeats: int = 5) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats / batch * 1000


def speed(net, batch: int = 16) -> dict:
    torch.set_num_threads(1)
    chips = (torch.rand(batch, 3, 150, 150) * 255).requires_grad_(True)
    out = {"threads": 1, "batch": batch}
    with torch.no_grad():
        out["net_forward_ms_per_chip"] = _ms_per_chip(lambda: net(chips), batch)

    def fwd_bwd():
        chips.grad = None
        sum(f.abs().mean() for f in net.features(chips)).backward()

    out["net_forward_backward_ms_per_chip"] = _ms_per_chip(fwd_bwd, batch)
    loss = FaceFeatureLoss(net)
    tmpl, idx = face_template(68)
    for size in (128, 256):
        lm = torch.zeros(batch, 68, 2)
        lm[:, idx] = (tmpl.float() / 150 * 0.6 + 0.2) * size
        real = torch.rand(batch, 3, size, size) * 2 - 1
        fake = real.flip(0).clone().requires_grad_(True)

        def step(fake=fake, real=real, lm=lm):
            fake.grad = None
            loss(fake, real, lm).backward()

        out[f"loss_forward_backward_ms_per_chip_{size}px"] = _ms_per_chip(step, batch)
    return out


def _faces(limit: int) -> list[np.ndarray]:
    import cv2
    import skimage.data
    images = [skimage.data.astronaut()]
    if DATA.exists():
        paths = sorted((DATA / "portraits").glob("*.[jp][pn]g")) + sorted((DATA / "stills").glob("*.jpg"))
        for p in paths[:limit - 1]:
            images.append(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB))
    return images


def agreement(rt: Runtime, net, limit: int) -> dict:
    import dlib
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(rt.resolve("dlib-landmarks-68")))  # iBUG 300-W: non-commercial
    recogniser = dlib.face_recognition_model_v1(str(rt.resolve("dlib-face-resnet")))
    ref, ours, aligned = [], [], []
    for img in _faces(limit):
        faces = detector(img, 1)
        if not faces:
            continue
        shape = predictor(img, faces[0])
        ref.append(np.array(recogniser.compute_face_descriptor(img, shape)))
        chip = torch.from_numpy(dlib.get_face_chip(img, shape, 150, 0.25)).permute(2, 0, 1)[None].float()
        lm = torch.tensor([[p.x, p.y] for p in shape.parts()], dtype=torch.float32)[None]
        x = torch.from_numpy(img).permute(2, 0, 1)[None].float()
        with torch.no_grad():
            ours.append(net(chip)[0].double().numpy())
            aligned.append(net(extract_face_chips(x, lm, input_range="0..255"))[0].double().numpy())
    ref, ours, aligned = np.stack(ref), np.stack(ours), np.stack(aligned)

    def cos(a, b):
        return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)

    return {"faces": len(ref), "dlib_chips_max_abs_diff": float(np.abs(ours - ref).max()),
            "dlib_chips_min_cosine": float(cos(ours, ref).min()),
            "our_alignment_max_euclidean": float(np.linalg.norm(aligned - ref, axis=1).max()),
            "our_alignment_min_cosine": float(cos(aligned, ref).min())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--faces", type=int, default=40)
    args = parser.parse_args()
    rt = Runtime(device="cpu")
    net = load_dlib_face_resnet(rt.resolve("dlib-face-resnet"))
    result = {"parameters": sum(p.numel() for p in net.parameters()), "agreement": agreement(rt, net, args.faces),
              "speed": speed(net)}
    with atomic_path(args.out) as tmp:
        Path(tmp).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
