"""PADV2: PAD with the pad value taken from a third input (a scalar of the input's type;
read at every invoke, so it need not be constant).  Without it, zero (or the zero point)."""

from __future__ import annotations

from .pad import PadBase
from .registry import register


@register("PADV2", versions=range(1, 7))
class PadV2(PadBase):
    has_value_input = True
