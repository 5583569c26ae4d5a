"""SEGMENT_SUM and UNSORTED_SEGMENT_{SUM, PROD, MAX, MIN} against LiteRT.

LiteRT 2.3 takes float32 and int32 data only.  Rows are combined in row order on both sides,
so float sums and products round the same way: outputs must match exactly (the tolerance of
``assert_matches_litert`` is kept only as a safety margin; ints are compared exactly).  Cases
LiteRT fails on (an empty output) are checked against NumPy instead, and said so.
"""

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, rand, run_numlite, single_op_model

from numlite.ops.registry import supported_builtins

UNSORTED = ["UNSORTED_SEGMENT_SUM", "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX", "UNSORTED_SEGMENT_MIN"]
DTYPES = [np.float32, np.int32]
I32 = np.int32


def data(shape, dtype, seed=0):
    if np.dtype(dtype) == np.int32:
        return rand(shape, np.int32, seed=seed, lo=-20, hi=20)
    return rand(shape, np.float32, seed=seed, lo=-2, hi=2)


def unsorted_model(op, shape, ids_shape, num, dtype=np.float32, const_ids=None, const_num=True):
    ids = Const(np.asarray(const_ids, I32)) if const_ids is not None else In(ids_shape, I32)
    ns = Const(np.asarray(num, I32)) if const_num else In(np.shape(num), I32)
    n = max(0, int(np.asarray(num).reshape(-1)[0]))
    return single_op_model(op, [In(shape, dtype), ids, ns], Out((n, *shape[len(ids_shape):]), dtype))


def segment_model(shape, n_out, dtype=np.float32, const_ids=None):
    ids = Const(np.asarray(const_ids, I32)) if const_ids is not None else In((shape[0],), I32)
    return single_op_model("SEGMENT_SUM", [In(shape, dtype), ids], Out((n_out, *shape[1:]), dtype))


def test_versions():
    b = supported_builtins()
    for op in ["SEGMENT_SUM", *UNSORTED]:
        assert b[op] == [1]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ids", [[0, 0, 1, 2, 2, 2], [0, 1, 2, 3, 4, 5], [0, 0, 0, 0, 0, 0]])
def test_segment_sum(dtype, ids):
    x = data((6, 3, 2), dtype)
    n = ids[-1] + 1
    assert_matches_litert(segment_model(x.shape, n, dtype), [x, np.array(ids, I32)])
    assert_matches_litert(segment_model(x.shape, n, dtype, const_ids=ids), [x])


def test_segment_sum_vector_data():
    x = data((5,), np.float32)
    assert_matches_litert(segment_model((5,), 2), [x, np.array([0, 0, 0, 1, 1], I32)])


@pytest.mark.parametrize("bad,why", [([1, 1, 2], "first segment id is 1"), ([0, 2, 2], "id 2 at position 1"),
                                     ([0, 1, 0], "id 0 at position 2"), ([0, -1, 0], "id -1 at position 1")])
def test_segment_sum_bad_ids(bad, why):
    x = data((3, 2), np.float32)
    with pytest.raises(RuntimeError, match=rf"SEGMENT_SUM \(node 0\): .*{why}"):
        run_numlite(segment_model((3, 2), 3), [x, np.array(bad, I32)])
    with pytest.raises(RuntimeError, match=rf"SEGMENT_SUM \(node 0\): .*{why}"):
        run_numlite(segment_model((3, 2), 3, const_ids=bad), [x])


def test_segment_sum_empty():
    # LiteRT 2.3 fails to resize to an empty output; numlite gives it (NumPy's answer)
    out = run_numlite(segment_model((0, 3), 0), [np.zeros((0, 3), np.float32), np.zeros(0, I32)])[0]
    assert out.shape == (0, 3)


