"""RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR against LiteRT: every coordinate mode, up and
down scaling by integer and fractional factors, to and from one pixel."""

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, rand, run_numlite, single_op_model

from numlite.ops.base import PrepareError

MODES = {"default": {}, "align_corners": {"align_corners": True}, "half_pixel": {"half_pixel_centers": True}}
SIZES = [((4, 4), (8, 8)), ((4, 6), (7, 3)), ((5, 5), (2, 2)), ((3, 7), (9, 10)), ((1, 1), (3, 2)),
         ((6, 4), (1, 1)), ((4, 4), (4, 4)), ((2, 9), (5, 4))]


def model(op, hw, size, dtype=np.float32, quant=None, **opts):
    return single_op_model(op, [In((2,) + hw + (3,), dtype, quant=quant), Const(size, np.int32)],
                           Out((), dtype, quant=quant), **opts)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("hw,size", SIZES)
@pytest.mark.parametrize("ref", [False, True])
def test_bilinear(mode, hw, size, ref):
    # The lerp form a + (b - a) * t and TFLite's four-term weighted sum (and XNNPACK's own
    # formula on the default path) differ by float32 rounding only: inputs are in [-4, 4],
    # so 2e-6 absolute / 1e-5 relative is a few ulps.
    m = model("RESIZE_BILINEAR", hw, size, **MODES[mode])
    assert_matches_litert(m, [rand((2,) + hw + (3,), lo=-4, hi=4)], rtol=1e-5, atol=2e-6, ref=ref)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("hw,size", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.uint8, np.int8])
def test_nearest(mode, hw, size, dtype):
    m = model("RESIZE_NEAREST_NEIGHBOR", hw, size, dtype, **MODES[mode])
    assert_matches_litert(m, [rand((2,) + hw + (3,), dtype, lo=0 if dtype == np.uint8 else -100, hi=100)],
                          rtol=0, atol=0, ref=True)


@pytest.mark.parametrize("mode", list(MODES))
def test_nearest_int16_and_default_path(mode):
    q = {"scale": [0.01], "zero_point": [0]}
    m = model("RESIZE_NEAREST_NEIGHBOR", (3, 5), (7, 4), np.int16, quant=q, version=4, **MODES[mode])
    assert_matches_litert(m, [rand((2, 3, 5, 3), np.int16, lo=-3000, hi=3000)], rtol=0, atol=0, ref=True)
    m = model("RESIZE_NEAREST_NEIGHBOR", (3, 5), (7, 4), **MODES[mode])
    assert_matches_litert(m, [rand((2, 3, 5, 3))], rtol=0, atol=0)


def test_resize_of_constant_input_is_folded():
    x = np.arange(16, dtype=np.float32).reshape(1, 2, 2, 4)
    m = single_op_model("RESIZE_BILINEAR", [Const(x), Const([3, 3], np.int32)], Out(()), align_corners=True)
    (out,) = assert_matches_litert(m, [], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(out[0, 1, 1], x[0].mean(axis=(0, 1)), rtol=1e-6)


@pytest.mark.parametrize("op", ["RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"])
def test_errors(op):
    x = rand((1, 2, 2, 1))
    with pytest.raises(PrepareError, match="cannot both be set"):
        run_numlite(model(op, (2, 2), (3, 3), align_corners=True, half_pixel_centers=True), [rand((2, 2, 2, 3))])
    with pytest.raises(PrepareError, match="two positive values"):
        run_numlite(model(op, (2, 2), (0, 3)), [rand((2, 2, 2, 3))])
    m = single_op_model(op, [In((1, 2, 2, 1)), In((2,), np.int32)], Out(()))
    with pytest.raises(PrepareError, match="must be known before invoke"):
        run_numlite(m, [x, np.array([3, 3], np.int32)])
    m = single_op_model(op, [In((2, 2, 1)), Const([3, 3], np.int32)], Out(()))
    with pytest.raises(PrepareError, match="rank 4"):
        run_numlite(m, [x[0]])
