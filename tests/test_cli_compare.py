"""``numlite compare``: numlite vs LiteRT tensor by tensor, a float model vs its int8 twin, and a
deliberately spoiled layer found where its error rises."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from util import numlite_command

from numlite import models
from numlite.builder import ModelBuilder
from numlite.schema.reader import read_model_table
from numlite.schema.writer import write_model
from numlite.tools import compare

pytest.importorskip("ai_edge_litert")

TINY = "mobilenet_v2_tiny"


def run_cli(argv: list[str]) -> int:
    """``numlite compare ...``."""
    return numlite_command(["compare", *argv])


def spoil_weights(data: bytes, op_index: int) -> bytes:
    """The model with op ``op_index``'s int8 weights shuffled (a layer gone bad), rewritten
    with numlite's writer."""
    t = read_model_table(data)
    sg = t["subgraphs"][0]
    w = sg["tensors"][int(sg["operators"][op_index]["inputs"][1])]
    buf = t["buffers"][w["buffer"]]
    q = np.frombuffer(bytes(buf["data"]), np.int8).copy()
    buf["data"] = np.random.default_rng(op_index).permutation(q).view(np.uint8)
    return write_model(t)


def rename_tensors(data: bytes) -> bytes:
    """The model with every tensor renamed (``t0``, ``t1``, ...): names no longer match."""
    t = read_model_table(data)
    for k, tensor in enumerate(t["subgraphs"][0]["tensors"]):
        tensor["name"] = f"t{k}"
    t["signature_defs"] = []
    return write_model(t)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("compare")
    out = {}
    for key, name in (("float", TINY), ("int8", TINY + "_int8"), ("uint8io", TINY + "_int8_uint8io")):
        out[key] = d / f"{name}.tflite"
        out[key].write_bytes(models.build(name))
    out["image"] = d / "image.npy"
    np.save(out["image"], models.synthetic_image(models.input_shape(TINY), 0))
    out["dir"] = d
    return out


