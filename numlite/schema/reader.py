"""A verifying reader for the TFLite FlatBuffers format.

numlite reads ``.tflite`` files with its own interpreter of the schema description in
``_schema.py`` rather than with generated accessor classes: every table is decoded once,
in one pass that is also the verifier.

Algorithm and guarantees:

1. Every read goes through bounds-checked helpers: a table's vtable, each field's inline
   slot, every uoffset target, vector length and string must lie wholly inside the buffer;
   otherwise :class:`~numlite.errors.ModelError` names the schema path and the byte offset.
2. uoffsets are unsigned and must be non-zero, so every reference points strictly forward:
   the decoder cannot loop.  References may be shared (a DAG), so the total decoding work is
   budgeted in proportion to the buffer size: every table, offset, string byte and vector
   byte decoded is charged (zero-copy vectors too, because callers may iterate them), so a
   file whose shared references fan out further is rejected instead of exhausting memory
   or time.
3. Scalar vectors (shapes, weights, indices) are returned as read-only, zero-copy
   ``np.frombuffer`` views on the buffer.  Nothing is copied besides small Python values.
4. Union type tags and enum-typed values are range-checked by the graph builder, which
   knows their meaning.

Limits: structs are not part of the TFLite schema and are not supported; unknown trailing
vtable slots (fields newer than our schema copy) are ignored, as FlatBuffers intends.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from ..errors import ModelError
from ._schema import TABLES, UNIONS

_SCALAR = {
    "bool": ("<?", 1, np.uint8),
    "byte": ("<b", 1, np.int8),
    "ubyte": ("<B", 1, np.uint8),
    "short": ("<h", 2, np.int16),
    "ushort": ("<H", 2, np.uint16),
    "int": ("<i", 4, np.int32),
    "uint": ("<I", 4, np.uint32),
    "long": ("<q", 8, np.int64),
    "ulong": ("<Q", 8, np.uint64),
    "float": ("<f", 4, np.float32),
    "double": ("<d", 8, np.float64),
}
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U16 = struct.Struct("<H")

# Pre-compiled per-table field lists: (name, kind, type, default, slot, unpacker, size)
_COMPILED: dict[str, list[tuple]] = {}
for _t, _fields in TABLES.items():
    rows = []
    for name, kind, typ, default, slot in _fields:
        if kind == "scalar":
            fmt, size, _ = _SCALAR[typ]
            rows.append((name, kind, typ, default, slot, struct.Struct(fmt), size))
        else:
            rows.append((name, kind, typ, default, slot, None, 4))
    _COMPILED[_t] = rows


class Table(dict):
    """A decoded table: a dict of field name -> value, with attribute access."""

    __slots__ = ("_type", "_pos")

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class FlatBufferReader:
    """Decode tables of the TFLite schema from ``data`` (bytes, mmap or memoryview)."""

    def __init__(self, data: Any, work_factor: int = 16):
        self.data = data
        self.size = len(data)
        self.budget = work_factor * self.size + 100_000

    # -- primitive checked reads -------------------------------------------------------
    def _fail(self, path: str, pos: int, what: str) -> ModelError:
        return ModelError(f"corrupt model: {what} at {path} (byte offset {pos}, file size {self.size})")

    def _need(self, pos: int, n: int, path: str, what: str) -> None:
        if pos < 0 or n < 0 or pos + n > self.size:
            raise self._fail(path, pos, f"{what} of {n} bytes lies outside the buffer")

    def _spend(self, n: int, path: str) -> None:
        self.budget -= n
        if self.budget < 0:
            raise ModelError(
                f"corrupt model: decoding work exceeds what a {self.size}-byte file can hold "
                f"(shared references fan out) at {path}"
            )

    def _deref(self, pos: int, path: str) -> int:
        self._need(pos, 4, path, "offset")
        off = _U32.unpack_from(self.data, pos)[0]
        if off == 0:
            raise self._fail(path, pos, "zero offset (self reference)")
        target = pos + off
        if target >= self.size:
            raise self._fail(path, pos, f"offset {off} points past the end of the buffer")
        return target

    # -- tables ------------------------------------------------------------------------
    def root(self) -> Table:
        if self.size < 8:
            raise ModelError(f"not a valid TFLite model: {self.size} bytes is too short for a FlatBuffer")
        ident = bytes(self.data[4:8])
        if ident != b"TFL3":
            raise ModelError(
                f"not a valid TFLite model FlatBuffer: file identifier is {ident!r}, expected b'TFL3'"
            )
        return self.table(self._deref(0, "Model"), "Model", "Model")

    def table(self, pos: int, tname: str, path: str) -> Table:
        self._spend(16, path)
        self._need(pos, 4, path, "table header")
        vt = pos - _I32.unpack_from(self.data, pos)[0]
        self._need(vt, 4, path, "vtable header")
        vtsize, tsize = _U16.unpack_from(self.data, vt)[0], _U16.unpack_from(self.data, vt + 2)[0]
        if vtsize < 4 or vtsize & 1:
            raise self._fail(path, vt, f"invalid vtable size {vtsize}")
        if tsize < 4:
            raise self._fail(path, pos, f"invalid table size {tsize}")
        self._need(vt, vtsize, path, "vtable")
        self._need(pos, tsize, path, "table")
        nslots = (vtsize - 4) // 2
        data = self.data
        out = Table()
        for name, kind, typ, default, slot, unpack, size in _COMPILED[tname]:
            fo = _U16.unpack_from(data, vt + 4 + 2 * slot)[0] if slot < nslots else 0
            if kind == "scalar":
                if fo == 0:
                    out[name] = default
                    continue
                if fo + size > tsize:
                    raise self._fail(f"{path}.{name}", pos + fo, "field extends past its table")
                out[name] = unpack.unpack_from(data, pos + fo)[0]
                continue
            if kind == "union":
                tfo = fo
                vfo = _U16.unpack_from(data, vt + 6 + 2 * slot)[0] if slot + 1 < nslots else 0
                utype = 0
                if tfo:
                    if tfo + 1 > tsize:
                        raise self._fail(f"{path}.{name}_type", pos + tfo, "field extends past its table")
                    utype = data[pos + tfo]
                out[name + "_type"] = utype
                if utype == 0 or vfo == 0:
                    out[name] = None
                    continue
                members = UNIONS[typ]
                if utype > len(members):
                    raise self._fail(f"{path}.{name}_type", pos + tfo, f"unknown {typ} member {utype}")
                if vfo + 4 > tsize:
                    raise self._fail(f"{path}.{name}", pos + vfo, "field extends past its table")
                member = members[utype - 1]
                if member not in _COMPILED:
                    raise self._fail(f"{path}.{name}", pos + vfo, f"union member {member} is not a table")
                tpos = self._deref(pos + vfo, f"{path}.{name}")
                out[name] = self.table(tpos, member, f"{path}.{name}<{member}>")
                continue
            if fo == 0:
                out[name] = None
                continue
            fpath = f"{path}.{name}"
            if fo + 4 > tsize:
                raise self._fail(fpath, pos + fo, "field extends past its table")
            target = self._deref(pos + fo, fpath)
            if kind == "table":
                out[name] = self.table(target, typ, fpath)
            elif kind == "string":
                out[name] = self.string(target, fpath)
            elif kind == "vector":
                out[name] = self.vector(target, typ, fpath)
            elif kind == "vector_table":
                n = self._vlen(target, 4, fpath)
                self._spend(4 * n, fpath)
                out[name] = [
                    self.table(self._deref(target + 4 + 4 * i, f"{fpath}[{i}]"), typ, f"{fpath}[{i}]")
                    for i in range(n)
                ]
            elif kind == "vector_string":
                n = self._vlen(target, 4, fpath)
                self._spend(4 * n, fpath)
                out[name] = [
                    self.string(self._deref(target + 4 + 4 * i, f"{fpath}[{i}]"), f"{fpath}[{i}]")
                    for i in range(n)
                ]
            else:  # pragma: no cover - generator guarantees the kinds
                raise AssertionError(kind)
        return out

    def _vlen(self, pos: int, esize: int, path: str) -> int:
        self._need(pos, 4, path, "vector length")
        n = _U32.unpack_from(self.data, pos)[0]
        if n * esize > self.size - pos - 4:
            raise self._fail(path, pos, f"vector of {n} elements of {esize} bytes lies outside the buffer")
        return n

    def vector(self, pos: int, typ: str, path: str) -> np.ndarray:
        _, esize, dtype = _SCALAR[typ]
        n = self._vlen(pos, esize, path)
        self._spend(8 + n * esize, path)
        arr = np.frombuffer(self.data, dtype=dtype, count=n, offset=pos + 4)
        if typ == "bool":
            arr = arr != 0
        return arr

    def string(self, pos: int, path: str) -> str:
        n = self._vlen(pos, 1, path)
        self._spend(8 + n, path)
        return bytes(self.data[pos + 4 : pos + 4 + n]).decode("utf-8", errors="replace")

    def raw(self, offset: int, size: int, path: str) -> np.ndarray:
        """A zero-copy uint8 view of ``size`` bytes at absolute ``offset`` (checked)."""
        self._need(offset, size, path, "buffer data")
        return np.frombuffer(self.data, dtype=np.uint8, count=size, offset=offset)


def read_model_table(data: Any) -> Table:
    """Verify and decode the root ``Model`` table of a .tflite buffer."""
    return FlatBufferReader(data).root()
