"""EQUAL: elementwise ``a == b`` with broadcasting, bool output (see ``_compare`` for the types,
the quantized form and LiteRT's quirks).  Versions 1-5 (LiteRT 2.3's range)."""

import numpy as np

from ._compare import EQUALITY_DTYPES, CompareKernel
from .registry import register


@register("EQUAL", versions=range(1, 6))
class Equal(CompareKernel):
    options_table = "EqualOptions"
    dtypes = EQUALITY_DTYPES
    int16_rescaled = True
    ufunc = np.equal
