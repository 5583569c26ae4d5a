"""Elementwise family base: unary kernels.

UnaryKernel (RELU, TANH, EXP, CAST, ...):

1. One input, one output.  The input dtype must be one of the op's ``dtypes`` (float / plain
   integer forms) or of its ``quantized`` dtypes (8- and 16-bit forms with quantization
   parameters).  Quantized tensors of an op without a quantized form are rejected with an error
   naming the op and node.
2. The output has the input's shape and (unless ``output_dtype`` says otherwise) its dtype; a
   model whose output tensor declares another dtype is rejected, as LiteRT does.
3. ``setup(ctx, x)`` checks options and requests scratch; ``compute(x, out, scratch)`` returns
   the step that writes into the planned output view with ``out=`` and allocates nothing.
4. Ops whose float results legitimately reach inf / nan (LOG of 0, RSQRT of 0, EXP overflow)
   set ``ieee_specials`` so NumPy's floating-point warnings are silenced around the step: the
   values are IEEE results, exactly what LiteRT returns.
5. Quantized form: an elementwise op on 8- or 16-bit values is a function of the input value
   alone, so ``quant_table(ctx, x, out, values)`` evaluates TFLite's reference computation for
   every representable input (``values``, int64, ordered by unsigned bit pattern) once at
   prepare; the base clamps it to the output type and the step is a table lookup
   (``_qnonlinear.lut_step``: ``np.take`` through a small ``intp`` chunk scratch).  Tables have
   256 entries (int8 / uint8) or 65536 (int16, 128 KiB).  ``quant_compute`` may wrap the lookup
   (RSQRT validates its input).  ``check_symmetric_int16`` is TFLite's rule for the 16-bit
   forms of the elementwise family (ABS, SQRT, RSQRT, LOG): zero points of 0 on both sides.
6. Multipliers above 1: ``quant.multiply_by_quantized_multiplier`` / ``Requantizer`` compute
   ``x * (1 << shift)`` wrapping in int32, as the LiteRT wheel does (measured: ABS int16 with a
   multiplier of 1e6 maps 32768 to 0).
7. Ops whose LiteRT kernel never reads quantization parameters (NEG, CAST) set
   ``ignores_quantization``: their plain form then runs on the stored values of quantized
   tensors too (the parameters of input and output may differ; they are not looked at).
8. Fusion (``executor``, step 2b): a float32 op whose ``compute`` needs no scratch runs on
   ranges of its producer's output (``compute`` on the range views: the same ufuncs on the
   same elements); one whose ``compute`` reads each input element before it writes the output
   element at the same place, and never again, sets ``in_place_safe`` and runs in place.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from . import _qnonlinear as qn
from .base import (
    Epilogue,
    Kernel,
    PrepareContext,
    Step,
    TensorSpec,
    expect_output_dtype,
    no_fp_warnings,
    reject_quantized,
)

F32 = (np.float32,)
Q8 = (np.int8, np.uint8)
Q8_16 = (np.int8, np.uint8, np.int16)


class UnaryKernel(Kernel):
    """Base of one-input elementwise ops; subclasses set ``ufunc`` or override ``compute``."""

    dtypes: ClassVar[tuple[Any, ...]] = F32
    #: dtypes with a quantized (lookup table) form; the op then implements ``quant_table``
    quantized: ClassVar[tuple[Any, ...]] = ()
    ieee_specials: ClassVar[bool] = False
    #: the plain form runs on quantized tensors' stored values (LiteRT's kernel ignores the parameters)
    ignores_quantization: ClassVar[bool] = False
    #: step 8: ``compute(x, x, [])`` computes the op in place (float32)
    in_place_safe: ClassVar[bool] = False
    #: step 8: ``setup`` requested scratch for ``compute`` (then the op is not fused)
    needs_scratch: bool = False

    def epilogue(self, data: int) -> Epilogue | None:
        if self.table is not None or self.needs_scratch:
            return None
        compute = self.compute
        return Epilogue(lambda ins, out: (lambda first, end, x, o: compute(x, o, [])), in_place=self.in_place_safe)

    def output_dtype(self, ctx: PrepareContext, x: TensorSpec) -> Any:
        """The dtype of the result (default: the input's)."""
        expect_output_dtype(ctx, x.dtype)
        return x.dtype

    def setup(self, ctx: PrepareContext, x: TensorSpec) -> None:
        """Hook: check options, precompute constants, request scratch."""

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        f = self.ufunc  # type: ignore[attr-defined]
        return lambda: f(x, out=out)

    def quant_table(self, ctx: PrepareContext, x: TensorSpec, out: TensorSpec, values: np.ndarray) -> np.ndarray:
        """Hook of quantized ops: the int64 result for every input value in ``values``."""
        raise NotImplementedError

    def quant_compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        return qn.lut_step(self.table, x, out, scratch[self.idx_slot])

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        x = ctx.input(0)
        self.table = None
        qtypes = [np.dtype(t) for t in self.quantized]
        if np.dtype(x.dtype) in qtypes and x.quantization.is_quantized:
            self.prepare_quantized(ctx, x)
            return
        ctx.expect_dtype(x, tuple(self.dtypes) + tuple(t for t in self.quantized if t not in self.dtypes))
        if np.dtype(x.dtype) not in [np.dtype(t) for t in self.dtypes]:
            names = ", ".join(np.dtype(t).name for t in self.dtypes)
            ctx.fail(f"input {x.describe()} has no quantization parameters; supported: {names}, or quantized "
                     + "/".join(t.name for t in qtypes))
        if not self.ignores_quantization:
            reject_quantized(ctx, [x, ctx.outputs[0]])
        dtype = self.output_dtype(ctx, x)
        ctx.set_output(0, x.shape, dtype)
        requested = len(ctx.scratch_specs)
        self.setup(ctx, x)
        self.needs_scratch = len(ctx.scratch_specs) > requested

    @staticmethod
    def check_symmetric_int16(ctx: PrepareContext, x: TensorSpec, out: TensorSpec) -> None:
        """Fail unless an int16 input and its output have zero points of 0 (LiteRT's check)."""
        in_zp, out_zp = x.quantization.zero_point, out.quantization.zero_point
        if np.dtype(x.dtype) == np.int16 and (in_zp != 0 or out_zp != 0):
            ctx.fail(f"int16 input {x.describe()} and output need zero points of 0, got {in_zp} and {out_zp}")

    def prepare_quantized(self, ctx: PrepareContext, x: TensorSpec) -> None:
        out = ctx.outputs[0]
        expect_output_dtype(ctx, x.dtype)
        if not out.quantization.is_quantized:
            ctx.fail(f"input {x.describe()} is quantized but output {out.describe()} has no quantization "
                     "parameters")
        for s, role in ((x, "input"), (out, "output")):
            if s.quantization.scales.size != 1:
                ctx.fail(f"{role} {s.describe()} must be quantized per tensor (one scale), got "
                         f"{s.quantization.scales.size}")
        ctx.set_output(0, x.shape, x.dtype)
        info = np.iinfo(x.dtype)
        table = self.quant_table(ctx, x, out, qn.all_values(x.dtype))
        self.table = np.clip(table, info.min, info.max).astype(x.dtype)
        self.idx_slot = ctx.scratch((max(1, min(x.size, qn.CHUNK)),), np.intp)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        if self.table is not None:
            return self.quant_compute(inputs[0], outputs[0], scratch)
        step = self.compute(inputs[0], outputs[0], scratch)
        return no_fp_warnings(step) if self.ieee_specials else step
