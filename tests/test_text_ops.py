"""Text and string forms of builtin ops against LiteRT 2.3: SKIP_GRAM, string values in
HASHTABLE_LOOKUP, string inputs of LSH_PROJECTION, strings in EQUAL / NOT_EQUAL and GATHER_ND.

String results are compared exactly (shape, dtype ``object``, every ``bytes`` value).  LiteRT's
Python ``set_tensor`` mishandles 0-d object arrays (it stores a pointer's bytes), so LiteRT gets
rank-0 strings as NumPy ``S`` arrays.
"""

from __future__ import annotations

import numpy as np
import pytest
from util import Const, In, Out, run_litert, run_numlite, single_op_model

import numlite
from numlite.builder import ModelBuilder
from numlite.ops.base import PrepareError
from numlite.ops.registry import supported_builtins
from numlite.ops.skip_gram import skip_grams, split_words
from numlite.strings import encode


def strs(values, shape=None) -> np.ndarray:
    arr = np.empty(len(values), object)
    arr[:] = [v.encode() if isinstance(v, str) else v for v in values]
    return arr.reshape(shape if shape is not None else (len(values),))


def litert_feed(v: np.ndarray) -> np.ndarray:
    if v.dtype == object and v.ndim == 0:
        return np.array(v.item(), dtype="S")
    return v


def both(model: bytes, feeds: list) -> list[np.ndarray]:
    """Run on numlite and LiteRT; outputs must be equal (shape, dtype, values)."""
    ours = run_numlite(model, feeds)
    theirs = run_litert(model, [litert_feed(v) for v in feeds])
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert (a.shape, a.dtype) == (b.shape, b.dtype), f"output {k}: {a.shape} {a.dtype}, LiteRT {b.shape} {b.dtype}"
        assert a.tolist() == b.tolist(), f"output {k}: {a.tolist()} != LiteRT {b.tolist()}"
    return ours


# --- SKIP_GRAM ---------------------------------------------------------------------------------
SENTENCES = [b"<S> hello there how are you <E>", b"a b", b"one", b" lead x y", b" ab", b" ", b"  ", b"a b ",
             b"a  b\tc\nd e", b"", b"x y z w v u t s", b"\x0ba\x0bb\x1cc d\x85e",
             "h\u00e9llo w\u00f6rld \u00a0x".encode(), b"a\x00b c",
             b"tab\tsep\rcr\fff\vvt end", b"the quick brown fox jumps over the lazy dog again"]
OPTIONS = [(3, 2, True), (2, 0, False), (1, 1, True), (1, 0, False), (4, 3, True), (3, 1, False), (2, -1, True),
           (3, -1, False), (0, 1, True), (-2, 0, True), (5, 0, True)]


def skip_gram_model(shape=(1,), ngram=2, skip=1, include=False, version=1, const=None) -> bytes:
    mb = ModelBuilder()
    x = mb.const("x", const) if const is not None else mb.input("x", shape, np.object_)
    y = mb.tensor("y", (0,), np.object_)
    mb.op("SKIP_GRAM", [x], [y], version=version, options_table="SkipGramOptions", ngram_size=ngram,
          max_skip_size=skip, include_all_ngrams=include)
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize("ngram, skip, include", OPTIONS)
def test_skip_gram_matches_litert(ngram, skip, include):
    m = skip_gram_model(ngram=ngram, skip=skip, include=include)
    for sentence in SENTENCES:
        out = both(m, [strs([sentence])])[0]
        assert out.tolist() == skip_grams(sentence, ngram, skip, include)


def test_skip_gram_reads_the_first_string_of_any_shape():
    for shape, values in (((), [b"a b c"]), ((2, 2), [b"p q r", b"x y", b"", b"z"]), ((3,), [b"", b"a b", b"c"])):
        m = skip_gram_model(shape=shape, ngram=2, skip=1, include=True)
        both(m, [strs(values, shape)])


