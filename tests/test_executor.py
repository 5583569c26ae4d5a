"""Executor behaviour: folding, arena views, thread settings."""

import numpy as np
from util import run_litert

import numlite
from numlite import _blas
from numlite.builder import ModelBuilder


def _diamond_chain(n=12):
    """x -> a0 -> a1 ... with skip connections, so lifetimes overlap in several ways."""
    mb = ModelBuilder()
    x = mb.input("x", (2, 16), np.float32)
    prev, prev2 = x, x
    rng = np.random.default_rng(0)
    for i in range(n):
        c = mb.const(f"c{i}", rng.standard_normal(16).astype(np.float32))
        t = mb.tensor(f"t{i}", (2, 16), np.float32)
        mb.op("ADD", [prev, c], [t])
        u = mb.tensor(f"u{i}", (2, 16), np.float32)
        mb.op("ADD", [t, prev2], [u], fused_activation_function="RELU6")
        prev2, prev = prev, u
    mb.output(prev)
    return mb.build()


def test_live_tensors_never_share_memory():
    m = _diamond_chain()
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    ex = it._main
    steps = {ni: s for s, ni in enumerate(ex.step_nodes)}
    steps.update({ni: steps[host] for ni, host in ex.absorbed.items()})  # fused: run inside their host
    life = {}
    for ni, s in steps.items():
        node = ex.kernels[ni].node
        for t in (*node.inputs, *node.outputs):
            if t >= 0 and t not in ex.known:
                a, b = life.get(t, (s, s))
                life[t] = (min(a, s), max(b, s))
    for t in (*ex.subgraph.inputs, *ex.subgraph.outputs):
        life[t] = (0, len(steps))
    ts = sorted(life)
    for i, a in enumerate(ts):
        for b in ts[i + 1:]:
            (a0, a1), (b0, b1) = life[a], life[b]
            if a0 <= b1 and b0 <= a1 and ex._root(a) != ex._root(b):  # a fused op in place: one tensor
                assert not np.shares_memory(ex.buffers[a], ex.buffers[b]), (a, b)
    rep = it.memory_report()
    assert rep["lower_bound_bytes"] <= rep["arena_bytes"] <= rep["no_reuse_bytes"]
    assert rep["arena_bytes"] < rep["no_reuse_bytes"]


def test_results_match_litert_and_preserve_all_tensors():
    m = _diamond_chain()
    x = np.random.default_rng(1).standard_normal((2, 16)).astype(np.float32)
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    it.set_tensor(0, x)
    it.invoke()
    out = it.get_tensor(it.get_output_details()[0]["index"])
    np.testing.assert_allclose(out, run_litert(m, [x])[0], rtol=1e-6, atol=1e-6)
    keep = numlite.Interpreter(model_content=m, experimental_preserve_all_tensors=True)
    keep.allocate_tensors()
    keep.set_tensor(0, x)
    keep.invoke()
    np.testing.assert_array_equal(keep.get_tensor(keep.get_output_details()[0]["index"]), out)
    rep = keep.memory_report()
    assert rep["arena_bytes"] == rep["no_reuse_bytes"]
    # every intermediate stays readable
    for d in keep.get_tensor_details():
        if d["name"].startswith("t"):
            assert np.isfinite(keep.get_tensor(d["index"])).all()


def test_constant_subgraph_is_folded():
    mb = ModelBuilder()
    x = mb.input("x", (4,), np.float32)
    a = mb.const("a", np.arange(4, dtype=np.float32))
    b = mb.const("b", np.ones(4, np.float32))
    ab = mb.tensor("ab", (4,), np.float32)
    mb.op("ADD", [a, b], [ab])
    y = mb.tensor("y", (4,), np.float32)
    mb.op("ADD", [x, ab], [y])
    mb.output(y)
    it = numlite.Interpreter(model_content=mb.build())
    it.allocate_tensors()
    assert it._main.step_nodes == [1]  # node 0 ran once at allocate time
    np.testing.assert_array_equal(it.get_tensor(ab), np.arange(4) + 1)
    it.set_tensor(x, np.full(4, 10, np.float32))
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(y), np.arange(4) + 11)


def test_num_threads_sets_blas_threads():
    if _blas.get_threads() is None:
        return  # no controllable BLAS in this NumPy build
    m = _diamond_chain(2)
    for n in (1, 2):
        it = numlite.Interpreter(model_content=m, num_threads=n)
        it.allocate_tensors()
        it.invoke()
        assert _blas.get_threads() == n


def test_empty_constant_is_known_at_prepare():
    # An empty axis list has no buffer bytes; it is still a constant (SUM over no axes = copy).
    from util import Const, In, Out, assert_matches_litert, rand, single_op_model

    m = single_op_model("SUM", [In((2, 3)), Const(np.zeros(0, np.int32))], Out((2, 3)), keep_dims=False)
    assert_matches_litert(m, [rand((2, 3))])
