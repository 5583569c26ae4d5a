"""Keras 3 -> numlite's graph IR (``converter.ir``), reading layer configurations and weights.

The model's graph (a Functional model, or a Sequential one's functional form) is walked in
Keras's own order; each layer's inbound node maps its input tensors to IR tensors and
``LAYERS[class name]`` writes its ops.  Shapes are Keras's: a free dimension (the batch) is 1
with -1 in the ``shape_signature``; a reshape to two free dimensions or more (a free batch and
a free sequence length) takes their sizes at run time (``Graph.reshape``).  Channels-last only.

Layers: InputLayer; Dense (any rank: FULLY_CONNECTED with ``keep_num_dims``), Conv2D (``groups``
> 1: one grouped CONV_2D, version 6), Conv1D (EXPAND_DIMS, CONV_2D, RESHAPE; same / valid /
causal; grouped too), DepthwiseConv1D (EXPAND_DIMS, DEPTHWISE_CONV_2D, RESHAPE),
Conv2DTranspose and Conv1DTranspose (TRANSPOSE_CONV, its output shape taken from the input's
batch; the 1-D one between EXPAND_DIMS and RESHAPE), Conv3DTranspose (CONV_3D_TRANSPOSE),
DepthwiseConv2D,
SeparableConv2D (depthwise then 1x1), with their activation (ReLU family
fused by the IR pass, others as ops); BatchNormalization (MUL and ADD by per-channel constants,
which the IR pass ``fold_scale_shift`` folds into the convolution / Dense writing its input, also
through a RESHAPE keeping the channels); Activation, ReLU (max_value 6 or
none, no threshold or negative slope: else MINIMUM / MAXIMUM), LeakyReLU, ELU (alpha 1),
Softmax (the last axis, or one other between two TRANSPOSEs), PReLU (PRELU, ``shared_axes``);
Dot (TRANSPOSE / RESHAPE to rank 3, BATCH_MATMUL; ``normalize``: L2 normalization first);
CategoryEncoding (ONE_HOT; multi_hot / count: REDUCE_MAX / SUM of it); Masking is refused;
Conv3D (CONV_3D); Normalization (SUB, MUL by 1 / max(std, epsilon));
Resizing (bilinear, nearest: half-pixel centers); MaxPooling1D, AveragePooling1D,
GlobalAveragePooling1D, GlobalMaxPooling1D; activations linear, relu, relu6, sigmoid, tanh, softmax, swish / silu,
hard_swish / hard_silu, gelu (exact and tanh approximation), elu, leaky_relu, and composed from
TFLite ops hard_sigmoid, selu, mish; LayerNormalization (last axis: MEAN, SUB, squared MEAN,
RSQRT ...); GroupNormalization (last axis: RESHAPE into groups, the same decomposition, RESHAPE
back); UnitNormalization (L2_NORMALIZATION over the last axis, else SUM of squares, RSQRT,
MINIMUM, MUL); Embedding (GATHER; int32 / int64 model inputs); UpSampling2D (nearest, bilinear),
UpSampling1D / UpSampling3D (nearest: RESHAPE, TILE, RESHAPE per axis), Cropping1D / 2D / 3D
(SLICE), RepeatVector; LSTM and SimpleRNN (UNIDIRECTIONAL_SEQUENCE_LSTM / _RNN, batch-major,
tanh or relu, sigmoid gates; variable state tensors of a fixed batch, carried across invokes as
TensorFlow's converter writes them; the last step by STRIDED_SLICE unless ``return_sequences``;
``go_backwards``: REVERSE_V2 of the input's time axis); GRU (no TFLite op: unrolled over a
static number of time steps, FULLY_CONNECTED / SPLIT_V / UNPACK / ADD / MUL / SUB and the
activations, PACK for ``return_sequences``; over a free number of steps a WHILE loop (cond and
body subgraphs: GATHER of the step, the cell, DYNAMIC_UPDATE_SLICE into the output sequence);
``reset_after`` either way, ``go_backwards``, ``return_state``; no state carried between invokes); Bidirectional(LSTM)
(BIDIRECTIONAL_SEQUENCE_LSTM with two outputs), Bidirectional(GRU / SimpleRNN / mixed pairs)
(each direction as above, the backward sequence reversed back), merged by CONCATENATION / ADD /
MUL / their mean, or two outputs (``merge_mode=None``); ``stateful`` is refused;
MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D (``keepdims`` too);
ZeroPadding1D / 2D / 3D (PAD); GlobalAveragePooling3D, GlobalMaxPooling3D (MEAN, REDUCE_MAX);
MaxPooling3D / AveragePooling3D are refused (no builtin TFLite op); Add, Subtract, Multiply,
Maximum, Minimum, Average, Concatenate; Flatten, Reshape, Permute; Rescaling; Dropout,
SpatialDropout*, GaussianNoise, GaussianDropout, AlphaDropout, ActivityRegularization,
Identity (inference identities: removed).  Any other layer (a Lambda, a custom class) raises
``ConversionError`` naming the layer and its class, and so does an unsupported option, and so
do weights that do not fit the layer's input (``fits``, ``broadcasts``: a file whose
``build_config`` disagrees with its graph loads in Keras for layers without an input spec).

Integer tensors (an int32 / int64 Input, a Keras operation's integer result): Embedding and
CategoryEncoding read them as indices; Flatten, Reshape, Permute and Concatenate keep their type
where Keras does; a layer that Keras computes in float (its output is float: Rescaling, Dense,
the activations, the normalizations ...) gets them through a CAST to float32, so it computes on
the values as given in float32 (where Keras's own eager call does integer arithmetic, as
LayerNormalization's mean, or refuses them, as Conv1D, numlite still computes in float32); a layer
that Keras computes in integers (an integer dtype policy) is refused by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import ConversionError
from .ir import Graph, OptionError, ReshapeError

IDENTITIES = {"Identity", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
              "GaussianDropout", "AlphaDropout", "ActivityRegularization"}


def _np(v: Any) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(v), np.float32)


class _Ctx:
    def __init__(self, g: Graph, layer: Any, inputs: list[int], outs: list[Any]):
        self.g, self.layer, self.inputs, self.outs = g, layer, inputs, outs
        self.cfg = layer.get_config()
        self.dtype: type = np.float32  # the outputs' type (another only for MOVES_VALUES layers)

    def fail(self, what: str) -> ConversionError:
        return ConversionError(f"cannot convert layer {self.layer.name!r} ({type(self.layer).__name__}): {what}")

    def out(self, k: int = 0, suffix: str = "") -> int:
        t = self.outs[k]
        return self.g.tensor(self.layer.name + suffix, t.shape, self.dtype)

    def tmp(self, suffix: str, shape: Any = None) -> int:
        return self.g.tensor(self.layer.name + suffix, shape if shape is not None else self.outs[0].shape)


# -- activations ------------------------------------------------------------------------------------
def _activation_name(act: Any) -> str:
    if act is None:
        return "linear"
    if isinstance(act, str):
        return act
    if isinstance(act, dict):
        return str(act.get("config", {}).get("name") or act.get("class_name") or act)
    return getattr(act, "__name__", str(act))


def activation(c: _Ctx, x: int, act: Any, out: int | None = None) -> int:
    """Ops computing activation ``act`` of ``x`` into ``out`` (a new tensor if None)."""
    g = c.g
    name = _activation_name(act)
    if name == "linear":
        if out is None:
            return x
        g.reshape(x, out, c.layer.name)
        return out
    y = out if out is not None else g.tensor(c.layer.name + "/" + name, g_shape(g, x))
    simple = {"relu": "RELU", "relu6": "RELU6", "sigmoid": "LOGISTIC", "tanh": "TANH", "hard_swish": "HARD_SWISH",
              "hard_silu": "HARD_SWISH", "elu": "ELU"}
    if name in simple:
        g.op(simple[name], [x], [y])
    elif name == "softmax":
        g.op("SOFTMAX", [x], [y], beta=1.0)
    elif name in ("swish", "silu"):
        s = g.tensor(c.layer.name + "/sigmoid", g_shape(g, x))
        g.op("LOGISTIC", [x], [s])
        g.op("MUL", [x, s], [y])
    elif name == "gelu":
        g.op("GELU", [x], [y], approximate=False)  # Keras's "gelu" is the exact (erf) form
    elif name == "leaky_relu":
        g.op("LEAKY_RELU", [x], [y], alpha=0.2)
    elif name == "hard_sigmoid":  # Keras 3: relu6(x + 3) / 6
        a, r = (g.tensor(c.layer.name + f"/hard_sigmoid{k}", g_shape(g, x)) for k in range(2))
        g.op("ADD", [x, g.const(c.layer.name + "/three", np.float32(3.0))], [a], fused_activation_function="NONE")
        g.op("RELU6", [a], [r])
        g.op("MUL", [r, g.const(c.layer.name + "/sixth", np.float32(1.0 / 6.0))], [y], fused_activation_function="NONE")
    elif name == "selu":  # scale * (relu(x) + alpha * min(elu(x), 0))
        alpha, scale = 1.6732632423543772, 1.0507009873554805
        r, e, m, s1, s2 = (g.tensor(c.layer.name + f"/selu{k}", g_shape(g, x)) for k in range(5))
        g.op("RELU", [x], [r])
        g.op("ELU", [x], [e])
        g.op("MINIMUM", [e, g.const(c.layer.name + "/zero", np.float32(0.0))], [m])
        g.op("MUL", [r, g.const(c.layer.name + "/scale", np.float32(scale))], [s1], fused_activation_function="NONE")
        g.op("MUL", [m, g.const(c.layer.name + "/scale_alpha", np.float32(scale * alpha))], [s2],
             fused_activation_function="NONE")
        g.op("ADD", [s1, s2], [y], fused_activation_function="NONE")
    elif name == "mish":  # x * tanh(log(1 + exp(x)))
        e, a, lg, t = (g.tensor(c.layer.name + f"/mish{k}", g_shape(g, x)) for k in range(4))
        g.op("EXP", [x], [e])
        g.op("ADD", [e, g.const(c.layer.name + "/one", np.float32(1.0))], [a], fused_activation_function="NONE")
        g.op("LOG", [a], [lg])
        g.op("TANH", [lg], [t])
        g.op("MUL", [x, t], [y], fused_activation_function="NONE")
    else:
        raise c.fail(f"activation {name!r} is not supported")
    return y


def g_shape(g: Graph, t: int) -> tuple[int | None, ...]:
    return tuple(None if s == -1 else d for d, s in zip(g.tensors[t].shape, g.tensors[t].signature))


# -- weights against the layer's input ---------------------------------------------------------------
def fits(c: _Ctx, what: str, have: Any, want: Any) -> None:
    """Refuse weights made for other inputs than the layer's (``have``: the input's size, None
    when free; ``want``: what the weights take).  Keras builds each layer of a loaded model from
    the file's ``build_config`` and then calls it on the graph's tensors without comparing the
    two, so an inconsistent or hostile file loads with weights that do not fit its graph: Keras
    cannot run that model, and its .tflite would not prepare.  A free ``have`` is refused too:
    Keras cannot build such weights over a free size, so the graph lost the size they were made
    for (a Reshape whose target_shape holds a float gives a free shape) and nothing checks them."""
    if want is None or (have is not None and int(have) == int(want)):
        return
    has = "a free size" if have is None else int(have)
    raise c.fail(f"{what}: the input has {has}, the weights take {int(want)} (the file's build_config "
                 "does not match the model's graph)")


def _features(c: _Ctx, x: int | None = None) -> int | None:
    """The last dimension (features, channels) of ``x`` (default: the layer's first input)."""
    shape = g_shape(c.g, c.inputs[0] if x is None else x)
    return shape[-1] if shape else None


def broadcasts(c: _Ctx, what: str, value: np.ndarray, x: int | None = None, free: bool = False) -> None:
    """Refuse a constant ``value`` combined elementwise with ``x`` (default: the layer's first
    input) that does not broadcast to ``x``'s shape without growing it.  A size other than 1
    against a free dimension of ``x`` is refused too unless ``free`` (a config value, which Keras
    broadcasts at run time): weights were built for a known size there (Keras cannot build them
    over a free one), so a free dimension means the file's graph lost it - a Reshape whose
    target_shape holds a float - and the .tflite would not prepare for most sizes."""
    shape = g_shape(c.g, c.inputs[0] if x is None else x)
    v = np.shape(value)
    if len(v) > len(shape) or any(b != 1 and (b != a if a is not None else not free)
                                  for a, b in zip(shape[len(shape) - len(v):], v)):
        free_dims = " (None: free)" if None in shape else ""
        raise c.fail(f"{what} of shape {list(v)} does not broadcast to the input's shape {list(shape)}{free_dims}")


def _finish(c: _Ctx, y: int, act: Any) -> list[int]:
    """``y`` (the layer's pre-activation result, a ``c.tmp("/pre")`` tensor) through the layer's
    activation into its output tensor; without one ``y`` is the output (named after the layer)."""
    if _activation_name(act) == "linear":
        c.g.tensors[y].name = c.g._unique(c.layer.name)
        return [y]
    return [activation(c, y, act, c.out())]


# -- layers -----------------------------------------------------------------------------------------
def _dense(c: _Ctx) -> list[int]:
    w, b = (_np(v) for v in (c.layer.kernel, c.layer.bias)) if c.layer.use_bias else (_np(c.layer.kernel), None)
    x = c.inputs[0]
    fits(c, "last dimension", _features(c), w.shape[0])
    rank = len(c.outs[0].shape)
    y = c.tmp("/pre")
    ins = [x, c.g.const(c.layer.name + "/kernel", w.T), c.g.const(c.layer.name + "/bias", b) if b is not None else -1]
    c.g.op("FULLY_CONNECTED", ins, [y], version=5 if rank > 2 else 1, fused_activation_function="NONE",
           keep_num_dims=rank > 2)
    return _finish(c, y, c.cfg.get("activation"))


def _padding(c: _Ctx) -> str:
    p = str(c.cfg.get("padding", "valid")).lower()
    if p not in ("same", "valid"):
        raise c.fail(f"padding {p!r}")
    return p.upper()


def _channels_last(c: _Ctx) -> None:
    if c.cfg.get("data_format", "channels_last") not in (None, "channels_last"):
        raise c.fail("only data_format='channels_last' converts")


def _conv(c: _Ctx) -> list[int]:
    """CONV_2D; grouped (``groups`` > 1): the filter's input channels a fraction of the input's,
    which TFLite's CONV_2D (version 6) runs as that many convolutions."""
    _channels_last(c)
    groups = int(c.cfg.get("groups", 1))
    k = _np(c.layer.kernel)  # [kh, kw, cin / groups, cout]
    fits(c, "channels", _features(c), k.shape[2] * groups)
    b = _np(c.layer.bias) if c.layer.use_bias else np.zeros(k.shape[-1], np.float32)
    sh, sw = c.cfg["strides"]
    dh, dw = c.cfg.get("dilation_rate", (1, 1))
    y = c.tmp("/pre")
    c.g.op("CONV_2D", [c.inputs[0], c.g.const(c.layer.name + "/kernel", k.transpose(3, 0, 1, 2)),
                       c.g.const(c.layer.name + "/bias", b)], [y], version=6 if groups > 1 else 1,
           padding=_padding(c), stride_h=int(sh), stride_w=int(sw), dilation_h_factor=int(dh),
           dilation_w_factor=int(dw), fused_activation_function="NONE")
    return _finish(c, y, c.cfg.get("activation"))


def _depthwise(c: _Ctx, kernel: np.ndarray, bias: np.ndarray | None, strides: Any, dilation: Any, out: int,
               multiplier: int) -> None:
    kh, kw, cin, m = kernel.shape
    fits(c, "channels", _features(c), cin)
    b = bias if bias is not None else np.zeros(cin * m, np.float32)
    c.g.op("DEPTHWISE_CONV_2D", [c.inputs[0], c.g.const(c.layer.name + "/depthwise_kernel",
                                                         kernel.reshape(1, kh, kw, cin * m)),
                                 c.g.const(c.layer.name + "/depthwise_bias", b)], [out],
           version=2 if tuple(dilation) != (1, 1) else 1, padding=_padding(c), stride_h=int(strides[0]),
           stride_w=int(strides[1]), depth_multiplier=int(multiplier), dilation_h_factor=int(dilation[0]),
           dilation_w_factor=int(dilation[1]), fused_activation_function="NONE")


def _depthwise_conv(c: _Ctx) -> list[int]:
    _channels_last(c)
    k = _np(c.layer.kernel)
    b = _np(c.layer.bias) if c.layer.use_bias else None
    y = c.tmp("/pre")
    _depthwise(c, k, b, c.cfg["strides"], c.cfg.get("dilation_rate", (1, 1)), y,
               int(c.cfg.get("depth_multiplier", 1)))
    return _finish(c, y, c.cfg.get("activation"))


def _separable(c: _Ctx) -> list[int]:
    _channels_last(c)
    dk, pk = _np(c.layer.depthwise_kernel), _np(c.layer.pointwise_kernel)  # [kh,kw,cin,m], [1,1,cin*m,cout]
    b = _np(c.layer.bias) if c.layer.use_bias else np.zeros(pk.shape[-1], np.float32)
    mid_shape = (*c.outs[0].shape[:-1], dk.shape[2] * dk.shape[3])
    mid = c.tmp("/depthwise", mid_shape)
    _depthwise(c, dk, None, c.cfg["strides"], c.cfg.get("dilation_rate", (1, 1)), mid,
               int(c.cfg.get("depth_multiplier", 1)))
    y = c.tmp("/pre")
    c.g.op("CONV_2D", [mid, c.g.const(c.layer.name + "/pointwise_kernel", pk.transpose(3, 0, 1, 2)),
                       c.g.const(c.layer.name + "/bias", b)], [y],
           padding="VALID", stride_h=1, stride_w=1, dilation_h_factor=1, dilation_w_factor=1,
           fused_activation_function="NONE")
    return _finish(c, y, c.cfg.get("activation"))


def _batch_norm(c: _Ctx) -> list[int]:
    """MUL by ``gamma / sqrt(variance + epsilon)`` and ADD of ``beta - mean * scale``, per channel
    (the last axis); ``passes.fold_scale_shift`` folds them into the CONV_2D / DEPTHWISE_CONV_2D /
    FULLY_CONNECTED / TRANSPOSE_CONV that writes the input when nothing else reads it, as new
    constants (never changing a weight another op shares)."""
    axis = c.cfg.get("axis", -1)
    axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
    rank = len(c.outs[0].shape)
    if not isinstance(axis, int) or axis not in (-1, rank - 1):
        raise c.fail(f"axis {axis}: only the last (channels) axis converts")
    ly = c.layer
    mean, var = _np(ly.moving_mean), _np(ly.moving_variance)
    fits(c, "channels", _features(c), mean.size)
    gamma = _np(ly.gamma) if ly.gamma is not None else np.ones_like(mean)
    beta = _np(ly.beta) if ly.beta is not None else np.zeros_like(mean)
    scale = (gamma / np.sqrt(var.astype(np.float64) + float(ly.epsilon))).astype(np.float32)
    shift = (beta - mean * scale).astype(np.float32)
    return [_scale_shift(c, c.inputs[0], scale, shift)]


def _activation_layer(c: _Ctx) -> list[int]:
    return [activation(c, c.inputs[0], c.cfg.get("activation"), c.out())]


def _relu(c: _Ctx) -> list[int]:
    mx, slope, th = c.cfg.get("max_value"), float(c.cfg.get("negative_slope", 0.0)), float(c.cfg.get("threshold", 0.0))
    if slope or th:
        raise c.fail("negative_slope / threshold")
    y = c.out()
    if mx is None:
        c.g.op("RELU", [c.inputs[0]], [y])
    elif float(mx) == 6.0:
        c.g.op("RELU6", [c.inputs[0]], [y])
    else:
        r = c.tmp("/relu")
        c.g.op("RELU", [c.inputs[0]], [r])
        c.g.op("MINIMUM", [r, c.g.const(c.layer.name + "/max", np.float32(mx))], [y])
    return [y]


def _leaky(c: _Ctx) -> list[int]:
    y = c.out()
    c.g.op("LEAKY_RELU", [c.inputs[0]], [y], alpha=float(c.cfg.get("negative_slope", c.cfg.get("alpha", 0.3))))
    return [y]


def _elu(c: _Ctx) -> list[int]:
    if float(c.cfg.get("alpha", 1.0)) != 1.0:
        raise c.fail("alpha other than 1 (TFLite's ELU has none)")
    y = c.out()
    c.g.op("ELU", [c.inputs[0]], [y])
    return [y]


def _pool(op: str) -> Callable[[_Ctx], list[int]]:
    def convert(c: _Ctx) -> list[int]:
        _channels_last(c)
        ph, pw = c.cfg["pool_size"]
        sh, sw = c.cfg.get("strides") or (ph, pw)
        y = c.out()
        c.g.op(op, [c.inputs[0]], [y], padding=_padding(c), stride_w=int(sw), stride_h=int(sh),
               filter_width=int(pw), filter_height=int(ph), fused_activation_function="NONE")
        return [y]
    return convert


def _global_pool(op: str, axes: tuple[int, ...]) -> Callable[[_Ctx], list[int]]:
    def convert(c: _Ctx) -> list[int]:
        _channels_last(c)
        y = c.out()
        c.g.op(op, [c.inputs[0], c.g.const(c.layer.name + "/axes", np.array(axes, np.int32), np.int32)], [y],
               keep_dims=bool(c.cfg.get("keepdims", False)))
        return [y]
    return convert


def _zero_padding(c: _Ctx) -> list[int]:
    """ZeroPadding1D / 2D / 3D: PAD of the spatial axes."""
    _channels_last(c)
    pad = c.cfg["padding"]
    pairs = [tuple(pad)] if isinstance(pad[0], int) else [tuple(p) for p in pad]
    y = c.out()
    c.g.op("PAD", [c.inputs[0], c.g.const(c.layer.name + "/paddings",
                                          np.array([[0, 0], *pairs, [0, 0]], np.int32), np.int32)], [y])
    return [y]


def _merge(op: str) -> Callable[[_Ctx], list[int]]:
    def convert(c: _Ctx) -> list[int]:
        acc = c.inputs[0]
        for k, x in enumerate(c.inputs[1:]):
            y = c.out() if k == len(c.inputs) - 2 else c.tmp(f"/{op.lower()}{k}")
            options = {"fused_activation_function": "NONE"} if op in ("ADD", "SUB", "MUL") else {}
            c.g.op(op, [acc, x], [y], **options)
            acc = y
        return [acc]
    return convert


def _average(c: _Ctx) -> list[int]:
    s = _merge("ADD")(c)[0] if len(c.inputs) > 1 else c.inputs[0]
    c.g.tensors[s].name = c.g._unique(c.layer.name + "/sum")
    y = c.out()
    c.g.op("MUL", [s, c.g.const(c.layer.name + "/inv_n", np.float32(1.0 / len(c.inputs)))], [y],
           fused_activation_function="NONE")
    return [y]


def _concat(c: _Ctx) -> list[int]:
    axis = int(c.cfg.get("axis", -1))
    y = c.out()
    c.g.op("CONCATENATION", c.inputs, [y], axis=axis if axis >= 0 else len(c.outs[0].shape) + axis,
           fused_activation_function="NONE")
    return [y]


def _reshape_to(c: _Ctx) -> list[int]:
    y = c.out()
    c.g.reshape(c.inputs[0], y, c.layer.name)
    return [y]


def _permute(c: _Ctx) -> list[int]:
    y = c.out()
    perm = np.array([0, *c.cfg["dims"]], np.int32)
    c.g.op("TRANSPOSE", [c.inputs[0], c.g.const(c.layer.name + "/perm", perm, np.int32)], [y])
    return [y]


def _scale_shift(c: _Ctx, x: int, scale: np.ndarray, shift: np.ndarray) -> int:
    """``x * scale + shift`` (MUL, ADD by constants) into the layer's output."""
    m = c.tmp("/scaled")
    c.g.op("MUL", [x, c.g.const(c.layer.name + "/scale", scale)], [m], fused_activation_function="NONE")
    y = c.out()
    c.g.op("ADD", [m, c.g.const(c.layer.name + "/shift", shift)], [y], fused_activation_function="NONE")
    return y


def _rescaling(c: _Ctx) -> list[int]:
    scale, offset = (np.asarray(c.cfg.get(k, d), np.float32) for k, d in (("scale", 1.0), ("offset", 0.0)))
    broadcasts(c, "scale", scale, free=True)
    broadcasts(c, "offset", offset, free=True)
    return [_scale_shift(c, c.inputs[0], scale, offset)]


def _conv1d_input(c: _Ctx, taps: int, dilation: int) -> tuple[int, str]:
    """The 1-D layer's input as [batch, 1, steps, channels] (EXPAND_DIMS), and the 2-D padding;
    ``causal`` padding: a PAD of (taps - 1) * dilation steps first, then VALID."""
    g, x = c.g, c.inputs[0]
    pad = str(c.cfg.get("padding", "valid")).lower()
    in_shape = g_shape(g, x)
    if pad == "causal":
        front = (taps - 1) * dilation
        p = g.tensor(c.layer.name + "/causal_pad", (in_shape[0], None if in_shape[1] is None else in_shape[1]
                                                    + front, in_shape[2]))
        g.op("PAD", [x, g.const(c.layer.name + "/paddings", np.array([[0, 0], [front, 0], [0, 0]], np.int32),
                                np.int32)], [p])
        x, pad, in_shape = p, "valid", g_shape(g, p)
    elif pad not in ("same", "valid"):
        raise c.fail(f"padding {pad!r}")
    e = g.tensor(c.layer.name + "/expanded", (in_shape[0], 1, *in_shape[1:]))
    g.op("EXPAND_DIMS", [x, g.const(c.layer.name + "/axis", np.array([1], np.int32), np.int32)], [e])
    return e, pad.upper()


def _conv1d(c: _Ctx) -> list[int]:
    """EXPAND_DIMS to [batch, 1, steps, channels], CONV_2D (grouped: filter input channels a
    fraction of the input's, version 6), RESHAPE back (as TensorFlow's converter writes Conv1D);
    ``causal`` padding: a PAD of (kernel - 1) * dilation steps first."""
    _channels_last(c)
    groups = int(c.cfg.get("groups", 1))
    k = _np(c.layer.kernel)  # [k, cin / groups, cout]
    fits(c, "channels", _features(c), k.shape[1] * groups)
    b = _np(c.layer.bias) if c.layer.use_bias else np.zeros(k.shape[-1], np.float32)
    (s,), (d,) = c.cfg["strides"], c.cfg.get("dilation_rate", (1,))
    g = c.g
    e, pad = _conv1d_input(c, k.shape[0], int(d))
    out_shape = c.outs[0].shape
    y4 = g.tensor(c.layer.name + "/conv", (out_shape[0], 1, *out_shape[1:]))
    g.op("CONV_2D", [e, g.const(c.layer.name + "/kernel", k.transpose(2, 0, 1)[:, None]),
                     g.const(c.layer.name + "/bias", b)], [y4], version=6 if groups > 1 else 1, padding=pad,
         stride_h=1, stride_w=int(s), dilation_h_factor=1, dilation_w_factor=int(d), fused_activation_function="NONE")
    y = c.tmp("/pre")
    g.reshape(y4, y, c.layer.name)
    return _finish(c, y, c.cfg.get("activation"))


def _depthwise_conv1d(c: _Ctx) -> list[int]:
    """EXPAND_DIMS, DEPTHWISE_CONV_2D (kernel [1, 1, k, channels * multiplier]), RESHAPE back."""
    _channels_last(c)
    k = _np(c.layer.kernel)  # [k, cin, m]
    (s,), (d,) = c.cfg["strides"], c.cfg.get("dilation_rate", (1,))
    taps, cin, m = k.shape
    fits(c, "channels", _features(c), cin)
    b = _np(c.layer.bias) if c.layer.use_bias else np.zeros(cin * m, np.float32)
    g = c.g
    e, pad = _conv1d_input(c, taps, int(d))
    out_shape = c.outs[0].shape
    y4 = g.tensor(c.layer.name + "/conv", (out_shape[0], 1, *out_shape[1:]))
    g.op("DEPTHWISE_CONV_2D", [e, g.const(c.layer.name + "/depthwise_kernel", k.reshape(1, 1, taps, cin * m)),
                               g.const(c.layer.name + "/bias", b)], [y4], version=2 if int(d) != 1 else 1,
         padding=pad, stride_h=1, stride_w=int(s), depth_multiplier=int(m), dilation_h_factor=1,
         dilation_w_factor=int(d), fused_activation_function="NONE")
    y = c.tmp("/pre")
    g.reshape(y4, y, c.layer.name)
    return _finish(c, y, c.cfg.get("activation"))


def _output_shape_of_batch(c: _Ctx, x: int, dims: tuple[int, ...]) -> int:
    """An int32 shape vector [batch of ``x``, *dims] (SHAPE, STRIDED_SLICE, CONCATENATION), so
    that a transposed convolution's output keeps the batch free."""
    g = c.g
    shp = g.tensor(c.layer.name + "/input_shape", (len(g_shape(g, x)),), np.int32)
    g.op("SHAPE", [x], [shp], out_type="INT32")
    batch = g.tensor(c.layer.name + "/batch", (1,), np.int32)
    g.op("STRIDED_SLICE", [shp, g.const(c.layer.name + "/b0", np.array([0], np.int32), np.int32),
                           g.const(c.layer.name + "/b1", np.array([1], np.int32), np.int32),
                           g.const(c.layer.name + "/b2", np.array([1], np.int32), np.int32)], [batch],
         begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0)
    size = g.tensor(c.layer.name + "/output_shape", (1 + len(dims),), np.int32)
    g.op("CONCATENATION", [batch, g.const(c.layer.name + "/dims", np.array(dims, np.int32), np.int32)], [size],
         axis=0, fused_activation_function="NONE")
    return size


def _conv_transpose(c: _Ctx) -> list[int]:
    """Conv2DTranspose / Conv1DTranspose (EXPAND_DIMS first, RESHAPE after): TRANSPOSE_CONV with
    its bias; the output shape from the input's batch, so the batch stays free."""
    _channels_last(c)
    one_d = type(c.layer).__name__ == "Conv1DTranspose"
    rank = 1 if one_d else 2
    if c.cfg.get("output_padding") is not None or tuple(c.cfg.get("dilation_rate", (1,) * rank)) != (1,) * rank:
        raise c.fail("output_padding / dilation_rate")
    k = _np(c.layer.kernel)  # [kh, kw, cout, cin] ([k, cout, cin])
    if one_d:
        k = k[None]
    fits(c, "channels", _features(c), k.shape[3])
    cout = k.shape[2]
    b = _np(c.layer.bias) if c.layer.use_bias else np.zeros(cout, np.float32)
    g, x = c.g, c.inputs[0]
    sh, sw = (1, *c.cfg["strides"]) if one_d else c.cfg["strides"]
    out_shape = tuple(c.outs[0].shape)
    if any(d is None for d in out_shape[1:]):
        raise c.fail("free spatial dimensions")
    if one_d:
        in_shape = g_shape(g, x)
        e = g.tensor(c.layer.name + "/expanded", (in_shape[0], 1, *in_shape[1:]))
        g.op("EXPAND_DIMS", [x, g.const(c.layer.name + "/axis", np.array([1], np.int32), np.int32)], [e])
        x, out_shape = e, (out_shape[0], 1, *out_shape[1:])
    size = _output_shape_of_batch(c, x, out_shape[1:])
    y = c.tmp("/pre") if not one_d else g.tensor(c.layer.name + "/conv", out_shape)
    g.op("TRANSPOSE_CONV", [size, g.const(c.layer.name + "/kernel", k.transpose(2, 0, 1, 3)), x,
                            g.const(c.layer.name + "/bias", b)], [y], version=3, padding=_padding(c),
         stride_h=int(sh), stride_w=int(sw), fused_activation_function="NONE")
    if one_d:
        y3 = c.tmp("/pre")
        g.reshape(y, y3, c.layer.name)
        y = y3
    return _finish(c, y, c.cfg.get("activation"))


def _conv3d_transpose(c: _Ctx) -> list[int]:
    """CONV_3D_TRANSPOSE (filter [kd, kh, kw, cout, cin]: Keras's layout), its output shape from
    the input's batch."""
    _channels_last(c)
    if c.cfg.get("output_padding") is not None:
        raise c.fail("output_padding")
    k = _np(c.layer.kernel)  # [kd, kh, kw, cout, cin]
    fits(c, "channels", _features(c), k.shape[4])
    b = _np(c.layer.bias) if c.layer.use_bias else np.zeros(k.shape[3], np.float32)
    out_shape = tuple(c.outs[0].shape)
    if any(d is None for d in out_shape[1:]):
        raise c.fail("free spatial dimensions")
    sd, sh, sw = (int(v) for v in c.cfg["strides"])
    dd, dh, dw = (int(v) for v in c.cfg.get("dilation_rate", (1, 1, 1)))
    g, x = c.g, c.inputs[0]
    size = _output_shape_of_batch(c, x, out_shape[1:])
    y = c.tmp("/pre")
    g.op("CONV_3D_TRANSPOSE", [size, g.const(c.layer.name + "/kernel", k), x, g.const(c.layer.name + "/bias", b)],
         [y], padding=_padding(c), stride_d=sd, stride_h=sh, stride_w=sw, dilation_d_factor=dd,
         dilation_h_factor=dh, dilation_w_factor=dw, fused_activation_function="NONE", options_table="Conv3DOptions")
    return _finish(c, y, c.cfg.get("activation"))


def _upsampling(c: _Ctx) -> list[int]:
    _channels_last(c)
    mode = c.cfg.get("interpolation", "nearest")
    out_shape = c.outs[0].shape
    size = c.g.const(c.layer.name + "/size", np.array(out_shape[1:3], np.int32), np.int32)
    y = c.out()
    if mode == "nearest":
        c.g.op("RESIZE_NEAREST_NEIGHBOR", [c.inputs[0], size], [y], align_corners=False, half_pixel_centers=False)
    elif mode == "bilinear":
        c.g.op("RESIZE_BILINEAR", [c.inputs[0], size], [y], version=3, align_corners=False, half_pixel_centers=True)
    else:
        raise c.fail(f"interpolation {mode!r}")
    return [y]


def _repeat_axes(c: _Ctx) -> list[int]:
    """UpSampling1D / UpSampling3D (nearest): each spatial axis k repeated by its factor n as
    RESHAPE to [batch, dims up to k, 1, the rest], TILE by n on the new axis, RESHAPE to the
    new size (rank 4 at most, whatever the layer's rank); UpSampling1D's steps may be free (the
    reshapes' shapes then made at run time)."""
    _channels_last(c)
    g, x = c.g, c.inputs[0]
    shape = list(g_shape(g, x))
    if shape[-1] is None or (len(shape) > 3 and any(d is None for d in shape[1:])):
        raise c.fail("free spatial dimensions (UpSampling1D's steps may be free)")
    size = c.cfg["size"]
    factors = [int(size)] if isinstance(size, int) else [int(v) for v in size]
    axes = [(axis, n) for axis, n in enumerate(factors, start=1) if n != 1]
    if not axes:
        y = c.out()
        g.reshape(x, y, c.layer.name)
        return [y]
    for axis, n in axes:
        free = shape[axis] is None  # UpSampling1D's steps: the batch and steps from x at run time
        pre = None if free else int(np.prod(shape[1:axis + 1]))
        post = int(np.prod(shape[axis + 1:]))
        r = g.tensor(f"{c.layer.name}/split_{axis}", (shape[0], pre, 1, post))
        g.reshape(x, r, c.layer.name)
        t = g.tensor(f"{c.layer.name}/tiled_{axis}", (shape[0], pre, n, post))
        g.op("TILE", [r, g.const(f"{c.layer.name}/multiples", np.array([1, 1, n, 1], np.int32), np.int32)], [t])
        shape[axis] = None if free else shape[axis] * n
        x = c.out() if axis == axes[-1][0] else g.tensor(f"{c.layer.name}/repeated_{axis}", shape)
        g.reshape(t, x, c.layer.name)
    return [x]


def _cropping(c: _Ctx) -> list[int]:
    """Cropping1D / 2D / 3D: SLICE from the first kept position, the output's size."""
    _channels_last(c)
    crop = c.cfg["cropping"]
    pairs = [tuple(crop)] if isinstance(crop[0], int) else [tuple(p) for p in crop]
    out_shape = c.outs[0].shape
    y = c.out()
    begin = np.array([0, *(int(p[0]) for p in pairs), 0], np.int32)
    size = np.array([-1, *(int(d) for d in out_shape[1:-1]), -1], np.int32)
    c.g.op("SLICE", [c.inputs[0], c.g.const(c.layer.name + "/begin", begin, np.int32),
                     c.g.const(c.layer.name + "/size", size, np.int32)], [y])
    return [y]


def _embedding(c: _Ctx) -> list[int]:
    """GATHER of the table's rows; indices other than int32 / int64 (a float32 input) go through a
    CAST to int32 first, as Keras's Embedding casts them (toward zero)."""
    ids = c.inputs[0]
    if np.dtype(c.g.tensors[ids].dtype) not in (np.dtype(np.int32), np.dtype(np.int64)):
        cast = c.g.tensor(c.layer.name + "/ids", g_shape(c.g, ids), np.int32)
        c.g.op("CAST", [ids], [cast])
        ids = cast
    y = c.out()
    c.g.op("GATHER", [c.g.const(c.layer.name + "/embeddings", _np(c.layer.embeddings)), ids], [y], axis=0,
           batch_dims=0)
    return [y]


def _layer_norm(c: _Ctx) -> list[int]:
    """MEAN, SUB, squared MEAN, ADD epsilon, RSQRT, MUL, then gamma and beta (TensorFlow's
    converter's decomposition); over the last axis."""
    axis = c.cfg.get("axis", -1)
    rank = len(c.outs[0].shape)
    axes = [a % rank for a in (axis if isinstance(axis, (list, tuple)) else [axis])]
    if axes != [rank - 1]:
        raise c.fail(f"axis {axis}: only the last axis converts")
    g, x = c.g, c.inputs[0]
    shape = g_shape(g, x)
    red = (*shape[:-1], 1)
    ax = g.const(c.layer.name + "/axis", np.array([rank - 1], np.int32), np.int32)
    mean, var = g.tensor(c.layer.name + "/mean", red), g.tensor(c.layer.name + "/variance", red)
    d, sq, r, n = (g.tensor(c.layer.name + f"/{k}", s) for k, s in (("centered", shape), ("squared", shape),
                                                                   ("rstd", red), ("normalized", shape)))
    ve = g.tensor(c.layer.name + "/variance_eps", red)
    g.op("MEAN", [x, ax], [mean], keep_dims=True)
    g.op("SUB", [x, mean], [d], fused_activation_function="NONE")
    g.op("MUL", [d, d], [sq], fused_activation_function="NONE")
    g.op("MEAN", [sq, ax], [var], keep_dims=True)
    g.op("ADD", [var, g.const(c.layer.name + "/epsilon", np.float32(c.layer.epsilon))], [ve],
         fused_activation_function="NONE")
    g.op("RSQRT", [ve], [r])
    ly = c.layer
    last = n if (ly.gamma is not None or ly.beta is not None) else c.out()
    g.op("MUL", [d, r], [last], fused_activation_function="NONE")
    for what, v in (("gamma", ly.gamma), ("beta", ly.beta)):
        if v is not None:
            broadcasts(c, what, _np(v))
    if ly.gamma is not None:
        nxt = c.out() if ly.beta is None else c.tmp("/scaled")
        g.op("MUL", [last, g.const(c.layer.name + "/gamma", _np(ly.gamma))], [nxt], fused_activation_function="NONE")
        last = nxt
    if ly.beta is not None:
        y = c.out()
        g.op("ADD", [last, g.const(c.layer.name + "/beta", _np(ly.beta))], [y], fused_activation_function="NONE")
        last = y
    return [last]


def _group_norm(c: _Ctx) -> list[int]:
    """GroupNormalization over the last axis: RESHAPE to [batch, positions, groups, channels per
    group], MEAN over positions and the group's channels, SUB, squared MEAN, ADD epsilon, RSQRT,
    MUL, RESHAPE back, then gamma and beta per channel (the variance of the centered values:
    Keras takes E[x^2] - E[x]^2, equal up to rounding).  Free positions with a free batch: the
    reshapes' shapes come from the input's at run time."""
    g, x = c.g, c.inputs[0]
    shape = g_shape(g, x)
    rank = len(shape)
    axis = int(c.cfg.get("axis", -1))
    if axis % rank != rank - 1:
        raise c.fail(f"axis {axis}: only the last (channels) axis converts")
    if shape[-1] is None:
        raise c.fail("a free channel dimension")
    groups, ch = int(c.cfg["groups"]), int(shape[-1])
    free = any(d is None for d in shape[1:-1])  # free positions: the reshapes' shapes made at run time
    positions = None if free else int(np.prod(shape[1:-1], dtype=np.int64)) if rank > 2 else 1
    gshape = (shape[0], positions, groups, ch // groups)
    red = (shape[0], 1, groups, 1)
    name = c.layer.name
    xg = g.tensor(name + "/grouped", gshape)
    g.reshape(x, xg, name)
    ax = g.const(name + "/axes", np.array([1, 3], np.int32), np.int32)
    mean, var, ve, r = (g.tensor(f"{name}/{k}", red) for k in ("mean", "variance", "variance_eps", "rstd"))
    d, sq, n = (g.tensor(f"{name}/{k}", gshape) for k in ("centered", "squared", "normalized_groups"))
    g.op("MEAN", [xg, ax], [mean], keep_dims=True)
    g.op("SUB", [xg, mean], [d], fused_activation_function="NONE")
    g.op("MUL", [d, d], [sq], fused_activation_function="NONE")
    g.op("MEAN", [sq, ax], [var], keep_dims=True)
    g.op("ADD", [var, g.const(name + "/epsilon", np.float32(c.cfg.get("epsilon", 1e-3)))], [ve],
         fused_activation_function="NONE")
    g.op("RSQRT", [ve], [r])
    g.op("MUL", [d, r], [n], fused_activation_function="NONE")
    ly = c.layer
    gamma = _np(ly.gamma) if c.cfg.get("scale", True) else None
    beta = _np(ly.beta) if c.cfg.get("center", True) else None
    for what, v in (("gamma", gamma), ("beta", beta)):
        if v is not None:
            broadcasts(c, what, v)
    last = c.out() if gamma is None and beta is None else c.tmp("/normalized")
    g.reshape(n, last, name, like=x)
    if gamma is not None:
        nxt = c.out() if beta is None else c.tmp("/scaled")
        g.op("MUL", [last, g.const(name + "/gamma", gamma)], [nxt], fused_activation_function="NONE")
        last = nxt
    if beta is not None:
        y = c.out()
        g.op("ADD", [last, g.const(name + "/beta", beta)], [y], fused_activation_function="NONE")
        last = y
    return [last]


def _unit_norm(c: _Ctx) -> list[int]:
    """UnitNormalization: ``_l2_normalize`` over its axes (L2_NORMALIZATION over the last)."""
    shape = g_shape(c.g, c.inputs[0])
    rank = len(shape)
    axis = c.cfg.get("axis", -1)
    axes = sorted({int(a) % rank for a in (axis if isinstance(axis, (list, tuple)) else [axis])})
    if 0 in axes:
        raise c.fail(f"axis {axis}: the batch axis")
    return [_l2_normalize(c, c.inputs[0], axes, c.out(), "")]


def _repeat_vector(c: _Ctx) -> list[int]:
    n = int(c.cfg["n"])
    g, x = c.g, c.inputs[0]
    e = g.tensor(c.layer.name + "/expanded", (g_shape(g, x)[0], 1, g_shape(g, x)[1]))
    g.op("EXPAND_DIMS", [x, g.const(c.layer.name + "/axis", np.array([1], np.int32), np.int32)], [e])
    y = c.out()
    g.op("TILE", [e, g.const(c.layer.name + "/multiples", np.array([1, n, 1], np.int32), np.int32)], [y])
    return [y]


def _rnn_config(c: _Ctx, layer: Any) -> dict[str, Any]:
    """``layer``'s configuration, refusing what no conversion here does (dropout is training-only:
    ignored; ``unroll`` only changes how Keras runs the same arithmetic)."""
    cfg = layer.get_config()
    if cfg.get("stateful"):
        raise c.fail("stateful=True (the converted model starts every invoke from a zero state)")
    shape = g_shape(c.g, c.inputs[0])
    if len(shape) != 3:
        raise c.fail("the input must be [batch, time, features]")
    if shape[1] == 0:  # (Keras takes it; the unrolled GRU would PACK no steps)
        raise c.fail("a sequence of 0 time steps")
    return cfg


def _state(c: _Ctx, name: str, batch: int, units: int) -> int:
    t = c.g.tensor(c.layer.name + name, (batch, units))
    c.g.tensors[t].signature = c.g.tensors[t].shape  # the state's batch is fixed
    c.g.tensors[t].variable = True
    return t


def _time_step(c: _Ctx, seq: int, step: int, out: int) -> None:
    """``out = seq[:, step, :]`` (STRIDED_SLICE, the time axis shrunk; ``step`` -1: the last)."""
    g = c.g
    g.op("STRIDED_SLICE", [seq, g.const(c.layer.name + "/begin", np.array([0, step, 0], np.int32), np.int32),
                           g.const(c.layer.name + "/end", np.array([0, 0, 0], np.int32), np.int32),
                           g.const(c.layer.name + "/strides", np.array([1, 1, 1], np.int32), np.int32)], [out],
         begin_mask=0b101, end_mask=0b111, ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0b010)


def _reverse_time(c: _Ctx, x: int, name: str) -> int:
    """``x`` [batch, time, ...] with its time axis reversed (REVERSE_V2)."""
    y = c.g.tensor(c.layer.name + name, g_shape(c.g, x))
    c.g.op("REVERSE_V2", [x, c.g.const(c.layer.name + "/time_axis", np.array([1], np.int32), np.int32)], [y])
    return y


def _fused_act(c: _Ctx, cfg: dict[str, Any], key: str = "activation") -> str:
    act = _activation_name(cfg.get(key))
    if act not in ("tanh", "relu"):
        raise c.fail(f"{key} {act!r} (TFLite's recurrent ops take tanh or relu)")
    return act.upper()


def _lstm_weights(c: _Ctx, layer: Any, prefix: str) -> tuple[list[int], list[int], list[int]]:
    """The LSTM ``layer``'s input weights, recurrent weights and biases per gate (i, f, c, o:
    Keras's order and TFLite's), as constants."""
    cell = layer.cell
    u = int(layer.get_config()["units"])
    k, rk = _np(cell.kernel), _np(cell.recurrent_kernel)  # [I, 4U], [U, 4U]
    fits(c, "features", _features(c), k.shape[0])
    b = _np(cell.bias) if cell.use_bias else np.zeros(4 * u, np.float32)
    name = c.layer.name + prefix
    wx = [c.g.const(f"{name}/kernel_{n}", k[:, j * u:(j + 1) * u].T) for j, n in enumerate("ifco")]
    wh = [c.g.const(f"{name}/recurrent_kernel_{n}", rk[:, j * u:(j + 1) * u].T) for j, n in enumerate("ifco")]
    bias = [c.g.const(f"{name}/bias_{n}", b[j * u:(j + 1) * u]) for j, n in enumerate("ifco")]
    return wx, wh, bias


@dataclass
class _Loop:
    """A recurrent direction run by a WHILE loop: its output sequence [batch, time, units] in the
    order the steps ran (None where the layer does not return sequences) and its last state."""

    seq: int | None
    last: int


#: one direction of a recurrent layer: its whole output sequence [batch, time, units] in the order
#: it ran (a tensor), its steps' outputs [batch, units] in that order (a list), or a loop's results
_Run = int | list[int] | _Loop


def _sequence_op_setup(c: _Ctx, layer: Any, x: int, backwards: bool, prefix: str
                       ) -> tuple[dict[str, Any], str, int, int, tuple[int | None, ...], int]:
    """What UNIDIRECTIONAL_SEQUENCE_LSTM / _RNN need of ``layer`` on ``x``: its config, fused
    activation, units, the (fixed) batch of its state tensors, ``x``'s shape, and ``x`` itself
    (its time axis reversed first when ``backwards``)."""
    cfg = _rnn_config(c, layer)
    act = _fused_act(c, cfg)
    shape = g_shape(c.g, x)
    batch = 1 if shape[0] is None else int(shape[0])
    if backwards:
        x = _reverse_time(c, x, prefix + "/reversed_input")
    return cfg, act, int(cfg["units"]), batch, shape, x


def _lstm_run(c: _Ctx, layer: Any, x: int, backwards: bool, prefix: str, out: int | None) -> _Run:
    """UNIDIRECTIONAL_SEQUENCE_LSTM, batch-major, with zero-initialised variable state tensors
    (as TensorFlow's converter writes it: the state carries into the next invoke until
    ``reset_all_variables``); gates i, f, c, o in Keras's and TFLite's order; ``backwards``: the
    input's time axis reversed first."""
    cfg, act, u, batch, shape, x = _sequence_op_setup(c, layer, x, backwards, prefix)
    if _activation_name(cfg.get("recurrent_activation")) != "sigmoid":
        raise c.fail("recurrent_activation other than sigmoid (TFLite's LSTM op has sigmoid gates)")
    g = c.g
    wx, wh, bias = _lstm_weights(c, layer, prefix)
    h, cell = _state(c, prefix + "/output_state", batch, u), _state(c, prefix + "/cell_state", batch, u)
    seq = out if out is not None else g.tensor(c.layer.name + prefix + "/sequence", (shape[0], shape[1], u))
    g.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [x, *wx, *wh, -1, -1, -1, *bias, -1, -1, h, cell, -1, -1, -1, -1],
         [seq], fused_activation_function=act, cell_clip=0.0, proj_clip=0.0, time_major=False,
         asymmetric_quantize_inputs=False, options_table="UnidirectionalSequenceLSTMOptions")
    return seq


def _simple_rnn_run(c: _Ctx, layer: Any, x: int, backwards: bool, prefix: str, out: int | None) -> _Run:
    """UNIDIRECTIONAL_SEQUENCE_RNN, batch-major, with a variable hidden state; ``backwards``: the
    input's time axis reversed first."""
    _, act, u, batch, shape, x = _sequence_op_setup(c, layer, x, backwards, prefix)
    g = c.g
    cell = layer.cell
    fits(c, "features", shape[-1], _np(cell.kernel).shape[0])
    b = _np(cell.bias) if cell.use_bias else np.zeros(u, np.float32)
    name = c.layer.name + prefix
    h = _state(c, prefix + "/hidden_state", batch, u)
    seq = out if out is not None else g.tensor(name + "/sequence", (shape[0], shape[1], u))
    g.op("UNIDIRECTIONAL_SEQUENCE_RNN", [x, g.const(name + "/kernel", _np(cell.kernel).T),
                                         g.const(name + "/recurrent_kernel", _np(cell.recurrent_kernel).T),
                                         g.const(name + "/bias", b), h], [seq],
         time_major=False, fused_activation_function=act, asymmetric_quantize_inputs=False,
         options_table="SequenceRNNOptions")
    return seq


def _gru_run(c: _Ctx, layer: Any, x: int, backwards: bool, prefix: str, out: int | None) -> _Run:
    """GRU unrolled over its (static) time steps, or with a free number of steps a WHILE loop
    (``_gru_loop``): TFLite has no GRU op (TensorFlow's converter writes a WHILE loop).  The
    input projection of all steps is one FULLY_CONNECTED, split into the update / reset part and
    the candidate part (SPLIT_V) and into steps (UNPACK); each step is FULLY_CONNECTED by the
    recurrent kernel, ADD, the gates' activation, SPLIT into z and r, the candidate
    ``act(x_h + r * (h @ U_h + b_h))`` (``reset_after``, Keras 3's default) or
    ``act(x_h + (r * h) @ U_h)``, and ``h' = hh + z * (h - hh)``.  The first step's state is
    zero: its recurrent part is the recurrent bias alone."""
    cfg = _rnn_config(c, layer)
    g = c.g
    shape = g_shape(g, x)
    u = int(cfg["units"])
    cell = layer.cell
    k, rk = _np(cell.kernel), _np(cell.recurrent_kernel)  # [I, 3U], [U, 3U]: z, r, h
    fits(c, "features", shape[-1], k.shape[0])
    reset_after = bool(cfg.get("reset_after", True))
    bx = bh = None
    if cell.use_bias:
        b = _np(cell.bias)
        bx, bh = (b[0], b[1]) if reset_after else (b, None)
    name = c.layer.name + prefix
    act, rec_act = cfg.get("activation"), cfg.get("recurrent_activation")
    for key, a in (("activation", act), ("recurrent_activation", rec_act)):
        if _activation_name(a) == "softmax":
            raise c.fail(f"{key} 'softmax'")
    if shape[1] is None:
        return _gru_loop(c, layer, x, backwards, prefix, (k, rk, bx, bh))
    steps = int(shape[1])
    batch = shape[0]
    proj = g.tensor(name + "/input_projection", (batch, steps, 3 * u))
    g.op("FULLY_CONNECTED", [x, g.const(name + "/kernel", k.T), g.const(name + "/input_bias", bx) if bx is not None
                             else -1], [proj], version=5, fused_activation_function="NONE", keep_num_dims=True)
    xzr, xh = g.tensor(name + "/input_zr", (batch, steps, 2 * u)), g.tensor(name + "/input_h", (batch, steps, u))
    g.op("SPLIT_V", [proj, g.const(name + "/sizes", np.array([2 * u, u], np.int32), np.int32),
                     g.const(name + "/axis2", np.int32(2), np.int32)], [xzr, xh], num_splits=2)
    xzr_t = [g.tensor(f"{name}/input_zr_{t}", (batch, 2 * u)) for t in range(steps)]
    xh_t = [g.tensor(f"{name}/input_h_{t}", (batch, u)) for t in range(steps)]
    for src, dst in ((xzr, xzr_t), (xh, xh_t)):
        g.op("UNPACK", [src], dst, num=steps, axis=1)
    axis1 = g.const(name + "/axis1", np.int32(1), np.int32)
    w_rec = g.const(name + "/recurrent_kernel", rk.T) if reset_after else None
    w_zr = None if reset_after else g.const(name + "/recurrent_kernel_zr", rk[:, :2 * u].T)
    w_h = None if reset_after else g.const(name + "/recurrent_kernel_h", rk[:, 2 * u:].T)
    b_rec = g.const(name + "/recurrent_bias", bh) if bh is not None else -1
    outs: list[int] = []
    h: int | None = None

    def t2(tag: str, t: int, units: int) -> int:
        return g.tensor(f"{name}/{tag}_{t}", (batch, units))

    def binary(op: str, a: int, b_: int, tag: str, t: int, units: int = u) -> int:
        y = t2(tag, t, units)
        g.op(op, [a, b_], [y], fused_activation_function="NONE")
        return y

    for t in (range(steps - 1, -1, -1) if backwards else range(steps)):
        rzr = rh = None  # the recurrent parts of the gates and of the candidate
        if h is None:  # the zero initial state: only the recurrent bias
            if bh is not None:
                rzr, rh = g.const(f"{name}/recurrent_bias_zr", bh[:2 * u]), g.const(f"{name}/recurrent_bias_h",
                                                                                   bh[2 * u:])
        elif reset_after:
            inner = t2("recurrent", t, 3 * u)
            g.op("FULLY_CONNECTED", [h, w_rec, b_rec], [inner], fused_activation_function="NONE")
            rzr, rh = t2("recurrent_zr", t, 2 * u), t2("recurrent_h", t, u)
            g.op("SPLIT_V", [inner, g.const(name + "/sizes", np.array([2 * u, u], np.int32), np.int32),
                             axis1], [rzr, rh], num_splits=2)
        else:
            rzr = t2("recurrent_zr", t, 2 * u)
            g.op("FULLY_CONNECTED", [h, w_zr, -1], [rzr], fused_activation_function="NONE")
        pre_zr = binary("ADD", xzr_t[t], rzr, "pre_zr", t, 2 * u) if rzr is not None else xzr_t[t]
        zr = activation(c, pre_zr, rec_act)
        z, r = t2("z", t, u), t2("r", t, u)
        g.op("SPLIT", [axis1, zr], [z, r], num_splits=2)
        if reset_after:
            cand = binary("ADD", xh_t[t], binary("MUL", r, rh, "reset_recurrent_h", t), "pre_h", t) \
                if rh is not None else xh_t[t]
        elif h is not None:
            rh = t2("recurrent_h", t, u)
            g.op("FULLY_CONNECTED", [binary("MUL", r, h, "reset_state", t), w_h, -1], [rh],
                 fused_activation_function="NONE")
            cand = binary("ADD", xh_t[t], rh, "pre_h", t)
        else:
            cand = xh_t[t]
        hh = activation(c, cand, act)
        if hh == cand:  # a linear activation: its own tensor
            hh = t2("candidate", t, u)
            g.reshape(cand, hh, name)
        if h is None:  # z * 0 + (1 - z) * hh
            h = binary("SUB", hh, binary("MUL", z, hh, "z_candidate", t), "state", t)
        else:
            h = binary("ADD", hh, binary("MUL", z, binary("SUB", h, hh, "state_change", t), "z_change", t), "state",
                       t)
        outs.append(h)
    return outs


def _gru_cell(c: _Ctx, layer: Any, xt: int, h: int, weights: tuple[Any, ...], name: str) -> int:
    """One GRU step in ``c.g`` (a loop body): ``xt`` [B, 3U] the step's input projection (its
    bias included), ``h`` [B, U] the state; the next state.  The step of ``_gru_run``, with a
    state that is never known to be zero."""
    g, cfg = c.g, layer.get_config()
    u = int(cfg["units"])
    _, rk, _, bh = weights
    reset_after = bool(cfg.get("reset_after", True))
    axis1 = g.const(name + "/axis1", np.int32(1), np.int32)
    sizes = g.const(name + "/sizes", np.array([2 * u, u], np.int32), np.int32)
    batch = g_shape(g, h)[0]

    def t2(tag: str, units: int = u) -> int:
        return g.tensor(f"{name}/{tag}", (batch, units))

    def binary(op: str, a: int, b_: int, tag: str, units: int = u) -> int:
        y = t2(tag, units)
        g.op(op, [a, b_], [y], fused_activation_function="NONE")
        return y

    xzr, xh = t2("input_zr", 2 * u), t2("input_h")
    g.op("SPLIT_V", [xt, sizes, axis1], [xzr, xh], num_splits=2)
    if reset_after:
        inner = t2("recurrent", 3 * u)
        g.op("FULLY_CONNECTED", [h, g.const(name + "/recurrent_kernel", rk.T),
                                 g.const(name + "/recurrent_bias", bh) if bh is not None else -1], [inner],
             fused_activation_function="NONE")
        rzr, rh = t2("recurrent_zr", 2 * u), t2("recurrent_h")
        g.op("SPLIT_V", [inner, sizes, axis1], [rzr, rh], num_splits=2)
    else:
        rzr = t2("recurrent_zr", 2 * u)
        g.op("FULLY_CONNECTED", [h, g.const(name + "/recurrent_kernel_zr", rk[:, :2 * u].T), -1], [rzr],
             fused_activation_function="NONE")
    zr = activation(c, binary("ADD", xzr, rzr, "pre_zr", 2 * u), cfg.get("recurrent_activation"))
    z, r = t2("z"), t2("r")
    g.op("SPLIT", [axis1, zr], [z, r], num_splits=2)
    if reset_after:
        cand = binary("ADD", xh, binary("MUL", r, rh, "reset_recurrent_h"), "pre_h")
    else:
        rh = t2("recurrent_h")
        g.op("FULLY_CONNECTED", [binary("MUL", r, h, "reset_state"), g.const(name + "/recurrent_kernel_h",
                                                                             rk[:, 2 * u:].T), -1], [rh],
             fused_activation_function="NONE")
        cand = binary("ADD", xh, rh, "pre_h")
    hh = activation(c, cand, cfg.get("activation"))
    return binary("ADD", hh, binary("MUL", z, binary("SUB", h, hh, "state_change"), "z_change"), "state")


def _gru_loop(c: _Ctx, layer: Any, x: int, backwards: bool, prefix: str, weights: tuple[Any, ...]) -> _Loop:
    """GRU over a free number of time steps as a WHILE loop, as TensorFlow's converter writes it.

    1. Before the loop: the input projection of every step, one FULLY_CONNECTED [B, T, 3U] with
       the input bias (time-reversed by REVERSE_V2 for ``go_backwards``); the number of steps T
       (SHAPE, STRIDED_SLICE, SQUEEZE); the zero state [B, U] and, for ``return_sequences``, a
       zero output buffer [B, T, U] (FILL, their shapes from the input's SHAPE where the batch
       is free).
    2. Loop variables: step counter ``i``, T, the state, the projection, the buffer.  cond:
       ``i < T`` (LESS).
    3. Body: step ``i`` of the projection (GATHER on the time axis with a scalar index), the GRU
       cell (``_gru_cell``), ``i + 1``; the new state written into the buffer at ``[0, i, 0]``
       (EXPAND_DIMS, PACK of the start, DYNAMIC_UPDATE_SLICE).  T and the projection pass
       through unchanged (each in its own slot).
    The outputs: the buffer (the steps' outputs in the order they ran) and the last state."""
    cfg = layer.get_config()
    g = c.g
    u, seqs = int(cfg["units"]), bool(cfg.get("return_sequences"))
    k, _, bx, _ = weights
    name = c.layer.name + prefix
    batch = g_shape(g, x)[0]
    proj = g.tensor(name + "/input_projection", (batch, None, 3 * u))
    g.op("FULLY_CONNECTED", [x, g.const(name + "/kernel", k.T), g.const(name + "/input_bias", bx) if bx is not None
                             else -1], [proj], version=5, fused_activation_function="NONE", keep_num_dims=True)
    if backwards:
        proj = _reverse_time(c, proj, prefix + "/reversed_projection")
    steps = g.tensor(name + "/steps", (), np.int32)
    g.op("SQUEEZE", [g.dynamic_shape(x, [(1,)], name + "/steps")], [steps], squeeze_dims=[0])

    def zeros(tag: str, shape: tuple[int | None, ...]) -> int:
        if None not in shape:
            return g.const(f"{name}/{tag}", np.zeros(shape, np.float32))
        dims = [(k,) if d is None else int(d) for k, d in enumerate(shape)]
        y = g.tensor(f"{name}/{tag}", shape)
        g.op("FILL", [g.dynamic_shape(x, dims, f"{name}/{tag}"), g.const(name + "/zero", np.float32(0.0))], [y])
        return y

    loop_in = [g.const(name + "/first_step", np.int32(0), np.int32), steps, zeros("initial_state", (batch, u)), proj]
    shapes: list[tuple[tuple[int | None, ...], Any]] = [((), np.int32), ((), np.int32), ((batch, u), np.float32),
                                                         ((batch, None, 3 * u), np.float32)]
    if seqs:
        loop_in.append(zeros("initial_sequence", (batch, None, u)))
        shapes.append(((batch, None, u), np.float32))
    tags = ["step", "steps", "state", "projection", "sequence"]
    cond, body = g.subgraph(name + "/while_cond"), g.subgraph(name + "/while_body")
    for sub in (cond, body):
        sub.inputs = [sub.tensor(f"{name}/{sub.name.rsplit('_', 1)[1]}_{tag}", shp, dt)
                      for tag, (shp, dt) in zip(tags, shapes)]
    go = cond.tensor(name + "/continue", (), np.bool_)
    cond.op("LESS", cond.inputs[:2], [go])
    cond.outputs = [go]

    i, n, h, p = body.inputs[:4]
    bc = _Ctx(body, c.layer, [], c.outs)
    xt = body.tensor(name + "/step_projection", (batch, 3 * u))
    body.op("GATHER", [p, i], [xt], axis=1, batch_dims=0)
    h_next = _gru_cell(bc, layer, xt, h, weights, name)
    i_next = body.tensor(name + "/next_step", (), np.int32)
    body.op("ADD", [i, body.const(name + "/one", np.int32(1), np.int32)], [i_next], fused_activation_function="NONE")
    body.outputs = [i_next, n, h_next, p]
    if seqs:
        row = body.tensor(name + "/state_row", (batch, 1, u))
        body.op("EXPAND_DIMS", [h_next, body.const(name + "/time_axis", np.array([1], np.int32), np.int32)], [row])
        zero = body.const(name + "/zero_index", np.int32(0), np.int32)
        start = body.tensor(name + "/start", (3,), np.int32)
        body.op("PACK", [zero, i, zero], [start], values_count=3, axis=0)
        seq_next = body.tensor(name + "/next_sequence", (batch, None, u))
        body.op("DYNAMIC_UPDATE_SLICE", [body.inputs[4], row, start], [seq_next])
        body.outputs.append(seq_next)
    outs = [g.tensor(f"{name}/while_{tag}", shp, dt) for tag, (shp, dt) in zip(tags, shapes)]
    g.op("WHILE", loop_in, outs, cond_subgraph_index=cond, body_subgraph_index=body)
    return _Loop(outs[4] if seqs else None, outs[2])


def _sequence(c: _Ctx, run: _Run, to_input_order: bool, out: int) -> int:
    """A direction's whole output sequence into ``out``: PACK of its steps, or its sequence as it
    is; ``to_input_order``: reversed (a backward direction's, as Bidirectional merges it)."""
    g = c.g
    if isinstance(run, _Loop):  # the loop's own output, renamed after ``out`` (no copy)
        if run.seq is None:
            raise c.fail("internal: the loop kept no sequence")
        if not to_input_order:
            g.tensors[run.seq].name = g._unique(g.tensors[out].name)
            return run.seq
        run = run.seq
    if isinstance(run, list):
        g.op("PACK", run[::-1] if to_input_order else run, [out], values_count=len(run), axis=1)
    elif to_input_order:
        g.op("REVERSE_V2", [run, g.const(c.layer.name + "/time_axis", np.array([1], np.int32), np.int32)], [out])
    elif run != out:
        g.reshape(run, out, c.layer.name)
    return out


def _last(c: _Ctx, run: _Run, out: int | None) -> int:
    """A direction's last step (the one it ran last): into ``out`` by STRIDED_SLICE, or (steps)
    the last step's tensor itself (a loop's last state), renamed after ``out`` when given."""
    if isinstance(run, (list, _Loop)):
        last = run[-1] if isinstance(run, list) else run.last
        if out is not None:
            c.g.tensors[last].name = c.g._unique(c.g.tensors[out].name)
        return last
    y = out if out is not None else c.g.tensor(c.layer.name + "/last", g_shape(c.g, run)[::2])
    _time_step(c, run, -1, y)
    return y


_RUNS: dict[str, Callable[..., _Run]] = {"LSTM": _lstm_run, "SimpleRNN": _simple_rnn_run, "GRU": _gru_run}


def _recurrent(c: _Ctx) -> list[int]:
    """LSTM, SimpleRNN (TFLite's sequence ops) and GRU (unrolled): the whole sequence
    (``return_sequences``) or the last step (STRIDED_SLICE, as TensorFlow's converter); with
    ``go_backwards`` the steps run from the last and the sequence stays in that order, as Keras
    gives it; ``return_state`` (GRU only) adds the last state."""
    cls = type(c.layer).__name__
    cfg = c.cfg
    if cfg.get("return_state") and cls != "GRU":
        raise c.fail("return_state=True (the TFLite op's state is a variable tensor, not an output)")
    seqs = bool(cfg.get("return_sequences"))
    run = _RUNS[cls](c, c.layer, c.inputs[0], bool(cfg.get("go_backwards")), "",
                     c.out() if seqs and cls != "GRU" else None)
    if seqs:
        y = _sequence(c, run, False, run if isinstance(run, int) else c.out())
        outs = [y]
    else:
        outs = [_last(c, run, c.out())]
    if cfg.get("return_state"):
        outs.append(outs[0] if not seqs else _last(c, run, None))
    return outs


def _merge_directions(c: _Ctx, parts: list[int], mode: str) -> list[int]:
    g = c.g
    if mode is None:
        return parts
    y = c.out()
    if mode == "concat":
        g.op("CONCATENATION", parts, [y], axis=len(c.outs[0].shape) - 1, fused_activation_function="NONE")
    elif mode == "ave":
        s = c.tmp("/sum")
        g.op("ADD", parts, [s], fused_activation_function="NONE")
        g.op("MUL", [s, g.const(c.layer.name + "/half", np.float32(0.5))], [y], fused_activation_function="NONE")
    else:
        g.op({"sum": "ADD", "mul": "MUL"}[mode], parts, [y], fused_activation_function="NONE")
    return [y]


def _bidirectional(c: _Ctx) -> list[int]:
    """Bidirectional(LSTM): BIDIRECTIONAL_SEQUENCE_LSTM, batch-major, two outputs (the backward
    one in the input's time order, as Keras gives it); Bidirectional(GRU / SimpleRNN /
    LSTM with another layer backwards): each direction as its layer converts (the backward one
    reversed back into the input's time order); then the merge (concat, sum, mul, ave; None: two
    outputs); without ``return_sequences``, each direction's last step."""
    fw, bw = c.layer.forward_layer, c.layer.backward_layer
    kinds = (type(fw).__name__, type(bw).__name__)
    for kind in kinds:
        if kind not in _RUNS:
            raise c.fail(f"Bidirectional({kind}): only LSTM, GRU and SimpleRNN convert")
    mode = c.layer.merge_mode
    if mode not in ("concat", "sum", "mul", "ave", None):
        raise c.fail(f"merge_mode {mode!r}")
    fcfg, bcfg = fw.get_config(), bw.get_config()
    if fcfg.get("return_state") or c.cfg.get("layer", {}).get("config", {}).get("return_state"):
        raise c.fail("return_state=True")
    if fcfg.get("go_backwards") or not bcfg.get("go_backwards"):
        raise c.fail("the backward layer must run backwards (and the forward one forwards)")
    g, x = c.g, c.inputs[0]
    t_in = g_shape(g, x)
    seqs = bool(fcfg.get("return_sequences"))
    if kinds == ("LSTM", "LSTM"):
        for layer, cfg in ((fw, fcfg), (bw, bcfg)):
            _rnn_config(c, layer)
            if _activation_name(cfg.get("recurrent_activation")) != "sigmoid":
                raise c.fail("recurrent_activation other than sigmoid (TFLite's LSTM op has sigmoid gates)")
        u, act = int(fcfg["units"]), _fused_act(c, fcfg)
        if int(bcfg["units"]) != u or _fused_act(c, bcfg) != act:
            raise c.fail("forward and backward layers of different units or activation")
        batch = 1 if t_in[0] is None else int(t_in[0])
        fwx, fwh, fb = _lstm_weights(c, fw, "/forward")
        bwx, bwh, bb = _lstm_weights(c, bw, "/backward")
        states = [_state(c, f"/{d}_{k}_state", batch, u) for d in ("forward", "backward") for k in ("output", "cell")]
        both = [g.tensor(f"{c.layer.name}/{d}_sequence", (t_in[0], t_in[1], u)) for d in ("forward", "backward")]
        g.op("BIDIRECTIONAL_SEQUENCE_LSTM", [x, *fwx, *fwh, -1, -1, -1, *fb, -1, -1, *bwx, *bwh, -1, -1, -1,
                                             *bb, -1, -1, *states, *([-1] * 9)], both,
             fused_activation_function=act, cell_clip=0.0, proj_clip=0.0, merge_outputs=False,
             time_major=False, asymmetric_quantize_inputs=False, options_table="BidirectionalSequenceLSTMOptions")
        if seqs:
            parts = both
        else:
            parts = []
            for seq, step, d in ((both[0], -1, "forward"), (both[1], 0, "backward")):
                y = g.tensor(f"{c.layer.name}/{d}_last", (t_in[0], u))
                _time_step(c, seq, step, y)
                parts.append(y)
        return _merge_directions(c, parts, mode)
    parts = []
    for layer, d, backwards in ((fw, "forward", False), (bw, "backward", True)):
        u = int(layer.get_config()["units"])
        run = _RUNS[type(layer).__name__](c, layer, x, backwards, "/" + d, None)
        if seqs:
            parts.append(_sequence(c, run, backwards, g.tensor(f"{c.layer.name}/{d}_sequence_out",
                                                               (t_in[0], t_in[1], u))))
        else:
            parts.append(_last(c, run, None))
    return _merge_directions(c, parts, mode)


def _normalization(c: _Ctx) -> list[int]:
    """(x - mean) * 1 / max(sqrt(variance), epsilon), Keras's Normalization (adapted or given)."""
    if c.cfg.get("invert"):
        raise c.fail("invert=True")
    import keras

    mean, var = _np(c.layer.mean), _np(c.layer.variance)
    broadcasts(c, "mean", mean)
    broadcasts(c, "variance", var)
    inv = (1.0 / np.maximum(np.sqrt(var.astype(np.float64)), keras.config.epsilon())).astype(np.float32)
    d = c.tmp("/centered")
    c.g.op("SUB", [c.inputs[0], c.g.const(c.layer.name + "/mean", mean)], [d], fused_activation_function="NONE")
    y = c.out()
    c.g.op("MUL", [d, c.g.const(c.layer.name + "/inv_std", inv)], [y], fused_activation_function="NONE")
    return [y]


def _resizing(c: _Ctx) -> list[int]:
    _channels_last(c)
    if c.cfg.get("crop_to_aspect_ratio") or c.cfg.get("pad_to_aspect_ratio"):
        raise c.fail("crop_to_aspect_ratio / pad_to_aspect_ratio")
    mode = c.cfg.get("interpolation", "bilinear")
    size = c.g.const(c.layer.name + "/size", np.array([c.cfg["height"], c.cfg["width"]], np.int32), np.int32)
    y = c.out()
    if mode == "bilinear":
        c.g.op("RESIZE_BILINEAR", [c.inputs[0], size], [y], version=3, align_corners=False, half_pixel_centers=True)
    elif mode == "nearest":
        c.g.op("RESIZE_NEAREST_NEIGHBOR", [c.inputs[0], size], [y], version=3, align_corners=False,
               half_pixel_centers=True)
    else:
        raise c.fail(f"interpolation {mode!r}")
    return [y]


def _pool1d(op: str) -> Callable[[_Ctx], list[int]]:
    def convert(c: _Ctx) -> list[int]:
        _channels_last(c)
        (k,), strides = c.cfg["pool_size"], c.cfg.get("strides")
        s = int(strides[0]) if strides else k
        g, x = c.g, c.inputs[0]
        shape = g_shape(g, x)
        e = g.tensor(c.layer.name + "/expanded", (shape[0], 1, *shape[1:]))
        g.op("EXPAND_DIMS", [x, g.const(c.layer.name + "/axis", np.array([1], np.int32), np.int32)], [e])
        o = c.outs[0].shape
        p = g.tensor(c.layer.name + "/pooled", (o[0], 1, *o[1:]))
        g.op(op, [e], [p], padding=_padding(c), stride_w=s, stride_h=1, filter_width=int(k), filter_height=1,
             fused_activation_function="NONE")
        y = c.out()
        g.reshape(p, y, c.layer.name)
        return [y]
    return convert


def _conv3d(c: _Ctx) -> list[int]:
    _channels_last(c)
    if int(c.cfg.get("groups", 1)) != 1:
        raise c.fail("grouped convolution")
    k = _np(c.layer.kernel)  # [kd, kh, kw, cin, cout]: TFLite's CONV_3D layout
    fits(c, "channels", _features(c), k.shape[3])
    b = _np(c.layer.bias) if c.layer.use_bias else np.zeros(k.shape[-1], np.float32)
    sd, sh, sw = (int(v) for v in c.cfg["strides"])
    dd, dh, dw = (int(v) for v in c.cfg.get("dilation_rate", (1, 1, 1)))
    y = c.tmp("/pre")
    c.g.op("CONV_3D", [c.inputs[0], c.g.const(c.layer.name + "/kernel", k), c.g.const(c.layer.name + "/bias", b)],
           [y], padding=_padding(c), stride_d=sd, stride_h=sh, stride_w=sw, dilation_d_factor=dd,
           dilation_h_factor=dh, dilation_w_factor=dw, fused_activation_function="NONE", options_table="Conv3DOptions")
    return _finish(c, y, c.cfg.get("activation"))


def _prelu(c: _Ctx) -> list[int]:
    """PRELU with Keras's alpha (the input's shape less the batch, 1 on ``shared_axes``)."""
    alpha = _np(c.layer.alpha)
    broadcasts(c, "alpha", alpha)
    y = c.out()
    c.g.op("PRELU", [c.inputs[0], c.g.const(c.layer.name + "/alpha", alpha)], [y])
    return [y]


def _transposed(c: _Ctx, x: int, perm: list[int], name: str) -> int:
    shape = g_shape(c.g, x)
    y = c.g.tensor(c.layer.name + name, tuple(shape[p] for p in perm))
    c.g.op("TRANSPOSE", [x, c.g.const(c.layer.name + "/perm", np.array(perm, np.int32), np.int32)], [y])
    return y


def _softmax_layer(c: _Ctx) -> list[int]:
    """SOFTMAX over the last axis; over another one, between two TRANSPOSEs swapping it last."""
    axis = c.cfg.get("axis", -1)
    rank = len(c.outs[0].shape)
    axes = axis if isinstance(axis, (list, tuple)) else [axis]
    if len(axes) != 1 or int(axes[0]) % rank == 0:
        raise c.fail(f"axis {axis}: one axis other than the batch converts")
    a = int(axes[0]) % rank
    y = c.out()
    if a == rank - 1:
        c.g.op("SOFTMAX", [c.inputs[0]], [y], beta=1.0)
        return [y]
    perm = list(range(rank))
    perm[a], perm[-1] = perm[-1], perm[a]  # its own inverse
    t = _transposed(c, c.inputs[0], perm, "/transposed")
    s = c.g.tensor(c.layer.name + "/softmax", g_shape(c.g, t))
    c.g.op("SOFTMAX", [t], [s], beta=1.0)
    c.g.op("TRANSPOSE", [s, c.g.const(c.layer.name + "/perm", np.array(perm, np.int32), np.int32)], [y])
    return [y]


def _l2_normalize(c: _Ctx, x: int, axes: list[int], out: int | None, name: str) -> int:
    """``x * min(rsqrt(sum(x^2, axes)), 1e12)`` (Keras's ``normalize``): L2_NORMALIZATION when
    ``axes`` is the last axis alone (TFLite's epsilon is 1e-6 on the norm, Keras's 1e-12 on its
    square: they differ only for vectors of norm below 1e-6), else MUL, SUM, RSQRT, MINIMUM, MUL."""
    g = c.g
    shape = g_shape(g, x)
    y = out if out is not None else g.tensor(c.layer.name + name, shape)
    if axes == [len(shape) - 1]:
        g.op("L2_NORMALIZATION", [x], [y], fused_activation_function="NONE")
        return y
    base = c.layer.name + name
    red = tuple(1 if i in axes else d for i, d in enumerate(shape))
    sq = g.tensor(base + "/squared", shape)
    s, r, m = (g.tensor(f"{base}/{k}", red) for k in ("square_sum", "inv_norm", "inv_norm_clipped"))
    g.op("MUL", [x, x], [sq], fused_activation_function="NONE")
    g.op("SUM", [sq, g.const(base + "/axes", np.array(axes, np.int32), np.int32)], [s], keep_dims=True)
    g.op("RSQRT", [s], [r])
    g.op("MINIMUM", [r, g.const(base + "/max_inv_norm", np.float32(1e12))], [m])
    g.op("MUL", [x, m], [y], fused_activation_function="NONE")
    return y


def _dot(c: _Ctx) -> list[int]:
    """Dot (Keras's ``batch_dot``): each input TRANSPOSEd so that x is [batch, rest, K] and y
    [batch, K, rest], RESHAPEd to rank 3, one BATCH_MATMUL, RESHAPE to the output; ``normalize``:
    each input L2-normalised along its axis first."""
    g = c.g
    if len(c.inputs) != 2:
        raise c.fail("Dot of other than two inputs")
    x, y = c.inputs
    sx, sy = g_shape(g, x), g_shape(g, y)
    axes = c.cfg["axes"]
    if isinstance(axes, int):
        ax = [axes % len(sx), axes % len(sy)] if axes < 0 else [axes, axes]
    else:
        ax = [int(a) % len(s) if int(a) < 0 else int(a) for a, s in zip(axes, (sx, sy))]
    if 0 in ax:
        raise c.fail("the batch axis")
    if any(d is None for d in (*sx[1:], *sy[1:])):
        raise c.fail("free dimensions other than the batch")
    if c.cfg.get("normalize"):
        x = _l2_normalize(c, x, [ax[0]], None, "/x_normalized")
        y = _l2_normalize(c, y, [ax[1]], None, "/y_normalized")
    px = [0, *(i for i in range(1, len(sx)) if i != ax[0]), ax[0]]
    py = [0, ax[1], *(i for i in range(1, len(sy)) if i != ax[1])]
    if px != list(range(len(sx))):
        x = _transposed(c, x, px, "/x_transposed")
    if py != list(range(len(sy))):
        y = _transposed(c, y, py, "/y_transposed")
    k = int(sx[ax[0]])
    mx = int(np.prod([sx[i] for i in px[1:-1]], dtype=np.int64))
    ny = int(np.prod([sy[i] for i in py[2:]], dtype=np.int64))
    x3, y3 = g.tensor(c.layer.name + "/x3", (sx[0], mx, k)), g.tensor(c.layer.name + "/y3", (sy[0], k, ny))
    g.reshape(x, x3, c.layer.name)
    g.reshape(y, y3, c.layer.name)
    p = g.tensor(c.layer.name + "/product", (sx[0], mx, ny))
    g.op("BATCH_MATMUL", [x3, y3], [p], adj_x=False, adj_y=False, asymmetric_quantize_inputs=False)
    out = c.out()
    g.reshape(p, out, c.layer.name)
    return [out]


def _category_encoding(c: _Ctx) -> list[int]:
    """CategoryEncoding: ONE_HOT (on 1, off 0; a negative or too large index: all zeros) of the
    int32 indices (CAST first otherwise); ``multi_hot`` / ``count``: REDUCE_MAX / SUM over the
    indices of each row."""
    mode = c.cfg.get("output_mode", "multi_hot")
    if mode not in ("one_hot", "multi_hot", "count"):
        raise c.fail(f"output_mode {mode!r}")
    if len(c.inputs) > 1 or c.cfg.get("sparse"):
        raise c.fail("count_weights / sparse")
    g, x = c.g, c.inputs[0]
    shape = g_shape(g, x)
    depth = int(c.cfg["num_tokens"])
    if mode != "one_hot" and len(shape) != 2:
        raise c.fail(f"output_mode {mode!r} of a rank {len(shape)} input (rows of indices [batch, n] convert)")
    if np.dtype(g.tensors[x].dtype) not in (np.int32, np.int64):
        xi = g.tensor(c.layer.name + "/indices", shape, np.int32)
        g.op("CAST", [x], [xi])
        x = xi
    if mode == "one_hot" and len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
        xr = g.tensor(c.layer.name + "/squeezed", shape, g.tensors[x].dtype)
        g.reshape(x, xr, c.layer.name)
        x = xr
    consts = [g.const(c.layer.name + "/depth", np.int32(depth), np.int32),
              g.const(c.layer.name + "/on", np.float32(1.0)), g.const(c.layer.name + "/off", np.float32(0.0))]
    y = c.out()
    if mode == "one_hot":
        g.op("ONE_HOT", [x, *consts], [y], axis=-1)
        return [y]
    h = g.tensor(c.layer.name + "/one_hot", (*shape, depth))
    g.op("ONE_HOT", [x, *consts], [h], axis=-1)
    g.op("REDUCE_MAX" if mode == "multi_hot" else "SUM", [h, g.const(c.layer.name + "/axis", np.array([1], np.int32),
                                                                      np.int32)], [y], keep_dims=False)
    return [y]


def _masking(c: _Ctx) -> list[int]:
    raise c.fail("Keras masks have no TFLite form (the layers after it would run on the masked steps); "
                 "remove the Masking layer (or mask the data yourself) before converting")


def _pool3d(c: _Ctx) -> list[int]:
    raise c.fail("TFLite has no builtin 3-D pooling op (TensorFlow's converter needs Flex / Select TF ops for it)")


LAYERS: dict[str, Callable[[_Ctx], list[int]]] = {
    "Dense": _dense, "Conv2D": _conv, "DepthwiseConv2D": _depthwise_conv, "SeparableConv2D": _separable,
    "BatchNormalization": _batch_norm, "Activation": _activation_layer, "ReLU": _relu, "LeakyReLU": _leaky,
    "ELU": _elu, "Softmax": _softmax_layer,
    "MaxPooling2D": _pool("MAX_POOL_2D"), "AveragePooling2D": _pool("AVERAGE_POOL_2D"),
    "GlobalAveragePooling2D": _global_pool("MEAN", (1, 2)), "GlobalMaxPooling2D": _global_pool("REDUCE_MAX", (1, 2)),
    "ZeroPadding2D": _zero_padding, "Add": _merge("ADD"), "Subtract": _merge("SUB"), "Multiply": _merge("MUL"),
    "Maximum": _merge("MAXIMUM"), "Minimum": _merge("MINIMUM"), "Average": _average, "Concatenate": _concat,
    "Flatten": _reshape_to, "Reshape": _reshape_to, "Permute": _permute, "Rescaling": _rescaling,
    "Conv1D": _conv1d, "Conv2DTranspose": _conv_transpose, "UpSampling2D": _upsampling,
    "Cropping2D": _cropping,
    "Embedding": _embedding, "LayerNormalization": _layer_norm, "RepeatVector": _repeat_vector,
    "LSTM": _recurrent, "SimpleRNN": _recurrent, "GRU": _recurrent, "Bidirectional": _bidirectional,
    "Normalization": _normalization,
    "Resizing": _resizing,
    "MaxPooling1D": _pool1d("MAX_POOL_2D"), "AveragePooling1D": _pool1d("AVERAGE_POOL_2D"),
    "GlobalAveragePooling1D": _global_pool("MEAN", (1,)), "GlobalMaxPooling1D": _global_pool("REDUCE_MAX", (1,)),
    "Conv3D": _conv3d, "GroupNormalization": _group_norm, "UnitNormalization": _unit_norm,
    "ZeroPadding1D": _zero_padding, "ZeroPadding3D": _zero_padding, "Cropping1D": _cropping, "Cropping3D": _cropping,
    "UpSampling1D": _repeat_axes, "UpSampling3D": _repeat_axes,
    "GlobalAveragePooling3D": _global_pool("MEAN", (1, 2, 3)),
    "GlobalMaxPooling3D": _global_pool("REDUCE_MAX", (1, 2, 3)),
    "Conv1DTranspose": _conv_transpose, "Conv3DTranspose": _conv3d_transpose, "DepthwiseConv1D": _depthwise_conv1d,
    "MaxPooling3D": _pool3d, "AveragePooling3D": _pool3d, "PReLU": _prelu, "Dot": _dot,
    "CategoryEncoding": _category_encoding, "Masking": _masking,
}

#: layers whose converters read integer tensors themselves (as indices)
INTEGER_INPUTS = {"Embedding", "CategoryEncoding"}
#: layers that only move values: an integer or bool tensor keeps its type through them
MOVES_VALUES = {"Flatten", "Reshape", "Permute", "Concatenate"}


def _integer_inputs(c: _Ctx, cls: str) -> None:
    """Integer or bool tensors (an int32 / int64 model input, a Keras operation's result) into one
    of LAYERS other than INTEGER_INPUTS: where Keras computes the layer in float (its outputs are
    float: Rescaling and the preprocessing layers cast their inputs, Dense / Conv promote them),
    each such input goes through a CAST to float32 first; a MOVES_VALUES layer whose output has
    its one input type keeps that type; any other layer is refused (its kernels take float)."""
    g = c.g
    kinds = [np.dtype(g.tensors[i].dtype) for i in c.inputs]
    if all(k == np.float32 for k in kinds):
        return
    outs = [str(t.dtype) for t in c.outs]
    if all(o.startswith(("float", "bfloat")) for o in outs):
        cast = []
        for n, (i, k) in enumerate(zip(c.inputs, kinds)):
            if k != np.float32:
                f = g.tensor(f"{c.layer.name}/input{n}_as_float", g_shape(g, i))
                g.op("CAST", [i], [f])
                i = f
            cast.append(i)
        c.inputs = cast
        return
    if cls in MOVES_VALUES and len(set(kinds)) == 1 and all(o == kinds[0].name for o in outs):
        c.dtype = kinds[0].type
        return
    raise c.fail(f"its inputs are {', '.join(sorted({k.name for k in kinds}))} and Keras computes it in "
                 f"{', '.join(sorted(set(outs)))}: numlite converts integer and bool tensors into "
                 f"{', '.join(sorted(INTEGER_INPUTS))} (indices), {', '.join(sorted(MOVES_VALUES))}, and into "
                 "layers that Keras computes in float (the tensors are cast to float32)")


#: layer options that are counts or sizes: positive integers (a float Keras let through, such as
#: strides [0.5] in a loaded file, would otherwise be truncated by int())
SIZE_OPTIONS = ("strides", "dilation_rate", "kernel_size", "pool_size", "depth_multiplier", "groups", "size", "height",
                "width", "units", "filters", "num_heads", "key_dim")


def _check_integers(c: _Ctx, keys: tuple[str, ...], positive: bool) -> None:
    """Each option of ``keys`` the layer's config has holds integers (positive ones)."""
    for key in keys:
        v = c.cfg.get(key)
        if v is None:
            continue
        values = list(v) if isinstance(v, (list, tuple)) else [v]
        if not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) and (x >= 1 or not positive)
                   for x in values):
            raise c.fail(f"{key} {v!r} ({'positive integers' if positive else 'integers'} convert)")


