"""``numlite.convert`` of MultiHeadAttention and of Keras operations (``keras.ops.*`` on Keras
tensors in functional models), checked against Keras's own predictions (NumPy backend) on
numlite and on LiteRT.

Tolerance: 1e-5 of each output's magnitude unless a test says otherwise - the same float32
arithmetic summed in other orders (BATCH_MATMUL / FULLY_CONNECTED against ``np.einsum``,
SOFTMAX's exp against NumPy's)."""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "numpy")
keras = pytest.importorskip("keras")
litert = pytest.importorskip("ai_edge_litert.interpreter")

from util import run  # noqa: E402

import numlite  # noqa: E402
from numlite.converter import ConversionError  # noqa: E402
from numlite.graph import load_model  # noqa: E402

RNG = np.random.default_rng(0)
ops = keras.ops


def _check(model, xs, tol=1e-5):
    ref = model(xs if len(xs) > 1 else xs[0], training=False)  # not predict: it cannot batch a scalar output
    refs = [np.asarray(r) for r in ref] if isinstance(ref, (list, tuple)) else [np.asarray(ref)]
    data = numlite.convert(model)
    for runtime in (numlite.Interpreter, litert.Interpreter):
        outs = run(runtime, data, xs)
        assert len(outs) == len(refs)
        for o, r in zip(outs, refs):
            r = np.asarray(r)
            assert o.shape == r.shape, runtime
            assert o.dtype == r.dtype, runtime
            if r.dtype == np.float32:
                assert np.max(np.abs(o - r)) <= tol * max(float(np.max(np.abs(r))), 1e-6), runtime
            else:
                np.testing.assert_array_equal(o, r)
    return data


def _ops(data):
    return [op.op_name for op in load_model(model_content=data).subgraphs[0].operators]


def _randomize(model):
    """Non-zero biases (Keras initialises them to zero), so that a dropped bias shows."""
    for w in model.weights:
        if "bias" in w.path:
            w.assign(RNG.normal(0, 0.5, w.shape).astype(np.float32))


# -- MultiHeadAttention ---------------------------------------------------------------------------------
def test_self_attention_free_batch():
    inp = keras.Input((6, 8), name="tokens")
    mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    out = mha(inp, inp)
    model = keras.Model(inp, out)
    _randomize(model)
    for batch in (1, 3):  # written with batch 1 (signature -1): resized
        data = _check(model, [RNG.normal(size=(batch, 6, 8)).astype(np.float32)])
    names = _ops(data)
    assert names.count("BATCH_MATMUL") == 2 and names.count("FULLY_CONNECTED") == 4 and "SOFTMAX" in names
    sig = load_model(model_content=data).subgraphs[0].tensors
    assert any(tuple(t.shape_signature) == (-1, 6, 8) for t in sig)


def test_cross_attention_key_value_dims_output_shape_no_bias():
    q, v, k = keras.Input((5, 8)), keras.Input((7, 6)), keras.Input((7, 3))
    mha = keras.layers.MultiHeadAttention(num_heads=3, key_dim=4, value_dim=5, use_bias=False, output_shape=(2, 3))
    model = keras.Model([q, v, k], mha(q, v, key=k))
    xs = [RNG.normal(size=s).astype(np.float32) for s in ((2, 5, 8), (2, 7, 6), (2, 7, 3))]
    _check(model, xs)


def test_output_shape_int_and_value_only():
    q, v = keras.Input((4, 8)), keras.Input((9, 6))
    model = keras.Model([q, v], keras.layers.MultiHeadAttention(2, 3, output_shape=5)(q, v))
    _randomize(model)
    _check(model, [RNG.normal(size=(2, 4, 8)).astype(np.float32), RNG.normal(size=(2, 9, 6)).astype(np.float32)])


