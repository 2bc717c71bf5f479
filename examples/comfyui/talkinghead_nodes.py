"""One-file ComfyUI custom node for a pip-installed talkinghead: copy to ComfyUI/custom_nodes/.

ComfyUI reads NODE_CLASS_MAPPINGS (classic hosts) or comfy_entrypoint (V3 hosts) from this module; both
are forwarded to the installed package, which picks the schema the host has.
"""
import talkinghead


def __getattr__(name):
    return getattr(talkinghead, name)
