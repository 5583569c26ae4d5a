"""The immutable model graph: what the interpreter needs from a .tflite file.

``load_model`` verifies and decodes the FlatBuffer (``schema.reader``) and then checks the
graph-level invariants the FlatBuffer verifier cannot see:

1. Every index (tensor, buffer, op code, subgraph) is in range; operator inputs may be -1
   for omitted optional inputs, nothing else may be negative.
2. Tensor types are known, shapes are non-negative (``shape_signature`` may hold -1) and
   small enough to allocate; constant data has exactly the size its shape and type need.
3. Buffers stored after the FlatBuffer (``offset``/``size``, models over 2 GB) lie inside the
   file.
4. Constant tensors become read-only, zero-copy NumPy views on the model bytes (the file read
   once into memory, or memory-mapped with ``mmap=True``).
"""

from __future__ import annotations

import math
import mmap as mmap_module
import os
import stat
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import strings
from .errors import ModelError, ModelTypeError
from .schema._schema import ENUMS, TABLES, UNIONS
from .schema.reader import FlatBufferReader, Table

BUILTIN_OPS: dict[int, str] = {v: k for k, v in ENUMS["BuiltinOperator"][1].items()}
BUILTIN_CODES: dict[str, int] = dict(ENUMS["BuiltinOperator"][1])
TENSOR_TYPES: dict[int, str] = {v: k for k, v in ENUMS["TensorType"][1].items()}
TENSOR_TYPE_CODES: dict[str, int] = dict(ENUMS["TensorType"][1])

# TensorType name -> NumPy dtype (None: numlite cannot hold values of this type)
NUMPY_TYPES: dict[str, Any] = {
    "FLOAT32": np.float32, "FLOAT16": np.float16, "INT32": np.int32, "UINT8": np.uint8,
    "INT64": np.int64, "STRING": np.object_, "BOOL": np.bool_, "INT16": np.int16,
    "COMPLEX64": np.complex64, "INT8": np.int8, "FLOAT64": np.float64,
    "COMPLEX128": np.complex128, "UINT64": np.uint64, "RESOURCE": None, "VARIANT": None,
    "UINT32": np.uint32, "UINT16": np.uint16, "INT4": np.int8, "BFLOAT16": None,
    # as LiteRT reports them: sub-byte types unpacked one value per byte, FLOAT8 as raw int8 bytes
    "INT2": np.int8, "UINT4": np.uint8, "FLOAT8_E4M3FN": np.int8, "FLOAT8_E5M2": np.int8,
}
_SUB_BYTE = {"INT4": (4, True), "UINT4": (4, False), "INT2": (2, True)}  # bits per value, signed
_DTYPE_TO_TYPE = {np.dtype(v): k for k, v in NUMPY_TYPES.items()
                  if v is not None and k not in ("INT4", "INT2", "UINT4", "FLOAT8_E4M3FN", "FLOAT8_E5M2")}

MAX_CALL_DEPTH = 64  # nested subgraph calls (WHILE in IF in WHILE ...): real models nest a few
MAX_TENSOR_BYTES = 1 << 40  # anything larger is treated as a corrupt shape
MAX_RANK = 64  # NumPy's limit on array dimensions


def tensor_type_of(dtype: Any) -> str:
    """The TensorType name of a NumPy dtype (``np.float32`` -> ``'FLOAT32'``)."""
    try:
        return _DTYPE_TO_TYPE[np.dtype(dtype)]
    except (KeyError, TypeError):
        raise ValueError(f"numlite has no TFLite tensor type for dtype {dtype!r}") from None


def options_defaults(table_name: str) -> Table:
    """A Table holding every field of an options table at its schema default."""
    t = Table()
    for name, kind, _typ, default, _slot in TABLES[table_name]:
        if kind == "union":
            t[name + "_type"] = 0
        t[name] = default
    return t


