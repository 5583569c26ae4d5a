"""Keras recurrent layers over a free number of time steps (``Input((None, d))``): GRU as a WHILE
loop (cond and body subgraphs), LSTM / SimpleRNN through their sequence ops; MultiHeadAttention
with a causal / sliding-window mask built at run time.  Each model is converted once and run on
one interpreter per runtime (numlite, LiteRT), resized between several sequence lengths and
batches, against Keras (NumPy backend).

Tolerance: 1e-5 of each output's magnitude.  The same float32 products and sums as Keras, in
another order (FULLY_CONNECTED's dot products, ``hh + z * (h - hh)`` for Keras's
``z * h + (1 - z) * hh``): a few ulps per step, measured below 2e-7 over 9 steps."""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "numpy")
keras = pytest.importorskip("keras")
litert = pytest.importorskip("ai_edge_litert.interpreter")

from util import randomize_recurrent_biases  # noqa: E402

import numlite  # noqa: E402
from numlite.converter import ConversionError  # noqa: E402
from numlite.graph import load_model  # noqa: E402

RNG = np.random.default_rng(1)
TOL = 1e-5


def _predict(model, x):
    ref = model.predict(x, verbose=0)
    return list(ref) if isinstance(ref, (list, tuple)) else [ref]


def check_lengths(model, shapes, data=None, invokes=1):
    """``model`` converted once (or ``data``), run on one numlite and one LiteRT interpreter
    each resized to every input shape in ``shapes`` in turn, against Keras; ``invokes``: that
    many invokes per shape, each giving the same (no state carried between invokes)."""
    data = numlite.convert(model) if data is None else data
    xs = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
    refs = [_predict(model, x) for x in xs]
    for runtime in (numlite.Interpreter, litert.Interpreter):
        it = runtime(model_content=data)
        d = it.get_input_details()[0]
        for x, ref in zip(xs, refs):
            it.resize_tensor_input(d["index"], list(x.shape))
            it.allocate_tensors()
            for _ in range(invokes):
                it.set_tensor(d["index"], x)
                it.invoke()
                outs = [it.get_tensor(o["index"]) for o in it.get_output_details()]
                assert len(outs) == len(ref)
                for k, (o, r) in enumerate(zip(outs, ref)):
                    assert o.shape == r.shape, (runtime.__module__, x.shape, k, o.shape, r.shape)
                    err = float(np.max(np.abs(o - r)))
                    assert err <= TOL * max(float(np.max(np.abs(r))), 1e-6), (runtime.__module__, x.shape, k, err)
    return data


def ops(data, k=0):
    return [o.op_name for o in load_model(model_content=data).subgraphs[k].operators]


# -- GRU as a WHILE loop ---------------------------------------------------------------------------------
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_with_free_time_steps_is_a_while_loop(reset_after, return_sequences, go_backwards):
    model = keras.Sequential([keras.Input((None, 4)),
                              keras.layers.GRU(5, reset_after=reset_after, return_sequences=return_sequences,
                                               go_backwards=go_backwards)])
    randomize_recurrent_biases(model, RNG)
    data = check_lengths(model, [(1, 3, 4), (2, 7, 4), (1, 1, 4)], invokes=2)
    m = load_model(model_content=data)
    assert len(m.subgraphs) == 3
    main, cond, body = ([o.op_name for o in sg.operators] for sg in m.subgraphs)
    assert main.count("WHILE") == 1 and main.count("FULLY_CONNECTED") == 1  # the input projection, once
    assert ("REVERSE_V2" in main) == go_backwards
    assert cond == ["LESS"]
    assert body.count("GATHER") == 1 and "UNPACK" not in body
    assert body.count("FULLY_CONNECTED") == (1 if reset_after else 2)
    assert ("DYNAMIC_UPDATE_SLICE" in body) == return_sequences
    w = m.subgraphs[0].operators[main.index("WHILE")]
    assert (w.options["cond_subgraph_index"], w.options["body_subgraph_index"]) == (1, 2)
    assert len(m.subgraphs[2].inputs) == len(m.subgraphs[2].outputs) == (5 if return_sequences else 4)


def test_gru_loop_over_a_long_sequence():
    """150 steps: the loop's rounding stays within the tolerance (measured 2e-7 of the output's
    magnitude at 200 steps)."""
    model = keras.Sequential([keras.Input((None, 6)), keras.layers.GRU(16, return_sequences=True),
                              keras.layers.GRU(8, go_backwards=True)])
    randomize_recurrent_biases(model, RNG)
    check_lengths(model, [(1, 150, 6), (2, 40, 6)])


