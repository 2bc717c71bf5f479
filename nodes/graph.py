"""Run a JSON graph of nodes (``talkinghead graph run GRAPH.json``; farms and pipelines use it too).

Format (``talkinghead.graph/1``)::

    {"format": "talkinghead.graph/1",
     "nodes": {
       "photo":    {"type": "ReadImages", "inputs": {"paths": ["../media/astronaut.png"]}},
       "base":     {"type": "LoadBase", "inputs": {"preset": "tiny-64"}},
       "identity": {"type": "EmbedIdentity", "inputs": {"base": ["base", "base"], "images": ["photo", "images"]}},
       ...}}

An input is a literal JSON value or a reference ``["node id", "output port"]`` to another node's output.
Nodes run once each, in topological order (ties in file order). Relative paths in a node type's path inputs
are relative to the graph file's folder. A streamed output (an iterator, e.g. GenerateFrames' frames) read by
several nodes is tee'd. Every error names the graph file and the node (id and type); a failing node keeps
its exit code (bad input 3, missing weights 4, ...).
"""
from __future__ import annotations

import inspect
import itertools
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..runtime.errors import BadInputError, TalkingheadError, UsageError
from .base import Port, check_inputs

if TYPE_CHECKING:
    from ..runtime.runtime import Runtime

GRAPH_FORMAT = "talkinghead.graph/1"


@dataclass(frozen=True)
class NodeType:
    """A node type the runner knows: ``factory()`` gives an object with ``run(rt, **inputs) -> dict``.

    Attributes:
        factory: the node class (or any zero-argument callable giving a node).
        paths: names of inputs that are file paths (a str, or a list of str), resolved against the graph's folder.
        writes: those of ``paths`` the node writes (a file, or a '####' pattern): checked before any node runs.
    """

    factory: Callable[[], Any]
    paths: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()

    @classmethod
    def of(cls, node: type) -> NodeType:
        """The type of a node class, from its declared ports (``nodes.base.Port``)."""
        return cls(node, tuple(p.name for p in node.inputs if p.path),
                   tuple(p.name for p in node.inputs if p.writes))


@dataclass
class Graph:
    """A parsed graph: node id -> {"type", "inputs"}, in file order, and where it came from."""

    nodes: dict[str, dict[str, Any]]
    source: Path | None = None
    folder: Path = field(default_factory=Path.cwd)


def node_classes() -> tuple[type, ...]:
    """Every node class a graph can name (by its class name)."""
    from . import graph_io
    from .composite import Composite
    from .embedding import EmbedIdentity
    from .finetune import FineTune
    from .generate import GenerateFrames
    from .landmarks.extract import ExtractLandmarks
    from .pipeline_nodes import Animate, MakePerson

    return (ExtractLandmarks, MakePerson, Animate, EmbedIdentity, FineTune, GenerateFrames, Composite,
            graph_io.ReadImages,
            graph_io.LoadBase, graph_io.ReadFaceTrack, graph_io.SaveFaceTrack, graph_io.SavePerson,
            graph_io.LoadPerson, graph_io.WriteFrames)


def registry() -> dict[str, NodeType]:
    """The built-in node types, built from their declared ports."""
    return {node.__name__: NodeType.of(node) for node in node_classes()}


def _has_ports(node: Any) -> bool:
    return all(isinstance(p, Port) for p in getattr(node, "inputs", (None,)))


def is_reference(value: Any) -> bool:
    """``["node id", "port"]``."""
    return isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)


def parse_graph(data: Any, source: str | os.PathLike | None = None) -> Graph:
    """Check the graph's shape (format, nodes, types, inputs); BadInputError naming the file and node."""
    where = str(source) if source else None
    if not isinstance(data, dict) or data.get("format") != GRAPH_FORMAT:
        raise BadInputError(f"not a talkinghead graph (expected \"format\": \"{GRAPH_FORMAT}\")", where)
    nodes = data.get("nodes")
    if not isinstance(nodes, dict) or not nodes:
        raise BadInputError("the graph has no \"nodes\" mapping", where)
    for nid, node in nodes.items():
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            raise BadInputError(f"node '{nid}': needs a \"type\" (string)", where)
        if not isinstance(node.get("inputs", {}), dict):
            raise BadInputError(f"node '{nid}' ({node['type']}): \"inputs\" must be a mapping", where)
    folder = Path(source).resolve().parent if source else Path.cwd()
    return Graph({nid: {"type": n["type"], "inputs": dict(n.get("inputs", {}))} for nid, n in nodes.items()},
                 Path(source) if source else None, folder)


