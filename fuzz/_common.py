"""Shared helpers of the fuzz harnesses (``fuzz/fuzz_*.py``) and their runner (``fuzz/run.py``).

1. ``ALLOWED_ERRORS`` / ``tolerated()``: the errors numlite documents for hostile models and
   bad inputs (``ModelError``, ``PrepareError``, ``FlexError``, ``QuantizationError``,
   ``ResizeError``, ``InvokeCancelled``: all ValueError or RuntimeError).  Anything else that
   escapes - and the ValueError / RuntimeError subclasses that signal a bug rather than a refusal
   (``UnicodeError``, ``RecursionError``, ``NotImplementedError``) - is a finding.
2. Harness discovery and loading by name (``discover``, ``load_harness``), without atheris.
3. Seed helpers: the repository's paths, the cached real models (never downloaded here), the
   TensorFlow-converter fixtures, ``make_seeds`` (run builders, keep what builds).
4. Running a model: an ``Interpreter`` with every shipped custom op, a declared-size bound
   (``declared_bytes``), inputs filled deterministically from the fuzz input's bytes
   (``fill_inputs``), an invoke bounded by ``Interpreter.cancel`` (``invoke_bounded``).
5. Generic mutation (``mutate_bytes``): byte flips, 32-bit overwrites with extreme values,
   truncations, insertions.  Under atheris (``UNDER_ATHERIS``) the harnesses' custom mutators
   hand part of their work to libFuzzer's own mutator instead.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import random
import struct
import sys
import threading
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

FUZZ_DIR = Path(__file__).resolve().parent
REPO = FUZZ_DIR.parent
TESTS = REPO / "tests"
TF_FIXTURES = TESTS / "data" / "tf"

#: set by run.py in the atheris child process: custom mutators may then call atheris.Mutate
UNDER_ATHERIS = False

#: numlite's documented errors for hostile input (see the module docstring)
ALLOWED_ERRORS: tuple[type[BaseException], ...] = (ValueError, RuntimeError)
#: subclasses of the allowed ones that still mean a bug in numlite
BUG_ERRORS: tuple[type[BaseException], ...] = (UnicodeError, RecursionError, NotImplementedError)

#: inputs whose tensors (all subgraphs, dynamic dimensions counted as 1) declare more bytes are
#: skipped, not run: they only slow the campaign down
MAX_DECLARED_BYTES = 16 << 20
#: allocated models whose arena exceeds this are not invoked: the OS grants big arenas lazily, and
#: filling them is slow, not a finding (a harness process must stay under libFuzzer's rss limit)
MAX_ARENA_BYTES = 256 << 20
#: seconds an invoke may run before Interpreter.cancel() stops it
INVOKE_TIMEOUT = 0.5


def is_allowed(exc: BaseException) -> bool:
    """Whether ``exc`` is one of numlite's documented errors (not a finding)."""
    return isinstance(exc, ALLOWED_ERRORS) and not isinstance(exc, BUG_ERRORS)


