"""numlite.ops.quant against a scalar transcription of TFLite's fixed-point semantics.

The scalar reference below is written from the documented semantics (gemmlowp's
SaturatingRoundingDoublingHighMul and RoundingDivideByPOT; TFLite's QuantizeMultiplier), with
Python's unbounded integers, so the vectorised int64 code is checked independently; bit
exactness against LiteRT itself is tested through the kernels that use these functions.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numlite.ops import quant

I32 = st.integers(-(2**31), 2**31 - 1)


def ref_srdhm(a: int, b: int) -> int:
    if a == b == -(2**31):
        return 2**31 - 1
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    s = ab + nudge
    return int(s / 2**31) if abs(s) < 2**52 else (s // 2**31 if s >= 0 else -((-s) // 2**31))


def ref_rdbpot(x: int, e: int) -> int:
    mask = (1 << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if rem > thr else 0)


def ref_mbqm(x: int, q: int, shift: int) -> int:
    left, right = max(shift, 0), max(-shift, 0)
    shifted = ((x * (1 << left) + 2**31) % 2**32) - 2**31  # C's int32 multiply wraps
    return ref_rdbpot(ref_srdhm(shifted, q), right)


def ref_quantize_multiplier(m: float) -> tuple[int, int]:
    if m == 0:
        return 0, 0
    frac, shift = math.frexp(m)
    q = math.floor(abs(frac) * 2**31 + 0.5) * (1 if frac >= 0 else -1)
    if abs(q) == 2**31:
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q, shift


@settings(max_examples=500, deadline=None)
@given(I32, I32)
def test_srdhm(a, b):
    assert int(quant.saturating_rounding_doubling_high_mul(a, b)) == ref_srdhm(a, b)


@settings(max_examples=500, deadline=None)
@given(I32, st.integers(0, 31))
def test_rounding_divide_by_pot(x, e):
    assert int(quant.rounding_divide_by_pot(x, e)) == ref_rdbpot(x, e)


@settings(max_examples=300, deadline=None)
@given(st.floats(1e-12, 1e6, allow_nan=False))
def test_quantize_multiplier(m):
    q, s = quant.quantize_multiplier(m)
    assert (int(q), int(s)) == ref_quantize_multiplier(m)
    if int(q):
        assert 2**30 <= int(q) < 2**31
        assert abs(int(q) * 2.0 ** (int(s) - 31) - m) <= m * 2**-30


def test_quantize_multiplier_edges():
    assert [tuple(map(int, quant.quantize_multiplier(m))) for m in (0.0, 1.0, 0.5, 2.0**-40)] == [
        (0, 0), (2**30, 1), (2**30, 0), (0, 0)]
    # a fraction that rounds up to 2**31 folds into the shift
    q, s = quant.quantize_multiplier(1 - 2**-40)
    assert (int(q), int(s)) == (2**30, 1)


def test_multiply_by_quantized_multiplier_vector_and_in_place():
    rng = np.random.default_rng(0)
    x = rng.integers(-(2**24), 2**24, size=2000, dtype=np.int64)
    ms = rng.uniform(1e-6, 0.99, size=2000)
    q, s = quant.quantize_multiplier(ms)
    got = quant.multiply_by_quantized_multiplier(x, q, s)
    want = [ref_mbqm(int(a), int(b), int(c)) for a, b, c in zip(x, q, s)]
    assert got.dtype == np.int32
    assert got.tolist() == want
    acc, tmp = x.copy(), np.empty_like(x)
    quant.requantize_into(acc, q, s, tmp)
    assert acc.tolist() == want
    # multipliers above one (left shifts), per-channel broadcast
    acc2 = rng.integers(-3000, 3000, size=(50, 4), dtype=np.int64)
    q2, s2 = quant.quantize_multiplier([1.5, 3.25, 0.001, 7.9])
    want2 = [[ref_mbqm(int(v), int(q2[j]), int(s2[j])) for j, v in enumerate(row)] for row in acc2]
    assert quant.multiply_by_quantized_multiplier(acc2, q2, s2).tolist() == want2
    t2 = np.empty_like(acc2)
    quant.requantize_into(acc2, q2, s2, t2)
    assert acc2.tolist() == want2


def test_single_rounding_variant():
    x = np.array([-7, -5, 5, 7, 1 << 20, -(1 << 20)], np.int64)
    q, s = quant.quantize_multiplier(0.25)
    got = quant.multiply_by_quantized_multiplier(x, q, s, single_rounding=True)
    # one rounding of x/4, half up (toward +inf) as the single-rounding shift does
    assert got.tolist() == [math.floor(v / 4 + 0.5) for v in x.tolist()]


# --- the in-place requantizers and the shared prepare-time helpers ------------------------------
Q31 = st.integers(0, 2**31 - 1)


@settings(max_examples=400, deadline=None)
@given(I32, Q31, st.integers(-31, 0))
def test_requantize_into_scalar_any_int32(x, q, shift):
    # the one-formula high multiply (floor((p + 2**30) / 2**31)) equals gemmlowp's nudge-and-truncate
    acc, tmp = np.array([x], np.int64), np.empty(1, np.int64)
    quant.requantize_into(acc, q, shift, tmp)
    assert int(acc[0]) == ref_mbqm(x, q, shift)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 7), Q31, st.data())
def test_requantize_into_left_shifts(left, q, data):
    lim = 2**31 >> left
    x = data.draw(st.integers(-lim, lim - 1))
    acc, tmp = np.array([x], np.int64), np.empty(1, np.int64)
    quant.Requantizer(q, left)(acc, tmp)
    assert int(acc[0]) == ref_mbqm(x, q, left)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 20), Q31, I32)
def test_left_shift_wraps_like_c(left, q, x):
    """A left-shifted value beyond int32 wraps, as C's ``x * (1 << left)`` does in LiteRT."""
    acc, tmp = np.array([x], np.int64), np.empty(1, np.int64)
    quant.Requantizer(q, left)(acc, tmp)
    assert int(acc[0]) == ref_mbqm(x, q, left)
    assert int(quant.multiply_by_quantized_multiplier(x, q, left)) == ref_mbqm(x, q, left)


