"""SQUARED_DIFFERENCE: ``(a - b) ** 2`` with broadcasting (float32, int32; int32 wraps)."""

from __future__ import annotations

import numpy as np

from ._binary import BinaryKernel
from .base import Step
from .registry import register


@register("SQUARED_DIFFERENCE", versions=range(1, 3))
class SquaredDifference(BinaryKernel):
    options_table = "SquaredDifferenceOptions"
    dtypes = (np.float32, np.int32)
    has_activation = False

    def compute(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> Step:
        def step() -> None:
            np.subtract(a, b, out=out)
            np.multiply(out, out, out=out)

        return step
