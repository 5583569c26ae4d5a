"""Quantized and hybrid BATCH_MATMUL against LiteRT's reference kernel (BUILTIN_REF).

Integer outputs are compared exactly.  Hybrid outputs (float32) reproduce LiteRT's float32 steps
and are compared with rtol=0, atol=0 (bit-exact).
"""

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, run_numlite, single_op_model

EXACT = {"rtol": 0.0, "atol": 0.0}
TYPES = {"i8": (np.int8, np.int8, np.int8), "i8i32": (np.int8, np.int8, np.int32),
         "i16": (np.int16, np.int16, np.int16), "i16i8": (np.int16, np.int8, np.int16)}
SHAPES = [  # lhs, rhs, adj_x, adj_y
    ((3, 40), (40, 5), False, False),
    ((2, 3, 40), (40, 5), False, False),
    ((2, 40, 3), (2, 5, 40), True, True),
    ((2, 40, 3), (2, 40, 5), True, False),
    ((2, 1, 3, 40), (4, 40, 5), False, False),
    ((1, 3, 40), (2, 1, 40, 5), False, False),
    ((2, 3, 3, 40), (2, 1, 40, 5), False, False),
    ((2, 3, 40, 3), (3, 5, 40), True, True),
    ((1, 1, 2, 3, 8), (2, 1, 1, 8, 4), False, False),
]


def _quant_model(kind, seed, sa, sb, adj_x, adj_y, const_b=False, worst=False):
    rng = np.random.default_rng(seed)
    tx, ty, to = TYPES[kind]

    def qp():
        z = 0 if kind.startswith("i16") else int(rng.integers(-128, 128))
        return {"scale": [np.float32(10 ** rng.uniform(-3, 0))], "zero_point": [z]}

    ix, iy = np.iinfo(tx), np.iinfo(ty)
    x = rng.integers(ix.min, ix.max + 1, sa).astype(tx)
    y = rng.integers(iy.min, iy.max + 1, sb).astype(ty)
    qx, qy = qp(), qp()
    if worst:
        x[...], y[...] = ix.min, iy.min
        qx["zero_point"] = qy["zero_point"] = [0]
    qo = None if to == np.int32 else {
        "scale": [np.float32(10 ** rng.uniform(-1, 2))],
        "zero_point": [0 if to == np.int16 else int(rng.integers(-128, 128))]}
    if worst and qo is not None:
        k = sa[-2] if adj_x else sa[-1]
        qo["scale"] = [np.float32(qx["scale"][0] * qy["scale"][0] * k * float(ix.min) * float(iy.min) / 100)]
        qo["zero_point"] = [0]
    ins = [In(sa, tx, quant=qx), Const(y, quant=qy) if const_b else In(sb, ty, quant=qy)]
    m = single_op_model("BATCH_MATMUL", ins, Out((), to, quant=qo), version=4, adj_x=adj_x, adj_y=adj_y)
    return m, ([x] if const_b else [x, y])


@pytest.mark.parametrize("kind", list(TYPES))
@pytest.mark.parametrize("sa,sb,adj_x,adj_y", SHAPES)
@pytest.mark.parametrize("const_b", [False, True])
def test_bmm_quant(kind, sa, sb, adj_x, adj_y, const_b):
    m, feeds = _quant_model(kind, len(sa) + len(sb), sa, sb, adj_x, adj_y, const_b)
    assert_matches_litert(m, feeds, ref=True)


@pytest.mark.parametrize("kind", list(TYPES))
@pytest.mark.parametrize("seed", range(3))
def test_bmm_quant_seeds(kind, seed):
    m, feeds = _quant_model(kind, 100 + seed, (2, 17, 64), (2, 64, 9), False, False)
    assert_matches_litert(m, feeds, ref=True)


@pytest.mark.parametrize("kind", ["i8", "i8i32", "i16i8"])
@pytest.mark.parametrize("k", [1100, 2500])
def test_bmm_quant_worst_case_large_k(kind, k):
    # every product at its extreme: float32 partial sums would pass 2**24 without the K split
    m, feeds = _quant_model(kind, 7, (2, k), (k, 3), False, False, worst=True)
    out = assert_matches_litert(m, feeds, ref=True)[0]
    if out.dtype != np.int32:
        assert (np.abs(out.astype(int)) < np.iinfo(out.dtype).max).all()  # not saturated


