"""PRELU: ``x if x >= 0 else alpha * x`` with a tensor ``alpha`` broadcast against ``x``; float32,
and quantized uint8 / int8 (alpha of the same type) and int16 (int8 or int16 alpha).

Float, alpha a constant (every real model; MediaPipe's alphas are per channel, many negative and
some above 1):

1. Inputs: x, alpha (same dtype); alpha must broadcast into x's shape, which the output keeps
   (LiteRT checks the same).
2. Broadcast alpha repeats along x's flat order with a period ``P`` (the product of x's trailing
   dims from alpha's first dim that is not 1).  Prepare tiles that period into a row of about
   ``ROW`` elements whose length divides x's size (a tensor that is not contiguous - arena views
   always are - broadcasts one period instead), so each pass is a ufunc over ``(n, L)`` rows
   with a long inner loop (NumPy's broadcasting of a 16-element alpha over 96x96 pixels spends
   more time in its outer loop than in the arithmetic).
3. Every alpha finite, nonzero and at most 1: ``max(alpha * x, x)`` - two passes, exact.  For
   ``x > 0``: ``alpha * x <= x`` (``alpha`` in (0, 1]: rounding is monotonic and ``x`` is
   representable; ``alpha < 0``: the product is negative); for ``x < 0`` likewise
   ``alpha * x >= x``.  Ties only at ``x = alpha * x`` (zeros, infinities, ``alpha = 1``), where
   NumPy's maximum returns ``x`` (the operand it returns on ties, probed at import: ``TIE_LAST``),
   which is the reference kernel's ``-0.0`` too (its test is ``x >= 0``).  nan stays nan.
4. Some alphas above 1 (finite): ``min(alpha * x, x)`` is exact there, by the same argument
   (every alpha above 1: that alone, two passes).  With few such channels (``fix_is_cheaper``, a
   cost model: about one in 16 of the period, fewer on small tensors where calls dominate) step 3
   runs on all, then each such channel is redone on its strided view (multiply, minimum; a
   strided element costs about 15 contiguous ones).  With more: the sign trick, four passes and
   a scratch: ``s = -1`` on those channels, else 1;
   ``s * max(s * alpha * x, s * x)`` (negation is exact, and ``-max(-a, -b) = min(a, b)``).
5. Alpha 0 or not finite (``0 * inf`` is nan, where the reference returns ``inf``), or alpha not
   a constant: ``alpha * x``, then copy ``x`` where ``x >= 0`` (a bool scratch of x's shape;
   NumPy's masked copy is slow, about 5 ns an element).

Quantized (LiteRT's reference kernel): multipliers ``in_scale / out_scale`` and ``in_scale *
alpha_scale / out_scale`` (float32, as TFLite computes them); ``v = x - in_zp``; ``v >= 0``:
``mbqm(v, m1)``, else ``mbqm(v * (alpha - alpha_zp), m2)``; plus the output zero point, clamped.
``mbqm`` is TFLite's MultiplyByQuantizedMultiplier whose left shift (multipliers above 1)
wraps in int32, as in LiteRT (``quant.multiply_by_quantized_multiplier``; measured: int16 ``x = -32768``,
``alpha = -128``, multiplier 1000 gives 0).

6. uint8 / int8: the result depends on two 8-bit values only, so prepare builds a 65536-entry
   table indexed by ``alpha_bits * 256 + x_bits``; invoke forms that index in an intp scratch of
   x's shape and takes from the table.  A constant alpha's part, ``alpha_bits * 256``, is tiled at
   prepare as in step 2, so the index is a widening copy and one add.
7. int16: computed directly in int64 scratch (two in-place requantizations, selected by sign;
   ``quant.requantize_into``).
8. int16 input with an int16 alpha: LiteRT's kernel reads alpha's buffer as int8 whatever its
   type (it does not compare the types), so alpha's values are the first ``alpha.size`` bytes
   of the int16 buffer taken as int8 (little-endian: the low byte of element 0, its high byte,
   the low byte of element 1, ...), with alpha's shape, zero point and scale.  numlite does
   the same, through an int8 view (measured on LiteRT 2.3, reference and default kernels).
"""

from __future__ import annotations

import numpy as np

from . import _qnonlinear as qn
from ._tiling import ROW, TIE_LAST, RangeRows, period_dims, row_length, tie_order  # noqa: F401  (re-exported)
from .base import Epilogue, Kernel, PrepareContext, Step, TensorSpec, expect_output_dtype, reject_quantized
from .quant import multiply_by_quantized_multiplier, quantize_multiplier, requantize_into
from .registry import register

