"""Installed-package checks: the ONNX Runtime clash, and optional extras a command needs.

ONNX Runtime ships as several distributions (``onnxruntime``, ``onnxruntime-gpu``, ``-directml``,
``-openvino``, ...) that all install the same ``onnxruntime/`` import package. Two of them in one environment
(common in ComfyUI installs, where another pack pulled plain ``onnxruntime``) overwrite each other's files
silently: which providers load then depends on install order, and an uninstall of one breaks the other.
Found through ``importlib.metadata``, without importing onnxruntime.
"""
from __future__ import annotations

import importlib.util
from importlib import metadata

from .errors import MissingDependencyError

OURS = "onnxruntime-gpu"


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def onnxruntime_distributions() -> dict[str, str]:
    """{distribution name: version} of every installed distribution that provides ``onnxruntime``."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = _canonical(dist.metadata.get("Name", "") or "")
        if name == "onnxruntime" or (name.startswith("onnxruntime-") and _provides_onnxruntime(dist)):
            found[name] = dist.version
    return found


def _provides_onnxruntime(dist: metadata.Distribution) -> bool:
    top = dist.read_text("top_level.txt")
    if top is not None:
        return "onnxruntime" in top.split()
    return any(str(f).startswith("onnxruntime/") for f in (dist.files or []))


def onnxruntime_clash(found: dict[str, str] | None = None) -> str:
    """"" when at most one ONNX Runtime distribution is installed; else what is wrong and the repair commands."""
    found = onnxruntime_distributions() if found is None else found
    if len(found) < 2:
        return ""
    listed = ", ".join(f"{name} {version}" for name, version in sorted(found.items()))
    keep = OURS if OURS in found else min(found)
    pin = f"{keep}=={found[keep]}"
    return (f"ONNX Runtime is installed {len(found)} times ({listed}): they share one onnxruntime/ folder and "
            f"overwrite each other's files. Repair with the same Python: "
            f"pip uninstall -y {' '.join(sorted(found))} && pip install {pin}")


def require_extra(extra: str, modules: tuple[str, ...], what: str) -> None:
    """MissingDependencyError (exit 4) naming ``pip install 'talkinghead[extra]'`` when a module is absent."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependencyError(f"{what} needs {', '.join(missing)}, not installed: "
                                  f"pip install 'talkinghead[{extra}]' (or pip install {' '.join(missing)})")
