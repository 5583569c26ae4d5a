"""CONV_2D (float32) against LiteRT.

Tolerance: numlite sums the KH*KW*Cin products with BLAS (blocked, FMA) and LiteRT with
XNNPACK (its own blocking), so float32 results differ by rounding in the summation order:
about sqrt(K) * 2^-24 * |terms|.  With inputs and weights in [-1, 1] and K <= ~1200 that stays
well below 1e-4; rtol = atol = 1e-4 leaves room while still catching any wrong tap, pad or
channel (those give errors of order 0.1 - 1).
"""

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, rand, run_litert, run_numlite, single_op_model

import numlite
import numlite.ops._conv as conv_mod
from numlite.builder import ModelBuilder

TOL = dict(rtol=1e-4, atol=1e-4)


def conv(x_shape, w, b=None, *, bias_input="const", filter_input="const", version=1, **opt):
    """A single CONV_2D model; strides and dilations default to 1 (the schema default is 0)."""
    opt.setdefault("stride_w", 1)
    opt.setdefault("stride_h", 1)
    opt.setdefault("padding", "SAME")
    ins = [In(x_shape), In(w.shape) if filter_input == "input" else Const(w)]
    if bias_input == "const":
        ins.append(Const(b))
    elif bias_input == "input":
        ins.append(In(b.shape))
    elif bias_input == "-1":
        ins.append(None)
    return single_op_model("CONV_2D", ins, Out((1,)), version=version, **opt)


def case(x_shape, w_shape, seed=0, **opt):
    x = rand(x_shape, seed=seed + 1)
    w = rand(w_shape, seed=seed + 2)
    b = rand((w_shape[0],), seed=seed + 3)
    return conv(x_shape, w, b, **opt), x


GEOMETRY = [
    # (input NHWC, filter OHWI, options)
    ((1, 5, 5, 4), (3, 3, 3, 4), dict(padding="SAME")),
    ((1, 5, 5, 4), (3, 3, 3, 4), dict(padding="VALID")),
    ((2, 7, 6, 3), (5, 3, 2, 3), dict(padding="VALID", stride_h=2)),
    ((1, 9, 11, 5), (4, 3, 3, 5), dict(padding="SAME", stride_w=2, stride_h=3)),
    ((1, 10, 10, 2), (3, 4, 4, 2), dict(padding="SAME", stride_w=2, stride_h=2)),  # even kernel: pad 1 / 2
    ((1, 13, 12, 4), (4, 3, 3, 4), dict(padding="SAME", dilation_w_factor=2, dilation_h_factor=3)),
    ((1, 13, 12, 4), (4, 3, 3, 4), dict(padding="VALID", dilation_w_factor=2, dilation_h_factor=2)),
    ((1, 9, 8, 4), (4, 3, 3, 4), dict(padding="SAME", dilation_w_factor=4, dilation_h_factor=3, stride_w=3,
                                      stride_h=2)),
    ((3, 8, 7, 6), (5, 1, 7, 6), dict(padding="SAME")),  # 1x7
    ((1, 8, 7, 6), (5, 7, 1, 6), dict(padding="VALID")),  # 7x1
    ((1, 17, 19, 3), (8, 5, 5, 3), dict(padding="SAME", stride_w=2, stride_h=2)),
    ((1, 1, 1, 8), (4, 1, 1, 8), dict(padding="VALID")),
    ((1, 3, 3, 2), (2, 5, 5, 2), dict(padding="SAME")),  # filter larger than the input
    ((1, 6, 6, 16), (32, 6, 6, 16), dict(padding="VALID")),  # "fully connected" convolution
    ((2, 224, 224, 3), (8, 3, 3, 3), dict(padding="SAME", stride_w=2, stride_h=2)),
]


@pytest.mark.parametrize("xs,ws,opt", GEOMETRY)
def test_geometry(xs, ws, opt):
    m, x = case(xs, ws, **opt)
    assert_matches_litert(m, [x], **TOL)


@pytest.mark.parametrize("act", ["NONE", "RELU", "RELU6", "RELU_N1_TO_1", "TANH", "SIGN_BIT"])
@pytest.mark.parametrize("ks", [1, 3])
def test_activations(act, ks):
    # LiteRT clamps for the RELU family and ignores TANH / SIGN_BIT on CONV_2D; so must we.
    x = rand((1, 6, 7, 5), seed=1, lo=-4, hi=4)
    w = rand((6, ks, ks, 5), seed=2)
    b = rand((6,), seed=3)
    m = conv(x.shape, w, b, fused_activation_function=act)
    assert_matches_litert(m, [x], **TOL)


