"""SOFTMAX: ``exp(beta * (x - max)) / sum`` along the last axis, any rank >= 1; float32, and
quantized uint8 / int8 (output of the same type or int16) and int16.

Float32:

1. Prepare views the input as rows (all leading dims flattened) and asks for a (rows, 1)
   scratch column that holds first the row maxima, then the row sums.
2. Eval, all in place in the output: subtract the row max (numerical stability, as TFLite
   does), scale by beta (skipped when beta == 1), exp, sum the row, divide.

uint8 / int8 (LiteRT's reference kernel, gemmlowp fixed point):

3. Prepare: ``beta * in_scale * 2^26`` (capped at 2^31 - 1) becomes a multiplier >= 1 and a left
   shift; ``diff_min`` is minus the input radius ``floor(31 * 2^26 / 2^shift)``.  The row maximum
   minus a value, ``d``, is in [0, 255], so two 256-entry int64 tables hold, per ``d``, the Q0.31
   ``exp_on_negative_values`` of the rescaled difference (Q5.26) and its Q12.19 form for the
   sum (0 where ``-d < diff_min``).
4. Invoke: row maxima; ``d`` (intp scratch); the row sums of the Q12.19 table; per row
   TFLite's ``GetReciprocal`` (``one_over_one_plus_x_for_x_in_0_1``) and the output exponent;
   then per element ``round(exp * scale / 2^exponent)`` + the output type's minimum, clamped.
   int8 -> int8 requires output scale 1/256 and zero point -128, as LiteRT does; a uint8 or
   int16 output takes no parameters from its tensor (the kernel writes 1/256 or 1/65536 steps
   from the type's minimum).

int16 (zero points 0, output scale 1/32768):

5. Prepare: TFLite's two 513-entry interpolating tables (computed in double): ``exp`` on
   [-10, 0] and ``1 / (1 + x)`` on [0, 1]; the input multiplier ``in_scale * beta / (10 /
   65535)``; and from them the exp of every difference ``d`` in [0, 65535] (one 64 K table).
6. Invoke: row maxima, ``d``, exp by table, row sums, per row the reciprocal through the
   ``1 / (1 + x)`` table after normalising the sum, then ``(exp * recip + round) >> shift``.

Quantized steps use (rows, cols) intp and int64 scratch.  The per-row reciprocal runs on Python
ints for up to 32 rows and on NumPy arrays (temporaries of one value per row) beyond.  Row sums
wrap to int32 as in C (only rows of thousands of equal maxima can reach that).  LiteRT's 8-bit
output reference aborts the process (a TFLITE_CHECK on the output exponent) when a row's sum of
exps reaches 512; numlite computes such rows (their outputs round toward the type's minimum).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from . import _qnonlinear as qn
from .base import Kernel, PrepareContext, Step, TensorSpec, expect_output_dtype
from .quant import multiply_by_quantized_multiplier, quantize_multiplier
from .registry import register

INPUT = 0
FEW_ROWS = 32  # up to this many rows the per-row reciprocal runs on Python ints (faster than NumPy)
ALLOWED_OUT = {np.dtype(np.int8): (np.int8, np.int16), np.dtype(np.uint8): (np.uint8, np.int16),
               np.dtype(np.int16): (np.int16,)}


@register("SOFTMAX", versions=range(1, 5))
class Softmax(Kernel):
    options_table = "SoftmaxOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        x = ctx.input(INPUT)
        out = ctx.outputs[0]
        dt = np.dtype(x.dtype)
        self.quant = None
        if dt in ALLOWED_OUT:
            if not x.quantization.is_quantized:
                ctx.fail(f"input {x.describe()} has type {dt.name} without quantization parameters; supported: "
                         "float32, or quantized int8 / uint8 / int16")
            if np.dtype(out.dtype) not in [np.dtype(t) for t in ALLOWED_OUT[dt]]:
                names = " or ".join(np.dtype(t).name for t in ALLOWED_OUT[dt])
                ctx.fail(f"output {out.describe()} has type {np.dtype(out.dtype).name}; a {dt.name} input needs "
                         f"{names}")
        elif dt != np.float32:
            ctx.fail(f"input {x.describe()} has type {dt.name}; supported: float32, int8, uint8, int16")
        else:
            expect_output_dtype(ctx, np.float32)
        if x.rank < 1:
            ctx.fail(f"input {x.describe()} must have rank >= 1")
        ctx.set_output(0, x.shape, out.dtype if dt != np.float32 else np.float32)
        self.beta = np.float32(self.options.get("beta") or 0.0)
        self.cols = x.shape[-1]
        self.rows = x.size // self.cols if self.cols else 0
        self.empty = x.size == 0
        if dt != np.float32:
            self.prepare_quantized(ctx, x, out)
            return
        if not self.empty:
            self.col_slot = ctx.scratch((self.rows, 1), np.float32)

    # -- quantized -----------------------------------------------------------------------------
    def prepare_quantized(self, ctx: PrepareContext, x: TensorSpec, out: TensorSpec) -> None:
        dt, odt = np.dtype(x.dtype), np.dtype(out.dtype)
        if not out.quantization.is_quantized:
            ctx.fail(f"output {out.describe()} has no quantization parameters")
        f32 = np.float32
        out_scale, out_zp = f32(out.quantization.scale), out.quantization.zero_point
        if dt == np.int8 and odt == np.int8:
            if out_zp != -128 or abs(out_scale - f32(1 / 256)) > f32(0.001) * f32(1 / 256):
                ctx.fail(f"int8 output {out.describe()} must have scale 1/256 and zero point -128, got "
                         f"{float(out_scale)} and {out_zp}")
        beta, in_scale = float(self.beta), float(f32(x.quantization.scale))
        if dt == np.int16:
            if x.quantization.zero_point != 0 or out_zp != 0:
                ctx.fail(f"int16 input {x.describe()} and output need zero points of 0")
            if abs(out_scale - f32(1 / 32768)) > f32(0.001) * f32(1 / 32768):
                ctx.fail(f"int16 output {out.describe()} must have scale 1/32768, got {float(out_scale)}")
            self.quant = "int16"
            self.exp_table, self.recip_lut = self.int16_tables(in_scale, beta)
        else:
            self.quant = "int8"
            self.sum_table, self.exp_table = self.int8_tables(ctx, in_scale, beta)
            self.out_bits = 8 * odt.itemsize
        info = np.iinfo(odt)
        self.out_min, self.out_max = info.min, info.max
        if not self.empty:
            shape = (self.rows, self.cols)
            self.max_slot = ctx.scratch((self.rows, 1), dt)
            self.maxi_slot = ctx.scratch((self.rows, 1), np.intp)
            self.idx_slot = ctx.scratch(shape, np.intp)
            self.acc_slot = ctx.scratch(shape, np.int64)
            self.sum_slot = ctx.scratch((self.rows, 1), np.int64)

    @staticmethod
    def int8_tables(ctx: PrepareContext, in_scale: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
        real = min(beta * in_scale * float(1 << 26), float((1 << 31) - 1))
        q, shift = (int(v) for v in quantize_multiplier(real))
        if shift < 0:
            ctx.fail(f"beta * input scale ({beta} * {in_scale}) is too small for the fixed-point softmax")
        radius = math.floor(1.0 * 31 * float(1 << 26) / float(1 << shift))
        diff = -np.arange(256, dtype=np.int64)
        rescaled = qn.srdhm(qn.wrap32(diff << shift), q)
        exp = qn.exp_on_negative_values(rescaled, 5)
        keep = diff >= -radius
        exp = np.where(keep, exp, 0)
        return np.where(keep, qn.rdpot(exp, 12), 0), exp

    @staticmethod
    def int16_tables(in_scale: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
        rng = 65535

        def vec(f: Callable[[float], float]) -> Callable[[np.ndarray], np.ndarray]:
            # the C library's double function (math.exp calls it), value by value
            return lambda a: np.array([f(float(v)) for v in np.asarray(a).reshape(-1)], np.float64)

        exp_lut = qn.lut16_populate(vec(math.exp), 10.0 / rng, 32767, 2.0 / rng, 0, np.float64)
        recip_lut = qn.lut16_populate(vec(lambda v: 1.0 / (1.0 + v)), 1.0 / rng, -32768, 2.0 / rng, 0, np.float64)
        q, s = quantize_multiplier(in_scale * beta / (10.0 / 65535.0))
        diff = -np.arange(65536, dtype=np.int64)
        scaled = multiply_by_quantized_multiplier(diff, q, s).astype(np.int64)
        sym = np.clip(scaled + 32767, -32768, 32767)
        return qn.lut16_lookup(sym, exp_lut), recip_lut

    def bind_quantized(self, x: np.ndarray, o: np.ndarray, scratch: list[np.ndarray]) -> Step:
        mx, idx, acc, col = (scratch[s] for s in (self.max_slot, self.idx_slot, self.acc_slot, self.sum_slot))
        mxi = scratch[self.maxi_slot]
        exp_table, lo, hi, rows = self.exp_table, self.out_min, self.out_max, self.rows
        # per-row factors (one value per row; filled at each invoke, allocated once here)
        mul, rnd, shift = (np.zeros((rows, 1), np.int64) for _ in range(3))
        few = rows <= FEW_ROWS

        def diffs() -> None:
            # idx = row max - x, widened first (a mixed-type ufunc would use NumPy's 128 KiB
            # casting buffers)
            np.copyto(idx, x)
            np.copyto(mxi, mx)
            np.subtract(mxi, idx, out=idx)

        if self.quant == "int16":
            recip_lut = self.recip_lut
            recip_list = recip_lut.tolist()

            def row_factors() -> None:
                if few:
                    for r, s in enumerate(col[:, 0].tolist()):
                        s = qn._wrap32_int(s)
                        hpo = 32 - (s & 0xFFFFFFFF).bit_length()
                        sym = min(max((((s << (hpo - 1)) + (1 << 13)) >> 14) - 98304, -32768), 32767)
                        mul[r, 0], rnd[r, 0], shift[r, 0] = (qn.lut16_lookup_int(sym, recip_list),
                                                             1 << (30 - hpo), 31 - hpo)
                    return
                s = qn.wrap32(col)
                hpo = qn.count_leading_zeros32(s)
                sym = np.clip((((s << (hpo - 1)) + (1 << 13)) >> 14) - 98304, -32768, 32767)
                mul[...], rnd[...], shift[...] = qn.lut16_lookup(sym, recip_lut), np.int64(1) << (30 - hpo), 31 - hpo

            def step16() -> None:
                np.max(x, axis=1, keepdims=True, out=mx)
                diffs()
                np.take(exp_table, idx, out=acc, mode="wrap")
                np.sum(acc, axis=1, keepdims=True, out=col)
                row_factors()
                np.multiply(acc, mul, out=acc)
                np.add(acc, rnd, out=acc)
                np.right_shift(acc, shift, out=acc)
                np.clip(acc, 0, 32767, out=acc)
                np.copyto(o, acc, casting="unsafe")

            return step16
        sum_table, bits = self.sum_table, self.out_bits

        def row_factors8() -> None:
            if few:
                for r, s in enumerate(col[:, 0].tolist()):
                    scale, over = qn.get_reciprocal_int(qn._wrap32_int(s), 12)
                    e = over + 31 - bits
                    mul[r, 0], rnd[r, 0], shift[r, 0] = scale, (1 << e) >> 1, e
                return
            scale, over = qn.get_reciprocal(qn.wrap32(col), 12)
            e = over + 31 - bits
            mul[...], rnd[...], shift[...] = scale, (np.int64(1) << e) >> 1, e

        def step8() -> None:
            np.max(x, axis=1, keepdims=True, out=mx)
            diffs()
            np.take(sum_table, idx, out=acc, mode="wrap")
            np.sum(acc, axis=1, keepdims=True, out=col)
            row_factors8()
            np.take(exp_table, idx, out=acc, mode="wrap")
            # saturating rounding doubling high multiply (both factors >= 0), then the rounding
            # divide by 2**exponent (non-negative values: add half, shift)
            np.multiply(acc, mul, out=acc)
            np.add(acc, 1 << 30, out=acc)
            np.right_shift(acc, 31, out=acc)
            np.add(acc, rnd, out=acc)
            np.right_shift(acc, shift, out=acc)
            np.add(acc, lo, out=acc)
            np.clip(acc, lo, hi, out=acc)
            np.copyto(o, acc, casting="unsafe")

        return step8

    # -- binding -----------------------------------------------------------------------------------
    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        if self.empty:
            return lambda: None
        x = inputs[INPUT].reshape(self.rows, self.cols)
        o = outputs[0].reshape(self.rows, self.cols)
        if self.quant is not None:
            return self.bind_quantized(x, o, scratch)
        col = scratch[self.col_slot]
        beta = self.beta
        scale = beta != 1.0

        def step() -> None:
            np.maximum.reduce(x, axis=1, keepdims=True, out=col)
            np.subtract(x, col, out=o)
            if scale:
                np.multiply(o, beta, out=o)
            np.exp(o, out=o)
            np.add.reduce(o, axis=1, keepdims=True, out=col)
            np.divide(o, col, out=o)

        return step
