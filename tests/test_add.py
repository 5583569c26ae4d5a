import numpy as np
import pytest
from util import In, Out, assert_matches_litert, rand, single_op_model


@pytest.mark.parametrize("act", ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"])
@pytest.mark.parametrize("sa,sb", [((2, 3), (2, 3)), ((1, 4, 4, 3), (3,)), ((2, 1, 5), (1, 4, 1))])
def test_add_float(sa, sb, act):
    m = single_op_model("ADD", [In(sa), In(sb)], Out(np.broadcast_shapes(sa, sb)), fused_activation_function=act)
    assert_matches_litert(m, [rand(sa, seed=1, lo=-3, hi=3), rand(sb, seed=2, lo=-3, hi=3)])


def test_add_int32():
    m = single_op_model("ADD", [In((3, 4), np.int32), In((4,), np.int32)], Out((3, 4), np.int32))
    assert_matches_litert(m, [rand((3, 4), np.int32, lo=-100, hi=100), rand((4,), np.int32, seed=3, lo=-100, hi=100)])


@pytest.mark.parametrize("act", ["RELU", "RELU6", "RELU_N1_TO_1"])
def test_add_int32_fused_activation(act):
    m = single_op_model("ADD", [In((3, 4), np.int32), In((3, 4), np.int32)], Out((3, 4), np.int32),
                        fused_activation_function=act)
    assert_matches_litert(m, [rand((3, 4), np.int32, lo=-9, hi=9), rand((3, 4), np.int32, seed=3, lo=-9, hi=9)])
