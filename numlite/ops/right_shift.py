"""RIGHT_SHIFT: elementwise ``a >> b`` with broadcasting, version 1, as LiteRT 2.3 (int8, uint8,
int16, uint16, int32, uint32).

1. Both inputs and the output of one type; shapes broadcast as NumPy.
2. The shift count is clamped to [0, bits - 1] first, as LiteRT's ``RightShift`` (a negative
   count shifts by 0, a count of ``bits`` or more by ``bits - 1``), then shifted arithmetically
   for signed types (-128 >> 100 = -1 in int8) and logically for unsigned ones.  The clamped
   counts go to a scratch buffer of the count tensor's shape; invoke allocates nothing.
3. Quantized 8/16-bit tensors are shifted as stored values: LiteRT never reads the parameters.
"""

from __future__ import annotations

import numpy as np

from ._math import RawBinaryKernel
from .base import PrepareContext, Step, TensorSpec
from .registry import register

BITWISE_TYPES = (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32)


@register("RIGHT_SHIFT", versions=(1,))
class RightShift(RawBinaryKernel):
    dtypes = BITWISE_TYPES

    def setup(self, ctx: PrepareContext, a: TensorSpec, b: TensorSpec) -> None:
        dt = np.dtype(b.dtype)
        self.hi = dt.type(dt.itemsize * 8 - 1)
        self.counts = ctx.scratch(b.shape, dt)

    def compute_with(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        c, lo, hi = scratch[self.counts], b.dtype.type(0), self.hi

        def step() -> None:
            np.clip(b, lo, hi, out=c)
            np.right_shift(a, c, out=out)

        return step
