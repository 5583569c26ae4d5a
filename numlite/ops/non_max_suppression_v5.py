"""NON_MAX_SUPPRESSION_V5: single-class soft NMS (Gaussian score decay) over float32 boxes,
matching LiteRT 2.3.

1. Inputs: boxes float32 ``[N, 4]``, scores float32 ``[N]``, max_output_size int32 scalar,
   iou_threshold, score_threshold and soft_nms_sigma float32 scalars.  Outputs: selected
   indices int32 and selected scores float32, both ``[max_output_size]`` (zero past the count),
   and the count, an int32 scalar.  Version 1 only; float32 only, as LiteRT's kernel.
2. Candidates have ``score > score_threshold``; the best is compared with the boxes selected
   since it was last examined: IoU ``>= iou_threshold`` drops it, otherwise (sigma > 0) its
   score decays by ``exp(-0.5 * iou^2 / sigma)``.  It is selected if its score did not decay and
   goes back into the queue while above the threshold (``_nms.soft_nms`` has the details,
   including LiteRT's tie order and its repeated selection of zero-area boxes).
   ``sigma = 0`` is plain NMS; a negative sigma is an error.
3. Selected scores are float32 and equal LiteRT's up to the last bit of ``expf`` (the test
   allows 1e-6 relative).
4. With five inputs the kernel runs plain NMS with two outputs, as LiteRT does.
"""

from __future__ import annotations

from ._nms import NmsKernel
from .registry import register


@register("NON_MAX_SUPPRESSION_V5", versions=(1,))
class NonMaxSuppressionV5(NmsKernel):
    options_table = "NonMaxSuppressionV5Options"
