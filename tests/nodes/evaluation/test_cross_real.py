"""The cross-identity evaluation on shared real data (skipped when ../shared/data is absent): a photo driven
by another person's clip with the plain warp, the floor every method is compared with."""
import os
from pathlib import Path

import pytest
from talkinghead.runtime.runtime import Runtime

DATA = Path(os.environ.get("TALKINGHEAD_TEST_DATA", Path(__file__).resolve().parents[3].parent / "shared" / "data"))
PHOTO, CLIP = DATA / "portraits" / "lia_macron.png", DATA / "clips" / "dagan_drv.mp4"


@pytest.mark.data
@pytest.mark.skipif(not (PHOTO.exists() and CLIP.exists()), reason="shared test data (../shared/data) absent")
def test_warp_floor_on_a_real_pair(tmp_path):
    pytest.importorskip("dlib", reason="dlib is not installed")
    from talkinghead.nodes.evaluation.cross import CrossConfig, evaluate_cross

    cfg = CrossConfig(sources=(PHOTO,), drivers=(CLIP,), methods=("warp",), frames=60, cache_dir=tmp_path / "cache",
                      sheet=tmp_path / "sheet.png")
    report = evaluate_cross(Runtime(device="cpu"), cfg, tmp_path / "r.json")
    s = report["rows"][0]["summary"]
    assert report["drivers"][0]["faces"] == 60 and s["redetect_rate"] >= 0.95
    assert s["identity_kept"] >= 0.9 and s["identity_distance"] < 0.5   # the warp keeps the photo's person
    assert s["r_roll"] > 0.9 and s["r_yaw"] > 0.9                      # and follows the driver's head
    mouth = report["rows"][0]["details"]["mouth"]
    assert mouth["output_states"]["closed"] >= 57  # ... but a warp cannot open a closed-mouth photo
    assert s["mouth_agreement"] <= mouth["driver_states"]["closed"] / 60 + 0.05
    assert 0.5 < s["jitter_ratio"] < 2.0
    assert 30 < s["background_psnr"] < 60  # the whole-photo warp drags the background a little
    assert (tmp_path / "sheet.png").is_file() and (tmp_path / "r.md").is_file()
