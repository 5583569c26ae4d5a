"""Base for SELECT and SELECT_V2: ``output = condition ? x : y`` elementwise, matching LiteRT 2.3.

1. Inputs: a bool condition and ``x``, ``y`` of one dtype (any fixed-size type LiteRT copies
   bit for bit: bool, int8, uint8, int16, uint16, float16, int32, uint32, float32, int64,
   uint64, float64, complex64; strings are left for the core's string support).  The output
   takes ``x``'s dtype.  Quantized tensors are copied as stored values: LiteRT does not look at
   their parameters (they may differ between x, y and the output).
2. When condition, x, y and the declared output each hold exactly one element, the output keeps
   its declared shape (LiteRT's rule for scalars written with mixed shapes).
3. Shapes, when not all equal: SELECT (``v2 = False``) accepts a scalar condition, or a rank-1
   condition whose length is x's first dimension, which then picks whole slices of x / y; x and
   y must have equal shapes and the output has x's.  SELECT_V2 broadcasts all three (NumPy
   rules) to at most 8 dimensions, as LiteRT.
4. The step is two copies into the planned output, without temporaries: ``out = y``, then
   ``out = x where condition`` (``np.copyto`` with broadcast views; the rank-1 condition is
   viewed with trailing unit dimensions).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ._compare import broadcast_output
from .base import Kernel, PrepareContext, Step

CONDITION, X, Y = 0, 1, 2
SELECT_DTYPES = (np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.float16, np.int32, np.uint32, np.float32,
                 np.int64, np.uint64, np.float64, np.complex64)


class SelectKernel(Kernel):
    v2: ClassVar[bool] = False

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(3)
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        c, x, y = ctx.input(CONDITION), ctx.input(X), ctx.input(Y)
        ctx.expect_dtype(c, (np.bool_,), "condition")
        ctx.expect_dtype(x, SELECT_DTYPES, "input x")
        if np.dtype(x.dtype) != np.dtype(y.dtype):
            ctx.fail(f"x and y types differ: {x.describe()} vs {y.describe()}")
        out = ctx.outputs[0]
        #: views given to the inputs in bind (None: as they are)
        self.cond_shape: tuple[int, ...] | None = None
        self.xy_shape: tuple[int, ...] | None = None
        if c.size == 1 and x.size == 1 and y.size == 1 and out.size == 1:
            shape = out.shape
            self.cond_shape = self.xy_shape = shape
        elif c.shape == x.shape == y.shape:
            shape = x.shape
        elif not self.v2:
            if c.rank == 0:
                pass
            elif c.rank == 1 and x.rank >= 1 and c.shape[0] == x.shape[0]:
                self.cond_shape = c.shape + (1,) * (x.rank - 1)
            else:
                ctx.fail(f"condition {c.describe()} must have x's shape, be a scalar, or be rank 1 matching the "
                         f"first dimension of x {x.describe()} (SELECT_V2 broadcasts)")
            if x.shape != y.shape:
                ctx.fail(f"x {x.describe()} and y {y.describe()} must have the same shape")
            shape = x.shape
        else:
            shape = broadcast_output(ctx, [c, x, y])
        ctx.set_output(0, shape, x.dtype)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        out = outputs[0]
        if out.size == 0:
            return lambda: None
        c, x, y = inputs[CONDITION], inputs[X], inputs[Y]
        if self.cond_shape is not None:
            c = c.reshape(self.cond_shape)
        if self.xy_shape is not None:
            x, y = x.reshape(self.xy_shape), y.reshape(self.xy_shape)
        copyto = np.copyto

        def step() -> None:
            copyto(out, y)
            copyto(out, x, where=c)

        return step
