"""WHERE: the coordinates of the true (nonzero) elements of input 0, as int64 [count, rank], in
row-major order.  Input types: bool and the numeric types LiteRT accepts.

1. The count depends on the values: the output is dynamic (prepared downstream again only when
   the count changes); a constant input is evaluated at prepare instead.
2. The step is ``np.argwhere`` (one pass to count, one to write the coordinates).
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step
from .registry import register

WHERE_DTYPES = (np.bool_, np.float32, np.int32, np.int64, np.int8, np.uint8, np.uint32)


@register("WHERE", versions=(1, 2))
class Where(Kernel):
    options_table = "WhereOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        x = ctx.input(0)
        ctx.expect_dtype(x, WHERE_DTYPES)
        out = ctx.outputs[0]
        if out.dtype is not None and np.dtype(out.dtype) != np.int64:
            ctx.fail(f"output {out.describe()} must be int64")
        if x.value is not None:
            ctx.set_output_value(0, np.argwhere(x.value).astype(np.int64))
            return
        ctx.set_output_dynamic(0, np.int64)

    def bind(self, inputs, outputs, scratch) -> Step:
        x, out = inputs[0], outputs[0]
        return lambda: out.set(np.argwhere(x))
