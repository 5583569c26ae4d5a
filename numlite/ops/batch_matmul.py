"""BATCH_MATMUL: ``out[..., i, j] = sum_k x'[..., i, k] * y'[..., k, j]`` over float32.

1. ``x' = x`` or its last two axes swapped (``adj_x``), likewise ``y'`` (``adj_y``); ranks 2 to 5.
2. Batch dimensions broadcast as TFLite allows (equal, or one of them 1; missing leading
   dimensions count as 1).  The output is ``[broadcast batch..., rows of x', cols of y']``.
3. Eval is ``np.matmul`` on the (transposed) views straight into the output, which NumPy
   hands to BLAS per batch with the transpose flags (measured as fast as pre-transposed
   copies, so constant operands are not copied).  When ``y`` has no real batch dimensions and ``x`` is not
   adjointed, the batches of ``x`` are folded into the rows: a single GEMM.

Limits: float32 only (quantized and hybrid forms come later).
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step
from .registry import register

LHS, RHS = 0, 1


@register("BATCH_MATMUL", versions=range(1, 5))
class BatchMatMul(Kernel):
    options_table = "BatchMatMulOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        a, b = ctx.input(LHS), ctx.input(RHS)
        f32 = np.dtype(np.float32)
        for spec, role in ((a, "lhs"), (b, "rhs")):
            if np.dtype(spec.dtype) != f32:
                ctx.fail(f"{role} {spec.describe()} has type {np.dtype(spec.dtype).name}; numlite supports float32 "
                         "only (quantized and hybrid batch matmul are not implemented yet)")
            if not 2 <= spec.rank <= 5:
                ctx.fail(f"{role} {spec.describe()} must have rank 2 to 5")
        if np.dtype(ctx.outputs[0].dtype) != f32:
            ctx.fail(f"output {ctx.outputs[0].describe()} must be float32")
        self.adj_x = bool(self.options.get("adj_x"))
        self.adj_y = bool(self.options.get("adj_y"))
        rank = max(a.rank, b.rank)
        sa = (1,) * (rank - a.rank) + a.shape
        sb = (1,) * (rank - b.rank) + b.shape
        batch = []
        for da, db in zip(sa[:-2], sb[:-2]):
            if da != db and da != 1 and db != 1:
                ctx.fail(f"batch dimensions of {a.describe()} and {b.describe()} do not broadcast")
            batch.append(db if da == 1 else da)
        rows, ka = (sa[-1], sa[-2]) if self.adj_x else (sa[-2], sa[-1])
        kb, cols = (sb[-1], sb[-2]) if self.adj_y else (sb[-2], sb[-1])
        if ka != kb:
            ctx.fail(f"inner dimensions differ: {ka} (lhs {a.describe()}, adj_x={self.adj_x}) vs {kb} "
                     f"(rhs {b.describe()}, adj_y={self.adj_y})")
        ctx.set_output(0, (*batch, rows, cols), f32)
        self.out_shape = (*batch, rows, cols)
        self.k = ka
        # one GEMM when y is a plain matrix and x's rows can absorb its batches
        self.fold = not self.adj_x and all(d == 1 for d in sb[:-2]) and rank > 2

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        out = outputs[0]
        if out.size == 0:
            return lambda: None
        if self.k == 0:
            return lambda: out.fill(0.0)
        x = inputs[LHS]
        y = np.swapaxes(inputs[RHS], -1, -2) if self.adj_y else inputs[RHS]
        mm = np.matmul
        if self.fold:
            cols = self.out_shape[-1]
            x2 = x.reshape(-1, self.k)
            y2 = y[(0,) * (y.ndim - 2)]  # a view even when y is a transposed view
            if x2.shape[0] * cols == out.size:  # x's batches are the output's
                o2 = out.reshape(-1, cols)
                return lambda: mm(x2, y2, out=o2)
        if self.adj_x:
            x = np.swapaxes(x, -1, -2)
        return lambda: mm(x, y, out=out)
