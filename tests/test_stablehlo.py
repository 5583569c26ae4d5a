"""StableHLO ops (STABLEHLO_ADD ... STABLEHLO_COMPOSITE) and the TFLite builtins DILATE and
REDUCE_WINDOW against LiteRT 2.3, on single-op and multi-subgraph models.

Comparisons are exact (``assert_array_equal``): these ops move values or compute them with one
IEEE operation each, in the order LiteRT's loops use (float sums in window / update order), so
the results agree bit for bit.  Cases where LiteRT's behaviour is undefined (negative gather /
scatter indices, shift counts outside the type, regions LiteRT refuses) are checked against a
NumPy formulation of StableHLO's semantics instead, as each test says.
"""

import numpy as np
import pytest
from util import Const, In, Out, run_litert, run_numlite, single_op_model

import numlite
from numlite.builder import ModelBuilder

I64 = np.int64
FLOATS = (np.float16, np.float32, np.float64)
INTS = (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)


def v64(x):
    return np.array(x, np.int64)


def both(model, feeds):
    """Outputs of numlite and LiteRT; they must agree exactly in shape, dtype and bits."""
    ours, theirs = run_numlite(model, feeds), run_litert(model, feeds)
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert (a.shape, a.dtype) == (b.shape, b.dtype), f"output {k}: {a.shape} {a.dtype} vs {b.shape} {b.dtype}"
        np.testing.assert_array_equal(a, b, err_msg=f"output {k}")
    return ours


def values(shape, dtype, seed=0, lo=-20, hi=20):
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return rng.random(shape) > 0.5
    if dt.kind == "u":
        lo = 0
    if dt.kind == "f":
        return (rng.integers(lo * 4, hi * 4, shape) / 4).astype(dtype)
    return rng.integers(lo, hi, shape).astype(dtype)


def raises(match, model, feeds):
    with pytest.raises(Exception, match=match):
        run_numlite(model, feeds)


# -- elementwise -------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["STABLEHLO_ADD", "STABLEHLO_MULTIPLY", "STABLEHLO_MAXIMUM", "STABLEHLO_MINIMUM"])
@pytest.mark.parametrize("dtype", (*FLOATS, *INTS, np.bool_))
def test_arithmetic(op, dtype):
    m = single_op_model(op, [In((3, 5), dtype), In((3, 5), dtype)], Out((3, 5), dtype))
    both(m, [values((3, 5), dtype, 1), values((3, 5), dtype, 2)])


def test_wrapping_and_specials():
    """Integer overflow wraps; float inf / nan; max / min keep ``a`` when a NaN is involved
    (LiteRT's std::max / std::min), unlike np.maximum."""
    m = single_op_model("STABLEHLO_ADD", [In((3,), np.int8), In((3,), np.int8)], Out((3,), np.int8))
    both(m, [np.array([127, -128, 100], np.int8), np.array([1, -1, 100], np.int8)])
    m = single_op_model("STABLEHLO_MULTIPLY", [In((2,), np.uint16), In((2,), np.uint16)], Out((2,), np.uint16))
    both(m, [np.array([300, 65535], np.uint16), np.array([300, 2], np.uint16)])
    a = np.array([np.nan, 1, np.nan, -0.0, 0.0, np.inf, 2], np.float32)
    b = np.array([1, np.nan, np.nan, 0.0, -0.0, -np.inf, 3], np.float32)
    for op in ("STABLEHLO_MAXIMUM", "STABLEHLO_MINIMUM", "STABLEHLO_ADD", "STABLEHLO_MULTIPLY"):
        for dt in FLOATS:
            m = single_op_model(op, [In((7,), dt), In((7,), dt)], Out((7,), dt))
            out = both(m, [a.astype(dt), b.astype(dt)])[0]
            if op in ("STABLEHLO_MAXIMUM", "STABLEHLO_MINIMUM"):
                assert np.isnan(out[0]) and out[1] == 1 and np.isnan(out[2])
    dt = np.float32
    m = single_op_model("STABLEHLO_ADD", [In((2,), dt), In((2,), dt)], Out((2,), dt))
    both(m, [np.array([3e38, 1], dt), np.array([3e38, 2], dt)])


@pytest.mark.parametrize("dtype", (*INTS, np.bool_))
def test_and(dtype):
    m = single_op_model("STABLEHLO_AND", [In((4, 3), dtype), In((4, 3), dtype)], Out((4, 3), dtype))
    both(m, [values((4, 3), dtype, 3, -100, 100), values((4, 3), dtype, 4, -100, 100)])


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32])
def test_shift_left(dtype):
    """In-range counts against LiteRT (int8 / int16 counts up to 31 included: C++ shifts the
    promoted int and truncates, giving 0 as StableHLO does)."""
    bits = np.iinfo(dtype).bits
    rng = np.random.default_rng(5)
    n = 40
    a = rng.integers(np.iinfo(dtype).min, np.iinfo(dtype).max, n).astype(dtype)
    b = rng.integers(0, 32 if bits < 32 else bits, n).astype(dtype)
    m = single_op_model("STABLEHLO_SHIFT_LEFT", [In((n,), dtype), In((n,), dtype)], Out((n,), dtype))
    both(m, [a, b])


