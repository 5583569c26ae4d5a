"""HARD_SWISH: ``x * relu6(x + 3) / 6`` (float32).

Four in-place passes over the output view: ``x + 3``, clamp to [0, 6], times 1/6, times ``x``
(scaling before the product keeps huge ``x`` finite, as LiteRT does).
No scratch: the output never aliases the input.
"""

from __future__ import annotations

import numpy as np

from ._unary import UnaryKernel
from .base import Step
from .registry import register

THREE, ZERO, SIX, SIXTH = np.float32(3), np.float32(0), np.float32(6), np.float32(1 / 6)


@register("HARD_SWISH", versions=(1,))
class HardSwish(UnaryKernel):
    options_table = "HardSwishOptions"
    ieee_specials = True  # -inf * 0 is nan, as in LiteRT

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        def step() -> None:
            np.add(x, THREE, out=out)
            np.clip(out, ZERO, SIX, out=out)
            np.multiply(out, SIXTH, out=out)
            np.multiply(out, x, out=out)

        return step
