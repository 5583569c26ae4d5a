"""Load time of numlite's verifying reader against the ``tflite`` package's generated accessors.

This is the measurement behind numlite's choice of FlatBuffers reader (issue: runtime core):
both decode everything the interpreter needs from a model (every tensor's shape, type,
buffer and quantization; every operator's op code, inputs, outputs and options; all buffers
as NumPy views).  numlite's reader also verifies every offset while doing so; the generated
accessors verify nothing.

    python benchmarks/load_time.py [--models mobilenet_v1 mobilenet_v2 inception_v3] [--repeat 20]
                                   [--files model.tflite ...]

``--models`` are built by ``numlite.models.build`` and loaded from bytes (``model_content``);
``--files`` are loaded from their path (``model_path``, memory-mapped), as applications do.
Pass ``--models`` with no names to time only files.  Each row's runs are interleaved with
the other rows' (round-robin), so a noisy machine slows every row alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout too

from numlite.schema._schema import UNIONS  # noqa: E402

_GETTERS: dict[type, list[str]] = {}


def _getters(cls: type) -> list[str]:
    if cls not in _GETTERS:
        _GETTERS[cls] = [a for a in vars(cls) if a[:1].isupper() and not a.startswith(("Init", "GetRootAs"))
                         and not a.endswith(("AsNumpy", "Length", "IsNone")) and callable(getattr(cls, a))
                         and getattr(cls, a).__code__.co_argcount == 1]
    return _GETTERS[cls]


def walk_tflite_package(data: bytes) -> int:
    import tflite  # optional: pip install tflite

    m = tflite.Model.GetRootAsModel(data, 0)
    n = 0
    for bi in range(m.BuffersLength()):
        m.Buffers(bi).DataAsNumpy()
    for ci in range(m.OperatorCodesLength()):
        oc = m.OperatorCodes(ci)
        oc.BuiltinCode(), oc.DeprecatedBuiltinCode(), oc.Version(), oc.CustomCode()
    for si in range(m.SubgraphsLength()):
        sg = m.Subgraphs(si)
        sg.InputsAsNumpy(), sg.OutputsAsNumpy()
        for ti in range(sg.TensorsLength()):
            t = sg.Tensors(ti)
            t.ShapeAsNumpy(), t.ShapeSignatureAsNumpy(), t.Type(), t.Buffer(), t.Name(), t.IsVariable()
            q = t.Quantization()
            if q is not None:
                q.ScaleAsNumpy(), q.ZeroPointAsNumpy(), q.QuantizedDimension()
            n += 1
        for oi in range(sg.OperatorsLength()):
            op = sg.Operators(oi)
            op.OpcodeIndex(), op.InputsAsNumpy(), op.OutputsAsNumpy(), op.BuiltinOptionsType()
            tab = op.BuiltinOptions()
            if tab is not None:  # decode the options table's fields like an interpreter must
                cls = getattr(tflite, UNIONS["BuiltinOptions"][op.BuiltinOptionsType() - 1], None)
                if cls is not None:
                    opts = cls()
                    opts.Init(tab.Bytes, tab.Pos)
                    for attr in _getters(cls):
                        getattr(opts, attr)()
            n += 1
    return n


def main(argv: list[str] | None = None) -> None:
    from numlite import load_model, models

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="*", default=["mobilenet_v1", "mobilenet_v2", "inception_v3"])
    ap.add_argument("--files", nargs="*", default=[], help=".tflite files, loaded from their path")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args(argv)
    rows: list[tuple[str, bytes, Callable[[], object]]] = []
    for name in args.models:
        data = models.build(name)
        rows.append((name, data, lambda data=data: load_model(model_content=data)))
    for path in args.files:
        with open(path, "rb") as f:
            data = f.read()
        rows.append((os.path.basename(path), data, lambda path=path: load_model(model_path=path)))
    ours: list[list[float]] = [[] for _ in rows]
    theirs: list[list[float]] = [[] for _ in rows]
    for fn in (r[2] for r in rows):  # warm up: imports, first-use caches
        fn()
    for _ in range(args.repeat):
        for k, (_, data, load) in enumerate(rows):
            t0 = time.perf_counter()
            load()
            ours[k].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            try:
                walk_tflite_package(data)
            except ImportError:
                theirs[k].append(float("nan"))
                continue
            theirs[k].append(time.perf_counter() - t0)
    print("| model | size (MB) | numlite verify+decode (ms) | tflite package walk, no verification (ms) |")
    print("|---|---|---|---|")
    for k, (name, data, _) in enumerate(rows):
        print(f"| {name} | {len(data) / 1e6:.1f} | {statistics.median(ours[k]) * 1e3:.2f} | "
              f"{statistics.median(theirs[k]) * 1e3:.2f} |")


if __name__ == "__main__":
    main()
