"""Fuzz numlite's model loader and verifier: ``numlite.load_model(model_content=...)``, building the
Interpreter (op resolution) and the detail calls on the loaded graph (``get_tensor_details`` of
every subgraph, ``_get_ops_details``, ``get_signature_list``, input / output details, the
``TFLITE_METADATA`` reader) - no allocate, no invoke.

Seeds: every kind of model the tests build (quantized, sparse, int4, strings, control flow,
signatures, metadata, custom ops), the TensorFlow-converter fixtures and the cached real models.
The custom mutator overwrites FlatBuffer offsets, vtable entries, vector lengths and scalars with
extreme values (schema-guided) and rewires the decoded model's structure.

A finding: any exception other than numlite's documented ValueError / RuntimeError family
(``ModelError`` above all), or a hang.
"""

from __future__ import annotations

import random

import _flatbuf
from _common import cached_real_models, interpreter, libfuzzer_or_generic, tf_fixtures, tolerated
from _models import corpus

import numlite
from numlite import metadata

NAME = "loader"


def seeds() -> list[bytes]:
    return corpus() + tf_fixtures() + cached_real_models()


def test_one_input(data: bytes) -> None:
    with tolerated():
        numlite.load_model(model_content=data)
    with tolerated():
        it = interpreter(data)
        for s in range(it.num_subgraphs()):
            it.get_tensor_details(s)
        it._get_ops_details()
        it.get_signature_list()
        it.get_input_details()
        it.get_output_details()
        meta = metadata.read(it.model)
        if meta is not None:
            meta.labels_for_output(0)


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    if rng.random() < 0.4:
        return libfuzzer_or_generic(data, max_size, seed)
    return _flatbuf.mutate(data, rng)[:max_size]
