"""EXPAND_DIMS: insert a size-1 dimension at ``axis`` (second input, in ``[-rank-1, rank]``)."""

from __future__ import annotations

from ._shape import STRING_DATA_DTYPES, index_input, reshaped
from .base import PrepareContext
from .registry import register
from .reshape import ReshapeLike


@register("EXPAND_DIMS", versions=(1,))
class ExpandDims(ReshapeLike):
    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        x = ctx.input(0)
        ctx.expect_dtype(x, STRING_DATA_DTYPES)
        axis = index_input(ctx, 1, "axis input").reshape(-1)
        if axis.size != 1:
            ctx.fail(f"axis input must hold one value, got {axis.tolist()}")
        a = int(axis[0])
        if not -x.rank - 1 <= a <= x.rank:
            ctx.fail(f"axis {a} is out of range for inserting into rank {x.rank}")
        if a < 0:
            a += x.rank + 1
        shape = x.shape[:a] + (1,) + x.shape[a:]
        ctx.set_output(0, shape, x.dtype)
        self.set_view(lambda v: reshaped(v, shape))
