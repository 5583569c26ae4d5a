"""STRIDED_SLICE: NumPy/TensorFlow basic slicing with TFLite's five masks.

1. ``begin``, ``end``, ``strides`` (int32/int64 vectors of one length, known at prepare)
   form a sparse spec; bit ``i`` of a mask refers to entry ``i``.
2. Entry ``i`` becomes, in priority order: ``...`` (ellipsis_mask; covers the dimensions no
   other entry names), a new size-1 axis (new_axis_mask), a single index (shrink_axis_mask;
   negative counts from the end, out of range is an error; the dimension disappears), or
   ``slice(begin, end, stride)`` with ``begin`` / ``end`` left open when their mask bit is
   set.  Dimensions after the last entry are taken whole.
3. With ``offset`` (version 8), ``end`` is relative: ``end = begin + end``.
4. Open and out-of-range bounds clamp as in Python (TFLite does the same); a zero stride is
   an error.  The resulting index tuple is applied to the input as a NumPy view at bind
   time, so the step is one copy.
"""

from __future__ import annotations

import numpy as np

from ._shape import DATA_DTYPES, ViewKernel, index_input
from .base import PrepareContext
from .registry import register

INPUT, BEGIN, END, STRIDES = 0, 1, 2, 3


@register("STRIDED_SLICE", versions=range(1, 9))
class StridedSlice(ViewKernel):
    options_table = "StridedSliceOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(4)
        x = ctx.input(INPUT)
        ctx.expect_dtype(x, DATA_DTYPES)
        begin = index_input(ctx, BEGIN, "begin input").reshape(-1).tolist()
        end = index_input(ctx, END, "end input").reshape(-1).tolist()
        strides = index_input(ctx, STRIDES, "strides input").reshape(-1).tolist()
        n = len(begin)
        if len(end) != n or len(strides) != n:
            ctx.fail(f"begin {begin}, end {end} and strides {strides} must have the same length")
        o = self.options
        bm, em = int(o.get("begin_mask") or 0), int(o.get("end_mask") or 0)
        elm, nam = int(o.get("ellipsis_mask") or 0), int(o.get("new_axis_mask") or 0)
        sam, offset = int(o.get("shrink_axis_mask") or 0), bool(o.get("offset"))
        kinds = []
        for i in range(n):
            bit = 1 << i
            kinds.append("e" if elm & bit else "n" if nam & bit else "s" if sam & bit else "r")
        if kinds.count("e") > 1:
            ctx.fail(f"ellipsis_mask {elm} sets more than one ellipsis")
        named = sum(k in "sr" for k in kinds)
        if named > x.rank:
            ctx.fail(f"the slice spec names {named} dimensions but {x.describe()} has rank {x.rank}")
        idx: list = []
        d = 0
        for i, k in enumerate(kinds):
            if k == "e":
                idx.append(Ellipsis)
                d += x.rank - named
                continue
            if k == "n":
                idx.append(None)
                continue
            b, e, s = begin[i], end[i], strides[i]
            if offset:
                e = b + e
            if s == 0:
                ctx.fail(f"stride of entry {i} is 0")
            dim = x.shape[d]
            if k == "s":
                j = b + dim if b < 0 else b
                if not 0 <= j < dim:
                    ctx.fail(f"shrink index {b} (entry {i}) is out of range for dimension {d} (size {dim}) "
                             f"of {x.describe()}")
                idx.append(j)
            else:
                idx.append(slice(None if bm & (1 << i) else b, None if em & (1 << i) else e, s))
            d += 1
        t = tuple(idx)
        probe = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), shape=x.shape, strides=(0,) * x.rank)
        ctx.set_output(0, probe[t].shape, x.dtype)
        self.set_view(lambda a: a[t])
