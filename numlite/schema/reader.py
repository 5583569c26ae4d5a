"""A verifying reader for the TFLite FlatBuffers format.

numlite reads ``.tflite`` files with its own interpreter of the schema description in
``_schema.py`` rather than with generated accessor classes: every table is decoded once,
in one pass that is also the verifier.

Algorithm and guarantees:

1. Every read goes through bounds checks: a table's vtable, each field's inline slot, every
   uoffset target, vector length and string must lie wholly inside the buffer; otherwise
   :class:`~numlite.errors.ModelError` names the schema path and the byte offset.
2. uoffsets are unsigned and must be non-zero, so every reference points strictly forward:
   the decoder cannot loop.  References may be shared (a DAG), so the total decoding work is
   budgeted in proportion to the buffer size: every table, offset, string byte and vector
   byte decoded is charged (zero-copy vectors too, because callers may iterate them), so a
   file whose shared references fan out further is rejected instead of exhausting memory
   or time.
3. Scalar vectors (shapes, weights, indices) are returned as read-only, zero-copy NumPy
   views on the buffer.  Nothing is copied besides small Python values.
4. Union type tags and enum-typed values are range-checked by the graph builder, which
   knows their meaning.

How it is kept fast (a model has thousands of fields; per-field Python overhead is the cost):

5. Each table type is compiled on first use (``_Compiled``): its fields grouped by kind, and
   a dict of their defaults.  A decoded table starts as a copy of that dict, and only the
   fields present in the file (non-zero vtable offsets) are decoded into it; fields past the
   end of a (trimmed) vtable are not even looked at.  A table's field offsets are read from
   its vtable with one ``struct`` call.
6. The checks of point 1 are written inline in :meth:`FlatBufferReader.table`, with the same
   messages as the helper methods (``_need``, ``_deref``, ``_vlen``, ``vector``, ``string``)
   that other callers use.  A subclass that overrides ``table`` or ``_vlen`` (the tests spy
   on them to find every table and vector) still sees every call.
7. Schema paths are only needed for error messages, so they are built lazily: a path is a
   string or a tuple ``(parent, field)`` / ``(parent, field, index)`` that ``_render`` turns
   into ``Model.subgraphs[0].tensors[3].shape`` when an error is raised.
8. Vectors are slices of one whole-buffer ``np.frombuffer`` view per element type and byte
   phase (``offset % itemsize``), made on first use, which is several times cheaper than an
   ``np.frombuffer`` call per vector and gives the same read-only, zero-copy arrays.

Limits: structs are not part of the TFLite schema and are not supported; unknown trailing
vtable slots (fields newer than our schema copy) are ignored, as FlatBuffers intends.
"""

from __future__ import annotations

import mmap
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
_VT_HEADER = struct.Struct("<HH")
_u32 = _U32.unpack_from

# A schema path, rendered only for error messages: "Model", (parent, "field") or (parent, "field", index)
Path = str | tuple

# Field kinds, as small ints for the decoder's dispatch (most frequent first)
_SCALAR_K, _VECTOR_K, _STRING_K, _TABLE_K, _VTABLE_K, _VSTRING_K, _UNION_K = range(7)
_KINDS = {"scalar": _SCALAR_K, "vector": _VECTOR_K, "string": _STRING_K, "table": _TABLE_K,
          "vector_table": _VTABLE_K, "vector_string": _VSTRING_K, "union": _UNION_K}


