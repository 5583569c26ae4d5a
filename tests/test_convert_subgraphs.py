"""The converter IR's subgraphs (``Graph.subgraph``): child graphs written as the model's other
subgraphs, WHILE options naming them, the passes run on each subgraph on its own and keeping
its inputs and outputs.  Models run on numlite and on LiteRT; the loops here double and count,
which round the same everywhere, so the comparisons are exact."""

import numpy as np
import pytest

import numlite
from numlite.converter.ir import Graph
from numlite.graph import load_model

litert = pytest.importorskip("ai_edge_litert.interpreter")


def run(data, *xs):
    res = []
    for runtime in (numlite.Interpreter, litert.Interpreter):
        it = runtime(model_content=data)
        for d, x in zip(it.get_input_details(), xs):
            it.resize_tensor_input(d["index"], list(np.shape(x)))
        it.allocate_tensors()
        for d, x in zip(it.get_input_details(), xs):
            it.set_tensor(d["index"], x)
        it.invoke()
        res.append([it.get_tensor(d["index"]) for d in it.get_output_details()])
    for a, b in zip(*res):
        np.testing.assert_array_equal(a, b)
    return res[0]


def doubling_loop(limit=4, passthrough_identity=False):
    """while i < limit: i += 1; x = relu(x * 2); y passed through (the body's output is its
    input).  The body holds a dead op, a foldable ADD of two constants and a RELU the passes
    fuse; cond ignores its second and third inputs."""
    g = Graph()
    x, y = g.tensor("x", (None, 3)), g.tensor("y", (2,))
    g.inputs += [x, y]
    cond, body = g.subgraph("cond"), g.subgraph("body")
    ci, cx, cy = cond.tensor("i", (), np.int32), cond.tensor("x", (None, 3)), cond.tensor("y", (2,))
    cond.inputs += [ci, cx, cy]
    cb = cond.tensor("go", (), np.bool_)
    cond.op("LESS", [ci, cond.const("limit", np.int32(limit), np.int32)], [cb])
    cond.outputs = [cb]
    bi, bx, by = body.tensor("i", (), np.int32), body.tensor("x", (None, 3)), body.tensor("y", (2,))
    body.inputs += [bi, bx, by]
    one = body.tensor("one", (), np.int32)
    body.op("ADD", [body.const("half", np.int32(0), np.int32), body.const("unit", np.int32(1), np.int32)], [one],
            fused_activation_function="NONE")
    bio = body.tensor("i_next", (), np.int32)
    body.op("ADD", [bi, one], [bio], fused_activation_function="NONE")
    t, r = body.tensor("doubled", (None, 3)), body.tensor("x_next", (None, 3))
    body.op("MUL", [bx, body.const("two", np.float32(2))], [t], fused_activation_function="NONE")
    body.op("RELU", [t], [r])
    body.op("NEG", [bx], [body.tensor("unused", (None, 3))])
    y_out = by
    if passthrough_identity:  # a copy of an input as an output: stays (the output keeps its slot)
        y_out = body.tensor("y_copy", (2,))
        body.op("RESHAPE", [by, body.const("shape", np.array([2], np.int32), np.int32)], [y_out], new_shape=[2])
    body.outputs = [bio, r, y_out]
    outs = [g.tensor("i_out", (), np.int32), g.tensor("x_out", (None, 3)), g.tensor("y_out", (2,))]
    g.op("WHILE", [g.const("zero", np.int32(0), np.int32), x, y], outs, cond_subgraph_index=cond,
         body_subgraph_index=body)
    g.outputs = outs[1:]
    return g


@pytest.mark.parametrize("passthrough_identity", [False, True])
def test_while_from_the_ir_runs_and_passes_run_per_subgraph(passthrough_identity):
    g = doubling_loop(passthrough_identity=passthrough_identity)
    data = g.build()
    m = load_model(model_content=data)
    assert [sg.name for sg in m.subgraphs] == ["main", "cond", "body"]
    assert [o.op_name for o in m.subgraphs[0].operators] == ["WHILE"]
    assert m.subgraphs[0].operators[0].options["cond_subgraph_index"] == 1
    assert m.subgraphs[0].operators[0].options["body_subgraph_index"] == 2
    cond, body = m.subgraphs[1], m.subgraphs[2]
    assert len(cond.inputs) == 3 and len(body.inputs) == len(body.outputs) == 3  # unread inputs kept
    body_ops = [o.op_name for o in body.operators]
    # the constant ADD folded, the NEG dead, the RELU fused into the MUL; the copy of y kept
    assert body_ops == ["ADD", "MUL"] + (["RESHAPE"] if passthrough_identity else [])
    assert body.operators[1].options["fused_activation_function"] == 1  # RELU
    if not passthrough_identity:
        assert body.outputs[2] == body.inputs[2]  # y passed through as it is
    x = np.array([[1, -2, 3], [0.5, 1, -1]], np.float32)
    y = np.array([7, -8], np.float32)
    xo, yo = run(data, x, y)
    np.testing.assert_array_equal(xo, np.maximum(x, 0) * 16)
    np.testing.assert_array_equal(yo, y)
    assert run(data, x[:1], y)[0].shape == (1, 3)  # the free batch resized


def test_build_without_passes_keeps_the_body_as_written():
    data = doubling_loop().build(optimize=False)
    body = load_model(model_content=data).subgraphs[2]
    assert [o.op_name for o in body.operators] == ["ADD", "ADD", "MUL", "RELU", "NEG"]
    x = np.array([[1, -2, 3]], np.float32)
    np.testing.assert_array_equal(run(data, x, np.zeros(2, np.float32))[0], np.maximum(x, 0) * 16)


