"""TFLite nodes -> an ONNX graph, for the ONNX Runtime delegate and ``numlite export``.

``OnnxBuilder(subgraph, shapes)`` collects ONNX nodes and initializers; ``add(op)`` appends one
TFLite node (``CONVERTERS[op.op_name]``), ``model(inputs, outputs)`` makes the serialized
``ModelProto`` (``onnx_proto``: no ``onnx`` import; ``export`` parses and checks it with ``onnx``).
Tensors keep TFLite's names ``t<index>`` and TFLite's layout (NHWC): convolutions and pooling are
wrapped in Transposes to and from NCHW, which ONNX Runtime's transpose optimizer cancels between
consecutive layers (and pushes through elementwise ops).  Shapes are the ones numlite prepared
(``DelegateKernel.infer``): padding is explicit, reshapes have constant targets.

What maps (``supported``): float32 tensors, and int8 / uint8 tensors quantized per tensor for
the ``QUANTIZED_OPS`` (in QDQ form: each quantized tensor is its integers, read through a
DequantizeLinear per reader and written through QuantizeLinear; weights int8 / uint8, per
channel allowed, biases int32; ONNX Runtime fuses the pattern into its integer kernels:
QLinearConv, QGemm, QLinearAdd, ...).  int8 activations travel inside the graph as uint8 (plus
128, zero point plus 128: ``OnnxBuilder.shift``), the type those kernels take on x86, and are
converted at the graph's inputs and outputs.  Hybrid forms (float input, integer weights) and
int16 do not map.  Weights and index inputs must be constant:

- CONV_2D (groups), DEPTHWISE_CONV_2D (depth multiplier), FULLY_CONNECTED (any rank,
  keep_num_dims) with their fused RELU / RELU6 / RELU_N1_TO_1 (TANH and SIGN_BIT are ignored,
  as TFLite's kernels ignore them);
- ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM (broadcasting; fused activations as above);
- RELU, RELU6, RELU_N1_TO_1, RELU_0_TO_1, TANH, LOGISTIC, HARD_SWISH, LEAKY_RELU, PRELU, ELU,
  EXP, ABS, NEG, SQRT, RSQRT, SQUARE;
- AVERAGE_POOL_2D (padding excluded from the count, as TFLite), MAX_POOL_2D, MEAN, SUM,
  REDUCE_MAX (constant axes);
- PAD / PADV2 (constant paddings, constant value), CONCATENATION, RESHAPE, SQUEEZE,
  EXPAND_DIMS, TRANSPOSE, SOFTMAX (beta), RESIZE_BILINEAR (align_corners, half_pixel_centers),
  DEPTH_TO_SPACE, SPACE_TO_DEPTH, SLICE and STRIDED_SLICE (every mask: numlite's prepared index),
  GELU (exact and tanh forms), BATCH_MATMUL (adjoints, broadcast batches);
- UNIDIRECTIONAL_SEQUENCE_LSTM, BIDIRECTIONAL_SEQUENCE_LSTM, LSTM (float32; ONNX LSTM nodes,
  their state carried through ``OnnxBuilder.state_updates``: ``onnx_lstm``, imported on first use).

Weights may be float16 or sparse constants behind DEQUANTIZE / DENSIFY nodes: numlite folds
those at prepare and the builder takes their values as initializers (``values``).

Anything else stays on numlite's kernels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..graph import Operator, Subgraph
from ..ops.base import conv_padding
from .onnx_proto import Initializer, Node, elem_type, encode_model, value_info

OPSET = 17
F32 = np.dtype(np.float32)
NCHW, NHWC = [0, 3, 1, 2], [0, 2, 3, 1]
#: fused activation code -> (ONNX op, attributes / clip bounds); TANH and SIGN_BIT: none
CLAMPS = {1: (0.0, None), 2: (-1.0, 1.0), 3: (0.0, 6.0)}
#: ONNX ops computed element by element (inputs of one shape or scalars): a layout change commutes
#: with them (``OnnxBuilder._sink_transposes``)
ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Relu", "Clip", "Sigmoid", "Tanh", "LeakyRelu", "Elu",
               "Exp", "Abs", "Neg", "Sqrt", "Reciprocal", "Erf", "HardSwish", "HardSigmoid", "Identity", "Pow"}
#: ``OnnxBuilder.external``: smaller initializers are embedded in the model
EXTERNAL_MIN_BYTES = 1024


def onnx_module() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError("numlite's ONNX export and ONNX Runtime delegate need the 'onnx' package: "
                          "pip install 'numlite[onnxruntime]'") from None
    return onnx


def name(t: int) -> str:
    return f"t{t}"


QUANT_TYPES = (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int32))


def _contiguous(value: Any) -> np.ndarray:
    """A C-contiguous array of ``value``, keeping 0-d scalars 0-d (``np.ascontiguousarray`` makes
    them 1-d, and QLinear ops want scalar scales and zero points)."""
    a = np.asarray(value)
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def quant_params(ten: Any) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(float32 scales, zero points in the tensor's dtype, axis) of a quantized int8 / uint8 /
    int32 tensor, else None."""
    q = ten.quantization
    if ten.dtype is None or not q.is_quantized or np.dtype(ten.dtype) not in QUANT_TYPES:
        return None
    scales = np.asarray(q.scales, np.float32).reshape(-1)
    zps = np.asarray(q.zero_points, np.int64).reshape(-1)
    if zps.size != scales.size:
        zps = np.broadcast_to(zps[:1] if zps.size else np.zeros(1, np.int64), scales.shape)
    return scales, zps.astype(np.dtype(ten.dtype)), int(q.quantized_dimension)


