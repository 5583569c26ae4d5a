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
   tile's output rows while they are in cache.
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
"""

from __future__ import annotations

import numpy as np

from ._conv import ConvGeometry, PadStep, filter_relayout_step, filter_to_matmul, patch_view, plan_tiles, tile_rows
from .base import (
    ACT_RELU,
    ACT_RELU6,
    ACT_RELU_N1_TO_1,
    ACTIVATION_NAMES,
    PADDING_SAME,
    PADDING_VALID,
    Kernel,
    PrepareContext,
    Step,
    chain,
)
from .registry import register

INPUT, FILTER, BIAS = 0, 1, 2

_CLAMPS = {ACT_RELU: (0.0, np.inf), ACT_RELU6: (0.0, 6.0), ACT_RELU_N1_TO_1: (-1.0, 1.0)}


def _epilogue(o: np.ndarray, bias: np.ndarray | None, clamp: tuple[float, float] | None) -> list[Step]:
    """In-place bias add and clamp on output rows ``o`` (steps, possibly none).  ``np.clip``
    with float32 scalar bounds is one pass and several times faster than maximum + minimum."""
    add, clip = np.add, np.clip
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
        for spec, role in ((x, "input"), (f, "filter"), (b, "bias")):
            if spec is not None and np.dtype(spec.dtype) != np.float32:
                ctx.fail(f"{role} {spec.describe()} has type {np.dtype(spec.dtype).name}; numlite's CONV_2D "
                         "supports float32 only so far (quantized and hybrid forms are not implemented)")
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
        self.clamp = _CLAMPS.get(act)

        g = ConvGeometry.make(x.shape, kh, kw, (sh, sw), (dh, dw), padding)
        self.geom, self.groups, self.cout, self.fin = g, groups, cout, fin
        ctx.set_output(0, (g.n, g.oh, g.ow, cout), np.float32)
        self.has_bias = b is not None
        self.bias = None if b is None or b.value is None else np.ascontiguousarray(b.value, np.float32).reshape(cout)
        self.k = k = kh * kw * fin
        # With an im2col buffer of our own, the bias rides along in the matmul: a column of
        # ones in the buffer and a bias row under the weights save a pass over the output.
        # A 1x1 stride-1 convolution needs no buffer; giving it one (a copy of the input) pays
        # when the output is wider than the input, as in MobileNet v2's expansions.
        fold = self.bias is not None and groups == 1
        self.direct = g.pointwise and not (fold and 2 * cout > 3 * cin)
        self.fold_bias = fold and not self.direct
        self.wmat = self.w_slot = None
        if f.value is not None:
            self.wmat = filter_to_matmul(f.value, groups, self.bias.reshape(cout) if self.fold_bias else None)
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

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray],
             scratch: list[np.ndarray]) -> Step:
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
            tiles.append((cp, mms, _epilogue(o, epi_bias, self.clamp)))

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
