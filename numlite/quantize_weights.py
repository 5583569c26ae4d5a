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
without a representative dataset): the weights of the ops TensorFlow's weight quantizer makes
hybrid (``HYBRID_WEIGHTS``: its lists of op inputs, checked against LiteRT's
``quantize_weights.cc``, its MLIR ``prepare_quantize_dynamic_range.cc`` and ``op_version.cc``)
become int8, symmetric (``scale = max|w| / 127``, zero point 0, rounded half away from zero,
clamped to [-127, 127]); biases, layer-norm coefficients, the projection bias, states and
activations stay float32, and the ops run their hybrid kernels, which quantize
their input (and recurrent state) per batch row at run time.

=============================  ==========================================  =============  =======
op                             int8 inputs                                 scales         version
=============================  ==========================================  =============  =======
CONV_2D                        1 (filter)                                  per out chan.  5 (2)
DEPTHWISE_CONV_2D              1 (filter)                                  per channel    6
FULLY_CONNECTED                1 (weights)                                 per out row    9
LSTM (FULL kernel)             1-8 gate, 9-11 peephole, 16 projection      per tensor     4
UNIDIRECTIONAL_SEQUENCE_LSTM   the same                                    per tensor     3
BIDIRECTIONAL_SEQUENCE_LSTM    both directions' (1-11, 16, 18-28, 33),     per tensor     3
                               aux weights 40-47
RNN, UNIDIRECTIONAL_SEQ._RNN   1 input, 2 recurrent                        per tensor     3
BIDIRECTIONAL_SEQUENCE_RNN     1, 2, 5, 6, aux 10, 11                      per tensor     3
SVDF                           1 feature, 2 time                           per tensor     4
BATCH_MATMUL                   1 (constant right-hand side)                per tensor     4
EMBEDDING_LOOKUP               1 (the table; output float32)               per row        4 (3)
=============================  ==========================================  =============  =======

All but the convolutions and EMBEDDING_LOOKUP get ``asymmetric_quantize_inputs`` (TensorFlow sets
it on every hybrid op whose options have it; the versions are those ``op_version.cc`` gives that
form).  ``per_channel=False``: one scale for CONV_2D, FULLY_CONNECTED and EMBEDDING_LOOKUP (the
versions in brackets); DEPTHWISE_CONV_2D is per channel always (LiteRT's hybrid kernel takes no
other form), the recurrent ops and BATCH_MATMUL per tensor always (TensorFlow's rule: they have
no quantized dimension).

The threshold (``min_elements``, the converter's 1024) applies to each weight tensor, and an op
is hybrid only when every int8 input it has (absent optional ones aside) passes it: the hybrid
kernels take no float weight beside int8 ones, TensorFlow's MLIR quantizer skips a
UNIDIRECTIONAL_SEQUENCE_LSTM with one small weight, and its older quantizer puts any such op back
in float behind DEQUANTIZE ops; numlite leaves it float32.  So a peephole LSTM of fewer than
1024 cells, or an SVDF whose time weights are small, stays float at the default threshold.  Also
left float: an op whose input (EMBEDDING_LOOKUP: output) is not float32, shuffled FULLY_CONNECTED
weights, the BASIC LSTM kernel, diagonal recurrent weights (UNIDIRECTIONAL_SEQUENCE_LSTM version
4), a runtime BATCH_MATMUL right-hand side, non-finite weights.  Where TensorFlow differs:
EMBEDDING_LOOKUP's table is hybrid here (LiteRT's int8 lookup with one scale per row) where the
MLIR quantizer keeps it behind a DEQUANTIZE and the older one passes int8 rows to a DEQUANTIZE;
BIDIRECTIONAL_SEQUENCE_RNN is quantized as the older quantizer does (the MLIR converter has no
such op).  LiteRT 2.3 runs a time-major hybrid BIDIRECTIONAL_SEQUENCE_RNN's recurrence T times
per invoke (``numlite.ops.bidirectional_sequence_rnn``), so that model is not the float one;
numlite writes it as TensorFlow does and runs it as LiteRT does.

A weight tensor another op reads too gets an int8 copy of its own (``<name>_int8``); a tensor one
op reads in two slots is quantized once.  About a quarter of the size of the weights.

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
from .quantize import QuantizationError, _quantize_weights, already_quantized
from .schema.reader import read_model_table
from .schema.writer import write_model

