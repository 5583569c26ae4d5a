"""Base for the broadcasting comparisons EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER and
GREATER_EQUAL, matching LiteRT 2.3 (its reference and default kernels are the same code):

1. Two inputs of one dtype, one output whose dtype becomes bool (LiteRT overrides the declared
   type the same way).  Types: EQUAL / NOT_EQUAL take bool, float16, float32, int8, uint8,
   int16, int32, int64 and strings; the ordering ops take the same without bool and strings
   (LiteRT refuses strings there too).  Strings (object arrays of ``bytes``) are equal when
   their bytes are: same length, same content.
2. The output shape is NumPy broadcasting of the two input shapes.  Inputs of different shapes
   may broadcast to at most 8 dimensions (LiteRT aborts above that); equal shapes have no limit.
3. Plain form: one ufunc call (``np.equal`` ...) writing into the planned bool output.  NaN
   compares unequal to everything (IEEE, as C++ does).  Strings go through the same call (NumPy's
   object loop compares the ``bytes`` objects), with the same broadcasting and rank limit as
   LiteRT's string comparison.
4. Quantized form (int8 / uint8, and int16 for EQUAL / NOT_EQUAL when the first input has
   quantization parameters): LiteRT does not dequantize but maps each stored value ``q`` of an
   input with scale ``s`` and zero point ``z`` to ``M((q - z) * 256)``, where ``M`` multiplies
   by ``s`` in fixed point: ``s`` is encoded as (multiplier, shift) by QuantizeMultiplier
   (``s < 1``) or QuantizeMultiplierGreaterThanOne (``s > 1``), then a saturating rounding
   doubling high multiply and a rounding divide by ``2**-shift``.  The two mapped int32 values
   are compared.  Since an input holds 8 or 16 bits, the map is a table over every stored value
   built at prepare (256 or 65536 int32 entries, computed with ``quant``); the invoke step looks
   both inputs up through ``intp`` index scratch into int32 scratch and compares those.
5. LiteRT quirks matched or refused (measured on the 2.3.0 wheel):
   a. For ``s > 1`` the divide gets a negative exponent, which C++ leaves undefined.  On the x86
      wheel the scalar code computes ``(y >> (32 - shift)) + (y >= 0)`` (``y`` the high
      multiply's result) and the vectorised loops give ``sign(y)`` as 1 / -1 (a shift count of
      32 or more fills with the sign); the two agree, on 1 for ``y >= 0`` and -1 below, while
      ``|y| < 2**(32 - shift)``.  numlite computes that 1 / -1 map and refuses (at prepare)
      scales for which some stored value leaves that range (int16 with scales of 256 and more),
      where LiteRT's result depends on which loop touches the element.
   b. A scale of exactly 1.0, a scale of 0 (no quantization) on one input of a quantized pair,
      or a non-positive scale abort the LiteRT process (a failed CHECK): numlite refuses them at
      prepare with an error naming the tensor.
   c. int8 / uint8 inputs without quantization parameters also abort LiteRT; numlite compares
      their stored values (the only meaning such tensors have) - a documented extension.
   d. LESS / LESS_EQUAL / GREATER / GREATER_EQUAL ignore the quantization of int16 inputs and
      compare stored values; EQUAL / NOT_EQUAL rescale them.  Matched.
   e. LiteRT's NOT_EQUAL on int16 inputs without quantization writes nothing (its output is
      whatever the buffer held); numlite computes the stored-value comparison instead.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .base import Kernel, PrepareContext, Step, TensorSpec
from .quant import all_values, quantize_multiplier, rounding_divide_by_pot, saturating_rounding_doubling_high_mul

A, B = 0, 1
ORDER_DTYPES = (np.float16, np.float32, np.int8, np.uint8, np.int16, np.int32, np.int64)
EQUALITY_DTYPES = (np.bool_,) + ORDER_DTYPES + (np.object_,)
MAX_BROADCAST_RANK = 8
LEFT_SHIFT = 8


def broadcast_output(ctx: PrepareContext, specs: list[TensorSpec], what: str = "inputs") -> tuple[int, ...]:
    """The broadcast shape of ``specs``; fails when they do not broadcast, or when shapes that
    differ broadcast to more than 8 dimensions (LiteRT's limit)."""
    try:
        shape = np.broadcast_shapes(*(s.shape for s in specs))
    except ValueError:
        ctx.fail(f"cannot broadcast the {what} " + " and ".join(s.describe() for s in specs))
    if len(shape) > MAX_BROADCAST_RANK and any(s.shape != specs[0].shape for s in specs):
        ctx.fail(f"broadcasting the {what} gives rank {len(shape)}; LiteRT broadcasts at most "
                 f"{MAX_BROADCAST_RANK} dimensions")
    return tuple(shape)


def comparison_table(dtype: Any, scale: float, zero_point: int) -> np.ndarray:
    """The int32 value LiteRT's quantized comparison compares for every stored value of ``dtype``
    (ordered by unsigned bit pattern, see ``quant.all_values``); step 4 and quirk 5a above."""
    x = (all_values(dtype) - zero_point) * (1 << LEFT_SHIFT)
    q, shift = (int(v) for v in quantize_multiplier(scale))
    y = saturating_rounding_doubling_high_mul(x, q)
    if shift <= 0:
        return rounding_divide_by_pot(y, -shift).astype(np.int32)
    high = y >> (32 - shift) if shift < 32 else y
    if shift >= 32 or np.any((high != 0) & (high != -1)):
        raise ValueError(f"scale {scale} maps some {np.dtype(dtype).name} values outside the range where LiteRT's "
                         "undefined negative-exponent rounding is deterministic")
    return np.where(y >= 0, 1, -1).astype(np.int32)


def lookup_step(table: np.ndarray, x: np.ndarray, idx: np.ndarray, out: np.ndarray) -> Step:
    """A step writing ``table[x as unsigned]`` into ``out`` (x's shape) through ``intp`` scratch."""
    unsigned = np.uint8 if x.dtype.itemsize == 1 else np.uint16
    xv = x.view(unsigned)
    iv = idx.reshape(x.shape)
    take, copyto = np.take, np.copyto

    def step() -> None:
        copyto(iv, xv, casting="unsafe")
        take(table, iv, out=out)

    return step


class CompareKernel(Kernel):
    """Subclasses set ``ufunc`` and ``dtypes`` (and ``int16_rescaled`` for EQUAL / NOT_EQUAL)."""

    ufunc: ClassVar[np.ufunc]
    dtypes: ClassVar[tuple[Any, ...]] = ORDER_DTYPES
    #: int16 inputs with quantization parameters are rescaled (else compared as stored)
    int16_rescaled: ClassVar[bool] = False

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        a, b = ctx.input(A), ctx.input(B)
        ctx.expect_dtype(a, self.dtypes, "input 0")
        if np.dtype(a.dtype) != np.dtype(b.dtype):
            ctx.fail(f"input types differ: {a.describe()} vs {b.describe()}")
        shape = broadcast_output(ctx, [a, b])
        ctx.set_output(0, shape, np.bool_)
        self.tables: tuple[np.ndarray, np.ndarray] | None = None
        dt = np.dtype(a.dtype)
        quantized = (dt.itemsize == 1 and dt.kind in "iu" and (a.quantization.is_quantized
                                                               or b.quantization.is_quantized))
        quantized = quantized or (dt == np.int16 and self.int16_rescaled and a.quantization.is_quantized)
        if quantized:
            tables = []
            for s in (a, b):
                scale = float(np.float32(s.quantization.scale))
                if not s.quantization.is_quantized or not np.isfinite(scale) or scale <= 0:
                    ctx.fail(f"quantized comparison needs a positive scale on both inputs; {s.describe()} has "
                             f"{'none' if not s.quantization.is_quantized else scale} (LiteRT aborts)")
                if scale == 1.0:
                    ctx.fail(f"{s.describe()} has scale 1.0, which LiteRT's quantized comparison cannot encode "
                             "(it aborts)")
                try:
                    tables.append(comparison_table(dt, scale, s.quantization.zero_point))
                except ValueError as e:
                    ctx.fail(f"{s.describe()}: {e}")
            self.tables = (tables[0], tables[1])
            self.slots = [(ctx.scratch((max(s.size, 1),), np.intp), ctx.scratch(s.shape, np.int32)) for s in (a, b)]

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        a, b, out = inputs[A], inputs[B], outputs[0]
        f = self.ufunc
        if out.size == 0:
            return lambda: None
        if self.tables is None:
            return lambda: f(a, b, out=out)
        (ia, sa), (ib, sb) = ((scratch[i], scratch[s]) for i, s in self.slots)
        look_a = lookup_step(self.tables[0], a, ia, sa)
        look_b = lookup_step(self.tables[1], b, ib, sb)

        def step() -> None:
            look_a()
            look_b()
            f(sa, sb, out=out)

        return step
