"""FLOOR_DIV: elementwise quotient rounded toward -inf, with broadcasting, versions 1-3, as
LiteRT 2.3 (float32, int32, int16, int8).

1. Types: float32 and int32 (version 1), int16 (2), int8 (3); both inputs and the output of one
   type.  LiteRT checks the type, not the version, and so does numlite.  Shapes broadcast as
   NumPy (LiteRT 2.3 broadcasts any rank, measured up to 7).
2. Every element is ``floor(double(a) / double(b))`` converted back to the type, as LiteRT's
   ``FloorDiv``: the quotient is formed in float64 (into a scratch buffer of the output's shape),
   floored, then stored.  float32: rounding the float64 floor to float32 (round to nearest,
   overflow to ±inf) is what C++'s conversion does, so results agree exactly; a float32
   quotient would differ (``7 / 0.7`` rounds up to exactly 10 in float32, its floor is 9).
   inf / finite gives ±inf, nan propagates.
3. Integers: the float64 quotient of two int32 values floors exactly (a non-integer quotient
   lies at least 1/|b| from every integer, far beyond float64's rounding), so this is integer
   floor division.  The one overflowing case ``MIN // -1`` wraps to MIN (int8 -128, int16 -32768,
   int32 -2**31), see ``_math.float64_to_int``.  LiteRT gives that for int32 always and for
   int8 / int16 with a broadcast divisor or in the tail of its loop; its non-broadcast int8 /
   int16 loop saturates (127 / 32767) in full blocks of 8 elements (undefined behaviour of the
   C++ conversion, vectorised), a position-dependent result numlite does not imitate.
4. A divisor element equal to 0 (``-0.0`` and the float form included: LiteRT rejects any zero,
   float or not) is an error, as LiteRT's "Division by 0": at prepare for a constant divisor,
   else a RuntimeError from invoke naming op and node (``_math.ZeroDivisorCheck``).
5. Quantized tensors: LiteRT's kernel never reads quantization parameters, so int8 / int16
   quantized tensors are divided as stored values (measured on both its resolvers); numlite
   does the same.  uint8 is refused, as in LiteRT.
"""

from __future__ import annotations

import numpy as np

from ._math import RawBinaryKernel, ZeroDivisorCheck, float64_to_int
from .base import PrepareContext, Step, TensorSpec, no_fp_warnings
from .registry import register


@register("FLOOR_DIV", versions=(1, 2, 3))
class FloorDiv(RawBinaryKernel):
    dtypes = (np.float32, np.int32, np.int16, np.int8)

    def setup(self, ctx: PrepareContext, a: TensorSpec, b: TensorSpec) -> None:
        self.check = ZeroDivisorCheck(ctx, b, "division")
        shape = ctx.outputs[0].shape
        self.tmp = ctx.scratch(shape, np.float64)
        self.wide = None if self.is_float else ctx.scratch(shape, np.int64)

    def compute_with(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        t = scratch[self.tmp]
        wide = None if self.wide is None else scratch[self.wide]

        def step() -> None:
            np.divide(a, b, out=t, dtype=np.float64)
            np.floor(t, out=t)
            if wide is None:
                np.copyto(out, t, casting="same_kind")
            else:
                float64_to_int(t, wide, out)

        return self.check.wrap(b, no_fp_warnings(step))
