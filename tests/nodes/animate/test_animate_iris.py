"""Iris locators and the iris stabiliser on drawn eyes whose iris is known."""
from __future__ import annotations

import numpy as np
import pytest
from animate_faces import draw_face, template
from talkinghead.nodes.animate.iris import (
    hold_last_good,
    locate_iris,
    locate_iris_model,
    model_crop,
    stabilise,
)
from talkinghead.nodes.animate.regions import EYES, from_eye_units


@pytest.mark.parametrize("offset", [(0.0, 0.0), (0.12, 0.02), (-0.1, -0.05)])
def test_classical_locator_finds_drawn_iris_within_a_pixel(offset):
    lms = template()
    img = draw_face(lms, iris_offset=offset, iris_frac=0.2)
    for e in (0, 1):
        est = locate_iris(img, lms[EYES[e]])
        truth = from_eye_units(np.array(offset), lms, e)
        width = np.linalg.norm(lms[EYES[e]][3] - lms[EYES[e]][0])
        assert est.ok
        assert np.linalg.norm(est.centre - truth) < 1.0
        assert abs(est.radius - 0.2 * width) < 1.0


def test_classical_locator_fails_on_a_closed_eye():
    lms = template()
    closed = lms.copy()
    for idx in EYES:
        closed[idx[[1, 2]]] = closed[idx[[5, 4]]]
    assert not locate_iris(draw_face(lms), closed[EYES[0]]).ok


def test_model_crop_centres_and_mirrors_the_eye():
    lms = template()
    for e in (0, 1):
        m, flip = model_crop(lms, e)
        a, b = lms[[36, 39]] if e == 0 else lms[[42, 45]]
        centre = m[:, :2] @ ((a + b) / 2) + m[:, 2]
        assert np.allclose(centre, 31.5, atol=1e-6)
        pa, pb = m[:, :2] @ a + m[:, 2], m[:, :2] @ b + m[:, 2]
        assert (pa[0] < pb[0]) == (not flip)
        assert np.linalg.norm(pa - pb) == pytest.approx(64 / 2.3, rel=1e-6)


def test_model_locator_maps_the_models_points_back():
    lms = template()
    truth = from_eye_units(np.array([0.05, 0.0]), lms, 1)
    m, _ = model_crop(lms, 1)
    c = m[:, :2] @ truth + m[:, 2] + 0.5          # the model's px have edges at integers
    pts = np.array([c, c + [3, 0], c + [0, 3], c - [3, 0], c - [0, 3]])
    run = lambda batch: np.concatenate([pts, np.zeros((5, 1))], 1).reshape(1, 15)
    est = locate_iris_model(draw_face(lms), lms, 1, run)
    assert est.ok and np.linalg.norm(est.centre - truth) < 1e-6


def test_hold_last_good_holds_over_failures():
    vals = np.array([[np.nan], [1.0], [2.0], [np.nan], [9.0], [3.0]])
    ok = np.array([False, True, True, False, False, True])
    held = hold_last_good(vals, ok)
    assert held[:, 0].tolist() == [1.0, 1.0, 2.0, 2.0, 2.0, 3.0]


def test_stabilise_removes_a_spike_and_a_failure_without_a_jump():
    t = np.arange(40)
    truth = 0.002 * t
    vals = np.stack([truth, np.zeros_like(truth)], 1)[:, None, :].copy()
    ok = np.ones((40, 1), bool)
    vals[20, 0] = [0.4, 0.3]          # a wild detection
    ok[25] = False                    # a failed one
    vals[25, 0] = np.nan
    out = stabilise(vals, ok, fps=25)
    assert np.isfinite(out).all()
    assert np.abs(out[:, 0, 0] - truth).max() < 0.01
    assert np.abs(np.diff(out[:, 0, 0])).max() < 0.01
