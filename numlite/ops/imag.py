"""IMAG: the imaginary part of a complex tensor (version 1, as LiteRT 2.3's ``complex_support.cc``).

1. complex64 -> float32, complex128 -> float64; the output has the input's shape.  An output
   declared with another type is refused (LiteRT checks it in Prepare); any other input type is
   refused too (see ``real.ComplexToRealKernel``).
2. The step copies the imaginary component (a strided view of the input) into the planned
   output: exact, inf / nan carried as they are.
"""

from __future__ import annotations

import numpy as np

from .base import Step
from .real import ComplexToRealKernel
from .registry import register


@register("IMAG", versions=(1,))
class Imag(ComplexToRealKernel):
    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        part = x.imag
        return lambda: np.copyto(out, part)
