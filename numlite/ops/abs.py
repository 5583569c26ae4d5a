"""ABS: elementwise absolute value (float32, int32; ``abs(INT32_MIN)`` wraps to itself as in
LiteRT).  The non-quantized int16 form LiteRT also has is accepted the same way."""

import numpy as np

from ._unary import UnaryKernel
from .registry import register


@register("ABS", versions=range(1, 6))
class Abs(UnaryKernel):
    options_table = "AbsOptions"
    dtypes = (np.float32, np.int32, np.int16)
    ufunc = np.absolute
