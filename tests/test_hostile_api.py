"""Hostile use of the API: odd arrays, absurd shapes, files that are not model files or change
after loading, one interpreter from two threads, deep subgraph nesting, loops that never end.

Each case must end in one of numlite's documented errors with a message that says what was
expected, or in a correct result - never a crash, a hang, a wrong result or a modified argument.
"""

from __future__ import annotations

import os
import socket
import stat
import sys
import threading
import time

import numpy as np
import pytest
from test_control_flow import counter_loop, feed, outputs
from util import In, Out, single_op_model

import numlite
from numlite.builder import ModelBuilder
from numlite.errors import ResizeError
from numlite.executor import memory_limit
from numlite.graph import MAX_CALL_DEPTH
from numlite.ops.base import Kernel

ADD = single_op_model("ADD", [In((2, 3)), In((2, 3))], Out((2, 3)))


def add_interpreter(**kw) -> numlite.Interpreter:
    it = numlite.Interpreter(model_content=ADD, **kw)
    it.allocate_tensors()
    return it


# -- set_tensor -----------------------------------------------------------------------------

def test_set_tensor_refuses_object_arrays_naming_the_expected_type():
    it = add_interpreter()
    for value in (np.array([[1, 2, 3], [4, 5, None]], dtype=object), None, "abc", {"a": 1}):
        with pytest.raises(ValueError, match="expected type FLOAT32 for input 0"):
            it.set_tensor(0, value)


@pytest.mark.parametrize("kind", ["non-contiguous", "read-only", "big-endian", "fortran", "masked", "subclass"])
def test_set_tensor_takes_any_layout_and_never_modifies_the_argument(kind):
    base = np.arange(6, dtype=np.float32).reshape(2, 3)
    if kind == "non-contiguous":
        value = np.repeat(base, 2, axis=1)[:, ::2]
    elif kind == "read-only":
        value = base.copy()
        value.flags.writeable = False
    elif kind == "big-endian":  # LiteRT copies the raw bytes (garbage); numlite the values
        value = base.astype(">f4")
    elif kind == "fortran":
        value = np.asfortranarray(base)
    elif kind == "masked":
        value = np.ma.array(base, mask=np.zeros_like(base, bool))
    else:
        value = base.view(np.matrix)
    before = np.array(value, copy=True)
    it = add_interpreter()
    it.set_tensor(0, value)
    it.set_tensor(1, value)
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), base * 2)
    np.testing.assert_array_equal(np.asarray(value), before)
    # the interpreter keeps no reference to the caller's array
    assert not np.shares_memory(it.tensor(0)(), np.asarray(value))


def test_set_tensor_with_an_enormous_array_is_a_shape_error_without_allocating():
    it = add_interpreter()
    huge = np.broadcast_to(np.float32(1), (1 << 40, 1 << 20))  # a view: 2**60 elements, no memory
    with pytest.raises(ValueError, match=r"Dimension mismatch.*expected shape \[2, 3\]"):
        it.set_tensor(0, huge)
    with pytest.raises(ValueError, match="Dimension mismatch. Got 7 but expected 2"):
        it.set_tensor(0, np.zeros((2, 3) + (1,) * 5, np.float32))


# -- resize_tensor_input ----------------------------------------------------------------------

def test_resize_to_zero_elements_runs_and_gives_empty_outputs():
    it = numlite.Interpreter(model_content=ADD)
    for i in (0, 1):
        it.resize_tensor_input(i, [0, 3])
    it.allocate_tensors()
    for i in (0, 1):
        it.set_tensor(i, np.zeros((0, 3), np.float32))
    it.invoke()
    assert it.get_tensor(it.get_output_details()[0]["index"]).shape == (0, 3)


@pytest.mark.parametrize("dims, error, fragment", [
    ([-1, 3], ResizeError, "dimensions must be >= 0"),
    ([2, -(2**31)], ResizeError, "dimensions must be >= 0"),
    ([2**40, 3], OverflowError, "beyond int32"),  # LiteRT's OverflowError, also a ResizeError
    ([2, 3.5], ResizeError, "whole numbers"),
    ([2, float("nan")], ResizeError, "whole numbers"),
    ([2, float("inf")], OverflowError, "beyond int32"),
    ([1] * 65, ResizeError, "at most 64"),
    ([[2, 3]], ValueError, "Shape should be 1D"),
    (["a", "b"], ValueError, "sequence of ints"),
])
def test_resize_refuses_bad_dimensions_saying_why(dims, error, fragment):
    it = add_interpreter()
    with pytest.raises(error, match=fragment) as e:
        it.resize_tensor_input(0, dims)
    assert isinstance(e.value, (ResizeError, ValueError))
    it.invoke()  # the refused resize changed nothing