@dataclass(frozen=True)
class Quantization:
    """Quantization parameters of a tensor (empty arrays when not quantized)."""

    scales: np.ndarray
    zero_points: np.ndarray
    quantized_dimension: int = 0
    min: np.ndarray | None = None
    max: np.ndarray | None = None

    @property
    def is_quantized(self) -> bool:
        return self.scales.size > 0

    @property
    def scale(self) -> float:
        return float(self.scales[0]) if self.scales.size else 0.0

    @property
    def zero_point(self) -> int:
        return int(self.zero_points[0]) if self.zero_points.size else 0


NO_QUANTIZATION = Quantization(np.zeros(0, np.float32), np.zeros(0, np.int64))


@dataclass(eq=False)
class Tensor:
    """One tensor of a subgraph.  ``data`` is a read-only view for constants, else None."""

    index: int
    name: str
    type_name: str
    dtype: Any
    shape: tuple[int, ...]
    shape_signature: tuple[int, ...]
    buffer: int
    data: np.ndarray | None
    quantization: Quantization
    sparsity: Table | None
    is_variable: bool
    has_rank: bool

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


@dataclass(eq=False)
class Operator:
    """One node of a subgraph, with its resolved op code and parsed options."""

    index: int
    opcode_index: int
    builtin_code: int
    op_name: str  # builtin op name, or the custom code for CUSTOM ops
    custom_code: str | None
    version: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    intermediates: tuple[int, ...]
    options: Table | None
    options_type: str | None
    custom_options: np.ndarray | None


@dataclass(eq=False)
class Subgraph:
    index: int
    name: str
    tensors: list[Tensor]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    operators: list[Operator]


@dataclass(eq=False)
class SignatureDef:
    key: str
    subgraph_index: int
    inputs: dict[str, int]  # name -> tensor index, in the model's order
    outputs: dict[str, int]


@dataclass(eq=False)
class Model:
    """A verified, decoded model.  ``table`` is the raw decoded FlatBuffer."""

    version: int
    description: str
    subgraphs: list[Subgraph]
    signature_defs: list[SignatureDef]
    metadata: dict[str, np.ndarray]
    table: Table
    buffer_data: list[np.ndarray | None]
    source: Any = field(repr=False, default=None)  # keeps the mmap / bytes alive
    #: for a model read from a file: the file as it was read ("realpath\nsize mtime_ns inode
    #: device", the same before and after the read), else None; caches key remembered digests on it
    source_stamp: str | None = field(repr=False, default=None)


def _idx_list(arr: np.ndarray | None, n: int, what: str | tuple, allow_neg1: bool = False) -> tuple[int, ...]:
    """The indices in ``arr`` as a tuple of ints, each checked against ``n`` (and -1 where
    ``allow_neg1``).  ``what`` names the list in the error; a tuple ``(format, *args)`` is only
    formatted when there is an error."""
    if arr is None:
        return ()
    vals = tuple(arr.tolist())
    lo = -1 if allow_neg1 else 0
    if vals and (max(vals) >= n or min(vals) < lo):
        bad = next(v for v in vals if v >= n or v < lo)
        if isinstance(what, tuple):
            what = what[0].format(*what[1:])
        raise ModelError(f"corrupt model: {what} refers to index {bad}, but there are only {n}")
    return vals


def _quantization(q: Table | None, where: str | tuple) -> Quantization:
    """A tensor's :class:`Quantization`; ``where`` as ``_idx_list``'s ``what``.  A missing or
    empty table gives the shared ``NO_QUANTIZATION`` (equal to what the fields would give)."""
    if q is None:
        return NO_QUANTIZATION
    scales, zps, qdim = q.get("scale"), q.get("zero_point"), int(q.get("quantized_dimension") or 0)
    qmin, qmax = q.get("min"), q.get("max")
    if scales is None and zps is None and qmin is None and qmax is None and qdim == 0:
        return NO_QUANTIZATION
    scales = np.zeros(0, np.float32) if scales is None else np.asarray(scales, np.float32)
    zps = np.zeros(0, np.int64) if zps is None else np.asarray(zps, np.int64)
    if scales.size and zps.size and zps.size != scales.size:
        if isinstance(where, tuple):
            where = where[0].format(*where[1:])
        raise ModelError(f"corrupt model: {where} has {scales.size} scales but {zps.size} zero points")
    if scales.size and not zps.size:
        zps = np.zeros(scales.size, np.int64)
    return Quantization(scales, zps, qdim, qmin, qmax)


