"""Inception v3 (Szegedy et al. 2015) with the op structure of the official TF-slim
``inception_v3.tflite`` (float32, 299x299):

1. stem: ``CONV_2D`` 3x3 s2 VALID (32), 3x3 VALID (32), 3x3 SAME (64), ``MAX_POOL_2D`` 3x3 s2,
   1x1 (80), 3x3 VALID (192), ``MAX_POOL_2D`` 3x3 s2; every conv RELU fused, batch norm folded;
2. Mixed_5b/5c/5d (35x35): 1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | ``AVERAGE_POOL_2D`` 3x3 s1
   SAME -> 1x1, joined by ``CONCATENATION`` on channels;
3. Mixed_6a (reduction to 17x17): 3x3 s2 | 1x1 -> 3x3 -> 3x3 s2 | max pool 3x3 s2;
4. Mixed_6b..6e: factorised 1x7 / 7x1 convolutions, plus the avg-pool branch;
5. Mixed_7a (reduction to 8x8), Mixed_7b/7c with the nested 1x3 / 3x1 concatenations;
6. ``AVERAGE_POOL_2D`` 8x8 VALID, ``CONV_2D`` 1x1 to 1001 logits, ``RESHAPE``, ``SOFTMAX``.

``depth_multiplier`` scales every channel count (``max(int(d * m), min_depth)``, as TF-slim);
the final pool always covers the whole last feature map, so small inputs (75x75: 1x1 at the
end) keep the same op structure.
"""

from __future__ import annotations

from ._common import Net, classifier_head


