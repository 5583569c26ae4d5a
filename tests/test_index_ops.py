"""ARG_MAX, ARG_MIN, TOPK_V2, GATHER_ND, ONE_HOT and CUMSUM against LiteRT 2.3.

Indices and copied values must match exactly; CUMSUM's float32 sums run in the same order as
LiteRT's, so rtol=1e-6 only covers the summation of different-length prefixes in the tests.
"""

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, rand, run_litert, run_numlite, single_op_model

import numlite
from numlite.ops.base import PrepareError
from numlite.ops.registry import supported_builtins

OT = {np.int32: "INT32", np.int64: "INT64"}


# --- ARG_MAX / ARG_MIN -------------------------------------------------------------------------
def arg_model_t(op, shape, dt, axis, out_dtype=np.int64, axis_dtype=np.int32, version=1, quant=None):
    a = axis % len(shape)
    out = shape[:a] + shape[a + 1:]
    return single_op_model(op, [In(shape, dt, quant=quant), Const(np.array([axis], axis_dtype))], Out(out, out_dtype),
                           version=version, output_type=OT[out_dtype])


@pytest.mark.parametrize("op", ["ARG_MAX", "ARG_MIN"])
def test_arg_dtypes_axes(op):
    assert supported_builtins()[op] == [1, 2, 3]
    shapes = [(7,), (3, 5), (2, 3, 4), (2, 1, 6, 1), (1, 9, 2), (0, 4)]
    for dt in (np.float32, np.int8, np.uint8, np.int32, np.bool_):
        for k, shape in enumerate(shapes):
            x = rand(shape, np.float32, seed=k, lo=-3, hi=3).round().astype(dt)  # ties
            for axis in range(-len(shape), len(shape)):
                if shape[axis]:
                    for od in (np.int32, np.int64):
                        assert_matches_litert(arg_model_t(op, shape, dt, axis, od, axis_dtype=np.int64 if k % 2 else
                                                          np.int32), [x])
    for v in (1, 2):
        assert_matches_litert(arg_model_t(op, (3, 4), np.float32, 1, version=v), [rand((3, 4))], ref=True)
    assert_matches_litert(arg_model_t(op, (3, 4), np.float32, 1, version=3), [rand((3, 4))])


@pytest.mark.parametrize("op", ["ARG_MAX", "ARG_MIN"])
def test_arg_nan(op):
    # LiteRT's unit-stride path (rows of 4+) folds NaN lanes its own way; the strided path ignores NaN
    rng = np.random.default_rng(7)
    for shape, axis in [((40, 4), 1), ((30, 13), 1), ((25, 9, 1), 1), ((6, 3), 1), ((9, 30), 0), ((5, 6, 7), 1)]:
        x = rng.integers(-3, 4, size=shape).astype(np.float32)
        x[rng.random(shape) < 0.3] = np.nan
        x[rng.random(shape) < 0.1] = -np.inf if op == "ARG_MAX" else np.inf
        x.reshape(-1, shape[-1])[0] = np.nan  # an all-NaN row
        assert_matches_litert(arg_model_t(op, shape, np.float32, axis), [x], ref=True)


def test_arg_quantized_compares_stored_values():
    x = np.array([[1, -5, 3, 3], [-1, -1, -2, 7]], np.int8)
    for op in ("ARG_MAX", "ARG_MIN"):
        assert_matches_litert(arg_model_t(op, (2, 4), np.int8, 1, quant={"scale": 0.1, "zero_point": 3}), [x],
                              ref=True)


