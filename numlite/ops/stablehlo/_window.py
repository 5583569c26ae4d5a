"""Window reductions shared by STABLEHLO_REDUCE_WINDOW and the TFLite builtin REDUCE_WINDOW.

1. ``output_shape``: per dimension, 0 when the dilated window ``(w - 1) * dilation + 1`` is larger
   than the input, else ``(n - dilated) // stride + 1`` (LiteRT 2.3's rule).
2. ``window_views``: one strided view of the input per window element, in row-major window order;
   element ``o`` of view ``k`` is the ``k``-th element of output ``o``'s window.
3. ``reduce_step``: the output starts as the init value and is combined with each view in order,
   so every output element is reduced in the order of LiteRT's loop (float sums and products round
   the same way).  ``max`` / ``min`` follow LiteRT's ``acc >= x ? acc : x`` /
   ``acc <= x ? acc : x``: on floats a NaN element replaces the accumulator and a NaN accumulator
   is replaced by the next element (a compare into a bool scratch and a masked copy); ``all`` /
   ``any`` store ``acc && x`` / ``acc || x`` as 0 / 1 of the data type.  ``call`` runs a region
   subgraph once per output element and window element (see _region).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..base import Step

#: the body functions, by name: ReduceWindowFunction members and region kinds
KINDS = ("add", "mul", "min", "max", "all", "any")


def output_shape(shape: Sequence[int], window: Sequence[int], strides: Sequence[int],
                 dilations: Sequence[int]) -> list[int]:
    out = []
    for n, w, s, d in zip(shape, window, strides, dilations):
        dw = (w - 1) * d + 1
        out.append(0 if n < dw else (n - dw) // s + 1)
    return out


def window_views(src: np.ndarray, out_shape: Sequence[int], window: Sequence[int], strides: Sequence[int],
                 dilations: Sequence[int]) -> list[np.ndarray]:
    views = []
    for k in np.ndindex(*window):
        views.append(src[tuple(slice(kd * dd, kd * dd + (o - 1) * s + 1, s)
                               for kd, dd, o, s in zip(k, dilations, out_shape, strides))])
    return views


def reduce_step(kind: str, views: list[np.ndarray], init: np.ndarray, out: np.ndarray, mask: np.ndarray | None,
                call: Any = None) -> Step:
    """The step reducing ``views`` into ``out`` from ``init`` (a 0-d array); ``mask``: a bool array of
    ``out``'s shape (needed for float max / min)."""
    copyto = np.copyto
    if kind == "call":
        flat_out = out.reshape(-1)  # the planned output is contiguous: a view

        def by_call() -> None:
            copyto(out, init)
            for v in views:
                for j, x in enumerate(v.reshape(-1).tolist()):  # the strided view read now
                    flat_out[j] = call(flat_out[j], x)

        return by_call
    is_float = out.dtype.kind == "f"
    if kind in ("max", "min") and is_float:
        keep = np.greater_equal if kind == "max" else np.less_equal
        lnot = np.logical_not

        def float_minmax() -> None:
            copyto(out, init)
            for v in views:
                keep(out, v, out=mask)
                lnot(mask, out=mask)
                copyto(out, v, where=mask)

        return float_minmax
    fn = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum, "all": np.logical_and,
          "any": np.logical_or}[kind]

    def plain() -> None:
        copyto(out, init)
        for v in views:
            fn(out, v, out=out)

    if is_float:
        def quiet() -> None:
            with np.errstate(all="ignore"):
                plain()

        return quiet
    return plain
