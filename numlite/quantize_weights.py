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
without a representative dataset): the weights of CONV_2D (per output channel),
DEPTHWISE_CONV_2D (per channel, always: LiteRT's hybrid kernel takes no other form) and
FULLY_CONNECTED (per output row) with at least ``min_elements`` values (the converter's 1024)
become int8, symmetric (``scale = max|w| / 127``, zero point 0, rounded half away from zero,
clamped to [-127, 127]); ``per_channel=False``: one scale for CONV_2D and FULLY_CONNECTED.
Biases and activations stay float32, and the ops run their hybrid kernels, which quantize the
input per batch row at run time (FULLY_CONNECTED with ``asymmetric_quantize_inputs``).  Op
versions are those TFLite gives the hybrid forms (CONV_2D 5 / 2, DEPTHWISE_CONV_2D 6,
FULLY_CONNECTED 9).  A weight tensor another op reads too gets an int8 copy of its own.  About a
quarter of the size of the weights.

Both refuse, with ``QuantizationError``, a model that is already quantized (quantized int8 /
uint8 / int16 tensors, float16 constants, QUANTIZE / DEQUANTIZE ops:
:func:`numlite.quantize.already_quantized`) and a model with nothing to quantize (no float32
weights, or no matching op), and write nothing partial: they return bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .graph import BUILTIN_CODES, BUILTIN_OPS, load_model
from .metadata import carry_over
from .quantize import QuantizationError, _quantize_weights, already_quantized
from .schema.reader import read_model_table
from .schema.writer import write_model

__all__ = ["HYBRID_WEIGHTS", "quantize_dynamic_range", "quantize_float16"]

FLOAT32, FLOAT16, INT8 = 0, 1, 9  # TensorType codes
F16_MAX = float(np.finfo(np.float16).max)
#: op -> (weight input, per-channel axis, version with per-channel weights, with one scale)
HYBRID_WEIGHTS = {"CONV_2D": (1, 0, 5, 2), "DEPTHWISE_CONV_2D": (1, 3, 6, 6), "FULLY_CONNECTED": (1, 0, 9, 9)}


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


def quantize_dynamic_range(model: bytes, *, min_elements: int = 1024, per_channel: bool = True) -> bytes:
    """The model with int8 weights in CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED (module
    docstring)."""
    rw = _Rewriter(model, "dynamic-range quantization")
    done = 0
    for si, sg in enumerate(rw.subgraphs):
        readers = _readers(sg)
        for op in sg["operators"]:
            name = rw.op_name(op)
            if name not in HYBRID_WEIGHTS:
                continue
            slot, axis, v_channel, v_tensor = HYBRID_WEIGHTS[name]
            ins = [int(i) for i in (op.get("inputs") if op.get("inputs") is not None else ())]
            if len(ins) <= slot or ins[slot] < 0 or int(sg["tensors"][ins[0]].get("type") or 0) != FLOAT32:
                continue
            t = sg["tensors"][ins[slot]]
            w = rw.data(si, ins[slot]) if int(t.get("type") or 0) == FLOAT32 else None
            if w is None or w.size < max(int(min_elements), 1) or not np.all(np.isfinite(w)):
                continue
            if name == "FULLY_CONNECTED" and int((op.get("builtin_options") or {}).get("weights_format") or 0):
                continue
            channels = per_channel or name == "DEPTHWISE_CONV_2D"
            q, scales = _quantize_weights(w, axis, channels)
            qt = {"name": t.get("name") or f"w{ins[slot]}", "shape": t.get("shape"), "type": INT8,
                  "buffer": rw.buffer(q),
                  "quantization": {"scale": scales.astype(np.float32), "zero_point": np.zeros(scales.size, np.int64),
                                   "quantized_dimension": axis if channels else 0}}
            if len(readers.get(ins[slot], ())) == 1:
                sg["tensors"][ins[slot]] = qt  # the only reader: the tensor itself becomes int8
            else:
                qt["name"] = f"{qt['name']}_int8"
                sg["tensors"].append(qt)
                ins[slot] = len(sg["tensors"]) - 1
                op["inputs"] = ins
            options = dict(op.get("builtin_options") or {})
            if name == "FULLY_CONNECTED":
                options["asymmetric_quantize_inputs"] = True
                op["builtin_options"] = options
            current = int(rw.codes[int(op.get("opcode_index") or 0)].get("version") or 1)
            op["opcode_index"] = rw.code(name, max(current, v_channel if channels else v_tensor))
            done += 1
    if not done:
        raise QuantizationError(f"dynamic-range quantization: no CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED with "
                                f"float32 input and float32 constant weights of at least {min_elements} values "
                                "(already quantized?)")
    return rw.write()