def test_gru_loop_from_a_keras_file_writes_only_the_loop_it_runs(tmp_path):
    """A Sequential loaded from a .keras file holds two graph nodes of its GRU, both reading the
    model's input: the one nothing reads converts to a dead WHILE, which the passes remove, and
    its cond and body are not written."""
    model = keras.Sequential([keras.Input((None, 8), name="frames"), keras.layers.GRU(6, name="gru"),
                              keras.layers.Dense(4, activation="softmax", name="probs")])
    randomize_recurrent_biases(model, RNG)
    path = tmp_path / "gru.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert len(loaded.get_layer("gru")._inbound_nodes) == 2
    data = check_lengths(loaded, [(1, 5, 8), (2, 3, 8)], data=numlite.convert(str(path)))
    m = load_model(model_content=data)
    assert [sg.name for sg in m.subgraphs] == ["main", "gru/while_cond", "gru/while_body"]
    assert ops(data).count("WHILE") == 1


def test_a_text_model_embedding_conv1d_gru_loop():
    """Token ids of free length -> Embedding -> Conv1D -> GRU loop -> Dense: the loop reads a
    computed sequence, its length taken from that tensor's SHAPE."""
    tokens = keras.Input((None,), dtype="int32")
    h = keras.layers.Embedding(30, 6)(tokens)
    h = keras.layers.Conv1D(5, 3, padding="same", activation="relu")(h)
    h = keras.layers.GRU(4)(h)
    model = keras.Model(tokens, keras.layers.Dense(2)(h))
    randomize_recurrent_biases(model, RNG)
    data = numlite.convert(model)
    assert "WHILE" in ops(data)
    for runtime in (numlite.Interpreter, litert.Interpreter):
        it = runtime(model_content=data)
        d = it.get_input_details()[0]
        for shape in ((1, 9), (2, 4)):
            x = RNG.integers(0, 30, shape).astype(np.int32)
            it.resize_tensor_input(d["index"], list(shape))
            it.allocate_tensors()
            it.set_tensor(d["index"], x)
            it.invoke()
            out, ref = it.get_tensor(it.get_output_details()[0]["index"]), model.predict(x, verbose=0)
            assert out.shape == ref.shape and np.max(np.abs(out - ref)) <= TOL * np.max(np.abs(ref)), shape


def test_gru_with_fixed_time_steps_stays_unrolled():
    model = keras.Sequential([keras.Input((4, 3)), keras.layers.GRU(2)])
    data = numlite.convert(model)
    assert len(load_model(model_content=data).subgraphs) == 1 and "WHILE" not in ops(data)


@pytest.mark.parametrize("act,rec_act", [("relu", "hard_sigmoid"), ("linear", "sigmoid"), ("sigmoid", "tanh")])
def test_gru_loop_activations_without_bias(act, rec_act):
    model = keras.Sequential([keras.Input((None, 3)), keras.layers.GRU(4, activation=act, recurrent_activation=rec_act,
                                                                       use_bias=False, return_sequences=True)])
    check_lengths(model, [(2, 5, 3), (1, 2, 3)])


def test_gru_loops_stacked_with_return_state_fixed_batch_and_layers_after():
    """Two GRU loops (the second reads the first's sequence, runs backwards), return_state (the
    loop's last state), a fixed batch (the zero state a constant), a Dense after the loop."""
    inp = keras.Input((None, 3), batch_size=2)
    seq, state = keras.layers.GRU(3, return_sequences=True, return_state=True)(inp)
    last, state2 = keras.layers.GRU(2, return_state=True, go_backwards=True, reset_after=False)(seq)
    out = keras.layers.Dense(2)(last)
    model = keras.Model(inp, [seq, state, out, state2])
    randomize_recurrent_biases(model, RNG)
    data = check_lengths(model, [(2, 4, 3), (2, 9, 3)])
    assert ops(data).count("WHILE") == 2 and len(load_model(model_content=data).subgraphs) == 5
    assert "FILL" in ops(data)  # the output buffer's shape from the input's (its length is free)


