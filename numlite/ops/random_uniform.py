"""RANDOM_UNIFORM: float32 values uniform in ``[0, 1)`` of the shape held in input 0 (version 1,
as LiteRT 2.3's ``random_ops.cc``; the stream, seeds and checks are ``_random``'s).

1. Each Philox block (four 32-bit words) gives four values; value ``k`` of an invoke comes from
   word ``k`` of the invoke's blocks, as ``(w & 0x7FFFFF) * 2**-23`` (exact: bit-identical to
   LiteRT for the same seeds).
2. An invoke of ``n`` values takes ``ceil(n / 4)`` blocks (the unused words of the last block
   are dropped), so the next invoke continues with fresh blocks.
3. ``seed = seed2 = 0``: nondeterministic, as in LiteRT (see ``_random`` point 4).
"""

from __future__ import annotations

import numpy as np

from ._random import PHILOX_WORDS, BlockWorkspace, ShapeRandomKernel, words_to_unit_float
from .registry import register


@register("RANDOM_UNIFORM", versions=(1,))
class RandomUniform(ShapeRandomKernel):
    def workspace(self, n: int) -> BlockWorkspace:
        return BlockWorkspace(-(-n // PHILOX_WORDS), PHILOX_WORDS)

    def fill(self, ws: BlockWorkspace, out: np.ndarray) -> None:
        words = self.next_blocks(ws)
        words_to_unit_float(words[: out.size], out)
