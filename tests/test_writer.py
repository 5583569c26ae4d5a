"""The writer: read -> write -> read round-trips, and LiteRT runs what numlite writes.

The models use ops numlite may not have yet (CONV_2D, FULLY_CONNECTED, ...): the writer is
independent of the kernels, so LiteRT runs them and NumPy references check that every option
(enums, bools, negative ints, vectors, union members of both option unions) was written right.
"""

from __future__ import annotations

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter as LiteRT
from util import rand

import numlite
from numlite.builder import ModelBuilder
from numlite.graph import load_model
from numlite.schema.reader import read_model_table
from numlite.schema.writer import table_to_plain, write_model

# float tolerance: LiteRT's XNNPACK conv / FC sum in a different order than NumPy
RTOL, ATOL = 1e-5, 1e-5


def run_litert(m: bytes, feeds: list[np.ndarray]) -> list[np.ndarray]:
    it = LiteRT(model_content=m)
    it.allocate_tensors()
    for d, v in zip(it.get_input_details(), feeds):
        it.set_tensor(d["index"], v)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


# -- models: (bytes, feeds, numpy reference of the outputs) -----------------------------------

def m_add():
    mb = ModelBuilder()
    x = mb.input("x", (2, 3), np.float32, shape_signature=(-1, 3))
    c = mb.const("c", rand((3,), seed=1))
    y = mb.tensor("y", (2, 3), np.float32)
    mb.op("ADD", [x, c], [y], fused_activation_function="RELU_N1_TO_1")
    mb.output(y)
    mb.signature("serving_default", {"x": x}, {"y": y})
    mb.add_metadata("note", b"written by numlite")
    xv = rand((2, 3), seed=2, lo=-2, hi=2)
    return mb.build(), [xv], [np.clip(xv + rand((3,), seed=1), -1, 1)]


def m_add_int32():
    mb = ModelBuilder()
    a = mb.input("a", (2, 1, 4), np.int32)
    b = mb.input("b", (3, 1), np.int32)
    y = mb.tensor("y", (2, 3, 4), np.int32)
    mb.op("ADD", [a, b], [y], version=2)
    mb.output(y)
    av, bv = rand((2, 1, 4), np.int32, lo=-99, hi=99), rand((3, 1), np.int32, seed=5, lo=-99, hi=99)
    return mb.build(), [av, bv], [av + bv]


def m_conv():
    mb = ModelBuilder()
    x = mb.input("x", (1, 5, 5, 2), np.float32)
    w = rand((4, 3, 3, 2), seed=3)
    bias = rand((4,), seed=4)
    wi, bi = mb.const("w", w), mb.const("b", bias)
    y = mb.tensor("y", (1, 3, 3, 4), np.float32)
    mb.op("CONV_2D", [x, wi, bi], [y], padding="SAME", stride_w=2, stride_h=2,
          fused_activation_function="RELU6")
    mb.output(y)
    xv = rand((1, 5, 5, 2), seed=5, lo=-3, hi=3)
    xp = np.pad(xv, ((0, 0), (1, 1), (1, 1), (0, 0)))
    ref = np.zeros((1, 3, 3, 4), np.float32)
    for i in range(3):
        for j in range(3):
            patch = xp[0, 2 * i:2 * i + 3, 2 * j:2 * j + 3, :]
            ref[0, i, j] = np.einsum("hwc,ohwc->o", patch, w) + bias
    return mb.build(), [xv], [np.clip(ref, 0, 6)]


def m_fc_keep_dims():
    mb = ModelBuilder()
    x = mb.input("x", (2, 3, 4), np.float32)
    w = rand((5, 4), seed=6)
    wi = mb.const("w", w)
    y = mb.tensor("y", (2, 3, 5), np.float32)
    mb.op("FULLY_CONNECTED", [x, wi, -1], [y], keep_num_dims=True, fused_activation_function="RELU")
    mb.output(y)
    xv = rand((2, 3, 4), seed=7)
    return mb.build(), [xv], [np.maximum(xv @ w.T, 0)]


