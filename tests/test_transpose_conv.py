"""TRANSPOSE_CONV (all its types) and MediaPipe's Convolution2DTransposeBias against LiteRT.

Float results are compared with LiteRT's reference kernel (BUILTIN_REF) at ``rtol = atol = 1e-5``:
both sum the same float32 products (at most ``Cin * KH * KW`` = 48 here, inputs and weights in
[-1, 1]) in different orders, so they differ by a few float32 ulps of sums of order 1.  The
quantized forms (uint8, int8 per tensor / per channel, 16x8 with int64 or int32 bias) must be
bit-exact with BUILTIN_REF.  The hybrid form (float input, int8 weights) scales each product
before summing in LiteRT and the exact integer sum once in numlite: agreement to 1e-5 relative
to outputs of order 1-10 (float32 rounding of up to 48 terms).

LiteRT cannot run MediaPipe's custom op, so Convolution2DTransposeBias is checked against LiteRT's
TRANSPOSE_CONV with a bias on the same weights, input and output size (MediaPipe's op is that
computation: its kernel is TFLite's reference TRANSPOSE_CONV loop with the output initialised to
the bias, and its SAME padding ``max(0, K - (I - 1) % s - 1) // 2`` equals TFLite's for the output
size it computes).
"""

import struct

import numpy as np
import pytest
from util import (
    Const,
    In,
    Out,
    assert_matches_litert,
    invoke_peak_bytes,
    rand,
    run_litert,
    run_numlite,
    single_op_model,
)

import numlite
from numlite.custom._mediapipe_conv import Convolution2DTransposeBias
from numlite.ops.registry import supported_builtins

TOL = {"rtol": 1e-5, "atol": 1e-5}
OP = "TRANSPOSE_CONV"


