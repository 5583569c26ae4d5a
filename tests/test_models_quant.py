"""Whole quantized models: numlite against LiteRT's reference kernels, bit-exact.

The models are the int8 twins of numlite's reference models (``numlite.models``, written by
``numlite.quantize``: calibrated on seeded synthetic images, per-channel int8 weights, int32
biases, int8 activations), with int8 I/O, uint8 I/O (QUANTIZE uint8 -> int8 after the input and
int8 -> uint8 before the output) and float I/O (QUANTIZE / DEQUANTIZE at the edges).

Oracle: LiteRT with ``OpResolverType.BUILTIN_REF``.  No tolerance: integer outputs must be
equal, and float outputs (DEQUANTIZE of equal int8 values) too.  When a model disagrees, the
message names the first operator (in execution order) whose output differs, found by running
both runtimes with ``experimental_preserve_all_tensors=True``.

Tiny variants (same op structure, small width and input) run in the fast suite; the full-size
MobileNet v1, MobileNet v2 and Inception v3 (int8 and uint8 I/O) are ``slow``.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from util import assert_matches_litert, run_litert, run_numlite

import numlite
from numlite import models
from numlite.quantize import quantize_model

TINY = ["mobilenet_v1_tiny", "mobilenet_v2_tiny", "mobilenet_v2_fc_tiny", "inception_v3_tiny"]
FULL = ["mobilenet_v1", "mobilenet_v2", "inception_v3"]
IO = ["_int8", "_int8_uint8io"]

FLOAT_STRUCTURE = {
    "mobilenet_v1": {"CONV_2D": 15, "DEPTHWISE_CONV_2D": 13, "AVERAGE_POOL_2D": 1, "RESHAPE": 1, "SOFTMAX": 1},
    "mobilenet_v2": {"CONV_2D": 36, "DEPTHWISE_CONV_2D": 17, "ADD": 10, "AVERAGE_POOL_2D": 1, "RESHAPE": 1,
                     "SOFTMAX": 1},
    "mobilenet_v2_fc": {"CONV_2D": 35, "DEPTHWISE_CONV_2D": 17, "ADD": 10, "AVERAGE_POOL_2D": 1, "RESHAPE": 1,
                        "FULLY_CONNECTED": 1, "SOFTMAX": 1},
    "inception_v3": {"CONV_2D": 95, "MAX_POOL_2D": 4, "AVERAGE_POOL_2D": 10, "CONCATENATION": 15, "RESHAPE": 1,
                     "SOFTMAX": 1},
}
EDGE_OPS = {"_int8": {}, "_int8_uint8io": {"QUANTIZE": 2}, "_int8_floatio": {"QUANTIZE": 1, "DEQUANTIZE": 1}}


def _first_divergence(data: bytes, feeds: list[np.ndarray], **kw: object) -> str:
    """The first operator whose output differs between numlite and LiteRT BUILTIN_REF."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    runs = []
    for cls, extra in ((numlite.Interpreter, kw),
                       (Interpreter, {"experimental_op_resolver_type": OpResolverType.BUILTIN_REF})):
        it = cls(model_content=data, experimental_preserve_all_tensors=True, **extra)
        it.allocate_tensors()
        for d, v in zip(it.get_input_details(), feeds):
            it.set_tensor(d["index"], v)
        it.invoke()
        runs.append(it)
    sg = numlite.load_model(model_content=data).subgraphs[0]
    for op in sg.operators:
        for o in op.outputs:
            a, b = runs[0].get_tensor(o), runs[1].get_tensor(o)
            if a.shape != b.shape or not np.array_equal(a, b):
                d = np.abs(a.astype(np.float64) - b) if a.shape == b.shape else None
                detail = (f"{int((d > 0).sum())} of {d.size} values differ, by up to {d.max():g}"
                          if d is not None else f"shape {a.shape} != {b.shape}")
                return f"first divergence: node {op.index} {op.op_name} output {sg.tensors[o].name!r}: {detail}"
    return "no intermediate tensor differs"


def _check(name: str, seed: int = 0, num_threads: int = 1) -> None:
    data = models.build(name)
    x = models.sample_input(name, seed)
    try:
        assert_matches_litert(data, [x], rtol=0, atol=0, ref=True, num_threads=num_threads)
    except AssertionError as e:
        raise AssertionError(f"{name} seed {seed}: {_first_divergence(data, [x], num_threads=num_threads)}\n{e}") \
            from None


# -- the quantized models themselves ------------------------------------------------------------
@pytest.mark.parametrize("io", list(EDGE_OPS))
@pytest.mark.parametrize("name", TINY)
def test_tiny_structure(name, io):
    data = models.build(name + io)
    assert data == models.MODELS[name + io].builder()  # deterministic (bypasses the cache)
    sg = numlite.load_model(model_content=data).subgraphs[0]
    expected = Counter(FLOAT_STRUCTURE[name.removesuffix("_tiny")]) + Counter(EDGE_OPS[io])
    assert Counter(op.op_name for op in sg.operators) == expected
    assert models.input_shape(name + io) == models.input_shape(name)
    x = models.sample_input(name + io)
    assert x.dtype == {"_int8": np.int8, "_int8_uint8io": np.uint8, "_int8_floatio": np.float32}[io]
    assert x.shape == models.input_shape(name)


# -- numlite against LiteRT BUILTIN_REF, bit-exact ------------------------------------------------------
@pytest.mark.parametrize("io", list(EDGE_OPS))
@pytest.mark.parametrize("name", TINY)
def test_tiny_bit_exact(name, io):
    for seed in (0, 1):
        _check(name + io, seed)


