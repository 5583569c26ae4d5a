"""NEG: elementwise negation (float32, int32, int64, int8, int16; integers wrap, so
``-(-128)`` is -128 in int8).

Quantized int8 / int16 tensors are negated as stored values: LiteRT's kernel never reads the
quantization parameters (measured on LiteRT 2.3: the output's scale and zero point, even when
they differ from the input's, change nothing; an input zero point is not subtracted), so
numlite does the same for any quantized tensor of these types."""

import numpy as np

from ._unary import UnaryKernel
from .registry import register


@register("NEG", versions=(1,))
class Neg(UnaryKernel):
    dtypes = (np.float32, np.int32, np.int64, np.int8, np.int16)
    ignores_quantization = True
    ufunc = np.negative
