"""FLOOR_MOD: elementwise remainder of floor division (the result has the divisor's sign), with
broadcasting, versions 1-2, as LiteRT 2.3 (int8, int16, int32, int64, float32).

1. Types: int32 / int64 / float32 (version 1), int8 / int16 (version 2); both inputs and the
   output of one type.  Shapes broadcast as NumPy (LiteRT broadcasts any rank).
2. Integers: ``np.remainder`` (Python's modulo), equal to LiteRT's C remainder corrected by the
   divisor when the signs differ.  ``MIN % -1`` is 0: LiteRT gives 0 for int8 / int16 and dies
   of SIGFPE for int32 / int64 (x86 ``idiv`` traps); numlite returns the defined result 0.  NumPy
   before 1.25 traps the same way, so a divisor of -1 (whose remainder is always 0) is replaced
   by 1 first: once for a constant divisor, at every invoke (into a scratch copy) otherwise.
3. A zero integer divisor element is an error, as LiteRT's "Division by 0": at prepare for a
   constant divisor, else a RuntimeError from invoke naming op and node, checked on every
   element of the divisor before anything is written (``_math.ZeroDivisorCheck``).
4. float32, LiteRT's formula step by step: ``r = fmod(a, b)`` (exact), then ``r + b`` where
   ``r != 0`` and the signs of ``r`` and ``b`` differ.  So a zero remainder keeps the sign of
   ``a`` (-4 mod 2 = -0.0, where NumPy's ``remainder`` gives +0.0), ``x mod 0`` and ``x mod ±0``
   give nan (no error for floats, as in LiteRT), ``-1 mod inf`` gives inf.  Two boolean
   scratch buffers of the output's shape hold the sign tests; invoke allocates nothing.
5. Quantized tensors: LiteRT never reads quantization parameters, so quantized int8 / int16
   tensors are computed on their stored values, as in LiteRT.  uint8 is refused, as in LiteRT.
"""

from __future__ import annotations

import numpy as np

from ._math import RawBinaryKernel, ZeroDivisorCheck
from .base import PrepareContext, Step, TensorSpec
from .registry import register


@register("FLOOR_MOD", versions=(1, 2))
class FloorMod(RawBinaryKernel):
    dtypes = (np.int32, np.int64, np.float32, np.int16, np.int8)
    ieee_specials = True

    def setup(self, ctx: PrepareContext, a: TensorSpec, b: TensorSpec) -> None:
        self.check = None
        if self.is_float:
            shape = ctx.outputs[0].shape
            self.masks = (ctx.scratch(shape, np.bool_), ctx.scratch(shape, np.bool_))
        else:
            self.check = ZeroDivisorCheck(ctx, b, "modulo")
            self.safe_b = None
            if b.value is not None:
                self.safe_b = np.where(b.value == -1, b.value.dtype.type(1), b.value)
            else:
                self.safe_slot = ctx.scratch(b.shape, b.dtype)
                self.minus_one = ctx.scratch(b.shape, np.bool_)

    def compute_with(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        if self.check is not None:
            if self.safe_b is not None:
                sb = self.safe_b
                return self.check.wrap(b, lambda: np.remainder(a, sb, out=out))
            safe, m = scratch[self.safe_slot], scratch[self.minus_one]

            def remainder() -> None:  # MIN % -1 traps in C (and in NumPy < 1.25): divide by 1 there
                np.equal(b, -1, out=m)
                np.copyto(safe, b)
                np.copyto(safe, 1, where=m)
                np.remainder(a, safe, out=out)

            return self.check.wrap(b, remainder)
        m1, m2 = scratch[self.masks[0]], scratch[self.masks[1]]

        def step() -> None:
            np.fmod(a, b, out=out)
            np.less(out, 0, out=m1)
            np.less(b, 0, out=m2)
            np.not_equal(m1, m2, out=m1)  # signs of remainder and divisor differ
            np.not_equal(out, 0, out=m2)
            np.logical_and(m1, m2, out=m1)
            np.add(out, b, out=out, where=m1)

        return step
