"""Dynamic-range quantization (``numlite.quantize_weights.quantize_dynamic_range``) of the
recurrent ops (LSTM, UNIDIRECTIONAL_SEQUENCE_LSTM, BIDIRECTIONAL_SEQUENCE_LSTM): float models,
quantized, run on numlite and on LiteRT (default kernels and BUILTIN_REF) over several invokes
that carry the variable states, and against the float model.

Tolerances.  numlite against LiteRT on the same hybrid model: 1e-5 (rtol and atol): numlite
reproduces LiteRT's per-row input quantization, the exact int8 x int8 products and LiteRT's
float32 rescaling order, so what is left are the ulps of the gate activations (LiteRT's Eigen
logistic / tanh against NumPy's), as tests/test_lstm.py measures (<= 1.5e-7).  Hybrid against
float: the largest error over all outputs and invokes at most ``BOUND`` (4 %) of the float
output's largest magnitude: 8-bit weights (per tensor) and 8-bit inputs (per batch row) give
about 1 % here; and the error must be above 1e-4 (the weights really are int8).

RNN, SVDF (below): bit-exact (0) with RELU / NONE; 1e-5 with TANH.  A caveat on every TANH
comparison of a hybrid recurrent op: the hidden value is requantized at every step, so an ulp
of tanh can flip one rounding a step later and move outputs by about 1e-3; the seeds here do
not (the time-major BIDIRECTIONAL_SEQUENCE_RNN, 16 steps per invoke, did: it runs RELU).
"""

from __future__ import annotations

import numpy as np
import pytest
from lstm_util import bidi_model, direction_inputs, lstm_slots, lstm_weights, run_twice, uni_model

from numlite.builder import ModelBuilder
from numlite.graph import load_model
from numlite.quantize import QuantizationError
from numlite.quantize_weights import HYBRID_WEIGHTS, quantize_dynamic_range

pytest.importorskip("ai_edge_litert.interpreter")

TOL = {"rtol": 1e-5, "atol": 1e-5}
BOUND = 0.04
VARIANTS = {
    "basic": {},
    "cifg": dict(cifg=True),
    "peephole": dict(peephole=True),
    "projection": dict(projection=True, proj_bias=True),
    "layer_norm": dict(layer_norm=True),
    "all": dict(cifg=True, peephole=True, projection=True, proj_bias=True, layer_norm=True),
}
FLOAT_SLOTS = {*range(12, 16), 17, 18, 19, *range(20, 24)}  # biases, projection bias, states, layer norm


