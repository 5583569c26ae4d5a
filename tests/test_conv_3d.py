"""CONV_3D and CONV_3D_TRANSPOSE (float32) against LiteRT's reference kernels (BUILTIN_REF).

Both sum the same float32 products (at most ``Cin * KD * KH * KW`` = 81 here, values in [-1, 1])
in another order than LiteRT, so results are compared at ``rtol = atol = 1e-5`` (a few float32
ulps of sums of order 1-10).  Inf / NaN inputs must give exactly LiteRT's reference results
(every float result clamped to +-FLT_MAX, NaN kept).
"""

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, rand, run_litert, run_numlite, single_op_model

import numlite
from numlite.ops.registry import supported_builtins

TOL = {"rtol": 1e-5, "atol": 1e-5}
ONE = {"stride_d": 1, "stride_h": 1, "stride_w": 1}


def strides(s):
    return {"stride_d": s[0], "stride_h": s[1], "stride_w": s[2]}


def dilations(d):
    return {"dilation_d_factor": d[0], "dilation_h_factor": d[1], "dilation_w_factor": d[2]}


def _fails(op, model, feeds, match):
    with pytest.raises(RuntimeError, match=rf"{op} \(node 0\).*" + match):
        run_numlite(model, feeds)


def test_versions():
    ops = supported_builtins()
    assert ops["CONV_3D"] == [1] and ops["CONV_3D_TRANSPOSE"] == [1]


# -- CONV_3D -------------------------------------------------------------------------------------
def conv3d_model(x_shape, w, b=None, **opts):
    ins = [In(x_shape), Const(w)] + ([Const(b)] if b is not None else [])
    return single_op_model("CONV_3D", ins, Out(()), **opts)


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("k,s,d", [((3, 3, 3), (1, 1, 1), (1, 1, 1)), ((2, 3, 1), (2, 1, 2), (1, 1, 1)),
                                   ((3, 2, 3), (2, 2, 1), (2, 1, 2)), ((1, 1, 1), (1, 1, 1), (1, 1, 1)),
                                   ((1, 1, 1), (2, 2, 2), (1, 1, 1))])
@pytest.mark.parametrize("act", ["NONE", "RELU6"])
def test_conv3d(padding, k, s, d, act):
    x_shape = (2, 5, 6, 7, 3)
    m = conv3d_model(x_shape, rand((*k, 3, 4), seed=1), rand((4,), seed=2), padding=padding, **strides(s),
                     **dilations(d), fused_activation_function=act)
    assert_matches_litert(m, [rand(x_shape, seed=3, lo=-2, hi=2)], ref=True, **TOL)


@pytest.mark.parametrize("tile_bytes", [2048, 5000])
def test_conv3d_no_bias_runtime_filter_and_tiles(tile_bytes):
    from numlite.ops import conv_3d

    x_shape, w_shape = (2, 6, 5, 4, 2), (3, 3, 3, 2, 3)
    m = single_op_model("CONV_3D", [In(x_shape), In(w_shape)], Out(()), padding="SAME", **ONE)
    old = conv_3d.TILE_BYTES
    conv_3d.TILE_BYTES = tile_bytes  # tiles of output rows (2048) or of depth slices (5000) of one image
    try:
        assert_matches_litert(m, [rand(x_shape, seed=4), rand(w_shape, seed=5)], ref=True, **TOL)
    finally:
        conv_3d.TILE_BYTES = old


def test_conv3d_valid_larger_than_input_gives_empty_output():
    x_shape = (1, 2, 5, 5, 1)
    m = conv3d_model(x_shape, rand((3, 1, 1, 1, 2)), padding="VALID", **ONE)
    assert run_numlite(m, [rand(x_shape)])[0].shape == (1, 0, 5, 5, 2)


def test_conv3d_inf_nan():
    x = np.array([np.nan, np.inf, 1.0, -np.inf], np.float32).reshape(1, 1, 2, 2, 1)
    m = conv3d_model(x.shape, np.ones((1, 1, 1, 1, 1), np.float32), padding="SAME", **ONE)
    np.testing.assert_array_equal(run_numlite(m, [x])[0], run_litert(m, [x], ref=True)[0])


def test_conv3d_errors():
    x_shape = (1, 3, 3, 3, 2)
    x = rand(x_shape)
    w = rand((2, 2, 2, 2, 3))
    _fails("CONV_3D", conv3d_model(x_shape, w, padding="SAME", stride_d=0, stride_h=1, stride_w=1), [x],
           r"strides must be >= 1")
    _fails("CONV_3D", conv3d_model(x_shape, w, padding="SAME", **ONE, dilation_d_factor=0), [x],
           r"dilations must be >= 1")
    _fails("CONV_3D", conv3d_model(x_shape, rand((2, 2, 2, 4, 3)), padding="SAME", **ONE), [x], r"expects 4")
    _fails("CONV_3D", conv3d_model(x_shape, w, rand((2,)), padding="SAME", **ONE), [x], r"bias .* 3 elements")
    _fails("CONV_3D", conv3d_model(x_shape, w.astype(np.float16), padding="SAME", **ONE), [x], r"float16")
    m = single_op_model("CONV_3D", [In((1, 3, 3, 2)), Const(w)], Out(()), padding="SAME", **ONE)
    _fails("CONV_3D", m, [x[0]], r"rank 5")
    m = conv3d_model((1, 3, 3, 3, 2), w, padding="SAME", **ONE, fused_activation_function=9)
    _fails("CONV_3D", m, [x], r"unknown fused activation")
    # absurd dilations would need an absurd zero-padded copy of the input: a clear error instead
    m = conv3d_model(x_shape, w, padding="SAME", **ONE, **dilations((2**20, 2**20, 2**20)))
    _fails("CONV_3D", m, [x], r"2\*\*31 - 1 elements")


