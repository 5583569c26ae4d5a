"""Shape and data-movement ops against LiteRT, over dtypes, ranks, negative axes and error
cases.  These ops only move data (CONCATENATION's fused activation and uint8 requantization
aside), so every comparison is exact: float tolerance 0."""

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, rand, run_numlite, single_op_model

import numlite
from numlite.builder import ModelBuilder
from numlite.ops.base import PrepareError

ALL = [np.float32, np.int32, np.int64, np.uint8, np.int8, np.int16, np.bool_]
Q8 = {"scale": [0.25], "zero_point": [-3]}
EXACT = {"rtol": 0, "atol": 0}


def data(shape, dtype=np.float32, seed=0):
    return rand(shape, dtype, seed=seed, lo=0 if dtype == np.uint8 else -60, hi=60)


def same(model, feeds, ref=False):
    return assert_matches_litert(model, feeds, ref=ref, **EXACT)


# --- RESHAPE / SQUEEZE / EXPAND_DIMS ------------------------------------------------------
@pytest.mark.parametrize("dtype", ALL)
def test_reshape_shape_input_all_dtypes(dtype):
    m = single_op_model("RESHAPE", [In((2, 3, 4), dtype), Const([4, -1], np.int32)], Out((4, 6), dtype))
    same(m, [data((2, 3, 4), dtype)])


@pytest.mark.parametrize("new_shape", [[24], [-1], [2, 2, -1, 3], [1, 24, 1], [-1, 1]])
def test_reshape_from_options(new_shape):
    m = single_op_model("RESHAPE", [In((2, 3, 4))], Out(()), new_shape=new_shape)
    same(m, [data((2, 3, 4))])


def test_reshape_to_scalar():
    # an empty shape input, and the legacy new_shape [0], both mean a scalar
    m = single_op_model("RESHAPE", [In((1, 1)), Const(np.zeros(0, np.int32))], Out(()))
    same(m, [data((1, 1))])
    m = single_op_model("RESHAPE", [In((1, 1))], Out(()), new_shape=[0])
    same(m, [data((1, 1))])


def test_reshape_uses_output_shape_without_shape_or_options():
    m = single_op_model("RESHAPE", [In((2, 3))], Out((3, 2)))
    (out,) = run_numlite(m, [data((2, 3))])
    np.testing.assert_array_equal(out, data((2, 3)).reshape(3, 2))


def test_reshape_quantized_passthrough():
    x = data((2, 6), np.int8)
    m = single_op_model("RESHAPE", [In((2, 6), np.int8, quant=Q8), Const([3, 4], np.int32)],
                        Out((3, 4), np.int8, quant=Q8))
    (out,) = same(m, [x])
    np.testing.assert_array_equal(out, x.reshape(3, 4))


@pytest.mark.parametrize("shape,msg", [([-1, -1], "more than one -1"), ([5, -1], "does not divide"),
                                       ([4, 5], "elements")])
def test_reshape_errors(shape, msg):
    m = single_op_model("RESHAPE", [In((2, 6)), Const(shape, np.int32)], Out(()))
    with pytest.raises(PrepareError, match=msg):
        run_numlite(m, [data((2, 6))])


def test_reshape_non_constant_shape_is_a_clear_error():
    m = single_op_model("RESHAPE", [In((2, 6)), In((2,), np.int32)], Out(()))
    with pytest.raises(PrepareError, match=r"RESHAPE \(node 0\).*must be known before invoke"):
        run_numlite(m, [data((2, 6)), np.array([3, 4], np.int32)])


@pytest.mark.parametrize("dims", [[], [0], [-1], [0, 2], [2, -4]])
def test_squeeze(dims):
    m = single_op_model("SQUEEZE", [In((1, 3, 1, 1))], Out(()), squeeze_dims=dims)
    same(m, [data((1, 3, 1, 1))])


def test_squeeze_int8_and_error():
    m = single_op_model("SQUEEZE", [In((1, 4), np.int8, quant=Q8)], Out((4,), np.int8, quant=Q8))
    same(m, [data((1, 4), np.int8)])
    m = single_op_model("SQUEEZE", [In((2, 3))], Out(()), squeeze_dims=[1])
    with pytest.raises(PrepareError, match="size is not 1"):
        run_numlite(m, [data((2, 3))])


