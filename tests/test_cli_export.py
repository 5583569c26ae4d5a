"""``numlite export`` and ``numlite.delegates.onnx_graph.export``: whole models as ONNX, checked by
running the file with ONNX Runtime against numlite (float32: within 1e-5 of each output's
magnitude; ONNX Runtime sums in its own order)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from util import numlite_command

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import numlite  # noqa: E402
from numlite import models  # noqa: E402
from numlite.builder import ModelBuilder  # noqa: E402
from numlite.delegates.onnx_graph import export  # noqa: E402


def _numlite(model: bytes, feeds: list[np.ndarray]) -> list[np.ndarray]:
    it = numlite.Interpreter(model_content=model)
    for d, v in zip(it.get_input_details(), feeds):
        if tuple(d["shape"]) != v.shape:
            it.resize_tensor_input(d["index"], list(v.shape))
    it.allocate_tensors()
    for d, v in zip(it.get_input_details(), feeds):
        it.set_tensor(d["index"], v)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def _onnx(proto, feeds: list[np.ndarray]) -> list[np.ndarray]:
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {i.name: v for i, v in zip(sess.get_inputs(), feeds)})


def _close(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape
    assert np.max(np.abs(a - b)) <= 1e-5 * max(float(np.max(np.abs(a))), 1e-6)


def test_mobilenet_keeps_names_and_matches_numlite():
    m = models.build("mobilenet_v2")
    proto = export(m)
    it = numlite.Interpreter(model_content=m)
    assert [i.name for i in proto.graph.input] == [d["name"] for d in it.get_input_details()]
    assert [o.name for o in proto.graph.output] == [d["name"] for d in it.get_output_details()]
    x = models.sample_input("mobilenet_v2")
    for a, b in zip(_numlite(m, [x]), _onnx(proto, [x])):
        _close(a, b)


def _dynamic_cnn() -> bytes:
    """A small CNN whose batch is dynamic (shape_signature -1 on every activation)."""
    rng = np.random.default_rng(0)
    mb = ModelBuilder()
    x = mb.input("image", (1, 12, 12, 3), np.float32, shape_signature=(-1, 12, 12, 3))

    def t(name: str, shape: tuple[int, ...]) -> int:
        return mb.tensor(name, shape, np.float32, shape_signature=(-1, *shape[1:]))

    c = t("conv", (1, 6, 6, 8))
    mb.op("CONV_2D", [x, mb.const("w", rng.standard_normal((8, 3, 3, 3)).astype(np.float32)),
                      mb.const("b", np.zeros(8, np.float32))], [c], padding=0, stride_h=2, stride_w=2,
          dilation_h_factor=1, dilation_w_factor=1, fused_activation_function="RELU6")
    r = t("resized", (1, 12, 12, 8))
    mb.op("RESIZE_BILINEAR", [c, mb.const("size", np.array([12, 12], np.int32))], [r], half_pixel_centers=True)
    p = t("pooled", (1, 6, 6, 8))
    mb.op("MAX_POOL_2D", [r], [p], padding=1, stride_h=2, stride_w=2, filter_height=2, filter_width=2)
    f = t("flat", (1, 288))
    mb.op("RESHAPE", [p, mb.const("shape", np.array([-1, 288], np.int32))], [f], new_shape=[-1, 288])
    y = t("logits", (1, 5))
    mb.op("FULLY_CONNECTED", [f, mb.const("fw", rng.standard_normal((5, 288)).astype(np.float32) * 0.1),
                              mb.const("fb", np.ones(5, np.float32))], [y])
    s = t("probs", (1, 5))
    mb.op("SOFTMAX", [y], [s], beta=1.0)
    mb.output(s)
    return mb.build()


def test_dynamic_batch_runs_at_any_batch():
    m = _dynamic_cnn()
    proto = export(m)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    for batch in (1, 3):
        x = np.random.default_rng(batch).random((batch, 12, 12, 3)).astype(np.float32)
        for a, b in zip(_numlite(m, [x]), _onnx(proto, [x])):
            _close(a, b)
    static = export(m, dynamic_batch=False)
    assert static.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 1


def test_mediapipe_model_exports():
    from mediapipe_models import model_path

    path = str(model_path("face_landmark.tflite"))  # float16 weights: numlite folds them into initializers
    proto = export(path)
    it = numlite.Interpreter(model_path=path)
    it.allocate_tensors()
    feeds = [np.random.default_rng(2).random(d["shape"]).astype(d["dtype"]) for d in it.get_input_details()]
    for a, b in zip(_numlite(open(path, "rb").read(), feeds), _onnx(proto, feeds)):
        _close(a, b)


def test_command_writes_the_file_and_checks_it(tmp_path, capsys):
    src = tmp_path / "cnn.tflite"
    src.write_bytes(_dynamic_cnn())
    out = tmp_path / "cnn.onnx"
    assert numlite_command(["export", str(src), "-o", str(out), "--check"]) == 0
    text = capsys.readouterr().out
    assert f"wrote {out}: " in text and "inputs image[batch, 12, 12, 3]; outputs probs[batch, 5]" in text
    assert "max relative difference" in text and os.path.getsize(out) > 0


def test_int8_model_exports_in_qdq_form():
    m = models.build("mobilenet_v1_int8", resolution=96, alpha=0.25)
    x = models.sample_input("mobilenet_v1_int8", resolution=96, alpha=0.25)
    proto = export(m)
    assert proto.graph.input[0].type.tensor_type.elem_type == 3  # INT8
    ours, theirs = _numlite(m, [x])[0], _onnx(proto, [x])[0]
    assert ours.dtype == theirs.dtype == np.int8
    assert np.max(np.abs(ours.astype(int) - theirs.astype(int))) <= 5  # requantization rounding, as XNNPACK


def test_command_refuses_what_does_not_map_and_writes_nothing(tmp_path, capsys):
    src = tmp_path / "c.tflite"
    mb = ModelBuilder()
    x = mb.input("x", (2, 8), np.float32)
    y = mb.tensor("y", (2, 8), np.float32)
    mb.op("CUMSUM", [x, mb.const("axis", np.int32(1))], [y])
    mb.output(y)
    src.write_bytes(mb.build())
    out = tmp_path / "c.onnx"
    assert numlite_command(["export", str(src), "-o", str(out)]) == 4
    err = capsys.readouterr().err
    assert "cannot export to ONNX: 1 unsupported operator(s) or tensor(s): CUMSUM version 1 at [0]" in err
    assert not out.exists() and not (tmp_path / "c.onnx.partial").exists()


def test_command_without_onnx_names_the_extra(tmp_path, capsys, monkeypatch):
    src = tmp_path / "cnn.tflite"
    src.write_bytes(_dynamic_cnn())
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert numlite_command(["export", str(src), "-o", str(tmp_path / "x.onnx")]) == 6
    assert "pip install 'numlite[onnxruntime]'" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["mobilenet_v1", "mobilenet_v2"])
def test_layout_changes_cancel_between_layers(name):
    """NHWC in, NHWC out, NCHW inside: the Transposes around each convolution cancel (and sink
    through the residual ADDs and activations), leaving the two at the graph's edges; fused
    activations of NONE leave no Identity."""
    from collections import Counter

    m = models.build(name, resolution=32, alpha=0.35)
    proto = export(m)
    ops = Counter(n.op_type for n in proto.graph.node)
    assert ops["Transpose"] == 2 and ops["Identity"] == 0
    x = np.random.default_rng(0).uniform(-1, 1, (1, 32, 32, 3)).astype(np.float32)
    _close(_onnx(proto, [x])[0], _numlite(m, [x])[0])


def test_a_transpose_read_twice_or_a_graph_output_stays():
    """x -> CONV -> out1 (a graph output, NHWC) and -> CONV -> out2: the first conv's Transpose
    back to NHWC feeds a graph output, so it stays, and the second conv still reads NCHW."""
    rng = np.random.default_rng(2)
    mb = ModelBuilder()
    x = mb.input("x", (1, 6, 6, 3), np.float32)

    def conv(name, src, cin):
        t = mb.tensor(name, (1, 6, 6, 4), np.float32)
        mb.op("CONV_2D", [src, mb.const(name + "_w", rng.standard_normal((4, 3, 3, cin)).astype(np.float32)),
                          mb.const(name + "_b", rng.standard_normal(4).astype(np.float32))], [t], padding=0,
              stride_h=1, stride_w=1, dilation_h_factor=1, dilation_w_factor=1, fused_activation_function="RELU")
        return t
    a = conv("a", x, 3)
    b = conv("b", a, 4)
    mb.output(a)
    mb.output(b)
    m = mb.build()
    proto = export(m)
    feeds = [rng.standard_normal((1, 6, 6, 3)).astype(np.float32)]
    for ours, ref in zip(_onnx(proto, feeds), _numlite(m, feeds)):
        _close(ours, ref)
