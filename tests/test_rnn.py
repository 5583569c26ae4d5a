"""RNN, UNIDIRECTIONAL_SEQUENCE_RNN and BIDIRECTIONAL_SEQUENCE_RNN against LiteRT 2.3.

Every model is run for two ``invoke()`` calls with different inputs, so the hidden-state variables
carried from the first call into the second are checked too.

Tolerances: float32 models compare with ``rtol=atol=1e-5``: each output is a float32 dot product of
``I + U <= 40`` terms of magnitude below 1 that LiteRT sums in another order than BLAS (a few ulps,
about 1e-7 absolute, per step), then fed back through at most a few dozen recurrent steps with
bounded activations; TANH is Eigen's approximation in LiteRT (an ulp or two).  Hybrid (int8 weight)
models reproduce LiteRT's float32 arithmetic step by step and compare bit-exactly (``0``) except
under TANH, where the ulp-level differences of the two tanh implementations can move a hidden value
across a quantization step in a later time step, so they get ``rtol=atol=1e-5`` too.
"""

import numpy as np
import pytest

import numlite
from numlite.builder import ModelBuilder

EXACT = {"rtol": 0.0, "atol": 0.0}
CLOSE = {"rtol": 1e-5, "atol": 1e-5}


def _weights(mb, name, shape, rng, hybrid, scale=0.5):
    w = rng.uniform(-scale, scale, shape).astype(np.float32)
    if not hybrid:
        return mb.const(name, w)
    s = np.float32(np.abs(w).max() / 127)
    q = np.clip(np.round(w / s), -127, 127).astype(np.int8)
    return mb.const(name, q, quantization={"scale": [s], "zero_point": [0]})


def _invoke_twice(model, feeds_list, ref=False, litert=True, ours=True):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    results = []
    for cls in [numlite.Interpreter] * ours + [Interpreter] * litert:
        kw = {"experimental_op_resolver_type": OpResolverType.BUILTIN_REF} if (ref and cls is Interpreter) else {}
        it = cls(model_content=model, **kw)
        it.allocate_tensors()
        ins, outs = it.get_input_details(), it.get_output_details()
        got = []
        for feeds in feeds_list:
            for d, v in zip(ins, feeds):
                it.set_tensor(d["index"], v)
            it.invoke()
            got.append([it.get_tensor(d["index"]) for d in outs])
        results.append(got)
    return results


def _compare(model, feeds_list, tol, ref=False):
    ours, theirs = _invoke_twice(model, feeds_list, ref=ref)
    for call, (a_list, b_list) in enumerate(zip(ours, theirs)):
        for k, (a, b) in enumerate(zip(a_list, b_list)):
            assert a.shape == b.shape and a.dtype == b.dtype, (call, k, a.shape, b.shape)
            np.testing.assert_allclose(a, b, err_msg=f"invoke {call} output {k}", **tol)
    return ours


def _tol(hybrid, act):
    return EXACT if hybrid and act != "TANH" else CLOSE


# --- RNN ------------------------------------------------------------------------------------
@pytest.mark.parametrize("hybrid,asym", [(False, False), (True, False), (True, True)])
@pytest.mark.parametrize("act", ["NONE", "RELU", "TANH", "RELU_N1_TO_1"])
@pytest.mark.parametrize("batch,isz,units", [(1, 3, 4), (3, 10, 7)])
def test_rnn(hybrid, asym, act, batch, isz, units):
    rng = np.random.default_rng(batch * 100 + units)
    mb = ModelBuilder()
    x = mb.input("x", (batch, isz), np.float32)
    w = _weights(mb, "w", (units, isz), rng, hybrid)
    r = _weights(mb, "r", (units, units), rng, hybrid)
    b = mb.const("b", rng.uniform(-0.3, 0.3, units).astype(np.float32))
    h = mb.tensor("h", (batch, units), np.float32, is_variable=True)
    y = mb.tensor("y", (batch, units), np.float32)
    mb.op("RNN", [x, w, r, b, h], [y], version=3 if asym else (2 if hybrid else 1), options_table="RNNOptions",
          fused_activation_function=act, asymmetric_quantize_inputs=asym)
    mb.output(y)
    feeds = [[rng.uniform(-1, 1, (batch, isz)).astype(np.float32)] for _ in range(3)]
    _compare(mb.build(), feeds, _tol(hybrid, act))


