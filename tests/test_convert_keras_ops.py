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

import numlite  # noqa: E402
from numlite.converter import ConversionError  # noqa: E402
from numlite.graph import load_model  # noqa: E402

RNG = np.random.default_rng(0)
ops = keras.ops


def _outputs(runtime, data, xs):
    it = runtime(model_content=data)
    for d, x in zip(it.get_input_details(), xs):
        if tuple(d["shape"]) != x.shape:
            it.resize_tensor_input(d["index"], list(x.shape))
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), xs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def _check(model, xs, tol=1e-5):
    ref = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    refs = list(ref) if isinstance(ref, (list, tuple)) else [ref]
    data = numlite.convert(model)
    for runtime in (numlite.Interpreter, litert.Interpreter):
        outs = _outputs(runtime, data, xs)
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


def test_free_batch_and_free_sequence_is_refused():
    x = keras.Input((None, 8))
    model = keras.Model(x, keras.layers.MultiHeadAttention(2, 4, name="mha")(x, x))
    with pytest.raises(ConversionError, match=r"'mha' \(MultiHeadAttention\).*more than one free dimension"):
        numlite.convert(model)
