"""The fast decoding path of ``schema.reader`` and ``graph.build_graph`` (see the reader's module
docstring, points 5-8): it must decode exactly what a plain FlatBuffers walk decodes, and every
check it inlines must still raise ``ModelError`` naming the schema path and the byte offset.

The reference decoder here reads the same schema description with the ``flatbuffers`` package's
generic ``Table`` accessors (no verification), so it shares no code with numlite's reader.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
from flatbuffers import number_types as N
from flatbuffers.table import Table as FbTable

import numlite
from numlite import models
from numlite.builder import ModelBuilder
from numlite.errors import ModelError
from numlite.graph import NO_QUANTIZATION, Operator, called_subgraphs, load_model
from numlite.schema._schema import TABLES, UNIONS
from numlite.schema.reader import FlatBufferReader, Table, read_model_table
from numlite.schema.writer import write_model

_FLAGS = {"bool": N.BoolFlags, "byte": N.Int8Flags, "ubyte": N.Uint8Flags, "short": N.Int16Flags,
          "ushort": N.Uint16Flags, "int": N.Int32Flags, "uint": N.Uint32Flags, "long": N.Int64Flags,
          "ulong": N.Uint64Flags, "float": N.Float32Flags, "double": N.Float64Flags}
_NP = {"bool": np.uint8, "byte": np.int8, "ubyte": np.uint8, "short": np.int16, "ushort": np.uint16,
       "int": np.int32, "uint": np.uint32, "long": np.int64, "ulong": np.uint64, "float": np.float32,
       "double": np.float64}


def reference_table(buf: bytes, pos: int, tname: str, counts: dict[str, int]) -> dict:
    """Decode a table the plain way (flatbuffers' generic accessors), counting tables and vectors."""
    counts["tables"] += 1
    tab = FbTable(buf, pos)
    out: dict = {}
    for name, kind, typ, default, slot in TABLES[tname]:
        o = tab.Offset(4 + 2 * slot)
        if kind == "scalar":
            out[name] = tab.Get(_FLAGS[typ], o + tab.Pos) if o else default
            continue
        if kind == "union":
            vo = tab.Offset(4 + 2 * (slot + 1))
            utype = tab.Get(N.Uint8Flags, o + tab.Pos) if o else 0
            out[name + "_type"] = utype
            out[name] = (reference_table(buf, tab.Indirect(vo + tab.Pos), UNIONS[typ][utype - 1], counts)
                         if utype and vo else None)
            continue
        if not o:
            out[name] = None
        elif kind == "table":
            out[name] = reference_table(buf, tab.Indirect(o + tab.Pos), typ, counts)
        elif kind == "string":
            counts["vectors"] += 1
            out[name] = tab.String(o + tab.Pos).decode("utf-8", "replace")
        else:
            counts["vectors"] += 1
            start, n = tab.Vector(o), tab.VectorLen(o)
            if kind == "vector":
                arr = np.frombuffer(buf, dtype=_NP[typ], count=n, offset=start)
                out[name] = arr != 0 if typ == "bool" else arr
            elif kind == "vector_table":
                out[name] = [reference_table(buf, tab.Indirect(start + 4 * i), typ, counts) for i in range(n)]
            else:
                counts["vectors"] += n
                out[name] = [tab.String(start + 4 * i).decode("utf-8", "replace") for i in range(n)]
    return out


def reference_model(buf: bytes) -> tuple[dict, dict[str, int]]:
    counts = {"tables": 0, "vectors": 0}
    return reference_table(buf, struct.unpack_from("<I", buf, 0)[0], "Model", counts), counts


def assert_same(ours, ref, path="Model"):
    """Same keys in the same order, same value types, equal values; arrays read-only views."""
    if isinstance(ref, dict):
        assert isinstance(ours, Table), path
        assert list(ours) == list(ref), path
        for k in ref:
            assert_same(ours[k], ref[k], f"{path}.{k}")
    elif isinstance(ref, list):
        assert type(ours) is list and len(ours) == len(ref), path
        for i, (a, b) in enumerate(zip(ours, ref)):
            assert_same(a, b, f"{path}[{i}]")
    elif isinstance(ref, np.ndarray):
        assert isinstance(ours, np.ndarray) and ours.dtype == ref.dtype and ours.shape == ref.shape, path
        np.testing.assert_array_equal(ours, ref, err_msg=path)
        if ref.dtype != np.bool_:
            assert not ours.flags.writeable and ours.flags.c_contiguous, path
    else:
        assert type(ours) is type(ref) and ours == ref, (path, ours, ref)


def small_builder(custom_op: bool = True) -> ModelBuilder:
    """Every kind of field: quantization, shape_signature, strings, options, custom options,
    intermediates, a signature and metadata."""
    mb = ModelBuilder()
    x = mb.input("x", (2, 3), np.float32, shape_signature=(-1, 3))
    c = mb.const("c", np.arange(6, dtype=np.float32).reshape(2, 3))
    mb.const("q", np.array([1, -2, 3], np.int8),
             quantization={"scale": [0.5, 0.25, 2.0], "zero_point": [0, 0, 0], "quantized_dimension": 0,
                           "min": [-1.0, -1.0, -1.0], "max": [1.0, 1.0, 1.0]})
    mb.const("i64", np.array([[7, -8]], np.int64))
    y = mb.tensor("y", (2, 3), np.float32)
    z = mb.tensor("z", (2, 3), np.float32)
    mb.op("ADD", [x, c], [y], fused_activation_function="RELU")
    mb.op("ADD", [y, x], [z], intermediates=[c])
    if custom_op:  # numlite has no kernel for it: the model loads but does not run
        mb.op("custom:MyOp", [z], [], custom_options=b"\x01\x02\x03")
    mb.output(z)
    mb.signature("serving_default", {"x": x}, {"z": z})
    mb.add_metadata("meta", b"hello")
    return mb


SMALL = small_builder().build()


@pytest.mark.parametrize("name", ["small", "small_external", "mobilenet_v1", "mobilenet_v2"])
def test_decodes_what_a_plain_walk_decodes(name):
    if name.startswith("small"):
        data = small_builder().build(external_data=name == "small_external")
    else:
        data = models.build(name)
    ref, _ = reference_model(data)
    assert_same(FlatBufferReader(data).root(), ref)


def test_mediapipe_model_decodes_what_a_plain_walk_decodes():
    import mediapipe_models

    path = mediapipe_models.model_path("face_landmark.tflite")
    data = path.read_bytes()
    ref, _ = reference_model(data)
    assert_same(read_model_table(data), ref)
    model = load_model(model_path=path)
    assert len(model.subgraphs[0].tensors) == len(ref["subgraphs"][0]["tensors"])


def test_graph_values_have_the_expected_types():
    m = load_model(model_content=SMALL)
    sg = m.subgraphs[0]
    for t in sg.tensors:
        assert type(t.shape) is tuple and all(type(d) is int for d in t.shape)
        assert type(t.shape_signature) is tuple and all(type(d) is int for d in t.shape_signature)
        assert type(t.buffer) is int
    assert sg.tensors[0].shape == (2, 3) and sg.tensors[0].shape_signature == (-1, 3)
    assert sg.tensors[1].shape_signature == (2, 3)  # none stored: the shape
    for op in sg.operators:
        for idx in (op.inputs, op.outputs, op.intermediates):
            assert type(idx) is tuple and all(type(i) is int for i in idx)
    assert sg.operators[1].intermediates == (1,)
    assert type(sg.inputs) is tuple and type(sg.inputs[0]) is int
    c, i64 = sg.tensors[1].data, sg.tensors[3].data
    assert c.dtype == np.float32 and c.shape == (2, 3) and not c.flags.writeable
    np.testing.assert_array_equal(c, np.arange(6, dtype=np.float32).reshape(2, 3))
    assert np.shares_memory(c, np.frombuffer(SMALL, np.uint8))
    assert i64.dtype == np.int64 and i64.tolist() == [[7, -8]]
    assert bytes(sg.operators[2].custom_options) == b"\x01\x02\x03"
    q = sg.tensors[2].quantization
    assert q.scales.dtype == np.float32 and q.zero_points.dtype == np.int64 and q.scales.tolist() == [0.5, 0.25, 2.0]
    assert q.min.tolist() == [-1.0] * 3 and q.max.tolist() == [1.0] * 3
    assert sg.tensors[0].quantization is NO_QUANTIZATION


def test_empty_quantization_table_is_no_quantization_and_a_lone_axis_is_kept():
    mb = ModelBuilder()
    x = mb.input("x", (2,), np.float32)
    y = mb.tensor("y", (2,), np.float32)
    mb.op("RELU", [x], [y])
    mb.output(y)
    d = mb.model_dict()
    d["subgraphs"][0]["tensors"][0]["quantization"] = {}
    d["subgraphs"][0]["tensors"][1]["quantization"] = {"quantized_dimension": 1}
    m = load_model(model_content=write_model(d))
    q0, q1 = m.subgraphs[0].tensors[0].quantization, m.subgraphs[0].tensors[1].quantization
    assert q0 is NO_QUANTIZATION  # what an empty table's fields would give, shared
    assert q1.quantized_dimension == 1 and not q1.is_quantized and q1.zero_points.size == 0


# -- vectors at every alignment (point 8) --------------------------------------------------

def _misaligned_quantization() -> tuple[bytes, int]:
    """A QuantizationParameters table whose float and long vectors start at odd offsets."""
    buf = bytearray(80)
    vt, t = 8, 26
    struct.pack_into("<I", buf, 0, t)
    struct.pack_into("<HH7H", buf, vt, 18, 16, 0, 0, 4, 8, 0, 0, 12)  # scale, zero_point, quantized_dimension
    struct.pack_into("<i", buf, t, t - vt)
    struct.pack_into("<I", buf, t + 4, 43 - (t + 4))
    struct.pack_into("<I", buf, t + 8, 57 - (t + 8))
    struct.pack_into("<i", buf, t + 12, 1)
    struct.pack_into("<I2f", buf, 43, 2, 0.5, 0.25)
    struct.pack_into("<I2q", buf, 57, 2, -3, 7)
    return bytes(buf), t


def test_vectors_at_odd_offsets():
    data, t = _misaligned_quantization()
    q = FlatBufferReader(data).table(t, "QuantizationParameters", "Q")
    assert q.scale.dtype == np.float32 and q.scale.tolist() == [0.5, 0.25]
    assert q.zero_point.dtype == np.int64 and q.zero_point.tolist() == [-3, 7]
    assert q.quantized_dimension == 1 and q.min is None and q.details_type == 0
    counts = {"tables": 0, "vectors": 0}
    assert_same(q, reference_table(data, t, "QuantizationParameters", counts))


def _quantization_with_vtable(slots: list[int]) -> tuple[bytes, int]:
    """A QuantizationParameters table (16 bytes: a 1-byte field at 4, quantized_dimension = 3
    at 12) whose vtable holds ``slots``."""
    vt = 4
    t = vt + 4 + 2 * len(slots)
    t += (-t) % 4
    buf = bytearray(t + 16)
    struct.pack_into("<I", buf, 0, t)
    struct.pack_into(f"<HH{len(slots)}H", buf, vt, 4 + 2 * len(slots), 16, *slots)
    struct.pack_into("<i", buf, t, t - vt)
    buf[t + 4] = 1
    struct.pack_into("<i", buf, t + 12, 3)
    return bytes(buf), t


def test_vtables_longer_and_shorter_than_our_schema():
    # slots past the ones our schema knows (newer fields) are ignored
    data, t = _quantization_with_vtable([0, 0, 0, 0, 0, 0, 12, 4, 4, 4])
    q = FlatBufferReader(data).table(t, "QuantizationParameters", "Q")
    assert q.quantized_dimension == 3 and q.details_type == 0 and q.details is None and q.scale is None
    # a vtable that ends after a union's type tag: the union has no value
    data, t = _quantization_with_vtable([0, 0, 0, 0, 4])
    q = FlatBufferReader(data).table(t, "QuantizationParameters", "Q")
    assert q.details_type == 1 and q.details is None and q.quantized_dimension == 0
    # ... and one whose value slot is there but points outside the table is refused
    data, t = _quantization_with_vtable([0, 0, 0, 0, 4, 14])
    with pytest.raises(ModelError, match=r"field extends past its table at Q\.details "):
        FlatBufferReader(data).table(t, "QuantizationParameters", "Q")
    counts = {"tables": 0, "vectors": 0}
    data, t = _quantization_with_vtable([0, 0, 0, 0, 0, 0, 12])
    assert_same(FlatBufferReader(data).table(t, "QuantizationParameters", "Q"),
                reference_table(data, t, "QuantizationParameters", counts))


@pytest.mark.parametrize("typ,values", [("int", [1, -2, 3]), ("long", [2**40, -5]), ("float", [1.5, -0.25]),
                                        ("bool", [1, 0, 2]), ("ushort", [7, 65535]), ("double", [0.1])])
def test_vector_views_at_every_phase(typ, values):
    fmt = {"int": "i", "long": "q", "float": "f", "bool": "B", "ushort": "H", "double": "d"}[typ]
    for phase in range(9):
        buf = bytearray(phase) + struct.pack(f"<I{len(values)}{fmt}", len(values), *values) + bytes(3)
        r = FlatBufferReader(bytes(buf))
        a, b = r.vector(phase, typ, "v"), r.vector(phase, typ, "v")  # the second from the cached view
        want = np.array(values, _NP[typ])
        want = want != 0 if typ == "bool" else want
        assert a.dtype == want.dtype and a.tolist() == want.tolist() and b.tolist() == want.tolist()
        if typ != "bool":
            assert not a.flags.writeable


def test_vector_views_on_mmap_and_memoryview(tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(SMALL)
    ref, _ = reference_model(SMALL)
    assert_same(read_model_table(memoryview(SMALL)), ref)
    assert_same(read_model_table(bytearray(SMALL))["subgraphs"][0]["name"], ref["subgraphs"][0]["name"])
    m = load_model(model_path=path)
    assert m.subgraphs[0].tensors[0].name == "x" and m.subgraphs[0].tensors[0].shape == (2, 3)


# -- spies still see every table and vector (point 6) --------------------------------------

def test_subclass_hooks_see_every_table_and_vector():
    seen = {"tables": 0, "vectors": 0}

    class Spy(FlatBufferReader):
        def table(self, pos, tname, path):
            seen["tables"] += 1
            return super().table(pos, tname, path)

        def _vlen(self, pos, esize, path):
            seen["vectors"] += 1
            return super()._vlen(pos, esize, path)

    Spy(SMALL).root()
    _, counts = reference_model(SMALL)
    assert seen == counts


# -- corrupt offsets inside the fast path: ModelError with the path and the byte offset -------

def _fb(buf: bytes, pos: int) -> FbTable:
    return FbTable(buf, pos)


def _field_pos(buf: bytes, table_pos: int, slot: int) -> int:
    tab = _fb(buf, table_pos)
    o = tab.Offset(4 + 2 * slot)
    assert o, slot
    return table_pos + o


def _deref(buf: bytes, p: int) -> int:
    return p + struct.unpack_from("<I", buf, p)[0]


def _slot(tname: str, field: str) -> int:
    return next(s for name, _, _, _, s in TABLES[tname] if name == field)


def _element(buf: bytes, vector_field_pos: int, i: int) -> tuple[int, int]:
    """(position of element i's uoffset, the table it points at) in a vector of tables."""
    v = _deref(buf, vector_field_pos)
    return v + 4 + 4 * i, _deref(buf, v + 4 + 4 * i)


def _positions(buf: bytes) -> dict[str, int]:
    root = _deref(buf, 0)
    subgraphs_f = _field_pos(buf, root, _slot("Model", "subgraphs"))
    _, sg0 = _element(buf, subgraphs_f, 0)
    tensors_f = _field_pos(buf, sg0, _slot("SubGraph", "tensors"))
    t2_elem, t2 = _element(buf, tensors_f, 2)
    ops_f = _field_pos(buf, sg0, _slot("SubGraph", "operators"))
    _, op0 = _element(buf, ops_f, 0)
    opts_f = _field_pos(buf, op0, _slot("Operator", "builtin_options") + 1)
    return {
        "t2_elem": t2_elem, "t2": t2,
        "t2_shape": _field_pos(buf, t2, _slot("Tensor", "shape")),
        "t2_name": _field_pos(buf, t2, _slot("Tensor", "name")),
        "t2_buffer": _field_pos(buf, t2, _slot("Tensor", "buffer")),
        "t2_quant": _field_pos(buf, t2, _slot("Tensor", "quantization")),
        "op0": op0, "op0_opts": opts_f, "op0_opts_table": _deref(buf, opts_f),
        "op0_type": _field_pos(buf, op0, _slot("Operator", "builtin_options")),
    }


P = _positions(SMALL)
T2 = "Model.subgraphs[0].tensors[2]"


def _patched(fmt: str, pos: int, value: int) -> bytes:
    b = bytearray(SMALL)
    struct.pack_into(fmt, b, pos, value)
    return bytes(b)


def _error(data: bytes, *fragments: str) -> str:
    with pytest.raises(ModelError) as ei:
        load_model(model_content=data)
    msg = str(ei.value)
    for f in fragments:
        assert f in msg, f"{f!r} not in {msg!r}"
    assert "('" not in msg and "(((" not in msg  # paths rendered, never a tuple's repr
    return msg


def test_corrupt_vector_offsets_name_the_field():
    p = P["t2_shape"]
    _error(_patched("<I", p, 0), "zero offset", f"{T2}.shape ", f"byte offset {p},")
    _error(_patched("<I", p, len(SMALL)), "points past the end", f"{T2}.shape ", f"byte offset {p},")
    _error(_patched("<I", p, len(SMALL) - p - 2), f"{T2}.shape ", "vector length of 4 bytes lies outside")
    v = _deref(SMALL, p)
    _error(_patched("<I", v, 0x3FFFFFFF), "vector of 1073741823 elements of 4 bytes lies outside the buffer",
           f"{T2}.shape ", f"byte offset {v},")


def test_corrupt_string_names_the_field():
    s = _deref(SMALL, P["t2_name"])
    _error(_patched("<I", s, len(SMALL)), f"{T2}.name ", "elements of 1 bytes lies outside", f"byte offset {s},")


def test_corrupt_vector_of_tables_element_names_the_index():
    p = P["t2_elem"]
    _error(_patched("<I", p, 0), "zero offset", f"at {T2} (byte offset {p},")
    _error(_patched("<I", p, 0xFFFFFFF0), "points past the end", f"at {T2} (byte offset {p},")


def test_corrupt_nested_table_names_the_path():
    q = _deref(SMALL, P["t2_quant"])
    _error(_patched("<i", q, 2**31 - 1), f"{T2}.quantization ", "vtable header")
    _error(_patched("<I", P["t2_quant"], 0), f"{T2}.quantization ", "zero offset")


def test_scalar_field_past_its_table_names_the_field():
    t2 = P["t2"]
    vt = t2 - struct.unpack_from("<i", SMALL, t2)[0]
    slot = _slot("Tensor", "buffer")
    # (the vtable may be shared with other tensors: the first one that uses it is named)
    _error(_patched("<H", vt + 4 + 2 * slot, 0xFFF0), "Model.subgraphs[0].tensors[", "].buffer ",
           "field extends past its table")


def test_corrupt_union_names_the_member_path():
    op0 = "Model.subgraphs[0].operators[0]"
    _error(_patched("<B", P["op0_type"], 250), f"{op0}.builtin_options_type ", "unknown BuiltinOptions member 250")
    _error(_patched("<I", P["op0_opts"], 0), f"{op0}.builtin_options ", "zero offset")
    _error(_patched("<I", P["op0_opts"], len(SMALL)), f"{op0}.builtin_options ", "points past the end")
    opts = P["op0_opts_table"]
    _error(_patched("<i", opts, -(2**31)), f"{op0}.builtin_options<AddOptions> ", "vtable header")


def test_budget_error_renders_the_path():
    r = FlatBufferReader(SMALL)
    r.budget = 200
    with pytest.raises(ModelError, match=r"decoding work exceeds .* at Model\.") as ei:
        r.root()
    assert "('" not in str(ei.value)


def test_every_word_overwrite_is_a_model_error_or_loads():
    # the inline checks see the same corruptions the helpers did: any 4-byte word set to an
    # extreme value either still decodes or raises ModelError, never another exception
    for i in range(0, len(SMALL) - 4, 4):
        for v in (0, 1, 0x7FFFFFFF, 0xFFFFFFFF, len(SMALL) - i, 0xFFFC):
            try:
                load_model(model_content=_patched("<I", i, v))
            except ModelError:
                pass


# -- graph-level helpers of the fast path ---------------------------------------------------

def test_zero_dimension_after_absurd_ones_is_still_absurd():
    mb = ModelBuilder()
    x = mb.input("x", (2,), np.float32)
    y = mb.tensor("y", (2,), np.float32)
    mb.tensor("big", (2**31 - 1, 2**31 - 1, 2**31 - 1, 0), np.float32)
    mb.tensor("empty", (0, 5), np.float32)
    mb.op("RELU", [x], [y])
    mb.output(y)
    d = mb.model_dict()
    with pytest.raises(ModelError, match="subgraph 0 tensor 2 .* absurdly large"):
        load_model(model_content=write_model(d))
    d["subgraphs"][0]["tensors"].pop(2)
    assert load_model(model_content=write_model(d)).subgraphs[0].tensors[2].shape == (0, 5)


def test_index_errors_name_the_operator_lazily():
    mb = ModelBuilder()
    x = mb.input("x", (2,), np.float32)
    y = mb.tensor("y", (2,), np.float32)
    mb.op("RELU", [x], [y])
    mb.op("RELU", [x], [y])
    mb.output(y)
    d = mb.model_dict()
    d["subgraphs"][0]["operators"][1]["outputs"] = np.array([1, 5, 9], np.int32)
    with pytest.raises(ModelError, match=r"subgraph 0 operator 1 outputs refers to index 5, but there are only 2"):
        load_model(model_content=write_model(d))
    d["subgraphs"][0]["operators"][1]["outputs"] = np.array([1], np.int32)
    d["subgraphs"][0]["tensors"][0]["quantization"] = {"scale": np.ones(2, np.float32),
                                                      "zero_point": np.zeros(3, np.int64)}
    with pytest.raises(ModelError, match="subgraph 0 tensor 0 has 2 scales but 3 zero points"):
        load_model(model_content=write_model(d))


def _op(options, options_type):
    return Operator(0, 0, 0, "X", None, 1, (), (), (), options, options_type, None)


def test_called_subgraphs_reads_only_the_subgraph_fields():
    def table(name, **values):
        t = Table({f[0]: f[3] for f in TABLES[name]})
        t.update(values)
        return t

    if_options = table("IfOptions", then_subgraph_index=2, else_subgraph_index=3)
    assert called_subgraphs(_op(if_options, "IfOptions")) == [2, 3]
    assert called_subgraphs(_op(table("CallOptions", subgraph=4), "CallOptions")) == [4]
    assert called_subgraphs(_op(table("StablehloCaseOptions", branch_subgraph_indices=np.array([1, 2], np.int32)),
                                "StablehloCaseOptions")) == [1, 2]
    assert called_subgraphs(_op(table("AddOptions", fused_activation_function=1), "AddOptions")) == []
    # options that are not a decoded table of their type: every field is looked at
    assert called_subgraphs(_op({"body_subgraph_index": 5}, "WhileOptions")) == [5]
    assert called_subgraphs(_op({"cond_subgraph_index": 1, "body_subgraph_index": 2}, None)) == [1, 2]


def test_interpreter_runs_from_the_fast_path():
    it = numlite.Interpreter(model_content=small_builder(custom_op=False).build())
    it.allocate_tensors()
    it.set_tensor(0, np.ones((2, 3), np.float32))
    it.invoke()
    out = it.get_output_details()[0]["index"]
    np.testing.assert_allclose(it.get_tensor(out), np.maximum(np.arange(6).reshape(2, 3) + 1, 0) + 1)
