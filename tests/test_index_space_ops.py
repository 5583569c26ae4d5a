"""SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND, DYNAMIC_UPDATE_SLICE, REVERSE_SEQUENCE, BROADCAST_ARGS,
MATRIX_DIAG, MATRIX_SET_DIAG, UNIQUE, SPARSE_TO_DENSE and BUCKETIZE against LiteRT.

All of them only move, select or compare values, so every output must match exactly, floats
included (``assert_matches_litert`` compares integers exactly; float results here are copies, so
its default tolerance never comes into play).  Quantized tensors are moved as stored and compared
with LiteRT's reference kernels (BUILTIN_REF).  Cases where LiteRT 2.3 refuses, misreads or
crashes (int64 block shapes, ranks above 4, float16 / float64 / bool diagonals, incompatible
BROADCAST_ARGS shapes, empty UNIQUE inputs, NaN in UNIQUE, out-of-range sparse indices) are
checked against an independent NumPy formulation instead, and said so; those LiteRT crashes are
never run here.
"""

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, rand, run_litert, run_numlite, single_op_model

from numlite.ops.registry import supported_builtins

I32, I64, F32 = np.int32, np.int64, np.float32
ALL_DTYPES = [np.float32, np.float16, np.float64, np.int32, np.int64, np.uint8, np.int8, np.int16, np.uint16,
              np.uint32, np.bool_]
Q8 = {"scale": [0.25], "zero_point": [7]}
Q8S = {"scale": [0.25], "zero_point": [-5]}
Q16 = {"scale": [0.01], "zero_point": [0]}


def data(shape, dtype, seed=0):
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return rand(shape, np.bool_, seed=seed)
    if dt.kind == "f":
        return rand(shape, np.float32, seed=seed, lo=-50, hi=50).astype(dt)
    info = np.iinfo(dt)
    return rand(shape, dt, seed=seed, lo=max(info.min, -100), hi=min(info.max, 100))


def fails(model, feeds, op, match):
    with pytest.raises(RuntimeError, match=rf"{op} \(node 0\): .*{match}"):
        run_numlite(model, feeds)


def test_versions():
    b = supported_builtins()
    assert b["SPACE_TO_BATCH_ND"] == b["BATCH_TO_SPACE_ND"] == [1, 2, 3, 4]
    assert b["DYNAMIC_UPDATE_SLICE"] == [1, 2, 3, 4, 5, 6]
    assert b["SPARSE_TO_DENSE"] == [1, 2, 3]
    for op in ["REVERSE_SEQUENCE", "BROADCAST_ARGS", "MATRIX_DIAG", "MATRIX_SET_DIAG", "UNIQUE", "BUCKETIZE"]:
        assert b[op] == [1]


# -- SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND -------------------------------------------------------
def np_space_to_batch(x, block, pads, pad_value=0):
    """TensorFlow's definition: pad, split each spatial dim into (size / b, b), move the b's first."""
    m = len(block)
    widths = [(0, 0)] + [tuple(p) for p in pads] + [(0, 0)] * (x.ndim - m - 1)
    p = np.pad(x, widths, constant_values=pad_value)
    shape = [p.shape[0]]
    for i, b in enumerate(block):
        shape += [p.shape[i + 1] // b, b]
    r = p.reshape(shape + list(p.shape[m + 1:]))
    perm = [2 + 2 * i for i in range(m)] + [0] + [1 + 2 * i for i in range(m)] + list(range(2 * m + 1, r.ndim))
    t = r.transpose(perm)
    return t.reshape([p.shape[0] * int(np.prod(block))] + [p.shape[i + 1] // b for i, b in enumerate(block)]
                     + list(p.shape[m + 1:]))


def np_batch_to_space(y, block, crops):
    m = len(block)
    nb = int(np.prod(block))
    b0 = y.shape[0] // nb
    r = y.reshape(list(block) + [b0] + list(y.shape[1:]))
    perm = [m]
    for i in range(m):
        perm += [m + 1 + i, i]
    perm += list(range(2 * m + 1, r.ndim))
    t = r.transpose(perm).reshape([b0] + [y.shape[i + 1] * b for i, b in enumerate(block)] + list(y.shape[m + 1:]))
    idx = (slice(None),) + tuple(slice(c0, t.shape[i + 1] - c1) for i, (c0, c1) in enumerate(crops))
    return t[idx]


def s2b_model(shape, dtype, block, pads, out_shape, version=1, q=None, dyn=False, idx_dtype=I32):
    if dyn:
        ins = [In(shape, dtype, quant=q), In((len(block),), idx_dtype), In((len(block), 2), idx_dtype)]
    else:
        ins = [In(shape, dtype, quant=q), Const(np.array(block, idx_dtype)), Const(np.array(pads, idx_dtype))]
    return single_op_model("SPACE_TO_BATCH_ND", ins, Out(out_shape, dtype, quant=q), version=version)


def b2s_model(shape, dtype, block, crops, out_shape, version=1, q=None, dyn=False, idx_dtype=I32):
    if dyn:
        ins = [In(shape, dtype, quant=q), In((len(block),), idx_dtype), In((len(block), 2), idx_dtype)]
    else:
        ins = [In(shape, dtype, quant=q), Const(np.array(block, idx_dtype)), Const(np.array(crops, idx_dtype))]
    return single_op_model("BATCH_TO_SPACE_ND", ins, Out(out_shape, dtype, quant=q), version=version)


SB_CASES = [  # (space shape, block, paddings / crops)
    ((1, 4, 4, 1), [2, 2], [[0, 0], [0, 0]]),
    ((2, 5, 3, 2), [2, 3], [[1, 2], [0, 3]]),
    ((3, 4, 7, 2), [4, 1], [[0, 0], [2, 1]]),
    ((2, 6, 1), [3], [[1, 2]]),
    ((1, 1, 1, 3), [3, 2], [[1, 1], [0, 1]]),
]


@pytest.mark.parametrize("case", range(len(SB_CASES)))
@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.uint8, np.int16, np.int32, np.int64, np.float16, np.bool_])
def test_space_batch(case, dtype):
    shape, block, pads = SB_CASES[case]
    x = data(shape, dtype, seed=case)
    y_ref = np_space_to_batch(x, block, pads)
    y = assert_matches_litert(s2b_model(shape, dtype, block, pads, y_ref.shape), [x])[0]
    np.testing.assert_array_equal(y, y_ref)
    back = assert_matches_litert(b2s_model(y.shape, dtype, block, pads, shape), [y])[0]
    np.testing.assert_array_equal(back, x)


