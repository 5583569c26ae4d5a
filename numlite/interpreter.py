"""``Interpreter``: a drop-in for LiteRT's ``ai_edge_litert.interpreter.Interpreter``."""

from __future__ import annotations

import enum
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import strings
from .errors import InterpreterBusyError, ResizeError
from .executor import Runtime, SubgraphExecutor
from .graph import MAX_RANK, Model, load_model
from .ops.registry import OpResolver


class OpResolverType(enum.Enum):
    """Accepted for compatibility.  numlite has one set of kernels, which match LiteRT's
    reference kernels, so every value selects them."""

    AUTO = 0
    BUILTIN = 1
    BUILTIN_REF = 2
    BUILTIN_WITHOUT_DEFAULT_DELEGATES = 3


class Interpreter:
    """Runs a TFLite model on NumPy with the API of LiteRT's Python ``Interpreter``.

    Args:
      model_path: path of a ``.tflite`` file, read into memory once (later changes to the file
        change nothing; ``mmap=True`` maps it instead).
      model_content: the model as ``bytes``.
      experimental_delegates: numlite delegates (``numlite.load_delegate``, ``numlite.Delegate``),
        applied in order when the interpreter is built (``numlite.delegates``); off with
        ``experimental_preserve_all_tensors``.
      num_threads: threads for the kernels and BLAS (default 1).
      experimental_op_resolver_type: accepted for compatibility (see ``OpResolverType``).
      experimental_preserve_all_tensors: give every tensor its own memory so that all
        intermediate results can be read after ``invoke()``; results do not change (no fusion,
        no delegation).
      custom_ops: numlite extension: ``{name: Kernel subclass}`` for this interpreter: a custom
        op's custom code, or a builtin operator's name (``"CONV_2D"``) to run that builtin with
        the given kernel instead of numlite's.
      mmap: numlite extension: memory-map ``model_path`` instead of reading it into memory (see
        :func:`numlite.load_model`: no copy and pages shared between processes, but the file
        must not be changed in place while the interpreter lives).

    One interpreter serves one thread at a time: a call on it (``invoke``, ``set_tensor``,
    ``get_tensor``, ``allocate_tensors``, ``resize_tensor_input``, the resets, a signature
    runner) while another thread's call has not returned raises
    :class:`~numlite.errors.InterpreterBusyError` (a RuntimeError) rather than computing on half
    written tensors; make one interpreter per thread.  ``cancel()`` is the one method meant for
    another thread.
    """

    def __init__(self, model_path: str | os.PathLike | None = None, model_content: bytes | None = None,
                 experimental_delegates: Sequence[Any] | None = None, num_threads: int | None = None,
                 experimental_op_resolver_type: Any = OpResolverType.AUTO,
                 experimental_preserve_all_tensors: bool = False,
                 custom_ops: dict[str, type] | None = None, mmap: bool = False, **experimental: Any):
        if model_path is None and model_content is None:
            raise ValueError("`model_path` or `model_content` must be specified.")
        if model_path is not None and model_content is not None:
            raise ValueError("Can't both provide `model_path` and `model_content`")
        if num_threads is not None:
            if not isinstance(num_threads, int):  # bool is an int, as LiteRT accepts it
                raise ValueError("type of num_threads should be int")
            if num_threads < 1:
                raise ValueError("num_threads should >= 1")
        delegates = list(experimental_delegates or ())
        from .delegates import Delegate

        for d in delegates:
            if not isinstance(d, Delegate):
                raise ValueError(f"experimental_delegates takes numlite delegates (numlite.load_delegate or a "
                                 f"numlite.delegates.Delegate); got {d!r} (LiteRT's shared-library delegates cannot "
                                 "run in numlite)")
        if not isinstance(experimental_op_resolver_type, OpResolverType):
            name = getattr(experimental_op_resolver_type, "name", None)
            if name not in OpResolverType.__members__:
                raise ValueError(
                    f"Unrecognized passed in op resolver type: {experimental_op_resolver_type}")
        if mmap and model_path is None:
            raise ValueError("mmap=True maps a model_path; model_content is already in memory")
        #: one call at a time (see the class docstring); the lock is only ever tried, never waited on
        self._busy = threading.Lock()
        self._model: Model = load_model(model_path, model_content, mmap=bool(mmap))
        self._num_threads = int(num_threads or 1)
        self._preserve = bool(experimental_preserve_all_tensors)
        self._resolver = self._make_resolver(custom_ops)
        #: whether any tensor is floating point: then NumPy's IEEE warnings are silenced around
        #: invoke (quantized kernels compute in float too, but never reach inf / nan)
        self._float_model = any(t.dtype is not None and np.dtype(t.dtype).kind in "fc"
                                for sg in self._model.subgraphs for t in sg.tensors)
        self._runtime = Runtime(self._model, self._resolver, self._num_threads, self._preserve, delegates,
                                None if model_path is None else os.fspath(model_path))
        self._executors = self._runtime.executors
        self._main = self._executor(0)
        self._signatures = {s.key: s for s in self._model.signature_defs}
        self._dirty: set[int] = {0}

    # -- internals -------------------------------------------------------------------------
    def _enter(self, what: str) -> None:
        """Take the interpreter for one call, or raise InterpreterBusyError naming the call."""
        if not self._busy.acquire(False):
            raise InterpreterBusyError(
                f"Interpreter.{what}() was called while another call on this interpreter is running (from "
                "another thread, or from inside one of its kernels); one Interpreter serves one thread at a "
                "time: make one per thread, or hold a lock around each set_tensor / invoke / get_tensor sequence")

    def _make_resolver(self, custom_ops: dict[str, type] | None) -> OpResolver:
        return OpResolver(custom_ops)

    def _executor(self, index: int) -> SubgraphExecutor:
        return self._runtime.executor(index)

    def _subgraph_executor(self, subgraph_index: int) -> SubgraphExecutor:
        n = len(self._model.subgraphs)
        if not isinstance(subgraph_index, (int, np.integer)) or not 0 <= subgraph_index < n:
            raise ValueError(f"subgraph_index is out of range: {subgraph_index} for the model, "
                             f"which has {n} subgraphs.")
        return self._executor(int(subgraph_index))

    def _check_tensor_index(self, ex: SubgraphExecutor, tensor_index: Any) -> int:
        n = len(ex.subgraph.tensors)
        if isinstance(tensor_index, bool) or not isinstance(tensor_index, (int, np.integer)):
            # LiteRT's binding raises TypeError for a non-integer index
            raise TypeError(f"Invalid tensor index {tensor_index!r}: expected an int")
        i = int(tensor_index)
        if not 0 <= i < n:
            raise ValueError(f"Invalid tensor index {i} exceeds max tensor index {n - 1}")
        return i

    # -- lifecycle ------------------------------------------------------------------------
    def allocate_tensors(self) -> None:
        """Prepare every node for the current input shapes and plan the tensor arena.

        As LiteRT's, a call when nothing needs it (already allocated, no input resized since)
        changes nothing: tensor values, variable state and random ops' streams carry on."""
        self._enter("allocate_tensors")
        try:
            if self._main.allocated and 0 not in self._dirty:
                return
            with np.errstate(all="ignore"):  # constant folding runs steps: IEEE results, no warnings
                self._main.allocate()
            self._dirty.discard(0)
        finally:
            self._busy.release()

    def invoke(self) -> None:
        """Run the model on the current inputs.  Floating-point results that reach inf or nan are
        IEEE results, as in LiteRT: NumPy's warnings about them are silenced for the whole run
        (once here, not per op).

        Interruptible: ``cancel()`` from another thread, or Ctrl-C (KeyboardInterrupt), stops a
        running invoke - a WHILE that never ends included - and leaves the interpreter usable
        (outputs and variable state are then undefined until the next complete invoke)."""
        if not self._main.allocated or 0 in self._dirty:
            raise RuntimeError("Invoke called on model that is not ready: call allocate_tensors() first"
                               + (" (inputs were resized)" if self._main.allocated else ""))
        if not self._busy.acquire(False):
            self._enter("invoke")  # raises
        try:
            self._runtime.cancel_requested = False
            if self._float_model:
                with np.errstate(all="ignore"):
                    self._main.invoke()
            else:  # integer-only models (fully quantized, int I/O) skip the context (~0.9 us)
                self._main.invoke()
        finally:
            self._busy.release()

    def cancel(self) -> None:
        """numlite extension (LiteRT's C++ ``Interpreter::Cancel``): stop the ``invoke()`` running
        now, from any thread.  It raises :class:`~numlite.errors.InvokeCancelled` (a RuntimeError)
        at the next subgraph entry - every iteration of a WHILE, every IF branch - so a loop that
        never ends stops within one iteration; a graph without control flow finishes its invoke.
        An invoke that starts after ``cancel()`` returns runs normally."""
        self._runtime.cancel_requested = True

    def reset_all_variables(self) -> None:
        """Reset every variable tensor (``is_variable``: LSTM/RNN state, ...) to its initial value,
        as LiteRT does.  Like LiteRT's, it leaves resource variables (VAR_HANDLE /
        ASSIGN_VARIABLE) and hash tables as they are: ``reset_resource_variables()`` resets those."""
        self._enter("reset_all_variables")
        try:
            for ex in self._runtime.all_executors():
                ex.reset_variables()
        finally:
            self._busy.release()

    def reset_resource_variables(self) -> None:
        """numlite extension: forget every resource variable and hash table, so that the model's
        initialization (its CALL_ONCE subgraph, which assigns the initial values) runs again at
        the next ``invoke()``: the state of a freshly constructed interpreter, without rebuilding
        it.  Streaming models keep their state in resource variables; call this between streams."""
        self._enter("reset_resource_variables")
        try:
            self._runtime.reset_resources()
        finally:
            self._busy.release()

    def num_subgraphs(self) -> int:
        return len(self._model.subgraphs)

    # -- tensors --------------------------------------------------------------------------
    def _details(self, ex: SubgraphExecutor, i: int) -> dict[str, Any]:
        t = ex.subgraph.tensors[i]
        q = t.quantization
        shape = np.array(ex.shapes[i], dtype=np.int32)
        sig = np.array(t.shape_signature, dtype=np.int32) if t.shape_signature != t.shape else shape.copy()
        legacy = (float(q.scales[0]), int(q.zero_points[0])) if q.scales.size == 1 else (0.0, 0)
        dtype = ex.dtypes[i]
        if t.type_name == "STRING":
            dtype = np.bytes_  # as LiteRT reports string tensors
        elif t.type_name in _OBJECT_TYPES:
            dtype = None
        return {
            "name": t.name,
            "index": i,
            "shape": shape,
            "shape_signature": sig,
            # LiteRT reports resource and variant tensors as np.object_
            "dtype": dtype if dtype is not None else (np.object_ if t.type_name in _OBJECT_TYPES else None),
            "quantization": legacy,
            "quantization_parameters": {
                "scales": np.array(q.scales, dtype=np.float32),
                "zero_points": np.array(q.zero_points, dtype=np.int32),
                "quantized_dimension": int(q.quantized_dimension),
                "block_size": 0,
            },
            "sparsity_parameters": _sparsity_dict(t.sparsity),
        }

    def _get_tensor_details(self, tensor_index: int, subgraph_index: int) -> dict[str, Any]:
        ex = self._subgraph_executor(subgraph_index)
        return self._details(ex, self._check_tensor_index(ex, tensor_index))

    def get_input_details(self) -> list[dict[str, Any]]:
        return [self._details(self._main, i) for i in self._main.subgraph.inputs]

    def get_output_details(self) -> list[dict[str, Any]]:
        return [self._details(self._main, i) for i in self._main.subgraph.outputs]

    def get_tensor_details(self, subgraph_index: int = 0) -> list[dict[str, Any]]:
        ex = self._subgraph_executor(subgraph_index)
        return [self._details(ex, i) for i in range(len(ex.subgraph.tensors))]

    def set_tensor(self, tensor_index: int, value: Any) -> None:
        """Copy ``value`` into a tensor.  No casting, no broadcasting: dtype and shape must match.
        Any array layout is taken (non-contiguous, read-only, either byte order: numlite copies
        the values, where LiteRT copies a non-native byte order's raw bytes); ``value`` itself is
        never modified or kept."""
        self._enter("set_tensor")
        try:
            self._set_tensor(self._main, tensor_index, value)
        finally:
            self._busy.release()

    def _set_tensor(self, ex: SubgraphExecutor, tensor_index: Any, value: Any) -> None:
        i = self._check_tensor_index(ex, tensor_index)
        t = ex.subgraph.tensors[i]
        if t.type_name == "STRING":
            self._set_string_tensor(ex, i, value)
            return
        if not isinstance(value, np.ndarray):
            value = np.asarray(value)
            if value.dtype == np.float64 and ex.dtypes[i] == np.float32:
                pass  # fall through to the dtype error, like LiteRT
        want = np.dtype(ex.dtypes[i]) if ex.dtypes[i] is not None else None
        if want is None or (value.dtype != want and value.dtype.newbyteorder("=") != want):
            raise ValueError(
                f"Cannot set tensor: Got value of type {value.dtype.name.upper()} but expected type "
                f"{want.name.upper() if want is not None else t.type_name} for input {i}, name: {t.name} ")
        shape = ex.shapes[i]
        if value.ndim != len(shape):
            raise ValueError(
                f"Cannot set tensor: Dimension mismatch. Got {value.ndim} but expected {len(shape)} "
                f"for input {i} (name: {t.name}, expected shape {list(shape)}, got {list(value.shape)}).")
        for d, (got, exp) in enumerate(zip(value.shape, shape)):
            if got != exp:
                raise ValueError(
                    f"Cannot set tensor: Dimension mismatch. Got {got} but expected {exp} for dimension "
                    f"{d} of input {i} (name: {t.name}, expected shape {list(shape)}, got "
                    f"{list(value.shape)}).")
        buf = ex.buffers[i]
        if buf is None or not ex.allocated:
            if i in ex.known or t.data is not None and not t.is_variable and i not in ex.subgraph.inputs:
                raise ValueError(f"Cannot set tensor {i} ({t.name}): it is a constant of the model")
            raise ValueError(f"Cannot set tensor {i} ({t.name}): call allocate_tensors() first")
        if not buf.flags.writeable:
            raise ValueError(f"Cannot set tensor {i} ({t.name}): it is a constant of the model")
        np.copyto(buf, value)

    def _set_string_tensor(self, ex: SubgraphExecutor, i: int, value: Any) -> None:
        t = ex.subgraph.tensors[i]
        try:
            arr = strings.as_string_array(value)
        except TypeError as e:
            kind = getattr(getattr(value, "dtype", None), "name", type(value).__name__).upper()
            raise ValueError(f"Cannot set tensor: Got value of type {kind} but expected type STRING for input "
                             f"{i}, name: {t.name} ({e})") from None
        shape = ex.shapes[i]
        if arr.shape != tuple(shape):
            raise ValueError(f"Cannot set tensor: Dimension mismatch. Got shape {list(arr.shape)} but expected "
                             f"{list(shape)} for input {i} (name: {t.name}).")
        buf = ex.buffers[i]
        if buf is None or not ex.allocated:
            raise ValueError(f"Cannot set tensor {i} ({t.name}): call allocate_tensors() first")
        if not buf.flags.writeable:
            raise ValueError(f"Cannot set tensor {i} ({t.name}): it is a constant of the model")
        buf[...] = arr

    def get_tensor(self, tensor_index: int, subgraph_index: int = 0) -> Any:
        """A copy of a tensor's current value: an array, or for a 0-d tensor a NumPy scalar (as
        LiteRT returns it)."""
        self._enter("get_tensor")
        try:
            return self._get_tensor(tensor_index, subgraph_index)
        finally:
            self._busy.release()

    def _get_tensor(self, tensor_index: int, subgraph_index: int) -> Any:
        ex = self._subgraph_executor(subgraph_index)
        i = self._check_tensor_index(ex, tensor_index)
        buf = ex.buffers[i]
        if buf is None:
            t = ex.subgraph.tensors[i]
            if t.data is None:
                raise ValueError(f"Tensor data is null for tensor {i} ({t.name}): "
                                 "call allocate_tensors() first")
            buf = t.data
        return buf[()] if buf.ndim == 0 else np.array(buf)

    def tensor(self, tensor_index: int) -> Callable[[], np.ndarray]:
        """A function returning a view of the tensor's memory (valid until the next
        ``allocate_tensors()``)."""
        i = self._check_tensor_index(self._main, tensor_index)
        ex = self._main

        def view() -> np.ndarray:
            buf = ex.buffers[i]
            if buf is None:
                raise ValueError(f"Tensor {i} has no data: call allocate_tensors() first")
            return buf

        return view

    def resize_tensor_input(self, input_index: int, tensor_size: Any, strict: bool = False) -> None:
        """Change an input's shape; call ``allocate_tensors()`` afterwards.

        Refusals raise :class:`~numlite.errors.ResizeError` (a RuntimeError, as in LiteRT, and a
        ValueError); a ``tensor_size`` that is not 1-D is a ValueError, as in LiteRT.  Resizing
        to the current shape changes nothing (``invoke()`` still works, as in LiteRT)."""
        self._enter("resize_tensor_input")
        try:
            if self._resize(self._main, input_index, tensor_size, strict):
                self._dirty.add(0)
        finally:
            self._busy.release()

    def _resize(self, ex: SubgraphExecutor, input_index: Any, tensor_size: Any, strict: bool) -> bool:
        try:
            i = self._check_tensor_index(ex, input_index)
        except ValueError as e:
            raise ResizeError(str(e)) from None
        t = ex.subgraph.tensors[i]
        if i not in ex.subgraph.inputs:
            # LiteRT refuses constants ("fixed-size tensor") and accepts any other tensor, only
            # for prepare to overwrite the shape again; numlite refuses every non-input.
            raise ResizeError(f"Tensor {i} ({t.name}) is not an input of the model; "
                              f"inputs are {list(ex.subgraph.inputs)}")
        try:
            new = np.array(tensor_size)
        except (TypeError, ValueError):
            raise ValueError(f"tensor_size must be a sequence of ints, got {tensor_size!r}") from None
        if new.ndim != 1:
            raise ValueError(f"Shape should be 1D instead of {new.ndim}: got {tensor_size!r}")
        if new.size and not (np.issubdtype(new.dtype, np.integer) or np.issubdtype(new.dtype, np.floating)):
            raise ValueError(f"tensor_size must be a sequence of ints, got {tensor_size!r}")
        if new.size > MAX_RANK:
            raise ResizeError(f"Cannot resize input {i} ({t.name}) to {new.size} dimensions: numlite supports at "
                              f"most {MAX_RANK}")
        if new.dtype.kind == "f" and not np.array_equal(new, np.trunc(new)):
            raise ResizeError(f"Cannot resize input {i} ({t.name}) to {tensor_size!r}: dimensions must be "
                              "whole numbers")
        if new.size and (new.max() > np.iinfo(np.int32).max or new.min() < np.iinfo(np.int32).min):
            raise _DimensionOverflow(f"Cannot resize input {i} ({t.name}) to {tensor_size!r}: a dimension is "
                                     "beyond int32 (as in LiteRT, an OverflowError)")
        new = new.astype(np.int32)
        if (new < 0).any():
            raise ResizeError(f"Cannot resize input {i} ({t.name}) to {new.tolist()}: dimensions must be >= 0")
        new_t = tuple(int(d) for d in new)
        if strict:
            sig = t.shape_signature
            if len(sig) != len(new_t) or any(s != -1 and s != d for s, d in zip(sig, new_t)):
                raise ResizeError(
                    "ResizeInputTensorStrict only allows mutating unknown dimensions identified by -1: "
                    f"input {i} ({t.name}) has shape_signature {list(sig)}, requested {list(new_t)}")
        if new_t != ex.shapes[i]:
            ex.shapes[i] = new_t
            ex.allocated = False
            return True
        return False

    # -- ops ------------------------------------------------------------------------------
    def _get_op_details(self, op_index: int) -> dict[str, Any]:
        ops = self._main.subgraph.operators
        delegated = self._runtime.delegate_nodes[0]
        if not 0 <= int(op_index) < len(ops) + len(delegated):
            raise ValueError(f"Invalid node index {op_index}")
        ex = self._main
        # DELEGATE nodes (numlite.delegates) are numbered after the model's, as LiteRT numbers them
        op = ops[int(op_index)] if int(op_index) < len(ops) else delegated[int(op_index) - len(ops)]
        return {
            "index": int(op_index),
            "op_name": op.op_name,
            "inputs": np.array(op.inputs, dtype=np.int32),
            "outputs": np.array(op.outputs, dtype=np.int32),
            "operand_types": [ex.dtypes[i] for i in op.inputs if i != -1],
            "result_types": [ex.dtypes[i] for i in op.outputs if i != -1],
        }

    def _get_ops_details(self) -> list[dict[str, Any]]:
        n = len(self._main.subgraph.operators) + len(self._runtime.delegate_nodes[0])
        return [self._get_op_details(i) for i in range(n)]

    # -- signatures -----------------------------------------------------------------------
    def _get_full_signature_list(self) -> dict[str, dict[str, dict[str, int]]]:
        return {k: {"inputs": dict(sorted(s.inputs.items())), "outputs": dict(sorted(s.outputs.items()))}
                for k, s in sorted(self._signatures.items())}

    def get_signature_list(self) -> dict[str, dict[str, list[str]]]:
        return {k: {"inputs": list(v["inputs"]), "outputs": list(v["outputs"])}
                for k, v in self._get_full_signature_list().items()}

    def get_signature_runner(self, signature_key: str | None = None) -> SignatureRunner:
        if signature_key is None:
            if len(self._signatures) != 1:
                raise ValueError(
                    f"SignatureDef signature_key is None and model has {len(self._signatures)} Signatures. "
                    "None is only allowed when the model has 1 SignatureDef")
            signature_key = next(iter(self._signatures))
        return SignatureRunner(self, signature_key)

    # -- numlite extensions ---------------------------------------------------------------
    def memory_report(self) -> dict[str, int]:
        """Arena bytes against the no-reuse sum and the lower bound (after allocate_tensors)."""
        if self._main.plan is None:
            raise RuntimeError("call allocate_tensors() first")
        return self._main.plan.report()

    def memory_plan(self, subgraph_index: int = 0) -> dict[str, Any]:
        """numlite extension: where every tensor of a subgraph lives in its arena (after
        ``allocate_tensors``; other subgraphs once their caller prepared them):
        ``{"arena_bytes", "no_reuse_bytes", "lower_bound_bytes", "steps": [op name per execution
        step], "step_nodes": [op index per step], "buffers": [{"kind": "tensor" | "scratch",
        "tensor" | "node", "name", "offset", "bytes", "first_step", "last_step"}]}``.  Steps
        index the planned execution order; tensors alive throughout (inputs, outputs,
        variables) span every step.  Constants, folded tensors and strings are not in the arena
        and not listed."""
        ex = self._subgraph_executor(subgraph_index)
        if ex.plan is None:
            raise RuntimeError("call allocate_tensors() first" if subgraph_index == 0 else
                               f"subgraph {subgraph_index} is not planned (its caller has not prepared it)")
        names = [ex.kernels[n].node.op_name for n in ex.step_nodes]
        return {**ex.plan.report(), "steps": names, "step_nodes": list(ex.step_nodes),
                "buffers": [dict(b) for b in ex.layout]}

    @property
    def model(self) -> Model:
        return self._model


