"""Fuzz numlite's prepare and invoke: mutated models of every kind the tests build (float and
int8 / uint8 / int16 vision ops, hybrid and int4 weights, LSTM / RNN / SVDF with state, dynamic
shapes, strings, control flow, detection, sparse weights, MediaPipe and audio custom ops), the
TensorFlow-converter fixtures and the cached real models, allocated and invoked on inputs filled
deterministically from the input's bytes.

Inputs whose tensors declare more than ``MAX_DECLARED_BYTES`` (16 MB) are skipped (not a
finding) to keep the campaign fast; an invoke is cancelled after ``INVOKE_TIMEOUT``.  The custom
mutator mixes libFuzzer's byte mutations with schema-guided FlatBuffer overwrites and
model-level changes (shapes, types, op codes, versions, options, inputs / outputs, op order).

A finding: any exception other than numlite's documented errors, or a hang.
"""

from __future__ import annotations

import random

import _flatbuf
from _common import cached_real_models, libfuzzer_or_generic, run_model, tf_fixtures, tolerated
from _models import corpus

NAME = "invoke"


def seeds() -> list[bytes]:
    return corpus() + tf_fixtures() + cached_real_models(300_000)


def test_one_input(data: bytes) -> None:
    with tolerated():
        run_model(data, details=False)


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    r = rng.random()
    if r < 0.35:
        return libfuzzer_or_generic(data, max_size, seed)
    if r < 0.7:
        got = _flatbuf.mutate_model(data, rng)
        if got is not None and len(got) <= max_size:
            return got
    return _flatbuf.mutate_slot(data, rng)[:max_size]
