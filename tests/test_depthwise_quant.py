"""Quantized and hybrid DEPTHWISE_CONV_2D against LiteRT's reference kernels (BUILTIN_REF).

int8 (per-channel and per-tensor filter scales), uint8 (legacy per-tensor asymmetric) and
int16x8 outputs must be bit-exact: seeded random scales over several orders of magnitude, zero
points over the type's range, inputs and weights over the full range, several seeds per case.
Hybrid (float input, int8 per-channel filter) outputs are float32 and compared exactly too
(rtol = atol = 0): numlite reproduces the reference's input quantization and its float32
``acc * (w_scale * input_scale) + bias`` step by step.
"""

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, run_litert, run_numlite, single_op_model

from numlite.ops import _depthwise, _qdepthwise
from numlite.ops.base import PrepareError, conv_padding


@pytest.fixture(autouse=True, params=["constant-rows", "rows-per-invoke"])
def weight_rows(request, monkeypatch):
    """Every test twice: the weight rows tiled along W once at prepare, and filled into scratch at
    every invoke (``_depthwise.ROWS_PER_INVOKE_BYTES`` lowered to 0)."""
    if request.param == "rows-per-invoke":
        monkeypatch.setattr(_depthwise, "ROWS_PER_INVOKE_BYTES", 0)

I8, U8, I16 = np.int8, np.uint8, np.int16


def _q(scale, zp, dim=0):
    return {"scale": list(np.atleast_1d(scale)), "zero_point": list(np.atleast_1d(zp)), "quantized_dimension": dim}


def qmodel(dtype, in_shape, k=(3, 3), m=1, stride=(1, 1), dil=(1, 1), padding="SAME", act="NONE", seed=0,
           bias=True, per_channel=True, pot=False, big_bias=False, out_spread=0.7, w_scales=None):
    """A quantized single-op model and a random input over the type's full range.

    ``pot``: power-of-two scales (exact multipliers, so the requantization hits rounding ties);
    ``big_bias``: biases near 2**24, beyond the float32-exact range."""
    rng = np.random.default_rng(seed)
    n, h, w, cin = in_shape
    cout = cin * m
    pad = 0 if padding == "SAME" else 1
    ho = conv_padding(h, k[0], stride[0], dil[0], pad)[0]
    wo = conv_padding(w, k[1], stride[1], dil[1], pad)[0]
    kt = k[0] * k[1]
    info = np.iinfo(dtype)
    if pot:
        s_in = 2.0 ** rng.integers(-8, -2)
    else:
        s_in = 10 ** rng.uniform(-3, 0)
    if dtype == U8:
        zp_in = int(rng.integers(0, 256))
        s_w = np.array([10 ** rng.uniform(-3, -1)])
        zp_w = int(rng.integers(0, 256))
        filt = rng.integers(0, 256, (1, *k, cout)).astype(U8)
        wq = _q(s_w, zp_w, 3)
        w_spread = 70.0
    else:
        zp_in = 0 if dtype == I16 else int(rng.integers(-128, 128))
        nsc = cout if per_channel else 1
        s_w = 2.0 ** rng.integers(-9, -4, nsc) if pot else 10 ** rng.uniform(-3, -1, nsc)
        if w_scales is not None:
            s_w = np.asarray(w_scales, np.float64)
        filt = rng.integers(-127, 128, (1, *k, cout)).astype(I8)
        wq = _q(s_w, [0] * nsc, 3)
        w_spread = 70.0
    x_spread = 10000.0 if dtype == I16 else 70.0
    # output scale: near the accumulator's spread, times a random factor (some saturation)
    acc_sd = np.sqrt(kt) * x_spread * w_spread
    s_out = float(s_in * np.mean(s_w) * acc_sd / (info.max / 3) * 10 ** rng.uniform(-out_spread, out_spread))
    if pot:
        s_out = 2.0 ** round(np.log2(s_out))
    zp_out = 0 if dtype == I16 else int(rng.integers(info.min, int(info.max) + 1))
    ins = [In(in_shape, dtype, quant=_q(s_in, zp_in)), Const(filt, quant=wq)]
    if bias:
        bdt = np.int64 if dtype == I16 else np.int32
        lim = 2**23 if big_bias else int(acc_sd)
        bvals = rng.integers(-lim, lim + 1, cout).astype(bdt)
        bscale = np.float32(s_in) * np.asarray(s_w, np.float32) * np.ones(cout, np.float32)
        # uint8 (per-tensor) models carry one bias scale: LiteRT checks it against the product
        ins.append(Const(bvals, quant=_q(bscale[:1], [0]) if dtype == U8 else _q(bscale, [0] * cout)))
    model = single_op_model("DEPTHWISE_CONV_2D", ins, Out((n, ho, wo, cout), dtype, quant=_q(s_out, zp_out)),
                            version=6 if dtype == I16 else 3, padding=padding, stride_h=stride[0], stride_w=stride[1],
                            dilation_h_factor=dil[0], dilation_w_factor=dil[1], depth_multiplier=m,
                            fused_activation_function=act)
    x = rng.integers(int(info.min), int(info.max) + 1, in_shape).astype(dtype)
    return model, [x]


