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
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step
from .quantize import channel_shape
from .registry import register

INTEGER_INPUTS = (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int16))


@register("DEQUANTIZE", versions=range(1, 7))
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
        if self.is_half:
            return
        q = x.quantization
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
        scale, zp = self.scale, self.zp

        def step() -> None:
            np.subtract(x, zp, out=out, dtype=np.float32)
            np.multiply(out, scale, out=out)

        return step
