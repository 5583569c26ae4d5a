"""The ONNX Runtime delegate's recurrent ops (``numlite.delegates.onnx_lstm``): float32
UNIDIRECTIONAL_SEQUENCE_LSTM, BIDIRECTIONAL_SEQUENCE_LSTM and LSTM as ONNX ``LSTM`` nodes.

Every model is invoked at least twice on one interpreter with different inputs (the second
output depends on the state the first invoke left in the variable tensors) and compared with
numlite's own kernel and with LiteRT; the delegated run must really be delegated.

Tolerance (float32): ``rtol=1e-5, atol=1e-6``.  ONNX Runtime (MLAS) sums the input and recurrent
products in its own order and uses its own sigmoid / tanh, numlite's kernel NumPy's BLAS and
ufuncs (and ``sigmoid(z) = 0.5 + 0.5 tanh(z / 2)``), LiteRT its optimized GEMM and Eigen: each
step differs by an ulp or two, and with these weights (uniform in +-0.5, at most 32 cells) the
gates (sigmoid slope <= 1/4, tanh slope <= 1, forget gate < 1) keep such differences from growing
along the sequence (``numlite.ops._lstm``, step 5).  Measured over this file: at most 6e-7
absolute, and at most a fifth of the allowed ``atol + rtol * |expected|``; a real mapping error
(a gate out of order, a peephole or bias misplaced) is off by 1e-2 or more.  (Large random LSTMs,
e.g. ``benchmarks/bench_sequence.py``'s 512-cell one, are chaotic over many invokes: numlite's own
kernel and LiteRT drift apart there too.)  Forms that do not map run numlite's kernel and are
compared with it exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from lstm_util import GATES, bidi_model, direction_inputs, lstm_slots, lstm_weights, uni_model  # noqa: E402

import numlite  # noqa: E402
from numlite.builder import ModelBuilder  # noqa: E402
from numlite.delegates import onnx_graph  # noqa: E402

TOL: dict[str, float] = dict(rtol=1e-5, atol=1e-6)
LSTM_OPS = {"UNIDIRECTIONAL_SEQUENCE_LSTM", "BIDIRECTIONAL_SEQUENCE_LSTM", "LSTM"}


def _delegate(**options: Any) -> numlite.Delegate:
    return numlite.load_delegate("onnxruntime", {"cache": False, **options})


def _interpreter(model: bytes, delegate: bool | numlite.Delegate = False) -> Any:
    kw: dict[str, Any] = {}
    if delegate is not False:
        kw["experimental_delegates"] = [_delegate() if delegate is True else delegate]
    it = numlite.Interpreter(model_content=model, **kw)
    it.allocate_tensors()
    return it


def _litert(model: bytes) -> Any:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=model)
    it.allocate_tensors()
    return it


def _states(it: Any) -> list[int]:
    return sorted(d["index"] for d in it.get_tensor_details() if d["name"].endswith(("h_state", "c_state")))


def _invoke(it: Any, feeds: list[np.ndarray]) -> list[np.ndarray]:
    """One invoke: the outputs, then the variable states."""
    for d, v in zip(it.get_input_details(), feeds):
        it.set_tensor(d["index"], v)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()] + [it.get_tensor(i) for i in _states(it)]


def _delegated_ops(it: Any) -> list[str]:
    """The op names inside the DELEGATE nodes of the main subgraph's plan, per partition."""
    return [",".join(n.op_name for n in op.nodes) for op in it._runtime.operators[0] if op.op_name == "DELEGATE"]


def _plan(it: Any) -> list[str]:
    return [op.op_name for op in it._runtime.operators[0]]


def _feeds(shapes: list[tuple[int, ...]], n: int = 2, seed: int = 0, scale: float = 1.0) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [[rng.uniform(-scale, scale, s).astype(np.float32) for s in shapes] for _ in range(n)]


def _close(a: list[np.ndarray], b: list[np.ndarray], what: str, exact: bool = False) -> None:
    assert len(a) == len(b), what
    for j, (x, y) in enumerate(zip(a, b)):
        assert x.shape == y.shape and x.dtype == y.dtype, (what, j, x.shape, y.shape, x.dtype, y.dtype)
        if exact:
            np.testing.assert_array_equal(x, y, err_msg=f"{what} #{j}")
        else:
            np.testing.assert_allclose(x, y, err_msg=f"{what} #{j}", **TOL)


