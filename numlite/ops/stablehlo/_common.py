"""Helpers shared by the StableHLO kernels (and DILATE / REDUCE_WINDOW).

1. ``int_option`` reads an integer-vector option as a tuple of Python ints (absent -> empty).
2. ``check_size`` refuses shapes LiteRT could not hold: every dimension and the element count must
   fit int32 (TFLite's dims are int32), so hostile option values give an error, not a huge
   allocation.
3. ``interior_pad`` is the index arithmetic of StableHLO padding (edge padding low / high that
   may be negative, i.e. crop, plus interior padding): where the kept input elements land.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..base import PrepareContext

INT32_MAX = 2**31 - 1

#: every numeric type of TFLite's tensor types, as NumPy dtypes
NUMERIC = (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
           np.uint32, np.uint64)
#: ... and bool
NUMERIC_BOOL = (*NUMERIC, np.bool_)


def int_option(options: Any, name: str) -> tuple[int, ...]:
    v = options.get(name)
    if v is None:
        return ()
    return tuple(int(x) for x in np.asarray(v).reshape(-1))


def check_size(ctx: PrepareContext, shape: Sequence[int], what: str = "output") -> None:
    if any(d < 0 for d in shape):
        ctx.fail(f"computed a negative {what} shape {list(shape)}")
    if any(d > INT32_MAX for d in shape) or int(np.prod([float(d) for d in shape])) > INT32_MAX:
        ctx.fail(f"{what} shape {list(shape)} holds more elements than TFLite can address (2**31 - 1)")


def interior_pad(shape: Sequence[int], low: Sequence[int], high: Sequence[int], interior: Sequence[int]
                 ) -> tuple[list[int], tuple[slice, ...] | None, tuple[slice, ...] | None]:
    """(output shape, destination slices, source slices) of StableHLO padding.

    Input element ``i`` of a dimension goes to ``low + i * (interior + 1)``; those that land
    outside ``[0, out)`` are cropped.  The slices are None when nothing of the input is kept.
    Dimensions of the output may come out zero or negative (LiteRT's formula ``(n - 1) * (interior
    + 1) + 1 + low + high`` also for ``n == 0``); the caller decides what that means.
    """
    out_shape, dst, src = [], [], []
    kept = True
    for n, lo, hi, it in zip(shape, low, high, interior):
        s = it + 1
        out = (n - 1) * s + 1 + lo + hi  # as LiteRT computes it, also for n == 0
        out_shape.append(out)
        first = (-lo + s - 1) // s if lo < 0 else 0  # the smallest i with lo + i * s >= 0
        last = min(n - 1, (out - 1 - lo) // s) if out > 0 else -1
        if first > last or n == 0:
            kept = False
            dst.append(slice(0, 0))
            src.append(slice(0, 0))
            continue
        start = lo + first * s
        count = last - first + 1
        dst.append(slice(start, start + (count - 1) * s + 1, s))
        src.append(slice(first, first + count))
    if not kept:
        return out_shape, None, None
    return out_shape, tuple(dst), tuple(src)