def build(depth_multiplier: float = 1.0, resolution: int = 299, num_classes: int = 1001, seed: int = 3,
          head: str = "conv", min_depth: int = 16, batch: int = 1, logit_gain: float = 6.0) -> bytes:
    """Write the model."""
    if resolution < 75:
        raise ValueError(f"inception_v3 needs an input of at least 75x75, got {resolution}")

    def d(c: int) -> int:
        return max(int(c * depth_multiplier), min_depth)

    net = Net(f"Inception v3 {depth_multiplier}/{resolution} (numlite reference model, seeded weights)", seed)
    root = "InceptionV3/InceptionV3"

    def conv(x: int, c: int, k: int | tuple[int, int], name: str, stride: int = 1, padding: str = "SAME") -> int:
        return net.conv(x, d(c), k, f"{root}/{name}", stride=stride, padding=padding, act="RELU")

    def avg_branch(x: int, c: int, blk: str) -> int:
        p = net.avg_pool(x, 3, 1, "SAME", f"{root}/{blk}/Branch_3/AvgPool_0a_3x3/AvgPool")
        return conv(p, c, 1, f"{blk}/Branch_3/Conv2d_0b_1x1")

    x = net.input("input", (batch, resolution, resolution, 3))
    x = conv(x, 32, 3, "Conv2d_1a_3x3", stride=2, padding="VALID")
    x = conv(x, 32, 3, "Conv2d_2a_3x3", padding="VALID")
    x = conv(x, 64, 3, "Conv2d_2b_3x3")
    x = net.max_pool(x, 3, 2, "VALID", f"{root}/MaxPool_3a_3x3/MaxPool")
    x = conv(x, 80, 1, "Conv2d_3b_1x1", padding="VALID")
    x = conv(x, 192, 3, "Conv2d_4a_3x3", padding="VALID")
    x = net.max_pool(x, 3, 2, "VALID", f"{root}/MaxPool_5a_3x3/MaxPool")

    for blk, pool_c in (("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)):
        b0 = conv(x, 64, 1, f"{blk}/Branch_0/Conv2d_0a_1x1")
        b1 = conv(x, 48, 1, f"{blk}/Branch_1/Conv2d_0a_1x1")
        b1 = conv(b1, 64, 5, f"{blk}/Branch_1/Conv2d_0b_5x5")
        b2 = conv(x, 64, 1, f"{blk}/Branch_2/Conv2d_0a_1x1")
        b2 = conv(b2, 96, 3, f"{blk}/Branch_2/Conv2d_0b_3x3")
        b2 = conv(b2, 96, 3, f"{blk}/Branch_2/Conv2d_0c_3x3")
        x = net.concat([b0, b1, b2, avg_branch(x, pool_c, blk)], f"{root}/{blk}/concat")

    blk = "Mixed_6a"
    b0 = conv(x, 384, 3, f"{blk}/Branch_0/Conv2d_1a_1x1", stride=2, padding="VALID")
    b1 = conv(x, 64, 1, f"{blk}/Branch_1/Conv2d_0a_1x1")
    b1 = conv(b1, 96, 3, f"{blk}/Branch_1/Conv2d_0b_3x3")
    b1 = conv(b1, 96, 3, f"{blk}/Branch_1/Conv2d_1a_1x1", stride=2, padding="VALID")
    b2 = net.max_pool(x, 3, 2, "VALID", f"{root}/{blk}/Branch_2/MaxPool_1a_3x3/MaxPool")
    x = net.concat([b0, b1, b2], f"{root}/{blk}/concat")

    for blk, c in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
        b0 = conv(x, 192, 1, f"{blk}/Branch_0/Conv2d_0a_1x1")
        b1 = conv(x, c, 1, f"{blk}/Branch_1/Conv2d_0a_1x1")
        b1 = conv(b1, c, (1, 7), f"{blk}/Branch_1/Conv2d_0b_1x7")
        b1 = conv(b1, 192, (7, 1), f"{blk}/Branch_1/Conv2d_0c_7x1")
        b2 = conv(x, c, 1, f"{blk}/Branch_2/Conv2d_0a_1x1")
        b2 = conv(b2, c, (7, 1), f"{blk}/Branch_2/Conv2d_0b_7x1")
        b2 = conv(b2, c, (1, 7), f"{blk}/Branch_2/Conv2d_0c_1x7")
        b2 = conv(b2, c, (7, 1), f"{blk}/Branch_2/Conv2d_0d_7x1")
        b2 = conv(b2, 192, (1, 7), f"{blk}/Branch_2/Conv2d_0e_1x7")
        x = net.concat([b0, b1, b2, avg_branch(x, 192, blk)], f"{root}/{blk}/concat")

    blk = "Mixed_7a"
    b0 = conv(x, 192, 1, f"{blk}/Branch_0/Conv2d_0a_1x1")
    b0 = conv(b0, 320, 3, f"{blk}/Branch_0/Conv2d_1a_3x3", stride=2, padding="VALID")
    b1 = conv(x, 192, 1, f"{blk}/Branch_1/Conv2d_0a_1x1")
    b1 = conv(b1, 192, (1, 7), f"{blk}/Branch_1/Conv2d_0b_1x7")
    b1 = conv(b1, 192, (7, 1), f"{blk}/Branch_1/Conv2d_0c_7x1")
    b1 = conv(b1, 192, 3, f"{blk}/Branch_1/Conv2d_1a_3x3", stride=2, padding="VALID")
    b2 = net.max_pool(x, 3, 2, "VALID", f"{root}/{blk}/Branch_2/MaxPool_1a_3x3/MaxPool")
    x = net.concat([b0, b1, b2], f"{root}/{blk}/concat")

    for blk, tail in (("Mixed_7b", "0b_3x1"), ("Mixed_7c", "0c_3x1")):
        b0 = conv(x, 320, 1, f"{blk}/Branch_0/Conv2d_0a_1x1")
        b1 = conv(x, 384, 1, f"{blk}/Branch_1/Conv2d_0a_1x1")
        b1 = net.concat([conv(b1, 384, (1, 3), f"{blk}/Branch_1/Conv2d_0b_1x3"),
                         conv(b1, 384, (3, 1), f"{blk}/Branch_1/Conv2d_{tail}")], f"{root}/{blk}/Branch_1/concat")
        b2 = conv(x, 448, 1, f"{blk}/Branch_2/Conv2d_0a_1x1")
        b2 = conv(b2, 384, 3, f"{blk}/Branch_2/Conv2d_0b_3x3")
        b2 = net.concat([conv(b2, 384, (1, 3), f"{blk}/Branch_2/Conv2d_0c_1x3"),
                         conv(b2, 384, (3, 1), f"{blk}/Branch_2/Conv2d_0d_3x1")], f"{root}/{blk}/Branch_2/concat")
        x = net.concat([b0, b1, b2, avg_branch(x, 192, blk)], f"{root}/{blk}/concat")

    logits = classifier_head(net, x, num_classes, "InceptionV3/Logits", head, logit_gain=logit_gain)
    net.output(net.softmax(logits, "InceptionV3/Predictions/Reshape_1"))
    return net.build()