def check(model: bytes, feeds: list[list[np.ndarray]], partitions: list[str] | None = None) -> list[list[np.ndarray]]:
    """Invoke the delegated interpreter, numlite's and LiteRT's once per feed list (the states
    carry over); outputs and states must agree.  ``partitions``: the expected ops of each
    DELEGATE node (default: one partition, the model's single op)."""
    ours, plain, lite = _interpreter(model, True), _interpreter(model), _litert(model)
    got = _delegated_ops(ours)
    if partitions is None:
        partitions = [_plan(plain)[0]]
    assert got == partitions, (got, _plan(ours))
    res = []
    for k, f in enumerate(feeds):
        a, b, c = _invoke(ours, f), _invoke(plain, f), _invoke(lite, f)
        _close(a, b, f"invoke {k}: delegate vs numlite")
        _close(a, c, f"invoke {k}: delegate vs LiteRT")
        res.append(a)
    return res


def _shape(time_major: bool, steps: int, batch: int, n_in: int) -> tuple[int, int, int]:
    return (steps, batch, n_in) if time_major else (batch, steps, n_in)


# -- UNIDIRECTIONAL_SEQUENCE_LSTM ------------------------------------------------------------
VARIANTS = {"basic": {}, "peephole": dict(peephole=True), "cifg": dict(cifg=True),
            "cifg_peephole": dict(cifg=True, peephole=True)}
SIZES = [(3, 2, 5, 6), (1, 1, 3, 4), (7, 4, 8, 16), (20, 3, 12, 32)]  # steps, batch, inputs, cells


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("time_major", [True, False])
@pytest.mark.parametrize("steps,batch,n_in,n_cell", SIZES)
def test_uni(variant, time_major, steps, batch, n_in, n_cell):
    w = lstm_weights(n_in, n_cell, n_cell, seed=n_cell + len(variant), **VARIANTS[variant])
    shape = _shape(time_major, steps, batch, n_in)
    m = uni_model(shape, w, n_cell, n_cell, time_major=time_major, fused_activation_function="TANH")
    check(m, _feeds([shape], n=3, seed=steps))


@pytest.mark.parametrize("act", ["TANH", "RELU"])
@pytest.mark.parametrize("time_major", [True, False])
@pytest.mark.parametrize("peephole", [False, True])
def test_uni_activations(act, time_major, peephole):
    w = lstm_weights(5, 6, 6, peephole=peephole, seed=3)
    shape = _shape(time_major, 4, 3, 5)
    m = uni_model(shape, w, 6, 6, time_major=time_major, fused_activation_function=act)
    check(m, _feeds([shape], scale=2.0))


def test_uni_20_inputs_and_float_weights_with_asymmetric_flag():
    """The 20-input layout (no layer-norm slots); ``asymmetric_quantize_inputs`` only concerns
    hybrid weights, which float weights are not."""
    w = lstm_weights(5, 6, 6, peephole=True, seed=6)
    shape = (3, 2, 5)
    m = uni_model(shape, w, 6, 6, fused_activation_function="TANH", layer_norm_slots=False,
                  asymmetric_quantize_inputs=True)
    check(m, _feeds([shape]))


# -- LSTM (one step) and BIDIRECTIONAL_SEQUENCE_LSTM ------------------------------------------
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("batch", [1, 3])
def test_lstm_one_step(variant, batch):
    w = lstm_weights(5, 6, 6, seed=8, **VARIANTS[variant])
    m = uni_model((batch, 5), w, 6, 6, op="LSTM", fused_activation_function="TANH")
    check(m, _feeds([(batch, 5)], n=4))


AUX_MODES = {"none": (0, False), "aux_weights": (3, True), "bw_from_aux": (5, False)}


