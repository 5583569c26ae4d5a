"""PRELU: ``x if x >= 0 else alpha * x`` with a tensor ``alpha`` broadcast against ``x``; float32,
and quantized uint8 / int8 (alpha of the same type) and int16 (int8 or int16 alpha).

Float:

1. Inputs: x, alpha (same dtype); alpha must broadcast into x's shape, which the output keeps
   (LiteRT checks the same).
2. When alpha is a constant with every value in [0, 1] (the usual trained case):
   ``max(x, alpha * x)``, two passes and no scratch.
3. Otherwise: ``alpha * x``, then copy ``x`` where ``x >= 0`` (a bool scratch of x's shape).

Quantized (LiteRT's reference kernel): multipliers ``in_scale / out_scale`` and ``in_scale *
alpha_scale / out_scale`` (float32, as TFLite computes them); ``v = x - in_zp``; ``v >= 0``:
``mbqm(v, m1)``, else ``mbqm(v * (alpha - alpha_zp), m2)``; plus the output zero point, clamped.
``mbqm`` is TFLite's MultiplyByQuantizedMultiplier whose left shift (multipliers above 1)
wraps in int32, as in LiteRT (``quant.multiply_by_quantized_multiplier``; measured: int16 ``x = -32768``,
``alpha = -128``, multiplier 1000 gives 0).

4. uint8 / int8: the result depends on two 8-bit values only, so prepare builds a 65536-entry
   table indexed by ``alpha_bits * 256 + x_bits``; invoke forms that index in an intp scratch of
   x's shape (alpha broadcast) and takes from the table.
5. int16: computed directly in int64 scratch (two in-place requantizations, selected by sign;
   ``quant.requantize_into``).
6. int16 input with an int16 alpha: LiteRT's kernel reads alpha's buffer as int8 whatever its
   type (it does not compare the types), so alpha's values are the first ``alpha.size`` bytes
   of the int16 buffer taken as int8 (little-endian: the low byte of element 0, its high byte,
   the low byte of element 1, ...), with alpha's shape, zero point and scale.  numlite does
   the same, through an int8 view (measured on LiteRT 2.3, reference and default kernels).
"""

from __future__ import annotations

import numpy as np

from . import _qnonlinear as qn
from .base import Kernel, PrepareContext, Step, TensorSpec, expect_output_dtype, reject_quantized
from .quant import multiply_by_quantized_multiplier, quantize_multiplier, requantize_into
from .registry import register

INPUT, ALPHA = 0, 1
ZERO = np.float32(0)
QUANT_ALPHA = {np.dtype(np.int8): (np.int8,), np.dtype(np.uint8): (np.uint8,), np.dtype(np.int16): (np.int8, np.int16)}


