"""Quantized ABS, NEG, SQRT, CAST and int16 PRELU against LiteRT's reference kernels (BUILTIN_REF).

Every comparison is bit-exact (integer outputs, no tolerance; CAST's float32 outputs hold small
integers, exact too).  8-bit inputs are exhaustive (all 256 values), int16 inputs cover all
65536 values (SQRT: all valid ones), each with several seeded random scale / zero-point pairs
(int16: zero points 0, which LiteRT requires for ABS and SQRT).

What LiteRT 2.3 computes (tflite/kernels/elementwise.cc, neg.cc, cast.cc, activations.cc, and
measured here):

- ABS: ``|x - in_zp|``, requantized by ``in_scale / out_scale`` when the scales differ.
- SQRT: dequantize in float32, ``sqrtf``, divide by the output scale and *truncate*; inputs
  below the zero point fail at invoke ("Sqrt is only defined for non-negative values").
- NEG and CAST ignore quantization: the stored values are negated / cast as they are.
- PRELU int16 reads alpha's buffer as int8 whatever alpha's type: an int16 alpha contributes
  its first ``alpha.size`` bytes.

LiteRT's default resolver (not asserted, measured on this wheel): it agrees with the
reference kernels on every case of ``test_default_resolver_note`` (ABS, SQRT, NEG, CAST, int16
PRELU with wrapping multipliers; also ABS int16 with a multiplier of 1e6 and 8-bit PRELU at
3e-7 output scale, measured once): these quantized forms have no XNNPACK or optimized variant.
"""


import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, invoke_peak_bytes, run_litert, run_numlite, single_op_model

import numlite

SEEDS = range(4)


def qp(scale, zp):
    return {"scale": [float(scale)], "zero_point": [int(zp)]}


def rand_q(rng, dtype, lo=-3.0, hi=0.0):
    """A random (scale, zero point); int16 is symmetric (zero point 0)."""
    info = np.iinfo(dtype)
    zp = 0 if np.dtype(dtype) == np.int16 else int(rng.integers(info.min, info.max + 1))
    return float(10 ** rng.uniform(lo, hi)), zp


def every_value(dtype, lo=None):
    info = np.iinfo(dtype)
    return np.arange(info.min if lo is None else lo, info.max + 1).astype(dtype)


def unary(op, n, dtype, in_q, out_q, out_dtype=None):
    return single_op_model(op, [In((n,), dtype, quant=in_q)], Out((n,), out_dtype or dtype, quant=out_q))


def prepare_error(m):
    it = numlite.Interpreter(model_content=m)
    with pytest.raises(RuntimeError) as e:
        it.allocate_tensors()
    return str(e.value)


# --- ABS ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.int8, np.int16])
@pytest.mark.parametrize("seed", SEEDS)
def test_abs_every_value(dtype, seed):
    rng = np.random.default_rng(100 + seed)
    x = every_value(dtype)
    (si, zi), (so, zo) = rand_q(rng, dtype), rand_q(rng, dtype)
    assert_matches_litert(unary("ABS", x.size, dtype, qp(si, zi), qp(so, zo)), [x], ref=True)
    # equal scales take LiteRT's no-rescale branch (only the zero points move)
    zo2 = 0 if dtype == np.int16 else int(rng.integers(-128, 128))
    assert_matches_litert(unary("ABS", x.size, dtype, qp(si, zi), qp(si, zo2)), [x], ref=True)


@pytest.mark.parametrize("dtype", [np.int8, np.int16])
def test_abs_extreme_scales(dtype):
    x = every_value(dtype)
    zi = -128 if dtype == np.int8 else 0
    for si, so in [(1.0, 1e-6), (1e-6, 1.0), (0.5, 0.25), (3.0, 1.5), (1e3, 1e-3)]:
        assert_matches_litert(unary("ABS", x.size, dtype, qp(si, zi), qp(so, 0)), [x], ref=True)