def test_arg_errors():
    m = arg_model_t("ARG_MAX", (2, 3), np.int16, 1)
    with pytest.raises(PrepareError, match=r"ARG_MAX \(node 0\).*int16.*supported"):
        run_numlite(m, [np.zeros((2, 3), np.int16)])
    m = single_op_model("ARG_MAX", [In((2, 3)), In((1,), np.int32)], Out((2,), np.int64), output_type="INT64")
    with pytest.raises(PrepareError, match="axis input.*must be known"):
        numlite.Interpreter(model_content=m).allocate_tensors()
    m = single_op_model("ARG_MIN", [In((2, 0)), Const(np.array([1], np.int32))], Out((2,), np.int64),
                        output_type="INT64")
    with pytest.raises(PrepareError, match="empty axis"):
        numlite.Interpreter(model_content=m).allocate_tensors()
    m = single_op_model("ARG_MIN", [In((2, 3)), Const(np.array([2], np.int32))], Out((2,), np.int64),
                        output_type="INT64")
    with pytest.raises(PrepareError, match="out of range"):
        numlite.Interpreter(model_content=m).allocate_tensors()


# --- TOPK_V2 -----------------------------------------------------------------------------------
def topk_model(shape, dt, k, idx_dtype=np.int32, k_dtype=np.int32, version=1, quant=None):
    kk = max(min(k, shape[-1]), 0)
    out = shape[:-1] + (kk,)
    return single_op_model("TOPK_V2", [In(shape, dt, quant=quant), Const(np.array(k, k_dtype))],
                           [Out(out, dt, quant=quant), Out(out, idx_dtype)], version=version)


def test_topk_dtypes_ties_versions():
    assert supported_builtins()["TOPK_V2"] == [1, 2, 3]
    for dt in (np.float32, np.int8, np.uint8, np.int16, np.int32, np.int64):
        info = np.iinfo(dt) if np.dtype(dt).kind in "iu" else None
        for k, (shape, kk) in enumerate([((10,), 3), ((4, 6), 6), ((2, 3, 5), 1), ((3, 4), 0), ((0, 5), 2),
                                         ((2, 7), -1)]):
            x = rand(shape, np.float32, seed=k, lo=-3, hi=3).round().astype(dt)
            if info is not None and x.size:
                x.flat[0], x.flat[-1] = info.min, info.max
            for idt, kdt in ((np.int32, np.int32), (np.int16, np.int16)):
                assert_matches_litert(topk_model(shape, dt, kk, idt, kdt), [x])
    x = rand((3, 8), seed=3)
    for v in (1, 2, 3):
        assert_matches_litert(topk_model((3, 8), np.float32, 4, version=v), [x], ref=True)


def test_topk_nan_and_quantized():
    x = np.array([[np.nan, 1, np.nan, 3, -np.inf, 3, 0.0, -0.0]], np.float32)
    assert_matches_litert(topk_model(x.shape, np.float32, 8), [x], ref=True)
    assert_matches_litert(topk_model(x.shape, np.float32, 3), [x], ref=True)
    xq = np.array([[5, -3, 7, 7, 0]], np.int8)
    assert_matches_litert(topk_model(xq.shape, np.int8, 3, quant={"scale": 0.5, "zero_point": 1}), [xq], ref=True)


def test_topk_errors():
    with pytest.raises(PrepareError, match="larger than the last dimension"):
        numlite.Interpreter(model_content=topk_model((2, 3), np.float32, 5)).allocate_tensors()
    m = single_op_model("TOPK_V2", [In((2, 3)), Const(np.array(2, np.int64))], [Out((2, 2)), Out((2, 2), np.int32)])
    with pytest.raises(PrepareError, match=r"TOPK_V2 \(node 0\).*k.*int64"):
        numlite.Interpreter(model_content=m).allocate_tensors()
    m = topk_model((2, 3), np.float16, 2)
    with pytest.raises(PrepareError, match="float16"):
        numlite.Interpreter(model_content=m).allocate_tensors()


# --- GATHER_ND ---------------------------------------------------------------------------------
def gnd_model(ps, idx, dt, const=True, version=1, quant=None):
    idx = np.asarray(idx)
    nd = idx.shape[-1]
    out = idx.shape[:-1] + tuple(ps[nd:])
    ins = [In(ps, dt, quant=quant), Const(idx) if const else In(idx.shape, idx.dtype)]
    return single_op_model("GATHER_ND", ins, Out(out, dt, quant=quant), version=version,
                           options_table="GatherNdOptions")


