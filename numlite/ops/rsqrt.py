"""RSQRT: ``1 / sqrt(x)`` (float32; 0 gives inf and negatives nan, as IEEE)."""

from __future__ import annotations

import numpy as np

from ._unary import UnaryKernel
from .base import Step
from .registry import register

ONE = np.float32(1.0)


@register("RSQRT", versions=range(1, 4))
class Rsqrt(UnaryKernel):
    ieee_specials = True

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        def step() -> None:
            np.sqrt(x, out=out)
            np.divide(ONE, out, out=out)

        return step
