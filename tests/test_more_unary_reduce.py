"""REDUCE_MIN, REDUCE_ANY, REDUCE_ALL, SIN and COS against LiteRT.

Reductions select or combine values without arithmetic, so they must match exactly (floats
included); quantized REDUCE_MIN is compared with LiteRT's reference kernels (BUILTIN_REF).
SIN / COS: NumPy's SIMD routines and LiteRT's ``std::sin`` / ``std::cos`` differ by a few ulp:
rtol=1e-5 with atol=1e-6 (for results near the zeros, which grow with |x| to ~4e-6 at |x| = 100,
hence atol scaled by the input range below).  float16 results agree to one half-precision ulp.
"""

import warnings

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, rand, run_litert, run_numlite, single_op_model

from numlite.ops.registry import supported_builtins

SHAPE_AXES = [
    ((3, 4, 5), [1]),
    ((3, 4, 5), [0, 2]),
    ((3, 4, 5), [-1]),
    ((3, 4, 5), [-1, 2, 0]),    # negative and duplicated
    ((3, 4, 5), [0, 1, 2]),
    ((3, 4, 5), []),            # a copy
    ((1, 7, 7, 8), [1, 2]),
    ((6,), [0]),
    ((2, 1, 3, 2, 2), [1, 3, 4]),
]
MIN_DTYPES = [np.float32, np.float16, np.int32, np.int64, np.uint8, np.int8, np.int16]


def reduce_model(op, shape, dtype, axis, keep, qi=None, qo=None, version=1):
    return single_op_model(op, [In(shape, dtype, quant=qi), Const(np.array(axis, np.int32))], Out((), dtype, quant=qo),
                           keep_dims=keep, version=version)


def data(shape, dtype, seed=0):
    if np.dtype(dtype) == np.bool_:
        return rand(shape, np.bool_, seed=seed)
    if np.dtype(dtype).kind == "f":
        return rand(shape, np.float32, seed=seed, lo=-100, hi=100).astype(dtype)
    info = np.iinfo(dtype)
    return rand(shape, dtype, seed=seed, lo=info.min, hi=info.max)


def _fails(op, model, feeds, match):
    with pytest.raises(RuntimeError, match=rf"{op} \(node 0\).*" + match):
        run_numlite(model, feeds)


# -- REDUCE_MIN ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", MIN_DTYPES)
@pytest.mark.parametrize("shape,axis", SHAPE_AXES)
@pytest.mark.parametrize("keep", [False, True])
def test_reduce_min(dtype, shape, axis, keep):
    if dtype == np.float16 and not axis:
        # LiteRT 2.3 fails to prepare float16 with an empty axis list (its copy path lacks the type);
        # numlite copies, as for the other types
        x = data(shape, dtype)
        out = run_numlite(reduce_model("REDUCE_MIN", shape, dtype, axis, keep), [x])[0]
        np.testing.assert_array_equal(out, x)
        return
    assert_matches_litert(reduce_model("REDUCE_MIN", shape, dtype, axis, keep), [data(shape, dtype)], rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int32, np.int8])
def test_reduce_min_empty_and_rank0(dtype):
    out = assert_matches_litert(reduce_model("REDUCE_MIN", (2, 0, 3), dtype, [1], False), [np.zeros((2, 0, 3), dtype)])
    assert out[0].shape == (2, 3)  # +inf / the highest integer, as LiteRT
    rank0 = reduce_model("REDUCE_MIN", (), dtype, [0], False)
    if dtype == np.float16:  # LiteRT 2.3 fails to prepare this (see test_reduce_min); numlite copies
        assert run_numlite(rank0, [np.array(3, dtype)])[0] == 3
    else:
        assert_matches_litert(rank0, [np.array(3, dtype)])


@pytest.mark.parametrize("version", [1, 2, 3])
def test_reduce_min_versions(version):
    assert supported_builtins()["REDUCE_MIN"] == [1, 2, 3]
    m = reduce_model("REDUCE_MIN", (2, 3), np.float32, [1], True, version=version)
    assert_matches_litert(m, [data((2, 3), np.float32)])


def test_reduce_min_nan_rule():
    # LiteRT's kernels disagree among themselves on NaN (see reduce_min.py); numlite skips NaN
    # unless every value is NaN, as its REDUCE_MAX does
    x = np.array([[np.nan, 1.0, -2.0], [np.nan, np.nan, np.nan], [3.0, np.nan, 4.0]], np.float32)
    out = run_numlite(reduce_model("REDUCE_MIN", x.shape, np.float32, [1], False), [x])[0]
    np.testing.assert_array_equal(out, [-2.0, np.nan, 3.0])


def qparams(rng, dtype):
    info = np.iinfo(dtype)
    zp = 0 if dtype == np.int16 else int(rng.integers(info.min, info.max + 1))
    return {"scale": [float(10 ** rng.uniform(-3, 0))], "zero_point": [zp]}


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
def test_reduce_min_quantized(dtype):
    for seed in range(12):
        rng = np.random.default_rng(seed)
        shape = tuple(int(v) for v in rng.integers(1, 6, size=rng.integers(1, 5)))
        axes = sorted({int(a) for a in rng.integers(0, len(shape), size=rng.integers(1, len(shape) + 1))})
        if seed % 2:
            axes[0] -= len(shape)
        q = qparams(rng, dtype)
        x = data(shape, dtype, seed=seed)
        m = reduce_model("REDUCE_MIN", shape, dtype, axes, bool(seed % 3), qi=q, qo=q)
        assert_matches_litert(m, [x], ref=True)


