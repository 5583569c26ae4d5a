"""CONV_2D, float32: im2col + BLAS matmul, tiled so each tile works in cache.

Inputs ``INPUT [N, H, W, Cin]``, ``FILTER [Cout, KH, KW, Cin/groups]`` (OHWI) and an optional
``BIAS [Cout]``; options ``Conv2DOptions`` (padding, strides, dilations, fused activation).

1. Prepare checks types and shapes as LiteRT does (rank 4, ``Cin % filter_cin == 0``,
   ``Cout % groups == 0``, bias of ``Cout`` elements, strides and dilations >= 1), computes
   the geometry (``_conv.ConvGeometry``) and re-lays a constant filter out once into
   ``[groups, KH*KW*Cin_g, Cout_g]``.  A filter known only at invoke time is re-laid into
   scratch at every invoke (LiteRT accepts such models).
2. A 1x1 stride-1 convolution is one matmul of the input viewed as ``[N*H*W, Cin]`` straight
   into the output viewed as ``[N*H*W, Cout]`` (unless step 3's bias folding pays more).
3. Otherwise the (zero-padded, if needed) input is copied tile by tile into an im2col buffer
   (``_conv.plan_tiles``; a strided 1x1 is the same copy with one tap) and each tile is
   matmul'ed into its rows of the output.  A constant bias is folded into that matmul: the
   buffer has an extra column of ones and the weights an extra row holding the bias.
4. The bias (when not folded) and the clamping activation are applied in place on each
   tile's output rows while they are in cache, then the ops the executor fused into this node
   (``Kernel.fused``: PRELU, a residual ADD, ...), on the same rows.
5. Grouped convolution (``groups = Cin / filter_cin > 1``) does one matmul per group on
   column slices of the same buffers.

Threads: with ``num_threads > 1`` the matmuls use BLAS's own threads (the executor sets them).
Running tiles in parallel on ``ctx.pool`` with single-threaded BLAS was measured and was not
faster (3.2 vs 2.8 ms on a 147x147x32 -> 64 3x3 layer, 2 cores), so the copies and the clamp
stay on the calling thread.

Fused activations: RELU, RELU6 and RELU_N1_TO_1 clamp.  TANH and SIGN_BIT are accepted and
ignored, exactly as LiteRT's CONV_2D does (its float activation range treats every other
code as "no clamp").  A missing bias (2 inputs, or input 2 = -1) is accepted (LiteRT rejects
it at prepare) and means zero bias.

Quantized forms (``QuantConv``), bit-exact with LiteRT's reference kernels (BUILTIN_REF):

1. int8 (per-channel or per-tensor int8 weights, zero point 0; int32 bias), uint8 (legacy
   per-tensor asymmetric, weights too; multiplier from ``float(s_in * s_w) / s_out``) and 16x8
   (int16 activations with zero point 0, int8 weights; int64 bias with the int64 requantization,
   or int32 bias with ``quantized_bias_type`` INT32: int32 accumulator and 32-bit requantization).
2. The input is padded with its zero point (uint8 re-centred by -128 in the im2col copy) and
   copied tile by tile into a float32 im2col buffer (float64 for 16x8); weights are kept raw as
   float32 (uint8 minus their zero point).  ``acc = sum(w * x) + bias - zx * colsum(w)`` is an
   exact float32 GEMM (``_qgemm.chunks_l1``: K split so that ``128 * sum |w|`` over a chunk, which
   bounds every partial sum, stays at most 2**24: usually one chunk); the constant
   ``bias - zx * colsum(w)`` rides in the GEMM as a weight row against a column of ones when the
   bound allows, else it is added in float64.
3. Requantization, zero point and activation clamp (TFLite's CalculateActivationRangeQuantized)
   run in float64 (``_qgemm.FloatRequantizer``, exact for multipliers >= 2**-14, else int64).
4. Hybrid (float32 input, int8 weights, float32 output): each batch row is quantized on the fly
   (``_conv.quantize_image_``): per-tensor weights use symmetric inputs and
   ``float(acc) * (sf * scale) + bias``; per-channel weights (differing scales) or groups use
   asymmetric inputs and ``float(acc) * scale[c] * sf + bias``, in float32, as TFLite's
   EvalHybrid / EvalHybridPerChannel do.  The outputs are bit-identical to BUILTIN_REF.
5. Quantized forms need constant filter and bias.  A bias-free model (LiteRT rejects it) runs
   with a zero bias.
6. Memory: a large weight matrix of a long GEMM (``_qgemm.converts_per_invoke``) is not kept as
   floats: the integer weights (zero-copy views on the model file) are converted into arena
   scratch at every invoke, with the constant row; the values, hence the results, are the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import _conv
from ._conv import (
    ConvGeometry,
    PadStep,
    filter_relayout_step,
    filter_to_matmul,
    patch_view,
    plan_tiles,
    quantize_image_,
    tile_rows,
)
from ._qbinary import quantized_activation_range
from ._qgemm import EXACT_LIMIT, FloatRequantizer, chunks_l1, conversion_steps, converts_per_invoke
from .base import (
    ACT_RELU,
    ACT_RELU6,
    ACT_RELU_N1_TO_1,
    ACTIVATION_NAMES,
    CLIP,
    PADDING_SAME,
    PADDING_VALID,
    Kernel,
    PrepareContext,
    Step,
    chain,
)
from .quant import Requantizer, apply_int64_multiplier_into, int64_multiplier, quantize_multiplier
from .registry import register

if TYPE_CHECKING:
    pass

INPUT, FILTER, BIAS = 0, 1, 2

#: a float CONV_2D with at most this many output pixels copies its constant weights into C order
#: (OpenBLAS runs such short GEMMs 9-25% faster on them: 196 x 512 @ 512 x 512 997 against 1091 us,
#: 49 x 1024 @ 1024 x 1024 1348 against 1645 us at 1 thread); longer ones gain under 2% and keep the
#: weights zero-copy.  In MobileNet v1 this copies the 14x14 and 7x7 layers' weights (about 12 MB).
CONTIGUOUS_MAX_ROWS = 256

_CLAMPS = {ACT_RELU: (0.0, np.inf), ACT_RELU6: (0.0, 6.0), ACT_RELU_N1_TO_1: (-1.0, 1.0)}


def _epilogue(o: np.ndarray, bias: np.ndarray | None, clamp: tuple[float, float] | None) -> list[Step]:
    """In-place bias add and clamp on output rows ``o`` (steps, possibly none).  ``np.clip``
    with float32 scalar bounds is one pass and several times faster than maximum + minimum."""
    add, clip = np.add, CLIP
    steps: list[Step] = []
    if bias is not None:
        steps.append(lambda: add(o, bias, out=o))
    if clamp is not None:
        lo, hi = np.float32(clamp[0]), np.float32(clamp[1])
        steps.append(lambda: clip(o, lo, hi, out=o))
    return steps


@register("CONV_2D", versions=range(1, 9))
class Conv2D(Kernel):
    options_table = "Conv2DOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2, 3)
        x = ctx.input(INPUT)
        f = ctx.input(FILTER)
        b = ctx.input(BIAS, optional=True)
        xt, ft = np.dtype(x.dtype), np.dtype(f.dtype)
        self.quant = None
        if xt in (np.int8, np.uint8, np.int16) or (xt == np.float32 and ft in (np.int8, np.uint8)):
            self.quant = QuantConv(self, ctx)
            return
        for spec, role in ((x, "input"), (f, "filter"), (b, "bias")):
            if spec is not None and np.dtype(spec.dtype) != np.float32:
                ctx.fail(f"{role} {spec.describe()} has type {np.dtype(spec.dtype).name}; numlite's CONV_2D "
                         "supports float32 only, besides the quantized forms (int8 / uint8 / int16 input with "
                         "int8 / uint8 filter) and hybrid ones (float32 input, int8 filter)")
        self._check_geometry(ctx, x, f, b)
        self._prepare_float(ctx, x, f, b)

    def _check_geometry(self, ctx: PrepareContext, x, f, b) -> None:
        """Checks shared by every form; sets ``geom``, ``groups``, ``cout``, ``fin``, ``act``."""
        ctx.expect_rank(x, 4, "input")
        ctx.expect_rank(f, 4, "filter")
        opt = self.options
        padding = int(opt.get("padding") or 0)
        sh, sw = int(opt.get("stride_h") or 0), int(opt.get("stride_w") or 0)
        dh, dw = int(opt.get("dilation_h_factor") or 0), int(opt.get("dilation_w_factor") or 0)
        if padding not in (PADDING_SAME, PADDING_VALID):
            ctx.fail(f"unknown padding {padding}")
        if sh < 1 or sw < 1:
            ctx.fail(f"strides must be >= 1, got stride_h={sh} stride_w={sw}")
        if dh < 1 or dw < 1:
            ctx.fail(f"dilations must be >= 1, got dilation_h_factor={dh} dilation_w_factor={dw}")
        cout, kh, kw, fin = f.shape
        cin = x.shape[3]
        if fin < 1 or cin % fin:
            ctx.fail(f"input channels ({cin}, {x.describe()}) must be a multiple of the filter's input "
                     f"channels ({fin}, {f.describe()})")
        groups = cin // fin
        if groups > 1 and cout % groups:
            ctx.fail(f"output channels {cout} of filter {f.describe()} must be a multiple of the {groups} groups")
        if b is not None and (b.size != cout):
            ctx.fail(f"bias {b.describe()} must have {cout} elements (the filter's output channels)")
        act = int(opt.get("fused_activation_function") or 0)
        if act not in ACTIVATION_NAMES:
            ctx.fail(f"unknown fused activation {act}")
        self.act = act
        self.clamp = _CLAMPS.get(act)
        g = ConvGeometry.make(x.shape, kh, kw, (sh, sw), (dh, dw), padding)
        self.geom, self.groups, self.cout, self.fin = g, groups, cout, fin

    def _prepare_float(self, ctx: PrepareContext, x, f, b) -> None:
        g, groups, cout, fin = self.geom, self.groups, self.cout, self.fin
        kh, kw = f.shape[1], f.shape[2]
        ctx.set_output(0, (g.n, g.oh, g.ow, cout), np.float32)
        if ctx.shapes_only:  # a delegate's shape inference: no weight re-layout
            return
        self.has_bias = b is not None
        self.bias = None if b is None or b.value is None else np.ascontiguousarray(b.value, np.float32).reshape(cout)
        self.k = k = kh * kw * fin
        # With an im2col buffer of our own, the bias rides along in the matmul: a column of
        # ones in the buffer and a bias row under the weights save a pass over the output.
        # A 1x1 stride-1 convolution needs no buffer; giving it one (a copy of the input) pays
        # when the output is wider than the input, as in MobileNet v2's expansions.
        fold = self.bias is not None and groups == 1
        self.direct = g.pointwise and not (fold and 2 * cout > 3 * g.cin)
        self.fold_bias = fold and not self.direct
        self.wmat = self.w_slot = None
        if f.value is not None:
            # short GEMMs get C-ordered weights (a copy: see filter_to_matmul); folding the bias copies anyway
            short = g.n * g.oh * g.ow <= CONTIGUOUS_MAX_ROWS
            self.wmat = filter_to_matmul(f.value, groups, self.bias.reshape(cout) if self.fold_bias else None,
                                         contiguous=short)
        else:
            self.w_slot = ctx.scratch((groups, k + self.fold_bias, cout // groups), np.float32)
        self.pad_slot = self.cols_slot = None
        if g.empty:
            self.tiles = []
            return
        if self.direct:
            self.tiles = [(0, g.n, 0, g.oh)]
            return
        self.tiles = plan_tiles(g, (k * groups + self.fold_bias) * 4)
        rows = max(r1 - r0 for r0, r1 in (tile_rows(g, t) for t in self.tiles))
        self.cols_slot = ctx.scratch((rows, groups * k + self.fold_bias), np.float32)
        if g.padded:
            self.pad_slot = ctx.scratch(g.padded_shape, np.float32)

    def epilogue_tiles(self) -> tuple[int, int, int] | None:
        """Float: ops fused into this one run on each tile's output rows (step 4)."""
        if self.quant is not None or not self.tiles:
            return None
        rows = max(r1 - r0 for r0, r1 in (tile_rows(self.geom, t) for t in self.tiles))
        return self.cout, rows * self.cout, 1

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray],
             scratch: list[np.ndarray]) -> Step:
        if self.quant is not None:
            return self.quant.bind(inputs, outputs, scratch)
        g, groups, cout, k = self.geom, self.groups, self.cout, self.k
        if g.empty:
            return lambda: None
        x, out = inputs[INPUT], outputs[0]
        if not (x.flags.c_contiguous and out.flags.c_contiguous):
            # the 2-D views below must alias the live buffers, never copies made now
            raise RuntimeError(f"{self.op_name} (node {self.node.index}): input and output must be C-contiguous")
        pre: list[Step] = []
        bias = None
        if self.has_bias:
            bias = self.bias if self.bias is not None else inputs[BIAS].reshape(cout)
        if self.wmat is not None:
            wmat = self.wmat
        else:  # a filter known only at invoke time is laid out at every invoke
            wmat = scratch[self.w_slot]
            pre.append(filter_relayout_step(inputs[FILTER], wmat[:, :k], groups))
            if self.fold_bias:
                brow, b32 = wmat[0, k], self.bias
                pre.append(lambda: np.copyto(brow, b32))
        out2d = out.reshape(-1, cout)
        cg = cout // groups
        ws = [wmat[i] for i in range(groups)]
        epi_bias = None if self.fold_bias else bias

        if self.direct:
            a2d = x.reshape(-1, g.cin)
            src_view = None
        else:
            src = x
            if g.padded:
                src = scratch[self.pad_slot]
                pre.append(PadStep(x, src, g))
            src_view = patch_view(src, g) if groups == 1 else _grouped_patch_view(src, g, groups, self.fin)
            cols = scratch[self.cols_slot]
            if self.fold_bias:
                ones = cols[:, k]
                pre.append(lambda: ones.fill(1.0))

        copy, matmul = np.copyto, np.matmul
        fused = self.fused
        tiles: list[tuple[tuple | None, list, list]] = []
        for t in self.tiles:
            n0, n1, y0, y1 = t
            r0, r1 = tile_rows(g, t)
            o = out2d[r0:r1]
            if src_view is None:
                a = a2d[r0:r1]
                cp = None
            else:
                a = cols[:r1 - r0]
                if groups == 1:
                    dst = a[:, :k].reshape(n1 - n0, y1 - y0, g.ow, g.kh, g.kw, g.cin)
                else:
                    dst = a.reshape(n1 - n0, y1 - y0, g.ow, groups, g.kh, g.kw, self.fin)
                cp = (dst, src_view[n0:n1, y0:y1])
            if groups == 1:
                mms = [(a, ws[0], o)]
            else:
                mms = [(a[:, i * k:(i + 1) * k], ws[i], o[:, i * cg:(i + 1) * cg]) for i in range(groups)]
            epi = _epilogue(o, epi_bias, self.clamp)
            if fused is not None:  # ops fused into this one (executor step 2b), on the tile's rows
                f = fused(r0 * cout, r1 * cout, 0)
                if f is not None:
                    epi.append(f)
            tiles.append((cp, mms, epi))

        if len(tiles) == 1 and groups == 1:
            cp, ((a, w, o),), epi = tiles[0]
            body: list[Step] = list(pre)
            if cp is not None:
                dst, srcv = cp
                body.append(lambda: copy(dst, srcv))
            body.append(lambda: matmul(a, w, out=o))
            body.extend(epi)
            return chain(*body)

        def step() -> None:
            for p in pre:
                p()
            for cp, mms, epi in tiles:
                if cp is not None:
                    copy(cp[0], cp[1])
                for a, w, o in mms:
                    matmul(a, w, out=o)
                for e in epi:
                    e()

        return step


