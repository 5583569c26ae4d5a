"""SQUARE: ``x * x`` (float32; overflow gives inf, as IEEE)."""

import numpy as np

from ._unary import UnaryKernel
from .registry import register


@register("SQUARE", versions=(1,))
class Square(UnaryKernel):
    options_table = "SquareOptions"
    ieee_specials = True
    ufunc = np.square
