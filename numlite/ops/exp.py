"""EXP: elementwise ``e ** x``; float32 (overflow gives inf, as IEEE), quantized int8 / int16.

Quantized (LiteRT's reference kernel, ``exp.cc``; a lookup table built at prepare, see
``_unary``):

1. int8: TFLite's ``LUTPopulate<int8_t>`` of the C library's ``expf``: dequantize in float32,
   ``expf``, ``roundf(y * (1 / out_scale)) + out_zp`` converted to int32 and clamped.  A
   rescaled value beyond int32 (``expf`` overflowing to inf, or a tiny output scale) saturates
   to 127: the compiled table clamps in float before converting (measured; a plain x86
   conversion would give INT32_MIN, i.e. -128).
2. int16: zero points must be 0 (LiteRT 2.3's prepare checks both; later LiteRT sources drop
   the check).  TFLite's 513-entry interpolating ``LUTPopulate<int16_t>`` of ``expf`` (float32),
   looked up for all 65536 inputs.  Where ``expf`` overflows, table entries become nan in float
   (inf - inf) and 0 after C's cast, and the interpolation's int16 slope wraps: the output then
   jumps around instead of saturating - numlite computes the same values (``_qnonlinear``).
3. uint8 has no quantized EXP in LiteRT (its kernel fails at invoke); numlite rejects it at
   prepare.
"""

from __future__ import annotations

import numpy as np

from . import _qnonlinear as qn
from ._unary import UnaryKernel
from .base import PrepareContext, TensorSpec
from .registry import register


@register("EXP", versions=range(1, 3))
class Exp(UnaryKernel):
    options_table = "ExpOptions"
    ieee_specials = True
    ufunc = np.exp
    quantized = (np.int8, np.int16)

    def quant_table(self, ctx: PrepareContext, x: TensorSpec, out: TensorSpec, values: np.ndarray) -> np.ndarray:
        xq, oq = x.quantization, out.quantization
        expf = qn.libm("expf")

        def exp(v: np.ndarray) -> np.ndarray:
            return expf(v)

        if np.dtype(x.dtype) == np.int8:
            return qn.lut8_populate(exp, xq.scale, xq.zero_point, oq.scale, oq.zero_point, x.dtype, saturate=True)
        if xq.zero_point != 0 or oq.zero_point != 0:
            ctx.fail(f"int16 input {x.describe()} and output need zero points of 0, got {xq.zero_point} and "
                     f"{oq.zero_point}")
        lut = qn.lut16_populate(exp, xq.scale, xq.zero_point, oq.scale, oq.zero_point, np.float32)
        return qn.lut16_lookup(values, lut)