def test_abs_plain_int16_still_wraps():
    x = np.array([-32768, -32767, -1, 0, 5, 32767], np.int16)
    assert_matches_litert(single_op_model("ABS", [In((6,), np.int16)], Out((6,), np.int16)), [x], ref=True)


# --- SQRT ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.int8, np.int16])
@pytest.mark.parametrize("seed", SEEDS)
def test_sqrt_every_valid_value(dtype, seed):
    rng = np.random.default_rng(200 + seed)
    (si, zi), (so, zo) = rand_q(rng, dtype), rand_q(rng, dtype)
    x = every_value(dtype, lo=zi)  # every value at or above the zero point
    assert_matches_litert(unary("SQRT", x.size, dtype, qp(si, zi), qp(so, zo)), [x], ref=True)


@pytest.mark.parametrize("dtype", [np.int8, np.int16])
def test_sqrt_extreme_scales(dtype):
    # a quotient beyond int32 becomes INT32_MIN in LiteRT (then clamps to the type's minimum)
    zi = -128 if dtype == np.int8 else 0
    x = every_value(dtype, lo=zi)
    for si, so, zo in [(1e3, 1e-7, 0), (1e3, 1e-9, 5 if dtype == np.int8 else 0), (1e-6, 1.0, 0), (0.01, 0.1, 0)]:
        assert_matches_litert(unary("SQRT", x.size, dtype, qp(si, zi), qp(so, zo)), [x], ref=True)


@pytest.mark.parametrize("dtype,zp", [(np.int8, 10), (np.int8, -128), (np.int16, 0)])
def test_sqrt_negative_input_fails_at_invoke(dtype, zp):
    m = unary("SQRT", 4, dtype, qp(0.1, zp), qp(0.1, 0))
    ok = np.array([zp, zp, zp + 1, 127], dtype)
    assert_matches_litert(m, [ok], ref=True)
    if zp == np.iinfo(dtype).min:
        return  # nothing is below the zero point
    bad = np.array([zp, zp - 1, zp + 1, 127], dtype)
    with pytest.raises(RuntimeError, match="non-negative"):
        run_litert(m, [bad], ref=True)
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], bad)
    with pytest.raises(RuntimeError, match=r"SQRT \(node 0\).*non-negative"):
        it.invoke()


def test_sqrt_zero_point_above_the_type():
    # in_zp 200 for int8: no stored value dequantizes to >= 0, so LiteRT fails every invoke;
    # numlite refuses the corrupt zero point itself at allocate_tensors
    m = unary("SQRT", 3, np.int8, qp(0.1, 200), qp(0.1, 0))
    x = np.array([0, 1, 127], np.int8)
    with pytest.raises(RuntimeError, match="non-negative"):
        run_litert(m, [x], ref=True)
    with pytest.raises(RuntimeError, match=r"SQRT \(node 0\).*zero point 200, outside int8's range"):
        run_numlite(m, [x])


# --- NEG ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.int8, np.int16])
@pytest.mark.parametrize("seed", SEEDS)
def test_neg_negates_stored_values(dtype, seed):
    rng = np.random.default_rng(300 + seed)
    x = every_value(dtype)
    (si, zi), (so, zo) = rand_q(rng, dtype), rand_q(rng, dtype)
    if dtype == np.int16:  # NEG does not require symmetric int16: the parameters are not read
        zi, zo = int(rng.integers(-100, 100)), int(rng.integers(-100, 100))
    out = assert_matches_litert(unary("NEG", x.size, dtype, qp(si, zi), qp(so, zo)), [x], ref=True)
    np.testing.assert_array_equal(out[0], -x)  # wraps: -(-128) == -128


def test_neg_quantized_input_unquantized_output():
    x = every_value(np.int8)
    assert_matches_litert(unary("NEG", x.size, np.int8, qp(0.1, 3), None), [x], ref=True)


