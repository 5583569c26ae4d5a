"""Soak test: does one long-lived interpreter hold on to memory as it runs?

    python benchmarks/soak.py [--families vision_float,strings,...] [--invokes 100000]
                              [--cycles 10000] [--warmup 2000] [--json out.json]

Target (issue #14): over 10^5 invokes of each model family the process's resident memory grows
by less than 1 MiB, and 10^4 ``resize_tensor_input`` / ``allocate_tensors`` cycles leak nothing.

For each workload (a family and one small model built here, in-process, with
``numlite.builder.ModelBuilder`` or the builders of ``tests/``), in ONE process:

1. Build the model and one ``numlite.Interpreter``; preallocate a few input sets (seeded random
   values, strings, shapes) so that the loop itself allocates only what a user's loop would.
2. One *call* is what a user does per inference: ``set_tensor`` of every input (a different
   input set each call), ``invoke``, ``get_tensor`` of every output (a signature runner's
   call; for the resize workloads ``resize_tensor_input`` + ``allocate_tensors`` first).
3. Warm up (``--warmup`` calls, default 2,000, or ``--cycles // 10`` for resize workloads) so
   that NumPy's caches, the allocator's pools and numlite's per-shape state settle.
4. ``gc.collect()``, then read the current RSS (``/proc/self/statm``, resident pages: not the
   peak), ``sys.getallocatedblocks()`` (Python objects and small buffers alive) and
   ``len(gc.get_objects())`` (container objects the collector tracks).
5. Run the calls (``--invokes``, default 100,000; ``--cycles``, default 10,000, for resize
   workloads) in 10 equal chunks; after each chunk ``gc.collect()`` and read the RSS again.
   Only the calls are timed.
6. Report: RSS before and after and its growth (KiB); the slope of a least-squares line
   through the RSS samples of the second half (the chunk-5 sample on), in bytes per 1,000
   calls, so a slow steady leak shows even when it is below the growth limit; the growth of
   allocated blocks and of gc-tracked objects (a per-call list that grows shows here long before
   it shows in RSS); seconds and microseconds per call.

Families (``--families``; default all): ``vision_float`` (CONV_2D, DEPTHWISE_CONV_2D, MAX_POOL_2D,
AVERAGE_POOL_2D, MEAN, FULLY_CONNECTED, SOFTMAX; one and two threads), ``vision_int8`` (the same
model quantized by ``numlite.quantize.quantize_model``, int8 in and out), ``sequence``
(UNIDIRECTIONAL_SEQUENCE_LSTM whose variable states carry across calls; ``reset_all_variables``
every 1,000 calls), ``strings`` (string input and outputs: HASHTABLE_LOOKUP with string values,
SKIP_GRAM with its data-dependent output length, a HASHTABLE resource filled by CALL_ONCE, EQUAL on
strings), ``dynamic`` (an input resized between two shapes every call; WHERE and UNIQUE, whose
output shapes follow the values), ``control_flow`` (a WHILE whose trip count is an input; a WHILE
whose loop variable doubles each iteration, so shapes change inside the loop and between calls; an
IF), ``delegated`` (the ONNX Runtime delegate, compiled-partition cache off, when onnxruntime is
installed; numlite's ``ReferenceDelegate``), ``signature`` (two signature runners, one resizing its
input every other call), ``resize`` (``--cycles`` cycles of ``resize_tensor_input`` +
``allocate_tensors`` + invoke over four shapes: the float and int8 CNNs, the LSTM, and the ONNX
Runtime delegate, which makes a new session per new shape).

Reading the results: a leak grows in every chunk, so it shows in the slope. What fills once and
then stops shows as one step in the samples and a flat second half (``--json`` keeps the samples):
CPython's free lists and tables, NumPy's small-buffer caches, and ONNX Runtime's native heap, which
grows by about 2 MiB over a process's first 10,000 to 20,000 sessions and then stays flat (measured
creating sessions of the same partition with ``OnnxRuntimeDelegate.session`` alone, without
numlite's executor). A fresh process that runs ``--families resize`` alone therefore fails the 1
MiB limit on ``resize/cnn_onnxruntime``; after the ``delegated`` family, as in a full run, it
passes. The resize workloads show one step of about 0.5 MiB after a few thousand cycles:
tracemalloc finds one new 961,216-byte block, the table of a CPython dict with str keys grown to
65,536 slots (most likely the interned-string table), allocated inside NumPy's
``ndarray.__array_interface__``, which ``as_strided`` reads when convolutions bind their patch
views; a loop of ``a.__array_interface__`` alone, in a process with NumPy only, grows the same way
once (by 0.4 MiB) and then stays flat.

Prints the machine (CPU from ``/proc/cpuinfo``, Python, NumPy, the BLAS threadpoolctl finds) and
the table; exits 1 when any workload's RSS grew by 1 MiB or more (the table is printed first).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

import numlite  # noqa: E402
from numlite.builder import ModelBuilder  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")
LIMIT_BYTES = 1 << 20  # 1 MiB
CHECKPOINTS = 10
F32 = np.float32
#: a call: ``step(k)`` runs the k-th call of a workload
Step = Callable[[int], None]


# -- measurement ------------------------------------------------------------------------------------
def rss_bytes() -> int:
    """The process's resident set size now (``/proc/self/statm``'s second field), in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


