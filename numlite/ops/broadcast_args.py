"""BROADCAST_ARGS: the broadcast of two shapes given as int32 or int64 vectors (version 1, as
LiteRT 2.3).

1. Inputs: two vectors of one type (int32 or int64); the output has that type and
   ``max(len(s0), len(s1))`` entries, so its shape is always known at prepare.
2. Shapes are aligned at the end; the shorter is padded with 1s in front.  Per position: a 1
   takes the other value, otherwise the two must be equal (TFLite's rule: a 0 against a 1 gives
   0, a negative value passes through the same way).
3. Known inputs (constants, or values published by SHAPE) are evaluated at prepare and publish
   the output value, so a BROADCAST_TO after it gets a static shape.  Incompatible shapes are an
   error naming the op and node (LiteRT aborts the process on them), at prepare or at invoke.
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step
from .registry import register


def broadcast_shapes(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> str | None:
    """Write the broadcast of ``a`` and ``b`` into ``out``; an error message if incompatible."""
    n = out.size
    ea = np.ones(n, np.int64)
    eb = np.ones(n, np.int64)
    if a.size:
        ea[n - a.size:] = a
    if b.size:
        eb[n - b.size:] = b
    bad = (ea != 1) & (eb != 1) & (ea != eb)
    if bad.any():
        return f"shapes {a.tolist()} and {b.tolist()} do not broadcast"
    out[...] = np.where(ea == 1, eb, ea)
    return None


@register("BROADCAST_ARGS", versions=(1,))
class BroadcastArgs(Kernel):
    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        a, b = ctx.input(0), ctx.input(1)
        ctx.expect_dtype(a, (np.int32, np.int64), "shape 0")
        if np.dtype(b.dtype) != np.dtype(a.dtype):
            ctx.fail(f"shape 1 {b.describe()} must have the type of shape 0 {a.describe()}")
        out = ctx.outputs[0]
        if np.dtype(out.dtype) != np.dtype(a.dtype):
            ctx.fail(f"output {out.describe()} must have the inputs' type {np.dtype(a.dtype).name}")
        if a.rank != 1 or b.rank != 1:
            ctx.fail(f"shapes {a.describe()} and {b.describe()} must be vectors")
        n = max(a.size, b.size)
        self.where = f"{self.op_name} (node {self.node.index})"
        if a.value is not None and b.value is not None:
            value = np.empty(n, a.dtype)
            err = broadcast_shapes(np.asarray(a.value), np.asarray(b.value), value)
            if err:
                ctx.fail(err)
            ctx.set_output_value(0, value)
            return
        ctx.set_output(0, (n,), a.dtype)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        a, b = inputs
        out, where = outputs[0], self.where

        def step() -> None:
            err = broadcast_shapes(a, b, out)
            if err:
                raise RuntimeError(f"{where}: {err}")

        return step
