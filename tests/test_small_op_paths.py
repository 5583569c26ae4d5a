"""The invoke paths added for small tensors (benchmarks/bench_small_ops.py), against LiteRT.

Quantized outputs are compared bit-exactly with LiteRT's reference kernels (BUILTIN_REF);
float outputs of the data-movement ops exactly.  Each test names the path it exercises:
SOFTMAX's 8-bit row factors (one row, a few rows on Python ints, many rows vectorised, long
rows on the reference form), MEAN / SUM's tabulated and per-invoke fixed-point forms,
QUANTIZE's per-tensor fast path and its fallback, CAST without ``np.errstate``, GATHER's
one-reduction range check and the single-copy view ops.
"""

import warnings

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, run_numlite, single_op_model

import numlite
from numlite.ops import softmax as sm


def qp(scale, zp):
    return {"scale": [scale], "zero_point": [zp]}


# --- SOFTMAX, 8-bit ---------------------------------------------------------------------------
@pytest.mark.parametrize("rows", [1, 2, sm.FEW_ROWS8, sm.FEW_ROWS8 + 1, 64])
@pytest.mark.parametrize("case", [(np.int8, np.int8, 1 / 256, -128), (np.uint8, np.uint8, 1 / 256, 0),
                                  (np.int8, np.int16, 1 / 65536, -32768)], ids=["i8", "u8", "i8-i16"])
def test_softmax8_row_paths(rows, case):
    dt, odt, so, zo = case
    info = np.iinfo(dt)
    for seed in range(3):
        rng = np.random.default_rng(seed * 100 + rows)
        cols = int(rng.integers(1, 300 if odt == np.int16 else 200))
        scale = float(10 ** rng.uniform(-3, 0.3))
        beta = float(rng.choice([1.0, 0.3, 2.5]))
        zi = int(rng.integers(info.min, info.max + 1))
        x = rng.integers(info.min, info.max + 1, size=(rows, cols)).astype(dt)
        x[0, :] = x[0, 0]  # a row of equal values: the largest sum of exps
        m = single_op_model("SOFTMAX", [In(x.shape, dt, quant=qp(scale, zi))], Out(x.shape, odt, quant=qp(so, zo)),
                            beta=beta)
        assert_matches_litert(m, [x], ref=True)


def test_softmax8_row_factors_match_reference():
    # the lean reciprocal on Python ints and vectorised against _qnonlinear's general form, over
    # every power-of-two boundary of the row sum and random sums in [2**19, 2**31)
    from numlite.ops import _qnonlinear as qn

    rng = np.random.default_rng(0)
    s = np.concatenate([[(1 << k) + d for k in range(19, 31) for d in (-1, 0, 1)],
                        rng.integers(1 << 19, 1 << 31, 3000)]).astype(np.int64)
    s = s[(s >= 1 << 19) & (s < 1 << 31)].reshape(-1, 1)
    for bits in (8, 16):
        scale, over = qn.get_reciprocal(s, 12)
        e = np.minimum(over + 31 - bits, 32)
        want = (scale, (1 << 30) + (np.int64(1) << (e + 30)), 31 + e)
        mul, c1, sh = (np.zeros_like(s) for _ in range(3))
        sm.reciprocal8_rows(s, mul, c1, sh, bits)()
        for got, ref in zip((mul, c1, sh), want):
            np.testing.assert_array_equal(got, ref)
        ints = np.array([sm.reciprocal8_int(int(v), bits) for v in s[:, 0]])
        for k, ref in enumerate(want):
            np.testing.assert_array_equal(ints[:, k], ref[:, 0])


def test_softmax8_long_rows_reference_form():
    # rows of GENERIC_COLS or more: the reference reciprocal (a row sum could wrap int32);
    # 8-bit output keeps sums of exps below 512 (LiteRT's reference aborts beyond), int16 need not
    rng = np.random.default_rng(5)
    cols = sm.GENERIC_COLS + 3
    x = rng.integers(-128, -60, size=(2, cols)).astype(np.int8)
    x[:, 7] = 127
    m = single_op_model("SOFTMAX", [In(x.shape, np.int8, quant=qp(0.5, 0))],
                        Out(x.shape, np.int8, quant=qp(1 / 256, -128)), beta=1.0)
    assert_matches_litert(m, [x], ref=True)
    x = rng.integers(-128, 128, size=(3, cols)).astype(np.int8)
    m = single_op_model("SOFTMAX", [In(x.shape, np.int8, quant=qp(0.05, 3))],
                        Out(x.shape, np.int16, quant=qp(1 / 65536, -32768)), beta=1.0)
    assert_matches_litert(m, [x], ref=True)


