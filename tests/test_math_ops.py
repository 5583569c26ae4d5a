"""FLOOR, CEIL, ROUND, SIGN, POW, ATAN2, FLOOR_DIV, FLOOR_MOD, ADD_N, RIGHT_SHIFT, BITWISE_XOR,
BITCAST and RANK against LiteRT 2.3.

Tolerances: rounding ops, SIGN, FLOOR_DIV, FLOOR_MOD, the integer and bit ops, BITCAST and RANK
are exact in both runtimes (IEEE floor / ceil / rint / fmod, exact float64 quotients, integer
arithmetic), so they are compared exactly (NaNs in the same places).  POW and ATAN2 call the C
library (``powf`` / ``atan2``) in both runtimes, within an ulp or two of the exact value: rtol
1e-6 (float16 ATAN2: rtol 1e-3, one half-precision ulp).  ADD_N float32 may sum in another order
in LiteRT (threads): rtol 1e-6.

Cases LiteRT cannot run are checked against NumPy instead, and say so: FLOOR_MOD of
INT32_MIN by -1 (LiteRT dies of SIGFPE), ATAN2 with differing shapes (LiteRT reads past the
end of ``x``).
"""

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, rand, run_litert, run_numlite, single_op_model

from numlite.ops.registry import supported_builtins

F32, F16, F64, I8, U8, I16, U16, I32, U32, I64 = (np.float32, np.float16, np.float64, np.int8, np.uint8, np.int16,
                                                  np.uint16, np.int32, np.uint32, np.int64)
EXACT = {"rtol": 0, "atol": 0}
OPS = ["FLOOR", "CEIL", "ROUND", "SIGN", "POW", "ATAN2", "FLOOR_DIV", "FLOOR_MOD", "ADD_N", "RIGHT_SHIFT",
       "BITWISE_XOR", "BITCAST", "RANK"]


def _fails(op, model, feeds, match, exc=RuntimeError):
    with pytest.raises(exc, match=rf"{op} \(node 0\).*" + match):
        run_numlite(model, feeds)


def binary(op, s1, s2, dtype, out_shape=None, version=1, const_b=None):
    b = Const(np.asarray(const_b, dtype)) if const_b is not None else In(s2, dtype)
    out = Out(out_shape if out_shape is not None else np.broadcast_shapes(s1, s2), dtype)
    return single_op_model(op, [In(s1, dtype), b], out, version=version)


def unary(op, shape, dtype, version=1):
    return single_op_model(op, [In(shape, dtype)], Out(shape, dtype), version=version)


def ints(shape, dtype, seed=0, lo=None, hi=None):
    info = np.iinfo(dtype)
    lo = max(info.min, -1000) if lo is None else lo
    hi = min(info.max, 1000) if hi is None else hi
    return rand(shape, dtype, seed=seed, lo=lo, hi=hi)


def test_registered_versions():
    import json
    from pathlib import Path

    want = json.loads((Path(__file__).parent / "data" / "litert_ops.json").read_text())["AUTO"]
    have = supported_builtins()
    for op in OPS:
        assert have[op] == want[op], op


# -- FLOOR, CEIL, ROUND, SIGN ------------------------------------------------------------------
SPECIAL = np.array([-0.0, 0.0, -0.3, -0.5, 0.5, 1.5, 2.5, -1.5, -2.5, 3.5, -0.75, 0.25, np.inf, -np.inf, np.nan,
                    1e10, -1e10, 2.4999998, 8388609.0, 4194304.5, -4194304.5, 1e-30], np.float32)


@pytest.mark.parametrize("op", ["FLOOR", "CEIL", "ROUND"])
@pytest.mark.parametrize("dtype", [F32, F16])
def test_rounding(op, dtype):
    x = np.concatenate([SPECIAL, rand((50,), F32, seed=1, lo=-20, hi=20),
                        np.round(rand((20,), F32, seed=2, lo=-20, hi=20) * 2) / 2])  # many ties
    with np.errstate(over="ignore"):
        x = x.astype(dtype)
    ours = assert_matches_litert(unary(op, x.shape, dtype), [x], **EXACT)[0]
    theirs = run_litert(unary(op, x.shape, dtype), [x])[0]
    np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))  # signed zeros too


