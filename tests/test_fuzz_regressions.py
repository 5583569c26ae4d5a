"""Regression tests for what the fuzz campaign (fuzz/) found: each input rebuilt by code, with
the error numlite must give now (a documented one, naming what is wrong) instead of a crash."""

from __future__ import annotations

import numpy as np
import pytest
from test_strings import _string_model
from util import run_litert, run_numlite

import numlite


def test_set_tensor_of_a_str_with_lone_surrogates_is_a_plain_value_error():
    """fuzz_strings: a ``str`` that is not valid Unicode (lone surrogates, as ``surrogateescape``
    decoding makes from non-UTF-8 bytes) escaped set_tensor as UnicodeEncodeError; now a
    ValueError naming the element, as LiteRT's plain ValueError."""
    it = numlite.Interpreter(model_content=_string_model())
    it.allocate_tensors()
    idx = it.get_input_details()[0]["index"]
    for value in (np.array(["ok", "\udcff\udcfe"], object), np.array(["ok", "a\udc80b"])):
        with pytest.raises(ValueError, match="string element 1 .*UTF-8") as ei:
            it.set_tensor(idx, value)
        assert not isinstance(ei.value, UnicodeError)
    it.set_tensor(idx, np.array([b"\xff\xfe", "\u00e9".encode()], object))  # bytes: any values
    it.invoke()
    assert list(it.get_tensor(it.get_output_details()[0]["index"])) == [b"\xff\xfe", "\u00e9".encode()]


def _while_whose_body_output_nothing_writes() -> bytes:
    """i, x -> WHILE(i < 3: i + 1, <a tensor of the body that no op writes>)."""
    from numlite.builder import ModelBuilder

    mb = ModelBuilder()
    i, x = mb.input("i", (), np.int32), mb.input("x", (2,), np.float32)
    outs = [mb.tensor("i_out", (), np.int32), mb.tensor("x_out", (2,), np.float32)]
    mb.op("WHILE", [i, x], outs, cond_subgraph_index=1, body_subgraph_index=2)
    mb.output(*outs)
    mb.new_subgraph("cond")
    ci, _cx = mb.input("ci", (), np.int32), mb.input("cx", (2,), np.float32)
    cb = mb.tensor("cb", (), np.bool_)
    mb.op("LESS", [ci, mb.const("lim", np.array(3, np.int32))], [cb])
    mb.output(cb)
    mb.new_subgraph("body")
    bi, _bx = mb.input("bi", (), np.int32), mb.input("bx", (2,), np.float32)
    bio = mb.tensor("bio", (), np.int32)
    mb.op("ADD", [bi, mb.const("one", np.array(1, np.int32))], [bio])
    ghost = mb.tensor("ghost", (2,), np.float32)
    mb.output(bio, ghost)
    return mb.build()


def test_a_loop_body_output_that_nothing_writes_is_refused_at_prepare():
    """fuzz_control_flow: a WHILE body whose output tensor is neither an input, a constant nor
    any op's output has no data; the loop copied it (None) into its state and raised TypeError
    in the middle of invoke.  Now allocate_tensors refuses it, naming the subgraph and tensor."""
    it = numlite.Interpreter(model_content=_while_whose_body_output_nothing_writes())
    with pytest.raises(numlite.PrepareError, match=r"WHILE \(node 0\): output 1 of its body subgraph 2, "
                                                   r"tensor 4 'ghost', is never written"):
        it.allocate_tensors()


def test_a_string_tensor_read_but_never_written_holds_empty_strings():
    """fuzz_control_flow: a string tensor that an op reads but nothing writes (not an input, a
    constant or any op's output; here HASHTABLE_FIND's keys, once the graph input was dropped) had
    no array, and the kernel raised AttributeError on None mid-invoke.  Such a numeric tensor gets
    an arena slot; a string one now holds empty strings (the table's default comes back)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fuzz"))
    from _flatbuf import decode, encode
    from test_control_flow import table_model

    model = decode(table_model(np.object_, np.int64, np.array([b"a", b"bb"], object), np.array([1, 2], np.int64), -1))
    model["subgraphs"][0]["inputs"] = []  # q: read by HASHTABLE_FIND, written by nobody
    it = numlite.Interpreter(model_content=encode(model))
    it.allocate_tensors()
    it.invoke()
    got = [it.get_tensor(d["index"]) for d in it.get_output_details()]
    assert got[0].tolist() == [-1, -1, -1]


def _without_options(model: bytes, op_name: str) -> bytes:
    """``model`` with the options table of its (first) ``op_name`` op removed."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fuzz"))
    from _flatbuf import decode, encode

    from numlite.graph import BUILTIN_CODES

    m = decode(model)
    code = BUILTIN_CODES[op_name]
    for op in m["subgraphs"][0]["operators"]:
        c = m["operator_codes"][op["opcode_index"]]
        if max(c["builtin_code"], c["deprecated_builtin_code"]) == code:
            for field in ("builtin_options", "builtin_options_2"):
                op[field], op[field + "_type"] = None, 0
            return encode(m)
    raise AssertionError(f"no {op_name} in the model")