@pytest.mark.parametrize("case", range(len(SB_CASES)))
def test_space_batch_dynamic_block(case):
    shape, block, pads = SB_CASES[case]
    x = data(shape, F32, seed=case)
    y = np_space_to_batch(x, block, pads)
    feeds = [np.array(block, I32), np.array(pads, I32)]
    assert_matches_litert(s2b_model(shape, F32, block, pads, y.shape, dyn=True), [x, *feeds])
    assert_matches_litert(b2s_model(y.shape, F32, block, pads, shape, dyn=True), [y, *feeds])


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_space_batch_versions(version):
    x = data((2, 4, 6, 3), np.int8)
    y = np_space_to_batch(x, [2, 3], [[0, 0], [0, 0]])
    assert_matches_litert(s2b_model(x.shape, np.int8, [2, 3], [[0, 0], [0, 0]], y.shape, version=version), [x])
    assert_matches_litert(b2s_model(y.shape, np.int8, [2, 3], [[0, 0], [0, 0]], x.shape, version=version), [y])


@pytest.mark.parametrize("dtype,q", [(np.uint8, Q8), (np.int8, Q8S), (np.int16, Q16)])
def test_space_batch_quantized_pads_with_zero_point(dtype, q):
    x = data((1, 3, 3, 2), dtype)
    pads = [[1, 2], [2, 1]]
    y = np_space_to_batch(x, [2, 3], pads, pad_value=q["zero_point"][0])
    out = assert_matches_litert(s2b_model(x.shape, dtype, [2, 3], pads, y.shape, q=q), [x], ref=True)[0]
    np.testing.assert_array_equal(out, y)
    back = assert_matches_litert(b2s_model(y.shape, dtype, [2, 3], pads, x.shape, q=q), [y], ref=True)[0]
    np.testing.assert_array_equal(back, x)


def test_space_batch_beyond_litert():
    # LiteRT 2.3 takes only ranks 3 and 4 with M = rank - 2, and misreads int64 block / paddings:
    # numlite follows TensorFlow's definition (checked against NumPy)
    x = data((2, 4, 3, 2, 2), F32)
    block, pads = [2, 3, 1], [[1, 1], [0, 3], [0, 0]]
    y = np_space_to_batch(x, block, pads)
    np.testing.assert_array_equal(run_numlite(s2b_model(x.shape, F32, block, pads, y.shape), [x])[0], y)
    np.testing.assert_array_equal(run_numlite(b2s_model(y.shape, F32, block, pads, x.shape), [y])[0], x)
    x4 = data((2, 6, 3, 2), F32)  # one spatial dimension of three
    y4 = np_space_to_batch(x4, [3], [[0, 0]])
    np.testing.assert_array_equal(run_numlite(s2b_model(x4.shape, F32, [3], [[0, 0]], y4.shape), [x4])[0], y4)
    m = s2b_model(x.shape, F32, block, pads, y.shape, idx_dtype=I64)
    np.testing.assert_array_equal(run_numlite(m, [x])[0], y)
    m = b2s_model(y.shape, F32, block, pads, x.shape, dyn=True, idx_dtype=I64)
    np.testing.assert_array_equal(run_numlite(m, [y, np.array(block, I64), np.array(pads, I64)])[0], x)


