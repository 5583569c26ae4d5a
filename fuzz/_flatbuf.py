"""Structure-aware mutation of .tflite FlatBuffers for the fuzz harnesses.

Two levels, both deterministic given a ``random.Random``:

1. **Byte level, schema-guided** (``slots`` / ``mutate_slot``): walk the buffer with the schema
   of ``numlite.schema._schema`` (without trusting it: every read is bounds-checked, each table
   visited once, the walk capped) and list where each structural item lies: a table's soffset to
   its vtable, vtable sizes and entries, uoffsets of tables / strings / vectors, vector lengths,
   scalar fields and scalar vector elements.  A mutation overwrites one such item with an
   extreme or plausible value - exactly what a verifier must catch (offsets out of the buffer,
   lengths past its end, vtables overlapping, negative indices, huge dimensions).
2. **Model level** (``mutate_model``): decode the model with numlite's reader, change its
   structure - subgraph indices of control-flow ops, the inputs / outputs of ops and subgraphs
   (loop-variable counts), shapes, types, op codes, whole subgraphs duplicated or dropped - and
   write a well-formed FlatBuffer again, so the mutant passes the verifier and reaches graph
   building, prepare and invoke.  ``focus`` weights the control-flow changes.

Limits: the walk records at most ``MAX_SLOTS`` items (big models are sampled, not covered); a
model the reader rejects falls back to the byte level.
"""

from __future__ import annotations

import copy
import random
import struct
from typing import Any

import numpy as np

from numlite.schema._schema import TABLES, UNIONS

MAX_SLOTS = 20_000
MAX_ELEMS = 64  # scalar vector elements recorded per vector

_SIZES = {"bool": 1, "byte": 1, "ubyte": 1, "short": 2, "ushort": 2, "int": 4, "uint": 4, "long": 8, "ulong": 8,
          "float": 4, "double": 8}

# (position, width, kind, field name, scalar type or None); kind: soffset, vt_size, vt_tsize, vtable,
# uoffset, veclen, scalar, elem
Slot = tuple[int, int, str, str, str | None]


def slots(buf: bytes) -> list[Slot]:
    """The structural items of the .tflite FlatBuffer ``buf`` (see the module docstring)."""
    n = len(buf)
    out: list[Slot] = []
    if n < 8:
        return out
    u32 = struct.Struct("<I").unpack_from
    i32 = struct.Struct("<i").unpack_from
    u16 = struct.Struct("<H").unpack_from
    out.append((0, 4, "uoffset", "root", None))
    stack: list[tuple[int, str]] = [(u32(buf, 0)[0], "Model")]
    seen: set[int] = set()

    def vector(pos: int, field: str) -> tuple[int, int] | None:
        if pos + 4 > n:
            return None
        count = u32(buf, pos)[0]
        out.append((pos, 4, "veclen", field, None))
        return pos + 4, count

    while stack and len(out) < MAX_SLOTS:
        t, name = stack.pop()
        if t in seen or t + 4 > n or name not in TABLES:
            continue
        seen.add(t)
        out.append((t, 4, "soffset", name, None))
        vt = t - i32(buf, t)[0]
        if vt < 0 or vt + 4 > n:
            continue
        vt_size = u16(buf, vt)[0]
        out.append((vt, 2, "vt_size", name, None))
        out.append((vt + 2, 2, "vt_tsize", name, None))
        fields = TABLES[name]
        tags: dict[int, int] = {}
        for fname, kind, typ, _default, slot in fields:
            for s in ((slot, slot + 1) if kind == "union" else (slot,)):
                e = vt + 4 + 2 * s
                if 4 + 2 * s + 2 > vt_size or e + 2 > n:
                    continue
                off = u16(buf, e)[0]
                out.append((e, 2, "vtable", f"{name}.{fname}", None))
                if not off:
                    continue
                p = t + off
                if kind == "scalar":
                    if p + _SIZES[typ] <= n:
                        out.append((p, _SIZES[typ], "scalar", f"{name}.{fname}", typ))
                    continue
                if kind == "union" and s == slot:  # the type tag
                    if p < n:
                        tags[slot] = buf[p]
                        out.append((p, 1, "scalar", f"{name}.{fname}_type", "ubyte"))
                    continue
                if p + 4 > n:
                    continue
                out.append((p, 4, "uoffset", f"{name}.{fname}", None))
                target = p + u32(buf, p)[0]
                if kind == "table":
                    stack.append((target, typ))
                elif kind == "union":
                    tag = tags.get(slot, 0)
                    members = UNIONS.get(typ, [])
                    if 1 <= tag <= len(members):
                        stack.append((target, members[tag - 1]))
                elif kind == "string":
                    vector(target, f"{name}.{fname}")
                elif kind == "vector":
                    v = vector(target, f"{name}.{fname}")
                    if v and typ != "ubyte":
                        start, count = v
                        w = _SIZES[typ]
                        for k in range(min(count, MAX_ELEMS)):
                            q = start + k * w
                            if q + w > n:
                                break
                            out.append((q, w, "elem", f"{name}.{fname}", typ))
                elif kind in ("vector_table", "vector_string"):
                    v = vector(target, f"{name}.{fname}")
                    if v:
                        start, count = v
                        for k in range(min(count, 4096)):
                            q = start + 4 * k
                            if q + 4 > n:
                                break
                            out.append((q, 4, "uoffset", f"{name}.{fname}[]", None))
                            if kind == "vector_table":
                                stack.append((q + u32(buf, q)[0], typ))
    return out


