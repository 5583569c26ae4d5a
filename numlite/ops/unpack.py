"""UNPACK: split along ``axis`` into ``num`` outputs, each without that dimension."""

from __future__ import annotations

from ._shape import STRING_DATA_DTYPES, CopyKernel, ident, norm_axis
from .base import PrepareContext
from .registry import register


@register("UNPACK", versions=range(1, 7))
class Unpack(CopyKernel):
    options_table = "UnpackOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        x = ctx.input(0)
        ctx.expect_dtype(x, STRING_DATA_DTYPES)
        axis = norm_axis(ctx, int(self.options.get("axis") or 0), x.rank)
        num = int(self.options.get("num") or 0)
        if num != x.shape[axis] or num != len(ctx.outputs):
            ctx.fail(f"num {num} must equal dimension {axis} of {x.describe()} and the number of "
                     f"outputs ({len(ctx.outputs)})")
        shape = x.shape[:axis] + x.shape[axis + 1:]
        self.copies = []
        for k in range(num):
            ctx.set_output(k, shape, x.dtype)
            t = (slice(None),) * axis + (k, Ellipsis)  # ... keeps a rank-1 pick a 0-d view
            self.copies.append((k, ident, lambda ins, t=t: ins[0][t]))