def test_space_batch_big_block():
    # a block bigger than the data: most batch groups are pure padding
    x = data((1, 2, 3, 1), F32)
    block, pads = [16, 8], [[7, 7], [2, 3]]
    y = np_space_to_batch(x, block, pads)
    assert_matches_litert(s2b_model(x.shape, F32, block, pads, y.shape), [x])
    assert_matches_litert(b2s_model(y.shape, F32, block, pads, x.shape), [y])


def test_space_batch_errors():
    x = data((1, 4, 4, 1), F32)
    S, B = "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND"
    fails(s2b_model(x.shape, F32, [3, 2], [[0, 0], [0, 0]], (6, 1, 2, 1)), [x], S, "not a multiple of block size 3")
    # LiteRT 2.3 takes negative paddings and crops with them; TensorFlow refuses them, and so does numlite
    fails(s2b_model(x.shape, F32, [2, 2], [[-2, 2], [0, 0]], (4, 2, 2, 1)), [x], S, r"paddings .* must be >= 0")
    fails(s2b_model(x.shape, F32, [0, 2], [[0, 0], [0, 0]], (4, 2, 2, 1)), [x], S, r"block_shape \[0, 2\] must be >= 1")
    fails(s2b_model(x.shape, F32, [2, 2], [[0, 0]], (4, 2, 2, 1)), [x], S, r"must have shape \[2, 2\]")
    m = s2b_model(x.shape, F32, [2, 2], [[0, 0], [0, 0]], (4, 2, 2, 1), dyn=True)
    fails(m, [x, np.array([3, 2], I32), np.zeros((2, 2), I32)], S, "not a multiple of block size 3")
    fails(m, [x, np.array([2, -1], I32), np.zeros((2, 2), I32)], S, "must be >= 1")
    y = data((4, 2, 2, 1), F32)
    fails(b2s_model(y.shape, F32, [3, 1], [[0, 0], [0, 0]], (1, 6, 2, 1)), [y], B, "not a multiple")
    fails(b2s_model(y.shape, F32, [2, 2], [[0, 5], [0, 0]], (1, 0, 4, 1)), [y], B, "crops 0 \\+ 5 exceed")
    fails(b2s_model(y.shape, F32, [2, 2], [[-1, 0], [0, 0]], (1, 5, 4, 1)), [y], B, r"crops .* must be >= 0")
    m = b2s_model(y.shape, F32, [2, 2], [[0, 0], [0, 0]], (1, 4, 4, 1), dyn=True)
    fails(m, [y, np.array([2, 2], I32), np.array([[3, 3], [0, 0]], I32)], B, "exceed")
    m = single_op_model(S, [In((1, 4, 4, 1), np.int8, quant=Q8S), Const(np.array([2, 2], I32)),
                            Const(np.zeros((2, 2), I32))], Out((4, 2, 2, 1), np.int8, quant=Q8))
    fails(m, [x.astype(np.int8)], S, "same scale and zero point")
    m = single_op_model(S, [In((1, 4, 4, 1)), Const(np.array([2, 2], I32)), Const(np.zeros((2, 2), I32))],
                        Out((4, 2, 2, 1), I32))
    fails(m, [x], S, "output .* input's type float32")
    m = single_op_model(S, [In((4,)), Const(np.array([2, 2], I32)), Const(np.zeros((2, 2), I32))], Out((4,)))
    fails(m, [x.reshape(-1)[:4]], S, "rank >= 3")


# -- DYNAMIC_UPDATE_SLICE ------------------------------------------------------------------------
def dus_model(shape, ushape, dtype, starts=None, idx_dtype=I32, version=1, q=None):
    st = In((len(shape),), idx_dtype) if starts is None else Const(np.array(starts, idx_dtype))
    return single_op_model("DYNAMIC_UPDATE_SLICE", [In(shape, dtype, quant=q), In(ushape, dtype, quant=q), st],
                           Out(shape, dtype, quant=q), version=version)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_dynamic_update_slice(dtype):
    x, u = data((4, 5, 3), dtype), data((2, 3, 3), dtype, seed=1)
    m = dus_model(x.shape, u.shape, dtype)
    for st in ([1, 2, 0], [0, 0, 0], [-3, 1, 5], [100, -100, 1], [3, 3, 0]):  # clamped into the operand
        assert_matches_litert(m, [x, u, np.array(st, I32)])


@pytest.mark.parametrize("version", range(1, 7))
def test_dynamic_update_slice_versions(version):
    x, u = data((6,), F32), data((2,), F32, seed=1)
    assert_matches_litert(dus_model(x.shape, u.shape, F32, version=version, idx_dtype=I64), [x, u, np.array([4], I64)])
    assert_matches_litert(dus_model(x.shape, u.shape, F32, starts=[5], version=version), [x, u])


