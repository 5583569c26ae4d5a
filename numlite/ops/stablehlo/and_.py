"""STABLEHLO_AND: elementwise bitwise AND of two same-shaped integer tensors, or logical AND of
bools, version 1 (see _elementwise).

1. Types, as LiteRT 2.3: int8/16/32/64, uint8/16/32/64 and bool; float inputs are refused (LiteRT
   refuses them at invoke, numlite at prepare).
"""

import numpy as np

from ..registry import register
from ._elementwise import StablehloBinary


@register("STABLEHLO_AND", versions=(1,))
class StablehloAnd(StablehloBinary):
    dtypes = (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64, np.bool_)
    ufunc = np.bitwise_and
