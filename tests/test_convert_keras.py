"""``numlite.convert``: Keras 3 models to .tflite without TensorFlow, checked against Keras's own
predictions (Keras's NumPy backend) on numlite and on LiteRT.

Tolerance: 1e-5 of each output's magnitude - the same float32 arithmetic summed in other
orders (folded batch norm scales the weights once instead of the activations: a few ulps)."""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "numpy")
keras = pytest.importorskip("keras")
litert = pytest.importorskip("ai_edge_litert.interpreter")

from util import randomize_recurrent_biases, run  # noqa: E402

import numlite  # noqa: E402
from numlite.converter import ConversionError  # noqa: E402
from numlite.graph import load_model  # noqa: E402

RNG = np.random.default_rng(0)


def _check(model, xs, tol=1e-5):
    ref = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    refs = list(ref) if isinstance(ref, (list, tuple)) else [ref]
    data = numlite.convert(model)
    for runtime in (numlite.Interpreter, litert.Interpreter):
        outs = run(runtime, data, xs)
        assert len(outs) == len(refs)
        for o, r in zip(outs, refs):
            assert o.shape == r.shape
            assert np.max(np.abs(o - r)) <= tol * max(float(np.max(np.abs(r))), 1e-6), runtime
    return data


def _ops(data):
    return [op.op_name for op in load_model(model_content=data).subgraphs[0].operators]


def _randomize_batch_norms(model):
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(RNG.uniform(-0.5, 0.5, layer.moving_mean.shape))
            layer.moving_variance.assign(RNG.uniform(0.5, 2.0, layer.moving_variance.shape))
            if layer.gamma is not None:
                layer.gamma.assign(RNG.uniform(0.5, 1.5, layer.gamma.shape))


def test_a_mobilenet_style_cnn_folds_batch_norm_and_fuses_relu6():
    inp = keras.Input((16, 16, 3), name="image")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inp)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU(6.0)(x)
    y = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    y = keras.layers.BatchNormalization()(y)
    y = keras.layers.Activation("relu")(y)
    y = keras.layers.Conv2D(8, 1)(y)
    x = keras.layers.Add()([x, y])
    x = keras.layers.SeparableConv2D(12, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.3)(x)
    out = keras.layers.Dense(5, activation="softmax", name="probs")(x)
    model = keras.Model(inp, out)
    _randomize_batch_norms(model)
    data = _check(model, [RNG.uniform(0, 255, (2, 16, 16, 3)).astype(np.float32)])
    ops = _ops(data)
    assert "RELU" not in ops and "RELU6" not in ops  # fused into the convolutions
    assert ops.count("MUL") == 1 and ops.count("ADD") == 2  # Rescaling's MUL / ADD and the residual ADD: BN folded
    m = load_model(model_content=data)
    sig = m.signature_defs[0]
    assert sig.key == "serving_default" and list(sig.inputs) == ["image"] and list(sig.outputs) == ["probs"]
    t = m.subgraphs[0].tensors[m.subgraphs[0].inputs[0]]
    assert t.shape == (1, 16, 16, 3) and t.shape_signature == (-1, 16, 16, 3)  # dynamic batch


@pytest.mark.parametrize("act", ["relu", "relu6", "sigmoid", "tanh", "softmax", "swish", "silu", "hard_swish", "gelu",
                                 "elu", "leaky_relu", "linear"])
def test_dense_activations(act):
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(7, activation=act)])
    _check(model, [RNG.standard_normal((3, 6)).astype(np.float32)])


def test_sequence_dense_any_rank_and_merges():
    a, b = keras.Input((5, 4), name="a"), keras.Input((5, 4), name="b")
    x = keras.layers.Dense(6, activation="gelu")(a)
    y = keras.layers.Dense(6)(b)
    s = keras.layers.Subtract()([x, y])
    mu = keras.layers.Multiply()([x, y])
    mx = keras.layers.Maximum()([s, mu])
    mn = keras.layers.Minimum()([s, mu])
    av = keras.layers.Average()([mx, mn, s])
    c = keras.layers.Concatenate(axis=-1)([av, mx])
    p = keras.layers.Permute((2, 1))(c)
    f = keras.layers.Flatten()(p)
    r = keras.layers.Reshape((3, 20))(f)
    n = keras.layers.BatchNormalization()(r)  # not after a conv / dense: MUL and ADD
    out = keras.layers.Softmax()(n)
    model = keras.Model([a, b], [out, x])
    _randomize_batch_norms(model)
    _check(model, [RNG.standard_normal((2, 5, 4)).astype(np.float32) for _ in range(2)])


def test_pools_padding_and_activation_layers():
    model = keras.Sequential([
        keras.Input((12, 12, 4)),
        keras.layers.ZeroPadding2D(((1, 2), (0, 1))),
        keras.layers.Conv2D(6, 3, dilation_rate=2),
        keras.layers.LeakyReLU(negative_slope=0.1),
        keras.layers.AveragePooling2D(2, padding="same"),
        keras.layers.ELU(),
        keras.layers.ReLU(),
        keras.layers.GlobalMaxPooling2D(keepdims=True),
    ])
    _check(model, [RNG.standard_normal((2, 12, 12, 4)).astype(np.float32)])


