"""REVERSE_V2 and SCATTER_ND against LiteRT.

Both only move (or, for duplicate SCATTER_ND indices, add) values, so every output must match
exactly, floats included: duplicates are summed in index order, as TFLite does.  Quantized
tensors are moved as stored; those cases are compared with LiteRT's reference kernels
(BUILTIN_REF).  Cases LiteRT 2.3 fails or crashes on (non-contiguous or empty REVERSE_V2 axes,
int64 SCATTER_ND indices) are checked against NumPy instead, and said so.
"""

import re

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, rand, run_numlite, single_op_model

from numlite.ops.registry import supported_builtins

DATA = [np.float32, np.float16, np.int32, np.int64, np.uint8, np.int8, np.int16, np.bool_]
Q8 = {"scale": [0.1], "zero_point": [3]}
Q8_OTHER = {"scale": [0.5], "zero_point": [12]}


def data(shape, dtype, seed=0):
    if np.dtype(dtype) == np.float16:
        return rand(shape, np.float32, seed=seed, lo=-50, hi=50).astype(np.float16)
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        return rand(shape, dtype, seed=seed, lo=max(info.min, -1000), hi=min(info.max, 1000))
    return rand(shape, dtype, seed=seed, lo=-50, hi=50)


def _fails(op, model, feeds, match, exc=RuntimeError):
    with pytest.raises(exc, match=rf"{op} \(node 0\).*" + match):
        run_numlite(model, feeds)


# -- REVERSE_V2 --------------------------------------------------------------------------------
def reverse_model(shape, dtype, axes, version=1, qi=None, qo=None):
    return single_op_model("REVERSE_V2", [In(shape, dtype, quant=qi), Const(np.array(axes, np.int32))],
                           Out(shape, dtype, quant=qo), version=version)


@pytest.mark.parametrize("dtype", DATA)
@pytest.mark.parametrize("shape,axes", [
    ((7,), [0]),
    ((3, 5), [1]),
    ((3, 5), [-1]),
    ((3, 5), [0, 1]),
    ((2, 3, 4), [1, 0]),        # unsorted
    ((2, 3, 4), [-1, -2]),      # negative, several
    ((2, 3, 4), [0, 1, 2]),
    ((2, 3, 4, 5), [1, 2]),
    ((1, 2, 1, 3, 2), [3]),
])
def test_reverse(dtype, shape, axes):
    assert_matches_litert(reverse_model(shape, dtype, axes), [data(shape, dtype)])


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_reverse_versions(version):
    assert supported_builtins()["REVERSE_V2"] == [1, 2, 3, 4]  # 4: float8 types, which LiteRT 2.3 refuses
    for dtype in (np.float32, np.int8, np.int16):
        assert_matches_litert(reverse_model((4, 6), dtype, [0], version=version), [data((4, 6), dtype)])


def test_reverse_rank8_and_empty():
    shape = (2, 1, 3, 2, 1, 2, 3, 2)
    assert_matches_litert(reverse_model(shape, np.float32, [5, 6]), [data(shape, np.float32)])
    out = assert_matches_litert(reverse_model((2, 0, 3), np.float32, [1]), [np.zeros((2, 0, 3), np.float32)])[0]
    assert out.shape == (2, 0, 3)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
def test_reverse_quantized_moves_stored_values(dtype):
    # LiteRT never reads the parameters: differing input / output parameters pass the bytes through
    qi, qo = (Q8, Q8_OTHER) if dtype != np.int16 else ({"scale": [0.1], "zero_point": [0]},) * 2
    m = reverse_model((3, 4), dtype, [-1], qi=qi, qo=qo)
    assert_matches_litert(m, [data((3, 4), dtype)], ref=True)


def test_reverse_runtime_axis():
    m = single_op_model("REVERSE_V2", [In((2, 3, 4)), In((2,), np.int32)], Out((2, 3, 4)))
    x = data((2, 3, 4), np.float32)
    for axes in ([0, 1], [-1, 1], [2, 1]):
        assert_matches_litert(m, [x, np.array(axes, np.int32)])
    with pytest.raises(RuntimeError, match=r"REVERSE_V2 \(node 0\): axis 3 is out of range.*tensor 1"):
        run_numlite(m, [x, np.array([3, 0], np.int32)])
    with pytest.raises(RuntimeError, match=r"REVERSE_V2 \(node 0\): axis -1 is listed twice"):
        run_numlite(m, [x, np.array([2, -1], np.int32)])


