"""``numlite.convert(..., description=, labels=, input_mean=, input_std=)`` and ``numlite convert
--labels/--mean/--std``: TFLite metadata read back by numlite's metadata reader; the model still
runs on LiteRT with the metadata and its zip archive of associated files on it."""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "numpy")
keras = pytest.importorskip("keras")
litert = pytest.importorskip("ai_edge_litert.interpreter")

import numlite  # noqa: E402
from numlite import metadata  # noqa: E402
from numlite.converter import ConversionError  # noqa: E402


def _classifier(channels=3):
    x = keras.Input((8, 8, channels), name="image")
    y = keras.layers.Conv2D(4, 3, name="conv")(x)
    y = keras.layers.GlobalAveragePooling2D(name="pool")(y)
    y = keras.layers.Dense(3, activation="softmax", name="probs")(y)
    return keras.Model(x, y, name="tiny_classifier")


def _run(runtime, data, x):
    it = runtime(model_content=data)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def test_no_metadata_unless_asked():
    assert metadata.read(numlite.convert(_classifier())) is None


def test_metadata_fields_labels_and_normalization():
    model = _classifier()
    plain = numlite.convert(model)
    data = numlite.convert(model, description="three classes", author="numlite tests", version="v2",
                           license="Apache-2.0", labels=["cat", "dog", "bird"], input_mean=[127.5, 127.0, 126.0],
                           input_std=127.5)
    meta = metadata.read(data)
    assert (meta.name, meta.description, meta.author, meta.version, meta.license) == \
        ("tiny_classifier", "three classes", "numlite tests", "v2", "Apache-2.0")
    inp = meta.tensor("input", 0)
    assert inp.name == "image" and inp.content == "image" and inp.color_space == "RGB"
    assert inp.mean == [127.5, 127.0, 126.0] and inp.std == [127.5]
    assert meta.labels_for_output(0) == ["cat", "dog", "bird"]
    assert meta.tensor("output", 0).label_file().type == "TENSOR_AXIS_LABELS"
    assert metadata.labels(data) == ["cat", "dog", "bird"]
    # the model itself is unchanged: same outputs on LiteRT and numlite, with or without metadata
    x = np.random.default_rng(0).standard_normal((1, 8, 8, 3)).astype(np.float32)
    ref = model.predict(x, verbose=0)
    for runtime in (numlite.Interpreter, litert.Interpreter):
        np.testing.assert_array_equal(_run(runtime, data, x), _run(runtime, plain, x))
        np.testing.assert_allclose(_run(runtime, data, x), ref, rtol=1e-5, atol=1e-6)


def test_mean_alone_and_grayscale_and_feature_inputs():
    meta = metadata.read(numlite.convert(_classifier(1), input_mean=0.5, model_name="gray"))
    inp = meta.tensor("input", 0)
    assert meta.name == "gray" and inp.color_space == "GRAYSCALE" and inp.mean == [0.5] and inp.std == [1.0]
    dense = keras.Sequential([keras.Input((5,), name="features"), keras.layers.Dense(2, name="out")])
    meta = metadata.read(numlite.convert(dense, input_std=[2.0] * 5))
    assert meta.tensor("input", 0).content == "feature" and meta.tensor("input", 0).mean == [0.0]
    assert meta.labels_for_output(0) is None


@pytest.mark.parametrize("kwargs, message", [
    ({"labels": ["a", "b"]}, r"2 labels for output 'probs', whose last dimension has 3 entries"),
    ({"labels": ["a", "b\nc", "d"]}, "line break"),
    ({"input_mean": [1.0, 2.0]}, r"input_mean has 2 values: give one, or one per input channel \(3\)"),
    ({"input_std": 0.0}, "input_std must not be 0"),
    ({"input_mean": float("nan")}, "input_mean must be finite"),
])
def test_bad_metadata_is_refused(kwargs, message):
    with pytest.raises(ConversionError, match=message):
        numlite.convert(_classifier(), **kwargs)


def test_command_line_metadata(tmp_path, capsys):
    from util import numlite_command

    path = tmp_path / "m.keras"
    _classifier().save(path)
    labels = tmp_path / "labels.txt"
    labels.write_text("cat\r\ndog\nbird\n\n")
    out = tmp_path / "m.tflite"
    assert numlite_command(["convert", str(path), "-o", str(out), "--labels", str(labels), "--mean", "127.5",
                            "--std", "127.5", "--description", "demo", "--model-version", "1.0"]) == 0
    meta = metadata.read(str(out))
    assert meta.labels_for_output(0) == ["cat", "dog", "bird"]
    assert meta.description == "demo" and meta.version == "1.0" and meta.tensor("input", 0).std == [127.5]
    capsys.readouterr()
    labels.write_text("cat\ndog\n")
    out2 = tmp_path / "bad.tflite"
    assert numlite_command(["convert", str(path), "-o", str(out2), "--labels", str(labels)]) == 4
    assert "2 labels for output 'probs'" in capsys.readouterr().err
    assert not out2.exists()
    assert numlite_command(["convert", str(path), "-o", str(out2), "--labels", str(tmp_path / "none.txt")]) == 3
    assert "cannot read the labels file" in capsys.readouterr().err
