"""Quantized MEAN, SUM, REDUCE_MAX, REDUCE_PROD (int8, uint8, int16) against LiteRT.

Integer outputs are compared exactly.  Seeded random quantization parameters (scales over three
orders of magnitude, zero points over the type's range; int16 symmetric), random shapes, axes
and keep_dims, inputs over the full type range, several seeds per case.  The oracle is LiteRT's
reference resolver (BUILTIN_REF), except for int8 / int16 SUM: LiteRT's reference kernel reads
those buffers as uint8 (a LiteRT bug, shown by ``test_sum_reference_kernel_is_broken``), so
numlite follows, and is tested against, LiteRT's default kernel there.
"""

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, run_litert, run_numlite, single_op_model

QTYPES = [np.int8, np.uint8, np.int16]


def qparams(rng, dtype):
    info = np.iinfo(dtype)
    zp = 0 if dtype == np.int16 else int(rng.integers(info.min, info.max + 1))
    return {"scale": [float(10 ** rng.uniform(-3, 0))], "zero_point": [zp]}


def random_case(seed, dtype, max_rank=4):
    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(1, 7, size=rng.integers(1, max_rank + 1)))
    axes = sorted({int(a) for a in rng.integers(0, len(shape), size=rng.integers(1, len(shape) + 1))})
    if rng.integers(2):  # negative spelling of one axis
        axes[0] -= len(shape)
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max + 1, size=shape).astype(dtype)
    return rng, shape, axes, bool(rng.integers(2)), x


def reduce_model(op, shape, dtype, axes, keep, qi, qo):
    return single_op_model(op, [In(shape, dtype, quant=qi), Const(np.array(axes, np.int32))], Out((), dtype, quant=qo),
                           keep_dims=keep)


@pytest.mark.parametrize("dtype", QTYPES)
@pytest.mark.parametrize("block", range(4))
def test_mean_quantized(dtype, block):
    for seed in range(block * 10, block * 10 + 10):
        rng, shape, axes, keep, x = random_case(seed, dtype)
        qi = qparams(rng, dtype)
        qo = qi if seed % 3 == 0 else qparams(rng, dtype)  # same parameters, and requantizing
        assert_matches_litert(reduce_model("MEAN", shape, dtype, axes, keep, qi, qo), [x], ref=True)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("keep", [True, False])
def test_mean_quantized_spatial_4d(dtype, keep):
    # the global-average form of classification heads (axes 1, 2 of NHWC), large counts
    rng = np.random.default_rng(7)
    for hw in [(7, 7), (13, 17), (1, 1)]:
        shape = (2,) + hw + (16,)
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max + 1, size=shape).astype(dtype)
        qi, qo = qparams(rng, dtype), qparams(rng, dtype)
        m = reduce_model("MEAN", shape, dtype, [1, 2], keep, qi, qo)
        ours = assert_matches_litert(m, [x], ref=True)[0]
        default = run_litert(m, [x])[0]  # noted, not asserted: LiteRT's default (float) path
        assert np.abs(default.astype(np.int32) - ours.astype(np.int32)).max() <= 1


def test_mean_quantized_no_axes_requantizes():
    q8, qo = {"scale": [0.05], "zero_point": [10]}, {"scale": [0.2], "zero_point": [-3]}
    m = reduce_model("MEAN", (3, 4), np.int8, [], False, q8, qo)
    x = np.arange(-60, 60, 10, dtype=np.int8).reshape(3, 4)
    assert_matches_litert(m, [x], ref=True)


@pytest.mark.parametrize("dtype", QTYPES)
@pytest.mark.parametrize("block", range(3))
def test_sum_quantized(dtype, block):
    ref = dtype == np.uint8
    for seed in range(100 + block * 10, 110 + block * 10):
        rng, shape, axes, keep, x = random_case(seed, dtype)
        qi, qo = qparams(rng, dtype), qparams(rng, dtype)
        assert_matches_litert(reduce_model("SUM", shape, dtype, axes, keep, qi, qo), [x], ref=ref)


