"""Per-op dispatch cost on tiny tensors: numlite's step and invoke against LiteRT's invoke.

    python benchmarks/bench_small_ops.py [--ops softmax_i8 mean_i8 ...] [--blocks 15]
                                         [--baseline /path/to/dir/pkgname] [--json out.json]

Each case is a one-op model on a small tensor (built with ``numlite.builder.ModelBuilder``; index
inputs such as shapes and axes are constants, so the only step left is the op itself).  For
each case, in ONE process:

1. ``step``: numlite's prepared step (``it._main.steps[0]()``; all steps in order if constant
   folding left more than one) called in a loop: the kernel's own per-call cost.
2. ``invoke``: numlite's ``Interpreter.invoke()``: the step plus the interpreter's dispatch.
3. ``litert``: ``ai_edge_litert``'s ``Interpreter.invoke()`` on the same model (default
   settings: XNNPACK where it takes the op, the builtin kernels otherwise).  It carries a fixed
   overhead of its own (the Python binding and TFLite's invoke), printed once as ``LiteRT
   floor`` (the smallest median over the cases).
4. ``--baseline DIR/PKG``: another copy of the numlite package (e.g. a snapshot taken before a
   change, its directory renamed to ``PKG``) is imported as ``PKG`` and its step and invoke are
   timed in the same blocks: before/after columns from one interleaved run.

The measurements alternate in blocks: each block runs every timed callable of a case for
about 2 ms (the call count is calibrated once per callable), and the table gives the median
(or, ``--stat min``, the minimum: steadier when other processes share the cores) over
``--blocks`` blocks of the time per call, in microseconds.  Inputs are seeded random values
set once; outputs of numlite and LiteRT are compared once and the largest difference printed
(in output steps for integer outputs).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from numlite.builder import ModelBuilder  # noqa: E402

I8, I16, F32 = np.int8, np.int16, np.float32
Q8 = {"scale": 0.05, "zero_point": 3}
Q8B = {"scale": 0.04, "zero_point": -7}
SM8 = {"scale": 1 / 256, "zero_point": -128}
Q16 = {"scale": 0.001, "zero_point": 0}
SM16 = {"scale": 1 / 32768, "zero_point": 0}


class Case:
    """A one-op model: ``inputs`` are (shape, dtype, quant) graph inputs or ``("const", value)``."""

    def __init__(self, name: str, op: str, inputs: list, out: tuple, version: int = 1, **options: Any):
        self.name, self.op, self.inputs, self.out, self.version, self.options = name, op, inputs, out, version, options

    def model(self) -> bytes:
        mb = ModelBuilder()
        idx = []
        for k, spec in enumerate(self.inputs):
            if spec[0] == "const":
                quant = spec[2] if len(spec) > 2 else None
                idx.append(mb.const(f"c{k}", spec[1], quantization=quant))
            else:
                shape, dt, quant = spec
                idx.append(mb.input(f"in{k}", shape, dt, quantization=quant))
        shape, dt, quant = self.out
        o = mb.tensor("out", shape, dt, quantization=quant)
        mb.op(self.op, idx, [o], version=self.version, **self.options)
        mb.output(o)
        return mb.build()

    def feeds(self) -> list[np.ndarray]:
        rng = np.random.default_rng(0)
        out = []
        for spec in self.inputs:
            if spec[0] == "const":
                continue
            shape, dt, _ = spec
            if np.dtype(dt).kind == "f":
                out.append(rng.uniform(-3, 3, shape).astype(dt))
            else:
                info = np.iinfo(dt)
                lo, hi = (max(info.min, -2000), min(info.max, 2000)) if dt != np.int32 else (-100, 100)
                out.append(rng.integers(lo, hi + 1, shape).astype(dt))
        return out


def cases() -> list[Case]:
    v64 = ((1, 64), F32, None)
    q64 = ((1, 64), I8, Q8)
    c = [
        Case("reshape", "RESHAPE", [v64, ("const", np.array([8, 8], np.int32))], ((8, 8), F32, None)),
        Case("squeeze", "SQUEEZE", [((1, 64, 1), F32, None)], ((64,), F32, None), squeeze_dims=[0, 2]),
        Case("expand_dims", "EXPAND_DIMS", [((64,), F32, None), ("const", np.array([0], np.int32))],
             ((1, 64), F32, None)),
        Case("add_f32", "ADD", [v64, v64], ((1, 64), F32, None)),
        Case("mul_f32", "MUL", [v64, v64], ((1, 64), F32, None)),
        Case("add_i8", "ADD", [q64, ((1, 64), I8, Q8B)], ((1, 64), I8, {"scale": 0.08, "zero_point": 1}), version=2),
        Case("mul_i8", "MUL", [q64, ((1, 64), I8, Q8B)], ((1, 64), I8, {"scale": 0.1, "zero_point": 1}), version=2),
        Case("relu_f32", "RELU", [v64], ((1, 64), F32, None)),
        Case("logistic_i8", "LOGISTIC", [q64], ((1, 64), I8, SM8), version=2),
        Case("quantize_f32_i8", "QUANTIZE", [v64], ((1, 64), I8, Q8)),
        Case("quantize_i8_i8", "QUANTIZE", [q64], ((1, 64), I8, Q8B), version=2),
        Case("dequantize_i8", "DEQUANTIZE", [q64], ((1, 64), F32, None), version=2),
        Case("cast_i32_f32", "CAST", [((1, 64), np.int32, None)], ((1, 64), F32, None)),
        Case("cast_f32_i32", "CAST", [v64], ((1, 64), np.int32, None)),
    ]
    for shape in ((1, 10), (1, 1000), (64, 64)):
        tag = "x".join(map(str, shape))
        c.append(Case(f"softmax_f32_{tag}", "SOFTMAX", [(shape, F32, None)], (shape, F32, None), beta=1.0))
        c.append(Case(f"softmax_i8_{tag}", "SOFTMAX", [(shape, I8, Q8)], (shape, I8, SM8), version=2, beta=1.0))
        c.append(Case(f"softmax_i16_{tag}", "SOFTMAX", [(shape, I16, Q16)], (shape, I16, SM16), version=3,
                      beta=1.0))
    c += [
        Case("softmax_i8_4x64x64", "SOFTMAX", [((4, 64, 64), I8, Q8)], ((4, 64, 64), I8, SM8), version=2, beta=1.0),
        Case("mean_f32", "MEAN", [((1, 4, 4, 16), F32, None), ("const", np.array([1, 2], np.int32))],
             ((1, 16), F32, None)),
        Case("mean_i8", "MEAN", [((1, 4, 4, 16), I8, Q8), ("const", np.array([1, 2], np.int32))],
             ((1, 16), I8, Q8B), version=2),
        Case("mean_i8_keep", "MEAN", [((1, 4, 4, 16), I8, Q8), ("const", np.array([1, 2], np.int32))],
             ((1, 1, 1, 16), I8, Q8B), version=2, keep_dims=True),
        Case("concat_f32", "CONCATENATION", [((1, 32), F32, None), ((1, 32), F32, None)], ((1, 64), F32, None),
             axis=1),
        Case("concat_i8", "CONCATENATION", [((1, 32), I8, Q8), ((1, 32), I8, Q8)], ((1, 64), I8, Q8), axis=1,
             version=2),
        Case("strided_slice", "STRIDED_SLICE",
             [v64, ("const", np.array([0, 8], np.int32)), ("const", np.array([1, 40], np.int32)),
              ("const", np.array([1, 1], np.int32))], ((1, 32), F32, None)),
        Case("gather", "GATHER", [("const", np.arange(800, dtype=F32).reshape(100, 8)), ((4,), np.int32, None)],
             ((4, 8), F32, None)),
        Case("transpose", "TRANSPOSE", [((1, 8, 8), F32, None), ("const", np.array([0, 2, 1], np.int32))],
             ((1, 8, 8), F32, None)),
        Case("fully_connected_f32", "FULLY_CONNECTED",
             [((1, 16), F32, None), ("const", np.random.default_rng(1).uniform(-1, 1, (8, 16)).astype(F32)),
              ("const", np.zeros(8, F32))], ((1, 8), F32, None)),
    ]
    return c


def fix_feeds(case: Case, feeds: list[np.ndarray]) -> list[np.ndarray]:
    if case.op == "GATHER":
        return [np.array([3, 50, 7, 99], np.int32)]
    return feeds


def calibrate(fn: Callable[[], None], target: float = 2e-3) -> int:
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt > target / 4 or n >= 1 << 16:
            return max(1, int(n * target / max(dt, 1e-9)))
        n *= 4


def timed(fn: Callable[[], None], n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def numlite_callables(pkg: Any, model: bytes, feeds: list[np.ndarray]) -> tuple[Any, Callable, Callable]:
    it = pkg.Interpreter(model_content=model, num_threads=1)
    it.allocate_tensors()
    for d, v in zip(it.get_input_details(), feeds):
        it.set_tensor(d["index"], v)
    steps = [s for s in it._main.steps if s is not None]
    if len(steps) == 1:
        step = steps[0]
    else:
        def step() -> None:
            for s in steps:
                s()
    return it, step, it.invoke


def run_case(case: Case, blocks: int, baseline: Any, stat: str = "median") -> dict[str, Any]:
    from ai_edge_litert.interpreter import Interpreter as LiteRT

    import numlite

    model = case.model()
    feeds = fix_feeds(case, case.feeds())
    it, step, invoke = numlite_callables(numlite, model, feeds)
    lt = LiteRT(model_content=model, num_threads=1)
    lt.allocate_tensors()
    for d, v in zip(lt.get_input_details(), feeds):
        lt.set_tensor(d["index"], v)
    fns = {"step": step, "invoke": invoke, "litert": lt.invoke}
    if baseline is not None:
        _, bstep, binvoke = numlite_callables(baseline, model, feeds)
        fns = {"step": step, "old_step": bstep, "invoke": invoke, "old_invoke": binvoke, "litert": lt.invoke}
    it.invoke()
    lt.invoke()
    a = it.get_tensor(it.get_output_details()[0]["index"])
    b = lt.get_tensor(lt.get_output_details()[0]["index"])
    diff = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0
    counts = {k: calibrate(f) for k, f in fns.items()}
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(blocks):
        for k, f in fns.items():
            times[k].append(timed(f, counts[k]))
    agg = statistics.median if stat == "median" else min
    res = {k: agg(v) * 1e6 for k, v in times.items()}
    res["diff"] = diff
    return res


def load_baseline(path: str) -> Any:
    parent, name = os.path.split(os.path.abspath(path))
    sys.path.insert(0, parent)
    return importlib.import_module(name)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", nargs="*", help="case names (substrings) to run; default all")
    ap.add_argument("--blocks", type=int, default=15)
    ap.add_argument("--baseline", help="directory of another numlite copy, imported under its directory name")
    ap.add_argument("--stat", choices=("median", "min"), default="median",
                    help="per-block statistic reported (min is steadier on a shared machine)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    baseline = load_baseline(args.baseline) if args.baseline else None
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass
    sel = [c for c in cases() if not args.ops or any(s in c.name for s in args.ops)]
    cols = ["step", "invoke", "litert"] if baseline is None else ["old_step", "step", "old_invoke", "invoke", "litert"]
    print(f"{'case':24s}" + "".join(f"{c:>11s}" for c in cols) + f"{'inv/lrt':>9s}{'max diff':>10s}   (us per call)")
    results = {}
    for c in sel:
        r = run_case(c, args.blocks, baseline, args.stat)
        results[c.name] = r
        print(f"{c.name:24s}" + "".join(f"{r[k]:11.2f}" for k in cols) + f"{r['invoke'] / r['litert']:9.2f}"
              f"{r['diff']:10.3g}", flush=True)
    if results:
        print(f"LiteRT floor (smallest {args.stat} invoke): {min(r['litert'] for r in results.values()):.2f} us")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