@pytest.mark.parametrize("dims", [[2**31 - 1, 3], [2**31 - 1, 2**31 - 1], [65536, 65536]])
def test_resize_beyond_memory_is_refused_at_allocate_naming_the_bytes(dims):
    it = numlite.Interpreter(model_content=ADD)
    it.resize_tensor_input(0, dims)
    it.resize_tensor_input(1, dims)
    with pytest.raises(RuntimeError, match=r"byte.*more than this machine.s \d+ bytes of memory"):
        it.allocate_tensors()
    # back to a sane shape, the interpreter works again
    it.resize_tensor_input(0, [2, 3])
    it.resize_tensor_input(1, [2, 3])
    it.allocate_tensors()
    it.invoke()


# -- model_path that is not a model file ------------------------------------------------------

def _load_in_thread(path, timeout=10.0):
    """Load ``path`` in a thread, so that a regression that blocks (a FIFO) fails the test
    instead of hanging the suite; the outcome: the exception raised or the interpreter."""
    box: list = []

    def target():
        try:
            box.append(numlite.Interpreter(model_path=path))
        except BaseException as e:  # noqa: BLE001 - handed to the test
            box.append(e)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"loading {path!r} blocked for {timeout} s"
    return box[0]


def test_model_path_that_is_a_directory_fifo_socket_or_device(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    sock_path = tmp_path / "sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    try:
        cases = {tmp_path: "a directory", fifo: "a FIFO", "/dev/zero": "a character device",
                 "/dev/null": "a character device", sock_path: "a socket"}
        for path, kind in cases.items():
            e = _load_in_thread(path)
            assert isinstance(e, ValueError) and f"it is {kind}" in str(e) and str(path) in str(e), (path, e)
    finally:
        sock.close()


def test_model_path_missing_empty_or_unreadable(tmp_path):
    e = _load_in_thread(tmp_path / "missing.tflite")
    assert isinstance(e, ValueError) and "No such file" in str(e)
    empty = tmp_path / "empty.tflite"
    empty.write_bytes(b"")
    e = _load_in_thread(empty)
    assert isinstance(e, numlite.ModelError) and "is empty" in str(e)
    locked = tmp_path / "locked.tflite"
    locked.write_bytes(ADD)
    locked.chmod(0)
    if os.geteuid() != 0:  # root reads any file
        e = _load_in_thread(locked)
        assert isinstance(e, ValueError) and "Permission denied" in str(e)


def test_model_path_without_read_permission(tmp_path, monkeypatch):
    """What a user without read permission gets (CI runs as root, which reads any file: the
    refusal is simulated by making open(2) fail as the OS would)."""
    locked = tmp_path / "locked.tflite"
    locked.write_bytes(ADD)
    real_open = os.open

    def denied(path, flags, *args, **kw):
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(locked))
        return real_open(path, flags, *args, **kw)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(ValueError, match=r"Could not open '.*locked.tflite': Permission denied"):
        numlite.Interpreter(model_path=locked)


def test_a_file_larger_than_memory_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.tflite"
    with open(big, "wb") as f:
        f.write(ADD)
        f.truncate(memory_limit() + 4096)  # sparse: nothing is written
    t0 = time.perf_counter()
    e = _load_in_thread(big)
    assert isinstance(e, numlite.ModelError) and "more than this machine's" in str(e)
    assert time.perf_counter() - t0 < 5


# -- the file changed after loading -------------------------------------------------------------