def test_requantizer_per_channel_matches_scalar():
    rng = np.random.default_rng(1)
    acc = rng.integers(-(2**31), 2**31, size=(300, 6), dtype=np.int64)
    q, s = quant.quantize_multiplier([1e-9, 3e-5, 0.25, 0.5, 0.9999, 0.75])  # right shifts: any int32
    got, tmp = acc.copy(), np.empty_like(acc)
    quant.Requantizer(q, s)(got, tmp)
    for c in range(6):
        col, t = acc[:, c].copy(), np.empty(300, np.int64)
        quant.requantize_into(col, int(q[c]), int(s[c]), t)
        np.testing.assert_array_equal(got[:, c], col)
        assert got[:, c].tolist() == [ref_mbqm(int(v), int(q[c]), int(s[c])) for v in acc[:, c]]


def test_scalar_requantize_into_allocates_nothing():
    import tracemalloc

    acc, tmp = np.arange(-5000, 5000, dtype=np.int64) * 977, np.empty(10000, np.int64)
    quant.requantize_into(acc, 1518500250, -7, tmp)
    tracemalloc.start()
    for _ in range(20):
        quant.requantize_into(acc, 1518500250, -7, tmp)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4096, peak


def ref_mbqm_int64(x: int, q: int, shift: int, wrap: bool) -> int:
    reduced = (q + (1 << 15)) >> 16 if q < 0x7FFF0000 else 0x7FFF
    total = 15 - shift
    r = (x * reduced + (1 << (total - 1))) >> total
    if wrap:
        return ((r + 2**31) % 2**32) - 2**31
    return min(max(r, -(2**31)), 2**31 - 1)


@settings(max_examples=400, deadline=None)
@given(st.integers(-(2**47), 2**47 - 1), Q31, st.integers(-31, 7))
def test_multiply_by_quantized_multiplier_int64(x, q, shift):
    for wrap in (True, False):
        acc = np.array([x], np.int64)
        quant.multiply_by_quantized_multiplier_int64_into(acc, q, shift, wrap=wrap)
        assert int(acc[0]) == ref_mbqm_int64(x, q, shift, wrap)
    assert int(quant.multiply_by_quantized_multiplier_int64(x, q, shift)) == ref_mbqm_int64(x, q, shift, False)
    assert int(quant.multiply_by_quantized_multiplier_int64(x, q, shift, wrap=True)) == ref_mbqm_int64(x, q, shift,
                                                                                                       True)


def test_multiply_by_quantized_multiplier_int64_per_channel():
    rng = np.random.default_rng(2)
    x = rng.integers(-(2**40), 2**40, size=(100, 3), dtype=np.int64)
    q, s = quant.quantize_multiplier([2e-6, 0.03, 0.7])
    got = quant.multiply_by_quantized_multiplier_int64(x, q, s)
    assert got.dtype == np.int32
    assert got.tolist() == [[ref_mbqm_int64(int(v), int(q[c]), int(s[c]), False) for c, v in enumerate(row)]
                            for row in x]


def test_wrap_int32():
    a = np.array([0, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**40 + 5, -(2**40) - 5], np.int64)
    quant.wrap_int32(a)
    assert a.tolist() == [0, 2**31 - 1, -(2**31), -(2**31), 2**31 - 1, 5, -5]


def ref_round(x: float) -> float:
    """std::round on a finite float through exact rationals."""
    from fractions import Fraction

    fr = abs(Fraction(x))
    r = math.floor(fr) + (1 if fr - math.floor(fr) >= Fraction(1, 2) else 0)
    return math.copysign(float(r), x)


@settings(max_examples=500, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, width=32))
def test_round_half_away_float32(x):
    got = quant.round_half_away(np.float32(x))
    assert got.dtype == np.float32
    assert float(got) == ref_round(x) and math.copysign(1, float(got)) == math.copysign(1, x)


