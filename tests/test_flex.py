"""numlite.flex: FlexBuffers custom_options, decoded with limits, and ctx.custom_options()."""

import numpy as np
import pytest
from flatbuffers import flexbuffers

import numlite
from numlite import Kernel
from numlite.builder import ModelBuilder
from numlite.flex import MAX_VALUES, FlexError, decode, decode_map, encode

VECTOR, INT = 10, 1  # FlexBuffers type codes


def test_round_trip_of_every_value_kind():
    value = {"i": -3, "big": 2**40, "f": 0.25, "b": True, "s": "fast", "n": None, "v": [1, 2.5, "x"],
             "m": {"k": [True, False]}, "blob": b"\x00\xff"}
    assert decode_map(encode(value)) == value
    assert decode(bytes(flexbuffers.Dumps([1, 2, 3]))) == [1, 2, 3]


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x01\x02", bytes(64), b"\xff" * 64])
def test_junk_is_a_flex_error(data):
    try:
        decode(data)
    except FlexError:
        pass


def test_random_mutations_never_escape_as_other_errors():
    rng = np.random.default_rng(0)
    base = bytearray(encode({"a": [1, 2, 3], "s": "abc", "m": {"x": 1.5}, "t": True}))
    for _ in range(2000):
        b = bytearray(base)
        for pos in rng.integers(0, len(b), 3):
            b[pos] = int(rng.integers(0, 256))
        try:
            decode(bytes(b))
        except FlexError:
            pass


def shared_vectors(fanout: int, depth: int) -> bytes:
    """A valid FlexBuffer of ``depth`` nested vectors whose ``fanout`` elements all refer to the
    same vector one level down: a few hundred bytes that expand to ``fanout ** depth`` values."""
    buf = bytearray([1, 7, INT << 2])  # level 0: [7] (length, value, type)
    start = 1
    for _ in range(depth):
        buf.append(fanout)  # length
        here = len(buf)
        for j in range(fanout):
            buf.append(here + j - start)  # offset back to the vector below
        buf += bytes([VECTOR << 2]) * fanout
        start = here
    root_at = len(buf)
    buf += bytes([root_at - start, VECTOR << 2, 1])
    return bytes(buf)


def test_shared_subvectors_do_not_expand_without_bound():
    small = shared_vectors(3, 2)
    assert decode(small) == [[[7]] * 3] * 3  # the construction is a valid FlexBuffer
    hostile = shared_vectors(50, 6)  # 50**6 = 1.6e10 values when expanded naively
    assert len(hostile) < 700
    with pytest.raises(FlexError, match=f"more than {MAX_VALUES} values|claims"):
        decode(hostile)


class Scale(Kernel):
    """A custom op reading its attributes from FlexBuffers custom_options."""

    def prepare(self, ctx):
        opts = ctx.custom_options()
        self.k, self.offset = float(opts.get("k", 1.0)), float(opts.get("offset", 0.0))
        x = ctx.input(0)
        ctx.set_output(0, x.shape, x.dtype)

    def bind(self, inputs, outputs, scratch):
        x, y, k, off = inputs[0], outputs[0], np.float32(self.k), np.float32(self.offset)

        def step():
            np.multiply(x, k, out=y)
            np.add(y, off, out=y)

        return step


def _model(options: bytes | None):
    mb = ModelBuilder()
    x = mb.input("x", (3,), np.float32)
    y = mb.tensor("y", (3,), np.float32)
    mb.op("custom:Scale", [x], [y], custom_options=options)
    mb.output(y)
    return mb.build()


def test_custom_op_reads_flexbuffers_options():
    it = numlite.Interpreter(model_content=_model(encode({"k": 2.0, "offset": 1})), custom_ops={"Scale": Scale})
    it.allocate_tensors()
    it.set_tensor(0, np.array([1, 2, 3], np.float32))
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), [3, 5, 7])


def test_custom_op_with_malformed_options_names_op_and_node():
    it = numlite.Interpreter(model_content=_model(b"\xff\x13\x07"), custom_ops={"Scale": Scale})
    with pytest.raises(RuntimeError, match=r"Scale \(node 0\): custom_options: "):
        it.allocate_tensors()
    it = numlite.Interpreter(model_content=_model(bytes(flexbuffers.Dumps([1, 2]))), custom_ops={"Scale": Scale})
    with pytest.raises(RuntimeError, match=r"Scale \(node 0\): custom_options: expected a FlexBuffers map"):
        it.allocate_tensors()
