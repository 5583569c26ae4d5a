"""RANK: the number of dimensions of the input, as an int32 scalar, version 1, as LiteRT 2.3.

1. Any input type (the data is never read).  The output is a 0-d int32 tensor whatever type the
   model declares for it: LiteRT sets the type to int32 (measured: a model declaring int64 gets
   an int32 value back), and numlite does the same.
2. The value is known at prepare, so it is published there (``set_output_value``) and the node is
   folded, with everything computed from it.
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step
from .registry import register


@register("RANK", versions=(1,))
class Rank(Kernel):
    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        ctx.set_output(0, (), np.int32)
        self.value = np.array(ctx.input(0).rank, dtype=np.int32)
        ctx.set_output_value(0, self.value)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        out, v = outputs[0], self.value
        return lambda: np.copyto(out, v)