@pytest.mark.parametrize("axis", [0, 1, 2, 3, -1, -2, -4])
@pytest.mark.parametrize("idx", [np.int32, np.int64])
def test_expand_dims(axis, idx):
    m = single_op_model("EXPAND_DIMS", [In((2, 3, 4)), Const(np.array(axis, idx))], Out(()))
    same(m, [data((2, 3, 4))])


def test_expand_dims_bool_and_error():
    m = single_op_model("EXPAND_DIMS", [In((3,), np.bool_), Const(np.array([0], np.int32))], Out((), np.bool_))
    same(m, [data((3,), np.bool_)])
    m = single_op_model("EXPAND_DIMS", [In((3,)), Const(np.array(3, np.int32))], Out(()))
    with pytest.raises(PrepareError, match="out of range"):
        run_numlite(m, [data((3,))])


# --- CONCATENATION ------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
@pytest.mark.parametrize("dtype", ALL)
def test_concatenation(axis, dtype):
    shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]]
    for k, s in enumerate(shapes):
        s[axis] = k + 1
    m = single_op_model("CONCATENATION", [In(s, dtype) for s in shapes], Out((), dtype), axis=axis)
    same(m, [data(s, dtype, seed=k) for k, s in enumerate(shapes)])


ACTS = {"RELU": lambda v: np.maximum(v, 0), "RELU6": lambda v: np.clip(v, 0, 6),
        "RELU_N1_TO_1": lambda v: np.clip(v, -1, 1), "TANH": np.tanh}


@pytest.mark.parametrize("act", list(ACTS))
def test_concatenation_activation(act):
    # LiteRT 2.3.0's kernel refuses a fused activation on CONCATENATION and its XNNPACK path
    # ignores it, so this compares with NumPy (exact: the same float32 ops).
    m = single_op_model("CONCATENATION", [In((2, 3)), In((2, 5))], Out(()), axis=1, fused_activation_function=act)
    a, b = rand((2, 3), lo=-8, hi=8), rand((2, 5), seed=1, lo=-8, hi=8)
    (out,) = run_numlite(m, [a, b])
    np.testing.assert_array_equal(out, ACTS[act](np.concatenate([a, b], 1)))


def test_concatenation_single_input_and_constant_operand():
    m = single_op_model("CONCATENATION", [In((2, 3))], Out(()), axis=0)
    same(m, [data((2, 3))])
    m = single_op_model("CONCATENATION", [In((2, 3)), Const(data((1, 3), seed=4))], Out(()), axis=0)
    same(m, [data((2, 3))])


def test_concatenation_quantized():
    m = single_op_model("CONCATENATION", [In((2, 3), np.int8, quant=Q8), In((2, 2), np.int8, quant=Q8)],
                        Out((), np.int8, quant=Q8), axis=-1)
    same(m, [data((2, 3), np.int8), data((2, 2), np.int8, 1)])


def test_concatenation_uint8_requantizes():
    qa, qb, qo = ({"scale": [s], "zero_point": [z]} for s, z in [(0.5, 10), (0.1, 128), (0.3, 100)])
    m = single_op_model("CONCATENATION", [In((2, 3), np.uint8, quant=qa), In((2, 4), np.uint8, quant=qb)],
                        Out((), np.uint8, quant=qo), axis=1)
    x = np.arange(256, dtype=np.uint8)
    same(m, [(x[:6].reshape(2, 3) * 40).astype(np.uint8), (x[100:108].reshape(2, 4) * 33).astype(np.uint8)], ref=True)


