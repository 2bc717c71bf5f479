import argparse
import re
import subprocess
import sys

import pytest
from talkinghead.plugin import cli


def test_unavailable_command_exits_2(capsys, monkeypatch):
    monkeypatch.setattr(cli, "_command_module", lambda name: None)
    assert cli.main(["publish"]) == 2
    assert "not available yet" in capsys.readouterr().err


def test_no_command_is_usage(capsys):
    assert cli.main([]) == 2


def test_missing_weights_exit_4(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TALKINGHEAD_MODELS", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert cli.main(["weights", "verify", "fan-2d"]) == 4


def test_bad_device_exit_2(capsys):
    import torch

    if torch.cuda.is_available():
        return
    assert cli.main(["--device", "cuda", "doctor"]) == 2
    assert "CUDA is not available" in capsys.readouterr().err


def test_doctor_reports(capsys):
    assert cli.main(["--device", "cpu", "doctor"]) == 0
    out = capsys.readouterr().out
    assert "CPUExecutionProvider" in out and "dlib-landmarks-68" in out and "NON-COMMERCIAL" in out
    assert "dlib face-ResNet feature matching in VGGFace's place" in out  # which content loss is in use


def test_console_script_installed():
    proc = subprocess.run([sys.executable, "-m", "talkinghead.plugin.cli", "--version"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "talkinghead" in proc.stdout


INTERNAL = re.compile(r"§|DESIGN|\bissue \d|nodes/|plugin/|runtime/|scripts/|``|\w\.py\b|shared/data")


def _subcommands() -> dict:
    parser = cli.build_parser()
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_top_level_help_lists_exit_codes_and_loudness_flags():
    text = cli.build_parser().format_help()
    for code, what in (("0", "success"), ("2", "usage error"), ("3", "bad input"), ("4", "missing weights"),
                       ("5", "interrupted")):
        assert re.search(rf"^\s+{code}\s+{what}", text, re.MULTILINE), code
    assert "-q, --quiet" in text and "-v, --verbose" in text and not INTERNAL.search(text)


def test_every_command_help_has_an_example_and_no_internal_references():
    commands = _subcommands()
    assert set(commands) == set(cli.COMMANDS)
    for name, parser in commands.items():
        text = parser.format_help()
        example = text.split("example:\n", 1)[-1] if "example:\n" in text else ""
        assert f"talkinghead {name}" in example, f"{name}: no example in --help"
        found = INTERNAL.findall(text)
        assert not found, f"{name} --help refers to internal documents: {found}"


def test_quiet_and_verbose(tmp_path, capsys):
    import logging

    from talkinghead.runtime.progress import SilentProgress

    logger = logging.getLogger("talkinghead")
    level = logger.level
    try:
        args = cli.build_parser().parse_args(["-q", "doctor"])
        assert cli.log_level(args) == logging.WARNING
        assert isinstance(cli.quiet_progress(10, "x"), SilentProgress)
        assert cli.log_level(cli.build_parser().parse_args(["-v", "doctor"])) == logging.DEBUG
        assert cli.log_level(cli.build_parser().parse_args(["doctor"])) == logging.INFO
        assert cli.main(["-q", "--device", "cpu", "landmarks", str(tmp_path / "missing.png"),
                         "--out", str(tmp_path / "t.npz")]) == 3
        assert logger.getEffectiveLevel() == logging.WARNING
        assert "missing.png" in capsys.readouterr().err  # errors still shown
        with pytest.raises(SystemExit) as exc:
            cli.main(["-q", "-v", "doctor"])
        assert exc.value.code == 2
    finally:
        logger.setLevel(level)


def test_quiet_runtime_reports_no_progress(monkeypatch):
    args = cli.build_parser().parse_args(["-q", "--device", "cpu", "doctor"])
    from talkinghead.runtime.progress import SilentProgress

    rt = cli._runtime_factory(args)()
    assert isinstance(rt.progress(5, "render"), SilentProgress)
    loud = cli._runtime_factory(cli.build_parser().parse_args(["--device", "cpu", "doctor"]))()
    assert not isinstance(loud.progress(5, "render"), SilentProgress)


def test_one_default_preset_everywhere():
    """The README and demo call small-128-warp the default: every command, node and host uses that one constant."""
    import inspect

    from talkinghead.nodes.evaluation.run import EvalConfig
    from talkinghead.nodes.graph_io import LoadBase
    from talkinghead.nodes.networks.presets import DEFAULT_PRESET, PRESETS
    from talkinghead.nodes.person import load_base
    from talkinghead.nodes.render.shot import Shot
    from talkinghead.plugin.comfyui.definitions_models import SPECS, load_base_model

    assert DEFAULT_PRESET == "small-128-warp" and DEFAULT_PRESET in PRESETS
    commands = _subcommands()
    for name in ("demo", "embed", "finetune", "eval"):
        assert commands[name].get_default("preset") == DEFAULT_PRESET, name
        assert f"default {DEFAULT_PRESET}" in commands[name].format_help(), name
    for func in (load_base, LoadBase.run, load_base_model):
        assert inspect.signature(func).parameters["preset"].default == DEFAULT_PRESET, func
    assert EvalConfig(clips=".").preset == Shot.__dataclass_fields__["preset"].default == DEFAULT_PRESET
    port = next(p for spec in SPECS if spec.node_id == "TalkingheadLoadBase" for p in spec.inputs if p.name == "preset")
    assert port.default == DEFAULT_PRESET
    from talkinghead.nodes.base import port as core_port
    from talkinghead.nodes.pipeline import PipelineConfig
    from talkinghead.nodes.pipeline_nodes import MakePerson

    assert PipelineConfig().preset == core_port(MakePerson, "preset").default == DEFAULT_PRESET
