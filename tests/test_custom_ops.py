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


class DoubleAdd(Kernel):
    """Replaces ADD: a + b computed twice over (to tell it from numlite's own ADD)."""

    def prepare(self, ctx):
        a = ctx.input(0)
        ctx.set_output(0, a.shape, a.dtype)

    def bind(self, inputs, outputs, scratch):
        a, b, y = inputs[0], inputs[1], outputs[0]

        def step():
            np.add(a, b, out=y)
            np.multiply(y, 2, out=y)

        return step


def _outputs(it, x):
    it.allocate_tensors()
    it.set_tensor(0, np.asarray(x, np.float32))
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def test_custom_ops_can_replace_a_builtin_for_one_interpreter():
    it = numlite.Interpreter(model_content=_model(), custom_ops={"TimesK": TimesK, "ADD": DoubleAdd})
    np.testing.assert_array_equal(_outputs(it, [1, 2, 3]), [8, 14, 20])  # (3x + 1) * 2
    it = numlite.Interpreter(model_content=_model(), custom_ops={"TimesK": TimesK})  # others keep numlite's ADD
    np.testing.assert_array_equal(_outputs(it, [1, 2, 3]), [4, 7, 10])


def test_interpreter_with_custom_ops_registerers():
    def registerer(resolver):
        resolver.add_custom("TimesK", TimesK)
        resolver.add_builtin("ADD", DoubleAdd, versions=[1])

    it = numlite.InterpreterWithCustomOps(custom_op_registerers=[registerer], model_content=_model())
    np.testing.assert_array_equal(_outputs(it, [1, 2, 3]), [8, 14, 20])
    it = numlite.InterpreterWithCustomOps(custom_op_registerers=[{"TimesK": TimesK}], model_content=_model())
    np.testing.assert_array_equal(_outputs(it, [1, 2, 3]), [4, 7, 10])
    # a string names a module's OPS dict, or a function with module:function
    it = numlite.InterpreterWithCustomOps(custom_op_registerers=["test_custom_ops:register_times_k"],
                                          model_content=_model())
    np.testing.assert_array_equal(_outputs(it, [1, 2, 3]), [4, 7, 10])
    it = numlite.InterpreterWithCustomOps(custom_op_registerers=["numlite.custom.smartreply", {"TimesK": TimesK}],
                                          model_content=_model())
    assert "Predict" in it._resolver.custom


def register_times_k(resolver):
    resolver.add_custom("TimesK", TimesK)


def test_bad_registerers_and_kernels_are_refused():
    with pytest.raises(ValueError, match="cannot import"):
        numlite.InterpreterWithCustomOps(custom_op_registerers=["no_such_module_xyz"], model_content=_model())
    with pytest.raises(ValueError, match="has no OPS dict"):
        numlite.InterpreterWithCustomOps(custom_op_registerers=["numpy"], model_content=_model())
    with pytest.raises(TypeError, match="must be a callable, a dict or a string"):
        numlite.InterpreterWithCustomOps(custom_op_registerers=[42], model_content=_model())
    with pytest.raises(TypeError, match="numlite.Kernel subclass"):
        numlite.Interpreter(model_content=_model(), custom_ops={"TimesK": lambda: None})
    with pytest.raises(TypeError, match="numlite.Kernel subclass"):
        numlite.register_op("Nope", object)
    r = numlite.OpResolver()
    with pytest.raises(ValueError, match="not a builtin operator name"):
        r.add_builtin("NOT_AN_OP", TimesK)
    # a version outside the replacement's falls back to numlite's kernel
    r.add_builtin("ADD", DoubleAdd, versions=[2])
    assert r.find(numlite.load_model(model_content=_model()).subgraphs[0].operators[1]).__name__ == "Add"


def test_supported_ops_lists_builtins_and_registered_custom_ops():
    rows = {r["op"]: r for r in numlite.supported_ops()}
    assert rows["ADD"]["versions"][0] == 1 and "FLOAT32" in rows["ADD"]["dtypes"] and "INT8" in rows["ADD"]["quantized"]
    assert rows["TimesK2"]["custom"] is True  # registered globally above


def test_readme_custom_op_example_runs_and_prints_what_the_readme_says(capsys):
    import os
    import re

    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md"), encoding="utf-8").read()
    section = readme[readme.index("### Custom operators"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    printed = re.search(r"```\nprints `([^`]*)`", section).group(1)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme_example"})
    assert capsys.readouterr().out.strip() == printed
