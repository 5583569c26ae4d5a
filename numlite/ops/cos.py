"""COS: elementwise cosine of float32 (and float16) tensors, versions 1-2, as LiteRT 2.3; see _unary.

1. float32: ``np.cos`` into the planned output.  LiteRT computes ``std::cos``; both are within
   a few ulp of the exact result, so results agree to rtol 1e-5 (absolute 1e-6 near the zeros).
   ±inf and nan give nan (IEEE; NumPy's warning is silenced).
2. float16: NumPy computes in float32 and rounds to half, as LiteRT does.
3. LiteRT 2.3 has no quantized or integer form (its prepare refuses int8 / int16), nor does numlite.
"""

import numpy as np

from ._unary import UnaryKernel
from .registry import register


@register("COS", versions=range(1, 3))
class Cos(UnaryKernel):
    dtypes = (np.float32, np.float16)
    ieee_specials = True
    ufunc = np.cos