@pytest.mark.parametrize("scores", [False, True], ids=["fused_path", "explicit_path"])
@pytest.mark.parametrize("causal", [False, True], ids=["mask", "mask_and_causal"])
@pytest.mark.parametrize("mask_dtype", ["int32", "float32"])
def test_attention_mask_and_causal(scores, causal, mask_dtype):
    """Keras's two paths: fused dot_product_attention (masked logits -0.7 * 3.4e38, a wholly
    masked row uniform) and the explicit one (``return_attention_scores``: -1e9, then the
    masked probabilities zeroed): row 0 of the first sample is wholly masked."""
    q, m = keras.Input((5, 8)), keras.Input((5, 5), dtype=mask_dtype)
    mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)
    res = mha(q, q, attention_mask=m, use_causal_mask=causal, return_attention_scores=scores)
    model = keras.Model([q, m], list(res) if scores else res)
    _randomize(model)
    mask = (RNG.uniform(size=(2, 5, 5)) > 0.3).astype(mask_dtype)
    mask[0, 0] = 0
    if mask_dtype == "float32":
        mask[1, 1, 0] = 0.25  # != 0: attended (Keras casts the mask to bool)
    data = _check(model, [RNG.normal(size=(2, 5, 8)).astype(np.float32), mask])
    assert "SELECT_V2" in _ops(data)


@pytest.mark.parametrize("scores", [False, True])
def test_causal_only_and_sliding_window(scores):
    q = keras.Input((6, 4))
    mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=2, sliding_window=3 if scores else None)
    res = mha(q, q, use_causal_mask=True, return_attention_scores=scores)
    model = keras.Model(q, list(res) if scores else res)
    _randomize(model)
    _check(model, [RNG.normal(size=(2, 6, 4)).astype(np.float32)])


def test_dropout_is_ignored_at_inference():
    q = keras.Input((4, 6))
    model = keras.Model(q, keras.layers.MultiHeadAttention(2, 3, dropout=0.5)(q, q))
    _randomize(model)
    _check(model, [RNG.normal(size=(2, 4, 6)).astype(np.float32)])


def test_rank4_inputs_attend_over_both_axes():
    x = keras.Input((3, 4, 8))
    mha = keras.layers.MultiHeadAttention(2, 3)
    o, s = mha(x, x, return_attention_scores=True)
    model = keras.Model(x, [o, s])
    _randomize(model)
    _check(model, [RNG.normal(size=(2, 3, 4, 8)).astype(np.float32)])


def test_fixed_batch_free_sequence():
    x = keras.Input((None, 8), batch_size=2)
    model = keras.Model(x, keras.layers.MultiHeadAttention(2, 4)(x, x))
    _randomize(model)
    _check(model, [RNG.normal(size=(2, 7, 8)).astype(np.float32)])


@pytest.mark.parametrize("make, what", [
    (lambda x: keras.layers.MultiHeadAttention(2, 3, attention_axes=(2,))(x, x), "attention_axes"),
    (lambda x: keras.layers.MultiHeadAttention(2, 3, use_gate=True)(x, x), "use_gate"),
])
def test_attention_refusals_name_the_layer(make, what):
    x = keras.Input((3, 4, 8))
    model = keras.Model(x, make(x))
    with pytest.raises(ConversionError, match=rf"multi_head_attention.*\(MultiHeadAttention\).*{what}"):
        numlite.convert(model)


def _check_sizes(model, shapes, tol=1e-5):
    """``model`` converted once, run on numlite and LiteRT at each list of input shapes in
    ``shapes`` (the interpreter resized between them), every output against Keras."""
    data = numlite.convert(model)
    for runtime in (numlite.Interpreter, litert.Interpreter):
        it = runtime(model_content=data)
        for feed_shapes in shapes:
            xs = [RNG.normal(size=s).astype(np.float32) for s in feed_shapes]
            for d, x in zip(it.get_input_details(), xs):
                it.resize_tensor_input(d["index"], list(x.shape))
            it.allocate_tensors()
            for d, x in zip(it.get_input_details(), xs):
                it.set_tensor(d["index"], x)
            it.invoke()
            ref = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
            refs = list(ref) if isinstance(ref, (list, tuple)) else [ref]
            outs = [it.get_tensor(d["index"]) for d in it.get_output_details()]
            assert len(outs) == len(refs)
            for out, ref in zip(outs, refs):  # every output (the attention scores too)
                assert out.shape == ref.shape, (runtime, feed_shapes)
                assert np.max(np.abs(out - ref)) <= tol * np.max(np.abs(ref)), (runtime, feed_shapes)
    return data


