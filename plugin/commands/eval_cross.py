"""``talkinghead eval --cross``: the cross-identity evaluation (one photo driven by another person's clip).

Options added to ``eval`` (see ``nodes/evaluation/cross.py`` for what is measured and how):
``--cross --source PHOTO... --driver CLIP... [--method warp product ...] [--out REPORT.json]
[--sheet SHEET.png | --sheets DIR] [--frames N]``. Every photo is driven by every clip with every method;
the table goes to stdout, REPORT.json and REPORT.md; one contact sheet per photo x clip.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...runtime.errors import UsageError

DEFAULT_METHODS = ("warp", "product")


def add_cross_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--cross`` options of ``eval``."""
    group = parser.add_argument_group("cross-identity evaluation (--cross)")
    group.add_argument("--cross", action="store_true",
                       help="cross-identity evaluation: photos driven by other people's clips (no --clips)")
    group.add_argument("--source", "--sources", dest="sources", nargs="+", type=Path, default=None,
                       metavar="PHOTO", help="source photo(s)")
    group.add_argument("--driver", "--drivers", dest="drivers", nargs="+", type=Path, default=None,
                       metavar="CLIP", help="driving clip(s) (videos or image sequences)")
    group.add_argument("--frames", type=int, default=None, help="use only the first N frames of each clip")
    group.add_argument("--sheet", type=Path, default=None, help="contact sheet PNG (one photo x clip only)")
    group.add_argument("--sheets", type=Path, default=None,
                       help="folder for one contact sheet per photo x clip (default: REPORT_sheets/ with --out)")
    group.add_argument("--sheet-rows", type=int, default=6, help="frames per contact sheet (default 6)")
    group.add_argument("--sheet-cell", type=int, default=320,
                       help="contact sheet cell height in px; 0 = full resolution (default 320)")
    group.add_argument("--sheet-crop", default="head", choices=("head", "none"),
                       help="show the head region (default) or whole frames in the contact sheet")
    group.add_argument("--rendered", default=None,
                       help="frames rendered beforehand for --method rendered (#### sequence, folder or video)")
    group.add_argument("--iris", default="classic", choices=("classic", "product", "model"),
                       help="iris locator for the gaze error: the evaluation's own (default), the product's "
                            "classical one, or MediaPipe's iris landmark model (needs its weights)")
    group.add_argument("--no-exact-identity", action="store_true",
                       help="do not recheck identity distances near the 0.6 threshold with dlib itself")


def cross_config(args: argparse.Namespace):
    """The ``CrossConfig`` of the parsed arguments (UsageError on a bad combination)."""
    from ...nodes.evaluation.cross import CrossConfig

    if not args.sources or not args.drivers:
        raise UsageError("eval --cross needs --source PHOTO(s) and --driver CLIP(s)")
    if args.clips is not None:
        raise UsageError("--clips is for the self-reenactment evaluation; --cross takes --source and --driver")
    if args.out is not None and args.out.suffix != ".json":
        raise UsageError(f"--out {args.out}: the report is a .json file")
    pairs = len(args.sources) * len(args.drivers)
    if args.sheet is not None and pairs != 1:
        raise UsageError(f"--sheet is for one photo x clip; {pairs} pairs need --sheets DIR")
    methods = tuple(m for item in (args.method or DEFAULT_METHODS) for m in item.split(",") if m.strip())
    sheets = args.sheets
    if sheets is None and args.sheet is None and args.out is not None:
        sheets = args.out.with_name(args.out.stem + "_sheets")
    return CrossConfig(sources=tuple(args.sources), drivers=tuple(args.drivers), methods=methods,
                       frames=args.frames, preset=args.preset, rendered=args.rendered,
                       sheets=sheets, sheet=args.sheet, sheet_rows=args.sheet_rows, sheet_cell=args.sheet_cell,
                       sheet_crop=args.sheet_crop, exact_identity=not args.no_exact_identity, iris=args.iris,
                       cache_dir=args.landmark_cache, command=tuple(sys.argv))


def run_cross(args: argparse.Namespace) -> int:
    """Run the cross-identity evaluation and print its table."""
    from ...nodes.evaluation.cross import evaluate_cross
    from ...nodes.evaluation.cross_report import table_rows

    cfg = cross_config(args)
    report = evaluate_cross(args.runtime(), cfg, args.out)
    rows = table_rows(report)
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths)))
    for error in report["errors"]:
        print(f"error: {error['source']} x {error['driver']} ({error['method']}): {error['error']}", file=sys.stderr)
    written = ([f"{args.out}", f"{args.out.with_suffix('.md')}"] if args.out else []) + report["sheets"]
    if written:
        print("wrote " + ", ".join(written))
    return 0 if report["rows"] else 3
