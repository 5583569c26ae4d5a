"""ADD_N: elementwise sum of two or more tensors of one shape, version 1, as LiteRT 2.3 (float32,
int32).

1. At least two inputs, all of the first input's shape (no broadcasting) and type; the output
   has that shape and type.  LiteRT accepts other types at prepare and fails at invoke
   ("AddN only supports FLOAT32|INT32"); numlite refuses them at prepare.
2. The step adds the inputs one after another into the planned output (``in0 + in1``, then
   ``+ in2`` ...).  int32 wraps on overflow, as LiteRT's (measured: INT32_MAX + 1 gives
   INT32_MIN); integer sums do not depend on the order.  float32: LiteRT may split the inputs
   among threads and add partial sums, so the last bits can depend on the order: tests allow
   rtol 1e-6 per addition.
3. Quantized int32 tensors are added as stored values (LiteRT never reads the parameters).
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step, expect_output_dtype
from .registry import register


@register("ADD_N", versions=(1,))
class AddN(Kernel):
    def prepare(self, ctx: PrepareContext) -> None:
        if len(ctx.inputs) < 2:
            ctx.fail(f"expects at least 2 inputs, got {len(ctx.inputs)}")
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        first = ctx.input(0)
        ctx.expect_dtype(first, (np.float32, np.int32))
        for i in range(1, len(ctx.inputs)):
            s = ctx.input(i)
            if np.dtype(s.dtype) != np.dtype(first.dtype):
                ctx.fail(f"input {i} {s.describe()} has another type than input 0 {first.describe()}")
            if s.shape != first.shape:
                ctx.fail(f"input {i} {s.describe()} has another shape than input 0 {first.describe()} "
                         "(ADD_N does not broadcast)")
        expect_output_dtype(ctx, first.dtype)
        ctx.set_output(0, first.shape, first.dtype)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        out, first, second, rest = outputs[0], inputs[0], inputs[1], inputs[2:]

        def step() -> None:
            np.add(first, second, out=out)
            for x in rest:
                np.add(out, x, out=out)

        return step
