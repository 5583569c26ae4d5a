"""Normalisation family base: ops that work on rows along the last axis (LOG_SOFTMAX,
L2_NORMALIZATION), and the gemmlowp fixed-point routines their quantized forms need.

RowKernel:

1. One input, one output of the input's shape and type; rank >= 1.  The input is viewed as
   ``(rows, cols)`` (all leading dimensions flattened, ``cols`` the last one); an empty tensor
   gives an empty result and a step that does nothing.
2. Subclasses list their plain ``dtypes`` and their ``quantized`` dtypes; a quantized input
   needs a quantized output with one scale each (the output parameters are fixed by the op and
   checked by the subclass in ``prepare_quantized``).
3. ``prepare_float`` / ``prepare_quantized`` request scratch; ``bind_float`` / ``bind_quantized``
   return the step on the ``(rows, cols)`` views.

Fixed point (all on int64 NumPy arrays holding int32 values, one value per row; they run once
per row at invoke, so temporaries of one value per row are allowed):

4. ``sat_pot(x, e)``: TFLite's ``SaturatingRoundingMultiplyByPOTParam`` for ``e >= 0`` (a
   saturating left shift; ``e`` may vary per row).
5. ``log_x_ge_1(x, in_bits, out_bits)``: TFLite's ``log_x_for_x_greater_than_or_equal_to_1``
   (the gemmlowp-style polynomial for ``log`` of a Q``in_bits`` value, result in Q``out_bits``).
   Its input is always >= 1 for LOG_SOFTMAX (the row maximum contributes exp(0) = 1); a negative
   value (a row sum that wrapped in int32, possible only with thousands of values at the row
   maximum) would make TFLite shift by negative amounts (undefined in C): numlite then shifts
   by 0, a defined result that need not match.
6. ``inv_sqrt_multiplier(x, reverse_shift)``: TFLite's ``GetInvSqrtQuantizedMultiplierExp``
   (Newton-Raphson for ``1 / sqrt(x)`` in Q3.28, five iterations), vectorised; ``x <= 1`` gives
   ``(INT32_MAX, 0)`` as TFLite does.
7. ``srdhm_floor_(acc, m)`` and ``rdpot_(acc, e, ...)``: in-place forms on whole ``(rows,
   cols)`` scratch arrays for the invoke step, with per-row multipliers / exponents.  The
   saturating rounding doubling high multiply with a non-negative multiplier is
   ``floor((a * m + 2**30) / 2**31)`` (its overflow case needs ``m = INT32_MIN``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from . import _qnonlinear as qn
from .base import Kernel, PrepareContext, Step, TensorSpec
from .quant import INT32_MAX, INT32_MIN

INPUT = 0


# --- fixed point, per row ---------------------------------------------------------------------
def sat_pot(x: Any, e: Any) -> np.ndarray:
    """Saturating ``x * 2**e`` for ``e >= 0`` (0 leaves ``x``), as int32 values in int64."""
    x = np.asarray(x, np.int64)
    e = np.maximum(np.asarray(e, np.int64), 0)
    return np.clip(x << e, INT32_MIN, INT32_MAX)


def _sat_add(a: np.ndarray, b: Any) -> np.ndarray:
    return np.clip(np.asarray(a, np.int64) + np.int64(b), INT32_MIN, INT32_MAX)


def log_x_ge_1(x: Any, in_bits: int, out_bits: int) -> np.ndarray:
    """TFLite's ``log_x_for_x_greater_than_or_equal_to_1<out_bits>`` of Q``in_bits`` raw values."""
    srdhm, wrap = qn.srdhm, qn.wrap32
    log_2, sqrt_sqrt_half, sqrt_half, one_quarter = 1488522236, 1805811301, 1518500250, 536870912
    alpha_n, alpha_d, alpha_i, alpha_f = 117049297, 127690142, 1057819769, 638450708
    accum_bits = out_bits + 1
    shifted_quarter = int(qn.rdpot(one_quarter, accum_bits))
    z_a = np.asarray(x, np.int64)
    hpo = qn.count_leading_zeros32(z_a)
    r_a = sat_pot(srdhm(sat_pot(z_a, hpo - 1), sqrt_half), 1)
    z_a_adj = _sat_add(sat_pot(in_bits - hpo, 31 - accum_bits), shifted_quarter)
    z_b = srdhm(z_a, sqrt_half)
    z_b_headroom = qn.count_leading_zeros32(z_b) - 1
    r_b = sat_pot(z_a, z_b_headroom)
    z_b_adj = _sat_add(sat_pot(in_bits - z_b_headroom, 31 - accum_bits), -shifted_quarter)
    r = np.minimum(r_a, r_b)
    z_pow_2_adj = np.maximum(z_a_adj, z_b_adj)
    p = qn.rounding_half_sum(r, sqrt_sqrt_half)
    q = wrap(r - sqrt_sqrt_half)
    q = wrap(q + q)
    common_sq = srdhm(q, q)
    num = wrap(srdhm(q, r) + srdhm(srdhm(q, common_sq), alpha_n))
    denom_minus_one = wrap(srdhm(p, wrap(wrap(alpha_i + q) + srdhm(alpha_d, common_sq))) + srdhm(alpha_f, q))
    recip_denom = qn.one_over_one_plus_x_for_x_in_0_1(denom_minus_one)
    num_scaled = qn.rdpot(num, accum_bits)
    res = wrap(srdhm(z_pow_2_adj, log_2) + srdhm(num_scaled, recip_denom))
    return sat_pot(res, accum_bits - out_bits)