def _buffers(reader: FlatBufferReader, root: Table) -> list[np.ndarray | None]:
    out: list[np.ndarray | None] = []
    for i, buf in enumerate(root.get("buffers") or []):
        off, size = buf.get("offset") or 0, buf.get("size") or 0
        if off > 1:
            where = f"Model.buffers[{i}]"
            if size > reader.size or off > reader.size - size:
                raise ModelError(
                    f"corrupt model: {where} points at bytes {off}..{off + size} outside the "
                    f"{reader.size}-byte file"
                )
            out.append(reader.raw(off, size, where))
        else:
            data = buf.get("data")
            out.append(data if data is not None and data.size else None)
    return out


# TensorType name -> bytes per stored value, for the size checks (1 for STRING and unheld types)
_ITEMSIZE = {k: (np.dtype(v).itemsize if v is not None and k != "STRING" else 1) for k, v in NUMPY_TYPES.items()}


def _tensor(ti: int, t: Table, si: int, buffers: list[np.ndarray | None]) -> Tensor:
    """Check and build tensor ``ti`` of subgraph ``si`` from its decoded table."""
    tname = TENSOR_TYPES.get(t["type"])
    if tname is None or tname not in NUMPY_TYPES:
        raise ModelError(f"corrupt model: subgraph {si} tensor {ti} has unknown tensor type {t['type']}")
    shape_v, sig_v = t["shape"], t["shape_signature"]
    if (shape_v is not None and len(shape_v) > MAX_RANK) or (sig_v is not None and len(sig_v) > MAX_RANK):
        what, v = ("shape", shape_v) if shape_v is not None and len(shape_v) > MAX_RANK else ("shape_signature", sig_v)
        raise ModelError(f"corrupt model: subgraph {si} tensor {ti} ({t['name']!r}) {what} has rank {len(v)}; "
                         f"numlite supports at most {MAX_RANK} dimensions")
    shape = tuple(shape_v.tolist()) if shape_v is not None else ()
    sig = tuple(sig_v.tolist()) if sig_v is not None and len(sig_v) else shape
    if shape and min(shape) < 0:
        raise ModelError(f"corrupt model: subgraph {si} tensor {ti} ({t['name']!r}) has negative dimension in "
                         f"shape {list(shape)}")
    if len(sig) != len(shape) or (sig and min(sig) < -1):
        raise ModelError(f"corrupt model: subgraph {si} tensor {ti} ({t['name']!r}) shape_signature {list(sig)} "
                         f"does not match shape {list(shape)}")
    dtype, itemsize = NUMPY_TYPES[tname], _ITEMSIZE[tname]
    nelem = math.prod(shape)  # at most MAX_RANK factors below 2**31: no huge big-int products
    if nelem * itemsize > MAX_TENSOR_BYTES or (nelem == 0 and _huge_prefix(shape, itemsize)):
        raise ModelError(f"corrupt model: subgraph {si} tensor {ti} ({t['name']!r}) shape {list(shape)} is "
                         f"absurdly large (over {MAX_TENSOR_BYTES} bytes)")
    bidx = t["buffer"]
    nbuf = len(buffers)
    if bidx >= nbuf and bidx != 0:
        raise ModelError(f"corrupt model: subgraph {si} tensor {ti} refers to buffer {bidx}, but there are only {nbuf}")
    raw = buffers[bidx] if bidx < nbuf else None
    sparsity = t["sparsity"]
    arr = None
    if raw is not None:
        if tname == "STRING":
            arr = strings.decode(raw, nelem, f"subgraph {si} tensor {ti} ({t['name']!r})").reshape(shape)
        elif dtype is None:
            arr = raw
        elif tname in _SUB_BYTE:
            arr = _unpack_sub_byte(raw, nelem, tname, f"subgraph {si} tensor {ti}").reshape(shape)
        elif sparsity:
            arr = raw  # densified by the DENSIFY kernel / loader of sparse weights
        elif raw.size != nelem * itemsize:
            raise ModelError(
                f"corrupt model: subgraph {si} tensor {ti} ({t['name']!r}) of shape {list(shape)} and type "
                f"{tname} needs {nelem * itemsize} bytes but its buffer {bidx} has {raw.size}"
            )
        else:  # a read-only, zero-copy view (raw is a contiguous uint8 view of the model bytes)
            arr = raw.view(dtype).reshape(shape)
    # positional: Tensor(index, name, type_name, dtype, shape, shape_signature, buffer, data, quantization,
    # sparsity, is_variable, has_rank) - keywords cost twice as much, and this runs per tensor
    q = t["quantization"]
    quant = NO_QUANTIZATION if q is None else _quantization(q, ("subgraph {} tensor {}", si, ti))
    return Tensor(ti, t["name"] or "", tname, dtype, shape, sig, bidx, arr, quant,
                  sparsity, bool(t["is_variable"]), bool(t["has_rank"]))


