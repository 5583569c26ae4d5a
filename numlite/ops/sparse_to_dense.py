"""SPARSE_TO_DENSE: a dense tensor of ``output_shape`` filled with ``default_value``, with
``values`` written at ``indices`` (versions 1-3, as LiteRT 2.3).

1. Inputs: ``indices`` (int32 or int64) of rank 0 (one index into a vector), 1 (a list of
   indices into a vector) or 2 (``[n, rank]`` coordinates); ``output_shape``: an int32 or int64
   vector (one entry for rank 0 / 1 indices); ``values``: a scalar (used for every index) or a
   vector of one value per index; ``default_value``: one value of the values' type.  Values:
   float32, int32, int64, int8 or uint8 (quantized ones are written as stored).
2. Output: ``output_shape``, the values' type.  Its shape is static when ``output_shape`` is known
   at prepare, dynamic otherwise.  Negative dimensions are an error.
3. Indices are written in order, so a repeated index keeps its last value (as TFLite's loop).
   ``validate_indices`` is read and ignored, as LiteRT 2.3 does (it does not require sorted or
   unique indices).
4. Limits where numlite differs from LiteRT 2.3: an index outside the output is an error naming
   the op and node (LiteRT writes out of bounds), at prepare for constant indices, else at invoke;
   a values vector whose length is not the number of indices is refused (LiteRT reads past it);
   outputs of rank above 4 are allowed (LiteRT refuses them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import DynamicOutput, Kernel, PrepareContext, Step, check_alloc
from .registry import register

INDICES, SHAPE, VALUES, DEFAULT = 0, 1, 2, 3
VALUE_DTYPES = (np.float32, np.int32, np.int64, np.int8, np.uint8)


def flat_positions(indices: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray] | str:
    """(flat output positions, which index wrote each last) for ``indices`` (``[n, k]``), or an error."""
    n = indices.shape[0]
    if n == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    dims = np.asarray(shape, np.int64)
    bad = np.flatnonzero(((indices < 0) | (indices >= dims)).any(axis=1))
    if bad.size:
        return f"index {indices[bad[0]].tolist()} is out of range for output shape {list(shape)}"
    flat = np.ravel_multi_index(tuple(indices.T.astype(np.intp)), shape) if shape else np.zeros(n, np.intp)
    # keep the last write to every position: unique over the reversed list gives first = last
    _, first_rev = np.unique(flat[::-1], return_index=True)
    keep = (n - 1 - first_rev).astype(np.intp)
    return flat[keep].astype(np.intp), keep


@register("SPARSE_TO_DENSE", versions=(1, 2, 3))
class SparseToDense(Kernel):
    options_table = "SparseToDenseOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(4)
        ix, sh, val, dflt = (ctx.input(i) for i in range(4))
        ctx.expect_dtype(ix, (np.int32, np.int64), "indices")
        ctx.expect_dtype(sh, (np.int32, np.int64), "output_shape")
        ctx.expect_dtype(val, VALUE_DTYPES, "values")
        if np.dtype(dflt.dtype) != np.dtype(val.dtype):
            ctx.fail(f"default_value {dflt.describe()} must have the values' type {np.dtype(val.dtype).name}")
        if dflt.size != 1:
            ctx.fail(f"default_value {dflt.describe()} must hold one value")
        if ix.rank > 2:
            ctx.fail(f"indices {ix.describe()} must have rank 0, 1 or 2")
        if sh.rank != 1:
            ctx.fail(f"output_shape {sh.describe()} must be a vector")
        if val.rank > 1:
            ctx.fail(f"values {val.describe()} must be a scalar or a vector")
        out = ctx.outputs[0]
        if np.dtype(out.dtype) != np.dtype(val.dtype):
            ctx.fail(f"output {out.describe()} must have the values' type {np.dtype(val.dtype).name}")
        self.n = 1 if ix.rank == 0 else ix.shape[0]
        self.k = ix.shape[1] if ix.rank == 2 else 1
        if self.k != sh.size:
            ctx.fail(f"indices {ix.describe()} give {self.k}-d coordinates; output_shape {sh.describe()} has "
                     f"{sh.size} entries")
        if val.rank == 1 and val.size != self.n:
            ctx.fail(f"values {val.describe()} must hold one value per index ({self.n}) or be a scalar")
        self.scalar = val.rank == 0
        self.dtype = np.dtype(val.dtype)
        self.where = f"{self.op_name} (node {self.node.index})"
        self.ix_name = ix.describe()
        self.shape: tuple[int, ...] | None = None
        self.plan: tuple[np.ndarray, np.ndarray] | None = None
        if sh.value is not None:
            shape = tuple(int(d) for d in np.asarray(sh.value).reshape(-1))
            if any(d < 0 for d in shape):
                ctx.fail(f"output_shape {list(shape)} has a negative dimension")
            self.shape = shape
            ctx.set_output(0, shape, self.dtype)
            if ix.value is not None:
                plan = flat_positions(np.asarray(ix.value).reshape(self.n, self.k), shape)
                if isinstance(plan, str):
                    ctx.fail(f"{plan} ({ix.describe()})")
                self.plan = plan
        else:
            ctx.set_output_dynamic(0, self.dtype)

    def _write(self, flat_out: np.ndarray, plan: tuple[np.ndarray, np.ndarray], values: np.ndarray,
               default: Any) -> None:
        flat_out.fill(default)
        pos, keep = plan
        if pos.size:
            flat_out[pos] = values if self.scalar else values.reshape(-1)[keep]

    def bind(self, inputs: list[np.ndarray | None], outputs: list, scratch: list[np.ndarray]) -> Step:
        ix, sh, values, dflt = inputs
        out = outputs[0]
        n, k, where, name = self.n, self.k, self.where, self.ix_name

        def positions(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
            plan = flat_positions(ix.reshape(n, k), shape)
            if isinstance(plan, str):
                raise RuntimeError(f"{where}: {plan} ({name})")
            return plan

        if not isinstance(out, DynamicOutput):
            flat_out, shape, fixed = out.reshape(-1), self.shape or (), self.plan
            if fixed is not None:
                return lambda: self._write(flat_out, fixed, values, dflt.reshape(-1)[0])
            return lambda: self._write(flat_out, positions(shape), values, dflt.reshape(-1)[0])

        def dynamic_step() -> None:
            shape = tuple(int(d) for d in sh.reshape(-1))
            if any(d < 0 for d in shape):
                raise RuntimeError(f"{where}: output_shape {list(shape)} has a negative dimension")
            check_alloc(where, shape, self.dtype)
            result = np.empty(shape, self.dtype)
            self._write(result.reshape(-1), positions(shape), values, dflt.reshape(-1)[0])
            out.set(result)

        return dynamic_step