@dataclass
class Result:
    family: str
    model: str
    calls: int
    seconds: float
    us_per_call: float
    rss_before: int
    rss_after: int
    growth_kib: float
    slope_b_per_1k: float
    blocks_growth: int
    gc_objects_growth: int
    samples: list[tuple[int, int]] = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.rss_after - self.rss_before < LIMIT_BYTES


def slope_per_1k(samples: list[tuple[int, int]]) -> float:
    """Least-squares slope of RSS against calls over the second half of ``samples`` (the middle
    sample on), in bytes per 1,000 calls."""
    half = samples[len(samples) // 2:]
    x = np.array([s[0] for s in half], np.float64)
    y = np.array([s[1] for s in half], np.float64)
    if len(half) < 2 or np.ptp(x) == 0:
        return 0.0
    return float(np.polyfit(x, y, 1)[0] * 1000.0)


def soak(family: str, model: str, step: Step, calls: int, warmup: int, note: str = "") -> Result:
    """Warm up, then run ``calls`` calls in ``CHECKPOINTS`` chunks, sampling RSS after each."""
    for k in range(warmup):
        step(k)
    gc.collect()
    rss0, blocks0, objs0 = rss_bytes(), sys.getallocatedblocks(), len(gc.get_objects())
    samples = [(0, rss0)]
    done, elapsed, k = 0, 0.0, warmup
    pc = time.perf_counter
    for c in range(CHECKPOINTS):
        n = calls * (c + 1) // CHECKPOINTS - done
        t0 = pc()
        for _ in range(n):
            step(k)
            k += 1
        elapsed += pc() - t0
        done += n
        gc.collect()
        samples.append((done, rss_bytes()))
    rss1, blocks1, objs1 = samples[-1][1], sys.getallocatedblocks(), len(gc.get_objects())
    return Result(family, model, calls, elapsed, elapsed / max(calls, 1) * 1e6, rss0, rss1, (rss1 - rss0) / 1024,
                  slope_per_1k(samples), blocks1 - blocks0, objs1 - objs0, samples, note)


# -- models ---------------------------------------------------------------------------------------
def _w(rng: np.random.Generator, *shape: int, scale: float = 0.5) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(F32)


def cnn_model(dynamic: bool = False) -> bytes:
    """A small CNN on a [1, 16, 16, 3] image: CONV_2D 3x3 (RELU6) -> DEPTHWISE_CONV_2D 3x3 (RELU)
    -> MAX_POOL_2D 2x2 -> CONV_2D 1x1 (RELU) -> AVERAGE_POOL_2D 2x2 -> MEAN over H, W ->
    FULLY_CONNECTED 10 -> SOFTMAX.  ``dynamic``: batch, height and width are free (-1); any
    height and width divisible by 4 run."""
    rng = np.random.default_rng(0)
    mb = ModelBuilder()

    def t(name: str, shape: tuple[int, ...]) -> int:
        sig = (-1, -1, -1, shape[-1]) if len(shape) == 4 else (-1, shape[-1])
        return mb.tensor(name, shape, F32, shape_signature=sig if dynamic else None)

    x = mb.input("x", (1, 16, 16, 3), F32, shape_signature=(-1, -1, -1, 3) if dynamic else None)
    c1 = t("conv1", (1, 16, 16, 8))
    mb.op("CONV_2D", [x, mb.const("w1", _w(rng, 8, 3, 3, 3)), mb.const("b1", _w(rng, 8, scale=0.1))], [c1],
          padding="SAME", stride_w=1, stride_h=1, fused_activation_function="RELU6")
    d1 = t("dw1", (1, 16, 16, 8))
    mb.op("DEPTHWISE_CONV_2D", [c1, mb.const("wd", _w(rng, 1, 3, 3, 8)), mb.const("bd", _w(rng, 8, scale=0.1))],
          [d1], padding="SAME", stride_w=1, stride_h=1, depth_multiplier=1, fused_activation_function="RELU")
    p1 = t("max", (1, 8, 8, 8))
    mb.op("MAX_POOL_2D", [d1], [p1], padding="VALID", stride_w=2, stride_h=2, filter_width=2, filter_height=2)
    c2 = t("conv2", (1, 8, 8, 16))
    mb.op("CONV_2D", [p1, mb.const("w2", _w(rng, 16, 1, 1, 8)), mb.const("b2", _w(rng, 16, scale=0.1))], [c2],
          padding="SAME", stride_w=1, stride_h=1, fused_activation_function="RELU")
    p2 = t("avg", (1, 4, 4, 16))
    mb.op("AVERAGE_POOL_2D", [c2], [p2], padding="VALID", stride_w=2, stride_h=2, filter_width=2, filter_height=2)
    m = t("mean", (1, 16))
    mb.op("MEAN", [p2, mb.const("axes", np.array([1, 2], np.int32))], [m], keep_dims=False)
    f = t("logits", (1, 10))
    mb.op("FULLY_CONNECTED", [m, mb.const("wf", _w(rng, 10, 16)), mb.const("bf", _w(rng, 10, scale=0.1))], [f])
    y = t("probs", (1, 10))
    mb.op("SOFTMAX", [f], [y], beta=1.0)
    mb.output(y)
    return mb.build()


def images(n: int, shape: tuple[int, ...] = (1, 16, 16, 3), seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.0, 1.0, shape).astype(F32) for _ in range(n)]


