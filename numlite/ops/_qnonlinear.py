"""Lookup tables and gemmlowp fixed-point routines of TFLite's quantized nonlinear kernels.

The quantized elementwise ops (LOGISTIC, TANH, HARD_SWISH, RSQRT, LEAKY_RELU, RELU, ...) map
each representable input value to one output value, so numlite evaluates TFLite's reference
computation once per input value at prepare time and the invoke step is a table lookup:

1. ``all_values``, ``round_half_away``, ``checked_log2`` and ``libm`` (the C library's
   ``expf`` / ``tanhf`` / ``logf`` / ``expm1f`` through ctypes: LiteRT calls the system libm,
   whose float functions are not always correctly rounded) live in ``quant`` and are
   re-exported here for the kernels that use them as ``qn.<name>``.
2. ``lut8_populate``: TFLite's ``LUTPopulate<int8/uint8>``: dequantize in float32, the float32
   transform, ``roundf(y * (1 / out_scale)) + out_zp`` truncated to int32 (an out-of-range float
   becomes INT32_MIN, as x86 ``cvttss2si`` does, or saturates where a kernel's compiled table
   was measured to: ``saturate=True``, ELU), clamped.
3. ``lut16_populate`` / ``lut16_lookup``: ``LUTPopulate<int16>`` (513 entries, a bias that
   centres the interpolation error, in float32 or float64 as the kernel asks) and the
   interpolating ``LUTLookup``.  As compiled C: an entry that is nan in float (an overflowing
   transform, e.g. EXP) becomes 0, and the int16 slope between entries wraps.
4. gemmlowp fixed point on int64 arrays holding int32 values: ``exp_on_negative_values``,
   ``one_over_one_plus_x_for_x_in_0_1``, ``rounding_half_sum``, saturating shifts, and the
   16-bit ``srdhm16`` / ``rdpot`` of the HARD_SWISH kernel.
5. ``lut_step``: the allocation-free invoke step, ``np.take`` through a small ``intp`` chunk
   scratch (``np.take`` would otherwise convert the whole index array to ``intp``), with
   ``mode="wrap"`` (indices are always in range; ``"raise"`` buffers the output).
6. ``requantize_inplace``: the old name of ``quant.requantize_into`` (TFLite's double-rounding
   MultiplyByQuantizedMultiplier in place on int64 scratch, allocating nothing).

Everything here runs at prepare time except ``lut_step``, ``requantize_inplace`` and the row
helpers used by SOFTMAX, which work on one value per row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .quant import INT32_MAX, INT32_MIN, requantize_into, rounding_divide_by_pot, saturating_rounding_doubling_high_mul

# shared helpers, re-exported for the kernels that reach them as ``qn.<name>``
from .quant import all_values as all_values
from .quant import checked_log2 as checked_log2
from .quant import libm as libm
from .quant import round_half_away as round_half_away

CHUNK = 1 << 14  # elements per np.take call of LutStep (16k intp = 128 KiB scratch)


def float_to_int32(x: Any) -> np.ndarray:
    """C's ``static_cast<int32_t>(float)`` on x86: truncation; nan / out of range -> INT32_MIN."""
    x = np.asarray(x, np.float64)
    ok = np.isfinite(x) & (x > -2147483649.0) & (x < 2147483648.0)
    return np.where(ok, np.trunc(np.where(ok, x, 0.0)), INT32_MIN).astype(np.int64)


