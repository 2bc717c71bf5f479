"""ComfyUI widgets come from the core nodes' ports: same defaults, choices, limits and docs."""
from talkinghead.nodes.base import port
from talkinghead.nodes.budget import DEFAULT_STEPS
from talkinghead.nodes.composite import Composite
from talkinghead.nodes.embedding import EmbedIdentity
from talkinghead.nodes.generate import GenerateFrames
from talkinghead.nodes.landmarks.extract import ExtractLandmarks
from talkinghead.plugin.comfyui import node_specs
from talkinghead.plugin.comfyui.spec import combo_options, from_port


def _widget(node_id, name):
    spec = next(s for s in node_specs() if s.node_id == node_id)
    return next(p for p in spec.inputs if p.name == name)


def test_widgets_equal_core_ports():
    for node_id, name, core in [("TalkingheadGenerateFrames", "retarget", port(GenerateFrames, "retarget")),
                                ("TalkingheadGenerateFrames", "backend", port(GenerateFrames, "backend")),
                                ("TalkingheadEmbedIdentity", "backend", port(EmbedIdentity, "backend")),
                                ("TalkingheadExtractLandmarks", "backend", port(ExtractLandmarks, "backend"))]:
        widget = _widget(node_id, name)
        assert widget.kind == "COMBO" and combo_options(widget) == list(core.choices)
        assert widget.default == core.default and widget.tooltip == core.doc
    assert combo_options(_widget("TalkingheadComposite", "matte")) == list(port(Composite, "mode").choices)
    batch = _widget("TalkingheadGenerateFrames", "batch_size")
    assert (batch.kind, batch.default, batch.min) == ("INT", 8, 1)
    steps = _widget("TalkingheadFineTune", "steps")
    assert (steps.kind, steps.default, steps.min) == ("INT", DEFAULT_STEPS, 0)
    assert _widget("TalkingheadExtractLandmarks", "smooth").kind == "BOOLEAN"


def test_overrides_rename_and_retype():
    widget = from_port(Composite, "mode", name="matte", default="square")
    assert (widget.name, widget.default, widget.kind) == ("matte", "square", "COMBO")
