"""Binary ops with a constant per-channel operand run over tiled rows (``_binary`` step 5): the
same element pairs as NumPy broadcasting, so results equal the broadcast computation exactly,
and LiteRT's within its float tolerance."""

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, rand, run_numlite, single_op_model

import numlite

CASES = [((1, 64, 64, 16), (16,)), ((1, 32, 32, 24), (1, 1, 1, 24)), ((2, 16, 16, 8), (16, 1)),
         ((1, 48, 48, 3), (1, 48, 1, 3)), ((1, 40, 40, 7), (7,))]


@pytest.mark.parametrize("op,ufunc", [("ADD", np.add), ("MUL", np.multiply), ("SUB", np.subtract),
                                      ("MAXIMUM", np.maximum), ("MINIMUM", np.minimum)])
@pytest.mark.parametrize("xshape,cshape", CASES)
@pytest.mark.parametrize("const_first", [False, True])
def test_tiled_constant_operand(op, ufunc, xshape, cshape, const_first):
    c = rand(cshape, seed=1, lo=-2, hi=2)
    x = rand(xshape, seed=2, lo=-3, hi=3)
    ins = [Const(c), In(xshape)] if const_first else [In(xshape), Const(c)]
    m = single_op_model(op, ins, Out(xshape))
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    kernel = it._main.kernels[0]
    assert kernel.tiled is not None, "the tiled path must be taken"
    got = run_numlite(m, [x])[0]
    want = ufunc(c, x) if const_first else ufunc(x, c)
    np.testing.assert_array_equal(got, want.astype(np.float32))
    assert_matches_litert(m, [x])


def test_small_or_full_shape_constants_keep_broadcasting():
    m = single_op_model("ADD", [In((1, 4, 4, 2)), Const(np.ones(2, np.float32))], Out((1, 4, 4, 2)))
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    assert it._main.kernels[0].tiled is None  # under 4096 elements
    m = single_op_model("ADD", [In((64, 64)), Const(np.ones((64, 64), np.float32))], Out((64, 64)))
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    assert it._main.kernels[0].tiled is None  # nothing to tile