class InterpreterWithCustomOps(Interpreter):
    """LiteRT's ``InterpreterWithCustomOps``: an :class:`Interpreter` whose op resolver the
    ``custom_op_registerers`` extend before the model's ops are looked up.

    Each registerer is one of:
      - a callable taking the interpreter's ``OpResolver`` (it calls
        ``resolver.add_custom(name, Kernel)`` / ``resolver.add_builtin(op_name, Kernel)``);
      - a ``{name: Kernel subclass}`` dict (as ``custom_ops``);
      - a string: ``"package.module:function"`` names such a callable; ``"package.module"`` a
        module whose ``OPS`` dict is added (``"numlite.custom.smartreply"``, and the other
        ``numlite.custom`` modules).  (LiteRT's strings name C functions in its own library;
        numlite's name Python ones.)
    The other arguments are :class:`Interpreter`'s.
    """

    def __init__(self, custom_op_registerers: Sequence[Any] | None = None, **kwargs: Any):
        self._registerers = list(custom_op_registerers or ())
        super().__init__(**kwargs)

    def _make_resolver(self, custom_ops: dict[str, type] | None) -> OpResolver:
        resolver = OpResolver(custom_ops)
        for reg in self._registerers:
            if isinstance(reg, str):
                reg = _import_registerer(reg)
            if isinstance(reg, dict):
                for name, kernel in reg.items():
                    if name in OpResolver.builtin_names():
                        resolver.add_builtin(name, kernel)
                    else:
                        resolver.add_custom(name, kernel)
            elif callable(reg):
                reg(resolver)
            else:
                raise TypeError(f"a custom op registerer must be a callable, a dict or a string, got {reg!r}")
        return resolver