_FLOATS = (0.0, -0.0, 1.0, -1.0, 0.5, 1e-45, 1e-30, 3.4e38, -3.4e38, float("inf"), float("-inf"), float("nan"))


def _value(buf: bytes, slot: Slot, rng: random.Random) -> bytes:
    pos, width, kind, _name, typ = slot
    n = len(buf)
    if typ in ("float", "double"):
        return struct.pack("<f" if typ == "float" else "<d", rng.choice(_FLOATS))
    if kind in ("uoffset", "soffset", "veclen"):
        v = rng.choice((0, 1, 2, 3, 4, 8, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFC, n, n - pos, n - pos - 4,
                        n - pos + 4, (-pos) & 0xFFFFFFFF, rng.randrange(1 << 32), rng.randrange(64), 0x10000))
        return struct.pack("<I", v & 0xFFFFFFFF)
    if kind in ("vtable", "vt_size", "vt_tsize"):
        v = rng.choice((0, 1, 2, 3, 4, 6, 8, 0xFFFF, 0x8000, 0x7FFF, rng.randrange(64), rng.randrange(1 << 16)))
        return struct.pack("<H", v)
    bits = 8 * width
    signed = typ in ("byte", "short", "int", "long")
    choices = [0, 1, 2, 3, 4, 7, 8, 255, 256, 1 << (bits - 1), (1 << bits) - 1, (1 << (bits - 1)) - 1,
               rng.randrange(1 << bits), rng.randrange(16)]
    if signed:
        choices += [(-1) & ((1 << bits) - 1), (-2) & ((1 << bits) - 1)]
    v = rng.choice(choices) & ((1 << bits) - 1)
    return v.to_bytes(width, "little")


def mutate_slot(buf: bytes, rng: random.Random, prefer: tuple[str, ...] = ()) -> bytes:
    """Overwrite one structural item of ``buf`` (see ``slots``); fields whose name contains one of
    ``prefer`` are picked half of the time.  ``buf`` unchanged when it has no items."""
    items = slots(buf)
    if not items:
        return buf
    if prefer and rng.random() < 0.5:
        picked = [s for s in items if any(p in s[3] for p in prefer)]
        items = picked or items
    slot = rng.choice(items)
    b = bytearray(buf)
    b[slot[0]:slot[0] + slot[1]] = _value(buf, slot, rng)
    return bytes(b)


# --- model level ------------------------------------------------------------------------------
def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return np.array(v)
    return v


def decode(buf: bytes) -> dict | None:
    """The model as a plain dict (numlite's reader), or None when the reader refuses it."""
    from numlite.schema.reader import read_model_table

    try:
        return _plain(read_model_table(buf))
    except Exception:  # noqa: BLE001 - any refusal: mutate the bytes instead
        return None


def encode(model: dict) -> bytes | None:
    from numlite.schema.writer import write_model

    try:
        return write_model(model)
    except Exception:  # noqa: BLE001 - a mutant the writer cannot write
        return None


