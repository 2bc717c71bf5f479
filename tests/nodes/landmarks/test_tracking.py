"""The shared tracking loop with a scripted backend: follow while tracking, full search where it fails."""
import numpy as np
from talkinghead.nodes.landmarks.tracking import track


class Scripted:
    """Frames are ints: 0 = no face, 1 = a face that ``follow`` finds, 2 = one only a full search finds."""

    name, version, batch_size = "scripted", "0", 3

    def __init__(self):
        self.calls = []

    def detect(self, rgb):
        self.calls.append(("detect", int(rgb)))
        return np.array([[10, 10, 50, 50, 1.0]]) if rgb else np.zeros((0, 5))

    def align(self, images, dets):
        self.calls.append(("align", len(images)))
        return np.full((len(images), 68, 2), 7.0, np.float32), np.full(len(images), 0.9)

    def follow(self, images, box):
        self.calls.append(("follow", len(images)))
        found = np.array([int(i) == 1 for i in images])
        lms = np.where(found[:, None, None], 5.0, np.nan).astype(np.float32) * np.ones((1, 68, 2), np.float32)
        return lms, np.tile(box, (len(images), 1)), found * 0.5, found

    def follow_box(self, landmarks, box):
        return np.array([1.0, 2.0, 3.0, 4.0])


def _pick(dets, previous):
    return 0 if len(dets) else None


def test_follow_then_full_search_then_lost():
    backend, state = Scripted(), {}
    lms, _, scores = track(backend, [2, 1, 0], state, _pick)  # not tracking yet: every frame searched
    assert [c[0] for c in backend.calls] == ["detect", "align", "detect", "align", "detect"]
    assert np.isnan(lms[2]).all() and scores[2] == 0 and not state["tracking"]
    state = {"tracking": True, "box": np.zeros(4)}
    backend.calls.clear()
    lms, _, scores = track(backend, [1, 2, 1], state, _pick)
    assert backend.calls == [("follow", 3), ("detect", 2), ("align", 1)]
    assert (lms[0] == 5).all() and (lms[1] == 7).all() and (lms[2] == 5).all()
    assert np.allclose(scores, [0.5, 0.9, 0.5])
    assert state["tracking"] and state["box"].tolist() == [1.0, 2.0, 3.0, 4.0]