@pytest.mark.parametrize("op", UNSORTED)
@pytest.mark.parametrize("dtype", DTYPES)
def test_unsorted(op, dtype):
    x = data((7, 3), dtype, seed=1)
    if op == "UNSORTED_SEGMENT_PROD" and dtype == np.int32:
        x = (x % 5 + 1).astype(np.int32)
    ids = np.array([2, 0, 4, -1, 2, 2, 0], I32)  # segments 1 and 3 empty, one row dropped
    assert_matches_litert(unsorted_model(op, x.shape, (7,), 5, dtype), [x, ids])
    assert_matches_litert(unsorted_model(op, x.shape, (7,), [5], dtype, const_ids=ids), [x])
    # num_segments only known at invoke: a dynamic output
    assert_matches_litert(unsorted_model(op, x.shape, (7,), [6], dtype, const_num=False),
                          [x, ids, np.array([6], I32)])
    assert_matches_litert(unsorted_model(op, x.shape, (7,), 6, dtype, const_num=False), [x, ids, np.int32(6)])


@pytest.mark.parametrize("op", UNSORTED)
def test_unsorted_multi_dim_ids(op):
    # ids covering the two leading dimensions of data (TensorFlow's rule, which LiteRT 2.3 follows)
    x = data((3, 2, 4), np.float32, seed=2)
    ids = np.array([[0, 1], [2, 1], [-1, 0]], I32)
    assert_matches_litert(unsorted_model(op, x.shape, (3, 2), 3), [x, ids])


def test_unsorted_int_wraps_and_identities():
    x = np.full((3, 2), 70000, np.int32)
    ids = np.array([1, 1, 1], I32)
    out = assert_matches_litert(unsorted_model("UNSORTED_SEGMENT_PROD", (3, 2), (3,), 3, np.int32), [x, ids])[0]
    assert out[0, 0] == 1
    out = assert_matches_litert(unsorted_model("UNSORTED_SEGMENT_MIN", (3, 2), (3,), 3, np.int32), [x, ids])[0]
    assert out[0, 0] == np.iinfo(np.int32).max
    out = assert_matches_litert(unsorted_model("UNSORTED_SEGMENT_MAX", (3, 2), (3,), 3), [x.astype(np.float32), ids])
    assert out[0][0, 0] == -np.finfo(np.float32).max  # the lowest finite float, not -inf


@pytest.mark.parametrize("op", ["UNSORTED_SEGMENT_MAX", "UNSORTED_SEGMENT_MIN", "UNSORTED_SEGMENT_SUM"])
def test_unsorted_nan_inf(op):
    x = np.array([[np.nan, 1], [1, np.nan], [np.inf, -np.inf], [2, 3]], np.float32)
    assert_matches_litert(unsorted_model(op, x.shape, (4,), 2), [x, np.array([0, 0, 1, 1], I32)])


def test_unsorted_float_sum_order():
    x = np.array([1e8, 1, -1e8, 0.5], np.float32)
    out = assert_matches_litert(unsorted_model("UNSORTED_SEGMENT_SUM", (4,), (4,), 1), [x, np.zeros(4, I32)])[0]
    assert out[0] == np.float32(0.5)  # (1e8 + 1) rounds to 1e8 first, as sequential float32 sums do


def test_unsorted_out_of_range():
    x = data((4, 2), np.float32)
    m = unsorted_model("UNSORTED_SEGMENT_SUM", x.shape, (4,), 3)
    with pytest.raises(RuntimeError, match=r"UNSORTED_SEGMENT_SUM \(node 0\): segment id 3 is out of range "
                                           r"for num_segments 3"):
        run_numlite(m, [x, np.array([0, 3, 1, 1], I32)])
    m = unsorted_model("UNSORTED_SEGMENT_MAX", x.shape, (4,), 3, const_ids=[0, 7, 1, 1])
    with pytest.raises(RuntimeError, match=r"UNSORTED_SEGMENT_MAX \(node 0\): segment id 7 is out of range"):
        run_numlite(m, [x])
    m = unsorted_model("UNSORTED_SEGMENT_MIN", x.shape, (4,), [2], const_num=False)
    with pytest.raises(RuntimeError, match=r"UNSORTED_SEGMENT_MIN \(node 0\): segment id 2 is out of range"):
        run_numlite(m, [x, np.array([0, 2, 1, 1], I32), np.array([2], I32)])
    with pytest.raises(RuntimeError, match=r"UNSORTED_SEGMENT_MIN \(node 0\): num_segments is -1"):
        run_numlite(m, [x, np.array([-1, -1, -1, -1], I32), np.array([-1], I32)])


