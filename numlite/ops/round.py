"""ROUND: elementwise round to the nearest integer, ties to even (banker's rounding, as
``tf.round``), float32 / float16, version 1, as LiteRT 2.3.

1. ``np.rint`` (IEEE round-half-even) into the planned output: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2,
   -2.5 -> -2.  Measured against LiteRT 2.3's (optimized) kernel, which is what its builtin
   resolver uses: it agrees on ties and also on the sign of zero (-0.3 and -0.5 give -0.0; the
   floor-based formula of TFLite's *reference* ``RoundToNearest`` would give +0.0, but LiteRT
   registers no reference ROUND kernel).  Values of magnitude 2**23 (float32) or 2**10 (float16)
   and above are already integers and are returned unchanged, as are ±inf and nan.
2. float16 is rounded directly in half precision (exact: every half value's nearest integers
   are representable where it has a fraction).
3. No integer or quantized form (LiteRT refuses them at prepare).
"""

import numpy as np

from ._unary import UnaryKernel
from .registry import register


@register("ROUND", versions=(1,))
class Round(UnaryKernel):
    dtypes = (np.float32, np.float16)
    ufunc = np.rint
