"""MEAN: arithmetic mean over the given axes; see ``_reduce``.

1. float32: sum in float32 into the output, then divide by the number of reduced elements.
2. int32 / int64: sum in int64 (a scratch buffer of the output's shape), then divide rounding
   toward zero as TFLite's integer division does: ``floor((s + (n - 1) * [s < 0]) / n)``,
   computed with a shift and a mask, no temporaries.
3. int8 / uint8 / int16 (quantized; int16 with zero points 0), TFLite's reference
   QuantizedMeanOrSum: the raw values summed (int32, wrapping), minus ``zp_in * n``, times the
   multiplier of ``in_scale / out_scale`` with the ``1 / n`` folded in (prepare: ``k =
   min(floor(log2 n), 32, 31 + shift)``, multiplier ``(q << k) // n``, shift ``shift - k``),
   requantized with the double-rounding MultiplyByQuantizedMultiplier (its int32 left shift
   wraps as in C), plus ``zp_out``, clamped to the type.  One path for every rank and axis set:
   LiteRT's reference resolver has no special 4-D form.
An empty input gives NaN (float) or 0 (integer), as TFLite.
"""

from typing import Any

import numpy as np

from ._reduce import ReduceKernel, fixed_point_sum_step
from .base import PrepareContext, Step
from .quant import quantize_multiplier
from .registry import register


def mean_multiplier(in_scale: float, out_scale: float, count: int) -> tuple[int, int]:
    """TFLite's reference MEAN rescaling: ``in_scale / out_scale / count`` as (multiplier, shift)."""
    q, shift = (int(v) for v in quantize_multiplier(float(in_scale) / float(out_scale)))
    if count <= 0:
        return q, shift
    k = min(count.bit_length() - 1, 32, 31 + shift)
    return (q << k) // count, shift - k


@register("MEAN", versions=range(1, 4))
class Mean(ReduceKernel):
    ufunc = np.add

    def setup(self, ctx: PrepareContext, out_shape: tuple[int, ...]) -> None:
        self.is_int = self.dtype.kind in "iu"
        if self.small_int:
            self.require_quantized(ctx)
            self.requantizes = True
            self.q, self.shift = mean_multiplier(self.in_q.scale, self.out_q.scale, self.count)
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
        if self.small_int:
            return self.compute_quantized(x, out, s, t)
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

    def compute_quantized(self, x: np.ndarray, out: np.ndarray, s: np.ndarray, t: np.ndarray) -> Step:
        return fixed_point_sum_step(x, out, self.axes, self.keep, s, t, self.in_q.zero_point * self.count,
                                    self.shift, self.q, self.out_q.zero_point)