def test_free_batch_and_free_sequence_through_attention_layer_norm_and_dense():
    """Input((None, 16)): the heads' reshapes take the batch and the sequence length from the
    attention's input at run time (SHAPE, STRIDED_SLICE, CONCATENATION, RESHAPE with that shape
    input: LiteRT makes its output dynamic); batch 2 at two lengths, then batch 3, on one
    interpreter each."""
    x = keras.Input((None, 16))
    h = keras.layers.MultiHeadAttention(2, 8, name="mha")(x, x)
    h = keras.layers.LayerNormalization()(keras.layers.Add()([x, h]))
    out = keras.layers.Dense(5)(h)
    model = keras.Model(x, out)
    _randomize(model)
    data = _check_sizes(model, [[(2, 7, 16)], [(2, 3, 16)], [(3, 1, 16)]])
    ops = _ops(data)
    assert ops.count("SHAPE") == 1  # one for the attention's input, its slices shared by the reshapes
    assert ops.count("RESHAPE") == 4  # query, key and value heads, the heads merged


def test_cross_attention_with_two_free_lengths_and_an_output_shape():
    """Query and key / value of different free lengths, value_dim, and an output_shape of two
    dimensions (a reshape of the output with both free sizes taken from the query)."""
    q, v = keras.Input((None, 6), name="q"), keras.Input((None, 4), name="v")
    out = keras.layers.MultiHeadAttention(3, 2, value_dim=5, output_shape=(2, 4))(q, v)
    model = keras.Model([q, v], out)
    _randomize(model)
    _check_sizes(model, [[(2, 5, 6), (2, 3, 4)], [(2, 2, 6), (2, 6, 4)]])


@pytest.mark.parametrize("scores", [False, True], ids=["fused_path", "explicit_path"])
@pytest.mark.parametrize("causal,window", [(True, None), (True, 2), (False, 2)])
def test_causal_and_sliding_window_masks_with_a_free_length_are_built_at_run_time(causal, window, scores):
    """Input((None, 8)): the causal / sliding-window mask from the query's and value's lengths at
    run time (RANGE, comparisons, broadcast against the logits), no constant mask; three lengths
    and two batches on one interpreter per runtime, the attention scores compared too."""
    x = keras.Input((None, 8))
    mha = keras.layers.MultiHeadAttention(2, 4, sliding_window=window, name="mha")
    res = mha(x, x, use_causal_mask=causal, return_attention_scores=scores)
    model = keras.Model(x, list(res) if scores else res)
    _randomize(model)
    data = _check_sizes(model, [[(2, 6, 8)], [(1, 3, 8)], [(2, 1, 8)]])
    ops_ = _ops(data)
    assert ops_.count("RANGE") == 2 and ("GREATER_EQUAL" in ops_) == causal
    assert ("LESS" in ops_ and "GREATER" in ops_) == (window is not None)
    m = load_model(model_content=data)
    assert not any(t.type_name == "BOOL" and t.data is not None for t in m.subgraphs[0].tensors)


def test_cross_attention_causal_with_two_free_lengths_and_an_attention_mask():
    """Query and value of different free lengths (Keras's causal mask: query position >= value
    position, a rectangle), ANDed with an attention_mask input of free [T, S]."""
    q, v, m = keras.Input((None, 6), name="q"), keras.Input((None, 4), name="v"), keras.Input((None, None), name="m")
    out = keras.layers.MultiHeadAttention(2, 3)(q, v, attention_mask=m, use_causal_mask=True)
    model = keras.Model([q, v, m], out)
    _randomize(model)
    data = numlite.convert(model)
    assert "LOGICAL_AND" in _ops(data)
    for runtime in (numlite.Interpreter, litert.Interpreter):
        it = runtime(model_content=data)
        for b, t, s in ((2, 5, 3), (1, 3, 6)):
            xs = [RNG.normal(size=(b, t, 6)).astype(np.float32), RNG.normal(size=(b, s, 4)).astype(np.float32),
                  (RNG.uniform(size=(b, t, s)) > 0.3).astype(np.float32)]
            for d, x in zip(it.get_input_details(), xs):
                it.resize_tensor_input(d["index"], list(x.shape))
            it.allocate_tensors()
            for d, x in zip(it.get_input_details(), xs):
                it.set_tensor(d["index"], x)
            it.invoke()
            o, r = it.get_tensor(it.get_output_details()[0]["index"]), model.predict(xs, verbose=0)
            assert o.shape == r.shape and np.max(np.abs(o - r)) <= 1e-5 * np.max(np.abs(r)), (runtime, b, t, s)


