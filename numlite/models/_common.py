"""Shared pieces of the reference-model writers: a small network builder on top of
``ModelBuilder`` that tracks shapes, draws seeded weights and folds batch norm.

Weights (the recipe every layer follows):

1. A convolution's raw filter is drawn from N(0, 1) and each output channel's filter is
   rescaled to the exact norm ``gain * sqrt(2)`` for layers followed by RELU/RELU6 (He
   initialisation, made exact per channel so that no channel explodes or dies by chance) and
   ``gain`` for linear layers.  The second moment of activations is then kept from layer to
   layer: ``E[relu(w.x)^2] = |w|^2 E[x^2] / 2``.
2. Batch norm is folded the way the TFLite converter folds it: per output channel,
   ``w' = w * gamma / sqrt(var + eps)`` and ``b' = beta - mean * gamma / sqrt(var + eps)``,
   with gamma, beta, mean and var drawn around their trained-network ranges.  The folded
   per-channel scale averages 1, so step 1's guarantee holds on average.
3. Everything comes from one ``np.random.default_rng(seed)`` stream in float32 drawn in a
   fixed order, so the same arguments give the same bytes on every call and platform.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..builder import ModelBuilder

_EPS = 1e-3  # TF-slim's batch-norm epsilon


def out_size(n: int, k: int, s: int, padding: str, d: int = 1) -> int:
    """Spatial output size of a convolution or pool, as TFLite computes it."""
    ke = (k - 1) * d + 1
    return -(-n // s) if padding == "SAME" else -(-(n - ke + 1) // s)


def synthetic_image(shape: Sequence[int], seed: int = 0) -> np.ndarray:
    """A deterministic natural-looking NHWC float32 image in [-1, 1] (MobileNet/Inception
    preprocessing range): smooth colour gradients, a few soft blobs and a little noise."""
    n, h, w, c = (int(d) for d in shape)
    rng = np.random.default_rng(seed)
    yy, xx = np.meshgrid(np.linspace(0.0, 1.0, h, dtype=np.float64), np.linspace(0.0, 1.0, w), indexing="ij")
    img = np.empty((n, h, w, c), np.float64)
    for b in range(n):
        for ch in range(c):
            a, bb, ph = rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(0, 2 * np.pi)
            v = 0.4 * (a * xx + bb * yy) + 0.2 * np.sin(2 * np.pi * rng.uniform(1, 4) * (xx + yy) + ph)
            for _ in range(4):
                cy, cx, r, amp = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.3), rng.uniform(-1, 1)
                v += 0.6 * amp * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
            img[b, :, :, ch] = v
    img += 0.05 * rng.standard_normal(img.shape)
    return np.clip(img, -1.0, 1.0).astype(np.float32)


class Net:
    """Builds one float32 NHWC network; every method returns the new tensor's index."""

    def __init__(self, description: str, seed: int):
        self.mb = ModelBuilder(description)
        self.rng = np.random.default_rng(seed)

    # -- bookkeeping ---------------------------------------------------------------------
    def shape(self, t: int) -> tuple[int, ...]:
        return self.mb.shape_of(t)

    def _act_tensor(self, name: str, shape: Sequence[int]) -> int:
        return self.mb.tensor(name, shape, np.float32)

    def input(self, name: str, shape: Sequence[int]) -> int:
        return self.mb.input(name, shape, np.float32)

    def output(self, t: int) -> None:
        self.mb.output(t)

    def build(self) -> bytes:
        return self.mb.build()

    # -- weights -------------------------------------------------------------------------
    def _filters(self, n_out: int, per_filter: Sequence[int], gain: float, relu: bool) -> np.ndarray:
        """``n_out`` filters of shape ``per_filter``, each of norm ``gain*sqrt(2 if relu else 1)``,
        with a folded batch-norm scale applied; returns float64 (cast by the caller)."""
        w = self.rng.standard_normal((n_out, *per_filter), dtype=np.float32).astype(np.float64)
        norms = np.sqrt(np.sum(w.reshape(n_out, -1) ** 2, axis=1))
        target = gain * np.sqrt(2.0 if relu else 1.0)
        w *= (target / np.maximum(norms, 1e-12)).reshape(-1, *([1] * len(per_filter)))
        return w

    def _fold_bn(self, n_out: int, bias_std: float) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel (scale, bias) of a batch norm folded into the preceding conv."""
        gamma = self.rng.uniform(0.8, 1.2, n_out)
        var = self.rng.uniform(0.5, 1.5, n_out)
        mean = self.rng.normal(0.0, 0.05, n_out)
        beta = self.rng.normal(0.0, bias_std, n_out)
        scale = gamma / np.sqrt(var + _EPS)
        scale /= np.mean(scale)  # keep the He gain on average (see module docstring)
        return scale, beta - mean * scale

    # -- layers --------------------------------------------------------------------------
    def conv(self, x: int, n_out: int, k: int | tuple[int, int], scope: str, *, stride: int = 1,
             padding: str = "SAME", act: str = "NONE", gain: float = 1.0, bn: bool = True,
             bias_std: float = 0.05, out_name: str | None = None) -> int:
        kh, kw = (k, k) if isinstance(k, int) else k
        n, h, w, c = self.shape(x)
        relu = act in ("RELU", "RELU6")
        filt = self._filters(n_out, (kh, kw, c), gain, relu)
        if bn:
            scale, bias = self._fold_bn(n_out, bias_std)
            filt *= scale.reshape(-1, 1, 1, 1)
        else:
            bias = self.rng.normal(0.0, bias_std, n_out)
        wt = self.mb.const(f"{scope}/weights", filt.astype(np.float32))
        bt = self.mb.const(f"{scope}/Conv2D_bias", bias.astype(np.float32))
        oh, ow = out_size(h, kh, stride, padding), out_size(w, kw, stride, padding)
        y = self._act_tensor(out_name or f"{scope}/{_act_suffix(act)}", (n, oh, ow, n_out))
        self.mb.op("CONV_2D", [x, wt, bt], [y], padding=padding, stride_w=stride, stride_h=stride,
                   fused_activation_function=act)
        return y

    def dwconv(self, x: int, k: int, scope: str, *, stride: int = 1, padding: str = "SAME",
               act: str = "RELU6", gain: float = 1.0, bias_std: float = 0.05) -> int:
        n, h, w, c = self.shape(x)
        relu = act in ("RELU", "RELU6")
        filt = self._filters(c, (k, k), gain, relu)  # [c, k, k]
        scale, bias = self._fold_bn(c, bias_std)
        filt *= scale.reshape(-1, 1, 1)
        filt = np.ascontiguousarray(np.transpose(filt, (1, 2, 0)))[None]  # TFLite layout [1, kh, kw, c]
        wt = self.mb.const(f"{scope}/depthwise_weights", filt.astype(np.float32))
        bt = self.mb.const(f"{scope}/depthwise_bias", bias.astype(np.float32))
        oh, ow = out_size(h, k, stride, padding), out_size(w, k, stride, padding)
        y = self._act_tensor(f"{scope}/{_act_suffix(act)}", (n, oh, ow, c))
        self.mb.op("DEPTHWISE_CONV_2D", [x, wt, bt], [y], padding=padding, stride_w=stride, stride_h=stride,
                   depth_multiplier=1, fused_activation_function=act)
        return y

    def fully_connected(self, x: int, n_out: int, scope: str, *, gain: float = 1.0, bias_std: float = 0.0) -> int:
        shp = self.shape(x)
        fan_in = int(np.prod(shp[1:]))
        filt = self._filters(n_out, (fan_in,), gain, False)
        bias = self.rng.normal(0.0, bias_std, n_out) if bias_std else np.zeros(n_out)
        wt = self.mb.const(f"{scope}/kernel", filt.astype(np.float32))
        bt = self.mb.const(f"{scope}/bias", bias.astype(np.float32))
        y = self._act_tensor(f"{scope}/BiasAdd", (shp[0], n_out))
        self.mb.op("FULLY_CONNECTED", [x, wt, bt], [y], fused_activation_function="NONE")
        return y

    def pool(self, kind: str, x: int, k: int | tuple[int, int], stride: int, padding: str, name: str) -> int:
        kh, kw = (k, k) if isinstance(k, int) else k
        n, h, w, c = self.shape(x)
        y = self._act_tensor(name, (n, out_size(h, kh, stride, padding), out_size(w, kw, stride, padding), c))
        self.mb.op(kind, [x], [y], padding=padding, stride_w=stride, stride_h=stride, filter_width=kw,
                   filter_height=kh, fused_activation_function="NONE")
        return y

    def avg_pool(self, x: int, k: int | tuple[int, int], stride: int, padding: str, name: str) -> int:
        return self.pool("AVERAGE_POOL_2D", x, k, stride, padding, name)

    def max_pool(self, x: int, k: int, stride: int, padding: str, name: str) -> int:
        return self.pool("MAX_POOL_2D", x, k, stride, padding, name)

    def concat(self, xs: Sequence[int], name: str, axis: int = 3) -> int:
        shapes = [self.shape(x) for x in xs]
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        y = self._act_tensor(name, out)
        self.mb.op("CONCATENATION", list(xs), [y], axis=axis, fused_activation_function="NONE")
        return y

    def add(self, a: int, b: int, name: str) -> int:
        y = self._act_tensor(name, self.shape(a))
        self.mb.op("ADD", [a, b], [y], fused_activation_function="NONE")
        return y

    def reshape(self, x: int, shape: Sequence[int], name: str) -> int:
        st = self.mb.const(f"{name}_shape", np.asarray(shape, np.int32))
        y = self._act_tensor(name, shape)
        self.mb.op("RESHAPE", [x, st], [y], new_shape=np.asarray(shape, np.int32))
        return y

    def softmax(self, x: int, name: str) -> int:
        y = self._act_tensor(name, self.shape(x))
        self.mb.op("SOFTMAX", [x], [y], beta=1.0)
        return y


def _act_suffix(act: str) -> str:
    return {"RELU6": "Relu6", "RELU": "Relu", "NONE": "BiasAdd"}.get(act, act)


def classifier_head(net: Net, x: int, num_classes: int, scope: str, head: str, logit_gain: float,
                    bias_std: float = 0.1) -> int:
    """Global average pool -> 1x1 conv (TF-slim files) or fully connected (Keras files) ->
    [1, classes] logits; returns the logits tensor (before softmax)."""
    n, h, w, c = net.shape(x)
    pooled = net.avg_pool(x, (h, w), 2, "VALID", f"{scope}/AvgPool_1a/AvgPool")
    if head == "conv":
        logits4 = net.conv(pooled, num_classes, 1, f"{scope}/Conv2d_1c_1x1", act="NONE", gain=logit_gain,
                           bn=False, bias_std=bias_std)
        return net.reshape(logits4, (n, num_classes), f"{scope}/SpatialSqueeze")
    if head == "fc":
        flat = net.reshape(pooled, (n, c), f"{scope}/Flatten")
        return net.fully_connected(flat, num_classes, f"{scope}/Dense", gain=logit_gain, bias_std=bias_std)
    raise ValueError(f"head must be 'conv' or 'fc', got {head!r}")


def check_kw(name: str, kw: dict[str, Any], allowed: Sequence[str]) -> None:
    bad = sorted(set(kw) - set(allowed))
    if bad:
        raise TypeError(f"{name}: unknown argument(s) {bad}; accepted: {sorted(allowed)}")
