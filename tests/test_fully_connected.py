"""FULLY_CONNECTED (float32) against LiteRT.

Tolerance: the dot products are summed in a different order by BLAS and XNNPACK; with inputs
and weights in [-1, 1] and K <= 64, rtol=1e-5, atol=1e-5 covers it.
"""

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, rand, run_numlite, single_op_model

TOL = {"rtol": 1e-5, "atol": 1e-5}


@pytest.mark.parametrize("in_shape,n,keep", [
    ((2, 8), 4, False),
    ((1, 64), 10, False),
    ((8,), 3, False),            # rank 1: one row
    ((8,), 3, True),
    ((2, 3, 8), 5, False),       # flattened to [6, 8]
    ((2, 3, 8), 5, True),        # kept: [2, 3, 5]
    ((4, 6), 3, False),          # 24 elements read as [3, 8] (K = 8)
    ((1, 2, 2, 16), 7, True),
])
@pytest.mark.parametrize("bias", ["const", "none", "omitted"])
def test_fc_shapes(in_shape, n, keep, bias):
    k = 8 if in_shape == (4, 6) else in_shape[-1]
    ins = [In(in_shape), Const(rand((n, k), seed=5))]
    if bias == "const":
        ins.append(Const(rand((n,), seed=6)))
    elif bias == "omitted":
        ins.append(None)
    m = single_op_model("FULLY_CONNECTED", ins, Out(), keep_num_dims=keep)
    assert_matches_litert(m, [rand(in_shape)], **TOL)


@pytest.mark.parametrize("act", ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"])
def test_fc_activation(act):
    m = single_op_model("FULLY_CONNECTED", [In((3, 16)), Const(rand((6, 16), seed=1)), Const(rand((6,), seed=2))],
                        Out(), fused_activation_function=act)
    assert_matches_litert(m, [rand((3, 16), lo=-4, hi=4)], **TOL)


def test_fc_runtime_weights_and_bias():
    m = single_op_model("FULLY_CONNECTED", [In((4, 12)), In((5, 12)), In((5,))], Out(),
                        fused_activation_function="RELU")
    assert_matches_litert(m, [rand((4, 12)), rand((5, 12), seed=1), rand((5,), seed=2)], **TOL)


@pytest.mark.parametrize("version", [1, 7, 12])
def test_fc_versions(version):
    m = single_op_model("FULLY_CONNECTED", [In((2, 4)), Const(rand((3, 4), seed=1))], Out(), version=version)
    assert_matches_litert(m, [rand((2, 4))], **TOL)


def test_fc_weights_not_modified():
    w = rand((3, 4), seed=1)
    m = single_op_model("FULLY_CONNECTED", [In((2, 4)), In((3, 4))], Out())
    w0 = w.copy()
    run_numlite(m, [rand((2, 4)), w])
    np.testing.assert_array_equal(w, w0)


# -- errors ----------------------------------------------------------------------------------
def _fails(model, feeds, match):
    with pytest.raises(RuntimeError, match=r"FULLY_CONNECTED \(node 0\).*" + match):
        run_numlite(model, feeds)


def test_fc_rejects_tanh():
    m = single_op_model("FULLY_CONNECTED", [In((2, 4)), Const(rand((3, 4)))], Out(), fused_activation_function="TANH")
    _fails(m, [rand((2, 4))], "TANH")


def test_fc_rejects_shuffled_weights():
    m = single_op_model("FULLY_CONNECTED", [In((2, 4)), Const(rand((3, 4)))], Out(), weights_format="SHUFFLED4x16INT8")
    _fails(m, [rand((2, 4))], "DEFAULT")


def test_fc_rejects_bad_bias_size():
    m = single_op_model("FULLY_CONNECTED", [In((2, 4)), Const(rand((3, 4))), Const(rand((4,)))], Out())
    _fails(m, [rand((2, 4))], "bias")


def test_fc_rejects_keep_num_dims_mismatch():
    m = single_op_model("FULLY_CONNECTED", [In((2, 3, 4)), Const(rand((3, 6)))], Out(), keep_num_dims=True)
    _fails(m, [rand((2, 3, 4))], "keep_num_dims")


def test_fc_rejects_indivisible_input():
    m = single_op_model("FULLY_CONNECTED", [In((2, 5)), Const(rand((3, 4)))], Out())
    _fails(m, [rand((2, 5))], "multiple")


def test_fc_rejects_rank3_weights():
    m = single_op_model("FULLY_CONNECTED", [In((2, 4)), Const(rand((1, 3, 4)))], Out())
    _fails(m, [rand((2, 4))], "rank 2")
