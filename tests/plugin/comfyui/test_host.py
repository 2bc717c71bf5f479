"""ComfyUI tensor layouts, device/precision, progress bar and interrupt plumbing (stub host)."""
from __future__ import annotations

import numpy as np
import pytest
import torch


def test_image_layout_round_trip():
    from talkinghead.plugin.comfyui.tensors import image_to_uint8, to_mask, uint8_to_image

    frames = np.random.default_rng(0).integers(0, 256, (2, 5, 7, 3), dtype=np.uint8)
    image = uint8_to_image(frames)
    assert image.shape == (2, 5, 7, 3) and image.dtype == torch.float32
    assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0
    np.testing.assert_array_equal(image_to_uint8(image), frames)
    rgba = torch.cat([image, torch.ones(2, 5, 7, 1)], dim=-1)
    np.testing.assert_array_equal(image_to_uint8(rgba), frames)  # alpha dropped
    mask = to_mask(np.full((2, 5, 7), 1.5, np.float32))
    assert mask.shape == (2, 5, 7) and mask.dtype == torch.float32 and float(mask.max()) == 1.0


def test_bad_image_layout_is_named():
    from talkinghead.plugin.comfyui.tensors import image_to_uint8
    from talkinghead.runtime.errors import BadInputError

    with pytest.raises(BadInputError, match=r"plate must be \(B, H, W, C\)"):
        image_to_uint8(torch.zeros(2, 3, 5, 7), "plate")  # channels-first is not ComfyUI's layout


def test_runtime_uses_comfy_device_precision_models_and_progress(classic_host):
    from talkinghead.plugin.comfyui import host

    rt = host.make_runtime()
    assert str(rt.device) == "cpu" and rt.precision.name == "32-true"
    from talkinghead.runtime.weights import get_spec, search_locations

    where = classic_host.root / "models" / "talkinghead"
    assert where / "vgg19-dcbb9e9d.pth" in search_locations(get_spec("vgg19"), rt.models_dir)
    with rt.progress(4, "test") as bar:
        for _ in range(4):
            bar.update(1)
    assert classic_host.bars == [4] and classic_host.updates == [(1, 4), (2, 4), (3, 4), (4, 4)]
    with rt.progress(None, "unknown length") as bar:
        bar.update(3)
    assert classic_host.updates[-1] == (3, 4)  # never shown as finished


def test_comfy_precision_follows_the_hosts_choice(classic_host):
    import comfy.model_management as mm
    from talkinghead.plugin.comfyui import host

    assert host.comfy_precision("cpu") == "32-true"
    mm.should_use_fp16 = lambda device=None, **kw: True
    assert host.comfy_precision("cuda:0") == "16-mixed"
    mm.should_use_bf16 = lambda device=None, **kw: True
    assert host.comfy_precision("cuda:0") == "bf16-mixed"


def test_interrupt_cancels_and_surfaces_as_comfy_interrupt(classic_host):
    import comfy.model_management as mm
    from talkinghead.plugin.comfyui import host
    from talkinghead.runtime.errors import Interrupted

    rt = host.make_runtime()
    rt.check_cancelled()  # not interrupted: nothing happens
    classic_host.interrupt = True
    with pytest.raises(Interrupted):
        rt.check_cancelled()
    with pytest.raises(mm.InterruptProcessingException), host.host_errors():
        rt.check_cancelled()  # stays cancelled after ComfyUI reset its flag


def test_interrupt_stops_a_node_mid_run(classic_host):
    """Cancel pressed during landmark extraction: the node raises ComfyUI's interrupt, not an error."""
    import comfy.model_management as mm
    from talkinghead.plugin.comfyui.definitions_media import extract_landmarks, load_media

    images, _ = load_media("examples/media/astronaut.png")
    classic_host.interrupt = True
    with pytest.raises(mm.InterruptProcessingException):
        extract_landmarks(images, backend="dlib")


def test_resolve_path_looks_in_comfy_folders_then_the_checkout(classic_host):
    from talkinghead.plugin.comfyui import host
    from talkinghead.runtime.errors import BadInputError

    (classic_host.root / "input" / "mine.png").write_bytes(b"x")
    assert host.resolve_path("mine.png") == classic_host.root / "input" / "mine.png"
    assert host.resolve_path("examples/media/astronaut.png") == host.PACKAGE_ROOT / "examples/media/astronaut.png"
    with pytest.raises(BadInputError, match="not found in any of") as info:
        host.resolve_path("nowhere.png")
    assert "nowhere.png" in str(info.value)