# --- CAST ---------------------------------------------------------------------------------------
CAST_PAIRS = [(np.int8, np.float32), (np.int8, np.int16), (np.int8, np.uint8), (np.uint8, np.int8),
              (np.int16, np.int8), (np.int16, np.float32), (np.int8, np.int32), (np.int16, np.int32),
              (np.uint8, np.float32), (np.int32, np.int8), (np.int8, np.int8)]


def int_source(dtype, rng):
    info = np.iinfo(dtype)
    if info.bits <= 16:
        return every_value(dtype)
    return np.concatenate([[info.min, info.max, -129, 128, 255, 256, -32769, 32768],
                           rng.integers(info.min, info.max, 500)]).astype(dtype)


@pytest.mark.parametrize("src,dst", CAST_PAIRS, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("seed", range(2))
def test_cast_ignores_quantization(src, dst, seed):
    rng = np.random.default_rng(400 + seed)
    x = int_source(src, rng)
    for in_q, out_q in [(qp(*rand_q(rng, src)), qp(*rand_q(rng, dst)) if dst != np.float32 else None),
                        (qp(*rand_q(rng, src)), None), (None, qp(0.37, 3) if dst != np.float32 else None)]:
        if in_q is None and out_q is None:
            continue
        out = assert_matches_litert(unary("CAST", x.size, src, in_q, out_q, dst), [x], ref=True)
        np.testing.assert_array_equal(out[0], x.astype(dst))


@pytest.mark.parametrize("dst", [np.int8, np.uint8, np.int16])
def test_cast_float_to_quantized_saturates(dst):
    info = np.iinfo(dst)
    rng = np.random.default_rng(7)
    x = np.concatenate([[np.nan, np.inf, -np.inf, 1e30, -1e30, info.min - 0.5, info.min - 1.0, info.max + 0.99,
                         info.max + 1.0, -0.99, 0.99, -0.0],
                        rng.uniform(info.min * 2.0 - 10, info.max * 2.0 + 10, 2000)]).astype(np.float32)
    m = unary("CAST", x.size, np.float32, None, qp(0.02, 4 if dst != np.int16 else 0), dst)
    assert_matches_litert(m, [x], ref=True)


# --- PRELU with int16 alpha ---------------------------------------------------------------------
PRELU_SHAPES = [((2, 3, 4, 5), (5,)), ((4, 16), (4, 16)), ((1, 4, 4, 3), (1, 1, 3)), ((3, 2, 1, 2), (2, 1, 2)),
                ((2, 4), ()), ((256, 256), (256,))]


@pytest.mark.parametrize("const_alpha", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_prelu_int16_alpha(const_alpha, seed):
    for k, (xs, as_) in enumerate(PRELU_SHAPES):
        rng = np.random.default_rng(500 + 10 * seed + k)
        (si, _), (sa, _), (so, _) = (rand_q(rng, np.int16) for _ in range(3))
        zi, za, zo = (int(rng.integers(-50, 50)) for _ in range(3))  # LiteRT does not require 0 here
        x = rng.integers(-32768, 32768, size=xs).astype(np.int16)
        if xs == (256, 256):
            x = every_value(np.int16).reshape(xs)
        a = rng.integers(-32768, 32768, size=as_).astype(np.int16)
        alpha = Const(a, quant=qp(sa, za)) if const_alpha else In(as_, np.int16, quant=qp(sa, za))
        m = single_op_model("PRELU", [In(xs, np.int16, quant=qp(si, zi)), alpha], Out(xs, np.int16, quant=qp(so, zo)))
        assert_matches_litert(m, [x] if const_alpha else [x, a], ref=True)


@pytest.mark.parametrize("dtype,adt", [(np.int16, np.int16), (np.int16, np.int8), (np.int8, np.int8),
                                       (np.uint8, np.uint8)])
def test_prelu_large_multipliers_wrap(dtype, adt):
    # multipliers far above 1: LiteRT's left shift wraps in int32 (numlite's quant helpers saturate)
    xi, ai = np.iinfo(dtype), np.iinfo(adt)
    zx = 0 if dtype == np.int16 else (xi.min + xi.max + 1) // 2
    x = every_value(dtype)
    for so in (1e-3, 1e-5, 3e-7):
        for a in (np.array([ai.min], adt), np.array([ai.max], adt), np.array([ai.min + 3], adt)):
            m = single_op_model("PRELU", [In(x.shape, dtype, quant=qp(1.0, zx)), Const(a, quant=qp(0.9, 0))],
                                Out(x.shape, dtype, quant=qp(so, 0)))
            assert_matches_litert(m, [x], ref=True)


def test_prelu_int16_alpha_reads_bytes():
    # the LiteRT behaviour the int16-alpha form reproduces, stated on one small case
    x = np.full(4, -1000, np.int16)
    a = np.array([2, -3, 256, 513], np.int16)  # bytes as int8: 2, 0, -3, -1
    m = single_op_model("PRELU", [In((4,), np.int16, quant=qp(1.0, 0)), Const(a, quant=qp(1.0, 0))],
                        Out((4,), np.int16, quant=qp(1.0, 0)))
    out = assert_matches_litert(m, [x], ref=True)
    np.testing.assert_array_equal(out[0], [-2000, 0, 3000, 1000])


def test_prelu_int16_errors():
    m = single_op_model("PRELU", [In((2, 3), np.int16, quant=qp(0.1, 0)), In((3,), np.uint8, quant=qp(0.1, 0))],
                        Out((2, 3), np.int16, quant=qp(0.1, 0)))
    msg = prepare_error(m)
    assert "PRELU (node 0)" in msg and "alpha" in msg and "uint8" in msg
    m = single_op_model("PRELU", [In((2, 3), np.int16, quant=qp(0.1, 0)), In((3,), np.int16)],
                        Out((2, 3), np.int16, quant=qp(0.1, 0)))
    assert "PRELU (node 0)" in prepare_error(m) and "alpha" in prepare_error(m)


# --- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize("op,dtype,in_q,out_q,needle,litert_fails", [
    ("ABS", np.int16, qp(0.1, 3), qp(0.1, 0), "zero points", True),
    ("ABS", np.int16, qp(0.1, 0), qp(0.1, -2), "zero points", True),
    ("SQRT", np.int16, qp(0.1, 2), qp(0.1, 0), "zero points", True),
    ("ABS", np.int8, None, None, "quantization", True),
    ("SQRT", np.int8, None, None, "quantization", True),
    ("ABS", np.int8, qp(0.1, 0), None, "quantization", True),
    ("SQRT", np.int8, qp(0.1, 0), None, "quantization", True),
    ("SQRT", np.int16, qp(0.1, 0), None, "quantization", True),
    ("ABS", np.uint8, qp(0.1, 0), qp(0.1, 0), "uint8", True),
    ("SQRT", np.uint8, qp(0.1, 0), qp(0.1, 0), "uint8", True),
    ("NEG", np.uint8, qp(0.1, 0), qp(0.1, 0), "uint8", True),
    # LiteRT crashes on an unquantized int16 SQRT (it reads the missing parameters); numlite refuses it
    ("SQRT", np.int16, None, None, "int16", False),
])
def test_errors(op, dtype, in_q, out_q, needle, litert_fails):
    m = unary(op, 4, dtype, in_q, out_q)
    if litert_fails:
        with pytest.raises(RuntimeError):
            run_litert(m, [np.zeros(4, dtype)], ref=True)
    msg = prepare_error(m)
    assert f"{op} (node 0)" in msg and needle in msg


