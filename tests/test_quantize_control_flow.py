"""numlite.quantize_model on models with control flow (WHILE, IF, CALL_ONCE: several subgraphs).

LiteRT's WHILE and IF kernels pass the stored integers through unchanged, so a loop variable
must carry one set of quantization parameters as the WHILE's input, the cond's and the body's
input, the body's output and the WHILE's output; an IF's input with its branches' inputs, and
its output with its branches' outputs.  Every test checks those ties in the written file, that
no op of any subgraph is left in float32, that numlite's integer outputs equal LiteRT's
reference kernels' bit for bit (at two loop lengths), and that the dequantized outputs stay
within a stated bound of the float model's.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from util import run_litert, run_numlite

import numlite
from numlite.builder import ModelBuilder
from numlite.quantize import QuantizationError, calibrate, calibrate_subgraphs, quantize_model

os.environ.setdefault("KERAS_BACKEND", "numpy")


# -- helpers --------------------------------------------------------------------------------------
def _model(data: bytes):
    return numlite.load_model(model_content=data)


def _qp(m, s: int, t: int) -> tuple[float, int]:
    q = m.subgraphs[s].tensors[t].quantization
    assert q is not None and q.is_quantized, m.subgraphs[s].tensors[t].name
    return q.scale, q.zero_point


def _float_tensors(m) -> list[str]:
    """Names of the float32 tensors any op of any subgraph reads or writes."""
    return [f"{sg.index}:{sg.tensors[i].name}" for sg in m.subgraphs for op in sg.operators
            for i in (*op.inputs, *op.outputs) if i >= 0 and sg.tensors[i].dtype is np.float32]


def _ops(m, s: int) -> list[str]:
    return [op.op_name for op in m.subgraphs[s].operators]


def _check_ties(m) -> int:
    """Every WHILE / IF boundary of ``m`` passes its non-integer values with one set of
    parameters (returns how many ties were checked)."""
    n = 0
    for sg in m.subgraphs:
        for op in sg.operators:
            o = op.options or {}
            if op.op_name == "WHILE":
                cond, body = o["cond_subgraph_index"], o["body_subgraph_index"]
                for j, (i, out) in enumerate(zip(op.inputs, op.outputs)):
                    if sg.tensors[i].dtype in (np.int8, np.int16):
                        want = _qp(m, sg.index, i)
                        got = [_qp(m, sg.index, out), _qp(m, cond, m.subgraphs[cond].inputs[j]),
                               _qp(m, body, m.subgraphs[body].inputs[j]), _qp(m, body, m.subgraphs[body].outputs[j])]
                        assert got == [want] * 4, (j, want, got)
                        n += 1
            elif op.op_name == "IF":
                then, else_ = o["then_subgraph_index"], o["else_subgraph_index"]
                for j, i in enumerate(op.inputs[1:]):
                    if sg.tensors[i].dtype in (np.int8, np.int16):
                        want = _qp(m, sg.index, i)
                        assert [_qp(m, b, m.subgraphs[b].inputs[j]) for b in (then, else_)] == [want] * 2
                        n += 1
                for j, out in enumerate(op.outputs):
                    want = _qp(m, sg.index, out)
                    assert [_qp(m, b, m.subgraphs[b].outputs[j]) for b in (then, else_)] == [want] * 2
                    n += 1
    return n


def _quantize_feed(x: np.ndarray, scale: float, zp: int, dtype) -> np.ndarray:
    info = np.iinfo(dtype)
    return np.clip(np.round(x / np.float32(scale)) + zp, info.min, info.max).astype(dtype)


def _run_quantized(q: bytes, feeds: list[np.ndarray]) -> list[np.ndarray]:
    """Run ``q`` (integer I/O) on numlite and on LiteRT's reference kernels with the float
    ``feeds`` quantized by the input parameters; assert bit-exact; return the dequantized outputs."""
    m = _model(q)
    sg = m.subgraphs[0]
    qfeeds = []
    for i, x in zip(sg.inputs, feeds):
        t = sg.tensors[i]
        qfeeds.append(_quantize_feed(x, *_qp(m, 0, i), t.dtype) if t.dtype in (np.int8, np.int16) else x)
    ours = run_numlite(q, qfeeds)
    theirs = run_litert(q, qfeeds, ref=True)
    outs = []
    for o, a, b in zip(sg.outputs, ours, theirs):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
        scale, zp = _qp(m, 0, o)
        outs.append((a.astype(np.float64) - zp) * scale)
    return outs


# -- a WHILE loop built with ModelBuilder -----------------------------------------------------------
def loop_model(act: str = "TANH", start: str = "fc", seed: int = 0) -> bytes:
    """h0 = start(FC(x)); c = x * 0.5; i = 0
    while i < n: h = act(FC(h) + c); i += 1     (c and n passed through)
    y = FC(h)"""
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    x = mb.input("x", (1, 4), np.float32)
    n = mb.input("n", (), np.int32)
    pre = mb.tensor("pre", (1, 4), np.float32)
    mb.op("FULLY_CONNECTED", [x, mb.const("w0", rng.normal(0, 1.0, (4, 4)).astype(np.float32)),
                              mb.const("b0", rng.normal(0, 0.3, 4).astype(np.float32))], [pre])
    if start == "fc":
        h0 = pre
    else:
        h0 = mb.tensor("h0", (1, 4), np.float32)
        mb.op(start, [pre], [h0])
    c = mb.tensor("c", (1, 4), np.float32)
    mb.op("MUL", [x, mb.const("half", np.array(0.5, np.float32))], [c])
    outs = [mb.tensor("i_out", (), np.int32), mb.tensor("n_out", (), np.int32), mb.tensor("h_out", (1, 4), np.float32),
            mb.tensor("c_out", (1, 4), np.float32)]
    mb.op("WHILE", [mb.const("zero", np.array(0, np.int32)), n, h0, c], outs, cond_subgraph_index=1,
          body_subgraph_index=2)
    y = mb.tensor("y", (1, 3), np.float32)
    mb.op("FULLY_CONNECTED", [outs[2], mb.const("w1", rng.normal(0, 0.5, (3, 4)).astype(np.float32)),
                              mb.const("b1", np.zeros(3, np.float32))], [y])
    mb.output(y)
    mb.new_subgraph("cond")
    ci, cn = mb.input("ci", (), np.int32), mb.input("cn", (), np.int32)
    mb.input("ch", (1, 4), np.float32)
    mb.input("cc", (1, 4), np.float32)
    go = mb.tensor("go", (), np.bool_)
    mb.op("LESS", [ci, cn], [go])
    mb.output(go)
    mb.new_subgraph("body")
    bi, bn = mb.input("bi", (), np.int32), mb.input("bn", (), np.int32)
    bh, bc = mb.input("bh", (1, 4), np.float32), mb.input("bc", (1, 4), np.float32)
    r = mb.tensor("r", (1, 4), np.float32)
    mb.op("FULLY_CONNECTED", [bh, mb.const("wr", rng.normal(0, 0.3, (4, 4)).astype(np.float32)),
                              mb.const("br", rng.normal(0, 0.2, 4).astype(np.float32))], [r])
    s = mb.tensor("s", (1, 4), np.float32)
    mb.op("ADD", [r, bc], [s])
    h = mb.tensor("h", (1, 4), np.float32)
    mb.op(act, [s], [h])
    ni = mb.tensor("ni", (), np.int32)
    mb.op("ADD", [bi, mb.const("one", np.array(1, np.int32))], [ni])
    mb.output(ni, bn, h, bc)
    return mb.build()


def _loop_calibration(k: int = 64, seed: int = 1) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [[rng.uniform(-1, 1, (1, 4)).astype(np.float32), np.array(1 + j % 8, np.int32)] for j in range(k)]


@pytest.mark.parametrize("mode", ["int8", "int16x8"])
@pytest.mark.parametrize("act, start", [("RELU", "fc"), ("TANH", "TANH"), ("LOGISTIC", "fc")])
def test_while_loop_quantized(mode, act, start):
    f = loop_model(act, start)
    q = quantize_model(f, _loop_calibration(), mode=mode)
    m = _model(q)
    assert len(m.subgraphs) == 3 and _float_tensors(m) == []
    assert _check_ties(m) == 2  # h and c (i and n are int32)
    dt = np.int8 if mode == "int8" else np.int16
    main, body = m.subgraphs[0], m.subgraphs[2]
    # the loop counters are untouched int32: the model input n, the WHILE's and the body's
    assert main.tensors[main.inputs[1]].dtype is np.int32
    assert [body.tensors[i].dtype for i in body.inputs] == [np.int32, np.int32, dt, dt]
    h_in = _qp(m, 2, body.inputs[2])
    fixed = {("TANH", "int8"): (1 / 128, 0), ("TANH", "int16x8"): (1 / 32768, 0),
             ("LOGISTIC", "int8"): (1 / 256, -128), ("LOGISTIC", "int16x8"): (1 / 32768, 0)}.get((act, mode))
    if start == act:  # the loop starts from a TANH too: its fixed parameters cover the loop variable
        assert h_in == pytest.approx(fixed) and "QUANTIZE" not in _ops(m, 0) + _ops(m, 2)
    elif fixed:  # the loop starts from an FC output outside [0, 1]: the LOGISTIC output is requantized
        assert h_in != pytest.approx(fixed)
        ops = m.subgraphs[2].operators
        assert _ops(m, 2).count("QUANTIZE") == 1 and ops[-1].op_name == "QUANTIZE"
        pinned = next(op for op in ops if op.op_name == act).outputs[0]
        assert _qp(m, 2, pinned) == pytest.approx(fixed)
        assert ops[-1].inputs[0] == pinned and ops[-1].outputs[0] == body.outputs[2]
    rng = np.random.default_rng(7)
    worst = 0.0
    for steps in (3, 7):  # two loop lengths
        for _ in range(3):
            x = rng.uniform(-1, 1, (1, 4)).astype(np.float32)
            n = np.array(steps, np.int32)
            (y,) = _run_quantized(q, [x, n])
            (yf,) = run_numlite(f, [x, n])
            worst = max(worst, float(np.abs(y - yf).max()))
    # outputs within about [-1, 1]; int8 (output step ~0.005) measured up to 0.015, int16x8 up
    # to 0.0034 (its int8 weights: ~0.4% of each product)
    assert worst < (0.03 if mode == "int8" else 0.006), worst


def test_while_loop_of_zero_iterations_in_calibration_names_the_subgraph():
    f = loop_model()
    cal = [[np.zeros((1, 4), np.float32), np.array(0, np.int32)]]
    with pytest.raises(QuantizationError, match=r"subgraph 2 'body' never ran on the calibration data"):
        quantize_model(f, cal)


def test_calibration_covers_every_iteration():
    f = loop_model("RELU")
    cal = _loop_calibration(6)
    ranges = calibrate_subgraphs(f, cal)
    main = calibrate(f, cal)
    assert main == {t: r for (s, t), r in ranges.items() if s == 0}
    # the body's h over all iterations: what a float run of each step gives, taken by hand
    body = _model(f).subgraphs[2]
    h = next(i for i in body.outputs if body.tensors[i].name == "h")
    lo, hi = ranges[(2, h)]
    it = numlite.Interpreter(model_content=f)
    h_out = _model(f).subgraphs[0].operators[2].outputs[2]
    seen = []
    for x, n in cal:
        for steps in range(1, int(n) + 1):  # h after `steps` iterations is the WHILE's output h_out
            it.allocate_tensors()
            it.set_tensor(it.get_input_details()[0]["index"], x)
            it.set_tensor(it.get_input_details()[1]["index"], np.array(steps, np.int32))
            it.invoke()
            seen.append(it.get_tensor(h_out))
    assert lo == pytest.approx(min(float(v.min()) for v in seen))
    assert hi == pytest.approx(max(float(v.max()) for v in seen))


def test_float_op_inside_the_body():
    f = loop_model("TANH", "fc")
    q = quantize_model(f, _loop_calibration(), float_ops={(2, 2)})  # the body's TANH
    m = _model(q)
    assert _ops(m, 2) == ["FULLY_CONNECTED", "ADD", "DEQUANTIZE", "TANH", "ADD", "QUANTIZE"]
    assert _ops(m, 0) == ["FULLY_CONNECTED", "MUL", "WHILE", "FULLY_CONNECTED"]
    # DEQUANTIZE's output, TANH's input and output, QUANTIZE's input: all in the body
    assert sorted(_float_tensors(m)) == ["2:h", "2:h", "2:s_float", "2:s_float"]
    assert _check_ties(m) == 2
    x = np.random.default_rng(3).uniform(-1, 1, (1, 4)).astype(np.float32)
    (y,) = _run_quantized(q, [x, np.array(5, np.int32)])
    (yf,) = run_numlite(f, [x, np.array(5, np.int32)])
    assert np.abs(y - yf).max() < 0.08 * max(np.abs(yf).max(), 0.1)


def test_control_flow_op_cannot_stay_float_and_unsupported_body_ops_are_named():
    f = loop_model()
    with pytest.raises(QuantizationError, match=r"WHILE \(node 2\) cannot stay float"):
        quantize_model(f, _loop_calibration(), float_ops={"WHILE"})
    with pytest.raises(QuantizationError, match=r"float_ops \[\(2, 9\)\] match no op"):
        quantize_model(f, _loop_calibration(), float_ops={(2, 9)})
    f = loop_model("SIN")
    with pytest.raises(QuantizationError, match=r"cannot quantize SIN \(nodes \[2\] of subgraph 2 'body'\) to int8"):
        quantize_model(f, _loop_calibration())
    q = quantize_model(f, _loop_calibration(), allow_float=True)
    assert {n.split(":")[0] for n in _float_tensors(_model(q))} == {"2"}
    assert _check_ties(_model(q)) == 2
    x = np.full((1, 4), 0.25, np.float32)
    _run_quantized(q, [x, np.array(4, np.int32)])


# -- IF -------------------------------------------------------------------------------------------
def if_model() -> bytes:
    """h = FC(x); o = IF(c, h): then tanh(2 h), else h - 3; y = o * 0.5"""
    rng = np.random.default_rng(5)
    mb = ModelBuilder()
    c = mb.input("c", (), np.bool_)
    x = mb.input("x", (1, 4), np.float32)
    h = mb.tensor("h", (1, 4), np.float32)
    mb.op("FULLY_CONNECTED", [x, mb.const("w", rng.normal(0, 1, (4, 4)).astype(np.float32)),
                              mb.const("b", np.zeros(4, np.float32))], [h])
    o = mb.tensor("o", (1, 4), np.float32)
    mb.op("IF", [c, h], [o], then_subgraph_index=1, else_subgraph_index=2)
    y = mb.tensor("y", (1, 4), np.float32)
    mb.op("MUL", [o, mb.const("half", np.array(0.5, np.float32))], [y])
    mb.output(y)
    mb.new_subgraph("then")
    th = mb.input("th", (1, 4), np.float32)
    t2 = mb.tensor("t2", (1, 4), np.float32)
    mb.op("ADD", [th, th], [t2])
    to = mb.tensor("to", (1, 4), np.float32)
    mb.op("TANH", [t2], [to])
    mb.output(to)
    mb.new_subgraph("else")
    eh = mb.input("eh", (1, 4), np.float32)
    eo = mb.tensor("eo", (1, 4), np.float32)
    mb.op("SUB", [eh, mb.const("three", np.array(3.0, np.float32))], [eo])
    mb.output(eo)
    return mb.build()


@pytest.mark.parametrize("mode", ["int8", "int16x8"])
def test_if_quantized(mode):
    f = if_model()
    rng = np.random.default_rng(2)
    tests = [[np.array(k % 2 == 0), rng.uniform(-1, 1, (1, 4)).astype(np.float32)] for k in range(8)]
    cal = tests + [[np.array(k % 2 == 0), rng.uniform(-1, 1, (1, 4)).astype(np.float32)] for k in range(16)]
    q = quantize_model(f, cal, mode=mode)
    m = _model(q)
    assert _float_tensors(m) == [] and _check_ties(m) == 2
    # the output joins [-1, 1] (then) and about [-5, -1] (else): the then-branch's TANH output,
    # pinned to [-1, 1), is requantized to the IF output's parameters inside the branch
    assert _ops(m, 1) == ["ADD", "TANH", "QUANTIZE"] and _ops(m, 2) == ["SUB"]
    worst = 0.0
    for c, x in tests:  # both branches
        (y,) = _run_quantized(q, [c, x])
        (yf,) = run_numlite(f, [c, x])
        worst = max(worst, float(np.abs(y - yf).max()))
    # output range about [-3, 0.5]: int8 (step ~0.014) measured 0.015, int16x8 0.002 (its int8
    # weights)
    assert worst < (0.04 if mode == "int8" else 0.005), worst


def test_if_branch_never_taken_in_calibration_is_named():
    f = if_model()
    cal = [[np.array(True), np.ones((1, 4), np.float32)]]
    with pytest.raises(QuantizationError, match=r"subgraph 2 'else' never ran"):
        quantize_model(f, cal)


# -- CALL_ONCE and resource variables ------------------------------------------------------------------
def accumulator() -> bytes:
    """A streaming sum in a resource variable that CALL_ONCE's init subgraph sets to 0.25:
    acc += tanh(x); y = acc * 0.5"""
    mb = ModelBuilder()
    x = mb.input("x", (1, 3), np.float32)
    mb.op("CALL_ONCE", [], [], init_subgraph_index=1)
    h = mb.tensor("h", (), np.int32, type_name="RESOURCE")
    mb.op("VAR_HANDLE", [], [h], container="", shared_name="acc")
    cur = mb.tensor("cur", (1, 3), np.float32)
    mb.op("READ_VARIABLE", [h], [cur])
    t = mb.tensor("t", (1, 3), np.float32)
    mb.op("TANH", [x], [t])
    nxt = mb.tensor("next", (1, 3), np.float32)
    mb.op("ADD", [cur, t], [nxt])
    mb.op("ASSIGN_VARIABLE", [h, nxt], [])
    y = mb.tensor("y", (1, 3), np.float32)
    mb.op("MUL", [nxt, mb.const("half", np.array(0.5, np.float32))], [y])
    mb.output(y)
    mb.new_subgraph("init")
    h2 = mb.tensor("h2", (), np.int32, type_name="RESOURCE")
    mb.op("VAR_HANDLE", [], [h2], container="", shared_name="acc")
    mb.op("ASSIGN_VARIABLE", [h2, mb.const("start", np.full((1, 3), 0.25, np.float32))], [])
    return mb.build()


@pytest.mark.parametrize("mode", ["int8", "int16x8"])
def test_call_once_and_a_resource_variable(mode):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    f = accumulator()
    rng = np.random.default_rng(4)
    stream = [rng.uniform(-1, 1.5, (1, 3)).astype(np.float32) for _ in range(8)]
    q = quantize_model(f, stream, mode=mode)  # calibration runs the stream in order: the sum grows
    m = _model(q)
    assert _ops(m, 0) == ["CALL_ONCE", "VAR_HANDLE", "READ_VARIABLE", "TANH", "ADD", "ASSIGN_VARIABLE", "MUL"]
    assert _ops(m, 1) == ["VAR_HANDLE", "ASSIGN_VARIABLE"] and _float_tensors(m) == []
    main, init = m.subgraphs
    read = main.operators[2].outputs[0]
    assigned = [main.operators[5].inputs[1], init.operators[1].inputs[1]]
    p = _qp(m, 0, read)
    assert [_qp(m, 0, assigned[0]), _qp(m, 1, assigned[1])] == [p, p]  # one variable, one set of parameters
    start = init.tensors[assigned[1]]
    assert start.dtype is (np.int8 if mode == "int8" else np.int16)
    assert float((start.data.astype(np.float64)[0, 0] - p[1]) * p[0]) == pytest.approx(0.25, abs=p[0])
    its = [numlite.Interpreter(model_content=q),
           Interpreter(model_content=q, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)]
    fl = numlite.Interpreter(model_content=f)
    for it in (*its, fl):
        it.allocate_tensors()
    xin, yout = main.inputs[0], main.outputs[0]
    worst = 0.0
    for x in stream[:6]:  # the state carries over from invoke to invoke
        res = []
        for it in its:
            it.set_tensor(xin, _quantize_feed(x, *_qp(m, 0, xin), main.tensors[xin].dtype))
            it.invoke()
            res.append(it.get_tensor(yout))
        np.testing.assert_array_equal(res[0], res[1])
        fl.set_tensor(0, x)
        fl.invoke()
        scale, zp = _qp(m, 0, yout)
        yf = fl.get_tensor(fl.get_output_details()[0]["index"])
        worst = max(worst, float(np.abs((res[0].astype(np.float64) - zp) * scale - yf).max()))
    # sum within about [-1, 5]: int8 (state step ~0.02) measured 0.012, int16x8 5e-5
    assert worst < (0.04 if mode == "int8" else 5e-4), worst


# -- Keras GRU with a free time dimension: a WHILE loop from numlite.convert ----------------------------
def _gru(kind: str):
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    layers = {
        "gru": [keras.layers.GRU(8), keras.layers.Dense(3)],
        "backwards": [keras.layers.GRU(8, go_backwards=True, reset_after=False), keras.layers.Dense(3)],
        # a sequence loop (DYNAMIC_UPDATE_SLICE into a FILL'd buffer) feeding a reversed one (REVERSE_V2)
        "stacked": [keras.layers.GRU(6, return_sequences=True), keras.layers.GRU(5, go_backwards=True)],
        "bidirectional": [keras.layers.Bidirectional(keras.layers.GRU(4, return_sequences=True)),
                          keras.layers.Dense(2)],
    }[kind]
    model = keras.Sequential([keras.Input((None, 4)), *layers])
    return model, numlite.convert(model)


@pytest.mark.parametrize("mode", ["int8", "int16x8"])
@pytest.mark.parametrize("kind, loops, ties", [("gru", 1, 2), ("backwards", 1, 2), ("stacked", 2, 5),
                                               ("bidirectional", 2, 6)])
def test_keras_gru_loop_quantized(mode, kind, loops, ties):
    model, f = _gru(kind)
    rng = np.random.default_rng(0)
    # two sequence lengths (resize_tensor_input in both interpreters), batches of 1 and 2; the
    # calibration set holds them, so that the error measured is the arithmetic's, not clipping
    tests = [rng.uniform(-1, 1, (batch, t, 4)).astype(np.float32) for t in (3, 10) for batch in (1, 2)]
    cal = tests + [rng.uniform(-1, 1, (1 + k % 2, 2 + k % 11, 4)).astype(np.float32) for k in range(16)]
    q = quantize_model(f, cal, mode=mode)
    m = _model(q)
    assert _ops(m, 0).count("WHILE") == loops and len(m.subgraphs) == 1 + 2 * loops
    assert _float_tensors(m) == []  # no float op in any subgraph
    # states, input projections and output sequences (the step counters are int32)
    assert _check_ties(m) == ties
    worst = 0.0
    for x in tests:
        (y,) = _run_quantized(q, [x])
        yk = np.asarray(model(x))
        worst = max(worst, float(np.abs(y - yk).max()))
    # outputs within about [-0.7, 0.7]: int8 (output step ~0.004) measured up to 0.018, int16x8
    # up to 0.0027 (its int8 weights)
    assert worst < (0.03 if mode == "int8" else 0.006), worst


@pytest.mark.parametrize("io", [np.float32, np.uint8])
def test_gru_loop_with_float_or_uint8_io(io):
    model, f = _gru("gru")
    rng = np.random.default_rng(1)
    tests = [rng.uniform(-1, 1, (1, t, 4)).astype(np.float32) for t in (4, 7)]
    q = quantize_model(f, tests + [rng.uniform(-1, 1, (1, 5, 4)).astype(np.float32) for _ in range(6)], io_dtype=io)
    m = _model(q)
    ops = _ops(m, 0)
    assert ops[0] == "QUANTIZE" and ops[-1] == ("DEQUANTIZE" if io == np.float32 else "QUANTIZE")
    sg = m.subgraphs[0]
    # float32 only at the model's edges: the input's QUANTIZE and the output's DEQUANTIZE
    edges = [f"0:{sg.tensors[sg.inputs[0]].name}", f"0:{sg.tensors[sg.outputs[0]].name}"]
    assert _float_tensors(m) == ([] if io == np.uint8 else edges)
    assert _check_ties(m) == 2
    for x in tests:
        if io == np.uint8:
            scale, zp = _qp(m, 0, sg.inputs[0])
            feed = _quantize_feed(x, scale, zp, np.uint8)
        else:
            feed = x
        (a,), (b,) = run_numlite(q, [feed]), run_litert(q, [feed], ref=True)
        np.testing.assert_array_equal(a, b)
        scale, zp = _qp(m, 0, sg.outputs[0]) if io == np.uint8 else (1.0, 0)
        assert np.abs((a.astype(np.float64) - zp) * scale - np.asarray(model(x))).max() < 0.03


def nested_loops() -> bytes:
    """for i < n: (for j < 3: x = tanh(x * 0.9 + c)); x = x + 0.25 * c  (c passed through both)"""
    mb = ModelBuilder()
    x = mb.input("x", (1, 4), np.float32)
    n = mb.input("n", (), np.int32)
    c = mb.tensor("c", (1, 4), np.float32)
    mb.op("MUL", [x, mb.const("third", np.array(1 / 3, np.float32))], [c])
    zero = mb.const("zero", np.array(0, np.int32))
    outs = [mb.tensor(nm, s, d) for nm, s, d in (("i_o", (), np.int32), ("n_o", (), np.int32),
                                                  ("x_o", (1, 4), np.float32), ("c_o", (1, 4), np.float32))]
    mb.op("WHILE", [zero, n, x, c], outs, cond_subgraph_index=1, body_subgraph_index=2)
    mb.output(outs[2])

    def cond(name: str, limit: int | None) -> None:
        mb.new_subgraph(name)
        i, k = mb.input(f"{name}_i", (), np.int32), mb.input(f"{name}_n", (), np.int32)
        mb.input(f"{name}_x", (1, 4), np.float32)
        mb.input(f"{name}_c", (1, 4), np.float32)
        go = mb.tensor(f"{name}_go", (), np.bool_)
        mb.op("LESS", [i, k if limit is None else mb.const(f"{name}_lim", np.array(limit, np.int32))], [go])
        mb.output(go)

    def counter(name: str, i: int) -> int:
        ni = mb.tensor(f"{name}_next", (), np.int32)
        mb.op("ADD", [i, mb.const(f"{name}_one", np.array(1, np.int32))], [ni])
        return ni

    cond("outer_cond", None)  # 1
    mb.new_subgraph("outer_body")  # 2
    bi, bn = mb.input("bi", (), np.int32), mb.input("bn", (), np.int32)
    bx, bc = mb.input("bx", (1, 4), np.float32), mb.input("bc", (1, 4), np.float32)
    inner = [mb.tensor(nm, s, d) for nm, s, d in (("j_o", (), np.int32), ("m_o", (), np.int32),
                                                   ("ix_o", (1, 4), np.float32), ("ic_o", (1, 4), np.float32))]
    mb.op("WHILE", [mb.const("j0", np.array(0, np.int32)), bn, bx, bc], inner, cond_subgraph_index=3,
          body_subgraph_index=4)
    q = mb.tensor("quarter_c", (1, 4), np.float32)
    mb.op("MUL", [bc, mb.const("quarter", np.array(0.25, np.float32))], [q])
    nx = mb.tensor("outer_x", (1, 4), np.float32)
    mb.op("ADD", [inner[2], q], [nx])
    mb.output(counter("outer", bi), bn, nx, bc)
    cond("inner_cond", 3)  # 3
    mb.new_subgraph("inner_body")  # 4
    ji, jn = mb.input("ji", (), np.int32), mb.input("jn", (), np.int32)
    jx, jc = mb.input("jx", (1, 4), np.float32), mb.input("jc", (1, 4), np.float32)
    s = mb.tensor("scaled", (1, 4), np.float32)
    mb.op("MUL", [jx, mb.const("nine", np.array(0.9, np.float32))], [s])
    a = mb.tensor("shifted", (1, 4), np.float32)
    mb.op("ADD", [s, jc], [a])
    t = mb.tensor("inner_x", (1, 4), np.float32)
    mb.op("TANH", [a], [t])
    mb.output(counter("inner", ji), jn, t, jc)
    return mb.build()


@pytest.mark.parametrize("mode", ["int8", "int16x8"])
def test_nested_loops(mode):
    f = nested_loops()
    rng = np.random.default_rng(8)
    tests = [[rng.uniform(-2, 2, (1, 4)).astype(np.float32), np.array(n, np.int32)] for n in (2, 5)]
    cal = tests + [[rng.uniform(-2, 2, (1, 4)).astype(np.float32), np.array(1 + k % 5, np.int32)] for k in range(12)]
    q = quantize_model(f, cal, mode=mode)
    m = _model(q)
    assert len(m.subgraphs) == 5 and _float_tensors(m) == []
    assert _check_ties(m) == 4  # x and c through each loop
    # the inner loop's TANH output is requantized to x's wider parameters (x starts within [-2, 2])
    assert _ops(m, 4) == ["MUL", "ADD", "TANH", "ADD", "QUANTIZE"]
    worst = 0.0
    for x, n in tests:  # two outer loop lengths
        (y,) = _run_quantized(q, [x, n])
        (yf,) = run_numlite(f, [x, n])
        worst = max(worst, float(np.abs(y - yf).max()))
    # x within about [-2.5, 2.5]: int8 (step ~0.02) measured 0.023, int16x8 1.3e-4
    assert worst < (0.05 if mode == "int8" else 1e-3), worst
