"""CONV_3D (version 1): 3-D convolution, float32, NDHWC, as im2col + BLAS matmul in tiles.

Inputs ``INPUT [N, D, H, W, Cin]``, ``FILTER [KD, KH, KW, Cin, Cout]`` and an optional ``BIAS
[Cout]``; options ``Conv3DOptions`` (padding, stride_d / stride_h / stride_w, dilation factors,
fused activation).

1. Prepare checks what LiteRT checks (rank 5, ``Cin`` equal to the filter's dimension 3, non-empty
   spatial / channel / filter dimensions, strides and dilations >= 1, bias of ``Cout`` elements,
   float32 everywhere) and computes per dimension the output size and padding of
   ``base.conv_padding`` (SAME: ``ceil(I / s)``, odd padding after; VALID: ``(I - eff + s) // s``).
2. The filter is used in place: ``[KD*KH*KW*Cin, Cout]`` is a plain reshape of its layout (a filter
   known only at invoke is the same view on the live input).
3. A 1x1x1 stride-1 convolution is one matmul of the input viewed as ``[N*D*H*W, Cin]``.
   Otherwise the (zero-padded, borders refilled every invoke) input is read through an 8-D strided
   patch view and copied tile by tile (runs of whole images, of output depth slices of one image or
   of output rows of one slice, about ``TILE_BYTES`` each) into an im2col buffer, which is
   matmul'ed into the tile's output rows.  A zero-padded input beyond 2**31 - 1 elements (absurd
   dilations) is rejected at prepare.
4. Bias, then the activation clamp (``_transpose_conv.float_clamp``): RELU, RELU6, RELU_N1_TO_1, and
   +-FLT_MAX for every code (TANH and SIGN_BIT clamp nothing else), as LiteRT's reference kernel
   does: an infinite result becomes the largest finite float32, NaN stays NaN.
5. Results agree with LiteRT to float32 rounding (another summation order).
"""

from __future__ import annotations

import numpy as np

from ._transpose_conv import float_clamp
from .base import (
    ACTIVATION_NAMES,
    PADDING_SAME,
    PADDING_VALID,
    Kernel,
    PrepareContext,
    Step,
    chain,
    conv_padding,
    no_fp_warnings,
)
from .registry import register

INPUT, FILTER, BIAS = 0, 1, 2
TILE_BYTES = 2 * 1024 * 1024
MAX_TILES = 256


