"""Fuzz numlite's string tensors: the TFLite string-buffer decoder (``numlite/strings.py``) on
constant string tensors of a model, and ``set_tensor`` / ``get_tensor`` of arbitrary strings (any
bytes, non-UTF-8, empty, embedded NULs) through the string ops (SKIP_GRAM, LSH_PROJECTION,
HASHTABLE_LOOKUP, hash tables, EQUAL, GATHER, CONCATENATION, TILE, RESHAPE, Smart Reply's
Normalize / ExtractFeatures).

Input layout: byte 0 picks the mode and the model.  Mode "buffer" (even byte 0): the rest is the
raw buffer of a constant string tensor of a small model (its element count taken from the
buffer's own header, so that the decoder sees both consistent and inconsistent buffers), decoded
with ``strings.decode`` directly too.  Mode "feed" (odd byte 0): the rest is split at 0xFF 0x00
into strings that are fed to a string model's input (resized to their number where the input is
a vector), as bytes, as NumPy ``S`` arrays or as ``str``.

A finding: any exception other than numlite's documented errors (``ModelError`` for a bad buffer,
ValueError / RuntimeError for refused feeds); ``UnicodeDecodeError`` is a finding.
"""

from __future__ import annotations

import random
import struct
from typing import Any

import numpy as np
from _common import fill_value, interpreter, invoke_bounded, libfuzzer_or_generic, mutate_bytes, tolerated

from numlite import strings
from numlite.builder import ModelBuilder

NAME = "strings"
SEP = b"\xff\x00"
MAX_STRINGS = 64

_TEMPLATES: list[bytes] = []


def _text_pipeline() -> bytes:
    mb = ModelBuilder()
    x = mb.input("x", (1,), np.object_)
    norm = mb.tensor("norm", (1,), np.object_)
    grams = mb.tensor("grams", (1,), np.object_)
    ids, w = mb.tensor("ids", (1,), np.int32), mb.tensor("w", (1,), np.float32)
    mb.op("custom:Normalize", [x], [norm])
    mb.op("SKIP_GRAM", [norm], [grams], options_table="SkipGramOptions", ngram_size=2, max_skip_size=1,
          include_all_ngrams=True)
    mb.op("custom:ExtractFeatures", [grams], [ids, w])
    mb.output(norm, ids, w)
    return mb.build()


def templates() -> list[bytes]:
    """The string models fed in mode "feed" (built once)."""
    if not _TEMPLATES:
        from _models import hashtables, string_models

        _TEMPLATES.extend(string_models() + hashtables() + [_text_pipeline()])
    return _TEMPLATES


def _const_model(raw: bytes) -> bytes:
    """A model whose constant string tensor holds ``raw`` as its buffer: output as it is and
    compared (EQUAL) with an input."""
    count = struct.unpack_from("<i", raw)[0] if len(raw) >= 4 else 1
    n = min(max(count, 0), 1024)
    mb = ModelBuilder()
    c = mb.tensor("c", (n,), np.object_, data=np.frombuffer(raw, np.uint8))
    x = mb.input("x", (n,), np.object_)
    eq = mb.tensor("eq", (n,), np.bool_)
    mb.op("EQUAL", [x, c], [eq])
    mb.output(eq, c)
    return mb.build()


def _split(payload: bytes) -> list[bytes]:
    return payload.split(SEP)[:MAX_STRINGS]