# -- CONV_3D_TRANSPOSE ---------------------------------------------------------------------------
def c3t_model(x_shape, w, out_shape, b=None, shape_input=False, **opts):
    shape = In((5,), np.int32) if shape_input else Const(np.array(out_shape, np.int32))
    ins = [shape, Const(w), In(x_shape)] + ([Const(b)] if b is not None else [])
    return single_op_model("CONV_3D_TRANSPOSE", ins, Out(out_shape), options_table="Conv3DOptions", **opts)


def out_size(i, k, s, d, padding):
    return i * s if padding == "SAME" else (i - 1) * s + (k - 1) * d + 1


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("k,s,d", [((3, 3, 3), (2, 2, 2), (1, 1, 1)), ((2, 3, 1), (2, 1, 2), (1, 1, 1)),
                                   ((2, 2, 3), (2, 2, 1), (2, 1, 2)), ((2, 2, 2), (2, 2, 2), (1, 1, 1)),
                                   ((1, 1, 1), (1, 1, 1), (1, 1, 1))])
@pytest.mark.parametrize("act", ["NONE", "RELU"])
def test_conv3d_transpose(padding, k, s, d, act):
    x_shape = (2, 3, 4, 3, 3)
    osh = (2, *(out_size(i, kk, ss, dd, padding) for i, kk, ss, dd in zip(x_shape[1:4], k, s, d)), 4)
    m = c3t_model(x_shape, rand((*k, 4, 3), seed=6), osh, rand((4,), seed=7), padding=padding, **strides(s),
                  **dilations(d), fused_activation_function=act)
    assert_matches_litert(m, [rand(x_shape, seed=8)], ref=True, **TOL)


def test_conv3d_transpose_dynamic_shape_and_no_bias():
    x_shape = (1, 2, 3, 3, 2)
    w = rand((3, 3, 3, 2, 2), seed=9)
    m = c3t_model(x_shape, w, (1, 4, 6, 6, 2), shape_input=True, padding="SAME", **strides((2, 2, 2)))
    x = rand(x_shape, seed=10)
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    sh_i, x_i = (dd["index"] for dd in it.get_input_details())
    for shape in [(1, 4, 6, 6, 2), (1, 3, 5, 6, 2), (1, 4, 6, 6, 2)]:
        it.set_tensor(sh_i, np.array(shape, np.int32))
        it.set_tensor(x_i, x)
        it.invoke()
        got = it.get_tensor(it.get_output_details()[0]["index"])
        np.testing.assert_allclose(got, run_litert(m, [np.array(shape, np.int32), x], ref=True)[0], **TOL)
    it.set_tensor(sh_i, np.array((1, 4, 6, 6, 3), np.int32))
    with pytest.raises(RuntimeError, match=r"CONV_3D_TRANSPOSE \(node 0\).*3 channels, but the filter has 2"):
        it.invoke()


def test_conv3d_transpose_inf_nan():
    x = np.array([np.nan, np.inf, 1.0, -np.inf], np.float32).reshape(1, 1, 2, 2, 1)
    m = c3t_model(x.shape, np.ones((1, 2, 2, 1, 1), np.float32), (1, 1, 4, 4, 1), padding="SAME",
                  **strides((1, 2, 2)))
    np.testing.assert_array_equal(run_numlite(m, [x])[0], run_litert(m, [x], ref=True)[0])


def test_conv3d_transpose_errors():
    x_shape = (1, 3, 4, 5, 2)
    x = rand(x_shape)
    w = rand((3, 3, 3, 4, 2))
    good = {"padding": "SAME", **strides((2, 2, 2))}
    op = "CONV_3D_TRANSPOSE"
    # LiteRT 2.3: "unused_out_depth != SizeOfDimension(input, 1) (4 != 3)"
    _fails(op, c3t_model(x_shape, w, (1, 7, 8, 10, 4), **good), [x], r"does not match the input")
    # LiteRT 2.3: "shape_data[4] != filter_output_channels (8 != 4)"
    _fails(op, c3t_model(x_shape, w, (1, 6, 8, 10, 8), **good), [x], r"8 channels, but the filter has 4")
    _fails(op, c3t_model(x_shape, w, (2, 6, 8, 10, 4), **good), [x], r"batch 2 differs")
    _fails(op, c3t_model(x_shape, rand((3, 3, 3, 4, 5)), (1, 6, 8, 10, 4), **good), [x], r"expects 5")
    _fails(op, c3t_model(x_shape, w, (1, 6, 8, 10, 4), rand((3,)), **good), [x], r"bias .* 4 elements")
    _fails(op, c3t_model(x_shape, w, (1, 6, 8, 10, 4), padding="SAME", **strides((2, 0, 2))), [x],
           r"strides must be >= 1")
    m = single_op_model(op, [Const(np.array((1, 6, 8, 10), np.int32)), Const(w), In(x_shape)], Out((1, 6, 8, 10)),
                        options_table="Conv3DOptions", **good)
    _fails(op, m, [x], r"must have 5 elements")
    m = c3t_model(x_shape, w, (1, 6, 8, 10, 4), shape_input=True, **good)
    with pytest.raises(RuntimeError, match=rf"{op} \(node 0\).*negative"):
        run_numlite(m, [np.array((1, -6, 8, 10, 4), np.int32), x])
