"""FLOOR: elementwise round toward -inf of float32 / float16 tensors, version 1, as LiteRT 2.3.

1. float32 and float16 (LiteRT's prepare accepts both; it also lists bfloat16, a type numlite
   does not load).  ``np.floor`` into the planned output: exact, like ``std::floor``; -0.0, ±inf
   and nan are returned unchanged.
2. No integer or quantized form: LiteRT's prepare refuses every other type, and so does numlite.
   The output tensor must have the input's type and shape.
"""

import numpy as np

from ._unary import UnaryKernel
from .registry import register


@register("FLOOR", versions=(1,))
class Floor(UnaryKernel):
    dtypes = (np.float32, np.float16)
    ufunc = np.floor
