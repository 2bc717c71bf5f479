"""Build ``comfy_api.latest.io.ComfyNode`` classes (ComfyUI's V3 node schema) from the node specs."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .host import host_errors
from .spec import CUSTOM_TYPES, NodeSpec, Port, as_result, combo_options


def _numbers(port: Port) -> dict[str, Any]:
    return {k: getattr(port, k) for k in ("min", "max", "step") if getattr(port, k) is not None}


def v3_input(io: Any, port: Port) -> Any:
    """The V3 input object for ``port``."""
    common = {"optional": port.optional, "tooltip": port.tooltip or None}
    if port.kind == "IMAGE":
        return io.Image.Input(port.name, **common)
    if port.kind == "MASK":
        return io.Mask.Input(port.name, **common)
    if port.kind == "INT":
        control = {} if port.control_after_generate is None else {"control_after_generate": port.control_after_generate}
        return io.Int.Input(port.name, default=port.default, **_numbers(port), **control, **common)
    if port.kind == "FLOAT":
        return io.Float.Input(port.name, default=port.default, **_numbers(port), **common)
    if port.kind == "STRING":
        return io.String.Input(port.name, default=port.default, **common)
    if port.kind == "BOOLEAN":
        return io.Boolean.Input(port.name, default=port.default, **common)
    if port.kind == "COMBO":
        upload = {"upload": getattr(io.UploadType, port.upload)} if port.upload else {}
        return io.Combo.Input(port.name, options=combo_options(port), default=port.default, **upload, **common)
    if port.kind in CUSTOM_TYPES:
        return io.Custom(port.kind).Input(port.name, **common)
    raise ValueError(f"{port.name}: unknown socket kind {port.kind!r}")


def v3_output(io: Any, port: Port) -> Any:
    """The V3 output object for ``port``."""
    kinds = {"IMAGE": io.Image, "MASK": io.Mask, "INT": io.Int, "FLOAT": io.Float, "STRING": io.String,
             "BOOLEAN": io.Boolean}
    kind = kinds.get(port.kind) or (io.Custom(port.kind) if port.kind in CUSTOM_TYPES else None)
    if kind is None:
        raise ValueError(f"{port.name}: unknown output kind {port.kind!r}")
    return kind.Output(port.name, display_name=port.name, tooltip=port.tooltip or None)


def v3_node(io: Any, spec: NodeSpec) -> type:
    """A ComfyNode subclass whose schema and execute come from ``spec``."""

    def define_schema(cls: type) -> Any:
        return io.Schema(node_id=spec.node_id, display_name=spec.display_name, category=spec.category,
                         description=spec.description, inputs=[v3_input(io, p) for p in spec.inputs],
                         outputs=[v3_output(io, p) for p in spec.outputs], is_output_node=spec.output_node)

    def execute(cls: type, **kwargs: Any) -> Any:
        with host_errors():
            result = as_result(spec.run(**kwargs))
        return io.NodeOutput(*result.outputs, ui=result.ui or None)

    def fingerprint_inputs(cls: type, **kwargs: Any) -> Any:
        return spec.fingerprint(**kwargs)

    extra = {"fingerprint_inputs": classmethod(fingerprint_inputs)} if spec.fingerprint else {}
    return type(spec.node_id, (io.ComfyNode,), {
        **extra, "__doc__": spec.description, "__module__": __name__,
        "define_schema": classmethod(define_schema), "execute": classmethod(execute)})


def build_extension(specs: Sequence[NodeSpec]) -> Any:
    """The ComfyExtension ``comfy_entrypoint`` returns: its node list is the V3 classes of ``specs``."""
    from comfy_api.latest import ComfyExtension, io

    nodes = [v3_node(io, spec) for spec in specs]

    class TalkingheadExtension(ComfyExtension):
        """talkinghead's nodes for ComfyUI."""

        async def get_node_list(self) -> list[type]:
            return list(nodes)

    return TalkingheadExtension()