__all__ = ["HYBRID_WEIGHTS", "HybridWeights", "quantize_dynamic_range", "quantize_float16"]

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
    "FULLY_CONNECTED": HybridWeights((1,), 0, 9, 9),
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
        (None: not a dense float32 constant)."""
        tensors = self.model.subgraphs[si].tensors
        t = tensors[ti] if ti < len(tensors) else None
        if t is None or t.type_name != "FLOAT32" or t.sparsity is not None or t.data is None:
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


def _unquantizable(rw: _Rewriter, si: int, name: str, op: dict[str, Any], spec: HybridWeights,
                   min_elements: int) -> str | None:
    """Why ``op`` stays float (None: its weights become int8).  Every weight the hybrid kernel
    reads must pass (TensorFlow's MLIR quantizer's rule for UNIDIRECTIONAL_SEQUENCE_LSTM; the
    hybrid kernels take no float weight beside int8 ones, and TensorFlow's older quantizer puts
    such an op back in float behind DEQUANTIZE ops)."""
    sg = rw.subgraphs[si]
    ins = [int(i) for i in (op.get("inputs") if op.get("inputs") is not None else ())]
    outs = [int(i) for i in (op.get("outputs") if op.get("outputs") is not None else ())]
    value = (outs[0] if outs else -1) if spec.float_input < 0 else (ins[0] if ins else -1)
    if value < 0 or int(sg["tensors"][value].get("type") or 0) != FLOAT32:
        return "its input (output) is not float32"
    options = op.get("builtin_options") or {}
    if name == "FULLY_CONNECTED" and int(options.get("weights_format") or 0):
        return "shuffled weights"
    if name == "LSTM" and int(options.get("kernel_type") or 0):
        return "the BASIC kernel has no hybrid form"
    if name == "UNIDIRECTIONAL_SEQUENCE_LSTM" and options.get("diagonal_recurrent_tensors"):
        return "diagonal recurrent weights"
    present = [ins[k] for k in spec.slots if k < len(ins) and ins[k] >= 0]
    if not present:
        return "no weights"
    for ti in present:
        t = sg["tensors"][ti]
        w = rw.data(si, ti) if int(t.get("type") or 0) == FLOAT32 else None
        if w is None:
            return f"weight {t.get('name')!r} is not a float32 constant"
        if w.size < max(int(min_elements), 1):
            return f"weight {t.get('name')!r} has {w.size} values, fewer than {min_elements}"
        if not np.all(np.isfinite(w)):
            return f"weight {t.get('name')!r} is not finite"
    return None


def quantize_dynamic_range(model: bytes, *, min_elements: int = 1024, per_channel: bool = True) -> bytes:
    """The model with int8 weights in the ops of ``HYBRID_WEIGHTS`` (module docstring)."""
    rw = _Rewriter(model, "dynamic-range quantization")
    done, skipped = 0, []
    for si, sg in enumerate(rw.subgraphs):
        readers = _readers(sg)
        for p, op in enumerate(sg["operators"]):
            name = rw.op_name(op)
            spec = HYBRID_WEIGHTS.get(name)
            why = None if spec is None else _unquantizable(rw, si, name, op, spec, min_elements)
            if why is not None:
                skipped.append(f"{name} (subgraph {si}, node {p}): {why}")
            if spec is None or why is not None:
                continue
            channels = spec.axis is not None and (per_channel or name == "DEPTHWISE_CONV_2D")
            axis = spec.axis if channels else 0
            ins = [int(i) for i in op["inputs"]]
            made: dict[int, int] = {}  # float tensor -> its int8 twin (a weight in two slots)
            for slot in spec.slots:
                if slot >= len(ins) or ins[slot] < 0:
                    continue
                ti = ins[slot]
                if ti in made:
                    ins[slot] = made[ti]
                    continue
                t = sg["tensors"][ti]
                q, scales = _quantize_weights(rw.data(si, ti), axis, channels)
                qt = {"name": t.get("name") or f"w{ti}", "shape": t.get("shape"), "type": INT8,
                      "buffer": rw.buffer(q),
                      "quantization": {"scale": scales.astype(np.float32),
                                       "zero_point": np.zeros(scales.size, np.int64), "quantized_dimension": axis}}
                if t.get("shape_signature") is not None:
                    qt["shape_signature"] = t.get("shape_signature")
                if len(readers.get(ti, ())) == 1:
                    sg["tensors"][ti] = qt  # the only reader: the tensor itself becomes int8
                    made[ti] = ti
                else:
                    qt["name"] = f"{qt['name']}_int8"
                    sg["tensors"].append(qt)
                    made[ti] = ins[slot] = len(sg["tensors"]) - 1
            op["inputs"] = ins
            if spec.asymmetric:
                options = dict(op.get("builtin_options") or {})
                options["asymmetric_quantize_inputs"] = True
                op["builtin_options"] = options
                if not op.get("builtin_options_type"):
                    op["builtin_options_type"] = _union_index(OPTIONS_TABLES[name])[1]
            current = int(rw.codes[int(op.get("opcode_index") or 0)].get("version") or 1)
            op["opcode_index"] = rw.code(name, max(current, spec.v_channel if channels else spec.v_tensor))
            done += 1
    if not done:
        found = "; ".join(skipped[:6]) + (f"; and {len(skipped) - 6} more" if len(skipped) > 6 else "")
        raise QuantizationError(f"dynamic-range quantization: no {', '.join(HYBRID_WEIGHTS)} with float32 input and "
                                f"float32 constant weights of at least {min_elements} values each"
                                + (f": {found}" if found else " (already quantized?)"))
    return rw.write()
