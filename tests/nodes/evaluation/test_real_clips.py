"""The harness on a real clip of ../shared/data (skipped when the shared data is absent)."""
import os
from pathlib import Path

import pytest
from talkinghead.nodes.evaluation.run import EvalConfig, evaluate
from talkinghead.runtime.runtime import Runtime

DATA = Path(os.environ.get("TALKINGHEAD_TEST_DATA", Path(__file__).resolve().parents[3].parent / "shared" / "data"))


@pytest.mark.data
@pytest.mark.skipif(not (DATA / "clips" / "vt_test.mp4").exists(), reason="shared test data (../shared/data) absent")
def test_warp_floor_on_a_real_clip(tmp_path):
    pytest.importorskip("dlib", reason="dlib is not installed")
    cfg = EvalConfig(clips=DATA / "clips", only=("vt_test",), shots=(8,), methods=("warp", "copy"), max_targets=10,
                     cache_dir=tmp_path / "cache", grids=None)
    report = evaluate(Runtime(device="cpu"), cfg, tmp_path / "r.json")
    warp, copy = report["summary"]["warp"]["8"], report["summary"]["copy"]["8"]
    assert warp["redetect_rate"] == 1.0 and report["clips"][0]["faces"] == 100
    assert warp["ssim"] > copy["ssim"] and warp["face_ssim"] > copy["face_ssim"] + 0.05
    assert warp["lmk_error"] < 0.03 < copy["lmk_error"]
    assert warp["csim"] > 0.95
