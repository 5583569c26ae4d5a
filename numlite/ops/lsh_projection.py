"""LSH_PROJECTION: project an input to bits with locality-sensitive hashing (TFLite's definition).

1. Inputs: float32 ``hash [H, B]`` (seeds; ``B <= 32``), ``input [N, ...]`` (rank >= 1 and
   ``N >= 1``, as LiteRT requires) of any numeric type or of strings, optional float32
   ``weight [N]``.  Output int32: SPARSE (``type`` 1) ``[H]``, DENSE (2) ``[H * B]``.
2. Rows: LiteRT hashes the input's raw buffer cut into N rows of ``bytes // N`` bytes.  For a
   numeric input that is each row's elements.  For a string input the buffer is TFLite's string
   buffer (``numlite.strings``: the int32 count, the int32 offsets, then the strings' bytes), so
   the rows are slices of that serialization, header included, and any ``bytes % N`` trailing
   bytes are ignored - not one string per row (measured on LiteRT 2.3, matched).
3. For each seed ``s = hash[h, b]`` and each row ``i``: the key is the 4 bytes of the float32
   seed followed by row ``i``; ``f = int64(Fingerprint64(key))`` (``_farmhash``, farmhash's NA
   hash) converted to double; ``score = sum_i w[i] * f`` in double, summed in row order as
   LiteRT does (``w = 1`` without weights; a float32 weight times the double); the bit is
   ``score > 0``.
4. DENSE writes every bit; SPARSE packs each seed row's B bits, first bit highest, and adds
   ``h * (1 << B)`` as LiteRT's x86 build computes it in int32: for ``B = 32`` the shift count is
   masked to 0, so the offset is ``h`` (measured), and the sum wraps.
5. Prepare: numeric inputs get a key table in scratch ``[H * B, N, 4 + row bytes]`` whose seed
   bytes each invoke refreshes; the invoke copies the rows in, hashes all keys in one vectorised
   call and accumulates the N rows.  String inputs have a row length known only from the values,
   so their key table is built at each invoke (the one allocation of this op).

Version 1, as LiteRT 2.3 registers it.
"""

from __future__ import annotations

import numpy as np

from ..strings import encode
from ._farmhash import fingerprint64
from .base import Kernel, PrepareContext, Step
from .registry import register

HASH, INPUT, WEIGHT = 0, 1, 2
SPARSE, DENSE = 1, 2
F32 = np.dtype(np.float32)
INPUT_DTYPES = (np.float32, np.float16, np.float64, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
                np.int64, np.uint64, np.bool_, np.object_)


@register("LSH_PROJECTION", versions=(1,))
class LshProjection(Kernel):
    options_table = "LSHProjectionOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2, 3)
        hs, x = ctx.input(HASH), ctx.input(INPUT)
        w = ctx.input(WEIGHT, optional=True)
        ctx.expect_dtype(hs, (F32,), "hash seeds")
        ctx.expect_rank(hs, 2, "hash seeds")
        if hs.shape[1] > 32:
            ctx.fail(f"hash seeds {hs.describe()} give {hs.shape[1]} bits per hash; at most 32 are supported")
        if x.rank < 1:
            ctx.fail(f"input {x.describe()} must have rank >= 1")
        if x.shape[0] < 1:
            ctx.fail(f"input {x.describe()} must have at least one row (LiteRT refuses an empty first dimension)")
        ctx.expect_dtype(x, INPUT_DTYPES)
        if w is not None:
            ctx.expect_dtype(w, (F32,), "weight")
            if w.shape != (x.shape[0],):
                ctx.fail(f"weight {w.describe()} must have shape [{x.shape[0]}]")
        self.kind = int(self.options.get("type") or 0)
        h, b = hs.shape
        if self.kind == SPARSE:
            ctx.set_output(0, (h,), np.int32)
        elif self.kind == DENSE:
            ctx.set_output(0, (h * b,), np.int32)
        else:
            ctx.fail(f"projection type {self.kind} is not SPARSE (1) or DENSE (2)")
        n = x.shape[0]
        self.strings = np.dtype(x.dtype) == np.dtype(object)
        item = 0 if self.strings else (x.size // n) * np.dtype(x.dtype).itemsize
        self.h, self.b, self.n, self.item = h, b, n, item
        self.has_weight = w is not None
        if not self.strings:
            self.s_keys = ctx.scratch((h * b, n, 4 + item), np.uint8)
        self.s_score = ctx.scratch((h * b,), np.float64)
        self.s_tmp = ctx.scratch((h * b,), np.float64)

    def bind(self, inputs, outputs, scratch) -> Step:
        hs, x, out = inputs[HASH], inputs[INPUT], outputs[0]
        wv = inputs[WEIGHT] if self.has_weight else None
        score, tmp = scratch[self.s_score], scratch[self.s_tmp]
        s, n, item = self.h * self.b, self.n, self.item
        hs_bytes = hs.reshape(s, 1).view(np.uint8).reshape(s, 1, 4)
        h, b, kind = self.h, self.b, self.kind
        shifts = (np.int64(1) << np.arange(b - 1, -1, -1, dtype=np.int64))
        # C's ``i * (1 << num_bits)``: x86 masks the shift count, so 32 bits give an offset of i
        offsets = np.arange(h, dtype=np.int64) << np.int64(b & 31)

        if self.strings:
            flat = x.reshape(-1)

            def keys_now() -> np.ndarray:
                buf = encode(flat)
                size = len(buf) // n
                keys = np.empty((s, n, 4 + size), np.uint8)
                keys[:, :, :4] = hs_bytes
                keys[:, :, 4:] = np.frombuffer(buf, np.uint8, n * size).reshape(1, n, size)
                return keys
        else:
            table = scratch[self.s_keys]
            seeds, rows = table[:, :, :4], table[:, :, 4:]
            x_bytes = x.reshape(-1).view(np.uint8).reshape(1, n, item)

            def keys_now() -> np.ndarray:
                np.copyto(seeds, hs_bytes)
                np.copyto(rows, x_bytes)
                return table

        def step() -> None:
            score.fill(0.0)
            keys = keys_now()
            fp = fingerprint64(keys.reshape(s * n, keys.shape[2])).view(np.int64).reshape(s, n)
            for i in range(n):
                np.copyto(tmp, fp[:, i], casting="unsafe")  # int64 -> double
                if wv is not None:
                    np.multiply(tmp, np.float64(wv[i]), out=tmp)
                np.add(score, tmp, out=score)
            bits = (score > 0).astype(np.int64)
            if kind == DENSE:
                np.copyto(out, bits, casting="unsafe")
            else:
                sig = (bits.reshape(h, b) * shifts).sum(axis=1) + offsets
                sig = ((sig + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)
                np.copyto(out, sig, casting="unsafe")

        return step
