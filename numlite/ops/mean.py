"""MEAN: arithmetic mean over the given axes; see ``_reduce``.

1. float32: sum in float32 into the output, then divide by the number of reduced elements.
2. int32 / int64: sum in int64 (a scratch buffer of the output's shape), then divide rounding
   toward zero as TFLite's integer division does: ``floor((s + (n - 1) * [s < 0]) / n)``,
   computed with a shift and a mask, no temporaries.
An empty input gives NaN (float) or 0 (integer), as TFLite.
"""

from typing import Any

import numpy as np

from ._reduce import ReduceKernel
from .base import PrepareContext, Step
from .registry import register


@register("MEAN", versions=range(1, 4))
class Mean(ReduceKernel):
    ufunc = np.add

    def setup(self, ctx: PrepareContext, out_shape: tuple[int, ...]) -> None:
        self.is_int = self.dtype.kind == "i"
        if self.is_int and not (self.in_empty or self.out_empty):
            self.sum_slot = ctx.scratch(out_shape, np.int64)
            self.tmp_slot = ctx.scratch(out_shape, np.int64)

    def empty_value(self) -> Any:
        return 0 if self.is_int else np.nan

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        axes, keep = self.axes, self.keep
        add = np.add.reduce
        if not self.is_int:
            n = np.float32(self.count)

            def mean_float() -> None:
                add(x, axis=axes, keepdims=keep, dtype=np.float32, out=out)
                np.divide(out, n, out=out)

            return mean_float
        s, t = scratch[self.sum_slot], scratch[self.tmp_slot]
        n = np.int64(self.count)
        n1 = np.int64(self.count - 1)

        def mean_int() -> None:
            add(x, axis=axes, keepdims=keep, dtype=np.int64, out=s)
            np.right_shift(s, 63, out=t)  # -1 where negative, else 0
            np.bitwise_and(t, n1, out=t)  # n - 1 where negative
            np.add(t, s, out=t)
            np.floor_divide(t, n, out=t)
            np.copyto(out, t, casting="unsafe")

        return mean_int