def _run_add(it) -> np.ndarray:
    it.allocate_tensors()
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    it.set_tensor(0, x)
    it.set_tensor(1, x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def conv_model() -> bytes:
    """A model whose constants (weights) live in the file: what a changed file would corrupt."""
    mb = ModelBuilder()
    x = mb.input("x", (1, 4, 4, 2), np.float32)
    w = mb.const("w", np.arange(36, dtype=np.float32).reshape(2, 3, 3, 2) / 10)
    b = mb.const("b", np.array([0.5, -0.5], np.float32))
    y = mb.tensor("y", (1, 4, 4, 2), np.float32)
    mb.op("CONV_2D", [x, w, b], [y], padding="SAME", stride_w=1, stride_h=1)
    mb.output(y)
    return mb.build()


def _run_conv(it) -> np.ndarray:
    it.allocate_tensors()
    it.set_tensor(0, np.linspace(-1, 1, 32, dtype=np.float32).reshape(1, 4, 4, 2))
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


@pytest.mark.parametrize("change", ["truncate", "overwrite", "delete", "replace"])
def test_changing_the_file_after_loading_changes_nothing(tmp_path, change):
    """By default the file is read once: whatever happens to it later, the interpreter (and one
    made before the change) computes as before."""
    model = conv_model()
    path = tmp_path / "m.tflite"
    path.write_bytes(model)
    it = numlite.Interpreter(model_path=path)
    before = _run_conv(it)
    if change == "truncate":
        os.truncate(path, 0)
    elif change == "overwrite":  # same size, other bytes: in place, as `cp` or open('wb') does
        with open(path, "r+b") as f:
            f.write(bytes(len(model)))
    elif change == "delete":
        path.unlink()
    else:
        other = tmp_path / "other.tflite"
        other.write_bytes(ADD)
        os.replace(other, path)
    np.testing.assert_array_equal(_run_conv(it), before)
    it2 = numlite.Interpreter(model_content=model)
    np.testing.assert_array_equal(_run_conv(it2), before)


def test_mmap_survives_an_atomic_replace(tmp_path):
    """With mmap=True the file must not change in place; replacing it atomically (a new file
    renamed over it) is safe: the mapping keeps the old file's pages."""
    path = tmp_path / "m.tflite"
    path.write_bytes(conv_model())
    it = numlite.Interpreter(model_path=path, mmap=True)
    before = _run_conv(it)
    tmp = tmp_path / "new.tflite"
    tmp.write_bytes(ADD)
    os.replace(tmp, path)
    np.testing.assert_array_equal(_run_conv(it), before)
    np.testing.assert_array_equal(_run_add(numlite.Interpreter(model_path=path)),
                                  2 * np.arange(6, dtype=np.float32).reshape(2, 3))


def test_a_file_that_shrinks_between_stat_and_read_is_a_clean_error(tmp_path, monkeypatch):
    """The size is taken from fstat before reading: a file cut short meanwhile gives the bytes
    that were there, which the verifier then refuses as truncated."""
    path = tmp_path / "m.tflite"
    model = conv_model()
    path.write_bytes(model)
    real_fstat = os.fstat

    def fstat_then_truncate(fd):
        st = real_fstat(fd)
        if stat.S_ISREG(st.st_mode) and st.st_size == len(model):
            os.truncate(path, len(model) // 2)
        return st

    monkeypatch.setattr(os, "fstat", fstat_then_truncate)
    with pytest.raises(numlite.ModelError):
        numlite.Interpreter(model_path=path)


def test_the_file_stamp_is_the_file_as_read_or_none_when_it_changed_during_the_read(tmp_path, monkeypatch):
    """Model.source_stamp (which caches key remembered digests on) describes the file numlite read;
    where the file is modified between the first fstat and the end of the read, there is none."""
    from numlite import graph

    path = tmp_path / "m.tflite"
    path.write_bytes(conv_model())
    st = os.stat(path)
    m = graph.load_model(str(path))
    assert m.source_stamp == f"{os.path.realpath(path)}\n{st.st_size} {st.st_mtime_ns} {st.st_ino} {st.st_dev}"
    assert graph.load_model(str(path), mmap=True).source_stamp == m.source_stamp
    assert graph.load_model(model_content=path.read_bytes()).source_stamp is None
    real_fstat, calls = os.fstat, [0]

    def fstat_then_touch(fd):
        calls[0] += 1
        if calls[0] == 2:  # the fstat after the read: someone wrote meanwhile
            os.utime(path, ns=(st.st_mtime_ns + 10**9, st.st_mtime_ns + 10**9))
        return real_fstat(fd)

    monkeypatch.setattr(os, "fstat", fstat_then_touch)
    changed = graph.load_model(str(path))
    assert changed.source_stamp is None and len(changed.subgraphs) == 1


# -- one interpreter, two threads ---------------------------------------------------------------

class Gate(Kernel):
    """A custom op that copies its input once ``release`` is set: holds an invoke() open."""

    entered = threading.Event()
    release = threading.Event()

    def prepare(self, ctx):
        x = ctx.input(0)
        ctx.set_output(0, x.shape, x.dtype)

    def bind(self, inputs, outputs, scratch):
        x, y = inputs[0], outputs[0]

        def step():
            Gate.entered.set()
            assert Gate.release.wait(10)
            np.copyto(y, x)

        return step


def gate_model() -> bytes:
    mb = ModelBuilder()
    x = mb.input("x", (3,), np.float32)
    y = mb.tensor("y", (3,), np.float32)
    mb.op("custom:Gate", [x], [y])
    z = mb.tensor("z", (3,), np.float32)
    mb.op("ADD", [y, x], [z])
    mb.output(z)
    mb.signature("serving_default", {"x": x}, {"z": z})
    return mb.build()


def test_a_second_thread_using_a_running_interpreter_gets_a_clear_error():
    Gate.entered.clear()
    Gate.release.clear()
    it = numlite.Interpreter(model_content=gate_model(), custom_ops={"Gate": Gate})
    it.allocate_tensors()
    it.set_tensor(0, np.array([1, 2, 3], np.float32))
    errors: list[BaseException] = []

    def first():
        try:
            it.invoke()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    t = threading.Thread(target=first)
    t.start()
    try:
        assert Gate.entered.wait(10)
        calls = {
            "invoke": it.invoke,
            "set_tensor": lambda: it.set_tensor(0, np.zeros(3, np.float32)),
            "get_tensor": lambda: it.get_tensor(2),
            "allocate_tensors": it.allocate_tensors,
            "resize_tensor_input": lambda: it.resize_tensor_input(0, [4]),
            "reset_all_variables": it.reset_all_variables,
            "reset_resource_variables": it.reset_resource_variables,
            "get_signature_runner('serving_default')": lambda: it.get_signature_runner()(x=np.zeros(3, np.float32)),
        }
        for name, call in calls.items():
            with pytest.raises(numlite.InterpreterBusyError, match="one Interpreter serves one thread") as e:
                call()
            assert f"Interpreter.{name.split('(')[0]}" in str(e.value) or name in str(e.value), (name, e.value)
            assert isinstance(e.value, RuntimeError)
    finally:
        Gate.release.set()
        t.join(10)
    assert not errors
    # the first thread's invoke computed on the inputs it was given, untouched by the refused calls
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), [2, 4, 6])
    it.set_tensor(0, np.array([5, 5, 5], np.float32))
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), [10, 10, 10])


