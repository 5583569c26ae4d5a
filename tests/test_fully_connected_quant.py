"""Quantized and hybrid FULLY_CONNECTED against LiteRT's reference kernels (BUILTIN_REF).

Integer outputs are compared exactly.  Hybrid outputs are float32 and numlite reproduces LiteRT's
float32 arithmetic step by step, so they are compared with rtol=0, atol=0 too (bit-exact); TANH
(a libm call on both sides) gets rtol=1e-6.
"""

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, run_litert, run_numlite, single_op_model

#: every test twice: weights kept as floats and converted per invoke (conftest.weight_storage)
pytestmark = pytest.mark.usefixtures("weight_storage")

EXACT = {"rtol": 0.0, "atol": 0.0}
ACTS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


def _quant_model(kind, seed, in_shape, n, act="NONE", keep=False, bias=True, const_w=True, worst=False):
    """A seeded random quantized FC: kind in i8, i8pc, u8, u8i16, i16, i16pc."""
    rng = np.random.default_rng(seed)
    k = in_shape[-1]
    pc = kind.endswith("pc")
    s_in = np.float32(10 ** rng.uniform(-3, 0))
    s_out = np.float32(10 ** rng.uniform(-2, 1))
    s_w = (10 ** rng.uniform(-3, -1, n if pc else 1)).astype(np.float32)
    if kind.startswith("i8"):
        it, wt, ot, bt = np.int8, np.int8, np.int8, np.int32
        zi, zo, zw = (int(v) for v in rng.integers(-128, 128, 3))
        wr, xr = (-127, 127), (-128, 127)
    elif kind.startswith("u8"):
        it, wt, bt = np.uint8, np.uint8, np.int32
        ot = np.int16 if kind == "u8i16" else np.uint8
        zi, zw, zo = (int(v) for v in rng.integers(0, 256, 3))
        zo = 0 if ot == np.int16 else zo
        wr, xr = (0, 255), (0, 255)
    else:
        it, wt, ot, bt = np.int16, np.int8, np.int16, np.int64
        zi = zo = zw = 0
        wr, xr = (-127, 127), (-32768, 32767)
    if worst:  # every product at its largest magnitude: the exactness bound of the float GEMM
        w = np.full((n, k), wr[1] if kind.startswith("u8") else -127)
        w[1::2] = -w[1::2] if not kind.startswith("u8") else 0  # rows of both signs
        x = np.full(in_shape, xr[1] if kind.startswith("u8") else xr[0])
        if kind.startswith("u8"):
            zi, zw = 0, 0  # |x - zi| = |w - zw| = 255
        peak = float(np.abs((x.reshape(-1, k)[:1].astype(np.int64) - zi) @ (w.T.astype(np.int64) - zw)).max())
        s_out = np.float32(s_in * s_w.max() * peak / 100)  # outputs near +-100: not saturated
    else:
        w = rng.integers(wr[0], wr[1] + 1, (n, k))
        x = rng.integers(xr[0], xr[1] + 1, in_shape)
    wq = {"scale": s_w, "zero_point": [zw if not pc else 0] * len(s_w)}
    ins = [In(in_shape, it, quant={"scale": [s_in], "zero_point": [zi]}),
           Const(w.astype(wt), quant=wq) if const_w else In((n, k), wt, quant=wq)]
    feeds = [x.astype(it)] + ([] if const_w else [w.astype(wt)])
    if bias:
        b = rng.integers(-60000, 60000, n).astype(bt)
        ins.append(Const(b, quant={"scale": (s_in * s_w).astype(np.float32), "zero_point": [0] * len(s_w)}))
    m = single_op_model("FULLY_CONNECTED", ins, Out((), ot, quant={"scale": [s_out], "zero_point": [zo]}),
                        version=11, fused_activation_function=act, keep_num_dims=keep)
    return m, feeds


@pytest.mark.parametrize("kind", ["i8", "i8pc", "u8", "u8i16", "i16", "i16pc"])
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("seed", [0, 1])
def test_fc_quant_random(kind, act, seed):
    m, feeds = _quant_model(kind, seed, (5, 70), 12, act=act)
    assert_matches_litert(m, feeds, ref=True)


@pytest.mark.parametrize("kind", ["i8", "i8pc", "u8", "i16"])
@pytest.mark.parametrize("in_shape,keep", [((2, 3, 16), False), ((2, 3, 16), True), ((16,), False),
                                           ((1, 2, 2, 16), True), ((4, 6), False)])
def test_fc_quant_shapes(kind, in_shape, keep):
    # (4, 6) is read as [3, 8] when K = 8: not a keep_num_dims case
    shape = (4, 8) if in_shape == (4, 6) else in_shape
    m, feeds = _quant_model(kind, 3, shape, 7, keep=keep)
    assert_matches_litert(m, feeds, ref=True)


