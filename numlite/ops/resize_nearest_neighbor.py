"""RESIZE_NEAREST_NEIGHBOR (NHWC), with ``align_corners`` and ``half_pixel_centers``.

1. Per output row (column) the source row is, in float32 as TFLite computes it,
   ``v = (o + 0.5 if half_pixel_centers else o) * scale``, rounded half away from zero with
   ``align_corners`` and floored otherwise, then clamped to ``[0, in - 1]``.
2. Prepare combines both tables into one index over the flattened ``H*W`` plane; the step is
   one ``np.take(..., out=)``.
"""

from __future__ import annotations

import numpy as np

from ._shape import DATA_DTYPES, reshaped, resize_prepare, resize_scale, round_half_away
from .base import Kernel, PrepareContext, Step
from .registry import register


def nearest_table(in_size: int, out_size: int, align: bool, half: bool) -> np.ndarray:
    scale = resize_scale(in_size, out_size, align)
    v = (np.arange(out_size, dtype=np.float32) + np.float32(0.5 if half else 0.0)) * scale
    v = round_half_away(v) if align else np.floor(v)
    return np.clip(v.astype(np.int64), 0, in_size - 1)


@register("RESIZE_NEAREST_NEIGHBOR", versions=range(1, 5))
class ResizeNearestNeighbor(Kernel):
    options_table = "ResizeNearestNeighborOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        x, oh, ow, align, half = resize_prepare(ctx, self.options, DATA_DTYPES)
        n, h, w, c = x.shape
        ys, xs = nearest_table(h, oh, align, half), nearest_table(w, ow, align, half)
        self.table = (ys[:, None] * w + xs[None, :]).reshape(-1)
        self.shapes = (n, h * w, c), (n, oh * ow, c)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        src, dst = reshaped(inputs[0], self.shapes[0]), reshaped(outputs[0], self.shapes[1])
        table = self.table
        if dst.size == 0:
            return lambda: None
        return lambda: np.take(src, table, axis=1, out=dst, mode="clip")
