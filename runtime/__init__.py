"""Shared runtime: device, precision, weights, caches, ONNX sessions, progress, distributed.

Submodules are imported explicitly (``from talkinghead.runtime.runtime import Runtime``);
this package file imports nothing heavy.
"""