def load_graph(path: str | os.PathLike) -> Graph:
    """Read a graph JSON file."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise BadInputError(f"cannot read graph ({exc})", path) from exc
    return parse_graph(data, path)


def _label(graph: Graph, nid: str) -> str:
    where = f"graph {graph.source}: " if graph.source else "graph: "
    return f"{where}node '{nid}' ({graph.nodes[nid]['type']})"


def topological_order(graph: Graph) -> list[str]:
    """Node ids so that every node comes after the nodes it reads; UsageError for unknown ids and cycles."""
    needs: dict[str, set[str]] = {}
    for nid, node in graph.nodes.items():
        needs[nid] = set()
        for name, value in node["inputs"].items():
            if is_reference(value):
                if value[0] not in graph.nodes:
                    raise UsageError(f"{_label(graph, nid)}: input '{name}' refers to unknown node '{value[0]}'")
                needs[nid].add(value[0])
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(graph.nodes):
        ready = [nid for nid in graph.nodes if nid not in done and needs[nid] <= done]
        if not ready:
            stuck = sorted(nid for nid in graph.nodes if nid not in done)
            raise UsageError(f"graph {graph.source or ''}: cycle among nodes {stuck}".replace("graph : ", "graph: "))
        order.append(ready[0])
        done.add(ready[0])
    return order


def _check_signature(graph: Graph, nid: str, node: Any, inputs: Mapping[str, Any]) -> None:
    params = inspect.signature(node.run).parameters
    names = [p for p in params if p not in ("self", "rt")]
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    unknown = sorted(set(inputs) - set(names)) if not takes_any else []
    if unknown:
        raise UsageError(f"{_label(graph, nid)}: unknown input(s) {unknown}; it takes {names}")
    missing = [p for p in names if params[p].default is inspect.Parameter.empty and p not in inputs
               and params[p].kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)]
    if missing:
        raise UsageError(f"{_label(graph, nid)}: missing input(s) {missing}")


def _resolve_paths(graph: Graph, value: Any) -> Any:
    if isinstance(value, str):
        path = Path(os.path.expanduser(value))
        return str(path if path.is_absolute() else graph.folder / path)
    if isinstance(value, list):
        return [_resolve_paths(graph, v) for v in value]
    return value


def check_outputs(graph: Graph, types: Mapping[str, NodeType]) -> None:
    """Pre-flight (``runtime.preflight``) of every literal output path of the graph, before any node runs."""
    from ..runtime.preflight import check_output_dir, check_output_file
    from .media.io import is_pattern

    for nid, node in graph.nodes.items():
        for name in types[node["type"]].writes:
            value = node["inputs"].get(name)
            if isinstance(value, str):
                path = Path(_resolve_paths(graph, value))
                option = f"{_label(graph, nid)}: input '{name}'"
                if is_pattern(path):  # a frame pattern: its folder
                    check_output_dir(path.parent, option)
                else:
                    check_output_file(path, option)


def _consumers(graph: Graph) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for node in graph.nodes.values():
        for value in node["inputs"].values():
            if is_reference(value):
                counts[(value[0], value[1])] = counts.get((value[0], value[1]), 0) + 1
    return counts


def run_graph(rt: Runtime, graph: Graph, types: Mapping[str, NodeType] | None = None) -> dict[str, dict[str, Any]]:
    """Run every node once, in topological order; returns node id -> its outputs.

    Raises:
        UsageError: unknown node type, unknown/missing inputs, unknown output port, reference cycle.
        TalkingheadError: what a node raised, with the graph file and the node named in front.
    """
    types = registry() if types is None else types
    for nid, node in graph.nodes.items():
        if node["type"] not in types:
            raise UsageError(f"{_label(graph, nid)}: unknown node type; known: {', '.join(sorted(types))}")
    order = topological_order(graph)
    check_outputs(graph, types)
    readers = _consumers(graph)
    results: dict[str, dict[str, Any]] = {}
    tees: dict[tuple[str, str], Iterator[Any]] = {}
    for nid in order:
        kind = types[graph.nodes[nid]["type"]]
        node = kind.factory()
        inputs = {}
        for name, value in graph.nodes[nid]["inputs"].items():
            if is_reference(value):
                value = _output(graph, nid, name, value, results, readers, tees)
            elif name in kind.paths:
                value = _resolve_paths(graph, value)
            inputs[name] = value
        _check_signature(graph, nid, node, inputs)
        rt.check_cancelled()
        try:
            if _has_ports(node):
                check_inputs(node, inputs)
            outputs = node.run(rt, **inputs)
        except TalkingheadError as exc:
            raise _named(exc, _label(graph, nid)) from exc
        if not isinstance(outputs, dict):
            raise UsageError(f"{_label(graph, nid)}: returned {type(outputs).__name__}, not a dict of outputs")
        results[nid] = outputs
    return results


def _output(graph: Graph, nid: str, name: str, ref: list[str], results: dict, readers: dict, tees: dict) -> Any:
    source, port = ref
    if port not in results[source]:
        raise UsageError(f"{_label(graph, nid)}: input '{name}' reads output '{port}' of node '{source}', which "
                         f"has outputs {sorted(results[source])}")
    value = results[source][port]
    key = (source, port)
    if isinstance(value, Iterator) and readers.get(key, 0) > 1:
        if key not in tees:
            tees[key] = iter(itertools.tee(value, readers[key]))
        return next(tees[key])
    return value


def _named(exc: TalkingheadError, label: str) -> TalkingheadError:
    """The same error class (same exit code) with the graph and node named first."""
    renamed = TalkingheadError.__new__(type(exc))
    Exception.__init__(renamed, f"{label}: {exc}")
    renamed.__dict__.update(exc.__dict__)
    return renamed
