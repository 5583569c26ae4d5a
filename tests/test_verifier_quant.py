"""Hostile quantization parameters and corrupt bytes in quantized models: every case ends in a
numlite error (``ModelError`` at load, ``PrepareError`` / ``ValueError`` at allocate or invoke)
or a clean run - never a crash, a hang, a NumPy exception type leaking out, or huge memory.

The model chains most quantized kernels (CONV_2D per channel, DEPTHWISE_CONV_2D, ADD, MUL,
AVERAGE_POOL_2D, MEAN, FULLY_CONNECTED, SOFTMAX, LOGISTIC, EXP, DIV, ABS, QUANTIZE,
DEQUANTIZE), so each tensor's scale, zero point and quantized dimension reaches a kernel's
prepare-time arithmetic (multipliers, lookup tables, clamp ranges)."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import numlite
from numlite.builder import ModelBuilder
from numlite.errors import ModelError
from numlite.schema.writer import write_model

I8 = np.int8


def quant_builder() -> ModelBuilder:
    rng = np.random.default_rng(0)
    mb = ModelBuilder()

    def q(scale: float, zp: int = 0) -> dict:
        return {"scale": [scale], "zero_point": [zp]}

    def t(name: str, shape: tuple, scale: float, zp: int = 0) -> int:
        return mb.tensor(name, shape, I8, quantization=q(scale, zp))

    x = mb.input("x", (1, 6, 6, 3), I8, quantization=q(0.05, -3))
    w = mb.const("w", rng.integers(-127, 128, (4, 3, 3, 3)).astype(I8),
                 quantization={"scale": [0.01, 0.02, 0.005, 0.03], "zero_point": [0] * 4, "quantized_dimension": 0})
    b = mb.const("b", rng.integers(-500, 500, 4).astype(np.int32),
                 quantization={"scale": [5e-4, 1e-3, 2.5e-4, 1.5e-3], "zero_point": [0] * 4})
    c1 = t("conv", (1, 6, 6, 4), 0.04, -128)
    mb.op("CONV_2D", [x, w, b], [c1], version=3, padding="SAME", stride_h=1, stride_w=1,
          fused_activation_function="RELU6")
    dw = mb.const("dw", rng.integers(-127, 128, (1, 3, 3, 4)).astype(I8),
                  quantization={"scale": [0.02] * 4, "zero_point": [0] * 4, "quantized_dimension": 3})
    db = mb.const("db", rng.integers(-300, 300, 4).astype(np.int32),
                  quantization={"scale": [8e-4] * 4, "zero_point": [0] * 4})
    d1 = t("dw_out", (1, 6, 6, 4), 0.03, 5)
    mb.op("DEPTHWISE_CONV_2D", [c1, dw, db], [d1], version=3, padding="SAME", stride_h=1, stride_w=1,
          depth_multiplier=1)
    a1 = t("add", (1, 6, 6, 4), 0.06, 2)
    mb.op("ADD", [c1, d1], [a1], version=2)
    m1 = t("mul", (1, 6, 6, 4), 0.1, -7)
    mb.op("MUL", [a1, d1], [m1], version=2)
    p1 = t("pool", (1, 3, 3, 4), 0.1, -7)
    mb.op("AVERAGE_POOL_2D", [m1], [p1], version=2, padding="VALID", stride_h=2, stride_w=2,
          filter_height=2, filter_width=2)
    axes = mb.const("axes", np.array([1, 2], np.int32))
    mean = t("mean", (1, 4), 0.08, 1)
    mb.op("MEAN", [p1, axes], [mean], version=2, keep_dims=False)
    fw = mb.const("fw", rng.integers(-127, 128, (5, 4)).astype(I8), quantization=q(0.02))
    fb = mb.const("fb", rng.integers(-300, 300, 5).astype(np.int32), quantization=q(0.08 * 0.02))
    fc = t("fc", (1, 5), 0.2, 3)
    mb.op("FULLY_CONNECTED", [mean, fw, fb], [fc], version=4)
    sm = t("softmax", (1, 5), 1 / 256, -128)
    mb.op("SOFTMAX", [fc], [sm], version=2, beta=1.0)
    lg = t("logistic", (1, 5), 1 / 256, -128)
    mb.op("LOGISTIC", [fc], [lg], version=2)
    ex = t("exp", (1, 5), 0.02, -128)  # exp of [0, 1]: never the zero point, a safe divisor
    mb.op("EXP", [lg], [ex], version=2)
    dv = t("div", (1, 5), 0.05, 0)
    mb.op("DIV", [sm, ex], [dv], version=2)
    ab = t("abs", (1, 5), 0.05, -20)
    mb.op("ABS", [dv], [ab], version=2)
    rq = t("requant", (1, 5), 0.03, 10)
    mb.op("QUANTIZE", [ab], [rq], version=2)
    out = mb.tensor("out", (1, 5), np.float32)
    mb.op("DEQUANTIZE", [rq], [out], version=2)
    mb.output(out, lg)
    return mb


def run_safely(data: bytes) -> str:
    """Load, allocate and invoke; 'error' (load), 'run-error' (allocate / invoke) or 'ran'."""
    try:
        it = numlite.Interpreter(model_content=data)
    except ModelError:
        return "error"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            it.allocate_tensors()
            for d in it.get_input_details():
                info = np.iinfo(d["dtype"]) if np.issubdtype(d["dtype"], np.integer) else None
                x = np.full(d["shape"], info.max if info else 0.5, d["dtype"])
                it.set_tensor(d["index"], x)
            it.invoke()
            for d in it.get_output_details():
                it.get_tensor(d["index"])
        except (ValueError, RuntimeError):
            return "run-error"
    return "ran"


BASE = quant_builder()
GOOD = BASE.build()


def test_model_runs_and_matches_litert():
    from util import run_litert, run_numlite

    x = np.random.default_rng(1).integers(-128, 128, (1, 6, 6, 3)).astype(I8)
    ours, theirs = run_numlite(GOOD, [x]), run_litert(GOOD, [x], ref=True)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
    assert run_safely(GOOD) == "ran"


HOSTILE_SCALES = [0.0, -0.05, np.nan, np.inf, -np.inf, 1e-45, 1e-38, 3e38, 1e-30, 1e30]
HOSTILE_ZPS = [-(2**31), 2**31 - 1, 128, -129, 1000, 255]


def with_quant(tensor: int, **changes) -> bytes:
    d = copy.deepcopy(BASE.model_dict())
    q = d["subgraphs"][0]["tensors"][tensor].get("quantization")
    if q is None:
        return b""
    for k, v in changes.items():
        q[k] = np.full(np.shape(q[k]), v, q[k].dtype) if k in ("scale", "zero_point") else v
    return write_model(d)


QUANTIZED = [i for i, t in enumerate(BASE.model_dict()["subgraphs"][0]["tensors"]) if t.get("quantization")]


@pytest.mark.parametrize("tensor", QUANTIZED)
def test_hostile_scales(tensor):
    for s in HOSTILE_SCALES:
        data = with_quant(tensor, scale=np.float32(s))
        assert run_safely(data) in ("error", "run-error", "ran")


@pytest.mark.parametrize("tensor", QUANTIZED)
def test_hostile_zero_points(tensor):
    for zp in HOSTILE_ZPS:
        data = with_quant(tensor, zero_point=np.int64(zp))
        assert run_safely(data) in ("error", "run-error", "ran")


@pytest.mark.parametrize("tensor", QUANTIZED)
def test_hostile_quantized_dimension(tensor):
    for qd in (-1, 3, 4, 99, 2**31 - 1):
        assert run_safely(with_quant(tensor, quantized_dimension=qd)) in ("error", "run-error", "ran")


def test_scale_count_mismatch():
    """Per-channel parameter vectors of the wrong length on weights and bias."""
    for tensor in QUANTIZED:
        d = copy.deepcopy(BASE.model_dict())
        q = d["subgraphs"][0]["tensors"][tensor]["quantization"]
        for n in (0, 2, 7):
            q["scale"] = np.full(n, 0.01, np.float32)
            q["zero_point"] = np.zeros(n, np.int64)
            assert run_safely(write_model(d)) in ("error", "run-error", "ran")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 100_000), st.binary(min_size=1, max_size=4)), min_size=1, max_size=4))
def test_byte_mutations(edits):
    b = bytearray(GOOD)
    for pos, payload in edits:
        p = pos % len(b)
        b[p:p + len(payload)] = payload
    assert run_safely(bytes(b)) in ("error", "run-error", "ran")


def test_zero_point_outside_the_type_is_refused_clearly():
    it = numlite.Interpreter(model_content=with_quant(0, zero_point=np.int64(128)))
    with pytest.raises(RuntimeError, match=r"CONV_2D \(node 0\): tensor 0 'x' .*zero point 128, outside int8's "
                                           r"range \[-128, 127\]"):
        it.allocate_tensors()


HOSTILE_INTS = {"byte": [-1, 127, 5], "ubyte": [255, 9], "short": [-32768, 32767], "int": [0, -1, 2**31 - 1, -(2**31)],
                "long": [-(2**63), 2**63 - 1], "bool": [1]}
HOSTILE_FLOATS = [0.0, -1.0, float("nan"), float("inf"), -float("inf"), 3e38, 1e-45]


def test_hostile_builtin_options():
    """Every scalar field of every operator's options table (padding, strides, dilations,
    filter sizes, depth multiplier, beta, keep_dims, activation codes, ...) set to extremes."""
    from numlite.schema._schema import TABLES, UNIONS

    base = BASE.model_dict()
    outcomes: set[str] = set()
    for i, op in enumerate(base["subgraphs"][0]["operators"]):
        table = UNIONS["BuiltinOptions"][op["builtin_options_type"] - 1] if op.get("builtin_options_type") else None
        for name, kind, ftype, _default, _slot in TABLES.get(table, []):
            if kind != "scalar":
                continue
            for v in HOSTILE_FLOATS if ftype in ("float", "double") else HOSTILE_INTS.get(ftype, []):
                d = copy.deepcopy(base)
                d["subgraphs"][0]["operators"][i]["builtin_options"][name] = v
                try:
                    data = write_model(d)
                except (OverflowError, ValueError, TypeError):  # the writer refuses the value itself
                    continue
                outcomes.add(run_safely(data))
    assert "run-error" in outcomes and outcomes <= {"error", "run-error", "ran"}


@pytest.mark.parametrize("dtype", [np.int8, np.float32])
def test_input_larger_than_memory_is_refused_before_planning(dtype):
    """A shape under the loader's 2**40-byte bound but beyond physical memory (found by the byte
    mutations: H = 1859490054) is refused at allocate_tensors before any kernel plans work for
    it; nothing large is allocated."""
    import tracemalloc

    mb = ModelBuilder()
    h = 1859490054 if dtype == np.int8 else 400_000_000  # under 2**40 bytes either way
    q = {"scale": [0.05], "zero_point": [0]} if dtype == np.int8 else None
    x = mb.input("x", (1, h, 131, 3), dtype, quantization=q)
    wq = {"scale": [0.01] * 4, "zero_point": [0] * 4, "quantized_dimension": 0} if dtype == np.int8 else None
    w = mb.const("w", np.ones((4, 3, 3, 3), dtype), quantization=wq)
    bq = {"scale": [5e-4] * 4, "zero_point": [0] * 4} if dtype == np.int8 else None
    b = mb.const("b", np.zeros(4, np.int32 if dtype == np.int8 else np.float32), quantization=bq)
    y = mb.tensor("y", (1, h, 131, 4), dtype, quantization=q)
    mb.op("CONV_2D", [x, w, b], [y], version=3, padding="SAME", stride_h=1, stride_w=1)
    mb.output(y)
    it = numlite.Interpreter(model_content=mb.build())
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match=r"CONV_2D \(node 0\): tensor 0 'x' .* more than this machine's"):
            it.allocate_tensors()
        assert tracemalloc.get_traced_memory()[1] < 50 << 20
    finally:
        tracemalloc.stop()


def test_tile_plans_stay_bounded_for_absurd_shapes():
    from numlite.ops import _conv, _depthwise

    g = _conv.ConvGeometry.make((1, 10**8, 131, 3), 3, 3, (1, 1), (1, 1), 0)
    assert len(_conv.plan_tiles(g, 256)) <= _conv.MAX_TILES + 1
    g = _conv.ConvGeometry.make((10**7, 1, 1, 3), 1, 1, (1, 1), (1, 1), 0)
    assert len(_conv.plan_tiles(g, 256)) <= _conv.MAX_TILES + 1
    plan = _depthwise.DepthwisePlan((1, 10**7, 50, 8), 3, 3, 8, (1, 1), (1, 1), (10**7, 50), (1, 1), True, 0)
    assert sum(len(gr) for gr in plan.groups) <= _depthwise.MAX_TILES + 1
