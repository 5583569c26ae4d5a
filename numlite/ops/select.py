"""SELECT: ``condition ? x : y``; the condition has x's shape, is a scalar, or is rank 1 over x's
first dimension (see ``_select``).  Versions 1-4, as LiteRT 2.3."""

from ._select import SelectKernel
from .registry import register


@register("SELECT", versions=range(1, 5))
class Select(SelectKernel):
    options_table = "SelectOptions"
    v2 = False
