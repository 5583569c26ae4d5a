"""Weight-only post-training quantization (``numlite.quantize_weights``): float16 weights and
dynamic-range int8 weights, on models numlite writes and on a real float16 one, checked on
LiteRT (which must run what numlite writes) and against numlite.

Tolerances: numlite against LiteRT on the same quantized model, 1e-5 of the output's magnitude
for float16 (both dequantize the same float16 values at prepare, then run float kernels that
sum in their own order), and for dynamic-range single-op models bit-for-bit against LiteRT's
reference kernels up to float rounding (1e-6: the same int8 arithmetic, float rescaling); the
quantized model against the float one 1e-2 for float16 (11-bit mantissas) and top-1 for int8
weights."""

import numpy as np
import pytest

import numlite
from numlite import ModelError, models
from numlite.builder import ModelBuilder
from numlite.graph import load_model
from numlite.quantize import QuantizationError
from numlite.quantize_weights import quantize_dynamic_range, quantize_float16

litert = pytest.importorskip("ai_edge_litert.interpreter")


def _run(model, feeds, litert_ref=False, runtime="numlite"):
    if runtime == "numlite":
        it = numlite.Interpreter(model_content=model)
    else:
        kw = {"experimental_op_resolver_type": litert.OpResolverType.BUILTIN_REF} if litert_ref else {}
        it = litert.Interpreter(model_content=model, **kw)
    it.allocate_tensors()
    for d, v in zip(it.get_input_details(), feeds):
        it.set_tensor(d["index"], v)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def _rel(a, b):
    return float(np.max(np.abs(a.astype(np.float64) - b))) / max(float(np.max(np.abs(b))), 1e-30)


MODEL = models.build("mobilenet_v1", resolution=64, alpha=0.5)
X = [np.random.default_rng(0).uniform(0, 1, (1, 64, 64, 3)).astype(np.float32)]


def test_float16_halves_the_weights_and_runs_on_litert_and_numlite():
    q = quantize_float16(MODEL)
    assert 0.45 < len(q) / len(MODEL) < 0.55
    sg = load_model(model_content=q).subgraphs[0]
    deq = [op for op in sg.operators if op.op_name == "DEQUANTIZE"]
    floats = [t for t in load_model(model_content=MODEL).subgraphs[0].tensors
              if t.data is not None and t.type_name == "FLOAT32"]
    assert len(deq) == len(floats) and all(op.version == 3 for op in deq)
    assert sg.operators[:len(deq)] == deq  # first in the plan
    for op in deq:
        assert sg.tensors[op.inputs[0]].type_name == "FLOAT16" and sg.tensors[op.outputs[0]].data is None
    (ref,), (lt,), (ours,) = _run(MODEL, X), _run(q, X, runtime="litert"), _run(q, X)
    assert _rel(ours, lt) < 1e-5
    assert _rel(lt, ref) < 1e-2
    # what LiteRT computes is the float model with float16-rounded weights
    assert int(np.argmax(lt)) == int(np.argmax(ref))


def test_float16_keeps_constants_out_of_range_and_graph_outputs():
    mb = ModelBuilder()
    x = mb.input("x", (2, 3), np.float32)
    big = mb.const("big", np.array([1e5, -2.0, 3.0], np.float32))  # beyond float16: stays float32
    small = mb.const("small", np.array([0.5, 0.25, 1.5], np.float32))
    a, y = mb.tensor("a", (2, 3), np.float32), mb.tensor("y", (2, 3), np.float32)
    mb.op("ADD", [x, big], [a])
    mb.op("MUL", [a, small], [y])
    mb.output(y)
    m = mb.build()
    q = quantize_float16(m)
    sg = load_model(model_content=q).subgraphs[0]
    assert [op.op_name for op in sg.operators] == ["DEQUANTIZE", "ADD", "MUL"]
    assert sg.tensors[sg.operators[0].outputs[0]].name == "small"
    feeds = [np.arange(6, dtype=np.float32).reshape(2, 3)]
    np.testing.assert_array_equal(_run(q, feeds)[0], _run(m, feeds)[0])  # both exact in float16
    np.testing.assert_array_equal(_run(q, feeds, runtime="litert")[0], _run(m, feeds)[0])


