"""RANGE: ``start, start + delta, ...`` up to but excluding ``limit`` (three scalar inputs of one
type: int32, int64 or float32), as a 1-D tensor of ``ceil((limit - start) / delta)`` elements
(0 when that is negative).

1. With constant inputs it is evaluated at prepare; otherwise the output is dynamic.
2. ``delta == 0``, or a delta whose sign points away from ``limit``, is an error naming the op
   and node (LiteRT refuses both).
3. Values are ``start + i * delta`` computed in the output type (float32 for float), as TFLite.
4. A range larger than the memory available (``check_alloc``) is an error naming the op, before
   anything is allocated.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Kernel, PrepareContext, Step, check_alloc
from .registry import register

RANGE_DTYPES = (np.int32, np.int64, np.float32)


def range_values(start, limit, delta, dtype, where: str) -> np.ndarray:
    s, lim, d = (x.reshape(-1)[0].item() for x in (start, limit, delta))
    if d == 0:
        raise RuntimeError(f"{where}: delta is 0")
    if (s > lim and d > 0) or (s < lim and d < 0):
        raise RuntimeError(f"{where}: start {s}, limit {lim} and delta {d} give no range (delta points away)")
    if np.dtype(dtype).kind == "i":
        n = max(0, -(-(lim - s) // d))  # ceil division in Python integers, either sign
    else:
        n = max(0, math.ceil(abs((lim - s) / d)))
    check_alloc(where, (n,), dtype)
    t = np.dtype(dtype).type
    return t(s) + np.arange(n, dtype=dtype) * t(d)


@register("RANGE", versions=(1, 2))
class Range(Kernel):
    options_table = "RangeOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(3)
        specs = [ctx.input(i) for i in range(3)]
        for role, s in zip(("start", "limit", "delta"), specs):
            ctx.expect_dtype(s, RANGE_DTYPES, role)
            if s.size != 1:
                ctx.fail(f"{role} {s.describe()} must be a scalar")
        if len({np.dtype(s.dtype) for s in specs}) != 1:
            ctx.fail("start, limit and delta must have one type: " + ", ".join(s.describe() for s in specs))
        self.dtype = np.dtype(specs[0].dtype)
        out = ctx.outputs[0]
        if out.dtype is not None and np.dtype(out.dtype) != self.dtype:
            ctx.fail(f"output {out.describe()} must have the inputs' type {self.dtype.name}")
        self.where = f"RANGE (node {self.node.index})"
        if all(s.value is not None for s in specs):
            try:
                ctx.set_output_value(0, range_values(*(s.value for s in specs), self.dtype, self.where))
            except RuntimeError as e:
                ctx.fail(str(e).split(": ", 1)[1])
            return
        ctx.set_output_dynamic(0, self.dtype)

    def bind(self, inputs, outputs, scratch) -> Step:
        start, limit, delta = inputs
        out, dtype, where = outputs[0], self.dtype, self.where
        return lambda: out.set(range_values(start, limit, delta, dtype, where))
