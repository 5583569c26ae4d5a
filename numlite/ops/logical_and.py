"""LOGICAL_AND: elementwise ``a and b`` on bool tensors with broadcasting.  The ``_binary``
family base does the checks and the output shape; the step is one ``np.logical_and`` into the planned
output (no activation clamp).  LiteRT 2.3 accepts bool only, version 1."""

import numpy as np

from ._binary import BinaryKernel
from .registry import register


@register("LOGICAL_AND", versions=(1,))
class LogicalAnd(BinaryKernel):
    options_table = "LogicalAndOptions"
    dtypes = (np.bool_,)
    has_activation = False
    ufunc = np.logical_and

