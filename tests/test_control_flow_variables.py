"""Variable tensors (an LSTM's state) inside a WHILE body or an IF branch, as LiteRT runs them:
the subgraph's memory is released after each eval of its WHILE / IF op (``ReleaseMemory`` in
LiteRT's while.cc / if.cc) and allocated again at the next, which resets its variables; so the
state carries from one loop iteration to the next, not from one invoke to the next.  With
``experimental_preserve_all_tensors=True`` nothing is released and the state carries on.
Checked against LiteRT over several invokes of one interpreter, both ways."""

from __future__ import annotations

import numpy as np
import pytest
from test_quantize_lstm_control_flow import SHAPE, if_model, while_model

import numlite


def _invokes(runtime, model: bytes, feeds: list[list[np.ndarray]], preserve: bool) -> list[np.ndarray]:
    it = runtime(model_content=model, experimental_preserve_all_tensors=preserve)
    it.allocate_tensors()
    outs = []
    for feed in feeds:
        for d, v in zip(it.get_input_details(), feed):
            it.set_tensor(d["index"], v)
        it.invoke()
        outs.append(np.array(it.get_tensor(it.get_output_details()[0]["index"])))
    return outs


@pytest.mark.parametrize("preserve", [False, True])
@pytest.mark.parametrize("kind", ["if", "while"])
def test_state_in_a_control_flow_subgraph_as_litert(kind, preserve):
    from ai_edge_litert.interpreter import Interpreter

    model = if_model() if kind == "if" else while_model()
    x = np.random.default_rng(0).uniform(-1, 1, SHAPE).astype(np.float32)
    if kind == "if":
        by_name = {"c": np.array(True), "x": x}
    else:
        by_name = {"x": x, "n": np.array(3, np.int32)}
    names = [d["name"] for d in numlite.Interpreter(model_content=model).get_input_details()]
    feed = [by_name[n] for n in names]
    ours = _invokes(numlite.Interpreter, model, [feed] * 3, preserve)
    theirs = _invokes(Interpreter, model, [feed] * 3, preserve)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # the float LSTM: libm's tanh
    carried = np.max(np.abs(ours[1] - ours[0])) > 1e-3
    assert carried == preserve  # released: every invoke starts from zero state


def test_if_branch_state_resets_each_time_the_if_runs_inside_a_loop():
    """An IF inside a WHILE body: its branch is released after every IF eval, so an LSTM in the
    branch starts from zero state at every iteration of the loop (LiteRT); with every tensor
    preserved it carries through the iterations and the invokes.  Both as LiteRT."""
    from ai_edge_litert.interpreter import Interpreter
    from lstm_util import lstm_weights
    from test_quantize_lstm_control_flow import VARIANTS, _lstm

    from numlite.builder import ModelBuilder

    n_cell, kw = VARIANTS["basic"]
    w = lstm_weights(SHAPE[2], n_cell, SHAPE[2], seed=4, **kw)
    mb = ModelBuilder()
    x = mb.input("x", SHAPE, np.float32)
    n = mb.input("n", (), np.int32)
    outs = [mb.tensor("i_out", (), np.int32), mb.tensor("n_out", (), np.int32), mb.tensor("x_out", SHAPE, np.float32)]
    mb.op("WHILE", [mb.const("zero", np.array(0, np.int32)), n, x], outs, cond_subgraph_index=1,
          body_subgraph_index=2)
    mb.output(outs[2])
    mb.new_subgraph("cond")
    ci, cn = mb.input("ci", (), np.int32), mb.input("cn", (), np.int32)
    mb.input("cx", SHAPE, np.float32)
    go = mb.tensor("go", (), np.bool_)
    mb.op("LESS", [ci, cn], [go])
    mb.output(go)
    mb.new_subgraph("body")
    bi, bn, bx = mb.input("bi", (), np.int32), mb.input("bn", (), np.int32), mb.input("bx", SHAPE, np.float32)
    t = mb.tensor("t", (), np.bool_)
    mb.op("GREATER_EQUAL", [bi, mb.const("zero_b", np.array(0, np.int32))], [t])
    y = mb.tensor("y", SHAPE, np.float32)
    mb.op("IF", [t, bx], [y], then_subgraph_index=3, else_subgraph_index=4)
    ni = mb.tensor("ni", (), np.int32)
    mb.op("ADD", [bi, mb.const("one", np.array(1, np.int32))], [ni])
    mb.output(ni, bn, y)
    mb.new_subgraph("then")
    mb.output(_lstm(mb, mb.input("tx", SHAPE, np.float32), w, n_cell))
    mb.new_subgraph("else")
    mb.output(mb.input("ex", SHAPE, np.float32))
    model = mb.build()
    xv = np.random.default_rng(1).uniform(-1, 1, SHAPE).astype(np.float32)
    names = [d["name"] for d in numlite.Interpreter(model_content=model).get_input_details()]
    feed = [{"x": xv, "n": np.array(3, np.int32)}[k] for k in names]
    for preserve in (False, True):
        ours = _invokes(numlite.Interpreter, model, [feed] * 2, preserve)
        theirs = _invokes(Interpreter, model, [feed] * 2, preserve)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_calibration_sees_the_state_as_deployed():
    """The quantizer calibrates with every tensor preserved (to read them), yet a WHILE body's
    LSTM state is reset at each eval as deployed: the same sample twice gives the ranges of
    one sample; the main graph's state (in no WHILE) would carry on."""
    from numlite.quantize import calibrate_subgraphs

    model = while_model()
    x = np.random.default_rng(2).uniform(-1, 1, SHAPE).astype(np.float32)
    names = [d["name"] for d in numlite.Interpreter(model_content=model).get_input_details()]
    feed = [{"x": x, "n": np.array(4, np.int32)}[k] for k in names]
    once = calibrate_subgraphs(model, [feed])
    twice = calibrate_subgraphs(model, [feed, feed])
    body = {k: v for k, v in once.items() if k[0] == 2}
    assert body and all(twice[k] == v for k, v in body.items())


@pytest.mark.parametrize("preserve", [False, True])
def test_state_in_a_composite_decomposition_as_litert(preserve):
    """STABLEHLO_COMPOSITE runs its decomposition subgraph, which LiteRT releases after each eval
    too (stablehlo_composite.cc): an LSTM there starts every invoke from zero state."""
    from ai_edge_litert.interpreter import Interpreter
    from lstm_util import lstm_weights
    from test_quantize_lstm_control_flow import VARIANTS, _lstm

    from numlite.builder import ModelBuilder

    n_cell, kw = VARIANTS["basic"]
    w = lstm_weights(SHAPE[2], n_cell, SHAPE[2], seed=5, **kw)
    mb = ModelBuilder()
    x = mb.input("x", SHAPE, np.float32)
    o = mb.tensor("o", SHAPE, np.float32)
    mb.op("STABLEHLO_COMPOSITE", [x], [o], options_table="StableHLOCompositeOptions", name="odml.lstm",
          decomposition_subgraph_index=1, composite_attributes=np.zeros(0, np.uint8), version=1)
    mb.output(o)
    mb.new_subgraph("decomposition")
    mb.output(_lstm(mb, mb.input("dx", SHAPE, np.float32), w, n_cell))
    model = mb.build()
    feed = [np.random.default_rng(3).uniform(-1, 1, SHAPE).astype(np.float32)]
    ours = _invokes(numlite.Interpreter, model, [feed] * 3, preserve)
    theirs = _invokes(Interpreter, model, [feed] * 3, preserve)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert (np.max(np.abs(ours[1] - ours[0])) > 1e-3) == preserve
