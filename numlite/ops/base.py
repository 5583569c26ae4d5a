"""Kernel interface shared by every op.

A kernel lives in three phases, following TFLite's Init / Prepare / Eval split:

1. ``__init__(node, options)``: once per model load; reads the parsed builtin options.
2. ``prepare(ctx)``: at every ``allocate_tensors()``.  Checks dtypes and shapes, sets output
   shapes with ``ctx.set_output``, precomputes everything that does not depend on input
   values (padding, index tables, re-laid-out weights, activation ranges) and requests
   scratch buffers with ``ctx.scratch``.  An output whose *value* is known now (``SHAPE``)
   is published with ``ctx.set_output_value``.
3. ``bind(inputs, outputs, scratch)``: after memory planning, with the planned arena views.
   Returns a zero-argument callable that computes the op into ``outputs`` and allocates
   nothing it can avoid.  The interpreter's invoke loop only calls these callables.

Nodes whose inputs are all known at prepare time (constants, or values published by
``set_output_value``) are evaluated once during ``allocate_tensors`` and leave the invoke
loop (``foldable = False`` opts out, e.g. for stateful or random ops).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..graph import NO_QUANTIZATION, Operator, Quantization, options_defaults
from ..schema.reader import Table

Step = Callable[[], None]


class PrepareError(RuntimeError):
    """A node cannot run with the tensors it was given (raised by ``allocate_tensors``)."""


@dataclass
class TensorSpec:
    """What ``prepare`` knows of a tensor: its index, dtype, shape and, if known, value."""

    index: int
    name: str
    dtype: Any
    shape: tuple[int, ...]
    quantization: Quantization = NO_QUANTIZATION
    value: np.ndarray | None = None
    is_variable: bool = False
    #: the tensor's sparsity parameters (a decoded ``SparsityParameters`` table) or None
    sparsity: Any = None
    #: the schema's TensorType name (e.g. "INT4" for a constant unpacked to int8 at load)
    type_name: str | None = None
    #: the shape is only known at invoke (the output of a data-dependent op, or downstream of one);
    #: ``shape`` is then the last shape seen, or the model's declared shape before any invoke
    dynamic: bool = False

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def describe(self) -> str:
        return f"tensor {self.index} '{self.name}' ({np.dtype(self.dtype).name}{list(self.shape)})"


class PrepareContext:
    """Passed to ``Kernel.prepare``: the node's tensors and the ways to declare outputs."""

    def __init__(self, node: Operator, inputs: list[TensorSpec | None], outputs: list[TensorSpec],
                 num_threads: int, pool: Any = None, runtime: Any = None, subgraph: int = 0):
        self.node = node
        self.inputs = inputs
        self.outputs = outputs
        self.num_threads = num_threads
        #: a ``concurrent.futures.ThreadPoolExecutor`` with ``num_threads`` workers, or None
        #: when single-threaded; kernels split large work across it (NumPy releases the GIL).
        self.pool = pool
        #: the interpreter-wide ``executor.Runtime``: other subgraphs (control flow), resource
        #: variables and hash tables
        self.runtime = runtime
        #: the index of the subgraph this node belongs to (for error messages)
        self.subgraph = subgraph
        self.scratch_specs: list[tuple[tuple[int, ...], Any]] = []
        self.known_outputs: dict[int, np.ndarray] = {}
        self.dynamic_outputs: set[int] = set()
        #: only the output shapes and dtypes are wanted (a delegate's shape inference): a kernel
        #: may skip its costly precomputation (weight re-layouts); it is never bound
        self.shapes_only = False

    # -- declaring results ---------------------------------------------------------------
    def set_output(self, i: int, shape: Sequence[int], dtype: Any = None) -> None:
        shape = tuple(int(d) for d in shape)
        if any(d < 0 for d in shape):
            self.fail(f"computed a negative output shape {list(shape)}")
        out = self.outputs[i]
        out.shape = shape
        if dtype is not None:
            out.dtype = dtype

    def set_output_dynamic(self, i: int, dtype: Any = None) -> None:
        """Output ``i``'s shape depends on input values: it is known only when the step runs.

        In ``bind`` the output then arrives as a :class:`DynamicOutput`; the step must call its
        ``set(array)`` every time it runs.  Nodes downstream are prepared again, during invoke,
        whenever the shape differs from the one they were prepared with (as TFLite does with
        dynamic tensors), so they see ordinary arrays."""
        out = self.outputs[i]
        if dtype is not None:
            out.dtype = dtype
        out.dynamic = True
        self.dynamic_outputs.add(i)

    def set_output_value(self, i: int, value: np.ndarray) -> None:
        value = np.asarray(value, dtype=self.outputs[i].dtype)
        self.set_output(i, value.shape)
        self.known_outputs[i] = value

    def scratch(self, shape: Sequence[int], dtype: Any) -> int:
        """Request a scratch buffer alive only during this node; returns its slot in ``bind``."""
        self.scratch_specs.append((tuple(int(d) for d in shape), np.dtype(dtype)))
        return len(self.scratch_specs) - 1

    # -- checks ----------------------------------------------------------------------------
    def fail(self, message: str) -> PrepareError:
        where = f"node {self.node.index}" + (f" of subgraph {self.subgraph}" if self.subgraph else "")
        raise PrepareError(f"{self.node.op_name} ({where}): {message}")

    def input(self, i: int, optional: bool = False) -> TensorSpec | None:
        if i >= len(self.inputs) or self.inputs[i] is None:
            if optional:
                return None
            self.fail(f"input {i} is missing (the op has {len(self.inputs)} inputs)")
        return self.inputs[i]

    def expect_inputs(self, lo: int, hi: int | None = None) -> None:
        hi = lo if hi is None else hi
        if not lo <= len(self.inputs) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            self.fail(f"expects {want} inputs, got {len(self.inputs)}")

    def expect_dtype(self, spec: TensorSpec, allowed: Sequence[Any], role: str = "input") -> None:
        if np.dtype(spec.dtype) not in [np.dtype(a) for a in allowed]:
            names = ", ".join(np.dtype(a).name for a in allowed)
            self.fail(f"{role} {spec.describe()} has type {np.dtype(spec.dtype).name}; supported: {names}")

    def expect_rank(self, spec: TensorSpec, ranks: Sequence[int] | int, role: str = "input") -> None:
        ranks = (ranks,) if isinstance(ranks, int) else tuple(ranks)
        if spec.rank not in ranks:
            self.fail(f"{role} {spec.describe()} must have rank {' or '.join(map(str, ranks))}")

    def custom_options(self) -> dict[str, Any]:
        """The node's ``custom_options`` decoded from FlexBuffers (how TFLite's converter and
        MediaPipe write a custom op's attributes) as a ``dict``; ``{}`` when there are none.
        Bytes that are not a FlexBuffers map fail with the op and node named."""
        raw = self.node.custom_options
        if raw is None or len(raw) == 0:
            return {}
        from ..flex import FlexError, decode_map

        try:
            return decode_map(bytes(raw))
        except FlexError as e:
            self.fail(f"custom_options: {e}")

    def constant(self, i: int, role: str) -> np.ndarray:
        spec = self.input(i)
        if spec.value is None:
            self.fail(
                f"{role} ({spec.describe()}) must be known before invoke (a constant or computable "
                "from shapes); numlite does not support data-dependent shapes here yet"
            )
        return spec.value