def cnn_int8_model(dynamic: bool = False) -> bytes:
    """``cnn_model`` quantized to full int8 (int8 input and output) by ``numlite.quantize``."""
    from numlite.quantize import quantize_model

    return quantize_model(cnn_model(dynamic), ([x] for x in images(16, seed=99)))


def int8_images(it: Any, xs: list[np.ndarray]) -> list[np.ndarray]:
    """Float images in the model's int8 input encoding."""
    d = it.get_input_details()[0]
    scale, zp = d["quantization"]
    return [np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8) for x in xs]


def lstm_model(steps: int = 4, batch: int = 1, n_in: int = 8, n_cell: int = 16) -> bytes:
    """One UNIDIRECTIONAL_SEQUENCE_LSTM (time major) with variable h / c states."""
    from lstm_util import lstm_weights, uni_model

    w = lstm_weights(n_in, n_cell, n_cell, seed=3)
    return uni_model((steps, batch, n_in), w, n_cell, n_cell, time_major=True, fused_activation_function="TANH")


KEYS = [b"cat", b"dog", b"emu", b"yak", b"owl"]


def strings_model() -> bytes:
    """String inputs and outputs: ids -> HASHTABLE_LOOKUP (string values) -> words; sentence ->
    SKIP_GRAM (output length follows the text); words -> HASHTABLE_FIND in a string -> int64
    HASHTABLE filled once by CALL_ONCE; words == a constant (EQUAL on strings)."""
    mb = ModelBuilder()
    ids = mb.input("ids", (4,), np.int32)
    sentence = mb.input("sentence", (1,), np.object_)
    mb.op("CALL_ONCE", [], [], init_subgraph_index=1)
    words = mb.tensor("words", (4,), np.object_)
    hits = mb.tensor("hits", (4,), np.uint8)
    values = np.array([k.upper() for k in KEYS], object)
    mb.op("HASHTABLE_LOOKUP", [ids, mb.const("lk_keys", np.arange(len(KEYS), dtype=np.int32)),
                               mb.const("lk_values", values)], [words, hits])
    grams = mb.tensor("grams", (0,), np.object_)
    mb.op("SKIP_GRAM", [sentence], [grams], options_table="SkipGramOptions", ngram_size=2, max_skip_size=1,
          include_all_ngrams=True)
    h = mb.tensor("h", (), np.int32, type_name="RESOURCE")
    mb.op("HASHTABLE", [], [h], table_id=7, key_dtype="STRING", value_dtype="INT64")
    found = mb.tensor("found", (4,), np.int64)
    mb.op("HASHTABLE_FIND", [h, words, mb.const("default", np.array(-1, np.int64))], [found])
    same = mb.tensor("same", (4,), np.bool_)
    mb.op("EQUAL", [words, mb.const("ref", np.array([b"CAT", b"DOG", b"X", b"OWL"], object))], [same])
    mb.output(words, hits, grams, found, same)
    mb.new_subgraph("init")
    h2 = mb.tensor("h2", (), np.int32, type_name="RESOURCE")
    mb.op("HASHTABLE", [], [h2], table_id=7, key_dtype="STRING", value_dtype="INT64")
    mb.op("HASHTABLE_IMPORT", [h2, mb.const("keys", values[:3]), mb.const("vals", np.array([3, 1, 4], np.int64))],
          [])
    return mb.build()