def test_dynamic_range_int8_weights_per_channel_and_versions():
    q = quantize_dynamic_range(MODEL)
    assert len(q) < 0.35 * len(MODEL)
    before = load_model(model_content=MODEL).subgraphs[0]
    sg = load_model(model_content=q).subgraphs[0]
    hybrid = 0
    for op0, op in zip(before.operators, sg.operators):
        w0, w = before.tensors[op0.inputs[1]] if len(op0.inputs) > 1 else None, None
        if op.op_name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            w = sg.tensors[op.inputs[1]]
            if w0.data.size >= 1024:
                hybrid += 1
                axis = 3 if op.op_name == "DEPTHWISE_CONV_2D" else 0
                assert w.type_name == "INT8" and w.quantization.quantized_dimension == axis
                assert w.quantization.scales.size == w0.shape[axis] and not np.any(w.quantization.zero_points)
                assert op.version == {"CONV_2D": 5, "DEPTHWISE_CONV_2D": 6, "FULLY_CONNECTED": 12}[op.op_name]
                scales = w.quantization.scales.reshape([-1 if k == axis else 1 for k in range(w0.data.ndim)])
                np.testing.assert_allclose(w.data * scales, w0.data, atol=float(np.max(scales)) / 2 + 1e-7)
                assert sg.tensors[op.inputs[2]].type_name == "FLOAT32"  # biases stay float
            else:
                assert w.type_name == "FLOAT32" and op.version == op0.version
    assert hybrid > 10
    (ref,), (lt,), (ours,) = _run(MODEL, X), _run(q, X, runtime="litert", litert_ref=True), _run(q, X)
    assert int(np.argmax(lt)) == int(np.argmax(ref)) == int(np.argmax(ours))
    assert _rel(ours, lt) < 0.05  # hybrid layers requantize their inputs: one flipped step compounds


@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("op", ["FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D"])
def test_dynamic_range_single_ops_match_litert_reference(op, per_channel):
    rng = np.random.default_rng(3)
    mb = ModelBuilder()
    if op == "FULLY_CONNECTED":
        x = mb.input("x", (3, 64), np.float32)
        y = mb.tensor("y", (3, 32), np.float32)
        w = rng.standard_normal((32, 64)).astype(np.float32)
        mb.op(op, [x, mb.const("w", w), mb.const("b", rng.standard_normal(32).astype(np.float32))], [y],
              fused_activation_function="RELU")
        feeds = [rng.standard_normal((3, 64)).astype(np.float32)]
    else:
        x = mb.input("x", (1, 8, 8, 16), np.float32)
        y = mb.tensor("y", (1, 8, 8, 16), np.float32)
        shape = (16, 3, 3, 16) if op == "CONV_2D" else (1, 3, 3, 16)
        extra = {} if op == "CONV_2D" else {"depth_multiplier": 1}
        w = rng.standard_normal(shape).astype(np.float32)
        mb.op(op, [x, mb.const("w", w), mb.const("b", rng.standard_normal(16).astype(np.float32))], [y],
              padding=0, stride_h=1, stride_w=1, dilation_h_factor=1, dilation_w_factor=1,
              fused_activation_function="NONE", **extra)
        feeds = [rng.standard_normal((1, 8, 8, 16)).astype(np.float32)]
    mb.output(y)
    m = mb.build()
    q = quantize_dynamic_range(m, min_elements=1, per_channel=per_channel)
    sg = load_model(model_content=q).subgraphs[0]
    w = sg.tensors[sg.operators[0].inputs[1]]
    assert w.type_name == "INT8"
    # hybrid DEPTHWISE_CONV_2D needs per-channel scales (LiteRT's kernel): always per channel
    assert w.quantization.scales.size == (1 if not per_channel and op != "DEPTHWISE_CONV_2D" else w.shape[
        3 if op == "DEPTHWISE_CONV_2D" else 0])
    (lt,), (ours,), (ref,) = _run(q, feeds, runtime="litert", litert_ref=True), _run(q, feeds), _run(m, feeds)
    np.testing.assert_allclose(ours, lt, rtol=1e-6, atol=1e-6 * float(np.max(np.abs(lt))))
    assert _rel(lt, ref) < 0.05  # int8 weights and inputs: about 1% per tensor


