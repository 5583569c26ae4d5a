"""Exact integer GEMM on float32 BLAS: worst-case value ranges must give exact int results."""

import numpy as np
import pytest

from numlite.ops._qgemm import ExactMatmul, chunk_size, chunks, exact_matmul


def ref(a, b):
    return a.astype(np.int64) @ b.astype(np.int64)


@pytest.mark.parametrize("k", [1, 7, 1024, 1025, 3000, 9 * 2048])
@pytest.mark.parametrize("sign", [1, -1])
def test_worst_case_int8(k, sign):
    # every product is +-128*128 = 2**14 with the same sign: the largest partial sums possible
    a = np.full((3, k), -128, np.int64)
    b = np.full((k, 5), -128 * sign, np.int64)
    got = exact_matmul(a, b, 128, 128)
    np.testing.assert_array_equal(got, ref(a, b))


def test_float32_alone_is_not_exact_beyond_the_chunk():
    # the reason for chunking: the exact sum is odd and above 2**24, so no float32 holds it
    k = 4099
    a = np.full((1, k), 127, np.float32)
    b = np.full((k, 1), 127, np.float32)
    exact = ref(a.astype(np.int64), b.astype(np.int64))
    assert exact[0, 0] > 2**24 and exact[0, 0] % 2 == 1
    assert (a @ b).astype(np.int64)[0, 0] != exact[0, 0]
    assert (exact_matmul(a, b, 128, 128) == exact).all()


@pytest.mark.parametrize("seed", range(5))
def test_random_uint8_recentred(seed):
    rng = np.random.default_rng(seed)
    m, k, n = 17, int(rng.integers(1, 5000)), 33
    a = rng.integers(-128, 128, size=(m, k))
    b = rng.integers(-128, 128, size=(n, k))  # weights as stored [N, K]; used transposed
    mm = ExactMatmul(b.astype(np.float32).T, 128, 128)
    out = np.empty((m, n), np.int32)
    tmp = np.empty((m, n), np.float32)
    mm.bind(a.astype(np.float32), out, tmp)()
    np.testing.assert_array_equal(out, ref(a, b.T))


def test_chunking():
    assert chunk_size(128, 128) == 1024
    assert chunks(2048, 128, 128) == [(0, 1024), (1024, 2048)]
    assert len(chunks(2049, 128, 128)) == 3
    assert chunks(5, 0, 128) == [(0, 5)]


def test_chunks_l1_bounds_every_chunk_and_is_exact():
    """``chunks_l1`` cuts K where some channel's ``128 * sum |w|`` would pass 2**24: channel 0
    is small everywhere, channel 1 is at the extreme only in the second half of K, so the cuts
    fall there; the float32 GEMM over those chunks is exact at the worst-case inputs."""
    from numlite.ops._qgemm import EXACT_LIMIT, chunks_l1

    k = 4096
    w = np.ones((3, k), np.int64)
    w[1, k // 2:] = -127
    w[2] = np.random.default_rng(0).integers(-20, 21, k)
    parts = chunks_l1(np.abs(w).astype(np.float32), 128)
    assert parts[0][0] == 0 and parts[-1][1] == k
    assert all(a1 == b0 for (_, a1), (b0, _) in zip(parts, parts[1:]))
    for k0, k1 in parts:
        assert 128 * np.abs(w[:, k0:k1]).sum(axis=1).max() <= EXACT_LIMIT
    # the first chunk takes the whole light half and as much of the heavy half as fits; the
    # heavy half (2048 * 127 * 128, about 2 * 2**24) needs two more
    assert parts[0][1] > k // 2
    assert len(parts) == 3
    x = np.full((5, k), -128, np.int64)
    x[1] = 127
    want = x @ w.T
    out = np.empty(want.shape, np.int32)
    b = np.ascontiguousarray(w.T, dtype=np.float32)
    got = np.zeros(want.shape, np.float64)
    tmp = np.empty(want.shape, np.float32)
    xf = x.astype(np.float32)
    for k0, k1 in parts:
        np.matmul(xf[:, k0:k1], b[k0:k1], out=tmp)
        got += tmp
    np.copyto(out, got, casting="unsafe")
    np.testing.assert_array_equal(out, want)
    # light weights: one chunk for a long reduction
    assert chunks_l1(np.full((4, 20000), 3.0), 128) == [(0, 20000)]
    assert chunks_l1(np.zeros((0, 7)), 128) == [(0, 7)]