@pytest.mark.parametrize("variant", ["basic", "cifg_peephole"])
@pytest.mark.parametrize("merge", [False, True])
@pytest.mark.parametrize("time_major", [True, False])
@pytest.mark.parametrize("aux", sorted(AUX_MODES))
def test_bidi(variant, merge, time_major, aux):
    n_in, nc = 5, 6
    auxf, auxw = AUX_MODES[aux]
    # LiteRT's batch-major merged form misplaces the backward state rows for batch > 1 (numlite
    # and the delegate keep them right; tests/test_lstm.py)
    batch = 1 if (merge and not time_major) else 2
    wf = lstm_weights(n_in, nc, nc, n_aux=auxf if auxw else 0, seed=15, **VARIANTS[variant])
    wb = lstm_weights(n_in, nc, nc, n_aux=auxf if auxw else 0, seed=16, **VARIANTS[variant])
    shape = _shape(time_major, 4, batch, n_in)
    m = bidi_model(shape, wf, wb, nc, nc, nc, time_major=time_major, merge_outputs=merge, aux_features=auxf,
                   aux_weights=auxw, fused_activation_function="TANH")
    check(m, _feeds([shape] + ([(*shape[:2], auxf)] if auxf else []), seed=17))


def test_bidi_merged_batch_major_batch_3_matches_numlite():
    """The batch-major merged form with batch > 1, where LiteRT misplaces the backward state:
    against numlite only."""
    wf, wb = lstm_weights(5, 6, 6, seed=15), lstm_weights(5, 6, 6, seed=16)
    shape = (3, 4, 5)
    m = bidi_model(shape, wf, wb, 6, 6, 6, time_major=False, merge_outputs=True, fused_activation_function="TANH")
    ours, plain = _interpreter(m, True), _interpreter(m)
    assert _delegated_ops(ours) == ["BIDIRECTIONAL_SEQUENCE_LSTM"]
    for k, f in enumerate(_feeds([shape], n=3)):
        _close(_invoke(ours, f), _invoke(plain, f), f"invoke {k}")


def test_float16_weights_behind_dequantize():
    """Float16 weights read through DEQUANTIZE (numlite folds those at prepare): the LSTM maps,
    the DEQUANTIZE nodes stay numlite's (constant folding)."""
    shape = (4, 2, 5)
    w = lstm_weights(5, 6, 6, peephole=True, seed=13)
    mb = ModelBuilder()
    x = mb.input("x", shape, np.float32)
    d = direction_inputs(mb, {}, 2, 6, 6)
    for key, v in w.items():
        half = mb.const(key + "_f16", v.astype(np.float16))
        d[key] = mb.tensor(key, v.shape, np.float32)
        mb.op("DEQUANTIZE", [half], [d[key]])
    y = mb.tensor("y", (*shape[:2], 6), np.float32)
    mb.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [x, *lstm_slots(d)], [y], options_table="UnidirectionalSequenceLSTMOptions",
          time_major=True, fused_activation_function="TANH")
    mb.output(y)
    m = mb.build()
    check(m, _feeds([shape]), partitions=["UNIDIRECTIONAL_SEQUENCE_LSTM"])
    proto = onnx_graph.export(m)
    (f,), = _feeds([shape], n=1)
    _close(_ort_run(proto, [f]), _invoke(_interpreter(m), [f])[:1], "export")


def test_resized_sequence_length():
    """A time-major model resized to other sequence lengths: a new session per shape (numlite
    resets the variables at ``allocate_tensors``, with and without the delegate)."""
    w = lstm_weights(5, 6, 6, seed=14)
    m = uni_model((4, 2, 5), w, 6, 6, fused_activation_function="TANH")
    ours, plain = _interpreter(m, True), _interpreter(m)
    for k, steps in enumerate((7, 1, 4)):
        for it in (ours, plain):
            it.resize_tensor_input(it.get_input_details()[0]["index"], [steps, 2, 5])
            it.allocate_tensors()
        assert _delegated_ops(ours) == ["UNIDIRECTIONAL_SEQUENCE_LSTM"]
        (f,), = _feeds([(steps, 2, 5)], n=1, seed=k)
        _close(_invoke(ours, [f]), _invoke(plain, [f]), f"{steps} steps")


