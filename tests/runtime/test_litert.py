"""LiteRT runner: loads a resolved .tflite spec once (cached), runs it, checks input shapes."""
import numpy as np
import pytest
from talkinghead.runtime.errors import BadInputError, MissingWeightsError
from talkinghead.runtime.litert import litert_available, load_litert
from talkinghead.runtime.runtime import Runtime

pytestmark = pytest.mark.skipif(not litert_available(), reason="ai-edge-litert is not installed")


@pytest.fixture(scope="module")
def rt():
    return Runtime(device="cpu")


def _model(rt, name):
    if not rt.has_weights(name):
        pytest.skip(f"{name} absent (talkinghead weights fetch {name})")
    return load_litert(rt, name)


def test_selfie_segmentation_runs_and_is_cached(rt):
    model = _model(rt, "mediapipe-selfie-segmentation")
    assert model.inputs[0]["shape"] == (1, 256, 256, 3)
    (mask,) = model(np.zeros((1, 256, 256, 3), np.float32))
    assert mask.shape == (1, 256, 256, 1) and np.isfinite(mask).all() and 0 <= mask.min() <= mask.max() <= 1
    assert load_litert(rt, "mediapipe-selfie-segmentation") is model
    with pytest.raises(BadInputError, match="wants shape"):
        model(np.zeros((1, 128, 128, 3), np.float32))


def test_iris_runs(rt):
    model = _model(rt, "mediapipe-iris")
    contours, iris = model(np.random.default_rng(0).random((1, 64, 64, 3), np.float32))
    assert contours.shape == (1, 213) and iris.shape == (1, 15)


def test_missing_model_names_fetch(tmp_path, monkeypatch):
    monkeypatch.setenv("TALKINGHEAD_MODELS", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "t"))
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None)
    with pytest.raises(MissingWeightsError, match="weights fetch mediapipe-iris"):
        load_litert(Runtime(device="cpu"), "mediapipe-iris")


def test_a_model_load_writes_nothing_to_stderr(rt):
    """LiteRT's C++ logger printed "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." on the first load
    in a process (so in a fresh one), past -q, into every render farm log."""
    import subprocess
    import sys

    from talkinghead.runtime import weights

    _model(rt, "mediapipe-iris")
    path = rt.resolve(weights.get_spec("mediapipe-iris"))
    code = ("import sys; from talkinghead.runtime.litert import LiteRTModel; "
            "LiteRTModel(sys.argv[1], 1, 'mediapipe-iris'); print('loaded')")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0 and done.stdout.strip() == "loaded", done.stderr
    assert "XNNPACK" not in done.stderr, done.stderr


def test_the_native_stderr_filter_drops_only_the_noise(capfd):
    """Lines written to file descriptor 2 by native code are dropped only when they are the known noise; a
    real message in the same block still reaches stderr, in order, and stderr works afterwards."""
    import os

    from talkinghead.runtime.litert import native_stderr_filtered

    with native_stderr_filtered():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"ERROR: tensor 3 has no data\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "ERROR: tensor 3 has no data\nafter\n"


def test_the_filter_runs_in_a_host_without_a_python_stderr(monkeypatch):
    """Embedded hosts (a GUI without a console) may set sys.stderr to None: a model load must still work."""
    import os
    import sys

    from talkinghead.runtime.litert import native_stderr_filtered

    monkeypatch.setattr(sys, "stderr", None)
    with native_stderr_filtered():
        os.write(2, b"ERROR: kept but nowhere to write it\n")
