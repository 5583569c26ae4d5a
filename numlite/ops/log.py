"""LOG: natural logarithm (float32; 0 gives -inf and negatives nan, as IEEE)."""

import numpy as np

from ._unary import UnaryKernel
from .registry import register


@register("LOG", versions=range(1, 3))
class Log(UnaryKernel):
    ieee_specials = True
    ufunc = np.log
