"""Quantized forms of the broadcasting binary ops (ADD, SUB, MUL, SQUARED_DIFFERENCE), bit-exact
with LiteRT's reference kernels.

1. Each op states its integer arithmetic once, as a vectorised function ``raw(a, b)`` of the
   stored input values (int64 arrays) giving the unclamped output value (output zero point
   included), written with ``numlite.ops.quant`` exactly as TFLite's reference kernel computes it
   element by element (``add.h``, ``sub.h``, ``mul.h``, ``squared_difference.cc``).
2. 8-bit inputs (int8, uint8): the output depends only on the pair of stored bytes, so prepare
   evaluates ``raw`` on all 65536 pairs once, clamps to the fused activation's quantized range
   and keeps a 64 KiB table.  Invoke builds ``(byte(a) << 8) | byte(b)`` into a uint16 scratch
   of the output's shape (broadcasting) and gathers from the table into the output view through
   a small ``intp`` chunk (``_qnonlinear.lut_step``): exact by construction, nothing allocated.
3. 16-bit inputs: ADD / SUB (general path) gather each input's rescaled value from a
   65536-entry table made at prepare into int64 scratch, add or subtract them (broadcasting)
   and requantize in place (``quant.requantize_into``), then clamp and copy into the output
   view: no allocation.  The other 16-bit forms (MUL, the power-of-two and legacy paths) run
   ``raw`` on the broadcast inputs at invoke, which allocates its temporaries.
4. DIV (``div.py``) uses the helpers at the end: TFLite's CountLeadingSignBits and gemmlowp's
   RoundingDivideByPOT with the out-of-range exponents LiteRT's DIV produces, as x86-64 runs it.
5. ``quantized_activation_range`` is TFLite's CalculateActivationRangeQuantized
   (``quant.activation_range_quantized``) with the error reported through ``ctx``.  The shared
   helpers (``all_values``, ``checked_log2``, requantization) come from ``quant``.

Limits: left shifts of products that overflow int32 saturate here where C++ would wrap (only
reachable with multipliers above 2**14, which no converter produces).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import quant
from ._qnonlinear import CHUNK, count_leading_zeros32, lut_step
from .base import PrepareContext, Step, TensorSpec
from .quant import all_values as all_values  # also imported from here by QUANTIZE
from .quant import checked_log2

Raw = Callable[[np.ndarray, np.ndarray], np.ndarray]


def type_range(dtype: Any) -> tuple[int, int]:
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def quantized_activation_range(ctx: PrepareContext, act: int, out: TensorSpec) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for output ``out`` (int8 / uint8 / int16)."""
    try:
        return quant.activation_range_quantized(act, out.dtype, out.quantization.scale, out.quantization.zero_point)
    except ValueError as e:
        ctx.fail(str(e))


def multiplier_below_one(ctx: PrepareContext, m: float, what: str) -> tuple[int, int]:
    """QuantizeMultiplierSmallerThanOneExp: LiteRT aborts unless ``0 < m < 1``."""
    if not 0.0 < m < 1.0:
        ctx.fail(f"the {what} multiplier {m:.6g} must lie in (0, 1) (LiteRT's kernel aborts on these "
                 "quantization parameters)")
    q, s = quant.quantize_multiplier(m)
    return int(q), int(s)


def any_multiplier(m: float) -> tuple[int, int]:
    q, s = quant.quantize_multiplier(m)
    return int(q), int(s)


def require_quantized(ctx: PrepareContext, specs: list[TensorSpec]) -> None:
    for s in specs:
        if not s.quantization.is_quantized:
            ctx.fail(f"{s.describe()} has no quantization parameters; the {np.dtype(s.dtype).name} form of this "
                     "op is quantized")
        if s.quantization.scales.size != 1:
            ctx.fail(f"{s.describe()} is quantized per channel; this op takes per-tensor quantization")


def require_zero_points_in_range(ctx: PrepareContext, specs: list[TensorSpec], dtype: Any) -> None:
    lo, hi = type_range(dtype)
    for s in specs:
        if not lo <= s.quantization.zero_point <= hi:
            ctx.fail(f"{s.describe()} zero point {s.quantization.zero_point} is outside the "
                     f"{np.dtype(dtype).name} range")


def require_zero_points_zero(ctx: PrepareContext, specs: list[TensorSpec]) -> None:
    for s in specs:
        if s.quantization.zero_point != 0:
            ctx.fail(f"{s.describe()} has zero point {s.quantization.zero_point}; int16 quantization is symmetric "
                     "(zero point 0)")


