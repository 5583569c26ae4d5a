"""numlite's own ONNX protobuf writer (``numlite.delegates.onnx_proto``) against the ``onnx``
package's parser and checker, and the delegate running without ``onnx`` imported."""

import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from numlite.delegates import onnx_proto as op  # noqa: E402


def test_every_field_round_trips_through_onnx():
    w = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    nodes = [op.Node("Transpose", ["x"], ["t"], {"perm": [0, 2, 1]}),
             op.Node("LeakyRelu", ["t"], ["l"], {"alpha": 0.25}),
             op.Node("Resize", ["l", "", "sc"], ["r"],
                     {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}),
             op.Node("Add", ["r", "w"], ["y"], name="the_add"),
             op.Node("LSTM", ["a"], ["b"], {"activations": ["Sigmoid", "Tanh", "Tanh"], "hidden_size": 3,
                                           "activation_alpha": [1.0, 0.5]}),
             op.Node("Constant", [], ["k"], {"value": np.array([-1, 2], np.int64)}),
             op.Node("QLinearConv", ["q"], ["z"], domain="com.example")]
    inits = [op.Initializer("sc", np.array([1, 1, 2, 2], np.float32)), op.Initializer("w", w),
             op.Initializer("e", np.zeros((5, 6), np.int8), external=True),
             op.Initializer("s", np.float32(0.5)), op.Initializer("i64", np.array([-3, 2**40], np.int64))]
    data = op.encode_model(nodes, [op.value_info("x", 1, ["batch", 4, 3])], [op.value_info("y", 3, [2, 3, 4])],
                           inits, "g", 17)
    m = onnx.load_from_string(data)
    assert m.ir_version == op.IR_VERSION and m.opset_import[0].version == 17 and m.producer_name == "numlite"
    g = m.graph
    assert [n.op_type for n in g.node] == [n.op_type for n in nodes] and g.name == "g"
    attrs = {(n.op_type, a.name): onnx.helper.get_attribute_value(a) for n in g.node for a in n.attribute}
    assert attrs[("Transpose", "perm")] == [0, 2, 1]
    assert attrs[("LeakyRelu", "alpha")] == pytest.approx(0.25)
    assert attrs[("Resize", "mode")] == b"linear"
    assert attrs[("LSTM", "activations")] == [b"Sigmoid", b"Tanh", b"Tanh"]
    assert attrs[("LSTM", "hidden_size")] == 3 and attrs[("LSTM", "activation_alpha")] == [1.0, 0.5]
    np.testing.assert_array_equal(onnx.numpy_helper.to_array(attrs[("Constant", "value")]), [-1, 2])
    assert g.node[3].name == "the_add" and g.node[6].domain == "com.example"
    assert list(g.node[2].input) == ["l", "", "sc"]
    got = {t.name: t for t in g.initializer}
    np.testing.assert_array_equal(onnx.numpy_helper.to_array(got["w"]), w)
    np.testing.assert_array_equal(onnx.numpy_helper.to_array(got["i64"]), [-3, 2**40])
    assert onnx.numpy_helper.to_array(got["s"]).shape == () and onnx.numpy_helper.to_array(got["s"]) == 0.5
    e = got["e"]
    assert e.data_location == onnx.TensorProto.EXTERNAL and list(e.dims) == [5, 6]
    assert e.data_type == onnx.TensorProto.INT8
    assert {x.key: x.value for x in e.external_data} == {"location": "numlite-memory"}
    x = g.input[0].type.tensor_type
    assert x.elem_type == 1 and [d.dim_param or d.dim_value for d in x.shape.dim] == ["batch", 4, 3]
    assert g.output[0].type.tensor_type.elem_type == onnx.TensorProto.INT8


def test_the_delegate_needs_no_onnx_import():
    code = """
import sys
import numpy as np
import numlite
from numlite import models
it = numlite.Interpreter(model_content=models.build("mobilenet_v1", resolution=32, alpha=0.25),
                         experimental_delegates=[numlite.load_delegate("onnxruntime", {"cache": False})])
it.allocate_tensors()
it.set_tensor(it.get_input_details()[0]["index"], np.zeros((1, 32, 32, 3), np.float32))
it.invoke()
assert "onnxruntime" in sys.modules
print(sorted(m for m in sys.modules if m == "onnx" or m.startswith(("onnx.", "google.protobuf", "ml_dtypes"))))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
