"""UNSORTED_SEGMENT_PROD: the product of the rows of ``data`` sharing a segment id, in
``num_segments`` segments (1 for an empty segment; int32 products wrap).

1. Inputs: data, segment_ids, num_segments.  Data float32 or int32,
   ids int32 (version 1, as LiteRT 2.3).
2. Shapes, checks, identities and the order rows are combined in: see ``_segment.py``.
"""

from __future__ import annotations

from ._segment import SegmentKernel
from .registry import register


@register("UNSORTED_SEGMENT_PROD", versions=(1,))
class UnsortedSegmentProd(SegmentKernel):
    unsorted = True
    reduce = "prod"