def test_skip_gram_one_model_many_lengths():
    """The output length changes from invoke to invoke (a dynamic output)."""
    m = skip_gram_model(ngram=2, skip=1, include=True)
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    for sentence in (b"a b c d", b"", b"x", b"a b c d", b"one two"):
        it.set_tensor(0, strs([sentence]))
        it.invoke()
        assert it.get_tensor(it.get_output_details()[0]["index"]).tolist() == skip_grams(sentence, 2, 1, True)


def test_skip_gram_constant_input_is_folded():
    m = skip_gram_model(ngram=2, skip=0, const=strs([b"x y z"]))
    assert both(m, [])[0].tolist() == [b"x y", b"y z"]
    m = skip_gram_model(ngram=2, skip=0, const=np.array(b"u v", object))
    assert both(m, [])[0].tolist() == [b"u v"]


def test_skip_gram_words_and_order():
    assert split_words(b"a  b\tc") == [b"a", b"b", b"c"]
    assert split_words(b" ab cd") == [b"cd"] and split_words(b" ab") == [b" ab"] and split_words(b" ") == [b" "]
    assert skip_grams(b"a b c", 2, 1, True) == [b"a b", b"a c", b"a", b"b c", b"b", b"c"]
    assert skip_grams(b"a b c d", 3, 0, False) == [b"a b c", b"b c d"]


def test_skip_gram_versions_and_errors():
    assert supported_builtins()["SKIP_GRAM"] == [1]
    with pytest.raises(numlite.UnsupportedOpError, match="SKIP_GRAM version 2"):
        numlite.Interpreter(model_content=skip_gram_model(version=2))
    m = skip_gram_model(shape=(0,))
    with pytest.raises(PrepareError, match=r"SKIP_GRAM \(node 0\): input tensor 0 'x' \(object\[0\]\) has no strings"):
        numlite.Interpreter(model_content=m).allocate_tensors()
    m = single_op_model("SKIP_GRAM", [In((1,), np.int32)], Out((0,), np.object_), options_table="SkipGramOptions",
                        ngram_size=2)
    with pytest.raises(PrepareError, match=r"SKIP_GRAM \(node 0\): input tensor 0 .*int32"):
        numlite.Interpreter(model_content=m).allocate_tensors()
    it = numlite.Interpreter(model_content=skip_gram_model())
    it.resize_tensor_input(0, [0])
    with pytest.raises(PrepareError, match="has no strings"):
        it.allocate_tensors()


# --- HASHTABLE_LOOKUP with string values ---------------------------------------------------------
def lookup_model(n, keys, values, vdt=np.object_):
    return single_op_model("HASHTABLE_LOOKUP", [In((n,), np.int32), Const(np.asarray(keys, np.int32)),
                                                Const(values)], [Out((n,), vdt), Out((n,), np.uint8)])


@pytest.mark.parametrize("keys, values, look", [
    ([1, 3, 7], [b"one", b"three", b"seven"], [3, 2, 7, 1, 8, 0, -1]),
    ([-5, 0, 9, 100, 2**31 - 1], [b"", "f\u00fcnf".encode(), b"x" * 300, b"a\x00b", b"max"], [2**31 - 1, 9, 0, 1, -5]),
    ([4], [b"only"], [4, 4, 5]),
    ([4, 6], [b"four", b"six"], []),
])
def test_hashtable_lookup_strings(keys, values, look):
    m = lookup_model(len(look), keys, strs(values))
    out, hits = both(m, [np.asarray(look, np.int32)])
    table = dict(zip(keys, values))
    assert out.tolist() == [table.get(k, b"") for k in look]
    assert hits.tolist() == [int(k in table) for k in look]


def test_hashtable_lookup_strings_from_an_input():
    """String values fed at run time; the same interpreter invoked twice with other values."""
    m = single_op_model("HASHTABLE_LOOKUP", [In((3,), np.int32), Const(np.array([2, 4], np.int32)),
                                             In((2,), np.object_)], [Out((3,), np.object_), Out((3,), np.uint8)])
    both(m, [np.array([4, 3, 2], np.int32), strs([b"two", b"four"])])
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    for vals in ([b"a", b"b"], [b"cc", b""]):
        it.set_tensor(0, np.array([4, 3, 2], np.int32))
        it.set_tensor(2, strs(vals))
        it.invoke()
        assert it.get_tensor(it.get_output_details()[0]["index"]).tolist() == [vals[1], b"", vals[0]]


