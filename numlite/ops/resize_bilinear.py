"""RESIZE_BILINEAR (NHWC; float32, uint8, int8, int16), with ``align_corners`` and ``half_pixel_centers``.

1. Prepare builds, per axis and in float32 as TFLite does, the source coordinate
   ``v = (o + 0.5) * scale - 0.5`` (half-pixel) or ``o * scale``, the neighbours
   ``lo = max(floor(v), 0)``, ``hi = min(ceil(v), in - 1)`` and the weight ``v - lo``.
2. The step interpolates rows first, then columns, each as two ``np.take(..., out=)`` and
   an in-place lerp ``a + (b - a) * t`` in scratch buffers; nothing is allocated.  The lerp
   equals TFLite's four-term weighted sum up to float32 rounding (about 1e-7 relative).
3. Integer inputs (quantized or not; the output keeps the input's parameters, nothing is
   requantized) follow LiteRT's reference kernels.  Both gather the four neighbours of every
   output pixel with one ``np.take`` each over the flattened ``H*W`` plane (index tables built
   at prepare) and combine them with per-pixel weights:
   - uint8: TFLite's float template: ``v00 * (1 - dy) * (1 - dx) + v10 * dy * (1 - dx) +
     v01 * (1 - dy) * dx + v11 * dy * dx + 0.5`` in float32 in exactly that order (each
     product left to right), truncated to uint8.
   - int8 / int16: TFLite's integer kernel with 10-bit coordinates: ``scale_10 = (1024 * in +
     out / 2) / out`` (``in - 1`` / ``out - 1`` with align_corners), source ``y * scale_10``
     (half-pixel: ``+ scale_10 / 2 - 512``), ``y0 = max(v / 1024, 0)``, ``y1 = min((v + 1023)
     / 1024, in - 1)`` with C's truncating division, weights ``v - 1024 * y0`` and ``1024 -``
     that; the int64 sum of the four weighted values is divided by ``2**20`` rounding half away
     from zero (the default, double-rounding build).
"""

from __future__ import annotations

import numpy as np

from ._shape import reshaped, resize_prepare, resize_scale
from .base import Kernel, PrepareContext, Step
from .registry import register


