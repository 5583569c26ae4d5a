"""TFLite model metadata: what tflite-support's ``MetadataPopulator`` writes into a model.

    from numlite import metadata
    meta = metadata.read("mobilenet.tflite")        # ModelMetadata, or None if the model has none
    meta.name, meta.version, meta.author, meta.license
    meta.subgraphs[0].inputs[0].mean, .std          # the input's NormalizationOptions
    meta.labels_for_output(0)                       # ["background", "tench", ...] or None
    metadata.labels("mobilenet.tflite")             # the same, in one call
    data = metadata.populate(model_bytes, meta, {"labels.txt": b"cat\\ndog\\n"})   # write it

Where it lives (tflite-support's ``metadata_schema.fbs``, file identifier ``M001``):

1. The model's ``metadata`` table has an entry named ``TFLITE_METADATA`` whose buffer holds a
   ``ModelMetadata`` FlatBuffer: name, description, version, author, license and, per
   subgraph, one ``TensorMetadata`` per input and output (name, description, ``process_units``
   such as ``NormalizationOptions`` mean/std, ``stats`` min/max, ``content`` (image, feature,
   bounding box) and ``associated_files``).
2. Associated files (label files, vocabularies) are stored in a zip archive appended to the
   .tflite file: the whole file opens as a zip, the FlatBuffer being data before the archive.
   ``TENSOR_AXIS_LABELS`` files name the classes of an output axis, one label per line.

Reading is bounds-checked and budgeted: every vtable, field, offset, vector and string is
checked against the buffer before ``flatbuffers.table.Table`` reads it, and the work is
limited in proportion to the buffer's size (shared references cannot fan out), so hostile or
truncated bytes give a :class:`numlite.ModelError` naming what is wrong and where, never a
crash or a hang.  A model without a ``TFLITE_METADATA`` entry gives ``None``.  Unknown enum
values and fields newer than this reader are kept as ``UNKNOWN(n)`` or ignored, as
FlatBuffers intends.

Limits: ``ImageProperties.default_size``, ``BoundingBoxProperties``, score calibration and
tokenizer options are not decoded (their kind is listed in ``process_units``); only
``populate`` rewrites a model (it re-serialises the model's FlatBuffer with numlite's writer).
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
from dataclasses import dataclass, field
from typing import Any

from .errors import ModelError

__all__ = [
    "METADATA_KEY", "AssociatedFile", "ModelMetadata", "SubGraphMetadata", "TensorMetadata", "labels", "parse",
    "populate", "read", "write",
]

METADATA_KEY = "TFLITE_METADATA"
FILE_IDENTIFIER = b"M001"
MAX_ASSOCIATED_FILE = 256 << 20  # bytes: larger associated files are refused (zip bombs)

ASSOCIATED_FILE_TYPES = ["UNKNOWN", "DESCRIPTIONS", "TENSOR_AXIS_LABELS", "TENSOR_VALUE_LABELS",
                         "TENSOR_AXIS_SCORE_CALIBRATION", "VOCABULARY"]
COLOR_SPACES = ["UNKNOWN", "RGB", "GRAYSCALE"]
CONTENT_KINDS = [None, "feature", "image", "bounding_box"]  # ContentProperties union, by type id
PROCESS_UNIT_KINDS = [None, "normalization", "score_calibration", "score_thresholding", "bert_tokenizer",
                      "sentencepiece_tokenizer"]


def _enum(names: list[Any], value: int) -> str:
    return names[value] if 0 <= value < len(names) and names[value] is not None else f"UNKNOWN({value})"


# -- the data ----------------------------------------------------------------------------------
@dataclass
class AssociatedFile:
    """A file packed into the model's zip archive (``type`` is the AssociatedFileType name)."""

    name: str = ""
    description: str = ""
    type: str = "UNKNOWN"
    locale: str = ""