@pytest.mark.parametrize("rows", [1, 40])
def test_softmax_int16_unsigned_differences(rows):
    # int16: row max - x taken on the uint16 views, over the whole type range
    rng = np.random.default_rng(rows)
    x = rng.integers(-32768, 32768, size=(rows, 70)).astype(np.int16)
    x[0, :2] = [-32768, 32767]
    m = single_op_model("SOFTMAX", [In(x.shape, np.int16, quant=qp(3e-4, 0))],
                        Out(x.shape, np.int16, quant=qp(1 / 32768, 0)), beta=1.0)
    assert_matches_litert(m, [x], ref=True)


# --- MEAN / SUM fixed point -------------------------------------------------------------------
@pytest.mark.parametrize("op,dtype,shape,axes", [
    ("MEAN", np.int8, (1, 3, 3, 8), [1, 2]),        # table (9 summed values)
    ("MEAN", np.int8, (2, 16, 17, 3), [1, 2]),      # 272 summed: per-invoke form
    ("MEAN", np.uint8, (1, 257, 2), [1]),           # the largest table
    ("MEAN", np.uint8, (1, 258, 2), [1]),           # one beyond it
    ("MEAN", np.int16, (4, 5), [0]),                # int16: per-invoke form
    ("MEAN", np.int16, (1, 5), [0]),                # int16 over one element: table
    ("SUM", np.uint8, (2, 9, 4), [1]),              # SUM's uint8 form shares the step
    ("SUM", np.uint8, (2, 300, 4), [1]),
])
def test_fixed_point_sum_paths(op, dtype, shape, axes):
    info = np.iinfo(dtype)
    for seed in range(4):
        rng = np.random.default_rng(seed)
        zi = 0 if dtype == np.int16 else int(rng.integers(info.min, info.max + 1))
        zo = 0 if dtype == np.int16 else int(rng.integers(info.min, info.max + 1))
        qi, qo = qp(float(10 ** rng.uniform(-3, 0)), zi), qp(float(10 ** rng.uniform(-3, 0)), zo)
        x = rng.integers(info.min, info.max + 1, size=shape).astype(dtype)
        if seed == 0:
            x[...] = info.max  # the ends of the table
        if seed == 1:
            x[...] = info.min
        m = single_op_model(op, [In(shape, dtype, quant=qi), Const(np.array(axes, np.int32))], Out((), dtype, quant=qo),
                            keep_dims=bool(seed % 2))
        assert_matches_litert(m, [x], ref=True)


