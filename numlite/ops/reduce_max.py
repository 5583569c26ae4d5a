"""REDUCE_MAX: maximum over the given axes; see ``_reduce``.

TFLite keeps the running maximum with ``in > acc ? in : acc``, so NaN inputs are skipped unless
every value is NaN: that is ``np.fmax``.  Integers use ``np.maximum``.  An empty input gives
-inf (float) or the lowest integer.  int8 / uint8 / int16 (quantized or not) compare the stored
values: TFLite requires the input and output to share scale and zero point (checked at
prepare) and does not requantize.
"""

from typing import Any

import numpy as np

from ._reduce import ReduceKernel
from .base import PrepareContext
from .registry import register


@register("REDUCE_MAX", versions=range(1, 4))
class ReduceMax(ReduceKernel):
    ufunc = np.maximum

    def setup(self, ctx: PrepareContext, out_shape: tuple[int, ...]) -> None:
        self.ufunc = np.fmax if self.dtype.kind == "f" else np.maximum
        if self.small_int:
            self.same_params(ctx)

    def empty_value(self) -> Any:
        return -np.inf if self.dtype.kind == "f" else np.iinfo(self.dtype).min
