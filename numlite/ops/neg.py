"""NEG: elementwise negation (float32, int32, int64, and raw int8 / int16; integers wrap)."""

import numpy as np

from ._unary import UnaryKernel
from .registry import register


@register("NEG", versions=(1,))
class Neg(UnaryKernel):
    dtypes = (np.float32, np.int32, np.int64, np.int8, np.int16)
    ufunc = np.negative
