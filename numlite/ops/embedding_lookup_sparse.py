"""EMBEDDING_LOOKUP_SPARSE: combine looked-up embedding rows per row of a sparse id tensor.

1. Inputs: int32 ``ids [N]``, int32 ``indices [N, L]`` (each id's position in the dense
   ``[d0, ..., d(L-1)]`` id tensor), int32 ``dense_shape [L]`` (must be constant: it sets the
   output shape), float32 ``weights [N]`` and float32 ``params [R, e1, ...]``.  Output float32
   ``[d0, ..., d(L-2), e1, ...]``: the last sparse dimension is combined away.
2. As LiteRT computes it, in float32 and in order: the output starts at zero; for each id ``i``
   its bucket is the row-major position of ``indices[i, :L-1]``; consecutive ids with the same
   bucket form a run; each id adds ``params[ids[i]] * w[i]`` to its bucket (each product rounded,
   then added) and the run's ``sum w`` and ``sum w * w`` accumulate in float32.  When the
   bucket changes, the finished run is divided by its ``sum w`` (MEAN) or ``sqrt(sum w * w)``
   (SQRTN); SUM divides by nothing.  Ids should be sorted by bucket (TFLite's convention); a
   bucket that recurs after another one is combined again, as LiteRT does.
3. Ids and bucket indices are checked at every invoke: one out of range raises RuntimeError
   naming the op and node (LiteRT fails the invoke too).
4. The step loops over the N ids in Python (one vector operation per id over the embedding
   size), which is what the sequential float32 semantics require.

Version 1, as LiteRT 2.3 registers it.  Options: ``EmbeddingLookupSparseOptions.combiner``
(SUM 0, MEAN 1, SQRTN 2).
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step
from .registry import register

IDS, INDICES, DENSE_SHAPE, WEIGHTS, PARAMS = range(5)
SUM, MEAN, SQRTN = 0, 1, 2
F32, I32 = np.dtype(np.float32), np.dtype(np.int32)


@register("EMBEDDING_LOOKUP_SPARSE", versions=(1,))
class EmbeddingLookupSparse(Kernel):
    options_table = "EmbeddingLookupSparseOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(5)
        ids, ind, ds, w, p = (ctx.input(i) for i in range(5))
        for spec, role, rank in ((ids, "ids", 1), (ind, "indices", 2), (ds, "dense shape", 1)):
            ctx.expect_dtype(spec, (I32,), role)
            ctx.expect_rank(spec, rank, role)
        ctx.expect_dtype(w, (F32,), "weights")
        ctx.expect_rank(w, 1, "weights")
        ctx.expect_dtype(p, (F32,), "params")
        if p.rank < 2:
            ctx.fail(f"params {p.describe()} must have rank >= 2")
        n = ids.shape[0]
        if ind.shape[0] != n or w.shape[0] != n:
            ctx.fail(f"indices {ind.describe()} and weights {w.describe()} need one row per id ({n})")
        lrank = ind.shape[1]
        dense = np.asarray(ctx.constant(DENSE_SHAPE, "dense shape"), np.int64).reshape(-1)
        if dense.size != lrank:
            ctx.fail(f"dense shape {ds.describe()} must have {lrank} entries (the indices' second dimension)")
        if lrank < 1 or np.any(dense < 0):
            ctx.fail(f"dense shape {dense.tolist()} must be non-negative with at least one dimension")
        self.combiner = int(self.options.get("combiner") or 0)
        if self.combiner not in (SUM, MEAN, SQRTN):
            ctx.fail(f"unknown combiner {self.combiner}")
        lead = tuple(int(d) for d in dense[:-1])
        self.dims = dense[:-1]
        self.strides = np.array([int(np.prod(lead[k + 1:], dtype=np.int64)) for k in range(len(lead))], np.int64)
        self.buckets = int(np.prod(lead, dtype=np.int64))
        self.emb = int(np.prod(p.shape[1:], dtype=np.int64))
        self.rows, self.n = p.shape[0], n
        ctx.set_output(0, (*lead, *p.shape[1:]), F32)
        self.where = f"{self.op_name} (node {self.node.index})"

    def bind(self, inputs, outputs, scratch) -> Step:
        ids, ind, w, p, out = inputs[IDS], inputs[INDICES], inputs[WEIGHTS], inputs[PARAMS], outputs[0]
        o2 = out.reshape(self.buckets, self.emb)
        p2 = p.reshape(self.rows, self.emb)
        dims, strides, rows, n, comb, where = self.dims, self.strides, self.rows, self.n, self.combiner, self.where
        lead = dims.size
        f32 = np.float32
        prod = np.empty(self.emb, np.float32)

        def finish(bucket: int, count: int, total, squares) -> None:
            if comb == SUM or count == 0:
                return
            div = total if comb == MEAN else np.sqrt(squares, dtype=np.float32)
            np.divide(o2[bucket], div, out=o2[bucket])

        def step() -> None:
            out.fill(0)
            if n == 0:
                return
            if ids.min() < 0 or ids.max() >= rows:
                bad = ids[(ids < 0) | (ids >= rows)][0]
                raise RuntimeError(f"{where}: id {int(bad)} is out of range [0, {rows})")
            pos = ind[:, :lead].astype(np.int64)
            if lead:
                bad = (pos < 0) | (pos >= dims)
                if bad.any():
                    i, k = np.argwhere(bad)[0]
                    raise RuntimeError(f"{where}: index {int(pos[i, k])} at dimension {int(k)} is out of range "
                                       f"[0, {int(dims[k])})")
            bucket = pos @ strides if lead else np.zeros(n, np.int64)
            cur, count, total, squares = 0, 0, f32(0), f32(0)
            for i in range(n):
                bk = int(bucket[i])
                if bk != cur:
                    finish(cur, count, total, squares)
                    cur, count, total, squares = bk, 0, f32(0), f32(0)
                wi = w[i]
                count += 1
                squares = f32(squares + f32(wi * wi))
                total = f32(total + wi)
                np.multiply(p2[ids[i]], wi, out=prod)
                np.add(o2[bk], prod, out=o2[bk])
            finish(cur, count, total, squares)

        return step
