"""STRIDED_SLICE against LiteRT: every mask, systematically and in combination, negative
strides and indices, every dtype, and the cases where numlite refuses what LiteRT would run
on garbage.  Data movement only, so every comparison is exact."""

import itertools

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, rand, run_numlite, single_op_model

from numlite.ops.base import PrepareError

MASKS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")
SHAPE = (3, 4, 5)
X = np.arange(60, dtype=np.float32).reshape(SHAPE) - 30


def model(shape, b, e, s, dtype=np.float32, idx=np.int32, version=4, **masks):
    return single_op_model("STRIDED_SLICE", [In(shape, dtype), Const(b, idx), Const(e, idx), Const(s, idx)],
                           Out((), dtype), version=version, **masks)


def check(b, e, s, x=X, **masks):
    # BUILTIN_REF: the default XNNPACK path disagrees with TFLite's own kernel in places (e.g. begin -1,
    # end 0 gives one element there instead of none); numlite follows the TFLite kernel.
    return assert_matches_litert(model(x.shape, b, e, s, x.dtype, **masks), [x], ref=True)


# (begin, end, strides) triples used with every value of a single mask
SPECS = [
    ([0, 1, 1], [3, 3, 4], [1, 1, 1]),
    ([1, -1, 4], [3, -4, 0], [1, -1, -2]),
    ([-1, 3, -1], [-4, 0, -6], [-1, -2, -1]),
    ([0, 0, 1], [2, 4, 5], [2, 3, 2]),
]


@pytest.mark.parametrize("mask", ["begin_mask", "end_mask"])
@pytest.mark.parametrize("value", range(8))
@pytest.mark.parametrize("spec", range(len(SPECS)))
def test_begin_end_masks(mask, value, spec):
    b, e, s = SPECS[spec]
    check(b, e, s, **{mask: value})


@pytest.mark.parametrize("value", range(8))
def test_new_axis_mask(value):
    check([0, 1, 1], [2, 3, 4], [1, 1, 2], new_axis_mask=value)


@pytest.mark.parametrize("value", [1, 2, 4])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_ellipsis_mask(value, n):
    if value >= 1 << n:
        pytest.skip("bit beyond the spec")
    b, e, s = [1, 0, 1][:n], [3, -1, 4][:n], [1, 2, 1][:n]
    check(b, e, s, ellipsis_mask=value)


@pytest.mark.parametrize("value", range(8))
def test_shrink_axis_mask(value):
    check([1, -1, 2], [2, 0, 3], [1, 1, 1], shrink_axis_mask=value)


@pytest.mark.parametrize("combo", list(itertools.product([0, 1, 2, 4], repeat=2)))
def test_ellipsis_with_new_axis_and_shrink(combo):
    ell, other = combo
    if ell and other & ell:
        pytest.skip("same bit")
    check([1, 0, 2], [2, 3, 3], [1, 1, 1], ellipsis_mask=ell, new_axis_mask=other, shrink_axis_mask=other >> 1 & ~ell)


def test_short_spec_takes_trailing_dims_whole():
    check([1], [3], [1])
    check([-1], [-3], [-1])


def test_random_combinations():
    """A seeded sweep of every mask together, negative strides and out-of-range bounds."""
    rng = np.random.default_rng(7)
    ran = 0
    for _ in range(150):
        n = int(rng.integers(1, 4))
        b, e = rng.integers(-6, 6, n), rng.integers(-6, 6, n)
        s = rng.choice([-3, -2, -1, 1, 2, 3], n)
        masks = {m: int(rng.integers(0, 1 << n)) if rng.random() < 0.5 else 0 for m in MASKS}
        if bin(masks["ellipsis_mask"]).count("1") > 1:
            masks["ellipsis_mask"] = 0
        m = model(SHAPE, b, e, s, **masks)
        try:
            run_numlite(m, [X])
        except PrepareError as err:
            # only where LiteRT would read outside the input / leave the output unwritten
            assert "shrink" in str(err), err
            continue
        assert_matches_litert(m, [X], ref=True)
        ran += 1
    assert ran > 100


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.uint8, np.int8, np.int16, np.bool_])
def test_dtypes(dtype):
    x = rand((2, 3, 4, 5), dtype, lo=-50, hi=100 if dtype == np.uint8 else 50)
    check([0, 2, -1, 0], [2, 0, 0, 5], [1, -1, -2, 2], x=x, begin_mask=1, shrink_axis_mask=0)


