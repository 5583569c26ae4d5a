"""Base for ARG_MAX and ARG_MIN: the index of the largest / smallest value along one axis,
matching LiteRT 2.3 (whose reference and default resolvers run the same kernel).

1. Input types: float32, int8, uint8, int32 and bool (quantized 8-bit tensors compare their
   stored values, the parameters are not read); rank at least 1.  ``output_type`` (INT32 or
   INT64) gives the output's dtype.
2. The axis input (int32 or int64, exactly one element, negative counts from the end) decides
   the output shape, so numlite needs it at prepare: a constant, or a value folded from
   constants and shapes.  (LiteRT accepts a runtime axis by making the output dynamic; numlite
   reports a clear error instead.)  An axis of size 0 is an error, as in LiteRT; the output
   drops the axis dimension.
3. Ties give the first index.  Integers and bool: ``np.argmax`` / ``np.argmin`` into the
   output (through an ``intp`` scratch for int32 outputs).
4. float32 follows LiteRT's two code paths, which treat NaN differently:
   a. when the axis has unit stride (every dimension after it is 1), LiteRT's ``ArgMinMaxVector``
      runs its NEON code (through the SSE translation on x86) for rows of 4 or more: four lanes
      keep the NaN-aware extreme of elements ``lane, lane+4, ...`` over the whole groups of
      four; the lanes are folded pairwise with ``pick(a, b) = b if b beats a else a`` (a NaN
      lane survives when it comes first), the smallest lane index holding the folded value
      wins; the leftover elements then update NaN-aware, and a NaN result gives index 0.
      numlite evaluates those steps with NumPy over all rows at once (a few temporaries).
   b. otherwise (and for rows shorter than 4) NaN is ignored: the first index of the largest
      (smallest) non-NaN value, index 0 when all are NaN (TensorFlow's semantics).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .base import Kernel, PrepareContext, Step

INPUT, AXIS = 0, 1
ARG_DTYPES = (np.float32, np.int8, np.uint8, np.int32, np.bool_)
OUTPUT_TYPES = {2: np.int32, 4: np.int64}  # TensorType INT32, INT64
INT_MAX = np.iinfo(np.int32).max


def nan_ignoring_arg(x: np.ndarray, axis: int, is_max: bool, ext: np.ndarray, eq: np.ndarray,
                     out: np.ndarray) -> None:
    """Step 4b into intp ``out``: the first index of the non-NaN extreme along ``axis`` (0 when
    all are NaN), through scratch ``ext`` (keepdims shape) and ``eq`` (x's shape, bool)."""
    (np.fmax if is_max else np.fmin).reduce(x, axis=axis, keepdims=True, out=ext)
    np.equal(x, ext, out=eq)
    np.argmax(eq, axis=axis, out=out)


def last_axis_arg(rows: np.ndarray, is_max: bool) -> np.ndarray:
    """Step 4a for a 2-D float32 ``rows`` (outer, n), n >= 4: LiteRT's vector path; intp result."""
    outer, n = rows.shape
    groups = n // 4
    blocks = rows[:, : 4 * groups].reshape(outer, groups, 4)
    with np.errstate(invalid="ignore"):
        lanes = (np.fmax if is_max else np.fmin).reduce(blocks, axis=1)  # NaN only for all-NaN lanes
        first = np.argmax(blocks == lanes[:, None, :], axis=1)  # 0 when the lane is all NaN
        lane_idx = first * 4 + np.arange(4)

        def pick(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return np.where(b > a if is_max else b < a, b, a)

        best = pick(pick(lanes[:, 0], lanes[:, 1]), pick(lanes[:, 2], lanes[:, 3]))
        idx = np.where(lanes == best[:, None], lane_idx, INT_MAX).min(axis=1)
        for i in range(4 * groups, n):
            c = rows[:, i]
            better = c > best if is_max else c < best
            upd = ~np.isnan(c) & (np.isnan(best) | better)
            best = np.where(upd, c, best)
            idx = np.where(upd, i, idx)
        return np.where(np.isnan(best), 0, idx)


class ArgMinMaxKernel(Kernel):
    is_max: ClassVar[bool] = True

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        x, ax = ctx.input(INPUT), ctx.input(AXIS)
        ctx.expect_dtype(x, ARG_DTYPES)
        ctx.expect_dtype(ax, (np.int32, np.int64), "axis")
        if ax.size != 1:
            ctx.fail(f"axis {ax.describe()} must hold exactly one value")
        if x.rank < 1:
            ctx.fail(f"input {x.describe()} must have rank 1 or more")
        code = int(self.options.get("output_type") or 0)
        if code not in OUTPUT_TYPES:
            ctx.fail(f"output_type {code} is not supported; use INT32 (2) or INT64 (4)")
        axis = int(np.asarray(ctx.constant(AXIS, "the axis input")).reshape(-1)[0])
        if axis < 0:
            axis += x.rank
        if not 0 <= axis < x.rank:
            ctx.fail(f"axis {axis} is out of range for input {x.describe()}")
        if x.shape[axis] == 0:
            ctx.fail(f"cannot take {self.op_name} over the empty axis {axis} of {x.describe()}")
        shape = x.shape[:axis] + x.shape[axis + 1:]
        out_dtype = OUTPUT_TYPES[code]
        ctx.set_output(0, shape, out_dtype)
        self.axis = axis
        self.n = x.shape[axis]
        self.outer = int(np.prod(shape, dtype=np.int64))
        self.is_float = np.dtype(x.dtype) == np.float32
        self.vector_path = self.is_float and int(np.prod(x.shape[axis + 1:], dtype=np.int64)) == 1 and self.n >= 4
        self.tmp_slot = None if out_dtype == np.intp else ctx.scratch(shape, np.intp)
        if self.is_float and not self.vector_path:
            keep = x.shape[:axis] + (1,) + x.shape[axis + 1:]
            self.ext_slot, self.eq_slot = ctx.scratch(keep, np.float32), ctx.scratch(x.shape, np.bool_)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        x, out = inputs[INPUT], outputs[0]
        if out.size == 0:
            return lambda: None
        res = out if self.tmp_slot is None else scratch[self.tmp_slot]
        fix = (lambda: None) if self.tmp_slot is None else (lambda: np.copyto(out, res, casting="unsafe"))
        axis, is_max = self.axis, self.is_max
        if self.vector_path:
            rows = x.reshape(self.outer, self.n)
            flat = res.reshape(-1)

            def vec() -> None:
                flat[...] = last_axis_arg(rows, is_max)
                fix()

            return vec
        if self.is_float:
            ext, eq = scratch[self.ext_slot], scratch[self.eq_slot]

            def flt() -> None:
                nan_ignoring_arg(x, axis, is_max, ext, eq, res)
                fix()

            return flt
        f = np.argmax if is_max else np.argmin

        def plain() -> None:
            f(x, axis=axis, out=res)
            fix()

        return plain
