import logging

from talkinghead.runtime.progress import CancelToken, LogProgress, default_reporter


def test_log_progress_lines(caplog):
    caplog.set_level(logging.INFO, logger="talkinghead")
    with LogProgress(3, "frames", interval=0.0) as bar:
        for _ in range(3):
            bar.update()
    assert "frames: 3/3" in caplog.text and "frames: done (3)" in caplog.text


def test_default_reporter_not_tty_uses_log(capsys):
    assert isinstance(default_reporter(2, "x"), LogProgress)


def test_cancel_token_poll():
    import pytest
    from talkinghead.runtime.errors import Interrupted

    flag = {"stop": False}
    token = CancelToken(poll=lambda: flag["stop"])
    token.check()
    flag["stop"] = True
    with pytest.raises(Interrupted):
        token.check()
    assert token.cancelled
