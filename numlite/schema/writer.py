"""Writing .tflite FlatBuffers from decoded-table dicts.

The writer interprets the same schema description as the reader (``_schema.py``), so any
dict shaped like a decoded ``Model`` table can be written, and ``read -> write -> read``
gives back equal tables.

1. Children (strings, vectors, sub-tables) are serialised before their parent table, as
   FlatBuffers requires; scalar fields equal to their default are omitted.
2. ``Buffer.data`` is written 16-byte aligned, so constant tensors can be viewed in place.
3. With ``external_data=True`` (or when the payload would not fit a 2 GB FlatBuffer), buffer
   contents go after the FlatBuffer, 16-byte aligned, and ``Buffer.offset`` / ``Buffer.size``
   point at them: the layout TFLite uses for models over 2 GB.  The FlatBuffer's size does
   not depend on the offset values (they are always written as 8-byte fields), so two passes
   give exact absolute offsets.
"""

from __future__ import annotations

from typing import Any

import flatbuffers
import numpy as np

from ._schema import TABLES, UNIONS

_PREPEND = {
    "bool": "PrependBoolSlot",
    "byte": "PrependInt8Slot",
    "ubyte": "PrependUint8Slot",
    "short": "PrependInt16Slot",
    "ushort": "PrependUint16Slot",
    "int": "PrependInt32Slot",
    "uint": "PrependUint32Slot",
    "long": "PrependInt64Slot",
    "ulong": "PrependUint64Slot",
    "float": "PrependFloat32Slot",
    "double": "PrependFloat64Slot",
}
_NP = {
    "bool": np.bool_, "byte": np.int8, "ubyte": np.uint8, "short": np.int16, "ushort": np.uint16,
    "int": np.int32, "uint": np.uint32, "long": np.int64, "ulong": np.uint64,
    "float": np.float32, "double": np.float64,
}
_ALIGN = 16
_TWO_GB = 2**31 - 1


class Offset(int):
    """A child (table, vector or string) already serialised into the same ``TableWriter``.

    Used in place of a value, it is referenced instead of written again, so several parents
    can share one child as FlatBuffers allows (tests use it to craft shared-reference files).
    """


class TableWriter:
    """Serialises decoded-table dicts into one FlatBuffer (children before parents)."""

    def __init__(self, external: bool = False, offsets: list[int] | None = None):
        self.b = flatbuffers.Builder(1024)
        self.external = external
        self.offsets = offsets
        self.blobs: list[np.ndarray] = []  # external payloads in buffer order

    def bytes_vector(self, data: np.ndarray, align: int) -> int:
        raw = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
        b = self.b
        b.StartVector(1, raw.size, align)
        b.head = b.head - raw.size
        b.Bytes[b.head : b.head + raw.size] = raw.tobytes()
        return b.EndVector()

    def vector(self, typ: str, values: Any) -> Offset:
        """Serialise a scalar vector now (to share it via :class:`Offset`)."""
        arr = np.ascontiguousarray(np.asarray(values, dtype=_NP[typ]).reshape(-1))
        return Offset(self.b.CreateNumpyVector(arr))

    def string(self, value: str) -> Offset:
        return Offset(self.b.CreateString(value))

    def finish(self, root: int, identifier: bytes = b"TFL3") -> bytes:
        self.b.Finish(root, file_identifier=identifier)
        return bytes(self.b.Output())

    def table(self, tname: str, value: dict) -> int:
        if isinstance(value, Offset):
            return int(value)
        b = self.b
        fields = TABLES[tname]
        if tname == "Buffer":
            value = self._buffer(value)
        # 1. children first
        children: dict[str, int] = {}
        for name, kind, typ, _default, _slot in fields:
            v = value.get(name)
            if v is None or kind == "scalar":
                continue
            if isinstance(v, Offset):
                children[name] = int(v)
            elif kind == "string":
                children[name] = b.CreateString(v)
            elif kind == "table":
                children[name] = self.table(typ, v)
            elif kind == "union":
                utype = value.get(name + "_type", 0)
                if utype:
                    children[name] = self.table(UNIONS[typ][utype - 1], v)
            elif kind == "vector":
                if tname == "Buffer" and name == "data":
                    children[name] = self.bytes_vector(np.asarray(v), _ALIGN)
                else:
                    arr = np.ascontiguousarray(np.asarray(v, dtype=_NP[typ]).reshape(-1))
                    children[name] = b.CreateNumpyVector(arr)
            elif kind == "vector_table":
                offs = [self.table(typ, item) for item in v]
                children[name] = self._offset_vector(offs)
            elif kind == "vector_string":
                offs = [int(s) if isinstance(s, Offset) else b.CreateString(s) for s in v]
                children[name] = self._offset_vector(offs)
        # 2. the table itself
        nslots = max((slot + (2 if kind == "union" else 1) for _, kind, _, _, slot in fields), default=0)
        b.StartObject(nslots)
        for name, kind, typ, default, slot in fields:
            if kind == "scalar":
                v = value.get(name, default)
                if v is None:
                    continue
                if typ == "bool":
                    v = bool(v)
                elif typ in ("float", "double"):
                    v = float(v)
                else:
                    v = int(v)
                if tname == "Buffer" and name in ("offset", "size") and self.external:
                    b.ForceDefaults(True)
                    getattr(b, _PREPEND[typ])(slot, v, default)
                    b.ForceDefaults(False)
                else:
                    getattr(b, _PREPEND[typ])(slot, v, default)
            elif kind == "union":
                if name in children:
                    b.PrependUint8Slot(slot, int(value[name + "_type"]), 0)
                    b.PrependUOffsetTRelativeSlot(slot + 1, children[name], 0)
            elif name in children:
                b.PrependUOffsetTRelativeSlot(slot, children[name], 0)
        return b.EndObject()

    def _offset_vector(self, offs: list[int]) -> int:
        b = self.b
        b.StartVector(4, len(offs), 4)
        for o in reversed(offs):
            b.PrependUOffsetTRelative(o)
        return b.EndVector()

    def _buffer(self, value: dict) -> dict:
        data = value.get("data")
        if not self.external or data is None or len(data) == 0:
            return value
        idx = len(self.blobs)
        self.blobs.append(np.ascontiguousarray(data).reshape(-1).view(np.uint8))
        out = {k: v for k, v in value.items() if k != "data"}
        out["offset"] = self.offsets[idx] if self.offsets else 1
        out["size"] = int(self.blobs[-1].size)
        return out


