"""numlite.quantize_model's float_ops / allow_float: ops kept in float32 between DEQUANTIZE and
QUANTIZE (TensorFlow's denylist, and its TFLITE_BUILTINS fallback).  The written model really
has those ops in float32, and numlite's outputs equal LiteRT's reference kernels' (the integer
parts bit for bit; the float ops get identical inputs, see each test for their outputs)."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from util import run_litert, run_numlite

import numlite
from numlite.builder import ModelBuilder
from numlite.quantize import QuantizationError, quantize_model

sys.path.insert(0, str(Path(__file__).parent))
from test_quantizer import mean_head_calibration, mean_head_model  # noqa: E402


def _sg(data: bytes):
    return numlite.load_model(model_content=data).subgraphs[0]


def _same(q: bytes, feeds: list[np.ndarray], exact: bool = True) -> list[np.ndarray]:
    ours = run_numlite(q, feeds)
    theirs = run_litert(q, feeds, ref=True)
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype
        if exact:
            np.testing.assert_array_equal(a, b)
        else:  # float32 transcendental ops: NumPy's and LiteRT's libm may differ in the last bits
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    return ours


@pytest.mark.parametrize("mode", ["int8", "int16x8"])
@pytest.mark.parametrize("select", [{"SOFTMAX"}, {"softmax"}, {3}, {"p"}])
def test_softmax_kept_in_float(mode, select):
    f = mean_head_model()
    q = quantize_model(f, mean_head_calibration(), mode=mode, float_ops=select, io_dtype=np.float32)
    sg = _sg(q)
    assert [o.op_name for o in sg.operators] == ["QUANTIZE", "CONV_2D", "MEAN", "FULLY_CONNECTED", "DEQUANTIZE",
                                                 "SOFTMAX"]
    soft = sg.operators[-1]
    x, y = sg.tensors[soft.inputs[0]], sg.tensors[soft.outputs[0]]
    assert x.dtype is np.float32 and y.dtype is np.float32 and not y.quantization.is_quantized
    assert soft.version == 1 and y.name == "p" and x.name == "logits_float"
    assert sg.outputs == soft.outputs  # a float op's output is the graph output itself
    (xin,) = mean_head_calibration(1, seed=99)[0]
    (p,) = _same(q, [xin], exact=False)
    (pf,) = run_litert(f, [xin])
    np.testing.assert_allclose(p, pf, atol=0.03)
    assert abs(float(p.sum()) - 1) < 1e-5  # a float softmax, not 1/256 steps


@pytest.mark.parametrize("mode", ["int8", "int16x8"])
def test_float_op_output_with_integer_io(mode):
    """Integer I/O: the float SOFTMAX's output is quantized (calibrated range) for the graph output."""
    f = mean_head_model()
    q = quantize_model(f, mean_head_calibration(), mode=mode, float_ops={"SOFTMAX"})
    sg = _sg(q)
    act = np.int16 if mode == "int16x8" else np.int8
    assert [o.op_name for o in sg.operators] == ["CONV_2D", "MEAN", "FULLY_CONNECTED", "DEQUANTIZE", "SOFTMAX",
                                                 "QUANTIZE"]
    assert sg.tensors[sg.operators[4].outputs[0]].dtype is np.float32
    out = sg.tensors[sg.outputs[0]]
    assert out.dtype is act and out.name == f"p_{act.__name__}"
    (xin,) = mean_head_calibration(1, seed=99)[0]
    qi = sg.tensors[sg.inputs[0]].quantization
    info = np.iinfo(act)
    xq = np.clip(np.round(xin / qi.scale) + qi.zero_point, info.min, info.max).astype(act)
    (p,) = _same(q, [xq])
    (pf,) = run_litert(f, [xin])
    np.testing.assert_allclose((p.astype(np.float64) - out.quantization.zero_point) * out.quantization.scale, pf,
                               atol=0.03)