CASES = [
    # in_shape, kernel, multiplier, stride, dilation, padding
    ((1, 5, 5, 2), (3, 3), 1, (1, 1), (1, 1), "SAME"),
    ((1, 8, 8, 4), (3, 3), 1, (2, 2), (1, 1), "SAME"),
    ((1, 9, 9, 3), (3, 3), 1, (2, 2), (1, 1), "VALID"),
    ((1, 13, 12, 5), (5, 5), 1, (3, 2), (1, 1), "VALID"),
    ((1, 7, 9, 6), (1, 1), 1, (2, 2), (1, 1), "VALID"),
    ((1, 12, 12, 4), (3, 3), 1, (1, 1), (2, 2), "SAME"),
    ((1, 15, 14, 4), (3, 3), 1, (1, 1), (2, 3), "VALID"),
    ((1, 10, 11, 3), (3, 5), 1, (1, 2), (1, 1), "SAME"),
    ((1, 6, 6, 2), (3, 3), 2, (1, 1), (1, 1), "SAME"),
    ((1, 7, 7, 3), (3, 3), 3, (2, 2), (1, 1), "SAME"),
    ((1, 9, 8, 2), (5, 5), 3, (2, 1), (2, 1), "SAME"),
    ((2, 9, 9, 4), (3, 3), 2, (2, 2), (1, 1), "SAME"),
    ((3, 7, 7, 8), (3, 3), 1, (1, 1), (1, 1), "VALID"),
    ((1, 1, 1, 3), (3, 3), 2, (1, 1), (1, 1), "SAME"),
    ((1, 20, 20, 32), (3, 3), 1, (1, 1), (1, 1), "SAME"),
]
ACTS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