class Reentrant(Kernel):
    """A custom op that calls its own interpreter's invoke(): refused, not a deadlock."""

    interpreter: numlite.Interpreter | None = None

    def prepare(self, ctx):
        x = ctx.input(0)
        ctx.set_output(0, x.shape, x.dtype)

    def bind(self, inputs, outputs, scratch):
        return lambda: Reentrant.interpreter.invoke()


def test_an_interpreter_invoked_from_inside_its_own_kernel_is_refused():
    mb = ModelBuilder()
    x = mb.input("x", (3,), np.float32)
    y = mb.tensor("y", (3,), np.float32)
    mb.op("custom:Reentrant", [x], [y])
    mb.output(y)
    it = numlite.Interpreter(model_content=mb.build(), custom_ops={"Reentrant": Reentrant})
    Reentrant.interpreter = it
    it.allocate_tensors()
    with pytest.raises(numlite.InterpreterBusyError, match="Interpreter.invoke"):
        it.invoke()
    Reentrant.interpreter = None


def test_interpreters_in_threads_compute_what_one_computes_alone():
    """One interpreter per thread (the supported way): four threads, 200 invokes each with their
    own inputs, give exactly the single-threaded results."""
    model = conv_model()
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((4, 200, 1, 4, 4, 2)).astype(np.float32)
    ref = numlite.Interpreter(model_content=model)
    ref.allocate_tensors()
    expected = np.empty((4, 200, 1, 4, 4, 2), np.float32)
    for t in range(4):
        for k in range(200):
            ref.set_tensor(0, xs[t, k])
            ref.invoke()
            expected[t, k] = ref.get_tensor(ref.get_output_details()[0]["index"])
    got = np.empty_like(expected)

    def worker(t):
        it = numlite.Interpreter(model_content=model)
        it.allocate_tensors()
        for k in range(200):
            it.set_tensor(0, xs[t, k])
            it.invoke()
            got[t, k] = it.get_tensor(it.get_output_details()[0]["index"])

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    np.testing.assert_array_equal(got, expected)


