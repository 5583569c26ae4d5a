"""SOFTMAX (float32) against LiteRT.

Tolerance: XNNPACK evaluates exp with its own polynomial, so results differ by a few ulp:
rtol=1e-5, atol=1e-7 (outputs are in [0, 1]).
"""

import numpy as np
import pytest
from util import In, Out, assert_matches_litert, rand, run_numlite, single_op_model


@pytest.mark.parametrize("shape", [(7,), (2, 5), (3, 1), (2, 3, 10), (2, 3, 4, 7), (1, 2, 2, 3, 9), (4, 1001)])
@pytest.mark.parametrize("beta", [1.0, 0.5, 2.0])
def test_softmax(shape, beta):
    m = single_op_model("SOFTMAX", [In(shape)], Out(), beta=beta)
    assert_matches_litert(m, [rand(shape, seed=2, lo=-5, hi=5)], rtol=1e-5, atol=1e-7)


def test_softmax_large_inputs_are_stable():
    x = np.array([[1000.0, 999.0, -1000.0], [-500.0, -501.0, -502.0]], np.float32)
    out = assert_matches_litert(single_op_model("SOFTMAX", [In(x.shape)], Out(), beta=1.0), [x],
                                rtol=1e-5, atol=1e-7)[0]
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-6)


def test_softmax_rejects_int8():
    m = single_op_model("SOFTMAX", [In((2, 3), np.int8)], Out((), np.int8), beta=1.0)
    with pytest.raises(RuntimeError, match=r"SOFTMAX \(node 0\).*int8"):
        run_numlite(m, [np.zeros((2, 3), np.int8)])


def test_softmax_rejects_scalar():
    m = single_op_model("SOFTMAX", [In(())], Out(), beta=1.0)
    with pytest.raises(RuntimeError, match=r"SOFTMAX \(node 0\).*rank"):
        run_numlite(m, [np.zeros((), np.float32)])
