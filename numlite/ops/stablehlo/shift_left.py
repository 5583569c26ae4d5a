"""STABLEHLO_SHIFT_LEFT: elementwise ``a << b`` of two same-shaped int8 / int16 / int32 tensors,
version 1 (the types LiteRT 2.3 runs; it refuses the others at invoke, numlite at prepare).

1. Bits shifted past the top are lost (the result wraps to the type), as in C++.
2. Shift counts outside ``[0, bit width)`` give 0: StableHLO's rule and NumPy's ``left_shift``.
   In LiteRT the C++ shift is undefined there (int8 / int16 counts up to 31 give 0 as well, since
   the value is shifted as an int and truncated; other counts give results that differ between its
   vectorised and scalar loops), so only in-range counts are compared with it.
"""

import numpy as np

from ..registry import register
from ._elementwise import StablehloBinary


@register("STABLEHLO_SHIFT_LEFT", versions=(1,))
class StablehloShiftLeft(StablehloBinary):
    options_table = "StablehloShiftLeftOptions"
    dtypes = (np.int8, np.int16, np.int32)
    ufunc = np.left_shift