class OnnxBuilder:
    def __init__(self, subgraph: Subgraph, shapes: dict[int, tuple[int, ...]],
                 values: dict[int, np.ndarray] | None = None):
        self.sg = subgraph
        self.shapes = shapes
        #: tensors whose values numlite knows at prepare (constants, folded DEQUANTIZE / DENSIFY)
        self.values = dict(values or {})
        #: dynamic batch (``export``): reshape targets leave dim 0 free where the tensor's
        #: ``shape_signature`` has -1 there
        self.dynamic = False
        self.kernel: Any = None
        #: quantized tensors whose integers a node of this graph wrote (``add``); any other
        #: non-constant one is an input of the graph
        self._written: set[int] = set()
        self._pending: list[tuple[int, str]] = []
        self.nodes: list[Node] = []
        self.inits: dict[str, Initializer] = {}
        #: ``external``: initializers of at least ``EXTERNAL_MIN_BYTES`` stay NumPy arrays
        #: (``arrays``), declared in the model as external data: ONNX Runtime takes them through
        #: ``SessionOptions.add_external_initializers`` without copying, and the model serializes
        #: and parses without them (``export`` embeds every initializer)
        self.external = False
        self.arrays: dict[str, np.ndarray] = {}
        #: stateful nodes (recurrent ops with variable state tensors): (variable tensor, name of
        #: the ONNX value holding its value after the node); ``model`` makes each a graph output,
        #: the delegate writes it back into the variable after every run, as TFLite's kernels do
        self.state_updates: list[tuple[int, str]] = []
        self._n = 0

    # -- helpers ----------------------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def node(self, op: str, ins: list[str], outs: list[str] | None = None, **attrs: Any) -> str:
        outs = outs or [self.fresh(op.lower())]
        self.nodes.append(Node(op, list(ins), list(outs), attrs))
        return outs[0]

    def const(self, value: np.ndarray, hint: str = "c") -> str:
        key = self.fresh(hint)
        self.initializer(key, value)
        return key

    def initializer(self, key: str, value: Any) -> None:
        a = _contiguous(value)
        external = self.external and a.nbytes >= EXTERNAL_MIN_BYTES
        self.inits[key] = Initializer(key, a, external)
        if external:
            self.arrays[key] = a

    def tensor(self, t: int) -> str:
        """The ONNX name of TFLite tensor ``t`` as float32; a constant becomes an initializer once.
        A quantized (int8 / uint8) tensor is its integers (``integers``) behind a DequantizeLinear
        of its own for each reader (QDQ: ONNX Runtime fuses DequantizeLinear -> op ->
        QuantizeLinear into its integer kernels; its selectors want each DequantizeLinear read by
        one node)."""
        key = name(t)
        if quant_params(self.sg.tensors[t]) is not None:
            return self.dequantize(self.integers(t), t, shift=self.shift(t))
        if key not in self.inits and self.is_const(t):
            self.initializer(key, self.value(t))
        return key

    def shift(self, t: int) -> int:
        """128 for an int8 tensor quantized per tensor (an activation), which the graph carries as
        uint8: its integers plus 128, its zero point plus 128 - the same real values.  ONNX
        Runtime's x86 integer kernels take uint8 activations (int8 weights): it converts int8 QDQ
        pairs itself (QDQS8ToU8Transformer), but only a QuantizeLinear read by exactly one
        DequantizeLinear, so a tensor with two readers (a residual ADD's input) stayed int8
        while its neighbours became uint8, and an op whose input and output types then differ
        is not fused (MobileNet v2: 15 of 53 convolutions and all 10 ADDs ran in float, with
        Transposes around them).  Weights and biases keep their types (0)."""
        ten = self.sg.tensors[t]
        return 128 if np.dtype(ten.dtype) == np.int8 and ten.quantization.scales.size == 1 else 0

    def integers(self, t: int) -> str:
        """The name of quantized tensor ``t``'s integers in the graph: ``t`` itself, or for an int8
        activation (``shift``) a uint8 value: a constant's shifted values, or for an input of the
        graph DequantizeLinear -> QuantizeLinear (uint8) of it, once."""
        if not self.shift(t):
            if name(t) not in self.inits and self.is_const(t):
                self.initializer(name(t), self.value(t))
            return name(t)
        key = f"{name(t)}_u8"
        if key in self.inits or t in self._written:
            return key
        if self.is_const(t):
            self.initializer(key, (self.value(t).astype(np.int16) + 128).astype(np.uint8))
        else:  # an input of the graph (int8 at the boundary)
            self.quantize(self.dequantize(name(t), t), t, key, 128)
            self._written.add(t)
        return key

    def dequantize(self, key: str, t: int, axis_map: int | None = None, shift: int = 0) -> str:
        """DequantizeLinear of the integers ``key`` with tensor ``t``'s parameters (per-axis along
        ``axis_map``, or the tensor's own quantized dimension; zero points plus ``shift``)."""
        scales, zps, axis = quant_params(self.sg.tensors[t])
        if shift:
            zps = (zps.astype(np.int16) + shift).astype(np.uint8)
        attrs = {}
        if scales.size > 1:
            attrs["axis"] = axis if axis_map is None else axis_map
        return self.node("DequantizeLinear", [key, self.const(scales if scales.size > 1 else scales[0]),
                                              self.const(zps if zps.size > 1 else zps[0])], **attrs)

    def quantize(self, f: str, t: int, key: str, shift: int = 0) -> None:
        """QuantizeLinear of the float ``f`` into ``key`` with tensor ``t``'s (per-tensor)
        parameters, zero point plus ``shift``."""
        scales, zps, _ = quant_params(self.sg.tensors[t])
        zp = (zps[:1].astype(np.int16) + shift).astype(np.uint8)[0] if shift else zps[0]
        self.node("QuantizeLinear", [f, self.const(scales[0]), self.const(zp)], [key])

    def weights(self, t: int, values: np.ndarray, axis: int) -> str:
        """Constant weights ``values`` (tensor ``t``'s, re-laid out; its per-channel axis now
        ``axis``): float32 as they are, integers behind a DequantizeLinear."""
        if quant_params(self.sg.tensors[t]) is None:
            return self.const(np.asarray(values, np.float32), "w")
        return self.dequantize(self.const(values, "wq"), t, axis)

    def out(self, t: int) -> str:
        """The name a converter writes tensor ``t``'s float32 value to: ``t`` itself, or for a
        quantized ``t`` a float value that ``add`` then quantizes into it (QuantizeLinear)."""
        if quant_params(self.sg.tensors[t]) is None:
            return name(t)
        f = self.fresh("f")
        self._pending.append((t, f))
        return f

    def is_const(self, t: int) -> bool:
        return t in self.values or self.sg.tensors[t].data is not None

    def value(self, t: int) -> np.ndarray:
        v = self.values.get(t)
        return np.asarray(v if v is not None else self.sg.tensors[t].data)

    def target(self, t: int) -> str:
        """A constant holding tensor ``t``'s shape, for Reshape (dim 0 free under ``dynamic``)."""
        shape = np.array(self.shapes[t], np.int64)
        sig = self.sg.tensors[t].shape_signature
        if self.dynamic and shape.size and len(sig) == shape.size and sig[0] == -1:
            shape[0] = -1
        return self.const(shape)

    def activation(self, x: str, code: int, out: str) -> None:
        clamp = CLAMPS.get(code)
        if clamp is None:
            self.node("Identity", [x], [out])
        elif clamp == (0.0, None):
            self.node("Relu", [x], [out])
        else:
            self.node("Clip", [x, self.const(np.float32(clamp[0])), self.const(np.float32(clamp[1]))], [out])

    def add(self, op: Operator, kernel: Any = None) -> None:
        """Append ``op``; ``kernel``: numlite's kernel for it, prepared (the slices read its index)."""
        self.kernel = kernel
        self._pending = []
        CONVERTERS[op.op_name](self, op)
        for t, f in self._pending:
            shift = self.shift(t)
            self.quantize(f, t, f"{name(t)}_u8" if shift else name(t), shift)
            self._written.add(t)

    def model(self, inputs: list[int], outputs: list[int], names: dict[int, str] | None = None,
              graph_name: str = "numlite_partition") -> bytes:
        """The serialized ``ModelProto``; ``names`` renames boundary tensors (``export`` keeps
        TFLite's names)."""
        written = {o for nd in self.nodes for o in nd.output}
        for t in outputs:  # int8 outputs carried as uint8 (``shift``): back to int8
            if self.shift(t) and f"{name(t)}_u8" in written and name(t) not in written:
                self.quantize(self.dequantize(f"{name(t)}_u8", t, shift=128), t, name(t))
        self._cancel_transposes({name(t) for t in outputs} | {n for _, n in self.state_updates})
        rename = {name(t): n for t, n in (names or {}).items()}
        if rename:
            for nd in self.nodes:
                nd.input[:] = [rename.get(i, i) for i in nd.input]
                nd.output[:] = [rename.get(o, o) for o in nd.output]

        def info(t: int) -> bytes:
            dims: list[Any] = list(self.shapes[t])
            sig = self.sg.tensors[t].shape_signature
            if self.dynamic and dims and len(sig) == len(dims) and sig[0] == -1:
                dims[0] = "batch"
            dt = np.dtype(self.sg.tensors[t].dtype)
            return value_info(rename.get(name(t), name(t)), elem_type(dt if dt in (np.int8, np.uint8) else F32), dims)

        outs = [info(t) for t in outputs]
        outs += [value_info(n, elem_type(F32), list(self.shapes[t])) for t, n in self.state_updates]
        return encode_model(self.nodes, [info(t) for t in inputs], outs, list(self.inits.values()), graph_name, OPSET)

    def _sink_transposes(self, keep: set[str]) -> None:
        """Layout propagation: an elementwise node all of whose tensor inputs are Transposes
        with one permutation (scalar constants aside) runs before the permutation instead -
        ``Add(T(a), T(b))`` becomes ``T(Add(a, b))`` - so the Transpose moves down the graph
        to meet its inverse (``_cancel_transposes``).  Only where those Transposes' outputs
        are no graph outputs."""
        producer = {o: nd for nd in self.nodes for o in nd.output}
        out: list[Node] = []
        for nd in self.nodes:
            perm = None
            if nd.op_type in ELEMENTWISE and nd.output[0] not in keep and len(nd.output) == 1:
                srcs = []
                for i in nd.input:
                    src = producer.get(i)
                    if src is not None and src.op_type == "Transpose" and i not in keep:
                        srcs.append((i, src))
                    elif not (i in self.inits and self.inits[i].array.size == 1):
                        srcs = []
                        break
                perms = {tuple(src.attrs["perm"]) for _, src in srcs}
                if srcs and len(perms) == 1:
                    perm = perms.pop()
            if perm is None:
                out.append(nd)
                continue
            moved = {i: src.input[0] for i, src in srcs}
            nd.input[:] = [moved.get(i, i) for i in nd.input]
            final, nd.output[0] = nd.output[0], self.fresh("sunk")
            t = Node("Transpose", [nd.output[0]], [final], {"perm": list(perm)})
            producer[nd.output[0]], producer[final] = nd, t
            out += [nd, t]
        self.nodes = out

    def _cancel_transposes(self, keep: set[str]) -> None:
        """Layout clean-up: a Transpose reading a Transpose with the inverse permutation (NCHW
        back to NHWC between two convolutions, pooling layers ...) is removed, its readers
        reading the first one's input, and so is an Identity (a fused activation of NONE);
        Transposes nobody reads then go.  ``keep``: graph outputs, never renamed away."""
        self._sink_transposes(keep)
        producer = {o: nd for nd in self.nodes for o in nd.output}
        alias: dict[str, str] = {}
        for nd in self.nodes:
            nd.input[:] = [alias.get(i, i) for i in nd.input]
            if nd.op_type == "Identity" and nd.output[0] not in keep:
                alias[nd.output[0]] = nd.input[0]
                continue
            if nd.op_type != "Transpose" or nd.output[0] in keep:
                continue
            src = producer.get(nd.input[0])
            if src is None or src.op_type != "Transpose":
                continue
            p, q = list(src.attrs["perm"]), list(nd.attrs["perm"])
            if len(p) == len(q) and [p[i] for i in q] == list(range(len(p))):
                alias[nd.output[0]] = src.input[0]
        if not alias:
            return
        while True:
            read = {i for nd in self.nodes for i in nd.input} | keep
            dead = [nd for nd in self.nodes if nd.op_type in ("Transpose", "Identity") and nd.output[0] not in read]
            if not dead:
                break
            gone = {id(nd) for nd in dead}
            self.nodes = [nd for nd in self.nodes if id(nd) not in gone]


