"""LSTM, UNIDIRECTIONAL_SEQUENCE_LSTM and BIDIRECTIONAL_SEQUENCE_LSTM against LiteRT.

Every model is invoked twice on one interpreter, numlite's and LiteRT's, with different inputs:
the second output depends on the state the first invoke left in the variable tensors.

Tolerances (see ``numlite.ops._lstm``, step 5): float 1e-5 - LiteRT's optimized GEMM and Eigen's
logistic / tanh round differently from NumPy's by an ulp or two per operation, and the gates keep
the differences from growing (measured <= 1.5e-7 here, 1.6e-6 on 100 steps of 64 cells with
layer norm); hybrid 1e-5 - numlite reproduces LiteRT's
row quantization, exact integer products and float32 scaling order, so the same activation ulps
are all that is left (measured <= 1.5e-7), compared against both LiteRT resolvers (LiteRT's
reference resolver runs the same LSTM kernels).
"""

from __future__ import annotations

import numpy as np
import pytest
from lstm_util import GATES, bidi_model, compare, direction_inputs, lstm_slots, lstm_weights, run_twice, uni_model

import numlite
from numlite.builder import ModelBuilder

TOL = dict(rtol=1e-5, atol=1e-5)
VARIANTS = {
    "basic": {},
    "cifg": dict(cifg=True),
    "peephole": dict(peephole=True),
    "projection": dict(projection=True, proj_bias=True),
    "projection_no_bias": dict(projection=True),
    "layer_norm": dict(layer_norm=True),
    "all": dict(cifg=True, peephole=True, projection=True, proj_bias=True, layer_norm=True),
    "peephole_ln": dict(peephole=True, layer_norm=True),
}


def feeds(shape, n=2, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return [[rng.uniform(-scale, scale, shape).astype(np.float32)] for _ in range(n)]


def dims(variant, n_cell=6):
    return n_cell, (4 if VARIANTS[variant].get("projection") else n_cell)


# -- UNIDIRECTIONAL_SEQUENCE_LSTM ------------------------------------------------------------
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("time_major,steps,batch", [(True, 3, 2), (False, 4, 3), (True, 1, 1), (False, 5, 1)])
def test_uni_float(variant, time_major, steps, batch):
    nc, no = dims(variant)
    n_in = 5
    w = lstm_weights(n_in, nc, no, seed=len(variant), **VARIANTS[variant])
    shape = (steps, batch, n_in) if time_major else (batch, steps, n_in)
    m = uni_model(shape, w, nc, no, time_major=time_major, fused_activation_function="TANH")
    compare(m, feeds(shape, seed=steps), **TOL)


@pytest.mark.parametrize("act", ["NONE", "RELU", "RELU_N1_TO_1", "RELU6", "SIGN_BIT", "TANH"])
def test_uni_activations_and_cell_clip(act):
    w = lstm_weights(5, 6, 6, peephole=True, seed=3)
    shape = (4, 3, 5)
    m = uni_model(shape, w, 6, 6, fused_activation_function=act, cell_clip=0.3)
    compare(m, feeds(shape, scale=2.0), **TOL)


def test_uni_projection_clip():
    w = lstm_weights(5, 6, 3, projection=True, proj_bias=True, seed=4)
    shape = (4, 2, 5)
    m = uni_model(shape, w, 6, 3, fused_activation_function="TANH", cell_clip=0.5, proj_clip=0.1)
    out = compare(m, feeds(shape, scale=2.0), **TOL)
    assert np.abs(out[1][0]).max() <= np.float32(0.1)


def test_uni_diagonal_recurrent_weights_v4():
    w = lstm_weights(5, 6, 6, diag=True, seed=5)
    shape = (3, 2, 5)
    m = uni_model(shape, w, 6, 6, fused_activation_function="TANH", version=4, diagonal_recurrent_tensors=True)
    compare(m, feeds(shape), **TOL)


def test_uni_20_inputs():
    w = lstm_weights(5, 6, 6, peephole=True, seed=6)
    shape = (3, 2, 5)
    m = uni_model(shape, w, 6, 6, fused_activation_function="TANH", layer_norm_slots=False)
    compare(m, feeds(shape), **TOL)


def test_state_carries_over_and_resets():
    w = lstm_weights(5, 6, 6, seed=7)
    shape = (2, 2, 5)
    m = uni_model(shape, w, 6, 6, fused_activation_function="TANH")
    (x,), = feeds(shape, n=1)
    first, second = run_twice(m, [[x], [x]], litert=False)
    assert not np.allclose(first[0], second[0])  # the second invoke starts from the first's state
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    it.reset_all_variables()
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), first[0])


