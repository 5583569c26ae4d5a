"""REAL: the real part of a complex tensor (version 1, as LiteRT 2.3's ``complex_support.cc``).

1. complex64 -> float32, complex128 -> float64; the output has the input's shape.  An output
   declared with another type is refused (LiteRT checks it in Prepare); any other input type is
   refused too.
2. The step copies the real component (a strided view of the input) into the planned output:
   exact, inf / nan carried as they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._unary import UnaryKernel
from .base import PrepareContext, Step, TensorSpec, expect_output_dtype
from .registry import register

#: the real type of each complex type's components
PART_DTYPE = {np.dtype(np.complex64): np.float32, np.dtype(np.complex128): np.float64}


class ComplexToRealKernel(UnaryKernel):
    """Shared prepare of REAL / IMAG / COMPLEX_ABS: complex in, its component type out."""

    dtypes = (np.complex64, np.complex128)

    def output_dtype(self, ctx: PrepareContext, x: TensorSpec) -> Any:
        dtype = PART_DTYPE[np.dtype(x.dtype)]
        expect_output_dtype(ctx, dtype)
        return dtype


@register("REAL", versions=(1,))
class Real(ComplexToRealKernel):
    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        part = x.real
        return lambda: np.copyto(out, part)