class DynamicOutput:
    """The output of a node whose shape is known only when it runs (``set_output_dynamic``).

    The step calls ``set(array)`` with the result each time it runs; the executor keeps the array
    as the tensor's value (the kernel must not modify it afterwards; ``borrowed=True`` makes it
    copy an array the kernel does not own) and notes a shape change,
    after which the nodes downstream are prepared again before they run."""

    __slots__ = ("index", "dtype", "value", "changed")

    def __init__(self, index: int, dtype: Any, value: np.ndarray):
        self.index = index
        self.dtype = np.dtype(dtype)
        self.value = value
        self.changed = False

    def set(self, array: np.ndarray, borrowed: bool = False) -> None:
        """``borrowed``: ``array`` belongs to someone else (a variable, another subgraph's arena),
        so it is copied where it would otherwise be kept."""
        array = np.asarray(array)
        if array.dtype != self.dtype:
            array = array.astype(self.dtype)
        cur = self.value
        if array.shape == cur.shape and cur.flags.writeable:
            np.copyto(cur, array)  # same shape: the arrays bound downstream stay valid
        else:
            self.value = array.copy() if borrowed else array
            self.changed = True


#: a fused epilogue's step factory: ``(first, end, x, out)`` -> the step computing the op for the
#: flat elements ``[first, end)``: ``x`` is that range of its input (C-contiguous, 1-D), ``out``
#: of its output; an in-place epilogue gets the same array twice
EpilogueFactory = Callable[[int, int, np.ndarray, np.ndarray], Any]


@dataclass(frozen=True)
class Epilogue:
    """What a prepared node offers the executor's fusion pass: to run inside the node that
    produces its input ``data``, range by range as that node writes them (see ``executor``,
    step 2b).

    ``bind(inputs, output)`` is called after planning with the node's own input and output
    arrays and returns an ``EpilogueFactory``; None means the op moves no data (RESHAPE and the
    like): its output is its input's bytes.  ``in_place``: the op may run with its output on
    its input's memory (then it saves that tensor's memory); else the input keeps its own
    memory, which the op may overwrite (nothing else reads it).  Ranges start at multiples of
    ``period`` and span multiples of it (an op whose operand repeats along the flat order, like
    PRELU's per-channel alpha, says so).  Arithmetic epilogues are fused on float32 tensors
    only, and must compute bit for bit what the op's own step does."""

    bind: Callable[[list[Any], np.ndarray], EpilogueFactory] | None
    period: int = 1
    in_place: bool = True