def _ints(v: Any) -> list[int]:
    return [int(x) for x in (v if v is not None else [])]


def _index_edit(values: list[int], rng: random.Random, hi: int) -> list[int]:
    """Drop, duplicate, replace, add or swap one entry of an index list (tensor or subgraph indices)."""
    v = list(values)
    kind = rng.randrange(6)
    pick = rng.choice((-1, 0, 1, hi - 1, hi, hi + 1, rng.randrange(max(hi, 1)), 2**31 - 1, -2**31))
    if kind == 0 and v:
        del v[rng.randrange(len(v))]
    elif kind == 1 and v:
        v.insert(rng.randrange(len(v) + 1), rng.choice(v))
    elif kind == 2 and v:
        v[rng.randrange(len(v))] = pick
    elif kind == 3:
        v.insert(rng.randrange(len(v) + 1), pick)
    elif kind == 4 and len(v) > 1:
        i, j = rng.sample(range(len(v)), 2)
        v[i], v[j] = v[j], v[i]
    else:
        v = v[:rng.randrange(len(v) + 1)]
    return v


SUBGRAPH_FIELDS = ("subgraph_index", "subgraph_indices")
CONTROL_FLOW_OPS = {"WHILE", "IF", "CALL_ONCE", "STABLEHLO_CASE", "STABLEHLO_WHILE", "STABLEHLO_COMPOSITE",
                    "STABLEHLO_REDUCE", "STABLEHLO_REDUCE_WINDOW", "STABLEHLO_SCATTER", "STABLEHLO_SORT"}


_BUILTIN_NAMES: dict[int, dict[int, str]] = {}


def _op_name(model: dict, op: dict) -> str:
    from numlite.graph import BUILTIN_CODES

    codes = model.get("operator_codes") or []
    i = int(op.get("opcode_index") or 0)
    if not 0 <= i < len(codes):
        return ""
    c = codes[i]
    code = max(int(c.get("builtin_code") or 0), int(c.get("deprecated_builtin_code") or 0))
    return _BUILTIN_NAMES.setdefault(0, {v: k for k, v in BUILTIN_CODES.items()}).get(code, "")