class _Compiled:
    """One table type, prepared for decoding (see point 5 of the module docstring).

    Its fields are grouped by kind so that each loop of the decoder does one thing: scalars
    (name, slot, unpack, size); refs, the fields behind a uoffset, in schema order (name, kind,
    type, slot, element size); unions (name, union, slot, type-field name, members, member path
    labels).  ``groups[k]`` holds the three groups restricted to the fields in the first ``k``
    vtable slots: writers omit trailing absent fields from the vtable, so a table's vtable
    size says which fields can be present at all."""

    __slots__ = ("groups", "defaults", "nslots", "slots_struct")

    def __init__(self, fields: list[tuple]):
        scalars, refs, unions = [], [], []
        defaults: dict[str, Any] = {}
        nslots = 0
        for name, kind, typ, default, slot in fields:
            k = _KINDS[kind]
            if k == _SCALAR_K:
                fmt, size, _ = _SCALAR[typ]
                scalars.append((name, slot, struct.Struct(fmt).unpack_from, size))
            elif k == _UNION_K:
                members = tuple(UNIONS[typ])
                unions.append((name, typ, slot, name + "_type", members, tuple(f"{name}<{m}>" for m in members)))
                defaults[name + "_type"] = 0
                nslots = max(nslots, slot + 2)  # the type tag's slot, then the value's
            else:
                esize = _SCALAR[typ][1] if k == _VECTOR_K else 1 if k == _STRING_K else 4
                refs.append((name, k, typ, slot, esize))
            defaults[name] = default
            nslots = max(nslots, slot + 1)
        self.groups = [tuple(tuple(f for f in group if f[slot_at] < k) for group, slot_at in
                             ((scalars, 1), (refs, 3), (unions, 2))) for k in range(nslots + 1)]
        self.defaults = defaults  # every field at its default, in schema order
        self.nslots = nslots  # vtable slots any field of this table uses
        self.slots_struct = [_slots_struct(n) for n in range(nslots + 1)]


class _CompiledTables(dict):
    """Table name -> :class:`_Compiled`, compiled on first use (a model uses a few dozen of the
    schema's tables; compiling all of them would slow down ``import numlite``)."""

    def __missing__(self, tname: str) -> _Compiled:
        comp = self[tname] = _Compiled(TABLES[tname])
        return comp


_COMPILED = _CompiledTables()
_SLOTS_STRUCTS: dict[int, struct.Struct] = {}


def _slots_struct(n: int) -> struct.Struct:
    """The struct of ``n`` vtable slots (uint16 field offsets)."""
    if n not in _SLOTS_STRUCTS:
        _SLOTS_STRUCTS[n] = struct.Struct(f"<{n}H")
    return _SLOTS_STRUCTS[n]