def _huge_prefix(shape: tuple[int, ...], itemsize: int) -> bool:
    """Whether some leading dimensions of ``shape`` alone are absurdly large (a later 0 does
    not make such a shape acceptable)."""
    nelem = 1
    for d in shape:
        nelem *= d
        if nelem * itemsize > MAX_TENSOR_BYTES:
            return True
    return False


def _opcode(code_t: Table) -> tuple[int, str | None, str, int, str | None]:
    """An op code's (builtin code, custom code, op name, version, options table its kernel reads)."""
    builtin = max(code_t.get("builtin_code") or 0, code_t.get("deprecated_builtin_code") or 0)
    custom = code_t.get("custom_code")
    name = BUILTIN_OPS.get(builtin, f"UNKNOWN_BUILTIN_{builtin}")
    if name == "CUSTOM":
        name = custom or "CUSTOM"
    return builtin, custom, name, int(code_t.get("version") or 1), _expected_options(name)


def _operator(oi: int, op: Table, si: int, opcodes: list[tuple], nt: int, reader: FlatBufferReader) -> Operator:
    """Check and build operator ``oi`` of subgraph ``si`` from its decoded table."""
    oc = op["opcode_index"]
    if oc >= len(opcodes):
        raise ModelError(f"corrupt model: subgraph {si} operator {oi} uses op code {oc}, but there are only "
                         f"{len(opcodes)}")
    builtin, custom, name, version, expected = opcodes[oc]
    opts, otype = op["builtin_options"], None
    if opts is not None:
        otype = UNIONS["BuiltinOptions"][op["builtin_options_type"] - 1]
    elif op["builtin_options_2"] is not None:
        opts = op["builtin_options_2"]
        otype = UNIONS["BuiltinOptions2"][op["builtin_options_2_type"] - 1]
    if otype is not None and expected is not None and otype != expected:
        # LiteRT reads options only through the op's own table type and uses the
        # defaults otherwise; do the same rather than hand a kernel foreign fields.
        opts, otype = None, None
    cust = op["custom_options"]
    lo, ls = op["large_custom_options_offset"], op["large_custom_options_size"]
    if lo > 1:
        cust = reader.raw(lo, ls, f"subgraph {si} operator {oi}.large_custom_options")
    # positional: Operator(index, opcode_index, builtin_code, op_name, custom_code, version, inputs,
    # outputs, intermediates, options, options_type, custom_options), as for Tensor in _tensor
    outputs = _idx_list(op["outputs"], nt, ("subgraph {} operator {} outputs", si, oi))
    if len(set(outputs)) != len(outputs):
        raise ModelError(f"corrupt model: subgraph {si} operator {oi} ({name}) lists one tensor twice among its "
                         f"outputs {list(outputs)}")
    return Operator(
        oi, oc, builtin, name, custom, version,
        _idx_list(op["inputs"], nt, ("subgraph {} operator {} inputs", si, oi), allow_neg1=True),
        outputs,
        _idx_list(op["intermediates"], nt, ("subgraph {} operator {} intermediates", si, oi), allow_neg1=True),
        opts, otype, cust,
    )