# -- state -------------------------------------------------------------------------------------
@pytest.mark.parametrize("time_major", [True, False])
def test_state_carries_over_and_resets(time_major):
    w = lstm_weights(5, 6, 6, peephole=True, seed=7)
    shape = _shape(time_major, 2, 2, 5)
    m = uni_model(shape, w, 6, 6, time_major=time_major, fused_activation_function="TANH")
    (x,), = _feeds([shape], n=1)
    first, second = check(m, [[x], [x]])
    assert not np.allclose(first[0], second[0])  # the second invoke starts from the first's state
    its = [_interpreter(m, True), _interpreter(m), _litert(m)]
    for it in its:
        _invoke(it, [x])
        _invoke(it, [x])
        it.reset_all_variables()
    again = [_invoke(it, [x]) for it in its]
    _close(again[0], first, "after reset_all_variables", exact=True)  # same session, same input, same state
    _close(again[0], again[1], "after reset: numlite")
    _close(again[0], again[2], "after reset: LiteRT")
    _close(_invoke(its[0], [x]), second, "second invoke after reset", exact=True)


def _index(it: Any, name: str) -> int:
    return next(d["index"] for d in it.get_tensor_details() if d["name"] == name)


def test_set_state_is_read():
    """The initial state is read from the variable tensors at every invoke (set_tensor on them)."""
    w = lstm_weights(5, 6, 6, seed=9)
    shape = (3, 2, 5)
    m = uni_model(shape, w, 6, 6, fused_activation_function="TANH")
    rng = np.random.default_rng(1)
    h, c = (rng.uniform(-1, 1, (2, 6)).astype(np.float32) for _ in range(2))
    (x,), = _feeds([shape], n=1)
    res = []
    for it in (_interpreter(m, True), _interpreter(m), _litert(m)):
        it.set_tensor(_index(it, "h_state"), h)
        it.set_tensor(_index(it, "c_state"), c)
        res.append(_invoke(it, [x]))
    _close(res[0], res[1], "from a set state: numlite")
    _close(res[0], res[2], "from a set state: LiteRT")


def _shared_state_model(shape: tuple[int, int, int], n_cell: int) -> bytes:
    """Two LSTMs in a row on the same state variables: the second starts from the first's final
    state (one partition: the delegate passes the updated value along inside the graph)."""
    mb = ModelBuilder()
    x = mb.input("x", shape, np.float32)
    w1 = lstm_weights(shape[2], n_cell, n_cell, seed=30)
    w2 = lstm_weights(n_cell, n_cell, n_cell, peephole=True, seed=31)
    d1 = direction_inputs(mb, w1, shape[1], n_cell, n_cell)
    d2 = direction_inputs(mb, w2, shape[1], n_cell, n_cell, prefix="second_")
    d2["h"], d2["c"] = d1["h"], d1["c"]
    y1 = mb.tensor("y1", (*shape[:2], n_cell), np.float32)
    y2 = mb.tensor("y2", (*shape[:2], n_cell), np.float32)
    for src, d, dst in ((x, d1, y1), (y1, d2, y2)):
        mb.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [src, *lstm_slots(d)], [dst],
              options_table="UnidirectionalSequenceLSTMOptions", time_major=True, fused_activation_function="TANH")
    mb.output(y2)
    return mb.build()


def test_two_lstms_sharing_state_variables():
    shape = (3, 2, 5)
    check(_shared_state_model(shape, 6), _feeds([shape], n=3),
          partitions=["UNIDIRECTIONAL_SEQUENCE_LSTM,UNIDIRECTIONAL_SEQUENCE_LSTM"])


# -- what stays on numlite ---------------------------------------------------------------------
def _unmapped_models() -> dict[str, tuple[bytes, tuple[int, ...]]]:
    shape = (4, 2, 5)
    out: dict[str, tuple[bytes, tuple[int, ...]]] = {}

    def uni(name: str, w: dict, n_out: int = 6, **kw: Any) -> None:
        out[name] = (uni_model(shape, w, 6, n_out, **{"fused_activation_function": "TANH", **kw}), shape)

    uni("cell_clip", lstm_weights(5, 6, 6, seed=1), cell_clip=0.3)
    uni("projection", lstm_weights(5, 6, 4, projection=True, proj_bias=True, seed=2), 4)
    uni("projection_clip", lstm_weights(5, 6, 4, projection=True, seed=2), 4, proj_clip=0.1)
    uni("layer_norm", lstm_weights(5, 6, 6, layer_norm=True, seed=3))
    uni("hybrid", lstm_weights(5, 6, 6, seed=4), hybrid=True)
    uni("hybrid_asymmetric", lstm_weights(5, 6, 6, seed=4), hybrid=True, asymmetric_quantize_inputs=True)
    uni("diagonal_v4", lstm_weights(5, 6, 6, diag=True, seed=5), version=4, diagonal_recurrent_tensors=True)
    for act in ("NONE", "RELU6", "RELU_N1_TO_1", "SIGN_BIT"):
        uni(f"act_{act}", lstm_weights(5, 6, 6, seed=6), fused_activation_function=act)
    w = lstm_weights(5, 6, 6, seed=7)
    out["lstm_cell_clip"] = (uni_model((2, 5), w, 6, 6, op="LSTM", fused_activation_function="TANH", cell_clip=0.5),
                             (2, 5))
    out["bidi_cell_clip"] = (bidi_model(shape, w, w, 6, 6, 6, fused_activation_function="TANH", cell_clip=0.5), shape)
    return out


