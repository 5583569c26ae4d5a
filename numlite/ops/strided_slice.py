"""STRIDED_SLICE: TFLite's strided slice with its five masks and ``offset``.

TFLite's rules (``strided_slice_logic.h``), re-stated:

1. ``begin``, ``end``, ``strides`` (int32/int64 vectors of one length ``n``, known at prepare)
   form a sparse spec; bit ``i`` of a mask refers to entry ``i``.
2. Expansion to *effective* dimensions (input rank + number of new axes outside the
   ellipsis): the ellipsis entry covers ``rank + new_axes - n + 1`` dimensions but at least
   one (TFLite's rule; NumPy would allow zero), each taken whole; a new-axis entry is a new
   size-1 dimension (its other bits ignored; an ellipsis bit wins over it); entries past the
   end of the spec take whole dimensions.
3. Per dimension, with ``offset`` (version 8) ``end = begin + end`` first.  Start:
   ``begin`` (or, with the begin_mask bit, the first element in the stride's direction),
   plus the size if negative, clamped to ``[0, size]`` (stride > 0) or ``[-1, size-1]``.
   Stop likewise from ``end`` / end_mask; a shrunk dimension stops at ``start + 1`` and
   disappears from the output.  Length ``max(ceil((stop - start) / stride), 0)``.
4. Where TFLite would read outside the input or leave the output unwritten, numlite fails
   at prepare instead: a zero stride, more than one ellipsis, a shrunk index outside the
   dimension, or a shrunk dimension with a negative stride.
5. The result is a tuple of basic slices, ints and ``None`` applied to the input as a NumPy
   view at bind time, so the step is one copy.
"""

from __future__ import annotations

import numpy as np

from ._shape import STRING_DATA_DTYPES, index_input
from .base import PrepareContext
from .registry import register
from .reshape import SingleCopyView

INPUT, BEGIN, END, STRIDES = 0, 1, 2, 3


@register("STRIDED_SLICE", versions=range(1, 9))
class StridedSlice(SingleCopyView):
    options_table = "StridedSliceOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(4)
        x = ctx.input(INPUT)
        ctx.expect_dtype(x, STRING_DATA_DTYPES)
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
        if any(v < 0 for v in (bm, em, elm, nam, sam)):
            ctx.fail("masks must be non-negative")
        if bin(elm & ((1 << n) - 1)).count("1") > 1:
            ctx.fail(f"ellipsis_mask {elm} sets more than one ellipsis")
        idx = self.effective_index(ctx, x.shape, n, begin, end, strides, bm, em, elm, nam, sam, offset)
        t = tuple(idx) + (Ellipsis,)  # a trailing ... keeps an all-int index a view, not a scalar
        probe = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), shape=x.shape, strides=(0,) * x.rank)
        ctx.set_output(0, probe[t].shape, x.dtype)
        self.index = t  # basic slices, ints and None (also read by the ONNX converter)
        self.set_view(lambda a: a[t])

    @staticmethod
    def effective_index(ctx: PrepareContext, shape: tuple[int, ...], n: int, begin: list, end: list,
                        strides: list, bm: int, em: int, elm: int, nam: int, sam: int, offset: bool) -> list:
        rank = len(shape)
        n_new = sum(1 for i in range(n) if nam & (1 << i) and not elm & (1 << i))
        eff = rank + n_new
        # which sparse entry (or None: whole dimension) feeds each effective dimension
        src: list = []
        i = 0
        while len(src) < eff and i < n:
            bit = 1 << i
            if elm & bit:
                cover = max(1, min(1 + n_new + rank - n, eff - len(src)))
                src.extend([None] * cover)
            else:
                src.append(i)
            i += 1
        src.extend([None] * (eff - len(src)))
        idx: list = []
        d = 0  # input dimension
        for e in src:
            if e is not None and nam & (1 << e):
                idx.append(None)
                continue
            if d >= rank:
                ctx.fail("the slice spec names more dimensions than the input has")
            size = shape[d]
            if e is None:
                idx.append(slice(None))
                d += 1
                continue
            b, st, stride = begin[e], end[e], strides[e]
            if offset:
                st = b + st
            if stride == 0:
                ctx.fail(f"stride of entry {e} is 0")
            bit = 1 << e
            if bm & bit:
                b = 0 if stride > 0 else size - 1
            if b < 0:
                b += size
            b = min(max(b, 0), size) if stride > 0 else min(max(b, -1), size - 1)
            if sam & bit:
                if stride < 0:
                    ctx.fail(f"entry {e} shrinks dimension {d} with a negative stride {stride}")
                if not 0 <= b < size:
                    ctx.fail(f"shrink index {begin[e]} (entry {e}) is out of range for dimension {d} "
                             f"(size {size})")
                idx.append(b)
                d += 1
                continue
            if em & bit:
                st = size if stride > 0 else -1
            else:
                if st < 0:
                    st += size
                st = min(max(st, 0), size) if stride > 0 else min(max(st, -1), size - 1)
            length = max(-(-(st - b) // stride), 0)
            if length == 0:
                idx.append(slice(0, 0))
            else:
                last = b + (length - 1) * stride
                stop = last + (1 if stride > 0 else -1)
                idx.append(slice(b, stop if stop >= 0 else None, stride))
            d += 1
        return idx
