"""NOT_EQUAL: elementwise ``a != b`` with broadcasting, bool output (see ``_compare`` for the types,
the quantized form and LiteRT's quirks).  Versions 1-4 (LiteRT 2.3's range)."""

import numpy as np

from ._compare import EQUALITY_DTYPES, CompareKernel
from .registry import register


@register("NOT_EQUAL", versions=range(1, 5))
class NotEqual(CompareKernel):
    options_table = "NotEqualOptions"
    dtypes = EQUALITY_DTYPES
    int16_rescaled = True
    ufunc = np.not_equal
