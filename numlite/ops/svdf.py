"""SVDF: a rank-decomposed fully connected layer over a memory of past activations.

Shapes: input ``x [B, I]``, feature weights ``Wf [F, I]``, time weights ``Wt [F, M]``, optional
bias ``[U]`` (``U = F / rank``), activation state ``S [B, F * M]`` (a variable tensor read as
``[B, F, M]``, persisting across ``invoke()``), output ``[B, U]``.  Per invoke, as LiteRT's
reference kernel (``reference_ops`` SVDF of LiteRT 2.3):

1. Shift every filter's memory left by one: ``S[:, :, :-1] = S[:, :, 1:]`` (done as LiteRT does,
   one flat shift of the whole buffer whose cross-filter element is then overwritten).
2. Feature step into the newest column: ``S[:, :, M-1] = x @ Wf.T``.
   - float32: one BLAS GEMM;
   - hybrid (float32 input, int8 weights): each input row is quantized on the fly
     (``_qfc.RowQuantizer``, symmetric or ``asymmetric_quantize_inputs``), the product is exact
     (``ExactMatmul``, minus ``offset * rowsum(Wf)``), then ``float(dot) * (sf * w_scale)`` in
     float32;
   - int8: ``dot = sum Wf * (x - zx)`` exactly, requantized with TFLite's fixed-point
     ``MultiplyByQuantizedMultiplier`` by ``s_x * s_wf / s_state`` (computed in float32 as
     LiteRT does) and clamped to int16.
3. Time step: ``T[b, f] = sum_j Wt[f, j] * S[b, f, j]``.  Float32 / hybrid (hybrid ``Wt`` is int8,
   dequantized once as ``float32(Wt) * scale``): a float32 sum in LiteRT's order (j = 0..M-1,
   each product rounded), so it is reproduced exactly.  Int8: int16 x int16 products summed in
   int64 then wrapped to int32 (C's int32 accumulation).
4. ``out[b, u] = bias[u] + (sum_{r < rank} T[b, u * rank + r])``: in float32 the rank terms are
   summed in order first, then added to the bias (measured on LiteRT 2.3); int32 otherwise.
5. Float32 / hybrid: the fused activation (any of TFLite's) in place.  Int8: requantized by
   ``s_state * s_wt / s_out`` (float32 product, fixed point), plus the output zero point,
   clamped to int8.  LiteRT requires the RELU option here but applies only the int8 clamp
   (measured: negative outputs come out), and numlite does the same.

Guarantees: int8 results are bit-exact with LiteRT's BUILTIN_REF; hybrid results are too
(except TANH); float32 results agree to float32 rounding (the feature GEMM is summed in BLAS's
order).  Limits: per-tensor weight scales only; hybrid weights must be constant int8 (uint8
hybrid weights are rejected); the int8 state must be int16 with zero point 0 (as TFLite assumes).
Versions 1 to 4, as LiteRT 2.3 registers them; options ``SVDFOptions`` (rank,
fused_activation_function, asymmetric_quantize_inputs).
"""

from __future__ import annotations

import numpy as np

from . import quant
from ._qfc import RowQuantizer
from ._qgemm import ExactMatmul
from ._rnn import ALL_ACTIVATIONS, activation_fn
from .base import ACT_RELU, Kernel, PrepareContext, Step, check_activation
from .registry import register

INPUT, WEIGHTS_FEATURE, WEIGHTS_TIME, BIAS, STATE = range(5)
F32, I8, I16, I32 = (np.dtype(t) for t in (np.float32, np.int8, np.int16, np.int32))


