"""`talkinghead landmarks` (and the photo inputs of embed / finetune) on bad input (issue 16): tiny images,
outputs checked before any work, truncated videos, photos with two faces, several inputs with a failure."""
from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from talkinghead.nodes.media import io
from talkinghead.nodes.types import FaceTrack, Identity
from talkinghead.plugin.cli import main


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skimage.data.astronaut()


def faststart_clip(path: Path, frames: list[np.ndarray]) -> Path:
    """An H.264 MP4 with its index (moov) first, as web and editorial exports write it."""
    import av

    with av.open(str(path), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264" if "libx264" in av.codecs_available else "h264", rate=Fraction(25))
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def cut_to_half(path: Path) -> None:
    """Keep the first half of the file's bytes (up to the next frame's start): the index still lists every frame."""
    import av

    data = path.read_bytes()
    with av.open(str(path)) as container:
        starts = sorted(p.pos for p in container.demux(container.streams.video[0]) if p.size)
    path.write_bytes(data[:next(s for s in starts if s >= len(data) // 2)])


def test_tiny_image_is_named_not_a_traceback(tmp_path, capsys):
    tiny = tmp_path / "tiny.png"
    cv2.imwrite(str(tiny), np.zeros((1, 1, 3), np.uint8))
    commands = (["landmarks", str(tiny), "--out", str(tmp_path / "t.npz")],
                ["embed", str(tiny), "--preset", "tiny-64", "--out", str(tmp_path / "t.identity.safetensors")],
                ["finetune", str(tiny), "--preset", "tiny-64", "--steps", "1",
                 "--out", str(tmp_path / "t.person.safetensors")])
    for argv in commands:
        assert main(["--device", "cpu", *argv]) == 3, argv[0]
        err = capsys.readouterr().err
        assert f"{tiny}, frame 0: the image is 1x1 px: too small to hold a face" in err and "Traceback" not in err


def test_outputs_are_checked_before_any_work(tmp_path, astronaut, capsys, monkeypatch):
    from talkinghead.nodes.landmarks.extract import ExtractLandmarks

    ran = []
    monkeypatch.setattr(ExtractLandmarks, "run", lambda *a, **k: ran.append(a))
    io.write_image(tmp_path / "a.png", astronaut)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    assert main(["landmarks", str(tmp_path / "a.png"), "--out", str(blocker / "a.npz")]) == 3
    assert "blocker: is a file, not a folder: --out cannot write under it" in capsys.readouterr().err
    assert main(["landmarks", str(tmp_path / "a.png"), str(tmp_path / "a.png"), "--out", str(blocker / "sub")]) == 2
    assert main(["landmarks", str(tmp_path / "a.png"), "--out", str(blocker), "--backend", "dlib"]) == 2  # not .npz
    for command, suffix in (("embed", "identity"), ("finetune", "person")):
        assert main(["--device", "cpu", command, str(tmp_path / "a.png"), "--preset", "tiny-64",
                     "--out", str(blocker / f"x.{suffix}.safetensors")]) == 3
        assert "blocker: is a file, not a folder: --out cannot write under it" in capsys.readouterr().err
    assert ran == []


def test_truncated_faststart_video_warns_with_both_counts_and_strict_fails(tmp_path, astronaut, caplog, capsys):
    rng = np.random.default_rng(0)
    face = cv2.resize(astronaut, (192, 192))
    frames = [np.clip(face + rng.normal(0, 12, face.shape), 0, 255).astype(np.uint8) for _ in range(24)]
    clip = faststart_clip(tmp_path / "clip.mp4", frames)
    cut_to_half(clip)
    assert io.probe(clip).n_frames == 24  # the index still lists every frame
    assert main(["landmarks", str(clip), "--out", str(tmp_path / "t.npz"), "--backend", "dlib"]) == 0
    read = len(FaceTrack.load(tmp_path / "t.npz"))
    assert 0 < read < 24
    assert f"{clip}: only {read} of the 24 frames the container lists could be read" in caplog.text
    assert main(["landmarks", str(clip), "--out", str(tmp_path / "s.npz"), "--backend", "dlib", "--strict"]) == 3
    assert f"{clip}, frame {read}: only {read} of the 24 frames" in capsys.readouterr().err
    assert not (tmp_path / "s.npz").exists()


def test_two_faces_say_which_was_taken_and_face_chooses(tmp_path, astronaut, caplog, capsys):
    caplog.set_level(logging.INFO, logger="talkinghead")  # an explicit --face is said at INFO level
    two = np.concatenate([astronaut, astronaut], axis=1)  # the astronaut twice, side by side (1024 x 512)
    io.write_image(tmp_path / "two.png", two)
    assert main(["landmarks", str(tmp_path / "two.png"), "--out", str(tmp_path / "d.npz"), "--backend", "dlib"]) == 0
    assert "two.png: 2 faces found; took face" in caplog.text and "(counting from the left from 0: the largest" in \
        caplog.text and "choose another with --face INDEX (0 = leftmost)" in caplog.text
    xs = {}
    for face in ("0", "1"):
        assert main(["landmarks", str(tmp_path / "two.png"), "--out", str(tmp_path / f"f{face}.npz"), "--backend",
                     "dlib", "--face", face]) == 0
        xs[face] = float(np.nanmean(FaceTrack.load(tmp_path / f"f{face}.npz").landmarks[0, :, 0]))
        assert f"took face {face} (counting from the left from 0: face {face} from the left, as asked" in caplog.text
    assert xs["0"] < 512 < xs["1"]
    out = tmp_path / "right.identity.safetensors"
    assert main(["--device", "cpu", "embed", str(tmp_path / "two.png"), "--preset", "tiny-64", "--backend", "dlib",
                 "--face", "1", "--out", str(out)]) == 0
    assert Identity.load(out).source_landmarks[0, :, 0].mean() > 512
    assert "base model: preset tiny-64" in capsys.readouterr().out


def test_several_inputs_go_on_past_a_failed_one(tmp_path, astronaut, capsys):
    io.write_image(tmp_path / "a.png", astronaut)
    io.write_image(tmp_path / "blank.png", np.full((200, 200, 3), 128, np.uint8))
    io.write_image(tmp_path / "c.png", astronaut[:, ::-1])
    out = tmp_path / "tracks"
    argv = ["landmarks", str(tmp_path / "a.png"), str(tmp_path / "blank.png"), str(tmp_path / "c.png"),
            "--out", str(out), "--backend", "dlib"]
    assert main(argv) == 3
    assert sorted(p.name for p in out.iterdir()) == ["a.npz", "c.npz"]
    captured = capsys.readouterr()
    assert "1 of 3 input(s) failed, the other tracks were written" in captured.err
    assert f"{tmp_path / 'blank.png'}, frame 0: no face found" in captured.err.split("failed")[-1]
    assert "a.npz" in captured.out and "c.npz" in captured.out
