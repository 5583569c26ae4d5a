"""MINIMUM: elementwise minimum with broadcasting, no activation (types as MAXIMUM)."""

import numpy as np

from ._unary import ArithmeticBinary
from .maximum import MINMAX_DTYPES
from .registry import register


@register("MINIMUM", versions=range(1, 5))
class Minimum(ArithmeticBinary):
    options_table = "MaximumMinimumOptions"
    dtypes = MINMAX_DTYPES
    has_activation = False
    raw_quantized = True
    ufunc = np.minimum
