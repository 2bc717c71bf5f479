"""Media IO: images of every pixel type, sequences, video round trip, bad input naming file and frame."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data
from talkinghead.nodes.media import io
from talkinghead.runtime.errors import BadInputError, UsageError


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skimage.data.astronaut()


def test_expand_pattern_hashes_and_printf(tmp_path):
    assert io.expand_pattern("shot.####.exr", 12).name == "shot.0012.exr"
    assert io.expand_pattern("a/shot_v2.%04d.png", 1001).as_posix() == "a/shot_v2.1001.png"
    assert io.expand_pattern("shot.#.png", 7).name == "shot.7.png"
    assert io.expand_pattern("shot.@.png", 1001).name == "shot.1001.png"  # fileseq: @ unpadded
    assert io.expand_pattern("shot.@@@@.png", 12).name == "shot.0012.png"
    assert io.expand_pattern("shot.$F4.png", 12).name == "shot.0012.png"
    assert io.expand_pattern("shot.####.exr", -3).name == "shot.-003.exr"
    with pytest.raises(UsageError):
        io.expand_pattern("shot.png", 1)
    assert not io.is_pattern("photo 2.png") and io.is_pattern("v1/shot.%04d.png")
    assert not io.is_pattern("plate.1001.exr") and not io.is_pattern("take_12.mp4")  # one frame, not a pattern


def test_sequence_files_read_every_placeholder_and_a_range_in_the_name(tmp_path):
    for n in (1001, 1002, 1003, 1005):
        (tmp_path / f"shot.{n:04d}.png").write_bytes(b"x")
    (tmp_path / "shot.1001.png.tmp").write_bytes(b"x")
    (tmp_path / "other.1001.png").write_bytes(b"x")
    for pattern in ("shot.####.png", "shot.%04d.png", "shot.@.png", "shot.@@@@.png"):
        assert [n for n, _ in io.sequence_files(tmp_path / pattern)] == [1001, 1002, 1003, 1005], pattern
    assert [n for n, _ in io.sequence_files(tmp_path / "shot.1001-1005x2#.png")] == [1001, 1003, 1005]
    with pytest.raises(BadInputError, match="no image files match"):
        io.sequence_files(tmp_path / "none.####.png")


def test_read_gray_rgba_16bit(tmp_path, astronaut):
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    cv2.imwrite(str(tmp_path / "g.png"), gray)
    out = io.read_image(tmp_path / "g.png")
    assert out.shape == (512, 512, 3) and out.dtype == np.uint8
    assert np.array_equal(out[..., 0], gray) and np.array_equal(out[..., 2], gray)

    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 7, np.uint8)])
    cv2.imwrite(str(tmp_path / "a.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    assert np.array_equal(io.read_image(tmp_path / "a.png"), astronaut)  # channel order kept, alpha dropped

    deep = astronaut.astype(np.uint16) * 257
    cv2.imwrite(str(tmp_path / "d.png"), np.ascontiguousarray(deep[..., ::-1]))
    assert np.array_equal(io.read_image(tmp_path / "d.png"), astronaut)


def test_write_read_png_jpg_exr(tmp_path, astronaut):
    io.write_image(tmp_path / "x.png", astronaut)
    assert np.array_equal(io.read_image(tmp_path / "x.png"), astronaut)
    io.write_image(tmp_path / "x.jpg", astronaut.astype(np.float32) / 255)
    assert np.abs(io.read_image(tmp_path / "x.jpg").astype(int) - astronaut).mean() < 4
    pytest.importorskip("OpenEXR")
    io.write_image(tmp_path / "x.exr", astronaut)
    back = io.read_image(tmp_path / "x.exr")  # linear half float -> sRGB uint8
    assert np.abs(back.astype(int) - astronaut).max() <= 2


def test_corrupt_and_missing_files_name_the_file(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG not really")
    with pytest.raises(BadInputError, match="broken.png"):
        io.read_image(bad)
    with pytest.raises(BadInputError, match="does not exist"):
        list(io.iter_frames(tmp_path / "nope.mp4"))
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(BadInputError, match="empty.mp4"):
        list(io.iter_frames(empty))
    junk = tmp_path / "junk.mov"
    junk.write_bytes(np.random.default_rng(0).integers(0, 255, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(BadInputError, match="junk.mov"):
        list(io.iter_frames(junk))
    with pytest.raises(BadInputError, match="unknown media type"):
        (tmp_path / "notes.txt").write_text("hi")
        list(io.iter_frames(tmp_path / "notes.txt"))


def test_sequence_pattern_printf_and_folder(tmp_path, astronaut):
    for n in (1001, 1002, 1004):
        io.write_image(io.expand_pattern(tmp_path / "seq" / "plate.####.png", n), np.roll(astronaut, n, axis=1))
    frames = list(io.iter_frames(tmp_path / "seq" / "plate.####.png"))
    assert [n for n, _ in frames] == [1001, 1002, 1004]
    assert np.array_equal(frames[2][1], np.roll(astronaut, 1004, axis=1))
    assert [n for n, _ in io.iter_frames(str(tmp_path / "seq" / "plate.%04d.png"))] == [1001, 1002, 1004]
    assert [n for n, _ in io.iter_frames(tmp_path / "seq")] == [0, 1, 2]
    info = io.probe(tmp_path / "seq" / "plate.####.png")
    assert (info.n_frames, info.width, info.height, info.kind) == (3, 512, 512, "sequence")
    with pytest.raises(BadInputError, match="no image files"):
        list(io.iter_frames(tmp_path / "seq" / "other.####.png"))


def test_corrupt_frame_in_sequence_names_frame(tmp_path, astronaut):
    io.write_image(tmp_path / "s.0001.png", astronaut)
    (tmp_path / "s.0002.png").write_bytes(b"garbage")
    frames = io.iter_frames(tmp_path / "s.####.png")
    assert next(frames)[0] == 1
    with pytest.raises(BadInputError, match=r"s\.0002\.png.*frame 2"):
        next(frames)


def test_video_writer_round_trip_and_probe(tmp_path, astronaut):
    path = tmp_path / "out.mp4"
    small = cv2.resize(astronaut, (128, 96))
    with io.VideoWriter(path, 25, 128, 96) as writer:
        for i in range(6):
            writer.write(np.roll(small, 8 * i, axis=1))
    frames = list(io.iter_frames(path))
    assert [n for n, _ in frames] == list(range(6))
    assert frames[0][1].shape == (96, 128, 3)
    assert np.abs(frames[3][1].astype(int) - np.roll(small, 24, axis=1)).mean() < 6  # H.264 crf 18
    info = io.probe(path)
    assert (info.width, info.height, info.kind, round(info.fps)) == (128, 96, "video", 25)
    assert info.n_frames == 6
    assert not list(tmp_path.glob(".*tmp*"))  # temp file renamed


def test_video_writer_failure_leaves_no_file(tmp_path, astronaut):
    path = tmp_path / "fail.mp4"
    with pytest.raises(BadInputError), io.VideoWriter(path, 25, 64, 64) as writer:
        writer.write(np.zeros((64, 64, 3), np.uint8))
        writer.write(np.zeros((32, 32, 3), np.uint8))  # wrong size
    assert not path.exists() and not list(tmp_path.iterdir())
    with pytest.raises(UsageError, match="even"):
        io.VideoWriter(tmp_path / "odd.mp4", 25, 63, 64)


def test_zero_frame_video_is_bad_input(tmp_path):
    path = tmp_path / "zero.mp4"
    io.VideoWriter(path, 25, 64, 64).close()
    with pytest.raises(BadInputError, match="zero.mp4"):
        list(io.iter_frames(path))


def test_truncated_video_names_file(tmp_path, astronaut):
    path = tmp_path / "full.mp4"
    with io.VideoWriter(path, 25, 128, 128) as writer:
        for i in range(30):
            writer.write(cv2.resize(np.roll(astronaut, 5 * i, axis=0), (128, 128)))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    try:
        frames = list(io.iter_frames(cut))
    except BadInputError as exc:  # moov atom at the end: the container cannot be opened
        assert "cut.mp4" in str(exc)
    else:
        assert len(frames) < 30


def test_video_shorter_than_its_index_warns_or_fails_strict(tmp_path, caplog):
    """Index first (faststart), cut after half its frames: the container still lists all 20 frames."""
    import av

    path = tmp_path / "fast.mp4"
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264" if "libx264" in av.codecs_available else "h264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(20):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with av.open(str(path)) as container:
        starts = sorted(p.pos for p in container.demux(container.streams.video[0]) if p.size)
    path.write_bytes(path.read_bytes()[:starts[10]])
    assert io.probe(path).n_frames == 20 and len(list(io.iter_frames(path))) == 10
    assert f"{path}: only 10 of the 20 frames the container lists could be read" in caplog.text
    with pytest.raises(BadInputError, match=r"fast.mp4, frame 10: only 10 of the 20 frames"):
        list(io.iter_frames(path, strict=True))
