import os
import tempfile

import pytest
from talkinghead.runtime.errors import BadInputError
from talkinghead.runtime.preflight import check_output_dir, check_output_file


def test_writable_folders_pass_and_nothing_is_created(tmp_path):
    assert check_output_file(tmp_path / "a.npz") == tmp_path / "a.npz"
    assert check_output_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert list(tmp_path.iterdir()) == []  # neither the folders nor the probe file are left behind


def test_a_regular_file_in_the_path_is_named(tmp_path):
    blocker = tmp_path / "plain.txt"
    blocker.write_text("x")
    with pytest.raises(BadInputError, match="plain.txt: is a file, not a folder: --out cannot write under it") as err:
        check_output_file(blocker / "sub" / "track.npz")
    assert err.value.exit_code == 3
    with pytest.raises(BadInputError, match="is a folder"):
        check_output_file(tmp_path)


def test_unwritable_folder_is_refused(tmp_path, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(BadInputError, match=r"the folder is not writable \(Permission denied\): --mp4 cannot write in it"):
        check_output_file(tmp_path / "a.mp4", "--mp4")
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    with pytest.raises(BadInputError, match="is not writable"):
        check_output_dir(tmp_path / "not" / "there")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_for_real(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(BadInputError, match="not writable"):
            check_output_file(folder / "x.png")
    finally:
        folder.chmod(0o755)