def test_shift_left_out_of_range_counts():
    """Counts outside [0, 32) on int32 are undefined in LiteRT's C++ (its vector and scalar loops
    disagree); numlite gives StableHLO's 0."""
    m = single_op_model("STABLEHLO_SHIFT_LEFT", [In((4,), np.int32), In((4,), np.int32)], Out((4,), np.int32))
    out = run_numlite(m, [np.array([1, -3, 5, 7], np.int32), np.array([32, 33, -1, 100], np.int32)])[0]
    np.testing.assert_array_equal(out, [0, 0, 0, 0])


@pytest.mark.parametrize("op,dtype", [("STABLEHLO_AND", np.float32), ("STABLEHLO_SHIFT_LEFT", np.int64),
                                      ("STABLEHLO_SHIFT_LEFT", np.uint8), ("STABLEHLO_ADD", np.object_)])
def test_elementwise_refused_types(op, dtype):
    """Types LiteRT refuses (at invoke) are refused at prepare."""
    if dtype is np.object_:
        m = single_op_model(op, [In((2,), dtype), In((2,), dtype)], Out((2,), dtype))
        raises(r"STABLEHLO_ADD \(node 0\)", m, [np.array([b"a", b"b"], object)] * 2)
        return
    m = single_op_model(op, [In((2,), dtype), In((2,), dtype)], Out((2,), dtype))
    with pytest.raises(RuntimeError):
        run_litert(m, [np.ones(2, dtype)] * 2)
    raises(rf"{op} \(node 0\).*type", m, [np.ones(2, dtype)] * 2)


def test_elementwise_no_broadcast():
    m = single_op_model("STABLEHLO_ADD", [In((2, 3)), In((1, 3))], Out((2, 3)))
    raises(r"STABLEHLO_ADD \(node 0\).*same shape", m, [np.ones((2, 3), np.float32), np.ones((1, 3), np.float32)])
    m = single_op_model("STABLEHLO_ADD", [In((2,), np.int32), In((2,), np.int64)], Out((2,), np.int32))
    raises(r"STABLEHLO_ADD \(node 0\).*differ", m, [np.ones(2, np.int32), np.ones(2, np.int64)])


def test_elementwise_empty_and_quantized():
    """Empty tensors; quantized tensors run on their stored values (LiteRT ignores the parameters)."""
    m = single_op_model("STABLEHLO_ADD", [In((0, 3)), In((0, 3))], Out((0, 3)))
    both(m, [np.zeros((0, 3), np.float32)] * 2)
    q = {"scale": 0.5, "zero_point": 3}
    m = single_op_model("STABLEHLO_MAXIMUM", [In((5,), np.int8, q), In((5,), np.int8, q)], Out((5,), np.int8, q))
    both(m, [values((5,), np.int8, 1), values((5,), np.int8, 2)])


# -- STABLEHLO_PAD -------------------------------------------------------------------------------
def pad_model(shape, low, high, interior, dtype=np.float32, value=None, out_shape=None):
    value = np.array(7 if value is None else value, dtype)
    return single_op_model("STABLEHLO_PAD", [In(shape, dtype), Const(value)], Out(out_shape or shape, dtype),
                           edge_padding_low=v64(low), edge_padding_high=v64(high), interior_padding=v64(interior))


@pytest.mark.parametrize("shape,low,high,interior", [
    ((2, 3), [1, 0], [0, 2], [0, 1]),
    ((3, 4), [-1, 2], [1, -3], [1, 0]),
    ((4, 5), [-3, -1], [-2, -4], [2, 1]),
    ((5,), [-7], [0], [3]),
    ((2, 1, 3), [0, 2, -1], [1, 0, -1], [3, 0, 0]),
    ((2, 2), [-5, 0], [0, 0], [0, 0]),  # a dimension cropped away: LiteRT gives shape [0, 0]
    ((0, 3), [1, 0], [1, 0], [0, 0]),
    ((0, 3), [0, 0], [0, 0], [0, 0]),
])
def test_pad(shape, low, high, interior):
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    both(pad_model(shape, low, high, interior), [x])


@pytest.mark.parametrize("dtype", (*FLOATS, *INTS, np.bool_))
def test_pad_types(dtype):
    both(pad_model((3, 2), [1, -1], [2, 0], [1, 2], dtype, value=1), [values((3, 2), dtype)])


def test_pad_quantized():
    q = {"scale": 0.1, "zero_point": -4}
    m = single_op_model("STABLEHLO_PAD", [In((2, 2), np.int8, q), Const(np.array(-4, np.int8), quant=q)],
                        Out((2, 2), np.int8, q), edge_padding_low=v64([1, 1]), edge_padding_high=v64([0, 1]),
                        interior_padding=v64([1, 0]))
    both(m, [values((2, 2), np.int8)])


