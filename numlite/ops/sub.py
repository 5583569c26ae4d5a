"""SUB: elementwise difference with broadcasting and fused activation (float32, int32, int64).

Integer results wrap around (two's complement), as in LiteRT.
"""

import numpy as np

from ._binary import BinaryKernel
from .registry import register


@register("SUB", versions=range(1, 6))
class Sub(BinaryKernel):
    options_table = "SubOptions"
    dtypes = (np.float32, np.int32, np.int64)
    ufunc = np.subtract