class Kernel:
    """Base class of every op kernel.  Subclasses set the class attributes and override
    ``prepare`` and either ``bind`` or ``eval``."""

    op_name: ClassVar[str] = ""
    options_table: ClassVar[str | None] = None
    foldable: ClassVar[bool] = True
    #: may the fusion pass run other ops in place on this node's outputs (False for control flow,
    #: whose outputs other executors write)
    fusion_host: ClassVar[bool] = True
    #: set by the executor, during ``bind`` only, on a host whose ``epilogue_tiles`` it uses:
    #: ``fused(first, end, worker)`` is the step (or None) applying the fused ops to the flat
    #: elements ``[first, end)`` of the output, to run right after the kernel writes them;
    #: ``worker`` < the workers reported (tiles that may run at once use different workers)
    fused: Callable[[int, int, int], Step | None] | None = None

    def __init__(self, node: Operator, options: Table | None):
        self.node = node
        if options is None and self.options_table is not None:
            options = options_defaults(self.options_table)
        self.options = options if options is not None else Table()

    def prepare(self, ctx: PrepareContext) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray],
             scratch: list[np.ndarray]) -> Step:
        """Default: call ``self.eval(inputs, outputs, scratch)``.  Override for speed."""
        ev = self.eval

        def step() -> None:
            ev(inputs, outputs, scratch)

        return step

    def eval(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray],
             scratch: list[np.ndarray]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def epilogue(self, data: int) -> Epilogue | None:
        """After ``prepare``: can this node run in place on the values of its input ``data``,
        inside the node that produces them?  Default: no."""
        return None

    def epilogue_tiles(self) -> tuple[int, int, int] | None:
        """After ``prepare``, for a node hosting fused epilogues: ``(granularity, largest,
        workers)`` when ``bind`` applies ``self.fused`` tile by tile (every tile a multiple of
        ``granularity`` elements, at most ``largest``, at most ``workers`` at once); None (the
        default): the executor runs the epilogues after the node's whole step, in cache-sized
        chunks."""
        return None


# --- shared checks and step wrappers -------------------------------------------------------
def check_alloc(where: str, shape: Sequence[int], dtype: Any) -> None:
    """Refuse, at invoke, an output whose size the input values chose (a hostile RANGE limit,
    num_segments, output_shape ...) before allocating it: more than this machine's memory, or,
    above ``executor.CHECK_AVAILABLE_BYTES``, more than the memory available now (the OS grants a
    large allocation lazily and kills the process when it is written).  RuntimeError naming the op
    (``where``), as the arena's own check."""
    from ..executor import CHECK_AVAILABLE_BYTES, memory_available, memory_limit  # late: it imports ops

    nbytes = int(np.prod([max(0, int(d)) for d in shape], dtype=object)) * np.dtype(dtype).itemsize
    if nbytes <= CHECK_AVAILABLE_BYTES:
        return
    limit = memory_limit()
    if nbytes > limit:
        raise RuntimeError(f"{where}: output shape {list(shape)} needs {nbytes} bytes, more than this machine's "
                           f"{limit} bytes of memory")
    avail = memory_available()
    if nbytes > avail:
        raise RuntimeError(f"{where}: output shape {list(shape)} needs {nbytes} bytes, more than the {avail} bytes "
                           "of memory available now")


def reject_quantized(ctx: PrepareContext, specs: Sequence[TensorSpec | None]) -> None:
    """Fail naming the first quantized tensor among ``specs`` (quantized kernels come later)."""
    for s in specs:
        if s is not None and s.quantization.is_quantized:
            ctx.fail(f"{s.describe()} is quantized; numlite supports only the float/integer form of this op "
                     "so far")


def expect_output_dtype(ctx: PrepareContext, dtype: Any) -> None:
    out = ctx.outputs[0]
    if out.dtype is not None and np.dtype(out.dtype) != np.dtype(dtype):
        ctx.fail(f"output {out.describe()} has type {np.dtype(out.dtype).name}; the op computes "
                 f"{np.dtype(dtype).name}")


def no_fp_warnings(step: Step) -> Step:
    """Mark ``step`` as one whose float results may legitimately be inf / nan (IEEE results, as
    LiteRT's).  Returns ``step`` itself: NumPy's floating-point warnings are silenced once around
    each whole run (``Interpreter.invoke``, ``SignatureRunner``, ``allocate_tensors``, which folds
    constants, and ``SubgraphExecutor.profile``), which costs one context switch per invoke
    instead of about 1.3 us per op."""
    return step


