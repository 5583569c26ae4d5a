"""The type declarations of ``numlite/ops/_support.py`` (``numlite.supported_ops()``).

1. Every name in ``TYPES`` is a TFLite ``TensorType`` name, and every entry names a registered
   builtin operator.
2. Spot checks: a sample of the declared types, plain and quantized, each run as a single-op
   model on numlite and on LiteRT.  The case first asserts that ``supported_ops()`` makes the
   claim it checks (the type is in the op's ``dtypes``, or in its ``quantized`` list), then
   compares the outputs: integer outputs exactly, float ones within 1e-5 relative (float32
   rounding of another summation order; most of these ops only move data and match exactly).
   Quantized cases run on LiteRT's reference kernels (BUILTIN_REF), the ones numlite is
   bit-exact with; hybrid forms are not sampled here (their own test files cover them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, rand, single_op_model

import numlite
from numlite.builder import ModelBuilder
from numlite.ops._support import TYPES
from numlite.ops.registry import supported_builtins
from numlite.schema._schema import ENUMS

TENSOR_TYPES = set(ENUMS["TensorType"][1])
ROWS = {r["op"]: r for r in numlite.supported_ops() if not r["custom"]}


def test_type_names_are_tflite_tensor_types():
    bad = {op: [t for t in plain + quant if t not in TENSOR_TYPES] for op, (plain, quant) in TYPES.items()}
    assert not {op: ts for op, ts in bad.items() if ts}, "not TensorType names"
    for op, (plain, quant) in TYPES.items():
        assert op in ROWS, f"{op} is declared but not registered"
        assert plain or quant, f"{op} declares no types"
        assert len(set(plain)) == len(plain) and len(set(quant)) == len(quant), f"{op} repeats a type"


def test_every_builtin_declares_types():
    assert not [op for op, r in ROWS.items() if not r["dtypes"] and not r["quantized"]]


# -- spot checks ---------------------------------------------------------------------------------
def q(scale: float = 0.05, zp: int = 0) -> dict:
    return {"scale": [scale], "zero_point": [zp]}


def ints(shape, dtype, seed=0, lo=None, hi=None):
    info = np.iinfo(dtype)
    lo = max(info.min, -100) if lo is None else lo
    hi = min(info.max, 100) if hi is None else hi
    return rand(shape, dtype, seed=seed, lo=lo, hi=hi)


def version(op: str) -> int:
    return supported_builtins()[op][0]


def unary(op: str, dtype: Any, shape=(2, 3), quant: dict | None = None, extra=(), out_dtype: Any = None,
          out_quant: dict | None = None, x: np.ndarray | None = None, **opts: Any):
    """One data input (fed), constant extra inputs, one output (``out_quant``: None = the input's
    parameters, ``{}`` = none)."""
    m = single_op_model(op, [In(shape, dtype, quant=quant), *extra],
                        Out((), dtype if out_dtype is None else out_dtype,
                            quant=quant if out_quant is None else (out_quant or None)),
                        version=version(op), **opts)
    if x is None:
        x = ints(shape, dtype) if np.dtype(dtype).kind in "iu" else rand(shape, dtype, lo=-5, hi=5)
    return m, [x]


def conv2d_int8():
    w = ints((3, 2, 2, 2), np.int8, seed=1, lo=-127, hi=127)
    wq = {"scale": [0.02, 0.03, 0.01], "zero_point": [0, 0, 0], "quantized_dimension": 0}
    s_in = 0.05
    b = Const(np.array([100, -50, 7], np.int32), quant={"scale": [s_in * 0.02, s_in * 0.03, s_in * 0.01],
                                                        "zero_point": [0, 0, 0]})
    m = single_op_model("CONV_2D", [In((1, 4, 4, 2), np.int8, quant=q(s_in, 3)), Const(w, quant=wq), b],
                        Out((), np.int8, quant=q(0.2, -5)), version=3, padding="SAME", stride_h=1,
                        stride_w=1)
    return m, [ints((1, 4, 4, 2), np.int8, lo=-128, hi=127)]


def fully_connected_uint8():
    w = ints((4, 6), np.uint8, seed=2, lo=0, hi=255)
    b = Const(np.array([10, -20, 30, 0], np.int32), quant=q(0.1 * 0.02, 0))
    m = single_op_model("FULLY_CONNECTED", [In((2, 6), np.uint8, quant=q(0.1, 128)), Const(w, quant=q(0.02, 120)), b],
                        Out((), np.uint8, quant=q(0.5, 100)))
    return m, [ints((2, 6), np.uint8, lo=0, hi=255)]


def batch_matmul_int8():
    m = single_op_model("BATCH_MATMUL", [In((2, 3, 4), np.int8, quant=q(0.05, 2)),
                                         In((2, 4, 5), np.int8, quant=q(0.04, -3))],
                        Out((), np.int8, quant=q(0.1, 1)), version=2)
    return m, [ints((2, 3, 4), np.int8, seed=3), ints((2, 4, 5), np.int8, seed=4)]


def prelu_uint8():
    alpha = Const(ints((3,), np.uint8, seed=5, lo=0, hi=255), quant=q(0.01, 128))
    return unary("PRELU", np.uint8, quant=q(0.1, 120), extra=[alpha], out_quant=q(0.08, 110),
                 x=ints((2, 3), np.uint8, lo=0, hi=255))


def softmax_int8():
    return unary("SOFTMAX", np.int8, quant=q(0.1, 4), out_quant=q(1 / 256, -128), beta=1.0,
                 x=ints((2, 3), np.int8, lo=-128, hi=127))


def concat_uint8_rescaled():
    ins = [In((2, 2), np.uint8, quant=q(0.1, 100)), In((2, 3), np.uint8, quant=q(0.2, 50))]
    m = single_op_model("CONCATENATION", ins, Out((), np.uint8, quant=q(0.15, 90)), axis=1)
    return m, [ints((2, 2), np.uint8, lo=0, hi=255), ints((2, 3), np.uint8, seed=1, lo=0, hi=255)]


def equal_int8():
    m = single_op_model("EQUAL", [In((2, 3), np.int8, quant=q(0.1, 1)), In((2, 3), np.int8, quant=q(0.2, 1))],
                        Out((), np.bool_))
    return m, [np.array([[1, 3, 5], [-1, 7, 9]], np.int8), np.array([[1, 2, 4], [0, 4, 2]], np.int8)]


def select_v2_float16():
    m = single_op_model("SELECT_V2", [In((2, 3), np.bool_), In((2, 3), np.float16), In((1, 3), np.float16)],
                        Out((), np.float16))
    return m, [rand((2, 3), np.bool_), rand((2, 3), np.float16), rand((1, 3), np.float16, seed=1)]


def variable_model(dtype):
    mb = ModelBuilder()
    x = mb.input("x", (3,), dtype)
    h = mb.tensor("h", (), np.int32, type_name="RESOURCE")
    mb.op("VAR_HANDLE", [], [h], container="", shared_name="v")
    mb.op("ASSIGN_VARIABLE", [h, x], [])
    out = mb.tensor("out", (3,), dtype)
    mb.op("READ_VARIABLE", [h], [out])
    mb.output(out)
    return mb.build(), [np.array([1, 2, 3], dtype)]


def while_model(dtype, quant=None):
    """Count an int32 down to 0 while carrying a second loop variable of ``dtype`` unchanged."""
    mb = ModelBuilder()
    n = mb.input("n", (), np.int32)
    v = mb.input("v", (3,), dtype, quantization=quant)
    on, ov = mb.tensor("on", (), np.int32), mb.tensor("ov", (3,), dtype, quantization=quant)
    mb.op("WHILE", [n, v], [on, ov], cond_subgraph_index=1, body_subgraph_index=2)
    mb.output(on, ov)
    mb.new_subgraph("cond")
    cn, cv = mb.input("cn", (), np.int32), mb.input("cv", (3,), dtype, quantization=quant)
    c = mb.tensor("c", (), np.bool_)
    mb.op("GREATER", [cn, mb.const("zero", np.array(0, np.int32))], [c])
    mb.output(c)
    del cv
    mb.new_subgraph("body")
    bn, bv = mb.input("bn", (), np.int32), mb.input("bv", (3,), dtype, quantization=quant)
    nn = mb.tensor("nn", (), np.int32)
    mb.op("SUB", [bn, mb.const("one", np.array(1, np.int32))], [nn])
    mb.output(nn, bv)
    return mb.build(), [np.array(3, np.int32), np.array([1, 2, 3], dtype)]


def slice_float8():
    """float8 tensors are raw bytes (int8 arrays) to numlite and to LiteRT's Python API."""
    mb = ModelBuilder()
    x = mb.input("x", (2, 3), np.int8, type_name="FLOAT8_E4M3FN")
    o = mb.tensor("o", (2, 2), np.int8, type_name="FLOAT8_E4M3FN")
    mb.op("SLICE", [x, mb.const("b", np.array([0, 1], np.int32)), mb.const("s", np.array([2, 2], np.int32))], [o],
          version=8)
    mb.output(o)
    return mb.build(), [ints((2, 3), np.int8)]


