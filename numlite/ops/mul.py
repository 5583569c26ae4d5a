"""MUL: elementwise product with broadcasting and fused activation.

Types: float32, int32, int64, and the non-quantized int16 / uint32 forms LiteRT also runs.
Integer products wrap around (two's complement); the fused activation then clamps.
"""

import numpy as np

from ._binary import BinaryKernel
from .registry import register


@register("MUL", versions=range(1, 9))
class Mul(BinaryKernel):
    options_table = "MulOptions"
    dtypes = (np.float32, np.int32, np.int64, np.int16, np.uint32)
    ufunc = np.multiply