def test_hashtable_lookup_no_lookups_numeric():
    m = lookup_model(0, [1, 2], np.ones((2, 3), np.float32), np.float32)
    out, hits = both(m, [np.zeros(0, np.int32)])
    assert out.shape == (0, 3) and hits.shape == (0,)


def test_hashtable_lookup_errors():
    m = single_op_model("HASHTABLE_LOOKUP", [In((2,), np.int32), Const(np.array([1, 2], np.int32)),
                                             Const(strs([b"a", b"b", b"c", b"d"], (2, 2)))],
                        [Out((2,), np.object_), Out((2,), np.uint8)])
    with pytest.raises(PrepareError, match=r"HASHTABLE_LOOKUP \(node 0\): string values tensor 2 .* rank 1"):
        numlite.Interpreter(model_content=m).allocate_tensors()
    with pytest.raises(RuntimeError):
        run_litert(m, [np.array([1, 2], np.int32)])
    m = lookup_model(2, np.zeros(0, np.int32), np.zeros((0, 2), np.float32), np.float32)
    with pytest.raises(PrepareError, match=r"HASHTABLE_LOOKUP \(node 0\): keys tensor 1 .* are empty"):
        numlite.Interpreter(model_content=m).allocate_tensors()
    with pytest.raises(RuntimeError, match="num_rows != 0"):
        run_litert(m, [np.array([1, 2], np.int32)])
    m = lookup_model(2, [1, 2], strs([b"a", b"b"]), np.float32)
    with pytest.raises(PrepareError, match="must have the values' type object"):
        numlite.Interpreter(model_content=m).allocate_tensors()


# --- LSH_PROJECTION with string inputs -----------------------------------------------------------
def lsh_model(seeds, in_shape, kind, weight=False, in_dtype=np.object_):
    ins = [Const(seeds), In(in_shape, in_dtype)]
    if weight:
        ins.append(In((in_shape[0] if in_shape else 1,), np.float32))
    return single_op_model("LSH_PROJECTION", ins, Out((), np.int32), options_table="LSHProjectionOptions", type=kind)


@pytest.mark.parametrize("kind", [1, 2])
@pytest.mark.parametrize("weight", [False, True])
@pytest.mark.parametrize("values, shape", [
    ([b"hello", b"a", b"longer string here"], (3,)),
    ([b"x"], (1,)),
    ([b"", b""], (2,)),
    ([b"ab", b"cde", b"f", b"", b"ghij", "\u4f60\u597d".encode()], (3, 2)),
    ([b"w" * 90, b"v" * 7], (2,)),
    ([b"q" * 10] * 9, (9,)),
])
def test_lsh_projection_strings(kind, weight, values, shape):
    """LiteRT hashes the rows of the serialized string buffer (header included), not each string."""
    rng = np.random.default_rng(len(values))
    seeds = rng.uniform(-10, 10, (4, 7)).astype(np.float32)
    feeds = [strs(values, shape)] + ([rng.uniform(-1, 1, shape[0]).astype(np.float32)] if weight else [])
    both(lsh_model(seeds, shape, kind, weight), feeds)


def test_lsh_projection_strings_are_buffer_rows():
    """The documented rule, spelled out: row i of the buffer's ``len // N``-byte rows."""
    from numlite.ops._farmhash import fingerprint64_bytes

    seeds = np.array([[0.5, -3.25]], np.float32)
    values = strs([b"abc", b"de"])
    buf = encode(values)
    size = len(buf) // 2
    want = []
    for s in seeds.reshape(-1):
        score = sum(float(np.uint64(fingerprint64_bytes(s.tobytes() + buf[i * size:(i + 1) * size])).view(np.int64))
                    for i in range(2))
        want.append(int(score > 0))
    assert run_numlite(lsh_model(seeds, (2,), 2), [values])[0].tolist() == want


