"""MobileNet v1 (Howard et al. 2017) with the op structure of the official
``mobilenet_v1_1.0_224.tflite`` (TF-slim, float32):

1. ``CONV_2D`` 3x3 stride 2 SAME, 32 channels, RELU6 fused (batch norm folded);
2. 13 depthwise-separable blocks: ``DEPTHWISE_CONV_2D`` 3x3 (stride 1 or 2) + ``CONV_2D`` 1x1,
   both RELU6 fused;
3. ``AVERAGE_POOL_2D`` over the final 7x7 map (VALID, stride 2);
4. ``CONV_2D`` 1x1 to 1001 logits (no activation), ``RESHAPE`` to [1, 1001], ``SOFTMAX``.

31 operators at every width and resolution; tensor names follow the official file.
"""

from __future__ import annotations

from ._common import Net, classifier_head

# (stride, output channels) of the 13 depthwise-separable blocks
BLOCKS = [(1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512), (1, 512), (1, 512), (1, 512),
          (1, 512), (1, 512), (2, 1024), (1, 1024)]


def build(alpha: float = 1.0, resolution: int = 224, num_classes: int = 1001, seed: int = 1,
          head: str = "conv", batch: int = 1, logit_gain: float = 12.0) -> bytes:
    """Write the model; ``alpha`` is the width multiplier (channels ``max(int(c * alpha), 8)``)."""
    def depth(c: int) -> int:
        return max(int(c * alpha), 8)

    net = Net(f"MobileNet v1 {alpha}/{resolution} (numlite reference model, seeded weights)", seed)
    scope = "MobilenetV1/MobilenetV1"
    x = net.input("input", (batch, resolution, resolution, 3))
    x = net.conv(x, depth(32), 3, f"{scope}/Conv2d_0", stride=2, act="RELU6")
    for i, (s, c) in enumerate(BLOCKS, start=1):
        x = net.dwconv(x, 3, f"{scope}/Conv2d_{i}_depthwise", stride=s, act="RELU6")
        x = net.conv(x, depth(c), 1, f"{scope}/Conv2d_{i}_pointwise", act="RELU6")
    logits = classifier_head(net, x, num_classes, "MobilenetV1/Logits", head, logit_gain=logit_gain)
    net.output(net.softmax(logits, "MobilenetV1/Predictions/Reshape_1"))
    return net.build()