#: layer options that are axes: an integer or a list of integers (None where the layer allows it);
#: a loaded file may hold anything there (a dict Keras let through would reach int() as a TypeError)
AXIS_OPTIONS = ("axis", "axes", "shared_axes")



def _history_name(t: Any) -> str:
    """The name of the layer that made Keras tensor ``t`` (an Input's name, an output layer's):
    the names TensorFlow's converter gives the signature's inputs and outputs."""
    hist = getattr(t, "_keras_history", None)
    layer = hist[0] if hist else None
    return str(getattr(layer, "name", None) or t.name)


def convert_keras(model: Any, model_name: str | None = None) -> bytes:
    """The .tflite bytes of Keras 3 ``model`` (module docstring)."""
    fn = model
    if type(model).__name__ == "Sequential":
        fn = getattr(model, "_functional", None)
        if fn is None:
            raise ConversionError("the Sequential model is not built: give it an Input (or call build) first")
    if not hasattr(fn, "operations") or not hasattr(fn, "inputs"):
        raise ConversionError(f"numlite converts Keras 3 Functional and Sequential models, not {type(model).__name__}")
    g = Graph()
    ids: dict[int, int] = {}
    in_names, out_names = [], []
    for t in fn.inputs:
        name = _history_name(t)
        dtype = str(t.dtype or "float32")
        if dtype not in ("float32", "int32", "int64"):  # (string, bfloat16 ...: no IR type at all)
            raise ConversionError(f"model input {name!r} is {dtype}: model inputs must be float32 (or int32 / int64: "
                                  "indices, or values cast to float32 by the layers computing in float)")
        ids[id(t)] = g.tensor(name, t.shape, dtype)
        g.inputs.append(ids[id(t)])
        in_names.append(name)
    import keras

    from . import keras_ops

    for layer in fn.operations:
        cls = type(layer).__name__
        if cls == "InputLayer":
            continue
        is_layer = isinstance(layer, keras.layers.Layer)
        table = {**LAYERS, **keras_ops.LAYERS} if is_layer else keras_ops.OPERATIONS
        for node in layer._inbound_nodes:
            if any(id(t) not in ids for t in node.input_tensors):
                continue  # a node of this layer outside the model
            inputs = [ids[id(t)] for t in node.input_tensors]
            if is_layer and cls in IDENTITIES:
                outs = inputs[:1]
            elif cls in table:
                c = _Ctx(g, layer, inputs, list(node.output_tensors))
                if is_layer:
                    _check_integers(c, SIZE_OPTIONS, positive=True)
                    _check_integers(c, AXIS_OPTIONS, positive=False)
                    if cls in LAYERS and cls not in INTEGER_INPUTS:  # (keras_ops's layers: their own types)
                        _integer_inputs(c, cls)
                try:
                    outs = table[cls](c)
                except (ReshapeError, OptionError) as e:
                    raise c.fail(str(e)) from None
            elif is_layer:
                raise ConversionError(f"cannot convert layer {layer.name!r} ({cls}): numlite has no converter for "
                                      f"{cls} layers")
            else:
                raise ConversionError(f"cannot convert operation {layer.name!r} ({cls}): numlite has no converter "
                                      f"for the Keras operation {cls}")
            for t, o in zip(node.output_tensors, outs):
                ids[id(t)] = o
    for t in fn.outputs:
        name = _history_name(t)
        if id(t) not in ids:
            raise ConversionError(f"model output {t.name!r} is not computed by the model's layers")
        o = ids[id(t)]
        if o in g.inputs or o in g.outputs:  # an output that is an input (or repeated): a copy of its own
            y = g.tensor(name, t.shape)
            g.reshape(o, y, name)
            o = y
        g.outputs.append(o)
        out_names.append(name)
    return g.build(description=f"numlite converter: {model_name or model.name}", signature_names=(in_names, out_names))
