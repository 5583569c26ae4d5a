"""SUM: sum over the given axes (integers wrap as in TFLite); see ``_reduce``.

Quantized forms (int8 / uint8 / int16, always requantized; int16 zero points 0):

1. uint8: TFLite's reference QuantizedMeanOrSum: the raw sum (int32, wrapping) minus
   ``zp_in * n``, the double-rounding MultiplyByQuantizedMultiplier by ``in_scale / out_scale``
   (its int32 left shift wraps as in C), plus ``zp_out``, clamped.
2. int8 / int16: LiteRT's reference resolver runs the uint8 routine on these too, reading the
   buffer as uint8 bytes (a LiteRT bug: its results are meaningless), so numlite follows LiteRT's
   default kernel (optimized QuantizedMeanOrSum), which is what LiteRT users get: in float32,
   ``round(sum * s + b) + zp_out`` with ``s = in_scale / out_scale``, ``b = -zp_in * s * n``,
   rounded half away from zero, clamped.
"""

import numpy as np

from ._reduce import ReduceKernel, fixed_point_sum_step, wrap_int32
from .base import PrepareContext, Step
from .quant import quantize_multiplier, round_half_away_
from .registry import register


@register("SUM", versions=range(1, 3))
class Sum(ReduceKernel):
    ufunc = np.add

    def setup(self, ctx: PrepareContext, out_shape: tuple[int, ...]) -> None:
        if not self.small_int:
            return
        self.require_quantized(ctx)
        self.requantizes = True
        if self.in_empty or self.out_empty:
            return
        self.sum_slot = ctx.scratch(out_shape, np.int64)
        if self.dtype == np.uint8:
            q, shift = quantize_multiplier(float(self.in_q.scale) / float(self.out_q.scale))
            self.q, self.shift = int(q), int(shift)
            self.tmp_slot = ctx.scratch(out_shape, np.int64)
        else:
            s = np.float32(self.in_q.scale) / np.float32(self.out_q.scale)
            self.scale = s
            self.bias = np.float32(np.float32(-self.in_q.zero_point) * s) * np.float32(self.count)
            self.f_slots = (ctx.scratch(out_shape, np.float32), ctx.scratch(out_shape, np.float32))

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        if not self.small_int:
            return super().compute(x, out, scratch)
        axes, keep = self.axes, self.keep
        add = np.add.reduce
        s = scratch[self.sum_slot]
        zp = self.out_q.zero_point
        info = np.iinfo(self.dtype)
        lo, hi = int(info.min), int(info.max)
        if self.dtype == np.uint8:
            t = scratch[self.tmp_slot]
            return fixed_point_sum_step(x, out, axes, keep, s, t, self.in_q.zero_point * self.count, self.shift,
                                        self.q, zp)
        f, g = (scratch[i] for i in self.f_slots)
        scale, bias = self.scale, self.bias

        def sum_float() -> None:
            add(x, axis=axes, keepdims=keep, dtype=np.int64, out=s)
            wrap_int32(s)
            np.copyto(f, s, casting="unsafe")
            np.multiply(f, scale, out=f)
            np.add(f, bias, out=f)
            round_half_away_(f, g)  # std::round
            np.clip(f, -2.0**31, 2.0**31 - 128, out=f)
            np.copyto(s, f, casting="unsafe")
            np.add(s, zp, out=s)
            np.clip(s, lo, hi, out=s)
            np.copyto(out, s, casting="unsafe")

        return sum_float
