"""LOGISTIC: ``1 / (1 + exp(-x))`` (float32), without overflow and without warnings.

1. ``t = exp(clip(x, -87, 88))``: the clamp keeps ``exp`` finite and normal (``e**88`` is below
   float32's maximum, ``e**-87`` above its smallest normal), so nothing overflows.
2. ``out = t / (t + 1)``: accurate to a few ulp in relative terms wherever the result is a
   normal float32 (x >= -87).  Below -87 the true value is subnormal (< 1.7e-38); the result is
   1.6e-38, an absolute error under 2e-38.  Above 88 the result is 1.0, exact in float32.
3. One float32 scratch buffer of the input's shape holds ``t``; four passes in all.
"""

from __future__ import annotations

import numpy as np

from ._unary import UnaryKernel
from .base import PrepareContext, Step, TensorSpec
from .registry import register

LO, HI, ONE = np.float32(-87.0), np.float32(88.0), np.float32(1.0)


@register("LOGISTIC", versions=range(1, 4))
class Logistic(UnaryKernel):
    def setup(self, ctx: PrepareContext, x: TensorSpec) -> None:
        self.tmp = ctx.scratch(x.shape, np.float32)

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        t = scratch[self.tmp]

        def step() -> None:
            np.clip(x, LO, HI, out=t)
            np.exp(t, out=t)
            np.add(t, ONE, out=out)
            np.divide(t, out, out=out)

        return step
