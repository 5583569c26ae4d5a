"""TRANSPOSE: permute dimensions (``perm`` input, a permutation of ``0..rank-1``, rank <= 6)."""

from __future__ import annotations

from ._shape import STRING_DATA_DTYPES, ViewKernel, index_input
from .base import PrepareContext
from .registry import register


@register("TRANSPOSE", versions=range(1, 10))
class Transpose(ViewKernel):
    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        x = ctx.input(0)
        ctx.expect_dtype(x, STRING_DATA_DTYPES)
        perm = [int(p) for p in index_input(ctx, 1, "perm input").reshape(-1)]
        if sorted(perm) != list(range(x.rank)):
            ctx.fail(f"perm {perm} is not a permutation of the {x.rank} dimensions of {x.describe()}")
        if x.rank > 6:
            ctx.fail(f"transpose supports rank up to 6, got {x.describe()}")
        ctx.set_output(0, [x.shape[p] for p in perm], x.dtype)
        p = tuple(perm)
        self.set_view(lambda a: a.transpose(p))