def test_keras_file_and_command_line(tmp_path, capsys):
    from util import numlite_command

    model = keras.Sequential([keras.Input((8,), name="x"), keras.layers.Dense(4, activation="relu", name="h"),
                              keras.layers.Dense(2, name="y")])
    path = tmp_path / "m.keras"
    model.save(path)
    x = RNG.standard_normal((3, 8)).astype(np.float32)
    ref = model.predict(x, verbose=0)
    np.testing.assert_allclose(run(numlite.Interpreter, numlite.convert(str(path)), [x])[0], ref, rtol=1e-5,
                               atol=1e-6)
    out = tmp_path / "m.tflite"
    assert numlite_command(["convert", str(path), "-o", str(out)]) == 0
    assert "inputs x[-1, 8]; outputs y[-1, 2]" in capsys.readouterr().out
    np.testing.assert_allclose(run(litert.Interpreter, out.read_bytes(), [x])[0], ref, rtol=1e-5, atol=1e-6)


def test_unconvertible_layers_are_named(tmp_path, capsys):
    from util import numlite_command

    lam = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda t: t * 2, name="double")])
    with pytest.raises(ConversionError, match=r"layer 'double' \(Lambda\)"):
        numlite.convert(lam)
    odd = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softplus", name="d")])
    with pytest.raises(ConversionError, match=r"layer 'd' \(Dense\): activation 'softplus'"):
        numlite.convert(odd)
    cf = keras.Sequential([keras.Input((3, 8, 8)), keras.layers.Conv2D(2, 3, data_format="channels_first", name="c")])
    with pytest.raises(ConversionError, match="channels_last"):
        numlite.convert(cf)
    with pytest.raises(ConversionError, match="not built"):
        numlite.convert(keras.Sequential([keras.layers.Dense(2)]))
    path = tmp_path / "lam.keras"
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2), keras.layers.Masking(name="mask")]).save(path)
    out = tmp_path / "x.tflite"
    assert numlite_command(["convert", str(path), "-o", str(out)]) == 4
    assert "layer 'mask' (Masking)" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "x.tflite.partial").exists()
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    assert numlite_command(["convert", str(bad), "-o", str(out)]) == 3
    assert "not a zip archive" in capsys.readouterr().err
    bad.write_bytes(b"PK\x03\x04 then garbage")  # a zip's magic, not a zip
    assert numlite_command(["convert", str(bad), "-o", str(out)]) == 3
    assert "not a zip archive" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("act", ["hard_sigmoid", "selu", "mish"])
def test_composed_activations(act):
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(7, activation=act)])
    _check(model, [(3 * RNG.standard_normal((3, 6))).astype(np.float32)])


@pytest.mark.parametrize("padding", ["same", "valid", "causal"])
def test_conv1d(padding):
    second = "valid" if padding == "causal" else padding
    model = keras.Sequential([keras.Input((20, 4)),
                              keras.layers.Conv1D(6, 3, padding=padding, dilation_rate=2, activation="relu"),
                              keras.layers.Conv1D(5, 3, strides=2, padding=second)])
    _check(model, [RNG.standard_normal((2, 20, 4)).astype(np.float32)])


