"""What this build of the package holds: the evaluation also runs in a build without the default animation
path (``nodes.animate``), and then leaves out what needs it (the product's iris locator, the misfit check)."""
from __future__ import annotations


def has_animate() -> bool:
    """Is ``nodes.animate`` in this build (found without importing it)?"""
    import importlib.util

    return importlib.util.find_spec(__package__.rsplit(".", 1)[0] + ".animate") is not None


__all__ = ["has_animate"]