# -- LSTM -------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["basic", "cifg", "projection", "layer_norm", "all"])
@pytest.mark.parametrize("batch", [1, 3])
def test_lstm_float(variant, batch):
    nc, no = dims(variant)
    w = lstm_weights(5, nc, no, seed=8, **VARIANTS[variant])
    m = uni_model((batch, 5), w, nc, no, op="LSTM", fused_activation_function="TANH", cell_clip=1.0)
    compare(m, feeds((batch, 5), n=3), **TOL)


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_lstm_versions(version):
    w = lstm_weights(5, 6, 6, seed=9)
    m = uni_model((2, 5), w, 6, 6, op="LSTM", fused_activation_function="TANH", version=version)
    compare(m, feeds((2, 5)), **TOL)


# -- hybrid -----------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["basic", "cifg", "peephole", "projection", "layer_norm", "all"])
@pytest.mark.parametrize("asym", [False, True])
@pytest.mark.parametrize("time_major,steps,batch", [(True, 4, 3), (False, 3, 2)])
@pytest.mark.parametrize("ref", [False, True])
def test_uni_hybrid(variant, asym, time_major, steps, batch, ref):
    nc, no = dims(variant, 8)
    n_in = 7
    w = lstm_weights(n_in, nc, no, seed=10, **VARIANTS[variant])
    shape = (steps, batch, n_in) if time_major else (batch, steps, n_in)
    m = uni_model(shape, w, nc, no, time_major=time_major, hybrid=True, fused_activation_function="TANH",
                  asymmetric_quantize_inputs=asym)
    compare(m, feeds(shape, seed=11), ref=ref, **TOL)


def test_uni_hybrid_zero_rows():
    """All-zero input steps and a zero state: LiteRT skips those products; the sums agree."""
    w = lstm_weights(6, 5, 5, peephole=True, seed=12)
    shape = (3, 2, 6)
    x = feeds(shape, n=2, seed=13)
    x[0][0][0] = 0.0
    x[1][0][:, 1] = 0.0
    for asym in (False, True):
        m = uni_model(shape, w, 5, 5, hybrid=True, fused_activation_function="TANH", asymmetric_quantize_inputs=asym)
        compare(m, x, **TOL)


@pytest.mark.parametrize("asym", [False, True])
def test_lstm_hybrid(asym):
    w = lstm_weights(6, 8, 4, projection=True, peephole=True, seed=14)
    m = uni_model((3, 6), w, 8, 4, op="LSTM", hybrid=True, fused_activation_function="TANH",
                  asymmetric_quantize_inputs=asym, proj_clip=0.5)
    compare(m, feeds((3, 6), n=3), **TOL)


# -- BIDIRECTIONAL_SEQUENCE_LSTM --------------------------------------------------------------
AUX_MODES = {"none": (0, False), "aux_weights": (3, True), "bw_from_aux": (5, False)}


@pytest.mark.parametrize("hybrid", [False, True])
@pytest.mark.parametrize("variant", ["basic", "all_no_ln", "projection"])
@pytest.mark.parametrize("merge", [False, True])
@pytest.mark.parametrize("time_major", [True, False])
@pytest.mark.parametrize("aux", sorted(AUX_MODES))
def test_bidi(hybrid, variant, merge, time_major, aux):
    kw = dict(cifg=True, peephole=True, projection=True) if variant == "all_no_ln" else VARIANTS[variant]
    n_in, nc = 5, 6
    no = 4 if kw.get("projection") else nc
    auxf, auxw = AUX_MODES[aux]
    # LiteRT's batch-major merged form misplaces the backward state rows for batch > 1
    batch = 1 if (merge and not time_major) else 2
    wf = lstm_weights(n_in, nc, no, n_aux=auxf if auxw else 0, seed=15, **kw)
    wb = lstm_weights(n_in, nc, no, n_aux=auxf if auxw else 0, seed=16, **kw)
    shape = (3, batch, n_in) if time_major else (batch, 3, n_in)
    m = bidi_model(shape, wf, wb, nc, no, no, time_major=time_major, merge_outputs=merge, hybrid=hybrid,
                   aux_features=auxf, aux_weights=auxw, fused_activation_function="TANH", cell_clip=0.8,
                   asymmetric_quantize_inputs=hybrid and merge)
    rng = np.random.default_rng(17)
    fs = [[rng.uniform(-1, 1, shape).astype(np.float32)]
          + ([rng.uniform(-1, 1, (*shape[:2], auxf)).astype(np.float32)] if auxf else []) for _ in range(2)]
    compare(m, fs, **TOL)


