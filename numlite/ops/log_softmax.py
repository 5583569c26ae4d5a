"""LOG_SOFTMAX: ``x - max - log(sum(exp(x - max)))`` along the last axis, any rank >= 1; versions
1-2, float32 and quantized uint8 / int8 (LiteRT 2.3 has no int16 form: its kernel fails).

Float32 (see ``_norm.RowKernel`` for the row view):

1. Per row: the maximum, ``x - max`` into the output, ``exp`` of it into a scratch, the row sum,
   its ``log``, subtracted in place.  Same formula as TFLite's reference kernel; NumPy sums
   pairwise where TFLite sums in order, so results agree to a few ulp (tests: rtol 1e-5,
   atol 1e-5 for outputs near 0).  A row holding +inf or nan gives nan, as in LiteRT.

uint8 / int8 (TFLite's reference kernels, gemmlowp fixed point; bit-exact with BUILTIN_REF):

2. The output must have scale 16/256 and zero point 255 (uint8) or 127 (int8), as LiteRT checks.
3. Prepare: ``in_scale * 2**26`` (capped at 2**31 - 1) must exceed 1 (LiteRT aborts the process
   otherwise: numlite fails with an error); encoded as a multiplier and a left shift; the
   reverse divisor ``2**(31 - shift) / multiplier`` encoded as a multiplier below one;
   ``diff_min = -floor(31 * 2**26 / 2**shift)``.  A row's ``d = max - x`` is in [0, 255], so two
   256-entry tables hold, per ``d``, the rescaled difference (Q5.26) and its
   ``exp_on_negative_values`` in Q12.19 (0 where ``-d < diff_min``).
4. Invoke: the row maxima, ``d``, the row sums of the Q12.19 table (wrapping in int32 as C);
   per row ``log_x_for_x_greater_than_or_equal_to_1`` (Q5.26) and the adjusted threshold
   ``max(diff_min - 1, MultiplyByQuantizedMultiplier(log_sum + INT32_MIN, reverse))``; per
   element ``RoundingDivideByPOT(rescaled - log_sum, 22) + zero_point`` clamped where
   ``-d > threshold``, the type's minimum elsewhere.  Scratch: (rows, cols) intp, int64 and bool.
"""

from __future__ import annotations

import math

import numpy as np

from . import _norm as nm
from . import _qnonlinear as qn
from ._norm import RowKernel
from .base import PrepareContext, Step, TensorSpec, no_fp_warnings
from .quant import INT32_MIN, multiply_by_quantized_multiplier, quantize_multiplier
from .registry import register

OUT_ZERO_POINT = {np.dtype(np.uint8): 255, np.dtype(np.int8): 127}


@register("LOG_SOFTMAX", versions=(1, 2))
class LogSoftmax(RowKernel):
    options_table = "LogSoftmaxOptions"
    dtypes = (np.float32,)
    quantized = (np.uint8, np.int8)

    # -- float -----------------------------------------------------------------------------------
    def prepare_float(self, ctx: PrepareContext, x: TensorSpec) -> None:
        if not self.empty:
            self.col_slot = ctx.scratch((self.rows, 1), np.float32)
            self.exp_slot = ctx.scratch((self.rows, self.cols), np.float32)

    def bind_float(self, x: np.ndarray, o: np.ndarray, scratch: list[np.ndarray]) -> Step:
        col, e = scratch[self.col_slot], scratch[self.exp_slot]

        def step() -> None:
            np.maximum.reduce(x, axis=1, keepdims=True, out=col)
            np.subtract(x, col, out=o)
            np.exp(o, out=e)
            np.add.reduce(e, axis=1, keepdims=True, out=col)
            np.log(col, out=col)
            np.subtract(o, col, out=o)

        return no_fp_warnings(step)

    # -- quantized -------------------------------------------------------------------------------
    def prepare_quantized(self, ctx: PrepareContext, x: TensorSpec, out: TensorSpec) -> None:
        dt = np.dtype(x.dtype)
        zp = nm.expect_output_quantization(ctx, out, dt, 16.0 / 256.0, "1/16", OUT_ZERO_POINT)
        in_scale = float(np.float32(x.quantization.scale))
        real = min(in_scale * float(1 << 26), float((1 << 31) - 1))
        if not real > 1.0:
            ctx.fail(f"input {x.describe()} scale {in_scale} is too small for the fixed-point log-softmax "
                     "(it must exceed 2^-26)")
        q, shift = (int(v) for v in quantize_multiplier(real))
        rev_q, rev_shift = (int(v) for v in quantize_multiplier((1 << (31 - shift)) / float(q)))
        self.rev_q, self.rev_shift = rev_q, rev_shift
        self.diff_min = -math.floor(31.0 * float(1 << 26) / float(1 << shift))
        diff = -np.arange(256, dtype=np.int64)
        rescaled = qn.srdhm(qn.wrap32(diff << shift), q)
        keep = diff >= self.diff_min
        self.rescaled = np.where(keep, rescaled, 0)
        self.sum_table = np.where(keep, qn.rdpot(qn.exp_on_negative_values(self.rescaled, 5), 12), 0)
        info = np.iinfo(dt)
        self.lo, self.hi, self.zp = int(info.min), int(info.max), zp
        if not self.empty:
            shape = (self.rows, self.cols)
            self.max_slot = ctx.scratch((self.rows, 1), dt)
            self.maxi_slot = ctx.scratch((self.rows, 1), np.intp)
            self.idx_slot = ctx.scratch(shape, np.intp)
            self.acc_slot = ctx.scratch(shape, np.int64)
            self.mask_slot = ctx.scratch(shape, np.bool_)

    def row_terms(self, sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per row: the log of the sum of exps (Q5.26) and ``-threshold`` (``d`` below it is kept)."""
        log_sum = nm.log_x_ge_1(qn.wrap32(sums), 12, 5)
        adj = multiply_by_quantized_multiplier(qn.wrap32(log_sum + INT32_MIN), self.rev_q, self.rev_shift)
        adj = np.maximum(np.int64(self.diff_min - 1), adj.astype(np.int64))
        return log_sum, -adj

    def bind_quantized(self, x: np.ndarray, o: np.ndarray, scratch: list[np.ndarray]) -> Step:
        mx, mxi, idx, acc, mask = (scratch[s] for s in (self.max_slot, self.maxi_slot, self.idx_slot,
                                                         self.acc_slot, self.mask_slot))
        sum_table, rescaled, row_terms = self.sum_table, self.rescaled, self.row_terms
        zp, lo, hi = self.zp, self.lo, self.hi
        col = np.zeros((self.rows, 1), np.int64)
        thr = np.zeros((self.rows, 1), np.intp)

        def step() -> None:
            np.max(x, axis=1, keepdims=True, out=mx)
            # d = row max - x, widened first
            np.copyto(idx, x)
            np.copyto(mxi, mx)
            np.subtract(mxi, idx, out=idx)
            np.take(sum_table, idx, out=acc, mode="wrap")
            np.sum(acc, axis=1, keepdims=True, out=col)
            log_sum, neg_adj = row_terms(col)
            np.copyto(thr, neg_adj, casting="unsafe")
            np.take(rescaled, idx, out=acc, mode="wrap")
            np.subtract(acc, log_sum, out=acc)
            nm.quantized_rdpot_(acc, 22, mask)
            np.add(acc, zp, out=acc)
            np.clip(acc, lo, hi, out=acc)
            np.greater_equal(idx, thr, out=mask)  # -d <= threshold: the type's minimum
            np.copyto(acc, lo, where=mask)
            np.copyto(o, acc, casting="unsafe")

        return step
