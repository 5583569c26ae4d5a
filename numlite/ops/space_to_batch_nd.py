"""SPACE_TO_BATCH_ND: zero-pad the spatial dimensions of ``input`` by ``paddings``, then move each
``block_shape`` offset of them into its own batch (versions 1-4, as LiteRT 2.3).

1. Output: ``[batch * prod(block_shape), padded_1 / block_1, ..., rest...]``; padded places hold
   0, or the output's zero point for quantized tensors (a real 0).
2. Dtypes, checks, the dynamic case and the copy plan: see ``_space_batch.py``.
"""

from __future__ import annotations

from ._space_batch import SpaceBatchKernel
from .registry import register


@register("SPACE_TO_BATCH_ND", versions=range(1, 5))
class SpaceToBatchND(SpaceBatchKernel):
    options_table = "SpaceToBatchNDOptions"
    to_batch = True
