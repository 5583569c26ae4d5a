"""RESIZE_BILINEAR (NHWC, float32), with ``align_corners`` and ``half_pixel_centers``.

1. Prepare builds, per axis and in float32 as TFLite does, the source coordinate
   ``v = (o + 0.5) * scale - 0.5`` (half-pixel) or ``o * scale``, the neighbours
   ``lo = max(floor(v), 0)``, ``hi = min(ceil(v), in - 1)`` and the weight ``v - lo``.
2. The step interpolates rows first, then columns, each as two ``np.take(..., out=)`` and
   an in-place lerp ``a + (b - a) * t`` in scratch buffers; nothing is allocated.  The lerp
   equals TFLite's four-term weighted sum up to float32 rounding (about 1e-7 relative).
3. Quantized inputs are not supported yet (clear error at prepare).
"""

from __future__ import annotations

import numpy as np

from ._shape import resize_prepare, resize_scale
from .base import Kernel, PrepareContext, Step
from .registry import register


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
        x, oh, ow, align, half = resize_prepare(ctx, self.options, (np.float32,))
        n, h, w, c = x.shape
        self.y0, self.y1, dy = bilinear_table(h, oh, align, half)
        self.x0, self.x1, dx = bilinear_table(w, ow, align, half)
        self.dy, self.dx = dy.reshape(1, oh, 1, 1), dx.reshape(1, 1, ow, 1)
        self.rows = (ctx.scratch((n, oh, w, c), np.float32), ctx.scratch((n, oh, w, c), np.float32))
        self.cols = ctx.scratch((n, oh, ow, c), np.float32)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        x, out = inputs[0], outputs[0]
        if out.size == 0:
            return lambda: None
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
