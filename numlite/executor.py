"""Prepares, plans and runs one subgraph: the engine behind ``Interpreter``.

``allocate()`` does, in order:

1. Prepare every node in execution order with the current tensor shapes; each kernel sets its
   output shapes, precomputes what it can and requests scratch.
2. Fold: a node whose inputs are all known before invoke (constants, shapes) is run now and
   its outputs become constants; it leaves the invoke loop.
3. Plan: every remaining non-constant tensor and every scratch buffer gets a lifetime and an
   offset in one arena (``planner.plan_arena``); with ``preserve_all_tensors`` nothing shares
   memory.
4. Bind: each tensor becomes a typed view into the arena and each kernel binds its step to
   its views.  ``invoke()`` then only calls the bound steps.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from . import _blas
from .graph import Model, Subgraph
from .ops.base import Kernel, PrepareContext, PrepareError, TensorSpec
from .ops.registry import OpResolver
from .planner import Plan, plan_arena

ARENA_ALIGNMENT = 64


class SubgraphExecutor:
    def __init__(self, model: Model, subgraph: Subgraph, resolver: OpResolver, num_threads: int = 1,
                 preserve_all_tensors: bool = False):
        self.model = model
        self.subgraph = subgraph
        self.num_threads = num_threads
        self.preserve_all_tensors = preserve_all_tensors
        classes = resolver.resolve_all(subgraph.operators, subgraph.index)
        self.kernels: list[Kernel] = [cls(op, op.options) for cls, op in zip(classes, subgraph.operators)]
        self.shapes: list[tuple[int, ...]] = [t.shape for t in subgraph.tensors]
        self.dtypes: list[Any] = [t.dtype for t in subgraph.tensors]
        self.buffers: list[np.ndarray | None] = [None] * len(subgraph.tensors)
        self.known: dict[int, np.ndarray] = {}
        self.steps: list[Callable[[], None]] = []
        self.step_nodes: list[int] = []
        self.plan: Plan | None = None
        self.arena: np.ndarray | None = None
        self.allocated = False
        self.pool: ThreadPoolExecutor | None = (
            ThreadPoolExecutor(num_threads, thread_name_prefix="numlite") if num_threads > 1 else None)
        self.variables = [t.index for t in subgraph.tensors if t.is_variable]

    # -- preparation ---------------------------------------------------------------------
    def _spec(self, i: int) -> TensorSpec:
        t = self.subgraph.tensors[i]
        return TensorSpec(index=i, name=t.name, dtype=self.dtypes[i], shape=self.shapes[i],
                          quantization=t.quantization, value=self.known.get(i), is_variable=t.is_variable,
                          sparsity=t.sparsity, type_name=t.type_name)

    def allocate(self) -> None:
        sg = self.subgraph
        tensors = sg.tensors
        self.known = {t.index: t.data for t in tensors if t.data is not None and not t.is_variable}
        produced = {o for k in self.kernels for o in k.node.outputs}
        for i in (*sg.inputs, *produced):  # fed or computed at invoke time even if it has a buffer
            self.known.pop(i, None)
        fed = set(sg.inputs) | produced
        for t in tensors:  # an empty constant (e.g. an empty axis list) has no buffer bytes to read
            if (t.data is None and not t.is_variable and t.index not in fed and t.dtype is not None
                    and 0 in t.shape):
                empty = np.zeros(t.shape, t.dtype)
                empty.flags.writeable = False
                self.known[t.index] = empty
        n_ops = len(self.kernels)
        live_nodes: list[int] = []
        scratch_specs: dict[int, list] = {}
        limit = memory_limit()
        for k in self.kernels:
            node = k.node
            ins = [self._spec(i) if i >= 0 else None for i in node.inputs]
            outs = [self._spec(i) for i in node.outputs]
            ctx = PrepareContext(node, ins, outs, self.num_threads, self.pool)
            _check_zero_points(node, ins + outs)
            _check_sizes(node, ins, limit)
            try:
                k.prepare(ctx)
            except PrepareError:
                raise
            except (ValueError, IndexError, TypeError, ZeroDivisionError, OverflowError) as e:
                raise PrepareError(f"{node.op_name} (node {node.index}) failed to prepare: {e}") from e
            for o, spec in zip(node.outputs, outs):
                self.shapes[o] = spec.shape
                self.dtypes[o] = spec.dtype
            if k.foldable and outs and len(ctx.known_outputs) == len(outs):
                for j, v in ctx.known_outputs.items():
                    self.known[node.outputs[j]] = v
                continue
            inputs_known = all(s is None or s.value is not None for s in ins)
            if k.foldable and inputs_known and ins and not any(tensors[o].is_variable for o in node.outputs):
                self._fold(k, ins, outs, ctx)
                continue
            live_nodes.append(node.index)
            scratch_specs[node.index] = ctx.scratch_specs
        # lifetimes -------------------------------------------------------------------
        nt = len(tensors)
        end = max(len(live_nodes) - 1, 0)
        first = [None] * nt
        last = [None] * nt
        always = set(sg.inputs) | set(sg.outputs) | set(self.variables)
        for step, ni in enumerate(live_nodes):
            node = self.kernels[ni].node
            for i in node.inputs:
                if i >= 0 and i not in self.known:
                    if first[i] is None:
                        first[i] = step
                    last[i] = step
            for i in node.outputs:
                if i not in self.known:
                    if first[i] is None:
                        first[i] = step
                    last[i] = max(last[i] if last[i] is not None else step, step)
        for i in always:
            if i not in self.known:
                first[i], last[i] = 0, end
        bufs: list[tuple[int, Any]] = []  # (tensor index or -1-scratch, ...)
        sizes, f_, l_ = [], [], []
        for i in range(nt):
            if first[i] is None or i in self.known:
                continue
            if self.dtypes[i] is None:
                t = tensors[i]
                raise RuntimeError(f"tensor {i} '{t.name}' has type {t.type_name}, which numlite cannot allocate")
            nbytes = int(np.prod(self.shapes[i], dtype=np.int64)) * np.dtype(self.dtypes[i]).itemsize
            bufs.append(("t", i))
            sizes.append(nbytes)
            f_.append(first[i])
            l_.append(last[i])
        for step, ni in enumerate(live_nodes):
            for j, (shape, dt) in enumerate(scratch_specs[ni]):
                bufs.append(("s", (ni, j)))
                sizes.append(int(np.prod(shape, dtype=np.int64)) * dt.itemsize)
                f_.append(step)
                l_.append(step)
        self.plan = plan_arena(sizes, f_, l_, ARENA_ALIGNMENT, no_reuse=self.preserve_all_tensors)
        if self.plan.arena_bytes > limit:
            raise RuntimeError(f"the model needs a {self.plan.arena_bytes}-byte tensor arena, more than this "
                               f"machine's {limit} bytes of memory")
        try:
            raw = np.zeros(self.plan.arena_bytes + ARENA_ALIGNMENT, np.uint8)
        except MemoryError:
            raise RuntimeError(f"cannot allocate a {self.plan.arena_bytes}-byte tensor arena") from None
        shift = (-raw.ctypes.data) % ARENA_ALIGNMENT
        self.arena = raw[shift: shift + self.plan.arena_bytes]
        self.buffers = [None] * nt
        scratch_views: dict[int, list] = {ni: [None] * len(scratch_specs[ni]) for ni in live_nodes}
        for (kind, key), off, size in zip(bufs, self.plan.offsets, sizes):
            if kind == "t":
                view = self.arena[off: off + size].view(self.dtypes[key]).reshape(self.shapes[key])
                self.buffers[key] = view
            else:
                ni, j = key
                shape, dt = scratch_specs[ni][j]
                scratch_views[ni][j] = self.arena[off: off + size].view(dt).reshape(shape)
        for i, v in self.known.items():
            self.buffers[i] = v
        for i in self.variables:
            self._reset_variable(i)
        # bind ------------------------------------------------------------------------
        self.steps, self.step_nodes = [], []
        for ni in live_nodes:
            k = self.kernels[ni]
            node = k.node
            ins = [self.buffers[i] if i >= 0 else None for i in node.inputs]
            outs = [self.buffers[i] for i in node.outputs]
            self.steps.append(k.bind(ins, outs, scratch_views[ni]))
            self.step_nodes.append(ni)
        self.n_ops = n_ops
        self.allocated = True

    def _fold(self, k: Kernel, ins, outs, ctx: PrepareContext) -> None:
        node = k.node
        in_arrays = [s.value if s is not None else None for s in ins]
        out_arrays = [np.zeros(s.shape, s.dtype) for s in outs]
        scratch = [np.zeros(shape, dt) for shape, dt in ctx.scratch_specs]
        k.bind(in_arrays, out_arrays, scratch)()
        for o, a in zip(node.outputs, out_arrays):
            a.flags.writeable = False
            self.known[o] = a

    def _reset_variable(self, i: int) -> None:
        buf = self.buffers[i]
        if buf is None:
            return
        t = self.subgraph.tensors[i]
        init = t.data
        zp = t.quantization.zero_points
        if init is not None and init.shape == buf.shape:
            np.copyto(buf, init)
        elif buf.dtype == np.int8 and zp.size == 1:
            # as LiteRT: per-tensor int8 variables start at their zero point; every other type
            # (per-axis int8 included) at zero bytes
            buf.fill(int(zp[0]))
        else:
            buf.fill(0)

    def reset_variables(self) -> None:
        for i in self.variables:
            self._reset_variable(i)

    # -- execution -----------------------------------------------------------------------
    def invoke(self) -> None:
        if _blas_state[0] != self.num_threads:
            _blas.set_threads(self.num_threads)
            _blas_state[0] = self.num_threads
        for step in self.steps:
            step()

    def profile(self, runs: int = 1) -> list[tuple[int, float]]:
        """Run ``runs`` invocations timing each step; (node index, seconds per run) rows."""
        _blas.set_threads(self.num_threads)
        _blas_state[0] = self.num_threads
        acc = [0.0] * len(self.steps)
        pc = time.perf_counter
        for _ in range(runs):
            for j, step in enumerate(self.steps):
                t0 = pc()
                step()
                acc[j] += pc() - t0
        return [(ni, t / runs) for ni, t in zip(self.step_nodes, acc)]


_blas_state = [0]

_ZP_CHECKED = {np.dtype(t) for t in (np.int8, np.uint8, np.int16)}


def memory_limit() -> int:
    """This machine's physical memory in bytes (``1 << 40`` where it cannot be read): no tensor
    or arena can usefully be larger, and the OS would grant such an allocation lazily and kill
    the process on first touch rather than fail it."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 1 << 40


