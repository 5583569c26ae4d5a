"""``numlite inspect``: the TFLite model analyzer's layout (checked character for character
against LiteRT's own analyzer where it is importable), numlite's additions (op versions,
quantization, metadata, missing kernels, the arena plan and its drawing), ``--json``, and the
error exits."""

from __future__ import annotations

import json
import os
import re
import sys
import types

import numpy as np
import pytest
from util import numlite_command

import numlite
from numlite import models
from numlite.builder import ModelBuilder
from numlite.tools import inspect_model
from numlite.tools.inspect_model import analyzer_text, draw_plan, format_text

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "tf")


def run_cli(argv: list[str]) -> int:
    """``numlite ...`` (ARGV starts with the subcommand)."""
    return numlite_command(argv, catch_exit=False)


def litert_analyzer(path: str) -> str:
    w = pytest.importorskip("ai_edge_litert._pywrap_analyzer_wrapper")
    return w.ModelAnalyzer(str(path), True, False)


def write(tmp_path, name: str, data: bytes) -> str:
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    d = tmp_path_factory.mktemp("zoo")
    return {n: write(d, f"{n}.tflite", models.build(n)) for n in ("mobilenet_v1_tiny", "mobilenet_v1_tiny_int8")}


def custom_op_model() -> bytes:
    """A custom op numlite lacks between a signature's input and output."""
    mb = ModelBuilder()
    x = mb.input("x", (1, 4), np.float32)
    y = mb.tensor("y", (1, 4), np.float32)
    z = mb.tensor("z", (1, 4), np.float32)
    mb.op("custom:MyFancyOp", [x], [y])
    mb.op("RELU", [y], [z])
    mb.output(z)
    mb.signature("serving_default", {"x": x}, {"z": z})
    return mb.build()


def while_model() -> bytes:
    """while i < 5: i += 1; x *= 2 -- three subgraphs, int32 constants in op inputs."""
    mb = ModelBuilder()
    i = mb.input("i", (), np.int32)
    x = mb.input("x", (2,), np.float32)
    outs = [mb.tensor("i_out", (), np.int32), mb.tensor("x_out", (2,), np.float32)]
    mb.op("WHILE", [i, x], outs, cond_subgraph_index=1, body_subgraph_index=2)
    mb.output(*outs)
    mb.signature("loop", {"i": i, "x": x}, {"i_out": outs[0], "x_out": outs[1]})
    mb.new_subgraph("cond")
    ci = mb.input("ci", (), np.int32)
    mb.input("cx", (2,), np.float32)
    cb = mb.tensor("cb", (), np.bool_)
    mb.op("LESS", [ci, mb.const("lim", np.array(5, np.int32))], [cb])
    mb.output(cb)
    mb.new_subgraph("body")
    bi = mb.input("bi", (), np.int32)
    bx = mb.input("bx", (2,), np.float32)
    bio, bxo = mb.tensor("bio", (), np.int32), mb.tensor("bxo", (2,), np.float32)
    mb.op("ADD", [bi, mb.const("one", np.array(1, np.int32))], [bio])
    mb.op("MUL", [bx, mb.const("two", np.full((2,), 2.0, np.float32))], [bxo])
    mb.output(bio, bxo)
    return mb.build()


def odd_bytes_model() -> bytes:
    """Names and constants the analyzer writes byte by byte: a UTF-8 name, int8 data holding a
    newline, printable and unprintable values, a dynamic shape, an omitted optional input."""
    mb = ModelBuilder()
    x = mb.input("entrée", (1, 3), np.float32, shape_signature=(-1, 3))
    w = mb.const("w", np.array([[10, 65, -5], [0, 126, 127]], np.int8),
                 quantization={"scale": [0.5, 0.25], "zero_point": [0, 0], "quantized_dimension": 0})
    y = mb.tensor("y", (1, 2), np.float32, shape_signature=(-1, 2))
    mb.op("FULLY_CONNECTED", [x, w, -1], [y])
    mb.output(y)
    return mb.build()