@pytest.mark.parametrize("xs,ws,stride", [
    ((1, 8, 8, 16), (24, 1, 1, 16), 1),
    ((4, 5, 3, 7), (9, 1, 1, 7), 1),
    ((2, 6, 6, 8), (48, 1, 1, 8), 1),  # expansion: bias folded into a copy of the input
    ((1, 9, 9, 16), (8, 1, 1, 16), 2),
    ((2, 10, 7, 8), (8, 1, 1, 8), 3),
    ((1, 7, 7, 1024), (256, 1, 1, 1024), 1),
])
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_pointwise(xs, ws, stride, padding):
    m, x = case(xs, ws, padding=padding, stride_w=stride, stride_h=stride, fused_activation_function="RELU6")
    assert_matches_litert(m, [x], **TOL)


@pytest.mark.parametrize("batch", [1, 3])
def test_tiled(monkeypatch, batch):
    """Small tiles force every tiling form: row runs within an image and runs of whole images."""
    for tile in (3000, 20000, 200000):
        monkeypatch.setattr(conv_mod, "TILE_BYTES", tile)
        m, x = case((batch, 23, 17, 6), (7, 3, 3, 6), padding="SAME", fused_activation_function="RELU")
        assert_matches_litert(m, [x], **TOL)
        m, x = case((batch, 23, 17, 8), (8, 3, 3, 4), padding="VALID", stride_h=2)  # grouped, tiled
        assert_matches_litert(m, [x], **TOL)


@pytest.mark.parametrize("n,h,w,row_bytes,target", [(1, 50, 30, 100, 5000), (5, 7, 9, 64, 10000), (3, 9, 4, 999, 1),
                                                      (2, 1, 1, 4, 1 << 20), (1, 31, 17, 1200, 1 << 20)])
def test_plan_tiles_cover_output(n, h, w, row_bytes, target):
    g = conv_mod.ConvGeometry.make((n, h, w, 2), 1, 1, (1, 1), (1, 1), 1)
    tiles = conv_mod.plan_tiles(g, row_bytes, target)
    spans = [conv_mod.tile_rows(g, t) for t in tiles]
    assert spans[0][0] == 0 and spans[-1][1] == n * h * w
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    for (n0, n1, y0, y1), (r0, r1) in zip(tiles, spans):
        assert r1 - r0 == (n1 - n0) * (y1 - y0) * w
        assert n1 - n0 == 1 or (y0, y1) == (0, h)


def test_big_multi_tile():
    m, x = case((1, 75, 75, 32), (32, 3, 3, 32), padding="SAME", fused_activation_function="RELU6")
    assert_matches_litert(m, [x], **TOL)


@pytest.mark.parametrize("xs,ws,opt", [
    ((1, 6, 6, 4), (4, 1, 1, 2), dict()),
    ((2, 6, 6, 8), (8, 1, 1, 2), dict(stride_w=2, stride_h=2)),
    ((1, 7, 6, 4), (6, 3, 3, 2), dict(padding="SAME")),
    ((1, 9, 9, 6), (6, 3, 3, 2), dict(padding="VALID", stride_w=2, dilation_h_factor=2)),
    ((1, 5, 5, 8), (8, 3, 3, 1), dict(padding="SAME")),  # depthwise as a grouped conv
])
def test_grouped(xs, ws, opt):
    m, x = case(xs, ws, version=6, **opt)
    assert_matches_litert(m, [x], **TOL)


@pytest.mark.parametrize("ws", [(6, 3, 3, 4), (6, 1, 1, 4), (6, 3, 3, 2)])
def test_filter_and_bias_as_inputs(ws):
    """LiteRT runs float CONV_2D with a filter (and bias) fed at invoke time; numlite lays the
    filter out at every invoke then."""
    xs = (2, 7, 7, 4)
    for seed in (0, 10):  # a second set of values: nothing may be cached from the first
        x, w, b = rand(xs, seed=seed + 1), rand(ws, seed=seed + 2), rand((6,), seed=seed + 3)
        for fi, bi in (("input", "const"), ("const", "input"), ("input", "input")):
            m = conv(xs, w, b, filter_input=fi, bias_input=bi, fused_activation_function="RELU_N1_TO_1")
            feeds = [x] + ([w] if fi == "input" else []) + ([b] if bi == "input" else [])
            assert_matches_litert(m, feeds, **TOL)


