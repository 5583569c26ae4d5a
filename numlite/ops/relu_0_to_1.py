"""RELU_0_TO_1: ``min(max(x, 0), 1)``; version 1, float32 and quantized uint8 / int8.

1. float32: one ``np.clip`` into the planned output (nan stays nan, as in LiteRT).
2. uint8 / int8: TFLite's ``QuantizedReluX`` with the range [0, 1] (see ``relu.ClampKernel``):
   ``out_zp + MultiplyByQuantizedMultiplier(x - in_zp, in_scale / out_scale)`` clamped to
   ``[out_zp + round(0 / out_scale), out_zp + round(1 / out_scale)]`` within the type, as a
   256-entry lookup table.  Bit-exact with LiteRT.
3. int16: LiteRT 2.3's prepare accepts it but its kernel fails at invoke; numlite rejects it at
   prepare.
"""

from ._unary import Q8
from .registry import register
from .relu import ClampKernel


@register("RELU_0_TO_1", versions=(1,))
class Relu0To1(ClampKernel):
    lo = 0.0
    hi = 1.0
    quantized = Q8
