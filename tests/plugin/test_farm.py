import shutil
import subprocess

import pytest
import yaml
from talkinghead.nodes.render.shot import frames_text, load_shot, parse_frames
from talkinghead.plugin import cli
from talkinghead.plugin.farm.openjd import frame_chunks
from talkinghead.runtime.errors import BadInputError, UsageError


def _shot(tmp_path, **extra):
    data = {"shot": "sh010", "sources": ["a.png"], "driver": "drv.mp4", "output": "out", "frames": "1001-1025"}
    data.update(extra)
    path = tmp_path / "shot.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_frame_chunks_cover_range_exactly():
    chunks = frame_chunks(list(range(1001, 1026)), 10)
    assert chunks == ["1001-1010", "1011-1020", "1021-1025"]
    assert [f for c in chunks for f in parse_frames(c)] == list(range(1001, 1026))
    stepped = parse_frames("1001-1100x2")  # fileseq's notation: every 2nd frame
    assert len(stepped) == 50 and stepped[:2] == (1001, 1003) and stepped[-1] == 1099
    chunks = frame_chunks(stepped, 10)
    assert chunks[0] == "1001-1019x2" and len(chunks) == 5
    assert [f for c in chunks for f in parse_frames(c)] == list(stepped)
    assert parse_frames("1-3,10") == (1, 2, 3, 10) and frames_text((1, 2, 3, 10)) == "1-3,10"
    assert parse_frames(1001) == (1001,) and parse_frames("-3--1") == (-3, -2, -1)


def test_shot_paths_resolved_and_errors_name_file(tmp_path):
    shot = load_shot(_shot(tmp_path))
    assert shot.sources == ((tmp_path / "a.png").resolve(),) and shot.frames == tuple(range(1001, 1026))
    bad = tmp_path / "bad.yaml"
    bad.write_text("shot: x\nsources: [a.png]\n")
    with pytest.raises(BadInputError, match="driver") as info:
        load_shot(bad)
    assert str(bad) in str(info.value)
    with pytest.raises(UsageError, match="frames must increase: the end 10 comes before the start 20"):  # a flag: exit 2
        parse_frames("20-10")
    with pytest.raises(BadInputError, match="bad.yaml"):  # read from a file: bad input naming it
        parse_frames("20-10", bad)
    for text in ("a-b", "1001-1100x0", ""):
        with pytest.raises(UsageError, match="bad frame range"):
            parse_frames(text)


def test_farm_writes_valid_openjd_template(tmp_path, capsys):
    shot_path = _shot(tmp_path)
    out = tmp_path / "job.yaml"
    assert cli.main(["farm", str(shot_path), "--chunk", "10", "--out", str(out)]) == 0
    template = yaml.safe_load(out.read_text())
    _finetune, render = template["steps"]
    assert render["dependencies"] == [{"dependsOn": "FineTune"}]
    assert render["parameterSpace"]["taskParameterDefinitions"][0]["range"] == ["1001-1010", "1011-1020", "1021-1025"]
    assert "{{Task.Param.Frames}}" in render["script"]["actions"]["onRun"]["args"]
    if shutil.which("openjd"):
        check = subprocess.run(["openjd", "check", str(out)], capture_output=True, text=True, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
