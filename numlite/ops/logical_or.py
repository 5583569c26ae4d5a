"""LOGICAL_OR: elementwise ``a or b`` on bool tensors with broadcasting.  The ``_binary``
family base does the checks and the output shape; the step is one ``np.logical_or`` into the planned
output (no activation clamp).  LiteRT 2.3 accepts bool only, version 1."""

import numpy as np

from ._binary import BinaryKernel
from .registry import register


@register("LOGICAL_OR", versions=(1,))
class LogicalOr(BinaryKernel):
    options_table = "LogicalOrOptions"
    dtypes = (np.bool_,)
    has_activation = False
    ufunc = np.logical_or