def bad_prepare_model() -> bytes:
    mb = ModelBuilder()
    a = mb.input("a", (2, 3), np.float32)
    b = mb.input("b", (4, 5), np.float32)
    c = mb.tensor("c", (2, 3), np.float32)
    mb.op("ADD", [a, b], [c])
    mb.output(c)
    return mb.build()


# -- the analyzer part ---------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["mobilenet_v1_tiny", "mobilenet_v1_tiny_int8", "custom", "while", "odd",
                                   "k3_lstm_while_float.tflite", "lstm_dynamic_seq.tflite", "bilstm_int8.tflite"])
def test_analyzer_text_is_litert_analyzers(which, zoo, tmp_path):
    if which in zoo:
        path = zoo[which]
    elif which.endswith(".tflite"):
        path = os.path.join(DATA, which)
    else:
        path = write(tmp_path, "m.tflite", {"custom": custom_op_model, "while": while_model,
                                            "odd": odd_bytes_model}[which]())
    assert analyzer_text(path) == litert_analyzer(path)


@pytest.mark.parametrize("which", ["custom", "while"])
def test_cli_lines_start_with_the_analyzers(which, capsys, tmp_path):
    """Every op, subgraph and signature line of LiteRT's analyzer is a line (or the start of a
    line, before numlite's notes) of ``numlite inspect --tensors``, in the same order."""
    path = write(tmp_path, "m.tflite", custom_op_model() if which == "custom" else while_model())
    theirs = litert_analyzer(path)
    run_cli(["inspect", path, "--tensors"])
    ours = capsys.readouterr().out.splitlines()
    pos = 0
    for line in theirs.splitlines():
        if not line.strip():
            continue
        while pos < len(ours) and not (ours[pos] == line or ours[pos].startswith(line + "  ")):
            pos += 1
        assert pos < len(ours), f"analyzer line missing or out of order: {line!r}"
        pos += 1


def test_multi_subgraph_and_signature_layout(capsys, tmp_path):
    path = write(tmp_path, "while.tflite", while_model())
    assert run_cli(["inspect", path]) == 0
    out = capsys.readouterr().out
    assert "Your TFLite model has '3' subgraph(s)." in out
    assert "  Op#0 WHILE(T#0, T#1, Cond: Subgraph#1, Body: Subgraph#2) -> [T#2, T#3]  v1\n" in out
    assert "Subgraph#1 cond(T#1_0, T#1_1) -> [T#1_2]\n" in out
    assert "  Op#0 LESS(T#1_0, T#1_3[5]) -> [T#1_2]  v1\n" in out
    assert "Tensors of Subgraph#2\n" in out
    assert "Your TFLite model has '1' signature_def(s).\n\nSignature#0 key: 'loop'\n- Subgraph: Subgraph#0\n" in out
    assert "    'x_out' : T#3\n" in out
    assert re.search(r"          - Subgraph#1  : +4 bytes \(\d\d\.\d\d %\)", out)
    assert "numlite has a kernel for every op." in out
    # the sections come in the documented order
    keys = ["Your TFLite model has", "Subgraph#0 main", "Tensors of Subgraph#0", "Subgraph#2 body",
            "signature_def(s)", "Model size:", "numlite: 4 op(s) in 3 subgraph(s)", "Memory plan of Subgraph#0"]
    at = [out.index(k) for k in keys]
    assert at == sorted(at)