def sin_model() -> bytes:
    """x[1, 16] -> FC(8) -> SIN -> SIN -> FC(4) -> y: SIN has no integer kernel in LiteRT (float32 and
    float16 only), so the quantizer cannot quantize it."""
    rng = np.random.default_rng(1)
    mb = ModelBuilder()
    x = mb.input("x", (1, 16), np.float32)
    h = mb.tensor("h", (1, 8), np.float32)
    mb.op("FULLY_CONNECTED", [x, mb.const("w", rng.normal(0, 0.2, (8, 16)).astype(np.float32)),
                              mb.const("b", np.zeros(8, np.float32))], [h], fused_activation_function="NONE")
    e1 = mb.tensor("e1", (1, 8), np.float32)
    mb.op("SIN", [h], [e1])
    e2 = mb.tensor("e2", (1, 8), np.float32)
    mb.op("SIN", [e1], [e2])
    y = mb.tensor("y", (1, 4), np.float32)
    mb.op("FULLY_CONNECTED", [e2, mb.const("w2", rng.normal(0, 0.5, (4, 8)).astype(np.float32)),
                              mb.const("b2", rng.normal(0, 0.1, 4).astype(np.float32))], [y],
          fused_activation_function="NONE")
    mb.output(y)
    return mb.build()


def _cal(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return [[rng.uniform(-1, 1, (1, 16)).astype(np.float32)] for _ in range(n)]


def test_unsupported_op_refused_with_a_hint():
    with pytest.raises(QuantizationError, match=r"SIN \(nodes \[1, 2\]\) to int8.*float_ops=.*allow_float=True"):
        quantize_model(sin_model(), _cal())


@pytest.mark.parametrize("mode", ["int8", "int16x8"])
@pytest.mark.parametrize("how", ["allow_float", "float_ops"])
def test_unsupported_ops_fall_back_to_float(mode, how):
    kw = {"allow_float": True} if how == "allow_float" else {"float_ops": {"SIN"}}
    q = quantize_model(sin_model(), _cal(), mode=mode, io_dtype=np.float32, **kw)
    sg = _sg(q)
    act = np.int16 if mode == "int16x8" else np.int8
    names = [o.op_name for o in sg.operators]
    # one DEQUANTIZE before the first SIN, none between the two SINs, one QUANTIZE after
    assert names == ["QUANTIZE", "FULLY_CONNECTED", "DEQUANTIZE", "SIN", "SIN", "QUANTIZE", "FULLY_CONNECTED",
                     "DEQUANTIZE"]
    for op in sg.operators[3:5]:
        assert op.version == 1
        assert {sg.tensors[i].dtype for i in (*op.inputs, *op.outputs)} == {np.float32}
    requant = sg.operators[5]
    assert sg.tensors[requant.inputs[0]].name == "e2" and sg.tensors[requant.outputs[0]].dtype is act
    assert sg.tensors[requant.outputs[0]].name == f"e2_{act.__name__}"
    for (x,) in _cal(3, seed=5):
        (y,) = _same(q, [x], exact=False)
        (yf,) = run_litert(sin_model(), [x])
        # int8 weights and activations around the float SINs: measured max 0.0083 (int8) / 0.0042
        # (16x8) on outputs up to 0.6, where an int8 output step is about 0.005
        np.testing.assert_allclose(y, yf, atol=0.03)


def test_float_ops_errors():
    with pytest.raises(QuantizationError, match=r"float_ops \['NOPE', 7\] match no op name, node index \(0\.\.3\)"):
        quantize_model(sin_model(), _cal(), float_ops=["NOPE", 7], allow_float=True)
    with pytest.raises(QuantizationError, match="not float"):
        quantize_model(sin_model(), _cal(), float_ops=[1.5], allow_float=True)
    # an op name absent from this model is not an error (the same list serves several models)
    q = quantize_model(sin_model(), _cal(), float_ops=["SIN", "TANH"])
    assert Counter(o.op_name for o in _sg(q).operators)["SIN"] == 2


def test_a_float_op_reading_a_graph_input_and_a_shared_constant():
    """x -> ADD(c) quantized, and MUL(x, c) kept float: the graph input feeds both (one
    DEQUANTIZE of the int8 input), the constant exists twice (int8 and float32)."""
    mb = ModelBuilder()
    x = mb.input("x", (1, 4), np.float32)
    c = mb.const("c", np.array([0.5, -1.0, 2.0, 0.25], np.float32))
    a = mb.tensor("a", (1, 4), np.float32)
    mb.op("ADD", [x, c], [a], fused_activation_function="NONE")
    m = mb.tensor("m", (1, 4), np.float32)
    mb.op("MUL", [x, c], [m], fused_activation_function="NONE")
    y = mb.tensor("y", (1, 4), np.float32)
    mb.op("ADD", [a, m], [y], fused_activation_function="NONE")
    mb.output(y)
    f = mb.build()
    rng = np.random.default_rng(2)
    cal = [[rng.uniform(-1, 1, (1, 4)).astype(np.float32)] for _ in range(8)]
    q = quantize_model(f, cal, float_ops={1})
    sg = _sg(q)
    mul = next(o for o in sg.operators if o.op_name == "MUL")
    assert [sg.tensors[i].dtype for i in mul.inputs] == [np.float32, np.float32]
    assert sg.tensors[mul.inputs[1]].name == "c_float" and sg.tensors[mul.inputs[1]].is_constant
    assert Counter(o.op_name for o in sg.operators) == {"ADD": 2, "DEQUANTIZE": 1, "MUL": 1, "QUANTIZE": 1}
    xq = np.array([[10, -50, 100, -128]], np.int8)
    _same(q, [xq])


def test_mediapipe_prelu_in_float():
    from mediapipe_models import model_path

    f = Path(model_path("iris_landmark.tflite")).read_bytes()
    rng = np.random.default_rng(0)
    cal = [[rng.uniform(-1, 1, (1, 64, 64, 3)).astype(np.float32)] for _ in range(3)]
    q = quantize_model(f, cal, mode="int16x8", io_dtype=np.float32, float_ops={"PRELU"})
    sg = _sg(q)
    counts = Counter(o.op_name for o in sg.operators)
    assert counts["PRELU"] == 53 and counts["DEQUANTIZE"] >= 53 and counts["QUANTIZE"] >= 53
    for op in sg.operators:
        if op.op_name == "PRELU":
            assert all(sg.tensors[i].dtype is np.float32 for i in (*op.inputs, *op.outputs))
    x = rng.uniform(-1, 1, (1, 64, 64, 3)).astype(np.float32)
    _same(q, [x])  # PRELU is exact arithmetic in float32 (a max, a min and a product)


@pytest.mark.parametrize("mode", ["int8", "int16x8"])
def test_an_lstm_kept_in_float_keeps_its_state_variables(mode):
    """An LSTM left in float reads and writes its state: the state tensors stay float32 variables
    (quantized twins behind a DEQUANTIZE are no variables: LiteRT refused to prepare the model),
    and the state carries from one invoke to the next as in the float model.  int8 has an integer
    LSTM, so the test keeps it in float by name there; 16x8 has none (allow_float keeps it)."""
    from lstm_util import direction_inputs, lstm_slots, lstm_weights

    n_in, n_cell, steps = 4, 6, 5
    mb = ModelBuilder()
    x = mb.input("x", (1, steps, n_in), np.float32)
    d = direction_inputs(mb, lstm_weights(n_in, n_cell, n_cell, seed=3), 1, n_cell, n_cell, False)
    seq = mb.tensor("seq", (1, steps, n_cell), np.float32)
    mb.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [x, *lstm_slots(d)], [seq], options_table="UnidirectionalSequenceLSTMOptions",
          time_major=False, fused_activation_function="TANH", cell_clip=0.0, proj_clip=0.0)
    y = mb.tensor("y", (1, steps, n_cell), np.float32)
    mb.op("ADD", [seq, mb.const("shift", np.full(n_cell, 0.25, np.float32))], [y], fused_activation_function="RELU")
    mb.output(y)
    model = mb.build()
    rng = np.random.default_rng(0)
    cal = [rng.uniform(-1, 1, (1, steps, n_in)).astype(np.float32) for _ in range(8)]
    kw = {"allow_float": True} if mode == "int16x8" else {"float_ops": ["UNIDIRECTIONAL_SEQUENCE_LSTM"]}
    q = quantize_model(model, cal, mode=mode, io_dtype=np.float32, **kw)
    sg = _sg(q)
    assert [o.op_name for o in sg.operators] == ["UNIDIRECTIONAL_SEQUENCE_LSTM", "QUANTIZE", "ADD", "DEQUANTIZE"]
    state = [t for t in sg.tensors if t.is_variable]
    assert len(state) == 2 and all(t.type_name == "FLOAT32" for t in state)
    from lstm_util import run_twice

    feeds = [[cal[0]], [cal[1]], [cal[0]]]
    ours, ref = run_twice(q, feeds, litert=False), run_twice(q, feeds, litert=True, ref=True)
    floats = run_twice(model, feeds, litert=False)
    for k in range(3):
        np.testing.assert_allclose(ours[k][0], ref[k][0], rtol=1e-6, atol=1e-6)  # the float LSTM: libm's tanh
        step = 1 / 64 if mode == "int8" else 1 / 4096  # well above the output's quantization step
        assert np.max(np.abs(ours[k][0] - floats[k][0])) < step
    assert np.max(np.abs(ours[2][0] - ours[0][0])) > 1e-3  # the state carried into the third invoke
