"""numlite.ops.quant against a scalar transcription of TFLite's fixed-point semantics.

The scalar reference below is written from the documented semantics (gemmlowp's
SaturatingRoundingDoublingHighMul and RoundingDivideByPOT; TFLite's QuantizeMultiplier), with
Python's unbounded integers, so the vectorised int64 code is checked independently; bit
exactness against LiteRT itself is tested through the kernels that use these functions.
"""

import math

import numpy as np
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
    return ref_rdbpot(ref_srdhm(x * (1 << left), q), right)


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