def dynamic_model() -> bytes:
    """x [-1, 4] float: y = x + 1; WHERE(x > 0) (data-dependent [k, 2]); ids [-1] int32 ->
    UNIQUE (data-dependent [u]) and its index map."""
    mb = ModelBuilder()
    x = mb.input("x", (2, 4), F32, shape_signature=(-1, 4))
    ids = mb.input("ids", (8,), np.int32, shape_signature=(-1,))
    y = mb.tensor("y", (2, 4), F32, shape_signature=(-1, 4))
    mb.op("ADD", [x, mb.const("one", np.array(1.0, F32))], [y])
    pos = mb.tensor("pos", (2, 4), np.bool_, shape_signature=(-1, 4))
    mb.op("GREATER", [x, mb.const("zero", np.array(0.0, F32))], [pos])
    where = mb.tensor("where", (0, 2), np.int64, shape_signature=(-1, 2))
    mb.op("WHERE", [pos], [where])
    shifted = mb.tensor("shifted", (0, 2), np.int64, shape_signature=(-1, 2))
    mb.op("ADD", [where, mb.const("ten", np.array(10, np.int64))], [shifted])
    uniq = mb.tensor("uniq", (0,), np.int32, shape_signature=(-1,))
    idx = mb.tensor("idx", (8,), np.int32, shape_signature=(-1,))
    mb.op("UNIQUE", [ids], [uniq, idx], idx_out_type="INT32")
    mb.output(y, shifted, uniq, idx)
    return mb.build()


def while_model(shape: tuple[int, ...] = (4,)) -> bytes:
    """while i < limit: i += 1; x = x * 0.5 + y (limit, x and y are inputs)."""
    mb = ModelBuilder()
    i = mb.input("i", (), np.int32)
    lim = mb.input("limit", (), np.int32)
    x = mb.input("x", shape, F32)
    y = mb.input("y", shape, F32)
    outs = [mb.tensor("i_out", (), np.int32), mb.tensor("lim_out", (), np.int32), mb.tensor("x_out", shape, F32),
            mb.tensor("y_out", shape, F32)]
    mb.op("WHILE", [i, lim, x, y], outs, cond_subgraph_index=1, body_subgraph_index=2)
    mb.output(outs[0], outs[2])
    mb.new_subgraph("cond")
    ci, cl = mb.input("ci", (), np.int32), mb.input("cl", (), np.int32)
    mb.input("cx", shape, F32)
    mb.input("cy", shape, F32)
    cb = mb.tensor("cb", (), np.bool_)
    mb.op("LESS", [ci, cl], [cb])
    mb.output(cb)
    mb.new_subgraph("body")
    bi, bl = mb.input("bi", (), np.int32), mb.input("bl", (), np.int32)
    bx, by = mb.input("bx", shape, F32), mb.input("by", shape, F32)
    bio = mb.tensor("bio", (), np.int32)
    mb.op("ADD", [bi, mb.const("one", np.array(1, np.int32))], [bio])
    half = mb.tensor("half", shape, F32)
    mb.op("MUL", [bx, mb.const("h", np.array(0.5, F32))], [half])
    bxo = mb.tensor("bxo", shape, F32)
    mb.op("ADD", [half, by], [bxo])
    mb.output(bio, bl, bxo, by)
    return mb.build()


