"""COMPLEX_ABS: the magnitude ``|re + i im|`` of a complex tensor (version 1, as LiteRT 2.3).

1. complex64 -> float32, complex128 -> float64; the output has the input's shape.  An output
   declared with another type is refused, as LiteRT's Prepare does (see
   ``real.ComplexToRealKernel``).
2. The step is ``np.abs`` into the planned output: NumPy's complex magnitude is ``hypot``, as
   C++'s ``std::abs`` of a ``std::complex`` that LiteRT calls; it is computed without undue
   overflow or underflow, so results agree with LiteRT to an ulp or two.
3. IEEE specials as C's ``cabs``: an infinite component gives inf (even with a nan in the other),
   otherwise nan gives nan; NumPy's warnings are silenced.
"""

from __future__ import annotations

import numpy as np

from .base import Step
from .real import ComplexToRealKernel
from .registry import register


@register("COMPLEX_ABS", versions=(1,))
class ComplexAbs(ComplexToRealKernel):
    ieee_specials = True

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        return lambda: np.abs(x, out=out)