def test_subgraph_numbering_names_and_errors():
    g = Graph()
    a = g.subgraph("a")
    aa = a.subgraph("a_child")  # a child's child: numbered among all of them, in order made
    b = g.subgraph("b")
    assert [s.name for s in g.subgraphs] == ["main", "a", "a_child", "b"]
    assert a.subgraphs == g.subgraphs and [g.subgraph_index(s) for s in (g, a, aa, b)] == [0, 1, 2, 3]
    assert a.root is g and aa.root is g
    t1, t2 = g.tensor("x", (1,)), a.tensor("x", (1,))  # one name space for the model
    assert g.tensors[t1].name == "x" and a.tensors[t2].name == "x_2"
    with pytest.raises(ValueError, match="'other' is not a subgraph of this model"):
        g.subgraph_index(Graph("other"))
    with pytest.raises(ValueError, match="from its main graph, not from subgraph 'a'"):
        a.build()


def test_a_graph_without_subgraphs_builds_as_before():
    g = Graph()
    x = g.tensor("x", (None, 2))
    g.inputs.append(x)
    y = g.tensor("y", (None, 2))
    g.op("RELU", [x], [y])
    g.outputs.append(y)
    m = load_model(model_content=g.build())
    assert len(m.subgraphs) == 1 and [o.op_name for o in m.subgraphs[0].operators] == ["RELU"]


def test_equal_constants_are_shared_within_a_subgraph_only():
    """The main graph and the body each hold their own copy of the constant 2.0 (an op reads
    only its own subgraph's tensors); two in the body become one."""
    g = doubling_loop()
    body = g.subgraphs[2]
    s = body.tensor("x_twice", (None, 3))
    body.op("MUL", [body.outputs[1], body.const("two_again", np.float32(2))], [s], fused_activation_function="NONE")
    body.outputs[1] = s
    g.op("MUL", [g.outputs[0], g.const("main_two", np.float32(2))], [g.tensor("x_doubled", (None, 3))],
         fused_activation_function="NONE")
    g.outputs[0] = g.ops[-1].outputs[0]
    m = load_model(model_content=g.build())
    sb = m.subgraphs[2]
    muls = [o for o in sb.operators if o.op_name == "MUL"]
    assert len(muls) == 2 and muls[0].inputs[1] == muls[1].inputs[1]
    x = np.array([[1, -2, 3]], np.float32)
    np.testing.assert_array_equal(run(g.build(optimize=False), x, np.zeros(2, np.float32))[0],
                                  np.maximum(x, 0) * 2 ** 9)


def test_a_subgraph_whose_while_is_dead_is_not_written():
    """A WHILE nothing reads goes with remove_dead, and its cond and body with it: the
    subgraphs after them move up and the live WHILE names their new indices."""
    g = Graph()
    x = g.tensor("x", (None, 3))
    g.inputs.append(x)
    live = doubling_loop(limit=2)
    dead_cond, dead_body = g.subgraph("dead_cond"), g.subgraph("dead_body")
    for sub in (dead_cond, dead_body):
        sub.inputs = [sub.tensor("i", (), np.int32)]
    go = dead_cond.tensor("go", (), np.bool_)
    dead_cond.op("LESS", [dead_cond.inputs[0], dead_cond.const("limit", np.int32(3), np.int32)], [go])
    dead_cond.outputs = [go]
    dead_body.outputs = dead_body.inputs[:]
    g.op("WHILE", [g.const("zero", np.int32(0), np.int32)], [g.tensor("unread", (), np.int32)],
         cond_subgraph_index=dead_cond, body_subgraph_index=dead_body)
    # the live loop of doubling_loop, its graphs made after the dead ones
    cond, body = g.subgraph("cond"), g.subgraph("body")
    for src, dst in ((live.subgraphs[1], cond), (live.subgraphs[2], body)):
        dst.tensors, dst.ops, dst.inputs, dst.outputs = src.tensors, src.ops, src.inputs, src.outputs
    y = g.tensor("y", (2,))
    g.inputs.append(y)
    outs = [g.tensor("i_out", (), np.int32), g.tensor("x_out", (None, 3)), g.tensor("y_out", (2,))]
    g.op("WHILE", [g.const("start", np.int32(0), np.int32), x, y], outs, cond_subgraph_index=cond,
         body_subgraph_index=body)
    g.outputs = [outs[1]]
    assert g.called_subgraphs() == g.subgraphs  # before the passes both loops are called
    kept = g.build(optimize=False)
    assert len(load_model(model_content=kept).subgraphs) == 5
    data = g.build()
    m = load_model(model_content=data)
    assert [sg.name for sg in m.subgraphs] == ["main", "cond", "body"]
    w = m.subgraphs[0].operators[0]
    assert (w.options["cond_subgraph_index"], w.options["body_subgraph_index"]) == (1, 2)
    xv = np.array([[1, -2, 3]], np.float32)
    np.testing.assert_array_equal(run(data, xv, np.zeros(2, np.float32))[0], np.maximum(xv, 0) * 4)
    with pytest.raises(ValueError, match="calls graph 'stranger', which is not a subgraph"):
        g.op("WHILE", [], [], cond_subgraph_index=Graph("stranger"), body_subgraph_index=body)
        g.called_subgraphs()