def test_lsh_projection_input_ranks():
    seeds = np.random.default_rng(0).uniform(-5, 5, (3, 5)).astype(np.float32)
    for shape in ((4,), (2, 3), (2, 1, 3), (1, 2, 2, 2)):
        x = np.random.default_rng(len(shape)).integers(-9, 9, shape).astype(np.int32)
        both(lsh_model(seeds, shape, 1, in_dtype=np.int32), [x])
    m = lsh_model(seeds, (), 1, in_dtype=np.int32)
    with pytest.raises(PrepareError, match=r"LSH_PROJECTION \(node 0\): input tensor 1 .* must have rank >= 1"):
        numlite.Interpreter(model_content=m).allocate_tensors()
    with pytest.raises(RuntimeError, match="NumDimensions"):
        run_litert(m, [np.array(3, np.int32)])
    for dt in (np.int32, np.object_):
        m = lsh_model(seeds, (0, 2), 2, in_dtype=dt)
        with pytest.raises(PrepareError, match="at least one row"):
            numlite.Interpreter(model_content=m).allocate_tensors()
        with pytest.raises(RuntimeError, match="SizeOfDimension"):
            run_litert(m, [np.zeros((0, 2), np.int32 if dt == np.int32 else "S1")])


def test_lsh_projection_after_skip_gram():
    """SKIP_GRAM's dynamic string output feeding LSH_PROJECTION, prepared again per length."""
    seeds = np.random.default_rng(2).uniform(-5, 5, (6, 8)).astype(np.float32)
    mb = ModelBuilder()
    x = mb.input("x", (1,), np.object_)
    g = mb.tensor("g", (), np.object_)
    mb.op("SKIP_GRAM", [x], [g], options_table="SkipGramOptions", ngram_size=2, max_skip_size=1,
          include_all_ngrams=True)
    y = mb.tensor("y", (6,), np.int32)
    mb.op("LSH_PROJECTION", [mb.const("seeds", seeds), g], [y], options_table="LSHProjectionOptions", type=1)
    mb.output(y)
    m = mb.build()
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    for sentence in (b"a b c", b"one two three four", b"a b c", b"p q"):
        it.set_tensor(0, strs([sentence]))
        it.invoke()
        ours = it.get_tensor(it.get_output_details()[0]["index"])
        assert ours.tolist() == run_litert(m, [strs([sentence])])[0].tolist()
    # one word: no 2-grams, and LSH_PROJECTION refuses the empty input in both runtimes
    it.set_tensor(0, strs([b"x"]))
    with pytest.raises(PrepareError, match=r"LSH_PROJECTION \(node 1\): input tensor .* at least one row"):
        it.invoke()
    with pytest.raises(RuntimeError, match=r"SizeOfDimension\(input, 0\) >= 1"):
        run_litert(m, [strs([b"x"])])


# --- EQUAL / NOT_EQUAL on strings ----------------------------------------------------------------
WORDS = [b"", b"a", b"b", b"ab", b"a\x00", "\u00e9".encode(), b"A"]


@pytest.mark.parametrize("op, version", [("EQUAL", 1), ("EQUAL", 5), ("NOT_EQUAL", 1), ("NOT_EQUAL", 4)])
@pytest.mark.parametrize("sa, sb", [((7,), (7,)), ((2, 3), (3,)), ((3, 1), (1, 4)), ((), (5,)), ((), ()),
                                    ((2, 1, 1, 1, 1, 3), (1, 4, 1, 1, 1, 1)), ((0, 3), (1, 3)),
                                    ((1,) * 7 + (2,), (2,) + (1,) * 7)])
def test_compare_strings(op, version, sa, sb):
    rng = np.random.default_rng(len(sa) * 10 + len(sb))
    a = strs([WORDS[i] for i in rng.integers(0, len(WORDS), int(np.prod(sa)))], sa)
    b = strs([WORDS[i] for i in rng.integers(0, len(WORDS), int(np.prod(sb)))], sb)
    if sa == sb == (7,):
        b = a.copy()
        b[::2] = strs([b"zz"] * 4)
    m = single_op_model(op, [In(sa, np.object_), In(sb, np.object_)], Out(np.broadcast_shapes(sa, sb), np.bool_),
                        version=version)
    out = both(m, [a, b])[0]
    np.testing.assert_array_equal(out, (a == b) if op == "EQUAL" else (a != b))


