"""The newest versions of ops numlite already ran (LiteRT 2.3's resolver registers them).

Each version adds tensor types (op_version.cc in LiteRT's converter): float16 for the data
movement ops, INT4 / INT2 / UINT4 / FLOAT8 for others, int16 activations with INT4 and INT2
weights for FULLY_CONNECTED 13 / 14.  LiteRT's kernels do not always accept what the version
number admits: where LiteRT runs a case, numlite must give the same bytes (these ops only move
values, so equality is exact); where LiteRT refuses the type at prepare (float8 in CONCATENATION,
GATHER, PACK, PAD, REVERSE_V2, SPLIT, UNPACK; float16 in PACK, SPLIT_V), numlite moves the raw
values as stored (float8 values are bytes to these ops), checked against NumPy.
"""

import numpy as np
import pytest
from util import run_litert, run_numlite

from numlite.builder import ModelBuilder
from numlite.ops.dequantize import float8_table


def move_model(op, version, dtype, type_name=None):
    """A one-op model moving a [2, 3] tensor; returns (model, number of inputs, NumPy reference)."""
    mb = ModelBuilder()
    t = dict(type_name=type_name)
    x = mb.input("x", (2, 3), dtype, **t)
    a = np.arange(6).reshape(2, 3)
    n, outs = 1, None
    if op == "CONCATENATION":
        y = mb.input("y", (2, 3), dtype, **t)
        o = mb.tensor("o", (2, 6), dtype, **t)
        mb.op(op, [x, y], [o], version=version, axis=1)
        n, ref = 2, [np.concatenate([a, 2 * a], axis=1)]
    elif op == "BROADCAST_TO":
        o = mb.tensor("o", (2, 2, 3), dtype, **t)
        mb.op(op, [x, mb.const("s", np.array([2, 2, 3], np.int32))], [o], version=version)
        ref = [np.broadcast_to(a, (2, 2, 3))]
    elif op == "GATHER":
        o = mb.tensor("o", (3, 3), dtype, **t)
        mb.op(op, [x, mb.const("i", np.array([1, 0, 1], np.int32))], [o], version=version, axis=0)
        ref = [a[[1, 0, 1]]]
    elif op == "PACK":
        y = mb.input("y", (2, 3), dtype, **t)
        o = mb.tensor("o", (2, 2, 3), dtype, **t)
        mb.op(op, [x, y], [o], version=version, values_count=2, axis=0)
        n, ref = 2, [np.stack([a, 2 * a])]
    elif op in ("PAD", "PADV2"):
        o = mb.tensor("o", (3, 5), dtype, **t)
        extra = [mb.const("v", np.array(0, dtype), **t)] if op == "PADV2" else []
        mb.op(op, [x, mb.const("p", np.array([[1, 0], [0, 2]], np.int32))] + extra, [o], version=version)
        ref = [np.pad(a, [[1, 0], [0, 2]])]
    elif op == "REVERSE_V2":
        o = mb.tensor("o", (2, 3), dtype, **t)
        mb.op(op, [x, mb.const("a", np.array([1], np.int32))], [o], version=version)
        ref = [a[:, ::-1]]
    elif op == "SLICE":
        o = mb.tensor("o", (2, 2), dtype, **t)
        mb.op(op, [x, mb.const("b", np.array([0, 1], np.int32)), mb.const("s", np.array([2, 2], np.int32))], [o],
              version=version)
        ref = [a[:, 1:3]]
    elif op == "SPLIT":
        outs = [mb.tensor(f"o{k}", (2, 1), dtype, **t) for k in range(3)]
        mb.op(op, [mb.const("a", np.array(1, np.int32)), x], outs, version=version, num_splits=3)
        ref = [a[:, k:k + 1] for k in range(3)]
    elif op == "SPLIT_V":
        outs = [mb.tensor("o1", (2, 1), dtype, **t), mb.tensor("o2", (2, 2), dtype, **t)]
        mb.op(op, [x, mb.const("s", np.array([1, 2], np.int32)), mb.const("a", np.array(1, np.int32))], outs,
              version=version, num_splits=2)
        ref = [a[:, :1], a[:, 1:]]
    elif op == "TRANSPOSE":
        o = mb.tensor("o", (3, 2), dtype, **t)
        mb.op(op, [x, mb.const("p", np.array([1, 0], np.int32))], [o], version=version)
        ref = [a.T]
    elif op == "UNPACK":
        outs = [mb.tensor("o1", (3,), dtype, **t), mb.tensor("o2", (3,), dtype, **t)]
        mb.op(op, [x], outs, version=version, num=2, axis=0)
        ref = [a[0], a[1]]
    else:
        raise AssertionError(op)
    outs = outs if outs is not None else [o]
    mb.output(*outs)
    return mb.build(), n, [r.astype(dtype) for r in ref]


TOP = {"BROADCAST_TO": 4, "CONCATENATION": 7, "GATHER": 8, "PACK": 5, "PAD": 6, "PADV2": 6, "REVERSE_V2": 4,
       "SLICE": 8, "SPLIT": 5, "SPLIT_V": 3, "TRANSPOSE": 9, "UNPACK": 6}
LITERT_RUNS_FLOAT16 = {"BROADCAST_TO", "CONCATENATION", "GATHER", "PAD", "SLICE", "SPLIT", "TRANSPOSE", "UNPACK"}
LITERT_RUNS_FLOAT8 = {"BROADCAST_TO", "SLICE", "TRANSPOSE"}


def _feeds(n, dtype):
    return [(np.arange(6).reshape(2, 3) * (k + 1)).astype(dtype) for k in range(n)]


