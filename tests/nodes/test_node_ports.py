"""Node ports are the single source of truth: every graph node declares ports equal to its run() signature,
and the graph runner checks inputs against them."""
import inspect

import numpy as np
import pytest
from talkinghead.nodes.base import REQUIRED, Port, check_inputs
from talkinghead.nodes.graph import node_classes, registry
from talkinghead.runtime.errors import UsageError


@pytest.mark.parametrize("node", node_classes(), ids=lambda n: n.__name__)
def test_ports_match_run_signature(node):
    params = [p for name, p in inspect.signature(node.run).parameters.items() if name not in ("self", "rt")]
    assert [p.name for p in node.inputs] == [p.name for p in params]
    for port, param in zip(node.inputs, params):
        expected = REQUIRED if param.default is inspect.Parameter.empty else param.default
        assert port.default == expected or (port.default is REQUIRED and expected is REQUIRED), port.name
        assert isinstance(port, Port) and (not port.choices or port.default in port.choices)
    assert all(isinstance(p, Port) for p in node.outputs) and isinstance(node.models, tuple)


def test_registry_paths_come_from_ports():
    types = registry()
    assert types["ExtractLandmarks"].paths == ("source",)
    assert types["WriteFrames"].writes == ("pattern",) and types["SavePerson"].writes == ("path",)
    assert types["FineTune"].paths == ("checkpoint",) and types["FineTune"].writes == ()


class Demo:
    inputs = (Port("a", int, doc="a number", min=1), Port("mode", str, "x", choices=("x", "y")),
              Port("extra", np.ndarray, None))


@pytest.mark.parametrize(("inputs", "message"), [
    ({}, "missing input 'a' \\(a number\\)"), ({"a": 1, "b": 2}, "unknown input"),
    ({"a": "1"}, "must be int"), ({"a": True}, "must be int"), ({"a": 0}, "within"),
    ({"a": 1, "mode": "z"}, "one of"), ({"a": 1, "extra": [1]}, "must be ndarray")])
def test_check_inputs_refuses(inputs, message):
    with pytest.raises(UsageError, match=message):
        check_inputs(Demo, inputs)


def test_check_inputs_accepts_defaults_and_empty_optionals():
    check_inputs(Demo, {"a": 2})
    check_inputs(Demo, {"a": 2, "mode": "y", "extra": None})
