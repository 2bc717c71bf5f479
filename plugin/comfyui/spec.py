"""Host-neutral node declarations: each ComfyUI node is declared once and built as a V3 or classic class.

A ``NodeSpec`` names the node, its ports (``Port``) and the plain function that runs it; ``v3.py`` and
``classic.py`` turn the same specs into ``comfy_api.latest.io.ComfyNode`` subclasses or classic
``INPUT_TYPES``/``RETURN_TYPES`` classes. The functions take the inputs as keyword arguments and return a
tuple of outputs, or ``NodeResult`` when the node also shows something in the UI.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# Socket types. ComfyUI's own: IMAGE (B, H, W, C) float32 0..1, MASK (B, H, W) float32 0..1.
FACETRACK = "TALKINGHEAD_FACETRACK"
IDENTITY = "TALKINGHEAD_IDENTITY"
PERSON = "TALKINGHEAD_PERSON"
BASE = "TALKINGHEAD_BASE"
GENERATED = "TALKINGHEAD_FRAMES"
CUSTOM_TYPES = (FACETRACK, IDENTITY, PERSON, BASE, GENERATED)
WIDGET_KINDS = ("INT", "FLOAT", "STRING", "BOOLEAN", "COMBO")
CATEGORY = "talkinghead"


@dataclass(frozen=True)
class Port:
    """One input or output socket.

    Attributes:
        name: the input id / output name.
        kind: "IMAGE", "MASK", "INT", "FLOAT", "STRING", "BOOLEAN", "COMBO" or a custom type above.
        default: widget default (inputs only).
        options: COMBO choices, or a zero-argument callable giving them when the schema is built
            (e.g. the files present in ``models/talkinghead``).
        optional: an optional input (may be left unconnected).
        min, max, step: numeric widget limits.
        tooltip: shown on hover.
        upload: "image" or "video": a COMBO of the input folder's files with ComfyUI's upload button.
        control_after_generate: an INT widget's "control after generate" (False keeps a seed fixed).
    """

    name: str
    kind: str
    default: Any = None
    options: tuple | Callable[[], Sequence[str]] = ()
    optional: bool = False
    min: float | None = None
    max: float | None = None
    step: float | None = None
    tooltip: str = ""
    upload: str = ""
    control_after_generate: bool | None = None


@dataclass(frozen=True)
class NodeResult:
    """Outputs plus a UI payload (e.g. saved files) for output nodes."""

    outputs: tuple = ()
    ui: dict = field(default_factory=dict)


@dataclass(frozen=True)
class NodeSpec:
    """A node: id (globally unique, prefixed), display name, ports and the function that runs it.

    ``fingerprint``: called with the node's inputs before each run; a different value than last time
    re-runs the node even when its inputs are unchanged (ComfyUI's IS_CHANGED / ``fingerprint_inputs``):
    loaders return a digest of their files' content, so a file overwritten at the same path is re-read.
    """

    node_id: str
    display_name: str
    description: str
    input_ports: Sequence[Port] | Callable[[], Sequence[Port]]
    outputs: Sequence[Port]
    run: Callable[..., tuple | NodeResult]
    output_node: bool = False
    category: str = CATEGORY
    fingerprint: Callable[..., Any] | None = None

    @property
    def inputs(self) -> Sequence[Port]:
        """The input ports (a callable ``input_ports`` is called now: nodes whose core ports live in a module
        that imports torch build them when ComfyUI asks for the schema, not at registration)."""
        return self.input_ports() if callable(self.input_ports) else self.input_ports


def from_port(node: type, port_name: str, /, **overrides: Any) -> Port:
    """The widget of a core node's input port ``name`` (``nodes.base.Port``: its default, choices, limits and
    doc), so a ComfyUI node never restates them; ``overrides`` for what ComfyUI shows differently (e.g. a
    FLOAT widget's 0 standing for the core's None, a renamed input)."""
    from ...nodes.base import REQUIRED
    from ...nodes.base import port as core_port

    core = core_port(node, port_name)
    kinds = core.kind if isinstance(core.kind, tuple) else (core.kind,)
    kind = ("COMBO" if core.choices else "BOOLEAN" if bool in kinds else "INT" if int in kinds and float not in kinds
            else "FLOAT" if float in kinds else "STRING")
    fields: dict[str, Any] = {"kind": kind, "options": tuple(core.choices), "tooltip": core.doc,
                              "default": None if core.default in (REQUIRED, None) else core.default,
                              "min": core.min, "max": core.max}
    fields.update(overrides)
    return Port(fields.pop("name", port_name), **fields)


def combo_options(port: Port) -> list:
    """The COMBO choices of ``port`` now."""
    return list(port.options() if callable(port.options) else port.options)


def as_result(value: tuple | NodeResult) -> NodeResult:
    """Normalise a node function's return value."""
    return value if isinstance(value, NodeResult) else NodeResult(tuple(value))
