"""Tiling a small constant operand along a large tensor's flat order (PRELU's alpha, a binary
op's per-channel constant): the constant, broadcast to the tensor, repeats with a period of its
trailing dimensions; repeated into a row of about ``ROW`` elements whose length divides the
tensor's size, it meets the tensor viewed as ``[n, L]`` element for element, and NumPy runs
long inner loops instead of looping over the tensor's outer dimensions.  Also: which operand
NumPy's maximum / minimum return on ties (the max-form activations PRELU and LEAKY_RELU)."""

from __future__ import annotations

import numpy as np

ROW = 4096  # elements in a tiled row (16 KiB of float32): long inner loops; measured flat beyond ~4k


def period_dims(x_shape: tuple[int, ...], a_shape: tuple[int, ...]) -> int:
    """How many trailing dims of ``x_shape`` one period of ``broadcast_to(a, x_shape)`` spans along
    the flat order (step 2): those from ``a``'s first dim that is not 1."""
    lead = len(x_shape) - len(a_shape)
    return len(x_shape) - next((lead + i for i, d in enumerate(a_shape) if d != 1), len(x_shape))


def row_length(n: int, p: int, target: int = ROW) -> int:
    """A multiple of ``p`` that divides ``n``: the smallest reaching ``target``, else the largest
    below it among the first few multiples (``n`` a multiple of ``p``, both positive)."""
    m = n // p
    lo = -(-target // p)
    ds = np.arange(1, min(m, 8 * lo) + 1)
    ds = ds[m % ds == 0]
    big = ds[ds >= lo]
    return int(big[0] if big.size else ds[-1]) * p


class RangeRows:
    """Period patterns (one period of a broadcast constant each, 1-D) repeated into rows for
    in-place epilogues (``base.Epilogue``) on flat ranges: a range of ``n`` elements, ``n`` a
    multiple of the period, is viewed as ``[n / L, L]`` with ``L = row_length(n, period)``, and
    each pattern is tiled to ``L`` once per length, at bind time.  A period of 1 gives the
    scalar itself (NumPy's fastest broadcast)."""

    def __init__(self, *patterns: np.ndarray):
        self.patterns = [np.ascontiguousarray(p).reshape(-1) for p in patterns]
        self.period = self.patterns[0].size
        self.cache: dict[int, list] = {}

    def view(self, o: np.ndarray) -> tuple[np.ndarray, list]:
        """``o`` (1-D) as rows, and the patterns tiled to their length."""
        p = self.period
        if p == 1:
            return o, [pat[0] for pat in self.patterns]
        n = row_length(o.size, p) if o.size else p
        rows = self.cache.get(n)
        if rows is None:
            rows = self.cache[n] = [np.tile(pat, n // p) for pat in self.patterns]
        return o.reshape(-1, n), rows


def _tie_last() -> bool:
    """Whether NumPy's float32 maximum / minimum return their second operand when the two compare
    equal (-0.0 against 0.0, over a length that covers the SIMD body and its tail)."""
    neg, pos = np.full(67, -0.0, np.float32), np.zeros(67, np.float32)
    return not np.signbit(np.maximum(neg, pos)).any() and bool(np.signbit(np.minimum(pos, neg)).all())


TIE_LAST = _tie_last()


def tie_order(keep: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The operands of ``np.maximum`` / ``np.minimum`` ordered so that a tie returns ``keep``."""
    return (other, keep) if TIE_LAST else (keep, other)
