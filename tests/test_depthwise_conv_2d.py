"""DEPTHWISE_CONV_2D (float32) against LiteRT.

Tolerance: rtol 1e-5, atol 2e-5.  Inputs lie in [-2, 2] and weights in [-1, 1] with at most 25
taps, so sums stay below ~50; numlite sums the taps with a BLAS gemv in a different order than
LiteRT (XNNPACK's FMAs), which moves results by a few float32 ulps of the partial sums.

LiteRT quirks the tests work around (numlite follows LiteRT's builtin kernel in each case):
* a model with no bias input segfaults in LiteRT 2.3's XNNPACK path, so those cases compare with
  LiteRT's reference kernels (``ref=True``);
* XNNPACK refuses a ``depth_multiplier`` option that contradicts the shapes; the builtin kernel
  ignores the option and infers it from the shapes, as numlite does.
"""

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, rand, run_numlite, single_op_model

from numlite.ops import _depthwise
from numlite.ops.base import PrepareError, conv_padding

RTOL, ATOL = 1e-5, 2e-5


def dw_model(in_shape, k=(3, 3), m=1, stride=(1, 1), dil=(1, 1), padding="SAME", act="NONE", bias=True,
             version=1, filter_const=True, seed=0, dm_option=None):
    n, h, w, cin = in_shape
    cout = cin * m
    pad = 0 if padding == "SAME" else 1
    ho = conv_padding(h, k[0], stride[0], dil[0], pad)[0]
    wo = conv_padding(w, k[1], stride[1], dil[1], pad)[0]
    filt = rand((1, k[0], k[1], cout), seed=seed + 1)
    b = rand((cout,), seed=seed + 2)
    ins = [In(in_shape), Const(filt) if filter_const else In(filt.shape)]
    if bias:
        ins.append(Const(b))
    model = single_op_model("DEPTHWISE_CONV_2D", ins, Out((n, ho, wo, cout)), version=version, padding=padding,
                            stride_h=stride[0], stride_w=stride[1], dilation_h_factor=dil[0],
                            dilation_w_factor=dil[1], depth_multiplier=m if dm_option is None else dm_option,
                            fused_activation_function=act)
    feeds = [rand(in_shape, seed=seed, lo=-2, hi=2)] + ([] if filter_const else [filt])
    return model, feeds


CASES = [
    # in_shape, kernel, multiplier, stride, dilation, padding
    ((1, 5, 5, 2), (3, 3), 1, (1, 1), (1, 1), "SAME"),
    ((1, 8, 8, 4), (3, 3), 1, (2, 2), (1, 1), "SAME"),
    ((1, 9, 9, 3), (3, 3), 1, (2, 2), (1, 1), "VALID"),
    ((1, 11, 10, 3), (3, 3), 1, (3, 3), (1, 1), "SAME"),
    ((1, 13, 12, 5), (5, 5), 1, (3, 2), (1, 1), "VALID"),
    ((1, 7, 7, 6), (1, 1), 1, (1, 1), (1, 1), "SAME"),
    ((1, 7, 9, 6), (1, 1), 1, (2, 2), (1, 1), "VALID"),
    ((1, 12, 12, 4), (3, 3), 1, (1, 1), (2, 2), "SAME"),
    ((1, 15, 14, 4), (3, 3), 1, (1, 1), (2, 3), "VALID"),
    ((1, 16, 16, 3), (3, 3), 1, (2, 2), (2, 2), "SAME"),
    ((1, 10, 10, 3), (5, 5), 1, (1, 1), (1, 1), "SAME"),
    ((1, 10, 11, 3), (3, 5), 1, (1, 2), (1, 1), "SAME"),
    ((1, 6, 6, 2), (3, 3), 2, (1, 1), (1, 1), "SAME"),
    ((1, 7, 7, 3), (3, 3), 3, (2, 2), (1, 1), "SAME"),
    ((1, 9, 9, 2), (3, 3), 2, (1, 1), (1, 1), "VALID"),
    ((1, 9, 8, 2), (5, 5), 3, (2, 1), (2, 1), "SAME"),
    ((3, 7, 7, 4), (3, 3), 1, (1, 1), (1, 1), "SAME"),
    ((2, 9, 9, 4), (3, 3), 2, (2, 2), (1, 1), "SAME"),
    ((2, 8, 8, 8), (3, 3), 1, (1, 1), (1, 1), "VALID"),
    ((1, 1, 1, 1), (1, 1), 1, (1, 1), (1, 1), "SAME"),
    ((1, 1, 1, 3), (3, 3), 2, (1, 1), (1, 1), "SAME"),
    ((1, 2, 3, 1), (3, 3), 1, (2, 2), (1, 1), "SAME"),
    ((1, 3, 3, 2), (3, 3), 1, (1, 1), (1, 1), "VALID"),
]


