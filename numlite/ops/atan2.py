"""ATAN2: elementwise ``atan2(y, x)`` (the angle of the point (x, y), in (-pi, pi]), version 1,
as LiteRT 2.3 (float32, float64, float16).

1. Inputs ``y`` then ``x``, both of one type, and the output of that type too.  ``np.arctan2``
   into the planned output.  LiteRT computes ``std::atan2`` in the same precision (float16
   through float32, then rounded to half, as NumPy does): both are within an ulp or two of the
   exact angle, so tests allow rtol 1e-6 (float32) / one half ulp (float16).  Signed zeros and
   infinities follow C's ``atan2`` (atan2(0, -1) = pi, atan2(-0.0, -1) = -pi, nan propagates).
2. No broadcasting: the two inputs must have the same shape.  LiteRT only checks that their ranks
   agree and then reads ``x`` past its end when the shapes differ (a (2, 3) by (1, 3) model
   returns garbage); numlite reports the mismatch at prepare instead.
3. No integer or quantized form: LiteRT refuses every other type at prepare, and so does numlite.
"""

from __future__ import annotations

import numpy as np

from ._binary import BinaryKernel
from .base import PrepareContext, TensorSpec
from .registry import register


@register("ATAN2", versions=(1,))
class Atan2(BinaryKernel):
    dtypes = (np.float32, np.float64, np.float16)
    has_activation = False
    ieee_specials = True
    ufunc = np.arctan2

    def setup(self, ctx: PrepareContext, a: TensorSpec, b: TensorSpec) -> None:
        if a.shape != b.shape:
            ctx.fail(f"y {a.describe()} and x {b.describe()} must have the same shape (ATAN2 does not broadcast)")
