"""SIGN: elementwise sign (-1, 0 or 1) of float32 / float64 / int32 tensors, versions 1-2, as
LiteRT 2.3.

1. Types: float32, float64 and int32 (version 2 added int32; LiteRT's kernel runs every listed
   type under both versions, and so does numlite).  LiteRT accepts any type at prepare and fails
   at invoke on others (float16, int8, int64, ...); numlite refuses them at prepare, naming the
   tensor.  The output tensor must have the input's type.
2. ``np.sign`` into the planned output.  Equal to LiteRT's element function: x > 0 gives 1,
   x < 0 gives -1, ±0.0 give +0.0, nan gives nan, ±inf give ±1.
3. No quantized form of its own: LiteRT's kernel never reads quantization parameters, so a
   quantized int32 tensor is computed on its stored values (as measured), and so does numlite
   (``ignores_quantization``).  8/16-bit types are refused, quantized or not, as in LiteRT.
"""

import numpy as np

from ._unary import UnaryKernel
from .registry import register


@register("SIGN", versions=(1, 2))
class Sign(UnaryKernel):
    dtypes = (np.float32, np.float64, np.int32)
    ignores_quantization = True
    ufunc = np.sign