def test_round_is_half_to_even():
    x = np.array([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, 2.4999998, 2.5000002], F32)
    out = run_numlite(unary("ROUND", x.shape, F32), [x])[0]
    np.testing.assert_array_equal(out, [0, 2, 2, 4, -0.0, -2, -2, 2, 3])


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("dtype", [F32, F64, I32])
def test_sign(dtype, version):
    if dtype == I32:
        x = np.concatenate([ints((30,), I32), np.array([0, -2**31, 2**31 - 1], I32)])
    else:
        x = np.concatenate([SPECIAL.astype(dtype), rand((30,), dtype, lo=-5, hi=5)])
    ours = assert_matches_litert(unary("SIGN", x.shape, dtype, version), [x], **EXACT)[0]
    if dtype != I32:
        assert not np.signbit(ours[:2]).any()  # sign(-0.0) is +0.0 in LiteRT


@pytest.mark.parametrize("op,dtype", [("FLOOR", I32), ("CEIL", F64), ("ROUND", I8), ("SIGN", F16), ("SIGN", I64),
                                      ("SIGN", I8)])
def test_unary_types_refused(op, dtype):
    x = np.zeros((3,), dtype)
    _fails(op, unary(op, (3,), dtype), [x], "type")
    with pytest.raises(RuntimeError):  # LiteRT refuses them too (at prepare or invoke)
        run_litert(unary(op, (3,), dtype), [x])


def test_unary_output_type_mismatch():
    m = single_op_model("FLOOR", [In((3,))], Out((3,), F16))
    _fails("FLOOR", m, [np.zeros(3, F32)], "output.*float16")


# -- POW -------------------------------------------------------------------------------------------
def test_pow_float_same_shape():
    a = np.concatenate([rand((40,), F32, lo=0, hi=10), np.array([-2, -2, 0, 0, np.inf, np.nan, 1, -1, 1e20], F32)])
    b = np.concatenate([rand((40,), F32, seed=3, lo=-3, hi=3), np.array([0.5, 3, -1, 0, -1, 0, np.nan, 1e30, 3],
                                                                         F32)])
    assert_matches_litert(binary("POW", a.shape, b.shape, F32), [a, b], rtol=1e-6, atol=0)


@pytest.mark.parametrize("e", [2.0, 3.0, 2.000001, 1.0, 7.0, 0.5, 0.0, -2.0, 1.5, 4.0000095, 100.0, np.nan, np.inf])
@pytest.mark.parametrize("const", [False, True])
def test_pow_float_scalar_exponent(e, const):
    # broadcast with a one-element exponent: LiteRT's squaring route for near-integers >= 1
    # (clamped to FLT_MAX, (-2) ** 2.000001 = 4), powf otherwise
    a = np.array([2, -2, 1.1, 3e20, -3e20, 0, -0.0, np.inf, -np.inf, np.nan, 0.5, -1.5, 1e-30], F32)
    m = binary("POW", a.shape, (1,), F32, const_b=[e] if const else None)
    feeds = [a] if const else [a, np.array([e], F32)]
    assert_matches_litert(m, feeds, rtol=1e-6, atol=0)


def test_pow_float_broadcast_shapes():
    a, b = rand((2, 3, 4), F32, lo=0.1, hi=3), rand((3, 1), F32, seed=4, lo=-2, hi=2)
    assert_matches_litert(binary("POW", a.shape, b.shape, F32), [a, b], rtol=1e-6, atol=0)
    # base broadcast, vector exponent: powf (overflow gives inf here, not FLT_MAX)
    a, b = np.array([3e20], F32), np.array([2, 2, 0.5], F32)
    assert_matches_litert(binary("POW", a.shape, b.shape, F32), [a, b], rtol=1e-6, atol=0)
    # 0-d exponent against a vector: the squaring route
    a = np.array([2, 3e20, -2], F32)
    m = single_op_model("POW", [In((3,)), In(())], Out((3,)))
    assert_matches_litert(m, [a, np.array(3, F32)], rtol=1e-6, atol=0)


