"""SQUEEZE: drop size-1 dimensions (``squeeze_dims``, negative allowed; empty: all of them)."""

from __future__ import annotations

from ._shape import STRING_DATA_DTYPES, norm_axis, reshaped
from .base import PrepareContext
from .registry import register
from .reshape import ReshapeLike


@register("SQUEEZE", versions=(1, 2))
class Squeeze(ReshapeLike):
    options_table = "SqueezeOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        x = ctx.input(0)
        ctx.expect_dtype(x, STRING_DATA_DTYPES)
        raw = self.options.get("squeeze_dims")
        dims = [] if raw is None else [int(d) for d in raw]
        if len(dims) > 8:
            ctx.fail(f"squeeze_dims {dims} has more than 8 entries")
        if dims:
            drop = {norm_axis(ctx, d, x.rank, "squeeze_dims entry") for d in dims}
            for d in drop:
                if x.shape[d] != 1:
                    ctx.fail(f"cannot squeeze dimension {d} of {x.describe()}: its size is not 1")
        else:
            drop = {d for d, n in enumerate(x.shape) if n == 1}
        shape = tuple(n for d, n in enumerate(x.shape) if d not in drop)
        ctx.set_output(0, shape, x.dtype)
        self.set_view(lambda a: reshaped(a, shape))
