"""The pipeline, the one chain: the person it makes (photos, consent, a network only when asked or when a
meta-learned base is present), the frames it renders (chunks equal a full render, plates, warnings)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from talkinghead.nodes.pipeline import Pipeline, PipelineConfig, over_plate
from talkinghead.nodes.provenance.consent import new_record
from talkinghead.nodes.types import FaceTrack, PersonModel
from talkinghead.runtime.errors import BadInputError, UsageError

MEDIA = Path(__file__).resolve().parents[2] / "examples" / "media"


@pytest.fixture(scope="module")
def rt():
    from talkinghead.runtime.runtime import Runtime

    return Runtime(device="cpu")


@pytest.fixture(scope="module")
def photo():
    from talkinghead.nodes.media.io import read_image

    return read_image(MEDIA / "astronaut.png")


@pytest.fixture(scope="module")
def landmarks(rt, photo):
    from talkinghead.nodes.landmarks.extract import detect_landmarks_image

    return detect_landmarks_image(rt, photo, "dlib")[0]


def driven(landmarks: np.ndarray, n: int = 8, shift: float = 3.0, invalid: tuple[int, ...] = ()) -> FaceTrack:
    """A driver track: the photo's own face nodding sideways and opening its mouth (frames 1001..)."""
    lms = np.repeat(np.asarray(landmarks, np.float32)[None], n, 0)
    for i in range(n):
        lms[i, :, 0] += shift * np.sin(i)
        lms[i, 57:60, 1] += 2.0 * i / n
        lms[i, 65:68, 1] += 2.0 * i / n
    valid = np.ones(n, bool)
    for i in invalid:
        valid[i], lms[i] = False, np.nan
    return FaceTrack(lms, np.zeros((n, 4)), valid, valid.astype(np.float32), (256, 256),
                     np.arange(1001, 1001 + n), 25.0, "synthetic", "0", "driver.mp4")


@pytest.fixture(scope="module")
def person(rt, photo, landmarks) -> PersonModel:
    consent = new_record("test subject", "self", "pipeline tests", "test subject")
    return Pipeline(rt, PipelineConfig(preset="tiny-64")).person([photo], ["astronaut"], landmarks[None], consent)


def test_person_without_a_meta_learned_base_keeps_the_photo_and_says_why(person, photo, tmp_path):
    assert person.info["kind"] == "portrait" and not person.has_network
    assert "no meta-learned base-tiny-64" in person.info["network"]
    assert person.identity.consent_id and person.identity.k == 1
    person.save(tmp_path / "p.safetensors")
    loaded = PersonModel.load(tmp_path / "p.safetensors")
    np.testing.assert_array_equal(np.asarray(loaded.photos[0]), photo)
    assert loaded.psi is None and loaded.generator == {} and loaded.tensors_digest


def test_chunks_equal_the_full_render(rt, person, landmarks):
    pipeline, track = Pipeline(rt), driven(landmarks)
    full = {f.frame_number: f for f in pipeline.frames(person, track)}
    assert sorted(full) == list(range(1001, 1009))
    part = list(pipeline.frames(person, track, [1006, 1003]))
    assert [f.frame_number for f in part] == [1003, 1006]
    for f in part:
        np.testing.assert_array_equal(f.image, full[f.frame_number].image)
        np.testing.assert_array_equal(f.alpha, full[f.frame_number].alpha)
    assert np.abs(full[1002].image.astype(int) - full[1001].image.astype(int)).max() > 20  # it moves


def test_driver_media_is_measured_over_the_whole_track_so_chunks_still_match(rt, person, landmarks, photo):
    """With the driver's frames (gaze, teeth shown, covered mouths are measured on them in one pass), every
    frame of the track is read even for a chunk, and the chunk equals the full render."""
    asked: list[int] = []

    def media(number: int) -> np.ndarray:
        asked.append(number)
        return photo

    pipeline, track = Pipeline(rt), driven(landmarks)
    full = {f.frame_number: f.image for f in pipeline.frames(person, track, driver_media=media)}
    asked.clear()
    part = list(pipeline.frames(person, track, [1006], driver_media=media))
    assert asked[:8] == list(range(1001, 1009)) and asked[8:] == [1006]
    np.testing.assert_array_equal(part[0].image, full[1006])


def test_held_frames_repeat_the_last_pose_and_are_named(rt, person, landmarks, caplog):
    frames = list(Pipeline(rt).frames(person, driven(landmarks, 5, invalid=(2, 3))))
    assert [f.valid for f in frames] == [True, True, False, False, True]
    np.testing.assert_array_equal(frames[2].image, frames[1].image)
    np.testing.assert_array_equal(frames[3].image, frames[1].image)
    assert "frames 1003-1004" in caplog.text


def test_a_head_leaving_the_frame_is_named(rt, person, landmarks, caplog):
    list(Pipeline(rt).frames(person, driven(landmarks, 3, shift=200.0)))
    assert "the head leaves the frame (landmarks outside the image) at frames 100" in caplog.text


def test_plate_replaces_the_background_exactly_outside_the_head(rt, person, landmarks, photo):
    plate = np.full_like(photo, 77)
    frame = next(Pipeline(rt).frames(person, driven(landmarks, 2), plate=plate))
    outside = frame.alpha == 0
    assert outside.mean() > 0.3
    np.testing.assert_array_equal(frame.image[outside], plate[outside])
    assert np.abs(frame.image[frame.alpha > 0.99].astype(int) - 77).mean() > 20  # the head is over it
    with pytest.raises(BadInputError, match="plate is 10x10"):
        next(Pipeline(rt).frames(person, driven(landmarks, 2), plate=plate[:10, :10]))


def test_over_plate_keeps_the_head_and_swaps_the_background():
    bg = np.full((4, 4, 3), 100.0, np.float32)
    alpha = np.zeros((4, 4), np.float32)
    alpha[1:3, 1:3] = 1.0
    image = np.where(alpha[..., None] > 0, 200, 100).astype(np.uint8)
    out = over_plate(image, alpha, np.full((4, 4, 3), 10, np.uint8), bg)
    assert out[0, 0].tolist() == [10] * 3 and out[1, 1].tolist() == [200] * 3


def test_a_person_without_photos_is_refused(rt, person, landmarks):
    with pytest.raises(BadInputError, match="holds no source photo"):
        next(Pipeline(rt).frames(replace(person, photos=[]), driven(landmarks, 2)))


def test_residual_on_fine_tunes_and_an_untrained_warp_residual_adds_nothing(rt, photo, landmarks, person):
    config = PipelineConfig(preset="tiny-64-warp", residual="on", budget=replace(PipelineConfig().budget, steps=0))
    net = Pipeline(rt, config).person([photo], ["astronaut"], landmarks[None])
    assert net.has_network and net.info["kind"] == "portrait+network" and net.info["steps"] == 0
    track = driven(landmarks, 3)
    plain = list(Pipeline(rt).frames(person, track))
    added = list(Pipeline(rt, config).frames(net, track))
    for a, b in zip(plain, added):
        np.testing.assert_array_equal(a.image, b.image)


def test_config_is_checked():
    with pytest.raises(UsageError):
        PipelineConfig(residual="maybe")
    with pytest.raises(UsageError):
        PipelineConfig(retarget="none")
