"""Weight-only post-training quantization of any float .tflite: float16 weights, and
dynamic-range (int8 weights, float activations), as TensorFlow's converter writes them.

    from numlite.quantize_weights import quantize_float16, quantize_dynamic_range
    small = quantize_float16(open("model.tflite", "rb").read())
    hybrid = quantize_dynamic_range(open("model.tflite", "rb").read())

Both read the model with numlite's verifying reader, rewrite its tables and write them with
numlite's writer; every subgraph is done, nothing else of the model (signatures, metadata,
other buffers, the associated files archive) changes, and LiteRT runs the result as it runs the converter's.

``quantize_float16`` (the converter's ``target_spec.supported_types = [tf.float16]``): every
float32 constant that an operator reads becomes a float16 constant (named ``<name>_fp16``)
behind a ``DEQUANTIZE`` (version 3) that writes the original tensor, placed first in its
subgraph (LiteRT and numlite evaluate those once, at prepare).  Values are rounded to nearest
even; a constant with a value beyond float16's range (65504), a sparse or variable one, or one
that is a subgraph input or output stays float32.  About half the size.

``quantize_dynamic_range`` (the converter's ``optimizations = [tf.lite.Optimize.DEFAULT]``
without a representative dataset): the weights TensorFlow's weight quantizers quantize (their
lists of op inputs, checked against LiteRT's ``quantize_weights.cc`` (the older quantizer), its
MLIR ``prepare_quantize_dynamic_range.cc`` and ``tfl_ops.td`` and ``op_version.cc``) become int8,
symmetric (``scale = max|w| / 127``, zero point 0, rounded half away from zero, clamped to
[-127, 127]).  Biases, layer-norm coefficients, the projection bias, states and activations stay
float32.  A weight becomes int8 in one of two forms:

* **hybrid** (``HYBRID_WEIGHTS``): the op reads the int8 constant and runs its hybrid kernel,
  which quantizes its input (and recurrent state) per batch row at run time;
* **weight-only** (``WEIGHT_ONLY``, and the fallback below): the int8 constant goes through a
  ``DEQUANTIZE`` (version 2, per-channel 5: ``op_version.cc``) placed before its first reader,
  which writes a float32 tensor (``<name>_dequantize``) that the op reads as before, running its
  float kernel on exactly ``float32(q * scale)``.  LiteRT and numlite evaluate such a DEQUANTIZE
  once, at prepare: the file shrinks, the arithmetic is float.  GATHER is the exception, as
  TensorFlow 2.21 writes it (``tests/data/tf/*_drq.tflite``): it reads the int8 table and writes
  int8 rows (``<output>_int8``, the table's scale; GATHER version 2) that a DEQUANTIZE turns
  into the original float output, so only the gathered rows are ever float.

=============================  ==================================  =============  =======  ========
op                             int8 inputs                         scales         version  form
=============================  ==================================  =============  =======  ========
CONV_2D                        1 (filter)                          per out chan.  5 (2)    hybrid
DEPTHWISE_CONV_2D              1 (filter)                          per channel    6        hybrid
FULLY_CONNECTED                1 (weights)                         per out row    12 (9)   hybrid
LSTM (FULL kernel)             1-8 gate, 9-11 peephole,            per tensor     4        hybrid
                               16 projection
UNIDIRECTIONAL_SEQUENCE_LSTM   the same                            per tensor     3        hybrid
BIDIRECTIONAL_SEQUENCE_LSTM    both directions' (1-11, 16, 18-28,  per tensor     3        hybrid
                               33), aux weights 40-47
RNN, UNIDIRECTIONAL_SEQ._RNN   1 input, 2 recurrent                per tensor     3        hybrid
BIDIRECTIONAL_SEQUENCE_RNN     1, 2, 5, 6, aux 10, 11              per tensor     3        hybrid
SVDF                           1 feature, 2 time                   per tensor     4        hybrid
BATCH_MATMUL                   1 (constant right-hand side)        per tensor     4        hybrid
EMBEDDING_LOOKUP               1 (the table; output float32)       per row        4 (3)    hybrid
TRANSPOSE_CONV                 1 (filter)                          per out chan.  as was   DEQUANT.
GATHER                         0 (the table, when constant)        per tensor     2        int8 rows
any of the hybrid ops above,   its passing weights                 per tensor /   as was   DEQUANT.
when it cannot be hybrid                                           out chan.
=============================  ==================================  =============  =======  ========

Hybrid ops but the convolutions and EMBEDDING_LOOKUP get ``asymmetric_quantize_inputs``
(TensorFlow sets it on every hybrid op whose options have it; the versions are those
``op_version.cc`` gives that form; FULLY_CONNECTED is version 12 when its scales are per row,
one row included, 9 with one scale).  ``per_channel=False``: one scale for every weight (the
versions in brackets), except DEPTHWISE_CONV_2D's hybrid filter (LiteRT's hybrid kernel takes no
other form); the recurrent ops and BATCH_MATMUL are per tensor always (TensorFlow's rule: they
have no quantized dimension).  Weight-only ops keep their version and options.

The threshold (``min_elements``, the converter's 1024) applies to each weight tensor, and an op
is hybrid only when every int8 input it has (absent optional ones aside) passes it: the hybrid
kernels take no float weight beside int8 ones.  ``weight_only`` says what happens otherwise:

* ``"fallback"`` (the default; TensorFlow's older quantizer, the behaviour of both for
  TRANSPOSE_CONV and GATHER): TRANSPOSE_CONV and GATHER are weight-only, and a hybrid op that
  cannot be hybrid (a weight below the threshold, not constant or not finite; diagonal recurrent
  weights) keeps its float kernel with its passing weights int8 behind DEQUANTIZE (per channel:
  the convolutions' and FULLY_CONNECTED's output channels; the rows of a recurrent op's or
  SVDF's 2-D weight matrices, one gate unit or filter each; BATCH_MATMUL's last axis; 1-D
  weights such as peepholes one scale: TensorFlow's older quantizer uses one scale for all of
  these, which the float kernel does not need and which is further from float).  So a peephole LSTM of fewer
  than 1024 cells has its gate weights int8 behind DEQUANTIZE and its peepholes float;
  TensorFlow's MLIR quantizer (the converter's default since 2.x) leaves such a
  UNIDIRECTIONAL_SEQUENCE_LSTM all float instead (``lstm_drq.tflite``), and writes other
  partly passing ops with int8 and float weights mixed, a form their hybrid kernels are not
  written for (LiteRT's hybrid SVDF reads its time weights as int8 whatever their type);
* ``"none"``: numlite's earlier behaviour: only hybrid ops change; TRANSPOSE_CONV, GATHER and
  the ops that cannot be hybrid stay float32;
* ``"all"`` (TensorFlow's ``weight_only_quantization``): no hybrid op: every op of the table
  above is weight-only, per channel as in ``"fallback"`` (CONV_2D, FULLY_CONNECTED,
  TRANSPOSE_CONV: 0, DEPTHWISE_CONV_2D: 3, EMBEDDING_LOOKUP: rows, 2-D recurrent and SVDF
  weights: rows, BATCH_MATMUL: last axis); the float kernels then compute on the rounded weights
  exactly.

Left float in every mode: an op whose input (EMBEDDING_LOOKUP: output) is not float32 (hybrid
form), shuffled FULLY_CONNECTED weights, the BASIC LSTM kernel (its inputs are not those
slots), a runtime BATCH_MATMUL right-hand side or GATHER table, non-finite weights, and ops
neither quantizer lists (CONV_3D, CONV_3D_TRANSPOSE, a BATCH_MATMUL's constant left-hand side,
MUL / ADD operands...).  Where TensorFlow differs: EMBEDDING_LOOKUP's table is hybrid here
(LiteRT's int8 lookup with one scale per row) where the MLIR quantizer keeps it behind a
DEQUANTIZE and the older one passes int8 rows to a DEQUANTIZE; BIDIRECTIONAL_SEQUENCE_RNN is
quantized as the older quantizer does (the MLIR converter has no such op).  LiteRT 2.3 runs a
time-major hybrid BIDIRECTIONAL_SEQUENCE_RNN's recurrence T times per invoke
(``numlite.ops.bidirectional_sequence_rnn``), so that model is not the float one; numlite
writes it as TensorFlow does and runs it as LiteRT does.  LiteRT 2.3's BUILTIN_REF resolver has
no UNIDIRECTIONAL_SEQUENCE_LSTM version 4 (diagonal), its default one has.

A weight tensor that something else reads as float32 too (another op, the subgraph's inputs or
outputs) gets an int8 copy of its own (``<name>_int8``; ``_int8_1``... when readers want other
scales, e.g. a table that is GATHER's and a FULLY_CONNECTED's); otherwise the tensor itself
becomes int8.  A tensor one op reads in two slots is quantized once, and a DEQUANTIZE is shared
by all its readers.  About a quarter of the size of the weights; each DEQUANTIZE adds about
200 bytes to the file.

Both refuse, with ``QuantizationError``, a model that is already quantized (quantized int8 /
uint8 / int16 tensors, float16 constants, QUANTIZE / DEQUANTIZE ops:
:func:`numlite.quantize.already_quantized`) and a model with nothing to quantize (no float32
weights, or no matching op; ``quantize_dynamic_range`` names each op it left float and why), and
write nothing partial: they return bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .builder import _union_index
from .graph import BUILTIN_CODES, BUILTIN_OPS, load_model
from .metadata import carry_over
from .quantize import QuantizationError, _quantize_weights, already_quantized, depthwise_multiplier
from .schema.reader import read_model_table
from .schema.writer import write_model

__all__ = ["HYBRID_WEIGHTS", "WEIGHT_ONLY", "WEIGHT_ONLY_MODES", "HybridWeights", "WeightOnly",
           "quantize_dynamic_range", "quantize_float16"]

FLOAT32, FLOAT16, INT8 = 0, 1, 9  # TensorType codes
F16_MAX = float(np.finfo(np.float16).max)


@dataclass(frozen=True)
class HybridWeights:
    """How ``quantize_dynamic_range`` makes one op hybrid."""

    #: the input slots of the weights the hybrid kernel reads as int8 (absent optional ones: -1)
    slots: tuple[int, ...]
    #: the per-channel axis of the weights, or None: always one scale per tensor
    axis: int | None
    #: the op version with per-channel weights, and with per-tensor weights
    v_channel: int
    v_tensor: int
    #: the options field ``asymmetric_quantize_inputs`` is set (TensorFlow's converter does)
    asymmetric: bool = True
    #: the value input whose dtype must be float32 (the op's input; for a lookup, its output)
    float_input: int = 0


_LSTM_SLOTS = (*range(1, 12), 16)  # input-to-gate, recurrent, peephole, projection weights
_BIDI_LSTM_SLOTS = (*range(1, 12), 16, *range(18, 29), 33, *range(40, 48))  # both directions, aux weights
#: op -> how its weights become int8 (module docstring); TensorFlow's weight quantizer's lists
HYBRID_WEIGHTS: dict[str, HybridWeights] = {
    "CONV_2D": HybridWeights((1,), 0, 5, 2, asymmetric=False),
    "DEPTHWISE_CONV_2D": HybridWeights((1,), 3, 6, 6, asymmetric=False),
    "FULLY_CONNECTED": HybridWeights((1,), 0, 12, 9),
    "LSTM": HybridWeights(_LSTM_SLOTS, None, 4, 4),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": HybridWeights(_LSTM_SLOTS, None, 3, 3),
    "BIDIRECTIONAL_SEQUENCE_LSTM": HybridWeights(_BIDI_LSTM_SLOTS, None, 3, 3),
    "RNN": HybridWeights((1, 2), None, 3, 3),
    "UNIDIRECTIONAL_SEQUENCE_RNN": HybridWeights((1, 2), None, 3, 3),
    "BIDIRECTIONAL_SEQUENCE_RNN": HybridWeights((1, 2, 5, 6, 10, 11), None, 3, 3),
    "SVDF": HybridWeights((1, 2), None, 4, 4),
    "BATCH_MATMUL": HybridWeights((1,), None, 4, 4),
    "EMBEDDING_LOOKUP": HybridWeights((1,), 0, 4, 3, asymmetric=False, float_input=-1),
}
#: the options table of the ops whose ``asymmetric_quantize_inputs`` is set (for an op written without one)
OPTIONS_TABLES = {"FULLY_CONNECTED": "FullyConnectedOptions", "LSTM": "LSTMOptions",
                  "UNIDIRECTIONAL_SEQUENCE_LSTM": "UnidirectionalSequenceLSTMOptions",
                  "BIDIRECTIONAL_SEQUENCE_LSTM": "BidirectionalSequenceLSTMOptions", "RNN": "RNNOptions",
                  "UNIDIRECTIONAL_SEQUENCE_RNN": "SequenceRNNOptions",
                  "BIDIRECTIONAL_SEQUENCE_RNN": "BidirectionalSequenceRNNOptions", "SVDF": "SVDFOptions",
                  "BATCH_MATMUL": "BatchMatMulOptions"}


class _Rewriter:
    """The model's tables as mutable dicts and lists, and helpers to add buffers, tensors and op
    codes."""

    def __init__(self, model: bytes, what: str):
        if not isinstance(model, (bytes, bytearray, memoryview)):
            raise TypeError(f"the model must be the .tflite file's bytes, not {type(model).__name__}")
        self.source = bytes(model)
        #: the model as numlite loads it (the whole verifier, buffer bounds too: ModelError); its
        #: tensors' float32 values are what the passes quantize
        self.model = load_model(model_content=self.source)
        why = already_quantized(self.model)
        if why:
            raise QuantizationError(f"{what}: the model is already quantized: {why}; start from the float32 model")
        #: per subgraph, the tensors an op writes: not constants, whatever buffer they have (an op
        #: may write over a tensor with data; LiteRT runs such a model too)
        self.written = [{o for op in sg.operators for o in op.outputs} for sg in self.model.subgraphs]
        root = read_model_table(self.source)
        self.root: dict[str, Any] = dict(root)
        self.buffers: list[dict[str, Any]] = [dict(b) for b in root.get("buffers") or []]
        self.codes: list[dict[str, Any]] = [dict(c) for c in root.get("operator_codes") or []]
        self.subgraphs: list[dict[str, Any]] = []
        for sg in root.get("subgraphs") or []:
            s = dict(sg)
            s["tensors"] = [dict(t) for t in sg.get("tensors") or []]
            s["operators"] = [dict(o) for o in sg.get("operators") or []]
            self.subgraphs.append(s)

    def op_name(self, op: dict[str, Any]) -> str:
        c = self.codes[int(op.get("opcode_index") or 0)]
        code = max(int(c.get("builtin_code") or 0), int(c.get("deprecated_builtin_code") or 0))
        return BUILTIN_OPS.get(code, "")

    def code(self, name: str, version: int) -> int:
        """The index of op code ``name`` at ``version`` (added when missing)."""
        b = BUILTIN_CODES[name]
        for i, c in enumerate(self.codes):
            if c.get("custom_code") is None and max(int(c.get("builtin_code") or 0),
                                                    int(c.get("deprecated_builtin_code") or 0)) == b \
                    and int(c.get("version") or 1) == version:
                return i
        self.codes.append({"builtin_code": b, "deprecated_builtin_code": min(b, 127), "version": version})
        return len(self.codes) - 1

    def buffer(self, data: np.ndarray) -> int:
        self.buffers.append({"data": np.ascontiguousarray(data).reshape(-1).view(np.uint8)})
        return len(self.buffers) - 1

    def data(self, si: int, ti: int) -> np.ndarray | None:
        """The float32 constant value of tensor ``ti`` of subgraph ``si`` as the model has it
        (None: not a dense float32 constant, or one that an op writes)."""
        tensors = self.model.subgraphs[si].tensors
        t = tensors[ti] if ti < len(tensors) else None
        if t is None or t.type_name != "FLOAT32" or t.sparsity is not None or t.data is None or \
                ti in self.written[si]:
            return None
        return np.asarray(t.data)

    def write(self) -> bytes:
        """The model's bytes; buffers no tensor or metadata entry refers to any more (the float
        weights replaced) are emptied, their indices kept."""
        used = {int(t.get("buffer") or 0) for sg in self.subgraphs for t in sg["tensors"]}
        used |= {int(m.get("buffer") or 0) for m in self.root.get("metadata") or []}
        self.buffers = [b if i in used or i == 0 else {} for i, b in enumerate(self.buffers)]
        root = dict(self.root)
        root["buffers"], root["operator_codes"], root["subgraphs"] = self.buffers, self.codes, self.subgraphs
        # the metadata entries are in the tables; the associated files (labels...) are the zip
        # archive appended to the file, which re-serialising drops: appended again
        return carry_over(self.source, write_model(root, source=self.source))


def _readers(sg: dict[str, Any]) -> dict[int, list[tuple[int, int]]]:
    """tensor -> [(operator position, input slot)]"""
    out: dict[int, list[tuple[int, int]]] = {}
    for p, op in enumerate(sg["operators"]):
        for k, t in enumerate(op.get("inputs") if op.get("inputs") is not None else ()):
            if int(t) >= 0:
                out.setdefault(int(t), []).append((p, k))
    return out


def quantize_float16(model: bytes) -> bytes:
    """The model with its float32 constants as float16 behind DEQUANTIZE (module docstring)."""
    rw = _Rewriter(model, "float16 quantization")
    done = 0
    for si, sg in enumerate(rw.subgraphs):
        readers = _readers(sg)
        boundary = {int(t) for t in (*(sg.get("inputs") if sg.get("inputs") is not None else ()),
                                     *(sg.get("outputs") if sg.get("outputs") is not None else ()))}
        dequantize: list[dict[str, Any]] = []
        for ti, t in enumerate(list(sg["tensors"])):
            if ti not in readers or ti in boundary or t.get("is_variable"):
                continue
            w = rw.data(si, ti)
            if w is None or not w.size or not np.all(np.abs(w) <= F16_MAX):
                continue
            half = {"name": f"{t.get('name') or ti}_fp16", "shape": t.get("shape"), "type": FLOAT16,
                    "buffer": rw.buffer(w.astype(np.float16))}
            if t.get("shape_signature") is not None:
                half["shape_signature"] = t.get("shape_signature")
            sg["tensors"].append(half)
            t["buffer"] = 0
            dequantize.append({"opcode_index": rw.code("DEQUANTIZE", 3), "inputs": [len(sg["tensors"]) - 1],
                               "outputs": [ti]})
            done += 1
        sg["operators"] = dequantize + sg["operators"]
    if not done:
        raise QuantizationError("float16 quantization: the model has no float32 constant that an operator reads "
                                "(already quantized?)")
    return rw.write()


@dataclass(frozen=True)
class WeightOnly:
    """How ``quantize_dynamic_range`` quantizes the weights of an op without a hybrid kernel."""

    #: the input slots of the weights
    slots: tuple[int, ...]
    #: the per-channel axis of the weights (the consumer's output channels), or None: per tensor
    axis: int | None
    #: the op reads the int8 weight and writes int8 (same scale), a DEQUANTIZE follows its output
    through: bool = False


#: op -> its weights stored int8 behind a DEQUANTIZE (``weight_only="fallback"``); TensorFlow's
#: lists of ops whose quantizable weights have no hybrid kernel
WEIGHT_ONLY: dict[str, WeightOnly] = {
    "TRANSPOSE_CONV": WeightOnly((1,), 0),
    "GATHER": WeightOnly((0,), None, through=True),
}
WEIGHT_ONLY_MODES = ("none", "fallback", "all")

# per-channel axes of the hybrid ops' weights behind a DEQUANTIZE (weight_only="all")
_DQ_AXES = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 0, "EMBEDDING_LOOKUP": 0}


def _dq_axis(rw: _Rewriter, si: int, name: str, ti: int) -> int | None:
    """The per-channel axis of a weight a float kernel reads behind a DEQUANTIZE: the op's output
    channels (``_DQ_AXES``); for the recurrent ops and SVDF the rows of a 2-D weight matrix (one
    gate's units, the projection's outputs, a filter), for BATCH_MATMUL the right side's last axis.
    Not for 1-D weights (peepholes: a scale per value would outweigh the int8 saving)."""
    if name in _DQ_AXES:
        return _DQ_AXES[name]
    w = rw.data(si, ti)
    if w is None or w.ndim < 2:
        return None
    return w.ndim - 1 if name == "BATCH_MATMUL" else 0


def _op_refusal(name: str, op: dict[str, Any]) -> str | None:
    """Why no weight of hybrid-listed ``op`` can be quantized in any form (None: some may): its
    slots are not those weights."""
    options = op.get("builtin_options") or {}
    if name == "FULLY_CONNECTED" and int(options.get("weights_format") or 0):
        return "shuffled weights"
    if name == "LSTM" and int(options.get("kernel_type") or 0):
        return "the BASIC kernel has no hybrid form"
    return None


def _hybrid_refusal(rw: _Rewriter, si: int, name: str, op: dict[str, Any], spec: HybridWeights) -> str | None:
    """Why ``op`` cannot run its hybrid kernel whatever its weights (None: it can)."""
    sg = rw.subgraphs[si]
    ins = [int(i) for i in (op.get("inputs") if op.get("inputs") is not None else ())]
    outs = [int(i) for i in (op.get("outputs") if op.get("outputs") is not None else ())]
    value = (outs[0] if outs else -1) if spec.float_input < 0 else (ins[0] if ins else -1)
    if value < 0 or int(sg["tensors"][value].get("type") or 0) != FLOAT32:
        return "its input (output) is not float32"
    options = op.get("builtin_options") or {}
    if name == "UNIDIRECTIONAL_SEQUENCE_LSTM" and options.get("diagonal_recurrent_tensors"):
        return "diagonal recurrent weights"
    if name == "CONV_2D" and len(ins) > 2 and ins[2] >= 0:  # the hybrid kernel folds its bias at prepare
        b = sg["tensors"][ins[2]]
        if b.get("is_variable") or rw.data(si, ins[2]) is None:
            return "its bias is not a float32 constant"
    return None


def _weight_refusal(rw: _Rewriter, si: int, ti: int, min_elements: int) -> str | None:
    """Why weight tensor ``ti`` stays float32 (None: it becomes int8)."""
    t = rw.subgraphs[si]["tensors"][ti]
    w = rw.data(si, ti) if int(t.get("type") or 0) == FLOAT32 and not t.get("is_variable") else None
    if w is None:
        return f"weight {t.get('name')!r} is not a float32 constant"
    if w.size < max(int(min_elements), 1):
        return f"weight {t.get('name')!r} has {w.size} values, fewer than {min_elements}"
    if not np.all(np.isfinite(w)):
        return f"weight {t.get('name')!r} is not finite"
    return None


def _rank_refusal(rw: _Rewriter, si: int, ti: int, axis: int | None) -> str | None:
    """Why weight ``ti`` cannot take one scale per entry along ``axis`` (its op's channels): it has
    no such axis (a file whose op reads a tensor of another rank there)."""
    w = rw.data(si, ti)
    if axis is None or w is None or axis < w.ndim:
        return None
    t = rw.subgraphs[si]["tensors"][ti]
    return f"weight {t.get('name')!r} of rank {w.ndim} has no axis {axis} (its op's channels)"


@dataclass
class _Use:
    """One op input slot reading a weight that becomes int8."""

    p: int  # operator position
    slot: int
    kind: str  # "hybrid" (reads the int8 tensor), "dq" (reads a DEQUANTIZE of it), "through" (GATHER)
    axis: int | None  # per-channel axis, or None: one scale


def _plan_op(rw: _Rewriter, si: int, p: int, op: dict[str, Any], min_elements: int, per_channel: bool,
             weight_only: str) -> tuple[list[_Use], str | None]:
    """The weights of op ``p`` that become int8 and how its reads change; and why it (or some
    of its weights) stays float."""
    name = rw.op_name(op)
    ins = [int(i) for i in (op.get("inputs") if op.get("inputs") is not None else ())]
    spec, wo = HYBRID_WEIGHTS.get(name), WEIGHT_ONLY.get(name)
    if spec is None and wo is None:
        return [], None
    if spec is not None:
        fatal = _op_refusal(name, op)
        if fatal:
            return [], fatal
        present = [k for k in spec.slots if k < len(ins) and ins[k] >= 0]
        if not present:
            return [], "no weights"
        whys = {k: _weight_refusal(rw, si, ins[k], min_elements) for k in present}
        first = next((w for w in whys.values() if w), None)
        if weight_only != "all":
            channels = spec.axis is not None and (per_channel or name == "DEPTHWISE_CONV_2D")
            axis = spec.axis if channels else None
            why = _hybrid_refusal(rw, si, name, op, spec) or first or next(
                (w for w in (_rank_refusal(rw, si, ins[k], axis) for k in present) if w), None)
            if why is None:
                return [_Use(p, k, "hybrid", axis) for k in present], None
            if weight_only == "none" or why == "its input (output) is not float32":
                return [], why
        axes = {k: _dq_axis(rw, si, name, ins[k]) if per_channel else None for k in present}
        whys = {k: whys[k] or _rank_refusal(rw, si, ins[k], axes[k]) for k in present}
        first = next((w for w in whys.values() if w), None)
        uses = [_Use(p, k, "dq", axes[k]) for k in present if whys[k] is None]
        return uses, (None if uses and not first else first)
    if weight_only == "none":
        return [], None
    present = [k for k in wo.slots if k < len(ins) and ins[k] >= 0]
    axis = wo.axis if per_channel else None
    whys = {k: _weight_refusal(rw, si, ins[k], min_elements) or _rank_refusal(rw, si, ins[k], axis) for k in present}
    first = next((w for w in whys.values() if w), None)
    if wo.through:
        outs = [int(i) for i in (op.get("outputs") if op.get("outputs") is not None else ())]
        if len(outs) != 1 or int(rw.subgraphs[si]["tensors"][outs[0]].get("type") or 0) != FLOAT32:
            return [], "its output is not float32"
    return [_Use(p, k, "through" if wo.through else "dq", axis) for k in present if whys[k] is None], first


def _tensor_like(t: dict[str, Any], name: str, type_: int, **extra: Any) -> dict[str, Any]:
    out = {"name": name, "shape": t.get("shape"), "type": type_, **extra}
    if t.get("shape_signature") is not None:
        out["shape_signature"] = t.get("shape_signature")
    return out


def _dequantize_version(scales: np.ndarray) -> int:
    """op_version.cc: int8 input 2, per-channel int8 (several scales) 5."""
    return 5 if scales.size > 1 else 2


def quantize_dynamic_range(model: bytes, *, min_elements: int = 1024, per_channel: bool = True,
                           weight_only: str = "fallback") -> bytes:
    """The model with int8 weights: hybrid ops (``HYBRID_WEIGHTS``), and int8 constants behind
    DEQUANTIZE where no hybrid kernel takes them (module docstring).

    Args:
      model: the float32 .tflite model's bytes.
      min_elements: the fewest values a weight tensor needs to become int8 (TensorFlow's 1024).
      per_channel: one scale per output channel where the op has a channel axis (else one per
        tensor).
      weight_only: ``"fallback"`` (TensorFlow's behaviour): the weights of TRANSPOSE_CONV and
        GATHER, and those of a hybrid-listed op that cannot be hybrid because some of its weights
        stay float32, become int8 behind a DEQUANTIZE; ``"none"``: those stay float32 (only
        hybrid ops change); ``"all"``: no hybrid op, every listed op's weights behind DEQUANTIZE
        (float kernels, int8-rounded weights).
    """
    if weight_only not in WEIGHT_ONLY_MODES:
        raise ValueError(f"weight_only must be one of {', '.join(WEIGHT_ONLY_MODES)}, not {weight_only!r}")
    rw = _Rewriter(model, "dynamic-range quantization")
    done, skipped = 0, []
    for si, sg in enumerate(rw.subgraphs):
        readers = _readers(sg)
        boundary = {int(t) for t in (*(sg.get("inputs") if sg.get("inputs") is not None else ()),
                                     *(sg.get("outputs") if sg.get("outputs") is not None else ()))}
        uses: dict[int, list[_Use]] = {}  # weight tensor -> the reads that become int8
        for p, op in enumerate(sg["operators"]):
            planned, why = _plan_op(rw, si, p, op, min_elements, per_channel, weight_only)
            if not planned:
                if why is not None:
                    skipped.append(f"{rw.op_name(op)} (subgraph {si}, node {p}): {why}")
                continue
            done += 1
            ins = [int(i) for i in op["inputs"]]
            for u in planned:
                uses.setdefault(ins[u.slot], []).append(u)
            if planned[0].kind == "hybrid":
                name = rw.op_name(op)
                spec = HYBRID_WEIGHTS[name]
                if spec.asymmetric:
                    options = dict(op.get("builtin_options") or {})
                    options["asymmetric_quantize_inputs"] = True
                    op["builtin_options"] = options
                    if not op.get("builtin_options_type"):
                        op["builtin_options_type"] = _union_index(OPTIONS_TABLES[name])[1]
                if name == "DEPTHWISE_CONV_2D":
                    multiplier = depthwise_multiplier(sg["tensors"][ins[0]].get("shape"),
                                                      sg["tensors"][ins[1]].get("shape"))
                    if multiplier is not None:
                        options = dict(op.get("builtin_options") or {})
                        options["depth_multiplier"] = multiplier
                        op["builtin_options"] = options
                current = int(rw.codes[int(op.get("opcode_index") or 0)].get("version") or 1)
                channels = planned[0].axis is not None
                if name == "FULLY_CONNECTED":  # op_version.cc: one scale per row, one row included
                    shape = sg["tensors"][ins[1]].get("shape")
                    channels = channels or (shape is not None and len(shape) > 0 and int(shape[0]) == 1)
                op["opcode_index"] = rw.code(name, max(current, spec.v_channel if channels else spec.v_tensor))
        before: dict[int, list[dict[str, Any]]] = {}  # DEQUANTIZEs placed before / after an operator
        after: dict[int, list[dict[str, Any]]] = {}
        for ti, tu in uses.items():
            _rewire(rw, si, ti, tu, readers, boundary, before, after)
        ops = []
        for p, op in enumerate(sg["operators"]):
            ops += [*before.get(p, ()), op, *after.get(p, ())]
        sg["operators"] = ops
    if not done:
        found = "; ".join(skipped[:6]) + (f"; and {len(skipped) - 6} more" if len(skipped) > 6 else "")
        listed = [*HYBRID_WEIGHTS, *(WEIGHT_ONLY if weight_only != "none" else ())]
        raise QuantizationError(f"dynamic-range quantization: no {', '.join(listed)} with float32 constant weights "
                                f"of at least {min_elements} values each"
                                + (f": {found}" if found else ": the model has none"))
    return rw.write()


def _rewire(rw: _Rewriter, si: int, ti: int, tu: list[_Use], readers: dict[int, list[tuple[int, int]]],
            boundary: set[int], before: dict[int, list[dict[str, Any]]],
            after: dict[int, list[dict[str, Any]]]) -> None:
    """Make float weight ``ti`` int8 for the reads ``tu``: one int8 tensor per quantization axis
    (the weight itself when nothing else reads the float values: no other op, not a subgraph
    input or output), read directly by hybrid ops, through one DEQUANTIZE by the others; a
    GATHER reads it and writes int8 rows that a DEQUANTIZE turns into its float output."""
    sg = rw.subgraphs[si]
    t = dict(sg["tensors"][ti])
    name = t.get("name") or f"w{ti}"
    w = rw.data(si, ti)
    covered = {(u.p, u.slot) for u in tu}
    float_use = ti in boundary or any(r not in covered for r in readers.get(ti, ()))
    axes = list(dict.fromkeys(u.axis for u in tu))
    for k, axis in enumerate(axes):
        q, scales = _quantize_weights(w, axis or 0, axis is not None)
        quant = {"scale": scales.astype(np.float32), "zero_point": np.zeros(scales.size, np.int64),
                 "quantized_dimension": axis or 0}
        qt = _tensor_like(t, name, INT8, buffer=rw.buffer(q), quantization=quant)
        if k == 0 and not float_use:
            sg["tensors"][ti] = qt
            qi = ti
        else:
            qt["name"] = f"{name}_int8" + (f"_{k}" if k else "")
            sg["tensors"].append(qt)
            qi = len(sg["tensors"]) - 1
        group = [u for u in tu if u.axis == axis]
        dq_out = None
        for u in sorted(group, key=lambda u: u.p):
            op = sg["operators"][u.p]
            ins = [int(i) for i in op["inputs"]]
            if u.kind == "hybrid":
                ins[u.slot] = qi
            elif u.kind == "dq":
                if dq_out is None:
                    sg["tensors"].append(_tensor_like(t, f"{name}_dequantize" + (f"_{k}" if k else ""), FLOAT32,
                                                      buffer=0))
                    dq_out = len(sg["tensors"]) - 1
                    before.setdefault(u.p, []).append(
                        {"opcode_index": rw.code("DEQUANTIZE", _dequantize_version(scales)), "inputs": [qi],
                         "outputs": [dq_out]})
                ins[u.slot] = dq_out
            else:  # through: GATHER of int8 rows, then DEQUANTIZE into the original output
                ins[u.slot] = qi
                out = int(op["outputs"][0])
                ot = sg["tensors"][out]
                sg["tensors"].append(_tensor_like(ot, f"{ot.get('name') or out}_int8", INT8,
                                                  buffer=0, quantization=dict(quant)))
                op["outputs"] = [len(sg["tensors"]) - 1]
                after.setdefault(u.p, []).append(
                    {"opcode_index": rw.code("DEQUANTIZE", _dequantize_version(scales)),
                     "inputs": [len(sg["tensors"]) - 1], "outputs": [out]})
                current = int(rw.codes[int(op.get("opcode_index") or 0)].get("version") or 1)
                op["opcode_index"] = rw.code(rw.op_name(op), max(current, 2))
            op["inputs"] = ins