def test_dynamic_update_slice_edges():
    x = data((3, 4), F32)
    assert_matches_litert(dus_model(x.shape, x.shape, F32), [x, x * 2, np.array([1, 1], I32)])  # whole update
    assert_matches_litert(dus_model(x.shape, (0, 2), F32), [x, np.zeros((0, 2), F32), np.array([1, 1], I32)])
    assert_matches_litert(dus_model(x.shape, (1, 1), F32, starts=[2, 3]), [x, np.ones((1, 1), F32)])
    assert_matches_litert(dus_model((), (), F32, starts=np.zeros(0, I32)), [np.float32(1), np.float32(2)])
    q = {"scale": [0.5], "zero_point": [3]}
    xi = data((3, 4), np.int8)
    assert_matches_litert(dus_model(xi.shape, (2, 2), np.int8, q=q), [xi, xi[:2, :2] + 1, np.array([1, 1], I32)],
                          ref=True)


def test_dynamic_update_slice_errors():
    x = data((3, 4), F32)
    op = "DYNAMIC_UPDATE_SLICE"
    fails(dus_model(x.shape, (4, 1), F32), [x, np.ones((4, 1), F32), np.zeros(2, I32)], op, "no larger dimension")
    m = single_op_model(op, [In((3, 4)), In((1, 1)), In((3,), I32)], Out((3, 4)))
    fails(m, [x, np.ones((1, 1), F32), np.zeros(3, I32)], op, "vector of 2 values")
    m = single_op_model(op, [In((3, 4)), In((1, 1), I32), In((2,), I32)], Out((3, 4)))
    fails(m, [x, np.ones((1, 1), I32), np.zeros(2, I32)], op, "update .* operand's type float32")
    m = single_op_model(op, [In((3, 4)), In((1, 1)), In((2,), np.int16)], Out((3, 4)))
    fails(m, [x, np.ones((1, 1), F32), np.zeros(2, np.int16)], op, "start_indices .* int16")


# -- REVERSE_SEQUENCE ------------------------------------------------------------------------------
def rseq_model(shape, dtype, seq_dim, batch_dim, lengths=None, ldtype=I32, q=None):
    ln = In((shape[batch_dim],), ldtype) if lengths is None else Const(np.array(lengths, ldtype))
    return single_op_model("REVERSE_SEQUENCE", [In(shape, dtype, quant=q), ln], Out(shape, dtype, quant=q),
                           seq_dim=seq_dim, batch_dim=batch_dim)


@pytest.mark.parametrize("dtype", [np.float32, np.int16, np.int32, np.int64, np.uint8])
@pytest.mark.parametrize("shape,seq_dim,batch_dim", [((3, 5), 1, 0), ((5, 3), 0, 1), ((2, 4, 3, 2), 2, 0),
                                                     ((2, 3, 4, 2), 1, 3), ((4, 2, 3), 0, 2)])
def test_reverse_sequence(dtype, shape, seq_dim, batch_dim):
    x = data(shape, dtype)
    rng = np.random.default_rng(sum(shape))
    lengths = rng.integers(-1, shape[seq_dim] + 1, size=shape[batch_dim])
    lengths[0] = shape[seq_dim]  # LiteRT checks the first length only: keep the others in range too
    for ld in (I32, I64):
        m = rseq_model(shape, dtype, seq_dim, batch_dim, ldtype=ld)
        assert_matches_litert(m, [x, lengths.astype(ld)])
        assert_matches_litert(rseq_model(shape, dtype, seq_dim, batch_dim, lengths=lengths, ldtype=ld), [x])


def test_reverse_sequence_quantized():
    x = data((3, 4), np.uint8)
    assert_matches_litert(rseq_model(x.shape, np.uint8, 1, 0, lengths=[2, 4, 0], q=Q8), [x], ref=True)


def test_reverse_sequence_errors():
    op = "REVERSE_SEQUENCE"
    x = data((3, 5), F32)
    # LiteRT 2.3 checks only the first length and reads out of bounds for the others
    fails(rseq_model(x.shape, F32, 1, 0), [x, np.array([1, 1, 6], I32)], op, "sequence length 6 exceeds the size 5")
    fails(rseq_model(x.shape, F32, 1, 0, lengths=[6, 0, 0]), [x], op, "sequence length 6 exceeds")
    fails(rseq_model(x.shape, F32, 1, 1, lengths=[1, 2, 3, 4, 5]), [x], op, "must be distinct axes")
    fails(rseq_model(x.shape, F32, 2, 0, lengths=[1, 2, 3]), [x], op, "must be distinct axes")
    m = single_op_model(op, [In((3, 5)), Const(np.array([1, 2], I32))], Out((3, 5)), seq_dim=1, batch_dim=0)
    fails(m, [x], op, "vector of 3 values")
    m = single_op_model(op, [In((3, 5), np.int8), Const(np.array([1, 2, 3], I32))], Out((3, 5), np.int8),
                        seq_dim=1, batch_dim=0)
    fails(m, [x.astype(np.int8)], op, "int8")


