"""SUB: elementwise difference with broadcasting and fused activation.

1. float32, int32, int64: one ufunc call; integer results wrap around (two's complement).
2. Quantized int8 / uint8 / int16: as ADD (see ``add.py``) with the rescaled second input
   subtracted; unlike ADD, an output multiplier above 1 is allowed (very narrow output
   ranges), input and output zero points must lie in the type's range, and int16 with
   power-of-two scales (SubOptions.pot_scale_int16, the default) broadcasts.
"""

from __future__ import annotations

import numpy as np

from ._binary import BinaryKernel
from ._qbinary import QuantizedStep, require_zero_points_in_range
from .add import prepare_add_sub
from .base import PrepareContext, TensorSpec
from .registry import register


@register("SUB", versions=range(1, 6))
class Sub(BinaryKernel):
    options_table = "SubOptions"
    dtypes = (np.float32, np.int32, np.int64)
    qdtypes = (np.int8, np.uint8, np.int16)
    ufunc = np.subtract

    def takes_quantized(self, a: TensorSpec, out: TensorSpec) -> bool:
        # LiteRT has no unquantized int16 SUB: int16 always takes the quantized form
        return np.dtype(a.dtype) in (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int16))

    def prepare_quantized(self, ctx: PrepareContext, a: TensorSpec, b: TensorSpec, out: TensorSpec) -> QuantizedStep:
        if np.dtype(out.dtype) == np.dtype(a.dtype):
            require_zero_points_in_range(ctx, [a, b, out], out.dtype)
        return prepare_add_sub(self, ctx, a, b, out, -1)