def _render(path: Path) -> str:
    """The dotted schema path of a lazy path (point 7 of the module docstring)."""
    segs = []
    while isinstance(path, tuple):
        segs.append(f".{path[1]}[{path[2]}]" if len(path) == 3 else f".{path[1]}")
        path = path[0]
    segs.append(path)
    return "".join(reversed(segs))


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
        # element type -> whole-buffer view per byte phase, made on first use (point 8)
        self._views: dict[str, list[np.ndarray | None]] = {t: [None] * v[1] for t, v in _SCALAR.items()}
        # slicing bytes / bytearray / mmap gives bytes-like objects with .decode
        self._slices_decode = isinstance(data, (bytes, bytearray, mmap.mmap))
        # a subclass that overrides _vlen (tests spy on it) sees every vector and string
        self._vlen_hooked = type(self)._vlen is not FlatBufferReader._vlen

    # -- primitive checked reads -------------------------------------------------------
    def _fail(self, path: Path, pos: int, what: str) -> ModelError:
        return ModelError(f"corrupt model: {what} at {_render(path)} (byte offset {pos}, file size {self.size})")

    def _over_budget(self, path: Path) -> ModelError:
        return ModelError(
            f"corrupt model: decoding work exceeds what a {self.size}-byte file can hold "
            f"(shared references fan out) at {_render(path)}"
        )

    def _need(self, pos: int, n: int, path: Path, what: str) -> None:
        if pos < 0 or n < 0 or pos + n > self.size:
            raise self._fail(path, pos, f"{what} of {n} bytes lies outside the buffer")

    def _spend(self, n: int, path: Path) -> None:
        self.budget -= n
        if self.budget < 0:
            raise self._over_budget(path)

    def _deref(self, pos: int, path: Path) -> int:
        self._need(pos, 4, path, "offset")
        return self._slot_target(pos, path)

    def _slot_target(self, p: int, path: Path) -> int:
        """The target of the uoffset at ``p``, known to lie inside its (checked) table."""
        off = _U32.unpack_from(self.data, p)[0]
        if off == 0:
            raise self._fail(path, p, "zero offset (self reference)")
        target = p + off
        if target >= self.size:
            raise self._fail(path, p, f"offset {off} points past the end of the buffer")
        return target

    def _base_view(self, typ: str, phase: int) -> np.ndarray:
        """The whole buffer as elements of ``typ`` starting at byte ``phase`` (point 8)."""
        _, esize, dtype = _SCALAR[typ]
        base = np.frombuffer(self.data, dtype=dtype, count=(self.size - phase) // esize, offset=phase)
        self._views[typ][phase] = base
        return base

    def _view(self, typ: str, start: int, n: int) -> np.ndarray:
        """``n`` elements of type ``typ`` at ``start``, already bounds-checked (point 8)."""
        esize = _SCALAR[typ][1]
        phase = start % esize
        base = self._views[typ][phase]
        if base is None:
            base = self._base_view(typ, phase)
        i = (start - phase) // esize
        return base[i : i + n] if typ != "bool" else base[i : i + n] != 0

    def _text(self, start: int, n: int) -> str:
        if self._slices_decode:
            return self.data[start : start + n].decode("utf-8", errors="replace")
        return bytes(self.data[start : start + n]).decode("utf-8", errors="replace")

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

    def table(self, pos: int, tname: str, path: Path) -> Table:
        """Decode (and verify) the ``tname`` table at ``pos`` and everything it references."""
        self.budget -= 16
        if self.budget < 0:
            raise self._over_budget(path)
        data, size = self.data, self.size
        if pos < 0 or pos + 4 > size:
            raise self._fail(path, pos, "table header of 4 bytes lies outside the buffer")
        vt = pos - _I32.unpack_from(data, pos)[0]
        if vt < 0 or vt + 4 > size:
            raise self._fail(path, vt, "vtable header of 4 bytes lies outside the buffer")
        vtsize, tsize = _VT_HEADER.unpack_from(data, vt)
        if vtsize < 4 or vtsize & 1:
            raise self._fail(path, vt, f"invalid vtable size {vtsize}")
        if tsize < 4:
            raise self._fail(path, pos, f"invalid table size {tsize}")
        if vt + vtsize > size:
            raise self._fail(path, vt, f"vtable of {vtsize} bytes lies outside the buffer")
        if pos + tsize > size:
            raise self._fail(path, pos, f"table of {tsize} bytes lies outside the buffer")
        comp = _COMPILED[tname]
        # slots past the vtable's end are absent fields, and so are slots past the ones we know
        nfos = min((vtsize - 4) >> 1, comp.nslots)
        fos = comp.slots_struct[nfos].unpack_from(data, vt + 4)
        scalars, refs, unions = comp.groups[nfos]
        views = self._views
        out = Table(comp.defaults)
        for name, slot, unpack, fsize in scalars:
            fo = fos[slot]
            if fo:
                if fo + fsize > tsize:
                    raise self._fail((path, name), pos + fo, "field extends past its table")
                out[name] = unpack(data, pos + fo)[0]
        for name, kind, typ, slot, esize in refs:
            fo = fos[slot]
            if not fo:
                continue
            if fo + 4 > tsize:
                raise self._fail((path, name), pos + fo, "field extends past its table")
            # the uoffset lies inside the checked table; its target is checked here
            p = pos + fo
            t = p + _u32(data, p)[0]
            if t == p or t >= size:
                self._slot_target(p, (path, name))  # raises the precise error
            if kind == _TABLE_K:
                out[name] = self.table(t, typ, (path, name))
                continue
            # vectors and strings: a 4-byte length, then n elements of esize bytes
            if self._vlen_hooked:
                n = self._vlen(t, esize, (path, name))
            else:
                if t + 4 > size:
                    raise self._fail((path, name), t, "vector length of 4 bytes lies outside the buffer")
                n = _u32(data, t)[0]
                if n * esize > size - t - 4:
                    raise self._fail((path, name), t,
                                     f"vector of {n} elements of {esize} bytes lies outside the buffer")
            self.budget -= (8 + n * esize) if kind <= _STRING_K else 4 * n
            if self.budget < 0:
                raise self._over_budget((path, name))
            if kind == _VECTOR_K:  # self._view, inlined
                start = t + 4
                phase = start % esize
                base = views[typ][phase]
                if base is None:
                    base = self._base_view(typ, phase)
                i = (start - phase) // esize
                out[name] = base[i : i + n] if typ != "bool" else base[i : i + n] != 0
            elif kind == _STRING_K:  # self._text, inlined
                text = data[t + 4 : t + 4 + n] if self._slices_decode else bytes(data[t + 4 : t + 4 + n])
                out[name] = text.decode("utf-8", errors="replace")
            else:  # a vector of tables or strings: n uoffsets
                offs = struct.unpack_from(f"<{n}I", data, t + 4)
                items: list[Any] = []
                p = t + 4
                for i, off in enumerate(offs):
                    target = p + off
                    if off == 0 or target >= size:
                        self._slot_target(p, (path, name, i))  # raises the precise error
                    if kind == _VTABLE_K:
                        items.append(self.table(target, typ, (path, name, i)))
                    else:
                        items.append(self.string(target, (path, name, i)))
                    p += 4
                out[name] = items
        for name, typ, slot, type_key, members, labels in unions:
            fo, vfo = fos[slot], (fos[slot + 1] if slot + 1 < nfos else 0)
            if not fo:
                continue
            if fo + 1 > tsize:
                raise self._fail((path, type_key), pos + fo, "field extends past its table")
            utype = out[type_key] = data[pos + fo]
            if utype == 0 or vfo == 0:
                continue
            if utype > len(members):
                raise self._fail((path, type_key), pos + fo, f"unknown {typ} member {utype}")
            if vfo + 4 > tsize:
                raise self._fail((path, name), pos + vfo, "field extends past its table")
            member = members[utype - 1]
            if member not in TABLES:
                raise self._fail((path, name), pos + vfo, f"union member {member} is not a table")
            target = self._slot_target(pos + vfo, (path, name))
            out[name] = self.table(target, member, (path, labels[utype - 1]))
        return out

    def _vlen(self, pos: int, esize: int, path: Path) -> int:
        self._need(pos, 4, path, "vector length")
        n = _U32.unpack_from(self.data, pos)[0]
        if n * esize > self.size - pos - 4:
            raise self._fail(path, pos, f"vector of {n} elements of {esize} bytes lies outside the buffer")
        return n

    def vector(self, pos: int, typ: str, path: Path) -> np.ndarray:
        esize = _SCALAR[typ][1]
        n = self._vlen(pos, esize, path)
        self._spend(8 + n * esize, path)
        return self._view(typ, pos + 4, n)

    def string(self, pos: int, path: Path) -> str:
        n = self._vlen(pos, 1, path)
        self._spend(8 + n, path)
        return self._text(pos + 4, n)

    def raw(self, offset: int, size: int, path: str) -> np.ndarray:
        """A zero-copy uint8 view of ``size`` bytes at absolute ``offset`` (checked)."""
        self._need(offset, size, path, "buffer data")
        return np.frombuffer(self.data, dtype=np.uint8, count=size, offset=offset)


def read_model_table(data: Any) -> Table:
    """Verify and decode the root ``Model`` table of a .tflite buffer."""
    return FlatBufferReader(data).root()
