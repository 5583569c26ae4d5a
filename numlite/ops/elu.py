"""ELU: ``x < 0 ? expm1(x) : x`` (alpha 1, no options); float32 and quantized int8.

LiteRT's builtin kernel (``activations.cc``, the only one: ELU has no reference variant, so
``OpResolverType.BUILTIN_REF`` cannot run it, and the op has a single version):

1. float32: ``expm1`` where ``x < 0``, the input copied elsewhere, so ``-0.0`` stays ``-0.0``,
   ``nan`` stays ``nan``, ``-inf`` gives ``-1`` and ``+inf`` stays ``+inf``.  Three passes over
   the output view with a bool scratch: the mask, a copy, ``expm1`` only where the mask is set
   (nothing overflows, no warning).  NumPy's float32 ``expm1`` may differ from the C library's
   ``expm1f`` by an ulp.
2. int8: a 256-entry table built at prepare with TFLite's ``LUTPopulate<int8_t>``
   (``_qnonlinear.lut8_populate``): dequantize in float32, the float32 transform with the C
   library's ``expm1f`` for negative values, ``roundf(y * (1 / out_scale)) + out_zp`` truncated
   to int32 and clamped to int8.  Where that sum exceeds int32 (output scales near 1e-9) LiteRT's
   compiled table saturates (measured: 127, where other tables' C casts give INT32_MIN), and so
   does numlite's.  The step is a table lookup.  Any per-tensor scales and zero
   points are accepted, as LiteRT checks none.
3. uint8 and int16 are rejected at prepare, naming the op and node (LiteRT accepts such a model
   at ``allocate_tensors`` and fails at ``invoke``: "Only float32 and int8 is supported").
"""

from __future__ import annotations

import numpy as np

from . import _qnonlinear as qn
from ._unary import UnaryKernel
from .base import PrepareContext, Step, TensorSpec
from .registry import register

ZERO = np.float32(0)


@register("ELU", versions=range(1, 2))
class Elu(UnaryKernel):
    quantized = (np.int8,)

    def setup(self, ctx: PrepareContext, x: TensorSpec) -> None:
        self.mask = ctx.scratch(x.shape, np.bool_)

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        m = scratch[self.mask]

        def step() -> None:
            np.less(x, ZERO, out=m)
            np.copyto(out, x)
            np.expm1(x, out=out, where=m)

        return step

    def quant_table(self, ctx: PrepareContext, x: TensorSpec, out: TensorSpec, values: np.ndarray) -> np.ndarray:
        expm1f = qn.libm("expm1f")

        def elu(v: np.ndarray) -> np.ndarray:
            # expm1f of the negative part only: the positive values pass through unchanged
            return np.where(v < ZERO, expm1f(np.minimum(v, ZERO)), v).astype(np.float32)

        xq, oq = x.quantization, out.quantization
        return qn.lut8_populate(elu, xq.scale, xq.zero_point, oq.scale, oq.zero_point, x.dtype, saturate=True)