def test_rank5():
    x = rand((2, 3, 2, 4, 3), seed=3)
    m = model(x.shape, [1, 0, 0, 3, -1], [2, 3, 2, 0, -4], [1, 2, 1, -1, -1], shrink_axis_mask=1)
    assert_matches_litert(m, [x], ref=True)


def test_int64_indices():
    # LiteRT 2.3.0 accepts only int32 begin/end/strides; numlite also takes int64.
    x = rand((2, 3, 2, 4, 3), seed=3)
    m = model(x.shape, [1, 0, 0, 3, -1], [2, 3, 2, 0, -4], [1, 2, 1, -1, -1], idx=np.int64, shrink_axis_mask=1)
    (out,) = run_numlite(m, [x])
    np.testing.assert_array_equal(out, x[1, 0:3:2, 0:2, 3:0:-1, 2::-1])


def test_shrink_below_range_clamps_like_tflite():
    check([-4], [0], [1], shrink_axis_mask=1)


def test_quantized_passthrough():
    q = {"scale": [0.5], "zero_point": [3]}
    x = rand((4, 6), np.int8, lo=-128, hi=127)
    m = single_op_model("STRIDED_SLICE", [In((4, 6), np.int8, quant=q), Const([1, 0], np.int32),
                                          Const([4, 6], np.int32), Const([2, 2], np.int32)],
                        Out((), np.int8, quant=q))
    (out,) = assert_matches_litert(m, [x], ref=True)
    np.testing.assert_array_equal(out, x[1:4:2, 0:6:2])


def test_folded_when_input_is_constant():
    x = np.arange(24, dtype=np.int32).reshape(4, 6)
    m = single_op_model("STRIDED_SLICE", [Const(x), Const([3, 1], np.int32), Const([0, 6], np.int32),
                                          Const([-1, 2], np.int32)], Out((), np.int32))
    (out,) = run_numlite(m, [])
    np.testing.assert_array_equal(out, x[3:0:-1, 1:6:2])


def test_offset_means_end_is_relative():
    # LiteRT 2.3.0 crashes or returns empty tensors with offset=True, so this checks NumPy.
    m = model(SHAPE, [1, 1, -3], [2, 2, 2], [1, 1, 1], version=8, offset=True)
    (out,) = run_numlite(m, [X])
    np.testing.assert_array_equal(out, X[1:3, 1:3, 2:4])


@pytest.mark.parametrize("spec,masks,msg", [
    (([0], [1], [0]), {}, "stride of entry 0 is 0"),
    (([2], [1], [-1]), {"shrink_axis_mask": 1}, "negative stride"),
    (([3], [4], [1]), {"shrink_axis_mask": 1}, "out of range"),
    (([4], [5], [1]), {"shrink_axis_mask": 1}, "out of range"),
    (([0, 0], [1, 1], [1, 1]), {"ellipsis_mask": 3}, "more than one ellipsis"),
])
def test_errors(spec, masks, msg):
    with pytest.raises(PrepareError, match=msg):
        run_numlite(model(SHAPE, *spec, **masks), [X])


def test_non_constant_begin_is_a_clear_error():
    m = single_op_model("STRIDED_SLICE", [In(SHAPE), In((1,), np.int32), Const([1], np.int32),
                                          Const([1], np.int32)], Out(()))
    with pytest.raises(PrepareError, match="must be known before invoke"):
        run_numlite(m, [X, np.array([0], np.int32)])
