"""GREATER: elementwise ``a > b`` with broadcasting, bool output (see ``_compare`` for the types,
the quantized form and LiteRT's quirks).  Versions 1-2 (LiteRT 2.3's range)."""

import numpy as np

from ._compare import ORDER_DTYPES, CompareKernel
from .registry import register


@register("GREATER", versions=range(1, 3))
class Greater(CompareKernel):
    options_table = "GreaterOptions"
    dtypes = ORDER_DTYPES
    ufunc = np.greater