def test_gather_nd():
    assert supported_builtins()["GATHER_ND"] == [1, 2, 3, 4, 5, 6]
    cases = [((4, 3), [[1, 2], [3, 0], [0, 0]]), ((4, 3), [[2], [0]]), ((2, 3, 4), [[[1, 2, 3]], [[0, 0, 1]]]),
             ((2, 3, 4), [[1, 1]]), ((5,), [[4], [0], [4]]), ((3, 2), np.zeros((2, 0), np.int32)),
             ((3, 2), np.zeros((0, 2), np.int32))]
    for dt in (np.float32, np.int8, np.uint8, np.int16, np.int32, np.int64, np.bool_, np.float16):
        for k, (ps, idx) in enumerate(cases):
            p = rand(ps, np.float32, seed=k, lo=-50, hi=50).astype(dt)
            for idt in (np.int32, np.int64, np.int16):
                ix = np.asarray(idx, idt)
                assert_matches_litert(gnd_model(ps, ix, dt), [p])
                if ix.size:
                    assert_matches_litert(gnd_model(ps, ix, dt, const=False), [p, ix])
    p = rand((4, 3), seed=1)
    for v in range(1, 7):
        assert_matches_litert(gnd_model((4, 3), np.array([[1, 2]], np.int32), np.float32, version=v), [p])
    pq = rand((4, 3), np.int8, seed=2, lo=-100, hi=100)
    assert_matches_litert(gnd_model((4, 3), np.array([[1], [3]], np.int32), np.int8,
                                    quant={"scale": 0.3, "zero_point": -2}), [pq], ref=True)


def test_gather_nd_bounds():
    with pytest.raises(PrepareError, match=r"index \[1, 3\] is out of range"):
        m = gnd_model((4, 3), np.array([[1, 3]], np.int32), np.float32)
        numlite.Interpreter(model_content=m).allocate_tensors()
    m = gnd_model((4, 3), np.array([[1, 2]], np.int32), np.float32, const=False)
    p = rand((4, 3))
    for bad in ([[4, 0]], [[-1, 0]]):
        with pytest.raises(RuntimeError, match="GATHER_ND \\(node 0\\): gather_nd index"):
            run_numlite(m, [p, np.array(bad, np.int32)])
        with pytest.raises(RuntimeError):
            run_litert(m, [p, np.array(bad, np.int32)])
    m = gnd_model((4, 3), np.array([[1, 2]], np.int8), np.float32)
    with pytest.raises(PrepareError, match="indices.*int8"):
        numlite.Interpreter(model_content=m).allocate_tensors()


# --- ONE_HOT -----------------------------------------------------------------------------------
def one_hot_model(ishape, idt, depth, on, off, axis=-1, runtime_values=False):
    ax = len(ishape) if axis == -1 else axis
    out = tuple(ishape[:ax]) + (depth,) + tuple(ishape[ax:])
    on, off = np.asarray(on), np.asarray(off)
    vals = [In(on.shape, on.dtype), In(off.shape, off.dtype)] if runtime_values else [Const(on), Const(off)]
    return single_op_model("ONE_HOT", [In(ishape, idt), Const(np.array(depth, np.int32))] + vals,
                           Out(out, on.dtype), axis=axis)


