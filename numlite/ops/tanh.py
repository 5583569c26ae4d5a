"""TANH: elementwise hyperbolic tangent; float32, and quantized uint8 / int8 / int16.

Quantized (LiteRT's reference kernel; a lookup table built at prepare, see ``_unary``):

1. uint8 / int8: any output scale and zero point; the table is TFLite's ``LUTPopulate`` of
   ``tanhf`` (the C library's) in float32.
2. int16: zero points 0, output scale 2^-15; input scales 2^-12 and 2^-11 use the multiplier
   ``3 << shift``, others the rescale of ``logistic.int16_input_rescale``; then TFLite's sigmoid
   table, interpolated (tanh(x) = 2 sigmoid(2x) - 1).
"""

from __future__ import annotations

import numpy as np

from . import _qnonlinear as qn
from ._unary import Q8_16, UnaryKernel
from .base import PrepareContext, TensorSpec
from .logistic import SIGMOID_TABLE_UINT16, int16_input_rescale, int16_rescaled
from .registry import register


@register("TANH", versions=range(1, 4))
class Tanh(UnaryKernel):
    ufunc = np.tanh
    in_place_safe = True  # one ufunc
    quantized = Q8_16

    def quant_table(self, ctx: PrepareContext, x: TensorSpec, out: TensorSpec, values: np.ndarray) -> np.ndarray:
        if np.dtype(x.dtype) != np.int16:
            return qn.lut8_populate(qn.libm("tanhf"), x.quantization.scale, x.quantization.zero_point,
                                    out.quantization.scale, out.quantization.zero_point, x.dtype)
        mult, shift = int16_input_rescale(ctx, x, out, (0, 1))
        v = int16_rescaled(values, mult, shift)
        a = np.abs(v)
        uh = a >> 8
        ua = SIGMOID_TABLE_UINT16[np.minimum(uh, 254)]
        ub = SIGMOID_TABLE_UINT16[np.minimum(uh, 254) + 1]
        res = np.where(uh >= 255, 0xFFFF << 8, (ua << 8) + (a & 0xFF) * (ub - ua))
        res = np.where(v >= 0, res - (1 << 23) + (1 << 7), -res + (1 << 23) + (1 << 7) - 1)
        return qn.wrap16(res >> 8)
