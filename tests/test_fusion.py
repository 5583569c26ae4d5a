"""The executor's fusion pass (``executor`` step 2b): elementwise ops run inside the node that
produces their input, in place where they can.

Every fusable op after every kind of host, fused against unfused (``Runtime.fuse`` off, the
same kernels one op per step): the results must be bit for bit the same - the fused step runs
the same ufuncs on the same elements in the same order, so no tolerance is allowed (only NaN
payloads may differ: IEEE leaves them to the hardware when an operation has two NaN operands,
and fusion may swap a commutative ADD's operands).  Inputs carry nan, +-inf and +-0.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from util import assert_matches_litert

import numlite
from numlite.builder import ModelBuilder
from numlite.ops import _conv as conv_engine
from numlite.ops import _depthwise as depthwise_engine

C = 8  # channels of every host's output
SHAPE4 = (1, 12, 10, C)


def _feed(shape: tuple[int, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    flat = x.reshape(-1)
    flat[[3, 17, 40, 41, 77]] = [np.nan, np.inf, -np.inf, 0.0, -0.0]
    return x


# -- hosts: (builder, input shape, output shape) --------------------------------------------------
def _conv(mb: ModelBuilder, x: int) -> int:
    w = np.random.default_rng(1).standard_normal((C, 3, 3, 4)).astype(np.float32) * 0.3
    t = mb.tensor("t", SHAPE4, np.float32)
    mb.op("CONV_2D", [x, mb.const("w", w), mb.const("b", np.linspace(-1, 1, C, dtype=np.float32))], [t],
          padding="SAME", stride_h=1, stride_w=1, dilation_h_factor=1, dilation_w_factor=1)
    return t


def _conv1x1(mb: ModelBuilder, x: int) -> int:
    w = np.random.default_rng(2).standard_normal((C, 1, 1, 4)).astype(np.float32)
    t = mb.tensor("t", SHAPE4, np.float32)
    mb.op("CONV_2D", [x, mb.const("w", w), mb.const("b", np.zeros(C, np.float32))], [t], padding="VALID",
          stride_h=1, stride_w=1, dilation_h_factor=1, dilation_w_factor=1)
    return t


def _depthwise(mb: ModelBuilder, x: int) -> int:
    w = np.random.default_rng(3).standard_normal((1, 3, 3, C)).astype(np.float32)
    t = mb.tensor("t", SHAPE4, np.float32)
    mb.op("DEPTHWISE_CONV_2D", [x, mb.const("w", w), mb.const("b", np.ones(C, np.float32))], [t],
          padding="SAME", stride_h=1, stride_w=1, dilation_h_factor=1, dilation_w_factor=1, depth_multiplier=2)
    return t


def _fc(mb: ModelBuilder, x: int) -> int:  # a host without tiles: epilogues follow its step
    w = np.random.default_rng(4).standard_normal((12 * 10 * C, 4)).astype(np.float32)
    flat = mb.tensor("flat", (120, 4), np.float32)
    mb.op("RESHAPE", [x, mb.const("s", np.array([120, 4], np.int32))], [flat], new_shape=[120, 4])
    y = mb.tensor("y", (120, 12 * 10 * C), np.float32)
    mb.op("FULLY_CONNECTED", [flat, mb.const("w", w), -1], [y])
    t = mb.tensor("t", (1, 120, 12 * 10, C), np.float32)
    mb.op("RESHAPE", [y, mb.const("s2", np.array([1, 120, 120, C], np.int32))], [t], new_shape=[1, 120, 120, C])
    return t


HOSTS = {"conv3x3": (_conv, (1, 12, 10, 4)), "conv1x1": (_conv1x1, (1, 12, 10, 4)),
         "depthwise": (_depthwise, (1, 12, 10, C // 2)), "fully_connected": (_fc, (1, 12, 10, 4))}


# -- consumers: (mb, t, shape, extra graph input) -> output -----------------------------------------
def _unary(op: str, **opts: object) -> Callable[..., int]:
    def make(mb: ModelBuilder, t: int, shape: tuple[int, ...], r: int) -> int:
        u = mb.tensor("u", shape, np.float32)
        mb.op(op, [t], [u], **opts)
        return u

    return make


def _prelu(alpha: np.ndarray) -> Callable[..., int]:
    def make(mb: ModelBuilder, t: int, shape: tuple[int, ...], r: int) -> int:
        u = mb.tensor("u", shape, np.float32)
        mb.op("PRELU", [t, mb.const("alpha", alpha.astype(np.float32))], [u])
        return u

    return make


def _binary(op: str, other: str, data_slot: int, act: str = "NONE") -> Callable[..., int]:
    def make(mb: ModelBuilder, t: int, shape: tuple[int, ...], r: int) -> int:
        o = r if other == "residual" else mb.const("k", np.linspace(-2, 3, C, dtype=np.float32).reshape(1, 1, 1, C))
        u = mb.tensor("u", shape, np.float32)
        mb.op(op, [t, o] if data_slot == 0 else [o, t], [u], fused_activation_function=act)
        return u

    return make


def _reshape(mb: ModelBuilder, t: int, shape: tuple[int, ...], r: int) -> int:
    n = int(np.prod(shape))
    u = mb.tensor("u", (n // C, C), np.float32)
    mb.op("RESHAPE", [t, mb.const("shape", np.array([n // C, C], np.int32))], [u], new_shape=[n // C, C])
    return u


ALPHA_LOW = np.array([0.1, -0.5, 0.25, 1.0, -2.0, 0.0625, 0.5, -0.125])  # all <= 1: mode max
CONSUMERS = {
    "relu": _unary("RELU"), "relu6": _unary("RELU6"), "relu_n1_to_1": _unary("RELU_N1_TO_1"),
    "relu_0_to_1": _unary("RELU_0_TO_1"), "tanh": _unary("TANH"), "logistic": _unary("LOGISTIC"),
    "hard_swish": _unary("HARD_SWISH"), "abs": _unary("ABS"), "exp": _unary("EXP"),
    "leaky_0.2": _unary("LEAKY_RELU", alpha=0.2), "leaky_1.5": _unary("LEAKY_RELU", alpha=1.5),
    "leaky_-0.3": _unary("LEAKY_RELU", alpha=-0.3),
    "prelu_max": _prelu(ALPHA_LOW.reshape(1, 1, C)),
    "prelu_min": _prelu(np.linspace(1.5, 4, C).reshape(1, 1, C)),
    "prelu_fix": _prelu(np.where(np.arange(C) == 3, 2.5, ALPHA_LOW)),
    "prelu_sign": _prelu(np.where(np.arange(C) % 2 == 0, 3.0, ALPHA_LOW).reshape(1, 1, C)),
    "prelu_scalar": _prelu(np.array([0.3])),
    "add_residual": _binary("ADD", "residual", 0, "RELU6"), "add_residual_1": _binary("ADD", "residual", 1),
    "sub_residual_1": _binary("SUB", "residual", 1, "RELU"), "mul_channel": _binary("MUL", "const", 0),
    "sub_channel_1": _binary("SUB", "const", 1, "RELU_N1_TO_1"), "add_channel": _binary("ADD", "const", 0),
    "reshape": _reshape,
}


def _model(host: str, consumers: list[str]) -> tuple[bytes, list[np.ndarray]]:
    build, in_shape = HOSTS[host]
    mb = ModelBuilder()
    x = mb.input("x", in_shape, np.float32)
    t = build(mb, x)
    shape = r_shape = {"fully_connected": (1, 120, 120, C)}.get(host, SHAPE4)  # the host's output
    r = mb.input("r", r_shape, np.float32)
    for name in consumers:
        t = CONSUMERS[name](mb, t, shape, r)
        shape = (int(np.prod(shape)) // C, C) if name == "reshape" else shape
    mb.output(t)
    return mb.build(), [_feed(in_shape, 5), _feed(r_shape, 6)]


def _run(model: bytes, feeds: list[np.ndarray], fuse: bool = True, **kw: object) -> tuple[list[np.ndarray], object]:
    it = numlite.Interpreter(model_content=model, **kw)
    it._runtime.fuse = fuse and not kw.get("experimental_preserve_all_tensors", False)
    it.allocate_tensors()
    for d, v in zip(it.get_input_details(), feeds):
        it.set_tensor(d["index"], v)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()], it


def _assert_same_bits(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape and a.dtype == b.dtype
    nan = np.isnan(a)
    np.testing.assert_array_equal(nan, np.isnan(b))
    np.testing.assert_array_equal(a.view(np.uint32)[~nan], b.view(np.uint32)[~nan])  # the signs of zeros too


@pytest.fixture(params=[False, True], ids=["one-tile", "small-tiles"])
def tiles(request, monkeypatch):
    if request.param:  # many tiles per host, so the epilogues run range by range
        monkeypatch.setattr(conv_engine, "TILE_BYTES", 2048)
        monkeypatch.setattr(depthwise_engine, "TILE_BYTES", 4096)
    return request.param


@pytest.mark.parametrize("host", sorted(HOSTS))
@pytest.mark.parametrize("consumer", sorted(CONSUMERS))
def test_fused_op_is_bit_exact(host, consumer, tiles):
    model, feeds = _model(host, [consumer])
    (fused,), it = _run(model, feeds)
    (plain,), ref = _run(model, feeds, fuse=False)
    ex = it._main
    last = max(k.node.index for k in ex.kernels)
    assert last in ex.absorbed, f"{consumer} did not fuse into {host}"
    assert len(ex.steps) < len(ref._main.steps) and not ref._main.absorbed
    assert ex.plan.arena_bytes <= ref._main.plan.arena_bytes
    _assert_same_bits(fused, plain)


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_a_chain_fuses_into_one_step_and_matches_litert(host, tiles):
    chain = ["add_residual", "prelu_sign", "mul_channel", "tanh", "reshape"]
    model, feeds = _model(host, chain)
    feeds = [np.nan_to_num(f, posinf=5, neginf=-5) for f in feeds]  # LiteRT's tolerance check needs finite values
    (fused,), it = _run(model, feeds)
    (plain,), _ = _run(model, feeds, fuse=False)
    ex = it._main
    n = len(ex.kernels)
    assert set(range(n - len(chain), n)) <= set(ex.absorbed), "the whole chain runs inside the host"
    _assert_same_bits(fused, plain)
    # LiteRT's XNNPACK kernels sum in another order: float32 rounding of a short sum
    assert_matches_litert(model, feeds, rtol=1e-5, atol=1e-5)


def test_two_threads_split_depthwise_tiles_and_each_worker_runs_its_epilogues():
    mb = ModelBuilder()
    x = mb.input("x", (1, 192, 192, 32), np.float32)
    w = np.random.default_rng(7).standard_normal((1, 3, 3, 64)).astype(np.float32)
    t = mb.tensor("t", (1, 192, 192, 64), np.float32)
    mb.op("DEPTHWISE_CONV_2D", [x, mb.const("w", w), mb.const("b", np.ones(64, np.float32))], [t],
          padding="SAME", stride_h=1, stride_w=1, dilation_h_factor=1, dilation_w_factor=1, depth_multiplier=2)
    r = mb.input("r", (1, 192, 192, 64), np.float32)
    u = CONSUMERS["add_residual"](mb, t, (1, 192, 192, 64), r)
    v = mb.tensor("v", (1, 192, 192, 64), np.float32)
    mb.op("MUL", [u, mb.const("k", np.linspace(-1, 2, 64, dtype=np.float32))], [v])
    mb.output(v)
    model = mb.build()
    feeds = [_feed((1, 192, 192, 32), 8), _feed((1, 192, 192, 64), 9)]
    (fused,), it = _run(model, feeds, num_threads=2)
    (plain,), _ = _run(model, feeds, fuse=False, num_threads=2)
    assert it._main.kernels[0].plan.workers == 2 and set(it._main.absorbed) == {1, 2}
    _assert_same_bits(fused, plain)


def test_preserve_all_tensors_turns_fusion_off_and_keeps_every_intermediate():
    model, feeds = _model("conv3x3", ["add_residual", "prelu_max", "reshape"])
    _, it = _run(model, feeds, experimental_preserve_all_tensors=True)
    _, plain = _run(model, feeds, fuse=False)
    assert not it._main.absorbed and not it._main.alias and len(it._main.steps) == 4
    for d in it.get_tensor_details():
        i = d["index"]
        if it._main.subgraph.tensors[i].data is None:
            _assert_same_bits(it.get_tensor(i), plain.get_tensor(i))


def test_an_operand_written_after_the_host_blocks_fusion():
    # t = CONV(x) runs first, r = RELU(y) after it, then ADD(t, r): the ADD cannot run inside
    # the convolution (r does not exist yet), but RELU's own output may take it in place
    mb = ModelBuilder()
    x = mb.input("x", (1, 12, 10, 4), np.float32)
    y = mb.input("y", SHAPE4, np.float32)
    t = _conv(mb, x)
    r = mb.tensor("r", SHAPE4, np.float32)
    mb.op("RELU", [y], [r])
    u = mb.tensor("u", SHAPE4, np.float32)
    mb.op("ADD", [t, r], [u])
    mb.output(u)
    model = mb.build()
    feeds = [_feed((1, 12, 10, 4), 1), _feed(SHAPE4, 2)]
    (fused,), it = _run(model, feeds)
    (plain,), _ = _run(model, feeds, fuse=False)
    assert it._main.absorbed == {2: 1}  # the ADD runs inside the RELU, reading t
    _assert_same_bits(fused, plain)


def test_tensors_read_twice_or_graph_outputs_are_not_fused():
    mb = ModelBuilder()
    x = mb.input("x", (1, 12, 10, 4), np.float32)
    t = _conv(mb, x)
    a = mb.tensor("a", SHAPE4, np.float32)
    b = mb.tensor("b", SHAPE4, np.float32)
    mb.op("RELU", [t], [a])
    mb.op("TANH", [t], [b])  # t has two readers
    c = mb.tensor("c", SHAPE4, np.float32)
    mb.op("LOGISTIC", [a], [c])  # a is a graph output: LOGISTIC may not overwrite it
    mb.output(a, b, c)
    model = mb.build()
    feeds = [_feed((1, 12, 10, 4), 3)]
    fused, it = _run(model, feeds)
    plain, _ = _run(model, feeds, fuse=False)
    assert not it._main.absorbed
    for f, p in zip(fused, plain):
        _assert_same_bits(f, p)


def test_fusion_never_needs_more_memory_and_in_place_chains_need_less():
    model, feeds = _model("conv3x3", ["relu6", "tanh", "logistic", "reshape"])
    _, it = _run(model, feeds)
    _, plain = _run(model, feeds, fuse=False)
    assert it._main.plan.arena_bytes < plain._main.plan.arena_bytes
    assert len(it._main.steps) == 1 and len(it._main.alias) == 4
    # a chain with an out-of-place epilogue (PRELU reads t, writes u) would keep the residual, the
    # sum and the PRELU output alive together: the pass then falls back to in-place fusions only
    model, feeds = _model("conv1x1", ["add_residual", "prelu_sign"])
    _, it = _run(model, feeds)
    _, plain = _run(model, feeds, fuse=False)
    assert it._main.plan.arena_bytes <= plain._main.plan.arena_bytes
