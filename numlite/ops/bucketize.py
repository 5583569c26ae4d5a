"""BUCKETIZE: for every element, the number of ``boundaries`` less than or equal to it, as int32
(``std::upper_bound``; version 1, as LiteRT 2.3).

1. Input: float32, float64, int32 or int64; output: int32 of the input's shape.
2. ``boundaries`` (option, float32 list) must be given and sorted ascending (LiteRT refuses a
   model without them and unsorted ones at prepare); an empty list puts everything in bucket 0.
3. Comparisons are C++'s: an int32 / int64 / float32 element is compared with a float32
   boundary in float32 (integers are rounded to float32 first), a float64 element in float64.
   NaN is in the last bucket (no boundary is above it), as ``upper_bound`` finds.
4. The step is ``np.searchsorted(boundaries, x, side="right")``; integer inputs are converted
   to float32 in a scratch buffer first.
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step
from .registry import register

BUCKETIZE_DTYPES = (np.float32, np.float64, np.int32, np.int64)


@register("BUCKETIZE", versions=(1,))
class Bucketize(Kernel):
    options_table = "BucketizeOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        x = ctx.input(0)
        ctx.expect_dtype(x, BUCKETIZE_DTYPES)
        out = ctx.outputs[0]
        if np.dtype(out.dtype) != np.int32:
            ctx.fail(f"output {out.describe()} must be int32")
        raw = self.options.get("boundaries")
        if raw is None:
            ctx.fail("the boundaries option is missing")
        b = np.asarray(raw, np.float32).reshape(-1)
        if b.size > 1 and not (b[1:] >= b[:-1]).all():
            ctx.fail(f"boundaries must be sorted ascending: {b.tolist()[:16]}")
        self.to_float = np.dtype(x.dtype).kind == "i"
        self.boundaries = b.astype(np.float64) if np.dtype(x.dtype) == np.float64 else b
        self.tmp = ctx.scratch(x.shape, np.float32) if self.to_float else None
        ctx.set_output(0, x.shape, np.int32)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        x, out = inputs[0], outputs[0]
        b, search, copyto = self.boundaries, np.searchsorted, np.copyto
        if self.to_float:
            tmp = scratch[self.tmp]

            def step() -> None:
                copyto(tmp, x, casting="unsafe")
                copyto(out, search(b, tmp, side="right"), casting="unsafe")

            return step
        return lambda: copyto(out, search(b, x, side="right"), casting="unsafe")