def m_quant_fc():
    # int8 weights per output channel, int32 bias, int8 activations: quantization tables
    mb = ModelBuilder()
    x = mb.input("x", (1, 4), np.int8, quantization={"scale": 0.5, "zero_point": 1})
    wq = np.array([[1, -2, 3, 4], [5, 6, -7, 8], [0, 1, 0, -1]], np.int8)
    ws = np.array([0.25, 0.125, 0.5], np.float32)
    wi = mb.const("w", wq, quantization={"scale": ws, "zero_point": 0, "quantized_dimension": 0})
    bi = mb.const("b", np.array([10, -20, 0], np.int32), quantization={"scale": ws * 0.5, "zero_point": 0})
    y = mb.tensor("y", (1, 3), np.int8, quantization={"scale": 1.0, "zero_point": -3})
    mb.op("FULLY_CONNECTED", [x, wi, bi], [y])
    mb.output(y)
    xv = np.array([[3, -5, 7, 1]], np.int8)
    real = ((xv.astype(np.float64) - 1) * 0.5) @ (wq * ws[:, None]).T.astype(np.float64) + [10 * .125, -20 * .0625, 0]
    ref = np.clip(np.round(real) - 3, -128, 127).astype(np.int8)
    return mb.build(), [xv], [ref]


def m_reshape_concat_slice():
    mb = ModelBuilder()
    x = mb.input("x", (2, 6), np.float32)
    r = mb.tensor("r", (3, 4), np.float32)
    mb.op("RESHAPE", [x], [r], new_shape=[3, 4])
    c = mb.const("c", rand((3, 2), seed=8))
    cat = mb.tensor("cat", (3, 6), np.float32)
    mb.op("CONCATENATION", [r, c], [cat], axis=-1)
    begin = mb.const("begin", np.array([0, 5], np.int32))
    end = mb.const("end", np.array([3, 0], np.int32))
    strides = mb.const("strides", np.array([2, -2], np.int32))
    s = mb.tensor("s", (2, 3), np.float32)
    mb.op("STRIDED_SLICE", [cat, begin, end, strides], [s], end_mask=1)
    axes = mb.const("axes", np.array([1], np.int32))
    mean = mb.tensor("mean", (2, 1), np.float32)
    mb.op("MEAN", [s, axes], [mean], keep_dims=True)
    mb.output(s, mean)
    xv = rand((2, 6), seed=9)
    catv = np.concatenate([xv.reshape(3, 4), rand((3, 2), seed=8)], axis=-1)
    sv = catv[0:3:2, 5:0:-2]
    return mb.build(), [xv], [sv, sv.mean(axis=1, keepdims=True)]


def m_two_subgraphs():
    mb = ModelBuilder()
    x = mb.input("x", (3,), np.float32)
    y = mb.tensor("y", (3,), np.float32)
    mb.op("ADD", [x, x], [y])
    mb.output(y)
    mb.signature("double", {"x": x}, {"y": y}, subgraph=0)
    mb.new_subgraph("second")
    a = mb.input("a", (2,), np.float32)
    k = mb.const("k", np.array([10, 20], np.float32))
    b = mb.tensor("b", (2,), np.float32)
    mb.op("ADD", [a, k], [b])
    mb.output(b)
    mb.signature("plus_k", {"a": a}, {"b": b}, subgraph=1)
    mb.use_subgraph(0)
    xv = rand((3,), seed=10)
    return mb.build(), [xv], [xv * 2]


def m_gelu():
    # a builtin code above 127 (deprecated_builtin_code is the 127 placeholder)
    mb = ModelBuilder()
    x = mb.input("x", (4,), np.float32)
    y = mb.tensor("y", (4,), np.float32)
    mb.op("GELU", [x], [y], approximate=True)
    mb.output(y)
    xv = np.array([-2, -0.5, 0.5, 2], np.float32)
    ref = 0.5 * xv * (1 + np.tanh(np.sqrt(2 / np.pi) * (xv + 0.044715 * xv**3)))
    return mb.build(), [xv], [ref.astype(np.float32)]


def m_stablehlo_pad():
    # an options table of the second union (BuiltinOptions2) with int64 vectors
    mb = ModelBuilder()
    x = mb.input("x", (2, 3), np.float32)
    pv = mb.const("pv", np.array(-1, np.float32))
    y = mb.tensor("y", (4, 7), np.float32)
    mb.op("STABLEHLO_PAD", [x, pv], [y], edge_padding_low=[1, 0], edge_padding_high=[0, 2],
          interior_padding=[1, 1])
    mb.output(y)
    xv = rand((2, 3), seed=11)
    ref = np.full((4, 7), -1, np.float32)
    ref[1::2, 0:5:2] = xv
    return mb.build(), [xv], [ref]