def test_filter_input_reinvoke():
    x, w = rand((1, 6, 6, 3), seed=1), rand((4, 3, 3, 3), seed=2)
    b = rand((4,), seed=3)
    it = numlite.Interpreter(model_content=conv(x.shape, w, b, filter_input="input"))
    it.allocate_tensors()
    ins, out = it.get_input_details(), it.get_output_details()[0]["index"]
    results = []
    for scale in (1.0, -2.0):
        it.set_tensor(ins[0]["index"], x)
        it.set_tensor(ins[1]["index"], w * scale)
        it.invoke()
        results.append(it.get_tensor(out))
    expect = run_litert(conv(x.shape, w * -2.0, b), [x])[0]
    np.testing.assert_allclose(results[1], expect, **TOL)
    assert not np.allclose(results[0], results[1])


@pytest.mark.parametrize("how", ["-1", "absent"])
def test_no_bias(how):
    # LiteRT rejects CONV_2D without a bias; numlite accepts it as a zero bias.
    x, w = rand((1, 6, 5, 3), seed=1), rand((4, 3, 3, 3), seed=2)
    for ks_w in (w, w[:, :1, :1]):
        ours = run_numlite(conv(x.shape, ks_w, bias_input=how, fused_activation_function="RELU"), [x])[0]
        theirs = run_litert(conv(x.shape, ks_w, np.zeros(4, np.float32), fused_activation_function="RELU"), [x])[0]
        np.testing.assert_allclose(ours, theirs, **TOL)


def test_empty_output():
    # VALID with a filter larger than the input: LiteRT's builtin kernel gives a 0-sized output
    # (its XNNPACK delegate refuses the model).
    m, x = case((1, 2, 2, 4), (3, 3, 3, 4), padding="VALID")
    ours = run_numlite(m, [x])[0]
    theirs = run_litert(m, [x], ref=True)[0]
    assert ours.shape == theirs.shape == (1, 0, 0, 3)


def test_batch_zero():
    m, _ = case((0, 5, 5, 4), (3, 3, 3, 4))
    assert_matches_litert(m, [np.zeros((0, 5, 5, 4), np.float32)])


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5, 6, 7, 8])
def test_versions(version):
    m, x = case((1, 4, 4, 2), (2, 3, 3, 2), version=version)
    assert_matches_litert(m, [x], **TOL)


@pytest.mark.parametrize("threads", [2, 3])
def test_threads(threads):
    for xs, ws, opt in GEOMETRY[:6] + [((1, 40, 40, 16), (16, 3, 3, 16), {})]:
        m, x = case(xs, ws, **opt)
        assert_matches_litert(m, [x], num_threads=threads, **TOL)


def test_chain_reinvoke():
    """Two padded convolutions in a row; the arena lets scratch and tensors share memory, so
    zero borders must be rewritten at every invoke.  Results must follow new inputs."""
    mb = ModelBuilder()
    x = mb.input("x", (1, 12, 12, 3), np.float32)
    h = mb.tensor("h", (1, 12, 12, 8), np.float32)
    y = mb.tensor("y", (1, 6, 6, 5), np.float32)
    mb.op("CONV_2D", [x, mb.const("w1", rand((8, 3, 3, 3), seed=1)), mb.const("b1", rand((8,), seed=2))], [h],
          padding="SAME", stride_w=1, stride_h=1, fused_activation_function="RELU")
    mb.op("CONV_2D", [h, mb.const("w2", rand((5, 3, 3, 8), seed=3)), mb.const("b2", rand((5,), seed=4))], [y],
          padding="SAME", stride_w=2, stride_h=2)
    mb.output(y)
    model = mb.build()
    from ai_edge_litert.interpreter import Interpreter

    ours, theirs = numlite.Interpreter(model_content=model), Interpreter(model_content=model)
    for it in (ours, theirs):
        it.allocate_tensors()
    for seed in (5, 6, 7):
        xv = rand((1, 12, 12, 3), seed=seed, lo=-3, hi=3)
        outs = []
        for it in (ours, theirs):
            it.set_tensor(it.get_input_details()[0]["index"], xv)
            it.invoke()
            outs.append(it.get_tensor(it.get_output_details()[0]["index"]))
        np.testing.assert_allclose(outs[0], outs[1], **TOL)


def test_input_not_modified():
    m, x = case((1, 6, 6, 3), (4, 3, 3, 3))
    keep = x.copy()
    run_numlite(m, [x])
    np.testing.assert_array_equal(x, keep)


def _prepare_error(model, feeds, match):
    with pytest.raises(RuntimeError, match=match) as e:
        run_numlite(model, feeds)
    assert "CONV_2D (node 0)" in str(e.value)
    with pytest.raises((RuntimeError, ValueError)):  # LiteRT refuses these models as well
        run_litert(model, feeds)


