"""Quantized GELU, RELU_0_TO_1, LOG_SOFTMAX and L2_NORMALIZATION: bit-exact against LiteRT's
reference kernels (BUILTIN_REF), and against its default kernels where those are the reference
code too (GELU's and RELU_0_TO_1's tables).  Elementwise ops are checked on every input value.

BUILTIN_REF registers GELU versions 1-2 only, so int16 GELU (version 3 in converted models) is
compared with the reference kernel at version 2 (the kernel ignores the version) and with the
default kernel at version 3.
"""

import numpy as np
import pytest
from util import In, Out, assert_matches_litert, run_numlite, single_op_model

from numlite.ops.quant import all_values


def _fails(op, model, feeds, match):
    with pytest.raises(RuntimeError, match=rf"{op} \(node 0\).*" + match):
        run_numlite(model, feeds)


def q(scale, zp):
    return {"scale": [scale], "zero_point": [zp]}


def qmodel(op, shape, dtype, qi, qo, version=1, **opts):
    return single_op_model(op, [In(shape, dtype, quant=qi)], Out(shape, dtype, quant=qo), version=version, **opts)


def every_value(dtype):
    return all_values(dtype).astype(dtype).reshape(1, -1)


# (in scale, in zp, out scale, out zp) for int8; uint8 shifts the zero points by 128, int16 scales them
GELU_PARAMS = [(0.05, 3, 0.04, -5), (0.02, 0, 0.01, 0), (1e-3, -7, 1e3, 2), (0.1, 100, 0.1, -100),
               (3.0, 0, 0.01, 0), (1.0, 10, 1e-9, 0), (1.0, -100, 1e-9, 0)]  # the last two overflow int32


def shifted(dtype, params):
    si, zi, so, zo = params
    if np.dtype(dtype) == np.uint8:
        return si, min(zi + 128, 255), so, min(zo + 128, 255)
    if np.dtype(dtype) == np.int16:
        return si / 64, zi * 50, so / 64, zo * 50
    return params


@pytest.mark.parametrize("approximate", [False, True])
@pytest.mark.parametrize("params", GELU_PARAMS)
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
def test_gelu_quantized(dtype, params, approximate):
    si, zi, so, zo = shifted(dtype, params)
    x = every_value(dtype)
    for version in ((1, 2) if dtype != np.int16 else (2,)):
        m = qmodel("GELU", x.shape, dtype, q(si, zi), q(so, zo), version=version, approximate=approximate)
        assert_matches_litert(m, [x], ref=True)
        assert_matches_litert(m, [x])
    if dtype == np.int16:
        m = qmodel("GELU", x.shape, dtype, q(si, zi), q(so, zo), version=3, approximate=approximate)
        assert_matches_litert(m, [x])


@pytest.mark.parametrize("params", [(0.01, 0, 0.01, 0), (0.05, -20, 1 / 255, -128), (0.5, 7, 0.004, 3),
                                    (2.0, 100, 1e-3, -100), (1e-3, 0, 1.0, 5)])
@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_relu_0_to_1_quantized(dtype, params):
    si, zi, so, zo = shifted(dtype, params)
    x = every_value(dtype)
    m = qmodel("RELU_0_TO_1", x.shape, dtype, q(si, zi), q(so, zo))
    assert_matches_litert(m, [x], ref=True)
    assert_matches_litert(m, [x])


def test_relu_0_to_1_int16_rejected():
    # LiteRT 2.3 prepares it and fails at invoke ("Only float32, uint8, int8 supported")
    m = qmodel("RELU_0_TO_1", (4,), np.int16, q(0.01, 0), q(0.01, 0))
    _fails("RELU_0_TO_1", m, [np.zeros(4, np.int16)], "int16")


# -- LOG_SOFTMAX ---------------------------------------------------------------------------------
LS_OUT = {np.uint8: q(16 / 256, 255), np.int8: q(16 / 256, 127)}


