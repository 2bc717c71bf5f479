import subprocess
import sys

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