def test_reduce_min_quantized_needs_same_params():
    # LiteRT fails the invoke ("input->params.scale != output->params.scale"); numlite at prepare
    m = reduce_model("REDUCE_MIN", (2, 3), np.int8, [1], False, qi={"scale": [0.1], "zero_point": [0]},
                     qo={"scale": [0.2], "zero_point": [0]})
    _fails("REDUCE_MIN", m, [np.zeros((2, 3), np.int8)], "share scale and zero point")


def test_reduce_min_rejects_bool():
    _fails("REDUCE_MIN", reduce_model("REDUCE_MIN", (2, 3), np.bool_, [1], False), [np.zeros((2, 3), bool)], "bool")


# -- REDUCE_ANY / REDUCE_ALL --------------------------------------------------------------------
@pytest.mark.parametrize("op", ["REDUCE_ANY", "REDUCE_ALL"])
@pytest.mark.parametrize("shape,axis", SHAPE_AXES)
@pytest.mark.parametrize("keep", [False, True])
@pytest.mark.parametrize("fill", ["random", "all_true", "all_false", "one"])
def test_reduce_any_all(op, shape, axis, keep, fill):
    x = {"random": data(shape, np.bool_), "all_true": np.ones(shape, bool), "all_false": np.zeros(shape, bool),
         "one": np.zeros(shape, bool)}[fill]
    if fill == "one":
        x.flat[x.size // 2] = True
    assert_matches_litert(reduce_model(op, shape, np.bool_, axis, keep), [x])


@pytest.mark.parametrize("op", ["REDUCE_ANY", "REDUCE_ALL"])
def test_reduce_any_all_empty_and_rank0(op):
    # an empty reduction gives the identity: ANY False, ALL True
    out = assert_matches_litert(reduce_model(op, (2, 0, 3), np.bool_, [1], True), [np.zeros((2, 0, 3), bool)])[0]
    assert out.shape == (2, 1, 3) and bool(out.all()) == (op == "REDUCE_ALL")
    assert_matches_litert(reduce_model(op, (), np.bool_, [0], False), [np.array(True)])
    assert supported_builtins()[op] == [1]


@pytest.mark.parametrize("op", ["REDUCE_ANY", "REDUCE_ALL"])
def test_reduce_any_all_reject_non_bool(op):
    # LiteRT 2.3: "input->type != kTfLiteBool"
    _fails(op, reduce_model(op, (2, 3), np.float32, [1], False), [np.zeros((2, 3), np.float32)], "float32.*bool")
    m = single_op_model(op, [In((2, 3), np.bool_), Const(np.array([1], np.int32))], Out((2,), np.int32))
    _fails(op, m, [np.zeros((2, 3), bool)], "output.*bool")


# -- SIN / COS ------------------------------------------------------------------------------------
def unary(op, shape, dtype=np.float32, version=1):
    return single_op_model(op, [In(shape, dtype)], Out(shape, dtype), version=version)


@pytest.mark.parametrize("op", ["SIN", "COS"])
@pytest.mark.parametrize("shape", [(), (7,), (3, 5), (2, 4, 4, 3), (1, 2, 3, 2, 5)])
@pytest.mark.parametrize("span", [1.0, 4.0, 100.0])
def test_sin_cos(op, shape, span):
    x = rand(shape, seed=len(shape), lo=-span, hi=span)
    assert_matches_litert(unary(op, shape), [x], rtol=1e-5, atol=1e-6 * max(1.0, span / 25))


@pytest.mark.parametrize("op", ["SIN", "COS"])
def test_sin_cos_special_points(op):
    x = np.array([0.0, -0.0, np.pi / 2, np.pi, -np.pi, 2 * np.pi, 1e-7, -1e-7, 1e-30, 0.5, -0.5], np.float32)
    assert_matches_litert(unary(op, x.shape), [x], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op", ["SIN", "COS"])
def test_sin_cos_extremes(op):
    # inf and nan give nan without a NumPy warning.  Huge arguments: numlite equals LiteRT's
    # reference kernel (std::sin / std::cos); LiteRT's default XNNPACK path breaks down beyond
    # |x| ~ 1e9 (sin(1e10) = -4891, nan at 1e20), so it is compared up to 1e6 only
    x = np.array([1e4, -1e4, 1e6, 1e10, 1e20, 3e38, -3e38, np.inf, -np.inf, np.nan], np.float32)
    m = unary(op, x.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = run_numlite(m, [x])[0]
    np.testing.assert_allclose(ours, run_litert(m, [x], ref=True)[0], rtol=1e-6, atol=0)
    np.testing.assert_allclose(ours[:3], run_litert(m, [x])[0][:3], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op", ["SIN", "COS"])
def test_sin_cos_float16_and_versions(op):
    x = rand((64,), lo=-20, hi=20).astype(np.float16)
    ours = run_numlite(unary(op, x.shape, np.float16), [x])[0]
    theirs = run_litert(unary(op, x.shape, np.float16), [x])[0]
    assert ours.dtype == theirs.dtype == np.float16
    np.testing.assert_allclose(ours.astype(np.float32), theirs.astype(np.float32), rtol=1e-3, atol=1e-3)
    assert supported_builtins()[op] == [1, 2]
    for v in (1, 2):
        assert_matches_litert(unary(op, (2, 3), version=v), [rand((2, 3))], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op", ["SIN", "COS"])
def test_sin_cos_reject_integers(op):
    # LiteRT 2.3: "Type INT8 is unsupported by op Sin" (quantized or not)
    q = {"scale": [0.1], "zero_point": [0]}
    m = single_op_model(op, [In((2, 3), np.int8, quant=q)], Out((2, 3), np.int8, quant=q))
    _fails(op, m, [np.zeros((2, 3), np.int8)], "int8")
    _fails(op, unary(op, (2, 3), np.int32), [np.zeros((2, 3), np.int32)], "int32")
