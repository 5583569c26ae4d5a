"""MUL: elementwise product with broadcasting and fused activation.

1. float32, int32, int64, uint32, and int16 without quantization: one ufunc call; integer
   products wrap around (two's complement); the fused activation then clamps.
2. Quantized int8 / uint8, and int16 with a quantized output (``_qbinary``), as TFLite's
   reference kernel: ``(a - za) * (b - zb)`` in int32, times the real multiplier
   ``scale_a * scale_b / scale_out`` (computed in float32, as LiteRT does, then encoded with
   ``quantize_multiplier``), plus the output zero point, clamped to the activation's quantized
   range.  int16 zero points must be 0.
3. int16 inputs with an int8 / uint8 output (the legacy LSTM form): the inputs are Q0.15 fixed
   point; their saturating rounding doubling product is divided by 2**8 (rounding), clamped to
   the activation range less the output zero point, and the zero point added.  Scales do not
   enter.
"""

from __future__ import annotations

import numpy as np

from . import quant
from ._binary import BinaryKernel
from ._qbinary import (
    QuantizedStep,
    any_multiplier,
    quantized_activation_range,
    require_quantized,
    require_zero_points_zero,
)
from .base import PrepareContext, TensorSpec
from .registry import register


def _int16_q15_product(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """gemmlowp's int16 SaturatingRoundingDoublingHighMul (Q0.15 product), int64 result."""
    x64, y64 = np.asarray(x, np.int64), np.asarray(y, np.int64)
    p = x64 * y64
    s = p + np.where(p >= 0, 1 << 14, 1 - (1 << 14))
    r = np.where(s >= 0, s >> 15, -((-s) >> 15))  # C division truncates toward zero
    return np.where((x64 == -32768) & (y64 == -32768), 32767, r)


@register("MUL", versions=range(1, 9))
class Mul(BinaryKernel):
    options_table = "MulOptions"
    dtypes = (np.float32, np.int32, np.int64, np.int16, np.uint32)
    qdtypes = (np.int8, np.uint8, np.int16)
    ufunc = np.multiply

    def prepare_quantized(self, ctx: PrepareContext, a: TensorSpec, b: TensorSpec, out: TensorSpec) -> QuantizedStep:
        in_dt, out_dt = np.dtype(a.dtype), np.dtype(out.dtype)
        require_quantized(ctx, [out])
        lo, hi = quantized_activation_range(ctx, self.act, out)
        oo = out.quantization.zero_point
        if in_dt == np.int16 and out_dt in (np.dtype(np.int8), np.dtype(np.uint8)):
            def legacy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
                r = quant.rounding_divide_by_pot(_int16_q15_product(x, y), 8)
                return np.clip(r, lo - oo, hi - oo) + oo

            return QuantizedStep(ctx, a, b, legacy, lo, hi, out_dt)
        if out_dt != in_dt:
            ctx.fail(f"output {out.describe()} has type {out_dt.name}; the op computes {in_dt.name} "
                     "(or int8 / uint8 from int16)")
        require_quantized(ctx, [a, b])
        if in_dt == np.int16:
            require_zero_points_zero(ctx, [a, b, out])
        s1, s2, so = (np.float32(t.quantization.scale) for t in (a, b, out))
        q, shift = any_multiplier(float(np.float32(s1 * s2) / so))
        o1, o2 = -a.quantization.zero_point, -b.quantization.zero_point

        def raw(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            prod = (np.asarray(x, np.int64) + o1) * (np.asarray(y, np.int64) + o2)
            return quant.multiply_by_quantized_multiplier(prod, q, shift).astype(np.int64) + oo

        return QuantizedStep(ctx, a, b, raw, lo, hi, out_dt)
