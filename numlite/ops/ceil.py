"""CEIL: elementwise round toward +inf of float32 / float16 tensors, version 1, as LiteRT 2.3.

1. float32 and float16: the LiteRT 2.3 wheel accepts float16 too (measured, although TFLite's
   ``ceil.cc`` source names only float32).  ``np.ceil`` into the planned output: exact, like
   ``std::ceil``; values in (-1, 0) give -0.0, ±inf and nan are unchanged.
2. No integer or quantized form (LiteRT refuses them at prepare); the output tensor must have the
   input's type.
"""

import numpy as np

from ._unary import UnaryKernel
from .registry import register


@register("CEIL", versions=(1,))
class Ceil(UnaryKernel):
    dtypes = (np.float32, np.float16)
    ufunc = np.ceil