def _import_registerer(spec: str) -> Any:
    import importlib

    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(f"custom op registerer {spec!r}: cannot import {module_name!r} ({e})") from None
    if attr:
        if not hasattr(module, attr):
            raise ValueError(f"custom op registerer {spec!r}: {module_name} has no {attr!r}")
        return getattr(module, attr)
    ops = getattr(module, "OPS", None)
    if not isinstance(ops, dict):
        raise ValueError(f"custom op registerer {spec!r}: the module has no OPS dict; name a function "
                         "with 'module:function'")
    return ops


class SignatureRunner:
    """Callable running one SignatureDef: ``runner(x=array, ...) -> {output_name: array}``."""

    def __init__(self, interpreter: Interpreter | None = None, signature_key: str | None = None):
        if not interpreter:
            raise ValueError("None interpreter provided.")
        if not signature_key:
            raise ValueError("None signature_key provided.")
        if signature_key not in interpreter._signatures:
            raise ValueError(f'Invalid signature_key provided: "{signature_key}".')
        self._interpreter = interpreter
        self._sig = interpreter._signatures[signature_key]
        self._ex = interpreter._executor(self._sig.subgraph_index)
        self._inputs = dict(sorted(self._sig.inputs.items()))
        self._outputs = dict(sorted(self._sig.outputs.items()))

    def __call__(self, **kwargs: Any) -> dict[str, np.ndarray]:
        if len(kwargs) != len(self._inputs):
            raise ValueError(
                "Invalid number of inputs provided for running a SignatureDef, "
                f"expected {len(self._inputs)} vs provided {len(kwargs)}")
        ip = self._interpreter
        ip._enter(f"get_signature_runner({self._sig.key!r})")
        try:
            return self._run(ip, kwargs)
        finally:
            ip._busy.release()

    def _run(self, ip: Interpreter, kwargs: dict[str, Any]) -> dict[str, np.ndarray]:
        ip._runtime.cancel_requested = False
        for name, value in kwargs.items():
            if name not in self._inputs:
                raise ValueError(f"Invalid Input name ({name}) for SignatureDef; expected one of "
                                 f"{list(self._inputs)}")
            ip._resize(self._ex, self._inputs[name], np.shape(value), False)
        if not self._ex.allocated:
            with np.errstate(all="ignore"):
                self._ex.allocate()
            if self._ex is ip._main:
                ip._dirty.discard(0)
        for name, value in kwargs.items():
            ip._set_tensor(self._ex, self._inputs[name], value)
        with np.errstate(all="ignore"):  # IEEE inf / nan results, as Interpreter.invoke
            self._ex.invoke()
        return {name: np.array(self._ex.buffers[i]) for name, i in self._outputs.items()}

    def get_input_details(self) -> dict[str, dict[str, Any]]:
        return {n: self._interpreter._details(self._ex, i) for n, i in self._inputs.items()}

    def get_output_details(self) -> dict[str, dict[str, Any]]:
        return {n: self._interpreter._details(self._ex, i) for n, i in self._outputs.items()}


