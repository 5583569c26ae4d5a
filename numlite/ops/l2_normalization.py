"""L2_NORMALIZATION: ``x / max(sqrt(sum(x**2)), 1e-6)`` along the last axis, any rank >= 1;
versions 1-2, float32 and quantized uint8 / int8 (LiteRT 2.3's prepare refuses other types).

1. The fused activation must be NONE (LiteRT's prepare checks it; its kernels have none).

Float32 (see ``_norm.RowKernel`` for the row view):

2. Squares into a scratch, row sums, ``sqrt``, at least the epsilon 1e-6 (as TFLite hard-codes
   it), then one division into the output.  NumPy sums pairwise where TFLite sums in order:
   results agree to a few ulp (tests: rtol 1e-5).  A row of zeros gives zeros; inf or nan in a
   row gives nan (inf / inf), as in LiteRT.

uint8 / int8 (TFLite's reference kernels; bit-exact with BUILTIN_REF):

3. The output must have scale 1/128 and zero point 128 (uint8) or 0 (int8), as LiteRT checks.
4. Per row: ``diff = x - in_zp``; the sum of ``diff**2`` in int32 (wrapping as C would, which
   needs more than 33000 values per row); ``GetInvSqrtQuantizedMultiplierExp`` of the sum gives
   a multiplier and a right shift (``_norm.inv_sqrt_multiplier``).
5. uint8: ``128 + RoundingDivideByPOT(SRDHM(128 * diff, multiplier), shift)``, clamped to
   [0, 255].  int8: ``MultiplyByQuantizedMultiplier(diff, multiplier, 7 - shift)`` (double
   rounding: a left shift first when ``7 - shift > 0``), clamped to [-128, 127].
6. Scratch: (rows, cols) int64 and bool; the per-row factors are one value per row.
"""

from __future__ import annotations

import numpy as np

from . import _norm as nm
from . import _qnonlinear as qn
from ._norm import RowKernel
from .base import ACT_NONE, ACTIVATION_NAMES, PrepareContext, Step, TensorSpec, no_fp_warnings
from .registry import register

EPSILON = np.float32(1e-6)
OUT_ZERO_POINT = {np.dtype(np.uint8): 128, np.dtype(np.int8): 0}


@register("L2_NORMALIZATION", versions=(1, 2))
class L2Normalization(RowKernel):
    options_table = "L2NormOptions"
    dtypes = (np.float32,)
    quantized = (np.uint8, np.int8)

    def prepare(self, ctx: PrepareContext) -> None:
        act = int(self.options.get("fused_activation_function") or 0)
        if act != ACT_NONE:
            ctx.fail(f"fused activation {ACTIVATION_NAMES.get(act, act)} is not supported (LiteRT requires NONE)")
        super().prepare(ctx)

    # -- float -----------------------------------------------------------------------------------
    def prepare_float(self, ctx: PrepareContext, x: TensorSpec) -> None:
        if not self.empty:
            self.col_slot = ctx.scratch((self.rows, 1), np.float32)
            self.sq_slot = ctx.scratch((self.rows, self.cols), np.float32)

    def bind_float(self, x: np.ndarray, o: np.ndarray, scratch: list[np.ndarray]) -> Step:
        col, sq = scratch[self.col_slot], scratch[self.sq_slot]

        def step() -> None:
            np.multiply(x, x, out=sq)
            np.add.reduce(sq, axis=1, keepdims=True, out=col)
            np.sqrt(col, out=col)
            np.maximum(col, EPSILON, out=col)
            np.divide(x, col, out=o)

        return no_fp_warnings(step)

    # -- quantized -------------------------------------------------------------------------------
    def prepare_quantized(self, ctx: PrepareContext, x: TensorSpec, out: TensorSpec) -> None:
        dt = np.dtype(x.dtype)
        nm.expect_output_quantization(ctx, out, dt, 1.0 / 128.0, "1/128", OUT_ZERO_POINT)
        self.in_zp = int(x.quantization.zero_point)
        self.unsigned = dt == np.uint8
        info = np.iinfo(dt)
        self.lo, self.hi = int(info.min), int(info.max)
        if not self.empty:
            shape = (self.rows, self.cols)
            self.diff_slot = ctx.scratch(shape, np.int64)
            self.acc_slot = ctx.scratch(shape, np.int64)
            self.neg_slot = ctx.scratch(shape, np.bool_)

    def bind_quantized(self, x: np.ndarray, o: np.ndarray, scratch: list[np.ndarray]) -> Step:
        diff, acc, neg = scratch[self.diff_slot], scratch[self.acc_slot], scratch[self.neg_slot]
        zp, lo, hi, unsigned = self.in_zp, self.lo, self.hi, self.unsigned
        col = np.zeros((self.rows, 1), np.int64)

        def step() -> None:
            np.copyto(diff, x)
            np.subtract(diff, zp, out=diff)
            np.multiply(diff, diff, out=acc)
            np.sum(acc, axis=1, keepdims=True, out=col)
            mult, shift = nm.inv_sqrt_multiplier(qn.wrap32(col), -1)  # shift <= 0: a right shift
            if unsigned:
                np.multiply(diff, 128, out=acc)
                nm.srdhm_floor_(acc, mult)
                nm.rdpot_(acc, -shift, neg)
                np.add(acc, 128, out=acc)
            else:
                total = shift + 7
                np.left_shift(diff, np.maximum(total, 0), out=acc)
                nm.srdhm_floor_(acc, mult)
                nm.rdpot_(acc, np.maximum(-total, 0), neg)
            np.clip(acc, lo, hi, out=acc)
            np.copyto(o, acc, casting="unsafe")

        return step
