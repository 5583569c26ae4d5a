"""MATRIX_DIAG: a batch of square matrices with the input's last dimension on their diagonal
and 0 elsewhere: ``[..., n] -> [..., n, n]`` (version 1, as LiteRT 2.3).

1. Input: rank >= 1, any fixed-size type (bool, int8/16/32/64, uint8/16/32, float16/32/64).
   LiteRT 2.3 is right for the 1-, 4- and 8-byte integer types, int16 and float32; for float16,
   uint16 and float64 it writes through a float32 pointer (wrong values) and for bool it
   corrupts memory: numlite gives the defined result for every type.
2. Quantized tensors are moved as stored and the off-diagonal places hold the stored value 0
   (not the zero point), as LiteRT writes them.
3. The step fills the output with 0 and copies the input into a strided view of the diagonals
   (every ``n + 1``-th element of each flattened matrix), both made at bind.
"""

from __future__ import annotations

import numpy as np

from ._space_batch import SPACE_BATCH_DTYPES
from .base import Kernel, PrepareContext, Step
from .registry import register


@register("MATRIX_DIAG", versions=(1,))
class MatrixDiag(Kernel):
    options_table = "MatrixDiagOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        x = ctx.input(0)
        ctx.expect_dtype(x, SPACE_BATCH_DTYPES)
        if x.rank < 1:
            ctx.fail(f"input {x.describe()} must have rank >= 1")
        out = ctx.outputs[0]
        if np.dtype(out.dtype) != np.dtype(x.dtype):
            ctx.fail(f"output {out.describe()} must have the input's type {np.dtype(x.dtype).name}")
        n = x.shape[-1]
        ctx.set_output(0, (*x.shape, n), x.dtype)
        self.batch, self.n = int(np.prod(x.shape[:-1], dtype=np.int64)), n

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        x, out = inputs[0], outputs[0]
        if out.size == 0:
            return lambda: None
        b, n = self.batch, self.n
        diag = out.reshape(b, n * n)[:, :: n + 1]
        src = x.reshape(b, n)
        zero, copyto = out.dtype.type(0), np.copyto

        def step() -> None:
            out.fill(zero)
            copyto(diag, src)

        return step