@pytest.mark.parametrize("kind", ["i8", "i8pc", "u8", "i16"])
@pytest.mark.parametrize("bias", [True, False])
def test_fc_quant_runtime_weights_and_no_bias(kind, bias):
    m, feeds = _quant_model(kind, 4, (3, 33), 9, const_w=False, bias=bias)
    assert_matches_litert(m, feeds, ref=True)


@pytest.mark.parametrize("kind", ["i8", "u8", "i16"])
@pytest.mark.parametrize("k", [1024, 3000])
def test_fc_quant_worst_case_large_k(kind, k):
    # all products at their extreme: partial sums beyond 2**24 if the float GEMM were not chunked
    m, feeds = _quant_model(kind, 5, (2, k), 4, worst=True)
    out = assert_matches_litert(m, feeds, ref=True)[0].astype(int)
    info = np.iinfo(out.dtype)
    assert (out > info.min).any() and (out < info.max).any()  # not all saturated


@pytest.mark.parametrize("seed", range(4))
def test_fc_quant_many_seeds_larger(seed):
    m, feeds = _quant_model(["i8", "i8pc", "u8", "i16pc"][seed], 10 + seed, (16, 300), 40)
    assert_matches_litert(m, feeds, ref=True)


def test_fc_quant_default_path_note():
    # LiteRT's default (optimized) kernels requantize with the fixed-point multiplier, the reference
    # kernel in float64; numlite follows the reference.  Recorded, not asserted: the two may differ by 1.
    m, feeds = _quant_model("i8", 7, (16, 256), 32)
    ours = run_numlite(m, feeds)[0].astype(int)
    theirs = run_litert(m, feeds)[0].astype(int)
    assert np.abs(ours - theirs).max() <= 1


# -- hybrid ------------------------------------------------------------------------------------
def _hybrid_model(seed, in_shape, n, pc=False, asym=False, act="NONE", bias=True, keep=False, scale_x=1.0):
    rng = np.random.default_rng(seed)
    k = in_shape[-1]
    s_w = (10 ** rng.uniform(-3, -1, n if pc else 1)).astype(np.float32)
    w = rng.integers(-127, 128, (n, k)).astype(np.int8)
    x = (rng.standard_normal(in_shape) * scale_x + rng.uniform(-1, 1)).astype(np.float32)
    flat = x.reshape(-1, k)
    if flat.shape[0] > 2:
        flat[1] = 0  # an all-zero row: scale 1, offset 0
        flat[2] = np.abs(flat[2])  # a row without negatives
    ins = [In(in_shape), Const(w, quant={"scale": s_w, "zero_point": [0] * len(s_w)})]
    if bias:
        ins.append(Const(rng.standard_normal(n).astype(np.float32)))
    m = single_op_model("FULLY_CONNECTED", ins, Out(), version=9, fused_activation_function=act,
                        asymmetric_quantize_inputs=asym, keep_num_dims=keep)
    return m, [x]


@pytest.mark.parametrize("pc", [False, True])
@pytest.mark.parametrize("asym", [False, True])
@pytest.mark.parametrize("k,scale_x", [(300, 1e-3), (2000, 1.0), (16, 10.0), (5, 100.0), (67, 0.1)])
def test_fc_hybrid(pc, asym, k, scale_x):
    m, feeds = _hybrid_model(k, (6, k), 20, pc=pc, asym=asym, scale_x=scale_x, bias=k % 2 == 0)
    assert_matches_litert(m, feeds, ref=True, **EXACT)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("asym", [False, True])
def test_fc_hybrid_activations(act, asym):
    m, feeds = _hybrid_model(1, (4, 40), 10, asym=asym, act=act)
    assert_matches_litert(m, feeds, ref=True, **EXACT)


