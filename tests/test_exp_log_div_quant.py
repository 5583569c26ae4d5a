"""Quantized EXP, LOG (int8, int16) and DIV (uint8, int8, int16) against LiteRT's reference
kernels (BUILTIN_REF): bit-exact, integer outputs, no tolerance.

Seeded random scales (a few orders of magnitude) and zero points (the type's range; 0 for int16
where LiteRT 2.3 requires it), inputs over the whole type range: every value for the unary ops
(256 for int8, 65536 for int16), every byte pair (65536) for 8-bit DIV.  DIV multipliers
``s1 / (s2 * s_out)`` span 1e-4 .. 1e4, so LiteRT's out-of-range rounding shifts (see
numlite/ops/div.py) are exercised as much as the in-range ones.

LiteRT's default resolver (not asserted): measured equal to the reference kernels for every
case here (EXP has no optimized kernel; LOG shares its kernel; DIV's optimized path uses the same
elementwise routine for quantized types, and XNNPACK takes none of them).
"""


import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, invoke_peak_bytes, run_litert, run_numlite, single_op_model

import numlite

ACTS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1", "TANH", "SIGN_BIT"]


def qp(scale, zp):
    return {"scale": [float(scale)], "zero_point": [int(zp)]}


def zero_point(rng, dtype):
    if np.dtype(dtype) == np.int16:
        return 0
    info = np.iinfo(dtype)
    return int(rng.integers(info.min, info.max + 1))


def every_value(dtype):
    info = np.iinfo(dtype)
    return np.arange(info.min, info.max + 1).astype(dtype)


def full_range(shape, dtype, rng):
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max + 1, size=shape).astype(dtype)


def prepare_error(m):
    it = numlite.Interpreter(model_content=m)
    with pytest.raises(RuntimeError) as e:
        it.allocate_tensors()
    return str(e.value)


def unary(op, dtype, in_q, out_q, shape=None):
    x = every_value(dtype)
    shape = shape or x.shape
    return single_op_model(op, [In(shape, dtype, quant=in_q)], Out(shape, dtype, quant=out_q)), x.reshape(shape)


# --- EXP / LOG ------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["EXP", "LOG"])
def test_unary_int8_every_value(op):
    rng = np.random.default_rng(11 if op == "EXP" else 12)
    for seed in range(6):
        # wide input scales make exp overflow (saturates to 127) and log see many values <= 0
        in_q = qp(10 ** rng.uniform(-3, 0.5), zero_point(rng, np.int8))
        out_q = qp(10 ** rng.uniform(-3, 1), zero_point(rng, np.int8))
        m, x = unary(op, np.int8, in_q, out_q, shape=(4, 64) if seed % 2 else None)
        assert_matches_litert(m, [x], ref=True)


@pytest.mark.parametrize("op", ["EXP", "LOG"])
def test_unary_int16_every_value(op):
    rng = np.random.default_rng(21 if op == "EXP" else 22)
    for _ in range(3):
        # EXP: input scales up to 0.1 reach expf's overflow (nan table entries, wrapped slopes)
        in_q = qp(10 ** rng.uniform(-4, -1), 0)
        out_q = qp(10 ** rng.uniform(-4, 0), 0)
        m, x = unary(op, np.int16, in_q, out_q)
        assert_matches_litert(m, [x], ref=True)


def test_exp_int16_overflowing_table():
    # a table where expf overflows inside the input range: LiteRT's interpolation wraps there
    m, x = unary("EXP", np.int16, qp(0.0521, 0), qp(0.302, 0))
    out = assert_matches_litert(m, [x], ref=True)[0]
    assert out.min() < 0  # not a saturating result: what LiteRT computes


def test_unary_exact_points():
    # log(1) = 0, log(e) = 1, exp(0) = 1 at scales where they are representable
    m = single_op_model("LOG", [In((3,), np.int8, quant=qp(0.5, 0))], Out((3,), np.int8, quant=qp(1 / 64, 0)))
    out = assert_matches_litert(m, [np.array([2, 0, -3], np.int8)], ref=True)[0]
    assert out[0] == 0 and out[1] == out[2] == -128
    m = single_op_model("EXP", [In((2,), np.int8, quant=qp(0.1, 3))], Out((2,), np.int8, quant=qp(1 / 64, -100)))
    assert assert_matches_litert(m, [np.array([3, 127], np.int8)], ref=True)[0][0] == -36


# --- DIV -----------------------------------------------------------------------------------
def div_model(sa, sb, dtype, qa, qb, qo, **kw):
    return single_op_model("DIV", [In(sa, dtype, quant=qa), In(sb, dtype, quant=qb)],
                           Out(np.broadcast_shapes(sa, sb), dtype, quant=qo), **kw)


