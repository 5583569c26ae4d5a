"""ADD: elementwise sum with broadcasting and fused activation (float32, int32, int64).

Integer results wrap around (two's complement), as in LiteRT.
"""

import numpy as np

from ._binary import BinaryKernel
from .registry import register


@register("ADD", versions=range(1, 7))
class Add(BinaryKernel):
    options_table = "AddOptions"
    dtypes = (np.float32, np.int32, np.int64)
    ufunc = np.add