def _feed_value(words: list[bytes], shape: tuple[int, ...], how: int) -> Any:
    n = int(np.prod(shape)) if shape else 1
    vals = (words * (n // max(len(words), 1) + 1))[:n] if words else [b""] * n
    if how == 0:
        return np.array(vals, dtype=object).reshape(shape)
    if how == 1:
        return np.array(vals, dtype=np.bytes_).reshape(shape) if n else np.zeros(shape, np.bytes_)
    return np.array([v.decode("utf-8", "surrogateescape") for v in vals], dtype=object).reshape(shape)


def test_one_input(data: bytes) -> None:
    if not data:
        return
    sel, payload = data[0], data[1:]
    if sel % 2 == 0:
        count = struct.unpack_from("<i", payload)[0] if len(payload) >= 4 else 0
        with tolerated():
            strings.decode(payload, max(count, 0), "fuzz")
        with tolerated():
            it = interpreter(_const_model(payload))
            it.allocate_tensors()
            for d in it.get_input_details():
                it.set_tensor(d["index"], fill_value(tuple(d["shape"]), d["dtype"], payload, 0))
            if not invoke_bounded(it):
                return
            for d in it.get_output_details():
                it.get_tensor(d["index"])
        return
    models = templates()
    model = models[(sel // 2) % len(models)]
    words = _split(payload)
    with tolerated():
        it = interpreter(model)
        for d in it.get_input_details():
            if d["dtype"] in (np.object_, np.bytes_) and len(d["shape"]) == 1 and len(words) != d["shape"][0]:
                it.resize_tensor_input(d["index"], [len(words)])
        it.allocate_tensors()
        for k, d in enumerate(it.get_input_details()):
            shape = tuple(int(s) for s in d["shape"])
            if np.dtype(d["dtype"]).kind in "OSU":
                it.set_tensor(d["index"], _feed_value(words, shape, (sel >> 5) % 3))
            else:
                it.set_tensor(d["index"], fill_value(shape, d["dtype"], payload, k))
        invoke_bounded(it)
        for d in it.get_output_details():
            it.get_tensor(d["index"])


def seeds() -> list[bytes]:
    words = [[b"a", b"bb", b""], [b"hello world", "\u00e9t\u00e9".encode(), b"x\x00y"], [b"\xff\xfe\x80", b"\xc3"],
             [b"<S> hello there how are you <E>"], [b"one", b"two", b"three", b"four"], [b"w" * 90, b"v" * 7]]
    out = []
    for k, w in enumerate(words):
        out.append(bytes([2 * k]) + strings.encode(w))
    bad = bytearray(strings.encode([b"ab", b"cde"]))
    struct.pack_into("<i", bad, 8, 1 << 20)
    out.append(bytes([0]) + bytes(bad))
    n_models = len(templates())
    for m in range(n_models):
        for k, w in enumerate(words[:3]):
            out.append(bytes([(2 * m + 1) % 256 | (k << 5) & 0xE0]) + SEP.join(w))
    return out


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    if not data:
        data = b"\0"
    sel, payload = data[0], data[1:]
    r = rng.random()
    if r < 0.1:
        return bytes([rng.randrange(256)]) + payload
    if sel % 2 == 0 and r < 0.4 and len(payload) >= 8:  # a count or an offset of the string buffer
        b = bytearray(payload)
        n = max(min(struct.unpack_from("<i", b)[0], (len(b) - 4) // 4), 0)
        p = 4 * rng.randrange(n + 2) if n + 2 <= len(b) // 4 else 0
        v = rng.choice((0, 1, -1, len(b), len(b) + 1, 4, 8, 2**31 - 1, -2**31, rng.randrange(len(b) + 8)))
        struct.pack_into("<i", b, min(p, len(b) - 4), v)
        return (data[:1] + bytes(b))[:max_size]
    if sel % 2 == 1 and r < 0.4:  # insert a separator or a non-UTF-8 byte run
        b = bytearray(payload)
        p = rng.randrange(len(b) + 1)
        b[p:p] = rng.choice((SEP, b"\xff", b"\xc3", b"\x00", b"\xed\xa0\x80", b" ", b"  x "))
        return (data[:1] + bytes(b))[:max_size]
    if r < 0.7:
        return data[:1] + libfuzzer_or_generic(payload, max(max_size - 1, 1), seed)
    return data[:1] + mutate_bytes(payload, rng, max(max_size - 1, 1))
