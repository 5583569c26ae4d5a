"""MEAN, SUM, REDUCE_MAX, REDUCE_PROD (float32, int32, int64) against LiteRT.

Tolerance: float sums and products are accumulated in a different order than LiteRT's
kernels (XNNPACK for some MEAN forms); values in [-3, 3] and at most 60 reduced elements keep
the difference under rtol=1e-5, atol=1e-5.  Integer results must be exact (they wrap alike).
"""

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, rand, run_numlite, single_op_model

from numlite.builder import ModelBuilder

OPS = ["MEAN", "SUM", "REDUCE_MAX", "REDUCE_PROD"]
TOL = {"rtol": 1e-5, "atol": 1e-5}


def reduce_model(op, shape, dtype, axis, keep):
    return single_op_model(op, [In(shape, dtype), Const(np.array(axis, np.int32))], Out((), dtype), keep_dims=keep)


def data(op, shape, dtype, seed=0):
    if np.dtype(dtype).kind == "f":
        if op == "REDUCE_PROD":  # keep products of up to 60 factors near 1
            return rand(shape, seed=seed, lo=0.5, hi=1.5)
        return rand(shape, dtype, seed=seed, lo=-3, hi=3)
    if op == "REDUCE_PROD":
        return rand(shape, dtype, seed=seed, lo=-2, hi=2)
    return rand(shape, dtype, seed=seed, lo=-100, hi=100)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64])
@pytest.mark.parametrize("shape,axis", [
    ((3, 4, 5), [1]),
    ((3, 4, 5), [0, 2]),
    ((3, 4, 5), -1),            # scalar axis
    ((3, 4, 5), [-1, 2, 0]),    # negative and duplicated
    ((3, 4, 5), [0, 1, 2]),     # everything: a scalar result
    ((3, 4, 5), []),            # nothing: a copy
    ((1, 7, 7, 8), [1, 2]),     # global average pool as MEAN
    ((6,), [0]),
    ((2, 1, 3, 2, 2), [1, 3, 4]),
])
@pytest.mark.parametrize("keep", [False, True])
def test_reduce(op, dtype, shape, axis, keep):
    assert_matches_litert(reduce_model(op, shape, dtype, axis, keep), [data(op, shape, dtype)], **TOL)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_reduce_empty_input(op, dtype):
    # identities as LiteRT: SUM 0, PROD 1, MAX -inf / lowest int, MEAN NaN / 0
    out = assert_matches_litert(reduce_model(op, (2, 0, 3), dtype, [1], False), [np.zeros((2, 0, 3), dtype)])[0]
    assert out.shape == (2, 3)


@pytest.mark.parametrize("op", OPS)
def test_reduce_rank0(op):
    assert_matches_litert(reduce_model(op, (), np.float32, [0], False), [np.array(2.5, np.float32)])


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_mean_int_rounds_toward_zero(dtype):
    x = np.array([[-7, -5, 1], [7, 5, -1], [-1, 0, 0], [1, 1, 0], [-2, -2, -1]], dtype)
    out = assert_matches_litert(reduce_model("MEAN", x.shape, dtype, [1], False), [x])[0]
    np.testing.assert_array_equal(out, [-3, 3, 0, 0, -1])


def test_sum_and_prod_int32_wrap():
    x = np.array([2**31 - 1, 5, 2**20, 2**20], np.int32)
    assert_matches_litert(reduce_model("SUM", (4,), np.int32, [0], False), [x])
    assert_matches_litert(reduce_model("REDUCE_PROD", (4,), np.int32, [0], False), [x])


def test_reduce_max_skips_nan():
    x = np.array([[np.nan, 1.0, -2.0], [np.nan, np.nan, np.nan], [3.0, np.nan, 4.0]], np.float32)
    assert_matches_litert(reduce_model("REDUCE_MAX", x.shape, np.float32, [1], False), [x])


@pytest.mark.parametrize("op", OPS)
def test_reduce_versions(op):
    top = {"MEAN": 3, "SUM": 2, "REDUCE_MAX": 3, "REDUCE_PROD": 2}[op]
    m = single_op_model(op, [In((2, 3)), Const(np.array([1], np.int32))], Out(), version=top, keep_dims=True)
    assert_matches_litert(m, [data(op, (2, 3), np.float32)], **TOL)


def test_reduce_axis_folded_at_prepare():
    # axis = ADD(const, const): not a constant in the file, but known once folded
    mb = ModelBuilder()
    x = mb.input("x", (2, 3, 4), np.float32)
    a = mb.const("a", np.array([0, 1], np.int32))
    b = mb.const("b", np.array([2, -2], np.int32))
    ax = mb.tensor("axis", (2,), np.int32)
    y = mb.tensor("y", (), np.float32)
    mb.op("ADD", [a, b], [ax])
    mb.op("SUM", [x, ax], [y], keep_dims=False)
    mb.output(y)
    assert_matches_litert(mb.build(), [rand((2, 3, 4))], **TOL)


# -- errors ----------------------------------------------------------------------------------
def _fails(op, model, feeds, match):
    with pytest.raises(RuntimeError, match=rf"{op} \(node 0\).*" + match):
        run_numlite(model, feeds)


@pytest.mark.parametrize("op", OPS)
def test_reduce_rejects_runtime_axis(op):
    m = single_op_model(op, [In((2, 3)), In((1,), np.int32)], Out())
    _fails(op, m, [rand((2, 3)), np.array([1], np.int32)], "axis.*known before invoke")


@pytest.mark.parametrize("op", OPS)
def test_reduce_rejects_axis_out_of_range(op):
    _fails(op, reduce_model(op, (2, 3), np.float32, [2], False), [rand((2, 3))], "axis 2 is out of range")
    _fails(op, reduce_model(op, (2, 3), np.float32, [-3], False), [rand((2, 3))], "axis -3 is out of range")


def test_reduce_rejects_int64_axis():
    m = single_op_model("SUM", [In((2, 3)), Const(np.array([1], np.int64))], Out())
    _fails("SUM", m, [rand((2, 3))], "int32")


@pytest.mark.parametrize("op", ["MEAN", "SUM"])
def test_reduce_rejects_unquantized_int8(op):
    m = reduce_model(op, (2, 3), np.int8, [1], False)
    _fails(op, m, [np.zeros((2, 3), np.int8)], "int8")