def test_output_type_must_match():
    for op in ("ABS", "SQRT"):
        m = unary(op, 4, np.int8, qp(0.1, 0), qp(0.1, 0), np.int16)
        assert f"{op} (node 0)" in prepare_error(m) and "output" in prepare_error(m)


def test_per_channel_parameters_rejected():
    q = {"scale": [0.1, 0.2], "zero_point": [0, 0], "quantized_dimension": 0}
    for op in ("ABS", "SQRT"):
        m = single_op_model(op, [In((2, 3), np.int8, quant=q)], Out((2, 3), np.int8, quant=qp(0.1, 0)))
        assert f"{op} (node 0)" in prepare_error(m) and "per tensor" in prepare_error(m)


# --- shapes, the invoke step, the default resolver ----------------------------------------------
@pytest.mark.parametrize("op", ["ABS", "SQRT", "NEG"])
def test_shapes(op):
    rng = np.random.default_rng(9)
    for shape in [(), (0,), (2, 0, 3), (3, 5, 7), (1, 40000)]:
        x = rng.integers(0, 128, size=shape).astype(np.int8)
        m = single_op_model(op, [In(shape, np.int8, quant=qp(0.05, -3))], Out(shape, np.int8, quant=qp(0.02, 7)))
        assert_matches_litert(m, [x], ref=True)


