"""SPACE_TO_DEPTH (NHWC): ``out[n, h, w, (i*b+j)*C + c] = in[n, h*b+i, w*b+j, c]``.

The input seen as ``(N, H', b, W', b, C)`` transposed to ``(N, H', W', b, b, C)`` is the output:
one strided copy.
"""

from __future__ import annotations

from ._shape import DATA_DTYPES, CopyKernel, reshaped
from .base import PrepareContext
from .registry import register


@register("SPACE_TO_DEPTH", versions=(1, 2))
class SpaceToDepth(CopyKernel):
    options_table = "SpaceToDepthOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        x = ctx.input(0)
        ctx.expect_dtype(x, DATA_DTYPES)
        ctx.expect_rank(x, 4)
        b = int(self.options.get("block_size") or 0)
        n, h, w, c = x.shape
        if b < 1 or h % b or w % b:
            ctx.fail(f"block_size {b} must be >= 1 and divide the height and width of {x.describe()}")
        ho, wo = h // b, w // b
        ctx.set_output(0, (n, ho, wo, b * b * c), x.dtype)
        src, dst = (n, ho, b, wo, b, c), (n, ho, wo, b, b, c)
        self.copies = [(0, lambda o: reshaped(o, dst), lambda ins: reshaped(ins[0], src).transpose(0, 1, 3, 2, 4, 5))]
