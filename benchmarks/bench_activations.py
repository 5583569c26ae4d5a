"""The standalone activation kernels (PRELU, LEAKY_RELU) against their previous form, and the
MediaPipe models that spend their time in them against LiteRT.

    python benchmarks/bench_activations.py [--models face_landmark iris_landmark hand_landmark_full]
                                           [--runs 30] [--op-runs 200] [--threads 1] [--no-ops]

Method, all in one process (the machine may be shared: every comparison is interleaved):

1. Per op: every distinct float PRELU of ``face_landmark`` (its input shape and its constant
   per-channel alpha, read from the model) becomes a single-op model.  Two numlite interpreters
   run it: one with the current kernel and one whose PRELU is ``LegacyPrelu`` below (the kernel
   as it was before the tiled fast paths: alpha broadcast in its own shape, and, unless every
   alpha lies in [0, 1], ``alpha * x`` then a masked copy of ``x >= 0``).  Their invoke steps
   alternate in blocks of 20 until each has ``--op-runs`` timings; medians are printed with the
   path the current kernel took (``max`` / ``fix`` / ``sign`` / ``mask``, see ``numlite.ops.prelu``)
   and whether the two outputs are bitwise equal.  The same for LEAKY_RELU with a negative alpha
   (previously the masked path) on the largest of those shapes.
2. Per model: numlite (current kernels), numlite with ``LegacyPrelu`` and LiteRT (default
   settings: XNNPACK), same ``num_threads``, same seeded input, alternate in blocks of 5 timed
   invokes (``bench.timed_block``: a pause and one untimed invoke first) until each has
   ``--runs`` timings.  Medians, the ratios numlite / LiteRT, and numlite's share of time in the
   activation ops (``Interpreter._main.profile``).

The models come from the MediaPipe cache of ``tests/mediapipe_models.py`` (downloaded once).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from typing import Any

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)
from bench import timed_block  # noqa: E402

import numlite  # noqa: E402
from numlite.ops.leaky_relu import LeakyRelu  # noqa: E402
from numlite.ops.prelu import Prelu  # noqa: E402

ACT_OPS = ("PRELU", "LEAKY_RELU", "HARD_SWISH", "LOGISTIC", "TANH", "RELU", "RELU6")
OP_BLOCK = 20


class LegacyPrelu(Prelu):
    """PRELU's float step as it was before the tiled fast paths (for the before/after columns)."""

    def prepare(self, ctx: Any) -> None:
        super().prepare(ctx)
        if self.quant is None:
            a = ctx.input(1).value
            self.legacy_max = a is not None and a.size > 0 and bool(np.all((a >= 0) & (a <= 1)))
            self.legacy_mask = None if self.legacy_max else ctx.scratch(ctx.input(0).shape, np.bool_)

    def bind(self, inputs: list, outputs: list, scratch: list) -> Any:
        if self.quant is not None:
            return super().bind(inputs, outputs, scratch)
        x, alpha, out = inputs[0], inputs[1], outputs[0]
        if self.legacy_max:
            def two_pass() -> None:
                np.multiply(x, alpha, out=out)
                np.maximum(out, x, out=out)

            return two_pass
        m = scratch[self.legacy_mask]

        def masked() -> None:
            np.multiply(x, alpha, out=out)
            np.greater_equal(x, np.float32(0), out=m)
            np.copyto(out, x, where=m)

        return masked


class LegacyLeakyRelu(LeakyRelu):
    """LEAKY_RELU's float step before: a negative alpha took the masked path."""

    def setup(self, ctx: Any, x: Any) -> None:
        super().setup(ctx, x)
        self.legacy_mask = ctx.scratch(x.shape, np.bool_) if self.alpha < 0 else None

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list) -> Any:
        if self.legacy_mask is None:
            return super().compute(x, out, scratch)
        m, alpha = scratch[self.legacy_mask], self.alpha

        def masked() -> None:
            np.multiply(x, alpha, out=out)
            np.greater(x, np.float32(0), out=m)
            np.copyto(out, x, where=m)

        return masked


LEGACY = {Prelu: LegacyPrelu, LeakyRelu: LegacyLeakyRelu}


def interpreter(model: Any, threads: int, legacy: bool, custom_ops: Any = None) -> Any:
    kw = {"model_path": model} if isinstance(model, str) else {"model_content": model}
    it = numlite.Interpreter(**kw, num_threads=threads, custom_ops=custom_ops)
    if legacy:
        for k in it._main.kernels:
            if type(k) in LEGACY:
                k.__class__ = LEGACY[type(k)]
    it.allocate_tensors()
    rng = np.random.default_rng(0)
    for d in it.get_input_details():
        it.set_tensor(d["index"], rng.standard_normal(d["shape"]).astype(d["dtype"]))
    return it


def median_us(ts: list[float]) -> float:
    return statistics.median(ts) * 1e6


def op_block(fn: Any, times: list[float], n: int = OP_BLOCK) -> None:
    fn()
    pc = time.perf_counter
    for _ in range(n):
        t0 = pc()
        fn()
        times.append(pc() - t0)


