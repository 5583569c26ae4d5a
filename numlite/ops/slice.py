"""SLICE: ``output = input[begin : begin + size]`` per dimension (``size`` -1: to the end)."""

from __future__ import annotations

from ._shape import STRING_DATA_DTYPES, ViewKernel, index_input
from .base import PrepareContext
from .registry import register


@register("SLICE", versions=range(1, 9))
class Slice(ViewKernel):
    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(3)
        x = ctx.input(0)
        ctx.expect_dtype(x, STRING_DATA_DTYPES)
        begin = index_input(ctx, 1, "begin input").reshape(-1)
        size = index_input(ctx, 2, "size input").reshape(-1)
        if len(begin) != x.rank or len(size) != x.rank:
            ctx.fail(f"begin {begin.tolist()} and size {size.tolist()} must have one entry per "
                     f"dimension of {x.describe()}")
        idx, shape = [], []
        for d, (b, s, n) in enumerate(zip(begin.tolist(), size.tolist(), x.shape)):
            if s == -1:
                s = n - b
            if b < 0 or s < 0 or b + s > n:
                ctx.fail(f"begin {b} and size {s} are out of range for dimension {d} (size {n}) of {x.describe()}")
            idx.append(slice(b, b + s))
            shape.append(s)
        ctx.set_output(0, shape, x.dtype)
        t = tuple(idx)
        self.index = t  # (also read by the ONNX converter)
        self.set_view(lambda a: a[t])