@settings(max_examples=500, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_round_half_away_float64(x):
    assert float(quant.round_half_away(x)) == ref_round(x)
    got = quant.round_half_away_scalar(x)  # the plain-Python twin for one value
    assert got == ref_round(x) and math.copysign(1, got) == math.copysign(1, x)


def test_round_half_away_scalar_edges():
    r = quant.round_half_away_scalar
    assert [r(v) for v in (0.49999999999999994, 0.5, 2.5, -2.5, 2.0**52 + 1, 2.0**53)] == \
        [0.0, 1.0, 3.0, -3.0, 2.0**52 + 1, 2.0**53]
    assert math.copysign(1, r(-0.0)) == -1 and math.copysign(1, r(-0.3)) == -1
    assert r(math.inf) == math.inf and r(-math.inf) == -math.inf and math.isnan(r(math.nan))


def test_round_half_away_edges():
    f32 = np.float32
    x = np.array([0.49999997, 0.5, 1.5, 2.5, -2.5, -0.49999997, 8388609.0, -8388609.0, 16777215.0, -0.0, 0.0,
                  np.inf, -np.inf, np.nan], f32)
    got = quant.round_half_away(x)
    assert got.dtype == f32
    assert got[:9].tolist() == [0.0, 1.0, 2.0, 3.0, -3.0, -0.0, 8388609.0, -8388609.0, 16777215.0]
    assert np.signbit(got[9]) and not np.signbit(got[10])
    assert got[11] == np.inf and got[12] == -np.inf and np.isnan(got[13])
    # floor(|x| + 0.5) would give 1 and 8388610 here
    assert float(quant.round_half_away(0.49999999999999994)) == 0.0


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.uint16])
def test_all_values(dtype):
    v = quant.all_values(dtype)
    bits = np.dtype(dtype).itemsize * 8
    assert v.dtype == np.int64 and v.size == 1 << bits
    unsigned = np.uint8 if bits == 8 else np.uint16
    np.testing.assert_array_equal(v.astype(dtype).view(unsigned), np.arange(1 << bits))
    info = np.iinfo(dtype)
    assert v.min() == info.min and v.max() == info.max


def ref_checked_log2(x: float) -> tuple[bool, int]:
    logf = quant.libm("logf")
    f32 = np.float32
    lg = f32(logf(np.array([x], f32))[0]) * (f32(1) / f32(math.log(2.0)))
    r = f32(ref_round(float(lg)))
    return bool(abs(f32(lg - r)) < f32(1e-3)), int(r)


def test_checked_log2():
    for k in range(-40, 40):
        assert quant.checked_log2(2.0**k) == (True, k)
        assert quant.checked_log2(2.0**k * 1.01) == (False, k)
    assert quant.checked_log2(3.0) == (False, 2)
    assert quant.checked_log2(2.0**-12 * (1 + 2e-4)) == (True, -12)  # within CheckedLog2's 1e-3 of log2
    for x in (0.0, -1.0, math.inf, math.nan):
        assert quant.checked_log2(x) == (False, 0)
    rng = np.random.default_rng(3)
    for x in (10 ** rng.uniform(-10, 6, 2000)).astype(np.float32).tolist():
        assert quant.checked_log2(x) == ref_checked_log2(x)


def test_libm_is_accurate():  # a sanity check of the ctypes binding: within 2 ulp of float64
    x = np.linspace(-20, 5, 1001, dtype=np.float32)
    for name, f in (("expf", np.exp), ("expm1f", np.expm1), ("tanhf", np.tanh)):
        got = quant.libm(name)(x)
        assert got.dtype == np.float32 and got.shape == x.shape
        want = f(x.astype(np.float64)).astype(np.float32)
        np.testing.assert_allclose(got, want, rtol=2.4e-7, atol=0)


def test_quantize_multiplier_vectorised_matches_scalar_reference():
    """The vectorised QuantizeMultiplier equals the scalar transcription on random multipliers
    over many binades, both signs, and the edge values (zero, non-finite, rounding up to 2**31,
    shifts below -31, subnormals)."""
    rng = np.random.default_rng(0)
    v = np.exp(rng.uniform(-80, 30, 20000)) * rng.choice([-1, 1], 20000)
    edges = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, 0.5, 2.0**-31, 2.0**-32, 1 - 2.0**-33, 1 - 2.0**-40,
             -(1 - 2.0**-40), 2.0**-32 * (1 - 2.0**-40), 5e-324, 1e300]
    v = np.concatenate([v, edges])
    q, s = quant.quantize_multiplier(v)
    ref = [quant._quantize_one(float(x)) for x in v]
    np.testing.assert_array_equal(q, [r[0] for r in ref])
    np.testing.assert_array_equal(s, [r[1] for r in ref])
    assert q.dtype == s.dtype == np.int32
    q0, s0 = quant.quantize_multiplier(0.75)
    assert q0.shape == () and (int(q0), int(s0)) == quant._quantize_one(0.75)
