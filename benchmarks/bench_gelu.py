"""GELU (float32, exact and tanh forms) against its previous kernel and LiteRT, and the
transformer block of ``bench_models.py`` with the old and new GELU.

    python benchmarks/bench_gelu.py [--runs 400] [--model-runs 40] [--no-model]

Method, all in one process (the machine may be shared: every comparison is interleaved):

1. Per op, on [64, 1024] (the transformer's MLP activation) and [1, 4096]: a single-op GELU
   model; three interpreters run it: numlite (current kernel), numlite whose GELU is
   ``LegacyGelu`` below (the kernel before the float32 rewrite: the exact form in float64 with
   Numerical Recipes' ``erfcc``, the tanh form as nine float32 passes with NumPy's ``tanh``), and
   LiteRT (``invoke``, its default XNNPACK settings, one thread).  numlite's step (``steps[0]``)
   and LiteRT's ``invoke`` alternate in blocks of 20 until each has ``--runs`` timings; medians.
   The largest difference between the new and old outputs is printed.
2. The transformer block (``bench_models.transformer_block``): numlite, numlite with
   ``LegacyGelu``, and LiteRT alternate in blocks of 5 timed invokes (``bench.timed_block``)
   until each has ``--model-runs`` timings; medians, and GELU's share of numlite's time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Any

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)
from bench import timed_block  # noqa: E402

import numlite  # noqa: E402
from numlite.ops.gelu import INV_SQRT2, K_CUBE, K_SQRT_2_OVER_PI, Gelu  # noqa: E402

OP_BLOCK = 20
# Numerical Recipes' erfcc, as the previous kernel used it (highest degree first)
ERFC_POLY = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418,
             0.37409196, 1.00002368, -1.26551223)


class LegacyGelu(Gelu):
    """GELU's float step as it was before the float32 rewrite (for the before columns)."""

    def setup(self, ctx: Any, x: Any) -> None:
        self.approximate = bool(self.options.get("approximate"))
        if self.approximate:
            self.slots = (ctx.scratch(x.shape, np.float32),)
        else:
            self.slots = tuple(ctx.scratch(x.shape, np.float64) for _ in range(3)) + (ctx.scratch(x.shape, np.bool_),)

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Any:
        mult, add = np.multiply, np.add
        if self.approximate:
            s = scratch[self.slots[0]]

            def tanh_form() -> None:
                mult(x, x, out=s)
                mult(s, x, out=s)
                mult(s, K_CUBE, out=s)
                add(s, x, out=s)
                mult(s, K_SQRT_2_OVER_PI, out=s)
                np.tanh(s, out=s)
                add(s, 1.0, out=s)
                mult(s, x, out=s)
                mult(s, 0.5, out=out, casting="same_kind")

            return tanh_form
        z, t, acc, pos = (scratch[k] for k in self.slots)
        c_top, c_mid, c_0 = ERFC_POLY[0], ERFC_POLY[1:-1], ERFC_POLY[-1]

        def erfc_form() -> None:
            np.abs(x, out=z)
            mult(z, INV_SQRT2, out=z)
            mult(z, 0.5, out=t)
            add(t, 1.0, out=t)
            np.divide(1.0, t, out=t)
            mult(t, c_top, out=acc)
            for c in c_mid:
                add(acc, c, out=acc)
                mult(acc, t, out=acc)
            add(acc, c_0, out=acc)
            mult(z, z, out=z)
            np.subtract(acc, z, out=acc)
            np.exp(acc, out=acc)
            mult(acc, t, out=acc)
            mult(acc, 0.5, out=acc)
            np.greater_equal(x, 0, out=pos)
            np.subtract(1.0, acc, out=acc, where=pos)
            mult(x, acc, out=out, casting="same_kind")

        return erfc_form


def interpreter(model: bytes, legacy: bool) -> Any:
    it = numlite.Interpreter(model_content=model, num_threads=1)
    if legacy:
        for k in it._main.kernels:
            if type(k) is Gelu:
                k.__class__ = LegacyGelu
    it.allocate_tensors()
    rng = np.random.default_rng(0)
    for d in it.get_input_details():
        it.set_tensor(d["index"], (rng.standard_normal(d["shape"]) * 2).astype(d["dtype"]))
    return it


def litert(model: bytes) -> Any:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=model, num_threads=1)
    it.allocate_tensors()
    rng = np.random.default_rng(0)
    for d in it.get_input_details():
        it.set_tensor(d["index"], (rng.standard_normal(d["shape"]) * 2).astype(d["dtype"]))
    return it


def med(ts: list[float]) -> float:
    return statistics.median(ts) * 1e6


def op_block(fn: Any, times: list[float]) -> None:
    fn()
    pc = time.perf_counter
    for _ in range(OP_BLOCK):
        t0 = pc()
        fn()
        times.append(pc() - t0)


def bench_op(shape: tuple[int, ...], approximate: bool, runs: int) -> None:
    from util import In, Out, single_op_model

    model = single_op_model("GELU", [In(shape)], Out(shape), approximate=approximate)
    new, old, ref = interpreter(model, False), interpreter(model, True), litert(model)
    fns = [new._main.steps[0], old._main.steps[0], ref.invoke]
    times: list[list[float]] = [[], [], []]
    while len(times[0]) < runs:
        for f, t in zip(fns, times):
            op_block(f, t)
    new.invoke()
    old.invoke()
    o = new.get_output_details()[0]["index"]
    diff = float(np.max(np.abs(new.get_tensor(o).astype(np.float64) - old.get_tensor(o))))
    n, b, r = (med(t) for t in times)
    form = "tanh " if approximate else "exact"
    print(f"  GELU {form} {str(list(shape)):12s} before {b:7.1f} us  after {n:7.1f} us  x{b / n:5.2f}   "
          f"LiteRT invoke {r:7.1f} us  after / LiteRT {n / r:5.2f}   max |after - before| {diff:.2e}")


def bench_model(runs: int) -> None:
    from bench_models import transformer_block

    model = transformer_block()
    new, old, ref = interpreter(model, False), interpreter(model, True), litert(model)
    times: list[list[float]] = [[], [], []]
    while len(times[0]) < runs:
        for it, t in zip((new, old, ref), times):
            timed_block(it.invoke, t)
    n, b, r = (med(t) for t in times)
    prof = new._main.profile(20)
    total = sum(t for _, t in prof)
    gelu = sum(t for ni, t in prof if new._main.kernels[ni].node.op_name == "GELU")
    print(f"  transformer (1 thread): numlite before {b / 1e3:6.3f} ms  after {n / 1e3:6.3f} ms  "
          f"LiteRT {r / 1e3:6.3f} ms  before / LiteRT {b / r:4.2f}  after / LiteRT {n / r:4.2f}  "
          f"GELU share after {100 * gelu / total:4.1f}%")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=400)
    p.add_argument("--model-runs", type=int, default=40)
    p.add_argument("--no-model", action="store_true")
    a = p.parse_args()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        for approximate in (False, True):
            for shape in ((64, 1024), (1, 4096)):
                bench_op(shape, approximate, a.runs)
        if not a.no_model:
            bench_model(a.model_runs)


if __name__ == "__main__":
    main()