def in_size(o, k, s, padding):
    return -(-o // s) if padding == "SAME" else (o - k + s) // s


def out_size(i, k, s, padding):
    """The largest output size whose forward convolution gives ``i`` (any of the valid ones would do)."""
    return i * s if padding == "SAME" else (i - 1) * s + k


def tc_model(x_shape, w, out_shape, bias=None, version=3, xdtype=np.float32, qx=None, qw=None, qb=None, qo=None,
             shape_input=False, **opts):
    shape = In((4,), np.int32) if shape_input else Const(np.array(out_shape, np.int32))
    ins = [shape, Const(w, quant=qw), In(x_shape, xdtype, quant=qx)]
    if bias is not None:
        ins.append(Const(bias, quant=qb))
    return single_op_model(OP, ins, Out(out_shape, xdtype, quant=qo), version=version, **opts)


def _fails(model, feeds, match, exc=RuntimeError, op=OP, **kw):
    with pytest.raises(exc, match=rf"{op} \(node 0\).*" + match):
        run_numlite(model, feeds, **kw)


def test_versions():
    assert supported_builtins()[OP] == [1, 2, 3, 4, 5]


# -- float32 -----------------------------------------------------------------------------------
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("k,s", [((3, 3), (2, 2)), ((4, 4), (2, 2)), ((2, 2), (2, 2)), ((3, 2), (1, 3)),
                                 ((1, 1), (1, 1)), ((5, 3), (3, 2))])
@pytest.mark.parametrize("act", ["NONE", "RELU"])
def test_float(padding, k, s, act):
    x_shape = (2, 3, 4, 3)
    w = rand((4, *k, 3), seed=1)
    b = rand((4,), seed=2)
    osh = (2, out_size(3, k[0], s[0], padding), out_size(4, k[1], s[1], padding), 4)
    m = tc_model(x_shape, w, osh, b, version=4, padding=padding, stride_h=s[0], stride_w=s[1],
                 fused_activation_function=act)
    assert_matches_litert(m, [rand(x_shape, seed=3)], ref=True, **TOL)


@pytest.mark.parametrize("o", [(5, 7), (6, 8)])
def test_float_same_smaller_outputs_and_no_bias(o):
    # SAME allows several output sizes per input size; versions 1-2 have no bias input
    x_shape = (1, 3, 4, 2)
    w = rand((3, 3, 3, 2), seed=4)
    m = tc_model(x_shape, w, (1, *o, 3), version=1, padding="SAME", stride_h=2, stride_w=2)
    assert_matches_litert(m, [rand(x_shape, seed=5)], ref=True, **TOL)
    m = single_op_model(OP, [Const(np.array((1, *o, 3), np.int32)), Const(w), In(x_shape), None], Out((1, *o, 3)),
                        version=3, padding="SAME", stride_h=2, stride_w=2)
    assert_matches_litert(m, [rand(x_shape, seed=5)], ref=True, **TOL)


@pytest.mark.parametrize("act", ["RELU6", "RELU_N1_TO_1", "TANH"])
def test_float_activations(act):
    x_shape = (1, 4, 4, 3)
    m = tc_model(x_shape, rand((2, 3, 3, 3), seed=6), (1, 8, 8, 2), rand((2,), seed=7), version=4,
                 padding="SAME", stride_h=2, stride_w=2, fused_activation_function=act)
    assert_matches_litert(m, [rand(x_shape, seed=8, lo=-3, hi=3)], ref=True, **TOL)


def test_float_runtime_filter_and_bias():
    x_shape, w_shape = (1, 3, 3, 2), (3, 3, 3, 2)
    m = single_op_model(OP, [Const(np.array((1, 6, 6, 3), np.int32)), In(w_shape), In(x_shape), In((3,))],
                        Out((1, 6, 6, 3)), version=3, padding="SAME", stride_h=2, stride_w=2)
    feeds = [rand(w_shape, seed=9), rand(x_shape, seed=10), rand((3,), seed=11)]
    assert_matches_litert(m, feeds, ref=True, **TOL)


def test_float_dynamic_output_shape():
    """A run-time output_shape gives a dynamic output, re-planned when the shape changes."""
    x_shape = (2, 3, 4, 2)
    w, b = rand((3, 3, 3, 2), seed=12), rand((3,), seed=13)
    m = tc_model(x_shape, w, (2, 6, 8, 3), b, shape_input=True, padding="SAME", stride_h=2, stride_w=2)
    x = rand(x_shape, seed=14)
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    sh_i, x_i = (d["index"] for d in it.get_input_details())
    out_i = it.get_output_details()[0]["index"]
    for shape in [(2, 6, 8, 3), (2, 5, 7, 3), (2, 5, 7, 3), (2, 6, 8, 3)]:
        it.set_tensor(sh_i, np.array(shape, np.int32))
        it.set_tensor(x_i, x)
        it.invoke()
        got = it.get_tensor(out_i)
        want = run_litert(m, [np.array(shape, np.int32), x], ref=True)[0]
        assert got.shape == shape
        np.testing.assert_allclose(got, want, **TOL)
    it.set_tensor(sh_i, np.array((2, 9, 8, 3), np.int32))
    with pytest.raises(RuntimeError, match=r"TRANSPOSE_CONV \(node 0\).*does not match the input"):
        it.invoke()


def test_float_big_tiles_match():
    # enough data for several tiles and row tiles within an image
    from numlite.ops import _transpose_conv as tc

    x_shape = (2, 20, 9, 8)
    m = tc_model(x_shape, rand((5, 3, 3, 8), seed=15), (2, 40, 18, 5), rand((5,), seed=16), padding="SAME",
                 stride_h=2, stride_w=2)
    x = rand(x_shape, seed=17)
    old = tc.TILE_BYTES
    tc.TILE_BYTES = 4096
    try:
        assert_matches_litert(m, [x], ref=True, **TOL)
    finally:
        tc.TILE_BYTES = old


def test_float_invoke_allocates_little():
    x_shape = (1, 16, 16, 8)
    m = tc_model(x_shape, rand((8, 3, 3, 8), seed=18), (1, 32, 32, 8), rand((8,), seed=19), padding="SAME",
                 stride_h=2, stride_w=2)
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], rand(x_shape, seed=20))
    it.invoke()
    assert invoke_peak_bytes(it) < 32 * 1024  # the output alone is 32 KiB