def test_fc_hybrid_tanh():
    m, feeds = _hybrid_model(2, (4, 40), 10, act="TANH")
    assert_matches_litert(m, feeds, ref=True, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("in_shape,keep", [((2, 3, 24), True), ((2, 3, 24), False), ((24,), False)])
def test_fc_hybrid_shapes(in_shape, keep):
    m, feeds = _hybrid_model(3, in_shape, 5, pc=True, asym=True, keep=keep)
    assert_matches_litert(m, feeds, ref=True, **EXACT)


def test_fc_hybrid_default_path():
    # LiteRT's default resolver applies the asymmetric offsets in another float order: it differs
    # from the reference (and numlite) by a few float32 ulps; recorded with rtol=1e-5.
    m, feeds = _hybrid_model(4, (3, 64), 8, pc=True, asym=True)
    assert_matches_litert(m, feeds, rtol=1e-5, atol=1e-5)


# -- errors ------------------------------------------------------------------------------------
def _fails(model, feeds, match):
    with pytest.raises(RuntimeError, match=r"FULLY_CONNECTED \(node 0\).*" + match):
        run_numlite(model, feeds)


def test_fc_quant_rejects_mixed_types():
    q = {"scale": [0.1], "zero_point": [0]}
    m = single_op_model("FULLY_CONNECTED", [In((2, 4), np.int8, quant=q), Const(np.ones((3, 4), np.uint8), quant=q)],
                        Out((), np.int8, quant=q))
    _fails(m, [np.zeros((2, 4), np.int8)], "not a supported combination")


def test_fc_quant_rejects_int16_zero_point():
    q, qz = {"scale": [0.1], "zero_point": [0]}, {"scale": [0.1], "zero_point": [3]}
    m = single_op_model("FULLY_CONNECTED", [In((2, 4), np.int16, quant=qz), Const(np.ones((3, 4), np.int8), quant=q)],
                        Out((), np.int16, quant=q))
    _fails(m, [np.zeros((2, 4), np.int16)], "zero point 0")


def test_fc_quant_rejects_int32_bias_for_16x8():
    q = {"scale": [0.1], "zero_point": [0]}
    m = single_op_model("FULLY_CONNECTED", [In((2, 4), np.int16, quant=q), Const(np.ones((3, 4), np.int8), quant=q),
                                            Const(np.ones(3, np.int32), quant=q)], Out((), np.int16, quant=q))
    _fails(m, [np.zeros((2, 4), np.int16)], "int64")


def test_fc_quant_rejects_tanh():
    q = {"scale": [0.1], "zero_point": [0]}
    m = single_op_model("FULLY_CONNECTED", [In((2, 4), np.int8, quant=q), Const(np.ones((3, 4), np.int8), quant=q)],
                        Out((), np.int8, quant=q), fused_activation_function="TANH")
    _fails(m, [np.zeros((2, 4), np.int8)], "TANH")


def test_fc_quant_rejects_bad_per_channel_count():
    q = {"scale": [0.1], "zero_point": [0]}
    wq = {"scale": [0.1, 0.2], "zero_point": [0, 0]}
    m = single_op_model("FULLY_CONNECTED", [In((2, 4), np.int8, quant=q), Const(np.ones((3, 4), np.int8), quant=wq)],
                        Out((), np.int8, quant=q))
    _fails(m, [np.zeros((2, 4), np.int8)], "per-channel")


def test_fc_quant_shuffled_weights_need_workspace_output():
    # SHUFFLED4x16INT8 runs (tests/test_fully_connected_shuffled.py) but, as in LiteRT, only with
    # the second (workspace) output
    q = {"scale": [0.1], "zero_point": [128]}
    m = single_op_model("FULLY_CONNECTED", [In((1, 16), np.uint8, quant=q), Const(np.ones((4, 16), np.uint8), quant=q)],
                        Out((), np.int16, quant={"scale": [0.1], "zero_point": [0]}), weights_format="SHUFFLED4x16INT8")
    _fails(m, [np.zeros((1, 16), np.uint8)], "SHUFFLED4x16INT8 weights need the result and a uint8 workspace")


def test_fc_hybrid_rejects_runtime_weights():
    q = {"scale": [0.1], "zero_point": [0]}
    m = single_op_model("FULLY_CONNECTED", [In((2, 4)), In((3, 4), np.int8, quant=q)], Out())
    _fails(m, [np.zeros((2, 4), np.float32), np.ones((3, 4), np.int8)], "constant")


@pytest.mark.parametrize("asym", [False, True])
def test_fc_hybrid_worst_case_large_k(asym):
    """Hybrid FC with every weight at -127 and every quantized input at its extreme (K = 3000):
    the reduction must be split to stay exact in float32 (``ExactMatmul.for_weights``).  The
    inputs quantize exactly (-1, 0.5 and 1 land on grid points), so the result is the real
    product.  Symmetric inputs match LiteRT bit for bit; with asymmetric inputs LiteRT 2.3's
    BUILTIN_REF returns 2512.8 / -1178.3 instead of 3808.1 / -3810: its weight row sum
    (-381000) comes out wrapped by 2**19, so there numlite is checked against the exact value."""
    k, n = 3000, 3
    x = np.full((2, k), -1.0, np.float32)
    x[1] = 1.0
    x[0, 0] = 0.5 if asym else -1.0
    w = np.full((n, k), -127, np.int8)
    ins = [In(x.shape), Const(w, quant={"scale": [0.01], "zero_point": [0]})]
    m = single_op_model("FULLY_CONNECTED", ins, Out(), version=9, asymmetric_quantize_inputs=asym)
    if not asym:
        assert_matches_litert(m, [x], ref=True, rtol=0, atol=0)
        return
    exact = (x.astype(np.float64) @ w.T.astype(np.float64)) * 0.01
    # float32 scale factors: a few ulp of the 3.8e3 results
    np.testing.assert_allclose(run_numlite(m, [x])[0], exact, rtol=1e-6)