# -- deep nesting through subgraphs ---------------------------------------------------------------

def nested_if_chain(depth: int) -> bytes:
    """``depth`` subgraphs in one call chain: subgraph k's IF runs subgraph k + 1 (then) or a
    shared leaf (else); the deepest adds 1.  Subgraph 0 is the main graph."""
    mb = ModelBuilder()
    leaf = depth  # the else-branch of every IF, after the chain's subgraphs 0 .. depth - 1
    for k in range(depth):
        if k:
            mb.new_subgraph(f"level{k}")
        c = mb.input("c", (), np.bool_)
        x = mb.input("x", (3,), np.float32)
        y = mb.tensor("y", (3,), np.float32)
        if k < depth - 1:
            mb.op("IF", [c, c, x], [y], then_subgraph_index=k + 1, else_subgraph_index=leaf)
        else:
            mb.op("ADD", [x, mb.const("one", np.ones(3, np.float32))], [y])
        mb.output(y)
    mb.new_subgraph("leaf")
    mb.input("c", (), np.bool_)
    x = mb.input("x", (3,), np.float32)
    y = mb.tensor("y", (3,), np.float32)
    mb.op("NEG", [x], [y])
    mb.output(y)
    return mb.build()


def test_the_deepest_nesting_numlite_allows_runs_and_one_more_is_refused():
    it = numlite.Interpreter(model_content=nested_if_chain(MAX_CALL_DEPTH))
    it.allocate_tensors()
    it.set_tensor(0, np.array(True))
    it.set_tensor(1, np.array([1, 2, 3], np.float32))
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), [2, 3, 4])
    with pytest.raises(numlite.ModelError, match=f"chain of {MAX_CALL_DEPTH + 1} nested subgraph calls"):
        numlite.Interpreter(model_content=nested_if_chain(MAX_CALL_DEPTH + 1))


def test_deepest_nesting_runs_under_a_low_recursion_limit():
    """The deepest chain needs a bounded number of Python frames: it runs with the recursion
    limit at 600 (CPython's default is 1000), prepared and invoked in a fresh thread."""
    model = nested_if_chain(MAX_CALL_DEPTH)
    box: list = []

    def target():
        try:
            it = numlite.Interpreter(model_content=model)
            it.allocate_tensors()
            it.set_tensor(0, np.array(True))
            it.set_tensor(1, np.zeros(3, np.float32))
            it.invoke()
            box.append(it.get_tensor(it.get_output_details()[0]["index"]))
        except BaseException as e:  # noqa: BLE001
            box.append(e)

    old = sys.getrecursionlimit()
    sys.setrecursionlimit(600)
    try:
        t = threading.Thread(target=target)
        t.start()
        t.join(60)
    finally:
        sys.setrecursionlimit(old)
    assert isinstance(box[0], np.ndarray), box[0]
    np.testing.assert_array_equal(box[0], [1, 1, 1])


# -- loops that never end ------------------------------------------------------------------------

def test_cancel_stops_a_loop_that_never_ends_and_the_interpreter_stays_usable():
    it = numlite.Interpreter(model_content=counter_loop(limit=2**31 - 1))
    x = np.zeros(2, np.float32)
    feed(it, np.array(0, np.int32), x, x)
    timer = threading.Timer(0.3, it.cancel)
    t0 = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(numlite.InvokeCancelled, match="cancelled"):
            it.invoke()
    finally:
        timer.cancel()
    assert time.perf_counter() - t0 < 5
    # a cancel() before an invoke starts does not stop that invoke
    it.cancel()
    it.set_tensor(it.get_input_details()[0]["index"], np.array(2**31 - 3, np.int32))
    it.invoke()
    assert int(outputs(it)[0]) == 2**31 - 1


