"""Network presets: frozen configs that rebuild E, G and D (Zakharov et al. 2019, §3.4).

One ``NetworkConfig`` is stored next to the weights (``to_dict`` / ``from_dict``), so one file
rebuilds a model. ``paper-256`` follows the paper's implementation details (§3.4): residual blocks
with 64..512 channels, embedding size N = 512, self-attention at 32x32 in every down path and at
64x64 in the generator's up path, spectral norm in every convolution and linear layer.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ...runtime.errors import UsageError


@dataclass(frozen=True)
class NetworkConfig:
    """Hyper-parameters of E, G and D.

    Attributes:
        name: preset name (kept in checkpoints).
        image_size: side of the square face crops in pixels (power of two, >= 16).
        embed_dim: size N of e_i, e_hat, W_i and w0 (§3.2); also E's and D's last channel count.
        base_channels: channels of the first (highest resolution) block; doubled per level.
        max_channels: channel cap of every block.
        g_num_down: residual down blocks of G (down path with instance norm).
        g_num_res: residual blocks with AdaIN at G's bottleneck.
        attn_down_res: resolution of the self-attention block in every down path (E, G, D).
        attn_up_res: resolution of the self-attention block in G's up path.
        spectral_norm: spectral norm on every conv/linear layer (training); removable for export.
        g_warp: the warp-conditioned variant (not in the paper): G also sees the nearest source frame
            warped piecewise-affinely to the target landmarks (6 input channels) and outputs a residual
            on top of it, initialised to zero, so an untrained G reproduces the warp exactly and training
            learns what a warp cannot do (mouth interior, eyes, occlusions), as the same authors' later
            bi-layer model separates a warped texture from a learned correction.
    """

    name: str
    image_size: int
    embed_dim: int
    base_channels: int
    max_channels: int
    g_num_down: int
    g_num_res: int
    attn_down_res: int
    attn_up_res: int
    spectral_norm: bool = True
    g_warp: bool = False

    def __post_init__(self) -> None:
        s = self.image_size
        if s < 16 or s & (s - 1):
            raise ValueError(f"NetworkConfig {self.name!r}: image_size must be a power of two >= 16, got {s}")
        if not 1 <= self.g_num_down <= self.num_down - 1:
            raise ValueError(f"NetworkConfig {self.name!r}: g_num_down must be in 1..{self.num_down - 1}")
        down_res = [s >> (k + 1) for k in range(self.num_down)]
        if self.attn_down_res not in down_res:
            raise ValueError(f"NetworkConfig {self.name!r}: attn_down_res {self.attn_down_res} not in {down_res}")
        up_res = [s >> k for k in range(self.g_num_down - 1, -1, -1)]
        if self.attn_up_res not in up_res or self.attn_down_res not in down_res[:self.g_num_down]:
            raise ValueError(f"NetworkConfig {self.name!r}: attention resolutions must lie on G's path "
                             f"(down {down_res[:self.g_num_down]}, up {up_res})")
        if min(self.embed_dim, self.base_channels, self.max_channels, self.g_num_res + 1) < 1:
            raise ValueError(f"NetworkConfig {self.name!r}: sizes must be positive")

    @property
    def num_down(self) -> int:
        """Residual down blocks of E and D: image_size -> 4x4 (§3.4)."""
        return self.image_size.bit_length() - 3

    def channels(self, level: int) -> int:
        """Channels of the block at ``level`` (0 = first): min(base * 2^level, max)."""
        return min(self.base_channels << level, self.max_channels)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (stored in checkpoint metadata)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NetworkConfig:
        """Rebuild from ``to_dict`` output; unknown or missing keys raise ValueError naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown NetworkConfig keys {unknown} (written by a newer talkinghead?)")
        required = {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING}
        missing = sorted(required - set(d))
        if missing:
            raise ValueError(f"NetworkConfig is missing keys {missing}")
        return cls(**dict(d))


def _with_warp(cfg: NetworkConfig) -> NetworkConfig:
    return dataclasses.replace(cfg, name=f"{cfg.name}-warp", g_warp=True)


_PAPER: Mapping[str, NetworkConfig] = MappingProxyType({
    # §3.4: 64..512 channels, N = 512, attention at 32x32 (down) and 64x64 (G up), 256 px crops.
    "paper-256": NetworkConfig("paper-256", 256, 512, 64, 512, g_num_down=4, g_num_res=5,
                               attn_down_res=32, attn_up_res=64),
    # Same layout scaled to 128 px and 32..256 channels: trainable on a CPU in minutes.
    "small-128": NetworkConfig("small-128", 128, 256, 32, 256, g_num_down=4, g_num_res=3,
                               attn_down_res=16, attn_up_res=32),
    # Smallest network with every component (tests).
    "tiny-64": NetworkConfig("tiny-64", 64, 64, 16, 64, g_num_down=3, g_num_res=1,
                             attn_down_res=16, attn_up_res=32),
})
# The paper-faithful presets, and each one's warp-conditioned variant ("<name>-warp", see g_warp).
PRESETS: Mapping[str, NetworkConfig] = MappingProxyType({**_PAPER, **{f"{k}-warp": _with_warp(v) for k, v in _PAPER.items()}})


# The preset every command, graph node and host node uses when none is given (printed in their reports):
# the warp-conditioned G reproduces the photo's warp until trained, so it animates a face even without a
# meta-learned base, where the paper's G from a random base outputs coloured noise.
DEFAULT_PRESET = "small-128-warp"


def get_preset(name: str) -> NetworkConfig:
    """The preset called ``name``; UsageError listing the known ones otherwise."""
    if name not in PRESETS:
        raise UsageError(f"unknown network preset {name!r}; known: {', '.join(PRESETS)}")
    return PRESETS[name]