UNMAPPED = _unmapped_models()


@pytest.mark.parametrize("name", sorted(UNMAPPED))
def test_unmapped_forms_stay_on_numlite(name):
    m, shape = UNMAPPED[name]
    ours, plain, lite = _interpreter(m, True), _interpreter(m), _litert(m)
    assert "DELEGATE" not in _plan(ours), _plan(ours)
    for k, f in enumerate(_feeds([shape], scale=2.0)):
        a = _invoke(ours, f)
        _close(a, _invoke(plain, f), f"invoke {k}: numlite", exact=True)
        _close(a, _invoke(lite, f), f"invoke {k}: LiteRT")


def test_full_integer_lstm_stays_on_numlite():
    from test_lstm_int import int_feeds, int_model

    shape = (3, 2, 5)
    m = int_model(shape, lstm_weights(5, 8, 8, seed=11), 8, 8)
    ours, plain = _interpreter(m, True), _interpreter(m)
    assert "DELEGATE" not in _plan(ours)
    for k, f in enumerate(int_feeds(shape)):
        _close(_invoke(ours, f), _invoke(plain, f), f"int8 invoke {k}", exact=True)


def test_non_constant_weights_are_not_supported():
    """The support check alone (numlite's kernel refuses non-constant weights at prepare)."""
    mb = ModelBuilder()
    x = mb.input("x", (3, 2, 5), np.float32)
    d = direction_inputs(mb, lstm_weights(5, 6, 6, seed=12), 2, 6, 6)
    for name in (None, "wx_f"):
        if name is not None:
            d[name] = mb.input(name + "_in", (6, 5), np.float32)
        y = mb.tensor(f"y_{name}", (3, 2, 6), np.float32)
        mb.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [x, *lstm_slots(d)], [y],
              options_table="UnidirectionalSequenceLSTMOptions", time_major=True, fused_activation_function="TANH")
        mb.output(y)
    sg = numlite.load_model(model_content=mb.build()).subgraphs[0]
    assert [onnx_graph.supported(op, sg) for op in sg.operators] == [True, False]


# -- partitions, cache, export ------------------------------------------------------------------
def _fc_lstm_fc(shape: tuple[int, int, int], n_cell: int, time_major: bool) -> bytes:
    """FULLY_CONNECTED -> UNIDIRECTIONAL_SEQUENCE_LSTM -> FULLY_CONNECTED (keep_num_dims)."""
    rng = np.random.default_rng(20)
    mb = ModelBuilder()
    x = mb.input("x", shape, np.float32)
    k = 7
    t = mb.tensor("fc1", (*shape[:2], k), np.float32)
    mb.op("FULLY_CONNECTED", [x, mb.const("w1", rng.uniform(-0.5, 0.5, (k, shape[2])).astype(np.float32)),
                              mb.const("b1", rng.uniform(-0.1, 0.1, k).astype(np.float32))], [t],
          keep_num_dims=True, fused_activation_function="RELU")
    batch = shape[1] if time_major else shape[0]
    d = direction_inputs(mb, lstm_weights(k, n_cell, n_cell, peephole=True, seed=21), batch, n_cell, n_cell)
    h = mb.tensor("lstm", (*shape[:2], n_cell), np.float32)
    mb.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [t, *lstm_slots(d)], [h], options_table="UnidirectionalSequenceLSTMOptions",
          time_major=time_major, fused_activation_function="TANH")
    y = mb.tensor("y", (*shape[:2], 3), np.float32)
    mb.op("FULLY_CONNECTED", [h, mb.const("w2", rng.uniform(-0.5, 0.5, (3, n_cell)).astype(np.float32)), -1], [y],
          keep_num_dims=True)
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize("time_major", [True, False])
def test_lstm_between_mapped_ops_is_one_partition(time_major):
    shape = _shape(time_major, 5, 2, 4)
    check(_fc_lstm_fc(shape, 8, time_major), _feeds([shape], n=3),
          partitions=["FULLY_CONNECTED,UNIDIRECTIONAL_SEQUENCE_LSTM,FULLY_CONNECTED"])


