"""BATCH_MATMUL: ``out[..., i, j] = sum_k x'[..., i, k] * y'[..., k, j]``: float32, quantized
(int8, int16) and hybrid (float32 x int8), as LiteRT's reference kernel computes them.

1. ``x' = x`` or its last two axes swapped (``adj_x``), likewise ``y'`` (``adj_y``); ranks 2 to 5.
2. Batch dimensions broadcast as TFLite allows (equal, or one of them 1; missing leading
   dimensions count as 1).  The output is ``[broadcast batch..., rows of x', cols of y']``.
3. Float32: ``np.matmul`` on the (transposed) views straight into the output, which NumPy
   hands to BLAS per batch with the transpose flags (measured as fast as pre-transposed
   copies, so constant operands are not copied).  When ``y`` has no real batch dimensions and
   ``x`` is not adjointed, the batches of ``x`` are folded into the rows: a single GEMM.
4. int8 x int8 -> int8: ``acc = sum_k (x' - zx)(y' - zy)`` exactly (``_qfc.exact_bmm``: float32
   BLAS on the zero-point-centred operands, the reduction chunked so every partial sum is exact;
   a constant ``y`` is centred once in prepare), then the fixed-point requantization
   (``quant.requantize_into``, double rounding) with the multiplier ``double(float(s_x * s_y)) /
   double(s_out)`` (TFLite's GetQuantizedConvolutionMultipler without bias: the scale product in
   float32), the output zero point and the int8 range (BATCH_MATMUL has no fused activation).
   Only the first scale of ``y`` is used, as in TFLite.  int8 x int8 -> int32: the raw products
   ``sum_k x' y'``, zero points ignored (TFLite's reference does the same).
5. int16 x int16 / int16 x int8 -> int16 (zero points must be 0): a float64 GEMM (exact while
   ``K * 2**30 < 2**53``) and TFLite's int64 ``MultiplyByQuantizedMultiplier``
   (``_qfc.requant_int64_into``).
6. Hybrid (float32 ``x``, constant int8 ``y``; TFLite's EvalHybrid): every row of ``x'`` is
   quantized on the fly (``_qfc.RowQuantizer``, symmetric or ``asymmetric_quantize_inputs``);
   ``total = q @ y'`` exactly; asymmetric offsets are removed as TFLite does, in float32:
   ``total = int(float(total) - float(rowsum(y')[j]) * float(offset[i]))``; then ``out =
   scale * float(total)`` with ``scale = sf[i] * s_y`` (per-tensor) or ``sf[i] * s_y[j]``
   (per-channel along the output columns).

Limits: LiteRT wraps its int32 accumulators on overflow (huge K); numlite does not.
"""

from __future__ import annotations

import numpy as np

from . import quant
from ._qfc import RowQuantizer, exact_bmm, requant_int64_into
from .base import Kernel, PrepareContext, Step, chain
from .registry import register

LHS, RHS = 0, 1
F32, I8, I16, I32 = (np.dtype(t) for t in (np.float32, np.int8, np.int16, np.int32))


def _centred_bound(dtype: np.dtype, zp: int) -> int:
    info = np.iinfo(dtype)
    return max(abs(int(info.min) - zp), abs(int(info.max) - zp), 1)