def feeds(shape, n=3, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return [[rng.uniform(-scale, scale, shape).astype(np.float32)] for _ in range(n)]


def check_runs(fmodel: bytes, qmodel: bytes, feed_list, tol=TOL, bound=BOUND) -> float:
    """numlite == LiteRT (both resolvers) on the hybrid model over all invokes; the hybrid model
    close to the float one; returns the relative error against float."""
    ours = run_twice(qmodel, feed_list, litert=False)
    for ref in (False, True):
        theirs = run_twice(qmodel, feed_list, litert=True, ref=ref)
        for k, (a_list, b_list) in enumerate(zip(ours, theirs)):
            for j, (a, b) in enumerate(zip(a_list, b_list)):
                assert a.shape == b.shape and a.dtype == b.dtype == np.float32
                np.testing.assert_allclose(a, b, **tol, err_msg=f"ref={ref} invoke {k} output {j}")
    fl = run_twice(fmodel, feed_list, litert=False)
    err = max(float(np.max(np.abs(a - b))) / float(np.max(np.abs(b))) for al, bl in zip(ours, fl)
              for a, b in zip(al, bl))
    assert 1e-4 < err < bound, err
    return err


def check_weights(fmodel: bytes, qmodel: bytes, op_name: str, version: int, asym: bool = True) -> list[int]:
    """The op's weights are int8, symmetric, one scale each, within half a step of the float
    values; its other inputs are unchanged; version and options as TensorFlow writes them.
    Returns the quantized slots."""
    f_sg, q_sg = load_model(model_content=fmodel).subgraphs[0], load_model(model_content=qmodel).subgraphs[0]
    (f_op,) = [op for op in f_sg.operators if op.op_name == op_name]
    (q_op,) = [op for op in q_sg.operators if op.op_name == op_name]
    assert q_op.version == version
    if asym:
        assert bool(q_op.options["asymmetric_quantize_inputs"]) is True
    done = []
    for slot, (fi, qi) in enumerate(zip(f_op.inputs, q_op.inputs)):
        if fi < 0:
            assert qi < 0
            continue
        ft, qt = f_sg.tensors[fi], q_sg.tensors[qi]
        if slot in HYBRID_WEIGHTS[op_name].slots:
            assert qt.type_name == "INT8", (slot, qt.name)
            s = qt.quantization.scales
            assert s.size == 1 and not np.any(qt.quantization.zero_points)
            np.testing.assert_allclose(s[0], np.abs(ft.data).max() / 127, rtol=1e-6)
            assert np.abs(qt.data).max() == 127
            assert np.max(np.abs(qt.data * s[0] - ft.data)) <= s[0] / 2 * (1 + 1e-5)
            done.append(slot)
        else:
            assert qt.type_name == ft.type_name and qt.is_variable == ft.is_variable, (slot, qt.name)
            if ft.data is not None:
                np.testing.assert_array_equal(qt.data, ft.data)
    return done


# -- UNIDIRECTIONAL_SEQUENCE_LSTM ---------------------------------------------------------------
@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("time_major", [True, False])
def test_uni_lstm(variant, time_major):
    nc, n_in = 16, 12
    no = 8 if VARIANTS[variant].get("projection") else nc
    w = lstm_weights(n_in, nc, no, seed=1, **VARIANTS[variant])
    shape = (5, 3, n_in) if time_major else (3, 5, n_in)
    fm = uni_model(shape, w, nc, no, time_major=time_major, fused_activation_function="TANH")
    qm = quantize_dynamic_range(fm, min_elements=8)
    slots = check_weights(fm, qm, "UNIDIRECTIONAL_SEQUENCE_LSTM", 3)
    gates = 3 if VARIANTS[variant].get("cifg") else 4
    peep = (gates - 1) if VARIANTS[variant].get("peephole") else 0
    assert len(slots) == 2 * gates + peep + bool(VARIANTS[variant].get("projection"))
    check_runs(fm, qm, feeds(shape, seed=2))


def test_uni_lstm_default_threshold_is_per_op():
    """With the converter's 1024: each weight must reach it for the op to be hybrid (TensorFlow's
    rule for this op); with weight_only="none" one small weight (a peephole of 32 values) keeps
    the whole op float (the default puts the others behind DEQUANTIZE:
    tests/test_quantize_weights_only.py)."""
    n_in, nc = 40, 32  # input weights 1280 values, recurrent 1024
    shape = (4, 2, n_in)
    fm = uni_model(shape, lstm_weights(n_in, nc, nc, seed=3), nc, nc, fused_activation_function="TANH")
    qm = quantize_dynamic_range(fm)
    assert len(check_weights(fm, qm, "UNIDIRECTIONAL_SEQUENCE_LSTM", 3)) == 8
    assert len(qm) < 0.4 * len(fm)
    check_runs(fm, qm, feeds(shape, seed=4))
    peep = uni_model(shape, lstm_weights(n_in, nc, nc, peephole=True, seed=3), nc, nc,
                     fused_activation_function="TANH")
    with pytest.raises(QuantizationError, match="at least 1024 values each: UNIDIRECTIONAL_SEQUENCE_LSTM .*weight "
                                                "'p_i' has 32 values, fewer than 1024"):
        quantize_dynamic_range(peep, weight_only="none")
    small = uni_model((4, 2, 30), lstm_weights(30, nc, nc, seed=3), nc, nc, fused_activation_function="TANH")
    with pytest.raises(QuantizationError, match="UNIDIRECTIONAL_SEQUENCE_LSTM .*'wx_i' has 960 values"):
        quantize_dynamic_range(small, weight_only="none")  # 30 x 32 = 960 input weights


def test_uni_lstm_large_state_many_invokes():
    """64 cells, 6 invokes of 8 steps: the quantization error does not grow with the carried state."""
    n_in, nc = 32, 64
    shape = (8, 2, n_in)
    fm = uni_model(shape, lstm_weights(n_in, nc, nc, layer_norm=True, seed=5), nc, nc,
                   fused_activation_function="TANH")
    qm = quantize_dynamic_range(fm)
    check_weights(fm, qm, "UNIDIRECTIONAL_SEQUENCE_LSTM", 3)
    check_runs(fm, qm, feeds(shape, n=6, seed=6))


def test_uni_lstm_diagonal_stays_float():
    w = lstm_weights(40, 32, 32, seed=7, diag=True)
    fm = uni_model((3, 2, 40), w, 32, 32, fused_activation_function="TANH", diagonal_recurrent_tensors=True)
    with pytest.raises(QuantizationError, match="diagonal recurrent weights"):
        quantize_dynamic_range(fm, min_elements=8, weight_only="none")


# -- LSTM (one step per invoke) -----------------------------------------------------------------
@pytest.mark.parametrize("variant", ["basic", "peephole", "projection", "all"])
def test_lstm_op(variant):
    nc, n_in = 16, 10
    no = 8 if VARIANTS[variant].get("projection") else nc
    w = lstm_weights(n_in, nc, no, seed=8, **VARIANTS[variant])
    fm = uni_model((3, n_in), w, nc, no, op="LSTM", fused_activation_function="TANH", cell_clip=3.0)
    qm = quantize_dynamic_range(fm, min_elements=8)
    check_weights(fm, qm, "LSTM", 4)
    check_runs(fm, qm, feeds((3, n_in), n=6, seed=9))


def test_lstm_basic_kernel_is_left_alone():
    w = lstm_weights(10, 16, 16, seed=8)
    fm = uni_model((3, 10), w, 16, 16, op="LSTM", fused_activation_function="TANH", kernel_type="BASIC")
    with pytest.raises(QuantizationError, match="LSTM .*the BASIC kernel has no hybrid form"):
        quantize_dynamic_range(fm, min_elements=8)


# -- BIDIRECTIONAL_SEQUENCE_LSTM ----------------------------------------------------------------
@pytest.mark.parametrize("variant", ["basic", "peephole", "all"])
@pytest.mark.parametrize("merge", [False, True])
@pytest.mark.parametrize("aux", [False, True])
def test_bidi_lstm(variant, merge, aux):
    nc, n_in = 12, 10
    no = 6 if VARIANTS[variant].get("projection") else nc
    n_aux = 4 if aux else 0
    wf = lstm_weights(n_in, nc, no, seed=10, n_aux=n_aux, **VARIANTS[variant])
    wb = lstm_weights(n_in, nc, no, seed=11, n_aux=n_aux, **VARIANTS[variant])
    shape = (4, 2, n_in)
    fm = bidi_model(shape, wf, wb, nc, no, no, merge_outputs=merge, aux_features=n_aux, aux_weights=aux,
                    fused_activation_function="TANH")
    qm = quantize_dynamic_range(fm, min_elements=8)
    slots = check_weights(fm, qm, "BIDIRECTIONAL_SEQUENCE_LSTM", 3)
    cifg = bool(VARIANTS[variant].get("cifg"))
    assert [s for s in slots if s >= 40] == ([s for s in range(40, 48) if not (cifg and s in (40, 44))] if aux else [])
    rng = np.random.default_rng(12)
    fl = [[rng.uniform(-1, 1, shape).astype(np.float32)] + ([rng.uniform(-1, 1, (4, 2, n_aux)).astype(np.float32)]
                                                            if aux else []) for _ in range(3)]
    check_runs(fm, qm, fl)


# -- errors and what stays ----------------------------------------------------------------------
def test_weight_shared_with_another_op_gets_its_own_int8_copy():
    """A weight another (float) op reads too: the LSTM reads an int8 copy, the other op the float."""
    w = lstm_weights(16, 16, 16, seed=13)
    mb = ModelBuilder()
    x = mb.input("x", (3, 2, 16), np.float32)
    d = direction_inputs(mb, w, 2, 16, 16)
    y, z = mb.tensor("y", (3, 2, 16), np.float32), mb.tensor("z", (16, 16), np.float32)
    mb.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [x, *lstm_slots(d)], [y], time_major=True,
          fused_activation_function="TANH")
    mb.op("ADD", [d["wx_i"], d["wh_i"]], [z])
    mb.output(y, z)
    fm = mb.build()
    qm = quantize_dynamic_range(fm, min_elements=8)
    sg = load_model(model_content=qm).subgraphs[0]
    lstm, add = sg.operators
    assert sg.tensors[lstm.inputs[1]].name == "wx_i_int8" and sg.tensors[lstm.inputs[1]].type_name == "INT8"
    assert [sg.tensors[i].type_name for i in add.inputs] == ["FLOAT32", "FLOAT32"]
    assert sg.tensors[lstm.inputs[2]].type_name == "INT8" and sg.tensors[lstm.inputs[2]].name == "wx_f"
    f = feeds((3, 2, 16), seed=14)
    np.testing.assert_array_equal(run_twice(qm, f, litert=False)[0][1], run_twice(fm, f, litert=False)[0][1])
    check_runs(fm, qm, f)


