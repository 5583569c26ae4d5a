"""EMBEDDING_LOOKUP, EMBEDDING_LOOKUP_SPARSE, HASHTABLE_LOOKUP and LSH_PROJECTION against LiteRT 2.3.

Lookups and hashes are compared exactly.  Hybrid EMBEDDING_LOOKUP and EMBEDDING_LOOKUP_SPARSE
reproduce LiteRT's float arithmetic in its order and are compared exactly too (``0`` tolerance).
"""

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, run_numlite, single_op_model

import numlite
from numlite.builder import ModelBuilder
from numlite.ops._farmhash import fingerprint64

EXACT = {"rtol": 0.0, "atol": 0.0}


# --- EMBEDDING_LOOKUP ------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(7, 3), (5, 2, 3), (4, 1)])
@pytest.mark.parametrize("nids", [1, 6])
def test_embedding_lookup_float(shape, nids):
    rng = np.random.default_rng(nids)
    table = rng.standard_normal(shape).astype(np.float32)
    ids = rng.integers(0, shape[0], nids).astype(np.int32)
    m = single_op_model("EMBEDDING_LOOKUP", [In((nids,), np.int32), table], Out((), np.float32))
    assert_matches_litert(m, [ids], **EXACT)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("per_row", [False, True])
@pytest.mark.parametrize("shape", [(6, 4), (5, 2, 3)])
def test_embedding_lookup_hybrid(dtype, per_row, shape):
    rng = np.random.default_rng(3)
    info = np.iinfo(dtype)
    table = rng.integers(info.min, info.max + 1, shape).astype(dtype)
    scales = rng.uniform(0.001, 0.1, shape[0] if per_row else 1).astype(np.float32)
    q = {"scale": scales, "zero_point": [0] * scales.size, "quantized_dimension": 0}  # LiteRT requires 0
    ids = np.array([0, shape[0] - 1, 2, 2, 1], np.int32)
    m = single_op_model("EMBEDDING_LOOKUP", [In((5,), np.int32), Const(table, quant=q)], Out((), np.float32),
                        version=3)
    assert_matches_litert(m, [ids], **EXACT)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.int64])
def test_embedding_lookup_same_type(dtype):
    rng = np.random.default_rng(4)
    info = np.iinfo(dtype)
    table = rng.integers(info.min, info.max + 1, (6, 5)).astype(dtype)
    q = {"scale": [0.05], "zero_point": [0]}
    m = single_op_model("EMBEDDING_LOOKUP", [In((3,), np.int32), Const(table, quant=q)], Out((), dtype, quant=q),
                        version=2)
    assert_matches_litert(m, [np.array([5, 0, 3], np.int32)])


def test_embedding_lookup_out_of_range():
    m = single_op_model("EMBEDDING_LOOKUP", [In((2,), np.int32), np.zeros((3, 2), np.float32)], Out((), np.float32))
    with pytest.raises(RuntimeError, match=r"EMBEDDING_LOOKUP \(node 0\).*id 3"):
        run_numlite(m, [np.array([0, 3], np.int32)])


# --- EMBEDDING_LOOKUP_SPARSE -----------------------------------------------------------------
def _sparse_model(dense_shape, n, params_shape, combiner):
    mb = ModelBuilder()
    ids = mb.input("ids", (n,), np.int32)
    ind = mb.input("ind", (n, len(dense_shape)), np.int32)
    ds = mb.const("ds", np.array(dense_shape, np.int32))
    w = mb.input("w", (n,), np.float32)
    p = mb.input("p", params_shape, np.float32)
    y = mb.tensor("y", (), np.float32)
    mb.op("EMBEDDING_LOOKUP_SPARSE", [ids, ind, ds, w, p], [y], options_table="EmbeddingLookupSparseOptions",
          combiner=combiner)
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize("combiner", ["SUM", "MEAN", "SQRTN"])
@pytest.mark.parametrize("dense_shape,params_shape", [((3, 4), (10, 5)), ((2, 3, 4), (6, 2, 3)), ((5,), (4, 3))])
def test_embedding_lookup_sparse(combiner, dense_shape, params_shape):
    rng = np.random.default_rng(len(dense_shape))
    cells = np.argwhere(rng.random(dense_shape) < 0.5)  # row-major order: sorted, some buckets empty
    n = len(cells)
    ids = rng.integers(0, params_shape[0], n).astype(np.int32)
    w = rng.uniform(0.1, 2.0, n).astype(np.float32)
    p = rng.standard_normal(params_shape).astype(np.float32)
    m = _sparse_model(dense_shape, n, params_shape, combiner)
    assert_matches_litert(m, [ids, cells.astype(np.int32), w, p], **EXACT)


