import subprocess
import sys

import numpy as np
from talkinghead.runtime.onnx import (
    OnnxSessionCache,
    _identity_model_bytes,
    candidate_providers,
    working_providers,
)


def test_providers_only_those_that_work_here():
    import torch

    names = working_providers("cuda")
    assert names[-1] == "CPUExecutionProvider"
    if not torch.cuda.is_available():
        assert names == ["CPUExecutionProvider"]
        assert candidate_providers("cuda") == ["CPUExecutionProvider"]


def test_session_cache_reuses_and_runs(tmp_path):
    model = tmp_path / "identity.onnx"
    model.write_bytes(_identity_model_bytes())
    cache = OnnxSessionCache("cpu")
    s1, s2 = cache.get(model), cache.get(model)
    assert s1 is s2
    out = s1.run(None, {"x": np.array([3.5], np.float32)})[0]
    assert out.tolist() == [3.5]
    assert s1.get_providers() == ["CPUExecutionProvider"]


def test_sessions_flush_denormals_but_leave_the_callers_mode(tmp_path):
    """Sessions run with denormals as zero (the attention softmax's tiny weights cost 2x on CPU), and ORT's
    habit of switching the creating thread to flush-to-zero for good is undone.

    ORT does that only when the process's first session asks for it, hence a fresh interpreter.
    """
    model = tmp_path / "identity.onnx"
    model.write_bytes(_identity_model_bytes())
    script = (
        "import sys, numpy as np\n"
        "from talkinghead.runtime.onnx import DENORMAL_AS_ZERO, OnnxSessionCache\n"
        "session = OnnxSessionCache('cpu').get(sys.argv[1])\n"
        "print(session.get_session_options().get_session_config_entry(DENORMAL_AS_ZERO))\n"
        "print(float(np.float32(1e-40) * np.float32(2)) > 0.0)\n")
    out = subprocess.run([sys.executable, "-c", script, str(model)], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "True"]  # flushes inside ORT; this thread still keeps IEEE denormals
