"""REDUCE_ALL: logical AND over the given axes (bool only, version 1, as LiteRT 2.3); see ``_reduce``.

1. The input and output are bool; the axes follow the family's rules (int32, known at prepare,
   negative and duplicated axes allowed, ``keep_dims``).
2. The step is ``np.logical_and.reduce`` into the planned output.
3. An empty input gives True (the identity of AND), as TFLite's initial value.
"""

import numpy as np

from ._reduce import ReduceKernel
from .registry import register


@register("REDUCE_ALL", versions=(1,))
class ReduceAll(ReduceKernel):
    dtypes = (np.bool_,)
    ufunc = np.logical_and