def random_q(shape, dtype, seed, spread=None):
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    if spread is None:
        return rng.integers(info.min, info.max + 1, size=shape).astype(dtype)
    mid = (int(info.min) + int(info.max)) // 2
    return np.clip(rng.integers(mid - spread, mid + spread + 1, size=shape), info.min, info.max).astype(dtype)


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("scale", [1e-3, 0.01, 0.1, 0.5, 1.0, 8.0, 3e-5, 2.0 ** -20])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_log_softmax_quantized(dtype, scale, version):
    zp = 10 if dtype == np.uint8 else -3
    for k, shape in enumerate([(3, 17), (2, 3, 5), (1, 300), (4, 1), (2, 2, 2, 9)]):
        m = qmodel("LOG_SOFTMAX", shape, dtype, q(scale, zp), LS_OUT[dtype], version=version)
        for spread in (None, 3):
            assert_matches_litert(m, [random_q(shape, dtype, k, spread)], ref=True)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_log_softmax_quantized_edges(dtype):
    info = np.iinfo(dtype)
    x = np.array([[info.max] * 8, [info.min] * 8, [info.min] * 7 + [info.max], [info.max] * 7 + [info.min]], dtype)
    for scale in (0.02, 0.2, 2.0):
        m = qmodel("LOG_SOFTMAX", x.shape, dtype, q(scale, 0 if dtype == np.int8 else 128), LS_OUT[dtype])
        assert_matches_litert(m, [x], ref=True)
    wide = random_q((2, 2000), dtype, 9, spread=2)  # long rows near the maximum: large sums
    m = qmodel("LOG_SOFTMAX", wide.shape, dtype, q(0.05, 0), LS_OUT[dtype])
    assert_matches_litert(m, [wide], ref=True)


def test_log_softmax_quantized_errors():
    x = np.zeros((2, 4), np.int8)
    m = qmodel("LOG_SOFTMAX", x.shape, np.int8, q(0.1, 0), q(1 / 16, 0))
    _fails("LOG_SOFTMAX", m, [x], "scale 1/16 and zero point 127")
    m = qmodel("LOG_SOFTMAX", x.shape, np.uint8, q(0.1, 0), q(1 / 8, 255))
    _fails("LOG_SOFTMAX", m, [x.astype(np.uint8)], "scale 1/16 and zero point 255")
    # LiteRT aborts the process here (a TFLITE_CHECK on the multiplier)
    m = qmodel("LOG_SOFTMAX", x.shape, np.int8, q(2.0 ** -26, 0), LS_OUT[np.int8])
    _fails("LOG_SOFTMAX", m, [x], "too small")
    m = single_op_model("LOG_SOFTMAX", [In(x.shape, np.int8)], Out(x.shape, np.int8))
    _fails("LOG_SOFTMAX", m, [x], "without quantization parameters")
    m = single_op_model("LOG_SOFTMAX", [In(x.shape, np.int8, quant={"scale": [0.1, 0.2], "zero_point": [0, 0],
                                                                      "quantized_dimension": 1})],
                        Out(x.shape, np.int8, quant=LS_OUT[np.int8]))
    _fails("LOG_SOFTMAX", m, [x], "one scale")


# -- L2_NORMALIZATION ----------------------------------------------------------------------------
L2_OUT = {np.uint8: q(1 / 128, 128), np.int8: q(1 / 128, 0)}


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("zp", [0, 7, -20, 127])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_l2_normalization_quantized(dtype, zp, version):
    if dtype == np.uint8:
        zp = abs(zp) + 1
    for k, shape in enumerate([(3, 17), (2, 3, 5), (1, 300), (4, 1), (5, 2), (1, 2, 2, 64)]):
        m = qmodel("L2_NORMALIZATION", shape, dtype, q(0.1, zp), L2_OUT[dtype], version=version)
        for spread in (None, 2):
            x = random_q(shape, dtype, k, spread)
            if spread is not None:  # values near the zero point: tiny sums of squares
                info = np.iinfo(dtype)
                x = np.clip(x.astype(np.int64) - (int(info.min) + int(info.max)) // 2 + zp, info.min, info.max)
                x = x.astype(dtype)
            assert_matches_litert(m, [x], ref=True)


def test_l2_normalization_quantized_zero_rows():
    x = np.array([[5, 5, 5], [5, 6, 5], [0, 127, -128]], np.int8)
    assert_matches_litert(qmodel("L2_NORMALIZATION", x.shape, np.int8, q(0.3, 5), L2_OUT[np.int8]), [x], ref=True)


def test_l2_normalization_quantized_errors():
    x = np.zeros((2, 4), np.int8)
    m = qmodel("L2_NORMALIZATION", x.shape, np.int8, q(0.1, 0), q(1 / 128, 3))
    _fails("L2_NORMALIZATION", m, [x], "scale 1/128 and zero point 0")
    m = qmodel("L2_NORMALIZATION", x.shape, np.uint8, q(0.1, 0), q(1 / 64, 128))
    _fails("L2_NORMALIZATION", m, [x.astype(np.uint8)], "scale 1/128 and zero point 128")
    m = single_op_model("L2_NORMALIZATION", [In(x.shape, np.int8, quant=q(0.1, 0))], Out(x.shape, np.int8))
    _fails("L2_NORMALIZATION", m, [x], "output.*without quantization parameters")
