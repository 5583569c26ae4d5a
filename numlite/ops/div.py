"""DIV: elementwise quotient with broadcasting and fused activation (float32, int32, quantized
uint8 / int8 / int16).

1. float32: IEEE division (x/0 gives +-inf, 0/0 nan, silently), then the activation.
2. int32: C semantics as in LiteRT's kernel: the quotient is truncated toward zero (-7 / 2 = -3).
   Computed as a float64 division then a C cast (which truncates), about ten times faster than
   NumPy's integer division.  Exact: a non-integer quotient a/b lies at least 1/|b| from every
   integer while float64 rounding moves it by at most |a/b| * 2**-53 < 2**-22 / |b|, so the
   truncation never crosses an integer.  One float64 scratch buffer of the output's shape.
3. A zero int32 divisor is an error, as in LiteRT: at prepare when the divisor is a constant,
   else a RuntimeError from invoke naming op and node.  ``INT32_MIN / -1`` wraps to INT32_MIN.

Quantized (uint8, int8, int16; LiteRT 2.3's reference ``DivElementwise``, every shape, broadcast
or not, int16 included):

4. Prepare: per-tensor quantization on all three tensors, the output of the inputs' type,
   zero points within the type; the multiplier ``s1 / (s2 * s_out)`` (float32, as LiteRT) is
   encoded with ``quantize_multiplier`` (any size); the fused activation's quantized clamp.
5. Per element: ``v1 = a - z1``, ``v2 = b - z2``; signs flipped together so ``v2 > 0``; the
   reciprocal of ``v2`` in Q0.31 with its exponent (``GetReciprocal``), ``v1`` normalised by its
   leading sign bits, their rounding doubling high product, times the output multiplier, then
   ``RoundingDivideByPOT`` by ``headroom + recip_shift - out_shift``.  That exponent often leaves
   0..31 (whenever the multiplier is below about 1): LiteRT then computes with x86's masked
   shift counts, far from the true quotient; numlite reproduces it bit for bit
   (``_qbinary.rounding_divide_by_pot_x86``).  Output zero point added (int32 wrap), clamped.
6. A divisor element equal to its zero point (real 0) is an error, as in LiteRT ("data[i] !=
   zero_point"): at prepare for a constant divisor, else a RuntimeError from invoke naming op
   and node, before anything is written.
7. int8 / uint8: the result is a function of the byte pair, tabulated at prepare (64 KiB, see
   ``_qbinary.QuantizedStep``).  int16: per-value tables (reciprocal and exponent per divisor
   value, normalised dividend and headroom per dividend value and sign) gathered into int64
   scratch; invoke allocates nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _qnonlinear as qn
from ._binary import BinaryKernel
from ._qbinary import (
    QuantizedStep,
    any_multiplier,
    count_leading_sign_bits32,
    quantized_activation_range,
    require_quantized,
    require_zero_points_in_range,
    rounding_divide_by_pot_x86,
    x86_shift_tables,
)
from .base import PrepareContext, Step, TensorSpec, no_fp_warnings
from .registry import register

HALF31 = 1 << 30


def _srdhm_positive(x: np.ndarray, m: Any) -> np.ndarray:
    """SaturatingRoundingDoublingHighMul(x, m) for ``m > 0`` (never saturates):
    ``floor((x * m + 2**30) / 2**31)`` equals gemmlowp's nudge-and-truncate."""
    return (np.asarray(x, np.int64) * m + HALF31) >> 31


