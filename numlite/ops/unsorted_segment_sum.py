"""UNSORTED_SEGMENT_SUM: the sum of the rows of ``data`` sharing a segment id, in
``num_segments`` segments (0 for an empty segment).

1. Inputs: data, segment_ids, num_segments.  Data float32 or int32,
   ids int32 (version 1, as LiteRT 2.3).
2. Shapes, checks, identities and the order rows are combined in: see ``_segment.py``.
"""

from __future__ import annotations

from ._segment import SegmentKernel
from .registry import register


@register("UNSORTED_SEGMENT_SUM", versions=(1,))
class UnsortedSegmentSum(SegmentKernel):
    unsorted = True
    reduce = "sum"