@dataclass
class TensorMetadata:
    """One input or output tensor's metadata.  ``mean``/``std`` come from the tensor's
    ``NormalizationOptions`` process unit (``(x - mean) / std``, per channel or one value for
    all); ``min``/``max`` from its ``stats``; ``content`` is ``"image"``, ``"feature"``,
    ``"bounding_box"`` or None."""

    name: str = ""
    description: str = ""
    dimension_names: list[str] = field(default_factory=list)
    content: str | None = None
    color_space: str | None = None  # image content: "RGB", "GRAYSCALE" or "UNKNOWN"
    mean: list[float] | None = None
    std: list[float] | None = None
    score_threshold: float | None = None
    process_units: list[str] = field(default_factory=list)  # the kind of every process unit, in order
    min: list[float] | None = None
    max: list[float] | None = None
    associated_files: list[AssociatedFile] = field(default_factory=list)

    def files_of_type(self, kind: str) -> list[AssociatedFile]:
        return [f for f in self.associated_files if f.type == kind]

    def label_file(self, locale: str | None = None) -> AssociatedFile | None:
        """The first ``TENSOR_AXIS_LABELS`` file (of ``locale`` when given, else the first),
        else the first ``TENSOR_VALUE_LABELS`` file, else None."""
        for kind in ("TENSOR_AXIS_LABELS", "TENSOR_VALUE_LABELS"):
            files = self.files_of_type(kind)
            if locale is not None:
                files = [f for f in files if f.locale == locale] or files
            if files:
                return files[0]
        return None


@dataclass
class SubGraphMetadata:
    name: str = ""
    description: str = ""
    inputs: list[TensorMetadata] = field(default_factory=list)
    outputs: list[TensorMetadata] = field(default_factory=list)
    associated_files: list[AssociatedFile] = field(default_factory=list)


@dataclass
class ModelMetadata:
    """A model's ``ModelMetadata``.  ``files`` lists the names in the model's zip archive
    (empty when there is none); :meth:`associated_file` reads one."""

    name: str = ""
    description: str = ""
    version: str = ""
    author: str = ""
    license: str = ""
    min_parser_version: str = ""
    subgraphs: list[SubGraphMetadata] = field(default_factory=list)
    associated_files: list[AssociatedFile] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    _source: Any = field(default=None, repr=False, compare=False)  # the model: a path or bytes

    def tensor(self, kind: str, i: int, subgraph: int = 0) -> TensorMetadata | None:
        """Input (``kind="input"``) or output ``i``'s metadata, or None if there is none."""
        if not 0 <= subgraph < len(self.subgraphs):
            return None
        tensors = self.subgraphs[subgraph].inputs if kind == "input" else self.subgraphs[subgraph].outputs
        return tensors[i] if 0 <= i < len(tensors) else None

    def associated_file(self, name: str) -> bytes:
        """The bytes of the associated file ``name`` from the model's zip archive (ModelError
        when the model has no archive, no such file, or it is corrupt)."""
        if self._source is None:
            raise ModelError(f"the model has no associated files (looking for {name!r})")
        return read_associated_file(self._source, name)

    def labels_for_output(self, i: int = 0, subgraph: int = 0, locale: str | None = None) -> list[str] | None:
        """The labels of output ``i`` (its ``TENSOR_AXIS_LABELS`` file, else its
        ``TENSOR_VALUE_LABELS`` file), one per line; None when the output has no label file.
        A label file named but absent from the archive is a ModelError."""
        t = self.tensor("output", i, subgraph)
        f = t.label_file(locale) if t is not None else None
        if f is None:
            return None
        return parse_labels(self.associated_file(f.name))


def parse_labels(data: bytes) -> list[str]:
    """One label per line (``\\n`` or ``\\r\\n``); trailing blank lines dropped, inner ones kept
    (they hold a class index)."""
    lines = data.decode("utf-8", "replace").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return [ln.strip() for ln in lines]