@register("SVDF", versions=(1, 2, 3, 4))
class Svdf(Kernel):
    options_table = "SVDFOptions"
    foldable = False

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(5)
        x, wf, wt = ctx.input(INPUT), ctx.input(WEIGHTS_FEATURE), ctx.input(WEIGHTS_TIME)
        b, s = ctx.input(BIAS, optional=True), ctx.input(STATE)
        ctx.expect_dtype(x, (F32, I8))
        ctx.expect_rank(x, 2)
        ctx.expect_rank(wf, 2, "feature weights")
        ctx.expect_rank(wt, 2, "time weights")
        rank = int(self.options.get("rank") or 0)
        batch, isz = x.shape
        nf, m = wf.shape[0], wt.shape[1]
        if rank <= 0 or nf % rank:
            ctx.fail(f"rank {rank} must be positive and divide the {nf} filters of {wf.describe()}")
        units = nf // rank
        if wf.shape[1] != isz:
            ctx.fail(f"feature weights {wf.describe()} must have {isz} columns (the input size)")
        if wt.shape[0] != nf:
            ctx.fail(f"time weights {wt.describe()} must have {nf} rows (one per filter)")
        if b is not None and b.shape != (units,):
            ctx.fail(f"bias {b.describe()} must have shape [{units}]")
        if s.shape != (batch, m * nf):
            ctx.fail(f"state {s.describe()} must have shape [{batch}, {m * nf}]")
        if not s.is_variable:
            ctx.fail(f"state {s.describe()} must be a variable tensor")
        self.batch, self.isz, self.nf, self.m, self.rank, self.units = batch, isz, nf, m, rank, units
        self.has_bias = b is not None
        act = int(self.options.get("fused_activation_function") or 0)
        xt, wft = np.dtype(x.dtype), np.dtype(wf.dtype)
        if xt == I8:
            self.mode = "int8"
            self._prepare_int8(ctx, x, wf, wt, b, s, act)
            ctx.set_output(0, (batch, units), I8)
            return
        check_activation(ctx, act, ALL_ACTIVATIONS)
        self.act = activation_fn(act)
        ctx.expect_dtype(s, (F32,), "state")
        if b is not None:
            ctx.expect_dtype(b, (F32,), "bias")
        if wft == F32:
            self.mode = "float"
            ctx.expect_dtype(wt, (F32,), "time weights")
        elif wft == I8:
            self.mode = "hybrid"
            self._prepare_hybrid(ctx, wf, wt)
        else:
            ctx.fail(f"feature weights {wf.describe()} must be float32 or int8")
        self.s_scratch = ctx.scratch((batch, nf), np.float32)
        self.s_prod = ctx.scratch((batch, nf), np.float32)
        self.s_shift = ctx.scratch((batch * nf * m - 1,), np.float32)
        ctx.set_output(0, (batch, units), F32)

    # -- prepare helpers ------------------------------------------------------------------
    def _prepare_hybrid(self, ctx: PrepareContext, wf, wt) -> None:
        for spec, role in ((wf, "feature weights"), (wt, "time weights")):
            if np.dtype(spec.dtype) != I8:
                ctx.fail(f"hybrid {role} {spec.describe()} must be int8")
            if spec.value is None:
                ctx.fail(f"hybrid {role} {spec.describe()} must be constant")
            if np.asarray(spec.quantization.scales).size != 1:
                ctx.fail(f"hybrid {role} {spec.describe()} must have one per-tensor scale")
        self.asym = bool(self.options.get("asymmetric_quantize_inputs"))
        self.wf_scale = np.float32(wf.quantization.scales[0])
        w = np.asarray(wf.value).reshape(self.nf, self.isz)
        self.wff = w.astype(np.float32)
        self.rowsum = w.astype(np.int64).sum(axis=1).astype(np.int32)
        # LiteRT dequantizes the time weights once: float32(int8) * float32 scale
        self.wt_float = np.asarray(wt.value, np.float32) * np.float32(wt.quantization.scales[0])
        bt, nf, k = self.batch, self.nf, self.isz
        self.s_q = ctx.scratch((bt, k), np.float32)
        self.s_qtmp = ctx.scratch((bt, k), np.float32)
        self.s_acc = ctx.scratch((bt, nf), np.int32)
        self.s_sf = ctx.scratch((bt,), np.float32)
        self.s_off = ctx.scratch((bt,), np.int32)
        self.s_oi = ctx.scratch((bt, nf), np.int32)

    def _prepare_int8(self, ctx: PrepareContext, x, wf, wt, b, s, act) -> None:
        if act != ACT_RELU:
            ctx.fail("the int8 SVDF supports only the RELU fused activation (as LiteRT)")
        out = ctx.outputs[0]
        want = ((wf, I8, "feature weights"), (wt, I16, "time weights"), (s, I16, "state"), (out, I8, "output"))
        for spec, dt, role in want + (((b, I32, "bias"),) if b is not None else ()):
            ctx.expect_dtype(spec, (dt,), role)
        for spec, role in ((x, "input"), (wf, "feature weights"), (wt, "time weights"), (s, "state"),
                           (out, "output")):
            if not spec.quantization.is_quantized:
                ctx.fail(f"{role} {spec.describe()} has no quantization parameters")
        f32 = np.float32
        sc = [f32(t.quantization.scales[0]) for t in (x, wf, s, wt, out)]
        # LiteRT forms both effective scales in float32, then quantizes them as doubles
        eff1 = float(sc[0] * sc[1] / sc[2])
        eff2 = float(sc[2] * sc[3] / sc[4])
        self.q1 = quant.Requantizer(*quant.quantize_multiplier(eff1))
        self.q2 = quant.Requantizer(*quant.quantize_multiplier(eff2))
        self.zx = int(x.quantization.zero_points[0])
        self.zo = int(out.quantization.zero_points[0])
        bt, nf, m = self.batch, self.nf, self.m
        self.s_x = ctx.scratch((bt, self.isz), np.float64)
        self.s_dot = ctx.scratch((bt, nf), np.float64)
        self.s_a64 = ctx.scratch((bt, nf), np.int64)
        self.s_t64 = ctx.scratch((bt, nf), np.int64)
        self.s_prod64 = ctx.scratch((bt, nf, m), np.int64)
        self.s_o64 = ctx.scratch((bt, self.units), np.int64)
        self.s_ot64 = ctx.scratch((bt, self.units), np.int64)
        self.s_shift16 = ctx.scratch((bt * nf * m - 1,), np.int16)

    # -- bind -------------------------------------------------------------------------------
    def bind(self, inputs, outputs, scratch) -> Step:
        if self.mode == "int8":
            return self._bind_int8(inputs, outputs, scratch)
        bt, nf, m, rank, units = self.batch, self.nf, self.m, self.rank, self.units
        x, state = inputs[INPUT], inputs[STATE]
        flat = state.reshape(-1)
        s3 = state.reshape(bt, nf, m)
        newest = s3[:, :, m - 1]
        shift = scratch[self.s_shift]
        acc, prod = scratch[self.s_scratch], scratch[self.s_prod]
        out = outputs[0]
        bias = inputs[BIAS].reshape(units) if self.has_bias else None
        acc3 = acc.reshape(bt, units, rank)
        act = self.act
        if self.mode == "float":
            wft = inputs[WEIGHTS_FEATURE].T
            wt = inputs[WEIGHTS_TIME]

            def feature() -> None:
                np.matmul(x, wft, out=acc)
                np.copyto(newest, acc)
        else:
            wt = self.wt_float
            q, sf, off, oi = (scratch[i] for i in (self.s_q, self.s_sf, self.s_off, self.s_oi))
            iacc = scratch[self.s_acc]
            quantize = RowQuantizer(self.asym).bind(x, q, sf, off, scratch[self.s_qtmp])
            gemm = ExactMatmul.for_weights(self.wff.T, 128).bind(q, iacc, acc)
            asym, rowsum, off2, sf2, ws = self.asym, self.rowsum, off.reshape(-1, 1), sf.reshape(-1, 1), self.wf_scale

            def feature() -> None:
                quantize()
                gemm()
                if asym:
                    np.multiply(off2, rowsum, out=oi)
                    np.subtract(iacc, oi, out=iacc)
                np.copyto(acc, iacc, casting="unsafe")
                np.multiply(sf, ws, out=sf)
                np.multiply(acc, sf2, out=newest)

        cols = [(wt[:, j], s3[:, :, j]) for j in range(m)]
        parts = [acc3[:, :, r] for r in range(rank)]

        def step() -> None:
            np.copyto(shift, flat[1:])
            np.copyto(flat[:-1], shift)
            feature()
            # time weights: float32 sums in LiteRT's order (j = 0..M-1)
            acc.fill(0)
            for w_j, s_j in cols:
                np.multiply(w_j, s_j, out=prod)
                np.add(acc, prod, out=acc)
            # the rank parts are summed first, then added to the bias (measured on LiteRT 2.3)
            np.copyto(out, parts[0])
            for p in parts[1:]:
                np.add(out, p, out=out)
            if bias is not None:
                np.add(bias, out, out=out)
            if act is not None:
                act(out)

        return step

    def _bind_int8(self, inputs, outputs, scratch) -> Step:
        bt, nf, m, rank, units = self.batch, self.nf, self.m, self.rank, self.units
        x, state, out = inputs[INPUT], inputs[STATE], outputs[0]
        flat = state.reshape(-1)
        s3 = state.reshape(bt, nf, m)
        newest = s3[:, :, m - 1]
        shift = scratch[self.s_shift16]
        xs, dot, a64, t64 = (scratch[i] for i in (self.s_x, self.s_dot, self.s_a64, self.s_t64))
        prod, o64, ot64 = scratch[self.s_prod64], scratch[self.s_o64], scratch[self.s_ot64]
        wff = np.asarray(inputs[WEIGHTS_FEATURE], np.float64).T.copy()
        wt = np.asarray(inputs[WEIGHTS_TIME], np.int64)
        bias = np.asarray(inputs[BIAS], np.int64).reshape(units) if self.has_bias else None
        zx, zo, q1, q2 = float(self.zx), self.zo, self.q1, self.q2
        p3 = a64.reshape(bt, units, rank)
        parts = [p3[:, :, r] for r in range(rank)]

        def step() -> None:
            np.copyto(shift, flat[1:])
            np.copyto(flat[:-1], shift)
            np.subtract(x, zx, out=xs)
            np.matmul(xs, wff, out=dot)  # exact: |dot| < 2**53
            np.copyto(a64, dot, casting="unsafe")
            q1(a64, t64)
            np.clip(a64, -32768, 32767, out=a64)
            np.copyto(newest, a64, casting="unsafe")
            np.multiply(s3, wt, out=prod)
            np.sum(prod, axis=2, out=a64)
            quant.wrap_int32(a64)
            if bias is None:
                o64.fill(0)
            else:
                np.copyto(o64, bias)
            for r in parts:
                np.add(o64, r, out=o64)
            quant.wrap_int32(o64)
            q2(o64, ot64)
            np.add(o64, zo, out=o64)
            np.clip(o64, -128, 127, out=o64)
            np.copyto(out, o64, casting="unsafe")

        return step