def _check_sizes(node: Any, specs: list[TensorSpec | None], limit: int) -> None:
    """Refuse, before a kernel plans work proportional to its inputs' sizes, a non-constant input
    larger than physical memory (a corrupt or hostile shape that passed the loader's 2**40-byte
    bound)."""
    for spec in specs:
        if spec is None or spec.value is not None or spec.dtype is None:
            continue
        nbytes = int(np.prod(spec.shape, dtype=object)) * np.dtype(spec.dtype).itemsize
        if nbytes > limit:
            raise PrepareError(f"{node.op_name} (node {node.index}): {spec.describe()} needs {nbytes} bytes, more "
                               f"than this machine's {limit} bytes of memory")


def _check_zero_points(node: Any, specs: list[TensorSpec | None]) -> None:
    """A quantized 8- or 16-bit tensor whose zero point lies outside its type's range is corrupt
    (no kernel can represent it, and padding or clamping with it would overflow): refuse it when
    preparing the first node that uses it, as LiteRT raises at ``allocate_tensors``."""
    for spec in specs:
        if spec is None or spec.dtype is None or not spec.quantization.is_quantized:
            continue
        dt = np.dtype(spec.dtype)
        if dt not in _ZP_CHECKED:
            continue
        zp = spec.quantization.zero_points
        info = np.iinfo(dt)
        if zp.size and (int(zp.min()) < info.min or int(zp.max()) > info.max):
            bad = int(zp.min()) if int(zp.min()) < info.min else int(zp.max())
            raise PrepareError(f"{node.op_name} (node {node.index}): {spec.describe()} has zero point {bad}, "
                               f"outside {dt.name}'s range [{info.min}, {info.max}]")
