"""The verifier: every broken, truncated or hostile file is a ``numlite.ModelError``.

Invariant checked throughout (``assert_safe``): loading either succeeds or raises ModelError
(a ValueError) - never IndexError, struct.error, KeyError, RecursionError, MemoryError, a hang
or a crash; and a model that loads either runs or fails in ``allocate_tensors`` / ``set_tensor``
/ ``invoke`` with only ModelError, ValueError or RuntimeError (PrepareError).
"""

from __future__ import annotations

import copy
import struct
import time
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import numlite
from numlite.builder import ModelBuilder
from numlite.errors import ModelError, UnsupportedOpError
from numlite.graph import MAX_RANK, MAX_TENSOR_BYTES, load_model
from numlite.schema._schema import ENUMS, UNIONS
from numlite.schema.writer import Offset, TableWriter, write_model

OK_RUN_ERRORS = (ValueError, RuntimeError)  # ModelError is a ValueError, PrepareError a RuntimeError


def small_builder() -> ModelBuilder:
    mb = ModelBuilder()
    x = mb.input("x", (2, 3), np.float32, shape_signature=(-1, 3))
    c = mb.const("c", np.arange(6, dtype=np.float32).reshape(2, 3))
    mb.const("q", np.array([1, -2, 3], np.int8),  # per-axis quantized, unused
             quantization={"scale": [0.5, 0.25, 2.0], "zero_point": [0, 0, 0]})
    y = mb.tensor("y", (2, 3), np.float32)
    z = mb.tensor("z", (2, 3), np.float32)
    mb.op("ADD", [x, c], [y], fused_activation_function="RELU")
    mb.op("ADD", [y, x], [z])
    mb.output(z)
    mb.signature("serving_default", {"x": x}, {"z": z})
    mb.add_metadata("meta", b"hello")
    return mb


SMALL = small_builder().build()


def small_dict() -> dict:
    return copy.deepcopy(small_builder().model_dict())


def load(data: bytes) -> numlite.Interpreter:
    return numlite.Interpreter(model_content=data)


def assert_safe(data: bytes) -> str:
    """Load and, if that works, run ``data``; return 'error' / 'run-error' / 'ran'."""
    try:
        it = load(data)
    except ModelError:
        return "error"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # corrupt constants may hold NaN/inf
        try:
            it.get_tensor_details()
            it._get_ops_details()
            it.get_signature_list()
            it.allocate_tensors()
            for d in it.get_input_details():
                it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
            it.invoke()
            for d in it.get_output_details():
                it.get_tensor(d["index"])
        except OK_RUN_ERRORS:
            return "run-error"
    return "ran"


def expect_error(data: bytes, *fragments: str) -> ModelError:
    with pytest.raises(ModelError) as ei:
        load(data)
    msg = str(ei.value)
    for f in fragments:
        assert f in msg, f"{f!r} not in {msg!r}"
    return ei.value


def test_small_model_is_valid():
    assert assert_safe(SMALL) == "ran"


# -- files that are not models -----------------------------------------------------------

def test_empty_and_tiny():
    expect_error(b"", "0 bytes")
    for n in range(1, 8):
        expect_error(SMALL[:n], "too short")


def test_missing_identifier():
    bad = SMALL[:4] + b"XXXX" + SMALL[8:]
    expect_error(bad, "file identifier", "TFL3")
    expect_error(b"\0" * 64, "file identifier")


@pytest.mark.parametrize("value", ["a string", 123, None, [1, 2], np.zeros(4, np.uint8)])
def test_non_bytes_content(value):
    if value is None:
        with pytest.raises(ValueError, match="must be specified"):
            numlite.Interpreter(model_content=value)
        return
    with pytest.raises(ModelError, match="must be bytes") as ei:
        numlite.Interpreter(model_content=value)
    assert isinstance(ei.value, TypeError)  # LiteRT raises TypeError here


def test_bytearray_and_memoryview_are_copied():
    buf = bytearray(SMALL)
    it = numlite.Interpreter(model_content=buf)
    buf[:] = b"\0" * len(buf)  # the caller's buffer changes; the model must not
    it.allocate_tensors()
    np.testing.assert_array_equal(it.get_tensor(1), np.arange(6, dtype=np.float32).reshape(2, 3))
    assert assert_safe(bytes(memoryview(SMALL))) == "ran"


# -- truncation and corruption at every position -------------------------------------------