def _composite() -> bytes:
    from numlite.builder import ModelBuilder

    mb = ModelBuilder()
    x = mb.input("x", (2, 3), np.float32)
    o = mb.tensor("o", (2, 3), np.float32)
    mb.op("STABLEHLO_COMPOSITE", [x], [o], options_table="StableHLOCompositeOptions", name="odml.double",
          decomposition_subgraph_index=1, composite_attributes=np.zeros(0, np.uint8), version=1)
    mb.output(o)
    mb.new_subgraph("decomposition")
    a = mb.input("a", (2, 3), np.float32)
    b = mb.tensor("b", (2, 3), np.float32)
    mb.op("ADD", [a, a], [b])
    mb.output(b)
    return mb.build()


def test_a_control_flow_op_without_options_does_not_recurse_into_subgraph_0():
    """fuzz_control_flow: a STABLEHLO_COMPOSITE without its options table passed the loader's
    call-cycle check (no subgraph named) but its kernel called subgraph 0 (the schema default), the
    main graph itself: RecursionError at allocate_tensors.  The loader now reads absent subgraph
    indices as 0, as the kernels do, and refuses the cycle; preparing a subgraph that is already
    being prepared is refused too (naming the op and the path), should any call escape the loader."""
    want = r"STABLEHLO_COMPOSITE \(node 0\) of subgraph 0 calls subgraph 0.*cycle"
    with pytest.raises(numlite.ModelError, match=want):
        numlite.Interpreter(model_content=_without_options(_composite(), "STABLEHLO_COMPOSITE"))


def _bilinear(out_h: int, out_w: int) -> tuple[bytes, np.ndarray]:
    from flatbuffers import flexbuffers
    from test_mediapipe_ops import custom_model
    from util import In, Out

    m = np.array([[0.01, 0.002, 0, 0.3], [-0.003, 0.02, 0, -0.2], [0, 0, 1, 0], [0, 0, 0, 1]], np.float32)[None]
    model = custom_model("TransformTensorBilinear", [In((1, 4, 4, 2)), m], [Out((1, 3, 3, 2))],
                         bytes(flexbuffers.Dumps({"output_height": out_h, "output_width": out_w})))
    return model, np.arange(32, dtype=np.float32).reshape(1, 4, 4, 2)


def _run_bilinear(model: bytes, x: np.ndarray) -> np.ndarray:
    import numlite.custom.mediapipe as mp

    it = numlite.Interpreter(model_content=model, custom_ops=mp.OPS)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def test_transform_tensor_bilinear_samples_big_outputs_in_bounded_memory(monkeypatch):
    """fuzz_flex: TransformTensorBilinear options asking for a 2097168 x 12 output (201 MB) took
    the process past 3 GB: the kernel kept float32 pixel grids from prepare and made a dozen
    float64 / int64 temporaries of the whole output.  It now samples blocks of pixels; results
    are the same for any block size, and the peak stays near the output's own size."""
    import tracemalloc

    import numlite.custom.mediapipe as mp

    model, x = _bilinear(4099, 12)
    want = _run_bilinear(model, x)
    monkeypatch.setattr(mp, "BILINEAR_BLOCK_VALUES", 7)  # blocks of 3 pixels, a ragged last one
    np.testing.assert_array_equal(_run_bilinear(model, x), want)
    monkeypatch.setattr(mp, "BILINEAR_BLOCK_VALUES", 1 << 12)
    big, x = _bilinear(1 << 15, 16)
    tracemalloc.start()
    try:
        out = _run_bilinear(big, x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.shape == (1, 1 << 15, 16, 2) and np.isfinite(out).all() and out.any()
    assert peak < 3 * out.nbytes + (4 << 20), (peak, out.nbytes)  # arena + the copy get_tensor returns


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan, 3e38])
def test_hybrid_fully_connected_fed_a_non_finite_input_row(bad):
    """fuzz_quantize: a hybrid (dynamic-range) FULLY_CONNECTED fed a row holding inf / NaN, or
    values whose range overflows float32, raised ValueError('cannot convert float NaN to integer')
    quantizing that row.  LiteRT casts the NaN zero point to int (undefined behaviour in C++: +-inf
    or arbitrary finite values come out); numlite gives NaN for that row's outputs, and the other
    rows are unaffected (equal to LiteRT's within float32 summation order)."""

    from numlite.builder import ModelBuilder
    from numlite.quantize_weights import quantize_dynamic_range

    rng = np.random.default_rng(7)
    for batch in (1, 3):
        mb = ModelBuilder()
        x = mb.input("x", (batch, 64), np.float32)
        y = mb.tensor("y", (batch, 32), np.float32)
        mb.op("FULLY_CONNECTED", [x, mb.const("w", rng.normal(size=(32, 64)).astype(np.float32)),
                                  mb.const("b", np.zeros(32, np.float32))], [y], asymmetric_quantize_inputs=True)
        mb.output(y)
        model = quantize_dynamic_range(mb.build(), min_elements=16)
        v = rng.normal(size=(batch, 64)).astype(np.float32)
        v[0, 3] = bad
        if bad == 3e38:
            v[0, 4] = -3e38
        (ours,), (theirs,) = run_numlite(model, [v]), run_litert(model, [v])
        assert not np.isfinite(ours[0]).any()
        np.testing.assert_allclose(ours[1:], theirs[1:], rtol=1e-5, atol=1e-5)


