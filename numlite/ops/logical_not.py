"""LOGICAL_NOT: elementwise ``not x`` on a bool tensor (the ``_unary`` family base: one
``np.logical_not`` into the planned output).  LiteRT 2.3 accepts bool only, version 1."""

import numpy as np

from ._unary import UnaryKernel
from .registry import register


@register("LOGICAL_NOT", versions=(1,))
class LogicalNot(UnaryKernel):
    options_table = "LogicalNotOptions"
    dtypes = (np.bool_,)
    ufunc = np.logical_not