def test_weight_in_two_slots_is_quantized_once():
    """One constant as both the input and the forget gate's input weights: one int8 tensor, read
    in both slots."""
    w = lstm_weights(16, 16, 16, seed=16)
    mb = ModelBuilder()
    x = mb.input("x", (3, 2, 16), np.float32)
    d = direction_inputs(mb, w, 2, 16, 16)
    d["wx_f"] = d["wx_i"]
    y = mb.tensor("y", (3, 2, 16), np.float32)
    mb.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [x, *lstm_slots(d)], [y], time_major=True, fused_activation_function="TANH")
    mb.output(y)
    fm = mb.build()
    qm = quantize_dynamic_range(fm, min_elements=8)
    sg = load_model(model_content=qm).subgraphs[0]
    (op,) = sg.operators
    assert op.inputs[1] == op.inputs[2] and sg.tensors[op.inputs[1]].type_name == "INT8"
    assert sum(t.type_name == "INT8" for t in sg.tensors) == 8 - 1
    check_runs(fm, qm, feeds((3, 2, 16), seed=17))


def test_already_hybrid_lstm_is_refused():
    w = lstm_weights(8, 8, 8, seed=15)
    hm = uni_model((3, 2, 8), w, 8, 8, hybrid=True, fused_activation_function="TANH")
    with pytest.raises(QuantizationError, match="already quantized"):
        quantize_dynamic_range(hm, min_elements=8)


