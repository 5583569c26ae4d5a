"""``numlite run``: every input kind (.npy, .npz, images), image scaling for float and
quantized inputs, top-K with labels from a file or the model's metadata, --json, and the
one-line errors with their exit codes."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from util import numlite_command

import numlite
from numlite import metadata as md
from numlite import models
from numlite.builder import ModelBuilder
from numlite.tools import _common
from numlite.tools import run as run_mod

PIL = pytest.importorskip("PIL.Image")


def cli(argv: list[str]) -> int:
    """``numlite run ARGV``."""
    return numlite_command(["run", *argv], catch_exit=False)


def run_json(capsys, argv: list[str]) -> dict:
    capsys.readouterr()
    assert cli([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def error(capsys, argv: list[str], code: int, *needles: str) -> str:
    capsys.readouterr()
    assert cli(argv) == code
    err = capsys.readouterr().err
    assert err.startswith("numlite run: error: ") and err.count("\n") == 1, err  # one line, no traceback
    for n in needles:
        assert n in err, err
    return err


def write(tmp_path, name: str, data: bytes) -> str:
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


# -- models -------------------------------------------------------------------------------------
def add_model() -> bytes:
    mb = ModelBuilder()
    a = mb.input("a", (2, 3), np.float32)
    b = mb.input("b", (2, 3), np.float32)
    y = mb.tensor("sum", (2, 3), np.float32)
    mb.op("ADD", [a, b], [y], fused_activation_function="NONE")
    mb.output(y)
    return mb.build()


def image_model(h: int = 4, w: int = 4, c: int = 3, dtype=np.float32, quant: dict | None = None) -> bytes:
    """An image input reshaped to [1, h*w*c]: the output shows exactly what was fed."""
    mb = ModelBuilder()
    x = mb.input("image", (1, h, w, c), dtype, quantization=quant)
    y = mb.tensor("flat", (1, h * w * c), dtype, quantization=quant)
    mb.op("RESHAPE", [x, mb.const("shape", np.array([1, h * w * c], np.int32))], [y])
    mb.output(y)
    return mb.build()


def classifier(dtype=np.float32, quant: dict | None = None, n: int = 4) -> bytes:
    mb = ModelBuilder()
    x = mb.input("logits", (1, n), dtype, quantization=quant)
    y = mb.tensor("probs", (1, n), dtype, quantization=quant)
    if dtype == np.float32:
        mb.op("SOFTMAX", [x], [y], beta=1.0)
    else:
        mb.op("RESHAPE", [x, mb.const("shape", np.array([1, n], np.int32))], [y])
    mb.output(y)
    return mb.build()


def fc_model() -> bytes:
    mb = ModelBuilder()
    x = mb.input("x", (1, 4), np.float32)
    w = mb.const("w", np.ones((2, 4), np.float32))
    y = mb.tensor("y", (1, 2), np.float32)
    mb.op("FULLY_CONNECTED", [x, w, -1], [y], fused_activation_function="NONE")
    mb.output(y)
    return mb.build()


def save_png(tmp_path, name: str, arr: np.ndarray) -> str:
    path = str(tmp_path / name)
    PIL.fromarray(arr).save(path)
    return path


def pixels(h: int, w: int, c: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, c) if c > 1 else (h, w), dtype=np.uint8)


# -- inputs -------------------------------------------------------------------------------------
def test_npy_npz_named_indexed_and_positional(capsys, tmp_path):
    m = write(tmp_path, "add.tflite", add_model())
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.full((2, 3), 0.5, np.float32)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    np.savez(tmp_path / "both.npz", a=a, b=b)
    np.savez(tmp_path / "one.npz", whatever=b)
    np.savez(tmp_path / "pos.npz", a, b)  # arr_0, arr_1
    A, B = str(tmp_path / "a.npy"), str(tmp_path / "b.npy")
    for argv in ([A, B], [f"b={B}", f"a={A}"], [f"1={B}", A], ["--input", f"a={tmp_path / 'both.npz'}", f"b={B}"],
                 [str(tmp_path / "both.npz")], [str(tmp_path / "pos.npz")], [f"a={A}", str(tmp_path / "one.npz")]):
        if argv[0] != "--input":
            argv = ["--input", *argv]
        doc = run_json(capsys, [m, *argv])
        assert doc["outputs"][0]["values"] == (a + b).tolist(), argv
        assert [i["name"] for i in doc["inputs"]] == ["a", "b"]
    doc = run_json(capsys, [m, "--input", f"a={A}", "--seed", "3"])  # b not given: seeded random
    assert doc["inputs"][1]["source"] == "random" and doc["inputs"][0]["source"] == A
    rng = np.random.default_rng(3)
    expected = a + _common.random_input({"dtype": np.float32, "shape": [2, 3]}, rng)
    np.testing.assert_allclose(doc["outputs"][0]["values"], expected, rtol=1e-6)


def test_casts_reshapes_and_quantizes_arrays(capsys, tmp_path):
    m = write(tmp_path, "add.tflite", add_model())
    np.save(tmp_path / "a64.npy", np.ones((1, 2, 3), np.float64))  # float64 cast; extra 1-axis dropped
    doc = run_json(capsys, [m, "-i", str(tmp_path / "a64.npy"), str(tmp_path / "a64.npy")])
    assert doc["outputs"][0]["values"] == [[2.0] * 3] * 2
    assert doc["inputs"][0]["preprocessing"] == ["cast from float64", "reshaped from [1, 2, 3]"]
    q = write(tmp_path, "q.tflite", classifier(np.int8, {"scale": 0.5, "zero_point": -3}))
    np.save(tmp_path / "f.npy", np.array([[1.0, -2.0, 0.25, 100.0]], np.float32))
    doc = run_json(capsys, [q, "-i", str(tmp_path / "f.npy")])
    # round half away from zero: 0.25 / 0.5 = 0.5 -> 1; 100 / 0.5 = 200 -> clamped to 127
    assert doc["outputs"][0]["values"] == [[-1, -7, -2, 127]]
    assert "quantized with scale=0.5 zero_point=-3" in doc["inputs"][0]["preprocessing"][0]


def test_resizes_to_given_shapes(capsys, tmp_path):
    m = write(tmp_path, "add.tflite", add_model())
    np.save(tmp_path / "x.npy", np.ones((4, 3), np.float32))
    doc = run_json(capsys, [m, "-i", str(tmp_path / "x.npy"), str(tmp_path / "x.npy")])
    assert doc["outputs"][0]["shape"] == [4, 3]
    assert "input resized from [2, 3]" in doc["inputs"][0]["preprocessing"]


def test_float_image_default_range_and_resize(capsys, tmp_path):
    m = write(tmp_path, "img.tflite", image_model())
    px = pixels(4, 4)
    doc = run_json(capsys, [m, "-i", save_png(tmp_path, "x.png", px)])
    np.testing.assert_allclose(doc["outputs"][0]["values"], (px / 255.0).reshape(1, -1), atol=1e-6)
    assert any("[0, 1] (the default" in n for n in doc["inputs"][0]["preprocessing"])
    # another size and a palette image: converted to RGB, resized bilinearly to 4x4
    big = PIL.fromarray(pixels(9, 7, seed=1)).convert("P")
    big.save(tmp_path / "big.bmp")
    doc = run_json(capsys, [m, "-i", f"image={tmp_path / 'big.bmp'}", "--image-range=-1,1"])
    want = np.asarray(big.convert("RGB").resize((4, 4), PIL.BILINEAR), np.float32)
    np.testing.assert_allclose(doc["outputs"][0]["values"], (-1 + want * 2 / 255).reshape(1, -1), atol=1e-6)
    assert doc["inputs"][0]["preprocessing"][0] == "image 7x9 P -> 4x4 RGB"
    # JPEG, grayscale model input
    g = write(tmp_path, "gray.tflite", image_model(c=1))
    rgb = pixels(4, 4, seed=2)
    PIL.fromarray(rgb).save(tmp_path / "x.jpg", quality=95)
    doc = run_json(capsys, [g, "-i", str(tmp_path / "x.jpg")])
    want = np.asarray(PIL.open(tmp_path / "x.jpg").convert("L"), np.float32) / 255
    np.testing.assert_allclose(doc["outputs"][0]["values"], want.reshape(1, -1), atol=1e-6)


def test_quantized_image_inputs(capsys, tmp_path):
    px = pixels(4, 4, seed=3)
    png = save_png(tmp_path, "x.png", px)
    # uint8, scale 2/255 zero point 10: [0, 1] -> q = round(p / 2) + 10 (half away from zero)
    u = write(tmp_path, "u8.tflite", image_model(dtype=np.uint8, quant={"scale": 2 / 255, "zero_point": 10}))
    doc = run_json(capsys, [u, "-i", png])
    want = np.floor(px / 255.0 / float(np.float32(2 / 255)) + 0.5) + 10  # the model stores a float32 scale
    np.testing.assert_array_equal(doc["outputs"][0]["values"], want.reshape(1, -1))
    # int8 with the model's normalization metadata: (p - 127.5) / 127.5, then scale 1/128, zero point 0
    data = image_model(dtype=np.int8, quant={"scale": 1 / 128, "zero_point": 0})
    meta = md.ModelMetadata(name="q", subgraphs=[md.SubGraphMetadata(
        inputs=[md.TensorMetadata(name="image", content="image", mean=[127.5], std=[127.5])],
        outputs=[md.TensorMetadata(name="flat")])])
    i8 = write(tmp_path, "i8.tflite", md.populate(data, meta))
    doc = run_json(capsys, [i8, "-i", png])
    v = (px - 127.5) / 127.5 * 128
    want = np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5), -128, 127)
    np.testing.assert_array_equal(doc["outputs"][0]["values"], want.reshape(1, -1))
    notes = doc["inputs"][0]["preprocessing"]
    assert "(pixel - 127.5) / 127.5 (the model's metadata normalization)" in notes
    assert "quantized with scale=0.0078125 zero_point=0" in notes
    # uint8 input without quantization: raw pixels
    raw = write(tmp_path, "raw.tflite", image_model(dtype=np.uint8))
    doc = run_json(capsys, [raw, "-i", png])
    assert doc["outputs"][0]["values"] == px.reshape(1, -1).tolist()


def test_float_image_with_per_channel_metadata(capsys, tmp_path):
    meta = md.ModelMetadata(subgraphs=[md.SubGraphMetadata(
        inputs=[md.TensorMetadata(name="pixels", mean=[10.0, 20.0, 30.0], std=[2.0, 4.0, 8.0])],
        outputs=[md.TensorMetadata()])])
    m = write(tmp_path, "m.tflite", md.populate(image_model(), meta))
    px = pixels(4, 4, seed=4)
    doc = run_json(capsys, [m, "-i", f"pixels={save_png(tmp_path, 'x.png', px)}"])  # the metadata's name works too
    want = (px - np.array([10.0, 20.0, 30.0])) / np.array([2.0, 4.0, 8.0])
    np.testing.assert_allclose(doc["outputs"][0]["values"], want.reshape(1, -1), rtol=1e-6)


# -- outputs: top-K and labels ------------------------------------------------------------------
def test_top_k_with_labels_file(capsys, tmp_path):
    m = write(tmp_path, "c.tflite", classifier())
    logits = np.array([[1.0, 3.0, 2.0, 0.5]], np.float32)
    np.save(tmp_path / "l.npy", logits)
    labels = tmp_path / "labels.txt"
    labels.write_text("cat\ndog\nbird\nfish\n")
    assert cli([m, "-i", str(tmp_path / "l.npy"), "--labels", str(labels), "--top", "3"]) == 0
    text = capsys.readouterr().out
    p = np.exp(logits[0] - logits.max())
    p /= p.sum()
    assert f"1. {p[1]:.4f}  #1  dog" in text and f"2. {p[2]:.4f}  #2  bird" in text and "#3" not in text
    assert "probabilities" in text and f"labels from {labels}" in text
    doc = run_json(capsys, [m, "-i", str(tmp_path / "l.npy"), "--labels", str(labels)])
    top = doc["top_k"]["top"]
    assert [e["class"] for e in top] == [1, 2, 0, 3] and [e["label"] for e in top] == ["dog", "bird", "cat", "fish"]
    np.testing.assert_allclose([e["value"] for e in top], p[[1, 2, 0, 3]], rtol=1e-5)
    assert doc["top_k"]["kind"] == "probability"
    assert cli([m, "-i", str(tmp_path / "l.npy"), "--top", "0"]) == 0
    assert "top-" not in capsys.readouterr().out


def test_top_k_labels_from_metadata_and_dequantized(capsys, tmp_path):
    data = classifier(np.uint8, {"scale": 1 / 256, "zero_point": 0})
    meta = md.ModelMetadata(name="Tiny", version="1.0", subgraphs=[md.SubGraphMetadata(
        inputs=[md.TensorMetadata(name="logits")],
        outputs=[md.TensorMetadata(name="probs", associated_files=[
            md.AssociatedFile("labels.txt", type="TENSOR_AXIS_LABELS")])])])
    m = write(tmp_path, "c.tflite", md.populate(data, meta, {"labels.txt": b"cat\ndog\nbird\nfish\n"}))
    np.save(tmp_path / "q.npy", np.array([[10, 200, 50, 0]], np.uint8))
    assert cli([m, "-i", str(tmp_path / "q.npy"), "--top", "2"]) == 0
    text = capsys.readouterr().out
    assert "metadata: 'Tiny' (version '1.0'), files: labels.txt" in text
    assert "dequantized from uint8; labels from the model's metadata (labels.txt)" in text
    assert f"1. {200 / 256:.4f}  #1  dog" in text and f"2. {50 / 256:.4f}  #2  bird" in text
    # --labels wins over the metadata
    other = tmp_path / "other.txt"
    other.write_text("a\nb\nc\nd\n")
    doc = run_json(capsys, [m, "-i", str(tmp_path / "q.npy"), "--labels", str(other)])
    assert doc["top_k"]["top"][0]["label"] == "b" and doc["metadata"]["name"] == "Tiny"


def test_label_count_mismatch_and_logits_warn(capsys, tmp_path):
    m = write(tmp_path, "c.tflite", classifier(np.int8, {"scale": 0.5, "zero_point": 0}))
    labels = tmp_path / "l.txt"
    labels.write_text("x\ny\n")
    np.save(tmp_path / "q.npy", np.array([[4, -2, 9, 1]], np.int8))
    assert cli([m, "-i", str(tmp_path / "q.npy"), "--labels", str(labels)]) == 0
    cap = capsys.readouterr()
    assert "warning: 2 labels" in cap.err and "for 4 classes" in cap.err
    assert "scores" in cap.out and "1. 4.5000  #2\n" in cap.out and "2. 2.0000  #0  x" in cap.out


def test_mobilenet_tiny_image_top5_matches_interpreter(capsys, tmp_path):
    data = models.build("mobilenet_v1_tiny")
    m = write(tmp_path, "mnv1.tflite", data)
    px = pixels(120, 160, seed=5)
    png = save_png(tmp_path, "photo.png", px)
    doc = run_json(capsys, [m, "-i", png, "--runs", "2"])
    x = np.asarray(PIL.fromarray(px).resize((96, 96), PIL.BILINEAR), np.float32)[None] / np.float32(255)
    it = numlite.Interpreter(model_content=data)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    p = it.get_tensor(it.get_output_details()[0]["index"])[0]
    assert [e["class"] for e in doc["top_k"]["top"]] == [int(i) for i in np.argsort(-p, kind="stable")[:5]]
    assert doc["top_k"]["classes"] == 1001 and "values" not in doc["outputs"][0]  # big outputs: summary only
    t = doc["timings"]
    assert t["runs"] == 2 and t["min_ms"] <= t["median_ms"] <= t["max_ms"]


def test_json_document_and_save(capsys, tmp_path):
    m = write(tmp_path, "add.tflite", add_model())
    out = tmp_path / "out.npz"
    doc = run_json(capsys, [m, "--seed", "7", "--save", str(out), "--runs", "3"])
    assert set(doc) >= {"model", "inputs", "outputs", "top_k", "timings", "warnings", "metadata"}
    assert doc["top_k"] is None and doc["metadata"] is None and doc["saved"] == str(out)
    assert doc["inputs"][0]["source"] == "random" and doc["inputs"][0]["preprocessing"] == [
        "seeded random values (--seed 7)"]
    assert set(doc["outputs"][0]["stats"]) == {"min", "max", "mean", "std"}
    np.testing.assert_array_equal(np.load(out)["output_0"], np.asarray(doc["outputs"][0]["values"], np.float32))


def test_python_function(tmp_path):
    m = write(tmp_path, "add.tflite", add_model())
    r = run_mod.run_model(m, {"a": np.ones((2, 3), np.float32), 1: np.full((2, 3), 2, np.float32)})
    np.testing.assert_array_equal(r["outputs"][0]["value"], np.full((2, 3), 3, np.float32))
    c = write(tmp_path, "c.tflite", classifier())
    r = run_mod.run_model(c, [("logits", np.array([[0, 0, 5, 0]], np.float32))], labels=["a", "b", "c", "d"], top=1)
    assert r["top_k"]["top"][0]["label"] == "c"


def test_corrupt_metadata_is_a_warning(capsys, tmp_path):
    mb = ModelBuilder()
    x = mb.input("x", (1, 2), np.float32)
    y = mb.tensor("y", (1, 2), np.float32)
    mb.op("SOFTMAX", [x], [y], beta=1.0)
    mb.output(y)
    mb.add_metadata(md.METADATA_KEY, b"\x10\0\0\0M001\xff\xff\xff\xff")
    m = write(tmp_path, "m.tflite", mb.build())
    assert cli([m]) == 0
    assert "warning: ignoring the model's metadata: corrupt TFLITE_METADATA" in capsys.readouterr().err


# -- errors -------------------------------------------------------------------------------------
def test_input_errors(capsys, tmp_path):
    m = write(tmp_path, "add.tflite", add_model())
    np.save(tmp_path / "a.npy", np.ones((2, 3), np.float32))
    np.save(tmp_path / "i.npy", np.ones((2, 3), np.int32))
    A = str(tmp_path / "a.npy")
    error(capsys, [m, "-i", f"nope={A}"], 5, "unknown input 'nope'", "['a', 'b']")
    error(capsys, [m, "-i", f"7={A}"], 5, "position 7 is out of range")
    error(capsys, [m, "-i", str(tmp_path / "i.npy"), A], 5, "input 'a'", "int32", "takes float32")
    error(capsys, [m, "-i", str(tmp_path / "missing.npy"), A], 5, "missing.npy: no such file")
    error(capsys, [m, "-i", str(tmp_path), A], 5, "is a directory")
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    error(capsys, [m, "-i", str(tmp_path / "bad.npy"), A], 5, "not a readable .npy file")
    (tmp_path / "fake.npy").write_bytes(b"hello")
    error(capsys, [m, "-i", str(tmp_path / "fake.npy"), A], 5, "not a .npy file")
    np.savez(tmp_path / "two.npz", x=np.ones(2), y=np.ones(2))
    error(capsys, [m, "-i", f"a={tmp_path / 'two.npz'}", f"b={A}"], 5, "no array named 'a'")
    error(capsys, [m, "-i", str(tmp_path / "two.npz")], 5, "not named after the model's inputs")
    error(capsys, [m, "-i", A], 2, "2 input(s), 1 --input")
    error(capsys, [m, "-i", f"a={A}", f"a={A}"], 2, "given twice")
    # an image for an input that is not an image
    png = save_png(tmp_path, "x.png", pixels(4, 4))
    error(capsys, [m, "-i", png, A], 5, "does not take an image")


def test_image_errors(capsys, tmp_path):
    m = write(tmp_path, "img.tflite", image_model())
    (tmp_path / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    error(capsys, [m, "-i", str(tmp_path / "garbage.png")], 5, "garbage.png")
    (tmp_path / "notes.txt").write_text("not an image")
    error(capsys, [m, "-i", str(tmp_path / "notes.txt")], 5, "not an image (nor a .npy/.npz file)")
    good = PIL.fromarray(pixels(32, 32))
    good.save(tmp_path / "full.jpg")
    (tmp_path / "cut.jpg").write_bytes((tmp_path / "full.jpg").read_bytes()[:200])
    error(capsys, [m, "-i", str(tmp_path / "cut.jpg")], 5, "cut.jpg")
    error(capsys, [m, "--image-range", "1,0"], 2, "LO must be below HI")
    error(capsys, [m, "--image-range", "x"], 2, "expected LO,HI")


def test_shape_the_model_cannot_take(capsys, tmp_path):
    m = write(tmp_path, "fc.tflite", fc_model())
    np.save(tmp_path / "x.npy", np.ones((1, 5), np.float32))
    error(capsys, [m, "-i", str(tmp_path / "x.npy")], 5, "cannot take the given input shape", "[1, 4] -> [1, 5]")


def test_model_errors(capsys, tmp_path):
    error(capsys, [str(tmp_path / "missing.tflite")], 3, "missing.tflite: no such file")
    error(capsys, [str(tmp_path)], 3, "is a directory")
    error(capsys, [write(tmp_path, "text.tflite", b"this is not a model" * 10)], 3, "not a valid TFLite model")
    error(capsys, [write(tmp_path, "cut.tflite", add_model()[:100])], 3)
    mb = ModelBuilder()
    x = mb.input("x", (1, 2), np.float32)
    y = mb.tensor("y", (1, 2), np.float32)
    mb.op("custom:NoSuchOpAnywhere", [x], [y])
    mb.output(y)
    error(capsys, [write(tmp_path, "custom.tflite", mb.build())], 4, "NoSuchOpAnywhere")
    m = write(tmp_path, "add.tflite", add_model())
    assert cli([m, "--threads", "0"]) == 2
    assert cli([m, "--runs", "0"]) == 2
    error(capsys, [m, "--labels", str(tmp_path / "nolabels.txt")], 5, "nolabels.txt: no such file")


def test_missing_pillow_names_the_extra(capsys, tmp_path, monkeypatch):
    m = write(tmp_path, "img.tflite", image_model())
    png = save_png(tmp_path, "x.png", pixels(4, 4))
    monkeypatch.setitem(sys.modules, "PIL.Image", None)  # import fails
    error(capsys, [m, "-i", png], 6, "numlite[image]", "Pillow")


def test_help_has_examples_and_exit_codes(capsys):
    with pytest.raises(SystemExit) as e:
        cli(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text and "numlite run model.tflite --input image=cat.jpg" in text
    assert "exit codes:" in text and "5  a given input is wrong" in text
