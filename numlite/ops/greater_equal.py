"""GREATER_EQUAL: elementwise ``a >= b`` with broadcasting, bool output (see ``_compare`` for the types,
the quantized form and LiteRT's quirks).  Versions 1-3 (LiteRT 2.3's range)."""

import numpy as np

from ._compare import ORDER_DTYPES, CompareKernel
from .registry import register


@register("GREATER_EQUAL", versions=range(1, 4))
class GreaterEqual(CompareKernel):
    options_table = "GreaterEqualOptions"
    dtypes = ORDER_DTYPES
    ufunc = np.greater_equal