@pytest.mark.parametrize("in_shape,k,m,stride,dil,padding", CASES)
def test_float_shapes(in_shape, k, m, stride, dil, padding):
    model, feeds = dw_model(in_shape, k, m, stride, dil, padding)
    assert_matches_litert(model, feeds, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("in_shape,k,m,stride,dil,padding", CASES[::3])
def test_no_bias(in_shape, k, m, stride, dil, padding):
    model, feeds = dw_model(in_shape, k, m, stride, dil, padding, bias=False)
    assert_matches_litert(model, feeds, rtol=RTOL, atol=ATOL, ref=True)


ACTS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1", "TANH", "SIGN_BIT"]
#: every engine path: 3x3, 5x5 and a generic (even, non-square) kernel; strides 1 (padded /
#: direct source) and 2 (phased source); dilation 1 / 2; multiplier 1 / 2; SAME / VALID
FAST = [(k, s, d, m, p) for k in ((3, 3), (5, 5), (2, 4)) for s in (1, 2) for d in (1, 2) for m in (1, 2)
        for p in ("SAME", "VALID")]


@pytest.mark.parametrize("small_tiles", [False, True], ids=["one-tile", "many-tiles"])
@pytest.mark.parametrize("i", range(len(FAST)))
def test_fast_paths(i, small_tiles, monkeypatch):
    # batch 2; each case takes one activation (all six over the grid); with small_tiles every
    # tile holds one or two output rows, so the tile seams are exercised
    k, s, d, m, padding = FAST[i]
    if small_tiles:
        monkeypatch.setattr(_depthwise, "TILE_BYTES", 2048)
    model, feeds = dw_model((2, 13, 11, 4), k, m, (s, s), (d, d), padding, act=ACTS[i % len(ACTS)], seed=11 + i)
    assert_matches_litert(model, feeds, rtol=RTOL, atol=ATOL)


#: phase-split source (stride > 1): kernel columns fall into phase groups (kernel column k reads
#: phase k*dw mod sw); one or more groups, de-interleaving copy (dilation 1) or per-group copies,
#: groups of unequal size, narrow inputs where no column is valid in every phase
SPLIT = [
    # in_shape, kernel, multiplier, stride, dilation, padding
    ((2, 13, 11, 4), (3, 3), 1, (2, 2), (1, 1), "SAME"),
    ((2, 13, 11, 4), (5, 5), 2, (2, 2), (1, 1), "SAME"),
    ((1, 14, 15, 3), (5, 5), 1, (2, 2), (1, 1), "VALID"),
    ((1, 13, 17, 3), (7, 7), 1, (2, 3), (1, 1), "SAME"),
    ((1, 12, 13, 2), (5, 5), 3, (3, 3), (1, 1), "SAME"),
    ((1, 12, 12, 4), (2, 4), 1, (2, 2), (1, 1), "VALID"),
    ((1, 16, 17, 3), (3, 3), 1, (2, 2), (2, 2), "SAME"),
    ((1, 16, 17, 3), (5, 5), 2, (2, 2), (3, 3), "SAME"),
    ((1, 19, 19, 2), (5, 5), 1, (3, 3), (2, 2), "SAME"),
    ((1, 3, 2, 2), (5, 5), 1, (2, 2), (1, 1), "SAME"),
    ((1, 5, 1, 2), (3, 3), 2, (2, 2), (1, 1), "SAME"),
]


@pytest.mark.parametrize("small_tiles", [False, True], ids=["one-tile", "many-tiles"])
@pytest.mark.parametrize("i", range(len(SPLIT)))
def test_phase_split(i, small_tiles, monkeypatch):
    # every stride > 1 layer takes the phase-split source here (3x3 stride 2 included)
    monkeypatch.setattr(_depthwise, "PHASE_SPLIT_MIN_TAPS", 0)
    if small_tiles:
        monkeypatch.setattr(_depthwise, "TILE_BYTES", 2048)
    in_shape, k, m, stride, dil, padding = SPLIT[i]
    model, feeds = dw_model(in_shape, k, m, stride, dil, padding, act=ACTS[i % 4], seed=40 + i)
    assert_matches_litert(model, feeds, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("k", [(3, 3), (5, 5)])
def test_non_finite_inputs_stride2(k, split, monkeypatch):
    # inf / nan in the input reach only the outputs whose taps read them (no zero-weight taps
    # over neighbouring columns), with either source layout
    monkeypatch.setattr(_depthwise, "PHASE_SPLIT_MIN_TAPS", 0 if split else 99)
    model, feeds = dw_model((1, 12, 13, 4), k, 1, (2, 2), (1, 1), "SAME", seed=61)
    x = feeds[0].copy()
    x[0, 3, 4, 1] = np.inf
    x[0, 6, 7, 2] = -np.inf
    x[0, 9, 10, 0] = np.nan
    x[0, 0, 12, 3] = np.inf
    want = assert_matches_litert(model, [x], rtol=RTOL, atol=ATOL)[0]
    assert np.isfinite(want).sum() > 0.8 * want.size


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("stride", [(1, 1), (2, 2)])
def test_activations(act, stride):
    # TANH / SIGN_BIT are accepted and clamp nothing, as in LiteRT's float kernel
    model, feeds = dw_model((1, 9, 9, 8), stride=stride, act=act, seed=3)
    assert_matches_litert(model, feeds, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("in_shape,stride,m", [
    ((1, 56, 56, 32), (1, 1), 1), ((1, 56, 56, 48), (2, 2), 1), ((1, 14, 14, 512), (1, 1), 1),
    ((1, 7, 7, 1024), (1, 1), 1), ((2, 28, 28, 64), (2, 2), 2), ((1, 30, 31, 24), (1, 1), 1),
])
def test_large(in_shape, stride, m):
    model, feeds = dw_model(in_shape, m=m, stride=stride, act="RELU6", seed=5)
    assert_matches_litert(model, feeds, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("in_shape,stride,m,padding,act", [
    ((1, 80, 80, 32), (1, 1), 1, "SAME", "RELU6"),  # above the real threshold
    ((1, 24, 24, 16), (1, 1), 1, "VALID", "NONE"),
    ((1, 30, 30, 16), (2, 2), 1, "SAME", "RELU"),
    ((3, 10, 10, 8), (1, 1), 2, "SAME", "NONE"),
    ((1, 7, 7, 64), (1, 1), 1, "SAME", "RELU6"),
    ((2, 9, 9, 4), (3, 3), 3, "VALID", "RELU_N1_TO_1"),
])
def test_threads_equal_single(in_shape, stride, m, padding, act, monkeypatch):
    # the pool is used for every size here (the threshold keeps small layers single-threaded)
    monkeypatch.setattr(_depthwise, "PARALLEL_MIN_MACS", 0)
    monkeypatch.setattr(_depthwise, "TILE_BYTES", 4096)  # small tiles: several per worker
    model, feeds = dw_model(in_shape, m=m, stride=stride, padding=padding, act=act, seed=7)
    pad = 0 if padding == "SAME" else 1
    ho = conv_padding(in_shape[1], 3, stride[0], 1, pad)[0]
    wo = conv_padding(in_shape[2], 3, stride[1], 1, pad)[0]
    plan = _depthwise.DepthwisePlan(in_shape, 3, 3, in_shape[3] * m, stride, (1, 1), (ho, wo), (0, 0), True, 0, 2)
    assert plan.workers == 2
    one = run_numlite(model, feeds, num_threads=1)[0]
    two = run_numlite(model, feeds, num_threads=2)[0]
    np.testing.assert_array_equal(one, two)
    assert_matches_litert(model, feeds, rtol=RTOL, atol=ATOL, num_threads=2)


@pytest.mark.parametrize("stride,m,bias", [((1, 1), 1, True), ((2, 2), 2, True), ((1, 1), 1, False)])
def test_non_constant_filter(stride, m, bias):
    model, feeds = dw_model((1, 9, 9, 4), m=m, stride=stride, bias=bias, filter_const=False, seed=9)
    assert_matches_litert(model, feeds, rtol=RTOL, atol=ATOL, ref=not bias)
    # a second invoke with new weights must use them (no stale prepared weights)
    import numlite

    it = numlite.Interpreter(model_content=model)
    it.allocate_tensors()
    ins = it.get_input_details()
    for f2 in (feeds[1], feeds[1] * -0.5):
        it.set_tensor(ins[0]["index"], feeds[0])
        it.set_tensor(ins[1]["index"], f2)
        it.invoke()
        got = it.get_tensor(it.get_output_details()[0]["index"])
        want = assert_matches_litert(model, [feeds[0], f2], rtol=RTOL, atol=ATOL, ref=not bias)[0]
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5, 6, 7])
def test_versions(version):
    model, feeds = dw_model((1, 6, 6, 3), m=2, version=version)
    assert_matches_litert(model, feeds, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("dm_option", [0, 5])
def test_depth_multiplier_option_ignored(dm_option):
    # LiteRT's builtin kernel infers the multiplier from the filter shape
    model, feeds = dw_model((1, 6, 6, 3), m=2, dm_option=dm_option)
    assert_matches_litert(model, feeds, rtol=RTOL, atol=ATOL, ref=True)


def test_constant_input_folded():
    x = rand((1, 6, 6, 3), seed=1)
    f, b = rand((1, 3, 3, 3), seed=2), rand((3,), seed=3)
    model = single_op_model("DEPTHWISE_CONV_2D", [Const(x), Const(f), Const(b)], Out((1, 6, 6, 3)),
                            padding="SAME", stride_w=1, stride_h=1, depth_multiplier=1)
    assert_matches_litert(model, [], rtol=RTOL, atol=ATOL)


def test_resize_input():
    import numlite

    model, _ = dw_model((1, 8, 8, 4), stride=(2, 2), act="RELU6")
    it = numlite.Interpreter(model_content=model)
    i = it.get_input_details()[0]["index"]
    it.resize_tensor_input(i, [2, 15, 11, 4])
    it.allocate_tensors()
    x = rand((2, 15, 11, 4), seed=4, lo=-2, hi=2)
    it.set_tensor(i, x)
    it.invoke()
    got = it.get_tensor(it.get_output_details()[0]["index"])
    want = assert_matches_litert(model, [x], rtol=RTOL, atol=ATOL)[0]
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def _bad(ins, out_shape, match, **opts):
    opts = {"padding": "SAME", "stride_w": 1, "stride_h": 1, "depth_multiplier": 1, **opts}
    model = single_op_model("DEPTHWISE_CONV_2D", ins, Out(out_shape, ins[0].dtype if isinstance(ins[0], In)
                                                          else np.float32), **opts)
    feeds = [np.zeros(s.shape, s.dtype) for s in ins if isinstance(s, In)]
    with pytest.raises(PrepareError, match=match) as e:
        run_numlite(model, feeds)
    assert "DEPTHWISE_CONV_2D (node 0)" in str(e.value)
    assert isinstance(e.value, RuntimeError)


def test_error_channel_mismatch():
    _bad([In((1, 5, 5, 3)), Const(rand((1, 3, 3, 4)))], (1, 5, 5, 4), "not a multiple")


def test_error_filter_leading_dim():
    _bad([In((1, 5, 5, 2)), Const(rand((2, 3, 3, 2)))], (1, 5, 5, 2), r"\[1, KH, KW, Cout\]")


def test_error_bias_size():
    _bad([In((1, 5, 5, 2)), Const(rand((1, 3, 3, 4))), Const(rand((3,)))], (1, 5, 5, 4), "must have 4 elements")


def test_error_ranks():
    _bad([In((5, 5, 2)), Const(rand((1, 3, 3, 2)))], (5, 5, 2), "rank 4")
    _bad([In((1, 5, 5, 2)), Const(rand((3, 3, 2)))], (1, 5, 5, 2), "rank 4")


def test_error_int8_output_without_quantization():
    q = {"scale": [0.5], "zero_point": [0]}
    x = In((1, 5, 5, 2), np.int8, quant=q)
    f = Const(np.ones((1, 3, 3, 2), np.int8), quant=q)
    _bad([x, f], (1, 5, 5, 2), "only float32 depthwise convolution is supported")


def test_error_mixed_types():
    _bad([In((1, 5, 5, 2)), Const(np.ones((1, 3, 3, 2), np.int8))], (1, 5, 5, 2), "filter .* has type int8")


def test_error_bad_stride_and_dilation():
    _bad([In((1, 5, 5, 2)), Const(rand((1, 3, 3, 2)))], (1, 5, 5, 2), "strides must be positive", stride_w=0)
    _bad([In((1, 5, 5, 2)), Const(rand((1, 3, 3, 2)))], (1, 5, 5, 2), "dilation", dilation_h_factor=0)


@pytest.mark.parametrize("k,stride,m", [((3, 3), (2, 2), 1), ((5, 5), (2, 2), 2), ((5, 5), (3, 3), 1)])
def test_phase_split_threads(k, stride, m, monkeypatch):
    # phase-split source with two workers (a partial-sum tile each) and several tiles per worker
    monkeypatch.setattr(_depthwise, "PHASE_SPLIT_MIN_TAPS", 0)
    monkeypatch.setattr(_depthwise, "PARALLEL_MIN_MACS", 0)
    monkeypatch.setattr(_depthwise, "TILE_BYTES", 4096)
    model, feeds = dw_model((1, 30, 29, 16), k, m, stride, act="RELU6", seed=71)
    one = run_numlite(model, feeds, num_threads=1)[0]
    two = run_numlite(model, feeds, num_threads=2)[0]
    np.testing.assert_array_equal(one, two)
    assert_matches_litert(model, feeds, rtol=RTOL, atol=ATOL, num_threads=2)
