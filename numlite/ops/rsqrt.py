"""RSQRT: ``1 / sqrt(x)``; float32 (0 gives inf and negatives nan, as IEEE), quantized int8 / int16.

Quantized (LiteRT's kernel; a lookup table built at prepare, see ``_unary``):

1. int8: per value ``v = x - zp``: 0 maps to 127; otherwise TFLite's fixed-point
   ``GetInvSqrtQuantizedMultiplierExp`` (normalise by pairs of bits, five Newton-Raphson steps in
   Q3.28, times sqrt(2)/2), applied to 1 with a 20-bit headroom, then the multiplier
   ``1 / (sqrtf(in_scale) * out_scale)``, zero point, clamp.
2. int16 (zero points 0): TFLite's 513-entry interpolating table of ``1.0f / sqrtf(x)`` (non-
   positive inputs give ``32767 * out_scale``), looked up for all 65536 values.
3. A value below the input zero point (a negative real input) fails the invoke, as in LiteRT.
"""

from __future__ import annotations

import numpy as np

from . import _qnonlinear as qn
from ._unary import UnaryKernel
from .base import PrepareContext, Step, TensorSpec
from .quant import multiply_by_quantized_multiplier, quantize_multiplier
from .registry import register

ONE = np.float32(1.0)
KSHIFT = 20


def inv_sqrt_multiplier_exp(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TFLite's ``GetInvSqrtQuantizedMultiplierExp(v, -1)`` for positive int64 ``v`` < 2**29."""
    v = np.asarray(v, np.int64)
    small = v <= 1
    v = np.where(small, 2, v)
    pairs = (qn.count_leading_zeros32(v) - 1) // 2 - 1
    shift = 11 - pairs
    v = v << (2 * pairs)
    half_input = qn.rdpot(v >> 1, 1)
    half_three = (1 << 28) + (1 << 27)
    x = np.full(v.shape, 1 << 28, np.int64)
    for _ in range(5):
        x3 = qn.sat_shift_left(qn.srdhm(qn.srdhm(x, x), x), 6)
        x = qn.sat_shift_left(qn.wrap32(qn.srdhm(half_three, x) - qn.srdhm(half_input, x3)), 3)
    x = qn.srdhm(x, 1518500250)
    neg = shift < 0
    x = np.where(neg, qn.wrap32(x << np.where(neg, -shift, 0)), x)
    shift = np.where(neg, 0, shift)
    return np.where(small, qn.INT32_MAX, x), np.where(small, 0, -shift)


@register("RSQRT", versions=range(1, 4))
class Rsqrt(UnaryKernel):
    ieee_specials = True
    quantized = (np.int8, np.int16)

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        def step() -> None:
            np.sqrt(x, out=out)
            np.divide(ONE, out, out=out)

        return step

    def quant_table(self, ctx: PrepareContext, x: TensorSpec, out: TensorSpec, values: np.ndarray) -> np.ndarray:
        in_zp, out_zp = x.quantization.zero_point, out.quantization.zero_point
        f32 = np.float32
        in_s, out_s = f32(x.quantization.scale), f32(out.quantization.scale)
        self.zero_point = in_zp
        if np.dtype(x.dtype) == np.int16:
            if in_zp != 0 or out_zp != 0:
                ctx.fail(f"int16 input {x.describe()} and output need zero points of 0, got {in_zp} and {out_zp}")
            big = f32(32767) * out_s

            def rsqrt(t: np.ndarray) -> np.ndarray:
                with np.errstate(all="ignore"):
                    return np.where(t <= 0, big, f32(1) / np.sqrt(t)).astype(f32)

            lut = qn.lut16_populate(rsqrt, in_s, in_zp, out_s, out_zp, np.float32)
            return qn.lut16_lookup(values, lut)
        q, s = quantize_multiplier(1.0 / float(np.sqrt(in_s) * out_s))
        v = values - in_zp
        pos = np.maximum(v, 1)
        inv, inv_shift = inv_sqrt_multiplier_exp(pos)
        data = multiply_by_quantized_multiplier(1, inv, inv_shift + KSHIFT).astype(np.int64)
        res = multiply_by_quantized_multiplier(data, q, int(s) - KSHIFT).astype(np.int64) + out_zp
        return np.where(v == 0, 127, res)

    def quant_compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        lookup = super().quant_compute(x, out, scratch)
        zp, where = self.zero_point, f"{self.op_name} (node {self.node.index})"
        if x.size == 0:
            return lookup

        def checked() -> None:
            if x.min() < zp:
                raise RuntimeError(f"{where}: Rsqrt is only defined for positive values (an input is below the "
                                   f"zero point {zp})")
            lookup()

        return checked