def test_embedding_lookup_sparse_unsorted():
    """A bucket that recurs after another is combined again, as LiteRT does."""
    ind = np.array([[0, 0], [1, 0], [0, 1], [0, 2]], np.int32)
    m = _sparse_model((2, 3), 4, (3, 2), "MEAN")
    rng = np.random.default_rng(0)
    feeds = [np.array([0, 1, 2, 1], np.int32), ind, rng.uniform(0.5, 1.5, 4).astype(np.float32),
             rng.standard_normal((3, 2)).astype(np.float32)]
    assert_matches_litert(m, feeds, **EXACT)


# --- HASHTABLE_LOOKUP --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype,vshape", [(np.float32, (6, 3)), (np.int32, (6,)), (np.int8, (6, 2, 2)),
                                          (np.uint8, (6,)), (np.int64, (6, 2))])
def test_hashtable_lookup(dtype, vshape):
    rng = np.random.default_rng(1)
    keys = np.array([-7, -2, 0, 3, 9, 100], np.int32)
    values = (rng.standard_normal(vshape) * 50).astype(dtype)
    lookups = np.array([3, 4, -7, 100, 101, -8, 0, 3], np.int32)
    m = single_op_model("HASHTABLE_LOOKUP", [In((8,), np.int32), keys, values],
                        [Out((), dtype), Out((), np.uint8)])
    ours = assert_matches_litert(m, [lookups])
    np.testing.assert_array_equal(ours[1], [1, 0, 1, 1, 0, 0, 1, 1])


# --- LSH_PROJECTION ---------------------------------------------------------------------------
def _lsh_model(h, b, in_shape, in_dtype, kind, weight):
    rng = np.random.default_rng(h * b)
    seeds = rng.uniform(-10, 10, (h, b)).astype(np.float32)
    ins = [seeds, In(in_shape, in_dtype)]
    if weight:
        ins.append(In((in_shape[0],), np.float32))
    return single_op_model("LSH_PROJECTION", ins, Out((), np.int32), options_table="LSHProjectionOptions", type=kind)


# key lengths 4 + item bytes: 5 (4-7), 8, 16 (<= 16), 20 (17-32), 36 (33-64), 84 and 164 (> 64)
@pytest.mark.parametrize("in_shape,in_dtype", [((5,), np.int8), ((6,), np.float32), ((3, 3), np.int32),
                                               ((4, 4), np.float32), ((2, 8), np.int32), ((3, 20), np.float32),
                                               ((2, 40), np.int32), ((3, 2), np.int64)])
@pytest.mark.parametrize("kind", ["SPARSE", "DENSE"])
@pytest.mark.parametrize("weight", [False, True])
def test_lsh_projection(in_shape, in_dtype, kind, weight):
    m = _lsh_model(4, 3, in_shape, in_dtype, kind, weight)
    rng = np.random.default_rng(len(in_shape) + in_shape[-1])
    if np.dtype(in_dtype).kind == "f":
        x = rng.standard_normal(in_shape).astype(in_dtype)
    else:
        x = rng.integers(-100, 100, in_shape).astype(in_dtype)
    feeds = [x] + ([rng.uniform(-1, 1, in_shape[0]).astype(np.float32)] if weight else [])
    assert_matches_litert(m, feeds)


def test_lsh_projection_32_bits():
    m = _lsh_model(2, 32, (4,), np.float32, "SPARSE", False)
    assert_matches_litert(m, [np.arange(4, dtype=np.float32)])


def test_fingerprint64_lengths():
    """Every length class hashes deterministically and differs with the content."""
    rng = np.random.default_rng(0)
    for n in (0, 1, 3, 4, 7, 8, 16, 17, 32, 33, 64, 65, 128, 200):
        keys = rng.integers(0, 256, (3, n)).astype(np.uint8)
        a = fingerprint64(keys)
        assert a.dtype == np.uint64 and a.shape == (3,)
        np.testing.assert_array_equal(a, fingerprint64(keys.copy()))
        if n:
            keys[:, -1] ^= 1
            assert np.all(fingerprint64(keys) != a)


def test_lsh_bad_type():
    m = single_op_model("LSH_PROJECTION", [np.zeros((2, 2), np.float32), In((3,), np.float32)], Out((), np.int32),
                        options_table="LSHProjectionOptions", type="UNKNOWN")
    with pytest.raises(Exception, match=r"LSH_PROJECTION \(node 0\)"):
        numlite.Interpreter(model_content=m).allocate_tensors()