@contextlib.contextmanager
def tolerated() -> Iterator[None]:
    """Swallow numlite's documented errors; let everything else (a finding) propagate.

    NumPy's RuntimeWarnings (overflow, invalid values from corrupt constants) are silenced
    inside; deprecation warnings keep the filters of the caller (pytest makes numlite's errors)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        try:
            yield
        except ALLOWED_ERRORS as e:
            if isinstance(e, BUG_ERRORS):
                raise


# --- harnesses --------------------------------------------------------------------------------
def harness_paths(folder: Path | None = None) -> dict[str, Path]:
    """``{name: path}`` of every ``fuzz_<name>.py`` in ``folder`` (default: this folder)."""
    folder = folder or FUZZ_DIR
    return {p.stem[len("fuzz_"):]: p for p in sorted(folder.glob("fuzz_*.py"))}


def add_paths() -> None:
    """Put fuzz/ and tests/ on sys.path (harnesses import ``_common`` and the tests' builders)."""
    for p in (str(FUZZ_DIR), str(TESTS), str(REPO)):
        if p not in sys.path:
            sys.path.insert(0, p)


def load_harness(name_or_path: str | os.PathLike) -> ModuleType:
    """Import harness ``name`` (or the file at a path) as module ``fuzz_<name>``."""
    add_paths()
    path = Path(name_or_path)
    if not path.suffix:
        path = FUZZ_DIR / f"fuzz_{name_or_path}.py"
    if not path.exists():
        raise FileNotFoundError(f"no fuzz harness {path} (have: {', '.join(harness_paths())})")
    mod_name = path.stem
    if mod_name in sys.modules and getattr(sys.modules[mod_name], "__file__", None) == str(path):
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[mod_name]
        raise
    return mod


# --- seeds ------------------------------------------------------------------------------------
def make_seeds(builders: dict[str, Callable[[], bytes | list[bytes]]], failed: list[str] | None = None) -> list[bytes]:
    """Run every builder (deterministic), in name order; a builder that fails (a test helper that
    changed) is left out and named in ``failed``.  Duplicates are dropped."""
    out: list[bytes] = []
    seen: set[bytes] = set()
    for name in sorted(builders):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = builders[name]()
        except Exception as e:  # noqa: BLE001 - a stale builder must not stop the campaign
            if failed is not None:
                failed.append(f"{name}: {type(e).__name__}: {e}")
            continue
        for b in got if isinstance(got, list) else [got]:
            b = bytes(b)
            if b not in seen:
                seen.add(b)
                out.append(b)
    return out


def model_cache_dir() -> Path:
    """The tests' model cache (``$NUMLITE_MODEL_CACHE`` or ``~/.cache/numlite-test-models``)."""
    return Path(os.environ.get("NUMLITE_MODEL_CACHE") or Path.home() / ".cache" / "numlite-test-models")


def cached_real_models(max_bytes: int = 700_000) -> list[bytes]:
    """The real .tflite files already in the tests' cache (MediaPipe's, Smart Reply's), up to
    ``max_bytes`` each, smallest first; never downloads."""
    root = model_cache_dir()
    if not root.is_dir():
        return []
    files = sorted((p for p in root.glob("*/*.tflite") if p.stat().st_size <= max_bytes),
                   key=lambda p: (p.stat().st_size, p.name))
    return [p.read_bytes() for p in files]


def tf_fixtures(max_bytes: int = 100_000) -> list[bytes]:
    """TensorFlow-converter fixtures of tests/data/tf (LSTM, GRU, WHILE, masked text CNN ...)."""
    return [p.read_bytes() for p in sorted(TF_FIXTURES.glob("*.tflite")) if p.stat().st_size <= max_bytes]


# --- running a model --------------------------------------------------------------------------
def custom_ops() -> dict[str, type]:
    """Every custom-op kernel numlite ships (the opt-in ones too)."""
    from numlite.custom import mediapipe, smartreply

    return {**mediapipe.OPS, **smartreply.OPS}


def interpreter(data: bytes, **kw: Any) -> Any:
    """``numlite.Interpreter`` on ``data`` with every shipped custom op."""
    import numlite

    return numlite.Interpreter(model_content=data, custom_ops=custom_ops(), **kw)


def _itemsize(dtype: Any) -> int:
    try:
        return max(np.dtype(dtype).itemsize, 1) if dtype is not None and np.dtype(dtype) != object else 8
    except TypeError:
        return 8


def declared_bytes(model: Any) -> int:
    """Bytes the tensors of every subgraph of ``model`` (a ``numlite.Model``) declare, dynamic
    dimensions counted as 1 (Python integers: no overflow)."""
    total = 0
    for sg in model.subgraphs:
        for t in sg.tensors:
            total += math.prod(max(int(d), 1) for d in t.shape) * _itemsize(t.dtype)
            if total > 1 << 40:
                return total
    return total


def has_op(model: Any, *names: str) -> bool:
    return any(op.op_name in names for sg in model.subgraphs for op in sg.operators)


def _value_source(data: bytes) -> bytes:
    return data if data else b"\0"


def fill_value(shape: tuple[int, ...], dtype: Any, data: bytes, salt: int) -> np.ndarray:
    """A value of ``shape`` / ``dtype`` made from ``data``: its bytes repeated (so mutations steer
    it), read raw, as small numbers or as seeded noise, depending on a byte of ``data``."""
    src = _value_source(data)
    mode = src[(salt * 7919) % len(src)] % 4
    n = math.prod(shape)
    dt = np.dtype(dtype) if dtype is not None else np.dtype(np.float32)
    if not shape and dt.kind in "iu" and mode != 2:  # scalars: loop limits, counts, indices
        mode = 1
    if dt.kind in "OSU":  # strings (LiteRT's details say bytes_)
        words = []
        for k in range(n):
            start = (salt * 31 + k * 13) % len(src)
            words.append(bytes(src[start:start + src[start] % 12]))
        return np.array(words, dtype=object).reshape(shape) if n else np.empty(shape, object)
    if dt.kind == "b":
        raw = np.resize(np.frombuffer(src, np.uint8), n) & 1
        return raw.astype(bool).reshape(shape)
    if mode == 0:  # raw bytes: any bit pattern, NaN and inf included
        need = n * dt.itemsize
        buf = (src * (need // len(src) + 1))[salt % len(src):][:need] if need else b""
        if len(buf) < need:
            buf = (buf + src * (need // len(src) + 1))[:need]
        return np.frombuffer(buf, dt).reshape(shape).copy() if n else np.zeros(shape, dt)
    if mode == 1:  # small values: loop counts, indices, sizes
        small = np.resize(np.frombuffer(src, np.uint8), n).astype(np.int64) % 17 - 8
        return small.astype(dt).reshape(shape)
    rng = np.random.default_rng(zlib.crc32(src) + salt)
    if dt.kind in "fc":
        v = rng.standard_normal(n) * (1.0 if mode == 2 else 1e3)
        return v.astype(dt).reshape(shape)
    info = np.iinfo(dt) if dt.kind in "iu" else None
    if info is None:
        return np.zeros(shape, dt)
    lo, hi = (max(info.min, -100), min(info.max, 100)) if mode == 2 else (info.min, info.max)
    return rng.integers(lo, hi, n, endpoint=True, dtype=np.int64 if dt != np.uint64 else np.uint64).astype(dt).reshape(
        shape)


def fill_inputs(it: Any, data: bytes) -> None:
    """Set every input of ``it`` (allocated) from ``data``."""
    for k, d in enumerate(it.get_input_details()):
        shape = tuple(int(s) for s in d["shape"])
        it.set_tensor(d["index"], fill_value(shape, d["dtype"], data, k))


#: the memory numlite may assume in a fuzzing process (``cap_memory``): libFuzzer's rss limit is 3 GB
FUZZ_MEMORY_BYTES = 1 << 30


def cap_memory(limit: int = FUZZ_MEMORY_BYTES) -> None:
    """Make numlite see a machine with at most ``limit`` bytes of memory (``executor.memory_limit``
    and ``memory_available``), the way it sees a small machine or a memory cgroup: arenas and
    growing loop variables beyond it are refused with its RuntimeError instead of being granted
    lazily and filled past libFuzzer's rss limit (an "oom" that is numlite working as designed
    on a bigger machine).  Called in the atheris child only."""
    from numlite import executor

    real_limit, real_available = executor.memory_limit, executor.memory_available
    page = os.sysconf("SC_PAGE_SIZE")

    def rss() -> int:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * page

    start = rss()
    executor.memory_limit = lambda: min(real_limit(), limit)
    # what the process took since the cap is used up, as on a machine of ``limit`` bytes (a loop
    # that grows its variables is then refused before it holds more than ``limit``)
    executor.memory_available = lambda: min(real_available(), max(limit - max(rss() - start, 0), 0))


def arena_bytes(it: Any) -> int:
    """The main subgraph's planned arena of an allocated interpreter."""
    return int(it.memory_report().get("arena_bytes", 0))


def invoke_bounded(it: Any, timeout: float = INVOKE_TIMEOUT) -> bool:
    """``it.invoke()``, cancelled after ``timeout`` seconds where the interpreter can be cancelled
    (``Interpreter.cancel``); without it, a model with a WHILE is not invoked.  Returns False
    (nothing run) when the allocated arena exceeds ``MAX_ARENA_BYTES``."""
    if arena_bytes(it) > MAX_ARENA_BYTES:
        return False
    if not hasattr(it, "cancel"):
        if has_op(it.model, "WHILE"):
            return False
        it.invoke()
        return True
    invoke_with_timeout(it, timeout)
    return True


def invoke_with_timeout(it: Any, timeout: float) -> None:
    """``it.invoke()``, stopped by ``it.cancel()`` (InvokeCancelled) after ``timeout`` seconds."""
    timer = threading.Timer(timeout, it.cancel)
    timer.daemon = True
    timer.start()
    try:
        it.invoke()
    finally:
        timer.cancel()


def run_model(data: bytes, feed: bytes | None = None, invoke: bool = True, details: bool = True) -> None:
    """Load ``data``, read its details, allocate, fill its inputs from ``feed`` (default:
    ``data``), invoke (bounded) and read every output.  Documented errors are not caught here."""
    it = interpreter(data)
    if details:
        for s in range(it.num_subgraphs()):
            it.get_tensor_details(s)
        it._get_ops_details()
        it.get_signature_list()
    if declared_bytes(it.model) > MAX_DECLARED_BYTES:
        return
    it.allocate_tensors()
    if not invoke:
        return
    fill_inputs(it, data if feed is None else feed)
    if invoke_bounded(it):
        for d in it.get_output_details():
            it.get_tensor(d["index"])


# --- generic mutation -------------------------------------------------------------------------
EXTREME_U32 = (0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
               0xFFFFFFFE, 0x10000, 0x1000000)


def mutate_bytes(data: bytes, rng: random.Random, max_size: int | None = None) -> bytes:
    """One random generic mutation of ``data`` (deterministic given ``rng``)."""
    b = bytearray(data)
    if not b:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
    kind = rng.randrange(6)
    if kind == 0:  # flip bits in a few bytes
        for _ in range(rng.randrange(1, 4)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif kind == 1:  # random bytes
        for _ in range(rng.randrange(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == 2 and len(b) >= 4:  # a 32-bit word with an extreme value, at an aligned offset mostly
        p = rng.randrange(len(b) - 3)
        if rng.random() < 0.7:
            p &= ~3
        v = rng.choice(EXTREME_U32 + (len(b), len(b) - p, p))
        struct.pack_into("<I", b, p, v & 0xFFFFFFFF)
    elif kind == 3:  # truncate
        del b[rng.randrange(len(b)):]
    elif kind == 4:  # duplicate or remove a chunk
        p = rng.randrange(len(b))
        n = rng.randrange(1, 64)
        if rng.random() < 0.5:
            b[p:p] = b[p:p + n]
        else:
            del b[p:p + n]
    else:  # a 64-bit or 16-bit extreme value
        width = rng.choice((2, 8))
        if len(b) >= width:
            p = rng.randrange(len(b) - width + 1)
            v = rng.choice((0, 1, -1, 2**(8 * width - 1) - 1, -2**(8 * width - 1)))
            b[p:p + width] = v.to_bytes(width, "little", signed=True)
    out = bytes(b)
    return out[:max_size] if max_size else out


def libfuzzer_or_generic(data: bytes, max_size: int, seed: int) -> bytes:
    """libFuzzer's own mutation when running under atheris, else ``mutate_bytes``."""
    if UNDER_ATHERIS:
        import atheris

        return atheris.Mutate(data, max_size)
    return mutate_bytes(data, random.Random(seed), max_size)
