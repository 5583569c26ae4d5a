"""TFLite model metadata (``numlite.metadata``): the ModelMetadata FlatBuffer, its associated
files in the zip archive appended to the model, and hostile bytes."""

from __future__ import annotations

import io
import os
import zipfile

import flatbuffers
import numpy as np
import pytest

import numlite
from numlite import metadata as md
from numlite.builder import ModelBuilder

MEDIAPIPE = os.path.expanduser("~/.cache/numlite-test-models/mediapipe-0.10.14")


def softmax_model() -> bytes:
    mb = ModelBuilder()
    x = mb.input("logits", (1, 4), np.float32)
    y = mb.tensor("probs", (1, 4), np.float32)
    mb.op("SOFTMAX", [x], [y], beta=1.0)
    mb.output(y)
    return mb.build()


def full_metadata() -> md.ModelMetadata:
    return md.ModelMetadata(
        name="Tiny classifier", description="four classes", version="v2", author="numlite tests", license="MIT",
        subgraphs=[md.SubGraphMetadata(
            name="main", description="the graph",
            inputs=[md.TensorMetadata(name="image", description="an RGB image", dimension_names=["b", "h", "w", "c"],
                                      content="image", color_space="RGB", mean=[127.5, 120.0, 110.0],
                                      std=[127.5, 60.0, 55.0], min=[-1.0], max=[1.0],
                                      process_units=["normalization"])],
            outputs=[md.TensorMetadata(name="probability", content="feature", score_threshold=0.25,
                                       process_units=["score_thresholding"],
                                       associated_files=[
                                           md.AssociatedFile("labels_fr.txt", "French", "TENSOR_AXIS_LABELS", "fr"),
                                           md.AssociatedFile("labels.txt", "the classes", "TENSOR_AXIS_LABELS", "en"),
                                       ])],
            associated_files=[md.AssociatedFile("readme.txt", "read me", "DESCRIPTIONS")])],
        associated_files=[md.AssociatedFile("vocab.txt", "", "VOCABULARY")], min_parser_version="1.0.0")


LABEL_FILES = {"labels.txt": b"cat\ndog\r\nbird\nfish\n\n", "labels_fr.txt": b"chat\nchien\noiseau\npoisson\n",
               "readme.txt": b"hello"}


def test_write_parse_roundtrip():
    meta = full_metadata()
    buf = md.write(meta)
    assert buf[4:8] == b"M001"
    back = md.parse(buf)
    assert back == meta  # every decoded field survives
    t = back.subgraphs[0].inputs[0]
    assert (t.mean, t.std, t.min, t.max, t.content, t.color_space) == (
        [127.5, 120.0, 110.0], [127.5, 60.0, 55.0], [-1.0], [1.0], "image", "RGB")
    assert t.process_units == ["normalization"] and t.dimension_names == ["b", "h", "w", "c"]
    out = back.subgraphs[0].outputs[0]
    assert out.score_threshold == 0.25 and out.process_units == ["score_thresholding"]
    assert out.label_file().name == "labels_fr.txt" and out.label_file("en").name == "labels.txt"
    assert back.tensor("output", 0) is out and back.tensor("output", 1) is None and back.tensor("input", 0, 3) is None


def test_populate_read_and_labels(tmp_path):
    data = md.populate(softmax_model(), full_metadata(), LABEL_FILES)
    path = tmp_path / "m.tflite"
    path.write_bytes(data)
    for source in (str(path), data, numlite.load_model(model_path=str(path)), numlite.load_model(model_content=data)):
        meta = md.read(source)
        assert meta.name == "Tiny classifier" and meta.version == "v2" and meta.license == "MIT"
        assert sorted(meta.files) == sorted(LABEL_FILES)
        assert meta.labels_for_output(0) == ["chat", "chien", "oiseau", "poisson"]  # the first label file
        assert meta.labels_for_output(0, locale="en") == ["cat", "dog", "bird", "fish"]
        assert meta.labels_for_output(1) is None
        assert meta.associated_file("readme.txt") == b"hello"
    assert md.labels(str(path)) == ["chat", "chien", "oiseau", "poisson"]
    # the model still runs, on numlite and on LiteRT
    it = numlite.Interpreter(model_path=str(path))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], np.array([[1, 2, 3, 4]], np.float32))
    it.invoke()
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    lt = litert.Interpreter(model_path=str(path))
    lt.allocate_tensors()
    # repopulating replaces the entry
    meta2 = md.ModelMetadata(name="again", subgraphs=[md.SubGraphMetadata(outputs=[md.TensorMetadata(
        associated_files=[md.AssociatedFile("l.txt", type="TENSOR_VALUE_LABELS")])])])
    data2 = md.populate(data, meta2, {"l.txt": b"x\ny\n"})
    assert list(numlite.load_model(model_content=data2).metadata).count(md.METADATA_KEY) == 1
    assert md.read(data2).name == "again" and md.labels(data2) == ["x", "y"]


