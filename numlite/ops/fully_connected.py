"""FULLY_CONNECTED: ``out = act(x @ W.T + b)``: float32, quantized (int8, uint8, int16x8) and
hybrid (float input, int8 weights), as LiteRT's reference kernels compute them.

1. The input ``[..., K]`` is read as ``[M, K]`` (M = size / K, as TFLite flattens it); weights
   are ``[N, K]``; the optional bias has N elements.  The output is ``[M, N]``, or
   ``[..., N]`` with ``keep_num_dims`` (then the input's last dimension must be K).
2. Float32: a single BLAS call written straight into the output view: ``np.matmul(x, W.T,
   out=)``.  The weights are used in place through a transposed view (BLAS takes the
   transpose flag), constant or not: no copy.  A transposed C-contiguous copy made in prepare
   was measured slower for M = 1 (GEMV on 1024x1001: 34 us vs 22 us; 2048x1000: 65 vs 41 us),
   equal for M >= 8, and it would double the weights' memory.  Bias add and the fused
   activation (NONE, RELU, RELU_N1_TO_1, RELU6: TFLite rejects the others) are done in place.
   K = 0 gives zeros, as TFLite does.
3. Quantized (int8 x int8 -> int8 with int32 bias, per-tensor or per-channel weights; uint8 x
   uint8 -> uint8 or int16, legacy asymmetric; int16 x int8 -> int16 with int64 bias, or int32
   bias when ``quantized_bias_type`` says so): ``acc = sum_k (x - zx)(w - zw) + b`` exactly, then
   LiteRT's reference requantization, which on this wheel is the float64 one
   (``_qfc.DoubleRequant``: ``round(acc * s_in * s_w[c] / s_out)``, measured: the fixed-point
   multiplier differs by one on some outputs), the output zero point and the fused activation's
   clamp (CalculateActivationRangeQuantized).  Per-channel weights ignore their zero points, as
   TFLite does.
   The 8-bit product runs on float32 BLAS through ``_qgemm.ExactMatmul``: the input as raw int8
   values (uint8 re-centred by -128), the weights pre-centred by their zero point in prepare
   (``w - zw``, magnitude bound taken from the constant weights), so the input zero point is
   one constant correction per output channel: ``b[n] - zx' * sum_k (w - zw)[n, k]``, folded into
   the int32 -> float64 conversion.  int16 inputs use a float64 GEMM (exact: ``|x w| < 2**22``).
   Large constant weights of a GEMM with many rows (``_qgemm.converts_per_invoke``) are not kept
   centred in float: they are converted from the model's bytes into arena scratch at every
   invoke (the same values), which keeps an int8 model's memory near its file size.
4. Hybrid (float32 input, int8 weights, float32 bias and output; TFLite's EvalHybridDense): each
   input row is quantized on the fly (``_qfc.RowQuantizer``; ``asymmetric_quantize_inputs``
   chooses the symmetric or the asymmetric form), ``dot = q @ w.T`` exactly (int32) minus
   ``offset[m] * rowsum(w)[n]`` when asymmetric, then in float32 as LiteRT does: ``out = bias +
   float(dot) * scale[m, n]`` with ``scale = sf[m] * w_scale`` (per-tensor) or ``sf[m] *
   w_scale[n]`` (per-channel), and the fused activation (any of TFLite's).
5. Shuffled weights (``weights_format = SHUFFLED4x16INT8``, legacy uint8 models; TFLite's
   ShuffledFullyConnected): uint8 input and weights, int16 output, int32 bias, and a second
   output, a uint8 workspace of at least ``M * K`` values.  The constant weights are stored in
   4x16 blocks with their sign bit flipped; prepare de-shuffles them once into ``w - 128``
   (``_qfc.unshuffle_4x16``), so the product is the exact GEMM of step 3 on ``x - 128`` (the
   kernel's ``x ^ 0x80`` read as int8).  As TFLite computes (measured bit-exact against LiteRT
   2.3.0's BUILTIN_REF and its default resolver):
   - the zero points of the model are ignored: input and weights are always centred by 128;
   - ``acc + bias`` is requantized with the fixed-point ``MultiplyByQuantizedMultiplier`` of
     ``double(float32(s_in * s_w)) / double(s_out)`` (the wheel forms the scale product in
     float32; the float64 product gives a different multiplier near powers of two), then clamped
     to the activation range (CalculateActivationRangeQuantized, output zero point included)
     without adding the output zero point;
   - the workspace receives ``x ^ 0x80``: as is for a batch of 1, as ``[K / 16, 4, 16]`` blocks
     for a batch of 4; bytes past ``M * K`` are left alone.
   Restrictions (errors naming op and node): only batches of 1 or 4 rows (TFLite's kernels
   compute nothing for other batch sizes, leaving the output unwritten), ``K % 16 == 0`` and
   ``N % 4 == 0``, constant per-tensor weights, two outputs (LiteRT refuses one).  Where LiteRT
   does not run the model, numlite decides: a missing bias (LiteRT dereferences it and crashes)
   counts as zero.  LiteRT's default resolver runs the optimized kernel, which skips the fused
   activation clamp (it only saturates to int16): numlite follows the reference kernel.

Limits: int2 / int16 weights and sparse weights are not supported (int4 weights arrive unpacked
to int8 by the loader and run as int8); LiteRT's kernels accumulate in int32 (wrapping on
overflow for huge K), numlite does not wrap.
"""

