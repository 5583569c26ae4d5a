"""LOCAL_RESPONSE_NORMALIZATION: ``x / (bias + alpha * sum(x[c-r .. c+r]**2)) ** beta`` over the
last axis of a 4-D float32 tensor; version 1 (options ``radius``, ``bias``, ``alpha``, ``beta``).

1. float32 only, rank 4, as LiteRT's prepare checks.  The window at channel ``c`` is
   ``[c - radius, c + radius]`` clipped to the channels (TensorFlow's LRN, and LiteRT's default
   kernel).  LiteRT 2.3's reference kernel (BUILTIN_REF) stops one channel short
   (``[c - radius, c + radius)``); numlite follows the default kernel and TensorFlow.
2. Window sums from one running sum: squares in float64 (exact for float32 inputs), a
   cumulative sum along the channels with a leading zero, then ``C[hi] - C[lo]`` through two
   prepared index vectors (``np.take`` into scratch).  Float64 keeps the differences accurate;
   LiteRT slides a float32 sum, so results agree to about 1e-6 relative (tests: rtol 1e-5).
3. ``d = bias + alpha * sum`` in float32, then ``x * d ** -beta`` (``1 / d`` for beta 1,
   ``1 / sqrt(d)`` for beta 0.5, as LiteRT's special cases).  ``d == 0`` gives inf / nan, a
   negative ``d`` with a fractional beta nan, as in LiteRT (IEEE; no warnings).
4. A negative radius is rejected (LiteRT would size a buffer from it).  A radius beyond the
   channel count acts as the channel count (every window is the whole row).
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step, expect_output_dtype, no_fp_warnings, reject_quantized
from .registry import register

INPUT = 0


@register("LOCAL_RESPONSE_NORMALIZATION", versions=(1,))
class LocalResponseNormalization(Kernel):
    options_table = "LocalResponseNormalizationOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        x = ctx.input(INPUT)
        ctx.expect_dtype(x, (np.float32,))
        ctx.expect_rank(x, 4)
        reject_quantized(ctx, [x, ctx.outputs[0]])
        expect_output_dtype(ctx, np.float32)
        o = self.options
        radius = int(o.get("radius") or 0)
        if radius < 0:
            ctx.fail(f"radius must be >= 0, got {radius}")
        self.bias = np.float32(o.get("bias") or 0.0)
        self.alpha = np.float32(o.get("alpha") or 0.0)
        self.beta = np.float32(o.get("beta") or 0.0)
        ctx.set_output(0, x.shape, np.float32)
        depth = x.shape[-1]
        self.rows = x.size // depth if depth else 0
        self.depth = depth
        self.empty = x.size == 0
        if self.empty:
            return
        r = min(radius, depth)
        c = np.arange(depth)
        self.hi_idx = (np.minimum(c + r, depth - 1) + 1).astype(np.intp)
        self.lo_idx = np.maximum(c - r, 0).astype(np.intp)
        self.cum_slot = ctx.scratch((self.rows, depth + 1), np.float64)
        self.sq_slot = ctx.scratch((self.rows, depth), np.float64)
        self.lo_slot = ctx.scratch((self.rows, depth), np.float64)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        if self.empty:
            return lambda: None
        x = inputs[INPUT].reshape(self.rows, self.depth)
        o = outputs[0].reshape(self.rows, self.depth)
        cum, win, low = scratch[self.cum_slot], scratch[self.sq_slot], scratch[self.lo_slot]
        hi_idx, lo_idx, bias, alpha, beta = self.hi_idx, self.lo_idx, self.bias, self.alpha, self.beta
        body, first = cum[:, 1:], cum[:, 0]
        if beta == 1:
            def power() -> None:
                np.divide(x, o, out=o)
        elif beta == 0.5:
            def power() -> None:
                np.sqrt(o, out=o)
                np.divide(x, o, out=o)
        else:
            neg_beta = -beta

            def power() -> None:
                np.power(o, neg_beta, out=o)
                np.multiply(o, x, out=o)

        def step() -> None:
            first.fill(0.0)  # scratch memory is shared with other nodes between invokes
            np.multiply(x, x, out=body, dtype=np.float64)
            np.add.accumulate(body, axis=1, out=body)
            np.take(cum, hi_idx, axis=1, out=win, mode="clip")
            np.take(cum, lo_idx, axis=1, out=low, mode="clip")
            np.subtract(win, low, out=win)
            np.multiply(win, alpha, out=o, casting="same_kind")
            np.add(o, bias, out=o)
            power()

        return no_fp_warnings(step)
