"""List, verify or fetch model weights. `fetch` is the only code path in the package that downloads."""
from __future__ import annotations

import argparse

from ...runtime import weights as w
from ...runtime.errors import MissingWeightsError, UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["list", "verify", "fetch", "convert"])
    parser.add_argument("names", nargs="*", help="model names (default: all, for list and verify); "
                        "for convert: IN.pth OUT.safetensors (a trusted file, read with weights_only=True)")


def run(args: argparse.Namespace) -> int:
    if args.action == "convert":
        if len(args.names) != 2:
            raise UsageError("usage: talkinghead weights convert IN.pth OUT.safetensors")
        state = w.load_pickled_state_dict(args.names[0])
        w.save_safetensors(args.names[1], state, {"converted_from": args.names[0]})
        print(f"{args.names[1]}: {len(state)} tensors")
        return 0
    specs = w.model_specs()
    names = args.names or list(specs)
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise UsageError(f"unknown model(s) {unknown}; known: {', '.join(specs)}")
    if args.action == "fetch":
        if not args.names:
            raise UsageError("name the models to fetch, e.g. `talkinghead weights fetch fan-2d`")
        for name, path in zip(names, w.fetch_many([specs[n] for n in names], args.models_dir)):
            print(f"{name}: {path}")
        return 0
    failed = 0
    for name in names:
        spec = specs[name]
        try:
            path = w.resolve(spec, models_dir=args.models_dir, check_hash=args.action == "verify")
            state = f"present  {path}"
        except MissingWeightsError as exc:
            state = "missing" if "not found" in str(exc) else f"BAD      {exc}"
            failed += 1
        flag = "" if spec.commercial_use else "  [NON-COMMERCIAL]"
        print(f"{name:20s} {state}\n{'':20s} {spec.description}; licence: {spec.licence}{flag}")
    return 4 if failed and args.action == "verify" and args.names else 0
