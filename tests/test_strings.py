"""String tensors: TFLite's string-buffer format, malformed buffers, and the LiteRT API for strings."""

import numpy as np
import pytest

import numlite
from numlite import strings
from numlite.builder import ModelBuilder


def test_encode_decode_round_trip():
    values = [b"", b"a", "w\u00f6rld", b"\x00\xff", b"x" * 1000]
    raw = strings.encode(values)
    n = len(values)
    assert int.from_bytes(raw[:4], "little") == n
    assert int.from_bytes(raw[4:8], "little") == 4 * (n + 2)  # first string right after the header
    out = strings.decode(raw, n, "t")
    assert out.tolist() == [b"", b"a", "w\u00f6rld".encode(), b"\x00\xff", b"x" * 1000]
    assert out.dtype == object and not out.flags.writeable
    assert strings.decode(strings.encode([]), 0, "t").shape == (0,)


def _corrupt(raw: bytes, offset: int, value: int) -> bytes:
    b = bytearray(raw)
    b[offset:offset + 4] = int(value).to_bytes(4, "little", signed=True)
    return bytes(b)


@pytest.mark.parametrize("case,fragment", [
    ("short", "fewer than its 4-byte string count"),
    ("count", "holds 5 strings"),
    ("header", "shorter than the"),
    ("past_end", "offsets outside"),
    ("decreasing", "offsets outside"),
    ("into_header", "offsets outside"),
    ("negative", "offsets outside"),
])
def test_malformed_buffers_are_model_errors(case, fragment):
    raw = strings.encode([b"ab", b"cde"])  # count 2, offsets at 4, 8, 12; data from 16
    bad, count = {
        "short": (raw[:3], 2),
        "count": (_corrupt(raw, 0, 5), 2),
        "header": (raw[:10], 2),
        "past_end": (_corrupt(raw, 12, 999), 2),
        "decreasing": (_corrupt(raw, 8, 17 + 10), 2),
        "into_header": (_corrupt(raw, 4, 2), 2),
        "negative": (_corrupt(raw, 4, -8), 2),
    }[case]
    with pytest.raises(numlite.ModelError, match=fragment):
        strings.decode(bad, count, "subgraph 0 tensor 3 ('s')")


def _string_model(const_raw: bytes | None = None) -> bytes:
    mb = ModelBuilder()
    x = mb.input("x", (2,), np.object_)
    y = mb.tensor("y", (2,), np.object_)
    mb.op("RESHAPE", [x, mb.const("shape", np.array([2], np.int32))], [y])
    c = mb.const("c", np.array([b"ab", b"cde"], object))
    mb.output(y, c)
    model = mb.build()
    if const_raw is not None:  # swap the constant's encoded bytes for others of the same length
        good = strings.encode([b"ab", b"cde"])
        assert model.count(good) == 1 and len(const_raw) == len(good)
        model = model.replace(good, const_raw)
    return model


def test_a_model_with_a_malformed_string_constant_fails_to_load():
    good = strings.encode([b"ab", b"cde"])
    numlite.Interpreter(model_content=_string_model(good))
    with pytest.raises(numlite.ModelError, match=r"tensor \d+ \('c'\).*offsets outside"):
        numlite.Interpreter(model_content=_string_model(_corrupt(good, 12, 10**6)))
    with pytest.raises(numlite.ModelError, match=r"\('c'\) is a string tensor of 2 elements, but its buffer holds 7"):
        numlite.Interpreter(model_content=_string_model(_corrupt(good, 0, 7)))


def test_set_and_get_strings_as_litert_does():
    it = numlite.Interpreter(model_content=_string_model())
    it.allocate_tensors()
    d = it.get_input_details()[0]
    assert d["dtype"] is np.bytes_
    for value in (np.array([b"x", b"yz"], object), np.array(["x", "yz"]), np.array([b"x", b"yz"]), [b"x", "yz"]):
        it.set_tensor(d["index"], value)
        it.invoke()
        out = it.get_tensor(it.get_output_details()[0]["index"])
        assert out.dtype == object and out.tolist() == [b"x", b"yz"]
    assert it.get_tensor(it.get_output_details()[1]["index"]).tolist() == [b"ab", b"cde"]
    with pytest.raises(ValueError, match="Dimension mismatch"):
        it.set_tensor(d["index"], np.array([b"x"], object))
    with pytest.raises(ValueError, match="expected type STRING"):
        it.set_tensor(d["index"], np.array([1, 2], object))
    given = np.array(["x", "yz"])
    it.set_tensor(d["index"], given)
    assert given.tolist() == ["x", "yz"]  # the caller's array is not modified