def growing_while_model() -> bytes:
    """while i < limit: i += 1; x = concat(x, x) (x [-1]): the loop variable's shape changes
    every iteration, and the output's length (len(x) * 2 ** limit) follows the inputs' values."""
    mb = ModelBuilder()
    i = mb.input("i", (), np.int32)
    lim = mb.input("limit", (), np.int32)
    x = mb.input("x", (2,), F32, shape_signature=(-1,))
    outs = [mb.tensor("i_out", (), np.int32), mb.tensor("lim_out", (), np.int32),
            mb.tensor("x_out", (2,), F32, shape_signature=(-1,))]
    mb.op("WHILE", [i, lim, x], outs, cond_subgraph_index=1, body_subgraph_index=2)
    mb.output(outs[0], outs[2])
    mb.new_subgraph("cond")
    ci, cl = mb.input("ci", (), np.int32), mb.input("cl", (), np.int32)
    mb.input("cx", (2,), F32, shape_signature=(-1,))
    cb = mb.tensor("cb", (), np.bool_)
    mb.op("LESS", [ci, cl], [cb])
    mb.output(cb)
    mb.new_subgraph("body")
    bi, bl = mb.input("bi", (), np.int32), mb.input("bl", (), np.int32)
    bx = mb.input("bx", (2,), F32, shape_signature=(-1,))
    bio = mb.tensor("bio", (), np.int32)
    mb.op("ADD", [bi, mb.const("one", np.array(1, np.int32))], [bio])
    bxo = mb.tensor("bxo", (4,), F32, shape_signature=(-1,))
    mb.op("CONCATENATION", [bx, bx], [bxo], axis=0)
    mb.output(bio, bl, bxo)
    return mb.build()


def if_model() -> bytes:
    """IF c: then x + x (ADD) else tanh(x) * 3 (TANH, MUL)."""
    mb = ModelBuilder()
    c = mb.input("c", (), np.bool_)
    x = mb.input("x", (8,), F32)
    o = mb.tensor("o", (8,), F32)
    mb.op("IF", [c, x], [o], then_subgraph_index=1, else_subgraph_index=2)
    mb.output(o)
    mb.new_subgraph("then")
    tx = mb.input("tx", (8,), F32)
    to = mb.tensor("to", (8,), F32)
    mb.op("ADD", [tx, tx], [to])
    mb.output(to)
    mb.new_subgraph("else")
    ex = mb.input("ex", (8,), F32)
    th = mb.tensor("th", (8,), F32)
    mb.op("TANH", [ex], [th])
    eo = mb.tensor("eo", (8,), F32)
    mb.op("MUL", [th, mb.const("three", np.array(3.0, F32))], [eo])
    mb.output(eo)
    return mb.build()


def signature_model() -> bytes:
    """Two signatures on two subgraphs: ``classify`` (x [1, 16] -> FULLY_CONNECTED -> SOFTMAX) and
    ``embed`` (tokens [-1, 8] -> FULLY_CONNECTED 4 -> TANH)."""
    rng = np.random.default_rng(5)
    mb = ModelBuilder()
    x = mb.input("x", (1, 16), F32)
    logits = mb.tensor("logits", (1, 10), F32)
    mb.op("FULLY_CONNECTED", [x, mb.const("w", _w(rng, 10, 16)), mb.const("b", _w(rng, 10))], [logits])
    p = mb.tensor("p", (1, 10), F32)
    mb.op("SOFTMAX", [logits], [p], beta=1.0)
    mb.output(p)
    mb.signature("classify", {"x": x}, {"p": p}, subgraph=0)
    mb.new_subgraph("embed")
    t = mb.input("tokens", (1, 8), F32, shape_signature=(-1, 8))
    e = mb.tensor("e", (1, 4), F32, shape_signature=(-1, 4))
    mb.op("FULLY_CONNECTED", [t, mb.const("we", _w(rng, 4, 8)), -1], [e])
    v = mb.tensor("v", (1, 4), F32, shape_signature=(-1, 4))
    mb.op("TANH", [e], [v])
    mb.output(v)
    mb.signature("embed", {"tokens": t}, {"v": v}, subgraph=1)
    return mb.build()