# -- converters ------------------------------------------------------------------------------------
def _act(op: Operator) -> int:
    return int(op.options.get("fused_activation_function") or 0) if op.options is not None else 0


def _conv(b: OnnxBuilder, op: Operator, depthwise: bool) -> None:
    o = op.options
    x, f = op.inputs[0], op.inputs[1]
    bias = op.inputs[2] if len(op.inputs) > 2 and op.inputs[2] >= 0 else -1
    n, h, w, cin = b.shapes[x]
    filt = b.value(f)
    sh, sw = int(o.get("stride_h")), int(o.get("stride_w"))
    dh, dw = int(o.get("dilation_h_factor") or 1), int(o.get("dilation_w_factor") or 1)
    padding = int(o.get("padding"))
    if depthwise:
        _, kh, kw, cout = filt.shape
        wt = filt[0].transpose(2, 0, 1)[:, None]  # [Cout, 1, KH, KW]
        group = cin
    else:
        cout, kh, kw, fin = filt.shape
        wt = filt.transpose(0, 3, 1, 2)  # OIHW
        group = cin // fin
    _, pt, pb = conv_padding(h, kh, sh, dh, padding)
    _, pl, pr = conv_padding(w, kw, sw, dw, padding)
    ins = [b.node("Transpose", [b.tensor(x)], perm=NCHW), b.weights(f, wt, 0)]
    if bias >= 0:
        ins.append(b.weights(bias, b.value(bias).reshape(cout), 0))
    y = b.node("Conv", ins, kernel_shape=[kh, kw], strides=[sh, sw], dilations=[dh, dw], pads=[pt, pl, pb, pr],
               group=group)
    if _act(op) in CLAMPS:  # the activation in NCHW: the Transpose back then meets the next conv's
        act = b.fresh("act")
        b.activation(y, _act(op), act)
        y = act
    b.node("Transpose", [y], [b.out(op.outputs[0])], perm=NHWC)