def test_bidi_merged_shape():
    w = lstm_weights(5, 6, 3, projection=True, seed=18)
    shape = (4, 2, 5)
    m = bidi_model(shape, w, w, 6, 3, 3, merge_outputs=True, fused_activation_function="TANH")
    out = compare(m, feeds(shape), **TOL)
    assert out[0][0].shape == (4, 2, 6)


def test_bidi_error_direction_sizes_differ():
    """LiteRT refuses a backward LSTM whose sizes differ from the forward one's; so does numlite."""
    wf = lstm_weights(5, 6, 3, projection=True, seed=18)
    wb = lstm_weights(5, 6, 6, seed=19)
    m = bidi_model((4, 2, 5), wf, wb, 6, 3, 6, merge_outputs=True, fused_activation_function="TANH")
    with pytest.raises(Exception, match=r"BIDIRECTIONAL_SEQUENCE_LSTM \(node 0\).*backward LSTM"):
        numlite.Interpreter(model_content=m).allocate_tensors()


# -- errors ------------------------------------------------------------------------------------
def _model_with_plain_state() -> bytes:
    mb = ModelBuilder()
    x = mb.input("x", (2, 1, 3), np.float32)
    w = lstm_weights(3, 4, 4, seed=20)
    d = direction_inputs(mb, w, 1, 4, 4)
    d["c"] = mb.tensor("plain_cell", (1, 4), np.float32)  # not a variable
    y = mb.tensor("y", (2, 1, 4), np.float32)
    mb.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [x, *lstm_slots(d)], [y], options_table="UnidirectionalSequenceLSTMOptions",
          time_major=True, fused_activation_function="TANH")
    mb.output(y)
    return mb.build()


def test_error_state_not_variable():
    it = numlite.Interpreter(model_content=_model_with_plain_state())
    with pytest.raises(Exception, match=r"UNIDIRECTIONAL_SEQUENCE_LSTM \(node 0\).*cell state .*plain_cell.*variable"):
        it.allocate_tensors()


def test_error_weight_shape():
    w = lstm_weights(5, 6, 6, seed=21)
    w["wx_f"] = w["wx_f"][:, :4].copy()
    m = uni_model((2, 1, 5), w, 6, 6, fused_activation_function="TANH")
    with pytest.raises(Exception, match=r"node 0.*input-to-forget weights .*c?wx_f.*shape \[6, 5\]"):
        numlite.Interpreter(model_content=m).allocate_tensors()


def test_error_integer_form_without_intermediates():
    """An int8 input selects the full-integer form (tests/test_lstm_int.py), which needs the five
    intermediates of the 8x8_16 form."""
    mb = ModelBuilder()
    x = mb.input("x", (2, 1, 3), np.int8, quantization={"scale": 0.1, "zero_point": 0})
    w = lstm_weights(3, 4, 4, seed=22)
    d = direction_inputs(mb, w, 1, 4, 4, hybrid=True)
    y = mb.tensor("y", (2, 1, 4), np.int8, quantization={"scale": 0.1, "zero_point": 0})
    mb.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [x, *lstm_slots(d)], [y], options_table="UnidirectionalSequenceLSTMOptions",
          time_major=True)
    mb.output(y)
    with pytest.raises(Exception, match=r"UNIDIRECTIONAL_SEQUENCE_LSTM \(node 0\).*full-integer.*5 intermediate "
                                        r"tensors.*got 0"):
        numlite.Interpreter(model_content=mb.build()).allocate_tensors()


def test_error_unsupported_version():
    w = lstm_weights(5, 6, 6, seed=23)
    m = uni_model((2, 1, 5), w, 6, 6, fused_activation_function="TANH", version=5)
    with pytest.raises(Exception, match=r"UNIDIRECTIONAL_SEQUENCE_LSTM version 5.*\[1, 2, 3, 4\]"):
        numlite.Interpreter(model_content=m)


def test_gates_constant():
    assert GATES == ("i", "f", "c", "o")
