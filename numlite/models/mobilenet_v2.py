"""MobileNet v2 (Sandler et al. 2018) with the op structure of the official
``mobilenet_v2_1.0_224.tflite`` (TF-slim, float32):

1. ``CONV_2D`` 3x3 stride 2, 32 channels, RELU6;
2. 17 inverted-residual blocks: ``CONV_2D`` 1x1 expansion (x6, RELU6; absent in the first
   block), ``DEPTHWISE_CONV_2D`` 3x3 (RELU6), ``CONV_2D`` 1x1 linear projection, and an
   ``ADD`` of the block input when the stride is 1 and the channel count is unchanged (10 adds);
3. ``CONV_2D`` 1x1 to 1280 channels (RELU6), ``AVERAGE_POOL_2D`` over the final 7x7 map;
4. ``CONV_2D`` 1x1 to 1001 logits (or ``FULLY_CONNECTED`` with ``head="fc"``, as Keras files
   have), ``RESHAPE``, ``SOFTMAX``.
"""

from __future__ import annotations

from ._common import Net, classifier_head

# (expansion t, output channels c, repeats n, first stride s), as in the paper's table 2
STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
          (6, 320, 1, 1)]


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor``, never more than 10% down (TF-slim)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def build(alpha: float = 1.0, resolution: int = 224, num_classes: int = 1001, seed: int = 2,
          head: str = "conv", batch: int = 1, logit_gain: float = 4.5) -> bytes:
    """Write the model; ``alpha`` is the width multiplier."""
    net = Net(f"MobileNet v2 {alpha}/{resolution} (numlite reference model, seeded weights)", seed)
    sc = "MobilenetV2"
    x = net.input("input", (batch, resolution, resolution, 3))
    x = net.conv(x, make_divisible(32 * alpha), 3, f"{sc}/Conv", stride=2, act="RELU6")
    k = 0
    for t, c, n, s in STAGES:
        c_out = make_divisible(c * alpha)
        for r in range(n):
            block = f"{sc}/expanded_conv" + (f"_{k}" if k else "")
            stride = s if r == 0 else 1
            c_in = net.shape(x)[3]
            h = x
            if t != 1:
                h = net.conv(h, c_in * t, 1, f"{block}/expand", act="RELU6")
            h = net.dwconv(h, 3, f"{block}/depthwise", stride=stride, act="RELU6")
            residual = stride == 1 and c_in == c_out
            # residual branches start smaller so the running sum keeps its scale (like the
            # small batch-norm gammas of a trained network's last layer in each branch)
            h = net.conv(h, c_out, 1, f"{block}/project", act="NONE", gain=0.5 if residual else 1.0)
            x = net.add(x, h, f"{block}/add") if residual else h
            k += 1
    last = make_divisible(1280 * alpha) if alpha > 1.0 else 1280
    x = net.conv(x, last, 1, f"{sc}/Conv_1", act="RELU6")
    logits = classifier_head(net, x, num_classes, f"{sc}/Logits", head, logit_gain=logit_gain)
    net.output(net.softmax(logits, f"{sc}/Predictions/Reshape_1"))
    return net.build()