# -- numlite's additions -------------------------------------------------------------------------
def test_float_model_versions_and_plan(capsys, zoo):
    path = zoo["mobilenet_v1_tiny"]
    assert run_cli(["inspect", path]) == 0
    out = capsys.readouterr().out
    assert "  Op#0 CONV_2D(T#0, T#1, T#2) -> [T#3]  v1\n" in out
    assert "  Op#29 RESHAPE(T#85, T#86[1, 1001]) -> [T#87]  v1\n" in out
    assert re.search(r"\n\s+15  CONV_2D v1\n\s+13  DEPTHWISE_CONV_2D v1\n", out)
    # without --tensors: the inputs and outputs only, and how many more there are
    assert "  T#0(input) shape:[1, 96, 96, 3], type:FLOAT32\n" in out
    assert "  ... 87 more tensor(s): --tensors lists all 89\n" in out
    assert "RO 864 bytes" not in out
    it = numlite.Interpreter(model_path=path)
    it.allocate_tensors()
    rep = it.memory_report()
    for key, label in (("arena_bytes", "arena:"), ("no_reuse_bytes", "no reuse:"),
                       ("lower_bound_bytes", "lower bound:")):
        assert re.search(rf"\n  {label} +{rep[key]:,} bytes", out)
    drawing = [ln for ln in out.splitlines() if re.match(r"^\s+[\d,]* \|", ln)]
    steps = len(it._main.steps)  # 31 ops; the final RESHAPE runs fused (in place) into the op before it
    assert steps == 30 and it._main.absorbed == {29: 28}
    assert len(drawing) == 20 and all(len(ln.split("|", 1)[1]) == steps * (60 // steps) for ln in drawing)
    assert re.search(r"\n    A +[\d,]+ bytes at +[\d,]+, step", out)


def test_quantized_model_tensors(capsys, zoo):
    assert run_cli(["inspect", zoo["mobilenet_v1_tiny_int8"], "--tensors", "--no-plan"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"  T#0\(input\) shape:\[1, 96, 96, 3\], type:INT8  scale=0\.00784\d* zero_point=-1\n", out)
    assert re.search(r"T#1\(MobilenetV1/MobilenetV1/Conv2d_0/weights\) shape:\[8, 3, 3, 3\], type:INT8 RO 216 bytes, "
                     r"buffer: 2, data:\[.*\]  per-channel: 8 scales on axis 0 \([\d.e-]+\.\.[\d.e-]+\), "
                     r"zero_point=0\n", out)
    assert "more tensor(s)" not in out and "Memory plan" not in out
    assert "  Op#0 CONV_2D(T#0, T#1, T#2[" in out and "]) -> [T#3]  v3\n" in out


def test_unsupported_op_still_prints_everything(capsys, tmp_path):
    path = write(tmp_path, "custom.tflite", custom_op_model())
    assert run_cli(["inspect", path]) == 4
    cap = capsys.readouterr()
    out, err = cap.out, cap.err
    assert "  Op#0 MyFancyOp(T#0) -> [T#1]  v1  NOT SUPPORTED by numlite\n" in out
    assert "  Op#1 RELU(T#1) -> [T#2]  v1\n" in out
    assert "MyFancyOp v1 at node(s) [0] of Subgraph#0: custom op not registered" in out
    assert "Memory plan of Subgraph#0: not planned: numlite cannot run 1 op type(s)" in out
    assert "Model size:" in out and "Signature#0 key: 'serving_default'" in out
    assert err == "numlite inspect: error: numlite cannot run 1 op type(s) of this model: MyFancyOp v1\n"


def test_prepare_failure_is_reported_as_not_planned(capsys, tmp_path):
    path = write(tmp_path, "bad.tflite", bad_prepare_model())
    assert run_cli(["inspect", path]) == 1
    cap = capsys.readouterr()
    assert re.search(r"Memory plan of Subgraph#0: not planned: ADD \(node 0\).*broadcast", cap.out)
    assert cap.err.startswith("numlite inspect: error: the model failed to prepare: ") and cap.err.count("\n") == 1
    assert run_cli(["inspect", path, "--no-plan"]) == 0  # nothing is prepared
    assert "Memory plan" not in capsys.readouterr().out


def test_json_is_the_same_content(capsys, tmp_path):
    path = write(tmp_path, "while.tflite", while_model())
    assert run_cli(["inspect", path, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert run_cli(["inspect", path]) == 0
    text = capsys.readouterr().out
    assert [s["analyzer"] for s in info["subgraphs"]] == [ln for ln in text.splitlines() if ln.startswith("Subgraph#")]
    for sg in info["subgraphs"]:
        for op in sg["ops"]:
            assert f"  {op['analyzer']}  v{op['version']}\n" in text
        for t in sg["tensors"]:
            assert "  " + t["analyzer"] in text
    assert info["subgraphs"][0]["ops"][0] == {"index": 0, "op": "WHILE", "version": 1, "inputs": [0, 1],
                                              "outputs": [2, 3], "supported": True,
                                              "analyzer": "Op#0 WHILE(T#0, T#1, Cond: Subgraph#1, Body: Subgraph#2)"
                                                          " -> [T#2, T#3]"}
    assert info["signature_defs"] == [{"key": "loop", "subgraph": 0, "inputs": {"i": 0, "x": 1},
                                       "outputs": {"i_out": 2, "x_out": 3}}]
    assert info["sizes"]["model_size"] == os.path.getsize(path)
    assert info["unsupported"] == [] and info["plan"]["planned"]
    assert info["plan"]["drawing"] and info["plan"]["legend"][0]["letter"] == "A"
    assert {"WHILE", "LESS", "ADD", "MUL"} == {o["op"] for o in info["ops_by_type"]}


def test_json_of_an_unsupported_model(capsys, zoo, tmp_path):
    path = write(tmp_path, "custom.tflite", custom_op_model())
    assert run_cli(["inspect", path, "--json", "--no-plan"]) == 4
    info = json.loads(capsys.readouterr().out)
    assert info["unsupported"] == [{"op": "MyFancyOp", "version": 1, "subgraph": 0, "nodes": [0],
                                    "reason": "custom op not registered (numlite.register_op adds one)"}]
    assert [o["supported"] for o in info["subgraphs"][0]["ops"]] == [False, True]
    assert info["plan"] is None
    # quantization in JSON: full per-channel arrays
    assert run_cli(["inspect", zoo["mobilenet_v1_tiny_int8"], "--json", "--tensors", "--no-plan"]) == 0
    t1 = json.loads(capsys.readouterr().out)["subgraphs"][0]["tensors"][1]
    assert len(t1["quantization"]["scales"]) == 8 and t1["quantization"]["quantized_dimension"] == 0


def metadata_model(with_metadata: bool = True) -> bytes:
    mb = ModelBuilder()
    x = mb.input("image", (1, 4), np.float32)
    y = mb.tensor("probs", (1, 4), np.float32)
    mb.op("SOFTMAX", [x], [y], beta=1.0)
    mb.output(y)
    mb.add_metadata("min_runtime_version", b"1.14.0\0\0\0\0\0\0\0\0\0\0")
    data = mb.build()
    if not with_metadata:
        return data
    md = pytest.importorskip("numlite.metadata")
    meta = md.ModelMetadata(
        name="Tiny classifier", description="four classes", version="v1",
        subgraphs=[md.SubGraphMetadata(
            inputs=[md.TensorMetadata(name="image", content="image", color_space="RGB", mean=[127.5], std=[127.5])],
            outputs=[md.TensorMetadata(name="probs", associated_files=[
                md.AssociatedFile(name="labels.txt", type="TENSOR_AXIS_LABELS")])])])
    return md.populate(data, meta, {"labels.txt": b"cat\ndog\neel\nfox\n"})


def test_tflite_metadata(capsys, tmp_path):
    path = write(tmp_path, "md.tflite", metadata_model())
    assert analyzer_text(path) == litert_analyzer(path)  # the zip archive after the model counts in its size
    assert run_cli(["inspect", path, "--no-plan"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\nMetadata: min_runtime_version \(16 bytes\), TFLITE_METADATA \(\d+ bytes\)\n"
                     r"  min_runtime_version: 1\.14\.0\n"
                     r"TFLite metadata: 'Tiny classifier', version v1\n"
                     r"  description: four classes\n"
                     r"  input 0 'image': image RGB; normalization mean \[127\.5\] std \[127\.5\]\n"
                     r"  output 0 'probs': labels: 4 \(cat, dog, eel, fox\)\n"
                     r"  associated files: labels\.txt\n", out)
    assert run_cli(["inspect", path, "--no-plan", "--json"]) == 0
    tm = json.loads(capsys.readouterr().out)["metadata"]["tflite_metadata"]
    assert tm["name"] == "Tiny classifier" and tm["subgraphs"][0]["inputs"][0]["mean"] == [127.5]
    assert tm["subgraphs"][0]["outputs"][0]["labels"] == ["cat", "dog", "eel", "fox"]


def test_metadata_without_the_reader_and_with_other_readers(capsys, tmp_path, monkeypatch):
    path = write(tmp_path, "md.tflite", metadata_model(with_metadata=False))
    assert run_cli(["inspect", path, "--no-plan"]) == 0
    out = capsys.readouterr().out
    assert "Metadata: min_runtime_version (16 bytes)\n  min_runtime_version: 1.14.0\n" in out
    assert "TFLite metadata" not in out
    # numlite.metadata missing: the entries are still listed, the TFLITE_METADATA blob is not parsed
    mb = ModelBuilder()
    x = mb.input("x", (1,), np.float32)
    mb.output(x)
    mb.add_metadata("TFLITE_METADATA", b"\x1c\0\0\0M001" + bytes(40))
    path = write(tmp_path, "blob.tflite", mb.build())
    monkeypatch.setitem(sys.modules, "numlite.metadata", None)
    assert run_cli(["inspect", path, "--no-plan"]) == 0
    assert "Metadata: TFLITE_METADATA (48 bytes)\n  numlite.metadata is not available" in capsys.readouterr().out
    # a reader giving another shape of data: shown generically; a failing reader: reported, not fatal
    fake = types.ModuleType("numlite.metadata")
    fake.read = lambda m: {"name": "Tiny", "inputs": [{"name": "x", "mean": [0.5], "std": [2.0]}],
                           "labels": ["cat", "dog"]}
    monkeypatch.setitem(sys.modules, "numlite.metadata", fake)
    assert run_cli(["inspect", path, "--no-plan"]) == 0
    out = capsys.readouterr().out
    assert "  name: Tiny\n  labels: 2 (cat, dog)\n  input 0 'x': mean=[0.5]; std=[2]\n" in out
    fake.read = lambda m: (_ for _ in ()).throw(ValueError("bad flatbuffer"))
    assert run_cli(["inspect", path, "--no-plan", "--json"]) == 0
    md = json.loads(capsys.readouterr().out)["metadata"]
    assert md["tflite_metadata"] is None and md["error"] == "ValueError: bad flatbuffer"


# -- the drawing ---------------------------------------------------------------------------------
def test_draw_plan_small():
    # three buffers over four steps in a 4-row arena of 400 bytes
    d = draw_plan([200, 100, 100], [0, 1, 2], [1, 2, 3], [0, 200, 0], arena_bytes=400, steps=4, width=8, height=4,
                  names=["big", "mid", "late"])
    assert d["grid"] == ["........",
                         "..BBBB..",
                         "AAAA....",
                         "AAAACCCC"]
    assert [e["letter"] + e["name"] for e in d["legend"]] == ["Abig", "Bmid", "Clate"]
    assert d["lines"][1].endswith("|........") and d["lines"][4].startswith("  0 |")
    assert "  A  200 bytes at   0, steps 0-1: big" in d["lines"]
    assert "  C  100 bytes at   0, steps 2-3: late" in d["lines"]


def test_draw_plan_many_steps_and_small_buffers():
    n = 200
    sizes = [1000] + [10] * (n - 1)
    first = [0] + list(range(n - 1))
    last = [n - 2] + list(range(n - 1))
    offsets = [0] + [1000] * (n - 1)
    d = draw_plan(sizes, first, last, offsets, width=50, height=10, legend=2)
    assert len(d["grid"]) == 10 and all(len(r) == 50 for r in d["grid"])
    assert set(d["grid"][-1]) == {"A"}  # the bottom row: the big buffer, alive throughout
    assert "  +  198 smaller buffer(s)" in d["lines"]
    assert any("(too small to show)" in ln for ln in d["lines"]) or "B" in "".join(d["grid"])
    assert draw_plan([], [], [], [])["lines"] == ["(the arena is empty)"]
    assert draw_plan([0], [0], [0], [0])["lines"] == ["(the arena is empty)"]


def test_format_text_round_trip(tmp_path):
    path = write(tmp_path, "custom.tflite", custom_op_model())
    info = inspect_model.inspect_model(path, tensors=True, plan=False)
    text = format_text(info)
    assert text.startswith("Your TFLite model has '1' subgraph(s).")
    assert json.loads(json.dumps(numlite.tools._common.to_jsonable(info)))["model"] == path


# -- errors --------------------------------------------------------------------------------------
def test_errors(capsys, tmp_path):
    assert run_cli(["inspect", str(tmp_path / "missing.tflite")]) == 3
    assert capsys.readouterr().err == f"numlite inspect: error: {tmp_path / 'missing.tflite'}: no such file\n"
    assert run_cli(["inspect", str(tmp_path)]) == 3
    assert "is a directory" in capsys.readouterr().err
    junk = write(tmp_path, "junk.tflite", b"definitely not a flatbuffer" * 3)
    assert run_cli(["inspect", junk, "--json"]) == 3
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err.count("\n") == 1 and "not a valid TFLite model" in cap.err
    good = models.build("mobilenet_v1_tiny")
    cut = write(tmp_path, "cut.tflite", good[: len(good) // 2])
    assert run_cli(["inspect", cut]) == 3
    err = capsys.readouterr().err
    assert err.startswith("numlite inspect: error: ") and err.count("\n") == 1
    empty = write(tmp_path, "empty.tflite", b"")
    assert run_cli(["inspect", empty]) == 3
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        run_cli(["inspect", junk, "--bogus"])
    assert e.value.code == 2
    capsys.readouterr()


def test_help_has_examples_and_exit_codes(capsys):
    with pytest.raises(SystemExit) as e:
        run_cli(["inspect", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "numlite inspect model.tflite --tensors" in out and "--json" in out and "--no-plan" in out
    assert "exit codes:" in out and "4  the model has operators numlite cannot run" in out


def test_delegate_partitioning(capsys, zoo):
    path = zoo["mobilenet_v1_tiny"]
    argv = ["inspect", path, "--no-plan", "--delegate", "numlite.delegates.reference:ReferenceDelegate",
            "--delegate-option", 'ops=["CONV_2D", "DEPTHWISE_CONV_2D"]']
    assert numlite_command(argv) == 0
    out = capsys.readouterr().out
    assert ("Delegation by 'numlite.delegates.reference:ReferenceDelegate': 2 partition(s) of subgraph 0 take 28 "
            "node(s); numlite runs 3") in out
    assert "  DELEGATE node #31: 27 node(s) [0-26] (CONV_2D x14, DEPTHWISE_CONV_2D x13); reads [0, 1, 2" in out
    assert "  numlite: AVERAGE_POOL_2D #27, RESHAPE #29, SOFTMAX #30" in out
    assert numlite_command([*argv[:-2], "--json"]) == 0
    d = json.loads(capsys.readouterr().out)["delegation"]
    assert len(d["partitions"]) == 1 and d["partitions"][0]["nodes"] == list(range(31)) and not d["numlite_nodes"]
    assert numlite_command(["inspect", path, "--delegate", "nope"]) == 2
    assert "unknown delegate 'nope'" in capsys.readouterr().err
    assert numlite_command(["inspect", path, "--delegate", "onnxruntime", "--delegate-option", "x"]) == 2