def test_pad_hostile():
    x = [np.zeros((2, 3), np.float32)]
    raises(r"STABLEHLO_PAD \(node 0\).*rank 1 to 8", pad_model((), [], [], []), [np.float32(1)])
    raises(r"STABLEHLO_PAD \(node 0\).*interior_padding", pad_model((2, 3), [0, 0], [0, 0], [-1, 0]), x)
    raises(r"STABLEHLO_PAD \(node 0\).*edge_padding_low has 1", pad_model((2, 3), [0], [0, 0], [0, 0]), x)
    raises(r"STABLEHLO_PAD \(node 0\).*int32", pad_model((2, 3), [2**40, 0], [0, 0], [0, 0]), x)
    raises(r"STABLEHLO_PAD \(node 0\).*2\*\*31", pad_model((2, 3), [2**30, 0], [0, 2**30], [0, 0]), x)
    m = single_op_model("STABLEHLO_PAD", [In((2,)), Const(np.zeros(2, np.float32))], Out((2,)),
                        edge_padding_low=v64([0]), edge_padding_high=v64([0]), interior_padding=v64([0]))
    raises(r"STABLEHLO_PAD \(node 0\).*one element", m, [np.zeros(2, np.float32)])


# -- STABLEHLO_GATHER ----------------------------------------------------------------------------
GATHERS = [  # operand shape, indices, options, output shape
    ((5, 4), [[1], [4], [0]], dict(offset_dims=[1], collapsed_slice_dims=[0], start_index_map=[0],
                                   index_vector_dim=1, slice_sizes=[1, 4]), (3, 4)),
    ((4, 5, 6), [[[0, 1], [3, 5], [2, 2]], [[1, 0], [3, 3], [9, 9]]],
     dict(offset_dims=[2, 3], collapsed_slice_dims=[0], start_index_map=[0, 2], index_vector_dim=2,
          slice_sizes=[1, 3, 2]), (2, 3, 3, 2)),
    ((4, 5, 6), [[0, 1, 3], [2, 3, 1]], dict(offset_dims=[0, 2], collapsed_slice_dims=[1], start_index_map=[0, 1],
                                           index_vector_dim=0, slice_sizes=[2, 1, 6]), (2, 3, 6)),
    ((6, 3), [[2, 0], [5, 1]], dict(offset_dims=[], collapsed_slice_dims=[0, 1], start_index_map=[0, 1],
                                    index_vector_dim=1, slice_sizes=[1, 1]), (2,)),
    ((3, 4), [[1]], dict(offset_dims=[1, 2], collapsed_slice_dims=[], start_index_map=[1], index_vector_dim=1,
                         slice_sizes=[2, 2]), (1, 2, 2)),
]


@pytest.mark.parametrize("case", range(len(GATHERS)))
@pytest.mark.parametrize("idtype", [np.int32, np.int64])
def test_gather(case, idtype):
    shape, idx, opts, out_shape = GATHERS[case]
    idx = np.array(idx, idtype)
    m = single_op_model("STABLEHLO_GATHER", [In(shape), In(idx.shape, idtype)], Out(out_shape),
                        **{k: v64(v) if isinstance(v, list) else v for k, v in opts.items()})
    both(m, [np.arange(np.prod(shape), dtype=np.float32).reshape(shape), idx])


@pytest.mark.parametrize("dtype", (*FLOATS, *INTS))
def test_gather_types(dtype):
    shape, idx, opts, out_shape = GATHERS[1]
    idx = np.array(idx, np.int32)
    m = single_op_model("STABLEHLO_GATHER", [In(shape, dtype), In(idx.shape, np.int32)], Out(out_shape, dtype),
                        **{k: v64(v) if isinstance(v, list) else v for k, v in opts.items()})
    both(m, [values(shape, dtype), idx])


def gather_reference(x, starts, sizes):
    """StableHLO's gather for an index vector per row of ``starts`` over every dimension, no
    collapsed dimensions: each start clamped to [0, n - size]."""
    out = []
    for s in starts:
        s = np.clip(s, 0, np.array(x.shape) - sizes)
        out.append(x[tuple(slice(a, a + b) for a, b in zip(s, sizes))])
    return np.stack(out)


def test_gather_negative_indices_clamp():
    """Negative starts: LiteRT reads outside the operand (undefined); numlite clamps them to 0 as
    StableHLO specifies (checked against a NumPy formulation)."""
    x = np.arange(20, dtype=np.float32).reshape(4, 5)
    idx = np.array([[-3, 1], [2, -9], [10, 4]], np.int32)
    m = single_op_model("STABLEHLO_GATHER", [In((4, 5)), In((3, 2), np.int32)], Out((3, 2, 3)),
                        offset_dims=v64([1, 2]), collapsed_slice_dims=v64([]), start_index_map=v64([0, 1]),
                        index_vector_dim=1, slice_sizes=v64([2, 3]))
    np.testing.assert_array_equal(run_numlite(m, [x, idx])[0], gather_reference(x, idx, np.array([2, 3])))