@pytest.mark.parametrize("bad", ["shape", "dtype", "int8quant", "axis"])
def test_concatenation_errors(bad):
    a = In((2, 3), np.int8, quant=Q8)
    b = {"shape": In((3, 3), np.int8, quant=Q8), "dtype": In((2, 3), np.int16),
         "int8quant": In((2, 3), np.int8, quant={"scale": [1.0], "zero_point": [0]}), "axis": a}[bad]
    m = single_op_model("CONCATENATION", [a, b], Out((), np.int8, quant=Q8), axis=3 if bad == "axis" else 1)
    with pytest.raises(PrepareError, match="CONCATENATION"):
        run_numlite(m, [data((2, 3), np.int8), data(b.shape, b.dtype)])


# --- PAD / PADV2 / MIRROR_PAD -------------------------------------------------------------
PADS = {1: [[1, 2]], 2: [[0, 1], [2, 0]], 3: [[1, 0], [0, 0], [2, 1]], 4: [[0, 0], [1, 1], [2, 3], [0, 1]],
        5: [[0, 1], [1, 0], [0, 0], [1, 2], [0, 1]]}


@pytest.mark.parametrize("rank", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.int8, np.uint8, np.int16])
def test_pad(rank, dtype):
    shape = (2, 3, 2, 3, 2)[:rank]
    m = single_op_model("PAD", [In(shape, dtype), Const(PADS[rank], np.int32)], Out((), dtype))
    same(m, [data(shape, dtype)])


def test_pad_quantized_uses_zero_point_and_int64_paddings():
    m = single_op_model("PAD", [In((2, 3), np.int8, quant=Q8), Const(PADS[2], np.int64)], Out((), np.int8, quant=Q8))
    (out,) = same(m, [data((2, 3), np.int8)])
    assert out[0, 0] == -3


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.int8, np.uint8])
def test_padv2_constant(dtype):
    m = single_op_model("PADV2", [In((2, 3), dtype), Const(PADS[2], np.int32), Const(np.array(7, dtype))],
                        Out((), dtype))
    same(m, [data((2, 3), dtype)])


def test_padv2_value_is_an_input():
    m = single_op_model("PADV2", [In((1, 2, 2, 1)), Const(PADS[4], np.int32), In((), np.float32)], Out(()))
    same(m, [data((1, 2, 2, 1)), np.array(-2.5, np.float32)])


def test_pad_errors():
    m = single_op_model("PAD", [In((2, 3)), Const([[1, 1]], np.int32)], Out(()))
    with pytest.raises(PrepareError, match=r"paddings must have shape \[2, 2\]"):
        run_numlite(m, [data((2, 3))])
    m = single_op_model("PAD", [In((2, 3)), Const([[1, -1], [0, 0]], np.int32)], Out(()))
    with pytest.raises(PrepareError, match="non-negative"):
        run_numlite(m, [data((2, 3))])


@pytest.mark.parametrize("mode", ["REFLECT", "SYMMETRIC"])
@pytest.mark.parametrize("shape,pads", [
    ((5,), [[4, 3]]), ((3, 4), [[2, 2], [3, 3]]), ((3, 4), [[0, 1], [1, 0]]),
    ((2, 3, 4), [[1, 1], [2, 0], [0, 3]]), ((1, 4, 4, 2), [[0, 0], [3, 2], [1, 3], [0, 1]])])
def test_mirror_pad(mode, shape, pads):
    if mode == "REFLECT":
        pads = [[min(a, n - 1), min(b, n - 1)] for (a, b), n in zip(pads, shape)]
    m = single_op_model("MIRROR_PAD", [In(shape), Const(pads, np.int32)], Out(()), mode=mode)
    same(m, [data(shape)])


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.int64])
def test_mirror_pad_dtypes(dtype):
    m = single_op_model("MIRROR_PAD", [In((3, 4), dtype), Const([[2, 1], [3, 2]], np.int64)], Out((), dtype),
                        mode="SYMMETRIC")
    same(m, [data((3, 4), dtype)])


def test_mirror_pad_too_large():
    m = single_op_model("MIRROR_PAD", [In((3, 4)), Const([[3, 0], [0, 0]], np.int32)], Out(()), mode="REFLECT")
    with pytest.raises(PrepareError, match="too large"):
        run_numlite(m, [data((3, 4))])