# -- BROADCAST_ARGS --------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [I32, I64])
@pytest.mark.parametrize("a,b", [([2, 1, 4], [3, 1]), ([1], [5, 6, 1]), ([0, 4], [3, 1, 1]), ([2, 3], [2, 3]),
                                 ([], [4, 2])])
def test_broadcast_args(dtype, a, b):
    a, b = np.array(a, dtype), np.array(b, dtype)
    n = max(a.size, b.size)
    m = single_op_model("BROADCAST_ARGS", [In(a.shape, dtype), In(b.shape, dtype)], Out((n,), dtype))
    out = assert_matches_litert(m, [a, b])[0]
    assert out.tolist() == list(np.broadcast_shapes(tuple(a.tolist()), tuple(b.tolist())))
    m = single_op_model("BROADCAST_ARGS", [Const(a), Const(b)], Out((n,), dtype))  # folded at prepare
    assert_matches_litert(m, [])


def test_broadcast_args_feeds_broadcast_to():
    # SHAPE -> BROADCAST_ARGS -> BROADCAST_TO: the shape is known at prepare, so the output is static
    from numlite.builder import ModelBuilder

    mb = ModelBuilder()
    x = mb.input("x", (3, 1), F32)
    s = mb.tensor("s", (2,), I32)
    mb.op("SHAPE", [x], [s], out_type="INT32")
    t = mb.const("t", np.array([1, 4], I32))
    b = mb.tensor("b", (2,), I32)
    mb.op("BROADCAST_ARGS", [s, t], [b])
    y = mb.tensor("y", (3, 4), F32)
    mb.op("BROADCAST_TO", [x, b], [y], version=2)
    mb.output(y)
    assert_matches_litert(mb.build(), [data((3, 1), F32)])


def test_broadcast_args_errors():
    # LiteRT 2.3 aborts the process on incompatible shapes: numlite raises (never run on LiteRT)
    m = single_op_model("BROADCAST_ARGS", [In((2,), I32), In((3,), I32)], Out((3,), I32))
    fails(m, [np.array([2, 4], I32), np.array([3, 1, 5], I32)], "BROADCAST_ARGS", "do not broadcast")
    m = single_op_model("BROADCAST_ARGS", [Const(np.array([2, 4], I32)), Const(np.array([3], I32))], Out((2,), I32))
    fails(m, [], "BROADCAST_ARGS", r"shapes \[2, 4\] and \[3\] do not broadcast")
    m = single_op_model("BROADCAST_ARGS", [In((2,), I32), In((2,), I64)], Out((2,), I32))
    fails(m, [np.ones(2, I32), np.ones(2, I64)], "BROADCAST_ARGS", "must have the type of shape 0")
    m = single_op_model("BROADCAST_ARGS", [In((2,), F32), In((2,), F32)], Out((2,), F32))
    fails(m, [np.ones(2, F32), np.ones(2, F32)], "BROADCAST_ARGS", "float32")


# -- MATRIX_DIAG / MATRIX_SET_DIAG -----------------------------------------------------------------
LITERT_DIAG_OK = [np.float32, np.int32, np.uint32, np.int64, np.int16, np.int8, np.uint8]
LITERT_DIAG_BAD = [np.float16, np.uint16, np.float64, np.bool_]  # wrong values (or a crash) in LiteRT 2.3


def np_matrix_diag(x):
    out = np.zeros(x.shape + x.shape[-1:], x.dtype)
    i = np.arange(x.shape[-1])
    out[..., i, i] = x
    return out


def np_matrix_set_diag(x, d):
    out = x.copy()
    m = min(x.shape[-2:])
    i = np.arange(m)
    out[..., i, i] = d.reshape(x.shape[:-2] + (m,))
    return out


@pytest.mark.parametrize("dtype", LITERT_DIAG_OK + LITERT_DIAG_BAD)
@pytest.mark.parametrize("shape", [(4,), (2, 3), (2, 1, 5), (3, 0)])
def test_matrix_diag(dtype, shape):
    x = data(shape, dtype)
    m = single_op_model("MATRIX_DIAG", [In(shape, dtype)], Out(shape + shape[-1:], dtype))
    if dtype in LITERT_DIAG_OK:
        out = assert_matches_litert(m, [x])[0]
    else:
        out = run_numlite(m, [x])[0]
    np.testing.assert_array_equal(out, np_matrix_diag(x))


@pytest.mark.parametrize("dtype", LITERT_DIAG_OK + LITERT_DIAG_BAD)
@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 5), (2, 5, 3), (1, 2, 1, 4), (2, 0, 3)])
def test_matrix_set_diag(dtype, shape):
    x = data(shape, dtype)
    dshape = shape[:-2] + (min(shape[-2:]),)
    d = data(dshape, dtype, seed=3)
    m = single_op_model("MATRIX_SET_DIAG", [In(shape, dtype), In(dshape, dtype)], Out(shape, dtype))
    if dtype in LITERT_DIAG_OK:
        out = assert_matches_litert(m, [x, d])[0]
    else:
        out = run_numlite(m, [x, d])[0]
    np.testing.assert_array_equal(out, np_matrix_set_diag(x, d))


