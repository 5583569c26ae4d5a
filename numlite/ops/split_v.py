"""SPLIT_V: cut the input into pieces of ``size_splits`` (one -1 allowed) along ``axis``."""

from __future__ import annotations

from ._shape import STRING_DATA_DTYPES, CopyKernel, index_input, norm_axis
from .base import PrepareContext
from .registry import register
from .split import split_copies

INPUT, SIZES, AXIS = 0, 1, 2


@register("SPLIT_V", versions=range(1, 4))
class SplitV(CopyKernel):
    options_table = "SplitVOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(3)
        x = ctx.input(INPUT)
        ctx.expect_dtype(x, STRING_DATA_DTYPES)
        sizes = [int(s) for s in index_input(ctx, SIZES, "size_splits input").reshape(-1)]
        ax = index_input(ctx, AXIS, "axis input").reshape(-1)
        if ax.size != 1:
            ctx.fail(f"axis input must hold one value, got {ax.tolist()}")
        axis = norm_axis(ctx, int(ax[0]), x.rank)
        if len(sizes) != len(ctx.outputs):
            ctx.fail(f"size_splits {sizes} must have one entry per output ({len(ctx.outputs)})")
        dim = x.shape[axis]
        neg = [k for k, s in enumerate(sizes) if s == -1]
        if len(neg) > 1 or any(s < -1 for s in sizes):
            ctx.fail(f"size_splits {sizes} may hold only one -1 and no other negative value")
        if neg:
            sizes[neg[0]] = dim - (sum(sizes) + 1)
            if sizes[neg[0]] < 0:
                ctx.fail(f"size_splits {sizes} exceed dimension {axis} (size {dim}) of {x.describe()}")
        if sum(sizes) != dim:
            ctx.fail(f"size_splits {sizes} do not add up to dimension {axis} (size {dim}) of {x.describe()}")
        self.copies = split_copies(ctx, x.shape, axis, sizes, INPUT)