# --- TRANSPOSE / SLICE --------------------------------------------------------------------
@pytest.mark.parametrize("perm", [[0], [1, 0], [2, 0, 1], [0, 2, 1, 3], [3, 1, 0, 2], [4, 2, 0, 1, 3],
                                  [5, 0, 4, 1, 3, 2]])
def test_transpose(perm):
    shape = (2, 3, 1, 4, 2, 3)[:len(perm)]
    m = single_op_model("TRANSPOSE", [In(shape), Const(perm, np.int32)], Out(()))
    same(m, [data(shape)])


@pytest.mark.parametrize("dtype", ALL)
def test_transpose_dtypes(dtype):
    m = single_op_model("TRANSPOSE", [In((2, 3, 4), dtype), Const([2, 0, 1], np.int32)], Out((), dtype))
    same(m, [data((2, 3, 4), dtype)])


def test_transpose_bad_perm():
    m = single_op_model("TRANSPOSE", [In((2, 3)), Const([0, 0], np.int32)], Out(()))
    with pytest.raises(PrepareError, match="not a permutation"):
        run_numlite(m, [data((2, 3))])


@pytest.mark.parametrize("begin,size", [([0, 0, 0], [-1, -1, -1]), ([1, 2, 0], [1, -1, 3]), ([0, 1, 2], [2, 2, 2]),
                                        ([1, 0, 4], [1, 4, 0])])
@pytest.mark.parametrize("idx", [np.int32, np.int64])
def test_slice(begin, size, idx):
    m = single_op_model("SLICE", [In((2, 4, 4)), Const(begin, idx), Const(size, idx)], Out(()))
    same(m, [data((2, 4, 4))])


@pytest.mark.parametrize("dtype", ALL)
def test_slice_dtypes(dtype):
    m = single_op_model("SLICE", [In((3, 5), dtype), Const([1, 1], np.int32), Const([2, -1], np.int32)], Out((), dtype))
    same(m, [data((3, 5), dtype)])


def test_slice_out_of_range():
    m = single_op_model("SLICE", [In((3, 5)), Const([2, 0], np.int32), Const([2, -1], np.int32)], Out(()))
    with pytest.raises(PrepareError, match="out of range"):
        run_numlite(m, [data((3, 5))])


# --- GATHER -------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
@pytest.mark.parametrize("idx_shape", [(), (4,), (2, 3)])
@pytest.mark.parametrize("idx", [np.int32, np.int64])
def test_gather(axis, idx_shape, idx):
    shape = (3, 4, 5)
    n = shape[axis]
    ind = (np.arange(int(np.prod(idx_shape)), dtype=idx) * 7 % n).reshape(idx_shape)
    m = single_op_model("GATHER", [In(shape), In(idx_shape, idx)], Out(()), axis=axis)
    same(m, [data(shape), ind])


@pytest.mark.parametrize("dtype", ALL)
def test_gather_dtypes_constant_indices(dtype):
    m = single_op_model("GATHER", [In((5, 3), dtype), Const([4, 0, 0, 2], np.int32)], Out((), dtype))
    same(m, [data((5, 3), dtype)])


@pytest.mark.parametrize("axis,bd", [(1, 1), (2, 1), (2, 2), (-1, -1), (3, 2), (3, 0)])
@pytest.mark.parametrize("idx", [np.int32, np.int64])
def test_gather_batch_dims(axis, bd, idx):
    shape = (2, 3, 4, 5)
    ishape = (2, 3, 2)[:bd % 3] + (2,)  # bd = -1 counts from the indices' rank 3: batch dims (2, 3)
    ind = rand(ishape, idx, seed=5, lo=0, hi=shape[axis] - 1)
    m = single_op_model("GATHER", [In(shape), In(ishape, idx)], Out(()), axis=axis, batch_dims=bd)
    same(m, [data(shape), ind])