def test_a_causal_mask_of_static_lengths_stays_a_constant():
    x = keras.Input((5, 8))
    model = keras.Model(x, keras.layers.MultiHeadAttention(2, 4)(x, x, use_causal_mask=True))
    data = _check(model, [RNG.normal(size=(2, 5, 8)).astype(np.float32)])
    assert "RANGE" not in _ops(data) and "GREATER_EQUAL" not in _ops(data)


# -- Keras operations -------------------------------------------------------------------------------------
W = RNG.normal(size=(6, 3)).astype(np.float32)
CASES = {
    "add_scalar": lambda x, y: x + 1.5, "radd": lambda x, y: 2 + x, "sub_tensors": lambda x, y: ops.subtract(x, y),
    "rsub": lambda x, y: 1 - x, "mul_broadcast_const": lambda x, y: x * np.arange(6, dtype="float32"),
    "square_by_mul": lambda x, y: x * x, "div": lambda x, y: x / 3, "rdiv": lambda x, y: 1 / (ops.abs(x) + 1),
    "divide": lambda x, y: ops.divide(x, y + 3), "matmul_const": lambda x, y: ops.matmul(x, W),
    "matmul_tensors": lambda x, y: x @ ops.transpose(y, (0, 2, 1)), "negative": lambda x, y: -x,
    "exp": lambda x, y: ops.exp(x), "log": lambda x, y: ops.log(ops.abs(x) + 0.1),
    "sqrt": lambda x, y: ops.sqrt(ops.abs(x)), "rsqrt": lambda x, y: ops.rsqrt(ops.abs(x) + 0.5),
    "square": lambda x, y: ops.square(x), "abs": lambda x, y: ops.abs(x), "tanh": lambda x, y: ops.tanh(x),
    "sigmoid": lambda x, y: ops.sigmoid(x), "relu": lambda x, y: ops.relu(x), "relu6": lambda x, y: ops.relu6(x * 4),
    "silu": lambda x, y: ops.silu(x), "gelu_tanh": lambda x, y: ops.gelu(x),
    "gelu_exact": lambda x, y: ops.gelu(x, approximate=False), "leaky_relu": lambda x, y: ops.leaky_relu(x, 0.1),
    "softmax_last": lambda x, y: ops.softmax(x), "softmax_axis1": lambda x, y: ops.softmax(x, axis=1),
    "log_softmax": lambda x, y: ops.log_softmax(x), "mean_keepdims": lambda x, y: ops.mean(x, axis=-1, keepdims=True),
    "mean_axes": lambda x, y: ops.mean(x, axis=(1, 2)), "sum": lambda x, y: ops.sum(x, axis=1),
    "max": lambda x, y: ops.max(x, axis=-1), "min_all": lambda x, y: ops.min(x),
    "reshape": lambda x, y: ops.reshape(x, (-1, 24)), "reshape_merge_batch": lambda x, y: ops.reshape(x, (-1, 6)),
    "transpose": lambda x, y: ops.transpose(x, (0, 2, 1)), "expand_dims": lambda x, y: ops.expand_dims(x, -1),
    "squeeze": lambda x, y: ops.squeeze(ops.expand_dims(x, 1), 1),
    "concatenate": lambda x, y: ops.concatenate([x, y], -1),
    "concat_ones_like": lambda x, y: ops.concatenate([x, ops.ones_like(x)], axis=1),
    "stack": lambda x, y: ops.stack([x, y], axis=1), "split_sections": lambda x, y: ops.split(x, 2, axis=-1)[1],
    "split_indices": lambda x, y: ops.split(x, [1, 4], axis=-1)[1],
    "take_const": lambda x, y: ops.take(x, [3, -1, 0], 1),
    "clip": lambda x, y: ops.clip(x, -0.5, 0.7), "where": lambda x, y: ops.where(x > y, x, 0.0),
    "maximum": lambda x, y: ops.maximum(x, 0.25), "minimum": lambda x, y: ops.minimum(x, y),
    "power_int": lambda x, y: x ** 3, "power_float": lambda x, y: ops.power(ops.abs(x) + 0.5, 1.5),
    "erf": lambda x, y: ops.erf(x * 2), "getitem": lambda x, y: x[:, 1:4:2, ::-1], "getitem_int": lambda x, y: x[:, 0],
    "getitem_ellipsis_newaxis": lambda x, y: x[..., None, -2],
    "arange_constant": lambda x, y: x + ops.arange(6, dtype="float32"),
    "broadcast_constant": lambda x, y: x * ops.broadcast_to(np.float32(2.0), (4, 6)),
    "cast_roundtrip": lambda x, y: ops.cast(ops.cast(x * 3, "int32"), "float32"),
    "compare_cast": lambda x, y: ops.cast(ops.logical_and(x > 0, ops.logical_not(y < 0)), "float32"),
    "cumsum": lambda x, y: ops.cumsum(x, axis=1),
    "zeros_ones_like": lambda x, y: ops.zeros_like(x) + ops.ones_like(y) * 2,
    "full_like": lambda x, y: ops.full_like(x, 3.0) - x,
    "prod": lambda x, y: ops.prod(x, axis=-1), "sign": lambda x, y: ops.sign(x), "floor": lambda x, y: ops.floor(x * 3),
    "ceil": lambda x, y: ops.ceil(x * 3), "sin": lambda x, y: ops.sin(x), "cos": lambda x, y: ops.cos(x),
    "elu": lambda x, y: ops.elu(x),
    "compare_family": lambda x, y: ops.cast(ops.logical_or(ops.greater_equal(x, y), ops.less_equal(x, -0.5)), "int32")
    + ops.cast(ops.equal(ops.floor(x), 0), "int32") + ops.cast(ops.less(y, 0.1), "int32"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_operation(name):
    x, y = keras.Input((4, 6), name="x"), keras.Input((4, 6), name="y")
    model = keras.Model([x, y], CASES[name](x, y))
    xs = [RNG.normal(size=(3, 4, 6)).astype(np.float32) for _ in range(2)]
    data = _check(model, xs)
    assert _ops(data), "no ops written"


def test_integer_operations_and_gather_by_tensor_indices():
    tokens, idx = keras.Input((5,), dtype="int32"), keras.Input((2,), dtype="int32")
    positions = ops.zeros_like(tokens) + ops.arange(5)  # int32 [batch, 5]
    doubled = tokens * 2 - positions
    picked = ops.take(ops.cast(doubled, "float32"), idx, axis=1)
    model = keras.Model([tokens, idx], [doubled, picked, ops.max(tokens, axis=1)])
    xs = [RNG.integers(-9, 9, (3, 5)).astype(np.int32), np.array([[4, 0], [1, 1], [2, 3]], np.int32)]
    data = _check(model, xs)
    assert "GATHER" in _ops(data) and "FILL" in _ops(data) and "ZEROS_LIKE" not in _ops(data)


def test_an_operation_on_constants_is_folded():
    """``ones_like`` of a fixed-shape tensor is a constant, so the EXP of it is computed at
    conversion time: no EXP op is written."""
    x = keras.Input((4,), batch_size=2)
    model = keras.Model(x, x + ops.exp(ops.ones_like(x) * 0.5))
    data = _check(model, [RNG.normal(size=(2, 4)).astype(np.float32)])
    assert _ops(data) == ["ADD"]


def test_scalar_output_of_a_full_reduction():
    x = keras.Input((3,))
    data = _check(keras.Model(x, ops.sum(x)), [RNG.normal(size=(4, 3)).astype(np.float32)])
    assert _ops(data) == ["SUM"]


@pytest.mark.parametrize("make, what", [
    (lambda x: ops.sort(x), r"'sort' \(Sort\).*no converter for the Keras operation Sort"),
    (lambda x: ops.max(x, axis=1, initial=0.0), r"\(Max\).*initial="),
    (lambda x: ops.take(x, [0, 1]), r"\(Take\).*axis=None"),
    (lambda x: ops.where(x > 0), r"\(Where\).*indices form"),
    (lambda x: ops.matmul(x, np.ones(6, "float32")), r"\(Matmul\).*rank-1"),
    (lambda x: ops.softmax(x, axis=(1, 2)), r"\(Softmax\).*axis \(1, 2\)"),
    (lambda x: ops.cumsum(x), r"\(Cumsum\).*axis=None"),
    (lambda x: ops.elu(x, alpha=0.5), r"\(Elu\).*alpha"),
])
def test_unsupported_operations_are_named(make, what):
    x = keras.Input((4, 6))
    model = keras.Model(x, make(x))
    with pytest.raises(ConversionError, match=r"cannot convert operation .*" + what):
        numlite.convert(model)


def test_reshape_with_two_free_dimensions_is_refused():
    x = keras.Input((None, 6))
    model = keras.Model(x, ops.expand_dims(ops.reshape(x, (-1, 6)), 0))
    numlite.convert(model)  # one free dimension: converts
    y = keras.Input((None, 6))
    bad = keras.Model(y, ops.reshape(y, (y.shape[0], -1, 3, 2)))
    with pytest.raises(ConversionError, match=r"\(Reshape\).*more than one free dimension"):
        numlite.convert(bad)


# -- a small transformer ----------------------------------------------------------------------------------
def _transformer(vocab=50, maxlen=12, d=16, heads=2, ff=32, classes=4, padding_mask=False, act="gelu"):
    tokens = keras.Input((maxlen,), dtype="int32", name="tokens")
    # learned position embedding: positions as a model tensor (not keras.ops.arange alone, which
    # is a constant computed once, before training), so the position table is a weight
    positions = ops.zeros_like(tokens) + ops.arange(maxlen, dtype="int32")
    x = keras.layers.Embedding(vocab, d)(tokens) + keras.layers.Embedding(maxlen, d)(positions)
    mask = ops.expand_dims(ops.not_equal(tokens, 0), 1) if padding_mask else None  # [batch, 1, S]
    for _ in range(2):
        att = keras.layers.MultiHeadAttention(heads, d // heads)(x, x, attention_mask=mask)
        x = keras.layers.LayerNormalization(epsilon=1e-6)(keras.layers.Add()([x, att]))
        h = keras.layers.Dense(ff, activation=act)(x)
        h = keras.layers.Dense(d)(h)
        x = keras.layers.LayerNormalization(epsilon=1e-6)(keras.layers.Add()([x, h]))
    x = keras.layers.GlobalAveragePooling1D()(x)
    out = keras.layers.Dense(classes, activation="softmax", name="probs")(x)
    model = keras.Model(tokens, out)
    _randomize(model)
    return model


@pytest.mark.parametrize("padding_mask, act", [(False, "gelu"), (True, "relu")])
def test_small_transformer_classifier(padding_mask, act):
    model = _transformer(padding_mask=padding_mask, act=act)
    tokens = RNG.integers(1, 50, (5, 12)).astype(np.int32)
    tokens[0, 7:] = 0  # padding
    tokens[1, 3:] = 0
    data = _check(model, [tokens])
    names = _ops(data)
    assert names.count("BATCH_MATMUL") == 4 and names.count("GATHER") == 2
    assert ("GELU" in names) == (act == "gelu") and "RELU" not in names  # relu fused into FULLY_CONNECTED
    if padding_mask:  # the mask matters: the same weights without it give other outputs
        other = _transformer(act=act)
        other.set_weights(model.get_weights())
        assert np.max(np.abs(np.asarray(model(tokens)) - np.asarray(other(tokens)))) > 1e-3


def test_like_of_a_float_input_reads_its_shape_only():
    """``ones_like(x[..., 0], dtype="int32")`` (positions of a float sequence): SHAPE and FILL, no
    CAST of the float values, so the int8 model has no float op for it."""
    from numlite.quantize import quantize_model

    x = keras.Input((6, 4), name="rows")
    positions = keras.ops.cumsum(keras.ops.ones_like(x[..., 0], dtype="int32"), axis=1) - 1
    h = keras.layers.Dense(8)(x) + keras.layers.Embedding(6, 8)(positions)
    model = keras.Model(x, keras.layers.Dense(3)(keras.layers.GlobalAveragePooling1D()(h)))
    xs = [RNG.standard_normal((2, 6, 4)).astype(np.float32)]
    data = _check(model, xs)
    assert "CAST" not in _ops(data) and {"SHAPE", "FILL"} <= set(_ops(data))
    q = quantize_model(data, [RNG.standard_normal((1, 6, 4)).astype(np.float32) for _ in range(8)])
    sg = load_model(model_content=q).subgraphs[0]
    floats = [op.op_name for op in sg.operators
              if any(t >= 0 and sg.tensors[t].type_name == "FLOAT32" for t in (*op.inputs, *op.outputs))]
    assert floats == []
