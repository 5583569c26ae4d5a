"""LEAKY_RELU: ``x if x > 0 else alpha * x`` (float32; ``alpha`` from LeakyReluOptions).

1. ``0 <= alpha <= 1``: ``max(x, alpha * x)``; ``alpha > 1``: ``min(x, alpha * x)``; two passes.
2. ``alpha < 0``: ``alpha * x`` then copy ``x`` where ``x > 0`` (a bool scratch buffer).
"""

from __future__ import annotations

import numpy as np

from ._unary import UnaryKernel
from .base import PrepareContext, Step, TensorSpec
from .registry import register

ZERO = np.float32(0)


@register("LEAKY_RELU", versions=range(1, 3))
class LeakyRelu(UnaryKernel):
    options_table = "LeakyReluOptions"

    def setup(self, ctx: PrepareContext, x: TensorSpec) -> None:
        self.alpha = np.float32(self.options.get("alpha") or 0.0)
        if not np.isfinite(self.alpha):
            ctx.fail(f"alpha {float(self.alpha)} is not finite")
        self.mask = ctx.scratch(x.shape, np.bool_) if self.alpha < 0 else None

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        alpha = self.alpha
        if self.mask is None:
            pick = np.maximum if alpha <= 1 else np.minimum

            def two_pass() -> None:
                np.multiply(x, alpha, out=out)
                pick(out, x, out=out)

            return two_pass
        m = scratch[self.mask]

        def masked() -> None:
            np.multiply(x, alpha, out=out)
            np.greater(x, ZERO, out=m)
            np.copyto(out, x, where=m)

        return masked
