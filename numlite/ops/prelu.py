"""PRELU: ``x if x >= 0 else alpha * x`` with a tensor ``alpha`` broadcast against ``x`` (float32).

1. Inputs: x, alpha (same dtype); alpha must broadcast into x's shape, which the output keeps
   (LiteRT checks the same).
2. When alpha is a constant with every value in [0, 1] (the usual trained case):
   ``max(x, alpha * x)``, two passes and no scratch.
3. Otherwise: ``alpha * x``, then copy ``x`` where ``x >= 0`` (a bool scratch of x's shape).
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step, expect_output_dtype, reject_quantized
from .registry import register

INPUT, ALPHA = 0, 1
ZERO = np.float32(0)


@register("PRELU", versions=(1,))
class Prelu(Kernel):
    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        x, alpha = ctx.input(INPUT), ctx.input(ALPHA)
        reject_quantized(ctx, [x, alpha, ctx.outputs[0]])
        ctx.expect_dtype(x, (np.float32,))
        ctx.expect_dtype(alpha, (np.float32,), role="alpha")
        expect_output_dtype(ctx, x.dtype)
        try:
            shape = np.broadcast_shapes(x.shape, alpha.shape)
        except ValueError:
            ctx.fail(f"alpha {alpha.describe()} does not broadcast against input {x.describe()}")
        if shape != tuple(x.shape):
            ctx.fail(f"alpha {alpha.describe()} broadcasts the input {x.describe()} to {list(shape)}; "
                     "the output must keep the input's shape")
        ctx.set_output(0, shape, x.dtype)
        a = alpha.value
        self.mask = None
        if a is None or a.size == 0 or not bool(np.all((a >= 0) & (a <= 1))):
            self.mask = ctx.scratch(x.shape, np.bool_)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        x, alpha, out = inputs[INPUT], inputs[ALPHA], outputs[0]
        if self.mask is None:
            def two_pass() -> None:
                np.multiply(x, alpha, out=out)
                np.maximum(out, x, out=out)

            return two_pass
        m = scratch[self.mask]

        def masked() -> None:
            np.multiply(x, alpha, out=out)
            np.greater_equal(x, ZERO, out=m)
            np.copyto(out, x, where=m)

        return masked