@register("CONV_3D", versions=(1,))
class Conv3D(Kernel):
    options_table = "Conv3DOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2, 3)
        x, f = ctx.input(INPUT), ctx.input(FILTER)
        b = ctx.input(BIAS, optional=True)
        ctx.expect_rank(x, 5, "input")
        ctx.expect_rank(f, 5, "filter")
        for spec, role in ((x, "input"), (f, "filter"), (b, "bias")):
            if spec is not None:
                ctx.expect_dtype(spec, (np.float32,), role)
        out = ctx.outputs[0]
        if out.dtype is not None and np.dtype(out.dtype) != np.float32:
            ctx.fail(f"output {out.describe()} has type {np.dtype(out.dtype).name}; expected float32")
        kd, kh, kw, fin, cout = f.shape
        n, d, h, w, cin = x.shape
        if cin != fin:
            ctx.fail(f"input {x.describe()} has {cin} channels; the filter {f.describe()} expects {fin}")
        if min(d, h, w, cin) <= 0 or min(f.shape) <= 0:
            ctx.fail(f"input {x.describe()} and filter {f.describe()} must have non-empty spatial and channel "
                     "dimensions")
        if b is not None and b.size != cout:
            ctx.fail(f"bias {b.describe()} must have {cout} elements (the filter's output channels)")
        o = self.options

        def get(name: str) -> int:
            return int(o.get(name) or 0)

        padding = get("padding")
        strides = (get("stride_d"), get("stride_h"), get("stride_w"))
        dil = (get("dilation_d_factor"), get("dilation_h_factor"), get("dilation_w_factor"))
        act = get("fused_activation_function")
        if padding not in (PADDING_SAME, PADDING_VALID):
            ctx.fail(f"unknown padding {padding}")
        if min(strides) < 1:
            ctx.fail(f"strides must be >= 1, got {list(strides)}")
        if min(dil) < 1:
            ctx.fail(f"dilations must be >= 1, got {list(dil)}")
        if act not in ACTIVATION_NAMES:
            ctx.fail(f"unknown fused activation {act}")
        self.clamp = float_clamp(act)
        geo = [conv_padding(i, k, s, dd, padding) for i, k, s, dd in zip((d, h, w), (kd, kh, kw), strides, dil)]
        self.osp = tuple(g[0] for g in geo)
        self.pads = tuple((g[1], g[2]) for g in geo)
        self.k, self.s, self.dil = (kd, kh, kw), strides, dil
        self.n, self.isp, self.cin, self.cout = n, (d, h, w), cin, cout
        ctx.set_output(0, (n, *self.osp, cout), np.float32)
        self.K = kd * kh * kw * cin
        self.bias = None if b is None or b.value is None else np.ascontiguousarray(b.value, np.float32).reshape(cout)
        self.has_bias = b is not None
        self.empty = n * int(np.prod(self.osp)) * cout == 0
        self.padded = any(p for pp in self.pads for p in pp)
        self.pointwise = (self.k == (1, 1, 1) and self.s == (1, 1, 1) and not self.padded)
        self.slots: dict[str, int] = {}
        self.tiles: list[tuple[int, ...]] = []
        if self.empty or self.pointwise:
            return
        self.tiles = self._plan_tiles()
        ow = self.osp[2]
        rows = max((n1 - n0) * (z1 - z0) * (y1 - y0) for n0, n1, z0, z1, y0, y1 in self.tiles) * ow
        self.slots["cols"] = ctx.scratch((rows, self.K), np.float32)
        if self.padded:
            shape = (n, *(i + p0 + p1 for i, (p0, p1) in zip(self.isp, self.pads)), cin)
            if float(np.prod(shape, dtype=np.float64)) > 2**31 - 1:
                ctx.fail(f"the zero-padded input {list(shape)} (dilations {list(dil)}) would have more than "
                         "2**31 - 1 elements")
            self.slots["pad"] = ctx.scratch(shape, np.float32)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        if self.empty:
            return lambda: None
        x, out = inputs[INPUT], outputs[0]
        if not (x.flags.c_contiguous and out.flags.c_contiguous):
            raise RuntimeError(f"{self.op_name} (node {self.node.index}): input and output must be C-contiguous")
        wmat = inputs[FILTER].reshape(self.K, self.cout)
        bias = self.bias if self.bias is not None or not self.has_bias else inputs[BIAS].reshape(self.cout)
        out2d = out.reshape(-1, self.cout)
        epi: list[Step] = []
        if bias is not None:
            epi.append(lambda: np.add(out2d, bias, out=out2d))
        lo, hi = self.clamp
        epi.append(lambda: np.clip(out2d, lo, hi, out=out2d))
        if self.pointwise:
            x2d = x.reshape(-1, self.cin)
            return no_fp_warnings(chain(lambda: np.matmul(x2d, wmat, out=out2d), *epi))
        pre: list[Step] = []
        src = x
        if self.padded:
            src = scratch[self.slots["pad"]]
            pre.append(self._pad_step(x, src))
        v = self._patch_view(src)
        cols = scratch[self.slots["cols"]]
        plane = self.osp[1] * self.osp[2]
        per_image = self.osp[0] * plane
        copy, matmul = np.copyto, np.matmul
        work = []
        ow = self.osp[2]
        for n0, n1, z0, z1, y0, y1 in self.tiles:
            r0 = n0 * per_image + z0 * plane + y0 * ow
            r1 = (n1 - 1) * per_image + (z1 - 1) * plane + y1 * ow
            a = cols[:r1 - r0]
            dst = a.reshape(n1 - n0, z1 - z0, y1 - y0, ow, *self.k, self.cin)
            work.append((dst, v[n0:n1, z0:z1, y0:y1], a, out2d[r0:r1]))

        def step() -> None:
            for p in pre:
                p()
            for dst, sv, a, o in work:
                copy(dst, sv)
                matmul(a, wmat, out=o)

        return no_fp_warnings(chain(step, *epi))

    def _plan_tiles(self) -> list[tuple[int, ...]]:
        """Tiles ``(n0, n1, z0, z1, y0, y1)`` of about ``TILE_BYTES`` of im2col (at most about
        ``MAX_TILES``): runs of whole images, or of output depth slices of one image, or of output
        rows of one depth slice (so a tile never needs more than one output row's patches)."""
        n, (od, oh, ow) = self.n, self.osp
        row = ow * self.K * 4
        plane, image = oh * row, od * oh * row
        target = max(TILE_BYTES, -(-n * image // MAX_TILES))

        def runs(count: int, unit: int) -> list[tuple[int, int]]:
            per = max(1, target // max(unit, 1))
            per = -(-count // -(-count // per))  # even out the runs
            return [(i, min(i + per, count)) for i in range(0, count, per)]

        if image <= target:
            return [(n0, n1, 0, od, 0, oh) for n0, n1 in runs(n, image)]
        if plane <= target:
            return [(i, i + 1, z0, z1, 0, oh) for i in range(n) for z0, z1 in runs(od, plane)]
        return [(i, i + 1, z, z + 1, y0, y1) for i in range(n) for z in range(od) for y0, y1 in runs(oh, row)]

    def _pad_step(self, x: np.ndarray, xp: np.ndarray) -> Step:
        """Copy ``x`` into the interior of ``xp`` and zero the borders (shared scratch: every invoke)."""
        (a0, _), (b0, _), (c0, _) = self.pads
        d, h, w = self.isp
        interior = xp[:, a0:a0 + d, b0:b0 + h, c0:c0 + w]
        borders = []
        for axis, (p0, size) in enumerate(((a0, d), (b0, h), (c0, w)), start=1):
            lo = [slice(None)] * 5
            hi = [slice(None)] * 5
            lo[axis], hi[axis] = slice(0, p0), slice(p0 + size, None)
            borders += [xp[tuple(lo)], xp[tuple(hi)]]
        borders = [bd for bd in borders if bd.size]

        def step() -> None:
            for bd in borders:
                bd.fill(0.0)
            np.copyto(interior, x)

        return step

    def _patch_view(self, src: np.ndarray) -> np.ndarray:
        sn, sd, sh, sw, sc = src.strides
        (s0, s1, s2), (d0, d1, d2) = self.s, self.dil
        return np.lib.stride_tricks.as_strided(
            src, shape=(self.n, *self.osp, *self.k, self.cin),
            strides=(sn, s0 * sd, s1 * sh, s2 * sw, d0 * sd, d1 * sh, d2 * sw, sc), writeable=False)
