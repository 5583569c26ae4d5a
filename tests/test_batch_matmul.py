"""BATCH_MATMUL (float32) against LiteRT.

Tolerance: BLAS and XNNPACK sum the products in different orders; inputs in [-1, 1] and
K <= 16 keep the difference below rtol=1e-5, atol=1e-5.
"""

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, rand, run_numlite, single_op_model

TOL = {"rtol": 1e-5, "atol": 1e-5}

CASES = [
    ((2, 3), (3, 4)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 3, 4), (4, 5)),                  # rhs without batch: one GEMM
    ((3, 4), (2, 4, 5)),                  # lhs without batch
    ((2, 1, 3, 4), (1, 5, 4, 6)),         # both broadcast
    ((1, 2, 3, 4), (1, 1, 4, 2)),
    ((2, 2, 1, 3, 4), (2, 1, 3, 4, 2)),   # rank 5
    ((1, 1, 5, 16), (16, 3)),
]


def _t(shape, adj):
    return (*shape[:-2], shape[-1], shape[-2]) if adj else shape


@pytest.mark.parametrize("sa,sb", CASES)
@pytest.mark.parametrize("adj_x,adj_y", [(False, False), (True, False), (False, True), (True, True)])
def test_bmm(sa, sb, adj_x, adj_y):
    sa, sb = _t(sa, adj_x), _t(sb, adj_y)
    m = single_op_model("BATCH_MATMUL", [In(sa), In(sb)], Out(), adj_x=adj_x, adj_y=adj_y)
    assert_matches_litert(m, [rand(sa, seed=1), rand(sb, seed=2)], **TOL)


@pytest.mark.parametrize("sa,sb", [((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((1, 4, 3), (3, 3))])
@pytest.mark.parametrize("adj_y", [False, True])
def test_bmm_constant_rhs(sa, sb, adj_y):
    sb = _t(sb, adj_y)
    m = single_op_model("BATCH_MATMUL", [In(sa), Const(rand(sb, seed=2))], Out(), adj_y=adj_y)
    assert_matches_litert(m, [rand(sa, seed=1)], **TOL)


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_bmm_versions(version):
    m = single_op_model("BATCH_MATMUL", [In((2, 3)), In((3, 2))], Out(), version=version)
    assert_matches_litert(m, [rand((2, 3)), rand((3, 2), seed=2)], **TOL)


# -- errors ----------------------------------------------------------------------------------
def _fails(sa, sb, match, dtype=np.float32, **opts):
    m = single_op_model("BATCH_MATMUL", [In(sa, dtype), In(sb, dtype)], Out((), dtype), **opts)
    with pytest.raises(RuntimeError, match=r"BATCH_MATMUL \(node 0\).*" + match):
        run_numlite(m, [np.zeros(sa, dtype), np.zeros(sb, dtype)])


def test_bmm_rejects_inner_mismatch():
    _fails((2, 3), (4, 5), "inner dimensions")
    _fails((2, 3), (2, 5), "inner dimensions", adj_y=True)


def test_bmm_rejects_batch_mismatch():
    _fails((2, 3, 4), (3, 4, 5), "broadcast")


def test_bmm_rejects_rank():
    _fails((4,), (4, 2), "rank 2 to 5")
    _fails((1, 1, 1, 1, 1, 2, 3), (3, 2), "rank 2 to 5")


def test_bmm_rejects_int8():
    _fails((2, 3), (3, 2), "int8", dtype=np.int8)
