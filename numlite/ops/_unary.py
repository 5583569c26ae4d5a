"""Elementwise family base: unary kernels, plus the shared checks of this family's binary ops.

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

ArithmeticBinary (SUB, MUL, DIV, SQUARED_DIFFERENCE, MAXIMUM, MINIMUM) extends
``_binary.BinaryKernel`` with what that base does not do, matching LiteRT 2.3:

1. Quantized tensors are rejected (except where ``raw_quantized``: MAXIMUM / MINIMUM compare
   stored values, so TFLite runs them on quantized data unchanged).
2. The output tensor's declared dtype must equal the inputs' dtype.
3. Fused activations clamp integer outputs too (RELU, RELU6, RELU_N1_TO_1 give integer ranges).
   TANH and SIGN_BIT are accepted and do nothing: TFLite's activation-range helper treats every
   other activation as the full range, so LiteRT's SUB / MUL / DIV ignore them (measured on both
   its default and reference kernels).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ._binary import BinaryKernel
from .base import (
    ACT_RELU,
    ACT_RELU6,
    ACT_RELU_N1_TO_1,
    ACTIVATION_NAMES,
    Kernel,
    PrepareContext,
    Step,
    TensorSpec,
    chain,
)

F32 = (np.float32,)


def reject_quantized(ctx: PrepareContext, specs: Sequence[TensorSpec | None]) -> None:
    """Fail naming the first quantized tensor among ``specs`` (quantized kernels come later)."""
    for s in specs:
        if s is not None and s.quantization.is_quantized:
            ctx.fail(f"{s.describe()} is quantized; numlite supports only the float/integer form of this op "
                     "so far")


def expect_output_dtype(ctx: PrepareContext, dtype: Any) -> None:
    out = ctx.outputs[0]
    if out.dtype is not None and np.dtype(out.dtype) != np.dtype(dtype):
        ctx.fail(f"output {out.describe()} has type {np.dtype(out.dtype).name}; the op computes "
                 f"{np.dtype(dtype).name}")


def no_fp_warnings(step: Step) -> Step:
    """Wrap ``step`` so NumPy does not warn about IEEE inf / nan results."""

    def quiet() -> None:
        with np.errstate(all="ignore"):
            step()

    return quiet


def clamp_range(act: int, dtype: Any) -> tuple[Any, Any] | None:
    """The (lo, hi) clamp of a fused activation for ``dtype`` as scalars of that dtype, or None
    when the activation leaves values unchanged (NONE, and TANH / SIGN_BIT as LiteRT's
    arithmetic ops treat them)."""
    t = np.dtype(dtype).type
    top = np.inf if np.dtype(dtype).kind == "f" else np.iinfo(dtype).max
    rng = {ACT_RELU: (0, top), ACT_RELU6: (0, 6), ACT_RELU_N1_TO_1: (-1, 1)}.get(act)
    if rng is None:
        return None
    return t(rng[0]), t(rng[1])


def clamp_step(act: int, out: np.ndarray) -> Step | None:
    """In-place fused activation on ``out`` (any numeric dtype), None when there is nothing to do."""
    rng = clamp_range(act, out.dtype)
    if rng is None:
        return None
    lo, hi = rng
    return lambda: np.clip(out, lo, hi, out=out)


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


class ArithmeticBinary(BinaryKernel):
    """BinaryKernel with quantized rejection, output dtype check and integer-aware activations."""

    ieee_specials: ClassVar[bool] = False
    raw_quantized: ClassVar[bool] = False

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        a, b = ctx.input(0), ctx.input(1)
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

    def compute_with(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        """The op's step; default ``compute`` (the BinaryKernel interface, no scratch)."""
        return self.compute(a, b, out)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        out = outputs[0]
        step = chain(self.compute_with(inputs[0], inputs[1], out, scratch), clamp_step(self.act, out))
        return no_fp_warnings(step) if self.ieee_specials and self.is_float else step