def test_matrix_diag_quantized():
    x = data((2, 3), np.int8)
    m = single_op_model("MATRIX_DIAG", [In(x.shape, np.int8, quant=Q8S)], Out((2, 3, 3), np.int8, quant=Q8S))
    out = assert_matches_litert(m, [x], ref=True)[0]
    assert out[0, 0, 1] == 0  # the stored 0, not the zero point, as LiteRT writes it
    d = data((2,), np.uint8)
    m = single_op_model("MATRIX_SET_DIAG", [In((2, 3), np.uint8, quant=Q8), In((2,), np.uint8, quant=Q8)],
                        Out((2, 3), np.uint8, quant=Q8))
    assert_matches_litert(m, [x.astype(np.uint8), d], ref=True)


def test_matrix_diag_errors():
    m = single_op_model("MATRIX_DIAG", [In((), F32)], Out((), F32))
    fails(m, [np.float32(1)], "MATRIX_DIAG", "rank >= 1")
    m = single_op_model("MATRIX_SET_DIAG", [In((2, 3)), In((3,))], Out((2, 3)))
    fails(m, [data((2, 3), F32), data((3,), F32)], "MATRIX_SET_DIAG", r"must have 2 elements \(shape \[2\]\)")
    m = single_op_model("MATRIX_SET_DIAG", [In((3,)), In((1,))], Out((3,)))
    fails(m, [data((3,), F32), data((1,), F32)], "MATRIX_SET_DIAG", "rank >= 2")
    m = single_op_model("MATRIX_SET_DIAG", [In((2, 2)), In((2,), I32)], Out((2, 2)))
    fails(m, [data((2, 2), F32), data((2,), I32)], "MATRIX_SET_DIAG", "diagonal .* input's type")


# -- UNIQUE ----------------------------------------------------------------------------------------
def unique_model(n, dtype, idx=I32, const=None):
    x = In((n,), dtype) if const is None else Const(np.asarray(const, dtype))
    kw = {"idx_out_type": "INT64"} if idx == I64 else {}
    return single_op_model("UNIQUE", [x], [Out((n,), dtype), Out((n,), idx)], **kw)


def np_unique_first(x):
    vals, idx = [], []
    for v in x.tolist():
        if v not in vals:
            vals.append(v)
        idx.append(vals.index(v))
    return np.array(vals, x.dtype), np.array(idx)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.int64, np.float32])
@pytest.mark.parametrize("idx", [I32, I64])
def test_unique(dtype, idx):
    x = (data((20,), dtype) % 7).astype(dtype)
    v, i = assert_matches_litert(unique_model(20, dtype, idx), [x])
    want_v, want_i = np_unique_first(x)
    np.testing.assert_array_equal(v, want_v)
    np.testing.assert_array_equal(i, want_i)
    assert i.dtype == idx
    v2, i2 = assert_matches_litert(unique_model(20, dtype, idx, const=x), [])
    np.testing.assert_array_equal(v2, want_v)


def test_unique_signed_zero_and_sizes():
    m = unique_model(6, F32)
    v, i = assert_matches_litert(m, [np.array([3, 1, 3, -0.0, 0.0, 1], F32)])
    assert np.signbit(v[2])  # -0.0 was seen first and is kept
    it_shapes = []
    from numlite import Interpreter

    it = Interpreter(model_content=m)
    it.allocate_tensors()
    for x in (np.array([1, 1, 1, 1, 1, 1], F32), np.arange(6, dtype=F32), np.array([2, 2, 5, 5, 2, 5], F32)):
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        it_shapes.append(it.get_tensor(it.get_output_details()[0]["index"]).shape)
        assert_matches_litert(m, [x])
    assert it_shapes == [(1,), (6,), (2,)]


def test_unique_beyond_litert():
    # LiteRT 2.3 fails on an empty input, and its std::map merges a NaN with anything it meets:
    # numlite gives empty outputs, and counts NaNs as one value (checked against NumPy)
    v, i = run_numlite(unique_model(0, F32), [np.zeros(0, F32)])
    assert v.shape == (0,) and i.shape == (0,)
    v, i = run_numlite(unique_model(5, F32), [np.array([np.nan, 1, np.nan, 2, 1], F32)])
    np.testing.assert_array_equal(v, [np.nan, 1, 2])
    np.testing.assert_array_equal(i, [0, 1, 0, 2, 1])