def test_gather_hostile():
    def model(**kw):
        opts = dict(offset_dims=[1], collapsed_slice_dims=[0], start_index_map=[0], index_vector_dim=1,
                    slice_sizes=[1, 4])
        opts.update(kw)
        return single_op_model("STABLEHLO_GATHER", [In((5, 4)), In((3, 1), np.int32)], Out((3, 4)),
                               **{k: v64(v) if isinstance(v, list) else v for k, v in opts.items()})
    feeds = [np.zeros((5, 4), np.float32), np.zeros((3, 1), np.int32)]
    raises(r"STABLEHLO_GATHER \(node 0\).*slice_sizes\[1\]", model(slice_sizes=[1, 9]), feeds)
    raises(r"STABLEHLO_GATHER \(node 0\).*index_vector_dim", model(index_vector_dim=7), feeds)
    raises(r"STABLEHLO_GATHER \(node 0\).*start_index_map", model(start_index_map=[5]), feeds)
    raises(r"STABLEHLO_GATHER \(node 0\).*collapsed", model(collapsed_slice_dims=[1]), feeds)
    raises(r"STABLEHLO_GATHER \(node 0\).*offset_dims", model(offset_dims=[1, 2]), feeds)
    m = single_op_model("STABLEHLO_GATHER", [In((5, 4)), In((3, 1), np.float32)], Out((3, 4)),
                        offset_dims=v64([1]), collapsed_slice_dims=v64([0]), start_index_map=v64([0]),
                        index_vector_dim=1, slice_sizes=v64([1, 4]))
    raises(r"STABLEHLO_GATHER \(node 0\).*start_indices", m, [feeds[0], np.zeros((3, 1), np.float32)])


# -- regions (scatter / reduce_window bodies) --------------------------------------------------
def add_region(mb, dtype, body, name="region"):
    """A region subgraph combining two scalars: ``body`` None (returns the second: replace), an op
    name, or a callable ``body(mb, a, b) -> tensor``."""
    mb.new_subgraph(name)
    a, b = mb.input("a", (), dtype), mb.input("b", (), dtype)
    if body is None:
        mb.output(b)
    elif callable(body):
        mb.output(body(mb, a, b))
    else:
        c = mb.tensor("c", (), dtype)
        mb.op(body, [a, b], [c])
        mb.output(c)
    mb.use_subgraph(0)


# -- STABLEHLO_SCATTER ---------------------------------------------------------------------------
def scatter_model(xshape, ishape, ushape, dtype, idtype, body, **opts):
    mb = ModelBuilder()
    x, i, u = mb.input("x", xshape, dtype), mb.input("i", ishape, idtype), mb.input("u", ushape, dtype)
    y = mb.tensor("y", xshape, dtype)
    mb.op("STABLEHLO_SCATTER", [x, i, u], [y], update_computation_subgraph_index=1,
          **{k: v64(v) if isinstance(v, list) else v for k, v in opts.items()})
    mb.output(y)
    add_region(mb, dtype, body)
    return mb.build()


ROWS = dict(update_window_dims=[1], inserted_window_dims=[0], scatter_dims_to_operand_dims=[0], index_vector_dim=1)
BODIES = [None, "STABLEHLO_ADD", "STABLEHLO_MULTIPLY", "STABLEHLO_MAXIMUM", "STABLEHLO_MINIMUM"]


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("dtype", (*FLOATS, *INTS))
def test_scatter_rows(body, dtype):
    """Rows of a (5, 4) operand, with repeated targets (order matters for replace and float
    rounding) and one out-of-range row (skipped)."""
    m = scatter_model((5, 4), (6, 1), (6, 4), dtype, np.int32, body, **ROWS)
    idx = np.array([[1], [3], [1], [7], [0], [1]], np.int32)
    both(m, [values((5, 4), dtype, 1, -5, 5), idx, values((6, 4), dtype, 2, -5, 5)])


@pytest.mark.parametrize("body", BODIES)
def test_scatter_windows(body):
    """2-d windows at scattered 2-d starts (int64 indices), windows partly outside the operand."""
    m = scatter_model((4, 5, 6), (3, 2), (3, 3, 2), np.float32, np.int64, body, update_window_dims=[1, 2],
                      inserted_window_dims=[0], scatter_dims_to_operand_dims=[0, 2], index_vector_dim=1)
    idx = np.array([[1, 4], [3, 1], [1, 5]], np.int64)
    rng = np.random.default_rng(3)
    both(m, [rng.standard_normal((4, 5, 6)).astype(np.float32), idx,
             rng.standard_normal((3, 3, 2)).astype(np.float32)])


def test_scatter_index_vector_dim_first_and_scalar_updates():
    m = scatter_model((4, 6), (2, 3), (3,), np.int32, np.int32, "STABLEHLO_ADD", update_window_dims=[],
                      inserted_window_dims=[0, 1], scatter_dims_to_operand_dims=[1, 0], index_vector_dim=0)
    idx = np.array([[0, 5, 5], [3, 2, 2]], np.int32)
    both(m, [values((4, 6), np.int32), idx, np.array([10, 20, 30], np.int32)])


