"""The converter IR's graph passes (``numlite.converter.passes``): each on small hand-built
graphs (the ops and tensors it leaves), and end to end: the optimized .tflite and the graph
written as it is (``Graph.build(optimize=False)``) give the same results on numlite and LiteRT.

Tolerances: passes that only move or drop data (identities, transposes, constant folding of
exact ops) must be bit-exact against the unoptimized graph on numlite (``tol=0``); LiteRT runs
convolutions and matmuls in its own summation order (XNNPACK), so every comparison involving
those allows 1e-5 of the output's magnitude, as does scale-shift folding, which rounds
``x * (w * s)`` instead of ``(x * w) * s`` (a few float32 ulps)."""

import copy
import os

import numpy as np
import pytest

from numlite.converter import passes
from numlite.converter.ir import Graph, ReshapeError
from numlite.graph import load_model

litert = pytest.importorskip("ai_edge_litert.interpreter")

from util import run  # noqa: E402

import numlite  # noqa: E402

RNG = np.random.default_rng(0)
CONV = dict(padding="SAME", stride_w=1, stride_h=1, dilation_w_factor=1, dilation_h_factor=1,
            fused_activation_function="NONE")


# -- helpers ---------------------------------------------------------------------------------------
def _close(a, b, tol):
    assert a.shape == b.shape and a.dtype == b.dtype
    if tol == 0:
        np.testing.assert_array_equal(a, b)
    else:
        assert np.max(np.abs(a.astype(np.float64) - b)) <= tol * max(float(np.max(np.abs(b))), 1e-6)


def _check(g, feeds, tol=0.0, litert_tol=None):
    """Build ``g`` optimized and (a copy) unoptimized; every run (numlite and LiteRT, both
    files) equals numlite's run of the unoptimized file.  Returns the optimized bytes."""
    plain = copy.deepcopy(g).build(optimize=False)
    data = g.build()
    ref = run(numlite.Interpreter, plain, feeds)
    for o, r in zip(run(numlite.Interpreter, data, feeds), ref):
        _close(o, r, tol)
    lt = tol if litert_tol is None else litert_tol
    for blob in (plain, data):
        outs = run(litert.Interpreter, blob, feeds)
        assert len(outs) == len(ref)
        for o, r in zip(outs, ref):
            _close(o, r, lt)
    return data


def _ops(data):
    return [op.op_name for op in load_model(model_content=data).subgraphs[0].operators]


def _names(g):
    return [o.name for o in g.ops]


def _graph(*shapes, dtype=np.float32):
    g = Graph()
    ins = [g.tensor(f"x{k}", s, dtype) for k, s in enumerate(shapes)]
    g.inputs = list(ins)
    return (g, *ins)


def _like(g, t, name):
    """A new tensor with ``t``'s shape and signature."""
    return g.tensor(name, [None if s == -1 else d for d, s in zip(g.tensors[t].shape, g.tensors[t].signature)])


