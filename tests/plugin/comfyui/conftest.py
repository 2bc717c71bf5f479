"""Stub ComfyUI host modules (comfy, comfy_api, folder_paths) injected into sys.modules."""
from __future__ import annotations

import enum
import sys
import types
from abc import ABC, abstractmethod
from pathlib import Path

import pytest


class FakeHost:
    """What the stubs record: progress updates, the interrupt flag, folders."""

    def __init__(self, root: Path):
        self.root = root
        self.updates: list[tuple[int, int]] = []
        self.bars: list[int] = []
        self.interrupt = False
        self.loaded: list[list] = []  # the modules of each load_models_gpu call
        self.folders: dict[str, list[str]] = {}
        for name in ("models", "output", "input"):
            (root / name).mkdir(parents=True, exist_ok=True)


def _comfy_modules(host: FakeHost) -> dict[str, types.ModuleType]:
    import torch

    comfy = types.ModuleType("comfy")
    comfy.__path__ = []
    mm = types.ModuleType("comfy.model_management")

    class InterruptProcessingException(Exception):
        pass

    def throw_exception_if_processing_interrupted():
        if host.interrupt:
            host.interrupt = False  # ComfyUI resets the flag when it raises
            raise InterruptProcessingException()

    mm.InterruptProcessingException = InterruptProcessingException
    mm.throw_exception_if_processing_interrupted = throw_exception_if_processing_interrupted
    mm.get_torch_device = lambda: torch.device("cpu")
    mm.should_use_fp16 = lambda device=None, **kw: False
    mm.should_use_bf16 = lambda device=None, **kw: False
    mm.unet_offload_device = lambda: torch.device("cpu")
    mm.load_models_gpu = lambda patchers, **kw: host.loaded.append([p.model for p in patchers])
    patcher = types.ModuleType("comfy.model_patcher")

    class ModelPatcher:
        def __init__(self, model, load_device, offload_device, **kw):
            self.model, self.load_device, self.offload_device = model, load_device, offload_device

    patcher.ModelPatcher = ModelPatcher
    utils = types.ModuleType("comfy.utils")

    class ProgressBar:
        def __init__(self, total, node_id=None):
            self.total, self.current = total, 0
            host.bars.append(total)

        def update_absolute(self, value, total=None, preview=None):
            if total is not None:
                self.total = total
            self.current = min(value, self.total)
            host.updates.append((self.current, self.total))

        def update(self, value):
            self.update_absolute(self.current + value)

    utils.ProgressBar = ProgressBar
    cli_args = types.ModuleType("comfy.cli_args")
    cli_args.args = types.SimpleNamespace(force_fp32=False)
    comfy.model_management, comfy.utils, comfy.cli_args, comfy.model_patcher = mm, utils, cli_args, patcher
    folder_paths = types.ModuleType("folder_paths")
    folder_paths.models_dir = str(host.root / "models")

    def add_model_folder_path(name, path, is_default=False):
        paths = host.folders.setdefault(name, [])
        if path not in paths:
            paths.insert(0, path) if is_default else paths.append(path)

    folder_paths.add_model_folder_path = add_model_folder_path
    folder_paths.get_folder_paths = lambda name: list(host.folders[name])
    folder_paths.get_annotated_filepath = lambda name: str(host.root / "input" / name.removesuffix(" [input]"))
    folder_paths.get_output_directory = lambda: str(host.root / "output")
    folder_paths.get_input_directory = lambda: str(host.root / "input")
    return {"comfy": comfy, "comfy.model_management": mm, "comfy.utils": utils, "comfy.cli_args": cli_args,
            "comfy.model_patcher": patcher, "folder_paths": folder_paths}


def _comfy_api_modules() -> dict[str, types.ModuleType]:
    """A small ``comfy_api.latest`` with the parts of the V3 schema the adapter uses."""
    io = types.ModuleType("comfy_api.latest.io")

    class Input:
        def __init__(self, id, display_name=None, optional=False, tooltip=None, **kw):
            self.id, self.optional, self.tooltip, self.kw = id, optional, tooltip, kw
            self.io_type = type(self).io_type

    class Output:
        def __init__(self, id=None, display_name=None, tooltip=None, is_output_list=False):
            self.id, self.display_name = id, display_name
            self.io_type = type(self).io_type

    def comfytype(io_type):
        return type(io_type, (), {"io_type": io_type, "Input": type("Input", (Input,), {"io_type": io_type}),
                                  "Output": type("Output", (Output,), {"io_type": io_type})})

    for name, io_type in (("Image", "IMAGE"), ("Mask", "MASK"), ("Int", "INT"), ("Float", "FLOAT"),
                          ("String", "STRING"), ("Boolean", "BOOLEAN"), ("Combo", "COMBO")):
        setattr(io, name, comfytype(io_type))
    io.Custom = comfytype

    class UploadType(str, enum.Enum):
        image = "image_upload"
        video = "video_upload"

    io.UploadType = UploadType

    class Schema:
        def __init__(self, node_id, display_name=None, category="sd", inputs=None, outputs=None,
                     description="", is_output_node=False, **kw):
            self.node_id, self.display_name, self.category = node_id, display_name, category
            self.inputs, self.outputs, self.description = inputs or [], outputs or [], description
            self.is_output_node = is_output_node
            ids = [i.id for i in self.inputs] + [o.id for o in self.outputs]
            assert len(ids) == len(set(ids)), f"{node_id}: input/output ids must be unique: {ids}"

    class ComfyNode:
        @classmethod
        def define_schema(cls):
            raise NotImplementedError

        @classmethod
        def execute(cls, **kwargs):
            raise NotImplementedError

    class NodeOutput:
        def __init__(self, *args, ui=None):
            self.args, self.ui = args, ui

    io.Schema, io.ComfyNode, io.NodeOutput = Schema, ComfyNode, NodeOutput
    latest = types.ModuleType("comfy_api.latest")

    class ComfyExtension(ABC):
        @abstractmethod
        async def get_node_list(self):
            ...

    latest.io, latest.ComfyExtension = io, ComfyExtension
    api = types.ModuleType("comfy_api")
    api.__path__ = []
    api.latest = latest
    latest.__path__ = []
    return {"comfy_api": api, "comfy_api.latest": latest, "comfy_api.latest.io": io}


def _install(monkeypatch, modules: dict[str, types.ModuleType], v3: bool) -> None:
    from talkinghead.plugin.comfyui.memory import shared_cache

    shared_cache().clear()  # the server-lifetime model cache: each stub host starts empty
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    if not v3:  # a classic host: comfy_api must not import
        monkeypatch.setitem(sys.modules, "comfy_api", None)
        monkeypatch.setitem(sys.modules, "comfy_api.latest", None)


@pytest.fixture
def classic_host(tmp_path, monkeypatch) -> FakeHost:
    """A ComfyUI without the V3 schema."""
    host = FakeHost(tmp_path / "comfy")
    _install(monkeypatch, _comfy_modules(host), v3=False)
    return host


@pytest.fixture
def v3_host(tmp_path, monkeypatch) -> FakeHost:
    """A ComfyUI with comfy_api.latest (V3)."""
    host = FakeHost(tmp_path / "comfy")
    _install(monkeypatch, {**_comfy_modules(host), **_comfy_api_modules()}, v3=True)
    return host
