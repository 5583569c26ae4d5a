"""SOFTMAX: ``exp(beta * (x - max)) / sum`` along the last axis, float32, any rank >= 1.

1. Prepare views the input as rows (all leading dims flattened) and asks for a (rows, 1)
   scratch column that holds first the row maxima, then the row sums.
2. Eval, all in place in the output: subtract the row max (numerical stability, as TFLite
   does), scale by beta (skipped when beta == 1), exp, sum the row, divide.

Limits: float32 only (the quantized forms come later).
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step
from .registry import register

INPUT = 0


@register("SOFTMAX", versions=range(1, 5))
class Softmax(Kernel):
    options_table = "SoftmaxOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        x = ctx.input(INPUT)
        if np.dtype(x.dtype) != np.float32:
            ctx.fail(f"input {x.describe()} has type {np.dtype(x.dtype).name}; numlite supports float32 "
                     "softmax only (quantized softmax is not implemented yet)")
        if x.rank < 1:
            ctx.fail(f"input {x.describe()} must have rank >= 1")
        if np.dtype(ctx.outputs[0].dtype) != np.float32:
            ctx.fail(f"output {ctx.outputs[0].describe()} must have the input's type float32")
        ctx.set_output(0, x.shape, np.float32)
        self.beta = np.float32(self.options.get("beta") or 0.0)
        self.cols = x.shape[-1]
        self.rows = x.size // self.cols if self.cols else 0
        self.empty = x.size == 0
        if not self.empty:
            self.col_slot = ctx.scratch((self.rows, 1), np.float32)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        if self.empty:
            return lambda: None
        x = inputs[INPUT].reshape(self.rows, self.cols)
        o = outputs[0].reshape(self.rows, self.cols)
        col = scratch[self.col_slot]
        beta = self.beta
        scale = beta != 1.0

        def step() -> None:
            np.maximum.reduce(x, axis=1, keepdims=True, out=col)
            np.subtract(x, col, out=o)
            if scale:
                np.multiply(o, beta, out=o)
            np.exp(o, out=o)
            np.add.reduce(o, axis=1, keepdims=True, out=col)
            np.divide(o, col, out=o)

        return step
