"""Quantized tensors through FLOOR_DIV, FLOOR_MOD, POW, SIGN, ADD_N, RIGHT_SHIFT, BITWISE_XOR and
BITCAST, bit-exact against LiteRT 2.3's reference kernels (BUILTIN_REF) and its default ones.

None of these LiteRT kernels reads quantization parameters: a quantized tensor is computed on
its stored values, whatever the scales and zero points of inputs and output (measured; the
models below give the three tensors different parameters to show it).  numlite does the same.
The float-only ops (FLOOR, CEIL, ROUND, ATAN2) have no quantized form in LiteRT 2.3: it refuses
8- and 16-bit inputs at prepare, and so does numlite.
"""

import numpy as np
import pytest
from util import In, Out, assert_matches_litert, rand, run_litert, run_numlite, single_op_model

QA = {"scale": [0.5], "zero_point": [3]}
QB = {"scale": [0.25], "zero_point": [-2]}
QO = {"scale": [1.0], "zero_point": [1]}
QA16, QB16, QO16 = ({"scale": [s], "zero_point": [0]} for s in (0.5, 0.25, 1.0))


def qparams(dtype):
    if np.dtype(dtype) == np.int16:
        return QA16, QB16, QO16
    if np.dtype(dtype) == np.uint8:
        return ({"scale": q["scale"], "zero_point": [abs(q["zero_point"][0]) + 100]} for q in (QA, QB, QO))
    return QA, QB, QO


def ints(shape, dtype, seed, lo=None, hi=None):
    info = np.iinfo(dtype)
    return rand(shape, dtype, seed=seed, lo=info.min if lo is None else lo, hi=info.max if hi is None else hi)


def binary_q(op, s1, s2, dtype, version=1):
    qa, qb, qo = qparams(dtype)
    return single_op_model(op, [In(s1, dtype, quant=qa), In(s2, dtype, quant=qb)],
                           Out(np.broadcast_shapes(s1, s2), dtype, quant=qo), version=version)


@pytest.mark.parametrize("ref", [True, False])
@pytest.mark.parametrize("op,dtype,version", [
    ("FLOOR_DIV", np.int8, 3), ("FLOOR_DIV", np.int16, 2), ("FLOOR_DIV", np.int32, 1),
    ("FLOOR_MOD", np.int8, 2), ("FLOOR_MOD", np.int16, 2), ("FLOOR_MOD", np.int32, 1),
])
def test_floor_div_mod_stored_values(op, dtype, version, ref):
    a = ints((3, 4), dtype, seed=1)
    b = ints((4,), dtype, seed=2, lo=-30, hi=30)
    b[b == 0] = 7
    if op == "FLOOR_DIV":  # keep away from MIN // -1 (see test_math_ops)
        b[b == -1] = -2
    assert_matches_litert(binary_q(op, a.shape, b.shape, dtype, version), [a, b], ref=ref)
    # the stored-value zero is the error, not the real zero (the zero point)
    b2 = b.copy()
    b2[0] = 0
    with pytest.raises(RuntimeError, match=rf"{op} \(node 0\).*by zero"):
        run_numlite(binary_q(op, a.shape, b.shape, dtype, version), [a, b2])
    zp = qparams(dtype)[1]["zero_point"][0]
    if zp == 0:  # int16: symmetric, the zero point is the stored zero
        return
    b3 = b.copy()
    b3[0] = zp
    assert_matches_litert(binary_q(op, a.shape, b.shape, dtype, version), [a, b3], ref=ref)


@pytest.mark.parametrize("ref", [True, False])
@pytest.mark.parametrize("op", ["RIGHT_SHIFT", "BITWISE_XOR"])
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
def test_bit_ops_stored_values(op, dtype, ref):
    a = ints((2, 3, 4), dtype, seed=3)
    b = ints((3, 1), dtype, seed=4, lo=0 if op == "RIGHT_SHIFT" and dtype == np.uint8 else None)
    assert_matches_litert(binary_q(op, a.shape, b.shape, dtype), [a, b], ref=ref)


@pytest.mark.parametrize("ref", [True, False])
def test_int32_ops_stored_values(ref):
    q = {"scale": [0.5], "zero_point": [3]}
    a = ints((6,), np.int32, seed=5, lo=-50, hi=50)
    b = ints((6,), np.int32, seed=6, lo=0, hi=4)
    m = single_op_model("POW", [In((6,), np.int32, quant=q), In((6,), np.int32, quant=QB)],
                        Out((6,), np.int32, quant=QO))
    assert_matches_litert(m, [a, b], ref=ref)
    m = single_op_model("SIGN", [In((6,), np.int32, quant=q)], Out((6,), np.int32, quant=QO), version=2)
    assert_matches_litert(m, [a], ref=ref)
    m = single_op_model("ADD_N", [In((6,), np.int32, quant=q), In((6,), np.int32, quant=QB),
                                  In((6,), np.int32)], Out((6,), np.int32, quant=QO))
    assert_matches_litert(m, [a, b, a], ref=ref)


@pytest.mark.parametrize("src,dst", [(np.int8, np.uint8), (np.int16, np.int8), (np.int8, np.int16)])
def test_bitcast_quantized(src, dst):
    shape = (3, 2)
    x = ints(shape, src, seed=7)
    isz, osz = np.dtype(src).itemsize, np.dtype(dst).itemsize
    oshape = shape + (isz // osz,) if isz > osz else shape[:-1] if isz < osz else shape
    m = single_op_model("BITCAST", [In(shape, src, quant=QA16 if src == np.int16 else QA)],
                        Out(oshape, dst, quant=QO16 if dst == np.int16 else QO))
    for ref in (True, False):
        assert_matches_litert(m, [x], ref=ref)


@pytest.mark.parametrize("op", ["FLOOR", "CEIL", "ROUND", "ATAN2"])
@pytest.mark.parametrize("dtype", [np.int8, np.int16])
def test_float_ops_have_no_quantized_form(op, dtype):
    qa, qb, qo = qparams(dtype)
    ins = [In((4,), dtype, quant=qa)] + ([In((4,), dtype, quant=qb)] if op == "ATAN2" else [])
    m = single_op_model(op, ins, Out((4,), dtype, quant=qo))
    feeds = [ints((4,), dtype, seed=8)] * len(ins)
    with pytest.raises(RuntimeError, match=rf"{op} \(node 0\)"):
        run_numlite(m, feeds)
    with pytest.raises(RuntimeError):
        run_litert(m, feeds)
