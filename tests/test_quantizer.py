"""numlite.quantize: the int8 models it writes (structure, parameters), LiteRT runs them, and
they agree with the float model.

Only LiteRT executes the quantized models here (numlite's int8 kernels are tested in the op
tests and in test_models_quant.py); numlite itself runs the float model for calibration.

Agreement with the float model (the tolerance of an 8-bit model, not of a runtime): over 12
seeded synthetic images per tiny model, quantized on 8 other seeds,
* the int8 model's top-1 class is among the float model's top 5 on every image, and equals the
  float top-1 on at least 10 of 12 (measured: 11-12 of 12);
* every softmax probability is within 0.2 of the float one, and the mean absolute difference is
  below 2e-3 (the output step is 1/256 = 3.9e-3; measured worst single probability 0.15 on
  MobileNet v1 tiny, where images brighter than the calibration set clip the logits).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from util import run_litert

import numlite
from numlite import models
from numlite.builder import ModelBuilder
from numlite.quantize import QuantizationError, activation_params, calibrate, quantize_model

TINY = ["mobilenet_v1_tiny", "mobilenet_v2_tiny", "mobilenet_v2_fc_tiny", "inception_v3_tiny"]
INT8_VERSIONS = {"CONV_2D": 3, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 4, "ADD": 2, "AVERAGE_POOL_2D": 2,
                 "MAX_POOL_2D": 2, "CONCATENATION": 2, "RESHAPE": 1, "SOFTMAX": 2, "QUANTIZE": 1, "DEQUANTIZE": 2}
SAME_SCALE = ("RESHAPE", "MAX_POOL_2D", "AVERAGE_POOL_2D", "CONCATENATION")


def _graph(data: bytes) -> numlite.Model:
    return numlite.load_model(model_content=data)


def _calib(shape, n=4, seed=100):
    return [[models.synthetic_image(shape, seed + k)] for k in range(n)]


# -- activation parameters ---------------------------------------------------------------------
@pytest.mark.parametrize("lo, hi, zp", [(0.0, 6.0, -128), (-3.0, 0.0, 127), (-1.0, 1.0, -1), (-1.0, 3.0, -64),
                                        (0.5, 2.0, -128), (-4.0, -1.0, 127)])
def test_activation_params_include_zero(lo, hi, zp):
    scale, z = activation_params(lo, hi)
    rlo, rhi = min(lo, 0.0), max(hi, 0.0)
    assert scale == np.float32((rhi - rlo) / 255)
    assert z == zp
    assert -128 <= z <= 127
    # real 0 is exactly representable and the range fits (within one step) in [-128, 127]
    assert scale * (-128 - z) <= rlo + scale and scale * (127 - z) >= rhi - scale


def test_activation_params_point_range_and_nonfinite():
    assert activation_params(0.0, 0.0) == (1.0, 0)
    with pytest.raises(QuantizationError, match="finite"):
        activation_params(-np.inf, 1.0)


# -- structure of the written model -------------------------------------------------------------
@pytest.mark.parametrize("name", ["mobilenet_v2_fc_tiny", "inception_v3_tiny"])
def test_structure_int8(name):
    fdata = models.build(name)
    fsg = _graph(fdata).subgraphs[0]
    qdata = models.build(name + "_int8")
    sg = _graph(qdata).subgraphs[0]
    ranges = calibrate(fdata, [[models.synthetic_image(models.input_shape(name), 1000 + k)] for k in range(8)])
    # same op sequence, same options, TFLite's int8 op versions
    assert [op.op_name for op in sg.operators] == [op.op_name for op in fsg.operators]
    for op, fop in zip(sg.operators, fsg.operators):
        assert op.version == INT8_VERSIONS[op.op_name], op.op_name
        assert dict(op.options or {}).keys() == dict(fop.options or {}).keys()
        for k, v in dict(fop.options or {}).items():
            np.testing.assert_array_equal(op.options[k], v, err_msg=f"{op.op_name}.{k}")
    tin, tout = sg.tensors[sg.inputs[0]], sg.tensors[sg.outputs[0]]
    assert tin.dtype is np.int8 and tout.dtype is np.int8
    assert (tout.quantization.scale, tout.quantization.zero_point) == (1 / 256, -128)  # softmax
    by_name = {t.name: t for t in fsg.tensors}
    grouped = {i for op in fsg.operators if op.op_name in SAME_SCALE for i in (*op.inputs, *op.outputs)}
    assert any(op.op_name == "CONV_2D" and op.outputs[0] not in grouped for op in fsg.operators)
    for op in sg.operators:
        x = sg.tensors[op.inputs[0]]
        y = sg.tensors[op.outputs[0]]
        assert x.dtype is np.int8 and y.dtype is np.int8
        assert x.quantization.scales.size == 1 and y.quantization.scales.size == 1
        if op.op_name in SAME_SCALE:
            for i in (op.inputs if op.op_name == "CONCATENATION" else op.inputs[:1]):
                q = sg.tensors[i].quantization
                assert (q.scale, q.zero_point) == (y.quantization.scale, y.quantization.zero_point), op.op_name
        elif op.op_name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD"):
            fy = by_name[y.name]
            scale, zp = y.quantization.scale, y.quantization.zero_point
            if fy.index in grouped:  # shares a concat/pool group: the group's range holds its own
                lo, hi = ranges[fy.index]
                assert scale * (-128 - zp) <= min(lo, 0) + scale / 2 and scale * (127 - zp) >= hi - scale / 2
            else:  # calibrated output parameters: exactly those of the recorded range
                assert (scale, zp) == activation_params(*ranges[fy.index])
        if op.op_name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            _check_weights(op, sg, by_name)


def _check_weights(op, sg, by_name):
    w, b = sg.tensors[op.inputs[1]], sg.tensors[op.inputs[2]]
    x = sg.tensors[op.inputs[0]]
    fw = np.asarray(by_name[w.name].data, np.float64)
    fb = np.asarray(by_name[b.name].data, np.float64)
    dim = 3 if op.op_name == "DEPTHWISE_CONV_2D" else 0
    n_out = w.shape[dim]
    assert w.dtype is np.int8 and b.dtype is np.int32
    assert w.quantization.quantized_dimension == dim and w.quantization.scales.size == n_out
    assert not w.quantization.zero_points.any() and not b.quantization.zero_points.any()
    axes = tuple(k for k in range(w.data.ndim) if k != dim)
    # symmetric: each channel's largest magnitude maps to 127 and the scale is max|w| / 127
    assert np.all(np.abs(w.data.astype(np.int32)).max(axis=axes) == 127)
    np.testing.assert_allclose(w.quantization.scales, np.abs(fw).max(axis=axes) / 127, rtol=1e-6)
    shape = [1] * w.data.ndim
    shape[dim] = -1
    s = w.quantization.scales.astype(np.float64).reshape(shape)
    assert np.all(np.abs(w.data * s - fw) <= s / 2 + 1e-12)
    # bias: int32, scale input_scale * weight_scale[c]
    assert b.quantization.scales.size == n_out
    np.testing.assert_allclose(b.quantization.scales, np.float64(x.quantization.scale) * w.quantization.scales,
                               rtol=1e-6)
    bs = b.quantization.scales.astype(np.float64)
    assert np.all(np.abs(b.data * bs - fb) <= bs / 2 * (1 + 1e-6))


@pytest.mark.parametrize("io, dtype", [("_int8_uint8io", np.uint8), ("_int8_floatio", np.float32)])
def test_structure_io(io, dtype):
    sg8 = _graph(models.build("mobilenet_v1_tiny_int8")).subgraphs[0]
    sg = _graph(models.build("mobilenet_v1_tiny" + io)).subgraphs[0]
    ops = sg.operators
    tin, tout = sg.tensors[sg.inputs[0]], sg.tensors[sg.outputs[0]]
    assert tin.dtype is dtype and tout.dtype is dtype
    assert tin.name == "input" and tout.name == "MobilenetV1/Predictions/Reshape_1"
    assert ops[0].op_name == "QUANTIZE" and ops[0].inputs == (sg.inputs[0],)
    assert ops[-1].op_name == ("QUANTIZE" if dtype is np.uint8 else "DEQUANTIZE")
    assert ops[-1].outputs == (sg.outputs[0],)
    assert [op.op_name for op in ops[1:-1]] == [op.op_name for op in sg8.operators]
    q_in = sg.tensors[ops[0].outputs[0]].quantization
    q8_in = sg8.tensors[sg8.inputs[0]].quantization
    assert sg.tensors[ops[0].outputs[0]].dtype is np.int8
    assert (q_in.scale, q_in.zero_point) == (q8_in.scale, q8_in.zero_point)
    if dtype is np.uint8:
        # same scale, zero point shifted by 128 (int8 <-> uint8 is a shift)
        assert (tin.quantization.scale, tin.quantization.zero_point) == (q8_in.scale, q8_in.zero_point + 128)
        assert (tout.quantization.scale, tout.quantization.zero_point) == (1 / 256, 0)
    else:
        assert not tin.quantization.is_quantized and not tout.quantization.is_quantized


def test_per_tensor_weights():
    name = "mobilenet_v2_fc_tiny"
    data = quantize_model(models.build(name), _calib(models.input_shape(name), 2), per_channel=False)
    sg = _graph(data).subgraphs[0]
    for op in sg.operators:
        if op.op_name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            w, b = sg.tensors[op.inputs[1]], sg.tensors[op.inputs[2]]
            assert w.quantization.scales.size == 1 and b.quantization.scales.size == 1
            assert np.abs(w.data.astype(np.int32)).max() == 127
    x = models.synthetic_image(models.input_shape(name), 0)
    q = sg.tensors[sg.inputs[0]].quantization
    xq = np.clip(np.round(x / q.scale) + q.zero_point, -128, 127).astype(np.int8)
    (p,) = run_litert(data, [xq], ref=True)
    assert p.dtype == np.int8


def test_deterministic_and_calibration_matters():
    name = "mobilenet_v1_tiny"
    f = models.build(name)
    a = quantize_model(f, _calib(models.input_shape(name)))
    assert a == quantize_model(f, _calib(models.input_shape(name)))
    assert a != quantize_model(f, _calib(models.input_shape(name), seed=7))


def test_calibrate_ranges():
    name = "mobilenet_v1_tiny"
    f = models.build(name)
    samples = _calib(models.input_shape(name), 3)
    ranges = calibrate(f, samples)
    sg = _graph(f).subgraphs[0]
    lo, hi = ranges[sg.inputs[0]]
    assert lo == min(float(s[0].min()) for s in samples) and hi == max(float(s[0].max()) for s in samples)
    out_lo, out_hi = ranges[sg.outputs[0]]
    assert 0 <= out_lo < out_hi <= 1
    for op in sg.operators:  # RELU6 fused: the recorded range lies in [0, 6]
        fa = (op.options or {}).get("fused_activation_function")
        if fa == 3:
            r = ranges[op.outputs[0]]
            assert 0 <= r[0] <= r[1] <= 6
    # only non-constant float tensors are recorded
    assert all(not sg.tensors[i].is_constant for i in ranges)
    # a one-input model also takes bare arrays
    assert calibrate(f, [s[0] for s in samples]) == ranges


def test_calibrate_resizes_to_the_samples():
    f = _fc_model(["LOGISTIC"])
    small = _vec_calib(4)
    big = [[np.concatenate([a[0] for a in small])]]  # one sample of batch 4
    sg = _graph(f).subgraphs[0]
    r_small, r_big = calibrate(f, small), calibrate(f, big)
    # the same values reach every tensor, but BLAS sums a batch of 1 (gemv) and a batch of 4
    # (gemm) in different orders: the FULLY_CONNECTED output may differ in its last bit
    assert r_small.keys() == r_big.keys()
    for i in r_big:
        np.testing.assert_allclose(r_small[i], r_big[i], rtol=1e-6, err_msg=sg.tensors[i].name)
    assert r_small[sg.inputs[0]] == r_big[sg.inputs[0]]  # inputs are copied, not computed
    assert r_big[sg.inputs[0]][0] < 0 < r_big[sg.inputs[0]][1]


# -- LiteRT runs them, and they agree with the float model -----------------------------------------
def _to_float_probs(p: np.ndarray) -> np.ndarray:
    if p.dtype == np.int8:
        return (p.astype(np.float64) + 128) / 256
    if p.dtype == np.uint8:
        return p.astype(np.float64) / 256
    return p.astype(np.float64)


@pytest.mark.parametrize("name", TINY)
def test_litert_agrees_with_float(name):
    f = models.build(name)
    q = models.build(name + "_int8")
    top1 = 0
    for seed in range(12):
        x = models.synthetic_image(models.input_shape(name), seed)
        (pf,) = run_litert(f, [x])
        (pq,) = run_litert(q, [models.sample_input(name + "_int8", seed)], ref=True)
        assert pq.dtype == np.int8 and pq.shape == pf.shape
        pq = _to_float_probs(pq)
        assert np.argmax(pq) in np.argsort(-pf[0], kind="stable")[:5], seed
        top1 += int(np.argmax(pq) == np.argmax(pf))
        assert np.abs(pq - pf).max() < 0.2, seed
        assert np.abs(pq - pf).mean() < 2e-3, seed
    assert top1 >= 10


@pytest.mark.parametrize("io", ["_int8_uint8io", "_int8_floatio"])
def test_litert_io_variants_agree(io):
    """uint8 and float I/O wrap the same int8 graph: identical results up to the I/O shift."""
    base = "inception_v3_tiny"
    (p8,) = run_litert(models.build(base + "_int8"), [models.sample_input(base + "_int8", 3)], ref=True)
    x = models.sample_input(base + io, 3)
    assert x.dtype == (np.uint8 if io == "_int8_uint8io" else np.float32)
    (p,) = run_litert(models.build(base + io), [x], ref=True)
    np.testing.assert_array_equal(_to_float_probs(p), _to_float_probs(p8))


def test_litert_default_path_runs():
    """LiteRT's default (XNNPACK) path takes the model too; it may differ by a step from the
    reference kernels (noted, not asserted)."""
    name = "mobilenet_v2_tiny_int8"
    x = models.sample_input(name, 0)
    (ref,) = run_litert(models.build(name), [x], ref=True)
    (fast,) = run_litert(models.build(name), [x])
    assert fast.dtype == ref.dtype == np.int8
    assert np.abs(fast.astype(np.int32) - ref).max() <= 8


# -- small graphs: fixed output parameters, requantization, errors ----------------------------------
def _fc_model(act_ops, concat=False):
    """x[1, 16] -> FC(8) -> each of act_ops -> (CONCATENATION of them) -> output."""
    rng = np.random.default_rng(0)
    mb = ModelBuilder()
    x = mb.input("x", (1, 16), np.float32)
    w = mb.const("w", rng.normal(0, 0.5, (8, 16)).astype(np.float32))
    b = mb.const("b", rng.normal(0, 0.1, 8).astype(np.float32))
    h = mb.tensor("h", (1, 8), np.float32)
    mb.op("FULLY_CONNECTED", [x, w, b], [h], fused_activation_function="NONE")
    outs = []
    for k, a in enumerate(act_ops):
        y = mb.tensor(f"{a.lower()}_{k}", (1, 8), np.float32)
        mb.op(a, [h], [y], **({"beta": 1.0} if a == "SOFTMAX" else {}))
        outs.append(y)
    if concat:
        c = mb.tensor("concat", (1, 8 * len(outs)), np.float32)
        mb.op("CONCATENATION", outs, [c], axis=1, fused_activation_function="NONE")
        outs = [c]
    mb.output(*outs)
    return mb.build()


def _vec_calib(n=16):
    rng = np.random.default_rng(5)
    return [[rng.uniform(-1, 1, (1, 16)).astype(np.float32)] for _ in range(n)]


@pytest.mark.parametrize("op, scale, zp", [("LOGISTIC", 1 / 256, -128), ("TANH", 1 / 128, 0),
                                           ("SOFTMAX", 1 / 256, -128)])
def test_fixed_output_params(op, scale, zp):
    f = _fc_model([op])
    q = quantize_model(f, _vec_calib(), io_dtype=np.float32)
    sg = _graph(q).subgraphs[0]
    node = next(o for o in sg.operators if o.op_name == op)
    assert node.version == 2
    qo = sg.tensors[node.outputs[0]].quantization
    assert (qo.scale, qo.zero_point) == (np.float32(scale), zp)
    x = _vec_calib(1)[0][0]
    (yf,) = run_litert(f, [x])
    (yq,) = run_litert(q, [x], ref=True)
    np.testing.assert_allclose(yq, yf, atol=0.03)  # a few output steps (1/256, 1/128)


def test_same_scale_conflict_inserts_requantize():
    """LOGISTIC (1/256, -128) and TANH (1/128, 0) meet in a CONCATENATION, which needs one set
    of parameters: the group takes the first pinned one and the other input is requantized."""
    f = _fc_model(["LOGISTIC", "TANH"], concat=True)
    q = quantize_model(f, _vec_calib(), io_dtype=np.float32)
    sg = _graph(q).subgraphs[0]
    names = [o.op_name for o in sg.operators]
    assert Counter(names)["QUANTIZE"] == 2  # the graph input and the requantized TANH output
    cat = next(o for o in sg.operators if o.op_name == "CONCATENATION")
    params = {(sg.tensors[i].quantization.scale, sg.tensors[i].quantization.zero_point) for i in (*cat.inputs,
                                                                                                 cat.outputs[0])}
    assert params == {(np.float32(1 / 256), -128)}
    x = _vec_calib(1)[0][0]
    (yf,) = run_litert(f, [x])
    (yq,) = run_litert(q, [x], ref=True)
    np.testing.assert_allclose(yq[:, :8], yf[:, :8], atol=0.01)
    # tanh's negative half does not fit in [0, 1): clipped to 0 there, as the converter's would be
    np.testing.assert_allclose(yq[:, 8:], np.clip(yf[:, 8:], 0, 1), atol=0.02)


def test_unsupported_op_listed():
    mb = ModelBuilder()
    x = mb.input("x", (1, 4), np.float32)
    y = mb.tensor("y", (1, 4), np.float32)
    z = mb.tensor("z", (1, 4), np.float32)
    mb.op("SIN", [x], [y])  # float only in LiteRT (no integer kernel)
    mb.op("SIN", [y], [z])
    mb.output(z)
    with pytest.raises(QuantizationError, match=r"SIN \(nodes \[0, 1\]\)"):
        quantize_model(mb.build(), [[np.zeros((1, 4), np.float32)]])


def test_errors():
    f = _fc_model(["LOGISTIC"])
    with pytest.raises(QuantizationError, match="empty"):
        quantize_model(f, [])
    with pytest.raises(QuantizationError, match="has 2 arrays"):
        quantize_model(f, [[np.zeros((1, 16), np.float32)] * 2])
    bad = np.zeros((1, 16), np.float32)
    bad[0, 3] = np.nan  # one NaN among finite values: min / max would skip it silently
    with pytest.raises(QuantizationError, match="sample 1, input 0 .* NaN or infinite"):
        quantize_model(f, [[np.zeros((1, 16), np.float32)], [bad]])
    with pytest.raises(QuantizationError, match="io_dtype"):
        quantize_model(f, _vec_calib(), io_dtype=np.int16)
    q = quantize_model(f, _vec_calib())
    with pytest.raises(QuantizationError, match="already quantized: tensor .x. is quantized INT8"):
        quantize_model(q, _vec_calib())
    # weights computed at run time cannot be quantized ahead of time
    mb = ModelBuilder()
    x = mb.input("x", (1, 4), np.float32)
    w = mb.input("w", (3, 4), np.float32)
    y = mb.tensor("y", (1, 3), np.float32)
    mb.op("FULLY_CONNECTED", [x, w, -1], [y])
    mb.output(y)
    with pytest.raises(QuantizationError, match="float32 constant"):
        quantize_model(mb.build(), [[np.zeros((1, 4), np.float32), np.ones((3, 4), np.float32)]])
    with pytest.raises(QuantizationError, match="NaN or infinite"):
        quantize_model(f, [[np.full((1, 16), np.nan, np.float32)]])


def mean_head_model(seed: int = 0) -> bytes:
    """x[1, 12, 12, 3] -> CONV_2D 3x3 (8, RELU) -> MEAN over H, W -> FULLY_CONNECTED (10) -> SOFTMAX:
    the Keras global-average-pooling head (MEAN is not in the reference models)."""
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    x = mb.input("x", (1, 12, 12, 3), np.float32)
    w = mb.const("w", rng.normal(0, 0.4, (8, 3, 3, 3)).astype(np.float32))
    b = mb.const("b", rng.normal(0, 0.1, 8).astype(np.float32))
    h = mb.tensor("h", (1, 12, 12, 8), np.float32)
    mb.op("CONV_2D", [x, w, b], [h], padding="SAME", stride_w=1, stride_h=1, fused_activation_function="RELU")
    axes = mb.const("axes", np.array([1, 2], np.int32))
    m = mb.tensor("m", (1, 8), np.float32)
    mb.op("MEAN", [h, axes], [m], keep_dims=False)
    fw = mb.const("fw", rng.normal(0, 1.0, (10, 8)).astype(np.float32))
    fb = mb.const("fb", rng.normal(0, 0.1, 10).astype(np.float32))
    logits = mb.tensor("logits", (1, 10), np.float32)
    mb.op("FULLY_CONNECTED", [m, fw, fb], [logits], fused_activation_function="NONE")
    p = mb.tensor("p", (1, 10), np.float32)
    mb.op("SOFTMAX", [logits], [p], beta=1.0)
    mb.output(p)
    return mb.build()


def mean_head_calibration(n: int = 32, seed: int = 11) -> list[list[np.ndarray]]:
    return [[models.synthetic_image((1, 12, 12, 3), seed + k)] for k in range(n)]


def test_mean_head():
    f = mean_head_model()
    q = quantize_model(f, mean_head_calibration())
    sg = _graph(q).subgraphs[0]
    assert [(o.op_name, o.version) for o in sg.operators] == [("CONV_2D", 3), ("MEAN", 2), ("FULLY_CONNECTED", 4),
                                                             ("SOFTMAX", 2)]
    mean = sg.operators[1]
    assert sg.tensors[mean.inputs[1]].dtype is np.int32  # the axes stay int32
    assert sg.tensors[mean.outputs[0]].dtype is np.int8
    ranges = calibrate(f, mean_head_calibration())
    fsg = _graph(f).subgraphs[0]
    qm = sg.tensors[mean.outputs[0]].quantization
    assert (qm.scale, qm.zero_point) == activation_params(*ranges[fsg.operators[1].outputs[0]])  # its own range
    for (x,) in mean_head_calibration()[:4]:  # inside the calibrated ranges: no clipping, rounding only
        qi = sg.tensors[sg.inputs[0]].quantization
        xq = np.clip(np.round(x / qi.scale) + qi.zero_point, -128, 127).astype(np.int8)
        (pf,) = run_litert(f, [x])
        (pq,) = run_litert(q, [xq], ref=True)
        np.testing.assert_allclose(_to_float_probs(pq), pf, atol=0.03)


def elementwise_model(seed: int = 0) -> bytes:
    """x[1, 6, 6, 4] -> MUL by a constant, SUB, RELU6, PAD, TRANSPOSE, MAXIMUM with a constant,
    STRIDED_SLICE, RESIZE_BILINEAR, LEAKY_RELU, MINIMUM, SQUEEZE, EXPAND_DIMS -> out[2, 16, 16, 1]."""
    rng = np.random.default_rng(seed)
    mb = ModelBuilder()
    x = mb.input("x", (1, 6, 6, 4), np.float32)

    def t(n, shape):
        return mb.tensor(n, shape, np.float32)
    a = t("a", (1, 6, 6, 4))
    mb.op("MUL", [x, mb.const("m", rng.uniform(0.5, 2, 4).astype(np.float32))], [a], fused_activation_function="NONE")
    b = t("b", (1, 6, 6, 4))
    mb.op("SUB", [a, x], [b], fused_activation_function="NONE")
    c = t("c", (1, 6, 6, 4))
    mb.op("RELU6", [b], [c])
    d = t("d", (1, 8, 8, 4))
    mb.op("PAD", [c, mb.const("p", np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32))], [d])
    e = t("e", (1, 4, 8, 8))
    mb.op("TRANSPOSE", [d, mb.const("perm", np.array([0, 3, 1, 2], np.int32))], [e])
    f = t("f", (1, 4, 8, 8))
    mb.op("MAXIMUM", [e, mb.const("z", np.full((1, 1, 1, 1), 0.5, np.float32))], [f])
    g = t("g", (1, 2, 8, 8))
    mb.op("STRIDED_SLICE", [f, mb.const("b0", np.array([0, 1, 0, 0], np.int32)),
                            mb.const("b1", np.array([1, 3, 8, 8], np.int32)), mb.const("b2", np.ones(4, np.int32))],
          [g], begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0)
    h = t("h", (1, 2, 16, 16))
    mb.op("RESIZE_BILINEAR", [g, mb.const("sz", np.array([16, 16], np.int32))], [h], align_corners=False,
          half_pixel_centers=True)
    i = t("i", (1, 2, 16, 16))
    mb.op("LEAKY_RELU", [h], [i], alpha=0.2)
    j = t("j", (1, 2, 16, 16))
    mb.op("MINIMUM", [i, h], [j])
    k = t("k", (2, 16, 16))
    mb.op("SQUEEZE", [j], [k], squeeze_dims=[0])
    out = t("out", (2, 16, 16, 1))
    mb.op("EXPAND_DIMS", [k, mb.const("ax", np.array([3], np.int32))], [out])
    mb.output(out)
    return mb.build()


def test_elementwise_and_data_movement_ops_quantize_bit_exact_with_litert():
    """MUL / SUB by activations and constants, RELU6, PAD, TRANSPOSE, MAXIMUM, STRIDED_SLICE,
    RESIZE_BILINEAR, LEAKY_RELU, MINIMUM, SQUEEZE, EXPAND_DIMS: the int8 graph runs on LiteRT's
    reference kernels bit for bit as on numlite, within a few output steps of the float model,
    and the ops that keep their input's parameters (PAD, TRANSPOSE, slices, resize, MAXIMUM /
    MINIMUM, squeezes) do."""
    from ai_edge_litert.interpreter import Interpreter as LiteRT
    from ai_edge_litert.interpreter import OpResolverType

    rng = np.random.default_rng(0)
    m = elementwise_model()
    q = quantize_model(m, [[rng.uniform(-2, 2, (1, 6, 6, 4)).astype(np.float32)] for _ in range(8)],
                       io_dtype=np.float32)
    sg = numlite.load_model(model_content=q).subgraphs[0]
    params = {sg.tensors[op.outputs[0]].name: sg.tensors[op.outputs[0]].quantization for op in sg.operators}
    for src, dst in (("c", "d"), ("d", "e"), ("f", "g"), ("g", "h"), ("j", "k"), ("k", "out_int8")):
        assert params[src].scales.tolist() == params[dst].scales.tolist(), (src, dst)
    xx = rng.uniform(-2, 2, (1, 6, 6, 4)).astype(np.float32)

    def run(cls, data, **kw):
        it = cls(model_content=data, **kw)
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], xx)
        it.invoke()
        return it.get_tensor(it.get_output_details()[0]["index"])
    ours = run(numlite.Interpreter, q)
    np.testing.assert_array_equal(ours, run(LiteRT, q, experimental_op_resolver_type=OpResolverType.BUILTIN_REF))
    scale = float(params["out_int8"].scales[0])
    assert np.max(np.abs(ours - run(numlite.Interpreter, m))) <= 8 * scale