_OBJECT_TYPES = ("RESOURCE", "VARIANT")


class _DimensionOverflow(ResizeError, OverflowError):
    """A ``resize_tensor_input`` dimension beyond int32: LiteRT's OverflowError, and numlite's
    ResizeError."""



def _sparsity_dict(sp: Any) -> dict[str, Any]:
    if not sp:
        return {}
    out: dict[str, Any] = {}
    if sp.get("traversal_order") is not None:
        out["traversal_order"] = np.array(sp["traversal_order"], dtype=np.int32)
    if sp.get("block_map") is not None:
        out["block_map"] = np.array(sp["block_map"], dtype=np.int32)
    dims = []
    for dm in sp.get("dim_metadata") or []:
        if dm.get("format", 0) == 0:
            dims.append({"format": 0, "dense_size": int(dm.get("dense_size") or 0)})
        else:
            # a union table without its values vector (which DENSIFY refuses) reports as empty
            seg = (dm.get("array_segments") or {}).get("values")
            idx = (dm.get("array_indices") or {}).get("values")
            dims.append({"format": 1,
                         "array_segments": np.array([] if seg is None else seg, dtype=np.int32),
                         "array_indices": np.array([] if idx is None else idx, dtype=np.int32)})
    out["dim_metadata"] = dims
    return out
