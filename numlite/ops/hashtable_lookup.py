"""HASHTABLE_LOOKUP: look int32 keys up in a sorted key table; returns the rows and hit flags.

1. Inputs: int32 ``lookups [N]``, int32 ``keys [R]`` (sorted ascending, as TFLite requires: it
   binary-searches them) and ``values [R, ...]`` of any numeric type, or ``values [R]`` of strings.
   Outputs: ``[N, ...]`` of the values' type (the row of the matching key; zeros, or the empty
   string, for a missing key) and uint8 ``hits [N]`` (1 found, 0 missing).
2. Prepare checks the types and shapes as LiteRT does (a string table must be a vector) and
   refuses an empty key table (LiteRT fails the invoke).  Keys that are constant are kept as they
   are: the binary search needs no precomputation.
3. Step: ``np.searchsorted`` on the keys, a comparison for the hits, a row gather into the
   output, then the misses overwritten with zeros (numbers) or ``b""`` (strings).  A string output
   is an object array outside the arena (its shape ``[N]`` is known at prepare).
4. Limits: with duplicate keys LiteRT's ``bsearch`` may return any of the equal rows, numlite
   returns the first.  Unsorted keys give unspecified results in both.

Version 1, as LiteRT 2.3 registers it.
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step
from .registry import register

LOOKUP, KEYS, VALUES = 0, 1, 2
I32, U8, OBJ = np.dtype(np.int32), np.dtype(np.uint8), np.dtype(object)
VALUE_DTYPES = (np.float32, np.float16, np.float64, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
                np.int64, np.uint64, np.bool_, np.object_)


@register("HASHTABLE_LOOKUP", versions=(1,))
class HashtableLookup(Kernel):
    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(3)
        if len(ctx.outputs) != 2:
            ctx.fail(f"expects 2 outputs (values, hits), got {len(ctx.outputs)}")
        lk, keys, values = ctx.input(LOOKUP), ctx.input(KEYS), ctx.input(VALUES)
        ctx.expect_dtype(lk, (I32,), "lookups")
        ctx.expect_rank(lk, 1, "lookups")
        ctx.expect_dtype(keys, (I32,), "keys")
        ctx.expect_rank(keys, 1, "keys")
        ctx.expect_dtype(values, VALUE_DTYPES, "values")
        if values.rank < 1 or values.shape[0] != keys.shape[0]:
            ctx.fail(f"values {values.describe()} must have one row per key ({keys.shape[0]})")
        self.strings = np.dtype(values.dtype) == OBJ
        if self.strings:
            ctx.expect_rank(values, 1, "string values")
        if keys.shape[0] == 0:
            ctx.fail(f"keys {keys.describe()} are empty; LiteRT fails the invoke of an empty table")
        out, hits = ctx.outputs
        if out.dtype is not None and np.dtype(out.dtype) != np.dtype(values.dtype):
            ctx.fail(f"output {out.describe()} must have the values' type {np.dtype(values.dtype).name}")
        if hits.dtype is not None and np.dtype(hits.dtype) != U8:
            ctx.fail(f"hits output {hits.describe()} must be uint8")
        n, r = lk.shape[0], keys.shape[0]
        self.n, self.r, self.row = n, r, int(np.prod(values.shape[1:], dtype=np.int64))
        ctx.set_output(0, (n, *values.shape[1:]), values.dtype)
        ctx.set_output(1, (n,), U8)
        self.s_pos = ctx.scratch((n,), np.int64)
        self.s_hit = ctx.scratch((n,), np.bool_)
        self.s_miss = ctx.scratch((n,), np.bool_)

    def bind(self, inputs, outputs, scratch) -> Step:
        lk, keys, values = inputs[LOOKUP], inputs[KEYS], inputs[VALUES]
        out, hits = outputs
        pos, hit, miss = scratch[self.s_pos], scratch[self.s_hit], scratch[self.s_miss]
        r = self.r
        o2 = out.reshape(self.n, self.row)
        v2 = values.reshape(r, self.row)
        blank = b"" if self.strings else 0

        def step() -> None:
            np.copyto(pos, np.searchsorted(keys, lk))
            np.minimum(pos, r - 1, out=pos)
            np.equal(np.take(keys, pos), lk, out=hit)
            np.take(v2, pos, axis=0, out=o2)
            np.logical_not(hit, out=miss)
            o2[miss] = blank
            np.copyto(hits, hit, casting="unsafe")

        return step
