"""UNSORTED_SEGMENT_MIN: the minimum of the rows of ``data`` sharing a segment id, in
``num_segments`` segments (the type's largest value for an empty segment; NaN never wins).

1. Inputs: data, segment_ids, num_segments.  Data float32 or int32,
   ids int32 (version 1, as LiteRT 2.3).
2. Shapes, checks, identities and the order rows are combined in: see ``_segment.py``.
"""

from __future__ import annotations

from ._segment import SegmentKernel
from .registry import register


@register("UNSORTED_SEGMENT_MIN", versions=(1,))
class UnsortedSegmentMin(SegmentKernel):
    unsorted = True
    reduce = "min"