def build_graph(data: Any, source: Any = None) -> Model:
    """Verify ``data`` (bytes-like) and build the immutable :class:`Model`."""
    reader = FlatBufferReader(data)
    root = reader.root()
    buffers = _buffers(reader, root)
    nbuf = len(buffers)
    opcodes = [_opcode(c) for c in root.get("operator_codes") or []]
    subgraphs_t = root.get("subgraphs") or []
    if not subgraphs_t:
        raise ModelError("corrupt model: the model has no subgraphs")
    subgraphs = []
    for si, sg in enumerate(subgraphs_t):
        tensors = [_tensor(ti, t, si, buffers) for ti, t in enumerate(sg.get("tensors") or [])]
        nt = len(tensors)
        ops = [_operator(oi, op, si, opcodes, nt, reader) for oi, op in enumerate(sg.get("operators") or [])]
        subgraphs.append(Subgraph(
            index=si, name=sg.get("name") or "", tensors=tensors,
            inputs=_idx_list(sg.get("inputs"), nt, f"subgraph {si} inputs"),
            outputs=_idx_list(sg.get("outputs"), nt, f"subgraph {si} outputs"),
            operators=ops,
        ))
    sigs = []
    for i, s in enumerate(root.get("signature_defs") or []):
        sgi = int(s.get("subgraph_index") or 0)
        if sgi >= len(subgraphs):
            raise ModelError(
                f"corrupt model: signature {i} refers to subgraph {sgi}, but there are only {len(subgraphs)}"
            )
        nt = len(subgraphs[sgi].tensors)

        def tmap(lst, what, i=i, nt=nt):
            out = {}
            for m in lst or []:
                ti = int(m.get("tensor_index") or 0)
                if ti >= nt:
                    raise ModelError(
                        f"corrupt model: signature {i} {what} {m.get('name')!r} refers to tensor {ti}, "
                        f"but there are only {nt}"
                    )
                out[m.get("name") or ""] = ti
            return out

        sigs.append(
            SignatureDef(
                s.get("signature_key") or "", sgi, tmap(s.get("inputs"), "input"), tmap(s.get("outputs"), "output")
            )
        )
    _check_calls(subgraphs)
    metadata = {}
    for i, m in enumerate(root.get("metadata") or []):
        b = int(m.get("buffer") or 0)
        if b >= nbuf:
            raise ModelError(f"corrupt model: metadata {i} refers to buffer {b}, but there are only {nbuf}")
        metadata[m.get("name") or ""] = buffers[b] if buffers[b] is not None else np.zeros(0, np.uint8)
    return Model(
        version=int(root.get("version") or 0), description=root.get("description") or "",
        subgraphs=subgraphs, signature_defs=sigs, metadata=metadata, table=root,
        buffer_data=buffers, source=source if source is not None else data,
    )


def _call_fields(table: str) -> tuple[str, ...]:
    """The fields of options table ``table`` that name subgraphs (see ``called_subgraphs``)."""
    return tuple(name for name, *_ in TABLES[table] if name.endswith(("subgraph_index", "subgraph_indices"))
                 or (name, table) == ("subgraph", "CallOptions"))


_CALL_FIELDS: dict[str, tuple[str, ...]] = {u: _call_fields(u) for u in (*UNIONS["BuiltinOptions"],
                                                                          *UNIONS["BuiltinOptions2"]) if u in TABLES}


def called_subgraphs(op: Operator) -> list[int]:
    """The subgraphs an operator calls, from its options: every ``*subgraph_index`` field (WHILE,
    IF, CALL_ONCE and the StableHLO ops), ``branch_subgraph_indices`` and CALL's ``subgraph``.

    A field that is absent - or a whole options table that is - reads as the FlatBuffers default
    0, as the kernels read it: a WHILE without options calls subgraph 0, which is a call cycle
    when it sits in subgraph 0."""
    opts = op.options
    if not opts:
        table = _expected_options(op.op_name)
        names = _CALL_FIELDS.get(table or "", ())
        return [0 for n in names if n.endswith("subgraph_index") or (n == "subgraph" and table == "CallOptions")]
    names = _CALL_FIELDS.get(op.options_type or "")
    if names is not None and all(n in opts for n in names):  # a decoded options table: only these fields
        if not names:
            return []
        items = [(n, opts[n]) for n in names]
    else:
        items = list(opts.items())
    out: list[int] = []
    for name, v in items:
        if name.endswith("subgraph_index") or (name == "subgraph" and op.options_type == "CallOptions"):
            out.append(0 if v is None else int(v))
        elif v is None:
            continue
        elif name.endswith("subgraph_indices"):
            out.extend(int(x) for x in v)
    return out


