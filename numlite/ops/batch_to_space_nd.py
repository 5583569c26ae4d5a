"""BATCH_TO_SPACE_ND: the inverse of SPACE_TO_BATCH_ND: interleave the ``prod(block_shape)``
batch groups of ``input`` into its spatial dimensions, then crop them by ``crops`` (versions
1-4, as LiteRT 2.3).

1. Output: ``[batch / prod(block_shape), in_1 * block_1 - crops[0] - crops[1], ..., rest...]``.
2. Dtypes, checks, the dynamic case and the copy plan: see ``_space_batch.py``.
"""

from __future__ import annotations

from ._space_batch import SpaceBatchKernel
from .registry import register


@register("BATCH_TO_SPACE_ND", versions=range(1, 5))
class BatchToSpaceND(SpaceBatchKernel):
    options_table = "BatchToSpaceNDOptions"
    to_batch = False
