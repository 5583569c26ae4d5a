"""DYNAMIC_UPDATE_SLICE: ``output = operand`` with ``update`` written at ``start_indices``
(XLA's DynamicUpdateSlice; versions 1-6, as LiteRT 2.3).

1. Operand and update: one type, any fixed-size one (bool, int8/16/32/64, uint8/16/32,
   float16/32/64); quantized tensors are moved as stored (LiteRT never reads their parameters).
   The update has the operand's rank and no dimension larger than the operand's.
2. ``start_indices``: an int32 or int64 vector with one entry per operand dimension.  Each start
   is clamped to ``[0, operand_dim - update_dim]`` (as XLA and TFLite do), so every start gives a
   defined result and nothing is written out of bounds.
3. The output has the operand's shape, known at prepare.  The step copies the operand, then the
   update into the clamped window (two ``np.copyto``); constant starts are clamped at prepare.
"""

from __future__ import annotations

import numpy as np

from ._space_batch import SPACE_BATCH_DTYPES
from .base import Kernel, PrepareContext, Step
from .registry import register

OPERAND, UPDATE, START = 0, 1, 2


def clamped_window(starts: np.ndarray, shape: tuple[int, ...], ushape: tuple[int, ...]) -> tuple[slice, ...]:
    out = []
    for s, d, u in zip(starts.tolist(), shape, ushape):
        s = min(max(0, int(s)), d - u)
        out.append(slice(s, s + u))
    return tuple(out)


@register("DYNAMIC_UPDATE_SLICE", versions=range(1, 7))
class DynamicUpdateSlice(Kernel):
    options_table = "DynamicUpdateSliceOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(3)
        x, upd, st = ctx.input(OPERAND), ctx.input(UPDATE), ctx.input(START)
        ctx.expect_dtype(x, SPACE_BATCH_DTYPES, "operand")
        if np.dtype(upd.dtype) != np.dtype(x.dtype):
            ctx.fail(f"update {upd.describe()} must have the operand's type {np.dtype(x.dtype).name}")
        ctx.expect_dtype(st, (np.int32, np.int64), "start_indices")
        if st.rank != 1 or st.shape[0] != x.rank:
            ctx.fail(f"start_indices {st.describe()} must be a vector of {x.rank} values (the operand's rank)")
        if upd.rank != x.rank or any(u > d for u, d in zip(upd.shape, x.shape)):
            ctx.fail(f"update {upd.describe()} must have the rank of operand {x.describe()} and no larger dimension")
        out = ctx.outputs[0]
        if np.dtype(out.dtype) != np.dtype(x.dtype):
            ctx.fail(f"output {out.describe()} must have the operand's type {np.dtype(x.dtype).name}")
        ctx.set_output(0, x.shape, x.dtype)
        self.shape, self.ushape = x.shape, upd.shape
        self.window = None if st.value is None else clamped_window(np.asarray(st.value), x.shape, upd.shape)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        x, upd, st = inputs
        out = outputs[0]
        copyto = np.copyto
        if out.size == 0:
            return lambda: None
        if upd.size == out.size:  # the update is the whole operand: wherever it starts, it lands at 0
            return lambda: copyto(out, upd)
        if upd.size == 0:
            return lambda: copyto(out, x)
        if self.window is not None:
            dst = out[self.window]

            def fixed() -> None:
                copyto(out, x)
                copyto(dst, upd)

            return fixed
        shape, ushape = self.shape, self.ushape

        def step() -> None:
            copyto(out, x)
            copyto(out[clamped_window(st, shape, ushape)], upd)

        return step