def test_gather_out_of_range_index_fails_at_invoke():
    m = single_op_model("GATHER", [In((4, 3)), In((2,), np.int32)], Out(()))
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], data((4, 3)))
    for bad in (4, -1):
        it.set_tensor(it.get_input_details()[1]["index"], np.array([0, bad], np.int32))
        with pytest.raises(RuntimeError, match=r"GATHER \(node 0\).*out of range"):
            it.invoke()
    it.set_tensor(it.get_input_details()[1]["index"], np.array([3, 1], np.int32))
    it.invoke()
    from ai_edge_litert.interpreter import Interpreter
    lt = Interpreter(model_content=m)
    lt.allocate_tensors()
    lt.set_tensor(lt.get_input_details()[0]["index"], data((4, 3)))
    lt.set_tensor(lt.get_input_details()[1]["index"], np.array([0, 4], np.int32))
    with pytest.raises(RuntimeError):
        lt.invoke()


def test_gather_constant_out_of_range_fails_at_prepare():
    m = single_op_model("GATHER", [In((4, 3)), Const([5], np.int32)], Out(()))
    with pytest.raises(PrepareError, match="out of range"):
        run_numlite(m, [data((4, 3))])


# --- PACK / UNPACK / SPLIT / SPLIT_V ------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.int8, np.uint8, np.int16])
def test_pack(axis, dtype):
    m = single_op_model("PACK", [In((2, 3), dtype)] * 3, Out((), dtype), values_count=3, axis=axis)
    same(m, [data((2, 3), dtype, seed=k) for k in range(3)])


def test_pack_scalars_with_constants():
    m = single_op_model("PACK", [In((), np.int32), Const(np.array(48, np.int32))], Out((), np.int32), values_count=2)
    same(m, [np.array(5, np.int32)])


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int8, np.uint8, np.int16, np.bool_])
def test_unpack(axis, dtype):
    shape = (2, 3, 4)
    n = shape[axis]
    m = single_op_model("UNPACK", [In(shape, dtype)], [Out((), dtype)] * n, num=n, axis=axis)
    same(m, [data(shape, dtype)])


@pytest.mark.parametrize("op", ["PACK", "UNPACK"])
def test_pack_unpack_types_litert_lacks(op):
    # LiteRT 2.3.0 has no bool PACK and no int64 UNPACK; numlite moves any dtype
    x = data((3, 2), np.bool_ if op == "PACK" else np.int64)
    if op == "PACK":
        m = single_op_model("PACK", [In((2,), x.dtype)] * 3, Out((), x.dtype), values_count=3, axis=1)
        (out,) = run_numlite(m, list(x))
        np.testing.assert_array_equal(out, x.T)
    else:
        m = single_op_model("UNPACK", [In((3, 2), x.dtype)], [Out((), x.dtype)] * 2, num=2, axis=1)
        outs = run_numlite(m, [x])
        for k in range(2):
            np.testing.assert_array_equal(outs[k], x[:, k])


def test_unpack_vector():
    m = single_op_model("UNPACK", [In((3,), np.int32)], [Out((), np.int32)] * 3, num=3)
    same(m, [np.array([4, 5, 6], np.int32)])


@pytest.mark.parametrize("axis", [0, 1, -1, -2])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.int8, np.uint8, np.int16])
def test_split(axis, dtype):
    m = single_op_model("SPLIT", [Const(np.array(axis, np.int32)), In((4, 6), dtype)], [Out((), dtype)] * 2,
                        num_splits=2)
    same(m, [data((4, 6), dtype)])


