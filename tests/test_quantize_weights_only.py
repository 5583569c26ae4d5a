"""Weight-only int8 (``quantize_dynamic_range``'s ``weight_only``): weights stored int8 behind a
DEQUANTIZE where no hybrid kernel takes them (TRANSPOSE_CONV filters, GATHER tables, the
weights of a recurrent op of which only some pass the threshold; every listed op with
``weight_only="all"``), run on numlite and on LiteRT (default kernels and BUILTIN_REF).

How each case is checked:

* the int8 values and scales equal this file's own symmetric quantization of the float weights
  (``max|w| / 127``, round half away from zero), per channel along the consumer's output axis
  (TRANSPOSE_CONV: 0) or per tensor, and the DEQUANTIZE version is op_version.cc's (2 per
  tensor, 5 per channel);
* exactness: the DEQUANTIZEd weights are exactly ``float32(q * scale)``, so the quantized model
  must give bit-for-bit the outputs of the float model rebuilt with those weights, on LiteRT's
  default kernels, its BUILTIN_REF kernels and numlite (each runtime against itself: same
  kernel, same float weights; both LiteRT resolvers fold the DEQUANTIZE at prepare as numlite
  does); GATHER's rows are compared with the dequantized table rows bit-for-bit on all three;
* numlite against LiteRT on the quantized model: bit-exact for GATHER; the float kernels'
  rounding otherwise (4e-6 of the output's largest magnitude, measured at most 5.3e-7: they sum
  in other orders, and the recurrent ops' tanh / logistic differ by ulps);
* against the float model: a bound derived from the weight error where the op is linear
  (TRANSPOSE_CONV: ``tconv(|x|, |w - w_q|)``; GATHER: half a step), else 1 % of the output's
  largest magnitude and above 1e-6 (the weights really changed);
* size: the file shrinks by 3 bytes per int8 weight value, less what each DEQUANTIZE adds: its
  operator, output tensor and quantization parameters (``OVERHEAD`` bytes, measured 190-280 (GATHER's
  int8 rows are one more tensor), plus 12 per scale: a float32 scale and an int64 zero point).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from lstm_util import lstm_weights, run_twice, uni_model

import numlite
from numlite.builder import ModelBuilder
from numlite.graph import load_model
from numlite.quantize import QuantizationError
from numlite.quantize_weights import quantize_dynamic_range

litert = pytest.importorskip("ai_edge_litert.interpreter")

OVERHEAD = 300
TOL = {"rtol": 4e-6}  # relative to the output's largest magnitude; measured at most 5.3e-7
TF = Path(__file__).parent / "data" / "tf"


def sym_int8(w: np.ndarray, axis: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """int8 values, scales and the dequantized float32 weights (this test's own formula)."""
    a = np.abs(w.astype(np.float64))
    if axis is None:
        m = np.array([a.max()])
        shape = [1] * w.ndim
    else:
        m = a.max(axis=tuple(k for k in range(w.ndim) if k != axis))
        shape = [-1 if k == axis else 1 for k in range(w.ndim)]
    s = (m / 127).astype(np.float32)
    x = w.astype(np.float64) / s.astype(np.float64).reshape(shape)
    q = np.clip(np.sign(x) * np.floor(np.abs(x) + 0.5), -127, 127).astype(np.int8)
    return q, s, (q.astype(np.float64) * s.astype(np.float64).reshape(shape)).astype(np.float32)


RUNTIMES = ("numlite", "litert", "ref")


def runs(model: bytes, feeds: list[list[np.ndarray]], runtimes=RUNTIMES) -> dict[str, list[list[np.ndarray]]]:
    return {rt: run_twice(model, feeds, litert=rt != "numlite", ref=rt == "ref") for rt in runtimes}


def check(qm: bytes, fm: bytes, deq: bytes, feeds, runtimes=RUNTIMES) -> tuple[list, list]:
    """The quantized model on each runtime: bit-exact with the float model rebuilt with the
    dequantized weights on that runtime; numlite against LiteRT within float rounding.
    Returns the quantized and the float model's numlite outputs."""
    q, d = runs(qm, feeds, runtimes), runs(deq, feeds, runtimes)
    for rt in runtimes:
        for k, (al, bl) in enumerate(zip(q[rt], d[rt])):
            for a, b in zip(al, bl):
                assert a.dtype == b.dtype == np.float32 and a.shape == b.shape
                np.testing.assert_array_equal(a, b, err_msg=f"{rt} invoke {k}")
    for rt in runtimes[1:]:
        for al, bl in zip(q["numlite"], q[rt]):
            for a, b in zip(al, bl):
                np.testing.assert_allclose(a, b, rtol=TOL["rtol"], atol=TOL["rtol"] * float(np.abs(b).max()))
    return q["numlite"], run_twice(fm, feeds, litert=False)


def near_float(q_out, f_out, bound: float = 0.01) -> float:
    err = max(float(np.max(np.abs(a - b))) / float(np.max(np.abs(b))) for al, bl in zip(q_out, f_out)
              for a, b in zip(al, bl))
    assert 1e-6 < err < bound, err
    return err


def check_size(fm: bytes, qm: bytes, n_int8: int, n_dequantize: int, n_scales: int | None = None) -> None:
    """``n_scales``: the scales of all int8 tensors (one each by default)."""
    saved = len(fm) - len(qm)
    extra = OVERHEAD * n_dequantize + 12 * (n_dequantize if n_scales is None else n_scales)
    assert 3 * n_int8 - extra <= saved <= 3 * n_int8 + 16 * n_dequantize, (saved, n_int8)


def ops(model: bytes, si: int = 0):
    sg = load_model(model_content=model).subgraphs[si]
    return sg, [(op.op_name, op.version) for op in sg.operators]


# -- TRANSPOSE_CONV -----------------------------------------------------------------------------
def _tconv(w: np.ndarray, b: np.ndarray, act: str = "NONE") -> bytes:
    mb = ModelBuilder()
    x = mb.input("x", (1, 8, 8, w.shape[3]), np.float32)
    y = mb.tensor("y", (1, 16, 16, w.shape[0]), np.float32)
    mb.op("TRANSPOSE_CONV", [mb.const("shape", np.array([1, 16, 16, w.shape[0]], np.int32)), mb.const("w", w), x,
                             mb.const("b", b)], [y], version=4 if act != "NONE" else 3, padding="SAME",
          stride_h=2, stride_w=2, fused_activation_function=act)
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize("per_channel", [True, False])
def test_transpose_conv_filter_int8_behind_dequantize(per_channel):
    """TensorFlow's quantizers: TRANSPOSE_CONV is quantizable (filter, input 1) without a hybrid
    kernel: the filter is int8 behind a DEQUANTIZE, the op reads float and keeps its version."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((8, 3, 3, 32)).astype(np.float32)  # 2304 values
    w[3] *= 0.01  # a small channel: per-channel scales keep its precision
    b = rng.standard_normal(8).astype(np.float32)
    fm = _tconv(w, b)
    qm = quantize_dynamic_range(fm, per_channel=per_channel)
    sg, names = ops(qm)
    axis = 0 if per_channel else None
    assert names == [("DEQUANTIZE", 5 if per_channel else 2), ("TRANSPOSE_CONV", 3)]
    dq, tc = sg.operators
    wt = sg.tensors[dq.inputs[0]]
    q, s, wd = sym_int8(w, axis)
    assert wt.name == "w" and wt.type_name == "INT8" and wt.quantization.quantized_dimension == 0
    np.testing.assert_array_equal(wt.data, q)
    np.testing.assert_array_equal(wt.quantization.scales, s)
    assert not np.any(wt.quantization.zero_points)
    out = sg.tensors[dq.outputs[0]]
    assert tc.inputs[1] == dq.outputs[0] and out.name == "w_dequantize" and out.type_name == "FLOAT32"
    assert out.data is None
    check_size(fm, qm, w.size, 1, s.size)
    x = [[rng.standard_normal((1, 8, 8, 32)).astype(np.float32)] for _ in range(2)]
    qo, fo = check(qm, fm, _tconv(wd, b), x)
    # linear in the filter: |y_q - y| <= tconv(|x|, |w - w_q|) (plus float rounding)
    bound = run_twice(_tconv(np.abs(w - wd), np.zeros(8, np.float32)), [[np.abs(v[0])] for v in x], litert=False)
    for (a,), (f,), (bd,) in zip(qo, fo, bound):
        assert np.all(np.abs(a - f) <= bd * (1 + 1e-4) + 1e-5 * np.abs(f).max())
        assert np.abs(a - f).max() > 1e-5
    near_float(qo, fo, 0.01)
    small = np.abs(qo[0][0][..., 3] - fo[0][0][..., 3]).max()  # the small channel's error
    # its outputs reach about 1.2: 2e-3 with its own scale, 0.28 with the tensor's (measured)
    assert (small < 1e-2) if per_channel else (small > 0.1)


def test_transpose_conv_small_filter_and_none_mode():
    rng = np.random.default_rng(1)
    fm = _tconv(rng.standard_normal((4, 3, 3, 16)).astype(np.float32), np.zeros(4, np.float32))  # 576 values
    with pytest.raises(QuantizationError, match=r"TRANSPOSE_CONV \(subgraph 0, node 0\): weight 'w' has 576 values, "
                                                "fewer than 1024"):
        quantize_dynamic_range(fm)
    qm = quantize_dynamic_range(fm, min_elements=576)
    assert ops(qm)[1] == [("DEQUANTIZE", 5), ("TRANSPOSE_CONV", 3)]
    with pytest.raises(QuantizationError, match="no CONV_2D, .*EMBEDDING_LOOKUP with .*: the model has none"):
        quantize_dynamic_range(fm, min_elements=576, weight_only="none")
    with pytest.raises(ValueError, match="weight_only must be one of none, fallback, all, not 'yes'"):
        quantize_dynamic_range(fm, weight_only="yes")


# -- GATHER -------------------------------------------------------------------------------------
def _gather(table: np.ndarray, ids_shape, axis: int = 0, batch_dims: int = 0, extra: bool = False) -> bytes:
    mb = ModelBuilder()
    ids = mb.input("ids", ids_shape, np.int32)
    t = mb.const("table", table)
    lead, tail = table.shape[:axis], table.shape[axis + 1:]
    y = mb.tensor("y", (*lead, *ids_shape[batch_dims:], *tail), np.float32)
    mb.op("GATHER", [t, ids], [y], axis=axis, batch_dims=batch_dims)
    outs = [y]
    if extra:  # the table is also a float operand of another op
        z = mb.tensor("z", table.shape, np.float32)
        mb.op("ADD", [t, t], [z])
        outs.append(z)
    mb.output(*outs)
    mb.signature("serving_default", {"ids": ids}, {"rows": y})
    return mb.build()


@pytest.mark.parametrize("shape,ids_shape,axis", [((300, 16), (2, 5), 0), ((4, 300), (6,), 1)])
def test_gather_table_int8_rows_dequantized(shape, ids_shape, axis):
    """TensorFlow 2.21 (tests/data/tf/*_drq.tflite): the table int8 with one scale, GATHER
    (version 2) writes int8 rows, a DEQUANTIZE (version 2) writes GATHER's float output, so the
    signature and the readers of the output are unchanged; the rows are the dequantized
    table's, bit-for-bit, on all three runtimes."""
    rng = np.random.default_rng(2)
    table = rng.standard_normal(shape).astype(np.float32)
    fm = _gather(table, ids_shape, axis)
    qm = quantize_dynamic_range(fm)
    sg, names = ops(qm)
    assert names == [("GATHER", 2), ("DEQUANTIZE", 2)]
    g, dq = sg.operators
    q, s, td = sym_int8(table)
    t = sg.tensors[g.inputs[0]]
    assert t.name == "table" and t.type_name == "INT8"
    np.testing.assert_array_equal(t.data, q)
    np.testing.assert_array_equal(t.quantization.scales, s)
    rows = sg.tensors[g.outputs[0]]
    assert rows.name == "y_int8" and rows.type_name == "INT8" and rows.data is None
    np.testing.assert_array_equal(rows.quantization.scales, s)
    assert list(dq.inputs) == [g.outputs[0]] and sg.tensors[dq.outputs[0]].name == "y" and dq.outputs[0] in sg.outputs
    check_size(fm, qm, table.size, 1)
    n = shape[axis]
    feeds = [[rng.integers(0, n, ids_shape).astype(np.int32)] for _ in range(2)] + [[np.full(ids_shape, n - 1,
                                                                                              np.int32)]]
    res = runs(qm, feeds)
    for (ids,), *outs in zip(feeds, *res.values()):
        want = np.take(td, ids, axis=axis)
        for (got,) in outs:
            np.testing.assert_array_equal(got, want)
            assert np.all(np.abs(got - np.take(table, ids, axis=axis)) <= s[0] / 2 * (1 + 1e-6))
    runner = litert.Interpreter(model_content=qm).get_signature_runner("serving_default")
    np.testing.assert_array_equal(runner(ids=feeds[0][0])["rows"], np.take(td, feeds[0][0], axis=axis))


def test_gather_batch_dims_and_shared_table():
    """batch_dims 1 keeps GATHER's version 5; a table another op reads as float gets an int8
    copy (``table_int8``) and the ADD still reads the float32 table, exactly."""
    rng = np.random.default_rng(3)
    table = rng.standard_normal((2, 64, 16)).astype(np.float32)
    mb = ModelBuilder()
    ids = mb.input("ids", (2, 3), np.int32)
    t = mb.const("table", table)
    y, z = mb.tensor("y", (2, 3, 16), np.float32), mb.tensor("z", table.shape, np.float32)
    mb.op("GATHER", [t, ids], [y], version=5, axis=1, batch_dims=1)
    mb.op("ADD", [t, t], [z])
    mb.output(y, z)
    fm = mb.build()
    qm = quantize_dynamic_range(fm)
    sg, names = ops(qm)
    assert names == [("GATHER", 5), ("DEQUANTIZE", 2), ("ADD", 1)]
    assert sg.tensors[sg.operators[0].inputs[0]].name == "table_int8"
    assert sg.tensors[sg.operators[2].inputs[0]].type_name == "FLOAT32"
    assert len(qm) > len(fm)  # the float table stays: an int8 copy and a DEQUANTIZE more
    _, _, td = sym_int8(table)
    feeds = [[rng.integers(0, 64, (2, 3)).astype(np.int32)]]
    for [(y_out, z_out)] in runs(qm, feeds).values():
        np.testing.assert_array_equal(y_out, np.stack([td[b][feeds[0][0][b]] for b in range(2)]))
        np.testing.assert_array_equal(z_out, table + table)


def test_gather_and_fully_connected_share_a_table():
    """Tied embeddings: one table is GATHER's (one scale) and a hybrid FULLY_CONNECTED's weights
    (one scale per row): two int8 tensors, no float table left."""
    rng = np.random.default_rng(4)
    table = rng.standard_normal((64, 32)).astype(np.float32)
    mb = ModelBuilder()
    ids, x = mb.input("ids", (3,), np.int32), mb.input("x", (2, 32), np.float32)
    t = mb.const("table", table)
    e, y = mb.tensor("e", (3, 32), np.float32), mb.tensor("logits", (2, 64), np.float32)
    mb.op("GATHER", [t, ids], [e])
    mb.op("FULLY_CONNECTED", [x, t, -1], [y])
    mb.output(e, y)
    fm = mb.build()
    qm = quantize_dynamic_range(fm)
    sg, names = ops(qm)
    assert names == [("GATHER", 2), ("DEQUANTIZE", 2), ("FULLY_CONNECTED", 12)]
    g, _, fc = sg.operators
    assert sg.tensors[g.inputs[0]].name == "table" and sg.tensors[g.inputs[0]].quantization.scales.size == 1
    w = sg.tensors[fc.inputs[1]]
    assert w.name == "table_int8_1" and w.quantization.scales.size == 64
    assert not any(t.type_name == "FLOAT32" and t.data is not None for t in sg.tensors)
    saved = len(fm) - len(qm)  # 4 bytes a value become two int8 copies
    assert 2 * table.size - 2 * OVERHEAD - 12 * 65 <= saved <= 2 * table.size, saved
    feeds = [[np.array([0, 63, 7], np.int32), rng.standard_normal((2, 32)).astype(np.float32)]]
    res = runs(qm, feeds)
    _, _, td = sym_int8(table)
    for [(e_out, y_out)] in res.values():
        np.testing.assert_array_equal(e_out, td[[0, 63, 7]])
        np.testing.assert_allclose(y_out, res["ref"][0][1], rtol=1e-6, atol=1e-6 * float(np.abs(y_out).max()))


def test_gather_of_a_runtime_tensor_or_a_small_table_stays_float():
    rng = np.random.default_rng(5)
    with pytest.raises(QuantizationError, match=r"GATHER \(subgraph 0, node 0\): weight 'table' has 100 values"):
        quantize_dynamic_range(_gather(rng.standard_normal((10, 10)).astype(np.float32), (3,)))
    mb = ModelBuilder()
    p, ids = mb.input("p", (40, 40), np.float32), mb.input("ids", (3,), np.int32)
    y = mb.tensor("y", (3, 40), np.float32)
    mb.op("GATHER", [p, ids], [y])
    mb.output(y)
    with pytest.raises(QuantizationError, match="GATHER .*weight 'p' is not a float32 constant"):
        quantize_dynamic_range(mb.build())
    with pytest.raises(QuantizationError, match="the model has none"):
        quantize_dynamic_range(_gather(rng.standard_normal((64, 32)).astype(np.float32), (3,)), weight_only="none")


def test_tensorflow_fixture_gather_table_is_the_same_int8():
    """tests/data/tf: TensorFlow 2.21's dynamic-range model of the Embedding + LSTM classifier
    stores the embedding table as numlite does: the same int8 values and scale, GATHER v2 then
    DEQUANTIZE v2.  Its LSTM (1024-value input weights, 256-value recurrent ones) is float
    there (the MLIR quantizer skips a partly passing UNIDIRECTIONAL_SEQUENCE_LSTM); numlite,
    as TensorFlow's older quantizer, puts the passing input weights behind DEQUANTIZE (a scale
    per row)."""
    if not (TF / "lstm_float.tflite").exists():
        pytest.skip("TensorFlow fixtures not present")
    fm, theirs = (TF / "lstm_float.tflite").read_bytes(), (TF / "lstm_drq.tflite").read_bytes()
    qm = quantize_dynamic_range(fm)
    sg, names = ops(qm)
    tsg, tnames = ops(theirs)
    assert names[:2] == tnames[:2] == [("GATHER", 2), ("DEQUANTIZE", 2)]
    ours_t, their_t = sg.tensors[sg.operators[0].inputs[0]], tsg.tensors[tsg.operators[0].inputs[0]]
    np.testing.assert_array_equal(ours_t.data, their_t.data)
    np.testing.assert_array_equal(ours_t.quantization.scales, their_t.quantization.scales)
    (lstm,) = [op for op in sg.operators if op.op_name == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    made = [sg.tensors[i] for i in lstm.inputs[1:9]]
    assert [t.name.endswith("_dequantize") for t in made] == [True] * 4 + [False] * 4
    assert names.count(("DEQUANTIZE", 2)) == 1 and names.count(("DEQUANTIZE", 5)) == 4  # the LSTM's: per row
    it = numlite.Interpreter(model_content=qm)
    ids = [np.random.default_rng(k).integers(0, 50, d["shape"]).astype(np.int32)
           for k, d in enumerate(it.get_input_details())]
    ours, theirs_out, fl = runs(qm, [ids])["ref"], runs(theirs, [ids])["ref"], runs(fm, [ids])["ref"]
    np.testing.assert_allclose(ours[0][0], run_twice(qm, [ids], litert=False)[0][0], rtol=1e-5, atol=1e-6)
    assert np.abs(ours[0][0] - fl[0][0]).max() < 1e-2 and np.abs(theirs_out[0][0] - fl[0][0]).max() < 1e-2


# -- recurrent ops of which only some weights pass ----------------------------------------------
def _svdf(wf: np.ndarray, wt: np.ndarray, b: np.ndarray) -> bytes:
    mb = ModelBuilder()
    x = mb.input("x", (1, wf.shape[1]), np.float32)
    s = mb.tensor("s", (1, wt.size), np.float32, is_variable=True)
    y = mb.tensor("y", (1, b.size), np.float32)
    mb.op("SVDF", [x, mb.const("wf", wf), mb.const("wt", wt), mb.const("b", b), s], [y], rank=1,
          fused_activation_function="NONE", options_table="SVDFOptions")
    mb.output(y)
    return mb.build()


def _rnn(w: np.ndarray, r: np.ndarray, b: np.ndarray) -> bytes:
    mb = ModelBuilder()
    x = mb.input("x", (3, 5, w.shape[1]), np.float32)
    h = mb.tensor("h", (3, b.size), np.float32, is_variable=True)
    y = mb.tensor("y", (3, 5, b.size), np.float32)
    mb.op("UNIDIRECTIONAL_SEQUENCE_RNN", [x, mb.const("w", w), mb.const("r", r), mb.const("b", b), h], [y],
          fused_activation_function="TANH", time_major=False, options_table="SequenceRNNOptions")
    mb.output(y)
    return mb.build()


def _case(kind: str):
    """(build(weights) -> model, float weights, names of those that pass, op name, input shape)."""
    rng = np.random.default_rng(6)
    if kind == "svdf":  # 64 x 40 feature weights pass, 64 x 10 time weights do not
        ws = {"wf": rng.uniform(-0.5, 0.5, (64, 40)), "wt": rng.uniform(-0.5, 0.5, (64, 10)),
              "b": rng.uniform(-0.3, 0.3, 64)}
        ws = {k: v.astype(np.float32) for k, v in ws.items()}
        return lambda w: _svdf(w["wf"], w["wt"], w["b"]), ws, ["wf"], "SVDF", (1, 40)
    if kind == "rnn":  # 32 x 31 input weights (992) do not pass, 32 x 32 recurrent ones do
        ws = {"w": rng.uniform(-0.5, 0.5, (32, 31)), "r": rng.uniform(-0.5, 0.5, (32, 32)) / np.sqrt(32),
              "b": rng.uniform(-0.3, 0.3, 32)}
        ws = {k: v.astype(np.float32) for k, v in ws.items()}
        return lambda w: _rnn(w["w"], w["r"], w["b"]), ws, ["r"], "UNIDIRECTIONAL_SEQUENCE_RNN", (3, 5, 31)
    # UNIDIRECTIONAL_SEQUENCE_LSTM with peepholes of 32 values: the 8 gate weights pass
    ws = lstm_weights(40, 32, 32, peephole=True, seed=3)
    passing = [f"{k}_{g}" for k in ("wx", "wh") for g in "ifco"]
    if kind == "lstm_time_major":
        return (lambda w: uni_model((4, 2, 40), w, 32, 32, fused_activation_function="TANH"), ws, passing,
                "UNIDIRECTIONAL_SEQUENCE_LSTM", (4, 2, 40))
    return (lambda w: uni_model((2, 4, 40), w, 32, 32, time_major=False, fused_activation_function="TANH"), ws,
            passing, "UNIDIRECTIONAL_SEQUENCE_LSTM", (2, 4, 40))


@pytest.mark.parametrize("kind", ["lstm_time_major", "lstm_batch_major", "svdf", "rnn"])
def test_partly_passing_recurrent_op_weights_behind_dequantize(kind):
    """An op whose weights only partly pass the threshold cannot be hybrid (its kernel takes no
    float weight beside int8 ones): TensorFlow's older quantizer stores the passing ones int8
    behind DEQUANTIZE and the op stays float, its version and options unchanged.  numlite gives
    these 2-D matrices one scale per row (a gate's unit, a filter: DEQUANTIZE version 5), which
    the float kernel allows and which is closer to float than TensorFlow's one scale each.
    LiteRT's float kernels run on the DEQUANTIZEd constants exactly as on float constants of the
    same values."""
    build, ws, passing, op_name, shape = _case(kind)
    fm = build(ws)
    qm = quantize_dynamic_range(fm)
    sg, names = ops(qm)
    f_sg, f_names = ops(fm)
    assert names == [("DEQUANTIZE", 5)] * len(passing) + f_names
    (op,) = [o for o in sg.operators if o.op_name == op_name]
    (f_op,) = [o for o in f_sg.operators if o.op_name == op_name]
    assert op.options == f_op.options
    deq = dict(ws)
    for i, fi in zip(op.inputs, f_op.inputs):
        if fi < 0:
            continue
        name = f_sg.tensors[fi].name
        if name in passing:
            (dq,) = [d for d in sg.operators if list(d.outputs) == [i]]
            t = sg.tensors[dq.inputs[0]]
            q, s, deq[name] = sym_int8(ws[name], 0)
            assert t.quantization.quantized_dimension == 0
            assert t.name == name and t.type_name == "INT8" and sg.tensors[i].name == f"{name}_dequantize"
            np.testing.assert_array_equal(t.data, q)
            np.testing.assert_array_equal(t.quantization.scales, s)
        else:
            assert i == fi and sg.tensors[i].type_name == f_sg.tensors[fi].type_name
            if f_sg.tensors[fi].data is not None:
                np.testing.assert_array_equal(sg.tensors[i].data, f_sg.tensors[fi].data)
    check_size(fm, qm, sum(ws[k].size for k in passing), len(passing), sum(ws[k].shape[0] for k in passing))
    rng = np.random.default_rng(7)
    feeds = [[rng.uniform(-1, 1, shape).astype(np.float32)] for _ in range(3)]
    qo, fo = check(qm, fm, build(deq), feeds)
    near_float(qo, fo, 0.02)  # 8-bit weights, a scale per row: about 1 %
    with pytest.raises(QuantizationError, match=f"{op_name} .*fewer than 1024"):
        quantize_dynamic_range(fm, weight_only="none")


def test_diagonal_lstm_weights_behind_dequantize():
    """UNIDIRECTIONAL_SEQUENCE_LSTM with diagonal recurrent weights (version 4) has no hybrid
    form; its weights (the diagonal vectors too, at min_elements=8) go behind DEQUANTIZE: the
    input matrices with a scale per row (version 5), the 1-D diagonals with one (version 2).
    LiteRT 2.3's BUILTIN_REF resolver has no version 4: numlite and LiteRT's default kernels."""
    ws = lstm_weights(40, 32, 32, seed=7, diag=True)
    build = lambda w: uni_model((3, 2, 40), w, 32, 32, fused_activation_function="TANH", version=4,  # noqa: E731
                                diagonal_recurrent_tensors=True)
    fm = build(ws)
    qm = quantize_dynamic_range(fm, min_elements=8)
    _, names = ops(qm)
    assert sorted(names[:8]) == [("DEQUANTIZE", 2)] * 4 + [("DEQUANTIZE", 5)] * 4
    assert names[8:] == [("UNIDIRECTIONAL_SEQUENCE_LSTM", 4)]
    deq = {k: (sym_int8(v, 0 if v.ndim == 2 else None)[2] if k.split("_")[0] in ("wx", "wh") else v)
           for k, v in ws.items()}
    feeds = [[np.random.default_rng(8).uniform(-1, 1, (3, 2, 40)).astype(np.float32)] for _ in range(2)]
    qo, fo = check(qm, fm, build(deq), feeds, runtimes=("numlite", "litert"))
    near_float(qo, fo, 0.02)  # measured 1.3 %


# -- weight_only="all": no hybrid op ------------------------------------------------------------
def _single(op: str, w: np.ndarray) -> bytes:
    mb = ModelBuilder()
    if op == "FULLY_CONNECTED":
        x, y = mb.input("x", (3, w.shape[1]), np.float32), mb.tensor("y", (3, w.shape[0]), np.float32)
        mb.op(op, [x, mb.const("w", w), -1], [y])
    elif op == "BATCH_MATMUL":
        x, y = mb.input("x", (2, 3, w.shape[0]), np.float32), mb.tensor("y", (2, 3, w.shape[1]), np.float32)
        mb.op(op, [x, mb.const("w", w)], [y])
    elif op == "EMBEDDING_LOOKUP":
        x, y = mb.input("x", (4,), np.int32), mb.tensor("y", (4, w.shape[1]), np.float32)
        mb.op(op, [x, mb.const("w", w)], [y])
    else:
        cout = w.shape[0] if op == "CONV_2D" else w.shape[3]
        x = mb.input("x", (1, 6, 6, 16), np.float32)
        y = mb.tensor("y", (1, 6, 6, cout), np.float32)
        extra = {} if op == "CONV_2D" else {"depth_multiplier": 1}
        b = mb.const("b", np.linspace(-1, 1, cout, dtype=np.float32))
        mb.op(op, [x, mb.const("w", w), b], [y], padding="SAME", stride_h=1, stride_w=1, dilation_h_factor=1,
              dilation_w_factor=1, fused_activation_function="NONE", **extra)
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize("op,shape,axis", [("FULLY_CONNECTED", (32, 48), 0), ("CONV_2D", (16, 3, 3, 16), 0),
                                           ("DEPTHWISE_CONV_2D", (1, 3, 3, 16), 3),
                                           ("BATCH_MATMUL", (48, 24), 1), ("EMBEDDING_LOOKUP", (40, 32), 0)])
def test_weight_only_all_keeps_float_kernels(op, shape, axis):
    """weight_only="all" (TensorFlow's weight_only_quantization): no hybrid kernel, the weights
    int8 behind DEQUANTIZE, per channel along the op's output axis (BATCH_MATMUL: the right side's last),
    the op as in the float model; outputs those of the float kernel on the dequantized weights."""
    rng = np.random.default_rng(9)
    w = rng.standard_normal(shape).astype(np.float32)
    fm = _single(op, w)
    qm = quantize_dynamic_range(fm, weight_only="all", min_elements=64)
    _, f_names = ops(fm)
    sg, names = ops(qm)
    assert names == [("DEQUANTIZE", 2 if axis is None else 5)] + f_names
    t = sg.tensors[sg.operators[0].inputs[0]]
    q, s, wd = sym_int8(w, axis)
    np.testing.assert_array_equal(t.data, q)
    np.testing.assert_array_equal(t.quantization.scales, s)
    assert t.quantization.quantized_dimension == (axis or 0)
    check_size(fm, qm, w.size, 1, s.size)
    x = ([rng.integers(0, shape[0], (4,)).astype(np.int32)] if op == "EMBEDDING_LOOKUP" else
         [rng.standard_normal(load_model(model_content=fm).subgraphs[0].tensors[0].shape).astype(np.float32)])
    qo, fo = check(qm, fm, _single(op, wd), [x])
    near_float(qo, fo, 0.02)


def test_weight_only_all_lstm_and_per_tensor():
    ws = lstm_weights(40, 32, 32, seed=3)
    fm = uni_model((4, 2, 40), ws, 32, 32, fused_activation_function="TANH")
    qm = quantize_dynamic_range(fm, weight_only="all")
    assert ops(qm)[1] == [("DEQUANTIZE", 5)] * 8 + [("UNIDIRECTIONAL_SEQUENCE_LSTM", 1)]
    w = np.random.default_rng(10).standard_normal((32, 48)).astype(np.float32)
    qm = quantize_dynamic_range(_single("FULLY_CONNECTED", w), weight_only="all", per_channel=False)
    sg, names = ops(qm)
    assert names == [("DEQUANTIZE", 2), ("FULLY_CONNECTED", 1)]
    assert sg.tensors[sg.operators[0].inputs[0]].quantization.scales.size == 1


# -- Keras models converted by numlite.convert --------------------------------------------------
@pytest.mark.parametrize("layer", ["embedding", "conv2d_transpose"])
def test_keras_embedding_and_conv2d_transpose(layer):
    """Keras Embedding(500, 32) (a GATHER of a 16000-value table) + mean + Dense(4) (128 values:
    float), and Conv2DTranspose(16, 3, strides 2) (a 3456-value TRANSPOSE_CONV filter): the file
    shrinks by 3 bytes per table / filter value; numlite matches LiteRT (both resolvers) and the
    quantized model stays within 1 % of Keras's float outputs."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "numpy")
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(11)
    if layer == "embedding":
        inp = keras.Input((12,), batch_size=2, dtype="int32")
        x = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(500, 32)(inp))
        model = keras.Model(inp, keras.layers.Dense(4)(x))
        feeds = [[rng.integers(0, 500, (2, 12)).astype(np.int32)] for _ in range(2)]
        n, want = 500 * 32, [("GATHER", 2), ("DEQUANTIZE", 2), ("MEAN", 1), ("FULLY_CONNECTED", 1)]
    else:
        inp = keras.Input((8, 8, 24), batch_size=1)
        model = keras.Model(inp, keras.layers.Conv2DTranspose(16, 3, strides=2, padding="same")(inp))
        feeds = [[rng.standard_normal((1, 8, 8, 24)).astype(np.float32)] for _ in range(2)]
        n, want = 16 * 3 * 3 * 24, [("DEQUANTIZE", 5), ("TRANSPOSE_CONV", 3)]
    fm = numlite.convert(model)
    qm = quantize_dynamic_range(fm)
    assert ops(qm)[1] == want
    check_size(fm, qm, n, 1, 16 if layer != "embedding" else 2)
    res = runs(qm, feeds)
    for rt in ("litert", "ref"):
        for (a,), (b,) in zip(res["numlite"], res[rt]):
            np.testing.assert_allclose(a, b, rtol=TOL["rtol"], atol=TOL["rtol"] * float(np.abs(b).max()))
    keras_out = [[np.asarray(model(f[0]))] for f in feeds]
    near_float(res["numlite"], keras_out, 0.01)