def test_one_hot():
    assert supported_builtins()["ONE_HOT"] == [1]
    for dt in (np.float32, np.int32, np.int64, np.int8, np.uint8, np.bool_):
        on, off = np.array(1, dt), np.array(0 if dt == np.bool_ else 3, dt)
        for k, (ishape, depth, axis) in enumerate([((5,), 4, -1), ((2, 3), 3, 0), ((2, 3), 5, 1), ((2, 3), 4, 2),
                                                   ((), 6, -1), ((0, 2), 3, -1), ((3,), 0, -1)]):
            for idt in (np.int32, np.int64):
                ix = rand(ishape, idt, seed=k, lo=-1, hi=depth)
                assert_matches_litert(one_hot_model(ishape, idt, depth, on, off, axis), [ix])
    # runtime on / off values; int64 indices wrap to 32 bits as LiteRT's C cast does
    ix = np.array([0, 2, 2**32 + 1, -1, 2**33 + 2], np.int64)
    m = one_hot_model((5,), np.int64, 3, np.array([7.5], np.float32), np.array([[-2.0]], np.float32),
                      runtime_values=True)
    got = assert_matches_litert(m, [ix, np.array([7.5], np.float32), np.array([[-2.0]], np.float32)])[0]
    assert got[2, 1] == 7.5 and got[4, 2] == 7.5


def test_one_hot_errors():
    m = one_hot_model((3,), np.int32, 4, np.array(1, np.int16), np.array(0, np.int16))
    with pytest.raises(PrepareError, match=r"ONE_HOT \(node 0\).*on_value.*int16"):
        numlite.Interpreter(model_content=m).allocate_tensors()
    m = one_hot_model((3,), np.int32, 4, np.array(1, np.float32), np.array(0, np.float32), axis=-2)
    with pytest.raises(PrepareError, match="axis"):
        numlite.Interpreter(model_content=m).allocate_tensors()
    m = single_op_model("ONE_HOT", [In((3,), np.int32), In((), np.int32), Const(np.array(1.0, np.float32)),
                                    Const(np.array(0.0, np.float32))], Out((3, 4)), axis=-1)
    with pytest.raises(PrepareError, match="depth.*must be known"):
        numlite.Interpreter(model_content=m).allocate_tensors()


# --- CUMSUM ------------------------------------------------------------------------------------
def cumsum_model(shape, dt, axis, const=True, **opts):
    ax = Const(np.array(axis, np.int32)) if const else In((), np.int32)
    return single_op_model("CUMSUM", [In(shape, dt), ax], Out(shape, dt), **opts)


@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumsum(exclusive, reverse):
    assert supported_builtins()["CUMSUM"] == [1]
    for dt in (np.float32, np.int32, np.int64):
        for k, shape in enumerate([(7,), (3, 4), (2, 3, 5), (1, 6, 1), (0, 3), (4, 1)]):
            x = rand(shape, dt, seed=k, lo=-20, hi=20)
            for axis in range(-len(shape), len(shape)):
                m = cumsum_model(shape, dt, axis, exclusive=exclusive, reverse=reverse)
                assert_matches_litert(m, [x], rtol=1e-6, atol=1e-5)
            if x.size:
                m = cumsum_model(shape, dt, 0, const=False, exclusive=exclusive, reverse=reverse)
                for axis in (-1, 0):
                    assert_matches_litert(m, [x, np.array(axis, np.int32)], rtol=1e-6, atol=1e-5)
    info = np.iinfo(np.int32)
    x = np.array([info.max, 1, info.min, -1], np.int32)  # wraps as in C
    assert_matches_litert(cumsum_model((4,), np.int32, 0, exclusive=exclusive, reverse=reverse), [x])


def test_cumsum_errors():
    m = cumsum_model((2, 3), np.int8, 0)
    with pytest.raises(PrepareError, match=r"CUMSUM \(node 0\).*int8.*supported"):
        numlite.Interpreter(model_content=m).allocate_tensors()
    m = single_op_model("CUMSUM", [In((2, 3)), Const(np.array(1, np.int64))], Out((2, 3)))
    with pytest.raises(PrepareError, match="axis.*int64"):
        numlite.Interpreter(model_content=m).allocate_tensors()
    m = cumsum_model((2, 3), np.float32, 0, const=False)
    with pytest.raises(RuntimeError, match=r"CUMSUM \(node 0\): axis 2 is out of range"):
        run_numlite(m, [rand((2, 3)), np.array(2, np.int32)])