def test_cache_keeps_the_state_updates(tmp_path, monkeypatch):
    shape = (5, 2, 4)
    m = _fc_lstm_fc(shape, 8, True)
    fs = _feeds([shape], n=3, seed=5)
    cold = _interpreter(m, _delegate(cache=True, cache_dir=str(tmp_path)))
    assert any(p.suffix == ".onnx" for p in tmp_path.iterdir())
    cold_out = [_invoke(cold, f) for f in fs]

    def refuse(self: Any, op: Any, kernel: Any = None) -> None:
        raise AssertionError("the ONNX graph was built on a warm cache")

    monkeypatch.setattr(onnx_graph.OnnxBuilder, "add", refuse)
    warm = _interpreter(m, _delegate(cache=True, cache_dir=str(tmp_path)))
    assert _delegated_ops(warm) == ["FULLY_CONNECTED,UNIDIRECTIONAL_SEQUENCE_LSTM,FULLY_CONNECTED"]
    plain = _interpreter(m)
    for k, f in enumerate(fs):
        a = _invoke(warm, f)
        _close(a, cold_out[k], f"warm invoke {k}", exact=True)
        _close(a, _invoke(plain, f), f"warm invoke {k} vs numlite")
    warm.reset_all_variables()
    _close(_invoke(warm, fs[0]), cold_out[0], "warm after reset", exact=True)


def _ort_run(proto: Any, feeds: list[np.ndarray]) -> list[np.ndarray]:
    import onnxruntime as ort

    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {i.name: v for i, v in zip(proto.graph.input, feeds)})


EXPORTS = {
    "uni_time_major": lambda: uni_model((4, 2, 5), lstm_weights(5, 6, 6, peephole=True, seed=1), 6, 6,
                                        fused_activation_function="TANH"),
    "uni_batch_major_cifg": lambda: uni_model((2, 4, 5), lstm_weights(5, 6, 6, cifg=True, seed=2), 6, 6,
                                              time_major=False, fused_activation_function="RELU"),
    "lstm": lambda: uni_model((3, 5), lstm_weights(5, 6, 6, seed=3), 6, 6, op="LSTM",
                              fused_activation_function="TANH"),
    "bidi": lambda: bidi_model((4, 2, 5), lstm_weights(5, 6, 6, seed=4), lstm_weights(5, 6, 6, seed=5), 6, 6, 6,
                               fused_activation_function="TANH"),
    "fc_lstm_fc": lambda: _fc_lstm_fc((2, 5, 4), 8, False),
    "shared_state": lambda: _shared_state_model((3, 2, 5), 6),
}


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_export_starts_from_a_fresh_state(name):
    """``numlite export``: the graph computes one invoke of a fresh interpreter (or one after
    reset_all_variables); the model's outputs only (no state outputs, no state inputs)."""
    m = EXPORTS[name]()
    proto = onnx_graph.export(m)
    plain = _interpreter(m)
    assert [o.name for o in proto.graph.output] == [d["name"] for d in plain.get_output_details()]
    assert [i.name for i in proto.graph.input] == [d["name"] for d in plain.get_input_details()]
    assert "LSTM" in [n.op_type for n in proto.graph.node]
    n_out = len(plain.get_output_details())
    for k, f in enumerate(_feeds([tuple(d["shape"]) for d in plain.get_input_details()], n=2, seed=3)):
        plain.reset_all_variables()
        _close(_ort_run(proto, f), _invoke(plain, f)[:n_out], f"feed {k}")


