"""ARG_MIN: index of the smallest value along a constant axis (see ``_arg_min_max`` for types,
ties and LiteRT's NaN rules).  Versions 1-3 (LiteRT 2.3's default resolver; its reference
resolver registers 1-2)."""

from ._arg_min_max import ArgMinMaxKernel
from .registry import register


@register("ARG_MIN", versions=range(1, 4))
class ArgMin(ArgMinMaxKernel):
    options_table = "ArgMinOptions"
    is_max = False
