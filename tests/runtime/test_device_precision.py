import pytest
import torch
from talkinghead.runtime.device import pick_device
from talkinghead.runtime.errors import UsageError
from talkinghead.runtime.precision import Precision
from talkinghead.runtime.runtime import Runtime

CPU = torch.device("cpu")


def test_auto_precision_on_cpu_is_fp32():
    p = Precision.resolve("auto", CPU)
    assert p.name == "32-true" and p.dtype == torch.float32 and not p.mixed


def test_fp16_on_cpu_falls_back(caplog):
    p = Precision.resolve("16-mixed", CPU)
    assert p.name == "32-true" and p.requested == "16-mixed"
    assert "falling back" in caplog.text
    assert "requested 16-mixed" in str(p)


def test_bf16_on_cpu_autocasts():
    p = Precision.resolve("bf16-mixed", CPU)
    assert p.name == "bf16-mixed"
    lin = torch.nn.Linear(4, 4)
    with p.autocast():
        out = lin(torch.ones(2, 4))
    assert out.dtype == torch.bfloat16
    assert not p.scaler().is_enabled()


def test_fp32_autocast_is_noop_and_scaler_disabled():
    p = Precision.resolve("32-true", CPU)
    with p.autocast():
        assert torch.nn.Linear(2, 2)(torch.ones(1, 2)).dtype == torch.float32
    assert not p.scaler().is_enabled()


def test_unknown_precision_is_usage_error():
    with pytest.raises(UsageError, match="unknown precision"):
        Precision.resolve("fp8", CPU)


def test_auto_precision_by_cuda_capability(monkeypatch):
    cuda = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda d=None: (8, 0))
    assert Precision.resolve("auto", cuda).name == "bf16-mixed"
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda d=None: (7, 5))
    assert Precision.resolve("auto", cuda).name == "16-mixed"


def test_env_override_and_unusable_device(monkeypatch):
    monkeypatch.setenv("TALKINGHEAD_DEVICE", "cpu")
    assert pick_device("auto") == CPU
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match="CUDA is not available"):
            pick_device("cuda")
        monkeypatch.setenv("TALKINGHEAD_DEVICE", "cuda")
        with pytest.raises(UsageError):
            Runtime()
    with pytest.raises(UsageError):
        pick_device("tpu")


def test_runtime_cancel_and_say_once(caplog):
    rt = Runtime(device="cpu")
    rt.check_cancelled()
    rt.say_once("k", "only once")
    rt.say_once("k", "only once")
    assert caplog.text.count("only once") == 1
    rt.cancel.cancel()
    from talkinghead.runtime.errors import Interrupted

    with pytest.raises(Interrupted):
        rt.check_cancelled()
