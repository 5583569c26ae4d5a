"""HARD_SWISH: ``x * relu6(x + 3) / 6``; float32, and quantized uint8 / int8.

Float: four in-place passes over the output view: ``x + 3``, clamp to [0, 6], times 1/6, times
``x`` (scaling before the product keeps huge ``x`` finite, as LiteRT does).  No scratch: the
output never aliases the input.

Quantized: TFLite's 16-bit fixed-point reference kernel, evaluated for all 256 input values at
prepare into a lookup table (see ``_unary``):

1. In float32: ``hires = in_scale / 128``; the output multiplier ``hires / out_scale`` and the
   "reluish" multiplier ``hires / (3 / 32768)``, each encoded with ``quantize_multiplier`` and
   rounded to 16 bits.  An output multiplier of 1 or more is rejected, as LiteRT does.
2. Per value: ``(x - zp) * 128`` on int16; the output-scale value by a 16-bit saturating rounding
   doubling high multiply; the reluish value by the same with saturating left shifts (all but
   one bit before, one after) or a rounding right shift, mapped from [-1, 1] to [0, 1]; their
   product by the truncating doubling high multiply; the final rounding right shift, zero
   point, clamp.  Every intermediate wraps to int16 as in C.
"""

from __future__ import annotations

import numpy as np

from . import _qnonlinear as qn
from ._unary import Q8, UnaryKernel
from .base import PrepareContext, Step, TensorSpec
from .quant import quantize_multiplier
from .registry import register

THREE, ZERO, SIX, SIXTH = np.float32(3), np.float32(0), np.float32(6), np.float32(1 / 6)


def _rdpot16(x: np.ndarray, e: int) -> np.ndarray:
    """gemmlowp RoundingDivideByPOT on int16 (the mask is an int16, so it wraps for e >= 16)."""
    if e == 0:
        return x
    mask = int(qn.wrap16(np.int64((1 << e) - 1)))
    threshold = (mask >> 1) + (x < 0)
    return (x >> e) + ((x & mask) > threshold)


def _sat_left16(x: np.ndarray, e: int) -> np.ndarray:
    return np.clip(x * (1 << e), -32768, 32767)


@register("HARD_SWISH", versions=(1,))
class HardSwish(UnaryKernel):
    options_table = "HardSwishOptions"
    ieee_specials = True  # -inf * 0 is nan, as in LiteRT
    quantized = Q8

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        def step() -> None:
            np.add(x, THREE, out=out)
            np.clip(out, ZERO, SIX, out=out)
            np.multiply(out, SIXTH, out=out)
            np.multiply(out, x, out=out)

        return step

    def quant_table(self, ctx: PrepareContext, x: TensorSpec, out: TensorSpec, values: np.ndarray) -> np.ndarray:
        f32 = np.float32
        hires = f32(1.0 / 128.0) * f32(x.quantization.scale)
        out_mult = hires / f32(out.quantization.scale)
        reluish_mult = hires / (f32(3.0) / f32(32768.0))
        oq, oexp = (int(v) for v in quantize_multiplier(float(out_mult)))
        rq, rexp = (int(v) for v in quantize_multiplier(float(reluish_mult)))
        if oexp > 0:
            ctx.fail(f"output scale {out.quantization.scale} is too small for input scale {x.quantization.scale} "
                     "(the output multiplier must be below 1)")
        oq16, rq16 = qn.downscale_multiplier_16(oq), qn.downscale_multiplier_16(rq)
        hi_in = qn.wrap16(qn.wrap16(values - x.quantization.zero_point) * 128)
        pre_out = qn.srdhm16(hi_in, oq16)
        rel = hi_in
        if rexp > 0:
            rel = _sat_left16(rel, rexp - 1)
        rel = qn.srdhm16(rel, rq16)
        if rexp > 0:
            rel = _sat_left16(rel, 1)
        if rexp < 0:
            rel = _rdpot16(rel, -rexp)
        rel = qn.wrap16((rel + (1 << 15)) >> 1)
        res = _rdpot16(qn.sdhm16(rel, pre_out), -oexp)
        return qn.wrap16(res + out.quantization.zero_point)