def test_unique_errors():
    m = single_op_model("UNIQUE", [In((2, 3))], [Out((6,)), Out((2, 3), I32)])
    fails(m, [data((2, 3), F32)], "UNIQUE", "rank 1")
    m = single_op_model("UNIQUE", [In((3,))], [Out((3,)), Out((3,), I64)])
    fails(m, [data((3,), F32)], "UNIQUE", "output 1 .* must have type int32")
    m = single_op_model("UNIQUE", [In((3,), np.bool_)], [Out((3,), np.bool_), Out((3,), I32)])
    fails(m, [data((3,), np.bool_)], "UNIQUE", "bool")


# -- SPARSE_TO_DENSE -------------------------------------------------------------------------------
def s2d_model(indices, shape, vshape, dtype, const_idx=True, const_shape=True, version=1, q=None,
              validate=False, shape_dtype=None):
    ix = Const(indices) if const_idx else In(indices.shape, indices.dtype)
    sd = shape_dtype or indices.dtype
    sh = Const(np.array(shape, sd)) if const_shape else In((len(shape),), sd)
    return single_op_model("SPARSE_TO_DENSE", [ix, sh, In(vshape, dtype, quant=q), In((), dtype, quant=q)],
                           Out(tuple(shape), dtype, quant=q), version=version, validate_indices=validate)


def np_sparse_to_dense(indices, shape, values, default):
    out = np.full(shape, default, values.dtype)
    idx = indices.reshape(-1, len(shape))
    vals = np.broadcast_to(values, (idx.shape[0],))
    for k in range(idx.shape[0]):
        out[tuple(idx[k])] = vals[k]
    return out


S2D_CASES = [  # (indices, output shape)
    ([[0, 1], [2, 3], [1, 0]], [3, 4]),
    ([[0, 1, 1], [1, 0, 2], [1, 1, 0], [0, 0, 0]], [2, 2, 3]),
    ([0, 3, 4], [6]),
    ([[0, 1], [0, 1], [2, 2]], [3, 3]),  # a repeated index keeps its last value
    ([[1, 0, 1, 2]], [2, 1, 2, 3]),
]


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.int8, np.uint8])
@pytest.mark.parametrize("idx_dtype", [I32, I64])
@pytest.mark.parametrize("case", range(len(S2D_CASES)))
def test_sparse_to_dense(dtype, idx_dtype, case):
    ind, shape = S2D_CASES[case]
    ind = np.array(ind, idx_dtype)
    n = ind.shape[0]
    vals, dflt = data((n,), dtype, seed=case), data((), dtype, seed=9)
    out = assert_matches_litert(s2d_model(ind, shape, (n,), dtype), [vals, dflt])[0]
    np.testing.assert_array_equal(out, np_sparse_to_dense(ind, shape, vals, dflt))
    # scalar value for every index; indices and shape at invoke (a dynamic output)
    assert_matches_litert(s2d_model(ind, shape, (), dtype), [vals[0], dflt])
    m = s2d_model(ind, shape, (n,), dtype, const_idx=False, const_shape=False)
    assert_matches_litert(m, [ind, np.array(shape, idx_dtype), vals, dflt])


@pytest.mark.parametrize("version", [1, 2, 3])
def test_sparse_to_dense_versions(version):
    ind = np.array([[0, 1], [1, 0]], I32)
    for dtype in (F32, I64, np.int8):
        m = s2d_model(ind, [2, 2], (2,), dtype, version=version, validate=True)
        assert_matches_litert(m, [data((2,), dtype), data((), dtype)])


def test_sparse_to_dense_edges():
    ind = np.array(2, I32)  # a scalar index into a vector
    assert_matches_litert(s2d_model(ind, [5], (1,), F32), [np.array([4], F32), np.float32(9)])
    ind = np.array([[0, 1], [1, 0]], I32)
    assert_matches_litert(s2d_model(ind, [2, 2], (2,), F32, shape_dtype=I64), [np.ones(2, F32), np.float32(0)])
    q = {"scale": [0.5], "zero_point": [-3]}
    assert_matches_litert(s2d_model(ind, [2, 2], (2,), np.int8, q=q), [np.array([5, -7], np.int8), np.int8(-3)],
                          ref=True)
    # no indices: all default (checked against NumPy: LiteRT reads an empty [0, 2] constant as invalid)
    out = run_numlite(s2d_model(np.zeros((0, 2), I32), [2, 3], (0,), F32, const_idx=False),
                      [np.zeros((0, 2), I32), np.zeros(0, F32), np.float32(7)])[0]
    np.testing.assert_array_equal(out, np.full((2, 3), 7, F32))
    # rank above 4 (LiteRT 2.3 refuses it): checked against NumPy
    ind5 = np.array([[0, 0, 1, 0, 1], [1, 0, 0, 0, 0]], I32)
    out = run_numlite(s2d_model(ind5, [2, 1, 2, 1, 2], (2,), F32), [np.array([1, 2], F32), np.float32(0)])[0]
    np.testing.assert_array_equal(out, np_sparse_to_dense(ind5, [2, 1, 2, 1, 2], np.array([1, 2], F32), 0))