def _payload_bytes(model: dict) -> int:
    return sum(len(np.asarray(buf.get("data")).reshape(-1).view(np.uint8))
               for buf in model.get("buffers") or [] if buf.get("data") is not None)


def write_model(model: dict, external_data: bool | None = None, source: Any = None) -> bytes:
    """Serialise a ``Model`` dict (as returned by the reader, or built) to .tflite bytes.

    ``external_data=None`` chooses automatically: inline buffers unless they exceed 2 GB.
    A model read from a file whose buffers lie after the FlatBuffer (``offset``/``size``)
    needs that file as ``source`` to be rewritten: its payloads are copied from there (old
    offsets would point into the wrong file), else ValueError.
    """
    model = _resolve_external(model, source)
    if external_data is None:
        external_data = _payload_bytes(model) > _TWO_GB - (1 << 20)
    w = TableWriter(external_data, None)
    root = w.table("Model", model)
    w.b.Finish(root, file_identifier=b"TFL3")
    out = bytes(w.b.Output())
    if not external_data or not w.blobs:
        return out
    # second pass with the real absolute offsets of the payloads
    offsets = []
    pos = _align(len(out))
    for blob in w.blobs:
        offsets.append(pos)
        pos = _align(pos + blob.size)
    w2 = TableWriter(True, offsets)
    root = w2.table("Model", model)
    w2.b.Finish(root, file_identifier=b"TFL3")
    fb = bytes(w2.b.Output())
    if len(fb) != len(out):  # pragma: no cover - guaranteed by forced 8-byte fields
        raise AssertionError("external-data layout changed between passes")
    parts = [fb]
    cur = len(fb)
    for off, blob in zip(offsets, w2.blobs):
        parts.append(b"\0" * (off - cur))
        parts.append(blob.tobytes())
        cur = off + blob.size
    return b"".join(parts)


def _resolve_external(model: dict, source: Any) -> dict:
    buffers = model.get("buffers") or []
    if not any(int(b.get("offset") or 0) > 1 for b in buffers):
        return model
    resolved = []
    for i, b in enumerate(buffers):
        off, size = int(b.get("offset") or 0), int(b.get("size") or 0)
        if off <= 1:
            resolved.append(b)
            continue
        if source is None:
            raise ValueError(f"buffer {i} is stored outside the FlatBuffer (offset {off}, size {size}): "
                             "pass the file it was read from as source=")
        if off + size > len(source):
            raise ValueError(f"buffer {i} (offset {off}, size {size}) lies outside the {len(source)}-byte source")
        data = np.frombuffer(source, np.uint8, count=size, offset=off)
        resolved.append({**{k: v for k, v in b.items() if k not in ("offset", "size")}, "data": data})
    return {**model, "buffers": resolved}


def _align(n: int) -> int:
    return (n + _ALIGN - 1) // _ALIGN * _ALIGN


def table_to_plain(value: Any) -> Any:
    """Turn a decoded table tree into plain Python values (lists for arrays), for comparing."""
    if isinstance(value, dict):
        return {k: table_to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [table_to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