def _fully_connected(b: OnnxBuilder, op: Operator) -> None:
    x, wt = op.inputs[0], op.inputs[1]
    bias = op.inputs[2] if len(op.inputs) > 2 and op.inputs[2] >= 0 else -1
    weights = b.value(wt)
    n_out, k = weights.shape
    flat = b.node("Reshape", [b.tensor(x), b.const(np.array([-1, k], np.int64))])
    ins = [flat, b.weights(wt, weights, 0)]
    if bias >= 0:
        ins.append(b.weights(bias, b.value(bias).reshape(n_out), 0))
    y = b.node("Gemm", ins, transB=1)
    shaped = b.node("Reshape", [y, b.target(op.outputs[0])])
    b.activation(shaped, _act(op), b.out(op.outputs[0]))


def _binary(onnx_op: str) -> Callable[[OnnxBuilder, Operator], None]:
    def convert(b: OnnxBuilder, op: Operator) -> None:
        y = b.node(onnx_op, [b.tensor(op.inputs[0]), b.tensor(op.inputs[1])])
        b.activation(y, _act(op), b.out(op.outputs[0]))

    return convert


def _unary(onnx_op: str, **attrs: Any) -> Callable[[OnnxBuilder, Operator], None]:
    def convert(b: OnnxBuilder, op: Operator) -> None:
        b.node(onnx_op, [b.tensor(op.inputs[0])], [b.out(op.outputs[0])], **attrs)

    return convert


def _clip(lo: float, hi: float) -> Callable[[OnnxBuilder, Operator], None]:
    def convert(b: OnnxBuilder, op: Operator) -> None:
        b.node("Clip", [b.tensor(op.inputs[0]), b.const(np.float32(lo)), b.const(np.float32(hi))],
               [b.out(op.outputs[0])])

    return convert


def _leaky(b: OnnxBuilder, op: Operator) -> None:
    b.node("LeakyRelu", [b.tensor(op.inputs[0])], [b.out(op.outputs[0])], alpha=float(op.options.get("alpha") or 0.0))


def _prelu(b: OnnxBuilder, op: Operator) -> None:
    """PRelu, except for a 4-D input with a constant per-channel alpha, written as
    ``relu(x) + (-alpha) * relu(-x)`` with the two products as depthwise 1x1 convolutions (in
    NCHW, between Transposes): ONNX Runtime keeps convolutions in its blocked NCHWc layout, while
    PRelu made it convert the layout around each of them (MediaPipe's face model ran 3x slower).
    The values are PRelu's: ``-alpha * relu(-x)`` is ``alpha * min(x, 0)`` exactly, and one of the
    two terms is zero."""
    x, a = op.inputs[0], op.inputs[1]
    shape = b.shapes[x]
    alpha = b.value(a) if b.is_const(a) else None
    c = shape[-1] if len(shape) == 4 else 0
    if alpha is None or not c or alpha.size not in (1, c) or any(d != 1 for d in alpha.shape[:-1]):
        b.node("PRelu", [b.tensor(x), b.tensor(a)], [b.out(op.outputs[0])])
        return
    per_c = np.broadcast_to(np.asarray(alpha, np.float32).reshape(-1), (c,))
    xt = b.node("Transpose", [b.tensor(x)], perm=NCHW)
    neg = b.node("Relu", [b.node("Conv", [xt, b.const(np.full((c, 1, 1, 1), -1.0, np.float32), "w")],
                                 kernel_shape=[1, 1], group=c)])
    scaled = b.node("Conv", [neg, b.const((-per_c).reshape(c, 1, 1, 1).astype(np.float32), "w")],
                    kernel_shape=[1, 1], group=c)
    y = b.node("Add", [b.node("Relu", [xt]), scaled])
    b.node("Transpose", [y], [b.out(op.outputs[0])], perm=NHWC)