# --- UNIDIRECTIONAL_SEQUENCE_RNN ---------------------------------------------------------------
def _uni_model(rng, t, batch, isz, units, time_major, hybrid, asym, act):
    mb = ModelBuilder()
    shape = (t, batch, isz) if time_major else (batch, t, isz)
    x = mb.input("x", shape, np.float32)
    w = _weights(mb, "w", (units, isz), rng, hybrid)
    r = _weights(mb, "r", (units, units), rng, hybrid)
    b = mb.const("b", rng.uniform(-0.3, 0.3, units).astype(np.float32))
    h = mb.tensor("h", (batch, units), np.float32, is_variable=True)
    y = mb.tensor("y", (t, batch, units) if time_major else (batch, t, units), np.float32)
    mb.op("UNIDIRECTIONAL_SEQUENCE_RNN", [x, w, r, b, h], [y], version=3 if asym else (2 if hybrid else 1),
          options_table="SequenceRNNOptions", time_major=time_major, fused_activation_function=act,
          asymmetric_quantize_inputs=asym)
    mb.output(y)
    return mb.build(), shape


@pytest.mark.parametrize("hybrid,asym", [(False, False), (True, False), (True, True)])
@pytest.mark.parametrize("time_major", [True, False])
@pytest.mark.parametrize("t,batch", [(1, 1), (5, 1), (1, 3), (6, 3)])
def test_unidirectional(hybrid, asym, time_major, t, batch):
    rng = np.random.default_rng(t * 10 + batch)
    model, shape = _uni_model(rng, t, batch, 9, 6, time_major, hybrid, asym, "RELU")
    feeds = [[rng.uniform(-1, 1, shape).astype(np.float32)] for _ in range(2)]
    _compare(model, feeds, _tol(hybrid, "RELU"))


@pytest.mark.parametrize("hybrid", [False, True])
@pytest.mark.parametrize("act", ["NONE", "TANH", "RELU6", "SIGN_BIT"])
def test_unidirectional_activations(hybrid, act):
    rng = np.random.default_rng(7)
    model, shape = _uni_model(rng, 4, 2, 5, 8, False, hybrid, False, act)
    feeds = [[rng.uniform(-2, 2, shape).astype(np.float32)] for _ in range(2)]
    _compare(model, feeds, _tol(hybrid, act))


def test_unidirectional_zero_input_rows():
    """Whole-zero steps and rows: LiteRT skips their products; the results must not change."""
    rng = np.random.default_rng(3)
    model, shape = _uni_model(rng, 4, 3, 7, 5, True, True, True, "RELU")
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    x[1] = 0
    x[2, 1] = 0
    _compare(model, [[x], [np.zeros_like(x)]], EXACT)


# --- BIDIRECTIONAL_SEQUENCE_RNN ----------------------------------------------------------------
def _bidi_model(rng, t, batch, isz, ufw, ubw, time_major, hybrid, asym, act, merge, aux=None, aux_w=False):
    mb = ModelBuilder()
    lead = (t, batch) if time_major else (batch, t)
    x = mb.input("x", (*lead, isz), np.float32)
    ins = [x]
    for d, u in (("fw", ufw), ("bw", ubw)):
        ins += [_weights(mb, f"{d}w", (u, isz), rng, hybrid), _weights(mb, f"{d}r", (u, u), rng, hybrid),
                mb.const(f"{d}b", rng.uniform(-0.3, 0.3, u).astype(np.float32)),
                mb.tensor(f"{d}h", (batch, u), np.float32, is_variable=True)]
    shapes = [(*lead, isz)]
    if aux is None:
        ins += [-1, -1, -1]
    else:
        ins.append(mb.input("aux", (*lead, aux), np.float32))
        shapes.append((*lead, aux))
        if aux_w:
            ins += [_weights(mb, "fwa", (ufw, aux), rng, hybrid), _weights(mb, "bwa", (ubw, aux), rng, hybrid)]
        else:
            ins += [-1, -1]
    if merge:
        outs = [mb.tensor("y", (*lead, ufw + ubw), np.float32)]
    else:
        outs = [mb.tensor("yf", (*lead, ufw), np.float32), mb.tensor("yb", (*lead, ubw), np.float32)]
    mb.op("BIDIRECTIONAL_SEQUENCE_RNN", ins, outs, version=3 if asym else (2 if hybrid else 1),
          options_table="BidirectionalSequenceRNNOptions", time_major=time_major, fused_activation_function=act,
          merge_outputs=merge, asymmetric_quantize_inputs=asym)
    mb.output(*outs)
    return mb.build(), shapes