# -- RNN, UNIDIRECTIONAL_SEQUENCE_RNN, BIDIRECTIONAL_SEQUENCE_RNN, SVDF ---------------------------
# These kernels (LiteRT's and numlite's) quantize the input rows and multiply in integers, then
# apply the activation: with RELU / NONE numlite is bit-exact with LiteRT; with TANH the ulps of
# the two tanh implementations remain (1e-5).
EXACT = {"rtol": 0.0, "atol": 0.0}


def _rnn_model(op, units, isz, act, *, t=5, batch=3, time_major=False, seed=20, scale=0.5):
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    x_shape = (batch, isz) if op == "RNN" else ((t, batch, isz) if time_major else (batch, t, isz))
    x = mb.input("x", x_shape, np.float32)
    w = mb.const("w", rng.uniform(-scale, scale, (units, isz)).astype(np.float32))
    r = mb.const("r", (rng.uniform(-scale, scale, (units, units)) / np.sqrt(units)).astype(np.float32))
    b = mb.const("b", rng.uniform(-0.3, 0.3, units).astype(np.float32))
    h = mb.tensor("h", (batch, units), np.float32, is_variable=True)
    y = mb.tensor("y", (*x_shape[:-1], units), np.float32)
    opts = {"options_table": "RNNOptions"} if op == "RNN" else {"time_major": time_major,
                                                                 "options_table": "SequenceRNNOptions"}
    mb.op(op, [x, w, r, b, h], [y], fused_activation_function=act, **opts)
    mb.output(y)
    return mb.build(), x_shape