INPUT, ALPHA = 0, 1
ZERO = np.float32(0)
QUANT_ALPHA = {np.dtype(np.int8): (np.int8,), np.dtype(np.uint8): (np.uint8,), np.dtype(np.int16): (np.int8, np.int16)}
# step 4's choice, a cost model measured on NumPy 2.4 (AVX-512): microseconds per ufunc call,
# nanoseconds per element and pass (contiguous), per element of a strided single-channel view
CALL_US, PASS_NS, STRIDED_NS = 0.7, 0.12, 1.7


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
        self.mode, self.mask, self.tmp = "mask", None, None
        a = alpha.value
        if x.size == 0:
            self.mode = "empty"
            return
        if a is not None:
            self.plan_float(ctx, x, a.astype(np.float32, copy=False))
        if self.mode == "mask":
            self.mask = ctx.scratch(x.shape, np.bool_)

    def plan_float(self, ctx: PrepareContext, x: TensorSpec, a: np.ndarray) -> None:
        """Steps 2-4 for a constant alpha: the mode, the tiled rows, the channels to redo."""
        shape = tuple(x.shape)
        p = int(np.prod(shape[len(shape) - period_dims(shape, a.shape):], dtype=np.int64))
        self.tail = shape[len(shape) - period_dims(shape, a.shape):]
        pat = np.ascontiguousarray(np.broadcast_to(a, shape).reshape(-1)[:p])
        with np.errstate(invalid="ignore"):
            finite = np.isfinite(pat)
            big = finite & (pat > 1)
            if not np.all(finite & (pat != 0)):
                return  # step 5
        self.period = p
        self.row = row_length(x.size, p)
        reps = self.row // p
        self.alpha_row = np.tile(pat, reps)
        #: one period of step 4's sign: -1 where alpha is above 1 (the sign trick, and fusion)
        self.sign_pat = np.where(big, np.float32(-1), np.float32(1)).astype(np.float32)
        fix = np.flatnonzero(big)
        if fix.size == 0:
            self.mode = "max"
        elif fix.size == p:
            self.mode = "min"
        elif self.fix_is_cheaper(x.size, p, fix.size):
            self.mode = "fix"
            self.fix = [(int(c), np.float32(pat[c])) for c in fix]
        else:
            self.mode = "sign"
            s = self.sign_pat
            self.sign_row, self.signed_alpha_row = np.tile(s, reps), np.tile(s * pat, reps)
            self.tmp = ctx.scratch(shape, np.float32)

    def epilogue(self, data: int) -> Epilogue | None:
        """Fusion (``executor``, step 2b), float with a constant alpha (modes max / min / fix /
        sign), on ranges of the input's producer, out of place: max / min are steps 3-4's two
        passes; with alphas above 1 among others, step 4's sign trick with the input range as
        its temp (nothing else reads the input), which gives ``fix`` mode's values bit for bit
        (both exact, keeping ``x`` on ties)."""
        if data != INPUT or self.quant is not None or self.mode not in ("max", "min", "fix", "sign"):
            return None
        pat = self.alpha_row[:self.period]
        mode = self.mode
        if mode in ("fix", "sign"):
            tiler = RangeRows(self.sign_pat * pat, self.sign_pat)
        else:
            tiler = RangeRows(pat)
        pick = np.maximum if mode != "min" else np.minimum
        mul = np.multiply

        def factory(first: int, end: int, x: np.ndarray, o: np.ndarray) -> Step:
            o2, rows = tiler.view(o)
            x2 = x.reshape(o2.shape)
            if mode in ("max", "min"):
                a, ordered = rows[0], tie_order(x2, o2)

                def two_pass() -> None:
                    mul(x2, a, out=o2)
                    pick(*ordered, out=o2)

                return two_pass
            sa, sg = rows
            ordered = tie_order(x2, o2)

            def sign() -> None:  # s * max(s*alpha*x, s*x), keeping s*x on ties as bind_sign does
                mul(x2, sa, out=o2)
                mul(x2, sg, out=x2)
                pick(*ordered, out=o2)
                mul(o2, sg, out=o2)

            return sign

        return Epilogue(lambda ins, out: factory, period=self.period, in_place=False)

    @staticmethod
    def fix_is_cheaper(n: int, p: int, k: int) -> bool:
        """Step 4: ``k`` channels of ``p`` redone one by one, or the sign trick (whose third array
        makes its four passes cost about 4.8 plain ones)."""
        fix = 2 * CALL_US + 2e-3 * PASS_NS * n + k * (2 * CALL_US + 2e-3 * STRIDED_NS * (n // p))
        sign = 4 * CALL_US + 4.8e-3 * PASS_NS * n
        return fix <= sign

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
            self.base_row = None
            if alpha.value is not None and x.size:
                shape = tuple(x.shape)
                self.tail = shape[len(shape) - period_dims(shape, alpha.shape):]
                self.period = int(np.prod(self.tail, dtype=np.int64))
                bits = np.broadcast_to(alpha.value, shape).reshape(-1)[:self.period].view(np.uint8)
                self.row = row_length(x.size, self.period)
                self.base_row = np.tile(bits.astype(np.intp) << 8, self.row // self.period)
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
        if self.mode == "empty":
            return lambda: None
        if self.mode == "mask":
            return self.bind_masked(x, alpha, out, scratch[self.mask])
        rows = [self.alpha_row] + ([self.signed_alpha_row, self.sign_row] if self.mode == "sign" else [])
        if x.flags.c_contiguous and out.flags.c_contiguous:
            xv, ov = x.reshape(-1, self.row), out.reshape(-1, self.row)
        else:  # not arena views: broadcast one period in x's own shape
            xv, ov = x, out
            rows = [r[:self.period].reshape(self.tail) for r in rows]
        if self.mode == "sign":
            return self.bind_sign(xv, ov, rows[1], rows[2], scratch[self.tmp].reshape(xv.shape))
        a = rows[0].reshape(-1)[0] if self.period == 1 else rows[0]  # a scalar broadcasts fastest
        mx, mn = np.maximum, np.minimum
        if self.mode in ("max", "min"):
            pick = mx if self.mode == "max" else mn

            def two_pass() -> None:
                np.multiply(xv, a, out=ov)
                pick(*tie_order(xv, ov), out=ov)

            return two_pass
        cols = [(x[(Ellipsis, *np.unravel_index(c, self.tail))], out[(Ellipsis, *np.unravel_index(c, self.tail))], v)
                for c, v in self.fix]

        def fixed() -> None:
            np.multiply(xv, a, out=ov)
            mx(*tie_order(xv, ov), out=ov)
            for xc, oc, v in cols:  # alpha above 1 (step 4)
                np.multiply(xc, v, out=oc)
                mn(*tie_order(xc, oc), out=oc)

        return fixed

    @staticmethod
    def bind_sign(x: np.ndarray, out: np.ndarray, sa: np.ndarray, s: np.ndarray, t: np.ndarray) -> Step:
        mx = np.maximum

        def step() -> None:  # s * max(s*alpha*x, s*x): min on the channels where s = -1 (step 4)
            np.multiply(x, sa, out=out)
            np.multiply(x, s, out=t)
            mx(*tie_order(t, out), out=out)
            np.multiply(out, s, out=out)

        return step

    @staticmethod
    def bind_masked(x: np.ndarray, alpha: np.ndarray, out: np.ndarray, m: np.ndarray) -> Step:
        def step() -> None:
            np.multiply(x, alpha, out=out)
            np.greater_equal(x, ZERO, out=m)
            np.copyto(out, x, where=m)

        return step

    def bind_table(self, x: np.ndarray, alpha: np.ndarray, out: np.ndarray, idx: np.ndarray) -> Step:
        table = self.table
        xu, au = x.view(np.uint8), alpha.view(np.uint8)
        k = np.intp(256)
        if x.size == 0:
            return lambda: None
        if self.base_row is not None:  # alpha's part of the index tiled at prepare (step 6)
            base = self.base_row
            xv, iv = xu.reshape(-1, self.row), idx.reshape(-1, self.row)
            if not x.flags.c_contiguous:
                base = base[:self.period].reshape(self.tail)
                xv, iv = xu, idx

            def step_const() -> None:
                np.copyto(iv, xv)  # then an intp add: adding the uint8 view directly buffers a cast
                np.add(iv, base, out=iv)
                np.take(table, idx, out=out, mode="clip")  # in range; "raise" buffers the output

            return step_const

        def step() -> None:
            np.multiply(au, k, out=idx, dtype=np.intp)
            np.add(idx, xu, out=idx, dtype=np.intp)
            np.take(table, idx, out=out, mode="clip")

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
