"""The delegate interface (numlite.delegates): TFLite's partitioning, DELEGATE nodes in the plan,
options, order, and the Interpreter / load_delegate API, checked with ReferenceDelegate (whose
kernels are numlite's own, so a delegated interpreter must give exactly the undelegated results)."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from util import assert_matches_litert

import numlite
from numlite.builder import ModelBuilder
from numlite.delegates import Delegate, DelegateKernel, load_delegate
from numlite.delegates.partition import partition, select
from numlite.delegates.reference import ReferenceDelegate

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "tf")


# -- partitioning (graph_info.cc's algorithm) ------------------------------------------------------
def _tflite_example() -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """graph_info.h's worked example: 0 -> 1 -> 2* -> 3* -> 5 and 1 -> 4 -> 5 (tensor k is node k's
    output; tensor 6 the graph input)."""
    return [((6,), (0,)), ((0,), (1,)), ((1,), (2,)), ((2,), (3,)), ((1,), (4,)), ((3, 4), (5,))]


def test_partition_greedily_as_tflite():
    subsets = partition(_tflite_example(), 7, (5,), {2, 3})
    assert [(s.delegated, s.nodes) for s in subsets] == [(False, [0, 1, 4]), (True, [2, 3]), (False, [5])]
    assert subsets[1].input_tensors == [1] and subsets[1].output_tensors == [3]
    assert subsets[0].input_tensors == [6] and subsets[0].output_tensors == [1, 4]
    assert subsets[2].input_tensors == [3, 4] and subsets[2].output_tensors == [5]


def test_side_effects_keep_their_order():
    # nodes 3 and 4 have side effects: 4 may not run before 3 (graph_info.h's control-edge example)
    subsets = partition(_tflite_example(), 7, (5,), {2, 3}, side_effects=[3, 4])
    assert [s.nodes for s in subsets] == [[0, 1], [2, 3], [4, 5]]


def test_non_greedy_keeps_the_execution_order():
    subsets = partition(_tflite_example(), 7, (5,), {2, 3}, greedily=False)
    assert [s.nodes for s in subsets] == [[0, 1], [2, 3], [4, 5]]


def test_a_naive_partition_would_make_a_cycle():
    # 0* -> 1 -> 2* and 0* -> 2*: one node for {0, 2} would need 1's output, which needs 0's
    nodes = [((9,), (0,)), ((0,), (1,)), ((0, 1), (2,))]
    subsets = partition(nodes, 10, (2,), {0, 2})
    assert [(s.delegated, s.nodes) for s in subsets] == [(True, [0]), (False, [1]), (True, [2])]


def test_select_keeps_the_largest_partitions():
    nodes = [((9,), (0,)), ((0,), (1,)), ((1,), (2,)), ((2,), (3,)), ((3,), (4,)), ((4,), (5,))]
    subsets = partition(nodes, 10, (5,), {0, 2, 3, 5})
    assert [s.nodes for s in subsets if s.delegated] == [[0], [2, 3], [5]]
    assert [s.nodes for s in select(subsets, max_partitions=1)] == [[2, 3]]
    assert [s.nodes for s in select(subsets, min_nodes=2)] == [[2, 3]]
    assert [s.nodes for s in select(subsets)] == [[2, 3], [0], [5]]


# -- a model with supported and unsupported ops -----------------------------------------------------
def _mixed_model() -> bytes:
    """x -> ADD c -> TANH -> MUL y -> RELU -> ADD x -> out, with a side branch SUB feeding the MUL."""
    mb = ModelBuilder()
    x = mb.input("x", (2, 8), np.float32)
    y = mb.input("y", (2, 8), np.float32)
    c = mb.const("c", np.linspace(-1, 1, 8, dtype=np.float32))
    names = iter(f"t{i}" for i in range(20))

    def op(name: str, ins: list[int], **kw: object) -> int:
        t = mb.tensor(next(names), (2, 8), np.float32)
        mb.op(name, ins, [t], **kw)
        return t

    a = op("ADD", [x, c])
    b = op("TANH", [a])
    s = op("SUB", [y, x])
    m = op("MUL", [b, s])
    r = op("RELU", [m])
    out = op("ADD", [r, x])
    mb.output(out)
    return mb.build()


FEEDS = [np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32),
         np.random.default_rng(1).standard_normal((2, 8)).astype(np.float32)]


def _run(model: bytes, **kw: object) -> tuple[list[np.ndarray], numlite.Interpreter]:
    it = numlite.Interpreter(model_content=model, **kw)
    it.allocate_tensors()
    for d, v in zip(it.get_input_details(), FEEDS):
        it.set_tensor(d["index"], v)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()], it


@pytest.mark.parametrize("ops", [["ADD"], ["ADD", "MUL"], ["TANH", "MUL", "RELU"], None, ["SUB"]])
def test_delegated_interpreter_gives_the_undelegated_results(ops):
    model = _mixed_model()
    (plain,), _ = _run(model)
    (ours,), it = _run(model, experimental_delegates=[ReferenceDelegate(ops=ops)])
    np.testing.assert_array_equal(ours, plain)
    kinds = [k.node.op_name for k in it._main.kernels]
    assert "DELEGATE" in kinds
    if ops is None:
        assert kinds == ["DELEGATE"]
    details = it._get_ops_details()
    n = len(it._model.subgraphs[0].operators)
    assert [d["index"] for d in details] == list(range(len(details)))
    assert [d["op_name"] for d in details[:n]] == ["ADD", "TANH", "SUB", "MUL", "RELU", "ADD"]
    assert all(d["op_name"] == "DELEGATE" for d in details[n:]) and len(details) - n == kinds.count("DELEGATE")
    assert_matches_litert(model, FEEDS, experimental_delegates=[ReferenceDelegate(ops=ops)])


def test_weights_numlite_folds_do_not_split_a_partition():
    """x -> ADD c -> MUL (DEQUANTIZE of float16 weights, listed after the ADD) -> out: the
    DEQUANTIZE is folded at prepare, so it is a constant to the partitioning (it goes first in
    the plan) and ADD and MUL are one partition, not two around it."""
    mb = ModelBuilder()
    x = mb.input("x", (2, 8), np.float32)
    a = mb.tensor("a", (2, 8), np.float32)
    mb.op("ADD", [x, mb.const("c", np.linspace(-1, 1, 8, dtype=np.float32))], [a])
    w = mb.tensor("w", (8,), np.float32)
    mb.op("DEQUANTIZE", [mb.const("w16", np.linspace(0.5, 2, 8).astype(np.float16))], [w])
    y = mb.tensor("y", (2, 8), np.float32)
    mb.op("MUL", [a, w], [y])
    mb.output(y)
    model = mb.build()
    it = numlite.Interpreter(model_content=model, experimental_delegates=[ReferenceDelegate(ops=["ADD", "MUL"])])
    it.allocate_tensors()
    assert [k.node.op_name for k in it._main.kernels] == ["DEQUANTIZE", "DELEGATE"]
    assert [n.op_name for n in it._main.kernels[1].node.nodes] == ["ADD", "MUL"]
    assert_matches_litert(model, FEEDS[:1], experimental_delegates=[ReferenceDelegate(ops=["ADD", "MUL"])])


def test_delegate_node_lists_its_boundary_tensors_as_litert_does():
    model = _mixed_model()
    _, it = _run(model, experimental_delegates=[ReferenceDelegate()])
    (d,) = it._get_ops_details()[6:]
    # the inputs it reads from outside (x, y and the constant), the graph output it writes
    assert d["inputs"].tolist() == [0, 1, 2] and d["outputs"].tolist() == [8]
    assert d["operand_types"] == [np.float32] * 3 and d["result_types"] == [np.float32]


def test_partition_options():
    model = _mixed_model()
    # ADD, TANH (one partition of two) and RELU, ADD (another): at most one partition, the largest first
    _, it = _run(model, experimental_delegates=[ReferenceDelegate(ops=["ADD", "TANH", "RELU"])])
    assert [k.node.op_name for k in it._main.kernels].count("DELEGATE") == 2
    _, it = _run(model, experimental_delegates=[
        ReferenceDelegate({"max_delegated_partitions": 1}, ops=["ADD", "TANH", "RELU"])])
    assert [k.node.op_name for k in it._main.kernels].count("DELEGATE") == 1
    _, it = _run(model, experimental_delegates=[
        ReferenceDelegate({"min_nodes_per_partition": 3}, ops=["ADD", "TANH", "RELU"])])
    assert "DELEGATE" not in [k.node.op_name for k in it._main.kernels]
    with pytest.raises(ValueError, match="max_delegated_partitions"):
        ReferenceDelegate({"max_delegated_partitions": -1})


def test_delegates_apply_in_order():
    model = _mixed_model()
    first, second = ReferenceDelegate(ops=["TANH"]), ReferenceDelegate(ops=["TANH", "RELU"])
    (ours,), it = _run(model, experimental_delegates=[first, second])
    (plain,), _ = _run(model)
    np.testing.assert_array_equal(ours, plain)
    taken = [(k.delegate, [n.op_name for n in k.nodes]) for k in it._main.kernels if isinstance(k, DelegateKernel)]
    assert taken == [(first, ["TANH"]), (second, ["RELU"])]  # the second is not offered the TANH


def test_preserve_all_tensors_turns_delegation_off():
    model = _mixed_model()
    _, it = _run(model, experimental_delegates=[ReferenceDelegate()], experimental_preserve_all_tensors=True)
    assert "DELEGATE" not in [k.node.op_name for k in it._main.kernels]
    assert len(it._get_ops_details()) == 6


def test_control_flow_subgraphs_are_delegated_too():
    path = os.path.join(DATA, "while_cond.tflite")
    if not os.path.exists(path):
        pytest.skip("fixture missing")
    model = open(path, "rb").read()
    plain_it = numlite.Interpreter(model_content=model)
    plain_it.allocate_tensors()
    feeds = [np.ones(d["shape"], d["dtype"]) for d in plain_it.get_input_details()]
    outs = []
    for dels in ([], [ReferenceDelegate(ops=["ADD", "MUL", "LESS", "SUB"])]):
        it = numlite.Interpreter(model_content=model, experimental_delegates=dels)
        it.allocate_tensors()
        for d, v in zip(it.get_input_details(), feeds):
            it.set_tensor(d["index"], v)
        it.invoke()
        outs.append([it.get_tensor(d["index"]) for d in it.get_output_details()])
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)
    assert any(ops for ops in it._runtime.delegate_nodes[1:]), "a body subgraph took a DELEGATE node"


# -- load_delegate and the constructor ----------------------------------------------------------------
def test_load_delegate_forms():
    d = ReferenceDelegate()
    assert load_delegate(d) is d
    made = load_delegate(ReferenceDelegate, {"ops": ["ADD"], "max_delegated_partitions": 2})
    assert isinstance(made, ReferenceDelegate) and made.ops == {"ADD"} and made.max_delegated_partitions == 2
    by_name = numlite.load_delegate("numlite.delegates.reference:ReferenceDelegate", {"ops": ["MUL"]})
    assert by_name.ops == {"MUL"}
    with pytest.raises(ValueError, match="unknown delegate 'nope'"):
        load_delegate("nope")
    with pytest.raises(ValueError, match="cannot load delegate"):
        load_delegate("numlite.delegates.reference:Nothing")
    with pytest.raises(ValueError, match="not a numlite delegate"):
        load_delegate(object)
    with pytest.raises(ValueError, match="already made"):
        load_delegate(d, {"ops": ["ADD"]})


def test_interpreter_refuses_what_is_not_a_numlite_delegate():
    with pytest.raises(ValueError, match="experimental_delegates takes numlite delegates"):
        numlite.Interpreter(model_content=_mixed_model(), experimental_delegates=[object()])


def test_a_delegate_of_my_own():
    """The smallest delegate a user writes: RELU nodes, computed by NumPy's maximum."""

    class ReluKernel(DelegateKernel):
        def bind(self, inputs, outputs, scratch):
            ((x,), (out,)) = inputs, outputs
            return lambda: np.maximum(x, 0, out=out)

    class ReluDelegate(Delegate):
        name = "relu-only"
        kernel_class = ReluKernel

        def supports(self, op, subgraph):
            return op.op_name == "RELU"

    model = _mixed_model()
    (ours,), it = _run(model, experimental_delegates=[numlite.load_delegate(ReluDelegate)])
    (plain,), _ = _run(model)
    np.testing.assert_array_equal(ours, plain)
    assert [k.node.op_name for k in it._main.kernels] == ["ADD", "TANH", "SUB", "MUL", "DELEGATE", "ADD"]
    assert it._get_ops_details()[6]["index"] == 6 and it._main.kernels[4].node.custom_code == "relu-only"


def test_readme_example_prints_what_the_readme_says(capsys):
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md"), encoding="utf-8").read()
    section = readme[readme.index("## Delegates"):readme.index("## The numlite command")]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    printed = re.search(r"prints[^\n]*\n\n```\n(.*?)```", section, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme_example"})
    assert capsys.readouterr().out == printed


def test_onnxruntime_delegate_without_onnxruntime_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now fails
    with pytest.raises(ImportError, match=r"pip install 'numlite\[onnxruntime\]'"):
        numlite.load_delegate("onnxruntime")