def rescale_input(v: np.ndarray, offset: int, left_shift: int, q: int, shift: int) -> np.ndarray:
    """``MultiplyByQuantizedMultiplierSmallerThanOneExp((v + offset) << left_shift, q, shift)``."""
    return quant.multiply_by_quantized_multiplier((v.astype(np.int64) + offset) << left_shift, q, shift).astype(
        np.int64)


class QuantizedStep:
    """What a quantized binary kernel prepared: ``raw``, the clamp range and the output dtype.

    ``lut`` (8-bit inputs) is built here; ``bind`` returns the invoke step."""

    def __init__(self, ctx: PrepareContext, a: TensorSpec, b: TensorSpec, raw: Raw, lo: int, hi: int,
                 out_dtype: Any, gather: Gather | None = None):
        self.raw, self.lo, self.hi, self.out_dtype = raw, lo, hi, np.dtype(out_dtype)
        self.in_dtype = np.dtype(a.dtype)
        self.out_shape = ctx.outputs[0].shape
        self.lut: np.ndarray | None = None
        self.gather = gather if self.in_dtype.itemsize == 2 else None
        if self.gather is not None:
            self.slots = [ctx.scratch(a.shape, np.int64), ctx.scratch(b.shape, np.int64),
                          ctx.scratch(self.out_shape, np.int64), ctx.scratch(self.out_shape, np.int64)]
        if self.in_dtype.itemsize == 1:
            v = all_values(self.in_dtype)
            table = raw(np.repeat(v, 256), np.tile(v, 256))
            self.lut = np.clip(table, lo, hi).astype(self.out_dtype)
            self.idx = ctx.scratch(self.out_shape, np.uint16)
            self.b16 = ctx.scratch(b.shape, np.uint16)
            self.chunk = ctx.scratch((max(1, min(int(np.prod(self.out_shape)), CHUNK)),), np.intp)

    def bind(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        if self.lut is not None:
            lut, idx, b16 = self.lut, scratch[self.idx], scratch[self.b16]
            ua, ub = a.view(np.uint8), b.view(np.uint8)
            gather = lut_step(lut, idx, out, scratch[self.chunk])

            def step8() -> None:
                # widen by copies (plain cast loops); a mixed-type ufunc would allocate cast buffers
                np.copyto(idx, ua, casting="unsafe")
                np.copyto(b16, ub, casting="unsafe")
                np.left_shift(idx, np.uint16(8), out=idx)  # typed: NumPy 1 promotes a 0-d idx with 8 to int64
                np.bitwise_or(idx, b16, out=idx)
                gather()

            return step8
        if self.gather is not None:
            return self.bind_gather(a, b, out, [scratch[i] for i in self.slots])
        raw, lo, hi, shape = self.raw, self.lo, self.hi, self.out_shape

        def step16() -> None:
            r = raw(a, b)
            if type(r) is np.ndarray:
                np.clip(r, lo, hi, out=r)
            else:  # 0-d inputs: NumPy's arithmetic on them gives a scalar
                r = np.clip(r, lo, hi)
            np.copyto(out, np.broadcast_to(r, shape), casting="unsafe")

        return step16

    def bind_gather(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, s: list[np.ndarray]) -> Step:
        assert self.gather is not None
        t1, t2, sign, q, shift, oo = self.gather
        ta, tb, acc, tmp = s
        ua, ub = a.view(np.uint16), b.view(np.uint16)
        combine = np.add if sign > 0 else np.subtract
        lo, hi = self.lo, self.hi
        requant = quant.Requantizer(q, shift)

        def step() -> None:
            np.take(t1, ua, out=ta, mode="wrap")
            np.take(t2, ub, out=tb, mode="wrap")
            combine(ta, tb, out=acc)
            requant(acc, tmp)
            np.add(acc, oo, out=acc)
            np.clip(acc, lo, hi, out=acc)
            np.copyto(out, acc, casting="unsafe")

        return step


#: (table 1, table 2, sign, multiplier, shift, output zero point) of ADD / SUB's general path
Gather = tuple[np.ndarray, np.ndarray, int, int, int, int]


def add_sub_raw(ctx: PrepareContext, a: TensorSpec, b: TensorSpec, out: TensorSpec, sign: int,
                left_shift: int, greater_than_one_ok: bool) -> tuple[Raw, Gather | None]:
    """The general ADD / SUB path (TFLite add.cc / sub.cc prepare, reference AddElementwise)."""
    s1, s2, so = (np.float32(t.quantization.scale) for t in (a, b, out))
    twice_max = float(np.float32(2) * max(s1, s2))  # float arithmetic, then widened, as in C++
    m1 = multiplier_below_one(ctx, float(s1) / twice_max, "input 1")
    m2 = multiplier_below_one(ctx, float(s2) / twice_max, "input 2")
    real_out = twice_max / float(np.float32(1 << left_shift) * so)
    above_one = greater_than_one_ok and real_out > 1
    mo = any_multiplier(real_out) if above_one else multiplier_below_one(ctx, real_out, "output")
    o1, o2, oo = -a.quantization.zero_point, -b.quantization.zero_point, out.quantization.zero_point
    bits = np.dtype(a.dtype).itemsize * 8
    # the rescaled input depends on one stored value only: tabulate it (65536 entries at most)
    v = all_values(a.dtype)
    t1 = rescale_input(v, o1, left_shift, *m1)
    t2 = rescale_input(v, o2, left_shift, *m2)
    ut = np.uint8 if bits == 8 else np.uint16

    def raw(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        xa = t1[np.asarray(x).astype(a.dtype).view(ut)]
        ya = t2[np.asarray(y).astype(a.dtype).view(ut)]
        acc = xa + ya if sign > 0 else xa - ya
        if above_one:
            return _smaller_than_one_with_left_shift(acc, *mo) + oo
        return quant.multiply_by_quantized_multiplier(acc, *mo).astype(np.int64) + oo

    return raw, (None if above_one else (t1, t2, sign, mo[0], mo[1], oo))


def _smaller_than_one_with_left_shift(x: np.ndarray, q: int, shift: int) -> np.ndarray:
    """What LiteRT's reference SUB computes when its output multiplier exceeds 1 (measured).

    SUB encodes such a multiplier with a positive shift but still applies it through
    MultiplyByQuantizedMultiplierSmallerThanOneExp, i.e. RoundingDivideByPOT with exponent
    ``-shift``.  On x86-64 the int32 shift count is taken mod 32 and the 64-bit mask mod 64, so
    the mask is all ones and the result is ``(h >> (32 - shift)) + (h >= 0)`` with ``h`` the
    rounding doubling high product: not a rescaling at all, but what the oracle does."""
    h = quant.saturating_rounding_doubling_high_mul(x, q)
    return (h >> (32 - shift)) + (h >= 0)


def add_sub_pot_raw(ctx: PrepareContext, a: TensorSpec, b: TensorSpec, out: TensorSpec, sign: int) -> Raw | None:
    """The int16 power-of-two-scale path (LSTM-style), or None when a scale is not a power of two."""
    pots = [checked_log2(t.quantization.scale) for t in (a, b, out)]
    if not all(ok for ok, _ in pots):
        return None
    sh1, sh2 = pots[0][1] - pots[2][1], pots[1][1] - pots[2][1]
    if not (sh1 == 0 or sh2 == 0) or sh1 > 0 or sh2 > 0:
        ctx.fail(f"power-of-two int16 scales need one input at the output's scale and the other at a smaller one "
                 f"(input shifts {sh1}, {sh2})")

    def raw(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        xa = quant.rounding_divide_by_pot(np.asarray(x, np.int64), -sh1)
        ya = quant.rounding_divide_by_pot(np.asarray(y, np.int64), -sh2)
        return xa + ya if sign > 0 else xa - ya

    return raw


# --- fixed point of the quantized DIV (reference div.h), as x86-64 executes it ------------------
def count_leading_sign_bits32(x: np.ndarray) -> np.ndarray:
    """TFLite's CountLeadingSignBits of int32 values held in int64 (31 for 0 and -1)."""
    x = np.asarray(x, np.int64)
    return count_leading_zeros32(x ^ (x >> 63)) - 1


def x86_shift_tables() -> tuple[np.ndarray, np.ndarray]:
    """For ``e & 63``: the int32 mask ``(1ll << e) - 1`` (sign-extended) and ``mask >> 1``.

    gemmlowp's RoundingDivideByPOT assumes ``0 <= exponent <= 31``; LiteRT's quantized DIV
    passes exponents outside that range, and x86-64 takes the 64-bit shift count of the mask
    mod 64 and the 32-bit shift count of the value mod 32 (measured: LiteRT's reference kernel
    agrees bit for bit with this, not with the intended division)."""
    e = np.arange(64, dtype=np.uint64)
    m = ((np.uint64(1) << e) - np.uint64(1)) & np.uint64(0xFFFFFFFF)
    mask = m.astype(np.int64)
    mask = np.where(mask >= 2**31, mask - 2**32, mask)
    return mask, mask >> 1


def rounding_divide_by_pot_x86(x: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """gemmlowp's RoundingDivideByPOT(int32 x, exponent) for any int exponent, as x86-64 runs it."""
    x = np.asarray(x, np.int64)
    e = np.asarray(exponent, np.int64) & 63
    masks, halves = x86_shift_tables()
    mask, half = masks[e], halves[e]
    return (x >> (e & 31)) + ((x & mask) > half + (x < 0))