def test_scatter_nan_max_min():
    """std::max(current, update): a NaN update is ignored, a NaN current value stays."""
    x = np.array([np.nan, 1, 2, 3], np.float32)
    u = np.array([5, np.nan, 7, np.nan, 0], np.float32)
    idx = np.array([[0], [1], [1], [2], [3]], np.int32)
    for body in ("STABLEHLO_MAXIMUM", "STABLEHLO_MINIMUM"):
        m = scatter_model((4,), (5, 1), (5,), np.float32, np.int32, body, update_window_dims=[],
                          inserted_window_dims=[0], scatter_dims_to_operand_dims=[0], index_vector_dim=1)
        both(m, [x, idx, u])


def scatter_reference(x, idx, u, fn):
    """Sequential scatter of scalar updates at single positions, skipping out-of-range targets."""
    out = x.copy()
    for i, v in zip(idx.reshape(len(u), -1), u):
        if all(0 <= a < n for a, n in zip(i, x.shape)):
            out[tuple(i)] = fn(out[tuple(i)], v)
    return out


def test_scatter_negative_indices_skipped():
    """LiteRT writes outside the tensor for negative targets (undefined); numlite skips them, as
    StableHLO's reference interpreter does (checked against a NumPy loop)."""
    m = scatter_model((3, 4), (4, 2), (4,), np.float32, np.int32, "STABLEHLO_ADD", update_window_dims=[],
                      inserted_window_dims=[0, 1], scatter_dims_to_operand_dims=[0, 1], index_vector_dim=1)
    x = np.zeros((3, 4), np.float32)
    idx = np.array([[-1, 0], [2, 3], [0, -4], [1, 1]], np.int32)
    u = np.array([1, 2, 3, 4], np.float32)
    np.testing.assert_array_equal(run_numlite(m, [x, idx, u])[0], scatter_reference(x, idx, u, np.add))


def test_scatter_general_region():
    """A region LiteRT refuses (two ops: ``a * b + a``) runs through the subgraph, once per update
    in order (checked against a NumPy loop)."""
    def body(mb, a, b):
        t, c = mb.tensor("t", (), np.float32), mb.tensor("c", (), np.float32)
        mb.op("STABLEHLO_MULTIPLY", [a, b], [t])
        mb.op("STABLEHLO_ADD", [t, a], [c])
        return c

    m = scatter_model((5,), (4, 1), (4,), np.float32, np.int32, body, update_window_dims=[],
                      inserted_window_dims=[0], scatter_dims_to_operand_dims=[0], index_vector_dim=1)
    x = np.array([1, 2, 3, 4, 5], np.float32)
    idx = np.array([[1], [3], [1], [9]], np.int32)
    u = np.array([2, 3, 4, 5], np.float32)
    np.testing.assert_array_equal(run_numlite(m, [x, idx, u])[0],
                                  scatter_reference(x, idx, u, lambda a, b: a * b + a))
    with pytest.raises(RuntimeError, match="Only one kernel"):
        run_litert(m, [x, idx, u])


def test_scatter_hostile():
    feeds = [np.zeros((5, 4), np.float32), np.zeros((6, 1), np.int32), np.zeros((6, 4), np.float32)]

    def model(**kw):
        return scatter_model((5, 4), (6, 1), (6, 4), np.float32, np.int32, "STABLEHLO_ADD", **{**ROWS, **kw})
    raises(r"STABLEHLO_SCATTER \(node 0\).*update_window_dims", model(update_window_dims=[4]), feeds)
    raises(r"STABLEHLO_SCATTER \(node 0\).*scatter_dims_to_operand_dims", model(scatter_dims_to_operand_dims=[0, 1]),
           feeds)
    raises(r"STABLEHLO_SCATTER \(node 0\).*inserted_window_dims", model(inserted_window_dims=[0, 0]), feeds)
    raises(r"STABLEHLO_SCATTER \(node 0\).*index_vector_dim", model(index_vector_dim=-1), feeds)
    m = scatter_model((5, 4), (5, 1), (6, 4), np.float32, np.int32, "STABLEHLO_ADD", **ROWS)
    raises(r"STABLEHLO_SCATTER \(node 0\).*batch dimensions", m,
           [feeds[0], np.zeros((5, 1), np.int32), feeds[2]])
    m = scatter_model((5, 4), (6, 1), (6, 4), np.float32, np.int32,
                      lambda mb, a, b: mb.const("k", np.zeros(2, np.float32)), **ROWS)
    raises(r"STABLEHLO_SCATTER \(node 0\).*update computation subgraph 1 must return one float32", m, feeds)
    # an empty update tensor changes nothing
    m = scatter_model((5, 4), (0, 1), (0, 4), np.float32, np.int32, "STABLEHLO_ADD", **ROWS)
    x = values((5, 4), np.float32)
    both(m, [x, np.zeros((0, 1), np.int32), np.zeros((0, 4), np.float32)])


# -- STABLEHLO_REDUCE_WINDOW ---------------------------------------------------------------------
def rw_model(shape, out_shape, dtype, body, init_const=True, **opts):
    mb = ModelBuilder()
    x = mb.input("x", shape, dtype)
    init = mb.const("init", np.zeros((), dtype)) if init_const is True else mb.input("init", (), dtype)
    y = mb.tensor("y", out_shape, dtype)
    mb.op("STABLEHLO_REDUCE_WINDOW", [x, init], [y], body_subgraph_index=1,
          **{k: v64(v) for k, v in opts.items()})
    mb.output(y)
    add_region(mb, dtype, body)
    return mb.build()


