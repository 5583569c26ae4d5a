"""STABLEHLO_MAXIMUM: elementwise maximum of two same-shaped tensors, version 1 (see _elementwise).

1. Types, as LiteRT 2.3: float16/32/64, int8/16/32/64, uint8/16/32/64 and bool.
2. LiteRT computes ``std::max(a, b)``: ``b`` where ``a < b``, else ``a``.  So a NaN in either input
   gives ``a`` (NaN only when ``a`` is), unlike ``np.maximum``; numlite does the same.
"""

import numpy as np

from ..registry import register
from ._elementwise import StablehloMinMax


@register("STABLEHLO_MAXIMUM", versions=(1,))
class StablehloMaximum(StablehloMinMax):
    ufunc = np.maximum
    take_b_when_a_less = True