MODELS = {f.__name__[2:]: f for f in (m_add, m_add_int32, m_conv, m_fc_keep_dims, m_quant_fc,
                                       m_reshape_concat_slice, m_two_subgraphs, m_gelu, m_stablehlo_pad)}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_read_write_read_round_trip(name):
    data = MODELS[name]()[0]
    t1 = read_model_table(data)
    data2 = write_model(t1)
    t2 = read_model_table(data2)
    assert table_to_plain(t1) == table_to_plain(t2)
    assert write_model(t2) == data2  # a fixed point: rewriting changes nothing


@pytest.mark.parametrize("name", sorted(MODELS))
def test_litert_runs_what_numlite_writes(name):
    data, feeds, refs = MODELS[name]()
    rewritten = write_model(read_model_table(data))
    for m in (data, rewritten, write_model(read_model_table(data), external_data=True)):
        outs = run_litert(m, feeds)
        assert len(outs) == len(refs)
        for o, r in zip(outs, refs):
            assert o.shape == r.shape and o.dtype == np.asarray(r).dtype
            if np.issubdtype(o.dtype, np.floating):
                np.testing.assert_allclose(o, r, rtol=RTOL, atol=ATOL)
            else:
                np.testing.assert_array_equal(o, r)


@pytest.mark.parametrize("name", ["add", "add_int32", "two_subgraphs"])
def test_numlite_runs_what_it_writes(name):
    data, feeds, refs = MODELS[name]()
    for m in (data, write_model(read_model_table(data)), write_model(read_model_table(data), external_data=True)):
        it = numlite.Interpreter(model_content=m)
        it.allocate_tensors()
        for d, v in zip(it.get_input_details(), feeds):
            it.set_tensor(d["index"], v)
        it.invoke()
        for d, r in zip(it.get_output_details(), refs):
            np.testing.assert_allclose(it.get_tensor(d["index"]), r, rtol=1e-6, atol=1e-6)


def test_second_subgraph_signature_runs_on_litert():
    data = MODELS["two_subgraphs"]()[0]
    for m in (data, write_model(read_model_table(data))):
        lit = LiteRT(model_content=m)
        out = lit.get_signature_runner("plus_k")(a=np.array([1, 2], np.float32))
        np.testing.assert_array_equal(out["b"], [11, 22])


def test_external_data_layout():
    data = MODELS["conv"]()[0]
    ext = write_model(read_model_table(data), external_data=True)
    t = read_model_table(ext)
    fb_end = max(int(b.offset) for b in t.buffers if b.offset) - 1
    for b in t.buffers:
        if b.offset:
            assert b.offset % 16 == 0 and b.offset + b.size <= len(ext) and b.offset > 1
            assert b.data is None
    # same constants as the inline file, and the FlatBuffer part is smaller than the payloads
    inline, external = load_model(model_content=data), load_model(model_content=ext)
    for a, b in zip(inline.subgraphs[0].tensors, external.subgraphs[0].tensors):
        assert (a.data is None) == (b.data is None)
        if a.data is not None:
            np.testing.assert_array_equal(a.data, b.data)
    assert fb_end < len(ext)


def test_inline_buffers_are_16_byte_aligned():
    data = MODELS["conv"]()[0]
    m = load_model(model_content=data)
    base = np.frombuffer(data, np.uint8).ctypes.data
    for buf in m.buffer_data:
        if buf is not None:
            assert (buf.ctypes.data - base) % 16 == 0


def test_defaults_are_omitted_and_explicit_fields_kept():
    mb = ModelBuilder()
    x = mb.input("x", (2,), np.float32)
    y = mb.tensor("y", (2,), np.float32)
    mb.op("ADD", [x, x], [y], fused_activation_function="NONE", pot_scale_int16=False)
    mb.output(y)
    t = read_model_table(mb.build())
    opts = t.subgraphs[0].operators[0].builtin_options
    # NONE is the default (omitted, read back as the default); False is not (pot_scale_int16
    # defaults to true), so it must be written
    assert opts == {"fused_activation_function": 0, "pot_scale_int16": False}
    assert t.subgraphs[0].tensors[0].is_variable is False


def test_rewriting_a_model_with_external_buffers():
    data, feeds, refs = MODELS["conv"]()
    ext = write_model(read_model_table(data), external_data=True)
    t = read_model_table(ext)
    with pytest.raises(ValueError, match="source="):
        write_model(t)  # the payload offsets would point into the wrong file
    for external in (False, True):
        again = write_model(t, external_data=external, source=ext)
        if not external:
            assert table_to_plain(read_model_table(again)) == table_to_plain(read_model_table(data))
        np.testing.assert_allclose(run_litert(again, feeds)[0], refs[0], rtol=RTOL, atol=ATOL)
