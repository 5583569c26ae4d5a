"""Exact integer matrix products at float32 BLAS speed, for the quantized kernels.

NumPy's integer matmul has no BLAS behind it (about 100x slower than float32 here), so integer
GEMMs run as float32 GEMMs on integer-valued operands, made exact as follows:

1. Every product ``a[i, k] * b[k, j]`` is an integer of magnitude at most
   ``bound_a * bound_b``; a float32 sum of such integers is exact while every partial sum stays
   at or below ``2**24`` (the float32 mantissa), whatever order BLAS adds them in.
2. So the reduction dimension K is split into chunks of at most
   ``floor(2**24 / (bound_a * bound_b))`` (1024 for raw int8 x int8 operands, where
   ``bound = 128``); each chunk is one float32 GEMM whose result is exact.
3. Chunk results are integers below ``2**24``; they are summed into an int32 accumulator
   (NumPy computes ``int32 + float32`` in float64, exact, then stores int32).  With one chunk
   (the common case: K <= 1024 for int8) the float32 result is simply converted.

Kernels keep their operands raw (int8 values, or uint8 values re-centred by -128) and correct
for zero points with precomputed row / column sums, as TFLite's kernels do, so the bound stays
128 and chunks stay large.  ``ExactMatmul.bind`` builds the views once; the step allocates
nothing (the temporaries are the caller's scratch).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EXACT_LIMIT = 2**24


def chunk_size(bound_a: int, bound_b: int) -> int:
    """The largest K for which a float32 dot product of such integers is exact."""
    per = int(bound_a) * int(bound_b)
    if per <= 0:
        return 1 << 30
    return max(EXACT_LIMIT // per, 1)


def chunks(k: int, bound_a: int, bound_b: int) -> list[tuple[int, int]]:
    """Split ``range(k)`` into as few equal-ish exact chunks as possible."""
    size = chunk_size(bound_a, bound_b)
    n = max(-(-k // size), 1)
    edges = np.linspace(0, k, n + 1).round().astype(int)
    return [(int(edges[i]), int(edges[i + 1])) for i in range(n)]


class ExactMatmul:
    """``out[M, N] (int32) = a[M, K] @ b[K, N]`` exactly, for integer-valued float32 operands
    whose magnitudes are at most ``bound_a`` / ``bound_b``.  ``b`` is fixed (weights) and may be
    any strided float32 view BLAS accepts (e.g. a transposed view)."""

    def __init__(self, b: np.ndarray, bound_a: int, bound_b: int):
        if b.dtype != np.float32 or b.ndim != 2:
            raise ValueError("ExactMatmul expects a 2-D float32 right operand")
        self.b = b
        self.k = b.shape[0]
        self.parts = chunks(self.k, bound_a, bound_b)

    def bind(self, a: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> Callable[[], None]:
        """Step computing ``out = a @ b``; ``tmp`` is float32 scratch shaped like ``out``."""
        mm, cp, add = np.matmul, np.copyto, np.add
        if len(self.parts) == 1:
            b = self.b

            def one() -> None:
                mm(a, b, out=tmp)
                cp(out, tmp, casting="unsafe")

            return one
        pieces = [(a[:, k0:k1], self.b[k0:k1]) for k0, k1 in self.parts]
        (a0, b0), rest = pieces[0], pieces[1:]

        def many() -> None:
            mm(a0, b0, out=tmp)
            cp(out, tmp, casting="unsafe")
            for ai, bi in rest:
                mm(ai, bi, out=tmp)
                add(out, tmp, out=out, casting="unsafe")

        return many


def exact_matmul(a: np.ndarray, b: np.ndarray, bound_a: int, bound_b: int) -> np.ndarray:
    """Convenience (allocating) form: int32 ``a @ b`` of integer-valued arrays."""
    a32 = np.ascontiguousarray(a, dtype=np.float32)
    b32 = np.asarray(b, dtype=np.float32)
    out = np.empty((a32.shape[0], b32.shape[1]), np.int32)
    tmp = np.empty(out.shape, np.float32)
    ExactMatmul(b32, bound_a, bound_b).bind(a32, out, tmp)()
    return out