# -- a bounds-checked reader over flatbuffers.table.Table --------------------------------------
class _Buf:
    """The metadata bytes, with checked access and a work budget."""

    def __init__(self, data: bytes):
        self.data = bytes(data)
        self.n = len(self.data)
        self.budget = 64 + 4 * self.n  # tables + vector elements decoded; each costs 1

    def need(self, pos: int, size: int, what: str) -> None:
        if pos < 0 or size < 0 or pos + size > self.n:
            raise ModelError(f"corrupt {METADATA_KEY}: {what} at byte {pos} (+{size}) lies outside the "
                             f"{self.n}-byte metadata buffer")

    def charge(self, n: int, what: str) -> None:
        self.budget -= n
        if self.budget < 0:
            raise ModelError(f"corrupt {METADATA_KEY}: {what}: shared references make the metadata larger than "
                             f"its {self.n} bytes allow")

    def u32(self, pos: int, what: str) -> int:
        self.need(pos, 4, what)
        return struct.unpack_from("<I", self.data, pos)[0]

    def deref(self, pos: int, what: str) -> int:
        """The absolute position a uoffset at ``pos`` points to (non-zero, in bounds)."""
        off = self.u32(pos, what)
        if off == 0:
            raise ModelError(f"corrupt {METADATA_KEY}: {what} at byte {pos} is a zero offset")
        target = pos + off
        self.need(target, 4, what)
        return target

    def table(self, pos: int, what: str) -> _Tab:
        self.charge(1, what)
        self.need(pos, 4, what)
        vt = pos - struct.unpack_from("<i", self.data, pos)[0]
        self.need(vt, 4, f"{what} vtable")
        vt_len, obj_len = struct.unpack_from("<HH", self.data, vt)
        if vt_len < 4 or vt_len % 2:
            raise ModelError(f"corrupt {METADATA_KEY}: {what} vtable at byte {vt} has a bad length {vt_len}")
        self.need(vt, vt_len, f"{what} vtable")
        if obj_len < 4:
            raise ModelError(f"corrupt {METADATA_KEY}: {what} at byte {pos} has a bad size {obj_len}")
        self.need(pos, obj_len, what)
        import flatbuffers.table

        return _Tab(self, flatbuffers.table.Table(self.data, pos), obj_len, what)