def _grouped_patch_view(src: np.ndarray, g: ConvGeometry, groups: int, fin: int) -> np.ndarray:
    """``[N, OH, OW, groups, KH, KW, fin]`` view: the channel axis split into groups, moved before the taps."""
    v = patch_view(src, g)
    sn, sy, sx, sky, skx, sc = v.strides
    return np.lib.stride_tricks.as_strided(
        v, shape=(g.n, g.oh, g.ow, groups, g.kh, g.kw, fin),
        strides=(sn, sy, sx, fin * sc, sky, skx, sc), writeable=False)


#: quantized tiles are this many times ``_conv.TILE_BYTES`` (their row size counts the float64
#: epilogue buffers too).  Measured on whole int8 models, fresh interpreters alternating: at 1 /
#: 4 / 8 MB per tile MobileNet v1 took 19.4 / 17.8 / 17.8 ms (1 thread) and 15.1 / 13.8 /
#: 13.6 ms (2 threads), Inception v3 106 / 85.5 / 84.1 ms (2 threads): fewer, larger GEMMs
#: split better across BLAS threads, and the per-call costs of the epilogue passes shrink.
QUANT_TILE_FACTOR = 4
#: the longest reduction (K + 1, with the constant row) for which CONV_2D folds requantization
#: into a float64 GEMM (``QuantConv._fused_ok``)
FUSED_MAX_K = 30