def _logistic(b: OnnxBuilder, op: Operator) -> None:
    """``1 / (1 + exp(-x))`` spelled out, as numlite computes it: with ONNX Runtime's Sigmoid one of
    pose_landmark_full's outputs differed from numlite's by its whole magnitude (relative error 1.0;
    Sigmoid loses the far negative tail)."""
    e = b.node("Exp", [b.node("Neg", [b.tensor(op.inputs[0])])])
    b.node("Reciprocal", [b.node("Add", [e, b.const(np.float32(1.0))])], [b.out(op.outputs[0])])


def _rsqrt(b: OnnxBuilder, op: Operator) -> None:
    b.node("Reciprocal", [b.node("Sqrt", [b.tensor(op.inputs[0])])], [b.out(op.outputs[0])])


def _square(b: OnnxBuilder, op: Operator) -> None:
    x = b.tensor(op.inputs[0])
    b.node("Mul", [x, x], [b.out(op.outputs[0])])


def _pool(onnx_op: str) -> Callable[[OnnxBuilder, Operator], None]:
    def convert(b: OnnxBuilder, op: Operator) -> None:
        o = op.options
        x = op.inputs[0]
        _, h, w, _ = b.shapes[x]
        kh, kw = int(o.get("filter_height")), int(o.get("filter_width"))
        sh, sw = int(o.get("stride_h")), int(o.get("stride_w"))
        padding = int(o.get("padding"))
        oh, pt, pb = conv_padding(h, kh, sh, 1, padding)
        ow, pl, pr = conv_padding(w, kw, sw, 1, padding)
        attrs: dict[str, Any] = {"kernel_shape": [kh, kw], "strides": [sh, sw], "pads": [pt, pl, pb, pr]}
        xt = b.node("Transpose", [b.tensor(x)], perm=NCHW)
        if onnx_op == "AveragePool" and quant_params(b.sg.tensors[x]) is not None and oh * ow > 1:
            y = _windowed_average(b, xt, (h, w), (oh, ow), attrs)
        else:
            if onnx_op == "AveragePool":
                attrs["count_include_pad"] = 0
            y = b.node(onnx_op, [xt], **attrs)
        b.activation(b.node("Transpose", [y], perm=NHWC), _act(op), b.out(op.outputs[0]))

    return convert


def _windowed_average(b: OnnxBuilder, x: str, size: tuple[int, int], out: tuple[int, int],
                      attrs: dict[str, Any]) -> str:
    """A quantized AVERAGE_POOL_2D with more than one output position (NCHW ``x``): a float
    AveragePool counting the padding, times ``kh * kw`` / (the real inputs in each window).  The
    Mul keeps ONNX Runtime from fusing DequantizeLinear -> AveragePool -> QuantizeLinear into its
    QLinearAveragePool, whose channels-last kernel took about 0.75 ns per input tap (Inception
    v3's nine 3x3 pools: 13.9 of its 45 ms); its float pool (NCHWc) with the Mul, the
    DequantizeLinear / QuantizeLinear and the Transposes around it took about 6 ms less.  A
    global pool (one output position) stays QLinearAveragePool, which is fast there.  Values:
    the window's mean, in float: a mean that falls half-way between two integers may round
    either way (one step, as LiteRT's default kernels also differ)."""
    (h, w), (oh, ow) = size, out
    (kh, kw), (sh, sw), (pt, pl) = attrs["kernel_shape"], attrs["strides"], attrs["pads"][:2]
    rows, cols = np.arange(oh) * sh - pt, np.arange(ow) * sw - pl
    count = ((np.minimum(rows + kh, h) - np.maximum(rows, 0))[:, None] *
             (np.minimum(cols + kw, w) - np.maximum(cols, 0))[None, :])
    y = b.node("AveragePool", [x], count_include_pad=1, **attrs)
    return b.node("Mul", [y, b.const((kh * kw / count).astype(np.float32)[None, None], "count")])


def _reduce(onnx_op: str) -> Callable[[OnnxBuilder, Operator], None]:
    def convert(b: OnnxBuilder, op: Operator) -> None:
        rank = len(b.shapes[op.inputs[0]])
        axes = sorted({int(a) % rank for a in np.asarray(b.value(op.inputs[1])).reshape(-1)}) if rank else []
        if not axes:
            b.node("Identity", [b.tensor(op.inputs[0])], [b.out(op.outputs[0])])
            return
        # keepdims, then the output's shape (keep_dims or not, as numlite prepared it)
        if onnx_op == "ReduceSum":  # axes are an input from opset 13 on (the others from 18)
            y = b.node(onnx_op, [b.tensor(op.inputs[0]), b.const(np.array(axes, np.int64))], keepdims=1)
        else:
            y = b.node(onnx_op, [b.tensor(op.inputs[0])], axes=axes, keepdims=1)
        b.node("Reshape", [y, b.target(op.outputs[0])], [b.out(op.outputs[0])])

    return convert


def _pad(b: OnnxBuilder, op: Operator) -> None:
    pads = np.asarray(b.value(op.inputs[1]), np.int64).reshape(-1, 2)
    ins = [b.tensor(op.inputs[0]), b.const(np.concatenate([pads[:, 0], pads[:, 1]]).astype(np.int64))]
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        ins.append(b.const(np.asarray(b.value(op.inputs[2]), np.float32).reshape(())))
    b.node("Pad", ins, [b.out(op.outputs[0])], mode="constant")


def _concat(b: OnnxBuilder, op: Operator) -> None:
    rank = len(b.shapes[op.outputs[0]])
    axis = int(op.options.get("axis") or 0) % rank
    y = b.node("Concat", [b.tensor(t) for t in op.inputs], axis=axis)
    b.activation(y, _act(op), b.out(op.outputs[0]))


def _reshape(b: OnnxBuilder, op: Operator) -> None:
    b.node("Reshape", [b.tensor(op.inputs[0]), b.target(op.outputs[0])], [b.out(op.outputs[0])])


def _transpose(b: OnnxBuilder, op: Operator) -> None:
    rank = len(b.shapes[op.inputs[0]])
    perm = [int(p) % rank for p in np.asarray(b.value(op.inputs[1])).reshape(-1)]
    b.node("Transpose", [b.tensor(op.inputs[0])], [b.out(op.outputs[0])], perm=perm)


