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
4. Invoke: row maxima; ``d`` by a wrapping subtraction of the unsigned views (exact: ``d`` is
   in [0, 255]), widened to intp; the row sums of the Q12.19 table; per row TFLite's
   ``GetReciprocal`` (``one_over_one_plus_x_for_x_in_0_1``) and the output exponent ``e``; then
   per element ``round(exp * scale / 2^e)`` + the output type's minimum, clamped above (the
   value is never negative).  The srdhm and the rounding shift are one multiply, one add and
   one shift (see ``_factors``).  The reciprocal: for rows shorter than ``GENERIC_COLS`` a row
   sum is in [2^19, 2^31), where gemmlowp's fixed-point steps reduce to plain int64 arithmetic
   (``reciprocal8_int``, on Python ints for up to ``FEW_ROWS8`` rows, else ``reciprocal8_rows``
   on arrays of one value per row allocated at bind); longer rows use the general form.
   int8 -> int8 requires output scale 1/256 and zero point -128, as LiteRT does; a uint8 or
   int16 output takes no parameters from its tensor (the kernel writes 1/256 or 1/65536 steps
   from the type's minimum).

int16 (zero points 0, output scale 1/32768):

5. Prepare: TFLite's two 513-entry interpolating tables (computed in double): ``exp`` on
   [-10, 0] and ``1 / (1 + x)`` on [0, 1]; the input multiplier ``in_scale * beta / (10 /
   65535)``; and from them the exp of every difference ``d`` in [0, 65535] (one 64 K table).
6. Invoke: row maxima, ``d``, exp by table, row sums, per row the reciprocal through the
   ``1 / (1 + x)`` table after normalising the sum, then ``(exp * recip + round) >> shift``.

Quantized steps use (rows, cols) unsigned, intp and int64 scratch.  The int16 per-row reciprocal
runs on Python ints for up to 32 rows and on NumPy arrays (temporaries of one value per row) beyond.  Row sums
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
FEW_ROWS8 = 12  # the same for the 8-bit path, whose vectorised reciprocal is leaner
#: rows of this many columns or more may have sums of exps that wrap int32 (8-bit input): they take
#: the reference form of the reciprocal; below it a row sum is in [2**19, 2**31)
GENERIC_COLS = 4096
INT32_MAX = (1 << 31) - 1
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
            self.clamp_low = bool(self.exp_table.min() < 0 or self.recip_lut.min() < 0)
        else:
            self.quant = "int8"
            self.sum_table, self.exp_table = self.int8_tables(ctx, in_scale, beta)
            self.out_bits = 8 * odt.itemsize
        info = np.iinfo(odt)
        self.out_min, self.out_max = info.min, info.max
        if not self.empty:
            shape = (self.rows, self.cols)
            self.max_slot = ctx.scratch((self.rows, 1), dt)
            self.du_slot = ctx.scratch(shape, np.uint8 if dt.itemsize == 1 else np.uint16)
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
        rows, cols = self.rows, self.cols
        maxred, addred = np.maximum.reduce, np.add.reduce
        take, copyto = np.take, np.copyto
        multiply, add, right_shift, minimum = np.multiply, np.add, np.right_shift, np.minimum
        # d = row max - x, computed on the unsigned views: the difference is in [0, 2**bits) so
        # the wrapping unsigned subtraction gives it exactly
        unsigned = np.uint8 if x.dtype.itemsize == 1 else np.uint16
        xu, mxu = x.view(unsigned), mx.view(unsigned)
        du = scratch[self.du_slot]

        def diffs() -> None:
            np.subtract(mxu, xu, out=du)
            copyto(idx, du)

        if self.quant == "int16":
            return self.bind_int16(x, o, mx, idx, acc, col, diffs)
        sum_table, exp_table, bits, lo = self.sum_table, self.exp_table, self.out_bits, self.out_min
        top = self.out_max - lo  # the result before adding the type's minimum is >= 0
        few = rows <= FEW_ROWS8
        generic = cols >= GENERIC_COLS

        if rows == 1 and not generic:
            s = col.reshape(-1)

            def step_row() -> None:
                maxred(x, axis=1, keepdims=True, out=mx)
                diffs()
                take(sum_table, idx, out=acc, mode="wrap")
                addred(acc, axis=1, keepdims=True, out=col)
                m, c1, sh = reciprocal8_int(s.item(0), bits)
                take(exp_table, idx, out=acc, mode="wrap")
                multiply(acc, m, out=acc)
                add(acc, c1, out=acc)
                right_shift(acc, sh, out=acc)
                minimum(acc, top, out=acc)
                add(acc, lo, out=acc)
                copyto(o, acc, casting="unsafe")

            return step_row
        # per-row factors (one value per row; filled at each invoke, allocated once here)
        mul, c1, sh = (np.zeros((rows, 1), np.int64) for _ in range(3))
        if generic:
            factors = reference_factors8(col, mul, c1, sh, bits)
        elif few:
            def factors() -> None:
                for r, v in enumerate(col[:, 0].tolist()):
                    mul[r, 0], c1[r, 0], sh[r, 0] = reciprocal8_int(v, bits)
        else:
            factors = reciprocal8_rows(col, mul, c1, sh, bits)

        def step8() -> None:
            maxred(x, axis=1, keepdims=True, out=mx)
            diffs()
            take(sum_table, idx, out=acc, mode="wrap")
            addred(acc, axis=1, keepdims=True, out=col)
            factors()
            take(exp_table, idx, out=acc, mode="wrap")
            multiply(acc, mul, out=acc)
            add(acc, c1, out=acc)
            right_shift(acc, sh, out=acc)
            minimum(acc, top, out=acc)
            add(acc, lo, out=acc)
            copyto(o, acc, casting="unsafe")

        return step8

    def bind_int16(self, x: np.ndarray, o: np.ndarray, mx: np.ndarray, idx: np.ndarray, acc: np.ndarray,
                   col: np.ndarray, diffs: Step) -> Step:
        exp_table, recip_lut, rows = self.exp_table, self.recip_lut, self.rows
        recip_list = recip_lut.tolist()
        mul, rnd, shift = (np.zeros((rows, 1), np.int64) for _ in range(3))
        maxred, addred = np.maximum.reduce, np.add.reduce

        def row_factors() -> None:
            if rows <= FEW_ROWS:
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

        # exps and reciprocals are >= 0 (checked at prepare), so only the top needs clamping
        lower = (lambda: np.maximum(acc, 0, out=acc)) if self.clamp_low else (lambda: None)

        def step16() -> None:
            maxred(x, axis=1, keepdims=True, out=mx)
            diffs()
            np.take(exp_table, idx, out=acc, mode="wrap")
            addred(acc, axis=1, keepdims=True, out=col)
            row_factors()
            np.multiply(acc, mul, out=acc)
            np.add(acc, rnd, out=acc)
            np.right_shift(acc, shift, out=acc)
            lower()
            np.minimum(acc, 32767, out=acc)
            np.copyto(o, acc, casting="unsafe")

        return step16

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


# --- the 8-bit per-row factors --------------------------------------------------------------------
# The output is ``((exp * scale + 2**30) >> 31 + 2**(e-1)) >> e``, TFLite's srdhm then rounding
# shift; floor shifts compose, so it is computed as ``(exp * scale + c1) >> (31 + e)`` with
# ``c1 = 2**30 + 2**(e-1) * 2**31`` (below 2**63 for e <= 32).  An exponent above 32 gives 0
# either way (the srdhm result is below 2**31), so it is capped at 32.
def _factors(scale: int, e: int) -> tuple[int, int, int]:
    e = min(e, 32)
    return scale, (1 << 30) + (((1 << e) >> 1) << 31), 31 + e


def reciprocal8_int(s: int, bits: int) -> tuple[int, int, int]:
    """(multiplier, c1, shift) of a row whose Q12.19 sum of exps is ``s`` in [2**19, 2**31).

    TFLite's ``GetReciprocal(s, 12)``: with ``hpo`` the leading zeros of ``s`` (1 to 12 here)
    the shifted sum ``(s << hpo) - 2**31`` is in [0, 2**31), so gemmlowp's
    ``RoundingHalfSum(a, 1)`` is ``s << (hpo - 1)`` and the Newton-Raphson steps of
    ``one_over_one_plus_x_for_x_in_0_1`` neither wrap nor saturate (checked for every possible
    half denominator against the general form, ``_qnonlinear.get_reciprocal``)."""
    hpo = 32 - s.bit_length()
    half = s << (hpo - 1)
    x = 1515870810 + ((half * -1010580540 + (1 << 30)) >> 31)
    for _ in range(3):
        om = (1 << 29) - ((half * x + (1 << 30)) >> 31)
        x += ((x * om + (1 << 30)) >> 31) << 2
    return _factors(min(x << 1, INT32_MAX), 12 - hpo + 31 - bits)


def reciprocal8_rows(col: np.ndarray, mul: np.ndarray, c1: np.ndarray, sh: np.ndarray, bits: int) -> Step:
    """``reciprocal8_int`` on every row sum of ``col`` at once, into ``mul`` / ``c1`` / ``sh``,
    through arrays of one value per row allocated here (the step allocates nothing)."""
    f = np.zeros(col.shape, np.float64)
    ex = np.zeros(col.shape, np.int32)
    k, half, x, t = (np.zeros(col.shape, np.int64) for _ in range(4))
    multiply, add, right_shift, left_shift = np.multiply, np.add, np.right_shift, np.left_shift
    r30 = 1 << 30

    def step() -> None:
        np.copyto(f, col)
        np.frexp(f, out=(f, ex))  # col in [2**(ex-1), 2**ex): leading zeros 32 - ex
        np.subtract(31, ex, out=k)  # hpo - 1
        left_shift(col, k, out=half)
        multiply(half, -1010580540, out=x)
        add(x, r30, out=x)
        right_shift(x, 31, out=x)
        add(x, 1515870810, out=x)
        for _ in range(3):
            multiply(half, x, out=t)
            add(t, r30, out=t)
            right_shift(t, 31, out=t)
            np.subtract(1 << 29, t, out=t)
            multiply(x, t, out=t)
            add(t, r30, out=t)
            right_shift(t, 31, out=t)
            left_shift(t, 2, out=t)
            add(x, t, out=x)
        left_shift(x, 1, out=mul)
        np.minimum(mul, INT32_MAX, out=mul)
        # e = 12 - hpo + 31 - bits = ex + 11 - bits, capped at 32; c1 = 2**30 + 2**(e + 30)
        add(ex, 11 - bits, out=k)
        np.minimum(k, 32, out=k)
        add(k, 31, out=sh)
        add(k, 30, out=c1)
        left_shift(1, c1, out=c1)
        add(c1, r30, out=c1)

    return step


def reference_factors8(col: np.ndarray, mul: np.ndarray, c1: np.ndarray, sh: np.ndarray, bits: int) -> Step:
    """The factors from the general ``get_reciprocal`` (row sums that may wrap int32: rows of
    ``GENERIC_COLS`` or more), allocating arrays of one value per row."""

    def step() -> None:
        scale, over = qn.get_reciprocal(qn.wrap32(col), 12)
        e = np.clip(over + 31 - bits, 1, 32)
        mul[...] = scale
        sh[...] = 31 + e
        c1[...] = (np.int64(1) << 30) + (np.int64(1) << (e + 30))

    return step