@pytest.mark.parametrize("sizes,axis", [([1, 2, 3], 1), ([2, -1, 0], -1), ([3, 1], 0), ([-1], 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int8])
def test_split_v(sizes, axis, dtype):
    shape = (4, 6, 3)
    m = single_op_model("SPLIT_V", [In(shape, dtype), Const(sizes, np.int32), Const(np.array(axis, np.int32))],
                        [Out((), dtype)] * len(sizes), num_splits=len(sizes))
    same(m, [data(shape, dtype)])


def test_split_errors():
    m = single_op_model("SPLIT", [Const(np.array(1, np.int32)), In((4, 6))], [Out(())] * 4, num_splits=4)
    with pytest.raises(PrepareError, match="not divisible"):
        run_numlite(m, [data((4, 6))])
    m = single_op_model("SPLIT_V", [In((4, 6)), Const([1, 2], np.int32), Const(np.array(1, np.int32))],
                        [Out(())] * 2, num_splits=2)
    with pytest.raises(PrepareError, match="do not add up"):
        run_numlite(m, [data((4, 6))])


# --- SHAPE / TILE / BROADCAST_TO / DEPTH_TO_SPACE / SPACE_TO_DEPTH / ZEROS_LIKE / FILL ------------
@pytest.mark.parametrize("out_type,dtype", [("INT32", np.int32), ("INT64", np.int64)])
@pytest.mark.parametrize("shape", [(3,), (2, 1, 5), (1, 2, 3, 4, 5, 6)])
def test_shape(out_type, dtype, shape):
    m = single_op_model("SHAPE", [In(shape)], Out((len(shape),), dtype), out_type=out_type)
    same(m, [data(shape)])


def test_shape_of_scalar():
    # LiteRT 2.3.0 cannot read back the empty result ("Invalid tensor size")
    m = single_op_model("SHAPE", [In(())], Out((0,), np.int32), out_type="INT32")
    (out,) = run_numlite(m, [data(())])
    assert out.shape == (0,) and out.dtype == np.int32


@pytest.mark.parametrize("mult", [[1, 1], [2, 3], [3, 1], [1, 4]])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.int8, np.uint8, np.int16, np.bool_])
def test_tile(mult, dtype):
    m = single_op_model("TILE", [In((2, 3), dtype), Const(mult, np.int32)], Out((), dtype))
    same(m, [data((2, 3), dtype)])


def test_tile_rank4_int64_multiples():
    m = single_op_model("TILE", [In((1, 2, 1, 3)), Const([2, 1, 3, 2], np.int64)], Out(()))
    same(m, [data((1, 2, 1, 3))])


@pytest.mark.parametrize("shape,to", [((3,), (2, 3)), ((2, 1), (2, 4)), ((1, 1, 3), (4, 2, 3)), ((), (2, 2)),
                                      ((2, 1, 3), (5, 2, 4, 3))])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int8, np.bool_])
def test_broadcast_to(shape, to, dtype):
    m = single_op_model("BROADCAST_TO", [In(shape, dtype), Const(to, np.int32)], Out((), dtype), version=2)
    same(m, [data(shape, dtype)])


def test_broadcast_to_error():
    m = single_op_model("BROADCAST_TO", [In((2, 3)), Const([4, 3], np.int32)], Out(()), version=2)
    with pytest.raises(PrepareError, match="cannot broadcast"):
        run_numlite(m, [data((2, 3))])


@pytest.mark.parametrize("block", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.uint8, np.int32, np.int64])
def test_depth_to_space(block, dtype):
    shape = (2, 2, 3, 2 * block * block)
    m = single_op_model("DEPTH_TO_SPACE", [In(shape, dtype)], Out((), dtype), block_size=block)
    same(m, [data(shape, dtype)])


@pytest.mark.parametrize("block", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.uint8, np.int32, np.int64])
def test_space_to_depth(block, dtype):
    shape = (2, 2 * block, 3 * block, 2)
    m = single_op_model("SPACE_TO_DEPTH", [In(shape, dtype)], Out((), dtype), block_size=block)
    same(m, [data(shape, dtype)])


def test_depth_space_errors():
    m = single_op_model("DEPTH_TO_SPACE", [In((1, 2, 2, 6))], Out(()), block_size=2)
    with pytest.raises(PrepareError, match="block_size"):
        run_numlite(m, [data((1, 2, 2, 6))])
    m = single_op_model("SPACE_TO_DEPTH", [In((1, 3, 2, 1))], Out(()), block_size=2)
    with pytest.raises(PrepareError, match="block_size"):
        run_numlite(m, [data((1, 3, 2, 1))])


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64])
def test_zeros_like(dtype):
    m = single_op_model("ZEROS_LIKE", [In((2, 3), dtype)], Out((), dtype))
    same(m, [data((2, 3), dtype)])


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.bool_, np.int8, np.int16])
@pytest.mark.parametrize("idx", [np.int32, np.int64])
def test_fill(dtype, idx):
    m = single_op_model("FILL", [Const([2, 3], idx), In((), dtype)], Out((), dtype))
    same(m, [np.array(1 if dtype == np.bool_ else 5, dtype)])


