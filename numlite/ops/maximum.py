"""MAXIMUM: elementwise maximum with broadcasting, no activation.

Types: float32, int8, uint8, int16, int32, int64.  TFLite compares the stored values and
copies the quantization parameters through, so quantized tensors run unchanged here too.
NaN propagates (NumPy's rule).
"""

import numpy as np

from ._binary import BinaryKernel
from .registry import register

MINMAX_DTYPES = (np.float32, np.int8, np.uint8, np.int16, np.int32, np.int64)


@register("MAXIMUM", versions=range(1, 5))
class Maximum(BinaryKernel):
    options_table = "MaximumMinimumOptions"
    dtypes = MINMAX_DTYPES
    has_activation = False
    raw_quantized = True
    ufunc = np.maximum
