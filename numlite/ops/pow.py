"""POW: elementwise ``a ** b`` with broadcasting, float32 and int32, version 1, as LiteRT 2.3.

LiteRT's kernel takes one of two routes, and numlite takes the same one:

1. Power route (the inputs have the same shape, or the exponent has more than one element):
   float32 ``np.power`` (``powf``, as LiteRT's ``std::pow``; both are within an ulp of the exact
   result, so tests allow rtol 1e-6): (-2) ** 0.5 is nan, 0 ** -1 inf, x ** 0 is 1,
   (-inf) ** 0.5 is inf.  A broadcast exponent is first copied out to the output's shape
   (float32 scratch): NumPy computes a stride-0 exponent of 0.5 as ``sqrt``, which gives nan
   and -0.0 where ``powf`` gives inf and +0.0.
   int32: ``pow`` in float64 (C++'s ``std::pow`` on integers), exact for every result within
   int32; a result outside int32 becomes INT32_MIN, the x86 conversion LiteRT performs
   (measured: 3 ** 30 gives -2**31).  float64 and int64 scratch of the output's shape.
2. Squaring route (the shapes differ, the exponent has one element, and it is within 1e-5 of
   an integer n >= 1, tested in float32 after ``std::round`` as LiteRT's ``BroadcastPow4D``):
   the result is built by binary exponentiation, left to right over n's bits (square, then
   multiply by the base for a 1 bit), one elementwise multiply per step.  float32 clamps every
   product to ±FLT_MAX (LiteRT's multiply runs with that activation range), so overflow gives
   ±3.4028235e38, not inf, and an exponent of 2.000001 is taken as 2: (-2) ** 2.000001 = 4.
   int32 products wrap (3 ** 31 gives 1264544299, as LiteRT).  At most 62 multiplies for any
   exponent.  With a constant exponent the route is chosen at prepare, else at every invoke.
3. int32 exponents must be non-negative, as in LiteRT ("POW does not support negative value for
   int32", checked on every exponent element): at prepare for a constant exponent, else a
   RuntimeError from invoke naming op and node.
4. Quantized int32 tensors are computed on stored values (LiteRT never reads the parameters).
   No other type: LiteRT refuses int8 / int16 / int64 / float16 at prepare, as numlite does.
"""

from __future__ import annotations

import math

import numpy as np

from ._math import RawBinaryKernel, float64_to_int, node_where
from .base import PrepareContext, Step, TensorSpec, no_fp_warnings
from .registry import register

F32_MAX = np.float32(np.finfo(np.float32).max)
EPSILON = np.float32(1e-5)
INT32_MIN = -(2**31)


def integer_exponent(e: float | int, is_float: bool) -> int:
    """LiteRT's squaring-route exponent n for exponent value ``e``, or 0 when the route is not taken."""
    if not is_float:
        return int(e) if e >= 1 else 0
    e = np.float32(e)
    if not np.isfinite(e):
        return 0
    r = math.floor(abs(float(e)) + 0.5) * (1 if e >= 0 else -1)  # std::round: halves away from zero
    n = r if -(2**31) <= r < 2**31 else INT32_MIN  # out-of-range float -> int on x86
    return n if n >= 1 and abs(e - np.float32(n)) < EPSILON else 0


def power_by_squaring(base: np.ndarray, out: np.ndarray, n: int, clamp: bool) -> None:
    """``out = base ** n`` (n >= 1) by left-to-right binary exponentiation; ``clamp``: float32 clip."""
    np.copyto(out, base)
    for bit in bin(n)[3:]:
        np.multiply(out, out, out=out)
        if clamp:
            np.clip(out, -F32_MAX, F32_MAX, out=out)
        if bit == "1":
            np.multiply(out, base, out=out)
            if clamp:
                np.clip(out, -F32_MAX, F32_MAX, out=out)


@register("POW", versions=(1,))
class Pow(RawBinaryKernel):
    dtypes = (np.float32, np.int32)

    def setup(self, ctx: PrepareContext, a: TensorSpec, b: TensorSpec) -> None:
        self.where = node_where(ctx)
        if not self.is_float and b.value is not None and np.any(b.value < 0):
            ctx.fail(f"exponent {b.describe()} is a constant with negative values (not supported for int32)")
        self.runtime_check = not self.is_float and b.value is None
        self.squaring = a.shape != b.shape and b.size == 1
        # the route is fixed now when the exponent is constant (n, or 0 for the power route)
        self.fixed_n = None
        if self.squaring and b.value is not None:
            self.fixed_n = integer_exponent(b.value.reshape(-1)[0], self.is_float)
        shape = ctx.outputs[0].shape
        need_power = not self.squaring or self.fixed_n in (None, 0)
        self.tmp = ctx.scratch(shape, np.float64) if need_power and not self.is_float else None
        self.wide = ctx.scratch(shape, np.int64) if self.tmp is not None else None
        # NumPy replaces pow by sqrt for a broadcast (stride 0) exponent of 0.5, which differs from
        # powf at -inf and -0.0: a broadcast float exponent is spread to the output's shape first
        spread = self.is_float and need_power and b.shape != shape
        self.spread = ctx.scratch(shape, np.float32) if spread else None

    def compute_with(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        is_float, where = self.is_float, self.where
        if self.tmp is not None:
            t, wide = scratch[self.tmp], scratch[self.wide]

            def power() -> None:
                np.power(a, b, out=t, dtype=np.float64)
                np.clip(t, INT32_MIN, 2**31, out=t)  # 2**31 then wraps to INT32_MIN: x86's result
                float64_to_int(t, wide, out)
        elif self.spread is not None:
            e = scratch[self.spread]

            def power() -> None:
                np.copyto(e, b)
                np.power(a, e, out=out)
        else:

            def power() -> None:
                np.power(a, b, out=out)

        if self.squaring:
            af, of, fixed_n = a.reshape(-1), out.reshape(-1), self.fixed_n

            def route() -> None:
                n = fixed_n if fixed_n is not None else integer_exponent(b.reshape(-1)[0], is_float)
                if n:
                    power_by_squaring(af, of, n, is_float)
                else:
                    power()
        else:
            route = power
        if self.runtime_check:
            inner, size = route, b.size

            def route() -> None:
                if size and b.min() < 0:
                    raise RuntimeError(f"{where}: negative exponent in int32 POW (the exponent tensor has "
                                       "values below 0; LiteRT does not support them)")
                inner()

        return no_fp_warnings(route)
