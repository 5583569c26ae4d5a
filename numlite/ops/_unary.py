"""Elementwise family base: unary kernels.

UnaryKernel (RELU, TANH, EXP, CAST, ...):

1. One input, one output.  The input dtype must be one of the op's ``dtypes``; quantized
   tensors are rejected (their kernels are separate work) with an error naming the op and node.
2. The output has the input's shape and (unless ``output_dtype`` says otherwise) its dtype; a
   model whose output tensor declares another dtype is rejected, as LiteRT does.
3. ``setup(ctx, x)`` checks options and requests scratch; ``compute(x, out, scratch)`` returns
   the step that writes into the planned output view with ``out=`` and allocates nothing.
4. Ops whose float results legitimately reach inf / nan (LOG of 0, RSQRT of 0, EXP overflow)
   set ``ieee_specials`` so NumPy's floating-point warnings are silenced around the step: the
   values are IEEE results, exactly what LiteRT returns.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .base import Kernel, PrepareContext, Step, TensorSpec, expect_output_dtype, no_fp_warnings, reject_quantized

F32 = (np.float32,)


class UnaryKernel(Kernel):
    """Base of one-input elementwise ops; subclasses set ``ufunc`` or override ``compute``."""

    dtypes: ClassVar[tuple[Any, ...]] = F32
    ieee_specials: ClassVar[bool] = False

    def output_dtype(self, ctx: PrepareContext, x: TensorSpec) -> Any:
        """The dtype of the result (default: the input's)."""
        expect_output_dtype(ctx, x.dtype)
        return x.dtype

    def setup(self, ctx: PrepareContext, x: TensorSpec) -> None:
        """Hook: check options, precompute constants, request scratch."""

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        f = self.ufunc  # type: ignore[attr-defined]
        return lambda: f(x, out=out)

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        x = ctx.input(0)
        ctx.expect_dtype(x, self.dtypes)
        reject_quantized(ctx, [x, ctx.outputs[0]])
        dtype = self.output_dtype(ctx, x)
        ctx.set_output(0, x.shape, dtype)
        self.setup(ctx, x)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        step = self.compute(inputs[0], outputs[0], scratch)
        return no_fp_warnings(step) if self.ieee_specials else step