def div_params(rng, dtype, lo=-4.0, hi=4.0):
    s1, s2 = (float(10 ** rng.uniform(-3, 0)) for _ in range(2))
    so = s1 / s2 * 10 ** rng.uniform(lo, hi)  # multiplier s1 / (s2 * so) over 10**-hi .. 10**-lo
    return qp(s1, zero_point(rng, dtype)), qp(s2, zero_point(rng, dtype)), qp(so, zero_point(rng, dtype))


def nonzero_divisor(b, qb):
    zp = qb["zero_point"][0]
    info = np.iinfo(b.dtype)
    b[b == zp] = zp + 1 if zp < info.max else zp - 1
    return b


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_div_8bit_every_pair(dtype):
    rng = np.random.default_rng(31 + np.dtype(dtype).num)
    v = every_value(dtype)
    a, b = np.repeat(v, v.size), np.tile(v, v.size)
    for _ in range(5):
        qa, qb, qo = div_params(rng, dtype)
        keep = b != qb["zero_point"][0]
        n = int(keep.sum())
        assert_matches_litert(div_model((n,), (n,), dtype, qa, qb, qo), [a[keep], b[keep]], ref=True)


SHAPES = [((2, 3, 4), (2, 3, 4)), ((1, 4, 4, 3), (3,)), ((2, 1, 5), (1, 4, 1)), ((), (3, 2)), ((4, 1), ()),
          ((2, 1, 3, 1, 2), (1, 3, 1, 4, 1)), ((3, 4), (1, 3, 4))]


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
def test_div_broadcast(dtype):
    rng = np.random.default_rng(41 + np.dtype(dtype).num)
    for sa, sb in SHAPES:
        for _ in range(2):
            qa, qb, qo = div_params(rng, dtype)
            a, b = full_range(sa, dtype, rng), nonzero_divisor(full_range(sb, dtype, rng), qb)
            assert_matches_litert(div_model(sa, sb, dtype, qa, qb, qo), [a, b], ref=True)
            # the other way round: the first input broadcasts
            assert_matches_litert(div_model(sb, sa, dtype, qb, qa, qo), [b, nonzero_divisor(a.copy(), qa)], ref=True)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
def test_div_fused_activations(dtype, act):
    rng = np.random.default_rng(51)
    for _ in range(3):
        # output scales near the quotient's range so the clamps cut into real values
        qa, qb, qo = div_params(rng, dtype, -1.0, 1.0)
        a, b = full_range((3, 5, 7), dtype, rng), nonzero_divisor(full_range((5, 1), dtype, rng), qb)
        assert_matches_litert(div_model((3, 5, 7), (5, 1), dtype, qa, qb, qo, fused_activation_function=act), [a, b],
                              ref=True)


def test_div_int16_large():
    rng = np.random.default_rng(61)
    for _ in range(3):
        qa, qb, qo = div_params(rng, np.int16)
        a, b = full_range((64, 256), np.int16, rng), nonzero_divisor(full_range((64, 256), np.int16, rng), qb)
        assert_matches_litert(div_model(a.shape, b.shape, np.int16, qa, qb, qo), [a, b], ref=True)


def test_div_constant_divisor():
    rng = np.random.default_rng(71)
    for dtype in (np.int8, np.int16):
        qa, qb, qo = div_params(rng, dtype, -1, 1)
        b = nonzero_divisor(full_range((4,), dtype, rng), qb)
        m = single_op_model("DIV", [In((3, 4), dtype, quant=qa), Const(b, quant=qb)], Out((3, 4), dtype, quant=qo))
        assert_matches_litert(m, [full_range((3, 4), dtype, rng)], ref=True)


