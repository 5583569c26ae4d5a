"""Quantized AVERAGE_POOL_2D / MAX_POOL_2D (int8, uint8, int16) against LiteRT's reference kernels.

Integer outputs are compared exactly (no tolerance): seeded random quantization parameters
(scales over three orders of magnitude, zero points over the type's range; int16 symmetric) and
random inputs over the full type range, several seeds per case.
"""

import numpy as np
import pytest
from util import In, Out, assert_matches_litert, rand, run_litert, run_numlite, single_op_model

OPS = ["AVERAGE_POOL_2D", "MAX_POOL_2D"]
QTYPES = [np.int8, np.uint8, np.int16]
ACTS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


def qparams(dtype, seed):
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    scale = float(10 ** rng.uniform(-3, 0))
    zp = 0 if dtype == np.int16 else int(rng.integers(info.min, info.max + 1))
    return {"scale": [scale], "zero_point": [zp]}


def qinput(shape, dtype, seed):
    info = np.iinfo(dtype)
    return rand(shape, dtype, seed=seed, lo=info.min, hi=info.max)


def pool_model(op, shape, dtype, q, filt, strides, padding, act="NONE", out_q=None):
    return single_op_model(op, [In(shape, dtype, quant=q)], Out((), dtype, quant=out_q or q),
                           version=3 if dtype == np.int16 else 2, padding=padding, stride_h=strides[0],
                           stride_w=strides[1], filter_height=filt[0], filter_width=filt[1],
                           fused_activation_function=act)


GEOMETRIES = [
    ((1, 7, 9, 3), (3, 3), (2, 2), "SAME"),
    ((2, 8, 8, 4), (2, 2), (2, 2), "VALID"),
    ((1, 5, 6, 2), (3, 2), (1, 2), "SAME"),
    ((1, 6, 6, 5), (6, 6), (1, 1), "VALID"),  # global pool
    ((1, 4, 5, 3), (1, 1), (2, 1), "VALID"),  # strided views only
    ((2, 9, 4, 3), (5, 3), (3, 1), "SAME"),
]


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", QTYPES)
@pytest.mark.parametrize("geom", range(len(GEOMETRIES)))
def test_pool_quantized(op, dtype, geom):
    shape, filt, strides, padding = GEOMETRIES[geom]
    for seed in range(3):
        q = qparams(dtype, seed + 10 * geom)
        m = pool_model(op, shape, dtype, q, filt, strides, padding)
        assert_matches_litert(m, [qinput(shape, dtype, seed)], ref=True)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", QTYPES)
@pytest.mark.parametrize("act", ACTS)
def test_pool_quantized_activation(op, dtype, act):
    # scales near 1/40 put RELU6's bound inside the type's range, so the clamp bites
    for seed in range(3):
        rng = np.random.default_rng(seed)
        info = np.iinfo(dtype)
        zp = 0 if dtype == np.int16 else int(rng.integers(info.min // 2, info.max // 2))
        q = {"scale": [float(rng.uniform(0.01, 0.05))], "zero_point": [zp]}
        m = pool_model(op, (1, 6, 7, 3), dtype, q, (3, 3), (2, 2), "SAME", act=act)
        assert_matches_litert(m, [qinput((1, 6, 7, 3), dtype, seed)], ref=True)


@pytest.mark.parametrize("op", OPS)
def test_pool_average_rounding_negative_sums(op):
    # every window sum of -1.5 * count or +1.5 * count: the half-way rounding away from zero
    x = np.tile(np.array([-1, -2, 1, 2], np.int8), 8).reshape(1, 4, 8, 1)
    m = pool_model(op, x.shape, np.int8, {"scale": [0.1], "zero_point": [0]}, (1, 2), (1, 2), "VALID")
    assert_matches_litert(m, [x], ref=True)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_pool_output_params_differ(op, dtype):
    # TFLite does not requantize between input and output parameters; the activation clamp uses
    # the output's.
    qi, qo = {"scale": [0.02], "zero_point": [3]}, {"scale": [0.05], "zero_point": [-7 if dtype == np.int8 else 9]}
    m = pool_model(op, (1, 6, 6, 2), dtype, qi, (2, 2), (2, 2), "VALID", act="RELU6", out_q=qo)
    assert_matches_litert(m, [qinput((1, 6, 6, 2), dtype, 4)], ref=True)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
def test_pool_integer_unquantized(op, dtype):
    m = pool_model(op, (1, 5, 5, 2), dtype, None, (2, 2), (1, 1), "SAME")
    assert_matches_litert(m, [qinput((1, 5, 5, 2), dtype, 5)], ref=True)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_pool_quantized_default_path(op, dtype):
    # LiteRT's default (optimized / XNNPACK) kernels: noted, not asserted; numlite follows the reference.
    q = qparams(dtype, 3)
    m = pool_model(op, (1, 8, 8, 4), dtype, q, (3, 3), (2, 2), "SAME")
    x = qinput((1, 8, 8, 4), dtype, 6)
    ours, = run_numlite(m, [x])
    ref, = run_litert(m, [x], ref=True)
    default, = run_litert(m, [x])
    np.testing.assert_array_equal(ours, ref)
    assert np.abs(default.astype(np.int32) - ours.astype(np.int32)).max() <= 1


def test_pool_mixed_types_rejected():
    m = single_op_model("MAX_POOL_2D", [In((1, 4, 4, 1), np.int8)], Out((), np.uint8), padding="VALID", stride_h=1,
                        stride_w=1, filter_height=2, filter_width=2)
    with pytest.raises(RuntimeError, match=r"MAX_POOL_2D \(node 0\).*uint8.*int8"):
        run_numlite(m, [np.zeros((1, 4, 4, 1), np.int8)])


@pytest.mark.parametrize("dtype", QTYPES)
@pytest.mark.parametrize("shape,filt,strides,padding", [
    ((1, 24, 24, 3), (24, 24), (1, 1), "VALID"),  # global: 576 cells, int16 sums pass 2**24
    ((1, 30, 26, 2), (23, 23), (3, 2), "SAME"),  # 529 cells, partial windows at the edges
    ((1, 12, 12, 4), (3, 3), (1, 1), "SAME"),
])
def test_average_extreme_sums(dtype, shape, filt, strides, padding):
    """Integer averages sum in float32 when every window sum stays below 2**24 and in int32
    otherwise (int16 windows over 511 cells): both exact at the type's extreme values, every
    rounding of the division (all-min, all-max, and alternating inputs)."""
    info = np.iinfo(dtype)
    q = qparams(dtype, 3)
    m = pool_model("AVERAGE_POOL_2D", shape, dtype, q, filt, strides, padding)
    for x in (np.full(shape, info.min, dtype), np.full(shape, info.max, dtype),
              np.where(np.indices(shape).sum(axis=0) % 3 == 0, info.min, info.max).astype(dtype),
              qinput(shape, dtype, 4)):
        assert_matches_litert(m, [x], ref=True)