@pytest.mark.parametrize("mode", ["dynamic", "int16x8"])
def test_a_depthwise_option_that_disagrees_with_the_shapes_is_rewritten(mode):
    """fuzz_quantize (third pass): a float DEPTHWISE_CONV_2D whose depth_multiplier option says 3
    while its shapes give 1 runs (the float kernels take the multiplier from the shapes, LiteRT's
    too), but its hybrid form did not prepare ('depth_multiplier option 3 disagrees with the shapes
    ... LiteRT's hybrid kernel uses the option'), nor its int16x8 form.  The quantizers now write
    the shapes' multiplier into the option; the results match LiteRT's reference kernels."""
    from numlite.quantize import quantize_model

    rng = np.random.default_rng(4)
    mb = ModelBuilder()
    x = mb.input("x", (1, 6, 6, 8), np.float32)
    y = mb.tensor("y", (1, 6, 6, 8), np.float32)
    mb.op("DEPTHWISE_CONV_2D", [x, mb.const("w", rng.standard_normal((1, 3, 3, 8)).astype(np.float32)),
                                mb.const("b", rng.standard_normal(8).astype(np.float32))], [y],
          padding=0, stride_h=1, stride_w=1, dilation_h_factor=1, dilation_w_factor=1,
          fused_activation_function="NONE", depth_multiplier=3)
    mb.output(y)
    m = mb.build()
    feeds = [rng.standard_normal((1, 6, 6, 8)).astype(np.float32)]
    if mode == "dynamic":
        q = quantize_dynamic_range(m, min_elements=1)
    else:
        q = quantize_model(m, [feeds], mode="int16x8", io_dtype=np.float32)  # calibrated on the input it runs
    (dw,) = [op for op in load_model(model_content=q).subgraphs[0].operators if op.op_name == "DEPTHWISE_CONV_2D"]
    assert dw.options["depth_multiplier"] == 1
    (lt,), (ours,), (ref,) = _run(q, feeds, runtime="litert", litert_ref=True), _run(q, feeds), _run(m, feeds)
    np.testing.assert_allclose(ours, lt, rtol=1e-6, atol=1e-6 * float(np.max(np.abs(lt))))
    assert _rel(lt, ref) < 0.05


def test_a_weight_read_twice_gets_an_int8_copy():
    """The same constant is FULLY_CONNECTED's weights and an ADD operand: the FC reads an int8
    copy, the ADD still the float32 tensor."""
    rng = np.random.default_rng(5)
    mb = ModelBuilder()
    x = mb.input("x", (32, 32), np.float32)
    w = mb.const("w", rng.standard_normal((32, 32)).astype(np.float32))
    f, y = mb.tensor("f", (32, 32), np.float32), mb.tensor("y", (32, 32), np.float32)
    mb.op("FULLY_CONNECTED", [x, w, -1], [f])
    mb.op("ADD", [f, w], [y])
    mb.output(y)
    m = mb.build()
    q = quantize_dynamic_range(m)
    sg = load_model(model_content=q).subgraphs[0]
    fc, add = sg.operators
    assert sg.tensors[fc.inputs[1]].type_name == "INT8" and sg.tensors[fc.inputs[1]].name == "w_int8"
    assert sg.tensors[add.inputs[1]].type_name == "FLOAT32" and add.inputs[1] == w
    feeds = [rng.standard_normal((32, 32)).astype(np.float32)]
    np.testing.assert_allclose(_run(q, feeds)[0], _run(q, feeds, runtime="litert", litert_ref=True)[0],
                               rtol=1e-5, atol=1e-5)


def test_nothing_to_quantize_and_corrupt_models_are_clear_errors():
    int8 = models.build("mobilenet_v1_int8", resolution=32, alpha=0.25)
    with pytest.raises(QuantizationError, match="float16 quantization: the model is already quantized: tensor .* INT8"):
        quantize_float16(int8)
    with pytest.raises(QuantizationError, match="dynamic-range quantization: the model is already quantized"):
        quantize_dynamic_range(int8)
    with pytest.raises(QuantizationError, match="at least 100000000 values"):
        quantize_dynamic_range(MODEL, min_elements=10**8)
    with pytest.raises(ModelError):
        quantize_float16(MODEL[:3000])
    with pytest.raises(TypeError, match="bytes"):
        quantize_float16("model.tflite")


