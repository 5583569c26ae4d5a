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
5. A constant operand broadcast along the leading dimensions (a per-channel bias or scale of
   shape ``[C]`` or ``[1, 1, 1, C]``, as real models have) against a contiguous operand of the
   output's shape: NumPy would loop over its outer dimensions with a short inner loop.  At
   prepare the constant is repeated into a row of about 4096 elements whose length divides the
   output, and the step runs the same ufunc over ``[n, L]`` views (the same element pairs, so
   the same results): twice as fast on ``[1, 128, 128, 16] x [16]``.  Only for ops that use the
   plain ufunc step (not ``compute`` / ``compute_with`` overrides).
6. Fusion (``executor``, step 2b), float32 ops with the plain ufunc step: the op runs in place
   on ranges of one input's producer when the other input has the output's shape (a residual
   ADD: the same element pairs) or is a constant tiled as in step 5 (a per-channel scale or
   bias); the operands keep their order (SUB, DIV), then the fused activation.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ._qbinary import QuantizedStep
from ._tiling import RangeRows, period_dims, row_length
from .base import (
    ACTIVATION_NAMES,
    Epilogue,
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
    #: step 5: (index of the constant input, its tiled row), set at prepare
    tiled: tuple[int, np.ndarray] | None = None
    #: step 6: (index of the constant input, one period of it along the flat order)
    pattern: tuple[int, np.ndarray] | None = None
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
        self.shapes = (tuple(a.shape), tuple(b.shape), tuple(shape))
        self.setup(ctx, a, b)
        self.tiled = self._tile_constant(a, b, shape)

    def _tile_constant(self, a: TensorSpec, b: TensorSpec, shape: tuple[int, ...]) -> tuple[int, np.ndarray] | None:
        """(which input is the constant, its tiled row) for step 5, or None; sets
        ``self.pattern``: (that input, one period of it along the flat order) for step 6."""
        cls = type(self)
        self.pattern = None
        if cls.compute is not BinaryKernel.compute or cls.compute_with is not BinaryKernel.compute_with:
            return None
        for k, (c, x) in enumerate(((a, b), (b, a))):
            if c.value is None or tuple(x.shape) != tuple(shape) or tuple(c.shape) == tuple(shape):
                continue
            total = int(np.prod(shape, dtype=np.int64))
            p_dims = period_dims(tuple(shape), tuple(c.shape))
            period = int(np.prod(shape[len(shape) - p_dims:], dtype=np.int64)) if p_dims else 1
            if period <= 0 or total == 0 or total % period:
                return None
            row = np.broadcast_to(c.value, tuple(shape))[(0,) * (len(shape) - p_dims)] if p_dims else c.value
            row = np.asarray(row, c.dtype).reshape(-1)
            self.pattern = k, row
            if total < 4096:
                return None
            length = row_length(total, period)
            return k, np.tile(row, length // period).reshape(1, length)
        return None

    def epilogue(self, data: int) -> Epilogue | None:
        """Step 6."""
        cls = type(self)
        if (self.quant is not None or not self.is_float or cls.compute is not BinaryKernel.compute
                or cls.compute_with is not BinaryKernel.compute_with or not hasattr(self, "shapes")):
            return None
        shape, other = self.shapes[2], 1 - data
        if self.shapes[data] != shape:
            return None
        f, act = self.ufunc, self.act  # type: ignore[attr-defined]
        if self.shapes[other] == shape:
            def residual(ins: list, out: np.ndarray):
                r = ins[other].reshape(-1)

                def factory(first: int, end: int, x: np.ndarray, o: np.ndarray) -> Step:
                    args = (o, r[first:end]) if data == 0 else (r[first:end], o)
                    return chain(lambda: f(*args, out=o), clamp_step(act, o))

                return factory

            return Epilogue(residual)
        if self.pattern is None or self.pattern[0] != other:
            return None
        tiler = RangeRows(self.pattern[1])
        period = tiler.period

        def factory(first: int, end: int, x: np.ndarray, o: np.ndarray) -> Step:
            o2, (c,) = tiler.view(o)
            args = (o2, c) if data == 0 else (c, o2)
            return chain(lambda: f(*args, out=o2), clamp_step(act, o))

        return Epilogue(lambda ins, out: factory, period=period)

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
        a, b = inputs[0], inputs[1]
        if self.tiled is not None and out.flags.c_contiguous and inputs[1 - self.tiled[0]].flags.c_contiguous:
            k, row = self.tiled
            x2 = inputs[1 - k].reshape(-1, row.shape[1])
            a, b = (row, x2) if k == 0 else (x2, row)
            main = self.compute(a, b, out.reshape(-1, row.shape[1]))
        else:
            main = self.compute_with(a, b, out, scratch)
        step = chain(main, clamp_step(self.act, out))
        return no_fp_warnings(step) if self.ieee_specials and self.is_float else step