def test_builder_metadata_and_appended_zip():
    """The tflite-support way: the metadata buffer as a model metadata entry, then the files
    appended to the .tflite file by zipfile in append mode."""
    mb = ModelBuilder()
    x = mb.input("x", (1, 3), np.float32)
    y = mb.tensor("y", (1, 3), np.float32)
    mb.op("SOFTMAX", [x], [y], beta=1.0)
    mb.output(y)
    mb.add_metadata("min_runtime_version", b"1.5.0\0")
    mb.add_metadata(md.METADATA_KEY, md.write(md.ModelMetadata(name="b", subgraphs=[md.SubGraphMetadata(
        outputs=[md.TensorMetadata(associated_files=[md.AssociatedFile("labels.txt", type="TENSOR_AXIS_LABELS")])])])))
    f = io.BytesIO(mb.build())
    f.seek(0, 2)
    with zipfile.ZipFile(f, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("labels.txt", "a\nb\nc")
    assert md.labels(f.getvalue()) == ["a", "b", "c"]


def test_no_metadata_and_missing_files(tmp_path):
    assert md.read(softmax_model()) is None
    assert md.labels(softmax_model()) is None
    meta = md.ModelMetadata(subgraphs=[md.SubGraphMetadata(outputs=[md.TensorMetadata(
        associated_files=[md.AssociatedFile("labels.txt", type="TENSOR_AXIS_LABELS")])])])
    no_zip = md.populate(softmax_model(), meta)
    assert md.read(no_zip).files == []
    with pytest.raises(numlite.ModelError, match="no associated files archive"):
        md.labels(no_zip)
    wrong = md.populate(softmax_model(), meta, {"other.txt": b"x"})
    with pytest.raises(numlite.ModelError, match="'labels.txt'.*no such file"):
        md.labels(wrong)


def test_oversized_or_corrupt_archive(monkeypatch):
    meta = md.ModelMetadata(subgraphs=[md.SubGraphMetadata(outputs=[md.TensorMetadata(
        associated_files=[md.AssociatedFile("labels.txt", type="TENSOR_AXIS_LABELS")])])])
    data = md.populate(softmax_model(), meta, {"labels.txt": b"a\n" * 100})
    monkeypatch.setattr(md, "MAX_ASSOCIATED_FILE", 50)
    with pytest.raises(numlite.ModelError, match="too large"):
        md.labels(data)
    monkeypatch.undo()
    # a damaged archive: flip bytes inside the stored file's local header and data
    start = data.rindex(b"PK\x03\x04")
    for pos in range(start, start + 60, 3):
        bad = bytearray(data)
        bad[pos] ^= 0xA5
        try:
            md.labels(bytes(bad))
        except numlite.ModelError as e:
            assert "associated file" in str(e) or "archive" in str(e)


def _mutations(buf: bytes, n: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        b = bytearray(buf)
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
        yield bytes(b)


def test_hostile_metadata_bytes():
    buf = md.write(full_metadata())
    for n in range(len(buf)):  # every truncation
        try:
            md.parse(buf[:n])
        except numlite.ModelError as e:
            assert str(e)
    for bad in _mutations(buf, 1500, 0):  # random byte changes: a result or a ModelError, nothing else
        try:
            md.parse(bad)
        except numlite.ModelError:
            pass
    with pytest.raises(numlite.ModelError, match="file identifier"):
        md.parse(b"\x08\0\0\0XXXX" + buf[8:])
    with pytest.raises(numlite.ModelError, match="too short"):
        md.parse(b"\x04\0\0")
    with pytest.raises(numlite.ModelError, match="outside"):
        md.parse(b"\xff\xff\0\0M001" + b"\0" * 8)


def test_shared_references_cannot_fan_out():
    """Vectors of offsets that all point at one table: 3000 x 3000 tensors from ~24 kB."""
    b = flatbuffers.Builder(0)
    b.StartObject(7)
    tensor = b.EndObject()
    b.StartVector(4, 3000, 4)
    for _ in range(3000):
        b.PrependUOffsetTRelative(tensor)
    tensors = b.EndVector()
    b.StartObject(7)
    b.PrependUOffsetTRelativeSlot(2, tensors, 0)
    sg = b.EndObject()
    b.StartVector(4, 3000, 4)
    for _ in range(3000):
        b.PrependUOffsetTRelative(sg)
    sgs = b.EndVector()
    b.StartObject(8)
    b.PrependUOffsetTRelativeSlot(3, sgs, 0)
    b.Finish(b.EndObject(), file_identifier=b"M001")
    with pytest.raises(numlite.ModelError, match="shared references"):
        md.parse(bytes(b.Output()))


def test_corrupt_metadata_in_a_model():
    mb = ModelBuilder()
    x = mb.input("x", (1, 2), np.float32)
    y = mb.tensor("y", (1, 2), np.float32)
    mb.op("SOFTMAX", [x], [y], beta=1.0)
    mb.output(y)
    mb.add_metadata(md.METADATA_KEY, b"\x10\0\0\0M001garbage")
    with pytest.raises(numlite.ModelError, match="TFLITE_METADATA"):
        md.read(mb.build())
    with pytest.raises(TypeError):
        md.read(12)


def test_unknown_enum_values_are_kept():
    meta = md.ModelMetadata(subgraphs=[md.SubGraphMetadata(outputs=[md.TensorMetadata(
        associated_files=[md.AssociatedFile("f", type="UNKNOWN(42)")])])])
    assert md.parse(md.write(meta)).subgraphs[0].outputs[0].associated_files[0].type == "UNKNOWN(42)"


@pytest.mark.skipif(not os.path.isdir(MEDIAPIPE), reason="MediaPipe models not downloaded")
def test_real_mediapipe_metadata():
    path = os.path.join(MEDIAPIPE, "hand_landmark_full.tflite")
    if not os.path.exists(path):
        pytest.skip("hand_landmark_full.tflite not downloaded")
    meta = md.read(path)
    assert meta.name == "HandLandmarkDetector" and meta.files == ["handedness.txt"]
    image = meta.subgraphs[0].inputs[0]
    assert image.content == "image" and image.mean == [0.0, 0.0, 0.0] and image.std == [255.0, 255.0, 255.0]
    assert meta.labels_for_output(0) == ["Left", "Right"]
    assert md.parse(md.write(meta), source=path) == meta  # our writer re-encodes what the real one wrote
