"""DEPTH_TO_SPACE (NHWC): ``out[n, h*b+i, w*b+j, c] = in[n, h, w, (i*b+j)*C' + c]``.

The input seen as ``(N, H, W, b, b, C')`` transposed to ``(N, H, b, W, b, C')`` is the output:
one strided copy.
"""

from __future__ import annotations

from ._shape import DATA_DTYPES, CopyKernel, reshaped
from .base import PrepareContext
from .registry import register


@register("DEPTH_TO_SPACE", versions=(1, 2))
class DepthToSpace(CopyKernel):
    options_table = "DepthToSpaceOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        x = ctx.input(0)
        ctx.expect_dtype(x, DATA_DTYPES)
        ctx.expect_rank(x, 4)
        b = int(self.options.get("block_size") or 0)
        n, h, w, c = x.shape
        if b < 1 or c % (b * b):
            ctx.fail(f"block_size {b} must be >= 1 with block_size^2 dividing the depth of {x.describe()}")
        co = c // (b * b)
        ctx.set_output(0, (n, h * b, w * b, co), x.dtype)
        src, dst = (n, h, w, b, b, co), (n, h, b, w, b, co)
        self.copies = [(0, lambda o: reshaped(o, dst), lambda ins: reshaped(ins[0], src).transpose(0, 1, 3, 2, 4, 5))]
