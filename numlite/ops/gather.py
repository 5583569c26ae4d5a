"""GATHER: ``output = take(params, indices, axis)`` with ``batch_dims``.

1. ``axis`` and ``batch_dims`` may be negative (counted from the params' / indices' rank);
   ``batch_dims <= axis`` and the first ``batch_dims`` dimensions of both inputs must agree.
2. Output shape: ``params.shape[:axis] + indices.shape[batch_dims:] + params.shape[axis+1:]``.
3. Indices must lie in ``[0, params.shape[axis])``.  Constant indices are checked at prepare
   (PrepareError); others at every invoke, where an out-of-range index raises RuntimeError
   naming the op and node instead of reading garbage (TFLite also fails the invoke).
4. The step is ``np.take(..., out=)`` (once, or once per flattened batch); the invoke-time
   range check is one ``max`` over the indices viewed as unsigned (a negative index becomes
   larger than any dimension).
"""

from __future__ import annotations

import functools

import numpy as np

from ._shape import STRING_DATA_DTYPES, reshaped
from .base import Kernel, PrepareContext, Step
from .registry import register

PARAMS, INDICES = 0, 1


@register("GATHER", versions=range(1, 9))
class Gather(Kernel):
    options_table = "GatherOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        p, ix = ctx.input(PARAMS), ctx.input(INDICES)
        ctx.expect_dtype(p, STRING_DATA_DTYPES)
        ctx.expect_dtype(ix, (np.int16, np.int32, np.int64), "indices")
        axis = int(self.options.get("axis") or 0)
        bd = int(self.options.get("batch_dims") or 0)
        if axis < 0:
            axis += p.rank
        if bd < 0:
            bd += ix.rank
        if not 0 <= axis < p.rank:
            ctx.fail(f"axis {self.options.get('axis')} is out of range for {p.describe()}")
        if not 0 <= bd <= min(axis, ix.rank):
            ctx.fail(f"batch_dims {self.options.get('batch_dims')} must be in [0, {min(axis, ix.rank)}]")
        if p.shape[:bd] != ix.shape[:bd]:
            ctx.fail(f"the first {bd} (batch) dimensions of {p.describe()} and {ix.describe()} differ")
        n = p.shape[axis]
        shape = p.shape[:axis] + ix.shape[bd:] + p.shape[axis + 1:]
        ctx.set_output(0, shape, p.dtype)
        self.n, self.axis, self.bd = n, axis, bd
        self.batch = int(np.prod(p.shape[:bd], dtype=np.int64))
        self.p_shape = (self.batch,) + p.shape[bd:]
        self.i_shape = (self.batch,) + ix.shape[bd:]
        self.o_shape = (self.batch,) + shape[bd:]
        self.check = ix.value is None
        if ix.value is not None and ix.value.size:
            bad = (ix.value < 0) | (ix.value >= n)
            if bad.any():
                ctx.fail(f"index {int(ix.value[bad][0])} is out of range [0, {n}) for axis {axis} of {p.describe()}")
        self.where = f"{self.op_name} (node {self.node.index})"

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        out = outputs[0]
        if out.size == 0:
            return lambda: None
        params, idx = inputs[PARAMS], inputs[INDICES]
        a = self.axis - self.bd
        if self.bd == 0:
            jobs = [(params, idx, out)]
            a = self.axis
        else:
            pv, iv, ov = reshaped(params, self.p_shape), reshaped(idx, self.i_shape), reshaped(out, self.o_shape)
            jobs = [(pv[b], iv[b], ov[b]) for b in range(self.batch)]
        take = np.take
        n, check, where = self.n, self.check, self.where
        if check and idx.size == 1 and len(jobs) == 1:  # one index (a loop's time step): a scalar check
            flat = idx.reshape(-1)
            (pp, ii, oo), = jobs

            def one() -> None:
                v = flat.item()
                if not 0 <= v < n:
                    raise RuntimeError(f"{where}: gather index {v} is out of range [0, {n})")
                take(pp, ii, axis=a, out=oo, mode="clip")

            return one

        # one reduction checks both ends: seen as unsigned, a negative index is beyond any n
        iu = idx.view(np.dtype(f"u{idx.dtype.itemsize}")) if check else idx
        top = np.maximum.reduce
        if len(jobs) == 1 and not check:
            (pp, ii, oo), = jobs
            return functools.partial(take, pp, ii, axis=a, out=oo, mode="clip")
        if len(jobs) == 1:
            (pp, ii, oo), = jobs

            def one_job() -> None:
                if top(iu, axis=None) >= n:
                    bad = idx[(idx < 0) | (idx >= n)].flat[0]
                    raise RuntimeError(f"{where}: gather index {int(bad)} is out of range [0, {n})")
                take(pp, ii, axis=a, out=oo, mode="clip")

            return one_job

        def step() -> None:
            if check and top(iu, axis=None) >= n:
                bad = idx[(idx < 0) | (idx >= n)].flat[0]
                raise RuntimeError(f"{where}: gather index {int(bad)} is out of range [0, {n})")
            for pp, ii, oo in jobs:
                take(pp, ii, axis=a, out=oo, mode="clip")

        return step
