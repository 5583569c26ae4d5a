"""BITWISE_XOR: elementwise ``a ^ b`` with broadcasting, version 1, as LiteRT 2.3 (int8, uint8,
int16, uint16, int32, uint32).

1. Both inputs and the output of one type; shapes broadcast as NumPy; ``np.bitwise_xor`` into the
   planned output (bit patterns, so signed and unsigned types agree, as LiteRT's kernel that
   runs unsigned types through their signed twins).
2. Quantized tensors are combined as stored values: LiteRT never reads the parameters.
"""

import numpy as np

from ._math import RawBinaryKernel
from .registry import register
from .right_shift import BITWISE_TYPES


@register("BITWISE_XOR", versions=(1,))
class BitwiseXor(RawBinaryKernel):
    dtypes = BITWISE_TYPES
    ufunc = np.bitwise_xor