def test_pow_int32():
    a = np.array([2, 3, 0, -2, 2, 7, -3, 10, 1, -1, 46341, -2], I32)
    b = np.array([31, 30, 0, 3, 40, 0, 5, 9, 2**31 - 1, 2**31 - 1, 2, 31], I32)
    out = assert_matches_litert(binary("POW", a.shape, b.shape, I32), [a, b])[0]
    assert out[0] == -2**31 and out[11] == -2**31  # out of range -> INT32_MIN (x86's conversion)


@pytest.mark.parametrize("e", [0, 1, 2, 5, 31, 2**31 - 1])
def test_pow_int32_scalar_exponent_wraps(e):
    a = np.array([2, 3, 0, -2, 65536, 7, -1, 1, 46341], I32)
    for const in (False, True):
        m = binary("POW", a.shape, (1,), I32, const_b=[e] if const else None)
        assert_matches_litert(m, [a] if const else [a, np.array([e], I32)])


def test_pow_int32_negative_exponent():
    a = np.array([2, 3], I32)
    m = binary("POW", (2,), (2,), I32)
    _fails("POW", m, [a, np.array([1, -1], I32)], "negative exponent")
    with pytest.raises(RuntimeError, match="negative value"):
        run_litert(m, [a, np.array([1, -1], I32)])
    assert_matches_litert(m, [a, np.array([1, 2], I32)])  # recovers on the next invoke
    _fails("POW", binary("POW", (2,), (2,), I32, const_b=[2, -3]), [a], "negative values")
    _fails("POW", binary("POW", (2,), (1,), I32, const_b=[-1]), [a], "negative values")


def test_pow_types_refused():
    for dt in (I8, I64, F16):
        m = binary("POW", (2,), (2,), dt)
        _fails("POW", m, [np.ones(2, dt)] * 2, "type")
        with pytest.raises(RuntimeError):
            run_litert(m, [np.ones(2, dt)] * 2)
    m = single_op_model("POW", [In((2,)), In((2,), I32)], Out((2,)))
    _fails("POW", m, [np.ones(2, F32), np.ones(2, I32)], "types differ")


# -- ATAN2 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype,rtol", [(F32, 1e-6), (F64, 1e-12), (F16, 1e-3)])
def test_atan2(dtype, rtol):
    y = np.concatenate([rand((40,), F32, lo=-5, hi=5), np.array([0, -0.0, 0, -0.0, 1, -1, np.inf, -np.inf, np.nan, 1],
                                                                  F32)]).astype(dtype)
    x = np.concatenate([rand((40,), F32, seed=5, lo=-5, hi=5), np.array([-1, -1, 1, 0, 0, 0, np.inf, -np.inf, 1,
                                                                          np.nan], F32)]).astype(dtype)
    m = single_op_model("ATAN2", [In((2, 25), dtype), In((2, 25), dtype)], Out((2, 25), dtype))
    assert_matches_litert(m, [y.reshape(2, 25), x.reshape(2, 25)], rtol=rtol, atol=0)


def test_atan2_shapes():
    # LiteRT checks only the ranks and reads past the end of x for (2, 3) by (1, 3): numlite refuses
    m = single_op_model("ATAN2", [In((2, 3)), In((1, 3))], Out((2, 3)))
    _fails("ATAN2", m, [np.ones((2, 3), F32), np.ones((1, 3), F32)], "same shape")
    for dt in (I32, I8):
        m = single_op_model("ATAN2", [In((2,), dt), In((2,), dt)], Out((2,), dt))
        _fails("ATAN2", m, [np.ones(2, dt)] * 2, "type")
    m = single_op_model("ATAN2", [In((2,)), In((2,))], Out((2,), F64))
    _fails("ATAN2", m, [np.ones(2, F32)] * 2, "output")


# -- FLOOR_DIV, FLOOR_MOD --------------------------------------------------------------------------
DIV_TYPES = [(F32, 1), (I32, 1), (I16, 2), (I8, 3)]
MOD_TYPES = [(F32, 1), (I32, 1), (I64, 1), (I16, 2), (I8, 2)]