@pytest.mark.parametrize("op", sorted(TOP))
def test_float16_data_movement(op):
    model, n, ref = move_model(op, TOP[op], np.float16)
    ours = run_numlite(model, _feeds(n, np.float16))
    expected = run_litert(model, _feeds(n, np.float16)) if op in LITERT_RUNS_FLOAT16 else ref
    for a, b in zip(ours, expected):
        assert a.dtype == np.float16
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("type_name", ["FLOAT8_E4M3FN", "FLOAT8_E5M2"])
@pytest.mark.parametrize("op", sorted(TOP))
def test_float8_data_movement(op, type_name):
    # float8 tensors are raw bytes to numlite and to LiteRT's Python API (int8 arrays)
    model, n, ref = move_model(op, TOP[op], np.int8, type_name)
    ours = run_numlite(model, _feeds(n, np.int8))
    expected = run_litert(model, _feeds(n, np.int8)) if op in LITERT_RUNS_FLOAT8 else ref
    for a, b in zip(ours, expected):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("type_name", ["FLOAT8_E4M3FN", "FLOAT8_E5M2"])
def test_dequantize_float8(type_name):
    """DEQUANTIZE 9: LiteRT 2.3 refuses float8 input; the reference is ml_dtypes (LiteRT's own
    dependency), which decodes every byte independently of numlite's table."""
    ml_dtypes = pytest.importorskip("ml_dtypes")
    mb = ModelBuilder()
    x = mb.input("x", (256,), np.int8, type_name=type_name)
    o = mb.tensor("o", (256,), np.float32)
    mb.op("DEQUANTIZE", [x], [o], version=9)
    mb.output(o)
    raw = np.arange(256, dtype=np.uint8)
    got = run_numlite(mb.build(), [raw.view(np.int8)])[0]
    want = raw.view(getattr(ml_dtypes, type_name.lower())).astype(np.float32)
    np.testing.assert_array_equal(got, want)  # nan positions included
    assert np.array_equal(float8_table(type_name), want, equal_nan=True)


def _fc_model(x_dtype, x_q, w_type, w, w_q, bias, b_q, out_dtype, out_q, version):
    mb = ModelBuilder()
    x = mb.input("x", (3, 8), x_dtype, quantization=x_q)
    wt = mb.const("w", w, quantization=w_q, type_name=w_type)
    b = -1 if bias is None else mb.const("b", bias, quantization=b_q)
    y = mb.tensor("y", (3, 5), out_dtype, quantization=out_q)
    mb.op("FULLY_CONNECTED", [x, wt, b], [y], version=version)
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize("version", [13, 14])
@pytest.mark.parametrize("w_type,lo,hi", [("INT4", -8, 7), ("INT2", -2, 1)])
@pytest.mark.parametrize("form", ["int16", "int8", "hybrid"])
def test_fully_connected_sub_byte_weights(form, w_type, lo, hi, version):
    """FULLY_CONNECTED 13 (int16 activations, INT4 weights) and 14 (INT2 weights), with the other
    activation forms at those versions: bit-exact with BUILTIN_REF (the hybrid form repeats
    LiteRT's float32 steps, so it is exact too)."""
    rng = np.random.default_rng(version)
    w = rng.integers(lo, hi + 1, (5, 8)).astype(np.int8)
    sw = rng.uniform(0.01, 0.05, 5).astype(np.float32)
    wq = {"scale": sw, "zero_point": [0] * 5, "quantized_dimension": 0}
    if form == "int16":
        args = (np.int16, {"scale": [0.01], "zero_point": [0]}, np.arange(5, dtype=np.int64) * 7,
                {"scale": list(sw * 0.01), "zero_point": [0] * 5}, np.int16, {"scale": [0.02], "zero_point": [0]})
        feed = rng.integers(-3000, 3000, (3, 8)).astype(np.int16)
    elif form == "int8":
        args = (np.int8, {"scale": [0.02], "zero_point": [3]}, np.arange(5, dtype=np.int32) * 7,
                {"scale": list(sw * 0.02), "zero_point": [0] * 5}, np.int8, {"scale": [0.05], "zero_point": [-2]})
        feed = rng.integers(-128, 128, (3, 8)).astype(np.int8)
    else:
        args = (np.float32, None, np.arange(5, dtype=np.float32), None, np.float32, None)
        feed = rng.uniform(-1, 1, (3, 8)).astype(np.float32)
    xd, xq, b, bq, od, oq = args
    model = _fc_model(xd, xq, w_type, w, wq, b, bq, od, oq, version)
    ours, theirs = run_numlite(model, [feed])[0], run_litert(model, [feed], ref=True)[0]
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("type_name", ["FLOAT8_E4M3FN", "FLOAT8_E5M2"])
def test_fill_float8(type_name):
    """FILL 5: a float8 fill value (raw bytes) repeated; checked against NumPy, and against
    LiteRT where it runs the case."""
    mb = ModelBuilder()
    v = mb.input("v", (), np.int8, type_name=type_name)
    o = mb.tensor("o", (2, 3), np.int8, type_name=type_name)
    mb.op("FILL", [mb.const("d", np.array([2, 3], np.int32)), v], [o], version=5)
    mb.output(o)
    model = mb.build()
    got = run_numlite(model, [np.array(0x3C, np.int8)])[0]
    np.testing.assert_array_equal(got, np.full((2, 3), 0x3C, np.int8))
    try:
        theirs = run_litert(model, [np.array(0x3C, np.int8)])[0]
    except (RuntimeError, ValueError):
        return
    np.testing.assert_array_equal(got, theirs)