# -- quantized ---------------------------------------------------------------------------------
QX8 = {"scale": [0.05], "zero_point": [3]}
QO8 = {"scale": [0.1], "zero_point": [-5]}


def _q_case(xdtype, per_channel=True, act="NONE", bias=True, k=(3, 3), s=(2, 2), padding="SAME", seed=0, **extra):
    cout, cin = 3, 4
    x_shape = (2, 3, 4, cin)
    osh = (2, out_size(3, k[0], s[0], padding), out_size(4, k[1], s[1], padding), cout)
    rng = np.random.default_rng(seed)
    if xdtype == np.uint8:
        w = rng.integers(0, 256, (cout, *k, cin)).astype(np.uint8)
        qw = {"scale": [0.02], "zero_point": [120]}
        qx, qo = {"scale": [0.05], "zero_point": [130]}, {"scale": [0.2], "zero_point": [100]}
        bscale = [0.05 * 0.02]
    else:
        w = rng.integers(-127, 128, (cout, *k, cin)).astype(np.int8)
        scales = [0.01, 0.02, 0.03] if per_channel else [0.02]
        qw = {"scale": scales, "zero_point": [0] * len(scales), "quantized_dimension": 0}
        if xdtype == np.int16:
            qx, qo = {"scale": [0.001], "zero_point": [0]}, {"scale": [0.01], "zero_point": [0]}
        else:
            qx, qo = QX8, QO8
        bscale = [qx["scale"][0] * sc for sc in scales]
    bdt = extra.pop("bias_dtype", np.int64 if xdtype == np.int16 else np.int32)
    b = rng.integers(-3000, 3000, (cout,)).astype(bdt) if bias else None
    qb = {"scale": bscale, "zero_point": [0] * len(bscale)} if bias else None
    m = tc_model(x_shape, w, osh, b, version=5, xdtype=xdtype, qx=qx, qw=qw, qb=qb, qo=qo, padding=padding,
                 stride_h=s[0], stride_w=s[1], fused_activation_function=act, **extra)
    info = np.iinfo(xdtype)
    x = rng.integers(info.min, int(info.max) + 1, x_shape).astype(xdtype)
    return m, x


@pytest.mark.parametrize("xdtype", [np.int8, np.uint8, np.int16])
@pytest.mark.parametrize("act", ["NONE", "RELU", "RELU6"])
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_quantized(xdtype, act, padding):
    m, x = _q_case(xdtype, act=act, padding=padding, seed=hash((str(xdtype), act, padding)) % 1000)
    assert_matches_litert(m, [x], ref=True)


@pytest.mark.parametrize("xdtype", [np.int8, np.int16])
def test_quantized_per_tensor_no_bias_other_geometry(xdtype):
    m, x = _q_case(xdtype, per_channel=False, bias=False, k=(2, 3), s=(1, 2), seed=3)
    assert_matches_litert(m, [x], ref=True)
    m, x = _q_case(xdtype, per_channel=False, k=(2, 2), s=(2, 2), seed=4)  # taps tile the output exactly
    assert_matches_litert(m, [x], ref=True)


def test_int16_int32_bias():
    m, x = _q_case(np.int16, bias_dtype=np.int32, quantized_bias_type="INT32", seed=5)
    assert_matches_litert(m, [x], ref=True)
    m, x = _q_case(np.int16, bias_dtype=np.int32, seed=5)  # LiteRT would read it as int64
    _fails(m, [x], "needs quantized_bias_type INT32")


def test_int8_dynamic_output_shape():
    cout, cin = 2, 3
    rng = np.random.default_rng(6)
    w = rng.integers(-127, 128, (cout, 3, 3, cin)).astype(np.int8)
    qw = {"scale": [0.01, 0.03], "zero_point": [0, 0], "quantized_dimension": 0}
    b = rng.integers(-500, 500, (cout,)).astype(np.int32)
    m = tc_model((1, 3, 3, cin), w, (1, 6, 6, cout), b, xdtype=np.int8, qx=QX8, qw=qw, qo=QO8, shape_input=True,
                 padding="SAME", stride_h=2, stride_w=2)
    x = rng.integers(-128, 128, (1, 3, 3, cin)).astype(np.int8)
    for shape in [(1, 6, 6, cout), (1, 5, 5, cout)]:
        assert_matches_litert(m, [np.array(shape, np.int32), x], ref=True)