# -- hybrid ------------------------------------------------------------------------------------
def _hybrid_model(seed, sa, sb, adj_x=False, adj_y=False, pc=False, asym=False, scale_x=3.0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(sa) * scale_x + rng.uniform(-1, 1)).astype(np.float32)
    cols = sb[-2] if adj_y else sb[-1]
    qd = len(sb) - 2 if adj_y else len(sb) - 1
    s = (10 ** rng.uniform(-3, -1, cols if pc else 1)).astype(np.float32)
    y = rng.integers(-127, 128, sb).astype(np.int8)
    ins = [In(sa), Const(y, quant={"scale": s, "zero_point": [0] * len(s), "quantized_dimension": qd})]
    m = single_op_model("BATCH_MATMUL", ins, Out(), version=4, adj_x=adj_x, adj_y=adj_y,
                        asymmetric_quantize_inputs=asym)
    return m, [x]


@pytest.mark.parametrize("sa,sb,adj_x,adj_y", SHAPES + [((2, 3, 4, 5, 16), (3, 1, 16, 6), False, False),
                                                      ((3, 2, 5, 16), (3, 1, 16, 6), False, False),
                                                      ((2, 3, 16, 5), (1, 3, 16, 6), True, False)])
@pytest.mark.parametrize("pc", [False, True])
@pytest.mark.parametrize("asym", [False, True])
def test_bmm_hybrid(sa, sb, adj_x, adj_y, pc, asym):
    # the last three shapes hit LiteRT's per-batch indexing of scale factors and row sums
    m, feeds = _hybrid_model(len(sa), sa, sb, adj_x, adj_y, pc=pc, asym=asym)
    assert_matches_litert(m, feeds, ref=True, **EXACT)


@pytest.mark.parametrize("k,scale_x", [(5, 100.0), (300, 1e-3), (1500, 1.0)])
@pytest.mark.parametrize("asym", [False, True])
def test_bmm_hybrid_ranges(k, scale_x, asym):
    m, feeds = _hybrid_model(k, (2, 6, k), (k, 7), asym=asym, scale_x=scale_x)
    assert_matches_litert(m, feeds, ref=True, **EXACT)


# -- errors ------------------------------------------------------------------------------------
def _fails(model, feeds, match):
    with pytest.raises(RuntimeError, match=r"BATCH_MATMUL \(node 0\).*" + match):
        run_numlite(model, feeds)


def test_bmm_int16_rejects_zero_point():
    q, qz = {"scale": [0.1], "zero_point": [0]}, {"scale": [0.1], "zero_point": [2]}
    m = single_op_model("BATCH_MATMUL", [In((2, 4), np.int16, quant=qz), In((4, 3), np.int16, quant=q)],
                        Out((), np.int16, quant=q))
    _fails(m, [np.zeros((2, 4), np.int16), np.zeros((4, 3), np.int16)], "zero points 0")


def test_bmm_hybrid_rejects_runtime_rhs():
    q = {"scale": [0.1], "zero_point": [0]}
    m = single_op_model("BATCH_MATMUL", [In((2, 4)), In((4, 3), np.int8, quant=q)], Out())
    _fails(m, [np.zeros((2, 4), np.float32), np.zeros((4, 3), np.int8)], "constant")


def test_bmm_rejects_mixed_types():
    q = {"scale": [0.1], "zero_point": [0]}
    m = single_op_model("BATCH_MATMUL", [In((2, 4), np.int8, quant=q), In((4, 3), np.int16, quant=q)],
                        Out((), np.int8, quant=q))
    _fails(m, [np.zeros((2, 4), np.int8), np.zeros((4, 3), np.int16)], "not supported")


def test_bmm_hybrid_rejects_bad_per_channel():
    m = single_op_model("BATCH_MATMUL", [In((2, 4)), Const(np.ones((4, 3), np.int8),
                        quant={"scale": [0.1, 0.2], "zero_point": [0, 0], "quantized_dimension": 1})], Out())
    _fails(m, [np.zeros((2, 4), np.float32)], "per-channel")