from __future__ import annotations

import numpy as np

from . import quant
from ._pool import quantized_activation_range
from ._qfc import DoubleRequant, RowQuantizer, unshuffle_4x16
from ._qgemm import ExactMatmul, chunks_l1, conversion_steps, converts_per_invoke
from .base import Kernel, PrepareContext, Step, chain, check_activation, make_activation
from .registry import register

INPUT, WEIGHTS, BIAS = 0, 1, 2
OUTPUT, WORKSPACE = 0, 1
FORMAT_DEFAULT, FORMAT_SHUFFLED = 0, 1  # FullyConnectedOptionsWeightsFormat
F32, I8, U8, I16, I32, I64 = (np.dtype(t) for t in (np.float32, np.int8, np.uint8, np.int16, np.int32, np.int64))
# (input, weights) -> allowed outputs of the quantized kernels
QUANT_FORMS = {(I8, I8): (I8,), (U8, U8): (U8, I16), (I16, I8): (I16,)}


@register("FULLY_CONNECTED", versions=range(1, 15))
class FullyConnected(Kernel):
    options_table = "FullyConnectedOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2, 3)
        fmt = int(self.options.get("weights_format") or 0)
        if fmt not in (FORMAT_DEFAULT, FORMAT_SHUFFLED):
            ctx.fail(f"unknown weights_format {fmt} (DEFAULT = 0 and SHUFFLED4x16INT8 = 1 exist)")
        self.shuffled = fmt == FORMAT_SHUFFLED
        want_outputs = 2 if self.shuffled else 1
        if len(ctx.outputs) != want_outputs:
            ctx.fail(f"expects {want_outputs} output(s), got {len(ctx.outputs)}"
                     + (" (SHUFFLED4x16INT8 weights need the result and a uint8 workspace; the DEFAULT "
                        "format needs 1)" if self.shuffled else ""))
        x, w = ctx.input(INPUT), ctx.input(WEIGHTS)
        b = ctx.input(BIAS, optional=True)
        out = ctx.outputs[0]
        xt, wt = np.dtype(x.dtype), np.dtype(w.dtype)
        # LiteRT refuses sub-byte weights with a zero point other than 0 (the loader unpacks INT4 /
        # INT2 to int8; ``type_name`` keeps the file's type)
        if w.type_name in ("INT4", "INT2") and np.any(np.asarray(w.quantization.zero_points) != 0):
            ctx.fail(f"{w.type_name} weights {w.describe()} must have zero point 0 "
                     f"(got {np.asarray(w.quantization.zero_points).tolist()})")
        self.act = int(self.options.get("fused_activation_function") or 0)
        ctx.expect_rank(w, 2, "weights")
        n, k = w.shape
        if b is not None and b.size != n:
            ctx.fail(f"bias {b.describe()} must have {n} elements (the weights' first dimension)")
        keep = bool(self.options.get("keep_num_dims"))
        if keep and x.rank == 0:
            ctx.fail(f"keep_num_dims needs an input of rank >= 1, got {x.describe()}")
        if k == 0:
            m = int(np.prod(x.shape[:-1], dtype=np.int64)) if x.rank else 1
        else:
            if x.size % k:
                ctx.fail(f"input {x.describe()} has {x.size} elements, not a multiple of the weights' K = {k}")
            m = x.size // k
        if keep and x.shape[-1] != k:
            ctx.fail(f"keep_num_dims: the input's last dimension ({x.shape[-1]}) must equal K = {k}")
        self.m, self.n, self.k = m, n, k
        self.has_bias = b is not None
        out_shape = (*x.shape[:-1], n) if keep else (m, n)

        if self.shuffled:
            self._prepare_shuffled(ctx, x, w, b)
            ctx.set_output(0, out_shape, I16)
        elif xt == F32 and wt == F32:
            self.mode = "float"
            check_activation(ctx, self.act)
            if b is not None and np.dtype(b.dtype) != F32:
                ctx.fail(f"bias {b.describe()} must be float32")
            if np.dtype(out.dtype) != F32:
                ctx.fail(f"output {out.describe()} must be float32")
            ctx.set_output(0, out_shape, F32)
        elif xt == F32 and wt in (I8, U8):
            self._prepare_hybrid(ctx, x, w, b)
            ctx.set_output(0, out_shape, F32)
        elif (xt, wt) in QUANT_FORMS:
            self._prepare_quantized(ctx, x, w, b)
            ctx.set_output(0, out_shape)
        else:
            ctx.fail(f"input {x.describe()} with weights {w.describe()} is not a supported combination "
                     "(float32 x float32, float32 x int8 (hybrid), int8 x int8, uint8 x uint8, int16 x int8)")

    # -- quantized ------------------------------------------------------------------------
    def _prepare_quantized(self, ctx: PrepareContext, x, w, b) -> None:
        out = ctx.outputs[0]
        xt, wt, ot = np.dtype(x.dtype), np.dtype(w.dtype), np.dtype(out.dtype)
        if ot not in QUANT_FORMS[(xt, wt)]:
            names = " or ".join(t.name for t in QUANT_FORMS[(xt, wt)])
            ctx.fail(f"output {out.describe()} must be {names} for {xt.name} input and {wt.name} weights")
        check_activation(ctx, self.act)
        for spec, role in ((x, "input"), (w, "weights"), (out, "output")):
            if not spec.quantization.is_quantized:
                ctx.fail(f"{role} {spec.describe()} has no quantization parameters")
        wq = w.quantization
        scales = np.asarray(wq.scales, np.float32).reshape(-1)
        per_channel = scales.size > 1
        if per_channel:
            if wt != I8:
                ctx.fail(f"per-channel weights {w.describe()} need int8 weights and int8 / int16 inputs")
            if wq.quantized_dimension != 0 or scales.size != self.n:
                ctx.fail(f"per-channel weights {w.describe()} must have {self.n} scales along dimension 0 "
                         f"(got {scales.size} along dimension {wq.quantized_dimension})")
        s_in = float(np.float32(x.quantization.scales[0]))
        s_out = float(np.float32(out.quantization.scales[0]))
        zx = int(x.quantization.zero_points[0])
        zo = int(out.quantization.zero_points[0])
        zw = 0 if per_channel else int(wq.zero_points[0])
        if xt == I16:
            if zx != 0 or zo != 0:
                ctx.fail(f"int16 input {x.describe()} and output need zero point 0 (got {zx} and {zo})")
            qbt = int(self.options.get("quantized_bias_type") or 0)
            want = I32 if qbt == 2 else I64  # TensorType INT32 = 2; LiteRT reads int64 otherwise
            if b is not None and np.dtype(b.dtype) != want:
                ctx.fail(f"bias {b.describe()} of a 16x8 fully connected must be {want.name}"
                         + (" (or int32 with quantized_bias_type=INT32)" if want == I64 else ""))
        elif b is not None and np.dtype(b.dtype) != I32:
            ctx.fail(f"bias {b.describe()} must be int32")
        # LiteRT's reference requantizes in double: round(acc * (double(s_in) * double(s_w) / double(s_out)))
        eff = np.float64(s_in) * scales.astype(np.float64) / np.float64(s_out)
        lo, hi = quantized_activation_range(ctx, self.act, ot, s_out, zo)
        self.requant = DoubleRequant(eff if per_channel else eff[0], zo, lo, hi)
        m, n, k = self.m, self.n, self.k
        self.wide = xt == I16
        gemm_t = np.float64 if self.wide else np.float32
        shift = 128 if xt == U8 else 0
        self.x_shift = shift
        zx_c = zx - shift  # zero point of the re-centred input
        self.zw = zw
        bias = None if b is None else np.asarray(b.value, np.int64).reshape(n) if b.value is not None else None
        self.const_bias = b is None or b.value is not None
        self.w_raw = None
        if w.value is not None:
            wc = np.asarray(w.value, np.int64).reshape(n, k) - zw
            self.w_bound = max(int(np.abs(wc).max(initial=0)), 1)
            self.wc = wc.astype(gemm_t)
            if converts_per_invoke(n * k, m):  # into scratch at every invoke (step 3)
                self.parts = None if self.wide else chunks_l1(np.abs(self.wc), 128)
                self.w_raw = np.asarray(w.value).reshape(n, k)
                self.wc = None
                self.s_wc = ctx.scratch((n, k), gemm_t)
            self.colcorr = (-zx_c * wc.sum(axis=1)).astype(np.float64)
            if bias is not None:
                self.colcorr += bias
            elif b is not None:
                self.colcorr_base = self.colcorr.copy()
        else:
            self.wc = None
            self.w_bound = 255 if wt == U8 else 128
            self.zx_c = zx_c
            self.s_wc = ctx.scratch((n, k), gemm_t)
            self.s_colcorr = ctx.scratch((n,), np.float64)
        self.mode = "quantized"
        if not self.wide:
            self.s_x = ctx.scratch((m, k), np.float32)
            self.s_acc = ctx.scratch((m, n), np.int32)
            self.s_tmp32 = ctx.scratch((m, n), np.float32)
        else:
            self.s_x = ctx.scratch((m, k), np.float64)
        self.s_y = ctx.scratch((m, n), np.float64)
        self.s_t = ctx.scratch((m, n), np.float64)

    def _bind_quantized(self, inputs, outputs, scratch) -> Step:
        m, n, k = self.m, self.n, self.k
        o2 = outputs[0].reshape(m, n)
        xin = inputs[INPUT].reshape(m, k)
        xs, y, t = scratch[self.s_x], scratch[self.s_y], scratch[self.s_t]
        steps = []
        if self.x_shift:
            sh = np.float32(self.x_shift)
            steps.append(lambda: np.subtract(xin, sh, out=xs))
        else:
            steps.append(lambda: np.copyto(xs, xin))
        if self.w_raw is not None or self.wc is not None:
            if self.w_raw is not None:  # constant weights converted at every invoke (step 3)
                wc = scratch[self.s_wc]
                steps.extend(conversion_steps(wc, self.w_raw, self.zw))
            else:
                wc = self.wc
            colcorr = self.colcorr
            bias_v = None
            if not self.const_bias:  # a runtime bias: add it to the constant correction per invoke
                base, colcorr = self.colcorr_base, np.empty(n, np.float64)
                bias_v = inputs[BIAS].reshape(n)
                steps.append(lambda: np.add(base, bias_v, out=colcorr))
        else:  # runtime weights: centre them and recompute the correction per invoke
            wc, colcorr = scratch[self.s_wc], scratch[self.s_colcorr]
            win = inputs[WEIGHTS].reshape(n, k)
            zwf, zxc = wc.dtype.type(self.zw), float(self.zx_c)
            bias_v = inputs[BIAS].reshape(n) if self.has_bias else None

            def weights() -> None:
                np.subtract(win, zwf, out=wc)
                np.sum(wc, axis=1, out=colcorr, dtype=np.float64)
                np.multiply(colcorr, -zxc, out=colcorr)
                if bias_v is not None:
                    np.add(colcorr, bias_v, out=colcorr)

            steps.append(weights)
        if self.wide:
            wct = wc.T
            steps.append(lambda: np.matmul(xs, wct, out=y))
            steps.append(lambda: np.add(y, colcorr, out=y))
        else:
            acc, tmp = scratch[self.s_acc], scratch[self.s_tmp32]
            if self.w_raw is not None:
                mm = ExactMatmul(wc.T, 128, 1, parts=self.parts)
            elif self.wc is not None:
                mm = ExactMatmul.for_weights(wc.T, 128)
            else:
                mm = ExactMatmul(wc.T, 128, self.w_bound)
            steps.append(mm.bind(xs, acc, tmp))
            steps.append(lambda: np.add(acc, colcorr, out=y))
        steps.append(self.requant.bind(y, o2, t))
        return chain(*steps)

    # -- shuffled (legacy uint8 weights, SHUFFLED4x16INT8) --------------------------------
    def _prepare_shuffled(self, ctx: PrepareContext, x, w, b) -> None:
        out, ws = ctx.outputs[OUTPUT], ctx.outputs[WORKSPACE]
        xt, wt, ot = np.dtype(x.dtype), np.dtype(w.dtype), np.dtype(out.dtype)
        if (xt, wt, ot) != (U8, U8, I16):
            ctx.fail(f"SHUFFLED4x16INT8 weights need uint8 input and weights and an int16 output, got input "
                     f"{x.describe()}, weights {w.describe()}, output {out.describe()} (other types use the "
                     "DEFAULT weights format)")
        if b is not None and np.dtype(b.dtype) != I32:
            ctx.fail(f"bias {b.describe()} of shuffled weights must be int32")
        check_activation(ctx, self.act)
        for spec, role in ((x, "input"), (w, "weights"), (out, "output")):
            if not spec.quantization.is_quantized:
                ctx.fail(f"{role} {spec.describe()} has no quantization parameters")
        w_scales = np.asarray(w.quantization.scales, np.float32).reshape(-1)
        if w_scales.size != 1:
            ctx.fail(f"shuffled weights {w.describe()} must be quantized per tensor (got {w_scales.size} scales)")
        if w.value is None:
            ctx.fail(f"shuffled weights {w.describe()} must be constant (numlite de-shuffles them once)")
        m, n, k = self.m, self.n, self.k
        if k:
            if k % 16 or n % 4:
                ctx.fail(f"shuffled weights {w.describe()} need K ({k}) a multiple of 16 and N ({n}) a multiple "
                         "of 4 (4x16 blocks)")
            if m not in (1, 4):
                ctx.fail(f"shuffled weights support a batch of 1 or 4 rows only (TFLite's kernel computes "
                         f"nothing for other batches); input {x.describe()} gives {m} rows of K = {k}")
        if np.dtype(ws.dtype) != U8:
            ctx.fail(f"workspace output {ws.describe()} must be uint8")
        if ws.size < m * k:
            ctx.fail(f"workspace output {ws.describe()} must hold the {m * k} values of the input")
        ctx.set_output(WORKSPACE, ws.shape, U8)
        s_out = np.float64(np.float32(out.quantization.scales[0]))
        zo = int(out.quantization.zero_points[0])
        # TFLite's shuffled kernel requantizes with the fixed-point multiplier and clamps without
        # adding the output zero point (int16 outputs have zero point 0 in practice).  The wheel
        # forms the scale product in float32 (measured: the float64 product misses some outputs).
        product = np.float64(np.float32(x.quantization.scales[0]) * np.float32(w_scales[0]))
        q, shift = quant.quantize_multiplier(product / s_out)
        self.requant_fixed = quant.Requantizer(q, shift)
        self.lo, self.hi = quantized_activation_range(ctx, self.act, I16, float(s_out), zo)
        self.wc = unshuffle_4x16(np.asarray(w.value).reshape(-1), n, k).astype(np.float32)
        self.bias64 = None if b is None else (np.asarray(b.value, np.int64).reshape(n) if b.value is not None
                                              else None)
        self.runtime_bias = b is not None and b.value is None
        self.mode = "shuffled"
        self.s_x = ctx.scratch((m, k), np.float32)
        self.s_acc = ctx.scratch((m, n), np.int32)
        self.s_tmp32 = ctx.scratch((m, n), np.float32)
        self.s_a64 = ctx.scratch((m, n), np.int64)
        self.s_t64 = ctx.scratch((m, n), np.int64)

    def _bind_shuffled(self, inputs, outputs, scratch) -> Step:
        m, n, k = self.m, self.n, self.k
        xin = inputs[INPUT].reshape(m, k)
        o2 = outputs[OUTPUT].reshape(m, n)
        ws = outputs[WORKSPACE].reshape(-1)[: m * k]
        xs, acc, tmp = scratch[self.s_x], scratch[self.s_acc], scratch[self.s_tmp32]
        a64, t64 = scratch[self.s_a64], scratch[self.s_t64]
        flip = np.uint8(0x80)
        if m == 1:
            src, dst = xin.reshape(-1), ws
        else:  # TFLite's workspace layout for 4 rows: [K / 16, 4, 16]
            src, dst = xin.reshape(4, k // 16, 16).transpose(1, 0, 2), ws.reshape(k // 16, 4, 16)
        centre = np.float32(128)
        bias = self.bias64 if not self.runtime_bias else inputs[BIAS].reshape(n)
        requant, lo, hi = self.requant_fixed, self.lo, self.hi

        def prologue() -> None:
            np.bitwise_xor(src, flip, out=dst)  # the workspace, as TFLite fills it
            np.subtract(xin, centre, out=xs)  # int8(x ^ 0x80) == x - 128

        def epilogue() -> None:
            if bias is None:
                np.copyto(a64, acc)
            else:
                np.add(acc, bias, out=a64)
            requant(a64, t64)
            np.clip(a64, lo, hi, out=a64)
            np.copyto(o2, a64, casting="unsafe")

        gemm = ExactMatmul.for_weights(self.wc.T, 128).bind(xs, acc, tmp)
        return chain(prologue, gemm, epilogue)

    # -- hybrid ---------------------------------------------------------------------------
    def _prepare_hybrid(self, ctx: PrepareContext, x, w, b) -> None:
        out = ctx.outputs[0]
        if np.dtype(w.dtype) != I8:
            ctx.fail(f"hybrid weights {w.describe()} must be int8 (uint8 hybrid weights are not supported)")
        if b is not None and np.dtype(b.dtype) != F32:
            ctx.fail(f"bias {b.describe()} of a hybrid fully connected must be float32")
        if np.dtype(out.dtype) != F32:
            ctx.fail(f"output {out.describe()} of a hybrid fully connected must be float32")
        check_activation(ctx, self.act, (0, 1, 2, 3, 4, 5))
        if w.value is None:
            ctx.fail(f"hybrid weights {w.describe()} must be constant")
        wq = w.quantization
        if not wq.is_quantized:
            ctx.fail(f"weights {w.describe()} have no quantization scale")
        scales = np.asarray(wq.scales, np.float32).reshape(-1)
        m, n, k = self.m, self.n, self.k
        if scales.size > 1:
            if wq.quantized_dimension != 0 or scales.size != n:
                ctx.fail(f"per-channel weights {w.describe()} must have {n} scales along dimension 0 "
                         f"(got {scales.size} along dimension {wq.quantized_dimension})")
            self.pcs = scales
        else:
            self.pcs = None
            self.w_scale = np.float32(scales[0])
        wv = np.asarray(w.value).reshape(n, k)
        self.wf = wv.astype(np.float32)
        self.rowsum = wv.astype(np.int64).sum(axis=1).astype(np.int32)
        self.asym = bool(self.options.get("asymmetric_quantize_inputs"))
        self.mode = "hybrid"
        self.s_q = ctx.scratch((m, k), np.float32)
        self.s_qtmp = ctx.scratch((m, k), np.float32)
        self.s_acc = ctx.scratch((m, n), np.int32)
        self.s_tmp32 = ctx.scratch((m, n), np.float32)
        self.s_sf = ctx.scratch((m,), np.float32)
        self.s_off = ctx.scratch((m,), np.int32)
        if self.asym:
            self.s_oi = ctx.scratch((m, n), np.int32)
        if self.pcs is not None:
            self.s_scale = ctx.scratch((m, n), np.float32)

    def _bind_hybrid(self, inputs, outputs, scratch) -> Step:
        m, n, k = self.m, self.n, self.k
        out = outputs[0]
        o2 = out.reshape(m, n)
        xin = inputs[INPUT].reshape(m, k)
        q, acc, tmp = scratch[self.s_q], scratch[self.s_acc], scratch[self.s_tmp32]
        sf, off = scratch[self.s_sf], scratch[self.s_off]
        quantize = RowQuantizer(self.asym).bind(xin, q, sf, off, scratch[self.s_qtmp])
        gemm = ExactMatmul.for_weights(self.wf.T, 128).bind(q, acc, tmp)
        steps = [quantize, gemm]
        if self.asym:
            oi, rowsum, off2 = scratch[self.s_oi], self.rowsum, off.reshape(m, 1)

            def offsets() -> None:
                np.multiply(off2, rowsum, out=oi)
                np.subtract(acc, oi, out=acc)

            steps.append(offsets)
        sf2 = sf.reshape(m, 1)
        if self.pcs is None:
            ws = self.w_scale

            def scale() -> None:
                np.copyto(tmp, acc, casting="unsafe")  # int32 -> float32, rounding as C does
                np.multiply(sf, ws, out=sf)
                np.multiply(tmp, sf2, out=o2)
        else:
            sc, pcs = scratch[self.s_scale], self.pcs

            def scale() -> None:
                np.copyto(tmp, acc, casting="unsafe")
                np.multiply(sf2, pcs, out=sc)
                np.multiply(tmp, sc, out=o2)

        steps.append(scale)
        if self.has_bias:
            bv = inputs[BIAS].reshape(n)
            steps.append(lambda: np.add(o2, bv, out=o2))
        steps.append(make_activation(self.act, out))
        return chain(*steps)

    # -- float ----------------------------------------------------------------------------
    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        out = outputs[0]
        if self.m * self.n == 0:
            return lambda: None
        if self.k == 0:
            return lambda: out.fill(0)
        if self.mode == "quantized":
            return self._bind_quantized(inputs, outputs, scratch)
        if self.mode == "hybrid":
            return self._bind_hybrid(inputs, outputs, scratch)
        if self.mode == "shuffled":
            return self._bind_shuffled(inputs, outputs, scratch)
        x = inputs[INPUT].reshape(self.m, self.k)
        wt = inputs[WEIGHTS].T
        o2 = out.reshape(self.m, self.n)
        mm = np.matmul
        main = lambda: mm(x, wt, out=o2)
        bias = None
        if self.has_bias:
            bv = inputs[BIAS].reshape(self.n)
            bias = lambda: np.add(o2, bv, out=o2)
        return chain(main, bias, make_activation(self.act, out))
