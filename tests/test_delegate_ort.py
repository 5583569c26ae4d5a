"""The ONNX Runtime delegate (numlite.delegates.ort), needs ``onnxruntime`` and ``onnx``.

Every op it maps, as a single-op model, delegated against numlite's own kernels; whole models
against LiteRT.  Tolerances: ONNX Runtime's kernels (MLAS) sum convolutions and GEMMs in their own
order and use their own exp / tanh, so float results agree to float32 rounding of the sums:
rtol 1e-5 (atol 1e-5 for values near 0) per op; whole models within 1e-4 of each output's largest
magnitude, the issue's bound.
"""

from __future__ import annotations

import numpy as np
import pytest
from util import Const, In, Out, run_litert, run_numlite, single_op_model

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

import numlite  # noqa: E402
from numlite import models  # noqa: E402
from numlite.builder import ModelBuilder  # noqa: E402

RNG = np.random.default_rng(7)


def _w(*shape: int) -> np.ndarray:
    return (RNG.standard_normal(shape) * 0.5).astype(np.float32)


def _delegate(**options: object) -> numlite.Delegate:
    return numlite.load_delegate("onnxruntime", options or None)


def _check(model: bytes, feeds: list[np.ndarray], partitions: int = 1, rtol: float = 1e-5, atol: float = 1e-5,
           **kw: object) -> None:
    ours = run_numlite(model, feeds, experimental_delegates=[_delegate()], **kw)
    plain = run_numlite(model, feeds, **kw)
    it = numlite.Interpreter(model_content=model, experimental_delegates=[_delegate()])
    kinds = [op.op_name for op in it._runtime.operators[0]]
    assert kinds.count("DELEGATE") == partitions, kinds
    for a, b in zip(ours, plain):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


X4 = (1, 9, 10, 4)


def _x(shape=X4, lo=-3.0, hi=3.0):
    return RNG.uniform(lo, hi, shape).astype(np.float32)


CONV_CASES = [
    ({"padding": "SAME", "stride_h": 1, "stride_w": 1}, (6, 3, 3, 4), "RELU6"),
    ({"padding": "VALID", "stride_h": 2, "stride_w": 2}, (6, 3, 3, 4), "RELU"),
    ({"padding": "SAME", "stride_h": 2, "stride_w": 1, "dilation_h_factor": 2, "dilation_w_factor": 2},
     (5, 3, 2, 4), "RELU_N1_TO_1"),
    ({"padding": "SAME", "stride_h": 1, "stride_w": 1}, (6, 1, 1, 2), "TANH"),  # 2 groups; TANH ignored
]


