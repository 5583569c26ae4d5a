"""Whole-model checks: numlite's reference models (``numlite.models``) against LiteRT.

Tiny variants (same op structure, small width and input) run in the fast suite; the full-size
MobileNet v1, MobileNet v2 and Inception v3 are ``slow`` (CI: ``-m slow -k "mobilenet_v1 or ..."``).

Tolerance.  Both runtimes compute in float32 but sum in different orders (numlite: NumPy/BLAS
GEMMs over im2col tiles; LiteRT: XNNPACK micro-kernels with FMA), so every layer differs by a few
ulps times sqrt(reduction length), and that difference is carried through up to ~100 layers.
Measured on these models: softmax outputs differ by at most ~2e-6 absolute, centred logits by
~2.5e-5 (logit spread ~3).  We allow 10x that:
* softmax probabilities: ``atol=2e-5`` (with ``rtol=1e-4`` for the few large ones);
* logits, recovered as centred log-probabilities ``log p - mean(log p)`` (softmax only shifts
  logits by a constant, so these equal the centred logits): ``atol = 2e-4 * std(logits)``,
  i.e. relative to the logits' scale;
* the same top-5 classes in the same order, except where two reference probabilities are
  closer than the softmax tolerance (a legitimate tie).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from util import run_litert, run_numlite

import numlite
from numlite import models

SOFTMAX_ATOL, SOFTMAX_RTOL, LOGIT_REL = 2e-5, 1e-4, 2e-4

TINY = ["mobilenet_v1_tiny", "mobilenet_v2_tiny", "mobilenet_v2_fc_tiny", "inception_v3_tiny"]
FULL = ["mobilenet_v1", "mobilenet_v2", "mobilenet_v2_fc", "inception_v3"]

# op counts of the official files' structure (same at every width/resolution)
STRUCTURE = {
    "mobilenet_v1": {"CONV_2D": 15, "DEPTHWISE_CONV_2D": 13, "AVERAGE_POOL_2D": 1, "RESHAPE": 1, "SOFTMAX": 1},
    "mobilenet_v2": {"CONV_2D": 36, "DEPTHWISE_CONV_2D": 17, "ADD": 10, "AVERAGE_POOL_2D": 1, "RESHAPE": 1,
                     "SOFTMAX": 1},
    "mobilenet_v2_fc": {"CONV_2D": 35, "DEPTHWISE_CONV_2D": 17, "ADD": 10, "AVERAGE_POOL_2D": 1, "RESHAPE": 1,
                        "FULLY_CONNECTED": 1, "SOFTMAX": 1},
    "inception_v3": {"CONV_2D": 95, "MAX_POOL_2D": 4, "AVERAGE_POOL_2D": 10, "CONCATENATION": 15, "RESHAPE": 1,
                     "SOFTMAX": 1},
}


def _family(name: str) -> str:
    return name.removesuffix("_tiny")


def _require_kernels(data: bytes) -> None:
    """Skip (not fail) while a kernel the model needs has not landed in numlite."""
    try:
        numlite.Interpreter(model_content=data)
    except numlite.UnsupportedOpError as e:
        pytest.skip(f"numlite lacks kernels: {[m[0] for m in e.missing]}")


def _image(name: str, seed: int = 0) -> np.ndarray:
    return models.synthetic_image(models.input_shape(name), seed)


def assert_model_outputs_match(ours: np.ndarray, ref: np.ndarray) -> None:
    assert ours.shape == ref.shape and ours.dtype == ref.dtype == np.float32
    np.testing.assert_allclose(ours, ref, atol=SOFTMAX_ATOL, rtol=SOFTMAX_RTOL, err_msg="softmax")
    lo = np.log(np.maximum(ours.astype(np.float64), 1e-30))
    lr = np.log(np.maximum(ref.astype(np.float64), 1e-30))
    lo -= lo.mean(axis=-1, keepdims=True)
    lr -= lr.mean(axis=-1, keepdims=True)
    np.testing.assert_allclose(lo, lr, rtol=0, atol=LOGIT_REL * lr.std(), err_msg="centred logits")
    for o, r in zip(ours.reshape(-1, ours.shape[-1]), ref.reshape(-1, ref.shape[-1])):
        top_r = np.argsort(-r, kind="stable")[:5]
        top_o = np.argsort(-o, kind="stable")[:5]
        if not np.array_equal(top_o, top_r):
            gaps = -np.diff(r[np.argsort(-r, kind="stable")[:6]])
            assert gaps.min() < SOFTMAX_ATOL, f"top-5 {top_o.tolist()} != LiteRT {top_r.tolist()}"


def _compare(name: str, num_threads: int = 1, seed: int = 0, **kw: object) -> None:
    data = models.build(name, **kw)
    _require_kernels(data)
    x = _image(name, seed) if not kw else models.synthetic_image(models.input_shape(name, **kw), seed)
    (ours,) = run_numlite(data, [x], num_threads=num_threads)
    (ref,) = run_litert(data, [x])
    assert_model_outputs_match(ours, ref)


# -- the models themselves (no numlite kernels needed) -----------------------------------------
def test_models_registry_and_errors():
    assert {"mobilenet_v1", "mobilenet_v2", "inception_v3", *TINY} <= set(models.MODELS)
    with pytest.raises(KeyError, match="unknown model"):
        models.build("resnet50")
    with pytest.raises(TypeError):
        models.build("mobilenet_v1_tiny", width=2)
    with pytest.raises(ValueError, match="head"):
        models.build("mobilenet_v1_tiny", head="mlp")
    with pytest.raises(ValueError, match="75x75"):
        models.build("inception_v3_tiny", resolution=64)
    assert models.input_shape("inception_v3") == (1, 299, 299, 3)
    assert models.input_shape("mobilenet_v2_tiny") == (1, 96, 96, 3)


@pytest.mark.parametrize("name", TINY)
def test_tiny_deterministic_and_structure(name):
    info = models.MODELS[name]
    a = info.builder(**info.kwargs)
    b = info.builder(**info.kwargs)  # bypasses build()'s cache
    assert a == b
    assert models.build(name) == a
    assert info.builder(**{**info.kwargs, "seed": 99}) != a
    m = numlite.load_model(model_content=a)
    sg = m.subgraphs[0]
    assert Counter(op.op_name for op in sg.operators) == STRUCTURE[_family(name)]
    assert len(sg.inputs) == 1 and sg.tensors[sg.inputs[0]].shape == models.input_shape(name)
    assert sg.tensors[sg.inputs[0]].name == "input"
    assert sg.tensors[sg.outputs[0]].shape == (1, 1001)
    assert sg.tensors[sg.outputs[0]].name.endswith("Predictions/Reshape_1")


@pytest.mark.parametrize("name", ["mobilenet_v1", "mobilenet_v2"])
def test_full_size_structure_mobilenet(name):
    # official file sizes: mobilenet_v1_1.0_224.tflite 16.9 MB, mobilenet_v2_1.0_224.tflite 14.0 MB
    data = models.build(name)
    assert abs(len(data) / 1e6 - {"mobilenet_v1": 16.9, "mobilenet_v2": 14.0}[name]) < 0.1
    ops = numlite.load_model(model_content=data).subgraphs[0].operators
    assert Counter(op.op_name for op in ops) == STRUCTURE[name]


@pytest.mark.parametrize("name", TINY)
def test_tiny_sane_on_litert(name):
    """The weights give non-degenerate predictions: a real distribution, not one-hot, not flat."""
    data = models.build(name)
    for seed in (0, 1):
        (p,) = run_litert(data, [_image(name, seed)])
        assert np.all(np.isfinite(p)) and abs(float(p.sum()) - 1.0) < 1e-4
        assert 5.0 / 1001 < p.max() < 0.9, p.max()


def test_batch_and_resolution_arguments_on_litert():
    data = models.build("mobilenet_v1_tiny", batch=2, resolution=64)
    x = models.synthetic_image((2, 64, 64, 3), 3)
    (p,) = run_litert(data, [x])
    assert p.shape == (2, 1001)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-4)


def test_synthetic_image():
    a = models.synthetic_image((1, 32, 32, 3), 0)
    assert a.dtype == np.float32 and a.shape == (1, 32, 32, 3)
    assert a.min() >= -1 and a.max() <= 1 and a.std() > 0.1
    np.testing.assert_array_equal(a, models.synthetic_image((1, 32, 32, 3), 0))
    assert not np.array_equal(a, models.synthetic_image((1, 32, 32, 3), 1))


# -- numlite against LiteRT ------------------------------------------------------------------------
@pytest.mark.parametrize("name", TINY)
def test_tiny_matches_litert(name):
    _compare(name)


@pytest.mark.parametrize("name", ["mobilenet_v1_tiny", "mobilenet_v2_tiny", "inception_v3_tiny"])
def test_tiny_matches_litert_two_threads(name):
    _compare(name, num_threads=2, seed=1)


def test_mobilenet_v1_tiny_batch2_matches_litert():
    _compare("mobilenet_v1_tiny", batch=2, resolution=64, seed=2)


def test_tiny_preserve_all_tensors_same_result():
    data = models.build("mobilenet_v2_tiny")
    _require_kernels(data)
    x = _image("mobilenet_v2_tiny")
    (a,) = run_numlite(data, [x])
    (b,) = run_numlite(data, [x], experimental_preserve_all_tensors=True)
    np.testing.assert_array_equal(a, b)


@pytest.mark.slow
@pytest.mark.parametrize("threads", [1, 2])
def test_mobilenet_v1_full_matches_litert(threads):
    _compare("mobilenet_v1", num_threads=threads)


@pytest.mark.slow
@pytest.mark.parametrize("threads", [1, 2])
def test_mobilenet_v2_full_matches_litert(threads):
    _compare("mobilenet_v2", num_threads=threads)


@pytest.mark.slow
def test_mobilenet_v2_fc_full_matches_litert():
    _compare("mobilenet_v2_fc")


@pytest.mark.slow
@pytest.mark.parametrize("threads", [1, 2])
def test_inception_v3_full_matches_litert(threads):
    _compare("inception_v3", num_threads=threads)


@pytest.mark.slow
def test_inception_v3_full_structure_and_size():
    data = models.build("inception_v3")
    assert abs(len(data) / 1e6 - 95.3) < 0.2  # official inception_v3.tflite: 95.3 MB
    ops = numlite.load_model(model_content=data).subgraphs[0].operators
    assert Counter(op.op_name for op in ops) == STRUCTURE["inception_v3"]