@pytest.mark.parametrize("merge_mode", ["concat", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_gru_with_free_time_steps(return_sequences, merge_mode):
    model = keras.Sequential([keras.Input((None, 3)), keras.layers.Bidirectional(
        keras.layers.GRU(4, return_sequences=return_sequences), merge_mode=merge_mode)])
    randomize_recurrent_biases(model, RNG)
    data = check_lengths(model, [(1, 3, 3), (2, 6, 3)])
    main = ops(data)
    assert main.count("WHILE") == 2
    # the backward loop runs on the reversed projection; its sequence is reversed back
    assert main.count("REVERSE_V2") == (2 if return_sequences else 1)


def test_bidirectional_gru_forward_lstm_backward_with_free_time_steps():
    model = keras.Sequential([keras.Input((None, 3), batch_size=1), keras.layers.Bidirectional(
        keras.layers.GRU(4, return_sequences=True),
        backward_layer=keras.layers.LSTM(2, go_backwards=True, return_sequences=True))])
    randomize_recurrent_biases(model, RNG)
    data = check_lengths(model, [(1, 5, 3), (1, 2, 3)])
    assert "WHILE" in ops(data) and "UNIDIRECTIONAL_SEQUENCE_LSTM" in ops(data)


def test_gru_loop_refusals_name_the_layer():
    for layer, msg in ((keras.layers.GRU(2, activation="softmax", name="g"), "activation 'softmax'"),
                       (keras.layers.GRU(2, stateful=True, name="g"), "stateful=True")):
        model = keras.Sequential([keras.Input((None, 3), batch_size=1), layer])
        with pytest.raises(ConversionError, match=rf"layer 'g' \(GRU\): {msg}"):
            numlite.convert(model)


def test_gru_loop_model_with_metadata_and_signature():
    """The metadata describes the main subgraph; the signature runs the loop on both runtimes."""
    model = keras.Sequential([keras.Input((None, 3), name="frames"), keras.layers.GRU(3, name="gru")])
    randomize_recurrent_biases(model, RNG)
    data = numlite.convert(model, labels=["a", "b", "c"], description="a GRU loop")
    check_lengths(model, [(1, 4, 3), (2, 2, 3)], data=data)
    x = RNG.standard_normal((2, 5, 3)).astype(np.float32)
    for runtime in (numlite.Interpreter, litert.Interpreter):
        run = runtime(model_content=data).get_signature_runner()
        out = run(frames=x)
        np.testing.assert_allclose(out["gru"], model.predict(x, verbose=0), rtol=TOL, atol=TOL)


# -- LSTM and SimpleRNN: their sequence ops take a free number of steps -----------------------------
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("layer", ["LSTM", "SimpleRNN"])
def test_lstm_and_simple_rnn_with_free_time_steps(layer, return_sequences, go_backwards):
    """The state tensors have a fixed batch (variables, as TensorFlow's converter writes them):
    the batch is fixed, the length free.  Each length starts from a zero state
    (``reset_all_variables``)."""
    model = keras.Sequential([keras.Input((None, 5), batch_size=2), getattr(keras.layers, layer)(
        4, return_sequences=return_sequences, go_backwards=go_backwards), keras.layers.Dense(3)])
    randomize_recurrent_biases(model, RNG)
    data = numlite.convert(model)
    assert "WHILE" not in ops(data)
    for length in (3, 7):  # a fresh interpreter per length: the variables carry state between invokes
        check_lengths(model, [(2, length, 5)], data=data)
    _reset_between_lengths(model, data, [(2, 3, 5), (2, 8, 5)])


def _reset_between_lengths(model, data, shapes):
    """One interpreter per runtime, resized to each shape, the state reset before each invoke."""
    for runtime in (numlite.Interpreter, litert.Interpreter):
        it = runtime(model_content=data)
        d = it.get_input_details()[0]
        for shape in shapes:
            x = RNG.standard_normal(shape).astype(np.float32)
            it.resize_tensor_input(d["index"], list(shape))
            it.allocate_tensors()
            it.reset_all_variables()
            it.set_tensor(d["index"], x)
            it.invoke()
            out, ref = it.get_tensor(it.get_output_details()[0]["index"]), model.predict(x, verbose=0)
            assert out.shape == ref.shape
            assert np.max(np.abs(out - ref)) <= TOL * np.max(np.abs(ref)), (runtime.__module__, shape)


@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_lstm_with_free_time_steps(return_sequences):
    model = keras.Sequential([keras.Input((None, 3), batch_size=1), keras.layers.Bidirectional(
        keras.layers.LSTM(4, return_sequences=return_sequences))])
    randomize_recurrent_biases(model, RNG)
    data = numlite.convert(model)
    assert "BIDIRECTIONAL_SEQUENCE_LSTM" in ops(data)
    _reset_between_lengths(model, data, [(1, 4, 3), (1, 9, 3)])
