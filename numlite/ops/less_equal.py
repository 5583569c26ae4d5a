"""LESS_EQUAL: elementwise ``a <= b`` with broadcasting, bool output (see ``_compare`` for the types,
the quantized form and LiteRT's quirks).  Versions 1-2 (LiteRT 2.3's range)."""

import numpy as np

from ._compare import ORDER_DTYPES, CompareKernel
from .registry import register


@register("LESS_EQUAL", versions=range(1, 3))
class LessEqual(CompareKernel):
    options_table = "LessEqualOptions"
    dtypes = ORDER_DTYPES
    ufunc = np.less_equal
