"""SQRT: elementwise square root (float32; negatives give nan, as IEEE)."""

import numpy as np

from ._unary import UnaryKernel
from .registry import register


@register("SQRT", versions=range(1, 3))
class Sqrt(UnaryKernel):
    ieee_specials = True
    ufunc = np.sqrt
