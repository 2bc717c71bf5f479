"""`talkinghead info`: parameter counts per preset, as the networks really have them."""
from talkinghead.nodes.networks.discriminator import Discriminator
from talkinghead.nodes.networks.embedder import Embedder
from talkinghead.nodes.networks.generator import Generator
from talkinghead.nodes.networks.presets import get_preset
from talkinghead.plugin import cli


def test_info_prints_every_preset(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "paper-256" in out and "small-128" in out and "tiny-64" in out
    assert "14,907,265" in out  # E at paper-256 (§3.4: 15 M)


def test_info_counts_match_built_networks(capsys):
    cfg = get_preset("tiny-64")
    assert cli.main(["info", "--preset", "tiny-64", "--videos", "7"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("tiny-64")).split()
    counts = [sum(p.numel() for p in m.parameters())
              for m in (Embedder(cfg), Generator(cfg), Discriminator(cfg, 7))]
    assert [int(v.replace(",", "")) for v in (row[3], row[4], row[6])] == counts


def test_info_unknown_preset_exits_2(capsys):
    assert cli.main(["info", "--preset", "huge"]) == 2
    assert "unknown network preset 'huge'" in capsys.readouterr().err