def test_fill_constant_is_folded():
    m = single_op_model("FILL", [Const([3], np.int32), Const(np.array(2.5, np.float32))], Out(()))
    (out,) = same(m, [])
    np.testing.assert_array_equal(out, [2.5, 2.5, 2.5])


# --- folding: every op gives the same result when all its inputs are constants ------------
@pytest.mark.parametrize("op,inputs,opts,n_out", [
    ("RESHAPE", [np.arange(6, dtype=np.float32), np.array([2, 3], np.int32)], {}, 1),
    ("TRANSPOSE", [np.arange(6, dtype=np.int32).reshape(2, 3), np.array([1, 0], np.int32)], {}, 1),
    ("CONCATENATION", [np.ones((2, 2), np.float32), np.zeros((2, 1), np.float32)], {"axis": 1}, 1),
    ("PAD", [np.ones((2, 2), np.int8), np.array([[1, 0], [0, 1]], np.int32)], {}, 1),
    ("MIRROR_PAD", [np.arange(4, dtype=np.float32), np.array([[2, 1]], np.int32)], {"mode": "REFLECT"}, 1),
    ("GATHER", [np.arange(12, dtype=np.float32).reshape(4, 3), np.array([3, 0], np.int32)], {}, 1),
    ("PACK", [np.array(1, np.int32), np.array(2, np.int32)], {"values_count": 2}, 1),
    ("UNPACK", [np.arange(6, dtype=np.int32).reshape(3, 2)], {"num": 3}, 3),
    ("SPLIT", [np.array(0, np.int32), np.arange(4, dtype=np.float32)], {"num_splits": 2}, 2),
    ("TILE", [np.arange(3, dtype=np.int32), np.array([2], np.int32)], {}, 1),
    ("SLICE", [np.arange(5, dtype=np.int64), np.array([1], np.int32), np.array([-1], np.int32)], {}, 1),
    ("ZEROS_LIKE", [np.ones((2, 2), np.float32)], {}, 1),
    ("DEPTH_TO_SPACE", [np.arange(8, dtype=np.float32).reshape(1, 1, 2, 4)], {"block_size": 2}, 1),
    ("SPACE_TO_DEPTH", [np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)], {"block_size": 2}, 1),
    ("SQUEEZE", [np.arange(3, dtype=np.float32).reshape(1, 3, 1)], {}, 1),
    ("EXPAND_DIMS", [np.arange(3, dtype=np.int32), np.array(-1, np.int32)], {}, 1),
    ("BROADCAST_TO", [np.arange(3, dtype=np.float32), np.array([2, 3], np.int32)], {}, 1),
    ("SPLIT_V", [np.arange(5, dtype=np.int32), np.array([2, -1], np.int32), np.array(0, np.int32)],
     {"num_splits": 2}, 2),
    ("PADV2", [np.ones((2,), np.float32), np.array([[1, 2]], np.int32), np.array(3, np.float32)], {}, 1),
])
def test_all_constant_inputs_fold(op, inputs, opts, n_out):
    dt = inputs[0].dtype if op not in ("SPLIT",) else inputs[1].dtype
    m = single_op_model(op, [Const(v) for v in inputs], [Out((), dt) for _ in range(n_out)],
                        version=2 if op == "BROADCAST_TO" else 1, **opts)
    same(m, [])


def test_shape_value_is_published_at_prepare():
    mb = ModelBuilder()
    x = mb.input("x", (2, 5), np.float32)
    s = mb.tensor("s", (2,), np.int32)
    mb.op("SHAPE", [x], [s], out_type="INT32")
    mb.output(s)
    it = numlite.Interpreter(model_content=mb.build())
    it.allocate_tensors()
    assert it._main.steps == []  # folded: nothing left to run
    np.testing.assert_array_equal(it.get_tensor(s), [2, 5])