@pytest.mark.parametrize("op,dtype", [("ABS", np.int8), ("ABS", np.int16), ("SQRT", np.int16), ("NEG", np.int8),
                                      ("CAST", np.int8), ("PRELU", np.int16)])
def test_invoke_allocates_nothing(op, dtype):
    n = 1 << 20
    if op == "PRELU":
        m = single_op_model(op, [In((n,), dtype, quant=qp(0.1, 0)), Const(np.array([-5], np.int16), quant=qp(0.1, 0))],
                            Out((n,), dtype, quant=qp(0.2, 0)))
    elif op == "CAST":
        m = unary(op, n, dtype, qp(0.1, 3), qp(0.2, 0), np.int16)
    else:
        m = unary(op, n, dtype, qp(0.1, 0), qp(0.07, 0))
    x = np.resize(every_value(dtype, lo=0), n)
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    peak = invoke_peak_bytes(it)
    assert peak < n // 8, f"{op} allocated {peak} bytes during invoke"


def test_default_resolver_note():
    """Not asserted against numlite: records that LiteRT's default path runs these forms and
    whether it agrees with its reference kernels (it did on every case when measured)."""
    rng = np.random.default_rng(11)
    cases = []
    for dtype in (np.int8, np.int16):
        (si, zi), (so, zo) = rand_q(rng, dtype), rand_q(rng, dtype)
        cases.append((unary("ABS", 256, dtype, qp(si, zi), qp(so, zo)), rng.integers(-128, 128, 256).astype(dtype)))
        x = every_value(dtype, lo=zi)[:256]
        cases.append((unary("SQRT", x.size, dtype, qp(si, zi), qp(so, zo)), x))
        cases.append((unary("NEG", 256, dtype, qp(si, zi), qp(so, zo)), rng.integers(-128, 128, 256).astype(dtype)))
        x = rng.integers(-128, 128, 256).astype(dtype)
        cases.append((unary("CAST", 256, dtype, qp(si, zi), None, np.float32), x))
    x16 = every_value(np.int16)
    for a in (np.array([-128], np.int8), np.array([-7], np.int16)):
        m = single_op_model("PRELU", [In((2, 32768), np.int16, quant=qp(1.0, 0)), Const(a, quant=qp(1.0, 0))],
                            Out((2, 32768), np.int16, quant=qp(1e-3, 0)))  # a multiplier that wraps
        cases.append((m, x16.reshape(2, 32768)))
    differ = 0
    for m, x in cases:
        ref, default = run_litert(m, [x], ref=True)[0], run_litert(m, [x])[0]
        differ += int(np.any(ref != default))
    print(f"default resolver differs from BUILTIN_REF on {differ} of {len(cases)} cases")
