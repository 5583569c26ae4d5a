"""NumericVerify (numlite.custom.debug) against LiteRT, whose default resolver registers it.

The output is dequantize(input) - reference in float32.  numlite dequantizes as LiteRT's
reference kernel (BUILTIN_REF: the product rounded once to float32), so outputs are compared
exactly with BUILTIN_REF; LiteRT's optimized dequantization (the default resolver) differs from
it by 1 ulp on some elements.
"""

import logging

import numpy as np
import pytest
from util import In, Out, run_litert, run_numlite

from numlite.builder import ModelBuilder
from numlite.custom import debug
from numlite.flex import encode


def model(dtype, quant, shape=(2, 5), tolerance=0.0, log_if_failed=False, options=None):
    mb = ModelBuilder()
    x = mb.input("x", shape, dtype, quantization=quant)
    r = mb.input("ref", shape, np.float32)
    o = mb.tensor("diff", shape, np.float32)
    opts = options if options is not None else encode({"tolerance": tolerance, "log_if_failed": log_if_failed})
    mb.op("custom:NumericVerify", [x, r], [o], custom_options=opts)
    mb.output(o)
    return mb.build()


CASES = [(np.int8, {"scale": [0.05], "zero_point": [-3]}), (np.uint8, {"scale": [0.1], "zero_point": [128]}),
         (np.int16, {"scale": [0.001], "zero_point": [0]}), (np.float16, None)]


@pytest.mark.parametrize("dtype,quant", CASES)
def test_differences_match_litert(dtype, quant):
    rng = np.random.default_rng(0)
    if dtype == np.float16:
        x = rng.uniform(-3, 3, (2, 5)).astype(np.float16)
    else:
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max + 1, (2, 5)).astype(dtype)
    ref = rng.uniform(-5, 5, (2, 5)).astype(np.float32)
    m = model(dtype, quant)
    ours = run_numlite(m, [x, ref], custom_ops=debug.OPS)[0]
    theirs = run_litert(m, [x, ref], ref=True)[0]
    assert ours.dtype == np.float32
    np.testing.assert_array_equal(ours, theirs)


def test_check_mode_fails_like_litert():
    q = {"scale": [0.1], "zero_point": [0]}
    x = np.array([[10, 20, 30, 40, 50]], np.int8)
    close = x.astype(np.float32) * np.float32(0.1) + np.float32(0.01)
    m = model(np.int8, q, shape=(1, 5), tolerance=0.5, log_if_failed=True)
    # within tolerance * scale = 0.05: both succeed with the same differences
    np.testing.assert_array_equal(run_numlite(m, [x, close], custom_ops=debug.OPS)[0], run_litert(m, [x, close])[0])
    far = close.copy()
    far[0, 3] += 1.0
    with pytest.raises(RuntimeError):
        run_litert(m, [x, far])
    with pytest.raises(RuntimeError, match=r"NumericVerify \(node 0\): element 3 of tensor 0 'x'"):
        run_numlite(m, [x, far], custom_ops=debug.OPS)


def test_statistics_are_logged(caplog):
    x = np.array([[1, 2, 3, 4, 5]], np.int8)
    m = model(np.int8, {"scale": [1.0], "zero_point": [0]}, shape=(1, 5))
    with caplog.at_level(logging.INFO, logger="numlite"):
        run_numlite(m, [x, np.zeros((1, 5), np.float32)], custom_ops=debug.OPS)
    assert "NumericVerify (node 0): std: 1.414214, mean: 3.000000, max_diff: 5.000000" in caplog.text


def test_bad_models_are_refused():
    q = {"scale": [0.1], "zero_point": [0]}
    with pytest.raises(RuntimeError, match=r"NumericVerify \(node 0\): custom_options"):
        run_numlite(model(np.int8, q, options=b"\x01\x02\x03"), [np.zeros((2, 5), np.int8)] * 2,
                    custom_ops=debug.OPS)
    mb = ModelBuilder()
    x, r = mb.input("x", (2, 5), np.int8, quantization=q), mb.input("ref", (3,), np.float32)
    o = mb.tensor("diff", (2, 5), np.float32)
    mb.op("custom:NumericVerify", [x, r], [o], custom_options=encode({"tolerance": 0.0}))
    mb.output(o)
    with pytest.raises(RuntimeError, match=r"reference tensor 1 'ref' .* has 3 elements"):
        run_numlite(mb.build(), [np.zeros((2, 5), np.int8), np.zeros(3, np.float32)], custom_ops=debug.OPS)
    with pytest.raises(RuntimeError, match=r"NumericVerify \(node 0\): .*float32"):
        run_numlite(model(np.float32, None), [np.zeros((2, 5), np.float32)] * 2, custom_ops=debug.OPS)
    assert In and Out  # the util helpers stay importable for readers of this file