def test_sparse_to_dense_errors():
    op = "SPARSE_TO_DENSE"
    ind = np.array([[0, 1], [2, 3]], I32)
    vals, dflt = np.ones(2, F32), np.float32(0)
    # out-of-range indices: LiteRT writes out of bounds; numlite refuses (never run on LiteRT)
    fails(s2d_model(ind, [2, 4], (2,), F32), [vals, dflt], op, r"index \[2, 3\] is out of range for output shape")
    m = s2d_model(ind, [3, 4], (2,), F32, const_idx=False)
    fails(m, [np.array([[0, 1], [-1, 0]], I32), vals, dflt], op, r"index \[-1, 0\] is out of range")
    m = s2d_model(ind, [3, 4], (2,), F32, const_shape=False)
    fails(m, [np.array([3, 3], I32), vals, dflt], op, r"index \[2, 3\] is out of range for output shape \[3, 3\]")
    fails(m, [np.array([3, -4], I32), vals, dflt], op, "negative dimension")
    fails(s2d_model(ind, [3, 4], (3,), F32), [np.ones(3, F32), dflt], op, "one value per index")
    fails(s2d_model(ind, [3, 4, 1], (2,), F32), [vals, dflt], op, "2-d coordinates")
    m = single_op_model(op, [Const(ind), Const(np.array([3, 4], I32)), In((2,), np.int16), In((), np.int16)],
                        Out((3, 4), np.int16))
    fails(m, [vals.astype(np.int16), np.int16(0)], op, "values .* int16")
    m = single_op_model(op, [Const(ind), Const(np.array([3, 4], I32)), In((2,)), In((), I32)], Out((3, 4)))
    fails(m, [vals, np.int32(0)], op, "default_value .* values' type")


# -- BUCKETIZE -------------------------------------------------------------------------------------
BOUNDS = [-3.5, -1.0, 0.0, 0.0, 2.25, 10.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
def test_bucketize(dtype):
    x = data((4, 7), dtype) % 15 - 5
    x = x.astype(dtype)
    x.reshape(-1)[:6] = np.array([-3.5, -1, 0, 2, 10, 11], dtype=np.float64).astype(dtype)  # on the boundaries
    m = single_op_model("BUCKETIZE", [In(x.shape, dtype)], Out(x.shape, I32), boundaries=BOUNDS)
    out = assert_matches_litert(m, [x])[0]
    np.testing.assert_array_equal(out, np.searchsorted(np.float32(BOUNDS), x, side="right"))


def test_bucketize_float32_comparisons():
    # int64 values are rounded to float32 before the comparison; float64 values are not
    b = [16777217.0]  # 2**24 + 1 is 2**24 in float32
    m = single_op_model("BUCKETIZE", [In((5,), I64)], Out((5,), I32), boundaries=b)
    out = assert_matches_litert(m, [np.array([16777216, 16777217, 16777215, -5, 2 ** 40], I64)])[0]
    np.testing.assert_array_equal(out, [1, 1, 0, 0, 1])
    m = single_op_model("BUCKETIZE", [In((4,), np.float64)], Out((4,), I32), boundaries=[0.1, 0.5])
    assert_matches_litert(m, [np.array([0.1, np.float32(0.1), 0.5, 0.49999999999], np.float64)])
    m = single_op_model("BUCKETIZE", [In((4,), F32)], Out((4,), I32), boundaries=[0.0, 1.0])
    out = assert_matches_litert(m, [np.array([np.nan, np.inf, -np.inf, -0.0], F32)])[0]
    np.testing.assert_array_equal(out, [2, 2, 0, 1])


def test_bucketize_empty_boundaries():
    # an explicitly empty list: every value in bucket 0 (compared with NumPy)
    m = single_op_model("BUCKETIZE", [In((3,))], Out((3,), I32), boundaries=[])
    np.testing.assert_array_equal(run_numlite(m, [data((3,), F32)])[0], [0, 0, 0])


def test_bucketize_errors():
    m = single_op_model("BUCKETIZE", [In((3,))], Out((3,), I32), boundaries=[1.0, 0.0])
    fails(m, [data((3,), F32)], "BUCKETIZE", "sorted ascending")
    with pytest.raises(RuntimeError, match="Expected sorted boundaries"):
        run_litert(m, [data((3,), F32)])
    m = single_op_model("BUCKETIZE", [In((3,))], Out((3,), I32))
    fails(m, [data((3,), F32)], "BUCKETIZE", "boundaries option is missing")
    m = single_op_model("BUCKETIZE", [In((3,), np.int8)], Out((3,), I32), boundaries=[0.0])
    fails(m, [data((3,), np.int8)], "BUCKETIZE", "int8")
    m = single_op_model("BUCKETIZE", [In((3,))], Out((3,), I64), boundaries=[0.0])
    fails(m, [data((3,), F32)], "BUCKETIZE", "must be int32")