def _softmax(b: OnnxBuilder, op: Operator) -> None:
    beta = float(op.options.get("beta") or 1.0)
    x = b.tensor(op.inputs[0])
    if beta != 1.0:
        x = b.node("Mul", [x, b.const(np.float32(beta))])
    b.node("Softmax", [x], [b.out(op.outputs[0])], axis=-1)


def _nchw(onnx_op: str, **attrs: Any) -> Callable[[OnnxBuilder, Operator], None]:
    """An NCHW-only ONNX op between Transposes (DepthToSpace in TensorFlow's DCR order, SpaceToDepth)."""
    def convert(b: OnnxBuilder, op: Operator) -> None:
        block = {"blocksize": int(op.options.get("block_size"))}
        y = b.node(onnx_op, [b.node("Transpose", [b.tensor(op.inputs[0])], perm=NCHW)], **block, **attrs)
        b.node("Transpose", [y], [b.out(op.outputs[0])], perm=NHWC)

    return convert


def _resize_bilinear(b: OnnxBuilder, op: Operator) -> None:
    """TFLite's float kernel: source ``(o + 0.5) * in / out - 0.5`` clamped at 0 (half-pixel),
    ``o * (in - 1) / (out - 1)`` (align corners) or ``o * in / out``: ONNX's ``half_pixel``
    (edge samples repeat, which equals the clamp), ``align_corners`` and ``asymmetric``."""
    o = op.options
    mode = ("align_corners" if o.get("align_corners") else
            "half_pixel" if o.get("half_pixel_centers") else "asymmetric")
    _, oh, ow, _ = b.shapes[op.outputs[0]]
    x = b.node("Transpose", [b.tensor(op.inputs[0])], perm=NCHW)
    nc = b.node("Slice", [b.node("Shape", [x]), b.const(np.array([0], np.int64)), b.const(np.array([2], np.int64))])
    sizes = b.node("Concat", [nc, b.const(np.array([oh, ow], np.int64))], axis=0)  # N and C as they come
    y = b.node("Resize", [x, "", "", sizes], mode="linear", coordinate_transformation_mode=mode)
    b.node("Transpose", [y], [b.out(op.outputs[0])], perm=NHWC)


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _gelu(b: OnnxBuilder, op: Operator) -> None:
    """Exact ``0.5 x (1 + erf(x / sqrt 2))`` or, with ``approximate``, the tanh form (ONNX's Gelu
    op comes with opset 20)."""
    x = b.tensor(op.inputs[0])
    c = b.const
    if op.options is not None and op.options.get("approximate"):
        cube = b.node("Mul", [b.node("Mul", [x, x]), x])
        inner = b.node("Add", [x, b.node("Mul", [cube, c(np.float32(0.044715))])])
        t = b.node("Tanh", [b.node("Mul", [inner, c(np.float32(np.sqrt(2.0 / np.pi)))])])
    else:
        t = b.node("Erf", [b.node("Mul", [x, c(np.float32(1.0 / np.sqrt(2.0)))])])
    half = b.node("Mul", [x, c(np.float32(0.5))])
    b.node("Mul", [half, b.node("Add", [t, c(np.float32(1.0))])], [b.out(op.outputs[0])])


def _batch_matmul(b: OnnxBuilder, op: Operator) -> None:
    """BATCH_MATMUL: the last two axes of an adjointed operand swapped, then MatMul (whose batch
    axes broadcast as TFLite's do)."""
    ins = []
    for k, key in ((0, "adj_x"), (1, "adj_y")):
        t = b.tensor(op.inputs[k])
        if op.options is not None and op.options.get(key):
            r = len(b.shapes[op.inputs[k]])
            t = b.node("Transpose", [t], perm=[*range(r - 2), r - 1, r - 2])
        ins.append(t)
    b.node("MatMul", ins, [b.out(op.outputs[0])])


def _slice(b: OnnxBuilder, op: Operator) -> None:
    """SLICE / STRIDED_SLICE from the index numlite's prepared kernel holds (``kernel.index``: basic
    slices, ints for shrunk axes, None for new axes, a trailing ``...``): one ONNX Slice over the
    input's axes, then a Reshape to the output's shape (drops shrunk axes, adds new ones)."""
    shape = b.shapes[op.inputs[0]]
    starts, ends, steps = [], [], []
    axis = 0
    for item in b.kernel.index:
        if item is None:
            continue
        if item is Ellipsis:
            break
        dim = shape[axis]
        if isinstance(item, slice):
            start, stop, step = item.indices(dim)
            if step < 0 and stop < 0:
                stop = INT64_MIN  # Python's "before index 0"; ONNX would read -1 as the last element
            if (start, stop, step) == (0, dim, 1):
                stop = INT64_MAX  # the whole axis, whatever its size (dynamic batch)
        else:
            start, stop, step = int(item) % dim if dim else 0, int(item) % dim + 1 if dim else 0, 1
        starts.append(start)
        ends.append(stop)
        steps.append(step)
        axis += 1
    x = b.tensor(op.inputs[0])
    if starts:
        x = b.node("Slice", [x, b.const(np.array(starts, np.int64)), b.const(np.array(ends, np.int64)),
                             b.const(np.arange(len(starts), dtype=np.int64)), b.const(np.array(steps, np.int64))])
    b.node("Reshape", [x, b.target(op.outputs[0])], [b.out(op.outputs[0])])


