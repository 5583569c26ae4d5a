"""The ``numlite`` command (also ``python -m numlite``): one module per subcommand.

    numlite demo      MediaPipe face detection and person segmentation on a real photo, timed
    numlite run       run a model on given or random inputs
    numlite bench     time a model as TFLite's benchmark_model does (its output format)
    numlite inspect   what is in a model: subgraphs, ops, tensors, the arena plan
    numlite visualize one self-contained HTML page: graph, tables, arena plan
    numlite compare   compare every intermediate tensor: numlite vs LiteRT, or a float model vs its int8 twin
    numlite export    write the model as an ONNX file
    numlite quantize  post-training quantization: float16, dynamic-range (int8 weights) or int8
    numlite convert   a Keras 3 model (.keras) as a .tflite file, without TensorFlow

Each subcommand module has ``add_parser(subparsers)`` and ``command(args) -> exit code``; errors
are one line on stderr with the exit codes of ``numlite.tools._common``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ._common import EXIT_CODES_HELP, USAGE, guarded

SUBCOMMANDS = ["demo", "run", "bench", "inspect_model", "visualize", "compare", "export", "quantize", "convert"]


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="numlite", description="numlite: a TensorFlow Lite runtime on NumPy",
                                 epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    for name in SUBCOMMANDS:
        importlib.import_module(f"numlite.tools.{name}").add_parser(sub)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "threads", 1) < 1:
        print(f"numlite {args.command}: error: --threads must be >= 1", file=sys.stderr)
        return USAGE
    return guarded(args.command, args.func, args)


if __name__ == "__main__":
    raise SystemExit(main())
