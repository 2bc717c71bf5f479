import os
import signal
import subprocess
import sys
import textwrap

import pytest
from talkinghead.runtime.atomic import atomic_path, atomic_write_text


def test_success_replaces(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_exception_keeps_previous(tmp_path):
    target = tmp_path / "out.png"
    target.write_text("previous")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        assert tmp.suffix.endswith(".png") and tmp.parent == tmp_path
        tmp.write_text("half-writ")
        raise RuntimeError("boom")
    assert target.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_killed_process_leaves_previous_intact(tmp_path):
    """A process killed mid-write (SIGKILL, no cleanup at all) never corrupts the target."""
    target = tmp_path / "model.safetensors"
    target.write_bytes(b"previous-good-file")
    script = textwrap.dedent(f"""
        import os, signal
        from talkinghead.runtime.atomic import atomic_path
        with atomic_path({str(target)!r}) as tmp:
            with open(tmp, "wb") as f:
                f.write(b"partial" * 1000)
                f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], check=False)
    assert proc.returncode == -signal.SIGKILL
    assert target.read_bytes() == b"previous-good-file"
    leftovers = [p for p in tmp_path.iterdir() if p.name != target.name]
    assert all(p.name.startswith(".") and ".tmp" in p.name for p in leftovers)


def test_creates_parent_folders(tmp_path):
    target = tmp_path / "a" / "b" / "c.txt"
    atomic_write_text(target, "x")
    assert target.read_text() == "x"
    assert os.listdir(target.parent) == ["c.txt"]


def test_written_files_get_the_umask_mode_not_mkstemps_0600(tmp_path):
    target = tmp_path / "frame.png"
    old = os.umask(0o022)
    try:
        atomic_write_text(target, "x")
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o644
