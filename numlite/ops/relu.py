"""RELU: ``max(x, 0)``; float32, and quantized uint8 / int8 / int16.

Float: the ``clip`` ufunc with an infinite upper bound is NumPy's fastest single-pass form (about
three times faster than ``np.maximum`` with a scalar on this machine), called directly
(``base.CLIP``: ``np.clip``'s Python wrapper costs more than the clamp on small tensors).

Quantized (TFLite's ``QuantizedReluX``, shared by RELU6 and RELU_N1_TO_1):

1. The rescale ``in_scale / out_scale`` is computed in float32 (as TFLite divides the two float
   scales), encoded with ``quantize_multiplier``.
2. Clamp bounds: ``out_zp + roundf(act / out_scale)`` for each finite bound, limited to the
   type's range (an infinite upper bound is the type's maximum).
3. ``out_zp + multiply_by_quantized_multiplier(x - in_zp)`` clamped, for every input value, into a
   lookup table at prepare (see ``_unary``).  int16 requires zero points of 0, as LiteRT does.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from . import _qnonlinear as qn
from ._unary import Q8_16, UnaryKernel
from .base import CLIP, PrepareContext, Step, TensorSpec
from .quant import multiply_by_quantized_multiplier, quantize_multiplier
from .registry import register


class ClampKernel(UnaryKernel):
    """Clamp to the closed range [lo, hi] (float32), and TFLite's quantized ReluX."""

    lo: ClassVar[float] = 0.0
    hi: ClassVar[float] = float("inf")
    quantized: ClassVar[tuple[Any, ...]] = Q8_16
    in_place_safe = True  # one clip

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        lo, hi = np.float32(self.lo), np.float32(self.hi)
        clip = CLIP
        return lambda: clip(x, lo, hi, out=out)

    def quant_table(self, ctx: PrepareContext, x: TensorSpec, out: TensorSpec, values: np.ndarray) -> np.ndarray:
        in_zp, out_zp = x.quantization.zero_point, out.quantization.zero_point
        if np.dtype(x.dtype) == np.int16 and (in_zp != 0 or out_zp != 0):
            ctx.fail(f"int16 input {x.describe()} and output need zero points of 0, got {in_zp} and {out_zp}")
        f32 = np.float32
        in_s, out_s = f32(x.quantization.scale), f32(out.quantization.scale)
        with np.errstate(all="ignore"):
            q, shift = quantize_multiplier(float(in_s / out_s))
            info = np.iinfo(x.dtype)
            lo = max(info.min, out_zp + int(qn.float_to_int32(qn.round_half_away(f32(self.lo) / out_s))))
            hi = info.max
            if np.isfinite(self.hi):
                hi = min(info.max, out_zp + int(qn.float_to_int32(qn.round_half_away(f32(self.hi) / out_s))))
        res = out_zp + multiply_by_quantized_multiplier(values - in_zp, q, shift).astype(np.int64)
        return np.minimum(np.maximum(res, lo), hi)


@register("RELU", versions=range(1, 4))
class Relu(ClampKernel):
    pass