@pytest.mark.parametrize("op,time_major", [("RNN", False), ("UNIDIRECTIONAL_SEQUENCE_RNN", False),
                                           ("UNIDIRECTIONAL_SEQUENCE_RNN", True)])
@pytest.mark.parametrize("act", ["TANH", "RELU"])
def test_rnn(op, act, time_major):
    fm, shape = _rnn_model(op, 16, 12, act, time_major=time_major)
    qm = quantize_dynamic_range(fm, min_elements=8)
    assert check_weights(fm, qm, op, 3) == [1, 2]
    check_runs(fm, qm, feeds(shape, n=4, seed=21), tol=TOL if act == "TANH" else EXACT)


def test_rnn_default_threshold():
    """32 units of 32 inputs: both weights 1024 values, quantized; 31 inputs: the input weights
    (992) miss the threshold and the op is not hybrid (weight_only="none": float)."""
    fm, shape = _rnn_model("UNIDIRECTIONAL_SEQUENCE_RNN", 32, 32, "TANH", seed=22)
    qm = quantize_dynamic_range(fm)
    check_weights(fm, qm, "UNIDIRECTIONAL_SEQUENCE_RNN", 3)
    check_runs(fm, qm, feeds(shape, n=3, seed=23))
    small, _ = _rnn_model("UNIDIRECTIONAL_SEQUENCE_RNN", 32, 31, "TANH", seed=22)
    with pytest.raises(QuantizationError, match="weight 'w' has 992 values, fewer than 1024"):
        quantize_dynamic_range(small, weight_only="none")


def _bidi_rnn_model(units_fw, units_bw, isz, act, *, t=4, batch=2, time_major=False, merge=False, aux=0, seed=24):
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    lead = (t, batch) if time_major else (batch, t)
    x = mb.input("x", (*lead, isz), np.float32)
    ins = [x]
    for d, u in (("fw_", units_fw), ("bw_", units_bw)):
        ins += [mb.const(d + "w", rng.uniform(-0.5, 0.5, (u, isz)).astype(np.float32)),
                mb.const(d + "r", (rng.uniform(-0.5, 0.5, (u, u)) / np.sqrt(u)).astype(np.float32)),
                mb.const(d + "b", rng.uniform(-0.3, 0.3, u).astype(np.float32)),
                mb.tensor(d + "h", (batch, u), np.float32, is_variable=True)]
    if aux:
        ins += [mb.input("aux", (*lead, aux), np.float32),
                mb.const("fw_aw", rng.uniform(-0.5, 0.5, (units_fw, aux)).astype(np.float32)),
                mb.const("bw_aw", rng.uniform(-0.5, 0.5, (units_bw, aux)).astype(np.float32))]
    else:
        ins += [-1, -1, -1]
    if merge:
        outs = [mb.tensor("y", (*lead, units_fw + units_bw), np.float32)]
    else:
        outs = [mb.tensor("y_fw", (*lead, units_fw), np.float32), mb.tensor("y_bw", (*lead, units_bw), np.float32)]
    mb.op("BIDIRECTIONAL_SEQUENCE_RNN", ins, outs, fused_activation_function=act, time_major=time_major,
          merge_outputs=merge, options_table="BidirectionalSequenceRNNOptions")
    mb.output(*outs)
    return mb.build(), lead


