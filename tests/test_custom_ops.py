"""Custom ops written in Python, and the op resolver's error for missing ops."""

import numpy as np
import pytest

import numlite
from numlite import Kernel
from numlite.builder import ModelBuilder


class TimesK(Kernel):
    """A custom op: y = x * k where k comes from custom_options (one byte)."""

    def prepare(self, ctx):
        x = ctx.input(0)
        ctx.expect_dtype(x, [np.float32])
        ctx.set_output(0, x.shape, x.dtype)
        opts = self.node.custom_options
        self.k = float(opts[0]) if opts is not None and len(opts) else 1.0

    def bind(self, inputs, outputs, scratch):
        x, y, k = inputs[0], outputs[0], self.k
        return lambda: np.multiply(x, k, out=y)


def _model(custom="TimesK"):
    mb = ModelBuilder()
    x = mb.input("x", (3,), np.float32)
    y = mb.tensor("y", (3,), np.float32)
    mb.op(f"custom:{custom}", [x], [y], custom_options=bytes([3]))
    z = mb.tensor("z", (3,), np.float32)
    c = mb.const("one", np.ones(3, np.float32))
    mb.op("ADD", [y, c], [z])
    mb.output(z)
    return mb.build()


def test_custom_op_per_interpreter():
    it = numlite.Interpreter(model_content=_model(), custom_ops={"TimesK": TimesK})
    it.allocate_tensors()
    it.set_tensor(0, np.array([1, 2, 3], np.float32))
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), [4, 7, 10])
    assert it._get_ops_details()[0]["op_name"] == "TimesK"


def test_register_op_globally():
    numlite.register_op("TimesK2", TimesK)
    it = numlite.Interpreter(model_content=_model("TimesK2"))
    it.allocate_tensors()
    it.set_tensor(0, np.array([0, 1, 2], np.float32))
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), [1, 4, 7])


def test_missing_custom_op_is_reported():
    with pytest.raises(numlite.UnsupportedOpError) as e:
        numlite.Interpreter(model_content=_model("NoSuchOp"))
    assert "NoSuchOp" in str(e.value) and "node(s) [0]" in str(e.value)
    assert e.value.missing == [("NoSuchOp", 1, [0])]
    assert isinstance(e.value, ValueError)


def test_missing_builtin_versions_all_listed():
    mb = ModelBuilder()
    x = mb.input("x", (3,), np.float32)
    cur = x
    for i, (op, ver) in enumerate([("ADD", 99), ("CONCAT_EMBEDDINGS", 1), ("ADD", 99), ("DELEGATE", 1)]):
        t = mb.tensor(f"t{i}", (3,), np.float32)
        mb.op(op, [cur], [t], version=ver)
        cur = t
    mb.output(cur)
    with pytest.raises(numlite.UnsupportedOpError) as e:
        numlite.Interpreter(model_content=mb.build())
    msg = str(e.value)
    assert "ADD version 99 at node(s) [0, 2]" in msg and "supported versions" in msg
    assert "CONCAT_EMBEDDINGS version 1 at node(s) [1]" in msg
    assert "DELEGATE version 1 at node(s) [3]" in msg
    assert len(e.value.missing) == 3
