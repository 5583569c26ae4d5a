"""ABS: elementwise absolute value.

1. float32, int32 (``abs(INT32_MIN)`` wraps to itself, as in LiteRT) and non-quantized int16
   (``abs(-32768)`` wraps to -32768, LiteRT's ``static_cast<int16_t>(abs<int32_t>(x))``).
2. Quantized int8 and int16 (LiteRT's elementwise kernel; int16 needs zero points of 0; an int8
   tensor without quantization parameters is refused, as LiteRT refuses it):
   ``v = |x - in_zp|``; when the float32 scales are equal, ``v + out_zp``; otherwise
   ``MultiplyByQuantizedMultiplier(v, in_scale / out_scale) + out_zp`` (the ratio taken in
   float32, as TFLite divides the two float scales; a left shift wraps in int32, as in LiteRT:
   ``quant.multiply_by_quantized_multiplier``); clamped to the type.  The result depends
   on the input value alone, so prepare tabulates it for every value (256 or 65536 entries)
   and invoke is a table lookup (``_unary`` base).
"""

import numpy as np

from ._unary import UnaryKernel
from .base import PrepareContext, TensorSpec
from .quant import multiply_by_quantized_multiplier, quantize_multiplier
from .registry import register


@register("ABS", versions=range(1, 6))
class Abs(UnaryKernel):
    options_table = "AbsOptions"
    dtypes = (np.float32, np.int32, np.int16)
    quantized = (np.int8, np.int16)
    ufunc = np.absolute

    def quant_table(self, ctx: PrepareContext, x: TensorSpec, out: TensorSpec, values: np.ndarray) -> np.ndarray:
        self.check_symmetric_int16(ctx, x, out)
        f32 = np.float32
        in_s, out_s = f32(x.quantization.scale), f32(out.quantization.scale)
        in_zp, out_zp = x.quantization.zero_point, out.quantization.zero_point
        v = np.abs(values - in_zp)
        if in_s == out_s:
            return v + out_zp
        with np.errstate(all="ignore"):
            q, shift = quantize_multiplier(float(in_s / out_s))
        return multiply_by_quantized_multiplier(v, int(q), int(shift)).astype(np.int64) + out_zp
