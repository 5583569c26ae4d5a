"""SPLIT: cut the input (input 1) into ``num_splits`` equal parts along ``axis`` (input 0)."""

from __future__ import annotations

from ._shape import STRING_DATA_DTYPES, CopyKernel, ident, index_input, norm_axis
from .base import PrepareContext
from .registry import register

AXIS, INPUT = 0, 1


def split_copies(ctx: PrepareContext, x_shape: tuple, axis: int, sizes: list, src: int) -> list:
    """Copy plan and output shapes for consecutive pieces of ``sizes`` along ``axis``."""
    copies, start = [], 0
    for k, n in enumerate(sizes):
        shape = x_shape[:axis] + (n,) + x_shape[axis + 1:]
        ctx.set_output(k, shape, ctx.inputs[src].dtype)
        t = (slice(None),) * axis + (slice(start, start + n),)
        copies.append((k, ident, lambda ins, t=t: ins[src][t]))
        start += n
    return copies


@register("SPLIT", versions=range(1, 6))
class Split(CopyKernel):
    options_table = "SplitOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        x = ctx.input(INPUT)
        ctx.expect_dtype(x, STRING_DATA_DTYPES)
        ax = index_input(ctx, AXIS, "axis input").reshape(-1)
        if ax.size != 1:
            ctx.fail(f"axis input must hold one value, got {ax.tolist()}")
        axis = norm_axis(ctx, int(ax[0]), x.rank)
        n = int(self.options.get("num_splits") or 0)
        if n <= 0 or n != len(ctx.outputs):
            ctx.fail(f"num_splits {n} must be positive and equal the number of outputs ({len(ctx.outputs)})")
        if x.shape[axis] % n:
            ctx.fail(f"dimension {axis} of {x.describe()} is not divisible by num_splits {n}")
        self.copies = split_copies(ctx, x.shape, axis, [x.shape[axis] // n] * n, INPUT)