# --- 8-bit tables ---------------------------------------------------------------------------
def lut8_populate(fn: Callable[[np.ndarray], np.ndarray], in_scale: float, in_zp: int, out_scale: float,
                  out_zp: int, dtype: Any, saturate: bool = False) -> np.ndarray:
    """TFLite's ``LUTPopulate<int8_t / uint8_t>``; ``fn`` maps float32 arrays to float32 arrays.
    Returns int64 results indexed by the input's unsigned bit pattern.

    The float-to-int32 cast of a value beyond int32 is undefined in C, so what LiteRT gives
    depends on how each call site was compiled: INT32_MIN (x86's ``cvttss2si``) by default, or,
    with ``saturate``, the type's bound on the value's side (measured for ELU's table: the
    compiler clamps in float before converting)."""
    info = np.iinfo(dtype)
    v = all_values(dtype)
    f32 = np.float32
    deq = f32(in_scale) * (v - int(in_zp)).astype(f32)
    y = np.asarray(fn(deq), f32)
    inv = f32(1) / f32(out_scale)
    with np.errstate(all="ignore"):
        rescaled = round_half_away(y * inv) + f32(out_zp)
        if saturate:
            np.clip(rescaled, f32(info.min), f32(info.max), out=rescaled)
        q = float_to_int32(rescaled)
    return np.clip(q, info.min, info.max)


# --- 16-bit interpolating tables -------------------------------------------------------------
def lut16_populate(fn: Callable[[np.ndarray], np.ndarray], in_scale: float, in_zp: int, out_scale: float,
                   out_zp: int, ftype: Any = np.float32) -> np.ndarray:
    """TFLite's 513-entry ``LUTPopulate<int16_t>`` computed in ``ftype`` (float32, or float64 for
    the legacy double form); ``fn`` maps ``ftype`` arrays to ``ftype`` arrays.  int64 result."""
    t = np.dtype(ftype).type
    lo, hi = -32768, 32767
    in_min = t(in_scale) * t(lo - in_zp)
    in_max = t(in_scale) * t(hi - in_zp)
    out_min = t(out_scale) * t(lo - out_zp)
    out_max = t(out_scale) * t(hi - out_zp)
    steps = 512
    step = (in_max - in_min) / t(steps)
    half = step / t(2)
    inv = t(65536) / (out_max - out_min)
    i = np.arange(steps).astype(ftype)
    with np.errstate(all="ignore"):
        val = np.asarray(fn(in_min + i * step), ftype)
        mid = np.asarray(fn(in_min + i * step + half), ftype)
        nxt = np.asarray(fn(in_min + (i + t(1)) * step), ftype)
        sample = round_half_away(val * inv)
        interp = round_half_away((nxt * inv + round_half_away(val * inv)) / t(2))
        mid_val = round_half_away(mid * inv)
        bias = round_half_away((interp - mid_val) / t(2))
        body = np.clip(sample - bias, t(lo), t(hi))
        last = np.clip(round_half_away(np.asarray(fn(np.array([in_max], ftype)), ftype) * inv), t(lo), t(hi))
        table = np.concatenate([body, last])
    # an overflowing transform makes inf - inf = nan entries; C's float -> int16 cast goes
    # through int32 (cvttss2si gives INT32_MIN) and keeps the low 16 bits: 0
    return np.where(np.isnan(table), table.dtype.type(0), table).astype(np.int64)


def wrap16(x: np.ndarray) -> np.ndarray:
    return ((x + 32768) & 0xFFFF) - 32768


def wrap32(x: np.ndarray) -> np.ndarray:
    return ((x + 2**31) & 0xFFFFFFFF) - 2**31