def test_reverse_beyond_litert():
    # LiteRT 2.3 fails at invoke on non-contiguous axes and crashes on an empty list: numlite
    # reverses any distinct axes (NumPy's answer) and copies for an empty list
    x = data((2, 3, 4), np.float32)
    np.testing.assert_array_equal(run_numlite(reverse_model(x.shape, np.float32, [0, 2]), [x])[0], x[::-1, :, ::-1])
    np.testing.assert_array_equal(run_numlite(reverse_model(x.shape, np.float32, []), [x])[0], x)


def test_reverse_errors():
    x = data((2, 3), np.float32)
    _fails("REVERSE_V2", reverse_model((2, 3), np.float32, [2]), [x], r"axis 2 is out of range.*tensor 1")
    _fails("REVERSE_V2", reverse_model((2, 3), np.float32, [1, -1]), [x], "listed twice")
    _fails("REVERSE_V2", reverse_model((2, 3), np.float32, [0, 1, 0]), [x], "more axes than")
    m = single_op_model("REVERSE_V2", [In((2, 3)), Const(np.array(1, np.int32))], Out((2, 3)))
    _fails("REVERSE_V2", m, [x], "must be a vector")
    m = single_op_model("REVERSE_V2", [In((2, 3)), Const(np.array([1], np.int64))], Out((2, 3)))
    _fails("REVERSE_V2", m, [x], "axis.*int64")
    m = single_op_model("REVERSE_V2", [In((2, 3)), Const(np.array([1], np.int32))], Out((2, 3), np.int32))
    _fails("REVERSE_V2", m, [x], "output.*input's type float32")
    shape = (1,) * 9
    _fails("REVERSE_V2", reverse_model(shape, np.float32, [0]), [np.zeros(shape, np.float32)], "rank up to 8")
    # LiteRT 2.3: "Type 'STRING' is not supported by reverse"
    m = single_op_model("REVERSE_V2", [In((2,), np.object_), Const(np.array([0], np.int32))], Out((2,), np.object_))
    _fails("REVERSE_V2", m, [np.array([b"a", b"b"], object)], "object")


# -- SCATTER_ND --------------------------------------------------------------------------------
SCATTER_DTYPES = [np.float32, np.int32, np.int64, np.uint8, np.int8, np.bool_]


def scatter_model(idx_shape, upd_shape, shape, dtype=np.float32, const_indices=None, idx_dtype=np.int32,
                  qi=None, qo=None):
    ix = Const(np.asarray(const_indices, idx_dtype)) if const_indices is not None else In(idx_shape, idx_dtype)
    return single_op_model("SCATTER_ND", [ix, In(upd_shape, dtype, quant=qi), Const(np.array(shape, idx_dtype))],
                           Out(shape, dtype, quant=qo))


def random_indices(rng, n_shape, dims, unique=False):
    n = int(np.prod(n_shape))
    if unique:
        flat = rng.permutation(int(np.prod(dims)))[:n]
        idx = np.stack(np.unravel_index(flat, dims), axis=-1) if dims else np.zeros((n, 0), np.int64)
    else:
        idx = np.stack([rng.integers(0, d, size=n) for d in dims], axis=-1) if dims else np.zeros((n, 0))
    return idx.reshape(tuple(n_shape) + (len(dims),)).astype(np.int32)


CASES = [  # (index batch shape, output shape, nd)
    ((3,), (5, 4), 1),
    ((6,), (4, 3), 2),          # full index tuples, scalar updates
    ((2, 3), (6, 2, 2), 1),     # batched indices
    ((4,), (3, 3, 2), 2),
    ((5,), (7,), 1),
    ((2,), (2, 3), 0),          # empty tuples: every update adds into the whole output
]


@pytest.mark.parametrize("dtype", SCATTER_DTYPES)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_scatter_nd(dtype, case):
    batch, shape, nd = CASES[case]
    rng = np.random.default_rng(case)
    idx = random_indices(rng, batch, shape[:nd])  # duplicates likely
    upd_shape = batch + shape[nd:]
    upd = data(upd_shape, dtype, seed=case)
    if np.dtype(dtype).kind in "iu":  # small values, except where wrapping is the point
        upd = (upd % 50).astype(dtype)
    assert_matches_litert(scatter_model(idx.shape, upd_shape, shape, dtype), [idx, upd])
    # the same indices as a constant
    assert_matches_litert(scatter_model(idx.shape, upd_shape, shape, dtype, const_indices=idx), [upd])


def test_scatter_nd_duplicates_add_in_order():
    idx = np.array([[1], [1], [3], [1]], np.int32)
    upd = np.array([[1e8, 1, -1], [1, 2, 3], [4, 5, 6], [-1e8, 0.5, 0.25]], np.float32)
    out = assert_matches_litert(scatter_model(idx.shape, upd.shape, (4, 3)), [idx, upd])[0]
    np.testing.assert_array_equal(out[1], [0, 3.5, 2.25])  # 1e8 + 1 - 1e8 = 0 in float32, as TFLite sums
    wrap = np.full((4, 3), 100, np.int8)
    assert_matches_litert(scatter_model(idx.shape, wrap.shape, (4, 3), np.int8), [idx, wrap])  # int8 wraps
    assert_matches_litert(scatter_model(idx.shape, upd.shape, (4, 3), np.bool_), [idx, upd > 0])


