"""MIRROR_PAD: pad by mirroring the input (REFLECT excludes the edge, SYMMETRIC repeats it).

1. ``paddings`` ([rank, 2], known at prepare): REFLECT needs each pad < the dimension,
   SYMMETRIC needs each pad <= the dimension (as in TFLite).
2. The step copies the input into the interior, then for each axis ``d`` in order fills the
   two pad bands of that axis from mirrored bands of the output itself: over the full extent
   of the axes before ``d`` (already padded) and the interior of the axes after it.  Every
   copy is a basic-slice view (negative step for the mirror), planned at bind time.
"""

from __future__ import annotations

import numpy as np

from ._shape import DATA_DTYPES
from .base import Kernel, PrepareContext, Step
from .pad import INPUT, read_paddings
from .registry import register

REFLECT, SYMMETRIC = 0, 1


def _rev(lo: int, hi: int) -> slice:
    """Indices hi-1, hi-2, ..., lo as a basic slice."""
    return slice(hi - 1, lo - 1 if lo > 0 else None, -1)


@register("MIRROR_PAD", versions=range(1, 4))
class MirrorPad(Kernel):
    options_table = "MirrorPadOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        x = ctx.input(INPUT)
        ctx.expect_dtype(x, DATA_DTYPES)
        mode = int(self.options.get("mode") or 0)
        if mode not in (REFLECT, SYMMETRIC):
            ctx.fail(f"unknown mirror pad mode {mode}")
        p = read_paddings(ctx, x.rank).tolist()
        off = 1 if mode == REFLECT else 0
        for d, ((a, b), n) in enumerate(zip(p, x.shape)):
            if max(a, b) > n - off:
                ctx.fail(f"paddings {[a, b]} of dimension {d} are too large for {x.describe()} in "
                         f"{'REFLECT' if mode == REFLECT else 'SYMMETRIC'} mode")
        ctx.set_output(0, [n + a + b for n, (a, b) in zip(x.shape, p)], x.dtype)
        inner = [slice(a, a + n) for n, (a, _) in zip(x.shape, p)]
        self.plan = [(tuple(inner), None)]
        for d, ((a, b), n) in enumerate(zip(p, x.shape)):
            head = [slice(None)] * d
            tail = inner[d + 1:]
            if a:  # out[a - 1 - i] = out[a + off + i] for i < a
                self.plan.append((tuple(head + [slice(0, a)] + tail),
                                  tuple(head + [_rev(a + off, a + off + a)] + tail)))
            if b:  # out[a + n + i] = out[a + n - 1 - off - i] for i < b
                e = a + n - off
                self.plan.append((tuple(head + [slice(a + n, a + n + b)] + tail),
                                  tuple(head + [_rev(e - b, e)] + tail)))

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        out = outputs[0]
        pairs = [(out[dst], inputs[INPUT] if src is None else out[src]) for dst, src in self.plan]
        copyto = np.copyto

        def step() -> None:
            for d, s in pairs:
                copyto(d, s)

        return step
