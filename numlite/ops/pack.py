"""PACK: stack ``values_count`` same-shape inputs along a new dimension ``axis``."""

from __future__ import annotations

from ._shape import STRING_DATA_DTYPES, CopyKernel, same_dtype
from .base import PrepareContext
from .registry import register


@register("PACK", versions=range(1, 6))
class Pack(CopyKernel):
    options_table = "PackOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        n = int(self.options.get("values_count") or 0)
        if n < 1 or n != len(ctx.inputs):
            ctx.fail(f"values_count {n} must be positive and equal the number of inputs ({len(ctx.inputs)})")
        xs = [ctx.input(k) for k in range(n)]
        ctx.expect_dtype(xs[0], STRING_DATA_DTYPES)
        same_dtype(ctx, xs)
        for s in xs[1:]:
            if s.shape != xs[0].shape:
                ctx.fail(f"inputs must have the same shape: {xs[0].describe()} vs {s.describe()}")
        r = xs[0].rank
        axis = int(self.options.get("axis") or 0)
        if not -r - 1 <= axis <= r:
            ctx.fail(f"axis {axis} is out of range for packing rank-{r} inputs")
        if axis < 0:
            axis += r + 1
        ctx.set_output(0, xs[0].shape[:axis] + (n,) + xs[0].shape[axis:], xs[0].dtype)
        self.copies = []
        for k in range(n):
            t = (slice(None),) * axis + (k, Ellipsis)  # ... keeps a rank-1 pick a 0-d view
            self.copies.append((0, lambda o, t=t: o[t], lambda ins, k=k: ins[k]))
