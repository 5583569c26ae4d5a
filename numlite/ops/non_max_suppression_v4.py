"""NON_MAX_SUPPRESSION_V4: greedy single-class NMS over float32 boxes, matching LiteRT 2.3.

1. Inputs: boxes float32 ``[N, 4]`` (two opposite corners ``[y1, x1, y2, x2]``, either order),
   scores float32 ``[N]``, max_output_size int32 scalar, iou_threshold and score_threshold
   float32 scalars.  Outputs: selected indices int32 ``[max_output_size]`` (zero-padded past
   the count) and the count, an int32 scalar.  Version 1 only (LiteRT registers no other);
   LiteRT's kernel takes float32 only, so does numlite.
2. A box is a candidate when its score is ``> score_threshold``; the best remaining candidate is
   selected unless its IoU with an already selected box is ``>= iou_threshold``.  Ties in score
   are broken exactly as LiteRT's libstdc++ priority queue breaks them; a zero-area box (IoU 0
   with everything, itself included) is selected repeatedly, as LiteRT does.
3. A max_output_size known only at invoke makes the indices output dynamic (still padded).
4. Like LiteRT, the kernel goes by the number of inputs: given a sixth (sigma) input it runs
   soft NMS and has three outputs, as NON_MAX_SUPPRESSION_V5 (see ``_nms.NmsKernel``).
"""

from __future__ import annotations

from ._nms import NmsKernel
from .registry import register


@register("NON_MAX_SUPPRESSION_V4", versions=(1,))
class NonMaxSuppressionV4(NmsKernel):
    options_table = "NonMaxSuppressionV4Options"