# --- QUANTIZE float -> integer, per tensor ------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
@pytest.mark.parametrize("zp_side", [-1, 0, 1])
def test_quantize_fast_path_and_fallback(dtype, zp_side):
    info = np.iinfo(dtype)
    zp = {-1: info.min // 2, 0: 0, 1: info.max // 2}[zp_side]
    if dtype == np.uint8:
        zp = {-1: 0, 0: 0, 1: 200}[zp_side]
    scale = 0.37
    s32 = np.float32(scale)
    half = np.nextafter(np.float32(0.5), np.float32(0))
    ties = np.array([0.5, -0.5, 1.5, -1.5, 2.5, half, -half, 1 + half, 126.5, -127.5, 0.0, -0.0], np.float32) * s32
    near = np.array([2.0**30, -(2.0**30), 2.0**30 - 64, -(2.0**30) + 64, 2.0**31 - 300, -(2.0**31) + 300],
                    np.float32) * s32
    rng = np.random.default_rng(int(zp) & 0xFFFF)
    rand = rng.uniform(-1.5, 1.5, 40).astype(np.float32) * np.float32(info.max) * s32
    specials = np.array([np.nan, np.inf, -np.inf, 3e38, -3e38], np.float32)
    m = single_op_model("QUANTIZE", [In((64,), np.float32)], Out((64,), dtype, quant=qp(scale, zp)))
    # fast path only (no far value), then each far value and nan in turn beside ordinary ones
    base = np.concatenate([ties, rand, np.zeros(64 - ties.size - rand.size, np.float32)])
    assert_matches_litert(m, [base], ref=True)
    for v in np.concatenate([near, specials]):
        x = base.copy()
        x[5], x[-1] = v, np.nan
        assert_matches_litert(m, [x], ref=True)


def test_quantize_fast_path_raises_no_warning():
    m = single_op_model("QUANTIZE", [In((6,), np.float32)], Out((6,), np.int8, quant=qp(1e-30, 3)))
    x = np.array([3e38, -3e38, np.nan, np.inf, 1.0, -1.0], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = run_numlite(m, [x])[0]
    assert out.dtype == np.int8


# --- CAST ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("src,dst", [(np.int32, np.float32), (np.int8, np.float32), (np.float32, np.float16),
                                     (np.int32, np.float16), (np.float16, np.float32)])
def test_cast_to_float(src, dst):
    if np.dtype(src).kind == "f":
        with np.errstate(over="ignore"):
            x = np.array([1.5, -2.25, 7e4, -7e4, np.inf, np.nan, 0.0, 1e-8], src)
    else:
        info = np.iinfo(src)
        x = np.array([info.min, info.max, 0, -1, 1, 65504, 65520, 70000], np.int64).clip(info.min, info.max).astype(src)
    m = single_op_model("CAST", [In(x.shape, src)], Out(x.shape, dst))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflowing cast (float16) runs quietly
        ours = run_numlite(m, [x])[0]
    assert ours.dtype == dst
    with np.errstate(over="ignore"):
        want = x.astype(np.float64).astype(dst)
    np.testing.assert_array_equal(ours, want)


# --- GATHER -------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [-1, 10, -(2**31)])
def test_gather_range_check(bad):
    m = single_op_model("GATHER", [In((10, 3)), In((4,), np.int32)], Out((4, 3)), axis=0)
    p = np.arange(30, dtype=np.float32).reshape(10, 3)
    assert_matches_litert(m, [p, np.array([0, 9, 3, 3], np.int32)])
    with pytest.raises(RuntimeError, match=r"GATHER \(node 0\).*out of range"):
        run_numlite(m, [p, np.array([0, bad, 3, 3], np.int32)])


def test_gather_batch_one_and_constant_indices():
    p = np.arange(2 * 5 * 3, dtype=np.float32).reshape(1, 10, 3)
    m = single_op_model("GATHER", [In(p.shape), In((1, 4), np.int64)], Out((1, 4, 3)), axis=1, batch_dims=1)
    assert_matches_litert(m, [p, np.array([[9, 0, 4, 4]], np.int64)])
    m = single_op_model("GATHER", [In(p.shape), Const(np.array([2, 7], np.int32))], Out((1, 2, 3)), axis=1)
    assert_matches_litert(m, [p])


# --- view ops: one bound copy ------------------------------------------------------------------
def test_view_ops_copy_every_invoke():
    for op, inputs, opts in [("RESHAPE", [In((2, 6), np.int8), Const(np.array([3, 4], np.int32))], {}),
                             ("SQUEEZE", [In((1, 12, 1), np.int8)], {"squeeze_dims": [0, 2]}),
                             ("EXPAND_DIMS", [In((12,), np.int8), Const(np.array([1], np.int32))], {})]:
        m = single_op_model(op, inputs, Out((), np.int8), **opts)
        it = numlite.Interpreter(model_content=m)
        it.allocate_tensors()
        d, o = it.get_input_details()[0], it.get_output_details()[0]
        for k in range(3):
            x = (np.arange(12) * (k + 1)).astype(np.int8).reshape(d["shape"])
            it.set_tensor(d["index"], x)
            it.invoke()
            np.testing.assert_array_equal(it.get_tensor(o["index"]).reshape(-1), x.reshape(-1))
