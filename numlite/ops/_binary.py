"""Base for broadcasting binary elementwise ops (ADD, SUB, MUL, DIV, SQUARED_DIFFERENCE,
MAXIMUM, MINIMUM; float and integer forms), matching LiteRT 2.3:

1. Both inputs must have the same dtype, one of the op's ``dtypes``, and the output tensor's
   declared dtype must be that dtype too.  Quantized tensors are rejected, except where
   ``raw_quantized`` (MAXIMUM / MINIMUM compare stored values, so TFLite runs them on quantized
   data unchanged) and for the ``qdtypes`` of ops with a quantized form (ADD, SUB, MUL,
   SQUARED_DIFFERENCE): int8 / uint8 inputs always take it, int16 ones when the output tensor
   is quantized.  Those go to the subclass's ``prepare_quantized``, which returns a
   ``_qbinary.QuantizedStep`` (see that module) that binds the invoke step.
2. The output shape is NumPy broadcasting of the two input shapes (TFLite's rules agree for
   the shapes it accepts).
3. The step is one ufunc call writing into the planned output view, then the fused activation
   in place.  Activations clamp integer outputs too (RELU, RELU6, RELU_N1_TO_1 give integer
   ranges).  TANH and SIGN_BIT are accepted and do nothing: TFLite's activation-range helper
   treats every other activation as the full range, so LiteRT's arithmetic ops ignore them
   (measured on both its default and reference kernels).
4. Ops whose float results legitimately reach inf / nan set ``ieee_specials`` so NumPy's
   floating-point warnings are silenced around the step.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ._qbinary import QuantizedStep
from .base import (
    ACTIVATION_NAMES,
    Kernel,
    PrepareContext,
    Step,
    TensorSpec,
    chain,
    clamp_step,
    expect_output_dtype,
    no_fp_warnings,
    reject_quantized,
)

FLOAT_INT = (np.float32, np.int32, np.int64)


class BinaryKernel(Kernel):
    """Subclasses set ``ufunc`` (or override ``compute`` / ``compute_with``) and ``dtypes``."""

    dtypes: ClassVar[tuple[Any, ...]] = FLOAT_INT
    has_activation: ClassVar[bool] = True
    ieee_specials: ClassVar[bool] = False
    raw_quantized: ClassVar[bool] = False
    #: dtypes with a quantized form (``prepare_quantized``)
    qdtypes: ClassVar[tuple[Any, ...]] = ()
    quant: QuantizedStep | None = None

    def takes_quantized(self, a: TensorSpec, out: TensorSpec) -> bool:
        dt = np.dtype(a.dtype)
        if dt not in [np.dtype(t) for t in self.qdtypes]:
            return False
        return dt.itemsize == 1 or out.quantization.is_quantized

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        a, b = ctx.input(0), ctx.input(1)
        self.quant = None
        if self.takes_quantized(a, ctx.outputs[0]):
            if np.dtype(a.dtype) != np.dtype(b.dtype):
                ctx.fail(f"input types differ: {a.describe()} vs {b.describe()}")
            try:
                shape = np.broadcast_shapes(a.shape, b.shape)
            except ValueError:
                ctx.fail(f"cannot broadcast {a.describe()} with {b.describe()}")
            out = ctx.outputs[0]
            ctx.set_output(0, shape, out.dtype if out.dtype is not None else a.dtype)
            self.act = int(self.options.get("fused_activation_function") or 0) if self.has_activation else 0
            if self.act not in ACTIVATION_NAMES:
                ctx.fail(f"unknown fused activation {self.act}")
            self.quant = self.prepare_quantized(ctx, a, b, ctx.outputs[0])
            return
        if not self.raw_quantized:
            reject_quantized(ctx, [a, b, ctx.outputs[0]])
        ctx.expect_dtype(a, self.dtypes)
        if np.dtype(a.dtype) != np.dtype(b.dtype):
            ctx.fail(f"input types differ: {a.describe()} vs {b.describe()}")
        expect_output_dtype(ctx, a.dtype)
        try:
            shape = np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            ctx.fail(f"cannot broadcast {a.describe()} with {b.describe()}")
        ctx.set_output(0, shape, a.dtype)
        self.act = int(self.options.get("fused_activation_function") or 0) if self.has_activation else 0
        if self.act not in ACTIVATION_NAMES:
            ctx.fail(f"unknown fused activation {self.act}")
        self.is_float = np.dtype(a.dtype).kind == "f"
        self.setup(ctx, a, b)

    def setup(self, ctx: PrepareContext, a: TensorSpec, b: TensorSpec) -> None:
        """Hook: extra checks and scratch requests."""

    def prepare_quantized(self, ctx: PrepareContext, a: TensorSpec, b: TensorSpec,
                          out: TensorSpec) -> QuantizedStep:  # pragma: no cover - ops with qdtypes override
        raise NotImplementedError

    def compute(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> Step:
        """The step computing ``out = op(a, b)``; default: ``self.ufunc``."""
        f = self.ufunc  # type: ignore[attr-defined]
        return lambda: f(a, b, out=out)

    def compute_with(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        """The op's step when it needs scratch; default ``compute``."""
        return self.compute(a, b, out)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        out = outputs[0]
        if self.quant is not None:
            return self.quant.bind(inputs[0], inputs[1], out, scratch)
        step = chain(self.compute_with(inputs[0], inputs[1], out, scratch), clamp_step(self.act, out))
        return no_fp_warnings(step) if self.ieee_specials and self.is_float else step
