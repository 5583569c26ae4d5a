"""REDUCE_PROD: product over the given axes (integers wrap as in TFLite); see ``_reduce``."""

import numpy as np

from ._reduce import ReduceKernel
from .registry import register


@register("REDUCE_PROD", versions=range(1, 3))
class ReduceProd(ReduceKernel):
    ufunc = np.multiply
