"""Base of the StableHLO elementwise binary ops (ADD, MULTIPLY, MAXIMUM, MINIMUM, AND, SHIFT_LEFT).

Subclass of ``_binary.BinaryKernel`` with LiteRT 2.3's StableHLO rules:

1. Two inputs of the same dtype *and the same shape* (no broadcasting: LiteRT checks every
   dimension); the output has that shape and dtype.  No options, no fused activation.
2. Quantization parameters are not read (LiteRT's kernels compute on the stored values), so
   quantized tensors run on their stored values.
3. Integer arithmetic wraps (two's complement), as the C++ loops do on every platform LiteRT
   ships for; float16 is computed in float32 and rounded, as ``Eigen::half`` does; float results
   may be inf / nan (IEEE, no warnings).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .._binary import BinaryKernel
from ..base import PrepareContext, TensorSpec


class StablehloBinary(BinaryKernel):
    has_activation: ClassVar[bool] = False
    raw_quantized: ClassVar[bool] = True
    ieee_specials: ClassVar[bool] = True

    def setup(self, ctx: PrepareContext, a: TensorSpec, b: TensorSpec) -> None:
        if tuple(a.shape) != tuple(b.shape):
            ctx.fail(f"inputs must have the same shape (no broadcasting): {a.describe()} vs {b.describe()}")


class StablehloMinMax(StablehloBinary):
    """MAXIMUM / MINIMUM as ``std::max(a, b)`` / ``std::min(a, b)``: ``b`` where ``a < b`` (max) or
    ``b < a`` (min), else ``a``.  For integers and bool that is ``np.maximum`` / ``np.minimum``;
    for floats it differs where a NaN is involved (the result is ``a`` then, NaN or not) and on
    signed zeros (equal values give ``a``), so the float step is a compare into a bool scratch and
    a masked copy."""

    dtypes = (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
              np.uint32, np.uint64, np.bool_)
    take_b_when_a_less: ClassVar[bool] = True  # max: a < b picks b; min: b < a picks b

    def setup(self, ctx: PrepareContext, a: TensorSpec, b: TensorSpec) -> None:
        super().setup(ctx, a, b)
        self.mask_slot = ctx.scratch(a.shape, np.bool_) if np.dtype(a.dtype).kind == "f" else None

    def compute_with(self, a, b, out, scratch):
        if self.mask_slot is None:
            return super().compute_with(a, b, out, scratch)
        mask = scratch[self.mask_slot]
        first, second = (a, b) if self.take_b_when_a_less else (b, a)
        less, copyto = np.less, np.copyto

        def step() -> None:
            less(first, second, out=mask)
            copyto(out, a)
            copyto(out, b, where=mask)

        return step