def mutate_model(buf: bytes, rng: random.Random, focus: str = "any") -> bytes | None:
    """One model-level mutation of ``buf`` (see the module docstring), or None when the model
    cannot be decoded or the mutant cannot be written.  ``focus="control_flow"`` picks changes to
    control-flow ops, subgraph indices and subgraph signatures most of the time."""
    model = decode(buf)
    if model is None:
        return None
    subgraphs = model.get("subgraphs") or []
    if not subgraphs:
        return None
    nsg = len(subgraphs)
    ops = [(si, oi, op) for si, sg in enumerate(subgraphs) for oi, op in enumerate(sg.get("operators") or [])]
    cf_ops = [x for x in ops if _op_name(model, x[2]) in CONTROL_FLOW_OPS]
    cf = focus == "control_flow" and rng.random() < 0.8
    kind = rng.randrange(4) if cf else rng.randrange(10)
    if kind == 0 and (cf_ops or ops):  # a subgraph index of a control-flow op
        _si, _oi, op = rng.choice(cf_ops or ops)
        opts = op.get("builtin_options") or {}
        keys = [k for k in opts if any(f in k for f in SUBGRAPH_FIELDS)]
        if not keys:
            return None
        k = rng.choice(keys)
        if isinstance(opts[k], (list, np.ndarray)):
            opts[k] = np.array(_index_edit(_ints(opts[k]), rng, nsg), np.int32)
        else:
            opts[k] = rng.choice((-1, 0, 1, 2, nsg - 1, nsg, nsg + 1, 2**31 - 1, -2**31))
    elif kind == 1 and (cf_ops or ops):  # a control-flow op's inputs / outputs (loop variables)
        _si, _oi, op = rng.choice(cf_ops or ops)
        field = rng.choice(("inputs", "outputs"))
        ntensors = len(subgraphs[_si].get("tensors") or [])
        op[field] = _index_edit(_ints(op.get(field)), rng, ntensors)
    elif kind == 2:  # a subgraph's inputs / outputs
        si = rng.randrange(nsg)
        sg = subgraphs[si]
        field = rng.choice(("inputs", "outputs"))
        sg[field] = _index_edit(_ints(sg.get(field)), rng, len(sg.get("tensors") or []))
    elif kind == 3:  # whole subgraphs: duplicate, drop, swap
        what = rng.randrange(3)
        if what == 0 and nsg < 16:
            subgraphs.append(copy.deepcopy(rng.choice(subgraphs)))
        elif what == 1 and nsg > 1:
            del subgraphs[rng.randrange(1, nsg)]
        elif nsg > 1:
            i, j = rng.sample(range(nsg), 2)
            subgraphs[i], subgraphs[j] = subgraphs[j], subgraphs[i]
        else:
            return None
    elif kind == 4:  # a tensor's shape
        sg = rng.choice(subgraphs)
        tensors = sg.get("tensors") or []
        if not tensors:
            return None
        t = rng.choice(tensors)
        shape = _ints(t.get("shape"))
        if shape and rng.random() < 0.7:
            shape[rng.randrange(len(shape))] = rng.choice((-1, 0, 1, 2, 3, 5, 64, 1 << 20, 2**31 - 1))
        else:
            shape = _index_edit(shape, rng, 4)
        t["shape"] = np.array(shape, np.int32)
        if t.get("shape_signature") is not None and rng.random() < 0.5:
            t["shape_signature"] = np.array([-1 if rng.random() < 0.3 else d for d in shape], np.int32)
    elif kind == 5:  # a tensor's type, variable flag or buffer
        sg = rng.choice(subgraphs)
        tensors = sg.get("tensors") or []
        if not tensors:
            return None
        t = rng.choice(tensors)
        what = rng.randrange(3)
        if what == 0:
            t["type"] = rng.randrange(24)
        elif what == 1:
            t["is_variable"] = not t.get("is_variable")
        else:
            t["buffer"] = rng.randrange(len(model.get("buffers") or [0]) + 1)
    elif kind == 6 and ops:  # an op's inputs / outputs
        si, _oi, op = rng.choice(ops)
        field = rng.choice(("inputs", "outputs"))
        op[field] = _index_edit(_ints(op.get(field)), rng, len(subgraphs[si].get("tensors") or []))
    elif kind == 7 and ops:  # an op's code or version
        _si, _oi, op = rng.choice(ops)
        codes = model.get("operator_codes") or []
        if rng.random() < 0.5 or not codes:
            op["opcode_index"] = rng.randrange(len(codes) + 1)
        else:
            c = codes[rng.randrange(len(codes))]
            c["version"] = rng.choice((0, 1, 2, 3, 4, 5, 7, 12, 99, -1))
    elif kind == 8 and ops:  # an option of an op
        _si, _oi, op = rng.choice(ops)
        opts = op.get("builtin_options")
        if not opts:
            return None
        k = rng.choice(sorted(opts))
        v = opts[k]
        if isinstance(v, bool):
            opts[k] = not v
        elif isinstance(v, int):
            opts[k] = rng.choice((0, 1, -1, 2, 3, 8, 255, 2**31 - 1, -2**31))
        elif isinstance(v, float):
            opts[k] = rng.choice(_FLOATS)
        elif isinstance(v, (list, np.ndarray)) and np.asarray(v).dtype.kind in "iu":
            opts[k] = np.array(_index_edit(_ints(v), rng, 8), np.asarray(v).dtype)
        else:
            return None
    else:  # move an operator (execution order) or duplicate one
        sg = rng.choice(subgraphs)
        operators = sg.get("operators") or []
        if not operators:
            return None
        i = rng.randrange(len(operators))
        op = operators.pop(i) if rng.random() < 0.5 else copy.deepcopy(operators[i])
        operators.insert(rng.randrange(len(operators) + 1), op)
        sg["operators"] = operators
    return encode(model)


def mutate(buf: bytes, rng: random.Random, focus: str = "any", prefer: tuple[str, ...] = ()) -> bytes:
    """A structure-aware mutation: model level (when decodable) or schema-guided byte level."""
    if rng.random() < 0.5:
        got = mutate_model(buf, rng, focus)
        if got is not None:
            return got
    return mutate_slot(buf, rng, prefer)