def lut16_lookup(value: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """TFLite's interpolating ``LUTLookup(int16_t, lut[513])`` on int64 arrays of int16 values."""
    value = np.asarray(value, np.int64)
    index = 256 + (value >> 7)
    offset = value & 0x7F
    base = lut[index]
    slope = wrap16(lut[index + 1] - base)  # an int16 in C: a jump beyond 32767 wraps
    return wrap16(base + ((slope * offset + 64) >> 7))


# --- gemmlowp fixed point on int64 arrays of int32 values ------------------------------------
srdhm = saturating_rounding_doubling_high_mul
rdpot = rounding_divide_by_pot


def sat_shift_left(x: np.ndarray, e: int, bits: int = 32) -> np.ndarray:
    """gemmlowp's SaturatingRoundingMultiplyByPOT<e> for e > 0 (a saturating left shift)."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return np.clip(np.asarray(x, np.int64) << e, lo, hi)


def _trunc_div2(s: np.ndarray) -> np.ndarray:
    return (s + (s < 0)) >> 1  # C's s / 2 (truncating toward zero)


def rounding_half_sum(a: np.ndarray, b: Any) -> np.ndarray:
    s = np.asarray(a, np.int64) + np.int64(b)
    return _trunc_div2(s + np.where(s >= 0, 1, -1))


def exp_on_interval_between_negative_one_quarter_and_0_excl(a: np.ndarray) -> np.ndarray:
    const_term, one_third = 1895147668, 715827883
    x = wrap32(np.asarray(a, np.int64) + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rdpot(x4, 2)
    poly = rdpot(wrap32(srdhm(wrap32(x4_over_4 + x3), one_third) + x2), 1)
    return wrap32(const_term + srdhm(const_term, wrap32(x + poly)))


_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535),
               (3, 720401), (4, 242))


def exp_on_negative_values(a: np.ndarray, integer_bits: int) -> np.ndarray:
    """gemmlowp ``exp_on_negative_values`` of a Q``integer_bits`` value: Q0.31 result."""
    a = np.asarray(a, np.int64)
    frac = 31 - integer_bits
    quarter = 1 << (frac - 2)
    a_mod = wrap32((a & (quarter - 1)) - quarter)
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(sat_shift_left(a_mod, integer_bits)
                                                                      if integer_bits else a_mod)
    remainder = wrap32(a_mod - a)
    for exponent, mult in _EXP_BARREL:
        if integer_bits > exponent:
            bit = np.int64(1) << (frac + exponent)
            result = np.where(remainder & bit, srdhm(result, mult), result)
    if integer_bits > 5:
        result = np.where(a < -(1 << (36 - integer_bits)), 0, result)
    return np.where(a == 0, INT32_MAX, result)


def one_over_one_plus_x_for_x_in_0_1(a: np.ndarray) -> np.ndarray:
    """gemmlowp ``one_over_one_plus_x_for_x_in_0_1`` (Q0.31 in and out, Newton-Raphson)."""
    half_den = rounding_half_sum(a, INT32_MAX)
    x = wrap32(1515870810 + srdhm(half_den, -1010580540))
    for _ in range(3):
        one_minus = wrap32((1 << 29) - srdhm(half_den, x))
        x = wrap32(x + sat_shift_left(srdhm(x, one_minus), 2))
    return sat_shift_left(x, 1)


def count_leading_zeros32(x: np.ndarray) -> np.ndarray:
    """CountLeadingZeros of uint32 values held in an int64 array (32 for 0)."""
    u = np.asarray(x, np.int64) & 0xFFFFFFFF
    _, e = np.frexp(u.astype(np.float64))
    return np.where(u == 0, np.int64(32), np.int64(32) - e.astype(np.int64))


def get_reciprocal(x: np.ndarray, integer_digits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLite's ``GetReciprocal``: (Q0.31 scale, num_bits_over_unit) for positive Q``digits``."""
    hpo = count_leading_zeros32(x)
    shifted = wrap32(((np.asarray(x, np.int64) & 0xFFFFFFFF) << hpo) - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted), integer_digits - hpo


# --- 16-bit fixed point (HARD_SWISH) ----------------------------------------------------------
def srdhm16(a: np.ndarray, b: Any) -> np.ndarray:
    """gemmlowp's 16-bit SaturatingRoundingDoublingHighMul."""
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    ab = a * b
    s = ab + np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    q = np.where(s >= 0, s >> 15, -((-s) >> 15))
    return np.where((a == -32768) & (b == -32768), 32767, wrap16(q))


def sdhm16(a: np.ndarray, b: Any) -> np.ndarray:
    """TFLite's SaturatingDoublingHighMul (rounds toward zero)."""
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    ab = a * b
    q = np.where(ab >= 0, ab >> 15, -((-ab) >> 15))
    return np.where((a == -32768) & (b == -32768), 32767, wrap16(q))


def downscale_multiplier_16(m: int) -> int:
    """DownScaleInt32ToInt16Multiplier."""
    return 32767 if m >= INT32_MAX - (1 << 15) else (m + (1 << 15)) >> 16


# --- the invoke step -------------------------------------------------------------------------
def lut_step(table: np.ndarray, x: np.ndarray, out: np.ndarray, idx: np.ndarray) -> Callable[[], None]:
    """A step writing ``table[x as unsigned]`` into ``out`` through the ``intp`` chunk ``idx``."""
    n = x.size
    unsigned = np.uint8 if x.dtype.itemsize == 1 else np.uint16
    c = idx.size
    if n == 0:
        return lambda: None
    if not (x.flags.c_contiguous and out.flags.c_contiguous):  # not arena views: plain (allocating) take
        xs = x.view(unsigned)
        return lambda: np.take(table, xs, out=out, mode="wrap")
    xv = x.reshape(-1).view(unsigned)
    ov = out.reshape(-1)
    if n <= c:
        ci = idx[:n]

        def small() -> None:
            np.copyto(ci, xv, casting="unsafe")
            np.take(table, ci, out=ov, mode="wrap")

        return small
    bounds = [(s, min(s + c, n)) for s in range(0, n, c)]
    parts = [(xv[s:e], ov[s:e], idx[: e - s]) for s, e in bounds]

    def chunked() -> None:
        for xs, os_, ci in parts:
            np.copyto(ci, xs, casting="unsafe")
            np.take(table, ci, out=os_, mode="wrap")

    return chunked


def requantize_inplace(acc: np.ndarray, q: int, shift: int, tmp: np.ndarray, flag: np.ndarray | None = None) -> None:
    """``quant.requantize_into(acc, q, shift, tmp)`` under its old name; ``flag`` (a bool scratch
    the former implementation needed) is ignored."""
    requantize_into(acc, q, shift, tmp)


# --- scalar forms (Python ints) for the few-rows case of SOFTMAX -----------------------------
def _wrap32_int(x: int) -> int:
    return ((x + 2**31) & 0xFFFFFFFF) - 2**31


def _srdhm_int(a: int, b: int) -> int:
    # gemmlowp's nudge-and-truncate equals floor((a * b + 2**30) / 2**31) (b > INT32_MIN here)
    return (a * b + (1 << 30)) >> 31


def _sat_shift_left_int(x: int, e: int) -> int:
    return min(max(x << e, INT32_MIN), INT32_MAX)


def get_reciprocal_int(x: int, integer_digits: int) -> tuple[int, int]:
    """``get_reciprocal`` on one Python int (about 20 times faster than NumPy on one value)."""
    u = x & 0xFFFFFFFF
    hpo = 32 - u.bit_length()
    a = _wrap32_int((u << hpo) - (1 << 31))
    s = a + INT32_MAX
    s += 1 if s >= 0 else -1
    half = (abs(s) >> 1) * (1 if s >= 0 else -1)
    r = _wrap32_int(1515870810 + _srdhm_int(half, -1010580540))
    for _ in range(3):
        one_minus = _wrap32_int((1 << 29) - _srdhm_int(half, r))
        r = _wrap32_int(r + _sat_shift_left_int(_srdhm_int(r, one_minus), 2))
    return _sat_shift_left_int(r, 1), integer_digits - hpo


def lut16_lookup_int(value: int, lut: list[int]) -> int:
    """``lut16_lookup`` on one Python int (``lut`` as a list)."""
    index = 256 + (value >> 7)
    base = lut[index]
    return ((base + (((lut[index + 1] - base) * (value & 0x7F) + 64) >> 7) + 32768) & 0xFFFF) - 32768