I32 = lambda v: Const(np.asarray(v, np.int32))  # noqa: E731
I64 = lambda v: Const(np.asarray(v, np.int64))  # noqa: E731
STR = np.object_

# (op, TFLite type, quantized?, builder of (model, feeds))
CASES: list[tuple[str, str, bool, Callable[[], tuple[bytes, list[np.ndarray]]]]] = [
    ("ADD_N", "INT32", False, lambda: (single_op_model("ADD_N", [In((2, 3), np.int32), In((2, 3), np.int32)],
                                                       Out((2, 3), np.int32)),
                                       [ints((2, 3), np.int32), ints((2, 3), np.int32, seed=1)])),
    ("CUMSUM", "INT64", False, lambda: unary("CUMSUM", np.int64, extra=[I32(1)], exclusive=True)),
    ("MEAN", "INT8", True, lambda: unary("MEAN", np.int8, quant=q(0.1, 3), extra=[I32([1])], out_quant=q(0.05, -2))),
    ("SUM", "UINT8", True, lambda: unary("SUM", np.uint8, quant=q(0.1, 30), extra=[I32([1])], out_quant=q(0.3, 10),
                                         x=ints((2, 3), np.uint8, lo=0, hi=255))),
    ("REDUCE_PROD", "INT16", False, lambda: unary("REDUCE_PROD", np.int16, extra=[I32([0])], x=ints((2, 3), np.int16,
                                                                                                   lo=-9, hi=9))),
    ("REDUCE_MAX", "INT8", True, lambda: unary("REDUCE_MAX", np.int8, quant=q(0.1, 3), extra=[I32([1])])),
    ("MAXIMUM", "INT16", True, lambda: (single_op_model("MAXIMUM", [In((2, 3), np.int16, quant=q()),
                                                                    In((2, 3), np.int16, quant=q())],
                                                        Out((), np.int16, quant=q())),
                                        [ints((2, 3), np.int16), ints((2, 3), np.int16, seed=1)])),
    ("EQUAL", "INT8", True, equal_int8),
    ("ARG_MAX", "UINT8", True, lambda: unary("ARG_MAX", np.uint8, quant=q(0.1, 10), extra=[I32([1])],
                                             out_dtype=np.int32, out_quant={}, output_type="INT32")),
    ("TOPK_V2", "INT16", False, lambda: (single_op_model("TOPK_V2", [In((2, 5), np.int16), I32(2)],
                                                         [Out((), np.int16), Out((), np.int32)]),
                                         [ints((2, 5), np.int16)])),
    ("UNIQUE", "INT16", False, lambda: (single_op_model("UNIQUE", [In((6,), np.int16)],
                                                        [Out((), np.int16), Out((6,), np.int32)]),
                                        [np.array([3, 1, 3, 2, 1, 7], np.int16)])),
    ("WHERE", "UINT32", False, lambda: (single_op_model("WHERE", [In((2, 3), np.uint32)], Out((), np.int64)),
                                        [np.array([[0, 1, 0], [5, 0, 2]], np.uint32)])),
    ("BUCKETIZE", "INT64", False, lambda: unary("BUCKETIZE", np.int64, out_dtype=np.int32,
                                                boundaries=[-10.0, 0.0, 5.5])),
    ("SEGMENT_SUM", "INT32", False, lambda: (single_op_model("SEGMENT_SUM", [In((4, 2), np.int32), I32([0, 0, 1, 2])],
                                                             Out((), np.int32)), [ints((4, 2), np.int32)])),
    ("CONV_2D", "INT8", True, conv2d_int8),
    ("FULLY_CONNECTED", "UINT8", True, fully_connected_uint8),
    ("BATCH_MATMUL", "INT8", True, batch_matmul_int8),
    ("AVERAGE_POOL_2D", "INT8", True, lambda: unary("AVERAGE_POOL_2D", np.int8, shape=(1, 4, 4, 2), quant=q(0.1, 3),
                                                    padding="SAME", stride_h=2, stride_w=2, filter_height=3,
                                                    filter_width=3)),
    ("MAX_POOL_2D", "INT16", True, lambda: unary("MAX_POOL_2D", np.int16, shape=(1, 4, 4, 2), quant=q(0.1, 0),
                                                 padding="VALID", stride_h=1, stride_w=1, filter_height=2,
                                                 filter_width=2)),
    ("SOFTMAX", "INT8", True, softmax_int8),
    ("PRELU", "UINT8", True, prelu_uint8),
    ("RESIZE_BILINEAR", "INT16", True, lambda: unary("RESIZE_BILINEAR", np.int16, shape=(1, 2, 3, 1), quant=q(),
                                                     extra=[I32([3, 5])], half_pixel_centers=True)),
    ("QUANTIZE", "INT16", True, lambda: unary("QUANTIZE", np.float32, out_dtype=np.int16, out_quant=q(0.01, 0))),
    ("QUANTIZE", "INT32", True, lambda: unary("QUANTIZE", np.int32, quant=q(0.01, 0), out_dtype=np.int8,
                                              out_quant=q(0.5, 3), x=ints((2, 3), np.int32, lo=-9000, hi=9000))),
    ("DEQUANTIZE", "UINT8", True, lambda: unary("DEQUANTIZE", np.uint8, quant=q(0.1, 128), out_dtype=np.float32,
                                                out_quant={}, x=ints((2, 3), np.uint8, lo=0, hi=255))),
    ("DEQUANTIZE", "FLOAT16", False, lambda: unary("DEQUANTIZE", np.float16, out_dtype=np.float32)),
    ("CONCATENATION", "UINT8", True, concat_uint8_rescaled),
    ("GATHER", "STRING", False, lambda: (single_op_model("GATHER", [In((3,), STR), I32([2, 0, 2])], Out((3,), STR)),
                                         [np.array([b"a", b"bc", b"def"], object)])),
    ("GATHER", "INT16", True, lambda: unary("GATHER", np.int16, quant=q(), extra=[I32([1, 0, 1])], axis=1)),
    ("PAD", "INT8", True, lambda: unary("PAD", np.int8, quant=q(0.1, -7), extra=[I32([[1, 0], [0, 2]])])),
    ("MIRROR_PAD", "BOOL", False, lambda: unary("MIRROR_PAD", np.bool_, extra=[I32([[1, 1], [0, 2]])],
                                                mode="SYMMETRIC")),
    ("SLICE", "FLOAT8_E4M3FN", False, slice_float8),
    ("TILE", "STRING", False, lambda: unary("TILE", STR, shape=(2,), extra=[I32([3])],
                                            x=np.array([b"x", b"yz"], object))),
    ("TRANSPOSE", "UINT8", True, lambda: unary("TRANSPOSE", np.uint8, quant=q(0.1, 128), extra=[I32([1, 0])])),
    ("SELECT_V2", "FLOAT16", False, select_v2_float16),
    ("SPACE_TO_BATCH_ND", "FLOAT64", False, lambda: unary("SPACE_TO_BATCH_ND", np.float64, shape=(1, 4, 4, 1),
                                                          extra=[I32([2, 2]), I32([[0, 0], [0, 0]])])),
    ("DYNAMIC_UPDATE_SLICE", "INT16", True, lambda: (single_op_model("DYNAMIC_UPDATE_SLICE",
                                                                     [In((3, 4), np.int16, quant=q()),
                                                                      In((2, 2), np.int16, quant=q()), I32([1, 1])],
                                                                     Out((), np.int16, quant=q())),
                                                     [ints((3, 4), np.int16), ints((2, 2), np.int16, seed=1)])),
    ("SPARSE_TO_DENSE", "UINT8", False, lambda: (single_op_model("SPARSE_TO_DENSE",
                                                                 [I32([[0, 1], [2, 3]]), I32([3, 4]),
                                                                  In((2,), np.uint8), Const(np.array(9, np.uint8))],
                                                                 Out((), np.uint8)),
                                                 [np.array([4, 200], np.uint8)])),
    ("REVERSE_SEQUENCE", "INT16", False, lambda: unary("REVERSE_SEQUENCE", np.int16, shape=(2, 4), extra=[I32([3, 1])],
                                                       seq_dim=1, batch_dim=0)),
    ("ONE_HOT", "BOOL", False, lambda: (single_op_model("ONE_HOT", [In((3,), np.int32), I32(4),
                                                                    Const(np.array(True)), Const(np.array(False))],
                                                        Out((), np.bool_)), [np.array([0, 3, 7], np.int32)])),
    ("DILATE", "INT16", False, lambda: unary("DILATE", np.int16, extra=[I32([2, 1]), Const(np.array(-1, np.int16))])),
    ("REDUCE_WINDOW", "FLOAT64", False, lambda: unary("REDUCE_WINDOW", np.float64, shape=(6,),
                                                      extra=[Const(np.array(0.0)), I64([2]), I64([2]), I64([1])],
                                                      reduce_function="ADD")),
    ("RANGE", "INT64", False, lambda: (single_op_model("RANGE", [In((), np.int64), I64(10), I64(3)], Out((), np.int64)),
                                       [np.array(-2, np.int64)])),
    ("BITCAST", "UINT16", False, lambda: unary("BITCAST", np.uint16, shape=(3,), out_dtype=np.uint8)),
    ("L2_POOL_2D", "FLOAT32", False, lambda: unary("L2_POOL_2D", np.float32, shape=(1, 4, 4, 2), padding="VALID",
                                                   stride_h=2, stride_w=2, filter_height=2, filter_width=2)),
    ("ASSIGN_VARIABLE", "FLOAT64", False, lambda: variable_model(np.float64)),
    ("READ_VARIABLE", "UINT16", False, lambda: variable_model(np.uint16)),
    ("WHILE", "COMPLEX64", False, lambda: while_model(np.complex64)),
    ("WHILE", "INT8", True, lambda: while_model(np.int8, q(0.1, 2))),
]


@pytest.mark.parametrize("op,type_name,quantized,build", CASES,
                         ids=[f"{op}-{t}{'-q' if qz else ''}" for op, t, qz, _ in CASES])
def test_declared_type_runs_like_litert(op, type_name, quantized, build):
    row = ROWS[op]
    assert type_name in (row["quantized"] if quantized else row["dtypes"]), (op, type_name, row)
    model, feeds = build()
    assert_matches_litert(model, feeds, ref=quantized)


def test_spot_checks_cover_enough_ops():
    ops = {op for op, *_ in CASES}
    assert len(ops) >= 20 and sum(1 for _, _, qz, _ in CASES if qz) >= 10