def inv_sqrt_multiplier(x: Any, reverse_shift: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLite's ``GetInvSqrtQuantizedMultiplierExp`` on an array of non-negative int32 values:
    (multiplier, shift) arrays."""
    srdhm = qn.srdhm
    x = np.asarray(x, np.int64)
    small = x <= 1
    inp = np.where(small, 2, x)
    shift = np.full(inp.shape, 11, np.int64)
    while True:
        big = inp >= (1 << 29)
        if not big.any():
            break
        inp = np.where(big, inp // 4, inp)
        shift += big
    left_pairs = (qn.count_leading_zeros32(inp) - 1) // 2 - 1
    shift -= left_pairs
    inp = inp << (2 * left_pairs)
    half_input = qn.rdpot(inp >> 1, 1)
    half_three = (1 << 28) + (1 << 27)
    r = np.full(inp.shape, 1 << 28, np.int64)
    for _ in range(5):
        r3 = sat_pot(srdhm(srdhm(r, r), r), 6)
        r = sat_pot(qn.wrap32(srdhm(half_three, r) - srdhm(half_input, r3)), 3)
    r = srdhm(r, 1518500250)
    neg = shift < 0
    r = np.where(neg, qn.wrap32(r << np.where(neg, -shift, 0)), r)
    shift = np.where(neg, 0, shift) * reverse_shift
    return np.where(small, INT32_MAX, r), np.where(small, 0, shift)


# --- in-place invoke helpers on (rows, cols) int64 scratch --------------------------------------
def srdhm_floor_(acc: np.ndarray, m: Any) -> None:
    """``acc = SaturatingRoundingDoublingHighMul(acc, m)`` in place for multipliers ``m >= 0``
    (per row as a (rows, 1) column, or a scalar); ``|acc * m|`` must stay below 2**62."""
    np.multiply(acc, m, out=acc)
    np.add(acc, 1 << 30, out=acc)
    np.right_shift(acc, 31, out=acc)


def rdpot_(acc: np.ndarray, e: Any, neg: np.ndarray) -> None:
    """``acc = RoundingDivideByPOT(acc, e)`` in place (``e >= 0``, per row or a scalar):
    ``(acc + 2**(e-1) - (acc < 0)) >> e`` for ``e > 0``, unchanged for ``e == 0``.  ``neg``: a bool
    scratch like ``acc``."""
    e = np.asarray(e, np.int64)
    half = (np.int64(1) << e) >> 1
    has = (e > 0).astype(np.int64)
    np.less(acc, 0, out=neg)
    np.add(acc, half, out=acc)
    np.subtract(acc, has, out=acc, where=neg)
    np.right_shift(acc, e, out=acc)


def quantized_rdpot_(acc: np.ndarray, e: int, neg: np.ndarray) -> None:
    """``rdpot_`` for one constant exponent ``e > 0`` (no per-row arrays)."""
    np.less(acc, 0, out=neg)
    np.add(acc, 1 << (e - 1), out=acc)
    np.subtract(acc, neg, out=acc, casting="unsafe")
    np.right_shift(acc, e, out=acc)


# --- the row kernel base ----------------------------------------------------------------------
class RowKernel(Kernel):
    """Base of the ops that normalise along the last axis; see the module docstring."""

    dtypes: ClassVar[tuple[Any, ...]] = (np.float32,)
    quantized: ClassVar[tuple[Any, ...]] = ()

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        x = ctx.input(INPUT)
        out = ctx.outputs[0]
        dt = np.dtype(x.dtype)
        ctx.expect_dtype(x, tuple(self.dtypes) + tuple(self.quantized))
        if out.dtype is not None and np.dtype(out.dtype) != dt:
            ctx.fail(f"output {out.describe()} has type {np.dtype(out.dtype).name}; it must have the input's "
                     f"type {dt.name}")
        if x.rank < 1:
            ctx.fail(f"input {x.describe()} must have rank >= 1")
        ctx.set_output(0, x.shape, dt)
        self.cols = x.shape[-1]
        self.rows = x.size // self.cols if self.cols else 0
        self.empty = x.size == 0
        self.is_quant = dt in [np.dtype(t) for t in self.quantized]
        if self.is_quant:
            for s, role in ((x, "input"), (out, "output")):
                if not s.quantization.is_quantized:
                    ctx.fail(f"{role} {s.describe()} has type {dt.name} without quantization parameters; "
                             f"supported: " + ", ".join(np.dtype(t).name for t in self.dtypes)
                             + ", or quantized " + " / ".join(np.dtype(t).name for t in self.quantized))
                if s.quantization.scales.size != 1:
                    ctx.fail(f"{role} {s.describe()} must be quantized per tensor (one scale), got "
                             f"{s.quantization.scales.size}")
            self.prepare_quantized(ctx, x, out)
        else:
            self.prepare_float(ctx, x)

    def prepare_float(self, ctx: PrepareContext, x: TensorSpec) -> None:
        """Hook: request scratch for the float form."""

    def prepare_quantized(self, ctx: PrepareContext, x: TensorSpec, out: TensorSpec) -> None:
        """Hook: check the output parameters, build tables, request scratch."""

    def bind_float(self, x: np.ndarray, o: np.ndarray, scratch: list[np.ndarray]) -> Step:
        raise NotImplementedError

    def bind_quantized(self, x: np.ndarray, o: np.ndarray, scratch: list[np.ndarray]) -> Step:
        raise NotImplementedError

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        if self.empty:
            return lambda: None
        x = inputs[INPUT].reshape(self.rows, self.cols)
        o = outputs[0].reshape(self.rows, self.cols)
        return self.bind_quantized(x, o, scratch) if self.is_quant else self.bind_float(x, o, scratch)


def expect_output_quantization(ctx: PrepareContext, out: TensorSpec, dtype: np.dtype, scale: float,
                               scale_text: str, zero_points: dict[np.dtype, int]) -> int:
    """The fixed output quantization LiteRT requires of a quantized row op (LOG_SOFTMAX,
    L2_NORMALIZATION): fail naming it when ``out`` has another; return the zero point."""
    oq = out.quantization
    zp = zero_points[dtype]
    if float(np.float32(oq.scale)) != scale or oq.zero_point != zp:
        ctx.fail(f"{dtype.name} output {out.describe()} must have scale {scale_text} and zero point {zp}, got "
                 f"{float(oq.scale)} and {oq.zero_point}")
    return zp
