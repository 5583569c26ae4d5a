"""DEQUANTIZE: int8 / uint8 / int16 / float16 -> float32, as LiteRT's reference kernel.

1. Integer input: ``scale * (q - zero_point)``.  LiteRT multiplies in double (per tensor) or
   float (per channel) and rounds to float32; both equal the correctly rounded float32 product,
   because ``q - zero_point`` is exact in float32 and a float32 times a 17-bit integer is exact
   in double.  So the step is two float32 ufunc passes into the output view.
2. Per-channel (several scales; int8 / uint8 only, as in LiteRT): scales and zero points
   broadcast along ``quantized_dimension``; one zero point applies to every channel when only
   one is given.  int16 needs zero point 0.
3. float16: an exact widening copy.
4. Constant inputs (float16 or int8 weights) are folded by the executor: dequantized once at
   ``allocate_tensors``, the node leaves the invoke loop.
5. Versions 6-8 (INT4, INT2, UINT4 constants): numlite unpacks sub-byte constants to one value
   per int8 / uint8 at load, so they take the integer path of 1.
6. Version 9 (FLOAT8_E4M3FN / FLOAT8_E5M2, stored as raw bytes): each byte decodes to its exact
   float32 value through a 256-entry table (E4M3FN: exponent bias 7, no infinities, S.1111.111
   is nan; E5M2: IEEE-style, bias 15, with infinities and nans); quantization parameters, if
   any, then apply as in 1.  LiteRT 2.3 registers version 9 but its kernel refuses float8
   inputs at prepare; numlite defines the conversion instead of refusing it.
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step
from .quantize import channel_shape
from .registry import register

INTEGER_INPUTS = (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int16))


def float8_table(type_name: str) -> np.ndarray:
    """The float32 value of every byte of a FLOAT8_E4M3FN or FLOAT8_E5M2 number (index: the
    byte as uint8)."""
    exp_bits, bias = (4, 7) if type_name == "FLOAT8_E4M3FN" else (5, 15)
    man_bits = 7 - exp_bits
    b = np.arange(256, dtype=np.int64)
    sign = np.where(b >> 7, -1.0, 1.0)
    e = (b >> man_bits) & ((1 << exp_bits) - 1)
    m = (b & ((1 << man_bits) - 1)).astype(np.float64)
    normal = (1.0 + m / (1 << man_bits)) * np.exp2(e - bias)
    subnormal = (m / (1 << man_bits)) * np.exp2(1 - bias)
    v = sign * np.where(e == 0, subnormal, normal)
    top = (1 << exp_bits) - 1
    if type_name == "FLOAT8_E4M3FN":
        v[(e == top) & (m == (1 << man_bits) - 1)] = np.nan
    else:
        v[(e == top) & (m == 0)] = sign[(e == top) & (m == 0)] * np.inf
        v[(e == top) & (m != 0)] = np.nan
    return v.astype(np.float32)


@register("DEQUANTIZE", versions=range(1, 10))
class Dequantize(Kernel):
    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        x, out = ctx.input(0), ctx.outputs[0]
        dt = np.dtype(x.dtype)
        if dt != np.float16 and dt not in INTEGER_INPUTS:
            ctx.fail(f"input {x.describe()} has type {dt.name}; supported: int8, uint8, int16, float16")
        if out.dtype is not None and np.dtype(out.dtype) != np.float32:
            ctx.fail(f"output {out.describe()} has type {np.dtype(out.dtype).name}; the op computes float32")
        ctx.set_output(0, x.shape, np.float32)
        self.is_half = dt == np.float16
        self.f8 = float8_table(x.type_name) if x.type_name in ("FLOAT8_E4M3FN", "FLOAT8_E5M2") else None
        if self.is_half:
            return
        q = x.quantization
        if self.f8 is not None and not q.is_quantized:
            self.scale = self.zp = None
            return
        scales = q.scales.astype(np.float32) if q.is_quantized else np.zeros(1, np.float32)
        zps = q.zero_points.astype(np.float32) if q.zero_points.size else np.zeros(1, np.float32)
        if dt == np.int16 and np.any(zps != 0):
            ctx.fail(f"input {x.describe()} has zero point {int(zps[0])}; int16 quantization is symmetric")
        if scales.size > 1:
            if dt == np.int16:
                ctx.fail(f"input {x.describe()} is quantized per channel; LiteRT dequantizes per channel only "
                         "int8 and uint8")
            axis = q.quantized_dimension
            if not 0 <= axis < x.rank or x.shape[axis] != scales.size:
                ctx.fail(f"per-channel quantization of {x.describe()} has {scales.size} scales for dimension "
                         f"{axis}")
            if zps.size != scales.size:
                zps = np.full(scales.size, zps[0], np.float32)
            cs = channel_shape(x.rank, axis, scales.size)
            self.scale, self.zp = scales.reshape(cs), zps.reshape(cs)
        else:
            self.scale, self.zp = np.float32(scales[0]), np.float32(zps[0])

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        x, out = inputs[0], outputs[0]
        if self.is_half:
            return lambda: np.copyto(out, x)
        scale, zp, f8 = self.scale, self.zp, self.f8
        if f8 is not None:
            xb = x.view(np.uint8)

            def decode() -> None:
                np.take(f8, xb, out=out)
                if scale is not None:
                    np.subtract(out, zp, out=out)
                    np.multiply(out, scale, out=out)

            return decode

        def step() -> None:
            np.subtract(x, zp, out=out, dtype=np.float32)
            np.multiply(out, scale, out=out)

        return step
