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