@pytest.mark.parametrize("opts,wshape,act", CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_2d(opts, wshape, act, bias):
    opts = {"dilation_h_factor": 1, "dilation_w_factor": 1, **opts}
    padding = 0 if opts["padding"] == "SAME" else 1
    from numlite.ops.base import conv_padding
    oh = conv_padding(X4[1], wshape[1], opts["stride_h"], opts["dilation_h_factor"], padding)[0]
    ow = conv_padding(X4[2], wshape[2], opts["stride_w"], opts["dilation_w_factor"], padding)[0]
    ins = [In(X4), Const(_w(*wshape)), Const(_w(wshape[0])) if bias else None]
    model = single_op_model("CONV_2D", ins, Out((1, oh, ow, wshape[0])), **{**opts, "padding": padding},
                            fused_activation_function=act)
    _check(model, [_x()])


@pytest.mark.parametrize("k,stride,mult,padding", [(3, 1, 1, 0), (5, 2, 2, 0), (3, 2, 1, 1)])
def test_depthwise_conv_2d(k, stride, mult, padding):
    from numlite.ops.base import conv_padding
    cout = X4[3] * mult
    oh = conv_padding(X4[1], k, stride, 1, padding)[0]
    ow = conv_padding(X4[2], k, stride, 1, padding)[0]
    model = single_op_model("DEPTHWISE_CONV_2D", [In(X4), Const(_w(1, k, k, cout)), Const(_w(cout))],
                            Out((1, oh, ow, cout)), padding=padding, stride_h=stride, stride_w=stride,
                            dilation_h_factor=1, dilation_w_factor=1, depth_multiplier=mult,
                            fused_activation_function="RELU6")
    _check(model, [_x()])


@pytest.mark.parametrize("keep", [False, True])
def test_fully_connected(keep):
    out = (2, 3, 5) if keep else (6, 5)
    model = single_op_model("FULLY_CONNECTED", [In((2, 3, 8)), Const(_w(5, 8)), Const(_w(5))], Out(out),
                            keep_num_dims=keep, fused_activation_function="RELU")
    _check(model, [_x((2, 3, 8))])


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM"])
def test_binary_with_broadcasting(op):
    opts = {"fused_activation_function": "RELU6"} if op in ("ADD", "SUB", "MUL", "DIV") else {}
    model = single_op_model(op, [In(X4), In((1, 1, 10, 1))], Out(X4), **opts)
    _check(model, [_x(), _x((1, 1, 10, 1), 0.5, 2.0)])
    model = single_op_model(op, [In(X4), Const(_w(4))], Out(X4), **opts)
    _check(model, [_x()])


@pytest.mark.parametrize("op,opts", [("RELU", {}), ("RELU6", {}), ("RELU_N1_TO_1", {}), ("RELU_0_TO_1", {}),
                                     ("TANH", {}), ("LOGISTIC", {}), ("HARD_SWISH", {}), ("ELU", {}),
                                     ("LEAKY_RELU", {"alpha": 0.2}), ("EXP", {}), ("ABS", {}), ("NEG", {}),
                                     ("SQRT", {}), ("RSQRT", {}), ("SQUARE", {})])
def test_unary(op, opts):
    x = _x(lo=0.1, hi=4.0) if op in ("SQRT", "RSQRT") else _x(lo=-20.0, hi=20.0)
    model = single_op_model(op, [In(X4)], Out(X4), **opts)
    _check(model, [x], rtol=2e-6 if op != "EXP" else 1e-5, atol=1e-6)


def test_prelu():
    model = single_op_model("PRELU", [In(X4), Const(np.array([0.1, -0.5, 2.0, 0.25], np.float32).reshape(1, 1, 4))],
                            Out(X4))
    _check(model, [_x()], rtol=0, atol=0)


@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("padding,stride", [(0, 2), (1, 1), (0, 1)])
def test_pools(op, padding, stride):
    from numlite.ops.base import conv_padding
    oh = conv_padding(X4[1], 3, stride, 1, padding)[0]
    ow = conv_padding(X4[2], 2, stride, 1, padding)[0]
    model = single_op_model(op, [In(X4)], Out((1, oh, ow, 4)), padding=padding, stride_h=stride, stride_w=stride,
                            filter_height=3, filter_width=2, fused_activation_function="RELU")
    _check(model, [_x()])


@pytest.mark.parametrize("op", ["MEAN", "SUM", "REDUCE_MAX"])
@pytest.mark.parametrize("axes,keep,out", [([1, 2], True, (1, 1, 1, 4)), ([1, 2], False, (1, 4)),
                                           ([-1], False, (1, 9, 10))])
def test_reductions(op, axes, keep, out):
    model = single_op_model(op, [In(X4), Const(np.array(axes, np.int32))], Out(out), keep_dims=keep)
    _check(model, [_x()])


def test_data_movement():
    cases = [
        ("PAD", [In(X4), Const(np.array([[0, 0], [1, 2], [0, 1], [0, 0]], np.int32))], (1, 12, 11, 4), {}),
        ("PADV2", [In(X4), Const(np.array([[0, 0], [1, 0], [0, 0], [2, 1]], np.int32)), Const(np.float32(-1.5))],
         (1, 10, 10, 7), {}),
        ("CONCATENATION", [In(X4), Const(_w(1, 9, 10, 3))], (1, 9, 10, 7), {"axis": -1}),
        ("RESHAPE", [In(X4), Const(np.array([9, 40], np.int32))], (9, 40), {"new_shape": [9, 40]}),
        ("SQUEEZE", [In((1, 9, 1, 4))], (9, 4), {"squeeze_dims": [0, 2]}),
        ("EXPAND_DIMS", [In((9, 4)), Const(np.int32(1))], (9, 1, 4), {}),
        ("TRANSPOSE", [In(X4), Const(np.array([0, 3, 1, 2], np.int32))], (1, 4, 9, 10), {}),
        ("SOFTMAX", [In(X4)], X4, {"beta": 0.5}),
        ("DEPTH_TO_SPACE", [In((1, 3, 5, 8))], (1, 6, 10, 2), {"block_size": 2}),
        ("SPACE_TO_DEPTH", [In((1, 4, 6, 3))], (1, 2, 3, 12), {"block_size": 2}),
    ]
    for op, ins, out, opts in cases:
        model = single_op_model(op, ins, Out(out), **opts)
        _check(model, [_x(ins[0].shape)])


@pytest.mark.parametrize("align,half", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("size", [(18, 20), (5, 7)])
def test_resize_bilinear(align, half, size):
    model = single_op_model("RESIZE_BILINEAR", [In(X4), Const(np.array(size, np.int32))], Out((1, *size, 4)),
                            align_corners=align, half_pixel_centers=half)
    _check(model, [_x()])


def _two_partition_model() -> bytes:
    """CONV -> RELU -> CUMSUM (not mapped) -> ADD -> TANH: two partitions around the CUMSUM."""
    mb = ModelBuilder()
    x = mb.input("x", X4, np.float32)
    t = mb.tensor("t", (1, 9, 10, 6), np.float32)
    mb.op("CONV_2D", [x, mb.const("w", _w(6, 3, 3, 4)), mb.const("b", _w(6))], [t], padding=0, stride_h=1,
          stride_w=1, dilation_h_factor=1, dilation_w_factor=1, fused_activation_function="RELU")
    c = mb.tensor("c", (1, 9, 10, 6), np.float32)
    mb.op("CUMSUM", [t, mb.const("axis", np.int32(3))], [c])
    s = mb.tensor("s", (1, 9, 10, 6), np.float32)
    mb.op("ADD", [c, t], [s])
    y = mb.tensor("y", (1, 9, 10, 6), np.float32)
    mb.op("TANH", [s], [y])
    mb.output(y)
    return mb.build()


def test_unmapped_ops_stay_on_numlite_between_partitions():
    model = _two_partition_model()
    _check(model, [_x()], partitions=2)


def test_resize_input_makes_a_new_session_and_threads_reach_it():
    model = _two_partition_model()
    it = numlite.Interpreter(model_content=model, experimental_delegates=[_delegate()], num_threads=2)
    it.resize_tensor_input(0, [2, 9, 10, 4])
    it.allocate_tensors()
    x = _x((2, 9, 10, 4))
    it.set_tensor(0, x)
    it.invoke()
    ours = it.get_tensor(it.get_output_details()[0]["index"])
    plain = numlite.Interpreter(model_content=model)
    plain.resize_tensor_input(0, [2, 9, 10, 4])
    plain.allocate_tensors()
    plain.set_tensor(0, x)
    plain.invoke()
    np.testing.assert_allclose(ours, plain.get_tensor(plain.get_output_details()[0]["index"]), rtol=1e-5, atol=1e-5)
    sessions = [k.session for k in it._main.kernels if k.node.op_name == "DELEGATE"]
    assert len(sessions) == 2 and all(s.get_session_options().intra_op_num_threads == 2 for s in sessions)


def test_options():
    d = _delegate(graph_optimization_level="basic", max_delegated_partitions=1)
    assert d.max_delegated_partitions == 1
    with pytest.raises(ValueError, match="unknown options"):
        _delegate(bogus=1)
    with pytest.raises(ValueError, match="graph_optimization_level"):
        _delegate(graph_optimization_level="fast")
    it = numlite.Interpreter(model_content=_two_partition_model(), experimental_delegates=[d])
    assert [op.op_name for op in it._runtime.operators[0]].count("DELEGATE") == 1


def test_mobilenet_v1_matches_litert():
    model = models.build("mobilenet_v1")
    x = models.sample_input("mobilenet_v1")
    (ours,) = run_numlite(model, [x], experimental_delegates=[_delegate()])
    (theirs,) = run_litert(model, [x])
    assert np.max(np.abs(ours - theirs)) <= 1e-4 * np.max(np.abs(theirs))


@pytest.mark.parametrize("name", ["face_landmark.tflite", "palm_detection_full.tflite", "pose_detection.tflite",
                                  "face_detection_full_range_sparse.tflite", "hand_landmark_lite.tflite"])
def test_mediapipe_models_match_litert(name):
    from mediapipe_models import model_path
    path = str(model_path(name))  # skips with a message where PyPI is unreachable
    it = numlite.Interpreter(model_path=path)
    it.allocate_tensors()
    feeds = [np.random.default_rng(3).random(d["shape"]).astype(d["dtype"]) for d in it.get_input_details()]
    model = open(path, "rb").read()
    ours = run_numlite(model, feeds, experimental_delegates=[_delegate()])
    theirs = run_litert(model, feeds)
    for a, b in zip(ours, theirs):
        assert np.max(np.abs(a - b)) <= 1e-4 * max(np.max(np.abs(b)), 1e-6), name


@pytest.mark.parametrize("begin,end,strides,masks,out", [
    ([0, 1, 2, 0], [1, 8, 10, 4], [1, 2, 3, 1], {}, (1, 4, 3, 4)),
    ([0, -1, 0, 1], [1, 0, 10, 3], [1, -2, 1, 1], {"begin_mask": 2}, (1, 5, 10, 2)),
    ([0, 3, 0, 0], [1, 4, 10, 4], [1, 1, 1, 1], {"shrink_axis_mask": 2}, (1, 10, 4)),
    ([0, 0, 0, 2], [0, 0, 0, 3], [1, 1, 1, 1], {"begin_mask": 7, "end_mask": 7, "shrink_axis_mask": 8}, (1, 9, 10)),
    ([0, 1], [0, 5], [1, 2], {"ellipsis_mask": 1}, (1, 9, 10, 2)),
    ([0, 0, 0], [1, 9, 10], [1, 1, 1], {"new_axis_mask": 2}, (1, 1, 9, 10, 4)),
    ([0, 8, 9, 3], [1, 0, 0, 0], [1, -1, -3, -1], {"end_mask": 14}, (1, 9, 4, 4)),
])
def test_strided_slice(begin, end, strides, masks, out):
    ins = [In(X4), Const(np.array(begin, np.int32)), Const(np.array(end, np.int32)), Const(np.array(strides, np.int32))]
    model = single_op_model("STRIDED_SLICE", ins, Out(out), **masks)
    _check(model, [_x()], rtol=0, atol=0)


@pytest.mark.parametrize("begin,size,out", [([0, 2, 3, 1], [1, -1, 4, 2], (1, 7, 4, 2)),
                                            ([0, 0, 0, 0], [1, 9, 10, 4], X4)])
def test_slice(begin, size, out):
    model = single_op_model("SLICE", [In(X4), Const(np.array(begin, np.int32)), Const(np.array(size, np.int32))],
                            Out(out))
    _check(model, [_x()], rtol=0, atol=0)


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu(approximate):
    model = single_op_model("GELU", [In(X4)], Out(X4), approximate=approximate)
    _check(model, [_x(lo=-6.0, hi=6.0)], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("adj_x,adj_y", [(False, False), (True, False), (False, True), (True, True)])
def test_batch_matmul(adj_x, adj_y):
    xs = (2, 3, 7, 5) if adj_x else (2, 3, 5, 7)
    ys = (1, 6, 7) if adj_y else (1, 7, 6)
    model = single_op_model("BATCH_MATMUL", [In(xs), In(ys)], Out((2, 3, 5, 6)), adj_x=adj_x, adj_y=adj_y)
    _check(model, [_x(xs), _x(ys)])


def test_a_partition_onnxruntime_refuses_is_a_prepare_error(monkeypatch):
    from numlite.delegates import ort as ort_delegate

    def broken(self, *args, **kw):
        raise RuntimeError("[ONNXRuntimeError] : 10 : INVALID_GRAPH : broken on purpose")

    monkeypatch.setattr(ort_delegate.OnnxRuntimeDelegate, "session", broken)
    it = numlite.Interpreter(model_content=_two_partition_model(), experimental_delegates=[_delegate()])
    with pytest.raises(numlite.PrepareError, match=r"DELEGATE .*onnxruntime delegate cannot run its partition "
                                                   r"\(CONV_2D #0\): RuntimeError: \[ONNXRuntimeError\]"):
        it.allocate_tensors()


# -- quantized (QDQ) -----------------------------------------------------------------------------------
def _steps(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.max(np.abs(a.astype(np.int64) - b.astype(np.int64)), initial=0))


@pytest.mark.parametrize("name,kw", [("mobilenet_v1_int8", {"resolution": 96, "alpha": 0.25}),
                                     ("mobilenet_v2_int8", {"resolution": 96, "alpha": 0.35}),
                                     ("inception_v3_int8", {"resolution": 96}),
                                     ("mobilenet_v1_int8_uint8io", {"resolution": 96, "alpha": 0.25})])
def test_int8_models_within_litert_defaults_steps(name, kw):
    """The issue's bound: ONNX Runtime's integer kernels requantize their own way, as LiteRT's
    default (XNNPACK) ones do: each may differ from the reference kernels (which numlite follows
    bit for bit) by a few steps; the delegate may not differ by more than LiteRT's default does."""
    model, x = models.build(name, **kw), models.sample_input(name, **kw)
    ref = run_litert(model, [x], ref=True)[0]
    default = run_litert(model, [x])[0]
    ours = run_numlite(model, [x], experimental_delegates=[_delegate()])[0]
    assert _steps(run_numlite(model, [x])[0], ref) == 0
    it = numlite.Interpreter(model_content=model, experimental_delegates=[_delegate()])
    assert [op.op_name for op in it._runtime.operators[0]] == ["DELEGATE"]
    assert _steps(ours, ref) <= max(_steps(default, ref), 1), (_steps(ours, ref), _steps(default, ref))


Q8 = {"scale": 0.05, "zero_point": 3}


def _q(scale: float, zp: int) -> dict:
    return {"scale": scale, "zero_point": zp}


@pytest.mark.parametrize("op,ins,out,opts", [
    ("ADD", [In(X4, np.int8, Q8), In(X4, np.int8, _q(0.03, -5))], Out(X4, np.int8, _q(0.07, 0)),
     {"fused_activation_function": "RELU"}),
    ("MUL", [In(X4, np.int8, Q8), In(X4, np.int8, _q(0.03, -5))], Out(X4, np.int8, _q(0.02, 1)), {}),
    ("SOFTMAX", [In(X4, np.int8, Q8)], Out(X4, np.int8, _q(1 / 256, -128)), {"beta": 1.0}),
    ("LOGISTIC", [In(X4, np.int8, Q8)], Out(X4, np.int8, _q(1 / 256, -128)), {}),
    ("TANH", [In(X4, np.int8, Q8)], Out(X4, np.int8, _q(1 / 128, 0)), {}),
    ("MEAN", [In(X4, np.int8, Q8), Const(np.array([1, 2], np.int32))], Out((1, 1, 1, 4), np.int8, _q(0.04, 2)),
     {"keep_dims": True}),
    ("AVERAGE_POOL_2D", [In(X4, np.int8, Q8)], Out((1, 4, 5, 4), np.int8, Q8),
     {"padding": 1, "stride_h": 2, "stride_w": 2, "filter_height": 2, "filter_width": 2}),
    ("AVERAGE_POOL_2D", [In(X4, np.int8, Q8)], Out(X4, np.int8, Q8),  # windows cut by the borders
     {"padding": 0, "stride_h": 1, "stride_w": 1, "filter_height": 3, "filter_width": 3}),
    ("AVERAGE_POOL_2D", [In(X4, np.int8, Q8)], Out((1, 1, 1, 4), np.int8, Q8),  # global
     {"padding": 1, "stride_h": 1, "stride_w": 1, "filter_height": 9, "filter_width": 10}),
    ("MAX_POOL_2D", [In(X4, np.int8, Q8)], Out((1, 9, 10, 4), np.int8, Q8),
     {"padding": 0, "stride_h": 1, "stride_w": 1, "filter_height": 3, "filter_width": 3}),
    ("CONCATENATION", [In(X4, np.int8, Q8), In(X4, np.int8, Q8)], Out((1, 9, 10, 8), np.int8, Q8), {"axis": 3}),
    ("RESHAPE", [In(X4, np.int8, Q8), Const(np.array([9, 40], np.int32))], Out((9, 40), np.int8, Q8),
     {"new_shape": [9, 40]}),
    ("QUANTIZE", [In(X4)], Out(X4, np.int8, Q8), {}),
    ("DEQUANTIZE", [In(X4, np.int8, Q8)], Out(X4), {}),
])
def test_quantized_single_ops_within_a_step_of_numlite(op, ins, out, opts):
    model = single_op_model(op, ins, out, **opts)
    rng = np.random.default_rng(5)
    feeds = [rng.integers(-128, 128, i.shape).astype(np.int8) if np.dtype(i.dtype) == np.int8
             else rng.uniform(-6, 6, i.shape).astype(np.float32) for i in ins if isinstance(i, In)]
    ours = run_numlite(model, feeds, experimental_delegates=[_delegate()])[0]
    plain = run_numlite(model, feeds)[0]
    it = numlite.Interpreter(model_content=model, experimental_delegates=[_delegate()])
    assert [o.op_name for o in it._runtime.operators[0]] == ["DELEGATE"]
    if ours.dtype == np.float32:
        np.testing.assert_array_equal(ours, plain)  # DequantizeLinear is TFLite's (q - zp) * scale
    else:
        assert ours.dtype == plain.dtype and _steps(ours, plain) <= 1


def test_hybrid_and_int16_forms_stay_on_numlite():
    w = Const(RNG.integers(-127, 128, (6, 3, 3, 4)).astype(np.int8), quant={"scale": [0.02] * 6,
                                                                              "zero_point": [0] * 6})
    hybrid = single_op_model("CONV_2D", [In(X4), w, Const(_w(6))], Out((1, 9, 10, 6)), padding=0, stride_h=1,
                             stride_w=1, dilation_h_factor=1, dilation_w_factor=1)
    it = numlite.Interpreter(model_content=hybrid, experimental_delegates=[_delegate()])
    assert "DELEGATE" not in [op.op_name for op in it._runtime.operators[0]]
    int16 = single_op_model("ADD", [In(X4, np.int16, _q(0.01, 0)), In(X4, np.int16, _q(0.01, 0))],
                            Out(X4, np.int16, _q(0.02, 0)))
    it = numlite.Interpreter(model_content=int16, experimental_delegates=[_delegate()])
    assert "DELEGATE" not in [op.op_name for op in it._runtime.operators[0]]


def test_int8_transformer_block_within_litert_defaults_steps():
    import os
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks"))
    from bench_models import transformer_int8

    model = transformer_int8()
    it = numlite.Interpreter(model_content=model)
    d = it.get_input_details()[0]
    x = np.random.default_rng(0).integers(-128, 128, d["shape"]).astype(d["dtype"])
    ref, default = run_litert(model, [x], ref=True)[0], run_litert(model, [x])[0]
    ours = run_numlite(model, [x], experimental_delegates=[_delegate()])[0]
    it = numlite.Interpreter(model_content=model, experimental_delegates=[_delegate()])
    assert [op.op_name for op in it._runtime.operators[0]] == ["DELEGATE"]
    assert _steps(ours, ref) <= max(_steps(default, ref), 1), (_steps(ours, ref), _steps(default, ref))


def _optimized_ops(model: bytes, tmp_path) -> list[str]:
    """The op types of the graph ONNX Runtime optimized from the delegate's (one) partition."""
    import onnx

    path = tmp_path / "optimized.onnx"
    delegate = _delegate(cache=False, session_options={"optimized_model_filepath": str(path),
                                                       "log_severity_level": 3})
    it = numlite.Interpreter(model_content=model, experimental_delegates=[delegate])
    it.allocate_tensors()
    assert [op.op_name for op in it._runtime.operators[0]] == ["DELEGATE"]
    return [n.op_type for n in onnx.load(str(path)).graph.node]


@pytest.mark.parametrize("name,kw", [("mobilenet_v2_int8", {"resolution": 96, "alpha": 0.35}),
                                     ("inception_v3_int8", {"resolution": 96})])
def test_int8_models_run_on_onnxruntimes_integer_kernels(name, kw, tmp_path):
    """Every convolution, residual ADD and concatenation of the int8 models is fused by ONNX
    Runtime into its integer kernel (QLinearConv, QLinearAdd, QLinearConcat), and no layout
    Transpose is left between them.  int8 activations are written as uint8 (the x86 kernels'
    activation type) throughout: ONNX Runtime's own int8 -> uint8 conversion skipped tensors read
    by two ops, which left 15 of MobileNet v2's 53 convolutions and its 10 ADDs in float, with
    30 Transposes around them.  The only float ops left: the boundary's conversions (int8 input to
    uint8, uint8 output to int8) and Inception's windowed average pools (``_windowed_average``)."""
    model = models.build(name, **kw)
    ops = _optimized_ops(model, tmp_path)
    it = numlite.Interpreter(model_content=model)
    tflite = [op.op_name for op in it._runtime.operators[0]]
    convs = tflite.count("CONV_2D") + tflite.count("DEPTHWISE_CONV_2D")
    assert ops.count("QLinearConv") == convs and "Conv" not in ops, ops
    assert ops.count("QLinearAdd") == tflite.count("ADD") and "Add" not in ops
    assert ops.count("QLinearConcat") == tflite.count("CONCATENATION") and "Concat" not in ops
    pools = ops.count("AveragePool")  # Inception's windowed ones, between their Transposes
    assert pools == ops.count("Mul") and ops.count("Transpose") == 2 * pools, ops
    assert ops.count("DequantizeLinear") == ops.count("QuantizeLinear") == 2 + pools


def _int8_two_partition_model() -> bytes:
    """int8 CONV -> ADD(t, t) -> RESIZE_NEAREST_NEIGHBOR (not mapped) -> ADD(r, t): the first
    partition's output ``t`` is read inside it too, the second's inputs are int8 boundaries."""
    mb = ModelBuilder()
    q = {"scale": 0.05, "zero_point": -3}
    x = mb.input("x", (1, 6, 6, 4), np.int8, quantization={"scale": 0.04, "zero_point": 5})
    w = mb.const("w", RNG.integers(-127, 128, (8, 3, 3, 4)).astype(np.int8),
                 quantization={"scale": list(RNG.uniform(0.004, 0.01, 8)), "zero_point": [0] * 8,
                               "quantized_dimension": 0})
    t = mb.tensor("t", (1, 6, 6, 8), np.int8, quantization=q)
    mb.op("CONV_2D", [x, w, -1], [t], padding=0, stride_h=1, stride_w=1, dilation_h_factor=1,
          dilation_w_factor=1)
    a = mb.tensor("a", (1, 6, 6, 8), np.int8, quantization={"scale": 0.08, "zero_point": 1})
    mb.op("ADD", [t, t], [a])
    r = mb.tensor("r", (1, 6, 6, 8), np.int8, quantization={"scale": 0.08, "zero_point": 1})
    mb.op("RESIZE_NEAREST_NEIGHBOR", [a, mb.const("size", np.array([6, 6], np.int32))], [r])
    y = mb.tensor("y", (1, 6, 6, 8), np.int8, quantization={"scale": 0.1, "zero_point": -2})
    mb.op("ADD", [r, t], [y], fused_activation_function="RELU")
    mb.output(y, t)
    return mb.build()


def test_int8_partition_boundaries():
    """int8 tensors cross partition boundaries as int8 (converted from and to the graph's
    internal uint8), also a partition output that its own partition reads."""
    model = _int8_two_partition_model()
    x = np.random.default_rng(3).integers(-128, 128, (1, 6, 6, 4)).astype(np.int8)
    it = numlite.Interpreter(model_content=model, experimental_delegates=[_delegate()])
    assert [op.op_name for op in it._runtime.operators[0]].count("DELEGATE") == 2
    ours = run_numlite(model, [x], experimental_delegates=[_delegate()])
    plain = run_numlite(model, [x])
    for a, b in zip(ours, plain):
        assert a.dtype == b.dtype == np.int8 and _steps(a, b) <= 1
        assert np.ptp(b.astype(np.int64)) > 20  # not saturated