RW_BODIES = ["STABLEHLO_ADD", "ADD", "STABLEHLO_MULTIPLY", "MUL", "STABLEHLO_MAXIMUM", "MAXIMUM",
             "STABLEHLO_MINIMUM", "MINIMUM"]
RW_CASES = [
    ((6, 7), dict(window_dimensions=[2, 3])),
    ((6, 7), dict(window_dimensions=[2, 2], window_strides=[2, 3], window_dilations=[2, 1])),
    ((3, 4), dict(window_dimensions=[2, 2], base_dilations=[2, 3], padding=[1, 0, -1, 2])),
    ((2, 5, 3), dict(window_dimensions=[1, 3, 2], window_strides=[1, 2, 1], padding=[0, 0, 2, 1, -1, 0])),
    ((4,), dict(window_dimensions=[9])),  # window larger than the input: empty output
]


@pytest.mark.parametrize("body", RW_BODIES)
@pytest.mark.parametrize("case", range(len(RW_CASES)))
def test_stablehlo_reduce_window(body, case):
    shape, opts = RW_CASES[case]
    m = rw_model(shape, shape, np.float32, body, init_const=False, **opts)
    both(m, [values(shape, np.float32, 4, -3, 3), np.float32(1.5)])


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.float64, np.bool_])
@pytest.mark.parametrize("body", ["STABLEHLO_ADD", "STABLEHLO_MAXIMUM", "STABLEHLO_MINIMUM", "STABLEHLO_AND",
                                  "LOGICAL_OR"])
def test_stablehlo_reduce_window_types(dtype, body):
    if body == "LOGICAL_OR" and dtype != np.bool_:
        return  # LOGICAL_OR takes bool operands only in the region
    if dtype == np.bool_ and body == "STABLEHLO_ADD":
        return  # LiteRT adds bool bytes as int8 (values 2, 3... in a bool tensor)
    shape, opts = RW_CASES[2]
    m = rw_model(shape, shape, dtype, body, **opts)
    both(m, [values(shape, dtype, 5, -4, 4)])


def test_stablehlo_reduce_window_nan():
    """LiteRT's max is ``acc >= x ? acc : x``: NaN replaces the accumulator, and is replaced by the
    next element."""
    x = np.array([1, np.nan, 3, 2, np.nan, np.nan, 0, 5], np.float32)
    for body in ("STABLEHLO_MAXIMUM", "STABLEHLO_MINIMUM"):
        both(rw_model((8,), (8,), np.float32, body, window_dimensions=[3]), [x])


def test_stablehlo_reduce_window_general_body():
    """A body LiteRT refuses (``max(a, b) * 1``, two ops) runs through the subgraph (checked
    against NumPy: a running maximum from the init value 0)."""
    def body(mb, a, b):
        t, c = mb.tensor("t", (), np.float32), mb.tensor("c", (), np.float32)
        mb.op("STABLEHLO_MAXIMUM", [a, b], [t])
        mb.op("STABLEHLO_MULTIPLY", [t, mb.const("one", np.float32(1))], [c])
        return c

    m = rw_model((3, 5), (3, 5), np.float32, body, window_dimensions=[2, 2])
    x = values((3, 5), np.float32, 6)
    ref = np.lib.stride_tricks.sliding_window_view(x, (2, 2)).max(axis=(2, 3))
    np.testing.assert_array_equal(run_numlite(m, [x])[0], np.maximum(ref, 0))


def test_stablehlo_reduce_window_hostile():
    x = [np.zeros((3, 4), np.float32)]

    def fails(match, **opts):
        raises(rf"STABLEHLO_REDUCE_WINDOW \(node 0\).*{match}", rw_model((3, 4), (3, 4), np.float32, "ADD", **opts), x)
    fails("window_dimensions", window_dimensions=[2])
    fails("window_strides", window_dimensions=[2, 2], window_strides=[0, 1])
    fails("base_dilations", window_dimensions=[2, 2], base_dilations=[1, -2])
    fails("padding", window_dimensions=[2, 2], padding=[1, 1])
    fails("empty or negative", window_dimensions=[1, 1], padding=[-2, -1, 0, 0])
    fails("2\\*\\*31", window_dimensions=[1, 1], base_dilations=[2**20, 2**20])
    m = rw_model((3, 4), (3, 4), np.float32, "ADD", window_dimensions=[2, 2])
    assert run_numlite(m, x)[0].shape == (2, 3)


# -- REDUCE_WINDOW (TFLite builtin) ----------------------------------------------------------------
def tfl_rw_model(shape, dtype, fn, window, strides, dilations):
    return single_op_model("REDUCE_WINDOW", [In(shape, dtype), In((), dtype), Const(v64(window)), Const(v64(strides)),
                                             Const(v64(dilations))], Out(shape, dtype), reduce_function=fn)


