"""MAX_POOL_2D: maximum over each window's valid (non-padded) cells; see ``_pool``."""

import numpy as np

from ._pool import PoolKernel
from .registry import register


@register("MAX_POOL_2D", versions=range(1, 4))
class MaxPool2D(PoolKernel):
    reduce = np.maximum
