"""BROADCAST_TO: broadcast the input to ``shape`` (input 1, rank <= 8) by NumPy's rules."""

from __future__ import annotations

import numpy as np

from ._shape import STRING_DATA_DTYPES, ViewKernel, index_input
from .base import PrepareContext
from .registry import register


@register("BROADCAST_TO", versions=range(2, 5))
class BroadcastTo(ViewKernel):
    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        x = ctx.input(0)
        ctx.expect_dtype(x, STRING_DATA_DTYPES)
        shape = tuple(int(v) for v in index_input(ctx, 1, "shape input").reshape(-1))
        if len(shape) > 8:
            ctx.fail(f"shape {list(shape)} has rank above 8")
        ok = len(shape) >= x.rank and all(a in (1, b) for a, b in zip(x.shape[::-1], shape[::-1]))
        if not ok or any(d < 0 for d in shape):
            ctx.fail(f"cannot broadcast {x.describe()} to {list(shape)}")
        ctx.set_output(0, shape, x.dtype)
        self.set_view(lambda a: np.broadcast_to(a, shape))