class QuantConv:
    """The quantized and hybrid forms of CONV_2D (module docstring, "Quantized forms")."""

    def __init__(self, kernel: Conv2D, ctx: PrepareContext):
        x, f, b = ctx.input(INPUT), ctx.input(FILTER), ctx.input(BIAS, optional=True)
        out = ctx.outputs[0]
        self.node = kernel.node
        kernel._check_geometry(ctx, x, f, b)
        g, groups, cout, fin = kernel.geom, kernel.groups, kernel.cout, kernel.fin
        self.geom, self.groups, self.cout, self.fin = g, groups, cout, fin
        xt, ft = np.dtype(x.dtype), np.dtype(f.dtype)
        self.mode = mode = {np.dtype(np.int8): "int8", np.dtype(np.uint8): "uint8",
                            np.dtype(np.int16): "16x8", np.dtype(np.float32): "hybrid"}[xt]
        want_f = np.dtype(np.uint8) if mode == "uint8" else np.dtype(np.int8)
        if ft != want_f:
            ctx.fail(f"filter {f.describe()} has type {ft.name}; a {xt.name} CONV_2D needs a {want_f.name} filter")
        if f.value is None:
            ctx.fail(f"filter {f.describe()} must be a constant for the quantized / hybrid CONV_2D")
        fq = f.quantization
        if not fq.is_quantized:
            ctx.fail(f"filter {f.describe()} has no quantization parameters")
        ws = np.asarray(fq.scales, np.float32).reshape(-1)
        if ws.size not in (1, cout):
            ctx.fail(f"filter {f.describe()} has {ws.size} scales; expected 1 or {cout} (one per output channel)")
        if ws.size > 1 and fq.quantized_dimension != 0:
            ctx.fail(f"filter {f.describe()} is quantized along dimension {fq.quantized_dimension}; CONV_2D "
                     "needs per-output-channel quantization (quantized_dimension 0)")
        if mode == "uint8" and ws.size > 1:
            ctx.fail(f"filter {f.describe()}: per-channel quantization needs int8 or int16 inputs")
        fzp = np.asarray(fq.zero_points, np.int64).reshape(-1)
        if mode != "uint8" and np.any(fzp != 0):
            ctx.fail(f"filter {f.describe()} must have zero points 0 (symmetric per-channel weights)")
        want_b = {"int8": np.int32, "uint8": np.int32, "16x8": (np.int64, np.int32), "hybrid": np.float32}[mode]
        if b is not None:
            if b.value is None:
                ctx.fail(f"bias {b.describe()} must be a constant for the quantized / hybrid CONV_2D")
            ok = [np.dtype(t) for t in (want_b if isinstance(want_b, tuple) else (want_b,))]
            if np.dtype(b.dtype) not in ok:
                ctx.fail(f"bias {b.describe()} has type {np.dtype(b.dtype).name}; expected "
                         f"{' or '.join(t.name for t in ok)}")
        bias = None if b is None else np.asarray(b.value).reshape(cout)
        k = kernel.geom.kh * kernel.geom.kw * fin
        self.k = k
        wraw = np.asarray(f.value).reshape(cout, k)
        act = kernel.act

        if mode == "hybrid":
            ctx.set_output(0, (g.n, g.oh, g.ow, cout), np.float32)
            self.clamp = _CLAMPS.get(act)
            per_channel = (ws.size > 1 and bool(np.any(ws != ws[0]))) or groups > 1
            if groups > 1 and ws.size != cout:
                ctx.fail(f"filter {f.describe()}: a grouped hybrid convolution needs one scale per output channel")
            self.asymmetric = per_channel
            self.pcs = np.broadcast_to(ws, (cout,)).astype(np.float32) if per_channel else None
            self.fscale = np.float32(ws[0])
            self.bias32 = None if bias is None else bias.astype(np.float32)
            a_bound = 255 if per_channel else 127
        else:
            xq, oq = x.quantization, out.quantization
            if not xq.is_quantized or not oq.is_quantized:
                ctx.fail(f"quantized CONV_2D needs quantization parameters on input {x.describe()} and output "
                         f"{out.describe()}")
            if out.dtype is not None and np.dtype(out.dtype) != xt:
                ctx.fail(f"output {out.describe()} has type {np.dtype(out.dtype).name}; it must match the input "
                         f"type {xt.name}")
            ctx.set_output(0, (g.n, g.oh, g.ow, cout), xt)
            zx, zo = xq.zero_point, oq.zero_point
            if mode == "16x8" and (zx != 0 or zo != 0):
                ctx.fail(f"16x8 CONV_2D needs zero points 0 on input and output (got {zx} and {zo})")
            s_in, s_out = float(np.float32(xq.scale)), float(np.float32(oq.scale))
            if mode == "uint8":
                prod = float(np.float32(xq.scale) * ws[0])
                if b is not None and b.quantization.is_quantized:
                    if abs(prod - float(b.quantization.scale)) / s_out > 0.02:
                        ctx.fail(f"bias {b.describe()} scale {b.quantization.scale} must equal input scale x "
                                 f"filter scale ({prod})")
                eff = np.full(cout, prod / s_out)
            else:
                eff = s_in * np.broadcast_to(ws, (cout,)).astype(np.float64) / s_out
            q, shift = quantize_multiplier(eff)
            self.lo, self.hi = quantized_activation_range(ctx, act, out)
            self.zx = zx
            if mode == "16x8":
                qbt = int(kernel.options.get("quantized_bias_type") or 0)
                qbt_name = {0: None, 2: "int32", 4: "int64"}.get(qbt, "other")
                btype = None if b is None else np.dtype(b.dtype).name
                if qbt_name is not None and btype is not None and btype != qbt_name:
                    ctx.fail(f"bias {b.describe()} has type {btype} but quantized_bias_type says {qbt_name}")
                if qbt_name is None and btype == "int32":
                    ctx.fail(f"bias {b.describe()}: a 16x8 CONV_2D with an int32 bias needs quantized_bias_type "
                             "INT32 (without it LiteRT reads the bias as int64)")
                # int32 bias: TFLite's int32 accumulator and 32-bit requantization; else int64
                self.acc32 = qbt_name == "int32"
                self.q, self.shift = q, shift
                self.reduced, self.total, self.rnd = int64_multiplier(q, shift)
                self.bias64 = None if bias is None else bias.astype(np.int64)
                a_bound = 1 << 15
            else:
                requant_args = (q, shift, zo, self.lo, self.hi, xt)
                a_bound = 128
        # weights: centred (uint8 filters minus their zero point), converted once into the
        # [Cout, K (+1)] float matrix (integers, exact), used as [groups, K, Cout/groups] views
        self.a0 = 128 if mode == "uint8" else 0  # uint8 inputs are re-centred by -128 in the im2col copy
        wdt = np.float64 if mode == "16x8" else np.float32
        self.adt = wdt
        wm = np.empty((cout, k + 1), wdt)
        w = wm[:, :k]
        np.copyto(w, wraw, casting="unsafe")
        if mode == "uint8":
            w -= wdt(fzp[0])
        wabs = np.abs(w)
        l1 = wabs.sum(axis=1, dtype=np.float64)
        fold = False
        self.off = None
        if mode in ("int8", "uint8"):
            wsum = w.sum(axis=1, dtype=np.float64).astype(np.int64)  # exact: |sum| < 2**53
            off = (np.zeros(cout, np.int64) if bias is None else bias.astype(np.int64)) + (self.a0 - self.zx) * wsum
            # every partial sum of channel c is at most a_bound * |w_c|_1 (+ |off_c|): exact in float32
            fold = groups == 1 and float((a_bound * l1 + np.abs(off)).max(initial=0)) <= EXACT_LIMIT
            self.off = off.astype(np.float64)
            acc_bound = float((a_bound * l1 + np.abs(self.off)).max(initial=0))
            self.requant = FloatRequantizer(*requant_args, acc_bound=acc_bound)
        self.fused = mode in ("int8", "uint8") and groups == 1 and self._fused_ok(k, a_bound, l1)
        if self.fused:  # the requantization rides in a float64 GEMM (see _fused_ok)
            rq = self.requant
            wdt = self.adt = np.float64
            wf = np.empty((cout, k + 1))
            np.multiply(w, rq.m[:, None], out=wf[:, :k])
            wf[:, k] = self.off * rq.m + rq.k
            wm, fold = wf, True
        self.fold = fold
        if fold and not self.fused:
            wm[:, k] = self.off
        elif not fold:
            wm = wm[:, :k]
        self.parts = [(0, k + fold)] if mode == "16x8" or fold else chunks_l1(wabs, a_bound)
        # large weights of long GEMMs are converted per invoke into scratch (_qgemm.CONVERT_MIN_ELEMS)
        self.w_src = None
        if not self.fused and wm.dtype == np.float32 and converts_per_invoke(wm.size, g.n * g.oh * g.ow):
            self.w_src = (wraw, int(fzp[0]) if mode == "uint8" else 0, wm[:, k].copy() if fold else None)
            self.wmat = None
        else:
            self.wmat = wm.reshape(groups, cout // groups, k + fold).transpose(0, 2, 1)
        # single-chunk results are exact float32; several chunks (or the offset) are summed in float64
        self.f64_acc = not self.fused and (len(self.parts) > 1 or (mode in ("int8", "uint8") and not fold))

        # scratch
        row_bytes = (groups * k + fold) * np.dtype(wdt).itemsize + cout * (8 if self.fused else 24)
        self.tiles = [] if g.empty else plan_tiles(g, row_bytes, QUANT_TILE_FACTOR * _conv.TILE_BYTES)
        self.slots: dict[str, int] = {}
        if g.empty:
            return
        rows = max(r1 - r0 for r0, r1 in (tile_rows(g, t) for t in self.tiles))
        sl = self.slots
        sl["cols"] = ctx.scratch((rows, groups * k + fold), wdt)
        if self.w_src is not None:
            sl["w"] = ctx.scratch((cout, k + fold), np.float32)
        if self.fused:
            sl["f"] = ctx.scratch((rows, cout), np.float64)
        else:
            if mode != "16x8":
                sl["tmp"] = ctx.scratch((rows, cout), np.float32)
            if self.f64_acc or mode == "16x8":
                sl["acc"] = ctx.scratch((rows, cout), np.float64)
            if mode in ("int8", "uint8", "16x8"):
                sl["f"] = ctx.scratch((rows, cout), np.float64)
                sl["g"] = ctx.scratch((rows, cout), np.float64)
        if mode == "hybrid":
            sl["xq"] = ctx.scratch(g.padded_shape, np.float32)
            sl["qtmp"] = ctx.scratch((g.h, g.w, g.cin), np.float32)
        elif g.padded:
            sl["pad"] = ctx.scratch(g.padded_shape, xt)

    # -- invoke ---------------------------------------------------------------------------------
    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray],
             scratch: list[np.ndarray]) -> Step:
        g, groups, cout, k, mode = self.geom, self.groups, self.cout, self.k, self.mode
        if g.empty:
            return lambda: None
        x, out = inputs[INPUT], outputs[0]
        if not (x.flags.c_contiguous and out.flags.c_contiguous):
            raise RuntimeError(f"CONV_2D (node {self.node.index}): input and output must be C-contiguous")
        sl = {name: scratch[i] for name, i in self.slots.items()}
        pre: list[Step] = []
        if mode == "hybrid":
            src = sl["xq"]
            pre.append(self._quantize_step(x, src, sl["qtmp"]))
        elif g.padded:
            src = sl["pad"]
            pre.append(PadStep(x, src, g, value=self.zx))
        else:
            src = x
        view = patch_view(src, g) if groups == 1 else _grouped_patch_view(src, g, groups, self.fin)
        cols = sl["cols"]
        if self.fold:
            ones = cols[:, k]
            pre.append(lambda: ones.fill(1.0))
        out2d = out.reshape(-1, cout)
        cg = cout // groups
        wmat = self.wmat
        if self.w_src is not None:  # the weights, converted into scratch at every invoke
            ws = sl["w"]
            pre.extend(self._convert_weights(ws))
            wmat = ws.reshape(groups, cg, ws.shape[1]).transpose(0, 2, 1)
        a0 = self.adt(self.a0)
        copy, subtract, add = np.copyto, np.subtract, np.add
        tile_steps: list[Step] = []
        for t in self.tiles:
            n0, n1, y0, y1 = t
            r0, r1 = tile_rows(g, t)
            nr = r1 - r0
            a = cols[:nr]
            if groups == 1:
                dst = a[:, :k].reshape(n1 - n0, y1 - y0, g.ow, g.kh, g.kw, g.cin)
            else:
                dst = a.reshape(n1 - n0, y1 - y0, g.ow, groups, g.kh, g.kw, self.fin)
            srcv = view[n0:n1, y0:y1]
            steps: list[Step] = []
            if self.a0:
                steps.append(lambda d=dst, s=srcv: subtract(s, a0, out=d, dtype=a0.dtype))
            else:
                steps.append(lambda d=dst, s=srcv: copy(d, s, casting="unsafe"))
            if self.fused:
                steps.append(self._fused_step(a, sl["f"][:nr], out2d[r0:r1]))
                tile_steps.append(chain(*steps))
                continue
            steps.extend(self._gemm_steps(a, sl, nr, cg, wmat))
            acc = sl["acc"][:nr] if "acc" in sl else None
            tmp = sl["tmp"][:nr] if "tmp" in sl else None
            if mode in ("int8", "uint8"):
                if self.f64_acc and len(self.parts) == 1:
                    off = self.off
                    steps.append(lambda acc=acc, tmp=tmp: add(tmp, off, out=acc))
                elif self.f64_acc:
                    steps.append(lambda acc=acc, off=self.off: add(acc, off, out=acc))
                steps.append(self.requant.bind(acc if self.f64_acc else tmp, out2d[r0:r1], sl["f"][:nr], sl["g"][:nr]))
            elif mode == "16x8":
                steps.append(self._requant16_step(acc, out2d[r0:r1], sl["f"][:nr].view(np.int64),
                                                  sl["g"][:nr].view(np.int64)))
            else:
                if self.f64_acc:
                    steps.append(lambda acc=acc, tmp=tmp: copy(tmp, acc, casting="same_kind"))
                steps.append(self._hybrid_epilogue(tmp, out2d[r0:r1], n0, n1 - n0, (y1 - y0) * g.ow))
            tile_steps.append(chain(*steps))
        return chain(*pre, *tile_steps)

    def _fused_ok(self, k: int, a_bound: int, l1: np.ndarray) -> bool:
        """Whether the requantization can ride in the GEMM: with the weights pre-multiplied by the
        channel's multiplier ``M`` and a constant row ``off * M + k`` (``k = zp + 1/2 (+128)
        + 2**-(e+1)``), one float64 GEMM gives ``acc * M + k`` and only the clamp remains.  Exact
        when every product and partial sum is: all are multiples of ``u = 2**-(31+e)`` (``w * M``
        has at most 9 + 31 bits, times an 8-bit input) and bounded by ``(a_bound * |w|_1 + |off|)
        * M + |k|``, so that bound must stay below ``2**53 * u`` (float64 holds every multiple of
        ``u`` up to there; the constant row ``off * M + k`` is one of them).  Taken only where it pays (a
        float64 GEMM costs twice a float32 one, the three saved passes win for short reductions:
        in int8 MobileNet v2 the K = 16 expansion went from 1.64 to 1.24 ms and the K = 24 ones
        from 0.65 to 0.58 ms, while K = 32 layers gained nothing), with the sign term folded
        (clamp at or above the zero point) and the float epilogue exact."""
        rq = self.requant
        if k + 1 > FUSED_MAX_K or not rq.exact or rq.signed or rq.slow.size:
            return False
        unit = np.ldexp(1.0, (np.minimum(rq.shift, 0) - 31).astype(int))
        bound = ((a_bound * l1 + np.abs(self.off)) * rq.m + np.abs(rq.k)) / unit
        return bool(np.all(bound < 2.0**53 * (1 - 2.0**-30)))  # margin for the bound's own rounding

    def _fused_step(self, a: np.ndarray, f: np.ndarray, o: np.ndarray) -> Step:
        w, rq = self.wmat[0], self.requant
        lo, hi = float(rq.lo + rq.base), float(rq.hi + rq.base)
        u8 = o.view(np.uint8)
        flip = rq.base != 0
        matmul, clip, xor = np.matmul, CLIP, np.bitwise_xor

        def step() -> None:
            matmul(a, w, out=f)
            clip(f, lo, hi, out=u8, casting="unsafe")
            if flip:
                xor(u8, 0x80, out=u8)

        return step

    def _convert_weights(self, ws: np.ndarray) -> list[Step]:
        """Steps writing the float32 weight matrix ``[Cout, K (+1)]`` into ``ws``: the integer
        weights (uint8 minus their zero point, in float32: exact), and the constant row."""
        src, zp, const = self.w_src
        k = self.k
        steps = conversion_steps(ws[:, :k], src, zp)
        if const is not None:
            cc = ws[:, k]
            steps.append(lambda: np.copyto(cc, const))
        return steps

    def _gemm_steps(self, a: np.ndarray, sl: dict, nr: int, cg: int, wmat: np.ndarray) -> list[Step]:
        """Matmul(s) of the im2col tile ``a`` with the weights: exact float32 single chunks into
        ``tmp``, or (several chunks / 16x8) summed into the float64 ``acc``."""
        groups, k, matmul, copy, add = self.groups, self.k, np.matmul, np.copyto, np.add
        steps: list[Step] = []
        for i in range(groups):
            w = wmat[i]
            cs = slice(i * cg, (i + 1) * cg)
            ag = a if groups == 1 else a[:, i * k:(i + 1) * k]
            if self.mode == "16x8":
                steps.append(lambda ag=ag, w=w, o=sl["acc"][:nr, cs]: matmul(ag, w, out=o))
                continue
            tmp = sl["tmp"][:nr, cs]
            if len(self.parts) == 1:
                steps.append(lambda ag=ag, w=w, o=tmp: matmul(ag, w, out=o))
                continue
            acc = sl["acc"][:nr, cs]
            for j, (k0, k1) in enumerate(self.parts):
                ai, wi = ag[:, k0:k1], w[k0:k1]
                if j == 0:
                    steps.append(lambda ai=ai, wi=wi, t=tmp, o=acc: (matmul(ai, wi, out=t), copy(o, t)))
                else:
                    steps.append(lambda ai=ai, wi=wi, t=tmp, o=acc: (matmul(ai, wi, out=t), add(o, t, out=o)))
        return steps

    def _requant16_step(self, acc: np.ndarray, out: np.ndarray, a64: np.ndarray, t64: np.ndarray) -> Step:
        bias, reduced, total, rnd, lo, hi = self.bias64, self.reduced, self.total, self.rnd, self.lo, self.hi
        acc32 = self.acc32
        requant = Requantizer(self.q, self.shift) if acc32 else None

        def step() -> None:
            np.copyto(a64, acc, casting="unsafe")
            if bias is not None:
                np.add(a64, bias, out=a64)
            if acc32:  # int32 accumulator (wraps like C) and the 32-bit double-rounding multiply
                np.add(a64, 1 << 31, out=a64)
                np.bitwise_and(a64, (1 << 32) - 1, out=a64)
                np.subtract(a64, 1 << 31, out=a64)
                requant(a64, t64)
            else:
                apply_int64_multiplier_into(a64, reduced, total, rnd, wrap=True)
            np.clip(a64, lo, hi, out=a64)
            np.copyto(out, a64, casting="unsafe")

        return step

    def _quantize_step(self, x: np.ndarray, xp: np.ndarray, qtmp: np.ndarray) -> Step:
        """Per batch row: quantize the float input into the (padded) float32 buffer ``xp`` as
        ``q - zero_point`` values and record the scaling factors (``self.sf``)."""
        g = self.geom
        interior = xp[:, g.pt:g.pt + g.h, g.pl:g.pl + g.w, :]
        borders = PadStep(None, xp, g, 0.0) if g.padded else None
        n, asym, fscale = g.n, self.asymmetric, self.fscale
        self.sf = sf = np.ones(n, np.float32)

        def step() -> None:
            if borders is not None:
                borders()
            for i in range(n):
                s, _ = quantize_image_(x[i], interior[i], qtmp, asym)
                sf[i] = s if asym else np.float32(s) * fscale

        return step

    def _hybrid_epilogue(self, acc32: np.ndarray, o: np.ndarray, n0: int, images: int, per_image: int) -> Step:
        """``o = clamp(float(acc) * pcs[c] * sf[b] + bias[c])`` (per-channel, asymmetric inputs) or
        ``clamp(float(acc) * (sf[b] * scale) + bias[c])`` (per-tensor), float32 in TFLite's order."""
        pcs, bias, clamp = self.pcs, self.bias32, self.clamp
        mul = np.multiply
        blocks = [(n0 + i, slice(i * per_image, (i + 1) * per_image)) for i in range(images)]

        def step() -> None:
            sf = self.sf
            if pcs is not None:
                mul(acc32, pcs, out=o)
                for i, blk in blocks:
                    mul(o[blk], sf[i], out=o[blk])
            else:
                for i, blk in blocks:
                    mul(acc32[blk], sf[i], out=o[blk])
            if bias is not None:
                np.add(o, bias, out=o)
            if clamp is not None:
                np.clip(o, np.float32(clamp[0]), np.float32(clamp[1]), out=o)

        return step
