"""FILL: a tensor of shape ``dims`` (input 0, known at prepare) filled with ``value`` (input 1,
a scalar read at every invoke; the output takes its type)."""

from __future__ import annotations

import numpy as np

from ._shape import STRING_DATA_DTYPES, index_input
from .base import Kernel, PrepareContext, Step
from .registry import register

DIMS, VALUE = 0, 1


@register("FILL", versions=range(1, 6))
class Fill(Kernel):
    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        v = ctx.input(VALUE)
        ctx.expect_dtype(v, STRING_DATA_DTYPES, "value")
        if v.size != 1:
            ctx.fail(f"value {v.describe()} must be a scalar")
        dims = index_input(ctx, DIMS, "dims input")
        if dims.ndim != 1 or (dims < 0).any():
            ctx.fail(f"dims {dims.tolist()} must be a vector of non-negative sizes")
        ctx.set_output(0, dims.tolist(), v.dtype)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        out, value = outputs[0], inputs[VALUE].reshape(())
        return lambda: np.copyto(out, value)
