"""Thin host adapters: CLI, ComfyUI, pyblish, exports, farm. No model logic here."""
