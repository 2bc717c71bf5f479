"""Turn the API-format example workflow into ComfyUI's UI (graph editor) format, for File > Open.

    python examples/comfyui/make_ui_workflow.py OBJECT_INFO.json [API.json] [UI.json]

OBJECT_INFO.json is a running server's ``GET /object_info`` (comfy-up saves one); it gives each node's
inputs in widget order and its output names and types. Nodes are laid out left to right by dependency depth.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CUSTOM = ("TALKINGHEAD_", "IMAGE", "MASK")


def _is_link(value) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)


def _socket(spec) -> str | None:
    """The socket type of an input spec, or None for a widget."""
    kind = spec[0]
    return kind if isinstance(kind, str) and kind.startswith(CUSTOM) else None


def convert(api: dict, info: dict) -> dict:
    """The UI-format workflow (nodes, links) equivalent to ``api``."""
    ids = {nid: i + 1 for i, nid in enumerate(api)}
    depth: dict[str, int] = {}

    def level(nid: str) -> int:
        if nid not in depth:
            ups = [v[0] for v in api[nid]["inputs"].values() if _is_link(v)]
            depth[nid] = 1 + max((level(u) for u in ups), default=-1)
        return depth[nid]

    links, nodes, rows = [], [], {}
    outputs = {nid: {} for nid in api}
    for nid, node in api.items():
        meta = info[node["class_type"]]
        order = meta.get("input_order", {})
        declared = {**meta["input"].get("required", {}), **meta["input"].get("optional", {})}
        names = order.get("required", []) + order.get("optional", [])
        inputs, widgets = [], []
        for name in names:
            value = node["inputs"].get(name)
            if _is_link(value):
                link_id = len(links) + 1
                kind = info[api[value[0]]["class_type"]]["output"][value[1]]
                links.append([link_id, ids[value[0]], value[1], ids[nid], len(inputs), kind])
                outputs[value[0]].setdefault(value[1], []).append(link_id)
                inputs.append({"name": name, "type": kind, "link": link_id})
            elif _socket(declared[name]):
                inputs.append({"name": name, "type": _socket(declared[name]), "link": None})
            else:
                widgets.append(value)
        col = level(nid)
        rows[col] = rows.get(col, -1) + 1
        nodes.append({"id": ids[nid], "type": node["class_type"], "pos": [40 + 360 * col, 40 + 260 * rows[col]],
                      "size": [320, 200], "flags": {}, "order": 0, "mode": 0, "inputs": inputs,
                      "outputs": [], "properties": {"Node name for S&R": node["class_type"]},
                      "widgets_values": widgets, "title": node.get("_meta", {}).get("title")})
    for node, nid in zip(nodes, api):
        meta = info[api[nid]["class_type"]]
        node["outputs"] = [{"name": n, "type": t, "links": outputs[nid].get(i, []), "slot_index": i}
                           for i, (n, t) in enumerate(zip(meta["output_name"], meta["output"]))]
        if node["title"] is None:
            del node["title"]
    for i, nid in enumerate(sorted(api, key=level)):
        nodes[list(api).index(nid)]["order"] = i
    return {"last_node_id": len(nodes), "last_link_id": len(links), "nodes": nodes, "links": links,
            "groups": [], "config": {}, "extra": {}, "version": 0.4}


def main() -> None:
    info = json.loads(Path(sys.argv[1]).read_text())
    api_path = Path(sys.argv[2]) if len(sys.argv) > 2 else HERE / "talkinghead_api.json"
    out = Path(sys.argv[3]) if len(sys.argv) > 3 else HERE / "talkinghead_ui.json"
    out.write_text(json.dumps(convert(json.loads(api_path.read_text()), info), indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
