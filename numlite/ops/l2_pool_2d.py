"""L2_POOL_2D: ``sqrt(mean(x**2))`` over each window's valid cells of an NHWC float32 tensor;
version 1 (``Pool2DOptions``: padding SAME / VALID, strides, filter size, fused activation).

1. float32 only, as LiteRT (its prepare refuses int8 / uint8; it has no quantized L2 pool).
2. The geometry, the padded-cell rule (padding never counts: the mean divides by the number of
   valid cells) and the separable window sums are the average pool's (``_pool.PoolKernel``),
   run on the squares of the input, which a first pass writes into a scratch of the input's
   shape.  Then ``sqrt`` and the clamp of the fused activation (RELU, RELU_N1_TO_1, RELU6; any
   other activation clamps to the float range, as TFLite's ``CalculateActivationRange``).  The
   clamp always runs, as in LiteRT's L2 pool: an inf result becomes the largest float32 (3.4e38),
   nan stays nan.
3. LiteRT sums the squares in float32 in another order: results agree to a few ulp (tests:
   rtol 1e-5).
4. Filters larger than 65536 cells along an axis are rejected (the pooling base enumerates the
   filter taps at prepare; a hostile size would make that loop run for minutes).
"""

from __future__ import annotations

import numpy as np

from ._pool import PoolKernel
from .base import PrepareContext, Step, activation_range, chain
from .registry import register

INPUT = 0
MAX_FILTER = 1 << 16
FLT_MAX = float(np.finfo(np.float32).max)


@register("L2_POOL_2D", versions=(1,))
class L2Pool2D(PoolKernel):
    reduce = np.add
    average = True

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        x = ctx.input(INPUT)
        ctx.expect_dtype(x, (np.float32,))
        fh, fw = int(self.options.get("filter_height") or 0), int(self.options.get("filter_width") or 0)
        if fh > MAX_FILTER or fw > MAX_FILTER:
            ctx.fail(f"filter size {fh}x{fw} exceeds numlite's limit of {MAX_FILTER} per axis")
        super().prepare(ctx)
        if not self.empty:
            self.sq_slot = ctx.scratch(x.shape, np.float32)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        if self.empty:
            return lambda: None
        x, sq = inputs[INPUT], scratch[self.sq_slot]
        pool = super().bind([sq], outputs, scratch)
        return chain(lambda: np.multiply(x, x, out=sq), pool)

    def _finish(self, res: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step | None:
        div = self.divisor
        lo, hi = activation_range(self.act) or (-np.inf, np.inf)
        lo, hi = np.float32(max(lo, -FLT_MAX)), np.float32(min(hi, FLT_MAX))

        def mean_sqrt_clamp() -> None:
            np.divide(out, div, out=out)
            np.sqrt(out, out=out)
            np.clip(out, lo, hi, out=out)

        return mean_sqrt_clamp