def _check_bidi(seed, t, batch, isz, ufw, ubw, time_major, hybrid, asym, act, merge, aux=None, aux_w=False, lim=1.0):
    args = (t, batch, isz, ufw, ubw, time_major, hybrid, asym, act)
    rng = np.random.default_rng(seed)
    model, shapes = _bidi_model(rng, *args, merge, aux=aux, aux_w=aux_w)
    feeds = [[rng.uniform(-lim, lim, s).astype(np.float32) for s in shapes] for _ in range(2)]
    if hybrid and not asym and merge and time_major and batch > 1:
        # LiteRT 2.3.0 crashes here (it offsets a null zero-point pointer per batch row): compare
        # with its unmerged outputs of the same model instead
        unmerged, _ = _bidi_model(np.random.default_rng(seed), *args, False, aux=aux, aux_w=aux_w)
        ours = _invoke_twice(model, feeds, litert=False)[0]
        theirs = _invoke_twice(unmerged, feeds, ours=False)[0]
        for a, (f, b) in zip(ours, theirs):
            np.testing.assert_allclose(a[0], np.concatenate([f, b], axis=-1), **_tol(hybrid, act))
        return
    _compare(model, feeds, _tol(hybrid, act))


@pytest.mark.parametrize("hybrid,asym", [(False, False), (True, False), (True, True)])
@pytest.mark.parametrize("time_major", [True, False])
@pytest.mark.parametrize("merge", [True, False])
@pytest.mark.parametrize("t,batch", [(1, 2), (4, 1), (5, 3)])
def test_bidirectional(hybrid, asym, time_major, merge, t, batch):
    _check_bidi(t * 10 + batch, t, batch, 6, 5, 4, time_major, hybrid, asym, "RELU", merge)


@pytest.mark.parametrize("hybrid,asym", [(False, False), (True, False), (True, True)])
@pytest.mark.parametrize("time_major", [True, False])
@pytest.mark.parametrize("merge", [True, False])
@pytest.mark.parametrize("aux,aux_w", [(6, False), (6, True), (8, True)])
def test_bidirectional_aux(hybrid, asym, time_major, merge, aux, aux_w):
    """Aux input with weights (cross links; 8 > I exercises LiteRT's input-size aux stride) and
    without (the backward cell's input in time-major mode)."""
    _check_bidi(aux, 3, 2, 6, 4, 5, time_major, hybrid, asym, "NONE", merge, aux=aux, aux_w=aux_w)


def test_bidirectional_tanh():
    _check_bidi(5, 4, 2, 3, 6, 6, False, False, False, "TANH", True, lim=2.0)


def test_bidirectional_narrow_aux_rejected():
    rng = np.random.default_rng(0)
    model, _ = _bidi_model(rng, 3, 2, 6, 4, 4, True, False, False, "NONE", True, aux=4, aux_w=True)
    it = numlite.Interpreter(model_content=model)
    with pytest.raises(Exception, match="BIDIRECTIONAL_SEQUENCE_RNN.*aux input"):
        it.allocate_tensors()


def test_hidden_state_must_be_variable():
    mb = ModelBuilder()
    x = mb.input("x", (2, 3), np.float32)
    w = mb.const("w", np.zeros((4, 3), np.float32))
    r = mb.const("r", np.zeros((4, 4), np.float32))
    b = mb.const("b", np.zeros(4, np.float32))
    h = mb.input("h", (2, 4), np.float32)
    y = mb.tensor("y", (2, 4), np.float32)
    mb.op("RNN", [x, w, r, b, h], [y], options_table="RNNOptions")
    mb.output(y)
    it = numlite.Interpreter(model_content=mb.build())
    with pytest.raises(Exception, match=r"RNN \(node 0\).*hidden state.*variable"):
        it.allocate_tensors()


def test_state_persists_and_resets():
    """The hidden state survives invoke() and reset_all_variables() clears it."""
    rng = np.random.default_rng(1)
    model, shape = _uni_model(rng, 3, 2, 4, 5, True, False, False, "TANH")
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    it = numlite.Interpreter(model_content=model)
    it.allocate_tensors()
    i, o = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
    it.set_tensor(i, x)
    it.invoke()
    first = it.get_tensor(o)
    it.invoke()
    assert not np.array_equal(first, it.get_tensor(o))
    if hasattr(it, "reset_all_variables"):
        it.reset_all_variables()
        it.invoke()
        np.testing.assert_array_equal(first, it.get_tensor(o))
