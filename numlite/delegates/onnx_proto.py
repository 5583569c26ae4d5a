"""ONNX models as protobuf bytes, written without the ``onnx`` package.

The ONNX Runtime delegate needs only ``onnxruntime``, which takes a serialized ``ModelProto``:
importing ``onnx`` (with ``protobuf`` and ``ml_dtypes``) costs 0.3-1 s per process, more than
loading most models.  ``OnnxBuilder`` therefore keeps its graph in the small classes here and
``encode_model`` writes the protobuf wire format of the few messages a graph needs (``onnx.proto``
field numbers, proto3): ModelProto, OperatorSetIdProto, GraphProto, NodeProto, AttributeProto,
TensorProto (``raw_data``, little-endian; or ``data_location`` EXTERNAL with a ``location``
entry), ValueInfoProto / TypeProto.Tensor / TensorShapeProto.  ``numlite export`` parses the
bytes back with ``onnx`` and checks them with ``onnx.checker``; the tests compare both ways.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: ONNX ``TensorProto.DataType`` of each NumPy dtype numlite writes
ELEM_TYPES = {np.dtype(np.float32): 1, np.dtype(np.uint8): 2, np.dtype(np.int8): 3, np.dtype(np.uint16): 4,
              np.dtype(np.int16): 5, np.dtype(np.int32): 6, np.dtype(np.int64): 7, np.dtype(np.bool_): 9,
              np.dtype(np.float16): 10, np.dtype(np.float64): 11, np.dtype(np.uint32): 12,
              np.dtype(np.uint64): 13}
#: IR version 8 (ONNX 1.10) covers opset 17 and external data; ONNX Runtime reads it
IR_VERSION = 8


def elem_type(dtype: Any) -> int:
    dt = np.dtype(dtype)
    if dt not in ELEM_TYPES:
        raise TypeError(f"no ONNX element type for {dt}")
    return ELEM_TYPES[dt]


@dataclass(eq=False)
class Node:
    op_type: str
    input: list[str]
    output: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    domain: str = ""


@dataclass(eq=False)
class Initializer:
    """A constant: ``array`` embedded as ``raw_data``, or (``external``) declared with its dtype
    and shape only, its data given to ONNX Runtime separately."""

    name: str
    array: np.ndarray
    external: bool = False


# -- wire format -------------------------------------------------------------------------------------
_ONE_BYTE = [bytes((i,)) for i in range(128)]


def _varint(n: int) -> bytes:
    if 0 <= n < 128:
        return _ONE_BYTE[n]
    if n < 0:
        n += 1 << 64  # int64 fields: two's complement in ten bytes
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_KEYS: dict[tuple[int, int], bytes] = {}


def _key(num: int, wire: int) -> bytes:
    k = _KEYS.get((num, wire))
    if k is None:
        k = _KEYS[num, wire] = _varint(num << 3 | wire)
    return k


def _int(num: int, v: int) -> bytes:
    return _key(num, 0) + _varint(int(v))


def _bytes(num: int, v: bytes) -> bytes:
    n = len(v)
    return _key(num, 2) + (_ONE_BYTE[n] if n < 128 else _varint(n)) + v


_STRS: dict[tuple[int, str], bytes] = {}


def _str(num: int, v: str) -> bytes:
    """A string field (names repeat: a node's output is the next one's input; kept once)."""
    out = _STRS.get((num, v))
    if out is None:
        out = _bytes(num, v.encode("utf-8"))
        if len(_STRS) < 100_000:
            _STRS[num, v] = out
    return out


def _packed_ints(num: int, vs: Sequence[int]) -> bytes:
    return _bytes(num, b"".join(_varint(int(v)) for v in vs))


def _attribute(name: str, v: Any) -> bytes:
    out = _str(1, name)
    if isinstance(v, (bool, int, np.integer)):
        return out + _int(3, int(v)) + _int(20, 2)  # i, type INT
    if isinstance(v, (float, np.floating)):
        return out + _key(2, 5) + struct.pack("<f", float(v)) + _int(20, 1)  # f, FLOAT
    if isinstance(v, (str, bytes)):
        return out + _bytes(4, v.encode("utf-8") if isinstance(v, str) else v) + _int(20, 3)  # s, STRING
    if isinstance(v, np.ndarray):
        return out + _bytes(5, tensor(Initializer("", v))) + _int(20, 4)  # t, TENSOR
    vs = list(v)
    if all(isinstance(x, (bool, int, np.integer)) for x in vs):
        return out + _packed_ints(8, vs) + _int(20, 7)  # ints, INTS
    if all(isinstance(x, (int, float, np.integer, np.floating)) for x in vs):
        return out + _bytes(7, struct.pack(f"<{len(vs)}f", *map(float, vs))) + _int(20, 6)  # floats, FLOATS
    if all(isinstance(x, str) for x in vs):
        return out + b"".join(_str(9, x) for x in vs) + _int(20, 8)  # strings, STRINGS
    raise TypeError(f"ONNX attribute {name!r}: unsupported value {v!r}")


def node(n: Node) -> bytes:
    out = b"".join(_str(1, i) for i in n.input) + b"".join(_str(2, o) for o in n.output)
    if n.name:
        out += _str(3, n.name)
    out += _str(4, n.op_type)
    out += b"".join(_bytes(5, _attribute(k, v)) for k, v in n.attrs.items())
    if n.domain:
        out += _str(7, n.domain)
    return out


def tensor(init: Initializer) -> bytes:
    a = np.asarray(init.array)
    out = (_packed_ints(1, a.shape) if a.ndim else b"") + _int(2, elem_type(a.dtype))
    if init.name:
        out += _str(8, init.name)
    if init.external:
        return out + _bytes(13, _str(1, "location") + _str(2, "numlite-memory")) + _int(14, 1)
    le = a.astype(a.dtype.newbyteorder("<"), copy=False)
    return out + _bytes(9, np.ascontiguousarray(le).tobytes())


def value_info(name: str, elem: int, dims: Sequence[int | str]) -> bytes:
    shape = b"".join(_bytes(1, _str(2, d) if isinstance(d, str) else _int(1, d)) for d in dims)
    tensor_type = _int(1, elem) + _bytes(2, shape)
    return _str(1, name) + _bytes(2, _bytes(1, tensor_type))


def encode_model(nodes: Sequence[Node], inputs: Sequence[bytes], outputs: Sequence[bytes],
                 initializers: Sequence[Initializer], graph_name: str, opset: int,
                 producer: str = "numlite") -> bytes:
    """A serialized ``ModelProto`` (``inputs`` / ``outputs``: ``value_info`` messages)."""
    graph = (b"".join(_bytes(1, node(n)) for n in nodes) + _str(2, graph_name)
             + b"".join(_bytes(5, tensor(i)) for i in initializers)
             + b"".join(_bytes(11, v) for v in inputs) + b"".join(_bytes(12, v) for v in outputs))
    return (_int(1, IR_VERSION) + _str(2, producer) + _bytes(7, graph)
            + _bytes(8, _str(1, "") + _int(2, opset)))