def test_div_zero_divisor():
    # a divisor element equal to its zero point (a real 0) fails the invoke, as in LiteRT;
    # the stored value 0 is fine when it is not the zero point
    q = qp(0.1, 5)
    m = div_model((4,), (4,), np.int8, q, q, qp(0.05, 0))
    a = np.array([1, 2, 3, 4], np.int8)
    ok = np.array([0, 1, 2, 3], np.int8)
    assert_matches_litert(m, [a, ok], ref=True)
    bad = np.array([6, 5, 7, 8], np.int8)
    with pytest.raises(RuntimeError, match="zero_point"):
        run_litert(m, [a, bad], ref=True)
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], a)
    it.set_tensor(it.get_input_details()[1]["index"], bad)
    with pytest.raises(RuntimeError, match=r"DIV \(node 0\).*division by zero.*zero point 5"):
        it.invoke()
    for dtype in (np.uint8, np.int16):
        q = qp(0.1, 0 if dtype == np.int16 else 200)
        m = div_model((2, 3), (3,), dtype, q, q, q)
        b = np.array([1, q["zero_point"][0], 3], dtype)
        with pytest.raises(RuntimeError, match="division by zero"):
            run_numlite(m, [np.ones((2, 3), dtype), b])
        with pytest.raises(RuntimeError):
            run_litert(m, [np.ones((2, 3), dtype), b], ref=True)
    # a constant divisor holding its zero point is reported at prepare
    m = single_op_model("DIV", [In((3,), np.int8, quant=q), Const(np.array([1, 5, 2], np.int8), quant=qp(0.1, 5))],
                        Out((3,), np.int8, quant=q))
    msg = prepare_error(m)
    assert "DIV (node 0)" in msg and "zero point 5" in msg


# --- errors ----------------------------------------------------------------------------------
def test_errors():
    q8, q16 = qp(0.1, 3), qp(0.01, 0)
    for op in ("EXP", "LOG"):
        # uint8: no quantized form in LiteRT (EXP fails at invoke, LOG at prepare); numlite at prepare
        m = single_op_model(op, [In((4,), np.uint8, quant=q8)], Out((4,), np.uint8, quant=q8))
        msg = prepare_error(m)
        assert f"{op} (node 0)" in msg and "uint8" in msg
        with pytest.raises(RuntimeError):
            run_litert(m, [np.ones(4, np.uint8)], ref=True)
        # int16 zero points must be 0 (LiteRT 2.3 checks at prepare)
        m = single_op_model(op, [In((4,), np.int16, quant=qp(0.01, 7))], Out((4,), np.int16, quant=q16))
        msg = prepare_error(m)
        assert f"{op} (node 0)" in msg and "zero points of 0" in msg
        with pytest.raises(RuntimeError):
            run_litert(m, [np.ones(4, np.int16)], ref=True)
        # int16 without quantization (LiteRT's LOG would read a table it never built)
        m = single_op_model(op, [In((4,), np.int16)], Out((4,), np.int16))
        assert f"{op} (node 0)" in prepare_error(m)
        # quantized input, float output / unquantized output
        m = single_op_model(op, [In((4,), np.int8, quant=q8)], Out((4,), np.int8))
        assert "no quantization parameters" in prepare_error(m)
    # DIV: per-channel quantization, mismatched output type, unquantized 8-bit tensors
    pc = {"scale": [0.1, 0.2], "zero_point": [0, 0], "quantized_dimension": 0}
    m = div_model((2,), (2,), np.int8, pc, q8, q8)
    assert "per channel" in prepare_error(m)
    m = single_op_model("DIV", [In((2,), np.int8, quant=q8), In((2,), np.int8, quant=q8)],
                        Out((2,), np.int16, quant=q16))
    assert "DIV (node 0)" in prepare_error(m) and "int16" in prepare_error(m)
    m = single_op_model("DIV", [In((2,), np.int8), In((2,), np.int8)], Out((2,), np.int8))
    assert "no quantization parameters" in prepare_error(m)


# --- invoke allocates nothing ------------------------------------------------------------------
@pytest.mark.parametrize("case", ["EXP int8", "LOG int16", "DIV int8", "DIV int16"])
def test_invoke_allocates_nothing(case):
    op, dt = case.split()
    dtype = np.dtype(dt).type
    rng = np.random.default_rng(81)
    # 1M elements: a per-element allocation would show; NumPy's broadcasting ufuncs keep one
    # fixed 64 KiB cast / iteration buffer, which stays under the bound
    n = 1 << 20
    if op == "DIV":
        qa, qb, qo = div_params(rng, dtype)
        m = div_model((64, n // 64), (n // 64,), dtype, qa, qb, qo)
        feeds = [full_range((64, n // 64), dtype, rng), nonzero_divisor(full_range((n // 64,), dtype, rng), qb)]
    else:
        q = qp(0.01, 0)
        m = single_op_model(op, [In((n,), dtype, quant=q)], Out((n,), dtype, quant=q))
        feeds = [full_range((n,), dtype, rng)]
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    for d, v in zip(it.get_input_details(), feeds):
        it.set_tensor(d["index"], v)
    it.invoke()
    peak = invoke_peak_bytes(it)
    assert peak < n // 8, f"{case} allocated {peak} bytes during invoke"
    assert np.array_equal(it.get_tensor(it.get_output_details()[0]["index"]), run_litert(m, feeds, ref=True)[0])