class _Tab:
    """One table: fields by slot (a field's vtable offset is ``4 + 2 * slot``)."""

    def __init__(self, buf: _Buf, t: Any, obj_len: int, what: str):
        self.buf, self.t, self.obj_len, self.what = buf, t, obj_len, what

    def _field(self, slot: int, size: int, name: str) -> int | None:
        off = self.t.Offset(4 + 2 * slot)  # 0 when absent or past the vtable's end
        if off == 0:
            return None
        if off + size > self.obj_len:
            raise ModelError(f"corrupt {METADATA_KEY}: {self.what}.{name} at byte {self.t.Pos + off} lies "
                             f"outside its table")
        return self.t.Pos + off

    def scalar(self, slot: int, fmt: str, default: Any, name: str) -> Any:
        pos = self._field(slot, struct.calcsize(fmt), name)
        return default if pos is None else struct.unpack_from("<" + fmt, self.buf.data, pos)[0]

    def _string_at(self, pos: int, what: str) -> str:
        length = self.buf.u32(pos, what)
        self.buf.need(pos + 4, length, what)
        self.buf.charge(1 + length // 64, what)
        return self.buf.data[pos + 4:pos + 4 + length].decode("utf-8", "replace")

    def string(self, slot: int, name: str) -> str:
        pos = self._field(slot, 4, name)
        if pos is None:
            return ""
        return self._string_at(self.buf.deref(pos, f"{self.what}.{name}"), f"{self.what}.{name}")

    def table(self, slot: int, name: str) -> _Tab | None:
        pos = self._field(slot, 4, name)
        if pos is None:
            return None
        what = f"{self.what}.{name}"
        return self.buf.table(self.buf.deref(pos, what), what)

    def _vector(self, slot: int, elem: int, name: str) -> tuple[int, int]:
        pos = self._field(slot, 4, name)
        if pos is None:
            return 0, 0
        what = f"{self.what}.{name}"
        start = self.buf.deref(pos, what)
        n = self.buf.u32(start, what)
        self.buf.need(start + 4, n * elem, what)
        self.buf.charge(n, what)
        return start + 4, n

    def floats(self, slot: int, name: str) -> list[float] | None:
        if self._field(slot, 4, name) is None:
            return None
        start, n = self._vector(slot, 4, name)
        return [float(v) for v in struct.unpack_from(f"<{n}f", self.buf.data, start)]

    def tables(self, slot: int, name: str) -> list[_Tab]:
        start, n = self._vector(slot, 4, name)
        what = f"{self.what}.{name}"
        return [self.buf.table(self.buf.deref(start + 4 * k, f"{what}[{k}]"), f"{what}[{k}]") for k in range(n)]

    def strings(self, slot: int, name: str) -> list[str]:
        start, n = self._vector(slot, 4, name)
        what = f"{self.what}.{name}"
        return [self._string_at(self.buf.deref(start + 4 * k, f"{what}[{k}]"), f"{what}[{k}]") for k in range(n)]


def _files(t: _Tab, slot: int) -> list[AssociatedFile]:
    return [AssociatedFile(name=f.string(0, "name"), description=f.string(1, "description"),
                           type=_enum(ASSOCIATED_FILE_TYPES, f.scalar(2, "b", 0, "type")),
                           locale=f.string(3, "locale"))
            for f in t.tables(slot, "associated_files")]


def _tensor(t: _Tab) -> TensorMetadata:
    m = TensorMetadata(name=t.string(0, "name"), description=t.string(1, "description"),
                       dimension_names=t.strings(2, "dimension_names"))
    content = t.table(3, "content")
    if content is not None:
        kind = content.scalar(0, "B", 0, "content_properties_type")
        if kind:
            m.content = _enum(CONTENT_KINDS, kind)
        props = content.table(1, "content_properties") if kind else None
        if m.content == "image" and props is not None:
            m.color_space = _enum(COLOR_SPACES, props.scalar(0, "b", 0, "color_space"))
    for unit in t.tables(4, "process_units"):
        kind = unit.scalar(0, "B", 0, "options_type")
        m.process_units.append(_enum(PROCESS_UNIT_KINDS, kind))
        opts = unit.table(1, "options") if kind else None
        if opts is None:
            continue
        if kind == 1 and m.mean is None:  # NormalizationOptions: the first one applies
            m.mean, m.std = opts.floats(0, "mean"), opts.floats(1, "std")
        elif kind == 3:  # ScoreThresholdingOptions
            m.score_threshold = float(opts.scalar(0, "f", 0.0, "global_score_threshold"))
    stats = t.table(5, "stats")
    if stats is not None:
        m.max, m.min = stats.floats(0, "max"), stats.floats(1, "min")
    m.associated_files = _files(t, 6)
    return m


def parse(data: bytes | bytearray | memoryview, source: Any = None) -> ModelMetadata:
    """Decode a ``ModelMetadata`` FlatBuffer (the bytes of the ``TFLITE_METADATA`` buffer).
    ``source`` (the model's path or bytes) lets the result read associated files."""
    buf = _Buf(data)
    if buf.n < 8:
        raise ModelError(f"corrupt {METADATA_KEY}: {buf.n} bytes is too short for a ModelMetadata FlatBuffer")
    ident = buf.data[4:8]
    if ident != FILE_IDENTIFIER:
        raise ModelError(f"{METADATA_KEY} is not a ModelMetadata FlatBuffer: file identifier {ident!r}, "
                         f"expected {FILE_IDENTIFIER!r}")
    root = buf.table(buf.deref(0, "root"), "ModelMetadata")
    meta = ModelMetadata(name=root.string(0, "name"), description=root.string(1, "description"),
                         version=root.string(2, "version"), author=root.string(4, "author"),
                         license=root.string(5, "license"), min_parser_version=root.string(7, "min_parser_version"))
    for sg in root.tables(3, "subgraph_metadata"):
        meta.subgraphs.append(SubGraphMetadata(
            name=sg.string(0, "name"), description=sg.string(1, "description"),
            inputs=[_tensor(t) for t in sg.tables(2, "input_tensor_metadata")],
            outputs=[_tensor(t) for t in sg.tables(3, "output_tensor_metadata")],
            associated_files=_files(sg, 4)))
    meta.associated_files = _files(root, 6)
    if source is not None:
        meta.files = list_associated_files(source)
        meta._source = source
    return meta


# -- reading a model ---------------------------------------------------------------------------
class _BufferFile(io.RawIOBase):
    """A read-only, seekable file over a buffer (bytes, mmap) without copying it."""

    def __init__(self, data: Any):
        super().__init__()
        self._view = memoryview(data).cast("B")
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, b: Any) -> int:
        chunk = self._view[self._pos:self._pos + len(b)]
        n = len(chunk)
        memoryview(b).cast("B")[:n] = chunk
        self._pos += n
        return n


