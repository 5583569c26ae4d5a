"""MATRIX_SET_DIAG: ``output = input`` with the main diagonal of every matrix (the last two
dimensions) replaced by ``diagonal`` (version 1, as LiteRT 2.3).

1. Input: rank >= 2, any fixed-size type (bool, int8/16/32/64, uint8/16/32, float16/32/64); the
   diagonal has the input's type.  LiteRT 2.3 is right for the 1-, 4- and 8-byte integer types,
   int16 and float32 and wrong for float16, uint16, float64 and bool (it copies them through a
   float32 pointer): numlite gives the defined result for every type.  Quantized tensors are
   moved as stored.
2. For ``[..., r, c]`` matrices the diagonal holds ``min(r, c)`` values per matrix, read in
   row-major order: it must have ``prod(batch) * min(r, c)`` elements (TensorFlow's shape
   ``[..., min(r, c)]``, or any shape of that size: LiteRT reads it flat and unchecked).
3. The step copies the input, then the diagonal into a strided view (every ``c + 1``-th element
   of each flattened matrix, the first ``min(r, c)`` of them), made at bind.
"""

from __future__ import annotations

import numpy as np

from ._space_batch import SPACE_BATCH_DTYPES
from .base import Kernel, PrepareContext, Step
from .registry import register

INPUT, DIAGONAL = 0, 1


@register("MATRIX_SET_DIAG", versions=(1,))
class MatrixSetDiag(Kernel):
    options_table = "MatrixSetDiagOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        x, d = ctx.input(INPUT), ctx.input(DIAGONAL)
        ctx.expect_dtype(x, SPACE_BATCH_DTYPES)
        if np.dtype(d.dtype) != np.dtype(x.dtype):
            ctx.fail(f"diagonal {d.describe()} must have the input's type {np.dtype(x.dtype).name}")
        if x.rank < 2:
            ctx.fail(f"input {x.describe()} must have rank >= 2")
        out = ctx.outputs[0]
        if np.dtype(out.dtype) != np.dtype(x.dtype):
            ctx.fail(f"output {out.describe()} must have the input's type {np.dtype(x.dtype).name}")
        r, c = x.shape[-2:]
        self.batch = int(np.prod(x.shape[:-2], dtype=np.int64))
        self.r, self.c, self.m = r, c, min(r, c)
        if d.size != self.batch * self.m:
            ctx.fail(f"diagonal {d.describe()} must have {self.batch * self.m} elements (shape "
                     f"{list(x.shape[:-2]) + [self.m]}) for input {x.describe()}")
        ctx.set_output(0, x.shape, x.dtype)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        x, d = inputs
        out = outputs[0]
        if out.size == 0:
            return lambda: None
        b, r, c, m = self.batch, self.r, self.c, self.m
        copyto = np.copyto
        if m == 0:
            return lambda: copyto(out, x)
        diag = out.reshape(b, r * c)[:, :: c + 1][:, :m]
        src = d.reshape(b, m)

        def step() -> None:
            copyto(out, x)
            copyto(diag, src)

        return step