def nonzero(shape, dtype, seed):
    if np.dtype(dtype).kind == "f":
        v = rand(shape, dtype, seed=seed, lo=-10, hi=10)
    else:
        v = ints(shape, dtype, seed=seed, lo=-20, hi=20)
    v[v == 0] = 3
    return v


@pytest.mark.parametrize("op", ["FLOOR_DIV", "FLOOR_MOD"])
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 5)), ((), (2, 2)),
                                    ((2, 1, 3, 1, 2), (1, 2, 1, 4, 1))])
def test_floor_div_mod(op, shapes):
    types = DIV_TYPES if op == "FLOOR_DIV" else MOD_TYPES
    for k, (dtype, version) in enumerate(types):
        s1, s2 = shapes
        a = rand(s1, dtype, seed=k, lo=-100, hi=100) if dtype == F32 else ints(s1, dtype, seed=k)
        b = nonzero(s2, dtype, seed=k + 10)
        assert_matches_litert(binary(op, s1, s2, dtype, version=version), [a, b], **EXACT)
        if version > 1:  # LiteRT keys on the type, not the version: every version runs every type
            assert_matches_litert(binary(op, s1, s2, dtype, version=1), [a, b], **EXACT)


def test_floor_div_edges():
    # float: the quotient is floored in float64 (7 / 0.7 is 9.999... there, exactly 10 in float32)
    a = np.array([7, 1, -7, 1e30, np.inf, -np.inf, np.nan, 5, -0.0, 3e38, 1], F32)
    b = np.array([0.7, 0.1, 0.7, 1e-10, 3, 2, 1, np.nan, 4, 1e-10, -np.inf], F32)
    assert_matches_litert(binary("FLOOR_DIV", a.shape, b.shape, F32), [a, b], **EXACT)
    for dt, ver in ((I32, 1), (I16, 2), (I8, 3)):
        info = np.iinfo(dt)
        a = np.array([info.min, info.max, info.max, -7, 7, -7, 7, 0, info.min, info.min + 1], dt)
        b = np.array([1, -1, 1, 2, -2, -2, 2, -5, info.max, -1], dt)
        assert_matches_litert(binary("FLOOR_DIV", a.shape, b.shape, dt, version=ver), [a, b])


def test_floor_div_min_by_minus_one():
    """MIN // -1 overflows: LiteRT wraps to MIN, except that its non-broadcast int8 / int16 loop
    saturates (127 / 32767) for elements in full blocks of 8 (undefined behaviour in C++, the
    result depends on the element's position).  numlite always wraps; compared with LiteRT where
    LiteRT's result is position-independent (a broadcast divisor, int32, short tensors)."""
    for dt, ver in ((I32, 1), (I16, 2), (I8, 3)):
        info = np.iinfo(dt)
        a = np.array([info.min, 5, info.min, -3, info.min, 0, info.min, 9, info.min], dt)
        out = assert_matches_litert(binary("FLOOR_DIV", a.shape, (1,), dt, version=ver), [a, np.array([-1], dt)])[0]
        assert out[0] == info.min
        a = np.array([info.min, 4, info.min], dt)
        assert_matches_litert(binary("FLOOR_DIV", (3,), (3,), dt, version=ver), [a, np.array([-1, 3, -1], dt)])
        a = np.full(16, info.min, dt)
        out = run_numlite(binary("FLOOR_DIV", (16,), (16,), dt, version=ver), [a, np.full(16, -1, dt)])[0]
        np.testing.assert_array_equal(out, a)


