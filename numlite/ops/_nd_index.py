"""Index tuples into the leading dimensions of a shape (GATHER_ND reads rows, SCATTER_ND writes them).

A shape ``S`` seen by ``nd``-long index tuples is viewed as ``(rows, slice)``: ``rows`` =
``prod(S[:nd])`` addressable rows of ``slice`` = ``prod(S[nd:])`` elements each.

1. ``linear(idx)``: the row numbers of ``n`` tuples (``idx`` int ``[n, nd]``), ``idx @ strides``
   with ``strides[j] = prod(S[j + 1:nd])``; all zeros when ``nd == 0`` (every tuple is the one row).
2. ``find_bad(idx)``: the first tuple outside ``S[:nd]`` (negative or too large in any coordinate),
   or None: LiteRT checks each coordinate, so ``[0, 5]`` is out of range for ``[4, 3]`` even where
   its row number would not be.
3. ``bind_linear(pairs, lin, message)``: the invoke-time step for indices known only then: the
   check (two column reductions), then the row numbers into ``lin`` without allocating; an index out
   of range raises RuntimeError with ``message(bad tuple)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


class NdIndex:
    def __init__(self, shape: Sequence[int], nd: int, n: int):
        shape = tuple(int(d) for d in shape)
        self.nd, self.n = nd, n
        self.dims = np.array(shape[:nd], np.int64)
        self.rows = int(np.prod(shape[:nd], dtype=np.int64))
        self.slice = int(np.prod(shape[nd:], dtype=np.int64))
        self.strides = np.array([int(np.prod(shape[j + 1:nd], dtype=np.int64)) for j in range(nd)], np.int64)

    def find_bad(self, idx: np.ndarray) -> list[int] | None:
        if idx.size == 0:
            return None
        bad = ((idx < 0) | (idx >= self.dims)).any(axis=1)
        return idx[np.argmax(bad)].tolist() if bad.any() else None

    def linear(self, idx: np.ndarray) -> np.ndarray:
        return idx @ self.strides if self.nd else np.zeros(self.n, np.int64)

    def constant_linear(self, value: np.ndarray | None) -> tuple[np.ndarray, list[int] | None]:
        """For indices known at prepare (``value``; None for an empty index tensor): their linear
        positions, and the first out-of-range index (None when all are in range)."""
        pairs = (np.zeros((self.n, self.nd), np.int64) if value is None
                 else np.asarray(value, np.int64).reshape(self.n, self.nd))
        return self.linear(pairs), self.find_bad(pairs)

    def bind_linear(self, pairs: np.ndarray, lin: np.ndarray,
                    message: Callable[[list[int] | None], str]) -> Callable[[], None]:
        nd, dims, strides, find_bad = self.nd, self.dims, self.strides, self.find_bad

        def step() -> None:
            if nd and ((pairs.min(axis=0) < 0).any() or (pairs.max(axis=0) >= dims).any()):
                raise RuntimeError(message(find_bad(pairs)))
            if nd:
                np.matmul(pairs, strides, out=lin)
            else:
                lin.fill(0)

        return step
