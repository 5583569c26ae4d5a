"""SUM: sum over the given axes (integers wrap as in TFLite); see ``_reduce``."""

import numpy as np

from ._reduce import ReduceKernel
from .registry import register


@register("SUM", versions=range(1, 3))
class Sum(ReduceKernel):
    ufunc = np.add