def test_a_tensor_two_ops_write_with_different_types_is_refused_at_prepare():
    """fuzz_quantize: CUMSUM wrote tensor t as int32 and a later GATHER wrote it as float32; both
    were planned into one arena slot, and invoke raised NumPy's UFuncTypeError (a TypeError).
    Writers that disagree are a PrepareError naming both nodes; writers that agree run as in
    LiteRT (the last one wins)."""

    from numlite.builder import ModelBuilder

    mb = ModelBuilder()
    tok = mb.input("tokens", (1, 6), np.int32)
    t = mb.tensor("t", (1, 6), np.int32)
    mb.op("CUMSUM", [tok, mb.const("axis", np.array(1, np.int32))], [t], exclusive=False, reverse=False)
    d = mb.tensor("d", (1, 6), np.int32)
    mb.op("SUB", [t, mb.const("one", np.array(1, np.int32))], [d])
    mb.op("GATHER", [mb.const("table", np.ones((20, 6), np.float32)), d], [t], axis=0, batch_dims=0)
    mb.output(d)
    it = numlite.Interpreter(model_content=mb.build())
    want = r"GATHER \(node 2\) writes tensor 1 't' as float32\[1, 6, 6\], but CUMSUM \(node 0\) already writes"
    with pytest.raises(numlite.PrepareError, match=want):
        it.allocate_tensors()

    mb = ModelBuilder()
    x = mb.input("x", (3,), np.float32)
    t = mb.tensor("t", (3,), np.float32)
    mb.op("ADD", [x, x], [t])
    mb.op("MUL", [x, x], [t])
    y = mb.tensor("y", (3,), np.float32)
    mb.op("NEG", [t], [y])
    mb.output(y)
    model = mb.build()
    feeds = [np.array([1, 2, 3], np.float32)]
    outs = [run_numlite(model, feeds)[0], run_litert(model, feeds)[0]]
    np.testing.assert_array_equal(outs[0], [-1, -4, -9])
    np.testing.assert_array_equal(outs[0], outs[1])


@pytest.mark.parametrize("batch", [1, 2])
def test_hybrid_fully_connected_with_a_subnormal_input_range(batch):
    """fuzz_quantize (campaign): a row whose range is a few float32 subnormals gives a scale
    that underflows float32 to 0; the one-row path divided by it (ZeroDivisionError).  As in
    LiteRT, the inverse scale is then 0."""

    from numlite.builder import ModelBuilder
    from numlite.quantize_weights import quantize_dynamic_range

    rng = np.random.default_rng(3)
    mb = ModelBuilder()
    x = mb.input("x", (batch, 16), np.float32)
    y = mb.tensor("y", (batch, 8), np.float32)
    mb.op("FULLY_CONNECTED", [x, mb.const("w", rng.normal(size=(8, 16)).astype(np.float32)),
                              mb.const("b", np.arange(8, dtype=np.float32))], [y], asymmetric_quantize_inputs=True)
    mb.output(y)
    model = quantize_dynamic_range(mb.build(), min_elements=16)
    v = np.zeros((batch, 16), np.float32)
    v[:, 3] = np.float32(1e-45)  # the smallest subnormal: (max - min) / 255 underflows
    outs = [run_numlite(model, [v])[0], run_litert(model, [v])[0]]
    np.testing.assert_array_equal(outs[0], outs[1])