def test_export_dynamic_batch():
    """Omitted initial states keep the batch free: batch 4 of an exported batch-2 model gives
    each row's fresh-state result."""
    mb = ModelBuilder()
    x = mb.input("x", (2, 3, 5), np.float32, shape_signature=(-1, 3, 5))
    d = direction_inputs(mb, lstm_weights(5, 6, 6, peephole=True, seed=8), 2, 6, 6)
    y = mb.tensor("y", (2, 3, 6), np.float32, shape_signature=(-1, 3, 6))
    mb.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [x, *lstm_slots(d)], [y], options_table="UnidirectionalSequenceLSTMOptions",
          time_major=False, fused_activation_function="TANH")
    mb.output(y)
    m = mb.build()
    proto = onnx_graph.export(m, dynamic_batch=True)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    (a,), (b,) = _feeds([(2, 3, 5)], n=2)
    (got,) = _ort_run(proto, [np.concatenate([a, b])])
    plain = _interpreter(m)
    want = []
    for v in (a, b):
        plain.reset_all_variables()
        want.append(_invoke(plain, [v])[0])
    _close([got], [np.concatenate(want)], "batch 4")


def test_variable_with_initial_data():
    """A state variable with data starts (and resets) there, in numlite; the delegate reads the
    variable, export embeds the data.  (LiteRT refuses variables with buffers: numlite only.)"""
    mb = ModelBuilder()
    shape = (3, 2, 5)
    x = mb.input("x", shape, np.float32)
    w = lstm_weights(5, 6, 6, seed=9)
    d = direction_inputs(mb, w, 2, 6, 6)
    rng = np.random.default_rng(4)
    d["h"] = mb.tensor("h_state0", (2, 6), np.float32, data=rng.uniform(-1, 1, (2, 6)).astype(np.float32),
                       is_variable=True)
    d["c"] = mb.tensor("c_state0", (2, 6), np.float32, data=rng.uniform(-1, 1, (2, 6)).astype(np.float32),
                       is_variable=True)
    y = mb.tensor("y", (*shape[:2], 6), np.float32)
    mb.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [x, *lstm_slots(d)], [y], options_table="UnidirectionalSequenceLSTMOptions",
          time_major=True, fused_activation_function="TANH")
    mb.output(y)
    m = mb.build()
    ours, plain = _interpreter(m, True), _interpreter(m)
    assert _delegated_ops(ours) == ["UNIDIRECTIONAL_SEQUENCE_LSTM"]
    fs = _feeds([shape], n=2)
    for k, f in enumerate(fs):
        _close(_invoke(ours, f), _invoke(plain, f), f"invoke {k}")
    plain.reset_all_variables()
    _close(_ort_run(onnx_graph.export(m), fs[0]), _invoke(plain, fs[0])[:1], "export")


def test_gate_order_constant():
    assert GATES == ("i", "f", "c", "o")  # lstm_util's slots, which the mapping reorders to i, o, f, c


def test_an_op_reading_a_state_variable_stays_on_numlite():
    """ADD reads the LSTM's output state after the LSTM wrote it (in the same invoke): only the
    recurrent converters carry state through the ONNX graph, so the ADD stays on numlite, after
    the partition has written the new state back."""
    mb = ModelBuilder()
    shape = (3, 2, 5)
    x = mb.input("x", shape, np.float32)
    d = direction_inputs(mb, lstm_weights(5, 6, 6, seed=11), 2, 6, 6)
    y = mb.tensor("y", (*shape[:2], 6), np.float32)
    mb.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [x, *lstm_slots(d)], [y], options_table="UnidirectionalSequenceLSTMOptions",
          time_major=True, fused_activation_function="TANH")
    z = mb.tensor("z", (*shape[:2], 6), np.float32)
    mb.op("ADD", [y, d["h"]], [z])
    mb.output(z)
    m = mb.build()
    ours, plain = _interpreter(m, True), _interpreter(m)
    assert _delegated_ops(ours) == ["UNIDIRECTIONAL_SEQUENCE_LSTM"]
    for k, f in enumerate(_feeds([shape], n=3)):
        _close(_invoke(ours, f), _invoke(plain, f), f"invoke {k}")