def compare_op(model: bytes, runs: int, label: str) -> None:
    new, old = interpreter(model, 1, False), interpreter(model, 1, True)
    t_new: list[float] = []
    t_old: list[float] = []
    while len(t_new) < runs:
        op_block(new._main.steps[0], t_new)
        op_block(old._main.steps[0], t_old)
    new.invoke()
    old.invoke()
    o = new.get_output_details()[0]["index"]
    same = np.array_equal(new.get_tensor(o).view(np.uint32), old.get_tensor(o).view(np.uint32))
    mode = getattr(new._main.kernels[0], "mode", "")
    print(f"  {label:44s} {mode:5s} before {median_us(t_old):7.1f} us  after {median_us(t_new):7.1f} us  "
          f"x{median_us(t_old) / median_us(t_new):5.2f}  bitwise equal: {same}")


def face_prelus(path: str) -> list[tuple[tuple[int, ...], np.ndarray]]:
    it = numlite.Interpreter(model_path=path)
    it.allocate_tensors()
    shapes = {d["index"]: tuple(int(v) for v in d["shape"]) for d in it.get_tensor_details()}
    seen, out = set(), []
    for k in it._main.kernels:
        if k.node.op_name != "PRELU":
            continue
        xs = shapes[k.node.inputs[0]]
        a = np.array(it.get_tensor(k.node.inputs[1]), np.float32)
        key = (xs, a.tobytes())
        if key not in seen:
            seen.add(key)
            out.append((xs, a))
    return out


def bench_ops(runs: int) -> None:
    from mediapipe_models import model_path
    from util import Const, In, Out, single_op_model

    path = str(model_path("face_landmark.tflite"))
    print(f"PRELU / LEAKY_RELU steps (face_landmark's PRELUs, 1 thread, medians of {runs}):")
    cases = face_prelus(path)
    cases.sort(key=lambda c: -int(np.prod(c[0])))
    for xs, a in cases:
        n_neg, n_big = int((a < 0).sum()), int((a > 1).sum())
        m = single_op_model("PRELU", [In(xs), Const(a)], Out(xs))
        compare_op(m, runs, f"PRELU {list(xs)} alpha<0: {n_neg}, >1: {n_big}")
    xs = cases[0][0]
    for alpha in (-0.2, 0.2):
        m = single_op_model("LEAKY_RELU", [In(xs)], Out(xs), version=2, alpha=alpha)
        compare_op(m, runs, f"LEAKY_RELU {list(xs)} alpha {alpha}")


def bench_model(name: str, runs: int, threads: int) -> None:
    from ai_edge_litert.interpreter import Interpreter as LiteRT
    from mediapipe_models import model_path

    from numlite.custom import mediapipe as mp_ops

    path = str(model_path(name + ".tflite"))
    new = interpreter(path, threads, False, mp_ops.OPS)
    old = interpreter(path, threads, True, mp_ops.OPS)
    lt = LiteRT(model_path=path, num_threads=threads)
    lt.allocate_tensors()
    rng = np.random.default_rng(0)
    for d in lt.get_input_details():
        lt.set_tensor(d["index"], rng.standard_normal(d["shape"]).astype(d["dtype"]))
    times: dict[str, list[float]] = {"after": [], "before": [], "litert": []}
    for fn in (new.invoke, old.invoke, lt.invoke):
        for _ in range(3):
            fn()
    while len(times["litert"]) < runs:
        timed_block(new.invoke, times["after"], gap=0.1)
        timed_block(old.invoke, times["before"], gap=0.1)
        timed_block(lt.invoke, times["litert"], gap=0.1)
    ms = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    o = new.get_output_details()[0]["index"]
    diff = float(np.max(np.abs(new.get_tensor(o) - old.get_tensor(o))))
    prof = new._main.profile(10)
    by: dict[str, float] = defaultdict(float)
    for ni, t in prof:
        by[new._main.kernels[ni].node.op_name] += t
    total = sum(by.values())
    share = ", ".join(f"{op} {100 * by[op] / total:.0f}%" for op in ACT_OPS if op in by)
    print(f"  {name:22s} LiteRT {ms['litert']:7.2f} ms  numlite before {ms['before']:7.2f} ms "
          f"(x{ms['before'] / ms['litert']:.2f})  after {ms['after']:7.2f} ms (x{ms['after'] / ms['litert']:.2f})  "
          f"before/after max diff {diff:.1e}; after: {share or 'no activation ops'}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", nargs="*", default=["face_landmark", "iris_landmark", "hand_landmark_full"])
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--op-runs", type=int, default=200)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--no-ops", action="store_true", help="skip the per-op comparison")
    args = p.parse_args()
    print(f"numpy {np.__version__}; {os.cpu_count()} CPUs; machine load may vary (runs are interleaved)")
    if not args.no_ops:
        bench_ops(args.op_runs)
    if args.models:
        print(f"Models ({args.threads} thread(s), medians of {args.runs}):")
        for name in args.models:
            bench_model(name, args.runs, args.threads)


if __name__ == "__main__":
    main()