def test_floor_mod_edges():
    a = np.array([-7.5, 7, -7, 1, -1, -4, 4, np.inf, np.nan, 5, 1e-30, -1e30], F32)
    b = np.array([2, 0, -0.0, np.inf, np.inf, 2, -2, 3, 2, np.nan, -1, 7], F32)
    out = assert_matches_litert(binary("FLOOR_MOD", a.shape, b.shape, F32), [a, b], **EXACT)[0]
    theirs = run_litert(binary("FLOOR_MOD", a.shape, b.shape, F32), [a, b])[0]
    np.testing.assert_array_equal(np.signbit(out), np.signbit(theirs))  # -4 mod 2 = -0.0
    for dt, ver in ((I64, 1), (I32, 1), (I16, 2), (I8, 2)):
        info = np.iinfo(dt)
        a = np.array([info.min, info.max, -7, 7, -7, 7, 0, info.min + 1], dt)
        b = np.array([3, -1, 2, -2, -2, 2, -5, info.max], dt)
        assert_matches_litert(binary("FLOOR_MOD", a.shape, b.shape, dt, version=ver), [a, b])


def test_floor_mod_min_by_minus_one():
    # LiteRT gives 0 for int8 / int16 and dies of SIGFPE for int32 / int64 (x86 idiv): numlite
    # returns NumPy's (and Python's) defined 0 for all of them
    for dt in (I8, I16, I32, I64):
        a, b = np.array([np.iinfo(dt).min], dt), np.array([-1], dt)
        assert run_numlite(binary("FLOOR_MOD", (1,), (1,), dt), [a, b])[0][0] == 0
        # a constant divisor too; the other elements keep Python's modulo (NumPy < 1.25 traps on
        # MIN % -1 like C, so numlite must never hand it that pair)
        a = np.array([np.iinfo(dt).min, 7, -7, np.iinfo(dt).min], dt)
        got = run_numlite(binary("FLOOR_MOD", (4,), (4,), dt, const_b=[-1, -3, 2, 5]), [a])[0]
        assert got.tolist() == [0, 7 % -3, -7 % 2, int(np.iinfo(dt).min) % 5]


@pytest.mark.parametrize("op", ["FLOOR_DIV", "FLOOR_MOD"])
def test_division_by_zero(op):
    for dt in (I32, I8, F32) if op == "FLOOR_DIV" else (I32, I64, I16):
        a = np.ones((2, 3), dt)
        m = binary(op, (2, 3), (3,), dt)
        _fails(op, m, [a, np.array([1, 0, 2], dt)], "by zero.*divisor tensor contains 0")
        with pytest.raises(RuntimeError, match="Division by 0"):
            run_litert(m, [a, np.array([1, 0, 2], dt)])
        assert_matches_litert(m, [a, np.array([1, 5, 2], dt)])
        _fails(op, binary(op, (2, 3), (3,), dt, const_b=[1, 0, 2]), [a], r"divisor tensor 1 .*constant containing 0")
    # float: -0.0 is a zero divisor for FLOOR_DIV, as in LiteRT
    m = binary("FLOOR_DIV", (2,), (2,), F32)
    _fails("FLOOR_DIV", m, [np.ones(2, F32), np.array([1, -0.0], F32)], "by zero")


def test_floor_div_mod_refused():
    for op, dt in (("FLOOR_DIV", U8), ("FLOOR_DIV", I64), ("FLOOR_MOD", U8), ("FLOOR_MOD", F16)):
        m = binary(op, (2,), (2,), dt)
        _fails(op, m, [np.ones(2, dt)] * 2, "type")
        with pytest.raises(RuntimeError):
            run_litert(m, [np.ones(2, dt)] * 2)
    m = binary("FLOOR_DIV", (2, 3), (4,), F32, out_shape=(2, 3))
    _fails("FLOOR_DIV", m, [np.ones((2, 3), F32), np.ones(4, F32)], "broadcast")


def test_empty_tensors():
    for op, dt in (("FLOOR_DIV", I32), ("FLOOR_MOD", F32), ("POW", F32), ("RIGHT_SHIFT", I8), ("BITWISE_XOR", U16)):
        a, b = np.zeros((0, 3), dt), np.ones((1, 3), dt)
        out = run_numlite(binary(op, (0, 3), (1, 3), dt), [a, b])[0]
        assert out.shape == (0, 3) and out.dtype == dt


