"""MINIMUM: elementwise minimum with broadcasting, no activation (types as MAXIMUM)."""

import numpy as np

from ._binary import BinaryKernel
from .maximum import MINMAX_DTYPES
from .registry import register


@register("MINIMUM", versions=range(1, 5))
class Minimum(BinaryKernel):
    options_table = "MaximumMinimumOptions"
    dtypes = MINMAX_DTYPES
    has_activation = False
    raw_quantized = True
    ufunc = np.minimum
