"""numlite.quantize_model on an UNIDIRECTIONAL_SEQUENCE_LSTM inside a control-flow subgraph (an
IF branch, a WHILE body): the same 8x8_16 integer LSTM as in the main graph, its intermediates
calibrated over every run of the subgraph.

The state of an LSTM in a control-flow subgraph: LiteRT (2.3.0) releases a control-flow
subgraph's memory after each eval of its IF / WHILE op and allocates it again at the next eval,
which resets the subgraph's variable tensors, unless the interpreter preserves all tensors: the
state carries over from one WHILE iteration to the next, not from one invoke to the next.
numlite's runtime does the same (tests/test_control_flow_variables.py); the comparisons with
LiteRT run every sample on fresh interpreters all the same (one invoke each, the WHILE loops
iterating several times within it).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from lstm_util import direction_inputs, lstm_slots, lstm_weights, run_twice
from test_quantize_control_flow import _check_ties, _float_tensors

import numlite
import numlite.quantize as nq
from numlite.builder import ModelBuilder
from numlite.ops.quant import round_half_away
from numlite.quantize import QuantizationError, quantize_model
from numlite.quantize_report import quantization_report

F32 = np.float32
LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"
SHAPE = (1, 4, 5)  # batch-major: 1 sequence of 4 steps of 5 features
# variant -> (cells, weight options); the output has 5 features (the input's: a WHILE feeds it back)
VARIANTS = {
    "basic": (5, {}),
    "projection": (8, dict(projection=True, proj_bias=True)),
    "layer_norm": (8, dict(layer_norm=True, projection=True)),
    "cifg_peephole": (5, dict(cifg=True, peephole=True)),
}


def _lstm(mb: ModelBuilder, x: int, w: dict, n_cell: int, **options) -> int:
    d = direction_inputs(mb, w, SHAPE[0], n_cell, SHAPE[2])
    y = mb.tensor("y", SHAPE, F32)
    options.setdefault("fused_activation_function", "TANH")
    mb.op(LSTM, [x, *lstm_slots(d)], [y], options_table="UnidirectionalSequenceLSTMOptions", time_major=False,
          **options)
    return y


def if_model(variant: str = "basic", seed: int = 0, **options) -> bytes:
    """o = IF(c, x): then LSTM(x), else x * 0.5"""
    n_cell, kw = VARIANTS[variant]
    w = lstm_weights(SHAPE[2], n_cell, SHAPE[2], seed=seed, **kw)
    mb = ModelBuilder()
    c = mb.input("c", (), np.bool_)
    x = mb.input("x", SHAPE, F32)
    o = mb.tensor("o", SHAPE, F32)
    mb.op("IF", [c, x], [o], then_subgraph_index=1, else_subgraph_index=2)
    mb.output(o)
    mb.new_subgraph("then")
    mb.output(_lstm(mb, mb.input("tx", SHAPE, F32), w, n_cell, **options))
    mb.new_subgraph("else")
    ex = mb.input("ex", SHAPE, F32)
    eo = mb.tensor("eo", SHAPE, F32)
    mb.op("MUL", [ex, mb.const("half", np.array(0.5, F32))], [eo])
    mb.output(eo)
    return mb.build()


def while_model(variant: str = "basic", seed: int = 0, w: dict | None = None, **options) -> bytes:
    """repeat n times: x = LSTM(x)  (the LSTM's state carries from one iteration to the next)"""
    n_cell, kw = VARIANTS[variant]
    w = w if w is not None else lstm_weights(SHAPE[2], n_cell, SHAPE[2], seed=seed, **kw)
    mb = ModelBuilder()
    x = mb.input("x", SHAPE, F32)
    n = mb.input("n", (), np.int32)
    outs = [mb.tensor("i_out", (), np.int32), mb.tensor("n_out", (), np.int32), mb.tensor("x_out", SHAPE, F32)]
    mb.op("WHILE", [mb.const("zero", np.array(0, np.int32)), n, x], outs, cond_subgraph_index=1,
          body_subgraph_index=2)
    mb.output(outs[2])
    mb.new_subgraph("cond")
    ci, cn = mb.input("ci", (), np.int32), mb.input("cn", (), np.int32)
    mb.input("cx", SHAPE, F32)
    go = mb.tensor("go", (), np.bool_)
    mb.op("LESS", [ci, cn], [go])
    mb.output(go)
    mb.new_subgraph("body")
    bi, bn, bx = mb.input("bi", (), np.int32), mb.input("bn", (), np.int32), mb.input("bx", SHAPE, F32)
    y = _lstm(mb, bx, w, n_cell, **options)
    ni = mb.tensor("ni", (), np.int32)
    mb.op("ADD", [bi, mb.const("one", np.array(1, np.int32))], [ni])
    mb.output(ni, bn, y)
    return mb.build()


def _samples(kind: str, k: int, seed: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    x = [rng.uniform(-1, 1, SHAPE).astype(F32) for _ in range(k)]
    if kind == "IF":  # both branches
        return [[np.array(j % 2 == 0), x[j]] for j in range(k)]
    return [[x[j], np.array(1 + j % 4, np.int32)] for j in range(k)]  # 1 to 4 iterations


def _model(q: bytes):
    return numlite.load_model(model_content=q)


def _lstm_ops(m) -> list[tuple[int, object]]:
    return [(sg.index, op) for sg in m.subgraphs for op in sg.operators if op.op_name == LSTM]


def _fresh_runs(q: bytes, feeds: list[np.ndarray]) -> np.ndarray:
    """The output of ``q`` on numlite, equal to LiteRT's reference and default kernels' (fresh
    interpreters: see the module docstring)."""
    (ours,) = run_twice(q, [feeds], litert=False)[0]
    for ref in (True, False):
        (theirs,) = run_twice(q, [feeds], litert=True, ref=ref)[0]
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs, err_msg=f"BUILTIN_REF={ref}")
    return ours


def _qfeed(m, feeds: list[np.ndarray]) -> list[np.ndarray]:
    sg = m.subgraphs[0]
    out = []
    for i, x in zip(sg.inputs, feeds):
        t = sg.tensors[i]
        if t.dtype is np.int8:
            q = t.quantization
            x = np.clip(round_half_away(x / np.float64(np.float32(q.scale))) + q.zero_point, -128, 127).astype(np.int8)
        out.append(x)
    return out


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("kind", ["IF", "WHILE"])
def test_integer_lstm_in_a_subgraph(kind, variant):
    f = (if_model if kind == "IF" else while_model)(variant, seed=1)
    q = quantize_model(f, _samples(kind, 24, seed=2))
    m = _model(q)
    assert _float_tensors(m) == []  # int8 I/O: no float32 tensor anywhere, the LSTM included
    assert _check_ties(m) == (2 if kind == "IF" else 1)
    ((s, op),) = _lstm_ops(m)
    assert s == (1 if kind == "IF" else 2)
    sg = m.subgraphs[s]
    assert op.version == 1 and len(op.intermediates) == 5
    assert sg.tensors[op.inputs[0]].type_name == sg.tensors[op.outputs[0]].type_name == "INT8"
    h, c = sg.tensors[op.inputs[18]], sg.tensors[op.inputs[19]]
    assert h.is_variable and c.is_variable and (h.type_name, c.type_name) == ("INT8", "INT16")
    e = math.log2(float(c.quantization.scale))
    assert e == int(e) and -15 <= e <= -9
    assert [sg.tensors[i].type_name for i in op.intermediates] == ["INT16"] * 4 + ["INT8"]
    out = m.subgraphs[0].tensors[m.subgraphs[0].outputs[0]].quantization
    step, zp = float(out.scale), int(out.zero_point)
    worst = 0.0
    for feeds in _samples(kind, 6, seed=3):
        got = (_fresh_runs(q, _qfeed(m, feeds)).astype(np.float64) - zp) * step
        (want,) = run_twice(f, [feeds], litert=True)[0]
        worst = max(worst, float(np.abs(got - np.clip(want, (-128 - zp) * step, (127 - zp) * step)).max()) / step)
    # in output steps (0.004 for IF, 0.008 for WHILE); measured over 4 seeds: at most 1.1 without
    # layer norm, 5.1 with it (as in the main graph: a norm over 8 cells magnifies the rounding);
    # a wrong parameter shows as tens of steps
    assert worst <= (8 if variant == "layer_norm" else 3), worst


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def test_intermediates_calibrated_over_every_iteration():
    """One calibration sample running the WHILE body 5 times (the LSTM's state carrying from one
    iteration to the next: in LiteRT and numlite alike, see the module docstring).  The layer
    norm's gate sums, the cell state and the projection's input ``o * tanh(c)`` are computed here
    in numpy over the 5 iterations, and give the intermediates' scales (max|sum| / 32767 int16,
    the cell's power of two, max|hidden| / 127 int8); the first iteration alone would give others."""
    n_cell, kw = VARIANTS["layer_norm"]
    w = lstm_weights(SHAPE[2], n_cell, SHAPE[2], seed=5, **kw)
    w["b_c"] = (w["b_c"] + 1.5).astype(F32)  # the cell state grows over the iterations
    w["b_f"] = (w["b_f"] + 2.0).astype(F32)
    f = while_model("layer_norm", w=w)
    x0 = np.random.default_rng(6).uniform(-1, 1, SHAPE).astype(F32)
    cal = [[x0, np.array(5, np.int32)]]
    q = quantize_model(f, cal)
    w64 = {k: v.astype(np.float64) for k, v in w.items()}

    def norm(a: np.ndarray, g: str) -> np.ndarray:
        return (a - a.mean(-1, keepdims=True)) / np.sqrt(a.var(-1, keepdims=True) + 1e-8) * w64[f"ln_{g}"] + \
            w64[f"b_{g}"]

    h, c = np.zeros((1, SHAPE[2])), np.zeros((1, n_cell))
    x = x0.astype(np.float64)
    per_iter, outputs = [], []
    for _ in range(5):
        sums = {g: 0.0 for g in "ifco"}
        cmax = hmax = 0.0
        ys = []
        for t in range(SHAPE[1]):
            xt = x[:, t]
            a = {g: xt @ w64[f"wx_{g}"].T + h @ w64[f"wh_{g}"].T for g in "ifco"}
            for g in "ifco":
                sums[g] = max(sums[g], float(np.abs(a[g]).max()))
            i, fg, o = (_sigmoid(norm(a[g], g)) for g in "ifo")
            c = fg * c + i * np.tanh(norm(a["c"], "c"))
            hidden = o * np.tanh(c)
            h = hidden @ w64["pw"].T
            cmax, hmax = max(cmax, float(np.abs(c).max())), max(hmax, float(np.abs(hidden).max()))
            ys.append(h)
        per_iter.append((sums, cmax, hmax))
        x = np.stack(ys, axis=1)
        outputs.append(x)
    sums = {g: max(p[0][g] for p in per_iter) for g in "ifco"}
    cmax = max(p[1] for p in per_iter)
    hmax = max(p[2] for p in per_iter)
    first = per_iter[0]
    assert first[1] < cmax / 2 and first[2] < hmax  # the later iterations decide the scales
    m = _model(q)
    ((s, op),) = _lstm_ops(m)
    sg = m.subgraphs[s]
    inter = [sg.tensors[i] for i in op.intermediates]
    for k, g in enumerate("ifco"):
        assert float(inter[k].quantization.scale) == pytest.approx(sums[g] / 32767, rel=1e-5), g
    assert float(sg.tensors[op.inputs[19]].quantization.scale) == 2.0 ** (math.ceil(math.log2(cmax)) - 15)
    hid = inter[4].quantization
    assert (float(hid.scale), int(hid.zero_point)) == (pytest.approx(hmax / 127, rel=1e-5), 0)
    # the model's output after 5 iterations against numpy's, in output steps (clipped to the range)
    out = m.subgraphs[0].tensors[m.subgraphs[0].outputs[0]].quantization
    step, zp = float(out.scale), int(out.zero_point)
    got = (_fresh_runs(q, _qfeed(m, cal[0])).astype(np.float64) - zp) * step
    assert np.abs(got - np.clip(x, (-128 - zp) * step, (127 - zp) * step)).max() <= 8 * step
    # the report sees the LSTM's output in the body over the 5 iterations
    rows = {(r.subgraph, r.name): r for r in quantization_report(f, q, cal)}
    y = rows[(2, "y")]
    assert y.op == LSTM and y.subgraph_name == "body" and y.dtype == "INT8"
    assert (y.min, y.max) == (pytest.approx(min(float(v.min()) for v in outputs), abs=1e-5),
                              pytest.approx(max(float(v.max()) for v in outputs), abs=1e-5))
    assert 0 < y.rmse < 4 * step


def test_errors_and_float_fallback_name_the_subgraph(monkeypatch):
    f = while_model("basic", seed=7)
    cal = _samples("WHILE", 6, seed=8)
    with pytest.raises(QuantizationError, match=r"cannot quantize UNIDIRECTIONAL_SEQUENCE_LSTM \(nodes \[0\] of "
                                                r"subgraph 2 'body'\) to int16x8"):
        quantize_model(f, cal, mode="int16x8")
    relu = while_model("basic", seed=7, fused_activation_function="RELU")
    with pytest.raises(QuantizationError, match=r"UNIDIRECTIONAL_SEQUENCE_LSTM \(node 0 of subgraph 2 'body'\): "
                                                r"LiteRT's integer LSTM computes tanh"):
        quantize_model(relu, cal)
    real = nq._lstm_trace

    def off(*args, **kw):
        r = real(*args, **kw)
        r["y"] = r["y"] + 0.01
        return r

    monkeypatch.setattr(nq, "_lstm_trace", off)
    with pytest.raises(QuantizationError, match=r"\(node 0 of subgraph 2 'body'\): the quantizer's re-run of the "
                                                r"float LSTM differs from numlite's kernel by 0.01 on calibration "
                                                r"sample 0; keep it in float32 with float_ops=\{\(2, 0\)\}"):
        quantize_model(f, cal)
    # as the message says: the body's LSTM in float32 between DEQUANTIZE and QUANTIZE
    q = quantize_model(f, cal, float_ops={(2, 0)})
    m = _model(q)
    assert [op.op_name for op in m.subgraphs[2].operators] == ["DEQUANTIZE", LSTM, "ADD", "QUANTIZE"]
    ((s, op),) = _lstm_ops(m)
    assert m.subgraphs[s].tensors[op.inputs[19]].type_name == "FLOAT32"
    for feeds in _samples("WHILE", 3, seed=9):
        qf = _qfeed(m, feeds)
        (a,) = run_twice(q, [qf], litert=False)[0]
        (b,) = run_twice(q, [qf], litert=True, ref=True)[0]
        # float LSTMs differ by libm ulps, which may move a value across a rounding boundary of
        # the QUANTIZE after it: at most one step a loop iteration (measured: identical)
        assert np.abs(a.astype(np.int32) - b.astype(np.int32)).max() <= int(feeds[1])


def time_loop(seed: int = 0) -> bytes:
    """An LSTM cell stepped by a WHILE loop: for t < n: h = LSTM(x[t]) (the LSTM op, one step per
    run of the body, its state carried from step to step); the output is the last h."""
    t_max, n_batch, n_in, n_cell = 6, 2, 4, 6
    w = lstm_weights(n_in, n_cell, n_cell, seed=seed, peephole=True)
    mb = ModelBuilder()
    x = mb.input("x", (t_max, n_batch, n_in), F32)
    n = mb.input("n", (), np.int32)
    outs = [mb.tensor("i_out", (), np.int32), mb.tensor("n_out", (), np.int32),
            mb.tensor("x_out", (t_max, n_batch, n_in), F32), mb.tensor("h_out", (n_batch, n_cell), F32)]
    mb.op("WHILE", [mb.const("zero", np.array(0, np.int32)), n, x, mb.const("h0", np.zeros((n_batch, n_cell), F32))],
          outs, cond_subgraph_index=1, body_subgraph_index=2)
    mb.output(outs[3])
    mb.new_subgraph("cond")
    ci, cn = mb.input("ci", (), np.int32), mb.input("cn", (), np.int32)
    mb.input("cx", (t_max, n_batch, n_in), F32)
    mb.input("ch", (n_batch, n_cell), F32)
    go = mb.tensor("go", (), np.bool_)
    mb.op("LESS", [ci, cn], [go])
    mb.output(go)
    mb.new_subgraph("body")
    bi, bn = mb.input("bi", (), np.int32), mb.input("bn", (), np.int32)
    bx = mb.input("bx", (t_max, n_batch, n_in), F32)
    mb.input("bh", (n_batch, n_cell), F32)  # the loop carries h out; the LSTM keeps its own state
    xt = mb.tensor("xt", (n_batch, n_in), F32)
    mb.op("GATHER", [bx, bi], [xt], axis=0)
    d = direction_inputs(mb, w, n_batch, n_cell, n_cell)
    h = mb.tensor("h", (n_batch, n_cell), F32)
    mb.op("LSTM", [xt, *lstm_slots(d)], [h], options_table="LSTMOptions", fused_activation_function="TANH")
    ni = mb.tensor("ni", (), np.int32)
    mb.op("ADD", [bi, mb.const("one", np.array(1, np.int32))], [ni])
    mb.output(ni, bn, bx, h)
    return mb.build()


def test_lstm_cell_stepped_by_a_while_loop():
    """The same sequence through the LSTM op stepped by a loop: integer, bit-exact with LiteRT
    for 3 and 6 steps, within 3 output steps of float (measured 0.9)."""
    f = time_loop(seed=10)
    rng = np.random.default_rng(11)
    cal = [[rng.uniform(-1, 1, (6, 2, 4)).astype(F32), np.array(6, np.int32)] for _ in range(16)]
    q = quantize_model(f, cal)
    m = _model(q)
    assert _float_tensors(m) == []
    assert [op.op_name for op in m.subgraphs[2].operators] == ["GATHER", "LSTM", "ADD"]
    ((s, op),) = [(s, op) for s, op in ((sg.index, o) for sg in m.subgraphs for o in sg.operators)
                  if op.op_name == "LSTM"]
    assert s == 2 and m.subgraphs[2].tensors[op.inputs[19]].type_name == "INT16"
    out = m.subgraphs[0].tensors[m.subgraphs[0].outputs[0]].quantization
    step, zp = float(out.scale), int(out.zero_point)
    worst = 0.0
    for steps in (3, 6):
        for _ in range(3):
            feeds = [rng.uniform(-1, 1, (6, 2, 4)).astype(F32), np.array(steps, np.int32)]
            got = (_fresh_runs(q, _qfeed(m, feeds)).astype(np.float64) - zp) * step
            (want,) = run_twice(f, [feeds], litert=True)[0]
            worst = max(worst, float(np.abs(got - np.clip(want, (-128 - zp) * step, (127 - zp) * step)).max()) / step)
    assert worst <= 3, worst
