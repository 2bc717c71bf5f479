"""Models through ComfyUI's model management: one model cache for the server's lifetime (not one per node
run), and every torch module in it handed to ``comfy.model_management`` as a ``ModelPatcher``.

On each use ``load_models_gpu`` loads the module onto ComfyUI's device, freeing room first by offloading
other models (ComfyUI's own or ours) to its offload device; when another node needs memory, ComfyUI
offloads ours the same way, and the next use loads them back. Without ``comfy.model_patcher`` (an old or a
stub host) modules stay where the runtime put them.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Hashable
from typing import Any

from ...runtime.cache import ModelCache

log = logging.getLogger("talkinghead.comfyui")


def torch_modules(value: Any) -> list[Any]:
    """The ``torch.nn.Module`` objects of a cached value: itself, or its attributes one level down (a base
    model's E, G, D)."""
    import torch

    if isinstance(value, torch.nn.Module):
        return [value]
    found = [v for v in vars(value).values() if isinstance(v, torch.nn.Module)] if hasattr(value, "__dict__") else []
    return found


class ComfyModelCache(ModelCache):
    """A ModelCache whose torch modules are loaded through ``comfy.model_management.load_models_gpu``."""

    def __init__(self, max_bytes: int = 8 << 30):
        super().__init__(max_bytes)
        self._patchers: dict[int, Any] = {}

    def get_or_load(self, key: Hashable, loader: Callable[[], Any], nbytes: int | None = None) -> Any:
        value = super().get_or_load(key, loader, nbytes)
        modules = torch_modules(value)
        if modules:
            self.load(modules)
        return value

    def load(self, modules: list[Any]) -> None:
        """Ask ComfyUI to load ``modules`` onto its device (offloading others as it sees fit)."""
        try:
            import comfy.model_management as mm
            from comfy.model_patcher import ModelPatcher
        except ImportError:
            return
        patchers = []
        for module in modules:
            patcher = self._patchers.get(id(module))
            if patcher is None:
                device = next((p.device for p in module.parameters()), mm.get_torch_device())
                patcher = ModelPatcher(module, load_device=device, offload_device=mm.unet_offload_device())
                self._patchers[id(module)] = patcher
            patchers.append(patcher)
        mm.load_models_gpu(patchers)

    def clear(self) -> None:
        super().clear()
        self._patchers.clear()


@functools.cache
def shared_cache() -> ComfyModelCache:
    """The server's one model cache (made on first use; lives as long as the ComfyUI process)."""
    return ComfyModelCache()
