"""The immutable model graph: what the interpreter needs from a .tflite file.

``load_model`` verifies and decodes the FlatBuffer (``schema.reader``) and then checks the
graph-level invariants the FlatBuffer verifier cannot see:

1. Every index (tensor, buffer, op code, subgraph) is in range; operator inputs may be -1
   for omitted optional inputs, nothing else may be negative.
2. Tensor types are known, shapes are non-negative (``shape_signature`` may hold -1) and
   small enough to allocate; constant data has exactly the size its shape and type need.
3. Buffers stored after the FlatBuffer (``offset``/``size``, models over 2 GB) lie inside the
   file.
4. Constant tensors become read-only, zero-copy NumPy views on the model bytes.
"""

from __future__ import annotations

import mmap
import os
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


def _idx_list(arr: np.ndarray | None, n: int, what: str, allow_neg1: bool = False) -> tuple[int, ...]:
    if arr is None:
        return ()
    vals = tuple(int(v) for v in arr)
    for v in vals:
        if v >= n or v < (-1 if allow_neg1 else 0):
            raise ModelError(f"corrupt model: {what} refers to index {v}, but there are only {n}")
    return vals


def _quantization(q: Table | None, where: str) -> Quantization:
    if q is None:
        return NO_QUANTIZATION
    scales = q.get("scale")
    zps = q.get("zero_point")
    scales = np.zeros(0, np.float32) if scales is None else np.asarray(scales, np.float32)
    zps = np.zeros(0, np.int64) if zps is None else np.asarray(zps, np.int64)
    if scales.size and zps.size and zps.size != scales.size:
        raise ModelError(f"corrupt model: {where} has {scales.size} scales but {zps.size} zero points")
    if scales.size and not zps.size:
        zps = np.zeros(scales.size, np.int64)
    return Quantization(scales, zps, int(q.get("quantized_dimension") or 0), q.get("min"), q.get("max"))


def _buffers(reader: FlatBufferReader, root: Table) -> list[np.ndarray | None]:
    out: list[np.ndarray | None] = []
    for i, buf in enumerate(root.get("buffers") or []):
        where = f"Model.buffers[{i}]"
        off, size = int(buf.get("offset") or 0), int(buf.get("size") or 0)
        if off > 1:
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