@pytest.mark.parametrize("per_channel", [True, False])
def test_hybrid(per_channel):
    rng = np.random.default_rng(7)
    w = rng.integers(-127, 128, (3, 3, 3, 4)).astype(np.int8)
    scales = [0.01, 0.02, 0.03] if per_channel else [0.02]
    qw = {"scale": scales, "zero_point": [0] * len(scales), "quantized_dimension": 0}
    x_shape = (2, 3, 4, 4)
    m = tc_model(x_shape, w, (2, 6, 8, 3), rand((3,), seed=8), version=5, qw=qw, padding="SAME", stride_h=2,
                 stride_w=2, fused_activation_function="RELU")
    assert_matches_litert(m, [rand(x_shape, seed=9, lo=-2, hi=3)], ref=True, **TOL)


# -- hostile / unsupported --------------------------------------------------------------------
def test_errors():
    x_shape = (1, 3, 4, 2)
    x = rand(x_shape)
    w = rand((3, 3, 3, 2))
    good = dict(padding="SAME", stride_h=2, stride_w=2)
    _fails(tc_model(x_shape, w, (1, 9, 8, 3), **good), [x], r"does not match the input")
    _fails(tc_model(x_shape, w, (2, 6, 8, 3), **good), [x], r"batch 2 differs")
    _fails(tc_model(x_shape, w, (1, 6, 8, 4), **good), [x], r"4 channels, but the filter has 3")
    _fails(tc_model(x_shape, w, (1, 6, 8, 3), padding="SAME", stride_h=0, stride_w=2), [x], r"strides must be >= 1")
    _fails(tc_model(x_shape, rand((3, 3, 3, 5)), (1, 6, 8, 3), **good), [x], r"expects 5")
    _fails(tc_model(x_shape, w, (1, 6, 8, 3), rand((4,)), **good), [x], r"bias .* must have 3 elements")
    m = single_op_model(OP, [Const(np.array((1, 6, 8, 3), np.int64)), Const(w), In(x_shape)], Out((1, 6, 8, 3)),
                        **good)
    _fails(m, [x], r"output_shape .*int64")
    m = single_op_model(OP, [Const(np.array((1, 6, 8), np.int32)), Const(w), In(x_shape)], Out((1, 6, 8, 3)),
                        **good)
    _fails(m, [x], r"must have 4 elements")
    m = single_op_model(OP, [Const(np.array((1, 6, 8, 3), np.int32)), Const(w), In((3, 4, 2))], Out((1, 6, 8, 3)),
                        **good)
    _fails(m, [x[0]], r"rank 4")
    # type combinations LiteRT rejects
    m = tc_model(x_shape, w.astype(np.float16), (1, 6, 8, 3), **good)
    _fails(m, [x], r"float16.*needs a float32 or int8 \(hybrid\) filter")
    wq = np.zeros((3, 3, 3, 2), np.int8)
    qu8 = {"scale": [0.1], "zero_point": [7]}
    m = tc_model(x_shape, wq, (1, 6, 8, 3), xdtype=np.uint8, qx=qu8, qo=qu8, qw={"scale": [0.1], "zero_point": [0]},
                 **good)
    _fails(m, [np.zeros(x_shape, np.uint8)], r"needs a uint8 filter")
    m = tc_model(x_shape, wq, (1, 6, 8, 3), xdtype=np.int8, qx=QX8, qo=QO8, qw={"scale": [0.1], "zero_point": [2]},
                 **good)
    _fails(m, [np.zeros(x_shape, np.int8)], r"zero points 0")
    m = tc_model(x_shape, wq, (1, 6, 8, 3), xdtype=np.int16, qx=QX8, qo=QO8, qw={"scale": [0.1], "zero_point": [0]},
                 **good)
    _fails(m, [np.zeros(x_shape, np.int16)], r"zero point 0")


