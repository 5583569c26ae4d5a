"""SQRT: elementwise square root.

1. float32: IEEE ``sqrt`` (negatives give nan).
2. Quantized int8 / int16 (LiteRT's elementwise kernel; int16 needs zero points of 0; an int8
   tensor without quantization parameters is refused, as LiteRT refuses it), per value:
   ``d = in_scale * float(x - in_zp)`` in float32; ``d`` must be ``>= 0``, else invoke fails
   with "Sqrt is only defined for non-negative values" (LiteRT checks at eval);
   ``int(sqrtf(d) / out_scale)`` - a float32 quotient truncated toward zero, not rounded (an
   out-of-range quotient becomes INT32_MIN, x86's ``cvttss2si``) - plus ``out_zp``, clamped.
   Prepare tabulates every input value (256 or 65536 entries) and finds the interval of valid
   inputs ``[lo, hi]`` (for a positive scale: ``[in_zp, type max]``); invoke checks the input's
   min and max against it, then looks the results up (``_unary`` base).
"""

from __future__ import annotations

import numpy as np

from . import _qnonlinear as qn
from ._unary import UnaryKernel
from .base import PrepareContext, Step, TensorSpec
from .registry import register


@register("SQRT", versions=range(1, 3))
class Sqrt(UnaryKernel):
    ieee_specials = True
    quantized = (np.int8, np.int16)
    ufunc = np.sqrt

    def quant_table(self, ctx: PrepareContext, x: TensorSpec, out: TensorSpec, values: np.ndarray) -> np.ndarray:
        self.check_symmetric_int16(ctx, x, out)
        f32 = np.float32
        in_s, out_s = f32(x.quantization.scale), f32(out.quantization.scale)
        in_zp, out_zp = x.quantization.zero_point, out.quantization.zero_point
        with np.errstate(all="ignore"):
            d = in_s * (values - in_zp).astype(f32)
            valid = d >= f32(0)
            y = np.sqrt(np.where(valid, d, f32(0))) / out_s
        ok = values[valid]
        # d is monotone in x, so the valid inputs form one interval (empty: every input fails)
        self.valid = (int(ok.min()), int(ok.max())) if ok.size else None
        return qn.wrap32(qn.float_to_int32(y) + out_zp)

    def quant_compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        lookup = super().quant_compute(x, out, scratch)
        if x.size == 0:
            return lookup
        where = f"{self.op_name} (node {self.node.index})"
        msg = f"{where}: Sqrt is only defined for non-negative values"
        if self.valid is None:
            def never() -> None:
                raise RuntimeError(f"{msg} (no input value dequantizes to >= 0)")

            return never
        lo, hi = self.valid
        info = np.iinfo(x.dtype)
        check_lo, check_hi = lo > info.min, hi < info.max

        def checked() -> None:
            if (check_lo and x.min() < lo) or (check_hi and x.max() > hi):
                raise RuntimeError(f"{msg} (an input dequantizes below 0: valid stored values are {lo}..{hi})")
            lookup()

        return checked
