"""CAST: convert between float16/32/64, int8/16/32/64, uint8/16/32, bool and complex64.

The output dtype is the model's output tensor type (CastOptions' in/out types are ignored, as
LiteRT ignores them).  Conversions follow LiteRT 2.3, value by value:

1. To bool: ``x != 0`` (nan is true; complex uses its real part).
2. Floating to integer: truncation toward zero, saturating at the type's limits; nan gives the
   type's maximum.  When the input's min and max (two fast reductions) are in range, a direct C
   cast does it.  Otherwise it is computed in a float64 scratch buffer (exact for every float source):
   ``fmin(x, hi)`` (which also maps nan to hi), ``max(., lo)``, then a C cast.  The float64
   loop is asked for explicitly: NumPy 1's value-based casting would otherwise run ``fmin`` of a
   float32 array and a float64 scalar in float32, where ``2**31 - 1`` rounds up to ``2**31``.  For int64, whose
   maximum float64 cannot hold, values >= 2**63 are clamped below it and then set to the maximum
   through a bool scratch mask.
3. Integer or bool to integer: two's complement wrap-around (C's static_cast).
4. To floating: round to nearest (overflow gives inf silently: only a cast that can overflow,
   decided from the two types at bind, runs under ``np.errstate``); complex to real keeps the
   real part.
5. Quantized tensors (any of the types above, on either side): the stored values are cast as
   they are and the quantization parameters are ignored, as LiteRT's kernel ignores them
   (measured on LiteRT 2.3: int8 -> float32 gives the raw integers, float32 -> int8
   saturates, uint8 <-> int8 and int16 -> int8 wrap, whatever the scales and zero points).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ._unary import UnaryKernel
from .base import PrepareContext, Step, TensorSpec, no_fp_warnings
from .registry import register

CAST_DTYPES = (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8,
               np.uint16, np.uint32, np.bool_, np.complex64)


def can_overflow(src: np.dtype, dst: np.dtype) -> bool:
    """Whether casting ``src`` values to the floating ``dst`` can overflow (a NumPy warning, so
    the step then runs under ``np.errstate``): a narrower float, or an integer type whose range
    passes the float's largest finite value (only float16's)."""
    if dst.kind not in "fc":
        return False
    top = float(np.finfo(dst).max)
    if src.kind in "iu":
        return float(np.iinfo(src).max) > top or float(np.iinfo(src).min) < -top
    if src.kind == "b":
        return False
    return float(np.finfo(src).max) > top


@register("CAST", versions=range(1, 10))
class Cast(UnaryKernel):
    options_table = "CastOptions"
    dtypes = CAST_DTYPES
    ignores_quantization = True

    def output_dtype(self, ctx: PrepareContext, x: TensorSpec) -> Any:
        out = ctx.outputs[0]
        if out.dtype is None or np.dtype(out.dtype) not in [np.dtype(d) for d in CAST_DTYPES]:
            names = ", ".join(np.dtype(d).name for d in CAST_DTYPES)
            ctx.fail(f"output {out.describe()} has a type CAST does not support; supported: {names}")
        return out.dtype

    def setup(self, ctx: PrepareContext, x: TensorSpec) -> None:
        src = np.dtype(x.dtype)
        dst = np.dtype(ctx.outputs[0].dtype)
        self.src_kind = "f" if src.kind == "c" else src.kind  # complex is read through .real
        self.dst = dst
        self.saturate = self.src_kind == "f" and dst.kind in "iu"
        self.tmp = self.mask = None
        if self.saturate:
            self.tmp = ctx.scratch(x.shape, np.float64)
            info = np.iinfo(dst)
            self.lo, self.hi = np.float64(info.min), np.float64(info.max)
            self.limit = float(info.max + 1)  # a power of two: exact in float64
            if int(self.hi) != info.max:  # int64: 2**63 - 1 is not a float64
                self.mask = ctx.scratch(x.shape, np.bool_)
                self.hi = np.float64(2.0 ** 63)
                self.below = np.nextafter(self.hi, 0)

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        src = x.real if x.dtype.kind == "c" and out.dtype.kind != "c" else x
        dst = self.dst
        if dst == np.bool_:
            zero = src.dtype.type(0)
            return lambda: np.not_equal(src, zero, out=out)
        if not self.saturate:
            step = functools.partial(np.copyto, out, src, casting="unsafe")
            return no_fp_warnings(step) if can_overflow(src.dtype, dst) else step
        if x.size == 0:
            return lambda: None
        t, lo, hi, limit = scratch[self.tmp], self.lo, self.hi, self.limit
        if self.mask is None:
            def saturate() -> None:
                np.fmin(src, hi, out=t, dtype=np.float64)
                np.maximum(t, lo, out=t)
                np.copyto(out, t, casting="unsafe")
        else:
            m, below, top = scratch[self.mask], self.below, dst.type(np.iinfo(dst).max)

            def saturate() -> None:
                np.fmin(src, hi, out=t, dtype=np.float64)
                np.maximum(t, lo, out=t)
                np.greater_equal(t, hi, out=m)
                np.minimum(t, below, out=t)
                np.copyto(out, t, casting="unsafe")
                np.copyto(out, top, where=m)

        def float_to_int() -> None:
            # nan makes both comparisons false, so it takes the saturating path
            if src.min() >= lo and src.max() < limit:
                np.copyto(out, src, casting="unsafe")
            else:
                saturate()

        return float_to_int