def test_hostile_dynamic_shape_is_an_error_not_an_allocation():
    x_shape = (1, 3, 4, 2)
    m = tc_model(x_shape, rand((3, 3, 3, 2)), (1, 6, 8, 3), shape_input=True, padding="VALID", stride_h=2 ** 30,
                 stride_w=2 ** 30)
    with pytest.raises(RuntimeError, match=r"TRANSPOSE_CONV \(node 0\).*(does not match|2\*\*31)"):
        run_numlite(m, [np.array((1, 2 ** 31 - 1, 2 ** 31 - 1, 3), np.int32), rand(x_shape)])
    with pytest.raises(RuntimeError, match=r"TRANSPOSE_CONV \(node 0\).*negative"):
        run_numlite(m, [np.array((1, -6, 8, 3), np.int32), rand(x_shape)])


@pytest.mark.parametrize("k", [2, 3])
def test_nan_inf_like_the_reference_kernel(k):
    # LiteRT's reference kernel clamps every float result to +-FLT_MAX (inf -> 3.4e38), NaN stays
    x_shape = (1, 2, 2, 1)
    x = np.array([np.nan, np.inf, 1.0, -np.inf], np.float32).reshape(x_shape)
    m = tc_model(x_shape, np.ones((1, k, k, 1), np.float32), (1, 4, 4, 1), padding="SAME", stride_h=2, stride_w=2)
    got = run_numlite(m, [x])[0]
    np.testing.assert_array_equal(got, run_litert(m, [x], ref=True)[0])
    assert np.isnan(got).any() and np.nanmax(got) == np.finfo(np.float32).max


# -- MediaPipe Convolution2DTransposeBias -------------------------------------------------------
MP = "Convolution2DTransposeBias"


def mp_model(x_shape, w, b, opts: bytes):
    return single_op_model(f"custom:{MP}", [In(x_shape), Const(w), Const(b)], Out(()), custom_options=opts)


def run_mp(model, feeds):
    return run_numlite(model, feeds, custom_ops={MP: Convolution2DTransposeBias})


@pytest.mark.parametrize("hw,k,s,pad", [((3, 4), (3, 3), (2, 2), 1), ((3, 4), (4, 4), (2, 2), 1),
                                        ((5, 5), (3, 3), (1, 1), 1), ((3, 4), (2, 2), (2, 2), 2),
                                        ((3, 4), (3, 2), (2, 3), 2), ((4, 3), (5, 3), (3, 2), 1),
                                        ((3, 3), (3, 3), (2, 2), 0)])
def test_mediapipe_matches_litert_transpose_conv(hw, k, s, pad):
    x_shape = (2, *hw, 3)
    w, b, x = rand((4, *k, 3), seed=21), rand((4,), seed=22), rand(x_shape, seed=23)
    # TfLiteTransposeConvParams: padding (1 SAME, 2 VALID, 0 unknown = VALID), stride_width, stride_height,
    # then fields MediaPipe ignores (activation)
    opts = struct.pack("<iiii", pad, s[1], s[0], 0)
    y = run_mp(mp_model(x_shape, w, b, opts), [x])[0]
    same = pad == 1
    want_hw = [st * (i - 1) + kk - (max(0, kk - (i - 1) % st - 1) if same else 0) for i, kk, st in zip(hw, k, s)]
    assert y.shape == (2, *want_hw, 4)
    ref = tc_model(x_shape, w, y.shape, b, padding="SAME" if same else "VALID", stride_h=s[0], stride_w=s[1])
    np.testing.assert_allclose(y, run_litert(ref, [x], ref=True)[0], **TOL)