def test_compare_strings_with_a_constant():
    m = single_op_model("EQUAL", [In((4,), np.object_), Const(strs([b"yes"]))], Out((4,), np.bool_))
    assert both(m, [strs([b"yes", b"no", b"yes ", b"Yes"])])[0].tolist() == [True, False, False, False]


def test_compare_strings_refused():
    for op in ("LESS", "GREATER_EQUAL"):
        m = single_op_model(op, [In((2,), np.object_), In((2,), np.object_)], Out((2,), np.bool_))
        with pytest.raises(PrepareError, match=rf"{op} \(node 0\): input 0 tensor 0 .* has type object"):
            numlite.Interpreter(model_content=m).allocate_tensors()
        with pytest.raises(RuntimeError, match="kTfLiteString"):
            run_litert(m, [strs([b"a", b"b"]), strs([b"a", b"c"])])
    m = single_op_model("EQUAL", [In((2,), np.object_), In((2,), np.int32)], Out((2,), np.bool_))
    with pytest.raises(PrepareError, match="input types differ"):
        numlite.Interpreter(model_content=m).allocate_tensors()
    m = single_op_model("EQUAL", [In((1,) * 8 + (2,), np.object_), In((2,) + (1,) * 8, np.object_)],
                        Out((), np.bool_))
    with pytest.raises(PrepareError, match="at most 8"):
        numlite.Interpreter(model_content=m).allocate_tensors()


# --- GATHER_ND on strings ------------------------------------------------------------------------
PARAMS = strs([b"a", b"bb", b"ccc", b"", "\u00fc".encode(), b"f", b"g" * 50, b"h", b"i", b"j", b"k", b"l"], (3, 2, 2))


@pytest.mark.parametrize("idx", [[[2], [0]], [[1, 1], [0, 0], [2, 1]], [[2, 1, 0], [0, 0, 1]], [[[1], [2]], [[0], [0]]],
                                 [1, 0], np.zeros((0, 2)), np.zeros((2, 0))])
@pytest.mark.parametrize("idt", [np.int32, np.int64, np.int16])
@pytest.mark.parametrize("const", [False, True])
def test_gather_nd_strings(idx, idt, const):
    ix = np.asarray(idx, idt)
    nd = ix.shape[-1]
    out = ix.shape[:-1] + PARAMS.shape[nd:]
    ins = [In(PARAMS.shape, np.object_), Const(ix) if const else In(ix.shape, idt)]
    m = single_op_model("GATHER_ND", ins, Out(out, np.object_), version=1 if idt == np.int32 else 5,
                        options_table="GatherNdOptions")
    if not const and ix.size == 0:
        return  # LiteRT refuses an empty index input (numeric params alike)
    got = both(m, [PARAMS] + ([] if const else [ix]))[0]
    want = np.empty(out, object)
    for pos in np.ndindex(ix.shape[:-1]):
        want[pos] = PARAMS[tuple(int(c) for c in ix[pos])]
    assert got.tolist() == want.tolist()


def test_gather_nd_strings_bounds():
    m = single_op_model("GATHER_ND", [In((3, 2), np.object_), In((2, 2), np.int32)], Out((2,), np.object_),
                        options_table="GatherNdOptions")
    p = strs([b"a", b"b", b"c", b"d", b"e", b"f"], (3, 2))
    for bad in ([[0, 2], [1, 1]], [[3, 0], [0, 0]], [[-1, 0], [0, 0]]):
        with pytest.raises(RuntimeError, match=r"GATHER_ND \(node 0\): gather_nd index"):
            run_numlite(m, [p, np.array(bad, np.int32)])
        with pytest.raises(RuntimeError):
            run_litert(m, [p, np.array(bad, np.int32)])
    m = single_op_model("GATHER_ND", [Const(p), Const(np.array([[3, 0]], np.int32))], Out((1,), np.object_),
                        options_table="GatherNdOptions")
    with pytest.raises(PrepareError, match=r"index \[3, 0\] is out of range"):
        numlite.Interpreter(model_content=m).allocate_tensors()
