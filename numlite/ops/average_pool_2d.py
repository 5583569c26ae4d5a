"""AVERAGE_POOL_2D: mean over each window's valid (non-padded) cells; see ``_pool``."""

import numpy as np

from ._pool import PoolKernel
from .registry import register


@register("AVERAGE_POOL_2D", versions=range(1, 4))
class AveragePool2D(PoolKernel):
    reduce = np.add
    average = True