def table_positions(data: bytes) -> list[int]:
    """Every byte position the reader visits as a table start, vector or string (boundaries)."""
    from numlite.schema.reader import FlatBufferReader

    seen: list[int] = []

    class Spy(FlatBufferReader):
        def table(self, pos, tname, path):
            seen.append(pos)
            return super().table(pos, tname, path)

        def _vlen(self, pos, esize, path):
            seen.append(pos)
            return super()._vlen(pos, esize, path)

    Spy(data).root()
    return sorted(set(seen))


def test_truncation_at_every_table_boundary():
    pos = table_positions(SMALL)
    assert len(pos) > 20
    for p in pos:
        for cut in (p, p + 1, p + 4):
            if cut < len(SMALL):
                assert assert_safe(SMALL[:cut]) == "error", cut


def test_truncation_every_byte():
    # every truncated copy of the model must be rejected: the builder writes back to front,
    # so any cut removes something the root refers to
    for n in range(len(SMALL)):
        assert assert_safe(SMALL[:n]) == "error", n


@pytest.mark.parametrize("value", [0x00, 0xFF, 0x7F, 0x80, 0x01, 0x10])
def test_byte_overwrite_every_position(value):
    outcomes = set()
    for i in range(len(SMALL)):
        b = bytearray(SMALL)
        b[i] = value
        outcomes.add(assert_safe(bytes(b)))
    assert "error" in outcomes


def test_bit_flips_every_position():
    counts: dict[str, int] = {}
    for i in range(len(SMALL)):
        for bit in range(8):
            b = bytearray(SMALL)
            b[i] ^= 1 << bit
            r = assert_safe(bytes(b))
            counts[r] = counts.get(r, 0) + 1
    assert counts.get("error", 0) > 0 and counts.get("ran", 0) > 0


def test_word_overwrites_with_extreme_values():
    # 4-byte overwrites at every 2-byte step: offsets/lengths/indices set to extremes
    for i in range(0, len(SMALL) - 4, 2):
        for v in (0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, len(SMALL), len(SMALL) - i, 0xFFFFFFFC):
            b = bytearray(SMALL)
            struct.pack_into("<I", b, i, v)
            assert_safe(bytes(b))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["write", "insert", "delete", "truncate"]),
                          st.integers(0, 10_000), st.binary(min_size=1, max_size=8)),
                min_size=1, max_size=6))
def test_hypothesis_mutations(edits):
    b = bytearray(SMALL)
    for kind, pos, payload in edits:
        if not b:
            break
        p = pos % len(b)
        if kind == "write":
            b[p:p + len(payload)] = payload
        elif kind == "insert":
            b[p:p] = payload
        elif kind == "delete":
            del b[p:p + len(payload)]
        else:
            del b[p:]
    assert_safe(bytes(b))


# -- hand-made hostile structures ------------------------------------------------------------

def test_root_offset_outside_and_zero():
    b = bytearray(SMALL)
    struct.pack_into("<I", b, 0, len(SMALL) + 100)
    expect_error(bytes(b), "Model", "past the end")
    struct.pack_into("<I", b, 0, 0)
    expect_error(bytes(b), "Model", "zero offset")
    struct.pack_into("<I", b, 0, 0xFFFFFFFF)  # would wrap to a backward (cyclic) offset in 32 bits
    expect_error(bytes(b), "Model", "past the end")


def test_vtable_outside():
    root = struct.unpack_from("<I", SMALL, 0)[0]
    for soff in (-(len(SMALL) + 10), len(SMALL) + 10, 2**31 - 1, -(2**31)):
        b = bytearray(SMALL)
        struct.pack_into("<i", b, root, soff)
        expect_error(bytes(b), "Model", "vtable")


