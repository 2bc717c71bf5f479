"""Node protocol: declared ports, models needed, and a stateless ``run(rt, **inputs) -> outputs``."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from ..runtime.errors import UsageError

if TYPE_CHECKING:
    from ..runtime.runtime import Runtime


@runtime_checkable
class Node(Protocol):
    """A composable, stateless step (DESIGN §5).

    Attributes:
        inputs: port name -> expected type (checked by ``check_inputs``).
        outputs: port name -> produced type.
        models: names of the ModelSpecs the node may resolve through the runtime.
    """

    inputs: ClassVar[Mapping[str, type | tuple[type, ...]]]
    outputs: ClassVar[Mapping[str, type]]
    models: ClassVar[tuple[str, ...]]

    def run(self, rt: Runtime, **inputs: Any) -> dict[str, Any]: ...


def check_inputs(node: Node, inputs: Mapping[str, Any], optional: tuple[str, ...] = ()) -> None:
    """Raise UsageError for missing, unknown or wrongly typed ports."""
    name = type(node).__name__
    unknown = set(inputs) - set(node.inputs)
    if unknown:
        raise UsageError(f"{name}: unknown input(s) {sorted(unknown)}; expects {sorted(node.inputs)}")
    for port, kind in node.inputs.items():
        if port not in inputs or inputs[port] is None:
            if port in optional:
                continue
            raise UsageError(f"{name}: missing input '{port}'")
        if not isinstance(inputs[port], kind):
            raise UsageError(f"{name}: input '{port}' must be {kind}, got {type(inputs[port]).__name__}")