@pytest.mark.parametrize("merge", [False, True])
@pytest.mark.parametrize("aux", [0, 12])
@pytest.mark.parametrize("act", ["TANH", "RELU"])
def test_bidi_rnn(merge, aux, act):
    """Batch-major (see the time-major test for why)."""
    fm, lead = _bidi_rnn_model(16, 12, 12, act, merge=merge, aux=aux)
    qm = quantize_dynamic_range(fm, min_elements=8)
    assert check_weights(fm, qm, "BIDIRECTIONAL_SEQUENCE_RNN", 3) == [1, 2, 5, 6] + ([10, 11] if aux else [])
    rng = np.random.default_rng(25)
    fl = [[rng.uniform(-1, 1, (*lead, 12)).astype(np.float32) for _ in range(2 if aux else 1)] for _ in range(3)]
    check_runs(fm, qm, fl, tol=TOL if act == "TANH" else EXACT)


def test_bidi_rnn_time_major_matches_litert_not_float():
    """Time-major hybrid: LiteRT 2.3 runs each cell T times per invoke (numlite.ops.
    bidirectional_sequence_rnn, step 4), so the hybrid model TensorFlow's quantizer writes is not
    the float model there; numlite reproduces LiteRT, and the test says so: it is far from float.
    RELU: with TANH the 16 recurrent steps per invoke let an ulp of tanh flip the rounding of a
    requantized hidden value (measured 1.2e-3 on the second invoke with this seed)."""
    fm, lead = _bidi_rnn_model(16, 12, 12, "RELU", time_major=True)
    qm = quantize_dynamic_range(fm, min_elements=8)
    f = feeds((*lead, 12), n=2, seed=26)
    with pytest.raises(AssertionError, match=r"^0\.[0-9]+\nassert 0\.[0-9]+ < 0\.04"):
        check_runs(fm, qm, f, tol=EXACT)  # numlite == LiteRT passes, the float bound does not


def _svdf_model(batch, isz, units, rank, mem, act, seed=27):
    rng = np.random.default_rng(seed)
    nf = units * rank
    mb = ModelBuilder()
    x = mb.input("x", (batch, isz), np.float32)
    wf = mb.const("wf", rng.uniform(-0.5, 0.5, (nf, isz)).astype(np.float32))
    wt = mb.const("wt", rng.uniform(-0.5, 0.5, (nf, mem)).astype(np.float32))
    b = mb.const("b", rng.uniform(-0.3, 0.3, units).astype(np.float32))
    s = mb.tensor("s", (batch, nf * mem), np.float32, is_variable=True)
    y = mb.tensor("y", (batch, units), np.float32)
    mb.op("SVDF", [x, wf, wt, b, s], [y], rank=rank, fused_activation_function=act, options_table="SVDFOptions")
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize("rank,act", [(1, "NONE"), (2, "RELU"), (2, "TANH")])
def test_svdf(rank, act):
    fm = _svdf_model(3, 24, 8, rank, 6, act)
    qm = quantize_dynamic_range(fm, min_elements=8)
    assert check_weights(fm, qm, "SVDF", 4) == [1, 2]
    check_runs(fm, qm, [[x] for x in np.random.default_rng(28).uniform(-1, 1, (6, 3, 24)).astype(np.float32)],
               tol=TOL if act == "TANH" else EXACT)


def test_svdf_small_time_weights_keep_it_float():
    """64 filters x 10 memory = 640 time weights: below 1024, so (every weight or none) the SVDF
    is not hybrid (weight_only="none": float), although its 64 x 40 feature weights would pass."""
    with pytest.raises(QuantizationError, match=r"SVDF \(subgraph 0, node 0\): weight 'wt' has 640 values, fewer "
                                                "than 1024"):
        quantize_dynamic_range(_svdf_model(1, 40, 64, 1, 10, "NONE"), weight_only="none")
    fm = _svdf_model(1, 40, 64, 1, 16, "NONE")  # 1024 time weights
    qm = quantize_dynamic_range(fm)
    check_weights(fm, qm, "SVDF", 4)
    check_runs(fm, qm, [[x] for x in np.random.default_rng(29).uniform(-1, 1, (4, 1, 40)).astype(np.float32)],
               tol=EXACT)
