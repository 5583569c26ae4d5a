"""RELU_N1_TO_1: ``min(max(x, -1), 1)``; float32, quantized uint8 / int8 (see ``relu``)."""

from ._unary import Q8
from .registry import register
from .relu import ClampKernel


@register("RELU_N1_TO_1", versions=(1,))
class ReluN1To1(ClampKernel):
    lo = -1.0
    hi = 1.0
    quantized = Q8