CONVERTERS: dict[str, Callable[[OnnxBuilder, Operator], None]] = {
    "CONV_2D": lambda b, op: _conv(b, op, False),
    "DEPTHWISE_CONV_2D": lambda b, op: _conv(b, op, True),
    "FULLY_CONNECTED": _fully_connected,
    "ADD": _binary("Add"), "SUB": _binary("Sub"), "MUL": _binary("Mul"), "DIV": _binary("Div"),
    "MAXIMUM": _binary("Max"), "MINIMUM": _binary("Min"),
    "RELU": _unary("Relu"), "RELU6": _clip(0.0, 6.0), "RELU_N1_TO_1": _clip(-1.0, 1.0),
    "RELU_0_TO_1": _clip(0.0, 1.0), "TANH": _unary("Tanh"), "LOGISTIC": _logistic,
    "HARD_SWISH": _unary("HardSwish"), "LEAKY_RELU": _leaky, "PRELU": _prelu, "ELU": _unary("Elu"),
    "EXP": _unary("Exp"), "ABS": _unary("Abs"), "NEG": _unary("Neg"), "SQRT": _unary("Sqrt"),
    "RSQRT": _rsqrt, "SQUARE": _square,
    "AVERAGE_POOL_2D": _pool("AveragePool"), "MAX_POOL_2D": _pool("MaxPool"),
    "MEAN": _reduce("ReduceMean"), "SUM": _reduce("ReduceSum"), "REDUCE_MAX": _reduce("ReduceMax"),
    "PAD": _pad, "PADV2": _pad, "CONCATENATION": _concat, "RESHAPE": _reshape, "SQUEEZE": _reshape,
    "EXPAND_DIMS": _reshape, "TRANSPOSE": _transpose, "SOFTMAX": _softmax,
    "RESIZE_BILINEAR": _resize_bilinear, "DEPTH_TO_SPACE": _nchw("DepthToSpace", mode="DCR"),
    "SPACE_TO_DEPTH": _nchw("SpaceToDepth"), "SLICE": _slice, "STRIDED_SLICE": _slice, "GELU": _gelu,
    "BATCH_MATMUL": _batch_matmul, "QUANTIZE": _unary("Identity"), "DEQUANTIZE": _unary("Identity"),
}
#: inputs that must be constants, per op (weights, bias, axes, paddings, permutations, alpha)
CONSTANT_INPUTS = {"CONV_2D": (1, 2), "DEPTHWISE_CONV_2D": (1, 2), "FULLY_CONNECTED": (1, 2), "MEAN": (1,),
                   "SUM": (1,), "REDUCE_MAX": (1,), "PAD": (1,), "PADV2": (1, 2), "TRANSPOSE": (1,),
                   "RESHAPE": (1,), "EXPAND_DIMS": (1,), "RESIZE_BILINEAR": (1,), "SLICE": (1, 2),
                   "STRIDED_SLICE": (1, 2, 3)}
#: constant inputs whose values are indices (any integer dtype)
INDEX_INPUTS = {("MEAN", 1), ("SUM", 1), ("REDUCE_MAX", 1), ("PAD", 1), ("PADV2", 1), ("TRANSPOSE", 1),
                ("RESHAPE", 1), ("EXPAND_DIMS", 1), ("RESIZE_BILINEAR", 1), ("SLICE", 1), ("SLICE", 2),
                ("STRIDED_SLICE", 1), ("STRIDED_SLICE", 2), ("STRIDED_SLICE", 3)}
RANK4 = {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D", "RESIZE_BILINEAR", "DEPTH_TO_SPACE",
         "SPACE_TO_DEPTH"}


#: ops numlite folds at prepare when their inputs are constant: their outputs count as constants
FOLDED_AT_PREPARE = {"DEQUANTIZE", "DENSIFY"}
_CONSTANTS: dict[int, tuple[Subgraph, set[int]]] = {}


def constants(sg: Subgraph) -> set[int]:
    """Tensors whose values numlite knows before invoke: constants, and the outputs of
    DEQUANTIZE / DENSIFY nodes of constants (float16 and sparse weights), transitively."""
    hit = _CONSTANTS.get(id(sg))
    if hit is not None and hit[0] is sg:
        return hit[1]
    known = {t.index for t in sg.tensors if t.data is not None and not t.is_variable}
    grew = True
    while grew:
        grew = False
        for op in sg.operators:
            if (op.op_name in FOLDED_AT_PREPARE and all(i < 0 or i in known for i in op.inputs)
                    and not set(op.outputs) <= known):
                known.update(op.outputs)
                grew = True
    _CONSTANTS[id(sg)] = (sg, known)
    return known


#: ops that map on quantized int8 / uint8 tensors too (as QDQ: DequantizeLinear -> float op ->
#: QuantizeLinear); results may differ from TFLite's reference kernels by a rounding step, as
#: LiteRT's own default (XNNPACK) kernels do
QUANTIZED_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM",
                 "AVERAGE_POOL_2D", "MAX_POOL_2D", "MEAN", "PAD", "CONCATENATION", "RESHAPE", "SQUEEZE",
                 "EXPAND_DIMS", "TRANSPOSE", "SLICE", "STRIDED_SLICE", "SOFTMAX", "LOGISTIC", "TANH", "RELU",
                 "RELU6", "HARD_SWISH", "QUANTIZE", "DEQUANTIZE", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH",
                 "BATCH_MATMUL", "RSQRT", "GELU", "SQUARE", "SQRT"}
WEIGHTED = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}


def _activation_ok(ten: Any) -> str | None:
    """'f' (float32), 'q' (int8 / uint8 quantized per tensor) or None (anything else)."""
    if ten.dtype is None:
        return None
    dt = np.dtype(ten.dtype)
    if dt == F32:
        return None if ten.quantization.is_quantized else "f"
    if dt in (np.dtype(np.int8), np.dtype(np.uint8)) and ten.quantization.scales.size == 1:
        return "q"
    return None


#: ops whose converters live in modules of their own, with their own ``supported`` check
#: (op name -> check); those modules add their converters to ``CONVERTERS``
OWN_CHECKS: dict[str, Callable[[Operator, Subgraph], bool]] = {}


