"""ADD: elementwise sum with broadcasting and fused activation."""

import numpy as np

from ._binary import BinaryKernel
from .registry import register


@register("ADD", versions=range(1, 6))
class Add(BinaryKernel):
    options_table = "AddOptions"
    ufunc = np.add