@register("PRELU", versions=(1,))
class Prelu(Kernel):
    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        x, alpha = ctx.input(INPUT), ctx.input(ALPHA)
        self.quant = None
        if np.dtype(x.dtype) in QUANT_ALPHA and x.quantization.is_quantized:
            self.prepare_quantized(ctx, x, alpha)
            return
        reject_quantized(ctx, [x, alpha, ctx.outputs[0]])
        ctx.expect_dtype(x, (np.float32,))
        ctx.expect_dtype(alpha, (np.float32,), role="alpha")
        expect_output_dtype(ctx, x.dtype)
        self.set_shape(ctx, x, alpha)
        a = alpha.value
        self.mask = None
        if a is None or a.size == 0 or not bool(np.all((a >= 0) & (a <= 1))):
            self.mask = ctx.scratch(x.shape, np.bool_)

    @staticmethod
    def set_shape(ctx: PrepareContext, x: TensorSpec, alpha: TensorSpec) -> None:
        try:
            shape = np.broadcast_shapes(x.shape, alpha.shape)
        except ValueError:
            ctx.fail(f"alpha {alpha.describe()} does not broadcast against input {x.describe()}")
        if shape != tuple(x.shape):
            ctx.fail(f"alpha {alpha.describe()} broadcasts the input {x.describe()} to {list(shape)}; "
                     "the output must keep the input's shape")
        ctx.set_output(0, shape, x.dtype)

    def prepare_quantized(self, ctx: PrepareContext, x: TensorSpec, alpha: TensorSpec) -> None:
        out = ctx.outputs[0]
        want = QUANT_ALPHA[np.dtype(x.dtype)]
        ctx.expect_dtype(alpha, want, role="alpha")
        expect_output_dtype(ctx, x.dtype)
        for s, role in ((alpha, "alpha"), (out, "output")):
            if not s.quantization.is_quantized:
                ctx.fail(f"{role} {s.describe()} has no quantization parameters (the input is quantized)")
        for s, role in ((x, "input"), (alpha, "alpha"), (out, "output")):
            if s.quantization.scales.size != 1:
                ctx.fail(f"{role} {s.describe()} must be quantized per tensor (one scale)")
        self.set_shape(ctx, x, alpha)
        f32 = np.float32
        in_s, a_s, out_s = (f32(s.quantization.scale) for s in (x, alpha, out))
        with np.errstate(all="ignore"):
            self.m1 = tuple(int(v) for v in quantize_multiplier(float(in_s / out_s)))
            self.m2 = tuple(int(v) for v in quantize_multiplier(float(in_s * a_s / out_s)))
        self.zps = (x.quantization.zero_point, alpha.quantization.zero_point, out.quantization.zero_point)
        info = np.iinfo(x.dtype)
        self.lim = (info.min, info.max)
        if np.dtype(x.dtype).itemsize == 1:
            self.quant = "table"
            xv = qn.all_values(x.dtype)[None, :] - self.zps[0]
            av = qn.all_values(alpha.dtype)[:, None] - self.zps[1]
            pos = multiply_by_quantized_multiplier(np.broadcast_to(xv, (256, 256)), *self.m1).astype(np.int64)
            neg = multiply_by_quantized_multiplier(xv * av, *self.m2).astype(np.int64)
            res = np.where(xv >= 0, pos, neg) + self.zps[2]
            self.table = np.clip(res, *self.lim).astype(x.dtype).reshape(-1)
            self.idx_slot = ctx.scratch(x.shape, np.intp)
        else:
            self.quant = "direct"
            self.slots = [ctx.scratch(x.shape, t) for t in (np.int64, np.int64, np.int64, np.bool_)]

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        x, alpha, out = inputs[INPUT], inputs[ALPHA], outputs[0]
        if self.quant is not None and alpha.dtype == np.int16:  # read as int8, as LiteRT does (6.)
            alpha = np.ascontiguousarray(alpha).reshape(-1).view(np.int8)[:alpha.size].reshape(alpha.shape)
        if self.quant == "table":
            return self.bind_table(x, alpha, out, scratch[self.idx_slot])
        if self.quant == "direct":
            return self.bind_direct(x, alpha, out, [scratch[s] for s in self.slots])
        if self.mask is None:
            def two_pass() -> None:
                np.multiply(x, alpha, out=out)
                np.maximum(out, x, out=out)

            return two_pass
        m = scratch[self.mask]

        def masked() -> None:
            np.multiply(x, alpha, out=out)
            np.greater_equal(x, ZERO, out=m)
            np.copyto(out, x, where=m)

        return masked

    def bind_table(self, x: np.ndarray, alpha: np.ndarray, out: np.ndarray, idx: np.ndarray) -> Step:
        table = self.table
        xu, au = x.view(np.uint8), alpha.view(np.uint8)
        k = np.intp(256)

        def step() -> None:
            np.multiply(au, k, out=idx, dtype=np.intp)
            np.add(idx, xu, out=idx, dtype=np.intp)
            np.take(table, idx, out=out, mode="wrap")

        return step

    def bind_direct(self, x: np.ndarray, alpha: np.ndarray, out: np.ndarray, bufs: list[np.ndarray]) -> Step:
        v, prod, tmp, neg = bufs
        (q1, s1), (q2, s2) = self.m1, self.m2
        zx, za, zo = (np.int64(z) for z in self.zps)
        lo, hi = self.lim

        def step() -> None:
            np.subtract(x, zx, out=v, dtype=np.int64)
            np.subtract(alpha, za, out=prod, dtype=np.int64)
            np.multiply(prod, v, out=prod)
            np.less(v, 0, out=neg)  # these take the alpha branch
            requantize_into(v, q1, s1, tmp)
            requantize_into(prod, q2, s2, tmp)
            np.copyto(v, prod, where=neg)
            np.add(v, zo, out=v)
            np.clip(v, lo, hi, out=v)
            np.copyto(out, v, casting="unsafe")

        return step