@pytest.mark.parametrize("fn", ["ADD", "MUL", "MINIMUM", "MAXIMUM", "ALL", "ANY"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8])
def test_reduce_window(fn, dtype):
    m = tfl_rw_model((5, 6), dtype, fn, [2, 3], [1, 2], [2, 1])
    both(m, [values((5, 6), dtype, 7, -3, 3), np.array(1, dtype)])


@pytest.mark.parametrize("fn", ["MINIMUM", "MAXIMUM", "ALL", "ANY"])
def test_reduce_window_bool_and_shapes(fn):
    both(tfl_rw_model((4, 3, 5), np.bool_, fn, [2, 1, 2], [2, 1, 1], [1, 1, 2]),
         [values((4, 3, 5), np.bool_, 8), np.array(fn in ("ALL", "MINIMUM"))])
    both(tfl_rw_model((4, 3), np.float32, fn, [5, 1], [1, 1], [1, 1]),  # window larger than the input
         [values((4, 3), np.float32), np.float32(0)])


def test_reduce_window_hostile():
    feeds = [np.zeros((4, 4), np.float32), np.float32(0)]
    raises(r"REDUCE_WINDOW \(node 0\).*reduce_function", tfl_rw_model((4, 4), np.float32, "UNSUPPORTED", [2, 2],
                                                                    [1, 1], [1, 1]), feeds)
    raises(r"REDUCE_WINDOW \(node 0\).*window_strides", tfl_rw_model((4, 4), np.float32, "ADD", [2, 2], [0, 1],
                                                                   [1, 1]), feeds)
    raises(r"REDUCE_WINDOW \(node 0\).*window_shape", tfl_rw_model((4, 4), np.float32, "ADD", [2], [1, 1], [1, 1]),
           feeds)
    m = single_op_model("REDUCE_WINDOW", [In((4,)), In(()), In((1,), I64), Const(v64([1])), Const(v64([1]))],
                        Out((4,)), reduce_function="ADD")
    raises(r"REDUCE_WINDOW \(node 0\).*window_shape.*known before invoke", m, [*feeds, v64([1])])


# -- DILATE ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", (*FLOATS, *INTS, np.bool_))
def test_dilate(dtype):
    m = single_op_model("DILATE", [In((3, 2, 4), dtype), Const(np.array([2, 1, 3], np.int32)), In((), dtype)],
                        Out((5, 2, 10), dtype))
    both(m, [values((3, 2, 4), dtype), np.array(1, dtype)])


def test_dilate_runtime_dilations_and_edges():
    """Dilations fed at run time give a dynamic output (as LiteRT); one-element and all-ones cases."""
    m = single_op_model("DILATE", [In((2, 3)), In((2,), np.int32), In(())], Out((2, 3)))
    both(m, [values((2, 3), np.float32), np.array([3, 2], np.int32), np.float32(-1)])
    m = single_op_model("DILATE", [In((1, 3)), Const(np.array([4, 1], np.int32)), In(())], Out((1, 3)))
    both(m, [values((1, 3), np.float32), np.float32(-1)])


def test_dilate_hostile():
    m = single_op_model("DILATE", [In((2, 3)), Const(np.array([0, 1], np.int32)), In(())], Out((2, 3)))
    raises(r"DILATE \(node 0\).*1 or more", m, [np.zeros((2, 3), np.float32), np.float32(0)])
    m = single_op_model("DILATE", [In((2, 3)), Const(np.array([2], np.int32)), In(())], Out((2, 3)))
    raises(r"DILATE \(node 0\).*one entry per input dimension", m, [np.zeros((2, 3), np.float32), np.float32(0)])
    m = single_op_model("DILATE", [In((3, 3)), Const(np.array([2**30, 2**30], np.int32)), In(())], Out((2, 3)))
    raises(r"DILATE \(node 0\).*2\*\*31", m, [np.zeros((3, 3), np.float32), np.float32(0)])
    m = single_op_model("DILATE", [In((2, 3)), In((2,), np.int32), In(())], Out((2, 3)))
    raises(r"DILATE \(node 0\).*1 or more", m, [np.zeros((2, 3), np.float32), np.array([1, -1], np.int32),
                                                np.float32(0)])


# -- STABLEHLO_CASE / STABLEHLO_COMPOSITE --------------------------------------------------------
def case_model(branches, n_branch_subgraphs=3, shape=(2, 3)):
    """CASE over ``branches`` (subgraph indices): subgraph k computes x * (k + 1) + y."""
    mb = ModelBuilder()
    i, x, y = mb.input("i", (), np.int32), mb.input("x", shape, np.float32), mb.input("y", shape, np.float32)
    o = mb.tensor("o", shape, np.float32)
    mb.op("STABLEHLO_CASE", [i, x, y], [o], branch_subgraph_indices=np.array(branches, np.int32))
    mb.output(o)
    for k in range(1, n_branch_subgraphs + 1):
        mb.new_subgraph(f"branch{k}")
        a, b = mb.input("a", shape, np.float32), mb.input("b", shape, np.float32)
        t, c = mb.tensor("t", shape, np.float32), mb.tensor("c", shape, np.float32)
        mb.op("STABLEHLO_MULTIPLY", [a, mb.const("k", np.full(shape, k + 1, np.float32))], [t])
        mb.op("STABLEHLO_ADD", [t, b], [c])
        mb.output(c)
    return mb.build()