@register("BATCH_MATMUL", versions=range(1, 5))
class BatchMatMul(Kernel):
    options_table = "BatchMatMulOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        a, b = ctx.input(LHS), ctx.input(RHS)
        out = ctx.outputs[0]
        at, bt, ot = np.dtype(a.dtype), np.dtype(b.dtype), np.dtype(out.dtype)
        for spec, role in ((a, "lhs"), (b, "rhs")):
            if not 2 <= spec.rank <= 5:
                ctx.fail(f"{role} {spec.describe()} must have rank 2 to 5")
        self.adj_x = bool(self.options.get("adj_x"))
        self.adj_y = bool(self.options.get("adj_y"))
        rank = max(a.rank, b.rank)
        sa = (1,) * (rank - a.rank) + a.shape
        sb = (1,) * (rank - b.rank) + b.shape
        batch = []
        for da, db in zip(sa[:-2], sb[:-2]):
            if da != db and da != 1 and db != 1:
                ctx.fail(f"batch dimensions of {a.describe()} and {b.describe()} do not broadcast")
            batch.append(db if da == 1 else da)
        rows, ka = (sa[-1], sa[-2]) if self.adj_x else (sa[-2], sa[-1])
        kb, cols = (sb[-1], sb[-2]) if self.adj_y else (sb[-2], sb[-1])
        if ka != kb:
            ctx.fail(f"inner dimensions differ: {ka} (lhs {a.describe()}, adj_x={self.adj_x}) vs {kb} "
                     f"(rhs {b.describe()}, adj_y={self.adj_y})")
        self.out_shape = (*batch, rows, cols)
        self.k, self.rows, self.cols = ka, rows, cols
        # x' and y' shapes with the batch dimensions padded to the output rank
        self.xs_shape = (*sa[:-2], rows, ka)
        self.ys_shape = (*sb[:-2], ka, cols)
        if at == F32 and bt == F32:
            self.mode = "float"
            if ot != F32:
                ctx.fail(f"output {out.describe()} must be float32")
            ctx.set_output(0, self.out_shape, F32)
            # one GEMM when y is a plain matrix and x's rows can absorb its batches
            self.fold = not self.adj_x and all(d == 1 for d in sb[:-2]) and rank > 2
        elif at == F32 and bt == I8:
            self._prepare_hybrid(ctx, a, b)
        elif (at, bt) in ((I8, I8), (I16, I16), (I16, I8)):
            self._prepare_quantized(ctx, a, b)
        else:
            ctx.fail(f"lhs {a.describe()} with rhs {b.describe()} is not supported (float32 x float32, "
                     "float32 x int8 (hybrid), int8 x int8, int16 x int16, int16 x int8)")

    # -- shared helpers --------------------------------------------------------------------
    def _xprime(self, x: np.ndarray) -> np.ndarray:
        x = np.swapaxes(x, -1, -2) if self.adj_x else x
        return x.reshape(self.xs_shape)

    def _yprime(self, y: np.ndarray) -> np.ndarray:
        y = np.swapaxes(y, -1, -2) if self.adj_y else y
        return y.reshape(self.ys_shape)

    # -- quantized ------------------------------------------------------------------------
    def _prepare_quantized(self, ctx: PrepareContext, a, b) -> None:
        out = ctx.outputs[0]
        at, bt, ot = np.dtype(a.dtype), np.dtype(b.dtype), np.dtype(out.dtype)
        for spec, role in ((a, "lhs"), (b, "rhs"), (out, "output")):
            if not spec.quantization.is_quantized and not (role == "output" and ot == I32):
                ctx.fail(f"{role} {spec.describe()} has no quantization parameters")
        zx = int(a.quantization.zero_points[0])
        zy = int(b.quantization.zero_points[0])
        self.wide = at == I16
        if self.wide:
            if ot != I16:
                ctx.fail(f"output {out.describe()} must be int16 for int16 inputs")
            zo = int(out.quantization.zero_points[0])
            if zx or zy or zo:
                ctx.fail(f"int16 batch matmul needs zero points 0 (lhs {zx}, rhs {zy}, output {zo})")
            lo, hi = -32768, 32767
        elif ot == I32:
            zx = zy = zo = 0  # TFLite's int32-output kernel multiplies the raw values
            lo = hi = 0
        elif ot == I8:
            zo = int(out.quantization.zero_points[0])
            lo, hi = -128, 127
        else:
            ctx.fail(f"output {out.describe()} must be int8 or int32 for int8 inputs")
        self.raw32 = ot == I32
        if not self.raw32:
            s_x = np.float32(a.quantization.scales[0])
            s_y = np.float32(b.quantization.scales[0])
            s_o = np.float32(out.quantization.scales[0])
            eff = float(np.float32(s_x * s_y)) / float(s_o)
            q, shift = quant.quantize_multiplier(eff)
            self.q, self.shift = int(q), int(shift)
        self.zx, self.zy, self.zo, self.lo, self.hi = zx, zy, zo, lo, hi
        gemm_t = np.float64 if self.wide else np.float32
        self.bound_x = _centred_bound(at, zx)
        if b.value is not None:
            yc = self._yprime(np.asarray(b.value)).astype(np.int64) - zy
            self.yc = yc.astype(gemm_t)
            self.bound_y = max(int(np.abs(yc).max(initial=0)), 1)
        else:
            self.yc = None
            self.bound_y = _centred_bound(bt, zy)
            self.s_y = ctx.scratch(self.ys_shape, gemm_t)
        self.s_x = ctx.scratch(self.xs_shape, gemm_t)
        if self.wide:
            self.s_f64 = ctx.scratch(self.out_shape, np.float64)
        else:
            self.s_tmp = ctx.scratch(self.out_shape, np.float32)
        self.s_acc = ctx.scratch(self.out_shape, np.int64)
        self.s_acc2 = ctx.scratch(self.out_shape, np.int64)
        self.mode = "quantized"
        ctx.set_output(0, self.out_shape)

    def _bind_quantized(self, inputs, outputs, scratch) -> Step:
        out = outputs[0]
        xs, acc, t64 = scratch[self.s_x], scratch[self.s_acc], scratch[self.s_acc2]
        xin = self._xprime(inputs[LHS])
        gt = xs.dtype.type
        zx = gt(self.zx)
        steps = [lambda: np.subtract(xin, zx, out=xs)]
        if self.yc is not None:
            ys = self.yc
        else:
            ys = scratch[self.s_y]
            yin, zy = self._yprime(inputs[RHS]), gt(self.zy)
            steps.append(lambda: np.subtract(yin, zy, out=ys))
        if self.wide:
            f = scratch[self.s_f64]
            steps.append(lambda: np.matmul(xs, ys, out=f))
            steps.append(lambda: np.copyto(acc, f, casting="unsafe"))
        else:
            steps.append(exact_bmm(xs, ys, acc, scratch[self.s_tmp], self.bound_x, self.bound_y))
        if self.raw32:
            steps.append(lambda: np.copyto(out, acc, casting="unsafe"))
            return chain(*steps)
        q, shift, zo, lo, hi = self.q, self.shift, self.zo, self.lo, self.hi
        if self.wide:
            steps.append(lambda: requant_int64_into(acc, q, shift))
        else:
            requant = quant.Requantizer(q, shift)
            steps.append(lambda: requant(acc, t64))

        def finish() -> None:
            if zo:
                np.add(acc, zo, out=acc)
            np.clip(acc, lo, hi, out=acc)
            np.copyto(out, acc, casting="unsafe")

        steps.append(finish)
        return chain(*steps)

    # -- hybrid ---------------------------------------------------------------------------
    def _prepare_hybrid(self, ctx: PrepareContext, a, b) -> None:
        out = ctx.outputs[0]
        if np.dtype(out.dtype) != F32:
            ctx.fail(f"output {out.describe()} of a hybrid batch matmul must be float32")
        if b.value is None:
            ctx.fail(f"hybrid rhs {b.describe()} must be constant (LiteRT computes its row sums once)")
        bq = b.quantization
        if not bq.is_quantized:
            ctx.fail(f"rhs {b.describe()} has no quantization scale")
        scales = np.asarray(bq.scales, np.float32).reshape(-1)
        if scales.size > 1:
            qd = bq.quantized_dimension
            if scales.size != self.cols or not 0 <= qd < b.rank or b.shape[qd] != scales.size:
                ctx.fail(f"per-channel rhs {b.describe()} needs one scale per output column ({self.cols}); "
                         f"got {scales.size} along dimension {qd}")
            self.pcs = scales
        else:
            self.pcs = None
            self.y_scale = np.float32(scales[0])
        yp = self._yprime(np.asarray(b.value)).astype(np.int64)
        self.yf = yp.astype(np.float32)
        # row sums of the weights as the reference computes them: one per (weight matrix, column)
        self.ysum = yp.sum(axis=-2, keepdims=True).astype(np.float32)
        self.asym = bool(self.options.get("asymmetric_quantize_inputs"))
        self.row_idx, ysum_g = self._reference_batch_indexing(a.shape, b.shape)
        if self.row_idx is not None:
            self.ysum = ysum_g
            self.s_sfg = ctx.scratch(self.row_idx.shape, np.float32)
            self.s_offg = ctx.scratch(self.row_idx.shape, np.int32)
        nrows = int(np.prod(self.xs_shape[:-1], dtype=np.int64))
        xrow_shape = (*self.xs_shape[:-1], 1) if self.row_idx is None else (*self.cshape[:-1], 1)
        self.s_xt = ctx.scratch(self.xs_shape, np.float32) if self.adj_x else None
        self.s_q = ctx.scratch(self.xs_shape, np.float32)
        self.s_qtmp = ctx.scratch(self.xs_shape, np.float32)
        self.s_sf = ctx.scratch((nrows,), np.float32)
        self.s_off = ctx.scratch((nrows,), np.int32)
        self.s_offf = ctx.scratch(xrow_shape, np.float32)
        self.s_acc = ctx.scratch(self.out_shape, np.int64)
        self.s_tmp = ctx.scratch(self.out_shape, np.float32)
        self.s_p = ctx.scratch(self.out_shape, np.float32)
        if self.pcs is not None:
            self.s_scale = ctx.scratch((*xrow_shape[:-1], self.cols), np.float32)
        self.mode = "hybrid"
        ctx.set_output(0, self.out_shape, F32)

    def _bind_hybrid(self, inputs, outputs, scratch) -> Step:
        out = outputs[0]
        k = self.k
        steps = []
        if self.adj_x:
            xt = scratch[self.s_xt]
            xv = self._xprime(inputs[LHS])
            steps.append(lambda: np.copyto(xt, xv))
            x2 = xt.reshape(-1, k)
        else:
            x2 = inputs[LHS].reshape(-1, k)
        q, acc, tf, p = scratch[self.s_q], scratch[self.s_acc], scratch[self.s_tmp], scratch[self.s_p]
        sf, off = scratch[self.s_sf], scratch[self.s_off]
        steps.append(RowQuantizer(self.asym).bind(x2, q.reshape(-1, k), sf, off, scratch[self.s_qtmp].reshape(-1, k)))
        steps.append(exact_bmm(q, self.yf, acc, tf, 128, 128))
        steps.append(lambda: np.copyto(tf, acc, casting="unsafe"))  # int -> float as C converts
        tfv, pv, outv = tf, p, out
        if self.row_idx is None:
            row_shape = (*self.xs_shape[:-1], 1)
            sf_r, off_r = sf.reshape(row_shape), off.reshape(row_shape)
        else:  # LiteRT's per-row scale factors of the batch it believes it is in (see _reference_batch_indexing)
            row_shape = (*self.cshape[:-1], 1)
            tfv, pv, outv = tf.reshape(self.cshape), p.reshape(self.cshape), out.reshape(self.cshape)
            idx, sfg, offg = self.row_idx, scratch[self.s_sfg], scratch[self.s_offg]
            sf_r, off_r = sfg.reshape(row_shape), offg.reshape(row_shape)
            if self.pcs is None:
                ys0 = self.y_scale
                steps.append(lambda: np.multiply(sf, ys0, out=sf))
            steps.append(lambda: (np.take(sf, idx, out=sfg), np.take(off, idx, out=offg)))
        if self.asym:
            offf, ysum = scratch[self.s_offf], self.ysum

            def offsets() -> None:
                np.copyto(offf, off_r, casting="unsafe")
                np.multiply(offf, ysum, out=pv)
                np.subtract(tfv, pv, out=tfv)
                np.trunc(tfv, out=tfv)

            steps.append(offsets)
        if self.pcs is None:
            ys = self.y_scale if self.row_idx is None else np.float32(1)  # already applied before the gather

            def scale() -> None:
                if self.row_idx is None:
                    np.multiply(sf, ys, out=sf)
                np.multiply(sf_r, tfv, out=outv)
        else:
            sc, pcs = scratch[self.s_scale], self.pcs

            def scale() -> None:
                np.multiply(sf_r, pcs, out=sc)
                np.multiply(sc, tfv, out=outv)

        steps.append(scale)
        return chain(*steps)

    def _reference_batch_indexing(self, lhs_shape: tuple, rhs_shape: tuple) -> tuple[np.ndarray | None, np.ndarray]:
        """LiteRT's hybrid reference kernel locates a batch's scale factors, offsets and weight row
        sums at ``sum_i b_i * [dim_i != 1]`` blocks (the batch indices summed, not flattened), which
        is right only while at most one batch dimension exceeds 1 (after its own folding of x's
        batch into rows when y's third-last dimension is 1 and ``adj_x`` is off).  Returns the
        per-output-row gather index of the rows' scale factors and the row sums per output batch,
        or ``(None, _)`` when LiteRT's indexing is the true broadcast."""
        ls, rs = list(lhs_shape), list(rhs_shape)
        if not self.adj_x and len(rs) > 2 and len(ls) > 2 and rs[-3] == 1:
            ls = ls[:-3] + [ls[-3] * ls[-2], ls[-1]]
            rs = rs[:-3] + rs[-2:]
        l5 = [1] * (5 - len(ls)) + ls
        r5 = [1] * (5 - len(rs)) + rs
        mrows = l5[4] if self.adj_x else l5[3]
        nb = [max(a, b) for a, b in zip(l5[:3], r5[:3])]
        grid = np.indices(nb).reshape(3, -1)  # output batch positions, row-major
        lnz = np.array([d != 1 for d in l5[:3]], np.int64)
        rnz = np.array([d != 1 for d in r5[:3]], np.int64)
        lstride = np.array([l5[1] * l5[2], l5[2], 1], np.int64) * lnz
        rstride = np.array([r5[1] * r5[2], r5[2], 1], np.int64) * rnz
        buggy_l, true_l = lnz @ grid, lstride @ grid
        buggy_r, true_r = rnz @ grid, rstride @ grid
        ysum = self.ysum.reshape(-1, self.cols)
        if np.array_equal(buggy_l, true_l) and np.array_equal(buggy_r, true_r):
            return None, self.ysum
        rows = (buggy_l[:, None] * mrows + np.arange(mrows)[None, :]).reshape(-1)
        self.cshape = (grid.shape[1], mrows, self.cols)  # the output as LiteRT's batches x rows
        return rows.astype(np.intp), ysum[buggy_r].reshape(grid.shape[1], 1, self.cols)

    # -- float ----------------------------------------------------------------------------
    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        out = outputs[0]
        if out.size == 0:
            return lambda: None
        if self.k == 0:
            return lambda: out.fill(0)
        if self.mode == "quantized":
            return self._bind_quantized(inputs, outputs, scratch)
        if self.mode == "hybrid":
            return self._bind_hybrid(inputs, outputs, scratch)
        x = inputs[LHS]
        y = np.swapaxes(inputs[RHS], -1, -2) if self.adj_y else inputs[RHS]
        mm = np.matmul
        if self.fold:
            cols = self.out_shape[-1]
            x2 = x.reshape(-1, self.k)
            y2 = y[(0,) * (y.ndim - 2)]  # a view even when y is a transposed view
            if x2.shape[0] * cols == out.size:  # x's batches are the output's
                o2 = out.reshape(-1, cols)
                return lambda: mm(x2, y2, out=o2)
        if self.adj_x:
            x = np.swapaxes(x, -1, -2)
        return lambda: mm(x, y, out=out)