# -- ADD_N -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 6])
@pytest.mark.parametrize("dtype", [F32, I32])
def test_add_n(n, dtype):
    shape = (2, 3, 4)
    feeds = [rand(shape, dtype, seed=k, lo=-100, hi=100) for k in range(n)]
    m = single_op_model("ADD_N", [In(shape, dtype) for _ in range(n)], Out(shape, dtype))
    assert_matches_litert(m, feeds, rtol=1e-6, atol=1e-5)


def test_add_n_wraps_and_constants():
    a = np.array([2**31 - 1, -2**31, 5], I32)
    m = single_op_model("ADD_N", [In((3,), I32), Const(np.array([1, -1, 5], I32)), In((3,), I32)], Out((3,), I32))
    out = assert_matches_litert(m, [a, a])[0]
    np.testing.assert_array_equal(out, [-1, -1, 15])  # wrapped: MAX + 1 + MAX, MIN - 1 + MIN


def test_add_n_errors():
    m = single_op_model("ADD_N", [In((2, 3))], Out((2, 3)))
    _fails("ADD_N", m, [np.ones((2, 3), F32)], "at least 2 inputs")
    m = single_op_model("ADD_N", [In((2, 3)), In((1, 3))], Out((2, 3)))
    _fails("ADD_N", m, [np.ones((2, 3), F32), np.ones((1, 3), F32)], "another shape")
    m = single_op_model("ADD_N", [In((2,)), In((2,), I32)], Out((2,)))
    _fails("ADD_N", m, [np.ones(2, F32), np.ones(2, I32)], "another type")
    m = single_op_model("ADD_N", [In((2,), I8), In((2,), I8)], Out((2,), I8))
    _fails("ADD_N", m, [np.ones(2, I8)] * 2, "int8")


# -- RIGHT_SHIFT, BITWISE_XOR --------------------------------------------------------------------
BITS = [I8, U8, I16, U16, I32, U32]


@pytest.mark.parametrize("dtype", BITS)
@pytest.mark.parametrize("shapes", [((4, 6), (4, 6)), ((2, 3, 4), (4,)), ((3, 1), (1, 5))])
def test_right_shift(dtype, shapes):
    info, bits = np.iinfo(dtype), np.dtype(dtype).itemsize * 8
    s1, s2 = shapes
    a = rand(s1, np.int64, seed=1, lo=info.min, hi=info.max).astype(dtype)
    counts = np.array([0, 1, bits - 1, bits, bits + 5, info.max, 3, 2] + ([-1, -100, info.min] if info.min else []))
    b = np.resize(counts, int(np.prod(s2))).astype(dtype).reshape(s2)
    assert_matches_litert(binary("RIGHT_SHIFT", s1, s2, dtype), [a, b])


@pytest.mark.parametrize("dtype", BITS)
def test_bitwise_xor(dtype):
    info = np.iinfo(dtype)
    a = rand((3, 4, 5), np.int64, seed=2, lo=info.min, hi=info.max).astype(dtype)
    b = rand((4, 1), np.int64, seed=3, lo=info.min, hi=info.max).astype(dtype)
    assert_matches_litert(binary("BITWISE_XOR", a.shape, b.shape, dtype), [a, b])
    assert_matches_litert(binary("BITWISE_XOR", a.shape, a.shape, dtype), [a, a[::-1].copy()])


def test_bit_ops_refused():
    for op in ("RIGHT_SHIFT", "BITWISE_XOR"):
        for dt in (F32, I64, np.bool_):
            m = binary(op, (2,), (2,), dt)
            _fails(op, m, [np.ones(2, dt)] * 2, "type")
            with pytest.raises(RuntimeError):
                run_litert(m, [np.ones(2, dt)] * 2)
        m = single_op_model(op, [In((2,), I8), In((2,), U8)], Out((2,), I8))
        _fails(op, m, [np.ones(2, I8), np.ones(2, U8)], "types differ")