def _open_zip(source: Any) -> zipfile.ZipFile | None:
    try:
        f = source if isinstance(source, (str, os.PathLike)) else io.BufferedReader(_BufferFile(source))
        if not zipfile.is_zipfile(f):
            return None
        if not isinstance(f, (str, os.PathLike)):
            f.seek(0)
        return zipfile.ZipFile(f)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error) as e:
        raise ModelError(f"the model's associated files archive is corrupt: {e}") from None


def list_associated_files(source: Any) -> list[str]:
    """The names in the zip archive appended to the model (``source``: a path or bytes)."""
    z = _open_zip(source)
    if z is None:
        return []
    with z:
        return [i.filename for i in z.infolist() if not i.is_dir()]


def read_associated_file(source: Any, name: str) -> bytes:
    """The bytes of ``name`` from the zip archive appended to the model (ModelError if absent
    or unreadable; files over 256 MB are refused)."""
    z = _open_zip(source)
    if z is None:
        raise ModelError(f"the model has no associated files archive (looking for {name!r})")
    with z:
        try:
            info = z.getinfo(name)
        except KeyError:
            raise ModelError(f"the model's metadata names the associated file {name!r}, but the model's archive "
                             f"has no such file (it has {[i.filename for i in z.infolist()]})") from None
        if info.file_size > MAX_ASSOCIATED_FILE:
            raise ModelError(f"associated file {name!r} is too large ({info.file_size} bytes)")
        try:
            with z.open(info) as f:
                data = f.read(MAX_ASSOCIATED_FILE + 1)
        except Exception as e:  # noqa: BLE001 - zlib.error, BadZipFile, NotImplementedError, RuntimeError...
            raise ModelError(f"associated file {name!r} cannot be read from the model's archive: "
                             f"{type(e).__name__}: {e}") from None
        if len(data) > MAX_ASSOCIATED_FILE:
            raise ModelError(f"associated file {name!r} is too large")
        return data


def _metadata_entries(model: Any) -> tuple[dict[str, Any], Any]:
    """(the model's metadata entries, the source to read associated files from)."""
    from .graph import Model, load_model

    if isinstance(model, Model):
        return model.metadata, model.source
    if isinstance(model, (bytes, bytearray, memoryview)):
        data = bytes(model)
        return load_model(model_content=data).metadata, data
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        return load_model(model_path=path).metadata, path
    raise TypeError(f"expected a model path, bytes or numlite.Model, got {type(model).__name__}")


def read(model: Any) -> ModelMetadata | None:
    """The metadata of ``model`` (a path, the model's bytes or a ``numlite.Model``), or None
    when it has no ``TFLITE_METADATA`` entry.  Corrupt metadata is a :class:`ModelError`."""
    entries, source = _metadata_entries(model)
    if METADATA_KEY not in entries:
        return None
    raw = entries[METADATA_KEY]
    data = raw.tobytes() if hasattr(raw, "tobytes") else bytes(raw)
    return parse(data, source=source)