def test_vtable_field_offset_outside_table():
    root = struct.unpack_from("<I", SMALL, 0)[0]
    vt = root - struct.unpack_from("<i", SMALL, root)[0]
    vtsize = struct.unpack_from("<H", SMALL, vt)[0]
    for slot in range((vtsize - 4) // 2):
        b = bytearray(SMALL)
        struct.pack_into("<H", b, vt + 4 + 2 * slot, 0xFFF0)
        expect_error(bytes(b), "Model.", "past its table")
    b = bytearray(SMALL)
    struct.pack_into("<H", b, vt, 3)  # odd vtable size
    expect_error(bytes(b), "invalid vtable size")
    b = bytearray(SMALL)
    struct.pack_into("<H", b, vt, 0xFFFE)  # vtable longer than the file
    expect_error(bytes(b), "vtable")


def write(model: dict) -> bytes:
    return write_model(model)


@pytest.mark.parametrize("field,value,fragment", [
    ("inputs", [0, 99], "operator 0 inputs refers to index 99"),
    ("inputs", [0, -2], "refers to index -2"),
    ("outputs", [-1], "outputs refers to index -1"),
    ("outputs", [2**31 - 1], "outputs refers to index"),
    ("opcode_index", 7, "uses op code 7"),
])
def test_operator_indices_out_of_range(field, value, fragment):
    m = small_dict()
    m["subgraphs"][0]["operators"][0][field] = value
    expect_error(write(m), "subgraph 0", fragment)


def test_optional_input_minus_one_is_allowed():
    m = small_dict()
    m["subgraphs"][0]["operators"][0]["inputs"] = [0, -1]
    assert assert_safe(write(m)) == "run-error"  # ADD needs both: PrepareError, not a load error


@pytest.mark.parametrize("where,value,fragment", [
    ("inputs", [5], "subgraph 0 inputs refers to index 5"),
    ("outputs", [-1], "subgraph 0 outputs refers to index -1"),
])
def test_subgraph_io_out_of_range(where, value, fragment):
    m = small_dict()
    m["subgraphs"][0][where] = value
    expect_error(write(m), fragment)


def test_buffer_index_out_of_range():
    m = small_dict()
    m["subgraphs"][0]["tensors"][1]["buffer"] = 1000
    expect_error(write(m), "subgraph 0 tensor 1", "buffer 1000")


def test_signature_indices_out_of_range():
    m = small_dict()
    m["signature_defs"][0]["subgraph_index"] = 3
    expect_error(write(m), "signature 0", "subgraph 3")
    m = small_dict()
    m["signature_defs"][0]["inputs"][0]["tensor_index"] = 77
    expect_error(write(m), "signature 0 input 'x'", "tensor 77")


def test_metadata_buffer_out_of_range():
    m = small_dict()
    m["metadata"][0]["buffer"] = 500
    expect_error(write(m), "metadata 0", "buffer 500")


def test_no_subgraphs():
    m = small_dict()
    m["subgraphs"] = []
    expect_error(write(m), "no subgraphs")


def test_subgraph_index_in_control_flow_options_is_not_trusted():
    # a builtin options table naming a subgraph that does not exist must not break loading
    m = small_dict()
    assert "IfOptions" in UNIONS["BuiltinOptions"]
    m["subgraphs"][0]["operators"][0]["builtin_options_type"] = UNIONS["BuiltinOptions"].index("IfOptions") + 1
    m["subgraphs"][0]["operators"][0]["builtin_options"] = {"then_subgraph_index": 99,
                                                            "else_subgraph_index": -5}
    # ADD ignores a foreign options table (LiteRT uses the defaults then): the model runs
    assert assert_safe(write(m)) == "ran"


# -- unknown enum values -----------------------------------------------------------------------

@pytest.mark.parametrize("ttype", [len(ENUMS["TensorType"][1]), 99, 127, -1, -128])
def test_unknown_tensor_type(ttype):
    m = small_dict()
    m["subgraphs"][0]["tensors"][0]["type"] = ttype
    expect_error(write(m), "subgraph 0 tensor 0", f"unknown tensor type {ttype}")


def test_unknown_union_member():
    # the writer cannot serialise an unknown member, so patch the tag bytes of a valid file:
    # both ADD operators carry an AddOptions tag, and each patched tag must be named
    b = bytearray(SMALL)
    tag = UNIONS["BuiltinOptions"].index("AddOptions") + 1
    named = 0
    for i in [i for i in range(len(b)) if b[i] == tag]:
        c = bytearray(b)
        c[i] = 250
        try:
            load(bytes(c))
        except ModelError as e:
            named += "unknown BuiltinOptions member 250" in str(e)
    assert named == 2


@pytest.mark.parametrize("code", [10_000, -7, 2**31 - 1])
def test_unknown_builtin_code(code):
    m = small_dict()
    m["operator_codes"][0]["builtin_code"] = code
    m["operator_codes"][0]["deprecated_builtin_code"] = 0 if code > 127 else code
    with pytest.raises(UnsupportedOpError, match="node"):
        load(write(m))


def test_unknown_activation_enum_is_a_prepare_error():
    m = small_dict()
    m["subgraphs"][0]["operators"][0]["builtin_options"]["fused_activation_function"] = 99
    it = load(write(m))
    with pytest.raises(numlite.PrepareError, match=r"ADD \(node 0\)"):
        it.allocate_tensors()


# -- shapes and buffers --------------------------------------------------------------------

@pytest.mark.parametrize("shape,fragment", [
    ([2**31 - 1] * 3, "absurdly large"),
    ([2**30, 2**30], "absurdly large"),
    ([-5, 3], "negative dimension"),
    ([1] * (MAX_RANK + 1), "rank"),
    ([2**31 - 1] * 60, "absurdly large"),
])
def test_absurd_shapes_fail_before_allocation(shape, fragment):
    m = small_dict()
    m["subgraphs"][0]["tensors"][3]["shape"] = shape  # 'y', an intermediate
    m["subgraphs"][0]["tensors"][3].pop("shape_signature", None)
    t0 = time.perf_counter()
    expect_error(write(m), "subgraph 0 tensor 3", fragment)
    assert time.perf_counter() - t0 < 1.0
    assert MAX_TENSOR_BYTES <= 1 << 40


def test_shape_signature_mismatch():
    m = small_dict()
    m["subgraphs"][0]["tensors"][0]["shape_signature"] = [-1, 3, 1]
    expect_error(write(m), "shape_signature", "does not match")
    m["subgraphs"][0]["tensors"][0]["shape_signature"] = [-2, 3]
    expect_error(write(m), "shape_signature")


@pytest.mark.parametrize("nbytes", [0 + 1, 23, 25, 48])
def test_constant_buffer_size_must_match(nbytes):
    m = small_dict()
    b = m["subgraphs"][0]["tensors"][1]["buffer"]
    m["buffers"][b]["data"] = np.zeros(nbytes, np.uint8)
    expect_error(write(m), "subgraph 0 tensor 1", "needs 24 bytes", f"has {nbytes}")


def test_int4_buffer_size_must_match():
    mb = ModelBuilder()
    x = mb.input("x", (2,), np.float32)
    mb.tensor("w", (5,), np.int8, type_name="INT4", data=np.zeros(2, np.uint8))
    y = mb.tensor("y", (2,), np.float32)
    mb.op("ADD", [x, x], [y])
    mb.output(y)
    expect_error(mb.build(), "INT4 data has 2 bytes, expected 3")


def test_external_buffer_beyond_file_end():
    m = small_dict()
    b = m["subgraphs"][0]["tensors"][1]["buffer"]
    good = write_model(m, external_data=True)
    assert assert_safe(good) == "ran"
    tab = load_model(model_content=good).table
    off, size = int(tab.buffers[b].offset), int(tab.buffers[b].size)
    assert off > len(good) // 2 and size == 24
    # cut the payload off, or point offset/size past the end: both ModelError naming the buffer
    expect_error(good[:off + 10], f"Model.buffers[{b}]", "outside")
    for new_off, new_size in ((len(good) - 8, 24), (2**63 - 1, 24), (off, 2**63 - 1), (2**64 - 24, 48)):
        patched = bytearray(good)
        i = bytes(patched).find(struct.pack("<Q", off))
        patched[i:i + 8] = struct.pack("<Q", new_off)
        j = bytes(patched).find(struct.pack("<Q", size), 0)
        patched[j:j + 8] = struct.pack("<Q", new_size)
        expect_error(bytes(patched), "buffers")


def test_large_custom_options_beyond_file_end():
    m = small_dict()
    m["subgraphs"][0]["operators"][0]["large_custom_options_offset"] = 10_000
    m["subgraphs"][0]["operators"][0]["large_custom_options_size"] = 4
    expect_error(write(m), "large_custom_options", "outside")


# -- shared references: bounded work -----------------------------------------------------------

def _bounded(data: bytes, seconds: float = 2.0) -> ModelError:
    t0 = time.perf_counter()
    with pytest.raises(ModelError) as ei:
        load(data)
    assert time.perf_counter() - t0 < seconds
    return ei.value


def test_fan_out_of_one_big_string():
    # 1 MB of name, referenced from 200k tensors: 200 GB if each were decoded
    w = TableWriter()
    name = w.string("n" * (1 << 20))
    shape = w.vector("int", [1])
    tensor = Offset(w.table("Tensor", {"name": name, "shape": shape, "type": 0, "buffer": 0}))
    sg = w.table("SubGraph", {"tensors": [tensor] * 200_000, "inputs": [0], "outputs": [0]})
    root = w.table("Model", {"version": 3, "subgraphs": [Offset(sg)], "buffers": [{}]})
    e = _bounded(w.finish(root))
    assert "decoding work" in str(e) and "Model.subgraphs[0].tensors" in str(e)


def test_fan_out_of_one_long_shape_vector():
    w = TableWriter()
    shape = w.vector("int", [1] * 60_000)
    tensor = Offset(w.table("Tensor", {"shape": shape, "type": 0, "buffer": 0}))
    sg = w.table("SubGraph", {"tensors": [tensor] * 100_000})
    root = w.table("Model", {"version": 3, "subgraphs": [Offset(sg)], "buffers": [{}]})
    _bounded(w.finish(root))


def test_nested_fan_out():
    # N subgraphs sharing one subgraph of N tensors sharing one table: N*N tables
    w = TableWriter()
    tensor = Offset(w.table("Tensor", {"shape": w.vector("int", [2, 2]), "type": 0, "buffer": 0}))
    sg = Offset(w.table("SubGraph", {"tensors": [tensor] * 20_000}))
    root = w.table("Model", {"version": 3, "subgraphs": [sg] * 20_000, "buffers": [{}]})
    _bounded(w.finish(root))


def test_fan_out_of_operator_index_vectors():
    w = TableWriter()
    ins = w.vector("int", [0] * 50_000)
    op = Offset(w.table("Operator", {"opcode_index": 0, "inputs": ins, "outputs": ins}))
    sg = w.table("SubGraph", {"tensors": [{"shape": [1], "type": 0, "buffer": 0}],
                              "operators": [op] * 50_000})
    root = w.table("Model", {"version": 3, "subgraphs": [Offset(sg)], "buffers": [{}],
                             "operator_codes": [{"builtin_code": 0, "version": 1}]})
    _bounded(w.finish(root))


def test_moderate_sharing_is_accepted():
    # sharing within the budget is legal FlatBuffers: 8 tensors sharing one table load fine
    w = TableWriter()
    tensor = Offset(w.table("Tensor", {"name": w.string("t"), "shape": w.vector("int", [2]), "type": 0,
                                       "buffer": 0}))
    sg = w.table("SubGraph", {"tensors": [tensor] * 8, "inputs": [0, 1], "outputs": [2],
                              "operators": [{"opcode_index": 0, "inputs": [0, 1], "outputs": [2]}]})
    root = w.table("Model", {"version": 3, "subgraphs": [Offset(sg)], "buffers": [{}],
                             "operator_codes": [{"builtin_code": 0, "version": 1}]})
    it = load(w.finish(root))
    assert len(it.get_tensor_details()) == 8


def test_schema_is_acyclic_so_decoding_depth_is_bounded():
    # uoffsets are unsigned and non-zero (forward only), and no table type contains itself, so
    # a file cannot make the decoder loop or recurse deeper than the schema: no RecursionError
    from numlite.schema._schema import TABLES

    def depth(t: str, stack: tuple[str, ...]) -> int:
        assert t not in stack, f"schema cycle {stack + (t,)}"
        kids = []
        for _name, kind, typ, _d, _s in TABLES[t]:
            if kind in ("table", "vector_table"):
                kids.append(typ)
            elif kind == "union":
                kids.extend(m for m in UNIONS[typ] if m in TABLES)
        return 1 + max((depth(k, stack + (t,)) for k in kids), default=0)

    assert depth("Model", ()) <= 8


def test_load_model_arguments():
    with pytest.raises(ValueError, match="Exactly one"):
        load_model()
    with pytest.raises(ValueError, match="Exactly one"):
        load_model(model_path="x", model_content=SMALL)


def test_empty_file_and_directory(tmp_path):
    p = tmp_path / "empty.tflite"
    p.write_bytes(b"")
    with pytest.raises(ModelError, match="empty"):
        numlite.Interpreter(model_path=str(p))
    with pytest.raises(ValueError, match="Could not open"):
        numlite.Interpreter(model_path=str(tmp_path))
    p.write_bytes(SMALL[:100])
    with pytest.raises(ModelError):
        numlite.Interpreter(model_path=p)