def test_unsorted_empty_output():
    # LiteRT 2.3 fails to resize to 0 segments; numlite gives the empty output
    x = data((4, 2), np.float32)
    out = run_numlite(unsorted_model("UNSORTED_SEGMENT_SUM", x.shape, (4,), 0), [x, np.full(4, -1, I32)])[0]
    assert out.shape == (0, 2)


def test_unsorted_prepare_errors():
    x = data((4, 2), np.float32)
    ids = np.array([0, 1, 1, 0], I32)
    for num, why in [([-2], "num_segments is -2"), ([3, 4], "scalar or a 1-element vector")]:
        m = unsorted_model("UNSORTED_SEGMENT_SUM", x.shape, (4,), num)
        with pytest.raises(RuntimeError, match=rf"UNSORTED_SEGMENT_SUM \(node 0\): .*{why}"):
            run_numlite(m, [x, ids])
    m = single_op_model("UNSORTED_SEGMENT_SUM", [In((4, 2)), In((3,), I32), Const(np.int32(2))], Out((2, 2)))
    with pytest.raises(RuntimeError, match=r"UNSORTED_SEGMENT_SUM \(node 0\): segment ids .*leading dimensions"):
        run_numlite(m, [x, ids[:3]])
    m = single_op_model("UNSORTED_SEGMENT_SUM", [In((4, 2), np.int16), In((4,), I32), Const(np.int32(2))],
                        Out((2, 2), np.int16))
    with pytest.raises(RuntimeError, match=r"UNSORTED_SEGMENT_SUM \(node 0\): data .*int16"):
        run_numlite(m, [x.astype(np.int16), ids])
    m = single_op_model("UNSORTED_SEGMENT_SUM", [In((4, 2)), In((4,), np.int64), Const(np.int32(2))], Out((2, 2)))
    with pytest.raises(RuntimeError, match=r"UNSORTED_SEGMENT_SUM \(node 0\): segment ids .*int64"):
        run_numlite(m, [x, ids.astype(np.int64)])
    m = single_op_model("SEGMENT_SUM", [In((4, 2)), In((3,), I32)], Out((2, 2)))
    with pytest.raises(RuntimeError, match=r"SEGMENT_SUM \(node 0\): segment ids .*one id per row"):
        run_numlite(m, [x, ids[:3]])


def test_unsorted_huge_num_segments():
    # a num_segments needing more memory than the machine has is refused, not allocated
    x = data((2, 1000), np.float32)
    big = np.array([2 ** 31 - 1], I32)
    m = single_op_model("UNSORTED_SEGMENT_SUM", [In(x.shape), In((2,), I32), In((1,), I32)], Out((1, 1000)))
    with pytest.raises(RuntimeError, match=r"UNSORTED_SEGMENT_SUM \(node 0\): output shape .* needs"):
        run_numlite(m, [x, np.array([0, 1], I32), big])
    m = single_op_model("UNSORTED_SEGMENT_SUM", [In(x.shape), In((2,), I32), Const(big)], Out((1, 1000)))
    with pytest.raises(RuntimeError, match=r"memory"):
        run_numlite(m, [x, np.array([0, 1], I32)])


def test_dynamic_output_changes_between_invokes():
    from numlite import Interpreter

    x = data((4, 2), np.float32)
    m = unsorted_model("UNSORTED_SEGMENT_SUM", x.shape, (4,), [3], const_num=False)
    it = Interpreter(model_content=m)
    it.allocate_tensors()
    ins = [d["index"] for d in it.get_input_details()]
    for num, ids in ((3, [0, 1, 2, 0]), (5, [4, 4, 0, -1]), (1, [0, 0, 0, 0])):
        it.set_tensor(ins[0], x)
        it.set_tensor(ins[1], np.array(ids, I32))
        it.set_tensor(ins[2], np.array([num], I32))
        it.invoke()
        got = it.get_tensor(it.get_output_details()[0]["index"])
        want = np.zeros((num, 2), np.float32)
        for i, s in enumerate(ids):
            if s >= 0:
                want[s] += x[i]
        np.testing.assert_array_equal(got, want)
