"""Build classic ComfyUI node classes (``INPUT_TYPES``/``RETURN_TYPES``/``FUNCTION``) from the node specs,
for hosts without the V3 schema (``comfy_api.latest``)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .host import host_errors
from .spec import NodeSpec, Port, as_result, combo_options


def classic_input(port: Port) -> tuple:
    """``(type, options)`` as ``INPUT_TYPES`` wants it."""
    extra: dict[str, Any] = {k: getattr(port, k) for k in ("min", "max", "step") if getattr(port, k) is not None}
    if port.default is not None:
        extra["default"] = port.default
    if port.tooltip:
        extra["tooltip"] = port.tooltip
    if port.upload:
        extra[f"{port.upload}_upload"] = True  # ComfyUI's upload button (image_upload / video_upload)
    if port.control_after_generate is not None:
        extra["control_after_generate"] = port.control_after_generate
    if port.kind == "COMBO":
        return combo_options(port), extra
    return port.kind, extra


def classic_node(spec: NodeSpec) -> type:
    """A classic node class for ``spec``."""

    def input_types(cls: type) -> dict[str, dict[str, tuple]]:
        required = {p.name: classic_input(p) for p in spec.inputs if not p.optional}
        optional = {p.name: classic_input(p) for p in spec.inputs if p.optional}
        return {"required": required, **({"optional": optional} if optional else {})}

    def run(self: Any, **kwargs: Any) -> tuple | dict:
        with host_errors():
            result = as_result(spec.run(**kwargs))
        return {"ui": result.ui, "result": result.outputs} if result.ui else result.outputs

    def is_changed(cls: type, **kwargs: Any) -> Any:
        return spec.fingerprint(**kwargs)

    extra = {"IS_CHANGED": classmethod(is_changed)} if spec.fingerprint else {}
    return type(spec.node_id, (), {
        **extra, "__doc__": spec.description, "__module__": __name__, "INPUT_TYPES": classmethod(input_types),
        "RETURN_TYPES": tuple(p.kind for p in spec.outputs), "RETURN_NAMES": tuple(p.name for p in spec.outputs),
        "FUNCTION": "run", "CATEGORY": spec.category, "DESCRIPTION": spec.description,
        "OUTPUT_NODE": spec.output_node, "run": run})


def class_mappings(specs: Sequence[NodeSpec]) -> tuple[dict[str, type], dict[str, str]]:
    """(NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS)."""
    return ({s.node_id: classic_node(s) for s in specs}, {s.node_id: s.display_name for s in specs})
