"""SEGMENT_SUM: the sum of the rows of ``data`` sharing a segment id, for ids sorted
from 0 with no gaps (``[0, 0, 1, 2, 2]``); empty data gives an empty output.

1. Inputs: data and sorted segment_ids.  Data float32 or int32,
   ids int32 (version 1, as LiteRT 2.3).
2. Shapes, checks, identities and the order rows are combined in: see ``_segment.py``.
"""

from __future__ import annotations

from ._segment import SegmentKernel
from .registry import register


@register("SEGMENT_SUM", versions=(1,))
class SegmentSum(SegmentKernel):
    unsorted = False
    reduce = "sum"