def clamp_range(act: int, dtype: Any) -> tuple[Any, Any] | None:
    """The (lo, hi) clamp of a fused activation for ``dtype`` as scalars of that dtype, or None
    when the activation leaves values unchanged (NONE, and TANH / SIGN_BIT as LiteRT's
    arithmetic ops treat them)."""
    if act not in (ACT_RELU, ACT_RELU6, ACT_RELU_N1_TO_1):
        return None  # before looking at the type: bool has no range, and needs no clamp
    t = np.dtype(dtype).type
    top = np.inf if np.dtype(dtype).kind == "f" else np.iinfo(dtype).max
    rng = {ACT_RELU: (0, top), ACT_RELU6: (0, 6), ACT_RELU_N1_TO_1: (-1, 1)}[act]
    return t(rng[0]), t(rng[1])


def _clip_ufunc() -> Any:
    core = getattr(np, "_core", None)  # NumPy 2; NumPy 1 has it as np.core (deprecated in 2)
    return (core if core is not None else np.core).umath.clip


#: NumPy's ``clip`` ufunc itself, for the invoke loop: ``np.clip`` is a Python wrapper around it
#: that adds about 1.8 us per call (NumPy 2.4: 2.5 against 0.7 us on a small tensor), paid on
#: every clamped tile and fused activation.  Same arguments, same results.
CLIP = _clip_ufunc()


def clamp_step(act: int, out: np.ndarray) -> Step | None:
    """In-place fused activation on ``out`` (any numeric dtype), None when there is nothing to do."""
    rng = clamp_range(act, out.dtype)
    if rng is None:
        return None
    lo, hi = rng
    clip = CLIP
    return lambda: clip(out, lo, hi, out=out)


# --- fused activations --------------------------------------------------------------------
ACT_NONE, ACT_RELU, ACT_RELU_N1_TO_1, ACT_RELU6, ACT_TANH, ACT_SIGN_BIT = range(6)
ACTIVATION_NAMES = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}


def activation_range(code: int) -> tuple[float, float] | None:
    """The clamp range of a clamping fused activation (None for NONE / non-clamping)."""
    return {ACT_RELU: (0.0, np.inf), ACT_RELU_N1_TO_1: (-1.0, 1.0), ACT_RELU6: (0.0, 6.0)}.get(code)


def make_activation(code: int, out: np.ndarray, ctx: PrepareContext | None = None) -> Step | None:
    """A step applying fused activation ``code`` in place on ``out`` (None for NONE)."""
    if code == ACT_NONE:
        return None
    if code == ACT_RELU:
        return lambda: np.maximum(out, 0.0, out=out)
    if code == ACT_RELU6:
        return lambda: CLIP(out, 0.0, 6.0, out=out)
    if code == ACT_RELU_N1_TO_1:
        return lambda: CLIP(out, -1.0, 1.0, out=out)
    if code == ACT_TANH:
        return lambda: np.tanh(out, out=out)
    if code == ACT_SIGN_BIT:
        return lambda: np.copyto(out, np.signbit(out).astype(out.dtype))
    raise PrepareError(f"unknown fused activation {code}")


def check_activation(ctx: PrepareContext, code: int, allowed: Sequence[int] = (0, 1, 2, 3)) -> None:
    if code not in allowed:
        ctx.fail(f"fused activation {ACTIVATION_NAMES.get(code, code)} is not supported by this op")


def chain(*steps: Step | None) -> Step:
    """Combine steps into one callable, skipping None."""
    s = [x for x in steps if x is not None]
    if len(s) == 1:
        return s[0]
    if len(s) == 2:
        a, b = s

        def two() -> None:
            a()
            b()

        return two

    def many() -> None:
        for f in s:
            f()

    return many


# --- padding (shared by convolutions and pooling) ------------------------------------------
PADDING_SAME, PADDING_VALID = 0, 1


def conv_output_size(in_size: int, filter_size: int, stride: int, dilation: int, padding: int) -> int:
    eff = (filter_size - 1) * dilation + 1
    if padding == PADDING_SAME:
        return (in_size + stride - 1) // stride
    return (in_size - eff + stride) // stride if in_size >= eff else 0


def conv_padding(in_size: int, filter_size: int, stride: int, dilation: int, padding: int) -> tuple[int, int, int]:
    """(output size, pad before, pad after) as TFLite computes them."""
    out = conv_output_size(in_size, filter_size, stride, dilation, padding)
    eff = (filter_size - 1) * dilation + 1
    total = max((out - 1) * stride + eff - in_size, 0)
    before = total // 2
    return out, before, total - before
