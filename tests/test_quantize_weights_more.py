"""Dynamic-range quantization (``quantize_dynamic_range``) of BATCH_MATMUL with a constant
right-hand side and of EMBEDDING_LOOKUP tables, and of a Keras LSTM classifier converted by
``numlite.convert``; each run on numlite and LiteRT (default kernels and BUILTIN_REF).

Tolerances: BATCH_MATMUL is bit-exact with LiteRT's BUILTIN_REF kernel (the same integer
products and float32 scaling steps) and within 1e-6 relative of its default kernel (which
multiplies the same scales in another order: measured 1.2e-7, one ulp); EMBEDDING_LOOKUP is
bit-exact with both (a table row times its float32 scale).  Against the float
model: BATCH_MATMUL within 2 % of the output's largest magnitude (8-bit rows times 8-bit
weights); a looked-up row within half a quantization step of its row (per-row scales) or of the
table (one scale).  The Keras classifier: numlite against LiteRT 1e-5 (the LSTM gate
activations' ulps, tests/test_quantize_weights_rnn.py), the same class as the float model for
every sample and probabilities within 2e-3 of it and of Keras (measured 2.2e-4).
"""

from __future__ import annotations

import numpy as np
import pytest
from lstm_util import run_twice

from numlite.builder import ModelBuilder
from numlite.graph import load_model
from numlite.quantize import QuantizationError
from numlite.quantize_weights import quantize_dynamic_range

pytest.importorskip("ai_edge_litert.interpreter")

EXACT = {"rtol": 0.0, "atol": 0.0}
ULPS = {"rtol": 1e-6, "atol": 0.0}


def _all_runtimes(model: bytes, feeds: list[list[np.ndarray]], tol=EXACT, tol_default=EXACT
                  ) -> list[list[np.ndarray]]:
    ours = run_twice(model, feeds, litert=False)
    for ref in (False, True):
        theirs = run_twice(model, feeds, litert=True, ref=ref)
        want = tol if ref else tol_default
        for k, (al, bl) in enumerate(zip(ours, theirs)):
            for a, b in zip(al, bl):
                assert a.dtype == b.dtype and a.shape == b.shape
                np.testing.assert_allclose(a, b, **want, err_msg=f"ref={ref} invoke {k}")
    return ours


# -- BATCH_MATMUL -------------------------------------------------------------------------------
def _bmm(sa, sb, adj_x=False, adj_y=False, seed=0, rhs_const=True):
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    x = mb.input("x", sa, np.float32)
    y = mb.const("y", rng.standard_normal(sb).astype(np.float32)) if rhs_const else mb.input("y", sb, np.float32)
    m = sa[-1] if adj_x else sa[-2]
    n = sb[-2] if adj_y else sb[-1]
    lead = np.broadcast_shapes(sa[:-2], sb[:-2])
    z = mb.tensor("z", (*lead, m, n), np.float32)
    mb.op("BATCH_MATMUL", [x, y], [z], adj_x=adj_x, adj_y=adj_y)
    mb.output(z)
    return mb.build()


@pytest.mark.parametrize("sa,sb,adj_x,adj_y", [((4, 64), (64, 32), False, False),
                                               ((2, 3, 64), (64, 16), False, False),
                                               ((2, 64, 3), (2, 16, 64), True, True),
                                               ((3, 5, 40), (3, 40, 12), False, False)])
def test_batch_matmul(sa, sb, adj_x, adj_y):
    fm = _bmm(sa, sb, adj_x, adj_y, seed=len(sa))
    qm = quantize_dynamic_range(fm, min_elements=256)
    sg = load_model(model_content=qm).subgraphs[0]
    (op,) = sg.operators
    w = sg.tensors[op.inputs[1]]
    assert op.version == 4 and op.options["asymmetric_quantize_inputs"]
    assert w.type_name == "INT8" and w.quantization.scales.size == 1  # per tensor (TensorFlow's rule)
    rng = np.random.default_rng(1)
    feeds = [[(rng.standard_normal(sa) * 2 + 0.5).astype(np.float32)] for _ in range(2)]
    ours = _all_runtimes(qm, feeds, tol_default=ULPS)
    fl = run_twice(fm, feeds, litert=False)
    for (a,), (b,) in zip(ours, fl):
        assert 1e-4 < np.max(np.abs(a - b)) / np.max(np.abs(b)) < 0.02


def test_batch_matmul_runtime_rhs_and_small_weights_stay_float():
    with pytest.raises(QuantizationError, match="BATCH_MATMUL .*'y' is not a float32 constant"):
        quantize_dynamic_range(_bmm((4, 64), (64, 32), rhs_const=False))
    with pytest.raises(QuantizationError, match="BATCH_MATMUL .*'y' has 512 values, fewer than 1024"):
        quantize_dynamic_range(_bmm((4, 64), (64, 8)))


# -- EMBEDDING_LOOKUP ---------------------------------------------------------------------------
def _embedding(rows=100, dim=16, n=7, seed=2):
    rng = np.random.default_rng(seed)
    table = (rng.standard_normal((rows, dim)) * rng.uniform(0.01, 3.0, (rows, 1))).astype(np.float32)
    mb = ModelBuilder()
    ids = mb.input("ids", (n,), np.int32)
    t = mb.const("table", table)
    y = mb.tensor("y", (n, dim), np.float32)
    mb.op("EMBEDDING_LOOKUP", [ids, t], [y])
    mb.output(y)
    return mb.build(), table


