import numpy as np
import pytest
from talkinghead.nodes.media.colour import convert_colour, float_to_uint8
from talkinghead.nodes.media.exr import read_exr, write_exr
from talkinghead.runtime.errors import BadInputError, UsageError


def _srgb_to_linear(v):
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def test_srgb_to_linear_matches_the_standard_curve():
    values = np.linspace(0, 1, 11, dtype=np.float32)
    image = np.stack([values] * 3, axis=-1)[None]
    out = convert_colour(image, "srgb", "linear")
    np.testing.assert_allclose(out[0, :, 0], _srgb_to_linear(values), atol=2e-4)


def test_round_trip_through_acescg_and_alpha_passthrough():
    rng = np.random.default_rng(0)
    rgba = rng.random((8, 9, 4)).astype(np.float32)
    there = convert_colour(rgba, "srgb", "acescg")
    assert np.array_equal(there[..., 3], rgba[..., 3])
    # AP1 primaries differ from Rec.709: a pure red changes channel mix
    red = convert_colour(np.array([[[1.0, 0, 0]]], np.float32), "srgb", "acescg")
    assert red[0, 0, 1] > 0.05
    back = convert_colour(there, "acescg", "srgb")
    np.testing.assert_allclose(back, rgba, atol=1e-3)


def test_uint8_input_and_unknown_tag():
    out = convert_colour(np.full((1, 1, 3), 255, np.uint8), "srgb", "srgb")
    assert out.dtype == np.float32 and out.max() == 1.0
    assert float_to_uint8(out)[0, 0, 0] == 255
    with pytest.raises(UsageError):
        convert_colour(out, "srgb", "rec2020")


def test_exr_half_zip_round_trip_with_tag(tmp_path):
    import OpenEXR

    rng = np.random.default_rng(1)
    image = (rng.random((6, 7, 4)) * 4).astype(np.float32)  # HDR values above 1 survive
    path = tmp_path / "plate.1001.exr"
    write_exr(path, image, colour="acescg")
    back, tag = read_exr(path)
    assert tag == "acescg" and back.shape == (6, 7, 4)
    np.testing.assert_allclose(back, image.astype(np.float16).astype(np.float32))
    with OpenEXR.File(str(path)) as handle:
        assert handle.header()["compression"] == OpenEXR.ZIP_COMPRESSION
        assert handle.channels()["RGBA"].pixels.dtype == np.float16
    assert [p.name for p in tmp_path.iterdir()] == ["plate.1001.exr"]


def test_corrupt_exr_names_file(tmp_path):
    path = tmp_path / "bad.exr"
    path.write_bytes(b"v/1\x01" + b"\x00" * 20)
    with pytest.raises(BadInputError) as info:
        read_exr(path)
    assert str(path) in str(info.value)