# -- calls ----------------------------------------------------------------------------------------
def plain_step(it: Any, feeds: list[list[np.ndarray]], every: int = 0,
               each: Callable[[], None] | None = None) -> Step:
    """set_tensor every input (feed set ``k % len(feeds)``), invoke, get_tensor every output;
    ``each()`` after every ``every``-th call."""
    it.allocate_tensors()
    ins = [d["index"] for d in it.get_input_details()]
    outs = [d["index"] for d in it.get_output_details()]
    n = len(feeds)

    def step(k: int) -> None:
        for i, v in zip(ins, feeds[k % n]):
            it.set_tensor(i, v)
        it.invoke()
        for o in outs:
            it.get_tensor(o)
        if every and k % every == every - 1 and each is not None:
            each()

    return step


def resize_step(it: Any, feeds: list[list[np.ndarray]]) -> Step:
    """Every call: resize every input to the next feed set's shapes, allocate_tensors, set, invoke,
    get (the shapes change every call)."""
    ins = [d["index"] for d in it.get_input_details()]
    outs = [d["index"] for d in it.get_output_details()]
    n = len(feeds)

    def step(k: int) -> None:
        feed = feeds[k % n]
        for i, v in zip(ins, feed):
            it.resize_tensor_input(i, v.shape)
        it.allocate_tensors()
        for i, v in zip(ins, feed):
            it.set_tensor(i, v)
        it.invoke()
        for o in outs:
            it.get_tensor(o)

    return step


def _strs(*values: bytes) -> np.ndarray:
    a = np.empty(len(values), object)
    a[:] = list(values)
    return a


def ort_delegate() -> Any:
    """The ONNX Runtime delegate with its disk cache off (every session is built in memory), or
    None when onnxruntime is missing."""
    try:
        return numlite.load_delegate("onnxruntime", {"cache": False})
    except ImportError:
        return None


RESIZE_SHAPES = [(1, 16, 16, 3), (2, 16, 16, 3), (1, 24, 20, 3), (3, 8, 8, 3)]


@dataclass
class Workload:
    family: str
    model: str
    make: Callable[[], Step | str]  # a step, or a reason to skip
    resize: bool = False  # its calls are resize cycles (``--cycles``)
    scale: float = 1.0  # fraction of the calls it runs
    note: str = ""


def _vision_float() -> Step:
    it = numlite.Interpreter(model_content=cnn_model())
    return plain_step(it, [[x] for x in images(8)])


def _vision_float_threads() -> Step:
    it = numlite.Interpreter(model_content=cnn_model(), num_threads=2)
    return plain_step(it, [[x] for x in images(8)])


def _vision_int8() -> Step:
    it = numlite.Interpreter(model_content=cnn_int8_model())
    return plain_step(it, [[x] for x in int8_images(it, images(8))])


def _sequence() -> Step:
    it = numlite.Interpreter(model_content=lstm_model())
    rng = np.random.default_rng(2)
    xs = [[rng.uniform(-1, 1, (4, 1, 8)).astype(F32)] for _ in range(8)]
    return plain_step(it, xs, every=1000, each=it.reset_all_variables)


def _strings() -> Step:
    it = numlite.Interpreter(model_content=strings_model())
    sentences = [b"the quick brown fox", b"a b", b"one", b"", b"numlite runs tflite models in numpy",
                 b"x y z w", b"soak test", b"hello there how are you"]
    rng = np.random.default_rng(4)
    feeds = [[rng.integers(-1, len(KEYS) + 1, 4).astype(np.int32), _strs(s)] for s in sentences]
    return plain_step(it, feeds)


def _dynamic() -> Step:
    it = numlite.Interpreter(model_content=dynamic_model())
    rng = np.random.default_rng(6)
    feeds = []
    for k in range(8):
        rows, n = (2, 8) if k % 2 == 0 else (5, 13)  # two shapes, alternating every call
        feeds.append([rng.uniform(-1, 1, (rows, 4)).astype(F32), rng.integers(0, 5, n).astype(np.int32)])
    return resize_step(it, feeds)


def _while() -> Step:
    it = numlite.Interpreter(model_content=while_model())
    rng = np.random.default_rng(7)
    feeds = [[np.array(0, np.int32), np.array(lim, np.int32), rng.uniform(-1, 1, 4).astype(F32),
              rng.uniform(-1, 1, 4).astype(F32)] for lim in (3, 5, 1, 6, 0, 4, 2, 5)]
    return plain_step(it, feeds)


