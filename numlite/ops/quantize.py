"""QUANTIZE: float32 -> int8 / uint8 / int16, and requantization between integer types,
bit-exact with LiteRT's reference kernel.

1. float32 input (per tensor, or per channel along ``quantized_dimension`` when the output has
   several scales): ``q = clamp(zero_point + round(x / scale))`` where the division is float32
   (the scale cast to float, as ``AffineQuantize`` / ``PerChannelQuantize`` do) and ``round``
   rounds half away from zero.  Invoke: the float32 quotient into scratch, rounding in float64
   (``floor(|t| + 0.5)`` is exact there for every float32 ``t``), clamp, copy.
2. Values whose rounded quotient leaves int32 (inf, nan, huge inputs) become INT32_MIN in
   LiteRT's C cast, to which the zero point is added with int32 wrap-around before the clamp:
   so they give the type's minimum when the zero point is >= 0 and its maximum otherwise
   (measured; LiteRT's default kernels saturate by sign instead).  numlite does the same.
   Per tensor, the invoke step takes a shorter exact path unless some quotient reaches 2**30
   in magnitude on the side the zero point could wrap (then it runs the steps of 1 and 2):
   the quotient in float64 (it cannot overflow there, and rounding it to float32 gives the
   float32 quotient: double rounding of a division through 53 bits is innocuous), clamped to
   ``[min - zp, max - zp]`` with ``fmax`` / ``fmin`` first so that nan lands on the side LiteRT
   gives it (the minimum for a zero point >= 0, else the maximum), rounded to float32, then
   rounded half away from zero in float32 as ``trunc(t + copysign(0.5 - 2**-25, t))`` (exact
   for ``|t| < 2**23``: the sum rounds up to the next integer exactly when ``|t|``'s fraction
   is at least one half), plus the zero point.  No floating-point flag is raised on the way,
   so no ``np.errstate`` is needed.
3. Integer input (requantize; input int8 / uint8 -> int8 / uint8 / int16, int16 -> int8 /
   int16 / int32, int32 -> int8 / int16): ``clamp(MultiplyByQuantizedMultiplier(q - zp_in,
   in_scale / out_scale) + zp_out)`` with the double-rounding multiply of ``ops.quant``.
   8- and 16-bit inputs go through a table of every input value made at prepare (exact by
   construction, one gather at invoke); int32 inputs are requantized in int64 scratch.
   int16 -> int16 needs zero points 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import quant
from ._qbinary import all_values, type_range
from .base import Kernel, PrepareContext, Step
from .registry import register

INT32_LIMIT = float(2**31)
#: quotients below this magnitude (on the side where the zero point could make them wrap) take
#: the fast path of a per-tensor float input
FAST_LIMIT = float(2**30)

REQUANTIZE = {
    np.dtype(np.int8): (np.int8, np.uint8, np.int16),
    np.dtype(np.uint8): (np.int8, np.uint8, np.int16),
    np.dtype(np.int16): (np.int8, np.int16, np.int32),
    np.dtype(np.int32): (np.int8, np.int16),
}


def channel_shape(rank: int, axis: int, n: int) -> tuple[int, ...]:
    shape = [1] * rank
    shape[axis] = n
    return tuple(shape)


@register("QUANTIZE", versions=range(1, 7))
class Quantize(Kernel):
    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        x, out = ctx.input(0), ctx.outputs[0]
        oq = out.quantization
        if not oq.is_quantized:
            ctx.fail(f"output {out.describe()} has no quantization parameters")
        in_dt, out_dt = np.dtype(x.dtype), np.dtype(out.dtype)
        ctx.set_output(0, x.shape, out_dt)
        self.float_input = in_dt == np.float32
        if self.float_input:
            if out_dt not in (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int16)):
                ctx.fail(f"output {out.describe()} has type {out_dt.name}; float32 quantizes to int8, uint8 or int16")
            self.prepare_float(ctx, x.shape, oq, out_dt)
            return
        allowed = REQUANTIZE.get(in_dt)
        if allowed is None:
            ctx.fail(f"input {x.describe()} has type {in_dt.name}; supported: float32, int8, uint8, int16, int32")
        if out_dt not in [np.dtype(t) for t in allowed]:
            ctx.fail(f"cannot requantize {in_dt.name} to {out_dt.name}; from {in_dt.name} LiteRT supports "
                     + ", ".join(np.dtype(t).name for t in allowed))
        iq = x.quantization
        if not iq.is_quantized:
            ctx.fail(f"input {x.describe()} has no quantization parameters")
        if in_dt == np.int16 and out_dt == np.int16 and (iq.zero_point != 0 or oq.zero_point != 0):
            ctx.fail("int16 -> int16 requantization needs zero points 0")
        # LiteRT reads the first scale / zero point of each side (per-tensor requantization)
        q, shift = quant.quantize_multiplier(float(np.float32(iq.scale)) / float(np.float32(oq.scale)))
        self.q, self.shift = int(q), int(shift)
        self.zin, self.zout = iq.zero_point, oq.zero_point
        self.lo, self.hi = type_range(out_dt)
        self.lut = None
        if in_dt.itemsize <= 2:
            v = all_values(in_dt).astype(np.int64)
            r = quant.multiply_by_quantized_multiplier(v - self.zin, self.q, self.shift).astype(np.int64)
            self.lut = np.clip(r + self.zout, self.lo, self.hi).astype(out_dt)
            self.uview = np.uint8 if in_dt.itemsize == 1 else np.uint16
        else:
            self.acc = ctx.scratch(x.shape, np.int64)
            self.tmp = ctx.scratch(x.shape, np.int64)

    def prepare_float(self, ctx: PrepareContext, shape: tuple[int, ...], oq: Any, out_dt: np.dtype) -> None:
        scales = oq.scales.astype(np.float32)
        zps = oq.zero_points.astype(np.float64)
        if scales.size > 1:
            axis = oq.quantized_dimension
            if not 0 <= axis < len(shape) or shape[axis] != scales.size:
                ctx.fail(f"per-channel output quantization has {scales.size} scales for dimension {axis} of "
                         f"shape {list(shape)}")
            if zps.size != scales.size:
                zps = np.full(scales.size, zps[0])
            cs = channel_shape(len(shape), axis, scales.size)
            self.scale, self.zp = scales.reshape(cs), zps.reshape(cs)
        else:
            self.scale, self.zp = np.float32(scales[0]), np.float64(zps[0])
        self.lo, self.hi = type_range(out_dt)
        self.t32 = ctx.scratch(shape, np.float32)
        self.d64 = ctx.scratch(shape, np.float64)
        self.mask = ctx.scratch(shape, np.bool_)
        self.u32 = ctx.scratch(shape, np.float32)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        x, out = inputs[0], outputs[0]
        if self.float_input:
            return self.bind_float(x, out, scratch)
        if self.lut is not None:
            lut, ux = self.lut, x.view(self.uview)
            return lambda: np.take(lut, ux, out=out, mode="wrap")  # every index is in the table
        acc, tmp = scratch[self.acc], scratch[self.tmp]
        zin, zout, lo, hi = self.zin, self.zout, self.lo, self.hi
        requant = quant.Requantizer(self.q, self.shift)

        def step32() -> None:
            np.subtract(x, zin, out=acc, dtype=np.int64)
            # C computes q - zp in int32: wrap like it
            np.add(acc, 2**31, out=acc)
            np.bitwise_and(acc, 2**32 - 1, out=acc)
            np.subtract(acc, 2**31, out=acc)
            requant(acc, tmp)
            np.add(acc, zout, out=acc)
            np.clip(acc, lo, hi, out=acc)
            np.copyto(out, acc, casting="unsafe")

        return step32

    def bind_float(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        exact = self.bind_float_exact(x, out, scratch)
        if np.ndim(self.scale) or x.size == 0:
            return exact
        t, d, u = scratch[self.t32], scratch[self.d64], scratch[self.u32]
        s64, zp = np.float64(self.scale), float(self.zp)
        cl, ch = np.float64(self.lo - zp), np.float64(self.hi - zp)
        half = np.nextafter(np.float32(0.5), np.float32(0))
        zp32 = np.float32(zp)
        divide, copyto, add = np.divide, np.copyto, np.add
        # fmax.reduce / fmin.reduce skip nan (a nan must not hide a far value beside it)
        if zp >= 0:  # nan -> the type's minimum; fmax maps nan to its other operand
            far, low, high = np.fmax.reduce, np.fmax, np.minimum
            first, second = cl, ch

            def rare() -> bool:
                return far(d, axis=None) >= FAST_LIMIT
        else:  # nan -> the type's maximum
            far, low, high = np.fmin.reduce, np.fmin, np.maximum
            first, second = ch, cl

            def rare() -> bool:
                return far(d, axis=None) < -FAST_LIMIT

        def step() -> None:
            divide(x, s64, out=d)  # float64: cannot overflow; its float32 rounding is x / scale's
            if rare():
                exact()
                return
            low(d, first, out=d)
            high(d, second, out=d)
            copyto(t, d, casting="same_kind")
            np.copysign(half, t, out=u)
            add(t, u, out=t)
            np.trunc(t, out=t)
            add(t, zp32, out=t)
            copyto(out, t, casting="unsafe")

        return step

    def bind_float_exact(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        t, d, m = scratch[self.t32], scratch[self.d64], scratch[self.mask]
        scale, zp, lo, hi = self.scale, self.zp, self.lo, self.hi
        wrap_up, wrap_down = bool(np.any(zp < 0)), bool(np.any(zp > 0))

        def step() -> None:
            with np.errstate(all="ignore"):
                np.divide(x, scale, out=t)
                np.abs(t, out=d)
                np.add(d, 0.5, out=d)
                np.floor(d, out=d)
                np.less(d, INT32_LIMIT, out=m)  # False for nan and for |r| >= 2**31
                np.copysign(d, t, out=d)
                np.logical_not(m, out=m)
                np.copyto(d, -INT32_LIMIT, where=m)  # C's out-of-range float -> int32 cast
                np.add(d, zp, out=d)
                # int32 wrap-around of r + zero_point
                if wrap_down:
                    np.greater_equal(d, INT32_LIMIT, out=m)
                    np.subtract(d, 2 * INT32_LIMIT, out=d, where=m)
                if wrap_up:
                    np.less(d, -INT32_LIMIT, out=m)
                    np.add(d, 2 * INT32_LIMIT, out=d, where=m)
                np.clip(d, lo, hi, out=d)
                np.copyto(out, d, casting="unsafe")

        return step