def _f32(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


# -- 1. constant folding ---------------------------------------------------------------------------
def test_constant_chain_folds_to_one_constant():
    g, x = _graph((2, 3))
    a, b = _f32(2, 3), _f32(2, 3)
    s = g.tensor("sum", (2, 3))
    g.op("ADD", [g.const("a", a), g.const("b", b)], [s], fused_activation_function="RELU")
    n = g.tensor("neg", (2, 3))
    g.op("NEG", [s], [n])
    y = g.tensor("y", (2, 3))
    g.op("MUL", [x, n], [y], fused_activation_function="NONE")
    g.outputs = [y]
    ref = copy.deepcopy(g)
    assert passes.fold_constants(g)
    assert _names(g) == ["MUL"]
    np.testing.assert_array_equal(g.tensors[n].data, -np.maximum(a + b, 0))  # the fused RELU ran too
    assert not passes.fold_constants(g)
    data = _check(ref, [_f32(2, 3)])
    assert _ops(data) == ["MUL"]


def test_multi_output_and_integer_ops_fold():
    g, x = _graph((2,))
    parts = [g.tensor(f"p{k}", (2,)) for k in range(2)]
    g.op("SPLIT", [g.const("axis", np.int32(0), np.int32), g.const("v", np.arange(4, dtype=np.float32))], parts,
         num_splits=2)
    y = g.tensor("y", (2,))
    g.op("SUB", [x, parts[1]], [y], fused_activation_function="NONE")
    g.outputs = [y]
    ref = copy.deepcopy(g)
    passes.fold_constants(g)
    assert _names(g) == ["SUB"]
    np.testing.assert_array_equal(g.tensors[parts[1]].data, [2, 3])
    _check(ref, [_f32(2)])


def test_a_graph_output_is_never_folded():
    g, x = _graph((3,))
    y = g.tensor("y", (3,))
    g.op("ADD", [g.const("a", np.ones(3)), g.const("b", np.ones(3))], [y], fused_activation_function="NONE")
    z = g.tensor("z", (3,))
    g.op("ADD", [x, y], [z], fused_activation_function="NONE")
    g.outputs = [y, z]
    ref = copy.deepcopy(g)
    assert not passes.fold_constants(g)
    data = _check(ref, [_f32(3)])
    assert _ops(data) == ["ADD", "ADD"]


@pytest.mark.parametrize("reps, folded", [(1024, True), ((1 << 18) + 1024, False)])
def test_folding_that_grows_the_file_by_more_than_1_mib_is_skipped(reps, folded):
    g, x = _graph((reps * 4,))
    big = g.tensor("tiled", (reps * 4,))
    g.op("TILE", [g.const("v", np.arange(4, dtype=np.float32)), g.const("reps", np.array([reps], np.int32), np.int32)],
         [big])
    y = g.tensor("y", (reps * 4,))
    g.op("ADD", [x, big], [y], fused_activation_function="NONE")
    g.outputs = [y]
    ref = copy.deepcopy(g)
    assert passes.fold_constants(g) is folded
    assert _names(g) == (["ADD"] if folded else ["TILE", "ADD"])
    data = _check(ref, [_f32(reps * 4)])
    assert len(data) < (1 << 20) if not folded else len(data) > reps * 16


def test_shape_of_a_static_tensor_folds_but_not_of_a_free_one():
    for batch, folded in ((2, True), (None, False)):
        g, x = _graph((batch, 3))
        s = g.tensor("shape", (2,), np.int32)
        g.op("SHAPE", [x], [s], out_type="INT32")
        r = g.tensor("rank", (), np.int32)
        g.op("RANK", [x], [r])
        y = g.tensor("y", (None, 3))
        g.op("RESHAPE", [x, s], [y])
        z = g.tensor("z", (2,), np.int32)
        g.op("ADD", [s, r], [z], fused_activation_function="NONE")
        g.outputs = [y, z]
        ref = copy.deepcopy(g)
        passes.fold_constants(g)
        # RANK folds whatever the sizes; the ADD writes a graph output: kept
        assert _names(g) == (["RESHAPE", "ADD"] if folded else ["SHAPE", "RESHAPE", "ADD"])
        assert g.tensors[r].data == 2
        if folded:
            np.testing.assert_array_equal(g.tensors[s].data, [2, 3])
        _check(ref, [_f32(2, 3)])


def test_stateful_variable_and_unrunnable_ops_are_not_folded():
    g, x = _graph((2,))
    rnd = g.tensor("rnd", (2,))
    g.op("RANDOM_UNIFORM", [g.const("shape", np.array([2], np.int32), np.int32)], [rnd], seed=1, seed2=2)
    v = g.const("state", np.ones(2, np.float32))
    g.tensors[v].variable = True
    w = g.tensor("w", (2,))
    g.op("ADD", [v, g.const("one", np.ones(2, np.float32))], [w], fused_activation_function="NONE")
    bad = g.tensor("bad", (2,))
    g.op("ADD", [g.const("p", np.ones(2, np.float32)), g.const("q", np.ones(3, np.float32))], [bad],
         fused_activation_function="NONE")
    custom = g.tensor("custom", (2,))
    g.op("custom:Whatever", [g.const("r", np.ones(2, np.float32))], [custom])
    y = g.tensor("y", (2,))
    g.op("ADD_N", [x, rnd, w, bad, custom], [y])
    g.outputs = [y]
    assert not passes.fold_constants(g)
    assert _names(g) == ["RANDOM_UNIFORM", "ADD", "ADD", "custom:Whatever", "ADD_N"]


def test_transpose_conv_output_shape_folds_with_a_static_batch():
    g, x = _graph((1, 4, 4, 2))
    shp = g.tensor("shape", (4,), np.int32)
    g.op("SHAPE", [x], [shp], out_type="INT32")
    batch = g.tensor("batch", (1,), np.int32)
    g.op("STRIDED_SLICE", [shp] + [g.const(f"b{k}", np.array([k == 1 or k == 2], np.int32), np.int32)
                                   for k in range(3)], [batch],
         begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0)
    size = g.tensor("size", (4,), np.int32)
    g.op("CONCATENATION", [batch, g.const("hwc", np.array([8, 8, 3], np.int32), np.int32)], [size], axis=0,
         fused_activation_function="NONE")
    y = g.tensor("y", (1, 8, 8, 3))
    g.op("TRANSPOSE_CONV", [size, g.const("k", _f32(3, 3, 3, 2)), x, g.const("b", _f32(3))], [y], version=3,
         padding="SAME", stride_w=2, stride_h=2, fused_activation_function="NONE")
    g.outputs = [y]
    data = _check(g, [_f32(1, 4, 4, 2)], litert_tol=1e-5)
    assert _ops(data) == ["TRANSPOSE_CONV"]
    np.testing.assert_array_equal(g.tensors[size].data, [1, 8, 8, 3])


# -- 2. scale and shift into weights ---------------------------------------------------------------
def _channel_op(g, kind, x, bias=True):
    """``kind`` on ``x`` with random weights; returns (op, output, weights tensor)."""
    if kind == "CONV_2D":
        w, y = g.const("w", _f32(4, 3, 3, 3)), g.tensor("conv", (None, 5, 5, 4))
        o = g.op(kind, [x, w] + ([g.const("b", _f32(4))] if bias else []), [y], **CONV)
    elif kind == "DEPTHWISE_CONV_2D":
        w, y = g.const("w", _f32(1, 3, 3, 3)), g.tensor("dw", (None, 5, 5, 3))
        o = g.op(kind, [x, w] + ([g.const("b", _f32(3))] if bias else []), [y], depth_multiplier=1, **CONV)
    elif kind == "FULLY_CONNECTED":
        w, y = g.const("w", _f32(4, 3)), g.tensor("fc", (None, 5, 5, 4))
        o = g.op(kind, [x, w, g.const("b", _f32(4)) if bias else -1], [y], version=5, keep_num_dims=True,
                 fused_activation_function="NONE")
    else:
        w, y = g.const("w", _f32(4, 3, 3, 3)), g.tensor("tconv", (2, 5, 5, 4))
        ins = [g.const("size", np.array([2, 5, 5, 4], np.int32), np.int32), w, x]
        o = g.op(kind, ins + ([g.const("b", _f32(4))] if bias else []), [y], version=3 if bias else 1,
                 padding="SAME", stride_w=1, stride_h=1, fused_activation_function="NONE")
    return o, y, w


# LiteRT's CONV_2D and DEPTHWISE_CONV_2D need a bias (conv.cc: has_bias): only the others go without
@pytest.mark.parametrize("kind, bias", [("CONV_2D", True), ("DEPTHWISE_CONV_2D", True), ("FULLY_CONNECTED", True),
                                        ("FULLY_CONNECTED", False), ("TRANSPOSE_CONV", True),
                                        ("TRANSPOSE_CONV", False)])
@pytest.mark.parametrize("steps", [("MUL", "ADD"), ("MUL",), ("ADD",), ("SUB",), ("MUL", "SUB")])
def test_scale_shift_folds_into_each_channel_op(kind, bias, steps):
    g, x = _graph((2, 5, 5, 3))
    p, t, w = _channel_op(g, kind, x, bias)
    w0 = g.tensors[w].data.copy()
    n = g.tensors[t].shape[-1]
    for k, name in enumerate(steps):
        c = g.const(f"c{k}", RNG.uniform(0.5, 1.5, (1, 1, n)).astype(np.float32) if k == 0 else _f32(n))
        y = _like(g, t, f"{name}{k}")
        ins = [c, t] if name != "SUB" and k == 1 else [t, c]  # both operand orders
        g.op(name, ins, [y], fused_activation_function="NONE")
        t = y
    g.outputs = [t]
    ref = copy.deepcopy(g)
    assert passes.fold_scale_shift(g)
    assert _names(g) == [kind] and g.ops[0] is p and p.outputs == [t]
    np.testing.assert_array_equal(g.tensors[w].data, w0)  # a new constant; the old one untouched
    if "MUL" in steps:
        assert p.inputs[1] != w
    bias_slot = 3 if kind == "TRANSPOSE_CONV" else 2
    has_bias = bias or steps != ("MUL",)
    assert (len(p.inputs) > bias_slot and p.inputs[bias_slot] >= 0) == has_bias
    if kind == "TRANSPOSE_CONV" and has_bias:
        assert p.version >= 3
    data = _check(ref, [_f32(2, 5, 5, 3)], tol=1e-5)
    assert _ops(data) == [kind]


def test_scale_shift_takes_the_fused_activation_and_keeps_shared_weights():
    g, x = _graph((1, 5, 5, 3))
    w = g.const("w", _f32(4, 3, 3, 3))
    b = g.const("b", _f32(4))
    a, other = g.tensor("a", (1, 5, 5, 4)), g.tensor("other", (1, 5, 5, 4))
    g.op("CONV_2D", [x, w, b], [a], **CONV)
    g.op("CONV_2D", [x, w, b], [other], **CONV)  # shares w and b
    y = g.tensor("y", (1, 5, 5, 4))
    g.op("MUL", [a, g.const("s", _f32(4))], [y], fused_activation_function="RELU")
    g.outputs = [y, other]
    ref = copy.deepcopy(g)
    w0, b0 = g.tensors[w].data.copy(), g.tensors[b].data.copy()
    assert passes.fold_scale_shift(g)
    assert _names(g) == ["CONV_2D", "CONV_2D"]
    assert g.ops[0].options["fused_activation_function"] == "RELU"
    assert g.ops[1].inputs == [x, w, b]
    np.testing.assert_array_equal(g.tensors[w].data, w0)
    np.testing.assert_array_equal(g.tensors[b].data, b0)
    data = _check(ref, [_f32(1, 5, 5, 3)], tol=1e-5)
    assert _ops(data) == ["CONV_2D", "CONV_2D"]


def test_transpose_conv_takes_an_activation_with_version_4():
    g, x = _graph((2, 5, 5, 3))
    p, t, _ = _channel_op(g, "TRANSPOSE_CONV", x, bias=False)
    y = g.tensor("y", (2, 5, 5, 4))
    g.op("ADD", [t, g.const("d", _f32(4))], [y], fused_activation_function="RELU6")
    g.outputs = [y]
    data = _check(g, [_f32(2, 5, 5, 3)], tol=1e-5)
    assert _ops(data) == ["TRANSPOSE_CONV"] and p.version == 4


def _conv_then(shape_c, op="MUL", act="NONE", conv_act="NONE", c_first=False, two_readers=False, out=False):
    g, x = _graph((1, 5, 5, 3))
    a = g.tensor("a", (1, 5, 5, 4))
    g.op("CONV_2D", [x, g.const("w", _f32(4, 3, 3, 3)), g.const("b", _f32(4))], [a],
         **{**CONV, "fused_activation_function": conv_act})
    c = g.const("c", RNG.uniform(0.5, 2, shape_c).astype(np.float32))
    y = g.tensor("y", np.broadcast_shapes((1, 5, 5, 4), shape_c))
    g.op(op, [c, a] if c_first else [a, c], [y], fused_activation_function=act)
    g.outputs = [y] + ([a] if out else [])
    if two_readers:
        z = g.tensor("z", (1, 5, 5, 4))
        g.op("RELU", [a], [z])
        g.outputs.append(z)
    return g


@pytest.mark.parametrize("why, kwargs", [
    ("spatial constant", dict(shape_c=(1, 5, 5, 1))),
    ("broadcast to a larger output", dict(shape_c=(2, 1, 1, 4))),
    ("constant minus output", dict(shape_c=(4,), op="SUB", c_first=True)),
    ("division", dict(shape_c=(4,), op="DIV")),
    ("conv with an activation", dict(shape_c=(4,), conv_act="RELU")),
    ("output read twice", dict(shape_c=(4,), two_readers=True)),
    ("conv output is a graph output", dict(shape_c=(4,), out=True)),
])
def test_scale_shift_is_not_folded_where_it_would_change_results(why, kwargs):
    g = _conv_then(**kwargs)
    ref = copy.deepcopy(g)
    assert not passes.fold_scale_shift(g), why
    assert len(g.ops) == len(ref.ops)
    _check(ref, [_f32(1, 5, 5, 3)], tol=1e-5)


def test_scale_shift_folds_a_scalar_multiplier_in_either_order():
    g = _conv_then((), c_first=True)
    ref = copy.deepcopy(g)
    assert passes.fold_scale_shift(g) and _names(g) == ["CONV_2D"]
    _check(ref, [_f32(1, 5, 5, 3)], tol=1e-5)


def _conv1d_then(reshape_to=(None, 8, 4), act="NONE", shared_reshape=False, relu=False, channels=4):
    """x [B, 8, 3] -> EXPAND_DIMS -> CONV_2D (``channels`` out) -> RESHAPE to ``reshape_to`` -> MUL
    -> ADD (fused ``act``) [-> RELU]: Conv1D + BatchNormalization as the Keras front end writes it."""
    g, x = _graph((None, 8, 3))
    e = g.tensor("expanded", (None, 1, 8, 3))
    g.op("EXPAND_DIMS", [x, g.const("axis", np.array([1], np.int32), np.int32)], [e])
    a = g.tensor("conv", (None, 1, 8, channels))
    g.op("CONV_2D", [e, g.const("w", _f32(channels, 1, 3, 3)), g.const("b", _f32(channels))], [a], **CONV)
    r = g.tensor("reshaped", reshape_to)
    g.reshape(a, r, "reshaped")
    n = reshape_to[-1]
    m = g.tensor("scaled", reshape_to)
    g.op("MUL", [r, g.const("scale", RNG.uniform(0.5, 1.5, n).astype(np.float32))], [m],
         fused_activation_function="NONE")
    y = g.tensor("shifted", reshape_to)
    g.op("ADD", [m, g.const("shift", _f32(n))], [y], fused_activation_function=act)
    g.outputs = [y]
    if relu:
        z = g.tensor("relu", reshape_to)
        g.op("RELU", [y], [z])
        g.outputs = [z]
    if shared_reshape:
        g.outputs.append(r)
    return g


def test_scale_shift_folds_through_a_reshape_keeping_the_channels():
    """Conv1D's RESHAPE back to rank 3 keeps the last axis: the MUL and ADD fold into the
    CONV_2D, the RESHAPE writes their output; the fused activation moves to the CONV_2D."""
    g = _conv1d_then(act="RELU6")
    w0 = g.tensors[g.ops[1].inputs[1]].data.copy()
    ref = copy.deepcopy(g)
    assert passes.fold_scale_shift(g)
    assert _names(g) == ["EXPAND_DIMS", "CONV_2D", "RESHAPE"]
    conv, reshape = g.ops[1], g.ops[2]
    assert conv.options["fused_activation_function"] == "RELU6" and reshape.outputs == g.outputs
    np.testing.assert_array_equal(g.tensors[ref.ops[1].inputs[1]].data, w0)  # the old kernel untouched
    data = _check(ref, [_f32(2, 8, 3)], tol=1e-5)
    assert _ops(data) == ["EXPAND_DIMS", "CONV_2D", "RESHAPE"]


def test_an_activation_fuses_through_a_reshape():
    g = _conv1d_then(relu=True)
    data = _check(g, [_f32(3, 8, 3)], tol=1e-5)
    assert _ops(data) == ["EXPAND_DIMS", "CONV_2D", "RESHAPE"]
    assert g.ops[1].options["fused_activation_function"] == "RELU"


def test_scale_shift_folds_through_reshapes_of_a_fully_connected_any_rank():
    """FULLY_CONNECTED [B, 6, 4] (keep_num_dims) -> RESHAPE [B, 2, 3, 4] -> SQUEEZE-free chain
    of two reshape-like ops (RESHAPE, EXPAND_DIMS) -> MUL: folded through both."""
    g, x = _graph((None, 6, 5))
    a = g.tensor("fc", (None, 6, 4))
    g.op("FULLY_CONNECTED", [x, g.const("w", _f32(4, 5)), -1], [a], version=5, keep_num_dims=True,
         fused_activation_function="NONE")
    r = g.tensor("r", (None, 2, 3, 4))
    g.reshape(a, r, "r")
    e = g.tensor("e", (None, 2, 1, 3, 4))
    g.op("EXPAND_DIMS", [r, g.const("axis", np.array([2], np.int32), np.int32)], [e])
    y = g.tensor("y", (None, 2, 1, 3, 4))
    g.op("MUL", [g.const("s", _f32(1, 1, 4)), e], [y], fused_activation_function="NONE")
    g.outputs = [y]
    ref = copy.deepcopy(g)
    assert passes.fold_scale_shift(g)
    assert _names(g) == ["FULLY_CONNECTED", "RESHAPE", "EXPAND_DIMS"] and g.ops[2].outputs == [y]
    _check(ref, [_f32(2, 6, 5)], tol=1e-5)


@pytest.mark.parametrize("why, kwargs", [
    ("the reshape moves the channels", dict(reshape_to=(None, 16, 2))),
    ("the reshape's output is also a graph output", dict(shared_reshape=True)),
    ("one channel repeated: the reshape changes which element is which", dict(reshape_to=(None, 2, 4),
                                                                             channels=1)),
])
def test_scale_shift_is_not_folded_through_a_reshape_that_changes_channels(why, kwargs):
    g = _conv1d_then(**kwargs)
    ref = copy.deepcopy(g)
    assert not passes.fold_scale_shift(g), why
    assert _names(g) == _names(ref)
    _check(ref, [_f32(2, 8, 3)], tol=1e-5)


# -- reshapes with two free dimensions: shapes made at run time ---------------------------------------
def _run_sizes(data, shapes):
    """Each runtime's outputs at each input shape in turn, on one interpreter (resized)."""
    res = {}
    for runtime in (numlite.Interpreter, litert.Interpreter):
        it = runtime(model_content=data)
        for shape in shapes:
            x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
            it.resize_tensor_input(it.get_input_details()[0]["index"], list(shape))
            it.allocate_tensors()
            it.set_tensor(it.get_input_details()[0]["index"], x)
            it.invoke()
            res[(runtime, shape)] = (x, [it.get_tensor(d["index"]) for d in it.get_output_details()])
    return res


def test_reshapes_with_two_free_dimensions_take_their_sizes_at_run_time():
    """[B, T, 8] -> [B, T, 2, 4] (each free size matched), -> [B, 2T, 4] (the batch and -1),
    [B, 1, T, 8] -> [B, T, 8] (SQUEEZE) and back (EXPAND_DIMS); exact on both runtimes at two
    shapes."""
    g, x = _graph((None, None, 8))
    split, longer = g.tensor("split", (None, None, 2, 4)), g.tensor("longer", (None, None, 4))
    g.reshape(x, split, "split")
    g.reshape(x, longer, "longer")
    e = g.tensor("e", (None, 1, None, 8))
    g.reshape(x, e, "e")
    back = g.tensor("back", (None, None, 8))
    g.reshape(e, back, "back")
    neg = g.tensor("neg", (None, None, 8))
    g.op("NEG", [back], [neg])
    g.outputs = [split, longer, neg]
    data = g.build()
    ops = _ops(data)
    assert ops.count("SHAPE") == 1 and "SQUEEZE" not in ops  # the EXPAND_DIMS / SQUEEZE pair cancelled
    for (_runtime, shape), (xv, outs) in _run_sizes(data, [(2, 3, 8), (3, 5, 8)]).items():
        b, t = shape[:2]
        np.testing.assert_array_equal(outs[0], xv.reshape(b, t, 2, 4))
        np.testing.assert_array_equal(outs[1], xv.reshape(b, 2 * t, 4))
        np.testing.assert_array_equal(outs[2], -xv)


def test_a_reshape_whose_free_sizes_cannot_be_told_is_refused():
    g, x = _graph((None, None, 6))
    y = g.tensor("y", (None, None, None, 3))
    with pytest.raises(ReshapeError, match=r"'x0' of shape \(-1, -1, 6\) into 'y' of shape \(-1, -1, -1, 3\)"):
        g.reshape(x, y, "y")
    z = g.tensor("z", (None, 2, None, 3))
    with pytest.raises(ReshapeError, match="into 'z' .* free sizes of 'three_free'"):
        g.reshape(x, z, "z", like=g.tensor("three_free", (None, None, None)))


def test_scale_shift_folds_past_a_shape_reading_the_conv_output():
    """The conv's output is read by the MUL and by the SHAPE a later run-time reshape takes its
    sizes from: the fold goes ahead (SHAPE reads only the shape) and the SHAPE then reads the
    conv's new output."""
    g, x = _graph((None, None, 6, 3))
    a = g.tensor("a", (None, None, 6, 4))
    g.op("CONV_2D", [x, g.const("w", _f32(4, 3, 3, 3)), g.const("b", _f32(4))], [a], **CONV)
    m = g.tensor("m", (None, None, 6, 4))
    g.op("MUL", [a, g.const("s", RNG.uniform(0.5, 1.5, 4).astype(np.float32))], [m], fused_activation_function="NONE")
    y = g.tensor("y", (None, None, 2, 3, 4))
    g.reshape(m, y, "y", like=a)
    g.outputs = [y]
    ref = copy.deepcopy(g)
    assert passes.fold_scale_shift(g)
    shape_op = next(o for o in g.ops if o.name == "SHAPE")
    assert shape_op.inputs == [m] and "MUL" not in _names(g)
    feeds = [_f32(2, 5, 6, 3)]
    _check(ref, feeds, tol=1e-5)
    assert _ops(g.build()) == ["CONV_2D", "SHAPE", "STRIDED_SLICE", "CONCATENATION", "RESHAPE"]


# -- 3. identities ---------------------------------------------------------------------------------
def _identity_graph(kind):
    """x -> RELU -> m -> ``kind`` (an identity) -> t -> NEG -> y."""
    g, x = _graph((None, 2, 3))
    m = g.tensor("m", (None, 2, 3))
    g.op("RELU", [x], [m])
    t = g.tensor("t", (None, 2, 3))
    if kind == "RESHAPE":
        g.reshape(m, t, "r")
    elif kind == "TRANSPOSE":
        g.op("TRANSPOSE", [m, g.const("perm", np.array([0, 1, 2], np.int32), np.int32)], [t])
    elif kind == "CAST":
        g.op("CAST", [m], [t], in_data_type="FLOAT32", out_data_type="FLOAT32")
    else:
        op, c, first = kind
        ins = [g.const("c", np.full(c, 1.0 if op in ("MUL", "DIV") else 0.0, np.float32)), m]
        g.op(op, ins if first else ins[::-1], [t], fused_activation_function="NONE")
    y = g.tensor("y", (None, 2, 3))
    g.op("NEG", [t], [y])
    g.outputs = [y]
    return g, m


@pytest.mark.parametrize("kind", ["RESHAPE", "TRANSPOSE", "CAST", ("ADD", (), True), ("ADD", (3,), False),
                                  ("SUB", (1, 3), False), ("MUL", (2, 3), True), ("DIV", (), False)])
def test_identities_are_removed(kind):
    g, m = _identity_graph(kind)
    ref = copy.deepcopy(g)
    assert passes.remove_identities(g)
    assert _names(g) == ["RELU", "NEG"] and g.ops[1].inputs == [m]
    assert _ops(_check(ref, [_f32(3, 2, 3)])) == ["RELU", "NEG"]


@pytest.mark.parametrize("why, op, c, first, act", [
    ("zero minus x", "SUB", (), True, "NONE"),
    ("one over x", "DIV", (), True, "NONE"),
    ("broadcasts the shape", "ADD", (4, 1, 1), False, "NONE"),
    ("not zero", "ADD", (), False, "NONE"),
    ("fused activation", "MUL", (), False, "RELU"),
])
def test_near_identities_are_kept(why, op, c, first, act):
    g, x = _graph((None, 2, 3))
    m = g.tensor("m", (None, 2, 3))
    g.op("NEG", [x], [m])  # neither end of the op is a graph input or output: bypass could act
    shape = np.broadcast_shapes((1, 2, 3), c)
    t = g.tensor("t", (None, 2, 3) if shape == (1, 2, 3) else shape)
    value = np.full(c, {"ADD": 0.0, "SUB": 0.0, "MUL": 1.0, "DIV": 1.0}[op], np.float32)
    if why == "not zero":
        value = value + 0.5
    ins = [g.const("c", value), m]
    g.op(op, ins if first else ins[::-1], [t], fused_activation_function=act)
    y = _like(g, t, "y")
    g.op("NEG", [t], [y])
    g.outputs = [y]
    assert not passes.remove_identities(g), why
    assert len(g.ops) == 3
    feeds = [_f32(1, 2, 3) - (0.5 if op == "DIV" else 0)]
    _check(copy.deepcopy(g), feeds)


def test_identity_reshape_with_two_free_dims_and_casts_that_convert_are_kept():
    g, x = _graph((None, None, 4))
    m = g.tensor("m", (None, None, 4))
    g.op("NEG", [x], [m])
    r = g.tensor("r", (None, None, 4))  # [2, 6, 4] -> [-1, 2, 4] is [6, 2, 4]: same signature, other shape
    g.op("RESHAPE", [m, g.const("s", np.array([-1, 2, 4], np.int32), np.int32)], [r], new_shape=[-1, 2, 4])
    c = g.tensor("c", (None, None, 4), np.int32)
    g.op("CAST", [m], [c], in_data_type="FLOAT32", out_data_type="INT32")
    y, z = g.tensor("y", (None, None, 4)), g.tensor("z", (None, None, 4), np.int32)
    g.op("NEG", [r], [y])
    g.op("NEG", [c], [z])
    g.outputs = [y, z]
    ref = copy.deepcopy(g)
    assert not passes.remove_identities(g)
    assert _names(g) == ["NEG", "RESHAPE", "CAST", "NEG", "NEG"]
    outs = run(numlite.Interpreter, _check(ref, [_f32(2, 6, 4) * 10]), [_f32(2, 6, 4)])
    assert outs[0].shape == (6, 2, 4)


def test_identity_from_a_graph_input_to_a_graph_output_stays():
    g, x = _graph((2, 3))
    y = g.tensor("y", (2, 3))
    g.reshape(x, y, "copy")
    g.outputs = [y]
    assert not passes.remove_identities(g)
    data = _check(g, [_f32(2, 3)])
    assert _ops(data) == ["RESHAPE"]


def test_identity_writing_a_graph_output_hands_the_output_to_its_producer():
    g, x = _graph((2, 3))
    m = g.tensor("m", (2, 3))
    g.op("RELU", [x], [m])
    y = g.tensor("probs", (2, 3))
    g.op("TRANSPOSE", [m, g.const("perm", np.array([0, 1], np.int32), np.int32)], [y])
    z = g.tensor("z", (2, 3))
    g.op("NEG", [m], [z])  # another reader of m reads the output now
    g.outputs = [y, z]
    ref = copy.deepcopy(g)
    assert passes.remove_identities(g)
    assert _names(g) == ["RELU", "NEG"] and g.ops[0].outputs == [y] and g.ops[1].inputs == [y]
    data = _check(ref, [_f32(2, 3)])
    it = numlite.Interpreter(model_content=data)
    assert [d["name"] for d in it.get_output_details()] == ["probs", "z"]


def test_consecutive_reshapes_collapse():
    g, x = _graph((None, 2, 3, 4))
    a, b, c = g.tensor("a", (None, 6, 4)), g.tensor("b", (None, 24)), g.tensor("c", (None, 4, 6))
    g.reshape(x, a, "ra")
    g.reshape(a, b, "rb")
    g.reshape(b, c, "rc")
    y = g.tensor("y", (None, 4, 6))
    g.op("RELU", [c], [y])
    g.outputs = [y]
    ref = copy.deepcopy(g)
    assert passes.remove_identities(g)
    passes.remove_dead(g)
    assert _names(g) == ["RESHAPE", "RELU"] and g.ops[0].inputs[0] == x
    assert _ops(_check(ref, [_f32(3, 2, 3, 4)])) == ["RESHAPE", "RELU"]


def test_reshape_chain_with_a_shared_middle_keeps_the_first_reshape():
    g, x = _graph((2, 3, 4))
    a, b = g.tensor("a", (6, 4)), g.tensor("b", (2, 3, 4))
    g.reshape(x, a, "ra")
    g.reshape(a, b, "rb")  # back to x's shape: an identity once it reads x
    y, z = g.tensor("y", (2, 3, 4)), g.tensor("z", (6, 4))
    g.op("RELU", [b], [y])
    g.op("NEG", [a], [z])
    g.outputs = [y, z]
    ref = copy.deepcopy(g)
    passes.remove_identities(g)
    passes.remove_dead(g)
    assert _names(g) == ["RESHAPE", "RELU", "NEG"] and g.ops[1].inputs == [x]
    _check(ref, [_f32(2, 3, 4)])


@pytest.mark.parametrize("order", ["expand_squeeze", "squeeze_expand"])
def test_squeeze_and_expand_dims_cancel_with_free_dimensions(order):
    g, x = _graph((None, None, 3) if order == "expand_squeeze" else (None, 1, None, 3))
    if order == "expand_squeeze":
        m = g.tensor("m", (None, 1, None, 3))
        g.op("EXPAND_DIMS", [x, g.const("axis", np.array([-3], np.int32), np.int32)], [m])
        t = g.tensor("t", (None, None, 3))
        g.op("SQUEEZE", [m], [t], squeeze_dims=[1])
    else:
        m = g.tensor("m", (None, None, 3))
        g.op("SQUEEZE", [x], [m], squeeze_dims=[-3])
        t = g.tensor("t", (None, 1, None, 3))
        g.op("EXPAND_DIMS", [m, g.const("axis", np.int32(1), np.int32)], [t])
    y = _like(g, t, "y")
    g.op("RELU", [t], [y])
    g.outputs = [y]
    ref = copy.deepcopy(g)
    assert passes.remove_identities(g)
    passes.remove_dead(g)
    assert _names(g) == ["RELU"] and g.ops[0].inputs == [x]
    feed = _f32(2, 5, 3) if order == "expand_squeeze" else _f32(2, 1, 5, 3)
    _check(ref, [feed])


def test_squeeze_after_reshape_becomes_one_reshape():
    g, x = _graph((None, 12))
    m, t = g.tensor("m", (None, 3, 4, 1)), g.tensor("t", (None, 3, 4))
    g.reshape(x, m, "r")
    g.op("SQUEEZE", [m], [t], squeeze_dims=[3])
    y = g.tensor("y", (None, 3, 4))
    g.op("RELU", [t], [y])
    g.outputs = [y]
    ref = copy.deepcopy(g)
    assert passes.remove_identities(g)
    passes.remove_dead(g)
    assert _names(g) == ["RESHAPE", "RELU"]
    _check(ref, [_f32(2, 12)])


# -- 4. transposes ---------------------------------------------------------------------------------
def _two_transposes(p1, p2, shared=False, out_mid=False):
    g, x = _graph((None, 2, 3, 4))
    xs = g.tensors[x].signature
    m = g.tensor("m", [None if xs[p] == -1 else xs[p] for p in p1])
    g.op("TRANSPOSE", [x, g.const("p1", np.array(p1, np.int32), np.int32)], [m])
    ms = g.tensors[m].signature
    t = g.tensor("t", [None if ms[p] == -1 else ms[p] for p in p2])
    g.op("TRANSPOSE", [m, g.const("p2", np.array(p2, np.int32), np.int32)], [t])
    y = g.tensor("y", g.tensors[t].shape)
    g.tensors[y].signature = g.tensors[t].signature
    g.op("RELU", [t], [y])
    g.outputs = [y]
    if shared:
        z = g.tensor("z", g.tensors[m].shape)
        g.tensors[z].signature = g.tensors[m].signature
        g.op("NEG", [m], [z])
        g.outputs.append(z)
    if out_mid:
        g.outputs.append(m)
    return g, x


@pytest.mark.parametrize("shared", [False, True])
def test_transposes_that_cancel_are_removed(shared):
    g, x = _two_transposes((0, 2, 3, 1), (0, 3, 1, 2), shared)
    ref = copy.deepcopy(g)
    assert passes.cancel_transposes(g)
    passes.remove_dead(g)
    assert _names(g) == (["TRANSPOSE", "RELU", "NEG"] if shared else ["RELU"])
    assert g.ops[-2 if shared else -1].inputs == [x]
    _check(ref, [_f32(2, 2, 3, 4)])


def test_transposes_compose_into_one():
    g, x = _two_transposes((0, 2, 3, 1), (0, 2, 1, 3))
    ref = copy.deepcopy(g)
    assert passes.cancel_transposes(g)
    passes.remove_dead(g)
    assert _names(g) == ["TRANSPOSE", "RELU"] and g.ops[0].inputs[0] == x
    np.testing.assert_array_equal(g.tensors[g.ops[0].inputs[1]].data, [0, 3, 2, 1])
    _check(ref, [_f32(2, 2, 3, 4)])


@pytest.mark.parametrize("shared, out_mid", [(True, False), (False, True)])
def test_transposes_with_a_shared_middle_do_not_compose(shared, out_mid):
    g, _ = _two_transposes((0, 2, 3, 1), (0, 2, 1, 3), shared, out_mid)
    assert not passes.cancel_transposes(g)


# -- 5. the original passes and the whole pipeline -------------------------------------------------
def test_remove_dead_keeps_ops_without_outputs_and_dedupe_merges_equal_constants():
    g, x = _graph((3,))
    dead = g.tensor("dead", (3,))
    g.op("RELU", [x], [dead])
    g.op("custom:Log", [x], [])
    y = g.tensor("y", (3,))
    z = g.tensor("z", (3,))
    g.op("ADD", [x, g.const("one", np.ones(3, np.float32))], [y], fused_activation_function="NONE")
    g.op("ADD", [y, g.const("one_again", np.ones(3, np.float32))], [z], fused_activation_function="NONE")
    g.outputs = [z]
    assert passes.remove_dead(g) and _names(g) == ["custom:Log", "ADD", "ADD"]
    assert not passes.remove_dead(g)
    assert passes.dedupe_constants(g) and g.ops[1].inputs[1] == g.ops[2].inputs[1]
    assert not passes.dedupe_constants(g)


def test_fuse_activations():
    g, x = _graph((3,))
    a = g.tensor("a", (3,))
    g.op("ADD", [x, x], [a], fused_activation_function="NONE")
    y = g.tensor("y", (3,))
    g.op("RELU6", [a], [y])
    g.outputs = [y]
    ref = copy.deepcopy(g)
    assert passes.fuse_activations(g) and _names(g) == ["ADD"]
    assert g.ops[0].options["fused_activation_function"] == "RELU6" and g.ops[0].outputs == [y]
    _check(ref, [_f32(3) * 10])


def test_passes_reach_a_fixed_point_together():
    """FILL makes a constant of ones (folded), so the MUL by it is an identity; the batch
    norm's MUL and ADD go into the conv, whose RELU is fused; two TRANSPOSEs cancel;
    a graph-output RESHAPE of the conv's result hands the output to the conv."""
    g, x = _graph((None, 5, 5, 3))
    nchw = g.tensor("nchw", (None, 3, 5, 5))
    g.op("TRANSPOSE", [x, g.const("to_nchw", np.array([0, 3, 1, 2], np.int32), np.int32)], [nchw])
    back = g.tensor("back", (None, 5, 5, 3))
    g.op("TRANSPOSE", [nchw, g.const("to_nhwc", np.array([0, 2, 3, 1], np.int32), np.int32)], [back])
    a = g.tensor("a", (None, 5, 5, 4))
    g.op("CONV_2D", [back, g.const("w", _f32(4, 3, 3, 3)), g.const("b", _f32(4))], [a], **CONV)
    ones = g.tensor("ones", (4,))
    g.op("FILL", [g.const("dims", np.array([4], np.int32), np.int32), g.const("v", np.float32(1))], [ones])
    b = g.tensor("b1", (None, 5, 5, 4))
    g.op("MUL", [a, ones], [b], fused_activation_function="NONE")
    c = g.tensor("c", (None, 5, 5, 4))
    g.op("MUL", [b, g.const("scale", RNG.uniform(0.5, 2, 4).astype(np.float32))], [c], fused_activation_function="NONE")
    d = g.tensor("d", (None, 5, 5, 4))
    g.op("ADD", [c, g.const("shift", _f32(4))], [d], fused_activation_function="NONE")
    e = g.tensor("e", (None, 5, 5, 4))
    g.op("RELU", [d], [e])
    y = g.tensor("out", (None, 5, 5, 4))
    g.reshape(e, y, "out")
    g.outputs = [y]
    data = _check(g, [_f32(2, 5, 5, 3)], tol=1e-5)
    assert _ops(data) == ["CONV_2D"]
    assert g.ops[0].options["fused_activation_function"] == "RELU" and g.ops[0].outputs == [y]
    assert len(load_model(model_content=data).subgraphs[0].tensors) == 4  # x, weights, bias, out


# -- Keras end to end ------------------------------------------------------------------------------
@pytest.fixture
def keras():
    os.environ.setdefault("KERAS_BACKEND", "numpy")
    return pytest.importorskip("keras")


def _convert_both(model, monkeypatch):
    plain = {}

    def no_passes(g):
        plain["data"] = copy.deepcopy(g).build(optimize=False)
        passes_optimize(g)

    passes_optimize = passes.optimize
    monkeypatch.setattr(passes, "optimize", no_passes)
    data = numlite.convert(model)
    return plain["data"], data


def test_keras_conv_bn_relu_and_rescaling_models_convert_to_fewer_or_equal_ops(keras, monkeypatch):
    inp = keras.Input((8, 8, 3), batch_size=2)
    x = keras.layers.Rescaling(1.0)(inp)  # MUL by one, ADD of zero: both go
    x = keras.layers.Conv2D(4, 3, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Reshape((64, 4))(x)
    x = keras.layers.Conv1D(5, 3, padding="same")(x)
    x = keras.layers.Dense(6)(x)
    x = keras.layers.BatchNormalization()(x)  # after Dense: MUL and ADD, folded by the pass
    x = keras.layers.Reshape((8, 8, 6))(x)
    x = keras.layers.Conv2DTranspose(3, 3, strides=2, padding="same")(x)  # static batch: shape ops fold
    x = keras.layers.Permute((2, 1, 3))(x)
    out = keras.layers.Permute((2, 1, 3))(x)  # cancels the first
    model = keras.Model(inp, out)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(RNG.uniform(-0.5, 0.5, layer.moving_mean.shape))
            layer.moving_variance.assign(RNG.uniform(0.5, 2.0, layer.moving_variance.shape))
    plain, data = _convert_both(model, monkeypatch)
    xs = RNG.uniform(0, 1, (2, 8, 8, 3)).astype(np.float32)
    ref = model.predict(xs, verbose=0)
    for blob in (plain, data):
        for runtime in (numlite.Interpreter, litert.Interpreter):
            _close(run(runtime, blob, [xs])[0], ref, 1e-5)
    before, after = _ops(plain), _ops(data)
    assert len(after) < len(before)
    for gone in ("MUL", "ADD", "SHAPE", "STRIDED_SLICE", "CONCATENATION", "TRANSPOSE"):
        assert gone not in after, (gone, after)
    assert after.count("CONV_2D") == 2 and "TRANSPOSE_CONV" in after


def test_keras_rescaling_before_conv_converts(keras, monkeypatch):
    model = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Rescaling(1 / 255.0, offset=-0.5),
                              keras.layers.Conv2D(4, 3, activation="relu"), keras.layers.GlobalAveragePooling2D()])
    plain, data = _convert_both(model, monkeypatch)
    xs = RNG.uniform(0, 255, (3, 6, 6, 3)).astype(np.float32)
    ref = model.predict(xs, verbose=0)
    for runtime in (numlite.Interpreter, litert.Interpreter):
        _close(run(runtime, data, [xs])[0], ref, 1e-5)
    assert _ops(data) == ["MUL", "ADD", "CONV_2D", "MEAN"]
    assert len(_ops(data)) <= len(_ops(plain))
