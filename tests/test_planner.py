"""Property tests of the arena planner: no live overlap, lower bound <= arena <= no-reuse."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from numlite.planner import plan_arena


@st.composite
def buffers(draw):
    n = draw(st.integers(0, 40))
    steps = draw(st.integers(1, 30))
    sizes, first, last = [], [], []
    for _ in range(n):
        a = draw(st.integers(0, steps - 1))
        b = draw(st.integers(a, steps - 1))
        sizes.append(draw(st.integers(0, 5000)))
        first.append(a)
        last.append(b)
    return sizes, first, last


def _check(sizes, first, last, plan, alignment):
    n = len(sizes)
    asz = [(s + alignment - 1) // alignment * alignment for s in sizes]
    for i in range(n):
        assert plan.offsets[i] % alignment == 0
        assert plan.offsets[i] + asz[i] <= plan.arena_bytes
        for j in range(i + 1, n):
            if asz[i] and asz[j] and first[i] <= last[j] and first[j] <= last[i]:
                a0, a1 = plan.offsets[i], plan.offsets[i] + asz[i]
                b0, b1 = plan.offsets[j], plan.offsets[j] + asz[j]
                assert a1 <= b0 or b1 <= a0, f"buffers {i} and {j} are alive together and overlap"
    assert plan.lower_bound_bytes <= plan.arena_bytes <= plan.no_reuse_bytes


@settings(max_examples=300, deadline=None)
@given(buffers(), st.sampled_from([1, 16, 64]))
def test_plan_properties(bufs, alignment):
    sizes, first, last = bufs
    plan = plan_arena(sizes, first, last, alignment)
    _check(sizes, first, last, plan, alignment)


@settings(max_examples=100, deadline=None)
@given(buffers())
def test_no_reuse_gives_disjoint_ranges(bufs):
    sizes, first, last = bufs
    plan = plan_arena(sizes, first, last, 64, no_reuse=True)
    assert plan.arena_bytes == plan.no_reuse_bytes
    spans = sorted((plan.offsets[i], plan.offsets[i] + s) for i, s in enumerate(sizes) if s)
    for (_, a1), (b0, _) in zip(spans, spans[1:]):
        assert a1 <= b0


def test_chain_reuses_memory():
    # a linear chain: each tensor lives two steps; the arena needs only two slots
    sizes = [1024] * 10
    first = list(range(10))
    last = [i + 1 for i in range(10)]
    plan = plan_arena(sizes, first, last, 64)
    assert plan.lower_bound_bytes == 2048
    assert plan.arena_bytes == 2048
    assert plan.no_reuse_bytes == 10240


def test_lower_bound_matches_bruteforce():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = 20
        first = rng.integers(0, 10, n)
        last = first + rng.integers(0, 5, n)
        sizes = rng.integers(1, 1000, n) * 64
        plan = plan_arena(sizes.tolist(), first.tolist(), last.tolist(), 64)
        brute = max(sum(int(s) for s, f, la in zip(sizes, first, last) if f <= t <= la) for t in range(15))
        assert plan.lower_bound_bytes == brute


def test_memory_plan_lists_a_consistent_layout():
    """Interpreter.memory_plan(): every placed buffer inside the arena, and no two buffers alive
    at the same step share a byte."""
    import pytest

    import numlite
    from numlite import models

    it = numlite.Interpreter(model_content=models.build("mobilenet_v2_tiny"))
    it.allocate_tensors()
    plan = it.memory_plan()
    bufs = plan["buffers"]
    assert plan["arena_bytes"] == it.memory_report()["arena_bytes"] and len(plan["steps"]) > 10
    assert all(0 <= b["offset"] and b["offset"] + b["bytes"] <= plan["arena_bytes"] for b in bufs)
    assert all(0 <= b["first_step"] <= b["last_step"] < len(plan["steps"]) for b in bufs)
    for i, a in enumerate(bufs):
        for b in bufs[i + 1:]:
            if a["bytes"] and b["bytes"] and a["first_step"] <= b["last_step"] and b["first_step"] <= a["last_step"]:
                assert a["offset"] + a["bytes"] <= b["offset"] or b["offset"] + b["bytes"] <= a["offset"], (a, b)
    inputs = {d["index"] for d in it.get_input_details()}
    assert inputs <= {b["tensor"] for b in bufs if b["kind"] == "tensor"}
    with pytest.raises(RuntimeError, match="allocate_tensors"):
        numlite.Interpreter(model_content=models.build("mobilenet_v2_tiny")).memory_plan()