def _check_calls(subgraphs: list[Subgraph]) -> None:
    """Refuse subgraph references out of range and call cycles (a subgraph that calls itself,
    directly or through others): TFLite would recurse without end on them.

    1. Every operator's called subgraphs (``called_subgraphs``) must exist.
    2. The call graph must be acyclic; cycles are found by an iterative depth-first search (no
       recursion limit to hit).
    3. No chain of nested calls may hold more than ``MAX_CALL_DEPTH`` subgraphs: preparing and
       running nested control flow recurses in Python, and a hostile chain would exhaust the
       interpreter's stack."""
    n = len(subgraphs)
    edges: list[list[tuple[int, Operator]]] = [[] for _ in range(n)]
    for sg in subgraphs:
        for op in sg.operators:
            for callee in called_subgraphs(op):
                if not 0 <= callee < n:
                    raise ModelError(f"corrupt model: {op.op_name} (node {op.index}) of subgraph {sg.index} calls "
                                     f"subgraph {callee}, but the model has {n}")
                edges[sg.index].append((callee, op))
    state = [0] * n  # 0 unseen, 1 on the current path, 2 done
    depth = [1] * n  # subgraphs on the longest call chain starting at each
    for root in range(n):
        if state[root]:
            continue
        stack = [(root, iter(edges[root]))]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                depth[node] = 1 + max((depth[c] for c, _ in edges[node]), default=0)
                if depth[node] > MAX_CALL_DEPTH:
                    raise ModelError(f"corrupt model: subgraph {node} starts a chain of {depth[node]} nested "
                                     f"subgraph calls; numlite runs at most {MAX_CALL_DEPTH}")
                stack.pop()
                continue
            callee, op = nxt
            if state[callee] == 1:
                path = [s for s, _ in stack] + [callee]
                path = path[path.index(callee):]
                raise ModelError(f"corrupt model: {op.op_name} (node {op.index}) of subgraph {node} calls subgraph "
                                 f"{callee}, which is already running: the subgraphs call each other in a cycle "
                                 f"({' -> '.join(map(str, path))})")
            if state[callee] == 0:
                state[callee] = 1
                stack.append((callee, iter(edges[callee])))


def _expected_options(op_name: str) -> str | None:
    """The options table an op's kernel reads (None for custom or unmapped ops: keep any)."""
    from .builder import options_table_for  # builder imports this module

    if op_name not in BUILTIN_CODES:
        return None
    return options_table_for(op_name)


def _unpack_sub_byte(raw: np.ndarray, nelem: int, tname: str, where: str) -> np.ndarray:
    """Unpack INT4 / UINT4 / INT2 constants, lowest bits first, one value per int8/uint8.

    Like LiteRT, a buffer of the packed size or of one byte per value is accepted; values are
    always read packed from its start."""
    bits, signed = _SUB_BYTE[tname]
    per = 8 // bits
    packed = (nelem + per - 1) // per
    if raw.size not in (packed, nelem):
        raise ModelError(f"corrupt model: {where} {tname} data has {raw.size} bytes, expected {packed} "
                         f"({per} values per byte)")
    b = raw[:packed]
    parts = [(b >> (bits * k)) & ((1 << bits) - 1) for k in range(per)]
    out = np.stack(parts, axis=1).reshape(-1)[:nelem].astype(np.uint8)
    if signed:
        out = out.astype(np.int8)
        out[out >= 1 << (bits - 1)] -= 1 << bits
    out.flags.writeable = False
    return out