@pytest.mark.parametrize("padding,strides", [("same", 2), ("valid", 2), ("same", 1)])
def test_conv2d_transpose_keeps_the_batch_free(padding, strides):
    model = keras.Sequential([keras.Input((5, 6, 3)),
                              keras.layers.Conv2DTranspose(4, 3, strides=strides, padding=padding, activation="relu")])
    data = _check(model, [RNG.standard_normal((1, 5, 6, 3)).astype(np.float32)])
    x = RNG.standard_normal((3, 5, 6, 3)).astype(np.float32)  # another batch size
    np.testing.assert_allclose(run(numlite.Interpreter, data, [x])[0], model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_upsampling_and_cropping(interpolation):
    model = keras.Sequential([keras.Input((6, 7, 3)), keras.layers.UpSampling2D(2, interpolation=interpolation),
                              keras.layers.Cropping2D(((1, 2), (3, 0)))])
    _check(model, [RNG.standard_normal((2, 6, 7, 3)).astype(np.float32)])


def test_a_text_model_embedding_layer_norm_repeat():
    tokens = keras.Input((12,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(50, 8)(tokens)
    x = keras.layers.LayerNormalization()(x)
    x = keras.layers.Dense(8, activation="relu")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(4)(x)
    out = keras.layers.RepeatVector(3)(x)
    model = keras.Model(tokens, out)
    ln = model.layers[2]
    ln.gamma.assign(RNG.uniform(0.5, 1.5, ln.gamma.shape))
    ln.beta.assign(RNG.uniform(-0.5, 0.5, ln.beta.shape))
    _check(model, [RNG.integers(0, 50, (2, 12)).astype(np.int32)])


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("layer", ["LSTM", "SimpleRNN"])
def test_recurrent_layers_as_tflite_sequence_ops(layer, return_sequences):
    """As TensorFlow's converter writes them: UNIDIRECTIONAL_SEQUENCE_LSTM / _RNN with variable
    state tensors (the state carries into the next invoke until reset_all_variables, so the
    comparison with Keras is on a fresh interpreter, then after a reset)."""
    cls = getattr(keras.layers, layer)
    model = keras.Sequential([keras.Input((7, 5), batch_size=2), cls(6, return_sequences=return_sequences),
                              keras.layers.Dense(3)])
    x = RNG.standard_normal((2, 7, 5)).astype(np.float32)
    data = _check(model, [x])
    assert f"UNIDIRECTIONAL_SEQUENCE_{'LSTM' if layer == 'LSTM' else 'RNN'}" in _ops(data)
    it = numlite.Interpreter(model_content=data)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    ref = model.predict(x, verbose=0)
    for _ in range(2):
        it.reset_all_variables()
        it.set_tensor(d["index"], x)
        it.invoke()
        np.testing.assert_allclose(it.get_tensor(it.get_output_details()[0]["index"]), ref, rtol=1e-5, atol=1e-5)


def test_recurrent_options_that_do_not_map_are_named():
    for layer, cls in ((keras.layers.LSTM(4, activation="sigmoid", name="r"), "LSTM"),
                       (keras.layers.LSTM(4, recurrent_activation="hard_sigmoid", name="r"), "LSTM"),
                       (keras.layers.LSTM(4, return_state=True, name="r"), "LSTM"),
                       (keras.layers.SimpleRNN(4, return_state=True, name="r"), "SimpleRNN"),
                       (keras.layers.SimpleRNN(4, stateful=True, name="r"), "SimpleRNN"),
                       (keras.layers.GRU(4, stateful=True, name="r"), "GRU"),
                       (keras.layers.GRU(4, activation="softmax", name="r"), "GRU")):
        inp = keras.Input((3, 2), batch_size=1)
        out = layer(inp)
        model = keras.Model(inp, out[0] if isinstance(out, list) else out)
        with pytest.raises(ConversionError, match=rf"layer 'r' \({cls}\)"):
            numlite.convert(model)


def test_equal_constants_are_written_once():
    """Two convolutions without bias (zero biases of one shape) and two Flatten reshapes: one
    buffer each; the model still matches Keras."""
    inp = keras.Input((6, 6, 2))
    a = keras.layers.Conv2D(4, 3, use_bias=False, padding="same")(inp)
    b = keras.layers.Conv2D(4, 3, use_bias=False, padding="same")(inp)
    out = keras.layers.Concatenate()([keras.layers.Flatten()(a), keras.layers.Flatten()(b)])
    model = keras.Model(inp, out)
    data = _check(model, [RNG.standard_normal((2, 6, 6, 2)).astype(np.float32)])
    sg = load_model(model_content=data).subgraphs[0]
    convs = [op for op in sg.operators if op.op_name == "CONV_2D"]
    reshapes = [op for op in sg.operators if op.op_name == "RESHAPE"]
    assert convs[0].inputs[2] == convs[1].inputs[2] and reshapes[0].inputs[1] == reshapes[1].inputs[1]
    assert convs[0].inputs[1] != convs[1].inputs[1]  # different weights stay apart


def test_normalization_resizing_and_1d_pools():
    norm = keras.layers.Normalization(mean=[0.5, -1.0, 2.0], variance=[4.0, 0.25, 1e-9])  # one tiny variance
    model = keras.Sequential([keras.Input((8, 8, 3)), norm, keras.layers.Resizing(12, 10),
                              keras.layers.Reshape((120, 3)), keras.layers.MaxPooling1D(3),
                              keras.layers.AveragePooling1D(2, padding="same"), keras.layers.GlobalMaxPooling1D()])
    _check(model, [RNG.standard_normal((2, 8, 8, 3)).astype(np.float32)])
    avg = keras.Sequential([keras.Input((9, 4)), keras.layers.GlobalAveragePooling1D(keepdims=True)])
    _check(avg, [RNG.standard_normal((2, 9, 4)).astype(np.float32)])


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_resizing_down_and_up(interpolation):
    model = keras.Sequential([keras.Input((9, 7, 2)), keras.layers.Resizing(5, 11, interpolation=interpolation)])
    _check(model, [RNG.standard_normal((2, 9, 7, 2)).astype(np.float32)])


def test_conv3d():
    model = keras.Sequential([keras.Input((5, 6, 7, 2)), keras.layers.Conv3D(3, 3, padding="same", activation="relu"),
                              keras.layers.Conv3D(2, (2, 3, 1), strides=(1, 2, 1))])
    _check(model, [RNG.standard_normal((2, 5, 6, 7, 2)).astype(np.float32)])


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_lstm(merge_mode, return_sequences):
    model = keras.Sequential([keras.Input((6, 4), batch_size=2),
                              keras.layers.Bidirectional(keras.layers.LSTM(5, return_sequences=return_sequences),
                                                         merge_mode=merge_mode),
                              keras.layers.Dense(3)])
    data = _check(model, [RNG.standard_normal((2, 6, 4)).astype(np.float32)])
    assert "BIDIRECTIONAL_SEQUENCE_LSTM" in _ops(data)


@pytest.mark.parametrize("app", ["MobileNetV2", "MobileNet"])
def test_keras_applications_architectures(app):
    """Architectures others wrote (keras.applications, random weights: nothing is downloaded),
    with their ZeroPadding2D, ReLU(6), depthwise convolutions, batch norms and residual ADDs."""
    model = getattr(keras.applications, app)(input_shape=(96, 96, 3), alpha=0.35 if app == "MobileNetV2" else 0.25,
                                             weights=None, classes=10)
    _randomize_batch_norms(model)
    data = _check(model, [RNG.uniform(-1, 1, (1, 96, 96, 3)).astype(np.float32)])
    ops = _ops(data)
    assert "RELU6" not in ops and "MUL" not in ops  # all folded / fused
    assert ops.count("ADD") == {"MobileNet": 0, "MobileNetV2": 10}[app]  # the residual ADDs only
    # as many ops as when the front end folded the batch norms itself
    assert len(ops) == {"MobileNet": 35, "MobileNetV2": 69}[app], ops


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_unrolled(reset_after, return_sequences, go_backwards):
    """GRU as FULLY_CONNECTED / UNPACK / per-step ops (TFLite has no GRU op); no variable state:
    every invoke starts from zero, as Keras's predict; a batch of 3 on an Input of free batch."""
    model = keras.Sequential([keras.Input((6, 4)),
                              keras.layers.GRU(5, reset_after=reset_after, return_sequences=return_sequences,
                                               go_backwards=go_backwards)])
    randomize_recurrent_biases(model, RNG)
    x = RNG.standard_normal((3, 6, 4)).astype(np.float32)
    data = _check(model, [x])
    ops = _ops(data)
    assert "WHILE" not in ops and ops.count("UNPACK") == 2 and ops.count("TANH") == 6
    assert ("PACK" in ops) == return_sequences
    it = numlite.Interpreter(model_content=data)  # a second invoke: the same result (no state carried)
    it.resize_tensor_input(it.get_input_details()[0]["index"], list(x.shape))
    it.allocate_tensors()
    for _ in range(2):
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        np.testing.assert_allclose(it.get_tensor(it.get_output_details()[0]["index"]), model.predict(x, verbose=0),
                                   rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("act,rec_act", [("relu", "hard_sigmoid"), ("linear", "sigmoid"), ("sigmoid", "tanh")])
def test_gru_activations_without_bias(act, rec_act):
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.GRU(4, activation=act, recurrent_activation=rec_act,
                                                                    use_bias=False, return_sequences=True)])
    _check(model, [RNG.standard_normal((2, 5, 3)).astype(np.float32)])


def test_gru_edge_cases_and_return_state():
    """One unit, one time step, two stacked GRUs (the second reads the first's sequence); and
    return_state: the last state as a second output (equal to the last step's output)."""
    one = keras.Sequential([keras.Input((1, 3)), keras.layers.GRU(1)])
    randomize_recurrent_biases(one, RNG)
    _check(one, [RNG.standard_normal((4, 1, 3)).astype(np.float32)])
    stacked = keras.Sequential([keras.Input((7, 2)), keras.layers.GRU(3, return_sequences=True),
                                keras.layers.GRU(2, go_backwards=True, reset_after=False)])
    randomize_recurrent_biases(stacked, RNG)
    _check(stacked, [RNG.standard_normal((2, 7, 2)).astype(np.float32)])
    inp = keras.Input((4, 3))
    seq, state = keras.layers.GRU(3, return_sequences=True, return_state=True)(inp)
    last, state2 = keras.layers.GRU(2, return_state=True)(seq)
    model = keras.Model(inp, [seq, state, last, state2])
    randomize_recurrent_biases(model, RNG)
    _check(model, [RNG.standard_normal((2, 4, 3)).astype(np.float32)])


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("layer", ["LSTM", "SimpleRNN"])
def test_lstm_and_simple_rnn_go_backwards(layer, return_sequences):
    """REVERSE_V2 on the time axis before the sequence op; the output sequence stays in the
    order the steps ran, as Keras gives it."""
    model = keras.Sequential([keras.Input((6, 3), batch_size=2),
                              getattr(keras.layers, layer)(4, go_backwards=True, return_sequences=return_sequences)])
    randomize_recurrent_biases(model, RNG)
    data = _check(model, [RNG.standard_normal((2, 6, 3)).astype(np.float32)])
    assert "REVERSE_V2" in _ops(data)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("layer", ["GRU", "SimpleRNN"])
def test_bidirectional_gru_and_simple_rnn(layer, return_sequences, merge_mode):
    inner = getattr(keras.layers, layer)(4, return_sequences=return_sequences)
    model = keras.Sequential([keras.Input((5, 3), batch_size=2), keras.layers.Bidirectional(inner,
                                                                                           merge_mode=merge_mode)])
    randomize_recurrent_biases(model, RNG)
    data = _check(model, [RNG.standard_normal((2, 5, 3)).astype(np.float32)])
    if layer == "SimpleRNN":
        assert _ops(data).count("UNIDIRECTIONAL_SEQUENCE_RNN") == 2


def test_bidirectional_with_other_backward_layers():
    """A GRU forward and an LSTM backward (Keras allows any pair); a Bidirectional of a generic
    RNN (a cell) and options of the inner layer that do not map are refused, naming the layer."""
    model = keras.Sequential([keras.Input((5, 3), batch_size=1), keras.layers.Bidirectional(
        keras.layers.GRU(4, return_sequences=True),
        backward_layer=keras.layers.LSTM(2, go_backwards=True, return_sequences=True))])
    randomize_recurrent_biases(model, RNG)
    _check(model, [RNG.standard_normal((1, 5, 3)).astype(np.float32)])
    for inner, msg in ((keras.layers.SimpleRNN(2, activation="sigmoid"), "activation 'sigmoid'"),
                       (keras.layers.RNN(keras.layers.GRUCell(2)), r"Bidirectional\(RNN\): only LSTM, GRU"),
                       (keras.layers.GRU(2, return_state=True), "return_state")):
        bi = keras.Sequential([keras.Input((5, 3), batch_size=1), keras.layers.Bidirectional(inner, name="bi")])
        with pytest.raises(ConversionError, match=r"layer 'bi' \(Bidirectional\): " + msg):
            numlite.convert(bi)


@pytest.mark.parametrize("shape,groups", [((6, 5, 8), 4), ((8,), 2), ((7, 6), 6), ((3, 4, 2, 6), 1)])
def test_group_normalization(shape, groups):
    """Inputs of mean 0.5 (Keras's variance E[x^2] - E[x]^2 and the converter's centered one
    agree to rounding); gamma and beta random; ranks 2 to 5, one group and one channel per group."""
    model = keras.Sequential([keras.Input(shape), keras.layers.GroupNormalization(groups, epsilon=1e-3)])
    gn = model.layers[0]
    gn.gamma.assign(RNG.uniform(0.5, 1.5, gn.gamma.shape))
    gn.beta.assign(RNG.uniform(-0.5, 0.5, gn.beta.shape))
    _check(model, [(0.5 + RNG.standard_normal((3, *shape))).astype(np.float32)])
    bare = keras.Sequential([keras.Input(shape), keras.layers.GroupNormalization(groups, center=False, scale=False)])
    _check(bare, [RNG.standard_normal((2, *shape)).astype(np.float32)])


def test_group_and_unit_normalization_refusals():
    for layer, shape, msg in ((keras.layers.GroupNormalization(2, axis=1, name="n"), (4, 6), "axis 1"),
                              (keras.layers.UnitNormalization(axis=[0, 1], name="n"), (4,),
                               r"axis \[0, 1\]: the batch axis")):
        model = keras.Sequential([keras.Input(shape), layer])
        with pytest.raises(ConversionError, match=rf"layer 'n' \({type(layer).__name__}\): {msg}"):
            numlite.convert(model)


@pytest.mark.parametrize("axis", [-1, 1, (1, 2)])
def test_unit_normalization(axis):
    model = keras.Sequential([keras.Input((4, 5)), keras.layers.UnitNormalization(axis=axis)])
    x = RNG.standard_normal((3, 4, 5)).astype(np.float32)
    x[0, 1] = 0.0  # a zero vector: 0 from both (Keras clips the inverse norm at 1e12, TFLite the norm at 1e-6)
    data = _check(model, [x])
    assert ("L2_NORMALIZATION" in _ops(data)) == (axis == -1)


def test_1d_padding_cropping_upsampling_and_transposed_conv():
    model = keras.Sequential([keras.Input((9, 3)), keras.layers.ZeroPadding1D((2, 1)), keras.layers.Cropping1D((1, 3)),
                              keras.layers.UpSampling1D(3),
                              keras.layers.Conv1DTranspose(4, 3, strides=2, padding="same", activation="relu"),
                              keras.layers.Conv1DTranspose(2, 2, padding="valid")])
    data = _check(model, [RNG.standard_normal((2, 9, 3)).astype(np.float32)])
    assert "TILE" in _ops(data) and _ops(data).count("TRANSPOSE_CONV") == 2


def test_3d_padding_cropping_upsampling_pools_and_transposed_conv():
    model = keras.Sequential([keras.Input((3, 4, 5, 2)), keras.layers.ZeroPadding3D(((1, 0), (0, 2), (1, 1))),
                              keras.layers.Cropping3D(((0, 1), (1, 1), (2, 0))), keras.layers.UpSampling3D((2, 1, 3)),
                              keras.layers.Conv3DTranspose(3, (2, 3, 2), strides=(1, 2, 2), padding="same"),
                              keras.layers.Conv3DTranspose(2, 2, padding="valid", use_bias=False)])
    data = _check(model, [RNG.standard_normal((2, 3, 4, 5, 2)).astype(np.float32)])
    assert _ops(data).count("CONV_3D_TRANSPOSE") == 2
    for cls in ("GlobalAveragePooling3D", "GlobalMaxPooling3D"):
        pool = keras.Sequential([keras.Input((3, 4, 5, 2)), getattr(keras.layers, cls)()])
        _check(pool, [RNG.standard_normal((2, 3, 4, 5, 2)).astype(np.float32)])
    keep = keras.Sequential([keras.Input((3, 4, 5, 2)), keras.layers.GlobalAveragePooling3D(keepdims=True)])
    _check(keep, [RNG.standard_normal((1, 3, 4, 5, 2)).astype(np.float32)])


@pytest.mark.parametrize("cls", ["MaxPooling3D", "AveragePooling3D"])
def test_3d_pools_are_refused(cls):
    model = keras.Sequential([keras.Input((4, 4, 4, 2)), getattr(keras.layers, cls)(2, name="p")])
    with pytest.raises(ConversionError, match=rf"layer 'p' \({cls}\): TFLite has no builtin 3-D pooling op"):
        numlite.convert(model)


def test_grouped_convolutions_and_depthwise_conv1d():
    """Conv2D and Conv1D with groups > 1 as one CONV_2D (filter input channels = input channels /
    groups; LiteRT runs it with its reference kernel); a batch norm after the grouped conv
    folds into it; DepthwiseConv1D as DEPTHWISE_CONV_2D (same, valid, dilated)."""
    model = keras.Sequential([keras.Input((8, 8, 6)), keras.layers.Conv2D(9, 3, groups=3, padding="same"),
                              keras.layers.BatchNormalization(), keras.layers.ReLU(),
                              keras.layers.Conv2D(6, (1, 2), groups=3, strides=2, use_bias=False)])
    _randomize_batch_norms(model)
    data = _check(model, [RNG.standard_normal((2, 8, 8, 6)).astype(np.float32)])
    assert _ops(data) == ["CONV_2D", "CONV_2D"]
    one = keras.Sequential([keras.Input((10, 4)), keras.layers.Conv1D(6, 3, groups=2, padding="causal"),
                            keras.layers.DepthwiseConv1D(3, depth_multiplier=2, padding="same", activation="tanh"),
                            keras.layers.DepthwiseConv1D(2, strides=2, dilation_rate=1),
                            keras.layers.DepthwiseConv1D(3, padding="valid", dilation_rate=2)])
    _check(one, [RNG.standard_normal((3, 10, 4)).astype(np.float32)])


@pytest.mark.parametrize("shared_axes", [None, [1, 2]])
def test_prelu_identity_and_softmax_on_other_axes(shared_axes):
    model = keras.Sequential([keras.Input((4, 5, 3)), keras.layers.PReLU(shared_axes=shared_axes),
                              keras.layers.Identity(), keras.layers.Softmax(axis=1)])
    pr = model.layers[0]
    pr.alpha.assign(RNG.uniform(-0.5, 0.5, pr.alpha.shape))
    data = _check(model, [RNG.standard_normal((2, 4, 5, 3)).astype(np.float32)])
    assert _ops(data) == ["PRELU", "TRANSPOSE", "SOFTMAX", "TRANSPOSE"]
    mid = keras.Sequential([keras.Input((4, 5)), keras.layers.Softmax(axis=-2), keras.layers.Softmax(axis=2)])
    _check(mid, [RNG.standard_normal((3, 4, 5)).astype(np.float32)])
    for axis, msg in (((1, 2), r"axis \(1, 2\)"), (0, "axis 0")):
        bad = keras.Sequential([keras.Input((4, 5)), keras.layers.Softmax(axis=axis, name="s")])
        with pytest.raises(ConversionError, match=rf"layer 's' \(Softmax\): {msg}"):
            numlite.convert(bad)


@pytest.mark.parametrize("shapes,axes", [(((6,), (6,)), 1), (((3, 4), (5, 4)), 2), (((3, 4), (3, 5)), 1),
                                         (((3, 4), (4, 5)), (2, 1)), (((2, 3, 4), (4, 6)), (3, 1)),
                                         (((4,), (3, 4)), -1)])
@pytest.mark.parametrize("normalize", [False, True])
def test_dot(shapes, axes, normalize):
    a, b = keras.Input(shapes[0]), keras.Input(shapes[1])
    model = keras.Model([a, b], keras.layers.Dot(axes, normalize=normalize)([a, b]))
    data = _check(model, [RNG.standard_normal((2, *s)).astype(np.float32) for s in shapes])
    assert "BATCH_MATMUL" in _ops(data)


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
def test_category_encoding(mode):
    shape = (1,) if mode == "one_hot" else (4,)
    inp = keras.Input(shape, dtype="int32")
    model = keras.Model(inp, keras.layers.CategoryEncoding(6, output_mode=mode)(inp))
    x = RNG.integers(0, 6, (5, *shape)).astype(np.int32)
    if mode != "one_hot":
        x[0] = [2, 2, 5, 2]  # repeats: counted / once
    data = _check(model, [x])
    assert "ONE_HOT" in _ops(data)
    seq = keras.Model(inp2 := keras.Input((3,), dtype="int32"), keras.layers.CategoryEncoding(4, "one_hot")(inp2))
    _check(seq, [RNG.integers(0, 4, (2, 3)).astype(np.int32)])


def test_small_layer_refusals():
    cases = [
        (keras.Sequential([keras.Input((5, 3)), keras.layers.Masking(name="m"), keras.layers.Dense(2)]),
         r"layer 'm' \(Masking\): Keras masks have no TFLite form"),
        (keras.Sequential([keras.Input((), dtype="int32"), keras.layers.CategoryEncoding(4, "count", name="m")]),
         r"layer 'm' \(CategoryEncoding\): output_mode 'count' of a rank 1 input"),
    ]
    a, b = keras.Input((None, 4)), keras.Input((3, 4))
    cases.append((keras.Model([a, b], keras.layers.Dot(2, name="m")([a, b])),
                  r"layer 'm' \(Dot\): free dimensions other than the batch"))
    for model, msg in cases:
        with pytest.raises(ConversionError, match=msg):
            numlite.convert(model)


def test_more_refused_options_are_named():
    cases = [
        (keras.Sequential([keras.Input((5, 3), batch_size=1),
                           keras.layers.Bidirectional(keras.layers.GRU(2, go_backwards=True),
                                                      backward_layer=keras.layers.GRU(2), name="m")]),
         r"layer 'm' \(Bidirectional\): the backward layer must run backwards"),
        (keras.Sequential([keras.Input((5, 3)), keras.layers.Conv1DTranspose(2, 3, strides=2, output_padding=1,
                                                                             name="m")]),
         r"layer 'm' \(Conv1DTranspose\): output_padding"),
        (keras.Sequential([keras.Input((3, 4, 4, 2)), keras.layers.Conv3DTranspose(2, 2, strides=2, output_padding=1,
                                                                                   name="m")]),
         r"layer 'm' \(Conv3DTranspose\): output_padding"),
        (keras.Sequential([keras.Input((None, 4, 4, 2)), keras.layers.Conv3DTranspose(2, 2, name="m")]),
         r"layer 'm' \(Conv3DTranspose\): free spatial dimensions"),
        (keras.Sequential([keras.Input((None, 3, 3, 2)), keras.layers.UpSampling3D(2, name="m")]),
         r"layer 'm' \(UpSampling3D\): free spatial dimensions"),
        (keras.Sequential([keras.Input((4, 4, 4, 4)), keras.layers.Conv3D(2, 1, groups=2, name="m")]),
         r"layer 'm' \(Conv3D\): grouped convolution"),
    ]
    for model, msg in cases:
        with pytest.raises(ConversionError, match=msg):
            numlite.convert(model)


def test_gru_unroll_flag_and_a_long_sequence():
    """``unroll=True`` is only how Keras runs it; 40 steps (about 500 ops) still match."""
    model = keras.Sequential([keras.Input((40, 2)), keras.layers.GRU(3, unroll=True, return_sequences=True),
                              keras.layers.GRU(2)])
    randomize_recurrent_biases(model, RNG)
    _check(model, [RNG.standard_normal((2, 40, 2)).astype(np.float32)])


# -- batch normalization: MUL and ADD from the front end, folded by the IR pass ---------------------
def _graph_before_passes(model, monkeypatch):
    """The IR graph ``numlite.convert`` hands to the passes, and its constants' values then
    (copies), with the converted model."""
    from numlite.converter import passes

    seen = {}
    run_passes = passes.optimize

    def spy(g, *args, **kwargs):
        seen["g"] = g
        seen["consts"] = {i: t.data.copy() for i, t in enumerate(g.tensors) if t.data is not None}
        run_passes(g, *args, **kwargs)

    monkeypatch.setattr(passes, "optimize", spy)
    data = numlite.convert(model)
    return seen["g"], seen["consts"], data


def test_batch_norm_is_mul_and_add_folded_by_the_pass_without_changing_the_kernel(monkeypatch):
    """The front end writes every BatchNormalization as MUL and ADD, the conv's kernel as Keras
    has it; the pass folds them into new constants, so the original kernel and bias arrays keep
    their values (a weight another op shared would not change under it)."""
    inp = keras.Input((6, 6, 3))
    conv = keras.layers.Conv2D(4, 3, padding="same", name="conv")
    x = keras.layers.BatchNormalization(name="bn")(conv(inp))
    x = keras.layers.ReLU()(x)
    model = keras.Model(inp, x)
    _randomize_batch_norms(model)
    g, consts, data = _graph_before_passes(model, monkeypatch)
    assert [o.name for o in g.ops] == ["CONV_2D"]  # after the passes
    names = {g.tensors[i].name: v for i, v in consts.items()}
    np.testing.assert_array_equal(names["conv/kernel"], _np_kernel(conv))
    for i, v in consts.items():  # no constant the front end wrote was changed in place
        np.testing.assert_array_equal(g.tensors[i].data, v)
    assert _ops(data) == ["CONV_2D"]
    _check(model, [RNG.standard_normal((2, 6, 6, 3)).astype(np.float32)])


def _np_kernel(conv):
    return keras.ops.convert_to_numpy(conv.kernel).transpose(3, 0, 1, 2)


def test_batch_norm_after_a_shared_conv_and_after_a_conv_read_twice():
    """A Conv2D layer called on two inputs, each call followed by its own batch norm: each call's
    convolution takes its own folded weights; a conv whose output a residual ADD also reads keeps
    the batch norm as MUL and ADD (folding would change what the ADD reads)."""
    a, b = keras.Input((5, 5, 3), name="a"), keras.Input((5, 5, 3), name="b")
    shared = keras.layers.Conv2D(3, 3, padding="same")
    ya = keras.layers.BatchNormalization()(shared(a))
    yb = keras.layers.BatchNormalization()(shared(b))
    c = keras.layers.Conv2D(3, 1)(yb)
    r = keras.layers.Add()([c, keras.layers.BatchNormalization()(c)])
    model = keras.Model([a, b], [ya, r])
    _randomize_batch_norms(model)
    data = _check(model, [RNG.standard_normal((2, 5, 5, 3)).astype(np.float32) for _ in range(2)])
    ops = _ops(data)
    assert ops.count("CONV_2D") == 3 and ops.count("MUL") == 1 and ops.count("ADD") == 2, ops


@pytest.mark.parametrize("layer", [
    lambda: keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False),
    lambda: keras.layers.SeparableConv2D(5, 3),
    lambda: keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same"),
    lambda: keras.layers.Dense(5, use_bias=False),
])
def test_batch_norm_folds_into_each_channel_op(layer):
    """Depthwise (weights' channel axis 3), separable (into the pointwise CONV_2D), transposed
    (a bias made; version 3) and bias-less Dense: no MUL / ADD left, ReLU fused."""
    model = keras.Sequential([keras.Input((6, 6, 3)), layer(), keras.layers.BatchNormalization(),
                              keras.layers.ReLU()])
    _randomize_batch_norms(model)
    data = _check(model, [RNG.standard_normal((2, 6, 6, 3)).astype(np.float32)])
    ops = _ops(data)
    assert not {"MUL", "ADD", "RELU"} & set(ops), ops


def test_batch_norm_folds_through_conv1d_and_dense_reshapes():
    """Conv1D (EXPAND_DIMS, CONV_2D, RESHAPE) + BatchNormalization + ReLU: the batch norm folds
    into the CONV_2D through the RESHAPE (it keeps the channels last) and the ReLU fuses; so
    for a rank-3 Dense, Reshape and BatchNormalization, and Conv1DTranspose."""
    model = keras.Sequential([keras.Input((12, 3)), keras.layers.Conv1D(6, 3, padding="causal"),
                              keras.layers.BatchNormalization(), keras.layers.ReLU(),
                              keras.layers.Dense(4), keras.layers.Reshape((3, 4, 4)),
                              keras.layers.BatchNormalization(), keras.layers.Reshape((12, 4)),
                              keras.layers.Conv1DTranspose(5, 3, strides=2, padding="same"),
                              keras.layers.BatchNormalization(), keras.layers.ReLU(6.0)])
    _randomize_batch_norms(model)
    data = _check(model, [RNG.standard_normal((2, 12, 3)).astype(np.float32)])
    ops = _ops(data)
    assert not {"MUL", "ADD", "RELU", "RELU6"} & set(ops), ops
    assert ops.count("CONV_2D") == 1 and ops.count("FULLY_CONNECTED") == 1 and ops.count("TRANSPOSE_CONV") == 1
    x = RNG.standard_normal((3, 12, 3)).astype(np.float32)  # another batch
    for runtime in (numlite.Interpreter, litert.Interpreter):
        out = run(runtime, data, [x])[0]
        ref = model.predict(x, verbose=0)
        assert np.max(np.abs(out - ref)) <= 1e-5 * np.max(np.abs(ref))


def test_batch_norm_after_a_reshape_that_moves_channels_stays():
    """Dense to 6 features, Reshape to (.., 3) (the channels now another axis) then
    BatchNormalization over 3: not folded (MUL and ADD stay), still equal to Keras."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6), keras.layers.Reshape((2, 3)),
                              keras.layers.BatchNormalization()])
    _randomize_batch_norms(model)
    data = _check(model, [RNG.standard_normal((2, 4)).astype(np.float32)])
    assert _ops(data) == ["FULLY_CONNECTED", "RESHAPE", "MUL", "ADD"]


# -- free sequence lengths with a free batch: reshapes whose shapes are made at run time ---------------
def _check_sizes(model, shapes, tol=1e-5):
    """``model`` converted once, run on numlite and LiteRT at each input shape in ``shapes`` (the
    interpreter resized between them), against Keras."""
    data = numlite.convert(model)
    for runtime in (numlite.Interpreter, litert.Interpreter):
        it = runtime(model_content=data)
        for shape in shapes:
            x = RNG.standard_normal(shape).astype(np.float32)
            it.resize_tensor_input(it.get_input_details()[0]["index"], list(shape))
            it.allocate_tensors()
            it.set_tensor(it.get_input_details()[0]["index"], x)
            it.invoke()
            out = it.get_tensor(it.get_output_details()[0]["index"])
            ref = model.predict(x, verbose=0)
            assert out.shape == ref.shape, (runtime, shape)
            assert np.max(np.abs(out - ref)) <= tol * np.max(np.abs(ref)), (runtime, shape)
    return data


def test_free_batch_and_steps_through_conv1d_upsampling_pooling_group_norm_and_reshapes():
    """Input((None, 4)): Conv1D's way back to rank 3 is a SQUEEZE (the batch norm folds through
    it, the ReLU fuses), UpSampling1D, GroupNormalization and Reshape / Flatten take their shapes
    from their inputs' at run time; two lengths and two batches on one interpreter."""
    model = keras.Sequential([keras.Input((None, 4)), keras.layers.Conv1D(6, 3, padding="same"),
                              keras.layers.BatchNormalization(), keras.layers.ReLU(),
                              keras.layers.UpSampling1D(2), keras.layers.MaxPooling1D(2),
                              keras.layers.GroupNormalization(3), keras.layers.Reshape((-1, 3)),
                              keras.layers.Flatten()])
    _randomize_batch_norms(model)
    data = _check_sizes(model, [(2, 5, 4), (3, 8, 4), (2, 1, 4)])
    ops = _ops(data)
    assert ops[:3] == ["EXPAND_DIMS", "CONV_2D", "SQUEEZE"] and "RELU" not in ops
    m = load_model(model_content=data)
    for op in m.subgraphs[0].operators:  # no constant shape with two -1 (LiteRT cannot resolve it)
        if op.op_name == "RESHAPE":
            shape = m.subgraphs[0].tensors[op.inputs[1]]
            assert shape.data is None or list(shape.data).count(-1) <= 1, op


def test_group_norm_with_free_height_and_width():
    model = keras.Sequential([keras.Input((None, None, 6)), keras.layers.GroupNormalization(2)])
    _check_sizes(model, [(2, 3, 4, 6), (1, 5, 2, 6)])