@pytest.mark.parametrize("per_channel", [True, False])
def test_embedding_lookup(per_channel):
    fm, table = _embedding()
    qm = quantize_dynamic_range(fm, per_channel=per_channel)
    sg = load_model(model_content=qm).subgraphs[0]
    (op,) = sg.operators
    w = sg.tensors[op.inputs[1]]
    assert w.type_name == "INT8" and sg.tensors[op.outputs[0]].type_name == "FLOAT32"
    assert op.version == (4 if per_channel else 3) and w.quantization.scales.size == (100 if per_channel else 1)
    assert w.quantization.quantized_dimension == 0 and not np.any(w.quantization.zero_points)
    ids = [[np.array([0, 99, 5, 5, 42, 17, 63], np.int32)], [np.arange(7, dtype=np.int32) * 13]]
    ours = _all_runtimes(qm, ids)
    scales = np.broadcast_to(w.quantization.scales.reshape(-1, 1), (100, 1))
    for (i,), (got,) in zip(ids, ours):
        np.testing.assert_array_equal(got, (w.data[i].astype(np.float64) * scales[i]).astype(np.float32))
        assert np.all(np.abs(got - table[i]) <= scales[i] / 2 * (1 + 1e-5))
        if per_channel:  # per-row scales: a small row keeps its precision
            assert np.all(np.abs(got - table[i]) <= np.abs(table[i]).max(axis=1, keepdims=True) / 254 * 1.0001)


def test_embedding_lookup_shared_table_and_errors():
    """A table another op reads too gets an int8 copy; a table below the threshold stays float."""
    fm, _ = _embedding(rows=10, dim=8)
    with pytest.raises(QuantizationError, match="EMBEDDING_LOOKUP .*'table' has 80 values"):
        quantize_dynamic_range(fm)
    rng = np.random.default_rng(3)
    mb = ModelBuilder()
    ids = mb.input("ids", (3,), np.int32)
    t = mb.const("table", rng.standard_normal((64, 32)).astype(np.float32))
    y, s = mb.tensor("y", (3, 32), np.float32), mb.tensor("s", (64, 32), np.float32)
    mb.op("EMBEDDING_LOOKUP", [ids, t], [y])
    mb.op("ADD", [t, t], [s])
    mb.output(y, s)
    qm = quantize_dynamic_range(mb.build())
    sg = load_model(model_content=qm).subgraphs[0]
    assert sg.tensors[sg.operators[0].inputs[1]].name == "table_int8"
    assert sg.tensors[sg.operators[1].inputs[0]].type_name == "FLOAT32"
    _all_runtimes(qm, [[np.array([1, 63, 0], np.int32)]])


# -- a Keras LSTM classifier --------------------------------------------------------------------
def test_keras_lstm_classifier():
    """Keras LSTM(128) + Dense(5, softmax) converted by numlite.convert: the LSTM's weights (16 x
    128 input and 128 x 128 recurrent values per gate) pass the 1024 threshold and become int8,
    the 128 x 5 Dense kernel (640 values) stays float, as TensorFlow's converter leaves it."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "numpy")
    keras = pytest.importorskip("keras")
    import numlite

    keras.utils.set_random_seed(5)
    inp = keras.Input((10, 16), batch_size=4)
    x = keras.layers.LSTM(128)(inp)
    model = keras.Model(inp, keras.layers.Dense(5, activation="softmax")(x))
    f = numlite.convert(model)
    q = quantize_dynamic_range(f)
    assert len(q) < 0.35 * len(f)
    sg = load_model(model_content=q).subgraphs[0]
    (lstm,) = [op for op in sg.operators if op.op_name == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    assert lstm.version == 3 and lstm.options["asymmetric_quantize_inputs"]
    assert [sg.tensors[i].type_name for i in lstm.inputs[1:9]] == ["INT8"] * 8
    assert [sg.tensors[i].type_name for i in lstm.inputs[12:16]] == ["FLOAT32"] * 4
    (fc,) = [op for op in sg.operators if op.op_name == "FULLY_CONNECTED"]
    assert sg.tensors[fc.inputs[1]].type_name == "FLOAT32"
    rng = np.random.default_rng(6)
    feeds = [[rng.uniform(-1, 1, (4, 10, 16)).astype(np.float32)] for _ in range(3)]
    ours = _all_runtimes(q, feeds, tol={"rtol": 1e-5, "atol": 1e-5}, tol_default={"rtol": 1e-5, "atol": 1e-5})
    floats = run_twice(f, feeds, litert=True)
    for (a,), (b,) in zip(ours, floats):
        assert np.array_equal(np.argmax(a, -1), np.argmax(b, -1))
        assert 1e-5 < float(np.max(np.abs(a - b))) < 2e-3  # measured 2.2e-4 on probabilities near 0.2
    keras_first = np.asarray(model(feeds[0][0]))  # Keras starts from a zero state, as the first invoke
    np.testing.assert_allclose(ours[0][0], keras_first, atol=2e-3)