def supported(op: Operator, sg: Subgraph) -> bool:
    """Whether ``op`` maps (module docstring): float32 tensors, or (``QUANTIZED_OPS``) int8 /
    uint8 ones quantized per tensor with int8 / uint8 weights (per channel allowed) and int32
    biases.  Hybrid forms (float input, integer weights) do not map."""
    if op.op_name not in CONVERTERS or op.custom_code is not None:
        return False
    if op.op_name in OWN_CHECKS:
        return OWN_CHECKS[op.op_name](op, sg)
    tensors = sg.tensors
    consts = CONSTANT_INPUTS.get(op.op_name, ())
    known = constants(sg)
    kinds = set()
    for k, t in enumerate(op.inputs):
        if t < 0:
            continue
        ten = tensors[t]
        if k in consts:
            if t not in known:
                return False
            if (op.op_name, k) in INDEX_INPUTS:
                continue
            if ten.sparsity is not None:
                return False
            dt = np.dtype(ten.dtype)
            if dt == F32 and not ten.quantization.is_quantized:
                kinds.add("fw")
            elif op.op_name in WEIGHTED and quant_params(ten) is not None:
                kinds.add("qw")
            else:
                return False
            continue
        kind = _activation_ok(ten)
        if kind is None or (op.op_name == "DEQUANTIZE" and t in known):  # numlite folds those
            return False
        kinds.add(kind)
    for t in op.outputs:
        kind = _activation_ok(tensors[t])
        if kind is None:
            return False
        kinds.add(kind)
    quantized = "q" in kinds or "qw" in kinds
    if quantized:
        if op.op_name not in QUANTIZED_OPS:
            return False
        if op.op_name in WEIGHTED and ("fw" in kinds and "qw" not in kinds or "q" not in kinds):
            return False  # integer weights need integer activations (no hybrid forms)
    if op.op_name in RANK4 and len(tensors[op.inputs[0]].shape) != 4:
        return False
    if op.op_name == "FULLY_CONNECTED" and (len(op.outputs) != 1 or int(op.options.get("weights_format") or 0)):
        return False
    return True


def export(model: Any, path: str | None = None, dynamic_batch: bool | None = None, **interpreter_kw: Any) -> Any:
    """The whole model (subgraph 0) as an ONNX ``ModelProto``, written to ``path`` when given
    (``numlite export``).

    1. numlite prepares the model (``experimental_preserve_all_tensors``: no fusion, no
       delegation) for every tensor's shape; nodes it folds at prepare (DEQUANTIZE of float16
       weights, DENSIFY, shape arithmetic) become initializers.
    2. Every other node must map (``supported``; graph inputs and outputs float32, or int8 /
       uint8 quantized per tensor): otherwise ``ValueError`` names each
       op that does not, with its nodes.  Models with control flow (more than one subgraph) are
       refused.
    3. Graph inputs and outputs keep the model's tensor names.  ``dynamic_batch`` (default: when
       every input's ``shape_signature`` starts with -1) leaves dim 0 of those tensors free
       (``batch``) and of every reshape target whose tensor has -1 there.
    ``model``: a path, ``bytes`` or a ``numlite.Model``."""
    import os

    from ..interpreter import Interpreter

    onnx = onnx_module()
    if isinstance(model, (bytes, bytearray, memoryview)):
        it = Interpreter(model_content=bytes(model), experimental_preserve_all_tensors=True, **interpreter_kw)
    elif isinstance(model, (str, os.PathLike)):
        it = Interpreter(model_path=model, experimental_preserve_all_tensors=True, **interpreter_kw)
    else:
        raise TypeError(f"export takes a path or the model's bytes, got {type(model).__name__}")
    if len(it._model.subgraphs) > 1:
        raise ValueError(f"the model has {len(it._model.subgraphs)} subgraphs (control flow); export maps one")
    it.allocate_tensors()
    ex = it._main
    sg = ex.subgraph
    live = set(ex.step_nodes)
    missing: dict[str, list[int]] = {}
    for pos, k in enumerate(ex.kernels):
        if pos in live and not supported(k.node, sg):
            missing.setdefault(f"{k.node.op_name} version {k.node.version}", []).append(k.node.index)
    for t in (*sg.inputs, *sg.outputs):
        if _activation_ok(sg.tensors[t]) is None:
            missing.setdefault(f"{np.dtype(ex.dtypes[t]).name} graph input / output (float32, or int8 / uint8 "
                               "quantized per tensor, map)", []).append(t)
    if missing:
        lines = "; ".join(f"{what} at {where}" for what, where in missing.items())
        raise ValueError(f"cannot export to ONNX: {len(missing)} unsupported operator(s) or tensor(s): {lines}")
    shapes = {i: tuple(s) for i, s in enumerate(ex.shapes)}
    b = OnnxBuilder(sg, shapes, {i: np.asarray(v) for i, v in ex.known.items()})
    sigs = [sg.tensors[i].shape_signature for i in sg.inputs]
    b.dynamic = all(len(s) and s[0] == -1 for s in sigs) if dynamic_batch is None else bool(dynamic_batch)
    for pos, k in enumerate(ex.kernels):
        if pos in live:
            b.add(k.node, k)
    names: dict[int, str] = {}
    for t in (*sg.inputs, *sg.outputs):
        base = sg.tensors[t].name or name(t)
        names[t] = base if base not in names.values() else f"{base}_{t}"
    proto = onnx.load_from_string(b.model(list(sg.inputs), list(sg.outputs), names,
                                          graph_name=sg.name or "numlite_export"))
    onnx.checker.check_model(proto)
    if path is not None:
        onnx.save(proto, path)
    return proto


#: recurrent ops: their converters and checks live in ``onnx_lstm``, which imports numlite's LSTM
#: kernels; it is imported on first use (it then replaces these entries with its own)
RECURRENT = ("UNIDIRECTIONAL_SEQUENCE_LSTM", "BIDIRECTIONAL_SEQUENCE_LSTM", "LSTM")


def _recurrent_check(op: Operator, sg: Subgraph) -> bool:
    from . import onnx_lstm  # noqa: F401

    return OWN_CHECKS[op.op_name](op, sg)


def _recurrent_convert(b: OnnxBuilder, op: Operator) -> None:
    from . import onnx_lstm  # noqa: F401

    CONVERTERS[op.op_name](b, op)


for _op in RECURRENT:
    CONVERTERS.setdefault(_op, _recurrent_convert)
    OWN_CHECKS.setdefault(_op, _recurrent_check)