def test_an_op_writing_a_graph_input_with_another_type_is_refused_at_prepare():
    """fuzz_control_flow (campaign): a WHILE listed an int32 graph input among its outputs for a
    float32 loop variable; the loop copied float32 state into the int32 input's buffer (NumPy's
    casting TypeError mid-invoke).  A subgraph input is written by its caller: an op that writes
    it with another type or shape is a PrepareError naming both."""
    from numlite.builder import ModelBuilder

    mb = ModelBuilder()
    i = mb.input("i", (), np.int32)
    f = mb.input("f", (3,), np.float32)
    io = mb.tensor("io", (), np.int32)
    mb.op("WHILE", [i, f], [io, i], cond_subgraph_index=1, body_subgraph_index=2)  # loop variable 1 -> 'i'
    mb.output(io)
    mb.new_subgraph("cond")
    ci = mb.input("ci", (), np.int32)
    mb.input("cf", (3,), np.float32)
    cb = mb.tensor("cb", (), np.bool_)
    mb.op("LESS", [ci, mb.const("lim", np.array(3, np.int32))], [cb])
    mb.output(cb)
    mb.new_subgraph("body")
    bi = mb.input("bi", (), np.int32)
    bf = mb.input("bf", (3,), np.float32)
    bio = mb.tensor("bio", (), np.int32)
    mb.op("ADD", [bi, mb.const("one", np.array(1, np.int32))], [bio])
    mb.output(bio, bf)
    it = numlite.Interpreter(model_content=mb.build())
    want = r"WHILE \(node 0\) writes tensor 0 'i' as float32\[3\], but the subgraph's caller \(it is an input\)"
    with pytest.raises(numlite.PrepareError, match=want):
        it.allocate_tensors()


def test_a_tensor_nothing_writes_reads_as_zeros_with_and_without_preserve_all_tensors():
    """fuzz_quantize (campaign, a timeout): a WHILE's cond compared against a tensor that nothing
    writes (not an input, a constant or any op's output).  Its arena slot was shared with another
    tensor, so it read that tensor's values - a loop bound of 0 in the plain run, a long loop in
    the quantizer's calibration, which preserves every tensor.  Such a tensor now has a slot of
    its own for the whole run: zeros, the same with experimental_preserve_all_tensors (LiteRT
    reads whatever its arena holds)."""
    from numlite.builder import ModelBuilder

    mb = ModelBuilder()
    i = mb.input("i", (4,), np.int32)
    t1 = mb.tensor("t1", (4,), np.int32)
    mb.op("ADD", [i, mb.const("five", np.full(4, 5, np.int32))], [t1])
    t2 = mb.tensor("t2", (4,), np.int32)
    mb.op("NEG", [t1], [t2])
    u = mb.tensor("u", (4,), np.int32)  # read, never written
    o = mb.tensor("o", (4,), np.int32)
    mb.op("ADD", [t2, u], [o])
    mb.output(o)
    model = mb.build()
    for preserve in (False, True):
        it = numlite.Interpreter(model_content=model, experimental_preserve_all_tensors=preserve)
        it.allocate_tensors()
        it.set_tensor(0, np.arange(4, dtype=np.int32))
        for _ in range(2):
            it.invoke()
            np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), [-5, -6, -7, -8])


@pytest.mark.parametrize("op", ["RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"])
@pytest.mark.parametrize("dtype", [np.float32, np.uint8, np.int8])
def test_resizing_an_image_without_pixels_is_refused_at_prepare(op, dtype):
    """fuzz_invoke (campaign): a RESIZE_BILINEAR of a (1, 3, 0, 2) input into 5x4 raised NumPy's
    IndexError ("cannot do a non-empty take from an empty axes") mid-invoke."""
    from util import In, Out, single_op_model

    quant = None if dtype == np.float32 else {"scale": [0.5], "zero_point": [0]}
    model = single_op_model(op, [In((1, 3, 0, 2), dtype, quant=quant), np.array([5, 4], np.int32)],
                            Out((1, 5, 4, 2), dtype, quant=quant))
    it = numlite.Interpreter(model_content=model)
    with pytest.raises(numlite.PrepareError, match=r"has no pixels \(height or width 0\) to resize into 5x4"):
        it.allocate_tensors()


