"""SELECT_V2: ``condition ? x : y`` with NumPy broadcasting of all three inputs (see
``_select``).  Versions 1-2, as LiteRT 2.3."""

from ._select import SelectKernel
from .registry import register


@register("SELECT_V2", versions=range(1, 3))
class SelectV2(SelectKernel):
    options_table = "SelectV2Options"
    v2 = True