def _c_div(a: np.ndarray, b: int) -> np.ndarray:
    """C's integer division (truncating toward zero) of an int64 array by a positive int."""
    return np.where(a >= 0, a // b, -((-a) // b))


def integer_table(in_size: int, out_size: int, align: bool, half: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TFLite's 10-bit source rows (y0, y1) and the weight of y1 (``v - 1024 * y0``) per output row."""
    if align and out_size > 1:
        s10 = ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    else:
        s10 = ((1 << 10) * in_size + out_size // 2) // out_size
    v = np.arange(out_size, dtype=np.int64) * s10
    if half:
        v = v + s10 // 2 - (1 << 9)
    lo = np.maximum(_c_div(v, 1 << 10), 0)
    hi = np.minimum(_c_div(v + (1 << 10) - 1, 1 << 10), in_size - 1)
    return lo, hi, v - (lo << 10)


def bilinear_table(in_size: int, out_size: int, align: bool, half: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scale = resize_scale(in_size, out_size, align)
    o = np.arange(out_size, dtype=np.float32)
    v = (o + np.float32(0.5)) * scale - np.float32(0.5) if half else o * scale
    lo = np.maximum(np.floor(v), 0).astype(np.int64)
    hi = np.minimum(np.ceil(v).astype(np.int64), in_size - 1)
    return lo, hi, (v - lo.astype(np.float32)).astype(np.float32)


@register("RESIZE_BILINEAR", versions=range(1, 5))
class ResizeBilinear(Kernel):
    options_table = "ResizeBilinearOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        x, oh, ow, align, half = resize_prepare(ctx, self.options, (np.float32, np.uint8, np.int8, np.int16))
        n, h, w, c = x.shape
        self.dtype = np.dtype(x.dtype)
        if self.dtype != np.float32:
            self.prepare_integer(ctx, x.shape, oh, ow, align, half)
            return
        self.y0, self.y1, dy = bilinear_table(h, oh, align, half)
        self.x0, self.x1, dx = bilinear_table(w, ow, align, half)
        self.dy, self.dx = dy.reshape(1, oh, 1, 1), dx.reshape(1, 1, ow, 1)
        self.rows = (ctx.scratch((n, oh, w, c), np.float32), ctx.scratch((n, oh, w, c), np.float32))
        self.cols = ctx.scratch((n, oh, ow, c), np.float32)

    def prepare_integer(self, ctx: PrepareContext, shape: tuple[int, ...], oh: int, ow: int, align: bool,
                        half: bool) -> None:
        n, h, w, c = shape
        if self.dtype == np.uint8:  # TFLite's float template on uint8 data
            y0, y1, dy = bilinear_table(h, oh, align, half)
            x0, x1, dx = bilinear_table(w, ow, align, half)
            one = np.float32(1)
            wy = [np.repeat(one - dy, ow), np.repeat(dy, ow)]
            wx = [np.tile(one - dx, oh), np.tile(dx, oh)]
            acc_dt = np.float32
        else:
            y0, y1, dy = integer_table(h, oh, align, half)
            x0, x1, dx = integer_table(w, ow, align, half)
            wy = [np.repeat((1 << 10) - dy, ow), np.repeat(dy, ow)]
            wx = [np.tile((1 << 10) - dx, oh), np.tile(dx, oh)]
            acc_dt = np.int64
        # corners in TFLite's order: (y0, x0), (y1, x0), (y0, x1), (y1, x1)
        self.corners = []
        for iy, ix in ((0, 0), (1, 0), (0, 1), (1, 1)):
            ys, xs = (y0, y1)[iy], (x0, x1)[ix]
            table = (ys[:, None] * w + xs[None, :]).reshape(-1)
            self.corners.append((table, wy[iy].reshape(1, -1, 1).astype(acc_dt),
                                 wx[ix].reshape(1, -1, 1).astype(acc_dt)))
        self.shapes = (n, h * w, c), (n, oh * ow, c)
        self.gather_slot = ctx.scratch(self.shapes[1], self.dtype)
        self.acc_slots = (ctx.scratch(self.shapes[1], acc_dt), ctx.scratch(self.shapes[1], acc_dt))

    def bind_integer(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        src, dst = reshaped(x, self.shapes[0]), reshaped(out, self.shapes[1])
        g = scratch[self.gather_slot]
        acc, t = (scratch[i] for i in self.acc_slots)
        corners = self.corners
        take, mul, add = np.take, np.multiply, np.add

        def accumulate() -> None:
            """``acc = sum over the four corners of x[corner] * wy * wx``."""
            for k, (table, wy, wx) in enumerate(corners):
                take(src, table, axis=1, out=g, mode="clip")
                d = acc if k == 0 else t
                mul(g, wy, out=d)
                mul(d, wx, out=d)
                if k:
                    add(acc, t, out=acc)

        if self.dtype == np.uint8:

            def step_uint8() -> None:
                accumulate()
                add(acc, np.float32(0.5), out=acc)
                np.clip(acc, 0, 255, out=acc)
                np.copyto(dst, acc, casting="unsafe")  # truncation toward zero, as C's cast

            return step_uint8

        def step_int() -> None:
            accumulate()
            # (s + sign(s) * 2**19) / 2**20, C division: sign(s) * ((|s| + 2**19) >> 20)
            np.abs(acc, out=t)
            add(t, 1 << 19, out=t)
            np.right_shift(t, 20, out=t)
            np.sign(acc, out=acc)
            mul(t, acc, out=t)
            np.copyto(dst, t, casting="unsafe")

        return step_int

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        x, out = inputs[0], outputs[0]
        if out.size == 0:
            return lambda: None
        if self.dtype != np.float32:
            return self.bind_integer(x, out, scratch)
        r0, r1 = scratch[self.rows[0]], scratch[self.rows[1]]
        c1 = scratch[self.cols]
        y0, y1, dy, x0, x1, dx = self.y0, self.y1, self.dy, self.x0, self.x1, self.dx
        take, sub, mul, add = np.take, np.subtract, np.multiply, np.add

        def step() -> None:
            take(x, y0, axis=1, out=r0, mode="clip")
            take(x, y1, axis=1, out=r1, mode="clip")
            sub(r1, r0, out=r1)
            mul(r1, dy, out=r1)
            add(r0, r1, out=r0)
            take(r0, x0, axis=2, out=out, mode="clip")
            take(r0, x1, axis=2, out=c1, mode="clip")
            sub(c1, out, out=c1)
            mul(c1, dx, out=c1)
            add(out, c1, out=out)

        return step