def test_an_op_listing_one_tensor_twice_among_its_outputs_is_refused_at_load():
    """fuzz_control_flow (campaign): WHERE (3,) -> (1, 1) raised AttributeError mid-invoke (its
    dynamic output holder and the plain array of the same tensor were confused)."""
    from numlite.builder import ModelBuilder

    mb = ModelBuilder()
    c = mb.input("c", (3,), np.bool_)
    o = mb.tensor("o", (0, 1), np.int64, shape_signature=(-1, 1))
    mb.op("WHERE", [c], [o, o])
    mb.output(o)
    with pytest.raises(numlite.ModelError, match=r"operator 0 \(WHERE\) lists one tensor twice among its outputs"):
        numlite.Interpreter(model_content=mb.build())


def test_a_variable_computed_as_another_type_than_its_initial_values_is_refused():
    """fuzz_control_flow (campaign): a WHILE wrote an int32 loop variable into a variable tensor
    holding float32 initial values; resetting the variable raised NumPy's casting TypeError."""
    from numlite.builder import ModelBuilder

    mb = ModelBuilder()
    i = mb.input("i", (), np.int32)
    v = mb.const("v", np.zeros((), np.float32), is_variable=True)
    mb.op("WHILE", [i], [v], cond_subgraph_index=1, body_subgraph_index=2)
    mb.output(v)
    mb.new_subgraph("cond")
    ci = mb.input("ci", (), np.int32)
    cb = mb.tensor("cb", (), np.bool_)
    mb.op("LESS", [ci, mb.const("lim", np.array(3, np.int32))], [cb])
    mb.output(cb)
    mb.new_subgraph("body")
    bi = mb.input("bi", (), np.int32)
    bo = mb.tensor("bo", (), np.int32)
    mb.op("ADD", [bi, mb.const("one", np.array(1, np.int32))], [bo])
    mb.output(bo)
    it = numlite.Interpreter(model_content=mb.build())
    with pytest.raises(numlite.PrepareError, match=r"variable tensor 1 'v' holds FLOAT32 initial values but its ops "
                                                   r"compute it as int32"):
        it.allocate_tensors()


def _range_model(dtype, limit_const=None) -> bytes:
    """RANGE(0, limit, 1) with ``limit`` an input (or a constant)."""
    from numlite.builder import ModelBuilder

    mb = ModelBuilder()
    limit = mb.input("limit", (), dtype) if limit_const is None else mb.const("limit", np.array(limit_const, dtype))
    y = mb.tensor("y", (0,), dtype)
    mb.op("RANGE", [mb.const("start", np.array(0, dtype)), limit, mb.const("delta", np.array(1, dtype))], [y])
    if limit_const is not None:
        x = mb.input("x", (1,), dtype)
        z = mb.tensor("z", (1,), dtype)
        mb.op("ADD", [x, mb.const("zero", np.zeros(1, dtype))], [z])
        mb.output(z)
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize("dtype, limit", [(np.float32, 2.9e12), (np.int64, 1 << 40), (np.int32, 2**31 - 1)])
def test_a_range_larger_than_memory_is_refused_by_name(monkeypatch, dtype, limit):
    """fuzz_invoke: a RANGE whose limit input was mutated to 2.9e12 raised MemoryError ('Unable to
    allocate 10.5 TiB') from np.arange; sizes the OS grants lazily would have had the process killed
    when written.  Outputs that input values size are now checked before they are allocated
    (ops.base.check_alloc): more than the memory available now is a RuntimeError naming the op."""
    from numlite import executor

    monkeypatch.setattr(executor, "memory_available", lambda: 256 << 20)  # int32's 8 GiB: over it too
    it = numlite.Interpreter(model_content=_range_model(dtype))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], np.array(limit, dtype))
    with pytest.raises(RuntimeError, match=r"RANGE \(node 0\): output shape \[\d+\] needs \d+ bytes, more than"):
        it.invoke()
    it.set_tensor(it.get_input_details()[0]["index"], np.array(5, dtype))  # and it works again after
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), np.arange(5, dtype=dtype))
    with pytest.raises(numlite.PrepareError, match=r"RANGE \(node 0\): output shape .* needs"):
        numlite.Interpreter(model_content=_range_model(dtype, limit)).allocate_tensors()


def test_a_memory_error_from_a_dynamic_output_names_the_op(monkeypatch):
    """Where a kernel's output still cannot be allocated (other processes took the memory after the
    check), the MemoryError becomes a RuntimeError naming the op and node, as the arena's does."""
    import numlite.ops.range as range_op

    monkeypatch.setattr(range_op, "check_alloc", lambda *a: None)
    it = numlite.Interpreter(model_content=_range_model(np.float32))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], np.array(2.9e15, np.float32))  # 11.6 PB: fails at once
    with pytest.raises(RuntimeError, match=r"RANGE \(node 0\): cannot allocate its output") as ei:
        it.invoke()
    assert not isinstance(ei.value, MemoryError)