def test_cancel_stops_a_signature_runner_too():
    it = numlite.Interpreter(model_content=counter_loop(limit=2**31 - 1, signature=True))
    runner = it.get_signature_runner()
    timer = threading.Timer(0.3, it.cancel)
    timer.start()
    try:
        with pytest.raises(numlite.InvokeCancelled):
            runner(i=np.array(0, np.int32), x=np.zeros(2, np.float32), y=np.zeros(2, np.float32))
    finally:
        timer.cancel()
    out = runner(i=np.array(2**31 - 2, np.int32), x=np.ones(2, np.float32), y=np.zeros(2, np.float32))
    np.testing.assert_array_equal(out["x_out"], [2, 2])


def test_a_loop_that_doubles_a_tensor_stops_at_the_memory_available(monkeypatch):
    """A WHILE whose body concatenates a tensor with itself would allocate without end (the OS
    grants large allocations lazily and kills the process when they are written): every arena
    above CHECK_AVAILABLE_BYTES, and the loop variables, are checked against the memory available
    now.  Here "available" is made 64 MB so that the test itself stays small."""
    from numlite import executor

    monkeypatch.setattr(executor, "CHECK_AVAILABLE_BYTES", 1 << 20)
    monkeypatch.setattr(executor, "memory_available", lambda: 64 << 20)
    it = numlite.Interpreter(model_content=_with_loop_limit(2**31 - 1))
    it.allocate_tensors()
    it.set_tensor(0, np.array(0, np.int32))
    it.set_tensor(1, np.ones(1, np.float32))
    with pytest.raises(RuntimeError, match=r"bytes of memory available now"):
        it.invoke()
    # the interpreter stays usable
    monkeypatch.setattr(executor, "memory_available", lambda: 1 << 40)
    it.set_tensor(0, np.array(2**31 - 3, np.int32))
    it.invoke()
    assert it.get_tensor(it.get_output_details()[1]["index"]).shape == (4,)


def _with_loop_limit(limit: int) -> bytes:
    """test_control_flow.growing_loop (while i < lim: x = concat(x, x)) with another limit."""
    mb = ModelBuilder()
    i = mb.input("i", (), np.int32)
    x = mb.input("x", (1,), np.float32, shape_signature=(-1,))
    io = mb.tensor("io", (), np.int32)
    xo = mb.tensor("xo", (1,), np.float32, shape_signature=(-1,))
    mb.op("WHILE", [i, x], [io, xo], cond_subgraph_index=1, body_subgraph_index=2)
    mb.output(io, xo)
    mb.new_subgraph("cond")
    ci = mb.input("ci", (), np.int32)
    mb.input("cx", (1,), np.float32, shape_signature=(-1,))
    cb = mb.tensor("cb", (), np.bool_)
    mb.op("LESS", [ci, mb.const("lim", np.array(limit, np.int32))], [cb])
    mb.output(cb)
    mb.new_subgraph("body")
    bi = mb.input("bi", (), np.int32)
    bx = mb.input("bx", (1,), np.float32, shape_signature=(-1,))
    bio = mb.tensor("bio", (), np.int32)
    bxo = mb.tensor("bxo", (2,), np.float32, shape_signature=(-1,))
    mb.op("ADD", [bi, mb.const("one", np.array(1, np.int32))], [bio])
    mb.op("CONCATENATION", [bx, bx], [bxo], axis=0)
    mb.output(bio, bxo)
    return mb.build()


@pytest.mark.parametrize("op", ["WHILE", "IF", "CALL_ONCE", "STABLEHLO_COMPOSITE", "STABLEHLO_WHILE"])
def test_a_control_flow_op_without_options_calls_subgraph_0_and_is_a_cycle_at_load(op):
    """Its kernel reads the absent subgraph indices as 0 (the FlatBuffers default): in subgraph 0
    that is a call cycle, refused by the loader (it was found by preparing, by fuzz_control_flow)."""
    mb = ModelBuilder()
    i = mb.input("i", (), np.int32)
    o = mb.tensor("o", (), np.int32)
    mb.op(op, [] if op == "CALL_ONCE" else [i], [] if op == "CALL_ONCE" else [o])
    mb.output(i if op == "CALL_ONCE" else o)
    with pytest.raises(numlite.ModelError, match="calls subgraph 0.*cycle"):
        numlite.Interpreter(model_content=mb.build())