def _growing_while() -> Step:
    it = numlite.Interpreter(model_content=growing_while_model())
    rng = np.random.default_rng(12)
    feeds = [[np.array(0, np.int32), np.array(lim, np.int32), rng.uniform(-1, 1, 2).astype(F32)]
             for lim in (3, 1, 4, 0, 2, 4, 1, 3)]
    return plain_step(it, feeds)


def _if() -> Step:
    it = numlite.Interpreter(model_content=if_model())
    rng = np.random.default_rng(8)
    feeds = [[np.array(k % 3 == 0), rng.uniform(-2, 2, 8).astype(F32)] for k in range(8)]
    return plain_step(it, feeds)


def _ort() -> Step | str:
    d = ort_delegate()
    if d is None:
        return "skipped: onnxruntime is not installed (pip install 'numlite[onnxruntime]')"
    it = numlite.Interpreter(model_content=cnn_model(), experimental_delegates=[d])
    return plain_step(it, [[x] for x in images(8)])


def _reference_delegate() -> Step:
    from numlite.delegates.reference import ReferenceDelegate

    d = ReferenceDelegate(ops=["CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D"])
    it = numlite.Interpreter(model_content=cnn_model(), experimental_delegates=[d])
    return plain_step(it, [[x] for x in images(8)])


def _signature() -> Step:
    it = numlite.Interpreter(model_content=signature_model())
    classify, embed = it.get_signature_runner("classify"), it.get_signature_runner("embed")
    rng = np.random.default_rng(9)
    xs = [rng.uniform(-1, 1, (1, 16)).astype(F32) for _ in range(8)]
    toks = [rng.uniform(-1, 1, (1 if k % 2 == 0 else 3, 8)).astype(F32) for k in range(8)]

    def step(k: int) -> None:
        classify(x=xs[k % 8])
        embed(tokens=toks[k % 8])  # the batch changes every call: the runner resizes

    return step


def _resize_feeds(quant_it: Any = None) -> list[list[np.ndarray]]:
    xs = [images(1, s, seed=10 + j)[0] for j, s in enumerate(RESIZE_SHAPES)]
    return [[x] for x in (int8_images(quant_it, xs) if quant_it is not None else xs)]


def _resize_cnn() -> Step:
    return resize_step(numlite.Interpreter(model_content=cnn_model(dynamic=True)), _resize_feeds())


def _resize_cnn_int8() -> Step:
    it = numlite.Interpreter(model_content=cnn_int8_model(dynamic=True))
    return resize_step(it, _resize_feeds(it))


def _resize_lstm() -> Step:
    it = numlite.Interpreter(model_content=lstm_model())
    rng = np.random.default_rng(11)
    shapes = [(4, 1, 8), (6, 1, 8), (1, 1, 8), (3, 1, 8)]  # time steps (the variable states fix the batch)
    return resize_step(it, [[rng.uniform(-1, 1, s).astype(F32)] for s in shapes])


def _resize_ort() -> Step | str:
    d = ort_delegate()
    if d is None:
        return "skipped: onnxruntime is not installed (pip install 'numlite[onnxruntime]')"
    return resize_step(numlite.Interpreter(model_content=cnn_model(dynamic=True), experimental_delegates=[d]),
                       _resize_feeds())


WORKLOADS = [
    Workload("vision_float", "cnn", _vision_float),
    Workload("vision_float", "cnn_2threads", _vision_float_threads, note="num_threads=2"),
    Workload("vision_int8", "cnn_int8", _vision_int8),
    Workload("sequence", "lstm_state", _sequence, note="reset_all_variables every 1,000 calls"),
    Workload("strings", "lookup_skipgram_table", _strings),
    Workload("dynamic", "where_unique_resize", _dynamic, note="inputs resized every call"),
    Workload("control_flow", "while", _while),
    Workload("control_flow", "while_growing", _growing_while,
             note="the loop variable doubles each iteration; the trip count changes every call"),
    Workload("control_flow", "if", _if),
    Workload("delegated", "cnn_onnxruntime", _ort),
    Workload("delegated", "cnn_reference", _reference_delegate),
    Workload("signature", "two_runners", _signature, note="two runner calls per call; one resizes"),
    Workload("resize", "cnn", _resize_cnn, resize=True),
    Workload("resize", "cnn_int8", _resize_cnn_int8, resize=True),
    Workload("resize", "lstm", _resize_lstm, resize=True),
    Workload("resize", "cnn_onnxruntime", _resize_ort, resize=True, note="a new ONNX Runtime session per cycle"),
]
FAMILIES = list(dict.fromkeys(w.family for w in WORKLOADS))