def divisor_tables(v2: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per divisor value ``v2 = b - z2`` (int64): (negated?, reciprocal, exponent part
    ``recip_shift - out_shift``).  ``v2 = 0`` (rejected at invoke) gets harmless entries."""
    neg = v2 < 0
    mag = np.where(v2 == 0, 1, np.abs(v2))
    inv, recip_shift = qn.get_reciprocal(mag, 31)
    return neg, inv, recip_shift - shift


def dividend_tables(v1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per dividend value ``v1`` (int64): ``v1 << headroom`` and the headroom (leading sign bits)."""
    h = count_leading_sign_bits32(v1)
    return qn.wrap32(v1 << h), h


def div_raw(a: np.ndarray, b: np.ndarray, off1: int, off2: int, oo: int, mult: int, shift: int) -> np.ndarray:
    """TFLite's quantized DivElementwise on int64 arrays of stored values (unclamped, int32-wrapped)."""
    v1 = np.asarray(a, np.int64) + off1
    v2 = np.asarray(b, np.int64) + off2
    neg, inv, eb = divisor_tables(v2, shift)
    x, h = dividend_tables(np.where(neg, -v1, v1))
    q = _srdhm_positive(_srdhm_positive(x, inv), mult)
    return qn.wrap32(rounding_divide_by_pot_x86(q, h + eb) + oo)


class QuantizedDiv(QuantizedStep):
    """The quantized DIV step: the divisor check, then the 8-bit table or the int16 gathers."""

    def __init__(self, ctx: PrepareContext, a: TensorSpec, b: TensorSpec, out: TensorSpec, lo: int, hi: int,
                 where: str):
        q1, q2, qo = a.quantization, b.quantization, out.quantization
        f32 = np.float32
        with np.errstate(all="ignore"):
            real = float(f32(q1.scale) / (f32(q2.scale) * f32(qo.scale)))
        if not (np.isfinite(real) and real > 0):
            ctx.fail(f"scales {q1.scale:g} / ({q2.scale:g} * {qo.scale:g}) give no usable multiplier")
        mult, shift = any_multiplier(real)
        off1, off2, oo = -int(q1.zero_point), -int(q2.zero_point), int(qo.zero_point)
        self.zp2 = np.dtype(b.dtype).type(q2.zero_point)
        self.where = where
        if b.value is not None and np.any(b.value == self.zp2):
            ctx.fail(f"divisor {b.describe()} is a constant containing its zero point {q2.zero_point} (a real 0: "
                     "division by zero)")

        def raw(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            return div_raw(x, y, off1, off2, oo, mult, shift)

        super().__init__(ctx, a, b, raw, lo, hi, out.dtype)
        self.flag_b = ctx.scratch(b.shape, np.bool_)
        if self.lut is not None:
            return
        # int16: tables indexed by the stored value's bit pattern (uint16 view)
        v = qn.all_values(a.dtype)
        neg, inv, eb = divisor_tables(v + off2, shift)
        self.b_off = np.where(neg, 65536, 0).astype(np.int64)
        self.b_inv, self.b_exp = inv.astype(np.int64), eb.astype(np.int64)
        x, h = dividend_tables(np.concatenate([v + off1, -(v + off1)]))
        self.a_x, self.a_h = x.astype(np.int64), h.astype(np.int64)
        self.masks, self.halves = x86_shift_tables()
        self.mult, self.oo = mult, oo
        shape = self.out_shape
        self.s16 = [ctx.scratch(shape, np.int64) for _ in range(4)] + [ctx.scratch(b.shape, np.intp),
                                                                       ctx.scratch(b.shape, np.int64)]

    def bind(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        flag_b, zp2, where = scratch[self.flag_b], self.zp2, self.where

        def check() -> None:
            np.equal(b, zp2, out=flag_b)
            if flag_b.any():
                raise RuntimeError(f"{where}: division by zero (the divisor tensor contains its zero point "
                                   f"{int(zp2)}, a real 0)")

        compute = super().bind(a, b, out, scratch) if self.lut is not None else self.bind16(a, b, out, scratch)

        def step() -> None:
            check()
            compute()

        return step

    def bind16(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        idx, t1, t2, t3, bi, tb = (scratch[i] for i in self.s16)
        au, bu = a.view(np.uint16), b.view(np.uint16)
        b_off, b_inv, b_exp, a_x, a_h = self.b_off, self.b_inv, self.b_exp, self.a_x, self.a_h
        masks, halves, mult, oo, lo, hi = self.masks, self.halves, self.mult, self.oo, self.lo, self.hi

        # int64 throughout: ufuncs on mixed types would allocate cast buffers; copies do not
        def step() -> None:
            np.copyto(bi, bu, casting="unsafe")
            # index of (dividend value, divisor sign) in the dividend tables
            np.take(b_off, bi, out=tb, mode="wrap")
            np.copyto(idx, au, casting="unsafe")
            np.add(idx, tb, out=idx)
            np.take(a_x, idx, out=t1, mode="wrap")
            # two rounding doubling high products: by the reciprocal, by the output multiplier
            np.take(b_inv, bi, out=tb, mode="wrap")
            np.multiply(t1, tb, out=t1)
            np.add(t1, HALF31, out=t1)
            np.right_shift(t1, 31, out=t1)
            np.multiply(t1, mult, out=t1)
            np.add(t1, HALF31, out=t1)
            np.right_shift(t1, 31, out=t1)
            # exponent = headroom + recip_shift - out_shift, taken mod 64 (mask) and mod 32 (shift)
            np.take(a_h, idx, out=t2, mode="wrap")
            np.take(b_exp, bi, out=tb, mode="wrap")
            np.add(t2, tb, out=idx)
            np.bitwise_and(idx, 63, out=idx)
            # round up when remainder > (mask >> 1) + (x < 0): rem - half - neg > 0 as 0 / 1
            np.take(masks, idx, out=t2, mode="wrap")
            np.bitwise_and(t2, t1, out=t2)
            np.take(halves, idx, out=t3, mode="wrap")
            np.subtract(t2, t3, out=t2)
            np.right_shift(t1, 63, out=t3)  # -1 where x < 0
            np.add(t2, t3, out=t2)
            np.subtract(t2, 1, out=t2)
            np.right_shift(t2, 63, out=t2)
            np.add(t2, 1, out=t2)
            np.bitwise_and(idx, 31, out=idx)
            np.right_shift(t1, idx, out=t1)
            np.add(t1, t2, out=t1)
            # + output zero point with int32 wrap-around, clamp
            np.add(t1, oo + 2**31, out=t1)
            np.bitwise_and(t1, 0xFFFFFFFF, out=t1)
            np.subtract(t1, 2**31, out=t1)
            np.clip(t1, lo, hi, out=t1)
            np.copyto(out, t1, casting="unsafe")

        return step


@register("DIV", versions=range(1, 3))
class Div(BinaryKernel):
    options_table = "DivOptions"
    dtypes = (np.float32, np.int32)
    qdtypes = (np.int8, np.uint8, np.int16)
    ieee_specials = True
    ufunc = np.divide

    def prepare_quantized(self, ctx: PrepareContext, a: TensorSpec, b: TensorSpec, out: TensorSpec) -> QuantizedStep:
        require_quantized(ctx, [a, b, out])
        if np.dtype(out.dtype) != np.dtype(a.dtype):
            ctx.fail(f"output {out.describe()} has type {np.dtype(out.dtype).name}; the op computes "
                     f"{np.dtype(a.dtype).name}")
        require_zero_points_in_range(ctx, [a, b, out], a.dtype)
        lo, hi = quantized_activation_range(ctx, self.act, out)
        return QuantizedDiv(ctx, a, b, out, lo, hi, f"{self.node.op_name} (node {self.node.index})")

    def setup(self, ctx: PrepareContext, a: TensorSpec, b: TensorSpec) -> None:
        self.where = f"{self.node.op_name} (node {self.node.index})"
        if self.is_float:
            return
        if b.value is not None and np.count_nonzero(b.value) != b.value.size:
            ctx.fail(f"divisor {b.describe()} is a constant containing 0 (integer division by zero)")
        self.tmp = ctx.scratch(ctx.outputs[0].shape, np.float64)

    def compute_with(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        if self.is_float:
            return self.compute(a, b, out)
        t, where, size = scratch[self.tmp], self.where, b.size

        def int_div() -> None:
            if np.count_nonzero(b) != size:
                raise RuntimeError(f"{where}: integer division by zero (the divisor tensor contains 0)")
            np.divide(a, b, out=t)
            np.copyto(out, t, casting="unsafe")

        return no_fp_warnings(int_div)