def labels(model: Any, output: int = 0, subgraph: int = 0) -> list[str] | None:
    """The labels of ``model``'s output ``output`` from its metadata (None if none)."""
    meta = read(model)
    return None if meta is None else meta.labels_for_output(output, subgraph)


# -- writing -----------------------------------------------------------------------------------
def write(meta: ModelMetadata) -> bytes:
    """Serialise ``meta`` as a ``ModelMetadata`` FlatBuffer (file identifier ``M001``), the
    inverse of :func:`parse` for the fields it decodes."""
    import flatbuffers

    b = flatbuffers.Builder(1024)

    def string(s: str) -> int | None:
        return b.CreateString(s) if s else None

    def offsets(items: list[int]) -> int:
        b.StartVector(4, len(items), 4)
        for o in reversed(items):
            b.PrependUOffsetTRelative(o)
        return b.EndVector()

    def floats(vals: list[float]) -> int:
        b.StartVector(4, len(vals), 4)
        for v in reversed(vals):
            b.PrependFloat32(float(v))
        return b.EndVector()

    def table(nfields: int, fields: list[tuple[int, str, Any]]) -> int:
        b.StartObject(nfields)
        for slot, kind, value in fields:
            if value is None:
                continue
            if kind == "offset":
                b.PrependUOffsetTRelativeSlot(slot, value, 0)
            elif kind == "byte":
                b.PrependInt8Slot(slot, value, 0)
            elif kind == "ubyte":
                b.PrependUint8Slot(slot, value, 0)
            elif kind == "float":
                b.PrependFloat32Slot(slot, value, 0.0)
        return b.EndObject()

    def enum_value(names: list[Any], name: str) -> int:
        if name in names:
            return names.index(name)
        if name.startswith("UNKNOWN(") and name.endswith(")"):
            return int(name[8:-1])
        raise ValueError(f"unknown value {name!r}: one of {[n for n in names if n]}")

    def files(fs: list[AssociatedFile]) -> int | None:
        if not fs:
            return None
        outs = []
        for f in fs:
            name, desc, loc = string(f.name), string(f.description), string(f.locale)
            outs.append(table(4, [(0, "offset", name), (1, "offset", desc),
                                  (2, "byte", enum_value(ASSOCIATED_FILE_TYPES, f.type)), (3, "offset", loc)]))
        return offsets(outs)

    def tensor(t: TensorMetadata) -> int:
        name, desc = string(t.name), string(t.description)
        dims = offsets([b.CreateString(s) for s in t.dimension_names]) if t.dimension_names else None
        content = None
        if t.content:
            kind = enum_value(CONTENT_KINDS, t.content)
            props_fields = []
            if t.content == "image" and t.color_space:
                props_fields = [(0, "byte", enum_value(COLOR_SPACES, t.color_space))]
            props = table(3, props_fields)
            content = table(3, [(0, "ubyte", kind), (1, "offset", props)])
        units = []
        if t.mean is not None or t.std is not None:
            mean = floats(t.mean) if t.mean is not None else None
            std = floats(t.std) if t.std is not None else None
            opts = table(2, [(0, "offset", mean), (1, "offset", std)])
            units.append(table(2, [(0, "ubyte", 1), (1, "offset", opts)]))
        if t.score_threshold is not None:
            opts = table(1, [(0, "float", float(t.score_threshold))])
            units.append(table(2, [(0, "ubyte", 3), (1, "offset", opts)]))
        process_units = offsets(units) if units else None
        stats = None
        if t.min is not None or t.max is not None:
            mx = floats(t.max) if t.max is not None else None
            mn = floats(t.min) if t.min is not None else None
            stats = table(2, [(0, "offset", mx), (1, "offset", mn)])
        fs = files(t.associated_files)
        return table(7, [(0, "offset", name), (1, "offset", desc), (2, "offset", dims), (3, "offset", content),
                         (4, "offset", process_units), (5, "offset", stats), (6, "offset", fs)])

    sgs = []
    for sg in meta.subgraphs:
        name, desc = string(sg.name), string(sg.description)
        ins = offsets([tensor(t) for t in sg.inputs])
        outs = offsets([tensor(t) for t in sg.outputs])
        fs = files(sg.associated_files)
        sgs.append(table(7, [(0, "offset", name), (1, "offset", desc), (2, "offset", ins), (3, "offset", outs),
                             (4, "offset", fs)]))
    fields = [string(meta.name), string(meta.description), string(meta.version)]
    subgraphs = offsets(sgs) if sgs else None
    author, lic, fs = string(meta.author), string(meta.license), files(meta.associated_files)
    parser = string(meta.min_parser_version or "1.0.0")
    root = table(8, [(0, "offset", fields[0]), (1, "offset", fields[1]), (2, "offset", fields[2]),
                     (3, "offset", subgraphs), (4, "offset", author), (5, "offset", lic), (6, "offset", fs),
                     (7, "offset", parser)])
    b.Finish(root, file_identifier=FILE_IDENTIFIER)
    return bytes(b.Output())