# -- report ---------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"python": platform.python_version(), "numpy": np.__version__,
                            "numlite": getattr(numlite, "__version__", "?"), "cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info.setdefault("cpu", platform.processor() or platform.machine())
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [f"{p.get('internal_api')} {p.get('version')} {p.get('architecture', '')} "
                        f"threads={p.get('num_threads')}".replace("  ", " ") for p in threadpool_info()
                        if p.get("user_api") == "blas"]
    except ImportError:
        info["blas"] = ["threadpoolctl not installed"]
    return info


HEADER = (f"{'family':<13} {'model':<22} {'calls':>7} {'seconds':>8} {'us/call':>8} {'RSS before':>11} "
          f"{'RSS after':>11} {'growth KiB':>10} {'slope B/1k':>10} {'blocks':>7} {'gc objs':>7}  ok")


def row(r: Result) -> str:
    return (f"{r.family:<13} {r.model:<22} {r.calls:>7} {r.seconds:>8.1f} {r.us_per_call:>8.1f} "
            f"{r.rss_before / 1024:>8.0f} Ki {r.rss_after / 1024:>8.0f} Ki {r.growth_kib:>10.0f} "
            f"{round(r.slope_b_per_1k):>10} {r.blocks_growth:>7} {r.gc_objects_growth:>7}  {'yes' if r.ok else 'NO'}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--families", default=",".join(FAMILIES), help=f"comma-separated subset of {FAMILIES}")
    p.add_argument("--invokes", type=int, default=100_000, help="calls per workload (default 100,000)")
    p.add_argument("--cycles", type=int, default=10_000, help="resize cycles per resize workload (default 10,000)")
    p.add_argument("--warmup", type=int, default=2000, help="calls before the first RSS reading (default 2,000; "
                   "resize workloads: --cycles // 10)")
    p.add_argument("--json", help="write the machine, the results and the RSS samples to this file")
    args = p.parse_args(argv)
    wanted = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = sorted(set(wanted) - set(FAMILIES))
    if unknown:
        p.error(f"unknown families {unknown}; choose from {FAMILIES}")
    info = machine()
    print(f"machine: {info['cpu']} ({info['cpus']} CPUs); Python {info['python']}, NumPy {info['numpy']}, "
          f"BLAS: {'; '.join(info['blas']) or 'none found by threadpoolctl'}")
    print(f"calls: {args.invokes} per workload, {args.cycles} per resize workload, after "
          f"{args.warmup} (resize: {args.cycles // 10}) warm-up calls; limit: RSS growth < 1 MiB")
    print(HEADER, flush=True)
    results, skipped = [], []
    for w in WORKLOADS:
        if w.family not in wanted:
            continue
        step = w.make()
        if isinstance(step, str):
            skipped.append(f"{w.family}/{w.model}: {step}")
            print(f"{w.family:<13} {w.model:<22} {step}", flush=True)
            continue
        calls = int((args.cycles if w.resize else args.invokes) * w.scale)
        warm = int((args.cycles // 10 if w.resize else args.warmup) * w.scale)
        r = soak(w.family, w.model, step, calls, warm, w.note)
        results.append(r)
        print(row(r), flush=True)
        del step
        gc.collect()
    print()
    print("summary:")
    print(HEADER)
    for r in results:
        print(row(r))
    for r in results:
        if r.note:
            print(f"  {r.family}/{r.model}: {r.note}")
    for s in skipped:
        print(f"  {s}")
    bad = [r for r in results if not r.ok]
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "args": vars(args), "limit_bytes": LIMIT_BYTES, "skipped": skipped,
                       "results": [asdict(r) | {"ok": r.ok} for r in results]}, f, indent=1)
    if bad:
        print(f"FAIL: RSS grew by 1 MiB or more in {', '.join(f'{r.family}/{r.model}' for r in bad)}")
        return 1
    print(f"OK: every workload's RSS grew by less than 1 MiB ({len(results)} run, {len(skipped)} skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
