"""DENSIFY of sparse constant weights (TFLite's sparsity format) against LiteRT.

The sparse encodings are made by a small encoder below (any valid encoding will do: both
runtimes decode the same bytes).  DENSIFY feeds FULLY_CONNECTED or ADD.  Float tolerance:
densified weights are exact, so the ADD results are compared exactly; FULLY_CONNECTED sums in
a different order in numlite's BLAS than in LiteRT's reference loop: rtol=1e-5, atol=1e-5.
"""

import numpy as np
import pytest
from util import assert_matches_litert, rand

import numlite
from numlite.builder import ModelBuilder
from numlite.ops.densify import densify

DENSE, CSR = 0, 1
INDEX_TYPES = {1: np.int32, 2: np.uint16, 3: np.uint8}  # SparseIndexVector members


def encode(dense, traversal, formats, block_map=(), block_size=(), index_type=1):
    """A SparsityParameters dict and the stored values for ``dense``."""
    rank = dense.ndim
    # expanded tensor: each blocked dimension d becomes (n / b, b); the in-block axes go last,
    # in block_map order
    new_shape, outer_axes, inner_axes, pos = [], [], {}, 0
    for d in range(rank):
        outer_axes.append(pos)
        if d in block_map:
            k = list(block_map).index(d)
            new_shape += [dense.shape[d] // block_size[k], block_size[k]]
            inner_axes[k] = pos + 1
            pos += 2
        else:
            new_shape.append(dense.shape[d])
            pos += 1
    exp = dense.reshape(new_shape).transpose(outer_axes + [inner_axes[k] for k in range(len(block_map))])
    t = exp.transpose(traversal)
    sizes = t.shape
    meta = []
    nodes = [()]
    for level, fmt in enumerate(formats):
        if fmt == DENSE:
            meta.append({"format": DENSE, "dense_size": sizes[level]})
            nodes = [p + (i,) for p in nodes for i in range(sizes[level])]
        else:
            segs, idx, new = [0], [], []
            for p in nodes:
                for i in range(sizes[level]):
                    if np.any(t[p + (i,)] != 0):
                        idx.append(i)
                        new.append(p + (i,))
                segs.append(len(idx))
            vt = INDEX_TYPES[index_type]
            meta.append({"format": CSR, "dense_size": sizes[level],
                         "array_segments_type": index_type, "array_segments": {"values": np.array(segs, vt)},
                         "array_indices_type": index_type, "array_indices": {"values": np.array(idx, vt)}})
            nodes = new
    values = np.array([t[p] for p in nodes], dense.dtype)
    sp = {"traversal_order": np.array(traversal, np.int32), "dim_metadata": meta}
    if block_map:
        sp["block_map"] = np.array(block_map, np.int32)
    return sp, values


def sparse_weights(shape, dtype, seed, density=0.3, block=None):
    rng = np.random.default_rng(seed)
    w = rng.uniform(-1, 1, shape)
    if block is None:
        w[rng.random(shape) > density] = 0
    else:  # zero whole blocks
        bs = (shape[0] // block[0], shape[1] // block[1])
        keep = np.repeat(np.repeat(rng.random(bs) < density, block[0], 0), block[1], 1)
        w[~keep] = 0
    if np.dtype(dtype) == np.int8:
        return np.round(w * 127).astype(np.int8)
    return w.astype(dtype)


def model_with(consumer, w, sp, values, quant=None):
    mb = ModelBuilder()
    x = mb.input("x", (2, w.shape[1]) if consumer == "FULLY_CONNECTED" else w.shape, np.float32)
    ws = mb.tensor("w_sparse", w.shape, w.dtype, data=values, quantization=quant)
    mb.sg["tensors"][ws]["sparsity"] = sp
    wd = mb.tensor("w_dense", w.shape, w.dtype)
    mb.op("DENSIFY", [ws], [wd])
    src = wd
    if w.dtype != np.float32:
        src = mb.tensor("w_float", w.shape, np.float32)
        mb.op("DEQUANTIZE", [wd], [src])
    if consumer == "FULLY_CONNECTED":
        y = mb.tensor("y", (2, w.shape[0]), np.float32)
        mb.op("FULLY_CONNECTED", [x, src, -1], [y])
    else:
        y = mb.tensor("y", w.shape, np.float32)
        mb.op("ADD", [x, src], [y])
    mb.output(y)
    return mb.build()


CASES = [
    # traversal, formats, block_map, block_size
    ([0, 1], [DENSE, CSR], (), ()),
    ([0, 1], [CSR, CSR], (), ()),
    ([1, 0], [DENSE, CSR], (), ()),
    ([0, 1, 2, 3], [DENSE, CSR, DENSE, DENSE], (0, 1), (4, 1)),
    ([0, 1, 2], [DENSE, CSR, DENSE], (1,), (4,)),
    ([0, 1, 2, 3], [DENSE, CSR, DENSE, DENSE], (0, 1), (2, 2)),
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("consumer", ["FULLY_CONNECTED", "ADD"])
def test_densify_float_vs_litert(case, consumer):
    traversal, formats, block_map, block_size = CASES[case]
    bs = None
    if block_map:
        bs = [1, 1]
        for d, b in zip(block_map, block_size):
            bs[d] = b
    w = sparse_weights((8, 12), np.float32, seed=case, block=bs)
    sp, values = encode(w, traversal, formats, block_map, block_size)
    np.testing.assert_array_equal(densify(values, w.shape, sp), w)
    m = model_with(consumer, w, sp, values)
    x = rand((2, 12) if consumer == "FULLY_CONNECTED" else w.shape, seed=1)
    tol = {"rtol": 1e-5, "atol": 1e-5} if consumer == "FULLY_CONNECTED" else {"rtol": 0, "atol": 0}
    assert_matches_litert(m, [x], ref=True, **tol)
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    assert it._main.step_nodes == [1]  # densified once at prepare: only the consumer runs


@pytest.mark.parametrize("index_type", [1, 2, 3])
def test_index_vector_types(index_type):
    w = sparse_weights((6, 10), np.float32, seed=9)
    sp, values = encode(w, [0, 1], [DENSE, CSR], index_type=index_type)
    m = model_with("ADD", w, sp, values)
    assert_matches_litert(m, [rand(w.shape, seed=2)], ref=True, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [np.float16, np.int8])
def test_densify_float16_and_int8(dtype):
    w = sparse_weights((8, 8), dtype, seed=4)
    sp, values = encode(w, [0, 1, 2, 3], [DENSE, CSR, DENSE, DENSE], (0, 1), (2, 2))
    q = {"scale": [0.01], "zero_point": [0]} if dtype == np.int8 else None
    m = model_with("ADD", w, sp, values, quant=q)
    assert_matches_litert(m, [rand(w.shape, seed=2)], ref=True, rtol=0, atol=0)


def test_densify_rank3_and_empty_rows():
    w = np.zeros((3, 4, 5), np.float32)
    w[0, 1, 2], w[2, 3, 4], w[2, 0, 0] = 1.5, -2.0, 3.0
    sp, values = encode(w, [0, 1, 2], [DENSE, CSR, CSR])
    np.testing.assert_array_equal(densify(values, w.shape, sp), w)
    sp, values = encode(w, [2, 0, 1], [CSR, DENSE, CSR])
    np.testing.assert_array_equal(densify(values, w.shape, sp), w)


def test_bad_sparsity_is_a_prepare_error():
    w = sparse_weights((4, 6), np.float32, seed=1)
    sp, values = encode(w, [0, 1], [DENSE, CSR])
    sp["dim_metadata"][1]["array_indices"]["values"] = sp["dim_metadata"][1]["array_indices"]["values"] + 50
    m = model_with("ADD", w, sp, values)
    it = numlite.Interpreter(model_content=m)
    with pytest.raises(RuntimeError) as e:
        it.allocate_tensors()
    assert "DENSIFY (node 0)" in str(e.value) and "sparsity" in str(e.value)


def test_a_csr_dimension_without_its_vectors_is_reported_empty_and_refused_at_prepare():
    """fuzz_loader: a CSR dimension whose array_segments table has no values vector made
    get_tensor_details raise TypeError (int() of None). It now reports empty segments, as for an
    absent table; DENSIFY reads it as before: segments past the vector's end give no children (as
    LiteRT's FormatConverter skips them), so the weights are all zero."""
    w = sparse_weights((4, 6), np.float32, seed=1)
    sp, values = encode(w, [0, 1], [DENSE, CSR])
    sp["dim_metadata"][1]["array_segments"] = {"values": None}  # the table, without its vector
    m = model_with("ADD", w, sp, values)
    it = numlite.Interpreter(model_content=m)
    (d,) = [t for t in it.get_tensor_details() if t["name"] == "w_sparse"]
    dim = d["sparsity_parameters"]["dim_metadata"][1]
    assert dim["format"] == 1 and dim["array_segments"].size == 0 and dim["array_indices"].size > 0
    it.allocate_tensors()
    x = rand((4, 6), seed=3)
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), x)
