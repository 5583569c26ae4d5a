"""DIV: elementwise quotient with broadcasting and fused activation (float32, int32).

1. float32: IEEE division (x/0 gives +-inf, 0/0 nan, silently), then the activation.
2. int32: C semantics as in LiteRT's kernel: the quotient is truncated toward zero (-7 / 2 = -3).
   Computed as a float64 division then a C cast (which truncates), about ten times faster than
   NumPy's integer division.  Exact: a non-integer quotient a/b lies at least 1/|b| from every
   integer while float64 rounding moves it by at most |a/b| * 2**-53 < 2**-22 / |b|, so the
   truncation never crosses an integer.  One float64 scratch buffer of the output's shape.
3. A zero int32 divisor is an error, as in LiteRT: at prepare when the divisor is a constant,
   else a RuntimeError from invoke naming op and node.  ``INT32_MIN / -1`` wraps to INT32_MIN.
"""

from __future__ import annotations

import numpy as np

from ._binary import BinaryKernel
from .base import PrepareContext, Step, TensorSpec, no_fp_warnings
from .registry import register


@register("DIV", versions=range(1, 3))
class Div(BinaryKernel):
    options_table = "DivOptions"
    dtypes = (np.float32, np.int32)
    ieee_specials = True
    ufunc = np.divide

    def setup(self, ctx: PrepareContext, a: TensorSpec, b: TensorSpec) -> None:
        self.where = f"{self.node.op_name} (node {self.node.index})"
        if self.is_float:
            return
        if b.value is not None and np.count_nonzero(b.value) != b.value.size:
            ctx.fail(f"divisor {b.describe()} is a constant containing 0 (integer division by zero)")
        self.tmp = ctx.scratch(ctx.outputs[0].shape, np.float64)

    def compute_with(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        if self.is_float:
            return self.compute(a, b, out)
        t, where, size = scratch[self.tmp], self.where, b.size

        def int_div() -> None:
            if np.count_nonzero(b) != size:
                raise RuntimeError(f"{where}: integer division by zero (the divisor tensor contains 0)")
            np.divide(a, b, out=t)
            np.copyto(out, t, casting="unsafe")

        return no_fp_warnings(int_div)
