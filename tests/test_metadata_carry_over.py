"""``numlite.metadata.carry_over``: a model rewritten from another (its quantized twin) keeps the
source's TFLite metadata and associated files; the weight-only quantizers use it."""

import numpy as np
import pytest

from numlite import metadata, models
from numlite.quantize_weights import quantize_dynamic_range, quantize_float16

TINY = "mobilenet_v2_tiny"


def _with_metadata(data: bytes) -> bytes:
    out = models.input_shape(TINY)
    meta = metadata.ModelMetadata(
        name="tiny", description="a tiny MobileNet v2", version="3",
        subgraphs=[metadata.SubGraphMetadata(
            inputs=[metadata.TensorMetadata(name="input", content="image", color_space="RGB", mean=[127.5],
                                            std=[127.5])],
            outputs=[metadata.TensorMetadata(name="probs", associated_files=[
                metadata.AssociatedFile("labels.txt", "classes", "TENSOR_AXIS_LABELS")])])])
    assert len(out) == 4
    from numlite.graph import load_model

    sg = load_model(model_content=data).subgraphs[0]
    classes = int(sg.tensors[sg.outputs[0]].shape[-1])
    labels = "".join(f"class {k}\n" for k in range(classes)).encode()
    return metadata.populate(data, meta, {"labels.txt": labels, "vocab.txt": b"a\nb\n"})


@pytest.fixture(scope="module")
def source():
    return _with_metadata(models.build(TINY))


def _same_metadata(a: bytes, b: bytes) -> None:
    ma, mb = metadata.read(a), metadata.read(b)
    assert mb is not None
    assert (mb.name, mb.description, mb.version) == (ma.name, ma.description, ma.version)
    assert mb.tensor("input", 0).mean == [127.5]
    assert metadata.labels(b) == metadata.labels(a) and len(metadata.labels(b)) > 2
    assert sorted(metadata.list_associated_files(b)) == ["labels.txt", "vocab.txt"]
    assert metadata.read_associated_file(b, "vocab.txt") == b"a\nb\n"


@pytest.mark.parametrize("quantize", [quantize_float16, quantize_dynamic_range])
def test_weight_only_quantizers_keep_metadata_and_files(source, quantize):
    q = quantize(source)
    _same_metadata(source, q)
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=q)  # still a model LiteRT runs, archive and all
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], models.synthetic_image(models.input_shape(TINY), 0))
    it.invoke()
    assert np.all(np.isfinite(it.get_tensor(it.get_output_details()[0]["index"])))


def test_carry_over_rules(source):
    plain = models.build(TINY)
    assert metadata.carry_over(plain, plain) is plain  # nothing to carry: the same bytes
    moved = metadata.carry_over(source, plain)
    _same_metadata(source, moved)
    # the writer's own entries are not copied (the rewritten file has its own min_runtime_version)
    from numlite.graph import load_model

    names = list(load_model(model_content=moved).metadata)
    assert names.count("TFLITE_METADATA") == 1 and "CONVERSION_METADATA" not in names
    # a model with metadata and an archive of its own keeps them
    other = metadata.populate(plain, metadata.ModelMetadata(name="other"), {"own.txt": b"x"})
    kept = metadata.carry_over(source, other)
    assert metadata.read(kept).name == "other" and metadata.list_associated_files(kept) == ["own.txt"]
    # carried twice: still one archive, one entry
    again = metadata.carry_over(source, moved)
    assert again is moved


@pytest.mark.parametrize("mode", ["int8", "int16x8"])
def test_full_integer_quantizer_keeps_metadata_and_files(source, mode):
    from numlite.quantize import quantize_model

    image = models.synthetic_image(models.input_shape(TINY), 0)
    _same_metadata(source, quantize_model(source, [image], mode=mode))
