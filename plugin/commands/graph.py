"""Run a JSON graph of nodes: talkinghead graph run GRAPH.json [--set NODE.INPUT=VALUE ...].

A graph names its nodes, their types and their inputs (literals, or another node's output);
examples/graph/animate.json in the source distribution is a complete one. --set overrides one literal
input (VALUE is JSON, else a plain string).
"""
# The graph format: nodes/graph.py.
from __future__ import annotations

import argparse
import json

from ...runtime.errors import UsageError

EXAMPLE = """\
  talkinghead graph run animate.json --set finetune.steps=300 --set base.preset=small-128-warp
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="graph_command", metavar="ACTION")
    run_p = sub.add_parser("run", help="run every node of a graph once, in dependency order")
    run_p.add_argument("graph", help="graph JSON file")
    run_p.add_argument("--set", dest="overrides", action="append", default=[], metavar="NODE.INPUT=VALUE",
                       help="override an input (VALUE parsed as JSON, else taken as a string); repeatable")


def apply_overrides(graph, overrides: list[str]) -> None:
    """Set ``NODE.INPUT=VALUE`` literals on a parsed graph; UsageError naming a bad one."""
    for item in overrides:
        target, sep, text = item.partition("=")
        nid, dot, name = target.partition(".")
        if not sep or not dot or not nid or not name:
            raise UsageError(f"--set {item!r}: expected NODE.INPUT=VALUE")
        if nid not in graph.nodes:
            raise UsageError(f"--set {item!r}: no node '{nid}' in the graph (nodes: {', '.join(graph.nodes)})")
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        graph.nodes[nid]["inputs"][name] = value


def _summary(value) -> str | None:
    if isinstance(value, (str, int, float, bool)):
        return str(value)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return f"{len(value)} item(s): {value[0]}{' ...' if len(value) > 1 else ''}"
    return None


def run(args: argparse.Namespace) -> int:
    from ...nodes.graph import load_graph, run_graph

    if getattr(args, "graph_command", None) != "run":
        raise UsageError("usage: talkinghead graph run GRAPH.json")
    graph = load_graph(args.graph)
    apply_overrides(graph, args.overrides)
    results = run_graph(args.runtime(), graph)
    for nid, outputs in results.items():
        shown = {k: s for k, v in outputs.items() if (s := _summary(v)) is not None}
        if shown:
            print(f"{nid}: " + ", ".join(f"{k} = {v}" for k, v in shown.items()))
    print(f"{args.graph}: ran {len(results)} node(s)")
    return 0