def build_graph(data: Any, source: Any = None) -> Model:
    """Verify ``data`` (bytes-like) and build the immutable :class:`Model`."""
    reader = FlatBufferReader(data)
    root = reader.root()
    buffers = _buffers(reader, root)
    nbuf = len(buffers)
    opcodes = root.get("operator_codes") or []
    subgraphs_t = root.get("subgraphs") or []
    if not subgraphs_t:
        raise ModelError("corrupt model: the model has no subgraphs")
    subgraphs = []
    for si, sg in enumerate(subgraphs_t):
        tensors = []
        tlist = sg.get("tensors") or []
        for ti, t in enumerate(tlist):
            where = f"subgraph {si} tensor {ti}"
            tname = TENSOR_TYPES.get(int(t["type"]))
            if tname is None or tname not in NUMPY_TYPES:
                raise ModelError(f"corrupt model: {where} has unknown tensor type {t['type']}")
            shape_v, sig_v = t.get("shape"), t.get("shape_signature")
            for what, v in (("shape", shape_v), ("shape_signature", sig_v)):
                if v is not None and len(v) > MAX_RANK:
                    raise ModelError(f"corrupt model: {where} ({t.get('name')!r}) {what} has rank {len(v)}; "
                                     f"numlite supports at most {MAX_RANK} dimensions")
            shape = tuple(int(d) for d in (shape_v if shape_v is not None else ()))
            sig = tuple(int(d) for d in sig_v) if sig_v is not None and len(sig_v) else shape
            if any(d < 0 for d in shape):
                raise ModelError(
                    f"corrupt model: {where} ({t.get('name')!r}) has negative dimension in shape {list(shape)}"
                )
            if len(sig) != len(shape) or any(d < -1 for d in sig):
                raise ModelError(
                    f"corrupt model: {where} ({t.get('name')!r}) shape_signature {list(sig)} "
                    f"does not match shape {list(shape)}"
                )
            dtype = NUMPY_TYPES[tname]
            itemsize = np.dtype(dtype).itemsize if dtype is not None and tname != "STRING" else 1
            nelem = 1
            for d in shape:
                nelem *= d
                if nelem * itemsize > MAX_TENSOR_BYTES:  # checked per step: no huge big-int products
                    break
            if nelem * itemsize > MAX_TENSOR_BYTES:
                raise ModelError(f"corrupt model: {where} ({t.get('name')!r}) shape {list(shape)} is absurdly large "
                                 f"(over {MAX_TENSOR_BYTES} bytes)")
            bidx = int(t.get("buffer") or 0)
            if bidx >= nbuf and bidx != 0:
                raise ModelError(f"corrupt model: {where} refers to buffer {bidx}, but there are only {nbuf}")
            raw = buffers[bidx] if bidx < nbuf else None
            arr = None
            if raw is not None:
                if tname == "STRING":
                    arr = strings.decode(raw, nelem, f"{where} ({t.get('name')!r})").reshape(shape)
                elif dtype is None:
                    arr = raw
                elif tname in _SUB_BYTE:
                    arr = _unpack_sub_byte(raw, nelem, tname, where).reshape(shape)
                else:
                    if raw.size != nelem * itemsize and not t.get("sparsity"):
                        raise ModelError(
                            f"corrupt model: {where} ({t.get('name')!r}) of shape {list(shape)} and type "
                            f"{tname} needs {nelem * itemsize} bytes but its buffer {bidx} has {raw.size}"
                        )
                    if t.get("sparsity"):
                        arr = raw  # densified by the DENSIFY kernel / loader of sparse weights
                    else:
                        arr = np.frombuffer(raw.data, dtype=dtype, count=nelem).reshape(shape)
            tensors.append(Tensor(
                index=ti, name=t.get("name") or "", type_name=tname, dtype=dtype, shape=shape,
                shape_signature=sig, buffer=bidx, data=arr,
                quantization=_quantization(t.get("quantization"), where),
                sparsity=t.get("sparsity"), is_variable=bool(t.get("is_variable")),
                has_rank=bool(t.get("has_rank")),
            ))
        nt = len(tensors)
        ops = []
        for oi, op in enumerate(sg.get("operators") or []):
            where = f"subgraph {si} operator {oi}"
            oc = int(op.get("opcode_index") or 0)
            if oc >= len(opcodes):
                raise ModelError(f"corrupt model: {where} uses op code {oc}, but there are only {len(opcodes)}")
            code_t = opcodes[oc]
            builtin = max(int(code_t.get("builtin_code") or 0), int(code_t.get("deprecated_builtin_code") or 0))
            custom = code_t.get("custom_code")
            name = BUILTIN_OPS.get(builtin, f"UNKNOWN_BUILTIN_{builtin}")
            if name == "CUSTOM":
                name = custom or "CUSTOM"
            opts, otype = op.get("builtin_options"), None
            if opts is not None:
                otype = UNIONS["BuiltinOptions"][op["builtin_options_type"] - 1]
            elif op.get("builtin_options_2") is not None:
                opts = op["builtin_options_2"]
                otype = UNIONS["BuiltinOptions2"][op["builtin_options_2_type"] - 1]
            expected = _expected_options(name)
            if otype is not None and expected is not None and otype != expected:
                # LiteRT reads options only through the op's own table type and uses the
                # defaults otherwise; do the same rather than hand a kernel foreign fields.
                opts, otype = None, None
            cust = op.get("custom_options")
            lo, ls = int(op.get("large_custom_options_offset") or 0), int(op.get("large_custom_options_size") or 0)
            if lo > 1:
                cust = reader.raw(lo, ls, f"{where}.large_custom_options")
            ops.append(Operator(
                index=oi, opcode_index=oc, builtin_code=builtin, op_name=name, custom_code=custom,
                version=int(code_t.get("version") or 1),
                inputs=_idx_list(op.get("inputs"), nt, f"{where} inputs", allow_neg1=True),
                outputs=_idx_list(op.get("outputs"), nt, f"{where} outputs"),
                intermediates=_idx_list(op.get("intermediates"), nt, f"{where} intermediates", allow_neg1=True),
                options=opts, options_type=otype, custom_options=cust,
            ))
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


def called_subgraphs(op: Operator) -> list[int]:
    """The subgraphs an operator calls, from its options: every ``*subgraph_index`` field (WHILE,
    IF, CALL_ONCE and the StableHLO ops), ``branch_subgraph_indices`` and CALL's ``subgraph``."""
    opts = op.options
    if not opts:
        return []
    out: list[int] = []
    for name, v in opts.items():
        if v is None:
            continue
        if name.endswith("subgraph_index") or (name == "subgraph" and op.options_type == "CallOptions"):
            out.append(int(v))
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


def load_model(model_path: str | os.PathLike | None = None, model_content: bytes | None = None) -> Model:
    """Load and verify a model from a file (memory-mapped) or from bytes."""
    if (model_path is None) == (model_content is None):
        raise ValueError("Exactly one of model_path and model_content must be given")
    if model_path is not None:
        try:
            with open(os.fspath(model_path), "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size == 0:
                    raise ModelError(f"not a valid TFLite model: {os.fspath(model_path)!r} is empty")
                mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as e:
            raise ValueError(f"Could not open '{os.fspath(model_path)}': {e.strerror or e}") from e
        return build_graph(mm, source=mm)
    if isinstance(model_content, (bytearray, memoryview)):
        model_content = bytes(model_content)  # never alias memory the caller may change
    if not isinstance(model_content, bytes):
        raise ModelTypeError(f"model_content must be bytes, not {type(model_content).__name__}")
    return build_graph(model_content, source=model_content)
