"""REDUCE_MIN: minimum over the given axes (versions 1-3); see ``_reduce``.

1. Types: float32, float16, int32, int64, and int8 / uint8 / int16 quantized or not (LiteRT 2.3
   takes all of these; it refuses bool).
2. Floats: ``np.fmin`` (NaN inputs are skipped unless every value is NaN, REDUCE_MAX's rule);
   integers: ``np.minimum``.  Without NaN every LiteRT kernel gives exactly this.  With NaN,
   LiteRT's own kernels disagree (measured on 2.3): the reference kernel skips NaN but starts
   from FLT_MAX (all-NaN gives 3.4e38); the default path lets a NaN replace the running minimum
   and the next value replace the NaN (``acc < in ? acc : in``) along one axis, and orders
   several axes its own way (XNNPACK and the optimized builtin kernel differ there).  numlite
   does not chase those orders.
3. An empty input gives +inf (float) or the highest integer, the reduction's initial value.
4. int8 / uint8 / int16 compare the stored values: as for REDUCE_MAX, TFLite requires the input
   and output to share scale and zero point (checked at prepare; LiteRT checks at invoke) and
   does not requantize, so the result is bit-exact by construction.
"""

from typing import Any

import numpy as np

from ._reduce import ALL_DTYPES, ReduceKernel
from .base import PrepareContext
from .registry import register


@register("REDUCE_MIN", versions=range(1, 4))
class ReduceMin(ReduceKernel):
    dtypes = (*ALL_DTYPES, np.float16)
    ufunc = np.minimum

    def setup(self, ctx: PrepareContext, out_shape: tuple[int, ...]) -> None:
        self.ufunc = np.fmin if self.dtype.kind == "f" else np.minimum
        if self.small_int:
            self.same_params(ctx)

    def empty_value(self) -> Any:
        return np.inf if self.dtype.kind == "f" else np.iinfo(self.dtype).max
