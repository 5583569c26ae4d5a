"""Shared pieces of the integer / rounding math family (FLOOR_DIV, FLOOR_MOD, POW, RIGHT_SHIFT,
BITWISE_XOR, ...), all broadcasting binary kernels on ``_binary.BinaryKernel``.

1. ``RawBinaryKernel``: a ``BinaryKernel`` without fused activation whose LiteRT kernel never
   reads quantization parameters, so quantized tensors of its integer dtypes are computed on
   their stored values, as LiteRT does (measured on its default and reference kernels).
2. ``ZeroDivisorCheck``: LiteRT's "Division by 0" rule of FLOOR_DIV / FLOOR_MOD: every element
   of the divisor tensor (not only those the broadcast reaches) must be non-zero (``-0.0`` is
   zero).  A constant divisor is checked once at prepare (``ctx.fail``); any other divisor at
   every invoke, before anything is written, raising ``RuntimeError`` that names op and node.
3. ``float64_to_int``: writes float64 values that are integers into an integer output with
   two's-complement wrap-around (via an int64 scratch), the result C++ gives on x86 for the one
   overflowing quotient ``MIN // -1`` of FLOOR_DIV.  NumPy's direct float-to-int cast of an
   out-of-range value is platform-defined, so it is never used.
"""

from __future__ import annotations

import numpy as np

from ._binary import BinaryKernel
from .base import PrepareContext, Step, TensorSpec


def node_where(ctx: PrepareContext) -> str:
    """``OP (node N[ of subgraph S])``, the prefix of invoke-time errors (as ``ctx.fail`` writes it)."""
    where = f"node {ctx.node.index}" + (f" of subgraph {ctx.subgraph}" if ctx.subgraph else "")
    return f"{ctx.node.op_name} ({where})"


class RawBinaryKernel(BinaryKernel):
    """Broadcasting binary op with no options, run on stored values of quantized tensors."""

    has_activation = False
    raw_quantized = True


class ZeroDivisorCheck:
    """Rejects a divisor tensor containing 0 (at prepare when constant, else at every invoke)."""

    def __init__(self, ctx: PrepareContext, b: TensorSpec, what: str):
        self.where, self.what = node_where(ctx), what
        self.runtime = b.value is None
        if not self.runtime and np.count_nonzero(b.value) != b.value.size:
            ctx.fail(f"divisor {b.describe()} is a constant containing 0 ({what} by zero)")

    def wrap(self, b: np.ndarray, step: Step) -> Step:
        if not self.runtime:
            return step
        size, where, what = b.size, self.where, self.what

        def checked() -> None:
            if np.count_nonzero(b) != size:
                raise RuntimeError(f"{where}: {what} by zero (the divisor tensor contains 0)")
            step()

        return checked


def float64_to_int(src: np.ndarray, wide: np.ndarray, out: np.ndarray) -> None:
    """Integral float64 ``src`` -> integer ``out`` wrapping modulo 2**bits (``wide``: int64 scratch).

    ``src`` must lie within int64's range (callers clip or know it does)."""
    np.copyto(wide, src, casting="unsafe")
    np.copyto(out, wide, casting="unsafe")
