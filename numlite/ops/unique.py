"""UNIQUE: the distinct values of a vector in order of first appearance, and for every element
the position of its value in that list (version 1, as LiteRT 2.3).

1. Input: a vector of int8, uint8, int16, int32, int64 or float32 (LiteRT 2.3's types; quantized
   values are compared as stored).  Output 0 (values) has the input's type and a length known
   only at invoke, so it is dynamic (a constant input is evaluated at prepare); output 1 (idx)
   has the input's shape and the type of the option ``idx_out_type`` (INT32, the default, or
   INT64), which the idx tensor must have.
2. Floats compare by value: ``-0.0`` and ``0.0`` are one value, and the one seen first is the
   one kept (as LiteRT's ``std::map``).  NaNs count as one value: LiteRT's map is undefined with
   NaN (it merges a NaN with whatever it meets), so its results there are not reproduced.
3. An empty input gives two empty outputs (LiteRT 2.3 fails to resize to 0 there).
4. The step is ``np.unique`` (sorted, stable, with first indices and the inverse), reordered by
   first appearance.
"""

from __future__ import annotations

import numpy as np

from .base import DynamicOutput, Kernel, PrepareContext, Step
from .registry import register

UNIQUE_DTYPES = (np.int8, np.uint8, np.int16, np.int32, np.int64, np.float32)
IDX_TYPES = {2: np.int32, 4: np.int64}  # TensorType INT32, INT64


def unique_first(x: np.ndarray, idx_dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """(values in order of first appearance, index of each element's value)."""
    if x.size == 0:
        return x[:0].copy(), np.zeros(0, idx_dtype)
    _, first, inverse = np.unique(x, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(order.size, np.int64)
    rank[order] = np.arange(order.size)
    return x[first[order]], rank[inverse.reshape(-1)].astype(idx_dtype)


@register("UNIQUE", versions=(1,))
class Unique(Kernel):
    options_table = "UniqueOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        if len(ctx.outputs) != 2:
            ctx.fail(f"expects 2 outputs, got {len(ctx.outputs)}")
        x = ctx.input(0)
        ctx.expect_dtype(x, UNIQUE_DTYPES)
        ctx.expect_rank(x, 1)
        code = int(self.options.get("idx_out_type") or 2)
        if code not in IDX_TYPES:
            ctx.fail(f"idx_out_type {code} is not INT32 or INT64")
        self.idx_dtype = np.dtype(IDX_TYPES[code])
        values, idx = ctx.outputs
        if np.dtype(values.dtype) != np.dtype(x.dtype):
            ctx.fail(f"output 0 {values.describe()} must have the input's type {np.dtype(x.dtype).name}")
        if np.dtype(idx.dtype) != self.idx_dtype:
            ctx.fail(f"output 1 {idx.describe()} must have type {self.idx_dtype.name} (option idx_out_type)")
        if x.value is not None:
            v, i = unique_first(np.asarray(x.value), self.idx_dtype)
            ctx.set_output_value(0, v)
            ctx.set_output_value(1, i)
            return
        ctx.set_output_dynamic(0, x.dtype)
        ctx.set_output(1, x.shape, self.idx_dtype)

    def bind(self, inputs: list[np.ndarray | None], outputs: list, scratch: list[np.ndarray]) -> Step:
        x = inputs[0]
        values, idx = outputs
        assert isinstance(values, DynamicOutput)
        dt, copyto = self.idx_dtype, np.copyto

        def step() -> None:
            v, i = unique_first(x, dt)
            copyto(idx, i)
            values.set(v)

        return step
