"""STABLEHLO_MULTIPLY: elementwise ``a * b`` of two same-shaped tensors, version 1 (see _elementwise).

1. Types, as LiteRT 2.3: float16/32/64, int8/16/32/64, uint8/16/32/64 and bool (``a and b``).
2. Integers wrap; floats are IEEE (float16 rounded from the float32 product, as ``Eigen::half``).
"""

import numpy as np

from ..registry import register
from ._common import NUMERIC_BOOL
from ._elementwise import StablehloBinary


@register("STABLEHLO_MULTIPLY", versions=(1,))
class StablehloMultiply(StablehloBinary):
    dtypes = NUMERIC_BOOL
    ufunc = np.multiply