def test_scatter_nd_unique_constant_indices():
    idx = np.array([[2, 0], [0, 1], [1, 2]], np.int32)
    upd = data((3,), np.float32)
    assert_matches_litert(scatter_model(idx.shape, (3,), (3, 3), const_indices=idx), [upd])


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_scatter_nd_quantized_moves_stored_values(dtype):
    idx = np.array([[0], [2], [0]], np.int32)
    upd = data((3, 4), dtype) % 40
    m = scatter_model(idx.shape, upd.shape, (3, 4), dtype, qi=Q8, qo=Q8_OTHER)
    assert_matches_litert(m, [idx, upd.astype(dtype)], ref=True)


def test_scatter_nd_empty():
    m = scatter_model((0, 1), (0, 3), (4, 3))
    out = assert_matches_litert(m, [np.zeros((0, 1), np.int32), np.zeros((0, 3), np.float32)])[0]
    assert not out.any()
    m = scatter_model((2, 1), (2, 0), (4, 0))
    assert_matches_litert(m, [np.array([[1], [3]], np.int32), np.zeros((2, 0), np.float32)])
    m = scatter_model((0, 1), (0, 3), (0, 3))
    assert_matches_litert(m, [np.zeros((0, 1), np.int32), np.zeros((0, 3), np.float32)])


def test_scatter_nd_int64_indices():
    # LiteRT 2.3 refuses int64 indices ("Indices of type 'INT64' are not supported"); numlite
    # takes them (TensorFlow's scatter_nd does): checked against NumPy
    idx = np.array([[1, 2], [0, 0], [1, 2]], np.int64)
    upd = np.array([1.5, 2.0, 4.0], np.float32)
    out = run_numlite(scatter_model(idx.shape, upd.shape, (2, 3), idx_dtype=np.int64), [idx, upd])[0]
    want = np.zeros((2, 3), np.float32)
    np.add.at(want, (idx[:, 0], idx[:, 1]), upd)
    np.testing.assert_array_equal(out, want)


def test_scatter_nd_out_of_range():
    m = scatter_model((2, 2), (2,), (4, 3))
    upd = np.ones(2, np.float32)
    # TFLite checks each coordinate: [0, 5] is out of range though its flat offset 5 is not
    for bad in ([0, 5], [1, -1], [4, 0]):
        idx = np.array([[1, 1], bad], np.int32)
        with pytest.raises(RuntimeError, match=rf"SCATTER_ND \(node 0\): index {re.escape(str(bad))}.*tensor 0 "):
            run_numlite(m, [idx, upd])
    m = scatter_model((2, 2), (2,), (4, 3), const_indices=[[1, 1], [3, 3]])
    _fails("SCATTER_ND", m, [upd], r"index \[3, 3\] of indices tensor 0")


def test_scatter_nd_errors():
    idx = np.array([[1], [3]], np.int32)
    _fails("SCATTER_ND", scatter_model((2, 1), (2, 3), (4, 4)), [idx, np.ones((2, 3), np.float32)],
           r"updates.*must have shape \[2, 4\]")
    _fails("SCATTER_ND", scatter_model((2, 3), (2,), (4, 3)), [np.zeros((2, 3), np.int32), np.ones(2, np.float32)],
           "exceed the output rank")
    m = single_op_model("SCATTER_ND", [In((2, 1), np.int32), In((2, 3)), Const(np.array([-4, 3], np.int32))],
                        Out((4, 3)))
    _fails("SCATTER_ND", m, [idx, np.ones((2, 3), np.float32)], "negative dimension")
    _fails("SCATTER_ND", scatter_model((2, 1), (2, 3), (4, 3), np.int16), [idx, np.ones((2, 3), np.int16)],
           "updates.*int16")
    m = single_op_model("SCATTER_ND", [In((2, 1), np.int32), In((2, 3)), Const(np.array([4, 3], np.int64))],
                        Out((4, 3)))
    _fails("SCATTER_ND", m, [idx, np.ones((2, 3), np.float32)], "shape.*type of indices")
    m = single_op_model("SCATTER_ND", [In((2, 1), np.int32), In((2, 3)), In((2,), np.int32)], Out((4, 3)))
    _fails("SCATTER_ND", m, [idx, np.ones((2, 3), np.float32), np.array([4, 3], np.int32)], "known before invoke")