# -- numlite vs LiteRT -----------------------------------------------------------------------------
def test_int8_model_is_bit_exact_with_litert_reference_kernels(files, capsys):
    rep = compare.compare(str(files["int8"]))
    assert rep["mode"] == "numlite-vs-litert" and rep["litert_resolver"] == "BUILTIN_REF"
    recs = rep["records"]
    assert len(recs) == 67  # the input and the 66 ops' outputs
    assert [r["op_index"] for r in recs] == list(range(-1, 66))
    assert all(r["differing"] == 0 and r["max_abs_error"] == 0 and r["snr_db"] == math.inf for r in recs)
    assert rep["skipped"]["unreadable_reference"] == 0 and rep["outputs_match"] and rep["divergence"] is None
    assert rep["verdict"] == "outputs match: 67 tensors compared, 0 values differ"

    assert run_cli([str(files["int8"])]) == 0
    text = capsys.readouterr().out
    assert "numlite vs LiteRT (reference; BUILTIN_REF kernels)" in text
    assert "MobilenetV2/Predictions/Reshape_1" in text and "SOFTMAX" in text
    assert text.rstrip().endswith("outputs match: 67 tensors compared, 0 values differ")

    assert run_cli([str(files["int8"]), "--json", "--seed", "3"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["outputs_match"] is True and len(doc["records"]) == 67
    assert doc["records"][5]["snr_db"] == "inf" and doc["inputs"][0]["source"] == "random (seed 3)"
    # models as bytes, in Python
    assert compare.compare(files["int8"].read_bytes())["outputs_match"]


def test_float_model_vs_litert_and_the_first_differing_op(files):
    rep = compare.compare(str(files["float"]))
    assert rep["outputs_match"], rep["verdict"]  # within the float tolerance
    assert "float differences within tolerance" in rep["verdict"] or "0 values differ" in rep["verdict"]
    strict = compare.compare(str(files["float"]), tolerance=0.0)
    d = strict["divergence"]
    if d is None:  # numlite and LiteRT agree to the bit on this machine
        return
    # with no tolerance the verdict names the first tensor that differs while its inputs agree
    assert d is strict["first_below"] and d["inputs_snr_db"] == math.inf and d["differing"] > 0
    assert strict["verdict"].startswith(f"first divergence at op #{d['op_index']} {d['op']}")


def test_reference_numlite_swaps_the_roles(files):
    rep = compare.compare(str(files["int8"]), reference="numlite")
    assert rep["reference"]["runtime"] == "numlite" and rep["compared"]["runtime"] == "litert"
    assert rep["outputs_match"]


# -- float vs quantized ----------------------------------------------------------------------------
def test_float_vs_int8_twin(files, capsys):
    image = np.load(files["image"])
    rep = compare.compare(str(files["float"]), str(files["int8"]), inputs={"input": image})
    assert rep["mode"] == "float-vs-quantized" and rep["snr_threshold"] == 15.0
    assert rep["reference"]["model"] == str(files["float"])
    recs = rep["records"]
    assert len(recs) == 67 and all(r["matched_by"] == "name" for r in recs)
    first = recs[0]  # the input, quantized to int8: at most half a step off
    assert first["tensor"] == "input" and first["dtype"] == "int8" and first["ref_dtype"] == "float32"
    assert first["error_steps"] <= 0.5 + 1e-6 and 35 < first["snr_db"] < 60
    assert all(r["snr_db"] > 15 for r in recs) and rep["outputs_match"]
    assert rep["verdict"].startswith("outputs match: every tensor's SNR >= 15 dB")
    # given in the other order, the float model is still the reference
    swapped = compare.compare(str(files["int8"]), str(files["float"]), inputs={"input": image})
    assert swapped["reference"]["model"] == str(files["float"])
    assert [r["snr_db"] for r in swapped["records"]] == [r["snr_db"] for r in recs]
    # a threshold above the healthy layers: the divergence is below it, with its inputs' SNR
    high = compare.compare(str(files["float"]), str(files["int8"]), inputs=[image], snr_threshold=30)
    d = high["divergence"]
    assert d is not None and d["snr_db"] < 30 and d["snr_drop_db"] == max(
        r["snr_drop_db"] for r in high["records"] if r["diverged"])


def test_uint8io_twin_matches_int8_suffixed_tensors(files):
    rep = compare.compare(str(files["uint8io"]), str(files["float"]), inputs=[np.load(files["image"])])
    by_tensor = {r["tensor"]: r for r in rep["records"]}
    assert by_tensor["input"]["dtype"] == "uint8"
    assert by_tensor["input_int8"]["ref_tensor"] == "input" and by_tensor["input_int8"]["op"] == "QUANTIZE"
    out = by_tensor["MobilenetV2/Predictions/Reshape_1_int8"]
    assert out["ref_tensor"] == "MobilenetV2/Predictions/Reshape_1"
    assert rep["inputs"][0]["compared_dtype"] == "uint8" and rep["outputs_match"]


def test_float_vs_int16x8_twin_matches_int16_suffixed_tensors(files, tmp_path):
    from numlite.quantize import quantize_model

    image = np.load(files["image"])
    q16 = tmp_path / "tiny_16x8.tflite"
    q16.write_bytes(quantize_model(files["float"].read_bytes(), [image], mode="int16x8", io_dtype=np.float32))
    rep = compare.compare(str(files["float"]), str(q16), inputs={"input": image})
    assert rep["mode"] == "float-vs-quantized" and rep["outputs_match"]
    by_tensor = {r["tensor"]: r for r in rep["records"]}
    assert by_tensor["input_int16"]["ref_tensor"] == "input" and by_tensor["input_int16"]["dtype"] == "int16"
    assert all(r["matched_by"] == "name" for r in rep["records"])
    # 16-bit activations: closer to float than the int8 twin, tensor by tensor (both have int8
    # weights, whose rounding then dominates: a median 9 dB better here, not the 48 dB of 8 more bits)
    int8 = {r["ref_tensor"]: r["snr_db"] for r in compare.compare(str(files["float"]), str(files["int8"]),
                                                                  inputs={"input": image})["records"]}
    common = [r for r in rep["records"] if r["ref_tensor"] in int8 and r["op"] not in ("QUANTIZE", "DEQUANTIZE")]
    assert len(common) > 50
    gains = [r["snr_db"] - int8[r["ref_tensor"]] for r in common]
    assert np.median(gains) > 5 and min(gains) > 0


@pytest.mark.parametrize("op_index, op_name", [(19, "CONV_2D"), (33, "DEPTHWISE_CONV_2D")])
def test_a_spoiled_layer_is_where_the_error_first_rises(files, tmp_path, capsys, op_index, op_name):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(spoil_weights(files["int8"].read_bytes(), op_index))
    rep = compare.compare(str(files["float"]), str(bad), inputs=[np.load(files["image"])])
    d = rep["divergence"]
    assert d["op_index"] == op_index and d["op"] == op_name
    assert d["snr_db"] < 5 and d["inputs_snr_db"] > 20
    assert rep["first_below"] is d and not rep["outputs_match"]
    # every layer before it is healthy, every one after it is not
    assert all(not r["diverged"] for r in rep["records"] if r["position"] < d["position"])

    plot = tmp_path / "snr.png"
    argv = [str(files["float"]), "--input", f"input={files['image']}", str(bad)]  # the 2nd model after --input
    if _have_matplotlib():
        argv += ["--plot", str(plot)]
    assert run_cli(argv) == 0
    text = capsys.readouterr().out
    name = d["tensor"]
    assert f"first divergence at op #{op_index} {op_name} (tensor '{name}'): SNR" in text
    assert f">>{d['position']:>3}  {op_index} {op_name}" in text
    if _have_matplotlib():
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tensors_with_other_names_are_matched_by_position(files, tmp_path):
    bad = tmp_path / "renamed.tflite"
    bad.write_bytes(rename_tensors(spoil_weights(files["int8"].read_bytes(), 19)))
    rep = compare.compare(str(files["float"]), str(bad), inputs=[np.load(files["image"])])
    recs = rep["records"]
    assert len(recs) == 67 and {r["matched_by"] for r in recs} == {"position"}
    assert all(r["ref_tensor"].startswith("MobilenetV2") or r["ref_tensor"] == "input" for r in recs)
    assert rep["divergence"]["op_index"] == 19


def test_two_models_on_litert(files):
    rep = compare.compare(str(files["float"]), str(files["int8"]), reference="litert", inputs=[np.load(files["image"])])
    assert rep["reference"]["runtime"] == rep["compared"]["runtime"] == "litert"
    ours = compare.compare(str(files["float"]), str(files["int8"]), inputs=[np.load(files["image"])])
    # LiteRT's reference kernels and numlite agree on the int8 side; float sides agree closely
    for a, b in zip(rep["records"], ours["records"]):
        assert a["tensor"] == b["tensor"] and abs(a["snr_db"] - b["snr_db"]) < 0.5


def test_plot_needs_matplotlib(files, capsys, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)
    assert run_cli([str(files["int8"]), "--plot", str(files["dir"] / "x.png")]) == 6
    err = capsys.readouterr().err
    assert "numlite[plot]" in err and err.count("\n") == 1


def _have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


# -- errors ----------------------------------------------------------------------------------------
def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("numlite compare: error: ") and err.count("\n") == 1, err  # one line, no traceback
    return err


def test_a_truncated_second_model(files, tmp_path, capsys):
    # the one-model cases (missing, directory, junk, truncated) are in tests/test_cli_errors.py
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(files["int8"].read_bytes()[:5000])
    assert run_cli([str(files["float"]), str(cut)]) == 3
    assert "cut.tflite" in _err(capsys)


def test_unsupported_op(tmp_path, capsys):
    mb = ModelBuilder()
    x = mb.input("x", (1, 4), np.float32)
    y = mb.tensor("y", (1, 4), np.float32)
    mb.op("custom:NoSuchOp", [x], [y])
    mb.output(y)
    p = tmp_path / "custom.tflite"
    p.write_bytes(mb.build())
    assert run_cli([str(p)]) == 4
    assert "NoSuchOp" in _err(capsys)


def test_wrong_inputs(files, add_model, tmp_path, capsys):
    a = tmp_path / "a.npy"
    np.save(a, np.ones((2, 3), np.float32))
    assert run_cli([add_model, "--input", f"a={a}", f"b={a}", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [d["source"] for d in doc["inputs"]] == ["given", "given"] and doc["outputs_match"]
    assert run_cli([add_model, "--input", f"a={tmp_path / 'nope.npy'}"]) == 5
    assert "nope.npy: no such input file" in _err(capsys)
    assert run_cli([add_model, "--input", f"c={a}"]) == 5
    assert "no input named 'c'" in _err(capsys)
    assert run_cli([add_model, "--input", str(a)]) == 5  # two inputs: the name is needed
    assert "NAME=FILE.npy" in _err(capsys)
    i = tmp_path / "i.npy"
    np.save(i, np.ones((2, 3), np.int32))
    assert run_cli([add_model, "--input", f"a={i}"]) == 5
    assert "takes float32, given int32" in _err(capsys)
    s = tmp_path / "s.npy"
    np.save(s, np.ones((2, 4), np.float32))
    assert run_cli([add_model, "--input", f"a={s}"]) == 5
    assert "cannot take inputs of shape" in _err(capsys)
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not numpy")
    assert run_cli([add_model, "--input", f"a={bad}"]) == 5
    assert "not a readable .npy file" in _err(capsys)
    assert run_cli([str(files["int8"]), "--input", f"input={files['image']}"]) == 5  # float for an int8 input
    assert "takes int8, given float32" in _err(capsys)


def test_models_whose_inputs_do_not_correspond(files, add_model, tmp_path, capsys):
    assert run_cli([str(files["float"]), add_model]) == 5
    assert "inputs do not correspond" in _err(capsys)
    other = tmp_path / "other.tflite"
    other.write_bytes(models.build(TINY, resolution=64))
    assert run_cli([str(files["float"]), str(other)]) == 5
    assert "[1, 96, 96, 3]" in _err(capsys)


def test_usage_errors(files, capsys):
    assert run_cli([str(files["int8"]), "--reference", "tflite"]) == 2
    capsys.readouterr()
    assert run_cli([str(files["int8"]), "--litert-resolver", "fast"]) == 2
    capsys.readouterr()
    with pytest.raises(compare.CLIError):
        compare.compare(str(files["int8"]), reference="tflite")


def test_help_lists_examples_and_exit_codes(capsys):
    assert run_cli(["--help"]) == 0
    text = capsys.readouterr().out
    assert "numlite compare float.tflite int8.tflite" in text and "exit codes:" in text
    assert "6  an optional dependency is missing" in text


def test_a_hybrid_model_whose_litert_run_adds_temporary_tensors(tmp_path, capsys):
    """LiteRT's hybrid kernels add tensors of their own (the quantized input, scaling factors)
    beyond the model's: they are not the model's and are not compared."""
    from numlite.quantize_weights import quantize_dynamic_range

    p = tmp_path / "hybrid.tflite"
    p.write_bytes(quantize_dynamic_range(models.build("mobilenet_v1", resolution=32, alpha=0.25), min_elements=64))
    assert numlite_command(["compare", str(p)]) == 0
    out = capsys.readouterr().out
    assert "32 tensors compared (0 diverge" in out and "outputs match" in out
