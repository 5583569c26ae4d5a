"""TILE: repeat the input ``multiples[i]`` times along each dimension.

The output, seen as ``(m0, d0, m1, d1, ...)``, is the input seen as ``(1, d0, 1, d1, ...)``
broadcast: one broadcasting copy.
"""

from __future__ import annotations

from ._shape import STRING_DATA_DTYPES, CopyKernel, index_input, reshaped
from .base import PrepareContext
from .registry import register


@register("TILE", versions=range(1, 4))
class Tile(CopyKernel):
    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        x = ctx.input(0)
        ctx.expect_dtype(x, STRING_DATA_DTYPES)
        m = [int(v) for v in index_input(ctx, 1, "multiples input").reshape(-1)]
        if len(m) != x.rank or any(v < 0 for v in m):
            ctx.fail(f"multiples {m} must have {x.rank} non-negative entries for {x.describe()}")
        ctx.set_output(0, [a * b for a, b in zip(x.shape, m)], x.dtype)
        dst = tuple(v for pair in zip(m, x.shape) for v in pair)
        src = tuple(v for d in x.shape for v in (1, d))
        self.copies = [(0, lambda o: reshaped(o, dst), lambda ins: reshaped(ins[0], src))]