def test_sum_reference_kernel_is_broken():
    # Documents why int8 SUM is checked against LiteRT's default kernel: its reference kernel
    # reinterprets int8 data as uint8.  (-10 * 0.1 / 0.3 = -3.33 -> -3 + zp -3 = -6.)
    q = {"scale": [0.1], "zero_point": [5]}
    m = reduce_model("SUM", (1, 4), np.int8, [1], False, q, {"scale": [0.3], "zero_point": [-3]})
    x = np.array([[1, 2, 3, 4]], np.int8)
    assert run_numlite(m, [x])[0].tolist() == [-6]
    assert run_litert(m, [x])[0].tolist() == [-6]
    assert run_litert(m, [x], ref=True)[0].tolist() != [-6]


@pytest.mark.parametrize("dtype", QTYPES)
def test_reduce_max_quantized(dtype):
    for seed in range(200, 210):
        rng, shape, axes, keep, x = random_case(seed, dtype)
        q = qparams(rng, dtype)
        assert_matches_litert(reduce_model("REDUCE_MAX", shape, dtype, axes, keep, q, q), [x], ref=True)


@pytest.mark.parametrize("dtype", QTYPES)
@pytest.mark.parametrize("op", ["REDUCE_MAX", "REDUCE_PROD"])
def test_reduce_small_int_unquantized(dtype, op):
    for seed in range(300, 305):
        _, shape, axes, keep, x = random_case(seed, dtype)
        assert_matches_litert(reduce_model(op, shape, dtype, axes, keep, None, None), [x], ref=True)


@pytest.mark.parametrize("dtype", [np.int8, np.int16])
@pytest.mark.parametrize("block", range(3))
def test_reduce_prod_quantized(dtype, block):
    for seed in range(400 + block * 10, 410 + block * 10):
        rng, shape, axes, keep, x = random_case(seed, dtype)
        # inputs near the zero point's neighbourhood and an output scale that keeps products in range
        qi = qparams(rng, dtype)
        n = int(np.prod([shape[a] for a in axes]))
        qo = {"scale": [float(qi["scale"][0] ** min(n, 3) * rng.uniform(1, 50))],
              "zero_point": [0 if dtype == np.int16 else int(rng.integers(-100, 100))]}
        assert_matches_litert(reduce_model("REDUCE_PROD", shape, dtype, axes, keep, qi, qo), [x], ref=True)


def test_reduce_prod_quantized_small_values():
    # values within a few steps of the zero point: products stay representable, the requantizing
    # chain decides every result
    rng = np.random.default_rng(5)
    q = {"scale": [0.25], "zero_point": [3]}
    x = (rng.integers(-4, 5, size=(3, 5, 4)) + 3).astype(np.int8)
    for axes in ([1], [0, 2], [2]):
        m = reduce_model("REDUCE_PROD", x.shape, np.int8, axes, False, q, {"scale": [0.5], "zero_point": [-2]})
        assert_matches_litert(m, [x], ref=True)


def _fails(model, x, pattern):
    with pytest.raises(RuntimeError, match=pattern):
        run_numlite(model, [x])


def test_reduce_quantized_errors():
    q1, q2 = {"scale": [0.1], "zero_point": [1]}, {"scale": [0.2], "zero_point": [1]}
    x8 = np.zeros((2, 3), np.int8)
    _fails(reduce_model("REDUCE_MAX", (2, 3), np.int8, [1], False, q1, q2), x8,
           r"REDUCE_MAX \(node 0\).*share scale and zero point")
    _fails(reduce_model("MEAN", (2, 3), np.int8, [1], False, None, None), x8, r"MEAN \(node 0\).*must be quantized")
    _fails(reduce_model("SUM", (2, 3), np.int8, [1], False, None, None), x8, r"SUM \(node 0\).*must be quantized")
    q16 = {"scale": [0.1], "zero_point": [4]}
    _fails(reduce_model("MEAN", (2, 3), np.int16, [1], False, q16, q16), np.zeros((2, 3), np.int16),
           r"MEAN \(node 0\).*zero point 0")
    _fails(reduce_model("REDUCE_PROD", (2, 3), np.uint8, [1], False, q1, q1), np.zeros((2, 3), np.uint8),
           r"REDUCE_PROD \(node 0\).*uint8")
