"""MULTINOMIAL: ``num_samples`` category indices per row of ``logits``, drawn with probabilities
``softmax(logits)`` (version 1, as LiteRT 2.3's ``random_ops.cc``; the Philox stream and seeds
are ``_random``'s).

1. Inputs: float32 ``logits`` ``[batch, classes]`` with ``classes > 0``, and an int32 scalar
   ``num_samples >= 0``.  Output: int64 or int32 (the type the model declares)
   ``[batch, num_samples]``.  Other types, ranks and values are refused (LiteRT refuses them in
   Prepare or Eval; numlite at prepare, or in the step for values known only at invoke).
2. Per row, in float64: ``m`` = the largest finite logit; ``cdf[i]`` = the running sum of
   ``exp(logit - m)`` over the *finite* logits (inf and nan count as probability 0, as TFLite).
3. Sample ``k`` of the invoke (row-major over ``batch x num_samples``) uses words ``2k`` and
   ``2k + 1`` of the invoke's Philox blocks (each block serves two samples): the double
   ``u = ((w0 & 0xFFFFF) << 32 | w1) * 2**-52`` in ``[0, 1)``; the index is the number of ``cdf``
   entries ``<= u * cdf[-1]`` (``std::upper_bound`` = ``searchsorted(side='right')``).  A row
   without a finite logit therefore gives ``classes`` (out of range), exactly as LiteRT.
4. The samples are drawn from a copy of the stream; the stream itself then skips
   ``batch * round_up(num_samples, 4) * 512`` blocks (TensorFlow's fixed skip, TFLite's
   ``PhiloxRandom::Skip``), where the next invoke starts.
5. Bit-identical to LiteRT for the same seeds (the sums and ``exp`` are double precision; a
   one-ulp difference of ``exp`` could move a sample only if ``u`` fell within ~1e-16 of a
   boundary).  ``seed = seed2 = 0``: nondeterministic, as in LiteRT.
6. A ``num_samples`` known at prepare fixes the output shape; one known only at invoke makes the
   output dynamic.  A sample count whose buffers would exceed memory is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._random import M64, PHILOX_WORDS, BlockWorkspace, SeededRandomKernel, philox_skip, size_error
from .base import PrepareContext, Step, check_alloc
from .registry import register

LOGITS, NUM_SAMPLES = 0, 1
OUT_DTYPES = (np.int64, np.int32)
BYTES_PER_SAMPLE = 64  # the output, the uniforms and the Philox workspace, generously
MANTISSA = 0xFFFFF


@register("MULTINOMIAL", versions=(1,))
class Multinomial(SeededRandomKernel):
    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        logits, ns = ctx.input(LOGITS), ctx.input(NUM_SAMPLES)
        ctx.expect_dtype(logits, (np.float32,), "logits")
        ctx.expect_dtype(ns, (np.int32,), "num_samples")
        if logits.rank != 2:
            ctx.fail(f"logits {logits.describe()} must have rank 2 [batch, classes]")
        if logits.shape[1] == 0:
            ctx.fail(f"logits {logits.describe()} must have at least one class")
        if ns.rank != 0:
            ctx.fail(f"num_samples {ns.describe()} must be a scalar")
        out = ctx.outputs[0]
        dtype = np.int64 if out.dtype is None else out.dtype
        if out.dtype is not None:
            ctx.expect_dtype(out, OUT_DTYPES, "output")
        self.start_stream()
        self.batch = logits.shape[0]
        self.ns_name = ns.describe()
        if ns.value is None:
            ctx.set_output_dynamic(0, dtype)
            self.num = None
            return
        num = int(np.asarray(ns.value).reshape(()))
        err = self.count_error(num)
        if err:
            ctx.fail(f"{err} (num_samples {ns.describe()})")
        self.num = num
        ctx.set_output(0, (self.batch, num), dtype)

    def count_error(self, num: int) -> str | None:
        if num < 0:
            return f"num_samples is {num}; it must be 0 or more"
        return size_error(self.batch * num * BYTES_PER_SAMPLE)

    def workspace(self, num: int) -> BlockWorkspace:
        total = self.batch * num
        return BlockWorkspace(-(-total // 2), PHILOX_WORDS)

    def draw(self, ws: BlockWorkspace, logits: np.ndarray, num: int, out: np.ndarray) -> None:
        """Fill ``out`` ``[batch, num]`` with samples (point 3) and move the stream (point 4)."""
        start = self.counter
        self.counter = philox_skip(start, (self.batch * ((num + 3) // 4 * 4) * 512) & M64)
        if out.size == 0:
            return
        words = ws.philox(self.key, start)
        total = self.batch * num
        hi = np.bitwise_and(words[0::2][:total], np.uint32(MANTISSA)).astype(np.uint64)
        mant = np.bitwise_or(np.left_shift(hi, np.uint64(32)), words[1::2][:total])
        u = mant.astype(np.float64).reshape(self.batch, num)
        u *= 2.0 ** -52
        with np.errstate(all="ignore"):
            x = logits.astype(np.float64)
            finite = np.isfinite(x)
            top = np.where(finite, x, -np.inf).max(axis=1, keepdims=True)
            top[np.isneginf(top)] = float(np.finfo(np.float32).min)
            cdf = np.cumsum(np.where(finite, np.exp(x - top), 0.0), axis=1)
        u *= cdf[:, -1:]
        for b in range(self.batch):
            out[b] = np.searchsorted(cdf[b], u[b], side="right")

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        logits, out, draw = inputs[LOGITS], outputs[0], self.draw
        if self.num is not None:
            num = self.num
            ws = self.workspace(num)
            return lambda: draw(ws, logits, num, out)
        ns, where, name = inputs[NUM_SAMPLES], self.where, self.ns_name
        dtype = out.dtype
        cache: dict[int, Any] = {}

        def step() -> None:
            num = int(ns.reshape(()))
            err = self.count_error(num)
            if err:
                raise RuntimeError(f"{where}: {err} (num_samples {name})")
            check_alloc(where, (self.batch, num), dtype)
            ws = cache.get(num)
            if ws is None:
                cache.clear()
                ws = cache[num] = self.workspace(num)
            res = np.empty((self.batch, num), dtype)
            draw(ws, logits, num, res)
            out.set(res)

        return step