def test_error_ranks():
    x, w, b = rand((1, 5, 5, 4)), rand((3, 3, 3, 4)), rand((3,))
    _prepare_error(conv(x.shape, w[0], b), [x], "filter .* must have rank 4")
    _prepare_error(conv(x.shape[1:], w, b), [x[0]], "input .* must have rank 4")


def test_error_channels():
    x, b = rand((1, 5, 5, 4)), rand((3,))
    _prepare_error(conv(x.shape, rand((3, 3, 3, 3)), b), [x], "multiple of the filter's input channels")
    _prepare_error(conv(x.shape, rand((3, 3, 3, 2)), b), [x], "multiple of the 2 groups")


def test_error_bias_size():
    x, w = rand((1, 5, 5, 4)), rand((3, 3, 3, 4))
    with pytest.raises(RuntimeError, match="bias .* must have 3 elements"):
        run_numlite(conv(x.shape, w, rand((4,))), [x])
    with pytest.raises(RuntimeError):  # LiteRT's builtin kernel refuses it (its XNNPACK delegate does not check)
        run_litert(conv(x.shape, w, rand((4,))), [x], ref=True)


@pytest.mark.parametrize("opt,match", [
    (dict(stride_w=0), "strides must be >= 1"),
    (dict(stride_h=0), "strides must be >= 1"),
    (dict(dilation_w_factor=0), "dilations must be >= 1"),
])
def test_error_options(opt, match):
    x, w, b = rand((1, 5, 5, 4)), rand((3, 3, 3, 4)), rand((3,))
    _prepare_error(conv(x.shape, w, b, **opt), [x], match)


def test_error_types():
    x, w, b = rand((1, 5, 5, 4)), rand((3, 3, 3, 4)), rand((3,))
    xi = x.astype(np.int32)
    _prepare_error(single_op_model("CONV_2D", [In(x.shape, np.int32), Const(w), Const(b)], Out((1,), np.int32),
                                   stride_w=1, stride_h=1), [xi], "supports float32 only")
    _prepare_error(conv(x.shape, w, b.astype(np.int32)), [x], "bias .* int32")
    # a float16 filter fed straight to CONV_2D (without DEQUANTIZE) is not supported; int8
    # (hybrid) filters are (tests/test_conv_2d_quant.py)
    m = single_op_model("CONV_2D", [In(x.shape), Const(w.astype(np.float16)), Const(b)], Out((1,)),
                        stride_w=1, stride_h=1)
    with pytest.raises(RuntimeError, match="float32 only"):
        run_numlite(m, [x])


@pytest.mark.parametrize("max_rows", [0, 1 << 30])
@pytest.mark.parametrize("xs,ws,opt,bias", [
    ((1, 7, 7, 96), (160, 1, 1, 96), dict(padding="VALID"), False),  # pointwise, direct
    ((1, 7, 7, 96), (160, 1, 1, 96), dict(padding="VALID", fused_activation_function="RELU6"), True),
    ((1, 7, 7, 16), (96, 1, 1, 16), dict(padding="VALID"), True),  # expansion: bias folded
    ((2, 9, 8, 5), (7, 3, 3, 5), dict(padding="SAME", stride_h=2), True),
    ((1, 9, 8, 8), (6, 3, 3, 4), dict(padding="SAME"), False),  # grouped
])
def test_weight_layouts(monkeypatch, max_rows, xs, ws, opt, bias):
    """Weights as the zero-copy transposed view (max_rows 0) or a C-ordered copy (every layer
    short): both match LiteRT, and the filter operands hold the same numbers."""
    from numlite.ops import conv_2d
    monkeypatch.setattr(conv_2d, "CONTIGUOUS_MAX_ROWS", max_rows)
    x, w = rand(xs, seed=5), rand(ws, seed=6)
    b = rand((ws[0],), seed=7) if bias else np.zeros(ws[0], np.float32)
    theirs = run_litert(conv(xs, w, b, **opt), [x])[0]
    ours = run_numlite(conv(xs, w, b, bias_input="const" if bias else "absent", **opt), [x])[0]
    np.testing.assert_allclose(ours, theirs, **TOL)
    groups = xs[3] // ws[3]
    view = conv_mod.filter_to_matmul(w, groups)
    copy = conv_mod.filter_to_matmul(w, groups, contiguous=True)
    assert np.shares_memory(view, w) and copy.flags.c_contiguous and np.array_equal(view, copy)
    b = rand((ws[0],), seed=8)
    folded = conv_mod.filter_to_matmul(w, 1, b)
    assert folded.flags.c_contiguous and np.array_equal(folded[0, :-1], conv_mod.filter_to_matmul(w, 1)[0])
    assert np.array_equal(folded[0, -1], b)
