"""SHAPE: the input's shape as an int32 or int64 vector (``out_type``).

The value depends only on the shape, so prepare publishes it (``set_output_value``); the
node is then folded and everything computed from it (STRIDED_SLICE, PACK, RESHAPE's shape
input, ...) folds too - this is how models exported with a dynamic batch resize.
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step
from .registry import register

TYPE_CODES = {2: np.int32, 4: np.int64}  # TensorType INT32, INT64


@register("SHAPE", versions=(1,))
class Shape(Kernel):
    options_table = "ShapeOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        x = ctx.input(0)
        dt = TYPE_CODES.get(int(self.options.get("out_type") or 0))
        if dt is None:  # options absent or not an integer type: trust the output tensor's type
            dt = np.dtype(ctx.outputs[0].dtype).type
            if dt not in (np.int32, np.int64):
                ctx.fail(f"out_type {self.options.get('out_type')} is not INT32 or INT64")
        ctx.set_output(0, (x.rank,), dt)
        self.value = np.array(x.shape, dtype=dt)
        ctx.set_output_value(0, self.value)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        out, v = outputs[0], self.value
        return lambda: np.copyto(out, v)