def test_a_real_float16_model_is_refused_as_already_quantized():
    """MediaPipe's face_landmark ships float16 weights behind DEQUANTIZE: nothing left to do."""
    mpm = pytest.importorskip("mediapipe_models")
    try:
        path = mpm.model_path("face_landmark.tflite")
    except Exception as e:  # pragma: no cover - offline
        pytest.skip(f"MediaPipe's wheel is not available: {e}")
    data = path.read_bytes()
    with pytest.raises(QuantizationError, match="already quantized"):
        quantize_float16(data)
    with pytest.raises(QuantizationError):
        quantize_dynamic_range(data)


def test_a_buffer_outside_the_file_is_a_model_error():
    """A weight buffer stored 'after the FlatBuffer' at an offset past the file's end: the
    verifier's ModelError, not a NumPy error from reading it."""
    from numlite.schema.reader import read_model_table
    from numlite.schema.writer import TableWriter

    root = dict(read_model_table(MODEL))
    bufs = [dict(b) for b in root["buffers"]]
    k = next(i for i, b in enumerate(bufs) if b.get("data") is not None and len(b["data"]) > 100)
    bufs[k].pop("data")
    bufs[k].update(offset=10**7, size=400)
    root["buffers"] = bufs
    w = TableWriter(True, None)
    w.b.Finish(w.table("Model", root), file_identifier=b"TFL3")
    bad = bytes(w.b.Output())
    for quantize in (quantize_float16, quantize_dynamic_range):
        with pytest.raises(ModelError, match="outside"):
            quantize(bad)


@pytest.mark.parametrize("name", ["iris_landmark.tflite", "hand_recrop.tflite"])
def test_real_float32_models_from_mediapipe(name):
    """MediaPipe's float32 models (PRELU, PAD, STRIDED_SLICE ... besides the convolutions): both
    modes run on LiteRT's reference kernels and numlite alike, near the float model."""
    mpm = pytest.importorskip("mediapipe_models")
    try:
        data = mpm.model_path(name).read_bytes()
    except Exception as e:  # pragma: no cover - offline
        pytest.skip(f"MediaPipe's wheel is not available: {e}")
    it = numlite.Interpreter(model_content=data)
    feeds = [np.random.default_rng(0).uniform(0, 1, d["shape"]).astype(np.float32) for d in it.get_input_details()]
    ref = _run(data, feeds, runtime="litert")
    for quantize, near in ((quantize_float16, 1e-3), (quantize_dynamic_range, 5e-2)):
        q = quantize(data)
        assert len(q) < 0.65 * len(data)
        theirs, ours = _run(q, feeds, runtime="litert", litert_ref=True), _run(q, feeds)
        for a, b, r in zip(ours, theirs, ref):
            assert _rel(a, b) < 1e-5
            assert _rel(b, r) < near


def test_every_mode_refuses_every_quantized_output():
    """float16, dynamic-range, int8 and 16x8 outputs are each refused by all four modes as
    "already quantized", naming what gave it away."""
    from numlite.quantize import quantize_model

    small = models.build("mobilenet_v1", resolution=32, alpha=0.25)
    cal = [np.random.default_rng(k).uniform(0, 1, (1, 32, 32, 3)).astype(np.float32) for k in range(2)]
    outputs = {"float16": quantize_float16(small), "dynamic": quantize_dynamic_range(small, min_elements=64),
               "int8": quantize_model(small, cal), "int16x8": quantize_model(small, cal, mode="int16x8")}
    why = {"float16": "DEQUANTIZE op", "dynamic": "quantized INT8 \\(weights\\)", "int8": "quantized INT8",
           "int16x8": "quantized INT16 \\(activations\\)"}
    modes = {"float16": quantize_float16, "dynamic": quantize_dynamic_range,
             "int8": lambda m: quantize_model(m, cal), "int16x8": lambda m: quantize_model(m, cal, mode="int16x8")}
    for made_by, data in outputs.items():
        for mode, fn in modes.items():
            with pytest.raises(QuantizationError, match=f"already quantized: .*{why[made_by]}") as e:
                fn(data)
            assert mode != "int8" or "quantize the float32 model instead" in str(e.value)


def test_a_float_model_without_weights_has_nothing_to_quantize():
    mb = ModelBuilder()
    x = mb.input("x", (1, 4), np.float32)
    y = mb.tensor("y", (1, 4), np.float32)
    mb.op("RELU", [x], [y])
    mb.output(y)
    with pytest.raises(QuantizationError, match="no float32 constant that an operator reads"):
        quantize_float16(mb.build())
