"""Presets: frozen, round-trip through dicts, validated; paper-256 matches the paper's parameter counts."""
import dataclasses

import pytest
from talkinghead.nodes.networks.presets import PRESETS, NetworkConfig, get_preset
from talkinghead.plugin.commands.info import parameter_counts
from talkinghead.runtime.errors import UsageError


def test_presets_are_frozen_and_read_only():
    cfg = get_preset("paper-256")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.image_size = 128
    with pytest.raises(TypeError):
        PRESETS["mine"] = cfg


@pytest.mark.parametrize("name", list(PRESETS))
def test_round_trip(name):
    cfg = get_preset(name)
    assert NetworkConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.name == name


def test_from_dict_names_bad_keys():
    d = get_preset("tiny-64").to_dict()
    with pytest.raises(ValueError, match="unknown NetworkConfig keys \\['colour'\\]"):
        NetworkConfig.from_dict({**d, "colour": 1})
    del d["embed_dim"]
    with pytest.raises(ValueError, match="missing keys \\['embed_dim'\\]"):
        NetworkConfig.from_dict(d)


def test_unknown_preset_is_a_usage_error():
    with pytest.raises(UsageError, match="known: paper-256"):
        get_preset("huge-1024")


@pytest.mark.parametrize("change", [{"image_size": 100}, {"attn_down_res": 7}, {"attn_up_res": 4}, {"g_num_down": 9}])
def test_invalid_configs_are_refused(change):
    with pytest.raises(ValueError, match="tiny-64"):
        dataclasses.replace(get_preset("tiny-64"), **change)


def test_paper_256_matches_the_paper():
    """§3.4: 64..512 channels, N = 512, E 15 M, G 38 M, D's convolutional part 20 M parameters.

    DESIGN §3 says G ~40-60 M; the paper's own figure is 38 M, which this layout reproduces.
    """
    cfg = get_preset("paper-256")
    assert (cfg.image_size, cfg.embed_dim, cfg.base_channels, cfg.max_channels) == (256, 512, 64, 512)
    assert (cfg.attn_down_res, cfg.attn_up_res, cfg.spectral_norm) == (32, 64, True)
    c = parameter_counts("paper-256")
    assert 14e6 <= c["E"] <= 16e6
    assert 36e6 <= c["G"] <= 60e6
    assert 19e6 <= c["D"] <= 21e6
    assert c["D.W_per_video"] == 512


def test_smaller_presets_are_smaller():
    counts = [sum(parameter_counts(n).values()) for n in ("paper-256", "small-128", "tiny-64")]
    assert counts[0] > 3 * counts[1] > 9 * counts[2]
