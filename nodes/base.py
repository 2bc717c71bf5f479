"""Node protocol: declared ports (the single source of truth for names, types, defaults, choices and docs),
models needed, and a stateless ``run(rt, **inputs) -> outputs``.

The graph runner (``graph.py``) checks inputs against the ports and resolves path ports against the graph's
folder; the ComfyUI adapter builds its widgets from the same ports (``plugin/comfyui/spec.from_port``).
A test holds every node's ports equal to its ``run`` signature.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from ..runtime.errors import UsageError


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Port:
    """One input or output of a node.

    Attributes:
        name: the keyword ``run`` takes (inputs) or the key it returns (outputs).
        kind: accepted type(s); ``object`` accepts anything.
        default: the value when not given (``REQUIRED``: must be given); equals ``run``'s default.
        doc: one line for users (tooltips, graph errors).
        choices: the allowed values, when the port is a choice.
        min, max: numeric limits.
        path: a file or folder path (a graph resolves it against the graph file's folder).
        writes: a path the node writes (a graph checks it can be written before any node runs).
    """

    name: str
    kind: type | tuple[type, ...] = object
    default: Any = REQUIRED
    doc: str = ""
    choices: tuple = ()
    min: float | None = None
    max: float | None = None
    path: bool = False
    writes: bool = False

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@runtime_checkable
class Node(Protocol):
    """A composable, stateless step (DESIGN §5): ports, the ModelSpecs it may resolve, and ``run``."""

    inputs: ClassVar[tuple[Port, ...]]
    outputs: ClassVar[tuple[Port, ...]]
    models: ClassVar[tuple[str, ...]]

    def run(self, rt: Any, **inputs: Any) -> dict[str, Any]: ...


def port(node: Node | type, name: str) -> Port:
    """The input port ``name`` of ``node`` (a node or its class)."""
    for p in node.inputs:
        if p.name == name:
            return p
    raise KeyError(f"{getattr(node, '__name__', type(node).__name__)} has no input port {name!r}")


def check_inputs(node: Node | type, inputs: Mapping[str, Any]) -> None:
    """UsageError for unknown or missing ports, values of the wrong type, choices and limits not kept.

    ``None`` passes for a port whose default is None (an optional input left empty).
    """
    name = getattr(node, "__name__", type(node).__name__)
    declared = {p.name: p for p in node.inputs}
    unknown = sorted(set(inputs) - set(declared))
    if unknown:
        raise UsageError(f"{name}: unknown input(s) {unknown}; it takes {sorted(declared)}")
    for p in declared.values():
        if p.name not in inputs:
            if p.required:
                raise UsageError(f"{name}: missing input '{p.name}'" + (f" ({p.doc})" if p.doc else ""))
            continue
        value = inputs[p.name]
        if value is None and p.default is None:
            continue
        if not isinstance(value, p.kind) or (isinstance(value, bool) and p.kind in (int, float)):
            raise UsageError(f"{name}: input '{p.name}' must be {_kind_name(p.kind)}, got {type(value).__name__}")
        if p.choices and value not in p.choices:
            raise UsageError(f"{name}: input '{p.name}' must be one of {list(p.choices)}, got {value!r}")
        if (p.min is not None and value < p.min) or (p.max is not None and value > p.max):
            raise UsageError(f"{name}: input '{p.name}' must be within [{p.min}, {p.max}], got {value!r}")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)