def load_model(model_path: str | os.PathLike | None = None, model_content: bytes | None = None,
               mmap: bool = False) -> Model:
    """Load and verify a model from a file or from bytes.

    A file is read into memory once, by default: the model is then the process's own, and
    changing, truncating, replacing or deleting the file afterwards has no effect on it.  With
    ``mmap=True`` the file is memory-mapped instead (no copy; processes loading the same file
    share its pages, and the OS can drop clean pages under memory pressure); the file must then
    stay as it is while the model lives: replace it atomically (write a new file, ``os.replace``
    it over the old one), never in place - truncating a mapped file makes the next read of a
    weight a SIGBUS that kills the process, in numlite as in LiteRT.

    Only a regular file is read: a directory, FIFO, socket or device (``/dev/zero``) is a
    ValueError naming what it is, before anything is read from it (a FIFO without a writer would
    block ``open`` for ever).  A file larger than this machine's memory is a ModelError."""
    if (model_path is None) == (model_content is None):
        raise ValueError("Exactly one of model_path and model_content must be given")
    if model_path is not None:
        path = os.fspath(model_path)
        data, stamp = _read_model_file(path, mmap)
        model = build_graph(data, source=data)
        model.source_stamp = stamp
        return model
    if isinstance(model_content, (bytearray, memoryview)):
        model_content = bytes(model_content)  # never alias memory the caller may change
    if not isinstance(model_content, bytes):
        raise ModelTypeError(f"model_content must be bytes, not {type(model_content).__name__}")
    return build_graph(model_content, source=model_content)


_FILE_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
               (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"))


def _refuse_special_file(path: str, mode: int) -> None:
    for test, kind in _FILE_KINDS:
        if test(mode):
            raise ValueError(f"Could not open '{path}': it is {kind}, not a model file")


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev


def _stamp(path: str, st: os.stat_result) -> str:
    return f"{os.path.realpath(path)}\n" + " ".join(map(str, _identity(st)))


def _read_model_file(path: str, use_mmap: bool) -> tuple[bytes | mmap_module.mmap, str | None]:
    """The bytes of the regular file at ``path``: read (default) or memory-mapped; and the file's
    stamp (``Model.source_stamp``), None where the file changed while it was read.

    1. ``stat`` the path, then open it non-blocking (a FIFO's open would otherwise wait for a
       writer) and ``fstat`` the descriptor, so the checks apply to the file actually opened,
       not to what the path named a moment before.
    2. Refuse anything but a regular file, an empty file and one larger than physical memory.
    3. Read it whole (a short read means it shrank meanwhile: the verifier then sees the bytes
       that were there), or map it read-only."""
    try:
        _refuse_special_file(path, os.stat(path).st_mode)  # names a socket, which open() cannot
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise ValueError(f"Could not open '{path}': {e.strerror or e}") from e
    try:
        st = os.fstat(fd)
        _refuse_special_file(path, st.st_mode)
        if st.st_size == 0:
            raise ModelError(f"not a valid TFLite model: {path!r} is empty")
        from .executor import memory_limit

        if st.st_size > memory_limit():
            raise ModelError(f"{path!r} is {st.st_size} bytes, more than this machine's {memory_limit()} bytes of "
                             "memory")
        try:
            if use_mmap:
                return mmap_module.mmap(fd, 0, access=mmap_module.ACCESS_READ), _stamp(path, st)
            with os.fdopen(os.dup(fd), "rb", buffering=0) as f:
                data = f.read(st.st_size)  # one read(2) up to 2 GB on Linux; the rest below
                parts = [data]
                got = len(data)
                while data and got < st.st_size:
                    data = f.read(st.st_size - got)
                    parts.append(data)
                    got += len(data)
                data = parts[0] if len(parts) == 1 else b"".join(parts)
            after = os.fstat(fd)
        except OSError as e:
            raise ValueError(f"Could not read '{path}': {e.strerror or e}") from e
    finally:
        os.close(fd)
    if not data:
        raise ModelError(f"not a valid TFLite model: {path!r} is empty")
    unchanged = _identity(after) == _identity(st) and len(data) == st.st_size
    return data, (_stamp(path, st) if unchanged else None)