@pytest.mark.parametrize("dtype", [I8, U8, I16], ids=["int8", "uint8", "int16x8"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_shapes_bit_exact(dtype, case):
    in_shape, k, m, stride, dil, padding = CASES[case]
    for seed in range(3):
        act = ACTS[(case + seed) % 4]
        model, feeds = qmodel(dtype, in_shape, k, m, stride, dil, padding, act=act, seed=100 * case + seed)
        assert_matches_litert(model, feeds, ref=True)


#: every engine path (see tests/test_depthwise_conv_2d.py): kernel 3x3 / 5x5 / generic, stride 1 / 2,
#: dilation 1 / 2, multiplier 1 / 2, SAME / VALID
FAST = [(k, s, d, m, p) for k in ((3, 3), (5, 5), (2, 4)) for s in (1, 2) for d in (1, 2) for m in (1, 2)
        for p in ("SAME", "VALID")]


@pytest.mark.parametrize("dtype", [I8, U8, I16], ids=["int8", "uint8", "int16x8"])
@pytest.mark.parametrize("i", range(len(FAST)))
def test_fast_paths_bit_exact(dtype, i, monkeypatch):
    # batch 2, every activation over the grid; odd cases use one- or two-row tiles and
    # one-tile epilogue chunks, so tile and chunk seams are exercised
    k, s, d, m, padding = FAST[i]
    if i % 2:
        monkeypatch.setattr(_depthwise, "TILE_BYTES", 2048)
        monkeypatch.setattr(_depthwise, "EPILOGUE_ELEMS", 1)
    model, feeds = qmodel(dtype, (2, 13, 11, 4), k, m, (s, s), (d, d), padding, act=ACTS[(i // 2) % 4], seed=500 + i)
    assert_matches_litert(model, feeds, ref=True)


#: phase-split source (stride > 1; see tests/test_depthwise_conv_2d.py SPLIT)
SPLIT = [
    # in_shape, kernel, multiplier, stride, dilation, padding
    ((2, 13, 11, 4), (3, 3), 1, (2, 2), (1, 1), "SAME"),
    ((2, 13, 11, 4), (5, 5), 2, (2, 2), (1, 1), "SAME"),
    ((1, 14, 15, 3), (5, 5), 1, (2, 2), (1, 1), "VALID"),
    ((1, 13, 17, 3), (7, 7), 1, (2, 3), (1, 1), "SAME"),
    ((1, 12, 13, 2), (5, 5), 3, (3, 3), (1, 1), "SAME"),
    ((1, 16, 17, 3), (5, 5), 2, (2, 2), (3, 3), "SAME"),
    ((1, 19, 19, 2), (3, 3), 1, (2, 2), (2, 2), "SAME"),
    ((1, 3, 2, 2), (5, 5), 1, (2, 2), (1, 1), "SAME"),
]


@pytest.mark.parametrize("dtype", [I8, U8, I16], ids=["int8", "uint8", "int16x8"])
@pytest.mark.parametrize("i", range(len(SPLIT)))
def test_phase_split_bit_exact(dtype, i, monkeypatch):
    # every stride > 1 layer takes the phase-split source; odd cases with one- or two-row tiles
    # and one-tile epilogue chunks
    monkeypatch.setattr(_depthwise, "PHASE_SPLIT_MIN_TAPS", 0)
    if i % 2:
        monkeypatch.setattr(_depthwise, "TILE_BYTES", 2048)
        monkeypatch.setattr(_depthwise, "EPILOGUE_ELEMS", 1)
    in_shape, k, m, stride, dil, padding = SPLIT[i]
    model, feeds = qmodel(dtype, in_shape, k, m, stride, dil, padding, act=ACTS[i % 4], seed=700 + i)
    assert_matches_litert(model, feeds, ref=True)


@pytest.mark.parametrize("dtype", [I8, U8, I16], ids=["int8", "uint8", "int16x8"])
@pytest.mark.parametrize("act", ACTS + ["TANH", "SIGN_BIT"])
def test_activations(dtype, act):
    # TANH / SIGN_BIT clamp nothing in the quantized kernels (full type range)
    for seed in range(2):
        model, feeds = qmodel(dtype, (1, 9, 9, 8), act=act, seed=7 + seed, out_spread=1.5)
        assert_matches_litert(model, feeds, ref=True)


@pytest.mark.parametrize("dtype", [I8, U8, I16], ids=["int8", "uint8", "int16x8"])
@pytest.mark.parametrize("stride,m", [((1, 1), 1), ((2, 2), 2)])
def test_power_of_two_scales_hit_ties(dtype, stride, m):
    # exact power-of-two multipliers make the rounding divide land on .5 often: checks the
    # half-away-from-zero and SRDHM rounding directions of both paths
    for seed in range(3):
        model, feeds = qmodel(dtype, (1, 10, 10, 6), m=m, stride=stride, seed=20 + seed, pot=True)
        assert_matches_litert(model, feeds, ref=True)


@pytest.mark.parametrize("dtype", [I8, U8, I16], ids=["int8", "uint8", "int16x8"])
@pytest.mark.parametrize("case", [0, 1, 3, 8, 11])
def test_int64_path_bit_exact(dtype, case, monkeypatch):
    # the fallback requantization (taken when the fused float64 path cannot be proven exact)
    monkeypatch.setattr(_qdepthwise, "FUSED_REQUANT", False)
    in_shape, k, m, stride, dil, padding = CASES[case]
    for seed in range(2):
        model, feeds = qmodel(dtype, in_shape, k, m, stride, dil, padding, act=ACTS[seed + 1], seed=300 + seed)
        assert_matches_litert(model, feeds, ref=True)
        model, feeds = qmodel(dtype, in_shape, k, m, stride, dil, padding, seed=310 + seed, pot=True)
        assert_matches_litert(model, feeds, ref=True)


@pytest.mark.parametrize("dtype", [I8, U8, I16], ids=["int8", "uint8", "int16x8"])
def test_large_bias_float64_engine(dtype):
    # biases near 2**23 push the accumulator bound past 2**24: the engine sums in float64
    for seed in range(3):
        model, feeds = qmodel(dtype, (1, 8, 8, 5), seed=40 + seed, big_bias=True, out_spread=2.0)
        assert_matches_litert(model, feeds, ref=True)


@pytest.mark.parametrize("dtype", [I8, U8, I16], ids=["int8", "uint8", "int16x8"])
def test_no_bias(dtype):
    for seed in range(2):
        model, feeds = qmodel(dtype, (1, 7, 7, 4), m=2, seed=50 + seed, bias=False)
        assert_matches_litert(model, feeds, ref=True)


def test_int8_per_tensor_filter():
    for seed in range(3):
        model, feeds = qmodel(I8, (1, 9, 9, 6), stride=(2, 2), seed=60 + seed, per_channel=False)
        assert_matches_litert(model, feeds, ref=True)


def test_worst_case_values_exact():
    # every input at the most negative value, every weight at -127 / 127 with zero point 127:
    # the largest accumulators an int8 3x3 layer can produce (5x5 too), still exact in float32
    for k in ((3, 3), (5, 5)):
        model, _ = qmodel(I8, (1, 6, 6, 4), k=k, seed=70)
        x = np.full((1, 6, 6, 4), -128, I8)
        assert_matches_litert(model, [x], ref=True)
        x = np.full((1, 6, 6, 4), 127, I8)
        assert_matches_litert(model, [x], ref=True)


@pytest.mark.parametrize("in_shape,stride,m,padding,act", [
    ((1, 24, 24, 16), (1, 1), 1, "SAME", "RELU6"),
    ((1, 30, 30, 16), (2, 2), 1, "SAME", "RELU"),
    ((3, 10, 10, 8), (1, 1), 2, "VALID", "NONE"),
])
@pytest.mark.parametrize("dtype", [I8, U8, I16], ids=["int8", "uint8", "int16x8"])
def test_threads_equal_single(in_shape, stride, m, padding, act, dtype, monkeypatch):
    monkeypatch.setattr(_depthwise, "PARALLEL_MIN_MACS", 0)
    monkeypatch.setattr(_depthwise, "TILE_BYTES", 4096)  # several tiles per worker
    model, feeds = qmodel(dtype, in_shape, m=m, stride=stride, padding=padding, act=act, seed=80)
    one = run_numlite(model, feeds, num_threads=1)[0]
    two = run_numlite(model, feeds, num_threads=2)[0]
    np.testing.assert_array_equal(one, two)
    assert_matches_litert(model, feeds, ref=True, num_threads=2)
    # epilogue chunks of one tile each (the default spans several tiles)
    monkeypatch.setattr(_depthwise, "EPILOGUE_ELEMS", 1)
    np.testing.assert_array_equal(run_numlite(model, feeds, num_threads=2)[0], one)


def test_resize_input_int8():
    import numlite

    model, _ = qmodel(I8, (1, 8, 8, 4), stride=(2, 2), act="RELU6", seed=90)
    it = numlite.Interpreter(model_content=model)
    i = it.get_input_details()[0]["index"]
    it.resize_tensor_input(i, [2, 11, 9, 4])
    it.allocate_tensors()
    x = np.random.default_rng(1).integers(-128, 128, (2, 11, 9, 4)).astype(I8)
    it.set_tensor(i, x)
    it.invoke()
    got = it.get_tensor(it.get_output_details()[0]["index"])
    want = assert_matches_litert(model, [x], ref=True)[0]
    np.testing.assert_array_equal(got, want)


def test_default_litert_path_note():
    # LiteRT's default path (XNNPACK for int8 / uint8) requantizes its own way: not asserted.
    # Measured: int8 / uint8 / 16x8 agree with it on most layers; an int8 layer with depth
    # multiplier 2 (CASES[8], seed 8, RELU6) differed in 1 of 144 values by one step.
    for dtype in (I8, U8, I16):
        model, feeds = qmodel(dtype, (1, 16, 16, 8), stride=(2, 2), act="RELU6", seed=95)
        ours, theirs = run_numlite(model, feeds)[0], run_litert(model, feeds)[0]
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype


# --- hybrid ---------------------------------------------------------------------------------
def hybrid_model(in_shape, k=(3, 3), m=1, stride=(1, 1), dil=(1, 1), padding="SAME", act="NONE", seed=0,
                 bias=True, x_lo=-3.0, x_hi=3.0):
    rng = np.random.default_rng(seed)
    n, h, w, cin = in_shape
    cout = cin * m
    pad = 0 if padding == "SAME" else 1
    ho = conv_padding(h, k[0], stride[0], dil[0], pad)[0]
    wo = conv_padding(w, k[1], stride[1], dil[1], pad)[0]
    filt = rng.integers(-127, 128, (1, *k, cout)).astype(I8)
    s_w = 10 ** rng.uniform(-3, -1, cout)
    ins = [In(in_shape), Const(filt, quant=_q(s_w, [0] * cout, 3))]
    if bias:
        ins.append(Const(rng.uniform(-1, 1, cout).astype(np.float32)))
    model = single_op_model("DEPTHWISE_CONV_2D", ins, Out((n, ho, wo, cout)), version=6, padding=padding,
                            stride_h=stride[0], stride_w=stride[1], dilation_h_factor=dil[0], dilation_w_factor=dil[1],
                            depth_multiplier=m, fused_activation_function=act)
    x = rng.uniform(x_lo, x_hi, in_shape).astype(np.float32)
    return model, [x]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_hybrid_exact(case):
    in_shape, k, m, stride, dil, padding = CASES[case]
    for seed in range(2):
        model, feeds = hybrid_model(in_shape, k, m, stride, dil, padding, act=ACTS[(case + seed) % 4],
                                    seed=500 + 10 * case + seed)
        assert_matches_litert(model, feeds, rtol=0, atol=0, ref=True)


@pytest.mark.parametrize("lo,hi", [(0.0, 2.0), (-5.0, -0.5), (-1e-3, 4.0), (0.0, 0.0)])
def test_hybrid_input_ranges(lo, hi):
    # all-positive, all-negative, lopsided and all-zero inputs (zero point at either end, or 0)
    for bias in (True, False):
        model, feeds = hybrid_model((2, 8, 8, 4), m=2, seed=600, x_lo=lo, x_hi=hi, bias=bias, act="RELU")
        assert_matches_litert(model, feeds, rtol=0, atol=0, ref=True)


# --- errors ---------------------------------------------------------------------------------
def _bad(ins, out, match, **opts):
    opts = {"padding": "SAME", "stride_w": 1, "stride_h": 1, "depth_multiplier": 1, **opts}
    model = single_op_model("DEPTHWISE_CONV_2D", ins, out, **opts)
    feeds = [np.zeros(s.shape, s.dtype) for s in ins if isinstance(s, In)]
    with pytest.raises(PrepareError, match=match) as e:
        run_numlite(model, feeds)
    assert "DEPTHWISE_CONV_2D (node 0)" in str(e.value)


Q = _q(0.5, 0)


def test_error_bias_type():
    _bad([In((1, 5, 5, 2), I8, quant=Q), Const(np.ones((1, 3, 3, 2), I8), quant=Q),
          Const(np.zeros(2, np.int64))], Out((1, 5, 5, 2), I8, quant=Q), "needs int32")
    _bad([In((1, 5, 5, 2), I16, quant=Q), Const(np.ones((1, 3, 3, 2), I8), quant=Q),
          Const(np.zeros(2, np.int32))], Out((1, 5, 5, 2), I16, quant=Q), "needs int64")


def test_error_filter_type():
    _bad([In((1, 5, 5, 2), U8, quant=Q), Const(np.ones((1, 3, 3, 2), I8), quant=Q)],
         Out((1, 5, 5, 2), U8, quant=Q), "needs uint8 weights")


def test_error_int16_zero_point():
    q1 = _q(0.5, 3)
    _bad([In((1, 5, 5, 2), I16, quant=q1), Const(np.ones((1, 3, 3, 2), I8), quant=Q)],
         Out((1, 5, 5, 2), I16, quant=Q), "zero point 0")


def test_error_uint8_per_channel():
    _bad([In((1, 5, 5, 2), U8, quant=Q), Const(np.ones((1, 3, 3, 2), U8), quant=_q([0.5, 0.25], [0, 0], 3))],
         Out((1, 5, 5, 2), U8, quant=Q), "per-channel")


def test_error_uint8_bias_scale():
    _bad([In((1, 5, 5, 2), U8, quant=Q), Const(np.ones((1, 3, 3, 2), U8), quant=Q),
          Const(np.zeros(2, np.int32), quant=_q(1.0, 0))], Out((1, 5, 5, 2), U8, quant=Q), "bias .* scale")


def test_error_wrong_quantized_dimension():
    _bad([In((1, 5, 5, 2), I8, quant=Q), Const(np.ones((1, 3, 3, 2), I8), quant=_q([0.5, 0.25], [0, 0], 0))],
         Out((1, 5, 5, 2), I8, quant=Q), "dimension 0")


def test_error_hybrid_depth_multiplier_option():
    _bad([In((1, 5, 5, 2)), Const(np.ones((1, 3, 3, 4), I8), quant=_q([0.5] * 4, [0] * 4, 3))],
         Out((1, 5, 5, 4)), "depth_multiplier option 1 disagrees")


def test_error_hybrid_per_tensor():
    _bad([In((1, 5, 5, 2)), Const(np.ones((1, 3, 3, 2), I8), quant=Q)], Out((1, 5, 5, 2)), "one scale per output")


@pytest.mark.parametrize("act", ["NONE", "RELU6"])
@pytest.mark.parametrize("threads", [1, 2])
def test_near_dead_channels_are_redone_exactly(act, threads, monkeypatch):
    """Two channels with tiny per-channel scales (multipliers below 2**-14) are redone on the
    int64 path after the fused float64 epilogue; the layer keeps the fused path."""
    import numlite

    monkeypatch.setattr(_depthwise, "PARALLEL_MIN_MACS", 0)
    monkeypatch.setattr(_depthwise, "TILE_BYTES", 4096)
    cout = 16
    ws = np.geomspace(0.002, 0.05, cout)
    ws[[3, 12]] = [4e-8, 3e-7]
    for seed in range(3):
        model, feeds = qmodel(I8, (1, 12, 10, cout), act=act, seed=seed, w_scales=ws)
        it = numlite.Interpreter(model_content=model, num_threads=threads)
        it.allocate_tensors()
        k = it._main.kernels[0].q
        assert k.fused and set(k.slow.tolist()) <= {3, 12} and k.slow.size >= 1
        assert_matches_litert(model, feeds, ref=True, num_threads=threads)


def test_few_wrapping_channels_are_redone_on_the_int64_path():
    """As for CONV_2D: three channels whose multiplier (2**15) makes LiteRT's int32 left shift
    wrap are redone on the int64 path after the fused epilogue; bit-exact, and some wrapped
    outputs differ from saturation."""
    import numlite

    cout, flipped = 16, 0
    for seed in range(8):
        rng = np.random.default_rng(seed)
        x = np.full((1, 3, 3, cout), 127, I8)
        w = (rng.choice([-127, 127], size=(1, 3, 3, cout)) * (rng.random((1, 3, 3, cout)) < 0.8)).astype(I8)
        ws = np.full(cout, 1e-4, np.float32)
        ws[[5, 9, 13]] = 1.0
        b = rng.integers(-1000, 1000, cout).astype(np.int32)
        ins = [In(x.shape, I8, quant=_q(1.0, 3)), Const(w, quant=_q(ws, [0] * cout, 3)),
               Const(b, quant=_q(ws, [0] * cout))]
        model = single_op_model("DEPTHWISE_CONV_2D", ins, Out((1, 1, 1, cout), I8, quant=_q(2.0**-15, 1)), version=3,
                                padding="VALID", stride_h=1, stride_w=1, depth_multiplier=1)
        it = numlite.Interpreter(model_content=model)
        it.allocate_tensors()
        k = it._main.kernels[0].q
        assert k.fused and k.slow.tolist() == [5, 9, 13]
        got = assert_matches_litert(model, [x], ref=True)[0].reshape(cout)
        acc = 124 * w.astype(np.int64).reshape(-1, cout).sum(axis=0) + b
        sl = [5, 9, 13]
        flipped += int((got[sl] != np.where(acc[sl] > 0, 127, np.where(acc[sl] < 0, -128, 1))).sum())
    assert flipped > 0


def _edge_model(dtype, mult, zp_in, zp_out, act, seed, cout=8):
    """One 3x3 layer whose per-channel multipliers are ``mult`` times a spread over [1/2, 2)
    (``mult`` from just below 2**-13 to above 1), zero points given, bias included."""
    rng = np.random.default_rng(seed)
    x = rng.integers(np.iinfo(dtype).min, int(np.iinfo(dtype).max) + 1, (1, 7, 6, cout)).astype(dtype)
    s_in = 0.05
    if dtype == U8:
        w = rng.integers(0, 256, (1, 3, 3, cout)).astype(U8)
        s_w = np.array([0.01])
        wq = _q(s_w, int(rng.integers(0, 256)), 3)
        s_out = float(s_in * s_w[0] / mult)
    else:
        w = rng.integers(-127, 128, (1, 3, 3, cout)).astype(I8)
        s_w = 0.01 * 2.0 ** rng.uniform(-1, 1, cout)
        wq = _q(s_w, [0] * cout, 3)
        s_out = float(s_in * 0.01 / mult)
    b = rng.integers(-20000, 20001, cout).astype(np.int32)
    bscale = np.float32(s_in) * np.asarray(s_w, np.float32) * np.ones(cout, np.float32)
    ins = [In(x.shape, dtype, quant=_q(s_in, zp_in)), Const(w, quant=wq),
           Const(b, quant=_q(bscale[:1], [0]) if dtype == U8 else _q(bscale, [0] * cout))]
    model = single_op_model("DEPTHWISE_CONV_2D", ins, Out((1, 7, 6, cout), dtype, quant=_q(s_out, zp_out)), version=3,
                            padding="SAME", stride_h=1, stride_w=1, depth_multiplier=1, fused_activation_function=act)
    return model, [x]


@pytest.mark.parametrize("dtype", [I8, U8], ids=["int8", "uint8"])
@pytest.mark.parametrize("act", ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"])
@pytest.mark.parametrize("mult", [2.0**-13.5, 2.0**-9, 3e-4, 0.02, 0.49, 0.999, 1.0, 3.7])
def test_fused_epilogue_edges(dtype, act, mult):
    """The folded float64 epilogue (``acc * qs + (bias * qs + k)``) at its edges: multipliers
    from the smallest the fused path takes to left shifts, zero points at both ends of the
    type (input and output), and outputs saturating at both ends of the clamp."""
    info = np.iinfo(dtype)
    lo, hi = int(info.min), int(info.max)
    for i, (zp_in, zp_out) in enumerate([(lo, hi), (hi, lo), (lo, lo), (hi, hi), (0, (lo + hi) // 2)]):
        model, feeds = _edge_model(dtype, mult, zp_in, zp_out, act, seed=500 + i)
        got = assert_matches_litert(model, feeds, ref=True)[0]
        if dtype == I8 and mult >= 0.49 and act == "NONE" and zp_out not in (lo, hi):
            assert got.min() == lo and got.max() == hi  # saturates at both ends
