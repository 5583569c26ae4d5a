"""``ModelBuilder``: build .tflite models from Python (tests, demos, the converter's back end).

    mb = ModelBuilder()
    x = mb.input("x", (1, 8, 8, 3), np.float32)
    w = mb.const("w", weights)
    y = mb.tensor("y", (1, 8, 8, 4), np.float32)
    mb.op("CONV_2D", [x, w, -1], [y], padding="SAME", stride_w=1, stride_h=1)
    mb.output(y)
    data = mb.build()

String constants: ``mb.const("s", np.array([b"a", "b"], object))`` (a STRING tensor, written in
TFLite's string-buffer format); ``np.object_`` is the dtype of string inputs and outputs.

Sub-byte constants: ``mb.const("w", int4_values, type_name="INT4")`` (one value per element,
int8) is written packed two per byte, lowest nibble first (``pack_sub_byte``).

Options are given by field name; enum-valued options accept the enum member's name
(``padding="SAME"``, ``fused_activation_function="RELU6"``).  The options table of an op is
found from its name (``CONV_2D`` -> ``Conv2DOptions``) or given as ``options_table=``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import strings
from .graph import BUILTIN_CODES, TENSOR_TYPE_CODES, tensor_type_of
from .schema._schema import ENUMS, FIELD_ENUMS, TABLES, UNIONS
from .schema.writer import write_model

# ops whose options table name does not follow from the op name
OPTIONS_TABLE = {
    "AVERAGE_POOL_2D": "Pool2DOptions", "MAX_POOL_2D": "Pool2DOptions", "L2_POOL_2D": "Pool2DOptions",
    "MEAN": "ReducerOptions", "SUM": "ReducerOptions", "REDUCE_MAX": "ReducerOptions",
    "REDUCE_MIN": "ReducerOptions", "REDUCE_PROD": "ReducerOptions", "REDUCE_ANY": "ReducerOptions",
    "REDUCE_ALL": "ReducerOptions", "MAXIMUM": "MaximumMinimumOptions", "MINIMUM": "MaximumMinimumOptions",
    "LOCAL_RESPONSE_NORMALIZATION": "LocalResponseNormalizationOptions",
    "L2_NORMALIZATION": "L2NormOptions", "PADV2": "PadV2Options", "SPLIT_V": "SplitVOptions",
    "BATCH_MATMUL": "BatchMatMulOptions", "LEAKY_RELU": "LeakyReluOptions",
    "SQUARED_DIFFERENCE": "SquaredDifferenceOptions", "RESIZE_BILINEAR": "ResizeBilinearOptions",
    "RESIZE_NEAREST_NEIGHBOR": "ResizeNearestNeighborOptions", "HARD_SWISH": "HardSwishOptions",
    "DEPTH_TO_SPACE": "DepthToSpaceOptions", "SPACE_TO_DEPTH": "SpaceToDepthOptions",
    "STRIDED_SLICE": "StridedSliceOptions", "EXPAND_DIMS": "ExpandDimsOptions",
    "TOPK_V2": "TopKV2Options", "LOG_SOFTMAX": "LogSoftmaxOptions", "FLOOR_DIV": "FloorDivOptions",
    "STABLEHLO_COMPOSITE": "StableHLOCompositeOptions", "CONV_3D_TRANSPOSE": "Conv3DOptions",
    "FLOOR_MOD": "FloorModOptions", "ARG_MAX": "ArgMaxOptions", "ARG_MIN": "ArgMinOptions",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "UnidirectionalSequenceLSTMOptions",
    "FULLY_CONNECTED": "FullyConnectedOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "CONV_2D": "Conv2DOptions", "TRANSPOSE_CONV": "TransposeConvOptions",
}


#: bits per value of the sub-byte tensor types, packed by ``const(..., type_name="INT4")``
#: (``tensor(..., data=)`` writes its bytes as given)
SUB_BYTE_BITS = {"INT4": 4, "UINT4": 4, "INT2": 2}


def pack_sub_byte(values: Any, bits: int) -> np.ndarray:
    """Pack integer values ``bits`` wide (4 or 2), lowest bits first, into uint8 bytes: the
    layout TFLite reads for INT4 / UINT4 / INT2 tensors (an odd tail is padded with zero bits)."""
    per = 8 // bits
    v = np.asarray(values).reshape(-1).astype(np.int64) & ((1 << bits) - 1)
    v = np.concatenate([v, np.zeros(-v.size % per, np.int64)]).reshape(-1, per)
    return (v << (bits * np.arange(per))).sum(axis=1).astype(np.uint8)


def options_table_for(op_name: str) -> str | None:
    if op_name in OPTIONS_TABLE:
        return OPTIONS_TABLE[op_name]
    camel = "".join(p.capitalize() for p in op_name.lower().split("_")) + "Options"
    camel = camel.replace("2d", "2D").replace("3d", "3D").replace("Nd", "ND")
    if camel in TABLES:
        return camel
    return None


def _union_index(table: str) -> tuple[str, int]:
    for uname in ("BuiltinOptions", "BuiltinOptions2"):
        if table in UNIONS[uname]:
            return uname, UNIONS[uname].index(table) + 1
    raise ValueError(f"{table} is not a builtin options table")


def _enum_value(table: str, field: str, value: Any) -> Any:
    if not isinstance(value, str) or any(f[0] == field and f[1] == "string" for f in TABLES[table]):
        return value
    enum_name = FIELD_ENUMS.get(f"{table}.{field}")
    if enum_name is None:
        raise ValueError(f"{table}.{field} is not an enum field; got {value!r}")
    members = ENUMS[enum_name][1]
    if value not in members:
        raise ValueError(f"{table}.{field}: {value!r} is not one of {sorted(members)}")
    return members[value]


class ModelBuilder:
    """Accumulates tensors, buffers and operators of one or more subgraphs."""

    def __init__(self, description: str = "numlite"):
        self.description = description
        self.buffers: list[dict] = [{}]  # buffer 0 is the empty sentinel
        self.opcodes: list[dict] = []
        self._opcode_index: dict[tuple, int] = {}
        self.subgraphs: list[dict] = []
        self.signatures: list[dict] = []
        self.metadata: list[dict] = []
        self.sg = self.new_subgraph("main")

    # -- subgraphs -----------------------------------------------------------------------
    def new_subgraph(self, name: str = "") -> dict:
        sg = {"tensors": [], "inputs": [], "outputs": [], "operators": [], "name": name}
        self.subgraphs.append(sg)
        self.sg = sg
        return sg

    def use_subgraph(self, index: int) -> None:
        self.sg = self.subgraphs[index]

    # -- tensors -------------------------------------------------------------------------
    def tensor(self, name: str, shape: Sequence[int], dtype: Any, data: np.ndarray | None = None,
               quantization: dict | None = None, shape_signature: Sequence[int] | None = None,
               is_variable: bool = False, type_name: str | None = None) -> int:
        t: dict[str, Any] = {
            "name": name,
            "shape": np.array([int(d) for d in shape], np.int32),
            "type": TENSOR_TYPE_CODES[type_name or tensor_type_of(dtype)],
            "buffer": 0,
            "is_variable": is_variable,
        }
        if shape_signature is not None:
            t["shape_signature"] = np.array([int(d) for d in shape_signature], np.int32)
        if quantization:
            q: dict[str, Any] = {}
            scale = np.atleast_1d(np.asarray(quantization.get("scale", quantization.get("scales")), np.float32))
            zp = quantization.get("zero_point", quantization.get("zero_points", 0))
            zp = np.atleast_1d(np.asarray(zp, np.int64))
            if zp.size == 1 and scale.size > 1:
                zp = np.repeat(zp, scale.size)
            q["scale"], q["zero_point"] = scale, zp
            q["quantized_dimension"] = int(quantization.get("quantized_dimension", 0))
            for k in ("min", "max"):
                if k in quantization:
                    q[k] = np.atleast_1d(np.asarray(quantization[k], np.float32))
            t["quantization"] = q
        if data is not None and t["type"] == TENSOR_TYPE_CODES["STRING"]:
            raw = strings.encode(np.asarray(data, dtype=object).reshape(-1))
            self.buffers.append({"data": np.frombuffer(raw, np.uint8)})
            t["buffer"] = len(self.buffers) - 1
        elif data is not None:
            self.buffers.append({"data": np.ascontiguousarray(data).reshape(-1).view(np.uint8)})
            t["buffer"] = len(self.buffers) - 1
        else:
            self.buffers.append({})
            t["buffer"] = len(self.buffers) - 1
        self.sg["tensors"].append(t)
        return len(self.sg["tensors"]) - 1

    def input(self, name: str, shape: Sequence[int], dtype: Any, **kw: Any) -> int:
        i = self.tensor(name, shape, dtype, **kw)
        self.sg["inputs"].append(i)
        return i

    def const(self, name: str, value: Any, dtype: Any = None, **kw: Any) -> int:
        arr = np.asarray(value, dtype=dtype)
        if kw.get("type_name") in SUB_BYTE_BITS:  # one value per element in, packed bytes out
            return self.tensor(name, arr.shape, arr.dtype, data=pack_sub_byte(arr, SUB_BYTE_BITS[kw["type_name"]]),
                               **kw)
        return self.tensor(name, arr.shape, arr.dtype, data=arr, **kw)

    def output(self, *tensors: int) -> None:
        self.sg["outputs"].extend(tensors)

    def shape_of(self, t: int) -> tuple[int, ...]:
        return tuple(int(d) for d in self.sg["tensors"][t]["shape"])

    # -- operators -----------------------------------------------------------------------
    def opcode(self, op: str, version: int = 1, custom_code: str | None = None) -> int:
        key = (op, version, custom_code)
        if key not in self._opcode_index:
            code = BUILTIN_CODES["CUSTOM"] if custom_code is not None else BUILTIN_CODES[op]
            self.opcodes.append({"deprecated_builtin_code": min(code, 127), "builtin_code": code,
                                 "version": version, "custom_code": custom_code})
            self._opcode_index[key] = len(self.opcodes) - 1
        return self._opcode_index[key]

    def op(self, op: str, inputs: Sequence[int], outputs: Sequence[int], *, version: int = 1,
           options_table: str | None = None, custom_options: bytes | None = None,
           intermediates: Sequence[int] | None = None, **options: Any) -> int:
        """Add an operator (builtin name, or ``custom:NAME`` for a custom op)."""
        custom = op[7:] if op.startswith("custom:") else None
        entry: dict[str, Any] = {
            "opcode_index": self.opcode("CUSTOM" if custom else op, version, custom),
            "inputs": np.array(inputs, np.int32),
            "outputs": np.array(outputs, np.int32),
        }
        table = options_table or (None if custom else options_table_for(op))
        if options and table is None:
            raise ValueError(f"{op} has no options table; cannot set {sorted(options)}")
        if table is not None:
            known = {f[0] for f in TABLES[table]}
            unknown = set(options) - known
            if unknown:
                raise ValueError(f"{table} has no field(s) {sorted(unknown)}; fields: {sorted(known)}")
            union, idx = _union_index(table)
            opts = {k: _enum_value(table, k, v) for k, v in options.items()}
            key = "builtin_options" if union == "BuiltinOptions" else "builtin_options_2"
            entry[key] = opts
            entry[key + "_type"] = idx
        if custom_options is not None:
            entry["custom_options"] = np.frombuffer(bytes(custom_options), np.uint8)
        if intermediates:
            entry["intermediates"] = np.array(intermediates, np.int32)
        self.sg["operators"].append(entry)
        return len(self.sg["operators"]) - 1

    def signature(self, key: str, inputs: dict[str, int], outputs: dict[str, int], subgraph: int = 0) -> None:
        self.signatures.append({
            "signature_key": key, "subgraph_index": subgraph,
            "inputs": [{"name": n, "tensor_index": i} for n, i in inputs.items()],
            "outputs": [{"name": n, "tensor_index": i} for n, i in outputs.items()],
        })

    def add_metadata(self, name: str, data: bytes) -> None:
        self.buffers.append({"data": np.frombuffer(data, np.uint8)})
        self.metadata.append({"name": name, "buffer": len(self.buffers) - 1})

    # -- output --------------------------------------------------------------------------
    def model_dict(self) -> dict:
        return {
            "version": 3, "description": self.description, "operator_codes": self.opcodes,
            "subgraphs": self.subgraphs, "buffers": self.buffers,
            "signature_defs": self.signatures or None, "metadata": self.metadata or None,
        }

    def build(self, external_data: bool | None = None) -> bytes:
        return write_model(self.model_dict(), external_data=external_data)
