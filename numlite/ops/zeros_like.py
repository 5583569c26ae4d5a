"""ZEROS_LIKE: zeros of the input's shape and type (refilled every invoke: arena memory is shared)."""

from __future__ import annotations

import numpy as np

from ._shape import DATA_DTYPES
from .base import Kernel, PrepareContext, Step
from .registry import register


@register("ZEROS_LIKE", versions=(1,))
class ZerosLike(Kernel):
    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        x = ctx.input(0)
        ctx.expect_dtype(x, DATA_DTYPES)
        ctx.set_output(0, x.shape, x.dtype)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        out = outputs[0]
        return lambda: out.fill(0)