@pytest.mark.parametrize("name", ["mobilenet_v1_tiny_int8", "mobilenet_v2_tiny_int8", "inception_v3_tiny_int8"])
def test_tiny_bit_exact_two_threads(name):
    _check(name, seed=2, num_threads=2)


def test_tiny_per_tensor_weights_bit_exact():
    data = models.build("mobilenet_v2_fc_tiny_int8", per_channel=False)
    x = models.sample_input("mobilenet_v2_fc_tiny_int8", 3, per_channel=False)
    assert_matches_litert(data, [x], ref=True)


def test_tiny_preserve_all_tensors_same_result():
    name = "mobilenet_v2_tiny_int8"
    data, x = models.build(name), models.sample_input(name, 4)
    (a,) = run_numlite(data, [x])
    (b,) = run_numlite(data, [x], experimental_preserve_all_tensors=True)
    np.testing.assert_array_equal(a, b)


def test_tiny_full_range_inputs():
    """Inputs over the whole int8 range (not only what the calibration saw) saturate the same way."""
    name = "inception_v3_tiny_int8"
    rng = np.random.default_rng(7)
    x = rng.integers(-128, 128, size=models.input_shape(name)).astype(np.int8)
    data = models.build(name)
    try:
        assert_matches_litert(data, [x], ref=True)
    except AssertionError as e:
        raise AssertionError(f"{_first_divergence(data, [x])}\n{e}") from None


def test_mean_head_bit_exact():
    """CONV_2D -> MEAN -> FULLY_CONNECTED -> SOFTMAX (the Keras head; MEAN is in no reference model)."""
    from test_quantizer import mean_head_calibration, mean_head_model

    data = quantize_model(mean_head_model(), mean_head_calibration(), io_dtype=np.uint8)
    sg = numlite.load_model(model_content=data).subgraphs[0]
    q = sg.tensors[sg.inputs[0]].quantization
    for seed in (0, 1, 2):
        x = models.synthetic_image((1, 12, 12, 3), seed)
        xq = np.clip(np.round(x / q.scale) + q.zero_point, 0, 255).astype(np.uint8)
        try:
            assert_matches_litert(data, [xq], ref=True)
        except AssertionError as e:
            raise AssertionError(f"{_first_divergence(data, [xq])}\n{e}") from None


@pytest.mark.parametrize("io", [np.int8, np.uint8, np.float32])
@pytest.mark.parametrize("acts, concat", [(["LOGISTIC"], False), (["TANH"], False), (["SOFTMAX"], False),
                                          (["LOGISTIC", "TANH"], True)])
def test_small_graphs_bit_exact(acts, concat, io):
    """FULLY_CONNECTED -> LOGISTIC / TANH / SOFTMAX (fixed output parameters), and a
    CONCATENATION of two pinned outputs (a requantizing QUANTIZE int8 -> int8 before it)."""
    from test_quantizer import _fc_model, _vec_calib

    data = quantize_model(_fc_model(acts, concat), _vec_calib(), io_dtype=io)
    sg = numlite.load_model(model_content=data).subgraphs[0]
    t = sg.tensors[sg.inputs[0]]
    rng = np.random.default_rng(3)
    for _ in range(3):
        x = rng.uniform(-1.5, 1.5, (1, 16)).astype(np.float32)  # partly outside the calibrated range
        if t.dtype is not np.float32:
            q = t.quantization
            x = np.clip(np.round(x / q.scale) + q.zero_point, *(np.iinfo(t.dtype).min, np.iinfo(t.dtype).max))
            x = x.astype(t.dtype)
        try:
            assert_matches_litert(data, [x], rtol=0, atol=0, ref=True)
        except AssertionError as e:
            raise AssertionError(f"{_first_divergence(data, [x])}\n{e}") from None


def test_tiny_litert_default_path_note():
    """LiteRT's default path (XNNPACK) requantizes its own way: noted, not asserted (beyond a
    loose bound); numlite follows the reference kernels."""
    name = "mobilenet_v2_tiny_int8"
    data, x = models.build(name), models.sample_input(name, 0)
    (ref,) = run_litert(data, [x], ref=True)
    (fast,) = run_litert(data, [x])
    diff = np.abs(fast.astype(np.int32) - ref)
    print(f"{name}: XNNPACK vs BUILTIN_REF: {int((diff > 0).sum())} of {diff.size} outputs differ, max {diff.max()}")
    assert diff.max() <= 8


# -- full size (slow) ------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("io", IO)
@pytest.mark.parametrize("name", FULL)
def test_full_bit_exact(name, io):
    _check(name + io)


@pytest.mark.slow
@pytest.mark.parametrize("name", FULL)
def test_full_bit_exact_two_threads(name):
    _check(name + "_int8", seed=1, num_threads=2)


@pytest.mark.slow
def test_mobilenet_v2_fc_full_bit_exact():
    _check("mobilenet_v2_fc_int8")


@pytest.mark.slow
@pytest.mark.parametrize("name", FULL)
def test_full_structure(name):
    data = models.build(name + "_int8_uint8io")
    sg = numlite.load_model(model_content=data).subgraphs[0]
    assert Counter(op.op_name for op in sg.operators) == Counter(FLOAT_STRUCTURE[name]) + Counter({"QUANTIZE": 2})
    # int8 weights: about a quarter of the float file
    assert 0.24 < len(data) / len(models.build(name)) < 0.3
