"""TANH: elementwise hyperbolic tangent (float32)."""

import numpy as np

from ._unary import UnaryKernel
from .registry import register


@register("TANH", versions=range(1, 4))
class Tanh(UnaryKernel):
    ufunc = np.tanh
