"""RELU6: ``min(max(x, 0), 6)``; float32, quantized uint8 / int8 / int16 (see ``relu``)."""

from .registry import register
from .relu import ClampKernel


@register("RELU6", versions=range(1, 4))
class Relu6(ClampKernel):
    hi = 6.0