def append_associated_files(model: bytes, files: dict[str, bytes]) -> bytes:
    """``model`` with a zip archive of ``files`` appended (what tflite-support's populator
    does): the result is still a valid .tflite file, and opens as a zip."""
    out = io.BytesIO()
    out.write(model)
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_STORED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


def _with_entries(model: bytes, entries: dict[str, bytes]) -> bytes:
    """``model`` re-serialised with the metadata ``entries`` (name -> bytes) added, replacing
    entries of the same names; an appended zip archive is dropped."""
    import numpy as np

    from .schema.reader import read_model_table
    from .schema.writer import write_model

    root = read_model_table(model)
    buffers = list(root.get("buffers") or [])
    kept = [dict(m) for m in root.get("metadata") or [] if m.get("name") not in entries]
    for name, data in entries.items():
        buffers.append({"data": np.frombuffer(data, np.uint8)})
        kept.append({"name": name, "buffer": len(buffers) - 1})
    plain = dict(root)
    plain["buffers"], plain["metadata"] = buffers, kept
    return write_model(plain, source=model)


def populate(model: bytes, meta: ModelMetadata, files: dict[str, bytes] | None = None) -> bytes:
    """``model`` (.tflite bytes) with ``meta`` as its ``TFLITE_METADATA`` entry (replacing
    any) and ``files`` appended as its associated files archive.  A zip archive already on
    ``model`` is dropped: pass every file again."""
    data = _with_entries(model, {METADATA_KEY: write(meta)})
    return append_associated_files(data, files) if files else data


#: metadata entries that describe how a file was written, not the model: a rewritten model
#: gets its own (numlite's writer sets ``min_runtime_version``), so they are not carried over
WRITER_ENTRIES = frozenset({"min_runtime_version", "CONVERSION_METADATA"})


def carry_over(source: Any, model: bytes) -> bytes:
    """``model`` (the bytes of a model made from ``source``: its quantized twin, say) with
    ``source``'s metadata entries (``TFLITE_METADATA`` and any other, byte for byte, except
    :data:`WRITER_ENTRIES` and names ``model`` already has) and its associated files archive.
    ``model`` is returned as is when ``source`` has neither."""
    entries, src = _metadata_entries(source)
    have = _metadata_entries(model)[0]
    wanted = {k: bytes(v.tobytes() if hasattr(v, "tobytes") else v) for k, v in entries.items()
              if k not in WRITER_ENTRIES and k not in have}
    own = list_associated_files(model)
    if own:  # the model has an archive of its own: it is kept (re-appended if the model is rewritten)
        files = {n: read_associated_file(model, n) for n in own}
    else:
        files = {n: read_associated_file(src, n) for n in list_associated_files(src)}
    if not wanted and (own or not files):
        return model
    data = _with_entries(model, wanted) if wanted else model
    return append_associated_files(data, files) if files else data