def test_mediapipe_errors():
    x_shape = (1, 3, 3, 2)
    w, b, x = rand((4, 3, 3, 2)), rand((4,)), rand(x_shape)
    with pytest.raises(RuntimeError, match=rf"{MP} \(node 0\).*12 bytes"):
        run_mp(mp_model(x_shape, w, b, struct.pack("<ii", 1, 2)), [x])
    with pytest.raises(RuntimeError, match=rf"{MP} \(node 0\).*padding code 7"):
        run_mp(mp_model(x_shape, w, b, struct.pack("<iii", 7, 2, 2)), [x])
    with pytest.raises(RuntimeError, match=rf"{MP} \(node 0\).*strides must be >= 1"):
        run_mp(mp_model(x_shape, w, b, struct.pack("<iii", 1, 0, 2)), [x])
    with pytest.raises(RuntimeError, match=rf"{MP} \(node 0\).*2\*\*31"):
        run_mp(mp_model(x_shape, w, b, struct.pack("<iii", 1, 2 ** 31 - 1, 2 ** 31 - 1)), [x])
    with pytest.raises(RuntimeError, match=rf"{MP} \(node 0\).*bias .* must have 4 elements"):
        run_mp(mp_model(x_shape, w, rand((3,)), struct.pack("<iii", 1, 2, 2)), [x])
    m = single_op_model(f"custom:{MP}", [In(x_shape), Const(w)], Out(()), custom_options=struct.pack("<iii", 1, 2, 2))
    with pytest.raises(RuntimeError, match=rf"{MP} \(node 0\).*expects 3 inputs"):
        run_mp(m, [x])
    m = single_op_model(f"custom:{MP}", [In(x_shape), Const(w), Const(b)], Out(()), version=2,
                        custom_options=struct.pack("<iii", 1, 2, 2))
    with pytest.raises(RuntimeError, match=rf"{MP} \(node 0\).*version 2 is not supported"):
        run_mp(m, [x])
    with pytest.raises(RuntimeError, match=rf"{MP} \(node 0\).*float16"):
        run_mp(mp_model(x_shape, w.astype(np.float16), b, struct.pack("<iii", 1, 2, 2)), [x])


@pytest.mark.parametrize("hybrid", [False, True])
def test_wide_reduction_uses_float64(hybrid):
    """64 input channels x 9 taps of +-127 weights: partial sums can pass 2**24, so the GEMM runs in float64."""
    rng = np.random.default_rng(11)
    w = rng.choice(np.array([-127, 127], np.int8), (2, 3, 3, 64))
    qw = {"scale": [0.001, 0.002], "zero_point": [0, 0], "quantized_dimension": 0}
    x_shape = (1, 3, 3, 64)
    if hybrid:
        m = tc_model(x_shape, w, (1, 6, 6, 2), rand((2,)), qw=qw, padding="SAME", stride_h=2, stride_w=2)
        assert_matches_litert(m, [rand(x_shape, seed=12)], ref=True, **TOL)
    else:
        m = tc_model(x_shape, w, (1, 6, 6, 2), np.array([5, -9], np.int32), xdtype=np.int8, qx=QX8, qw=qw,
                     qo={"scale": [2.0], "zero_point": [1]}, padding="SAME", stride_h=2, stride_w=2)
        assert_matches_litert(m, [rng.integers(-128, 128, x_shape).astype(np.int8)], ref=True)


def test_int8_accumulator_wraps_like_int32():
    # a bias near INT32_MAX makes TFLite's int32 accumulator wrap; numlite wraps the same way
    rng = np.random.default_rng(13)
    w = np.full((2, 2, 2, 3), 127, np.int8)
    qw = {"scale": [1e-3, 1e-3], "zero_point": [0, 0], "quantized_dimension": 0}
    b = np.array([2**31 - 100, -(2**31) + 100], np.int32)
    m = tc_model((1, 2, 2, 3), w, (1, 4, 4, 2), b, xdtype=np.int8, qx={"scale": [1.0], "zero_point": [-128]}, qw=qw,
                 qo={"scale": [2.0**20], "zero_point": [0]}, padding="SAME", stride_h=2, stride_w=2)
    x = np.concatenate([np.full((1, 2, 1, 3), 127), rng.integers(-128, 128, (1, 2, 1, 3))], axis=2).astype(np.int8)
    out = assert_matches_litert(m, [x], ref=True)[0]
    assert out[0, 0, 0, 0] < 0  # wrapped