@pytest.mark.parametrize("index", [0, 1, 2, 3, -1, 100])
def test_case(index):
    """Out-of-range indices select the last branch."""
    m = case_model([3, 1, 2])
    both(m, [np.int32(index), values((2, 3), np.float32, 1), values((2, 3), np.float32, 2)])


def test_case_switches_between_invokes():
    m = case_model([1, 2, 3])
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    x, y = values((2, 3), np.float32, 1), values((2, 3), np.float32, 2)
    for k in (0, 2, 1):
        it.set_tensor(0, np.int32(k))
        it.set_tensor(1, x)
        it.set_tensor(2, y)
        it.invoke()
        np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), x * (k + 2) + y)


def test_case_hostile():
    feeds = [np.int32(0), np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32)]
    raises(r"STABLEHLO_CASE \(node 0\).*no branch", case_model([]), feeds)
    mb = ModelBuilder()
    i, x = mb.input("i", (), np.int64), mb.input("x", (2,), np.float32)
    o = mb.tensor("o", (2,), np.float32)
    mb.op("STABLEHLO_CASE", [i, x], [o], branch_subgraph_indices=np.array([1], np.int32))
    mb.output(o)
    mb.new_subgraph("b")
    a = mb.input("a", (2,), np.float32)
    mb.output(a)
    raises(r"STABLEHLO_CASE \(node 0\).*branch index", mb.build(), [np.int64(0), np.zeros(2, np.float32)])


def composite_model(shape=(3,), dynamic_batch=False):
    """A composite 'odml.scale_add' (x * 2 + y) with FlexBuffers attributes."""
    mb = ModelBuilder()
    x, y = mb.input("x", shape, np.float32), mb.input("y", shape, np.float32)
    o = mb.tensor("o", shape, np.float32)
    attrs = bytes([0x00, 0x01, 0x01, 0x01])  # not decoded by either runtime
    mb.op("STABLEHLO_COMPOSITE", [x, y], [o], options_table="StableHLOCompositeOptions", name="odml.scale_add",
          decomposition_subgraph_index=1, composite_attributes=np.frombuffer(attrs, np.uint8), version=1)
    mb.output(o)
    mb.new_subgraph("decomposition")
    a, b = mb.input("a", shape, np.float32), mb.input("b", shape, np.float32)
    t, c = mb.tensor("t", shape, np.float32), mb.tensor("c", shape, np.float32)
    mb.op("STABLEHLO_ADD", [a, a], [t])
    mb.op("STABLEHLO_ADD", [t, b], [c])
    mb.output(c)
    return mb.build()


def test_composite():
    m = composite_model()
    both(m, [values((3,), np.float32, 1), values((3,), np.float32, 2)])
    both(m, [values((2, 5), np.float32, 1), values((2, 5), np.float32, 2)])  # resized inputs


def test_composite_hostile():
    m = composite_model()
    raises(r"STABLEHLO_ADD \(node 1 of subgraph 1\).*broadcast", m, [np.zeros(3, np.float32), np.zeros(4, np.float32)])
    mb = ModelBuilder()
    x = mb.input("x", (2,), np.float32)
    o = mb.tensor("o", (2,), np.float32)
    mb.op("STABLEHLO_COMPOSITE", [x], [o], options_table="StableHLOCompositeOptions", name="f",
          decomposition_subgraph_index=1, composite_attributes=np.zeros(0, np.uint8))
    mb.output(o)
    mb.new_subgraph("decomposition")
    a = mb.input("a", (2,), np.float32)
    mb.input("b", (2,), np.float32)
    mb.output(a)
    raises(r"STABLEHLO_COMPOSITE \(node 0\).*passes 1 tensors to its decomposition subgraph 1", mb.build(),
           [np.zeros(2, np.float32)])


def test_implicit_index_vector_dim():
    """``index_vector_dim`` equal to the indices' rank (one-element index vectors, as StableHLO
    allows): LiteRT 2.3 crashes (segfault) on it, so numlite is checked against NumPy."""
    x = np.arange(20, dtype=np.float32).reshape(5, 4)
    idx = np.array([4, 0, 2], np.int32)
    m = single_op_model("STABLEHLO_GATHER", [In((5, 4)), In((3,), np.int32)], Out((3, 4)), offset_dims=v64([1]),
                        collapsed_slice_dims=v64([0]), start_index_map=v64([0]), index_vector_dim=1,
                        slice_sizes=v64([1, 4]))
    np.testing.assert_array_equal(run_numlite(m, [x, idx])[0], x[idx])
    m = scatter_model((5,), (3,), (3,), np.float32, np.int32, "STABLEHLO_ADD", update_window_dims=[],
                      inserted_window_dims=[0], scatter_dims_to_operand_dims=[0], index_vector_dim=1)
    out = run_numlite(m, [np.zeros(5, np.float32), np.array([4, 0, 4], np.int32), np.array([1, 2, 3], np.float32)])
    np.testing.assert_array_equal(out[0], [2, 0, 0, 0, 4])
