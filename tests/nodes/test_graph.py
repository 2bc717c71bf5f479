"""nodes.graph: topological runs, references, path resolution, tee'd streams, errors naming graph and node;
the example graph JSON (tiny-64, 1 step) through `talkinghead graph run`."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from talkinghead.nodes.graph import (
    GRAPH_FORMAT,
    NodeType,
    load_graph,
    parse_graph,
    run_graph,
    topological_order,
)
from talkinghead.plugin.cli import main
from talkinghead.runtime.errors import BadInputError, UsageError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "graph" / "animate.json"


class Const:
    def run(self, rt, value):
        return {"value": value}


class Add:
    def run(self, rt, a, b=0):
        return {"value": a + b}


class Count:
    def run(self, rt, n):
        return {"stream": iter(range(n))}


class Total:
    def run(self, rt, items):
        return {"value": sum(items)}


class Fail:
    def run(self, rt, path):
        raise BadInputError("no face found", path, 7)


class Runtime:
    def check_cancelled(self):
        pass


TYPES = {"Const": NodeType(Const), "Add": NodeType(Add), "Count": NodeType(Count), "Total": NodeType(Total),
         "Fail": NodeType(Fail, ("path",))}


def graph(nodes: dict, source: str = "g.json"):
    return parse_graph({"format": GRAPH_FORMAT, "nodes": nodes}, source)


def test_runs_in_dependency_order_not_file_order():
    g = graph({"sum": {"type": "Add", "inputs": {"a": ["one", "value"], "b": ["two", "value"]}},
               "two": {"type": "Const", "inputs": {"value": 2}}, "one": {"type": "Const", "inputs": {"value": 1}}})
    assert topological_order(g) == ["two", "one", "sum"]
    assert run_graph(Runtime(), g, TYPES)["sum"] == {"value": 3}


def test_stream_read_by_two_nodes_is_teed():
    g = graph({"c": {"type": "Count", "inputs": {"n": 4}},
               "t1": {"type": "Total", "inputs": {"items": ["c", "stream"]}},
               "t2": {"type": "Total", "inputs": {"items": ["c", "stream"]}}})
    out = run_graph(Runtime(), g, TYPES)
    assert out["t1"]["value"] == out["t2"]["value"] == 6


@pytest.mark.parametrize(("nodes", "message"), [
    ({"x": {"type": "Nope", "inputs": {}}}, r"node 'x' \(Nope\): unknown node type"),
    ({"x": {"type": "Const", "inputs": {"value": 1, "extra": 2}}}, r"node 'x' \(Const\): unknown input\(s\) \['extra'\]"),
    ({"x": {"type": "Add", "inputs": {}}}, r"node 'x' \(Add\): missing input\(s\) \['a'\]"),
    ({"x": {"type": "Add", "inputs": {"a": ["ghost", "value"]}}}, "refers to unknown node 'ghost'"),
    ({"x": {"type": "Add", "inputs": {"a": ["y", "value"]}}, "y": {"type": "Add", "inputs": {"a": ["x", "value"]}}},
     r"cycle among nodes \['x', 'y'\]"),
    ({"c": {"type": "Const", "inputs": {"value": 1}}, "x": {"type": "Add", "inputs": {"a": ["c", "valu"]}}},
     r"reads output 'valu' of node 'c', which has outputs \['value'\]"),
])
def test_usage_errors_name_the_graph_and_node(nodes, message):
    with pytest.raises(UsageError, match=message) as info:
        run_graph(Runtime(), graph(nodes), TYPES)
    assert "g.json" in str(info.value)


def test_node_errors_keep_their_exit_code_and_name_node_file_and_frame(tmp_path):
    g = graph({"f": {"type": "Fail", "inputs": {"path": "photo.png"}}}, str(tmp_path / "g.json"))
    with pytest.raises(BadInputError) as info:
        run_graph(Runtime(), g, TYPES)
    text = str(info.value)
    assert f"graph {tmp_path / 'g.json'}: node 'f' (Fail)" in text
    assert str(tmp_path / "photo.png") in text and "frame 7" in text  # relative path resolved to the graph folder
    assert info.value.exit_code == 3


def test_bad_graph_files(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"nodes": {}}))
    with pytest.raises(BadInputError, match="not a talkinghead graph") as info:
        load_graph(path)
    assert str(path) in str(info.value)
    path.write_text(json.dumps({"format": GRAPH_FORMAT, "nodes": {"a": {"inputs": {}}}}))
    with pytest.raises(BadInputError, match="node 'a': needs a \"type\""):
        load_graph(path)


def test_example_graph_runs_through_the_cli(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["--device", "cpu", "graph", "run", str(EXAMPLE), "--set", "person.residual=off",
                 "--set", f"save.path={out / 'p.person.safetensors'}", "--set", f"write.pattern={out / 'f.####.png'}"])
    assert code == 0
    frames = sorted(out.glob("f.*.png"))
    assert [p.name for p in frames][:2] == ["f.1001.png", "f.1002.png"] and len(frames) == 12
    import cv2

    first = cv2.imread(str(frames[0]))
    assert first.shape == (256, 256, 3)
    photo = cv2.imread(str(ROOT / "examples" / "media" / "astronaut.png"))
    corner = np.abs(first[:32, :32].astype(int) - photo[:32, :32])
    assert corner.max() <= 16 and corner.mean() < 2.5  # composited into the photo: corners only watermarked
    assert np.abs(first.astype(int) - photo).max() > 60  # the head moved
    from talkinghead.nodes.provenance.unsigned import read_note
    from talkinghead.nodes.provenance.watermark import decode_watermark, payload_for

    note = read_note(frames[0])  # no credentials in this test: flagged unsigned, consent checked
    assert note["c2pa"] == "unsigned" and note["consent"]["check"] == "passed"
    assert decode_watermark(np.ascontiguousarray(first[..., ::-1])) == payload_for(note["consent"]["id"])
    assert (out / "p.person.safetensors").is_file()
    assert "ran 6 node(s)" in capsys.readouterr().out


def test_cli_usage_errors_exit_2(tmp_path, capsys):
    assert main(["graph", "run", str(EXAMPLE), "--set", "nope.steps=1"]) == 2
    assert "no node 'nope'" in capsys.readouterr().err


def test_output_paths_are_checked_before_any_node_runs(tmp_path, capsys):
    blocker = tmp_path / "plain"
    blocker.write_text("a file, not a folder")
    graph = {"format": GRAPH_FORMAT, "nodes": {
        "read": {"type": "ReadFaceTrack", "inputs": {"path": "missing.npz"}},  # would fail if it ran
        "save": {"type": "SaveFaceTrack", "inputs": {"track": ["read", "track"], "path": "plain/out.npz"}}}}
    path = tmp_path / "g.json"
    path.write_text(json.dumps(graph))
    assert main(["--device", "cpu", "graph", "run", str(path)]) == 3
    err = capsys.readouterr().err
    assert "plain: is a file, not a folder: graph" in err and "node 'save' (SaveFaceTrack): input 'path' cannot" in err
    graph["nodes"]["save"] = {"type": "WriteFrames", "inputs": {"frames": ["read", "track"],
                                                                "pattern": "plain/f.####.png"}}
    path.write_text(json.dumps(graph))
    assert main(["--device", "cpu", "graph", "run", str(path)]) == 3
    assert "node 'save' (WriteFrames): input 'pattern' cannot write under it" in capsys.readouterr().err
