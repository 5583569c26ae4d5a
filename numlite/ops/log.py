"""LOG: natural logarithm; float32 (0 gives -inf and negatives nan, as IEEE), quantized int8 / int16.

Quantized (LiteRT's reference kernel, ``elementwise.cc``; a lookup table built at prepare, see
``_unary``):

1. The transform is the C library's ``logf`` for positive inputs; an input at or below zero
   gives ``output_min = (type_min - out_zp) * out_scale`` (int arithmetic, then float32), the
   real value of the lowest output code - so log(0) and logs of negatives saturate low.
2. int8: TFLite's ``LUTPopulate<int8_t>`` of that transform (dequantize in float32, transform,
   ``roundf(y / out_scale) + out_zp``, clamped).
3. int16: zero points must be 0 (LiteRT checks at prepare); TFLite's 513-entry interpolating
   ``LUTPopulate<int16_t>`` in float32, looked up for all 65536 inputs.  Around the input's zero
   the table jumps from ``output_min`` to ``log`` of small values, and interpolation between
   those entries is what LiteRT computes too.
4. uint8 has no LOG in LiteRT (its prepare rejects the type); int16 without quantization
   parameters neither (LiteRT would look up a table it never built).
"""

from __future__ import annotations

import numpy as np

from . import _qnonlinear as qn
from ._unary import UnaryKernel
from .base import PrepareContext, TensorSpec
from .registry import register


@register("LOG", versions=range(1, 3))
class Log(UnaryKernel):
    ieee_specials = True
    ufunc = np.log
    quantized = (np.int8, np.int16)

    def quant_table(self, ctx: PrepareContext, x: TensorSpec, out: TensorSpec, values: np.ndarray) -> np.ndarray:
        xq, oq = x.quantization, out.quantization
        info = np.iinfo(x.dtype)
        f32 = np.float32
        floor = f32(int(info.min) - int(oq.zero_point)) * f32(oq.scale)
        logf = qn.libm("logf")

        def log(v: np.ndarray) -> np.ndarray:
            v = np.asarray(v, f32)
            pos = v > 0
            y = np.full(v.shape, floor, f32)
            y[pos] = logf(v[pos])
            return y

        if np.dtype(x.dtype) == np.int8:
            return qn.lut8_populate(log, xq.scale, xq.zero_point, oq.scale, oq.zero_point, x.dtype)
        if xq.zero_point != 0 or oq.zero_point != 0:
            ctx.fail(f"int16 input {x.describe()} and output need zero points of 0, got {xq.zero_point} and "
                     f"{oq.zero_point}")
        lut = qn.lut16_populate(log, xq.scale, xq.zero_point, oq.scale, oq.zero_point, np.float32)
        return qn.lut16_lookup(values, lut)
