"""EXP: elementwise ``e ** x`` (float32; overflow gives inf, as IEEE)."""

import numpy as np

from ._unary import UnaryKernel
from .registry import register


@register("EXP", versions=range(1, 3))
class Exp(UnaryKernel):
    options_table = "ExpOptions"
    ieee_specials = True
    ufunc = np.exp
