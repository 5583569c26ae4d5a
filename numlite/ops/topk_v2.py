"""TOPK_V2: the ``k`` largest values of each row (last dimension) and their indices, matching
LiteRT 2.3.

1. Input: float32, int8, uint8, int16, int32 or int64 (quantized tensors compare stored values;
   the values output takes the input's dtype), rank at least 1.  ``k``: int32 or int16, one
   element.  Indices output: int32 or int16 (a row longer than 32767 with int16 indices is an
   error, as in LiteRT).  Versions 1-3.
2. ``k`` decides the output shapes, so numlite needs it at prepare (a constant or a value
   folded from constants and shapes; LiteRT accepts a runtime ``k`` by making its outputs
   dynamic).  ``k`` above the row length is an error; ``k <= 0`` gives a last dimension of 0.
3. Order: values descending; equal values by ascending index; NaN after every number (as
   LiteRT's comparator), NaNs among themselves by index.  That is a stable ascending sort of
   ``-x`` (float: NaN sorts last) or ``~x`` (integers: order-reversing without overflow).
4. The step negates into a scratch of the input's shape, runs a stable ``argsort`` along the
   last axis (NumPy allocates its index result and the gathered values), and copies the first ``k`` indices and the
   values at them into the planned outputs.
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step
from .registry import register

INPUT, K = 0, 1
VALUES, INDICES = 0, 1
TOPK_DTYPES = (np.float32, np.int8, np.uint8, np.int16, np.int32, np.int64)


@register("TOPK_V2", versions=range(1, 4))
class TopKV2(Kernel):
    options_table = "TopKV2Options"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        if len(ctx.outputs) != 2:
            ctx.fail(f"expects 2 outputs (values, indices), got {len(ctx.outputs)}")
        x, k_spec = ctx.input(INPUT), ctx.input(K)
        ctx.expect_dtype(x, TOPK_DTYPES)
        ctx.expect_dtype(k_spec, (np.int32, np.int16), "k")
        if k_spec.size != 1:
            ctx.fail(f"k {k_spec.describe()} must hold exactly one value")
        if x.rank < 1:
            ctx.fail(f"input {x.describe()} must have rank 1 or more")
        idx_out = ctx.outputs[INDICES]
        idx_dtype = np.dtype(idx_out.dtype) if idx_out.dtype is not None else np.dtype(np.int32)
        if idx_dtype not in (np.dtype(np.int32), np.dtype(np.int16)):
            ctx.fail(f"indices output {idx_out.describe()} must be int32 or int16")
        k = int(np.asarray(ctx.constant(K, "k")).reshape(-1)[0])
        n = x.shape[-1]
        if k > n:
            ctx.fail(f"k = {k} is larger than the last dimension of {x.describe()}")
        k = max(k, 0)
        rows = int(np.prod(x.shape[:-1], dtype=np.int64))
        if k > 0 and rows > 0 and n > np.iinfo(idx_dtype).max:
            ctx.fail(f"rows of {n} elements do not fit the {idx_dtype.name} indices output")
        shape = x.shape[:-1] + (k,)
        ctx.set_output(VALUES, shape, x.dtype)
        ctx.set_output(INDICES, shape, idx_dtype)
        self.k = k
        self.float = np.dtype(x.dtype).kind == "f"
        self.key_slot = ctx.scratch(x.shape, x.dtype) if k > 0 and x.size else None

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        if self.key_slot is None:
            return lambda: None
        x, vals, idx = inputs[INPUT], outputs[VALUES], outputs[INDICES]
        key, k = scratch[self.key_slot], self.k
        reverse = np.negative if self.float else np.invert

        def step() -> None:
            reverse(x, out=key)
            order = np.argsort(key, axis=-1, kind="stable")[..., :k]
            np.copyto(idx, order, casting="unsafe")
            np.copyto(vals, np.take_along_axis(x, order, axis=-1))

        return step