def test_rank8_broadcast():
    s1, s2 = (2, 1, 2, 1, 2, 1, 2, 1), (1, 2, 1, 2, 1, 2, 1, 3)
    for op, dt in (("FLOOR_DIV", F32), ("FLOOR_MOD", I32), ("RIGHT_SHIFT", I16), ("BITWISE_XOR", U8), ("POW", F32)):
        a = rand(s1, dt, lo=1, hi=9) if dt == F32 else ints(s1, dt, lo=1, hi=9)
        b = rand(s2, dt, seed=1, lo=1, hi=3) if dt == F32 else ints(s2, dt, lo=1, hi=3)
        assert_matches_litert(binary(op, s1, s2, dt), [a, b], rtol=1e-6, atol=0)


# -- BITCAST ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("src,dst,shape", [
    (F32, I32, (2, 3)), (F32, U8, (2, 3)), (U8, F32, (3, 4)), (F64, F16, (2,)), (F16, F64, (3, 4)),
    (np.bool_, I8, (5,)), (np.complex64, I32, (2,)), (I64, U32, (1, 2, 3)), (I16, U16, ()), (F32, U16, ()),
    (U8, I32, (0, 4)), (I32, np.complex64, (2, 2)),
])
def test_bitcast(src, dst, shape):
    n = int(np.prod(shape, dtype=np.int64))
    x = np.random.default_rng(0).integers(0, 256, size=n * np.dtype(src).itemsize, dtype=np.uint8)
    if np.dtype(src) == np.bool_:
        x = x & 1
    x = x.view(src).reshape(shape)
    isz, osz = np.dtype(src).itemsize, np.dtype(dst).itemsize
    oshape = shape + (isz // osz,) if isz > osz else shape[:-1] if isz < osz else shape
    m = single_op_model("BITCAST", [In(shape, src)], Out(oshape, dst))
    ours = run_numlite(m, [x])[0]
    theirs = run_litert(m, [x])[0]
    assert ours.shape == theirs.shape == oshape and ours.dtype == theirs.dtype == np.dtype(dst)
    assert ours.tobytes() == theirs.tobytes() == x.tobytes()  # NaN bit patterns included


def test_bitcast_errors():
    m = single_op_model("BITCAST", [In((2, 3), U8)], Out((2,), F32))
    _fails("BITCAST", m, [np.zeros((2, 3), U8)], "dimension of 4")
    with pytest.raises(RuntimeError):
        run_litert(m, [np.zeros((2, 3), U8)])
    m = single_op_model("BITCAST", [In((), U8)], Out((), F32))
    _fails("BITCAST", m, [np.zeros((), U8)], "dimension of 4")
    m = single_op_model("BITCAST", [In((2,), np.object_)], Out((2,), U8))
    _fails("BITCAST", m, [np.array([b"a", b"b"], object)], "no fixed element size")


def test_bitcast_constant_folds():
    c = np.array([1.0, -2.0], F32)
    m = single_op_model("BITCAST", [Const(c)], Out((2,), I32))
    np.testing.assert_array_equal(run_numlite(m, [])[0], c.view(I32))


# -- RANK -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(), (3,), (2, 0), (2, 3, 1), (1, 2, 1, 2, 1, 2)])
@pytest.mark.parametrize("dtype", [F32, I8, np.bool_])
def test_rank(shape, dtype):
    m = single_op_model("RANK", [In(shape, dtype)], Out((), I32))
    out = assert_matches_litert(m, [np.zeros(shape, dtype)])[0]
    assert out.shape == () and out == len(shape)


def test_rank_declared_int64_is_int32():
    m = single_op_model("RANK", [In((2, 3, 1))], Out((), I64))
    out = assert_matches_litert(m, [np.zeros((2, 3, 1), F32)])[0]
    assert out.dtype == I32 and out == 3


def test_rank_feeds_downstream():
    import numlite
    from numlite.builder import ModelBuilder

    mb = ModelBuilder()
    x = mb.input("x", (2, 3, 4), F32)
    r = mb.tensor("r", (), I32)
    y = mb.tensor("y", (), I32)
    mb.op("RANK", [x], [r])
    mb.op("ADD_N", [r, r], [y])
    mb.output(y)
    it = numlite.Interpreter(model_content=mb.build())
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], np.zeros((2, 3, 4), F32))
    it.invoke()
    assert it.get_tensor(it.get_output_details()[0]["index"]) == 6
