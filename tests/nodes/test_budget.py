"""Budget: the one form, check and default of fine-tuning steps / time box."""
import pytest
from talkinghead.nodes.budget import DEFAULT_STEPS, Budget
from talkinghead.nodes.render.shot import load_shot
from talkinghead.runtime.errors import BadInputError, UsageError


def test_defaults_and_limits():
    assert Budget().step_limit == DEFAULT_STEPS
    assert Budget(max_seconds=30).step_limit is None  # the time box alone bounds the run
    assert Budget(steps=5, max_seconds=30).step_limit == 5
    assert Budget(steps=0).step_limit == 0
    assert str(Budget(steps=5, max_seconds=30)) == "5 steps / 30 s"


@pytest.mark.parametrize("kwargs", [{"steps": -1}, {"max_seconds": -0.5}])
def test_negative_is_a_usage_error(kwargs):
    with pytest.raises(UsageError):
        Budget(**kwargs)


def test_shot_uses_the_same_default_and_check(tmp_path):
    base = "shot: s\nsources: [a.png]\ndriver: d.mp4\noutput: out\n"
    (tmp_path / "a.yaml").write_text(base)
    assert load_shot(tmp_path / "a.yaml").finetune == Budget()
    (tmp_path / "b.yaml").write_text(base + "finetune: {max_seconds: 60}\n")
    assert load_shot(tmp_path / "b.yaml").finetune == Budget(None, 60.0)
    (tmp_path / "c.yaml").write_text(base + "finetune: {steps: -3}\n")
    with pytest.raises(BadInputError, match="c.yaml"):
        load_shot(tmp_path / "c.yaml")
