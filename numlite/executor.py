"""Prepares, plans and runs one subgraph: the engine behind ``Interpreter``.

``allocate()`` does, in order:

1. Prepare every node in execution order with the current tensor shapes; each kernel sets its
   output shapes, precomputes what it can and requests scratch.
2. Fold: a node whose inputs are all known before invoke (constants, shapes) is run now and
   its outputs become constants; it leaves the invoke loop.
2b. Fuse (``_fuse``; not with ``preserve_all_tensors``, nor in a subgraph with dynamic shapes):
   a node that is the only reader of a tensor ``T`` that another live node (the *host*) writes,
   and that offers an ``Epilogue`` for that input (``Kernel.epilogue``), runs inside the host:
   its op is applied to each range of ``T`` right after the host wrote it.  An in-place
   epilogue (most) stores ``T`` in the node's output ``U`` (same dtype and byte size; ``T`` then
   is ``U``'s memory in ``T``'s shape), so the planner needs one tensor less; the others
   (PRELU, HARD_SWISH, LEAKY_RELU) read ``T`` and write ``U``, and may overwrite ``T``.  The
   ranges are the host's tiles where it reports ``epilogue_tiles`` (CONV_2D and
   DEPTHWISE_CONV_2D: the tile is still in cache), else chunks of about ``EPILOGUE_CHUNK``
   elements after the host's step.  The node leaves the invoke loop.  Its other inputs must
   be ready before the host runs (constants, graph inputs, or written by an earlier node) and
   stay alive until then.  Chains fuse
   (CONV_2D -> ADD of a residual -> PRELU is one step); a RESHAPE-like node (an epilogue
   without a step) makes its output an alias of its input.  Intermediate tensors consumed
   this way hold the final values after invoke (LiteRT does not keep intermediates either);
   ``experimental_preserve_all_tensors=True`` turns fusion off.
3. Plan: every remaining non-constant tensor and every scratch buffer gets a lifetime and an
   offset in one arena (``planner.plan_arena``); with ``preserve_all_tensors`` nothing shares
   memory.  String tensors (object arrays of ``bytes``) and the outputs of data-dependent
   nodes live outside the arena.
4. Bind: each tensor becomes a typed view into the arena and each kernel binds its step to
   its views.  ``invoke()`` then only calls the bound steps.

Dynamic shapes, as TFLite's dynamic tensors: a kernel whose output shape depends on input
values (``PrepareContext.set_output_dynamic``) hands its result to a ``DynamicOutput`` when it
runs.  When that shape differs from the one the nodes downstream were prepared with, those
nodes (and only those: the ones that read the changed tensors, directly or through others) are
prepared again during the invoke, get a new arena of their own for their outputs and scratch,
and are bound again; then the invoke goes on.  While shapes repeat nothing is prepared again.
A node that cannot be prepared with a dynamic tensor's first guessed shape is prepared when the
invoke reaches it.

Subgraphs called by control flow (WHILE, IF, CALL_ONCE) get executors from the interpreter's
``Runtime``; ``allocate(external=...)`` binds their input tensors to the caller's arrays, so
inputs cross the subgraph boundary without a copy.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from . import _blas
from .errors import InvokeCancelled, UnsupportedOpError
from .graph import Model, Operator, Subgraph
from .ops.base import DynamicOutput, Epilogue, Kernel, PrepareContext, PrepareError, TensorSpec, chain
from .ops.registry import OpResolver
from .planner import Plan, plan_arena

ARENA_ALIGNMENT = 64
#: subgraph executors one interpreter may create for control flow (one per call site)
MAX_CALL_SITES = 4096
OBJECT = np.dtype(object)
#: elements per chunk when fused epilogues run after their host's whole step (256 KiB of
#: float32: the chunk and its temp stay in L2)
EPILOGUE_CHUNK = 65536
FLOAT32 = np.dtype(np.float32)


class Runtime:
    """What every subgraph of one interpreter shares: the model, the op resolver, the thread
    pool, one executor per subgraph (what ``get_tensor(i, subgraph_index)`` reads), and the
    resources (resource variables and hash tables, by id) that live across ``invoke()`` calls.

    A subgraph called from one place (a WHILE's body) runs on its shared executor; a second
    caller of the same subgraph gets an executor of its own, so each call site keeps its shapes.
    """

    def __init__(self, model: Model, resolver: OpResolver, num_threads: int = 1, preserve: bool = False,
                 delegates: Sequence[Any] = (), model_path: str | None = None):
        self.model = model
        #: the file the model was read from, where the interpreter knows it (delegates that cache
        #: their compiled partitions key them by its content: ``delegates.cache``)
        self.model_path = model_path
        self.resolver = resolver
        #: each subgraph's kernel classes, found now for every subgraph so that one
        #: UnsupportedOpError lists every missing operator of the model, control-flow bodies included
        self.kernel_classes = _resolve_every_subgraph(model, resolver)
        #: each subgraph's execution plan: its operators, or with delegates (not with
        #: ``preserve``, which needs every tensor) the plan ``delegates.apply`` makes, where
        #: DELEGATE nodes replace partitions; ``delegate_nodes``: those nodes, per subgraph
        self.operators: list[list[Operator]] = [list(sg.operators) for sg in model.subgraphs]
        self.delegate_nodes: list[list[Operator]] = [[] for _ in model.subgraphs]
        if delegates and not preserve:
            from .delegates import apply

            for sg in model.subgraphs:
                ops, classes, made = apply(delegates, sg, self.operators[sg.index], self.kernel_classes[sg.index],
                                           len(sg.operators))
                self.operators[sg.index], self.kernel_classes[sg.index] = ops, classes
                self.delegate_nodes[sg.index] = list(made)
        self.num_threads = num_threads
        self.preserve = preserve
        #: whether a WHILE's / IF's subgraphs start every eval of the op with their variables reset
        #: (LiteRT releases them after each eval unless every tensor is preserved); the quantizer's
        #: calibration, which preserves every tensor to read it, sets it to run models as deployed
        self.release_callees = not preserve
        #: the fusion pass (executor step 2b) runs unless every tensor is preserved
        self.fuse = not preserve
        self.pool: Any = None  # a concurrent.futures.ThreadPoolExecutor for more than one thread
        if num_threads > 1:
            from concurrent.futures import ThreadPoolExecutor  # ~4 ms of import, only when used

            self.pool = ThreadPoolExecutor(num_threads, thread_name_prefix="numlite")
        self.executors: dict[int, SubgraphExecutor] = {}
        self._claimed: set[int] = set()
        self.private: list[SubgraphExecutor] = []
        #: resource id -> resource object (``ops.resource``'s variables and hash tables)
        self.resources: dict[int, Any] = {}
        #: (kind, container, shared name) -> resource id, as LiteRT numbers them
        self.resource_ids: dict[tuple[str, str, str], int] = {}
        #: CALL_ONCE nodes that have run: (subgraph, node index)
        self.called_once: set[tuple[int, int]] = set()
        #: set by ``Interpreter.cancel()`` (from any thread), cleared when ``invoke()`` starts:
        #: every subgraph entry checks it (``SubgraphExecutor.invoke``), so a loop stops at its
        #: next iteration
        self.cancel_requested = False

    def executor(self, index: int) -> SubgraphExecutor:
        ex = self.executors.get(index)
        if ex is None:
            ex = SubgraphExecutor(self, self.model.subgraphs[index])
            self.executors[index] = ex
        return ex

    def executor_for_call(self, index: int) -> SubgraphExecutor | None:
        """The executor a control-flow node runs subgraph ``index`` on (see the class docstring);
        None once ``MAX_CALL_SITES`` executors exist (call graphs where subgraphs are shared by
        several callers at every level multiply the call sites: a hostile model could ask for
        2**depth of them)."""
        if index not in self._claimed:
            self._claimed.add(index)
            return self.executor(index)
        if len(self.private) + len(self.executors) >= MAX_CALL_SITES:
            return None
        ex = SubgraphExecutor(self, self.model.subgraphs[index])
        self.private.append(ex)
        return ex

    def resource_id(self, kind: str, container: str, name: str) -> int:
        key = (kind, container, name)
        rid = self.resource_ids.get(key)
        if rid is None:
            rid = self.resource_ids[key] = len(self.resource_ids)
        return rid

    def all_executors(self) -> Iterable[SubgraphExecutor]:
        yield from self.executors.values()
        yield from self.private

    def reset_resources(self) -> None:
        """Empty every resource variable and hash table and let CALL_ONCE nodes run again: the
        state a freshly constructed interpreter has."""
        for r in self.resources.values():
            r.reset()
        self.called_once.clear()


def _resolve_every_subgraph(model: Model, resolver: OpResolver) -> list[list[type[Kernel]]]:
    classes, errors = [], []
    for sg in model.subgraphs:
        try:
            classes.append(resolver.resolve_all(sg.operators, sg.index))
        except UnsupportedOpError as e:
            errors.append(e)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        missing = [m for e in errors for m in e.missing]
        lines = [line for e in errors for line in str(e).splitlines()[1:]]
        raise UnsupportedOpError(f"numlite cannot run this model: {len(missing)} unsupported operator(s):\n"
                                 + "\n".join(lines), missing)
    return classes


def _empty(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A fresh array outside the arena: object (string) arrays hold empty strings."""
    if np.dtype(dtype) == OBJECT:
        return np.full(shape, b"", OBJECT)
    return np.zeros(shape, dtype)


class SubgraphExecutor:
    def __init__(self, runtime: Runtime, subgraph: Subgraph):
        self.runtime = runtime
        self.model = runtime.model
        self.subgraph = subgraph
        self.num_threads = runtime.num_threads
        self.preserve_all_tensors = runtime.preserve
        classes = runtime.kernel_classes[subgraph.index]
        # kernels in execution order: a node's position here is its step's identity (its
        # ``node.index`` is the model's, for messages; they differ only where delegates reordered)
        self.kernels: list[Kernel] = [cls(op, op.options)
                                      for cls, op in zip(classes, runtime.operators[subgraph.index])]
        self.shapes: list[tuple[int, ...]] = [t.shape for t in subgraph.tensors]
        # resource tensors hold an int32 resource id (as in TFLite)
        self.dtypes: list[Any] = [np.dtype(np.int32) if t.type_name == "RESOURCE" else t.dtype
                                  for t in subgraph.tensors]
        self.buffers: list[np.ndarray | None] = [None] * len(subgraph.tensors)
        self.known: dict[int, np.ndarray] = {}
        self.steps: list[Callable[[], None]] = []
        self.step_nodes: list[int] = []
        self.plan: Plan | None = None
        #: the main arena's layout: one record per placed buffer (see ``Interpreter.memory_plan``)
        self.layout: list[dict[str, Any]] = []
        self.arena: np.ndarray | None = None
        self.allocated = False
        self.pool = runtime.pool
        self.variables = [t.index for t in subgraph.tensors if t.is_variable]
        #: tensors alive for the whole invoke: the subgraph's inputs, outputs and variables
        self._boundary = {*subgraph.inputs, *subgraph.outputs, *self.variables}
        #: input tensors bound to a caller's arrays (control flow): tensor index -> array
        self.external: dict[int, np.ndarray] = {}
        #: tensors whose shapes are known only at invoke (outputs of data-dependent nodes and
        #: everything computed from them)
        self.dyn: set[int] = set()
        self._has_dynamic = False
        self._restructured = False
        self._consumers: dict[int, list[int]] = {}
        for pos, k in enumerate(self.kernels):
            for i in k.node.inputs:
                if i >= 0:
                    self._consumers.setdefault(i, []).append(pos)
        self._scratch_views: dict[int, list[np.ndarray]] = {}
        self._holders: dict[int, list[DynamicOutput]] = {}
        self._lazy: set[int] = set()
        # fusion (step 2b): tensor -> the tensor whose memory holds it; fused node -> its host;
        # host -> [(fused node, the input slot its host writes, its epilogue)] in order;
        # host -> ("tiles" | "chunks", chunk size)
        self.alias: dict[int, int] = {}
        self.absorbed: dict[int, int] = {}
        self.hosted: dict[int, list[tuple[int, int, Epilogue]]] = {}
        self._host_plan: dict[int, tuple[str, int]] = {}
        #: (lifetimes, plan) made by _choose_fusion for the configuration it chose
        self._planned: tuple | None = None

    # -- preparation ---------------------------------------------------------------------
    def _spec(self, i: int) -> TensorSpec:
        t = self.subgraph.tensors[i]
        return TensorSpec(index=i, name=t.name, dtype=self.dtypes[i], shape=self.shapes[i],
                          quantization=t.quantization, value=self.known.get(i), is_variable=t.is_variable,
                          sparsity=t.sparsity, type_name=t.type_name, dynamic=i in self.dyn)

    def allocate(self, external: dict[int, np.ndarray] | None = None) -> None:
        """Prepare, fold, plan and bind the whole subgraph for the current input shapes.
        ``external``: input tensors to bind to the given arrays instead of arena memory."""
        sg = self.subgraph
        tensors = sg.tensors
        if external is not None:
            self.external = dict(external)
        for i, a in self.external.items():
            self.shapes[i] = a.shape
        self.known = {t.index: t.data for t in tensors if t.data is not None and not t.is_variable}
        produced = {o for k in self.kernels for o in k.node.outputs}
        for i in (*sg.inputs, *produced):  # fed or computed at invoke time even if it has a buffer
            self.known.pop(i, None)
        fed = set(sg.inputs) | produced
        for t in tensors:  # an empty constant (e.g. an empty axis list) has no buffer bytes to read
            if (t.data is None and not t.is_variable and t.index not in fed and self.dtypes[t.index] is not None
                    and 0 in t.shape):
                empty = _empty(t.shape, self.dtypes[t.index])
                empty.flags.writeable = False
                self.known[t.index] = empty
        self.dyn = set()
        self._scratch_views, self._holders, self._lazy = {}, {}, set()
        self.allocated = False
        self.buffers = [None] * len(tensors)
        live, scratch_specs, holders, lazy = self._prepare(list(range(len(self.kernels))), full=True)
        live = self._choose_fusion(live, scratch_specs, holders, lazy)
        self.step_nodes = live
        self.steps = [None] * len(live)  # type: ignore[list-item]
        self.plan, self.arena = self._place(live, scratch_specs, holders, lazy, full=True)
        self._has_dynamic = bool(self.dyn)
        for i in self.variables:
            self._reset_variable(i)
        self.n_ops = len(self.kernels)
        self.allocated = True

    def _prepare(self, nodes: list[int], full: bool):
        """Prepare ``nodes`` (in execution order) with the current shapes.  Returns the nodes that
        run at invoke, their scratch requests, their dynamic-output holders, and the nodes that
        could not be prepared yet because a dynamic input's shape is still a guess."""
        tensors = self.subgraph.tensors
        live: list[int] = []
        scratch_specs: dict[int, list] = {}
        holders: dict[int, list[DynamicOutput]] = {}
        lazy: set[int] = set()
        limit = memory_limit()
        #: tensor -> (who, shape, dtype, dynamic) of its first writer in this pass; the subgraph's
        #: inputs are written by the caller
        written: dict[int, tuple[str, tuple[int, ...], Any, bool]] = {
            i: ("the subgraph's caller (it is an input)", tuple(self.shapes[i]), self.dtypes[i], i in self.dyn)
            for i in self.subgraph.inputs if self.dtypes[i] is not None}
        for ni in nodes:
            k = self.kernels[ni]
            node = k.node
            if any(i >= 0 and i in self.dyn for i in node.inputs):
                self.dyn.update(node.outputs)  # shapes computed from a dynamic tensor are dynamic too
            ins = [self._spec(i) if i >= 0 else None for i in node.inputs]
            outs = [self._spec(i) for i in node.outputs]
            ctx = PrepareContext(node, ins, outs, self.num_threads, self.pool, self.runtime, self.subgraph.index)
            try:
                _check_zero_points(node, ins + outs)
                _check_sizes(node, ins, limit)
                k.prepare(ctx)
            except (PrepareError, ValueError, IndexError, TypeError, ZeroDivisionError, OverflowError) as e:
                if full and any(s is not None and s.dynamic for s in ins):
                    # prepared with a guessed shape: try again when the invoke reaches it
                    lazy.add(ni)
                    live.append(ni)
                    scratch_specs[ni] = []
                    continue
                if isinstance(e, PrepareError):
                    raise
                where = f"node {node.index}" + (f" of subgraph {self.subgraph.index}" if self.subgraph.index else "")
                raise PrepareError(f"{node.op_name} ({where}) failed to prepare: {e}") from e
            for j, (o, spec) in enumerate(zip(node.outputs, outs)):
                first, dyn = written.get(o), j in ctx.dynamic_outputs
                if first is None:
                    written[o] = (f"{node.op_name} (node {node.index})", spec.shape, spec.dtype, dyn)
                elif first[2] != spec.dtype or (first[1] != spec.shape and not (first[3] or dyn)):
                    # LiteRT runs two writers of one tensor when they agree (the last one wins);
                    # differing ones would share one buffer with two layouts
                    was = f"{np.dtype(first[2]).name}{list(first[1])}"
                    raise PrepareError(
                        f"{node.op_name} (node {node.index}) writes tensor {o} '{tensors[o].name}' as "
                        f"{np.dtype(spec.dtype).name}{list(spec.shape)}, but {first[0]} already writes it as "
                        f"{was}: a tensor has one type and shape")
                self.shapes[o] = spec.shape
                self.dtypes[o] = spec.dtype
            if k.foldable and outs and len(ctx.known_outputs) == len(outs):
                for j, v in ctx.known_outputs.items():
                    self.known[node.outputs[j]] = v
                    self.buffers[node.outputs[j]] = v
                continue
            for o in node.outputs:
                self.known.pop(o, None)
            inputs_known = all(s is None or s.value is not None for s in ins)
            if (k.foldable and inputs_known and ins and not ctx.dynamic_outputs
                    and not any(tensors[o].is_variable for o in node.outputs)):
                self._fold(k, ins, outs, ctx)
                continue
            if ctx.dynamic_outputs:
                hs = []
                for j in sorted(ctx.dynamic_outputs):
                    o = node.outputs[j]
                    self.dyn.add(o)
                    h = DynamicOutput(o, self.dtypes[o], _empty(self.shapes[o], self.dtypes[o]))
                    self.buffers[o] = h.value
                    hs.append(h)
                holders[ni] = hs
            live.append(ni)
            scratch_specs[ni] = ctx.scratch_specs
        return live, scratch_specs, holders, lazy

    def _choose_fusion(self, live: list[int], scratch_specs: dict[int, list],
                       holders: dict[int, list[DynamicOutput]], lazy: set[int]) -> list[int]:
        """Step 2b with its memory rule: a fused node's inputs and outputs all live at its host's
        step, so fusing a chain can raise the arena's peak.  The arena is planned for every
        fusion, for in-place fusions only, and for none; the first that needs no more memory
        than none is kept.  Returns the nodes left in the invoke loop."""
        self.alias, self.absorbed, self.hosted, self._host_plan = {}, {}, {}, {}
        self._planned = None
        if not self.runtime.fuse or self.dyn or holders or lazy or self.external:
            return live

        plans: dict[bool, tuple] = {}

        def arena(nodes: list[int], fused: bool) -> int:
            self.step_nodes = nodes
            lifetimes = self._lifetimes(nodes, scratch_specs, holders, True)
            plan = plan_arena(*lifetimes[1:], ARENA_ALIGNMENT)
            plans[fused] = (lifetimes, plan)
            return plan.arena_bytes

        unfused = arena(live, False)
        for out_of_place in (True, False):
            nodes = self._fuse(live, out_of_place)
            if not self.absorbed:
                self._planned = plans[False]
                return live
            if arena(nodes, True) <= unfused:
                self._planned = plans[True]  # _place takes this plan instead of making it again
                return nodes
        self.alias, self.absorbed, self.hosted, self._host_plan = {}, {}, {}, {}
        self._planned = plans[False]
        return live

    def _fuse(self, live: list[int], out_of_place: bool) -> list[int]:
        """Step 2b (module docstring): decide which nodes run inside their producers (with
        ``out_of_place`` False, only in-place epilogues).  Records ``alias``, ``absorbed``,
        ``hosted`` and ``_host_plan``; returns the nodes left in the invoke loop."""
        self.alias, self.absorbed, self.hosted, self._host_plan = {}, {}, {}, {}
        pos = {ni: p for p, ni in enumerate(live)}
        writes = Counter(o for ni in live for o in self.kernels[ni].node.outputs)
        once = {o for o, n in writes.items() if n == 1}  # a tensor two nodes write is never fused
        writer: dict[int, int] = {}  # tensor -> the live node writing it, among the nodes seen so far
        ready = set(self.known) | set(self.subgraph.inputs)
        tensors = self.subgraph.tensors

        def in_arena(i: int) -> bool:
            dt = self.dtypes[i]
            return (i not in self.known and not tensors[i].is_variable and dt is not None
                    and np.dtype(dt) != OBJECT)

        for ni in live:
            node = self.kernels[ni].node
            host = self._absorb(ni, writer, once, ready, pos, in_arena, out_of_place)
            for o in node.outputs:
                if o in once:
                    writer[o] = ni if host is None else host
        for host, eps in self.hosted.items():
            period = int(np.lcm.reduce([ep.period for _, _, ep in eps]))
            tiles = self.kernels[host].epilogue_tiles()
            if tiles is not None and tiles[0] % period == 0:
                self._host_plan[host] = ("tiles", tiles[1])
            else:
                size = int(np.prod(self.shapes[self.kernels[eps[0][0]].node.outputs[0]], dtype=np.int64))
                self._host_plan[host] = ("chunks", min(size, max(period, EPILOGUE_CHUNK // period * period)))
        return [ni for ni in live if ni not in self.absorbed]

    def _absorb(self, ni: int, writer: dict[int, int], once: set[int], ready: set[int], pos: dict[int, int],
                in_arena: Callable[[int], bool], out_of_place: bool) -> int | None:
        """Fuse node ``ni`` into the node that writes one of its inputs, if step 2b allows it
        (``writer``: the nodes before it); returns that host, or None."""
        node = self.kernels[ni].node
        if len(node.outputs) != 1:
            return None
        u = node.outputs[0]
        if not in_arena(u) or u in self.subgraph.inputs or u not in once or u in node.inputs:
            return None
        for slot, t in enumerate(node.inputs):
            host = writer.get(t)
            if (host is None or t in self._boundary or self._consumers.get(t) != [ni] or not in_arena(t)
                    or not self.kernels[host].fusion_host or np.dtype(self.dtypes[t]) != np.dtype(self.dtypes[u])
                    or self._nbytes(t) != self._nbytes(u)):
                continue
            if not all(i < 0 or i == t or i in ready or (i in writer and pos[writer[i]] < pos[host])
                       for i in node.inputs):
                continue
            ep = self.kernels[ni].epilogue(slot)
            if (ep is None or (ep.bind is not None and np.dtype(self.dtypes[u]) != FLOAT32)
                    or not (out_of_place or ep.in_place or ep.bind is None)):
                continue
            if ep.bind is None or ep.in_place:
                self.alias[t] = u
            self.absorbed[ni] = host
            self.hosted.setdefault(host, []).append((ni, slot, ep))
            return host
        return None

    def _nbytes(self, i: int) -> int:
        return int(np.prod(self.shapes[i], dtype=np.int64)) * np.dtype(self.dtypes[i]).itemsize

    def _root(self, i: int) -> int:
        """The tensor whose memory holds tensor ``i`` (itself unless fusion aliased it)."""
        while i in self.alias:
            i = self.alias[i]
        return i

    def _lifetimes(self, nodes: list[int], scratch_specs: dict[int, list], holders: dict[int, list[DynamicOutput]],
                   full: bool) -> tuple[list[tuple[str, Any]], list[int], list[int], list[int]]:
        """The buffers ``_place`` plans: keys (``("t", tensor)`` or ``("s", (node, slot))``),
        sizes in bytes, first and last step positions."""
        sg = self.subgraph
        pos_of = {ni: p for p, ni in enumerate(self.step_nodes)}
        for ni, host in self.absorbed.items():  # a fused node reads its inputs when its host runs
            pos_of[ni] = pos_of[host]
        end = max(len(self.step_nodes) - 1, 0)
        dyn_out = {h.index for hs in holders.values() for h in hs}
        placed: dict[int, list[int]] = {}  # tensor -> [first, last] step position

        def wanted(i: int) -> bool:
            return (i >= 0 and i not in self.known and i not in self.external and i not in dyn_out
                    and i not in self.alias and self.dtypes[i] is not None and np.dtype(self.dtypes[i]) != OBJECT)

        for ni in (*nodes, *self.absorbed):  # a fused node's outputs are written when its host runs
            p = pos_of[ni]
            for o in self.kernels[ni].node.outputs:
                o = self._root(o)
                if wanted(o):
                    placed.setdefault(o, [p, p])
        if full:
            for i in (*sg.inputs, *self.variables):
                if wanted(i):
                    placed[i] = [0, end]
            for ni in nodes:  # read but written by nobody (no data, not an input): a slot of its own
                for i in self.kernels[ni].node.inputs:  # for the whole run, so it reads as the arena's zeros
                    if wanted(i) and i not in placed:
                        placed[i] = [0, end]
        for i, span in placed.items():
            readers = [pos_of[c] for c in self._consumers.get(i, ()) if c in pos_of]
            if readers:
                span[1] = max(span[1], max(readers))
            if i in self._boundary:
                span[0], span[1] = (0 if full else span[0]), end
        keys: list[tuple[str, Any]] = []
        sizes, f_, l_ = [], [], []
        for i, (a, b) in placed.items():
            keys.append(("t", i))
            sizes.append(self._nbytes(i))
            f_.append(a)
            l_.append(b)
        for ni in nodes:
            for j, (shape, dt) in enumerate(scratch_specs[ni]):
                keys.append(("s", (ni, j)))
                sizes.append(int(np.prod(shape, dtype=np.int64)) * dt.itemsize)
                f_.append(pos_of[ni])
                l_.append(pos_of[ni])
        return keys, sizes, f_, l_

    def _place(self, nodes: list[int], scratch_specs: dict[int, list], holders: dict[int, list[DynamicOutput]],
               lazy: set[int], full: bool) -> tuple[Plan, np.ndarray]:
        """Plan an arena for the outputs and scratch of ``nodes`` (all the live nodes when
        ``full``, with the graph's inputs, outputs and variables), make the views, bind."""
        sg = self.subgraph
        tensors = sg.tensors
        planned, self._planned = self._planned, None
        if full and planned is not None:  # planned while choosing the fusion (step 2b)
            (keys, sizes, f_, l_), plan = planned
        else:
            keys, sizes, f_, l_ = self._lifetimes(nodes, scratch_specs, holders, full)
            plan = None
        pos_of = {ni: p for p, ni in enumerate(self.step_nodes)}
        for i in (*sg.inputs, *(o for ni in nodes for o in self.kernels[ni].node.outputs)):
            if self.dtypes[i] is None:
                t = tensors[i]
                raise RuntimeError(f"tensor {i} '{t.name}' has type {t.type_name}, which numlite cannot allocate")
        limit = memory_limit()
        if plan is None:
            plan = plan_arena(sizes, f_, l_, ARENA_ALIGNMENT, no_reuse=self.preserve_all_tensors)
        if plan.arena_bytes > limit:
            raise RuntimeError(f"the model needs a {plan.arena_bytes}-byte tensor arena, more than this "
                               f"machine's {limit} bytes of memory")
        if plan.arena_bytes > CHECK_AVAILABLE_BYTES:
            avail = memory_available()
            if plan.arena_bytes > avail:
                raise RuntimeError(f"subgraph {self.subgraph.index} needs a {plan.arena_bytes}-byte tensor arena for "
                                   f"its current shapes, more than the {avail} bytes of memory available now")
        try:
            raw = np.zeros(plan.arena_bytes + ARENA_ALIGNMENT, np.uint8)
        except MemoryError:
            raise RuntimeError(f"cannot allocate a {plan.arena_bytes}-byte tensor arena") from None
        shift = (-raw.ctypes.data) % ARENA_ALIGNMENT
        arena = raw[shift: shift + plan.arena_bytes]
        scratch_views: dict[int, list] = {ni: [None] * len(scratch_specs[ni]) for ni in nodes}
        if full:
            self.layout = [
                {"kind": "tensor", "tensor": key, "name": tensors[key].name, "offset": off, "bytes": size,
                 "first_step": a, "last_step": b} if kind == "t" else
                {"kind": "scratch", "node": key[0], "name": f"{self.kernels[key[0]].node.op_name} scratch {key[1]}",
                 "offset": off, "bytes": size, "first_step": a, "last_step": b}
                for (kind, key), off, size, a, b in zip(keys, plan.offsets, sizes, f_, l_)]
        for (kind, key), off, size in zip(keys, plan.offsets, sizes):
            if kind == "t":
                self.buffers[key] = arena[off: off + size].view(self.dtypes[key]).reshape(self.shapes[key])
            else:
                ni, j = key
                shape, dt = scratch_specs[ni][j]
                scratch_views[ni][j] = arena[off: off + size].view(dt).reshape(shape)
        for i in self.alias:  # fused: stored in the memory of the tensor it becomes
            self.buffers[i] = self.buffers[self._root(i)].reshape(self.shapes[i])
        for i, v in self.known.items():
            self.buffers[i] = v
        for i, v in self.external.items():
            self.buffers[i] = v
        for ni in nodes:  # strings and other object tensors: their own arrays
            for o in self.kernels[ni].node.outputs:
                if self.buffers[o] is None and self.dtypes[o] is not None and np.dtype(self.dtypes[o]) == OBJECT:
                    self.buffers[o] = _empty(self.shapes[o], OBJECT)
        if full:
            for i in sg.inputs:
                if self.buffers[i] is None and self.dtypes[i] is not None:
                    self.buffers[i] = _empty(self.shapes[i], self.dtypes[i])
            for ni in nodes:  # object tensors read but written by nobody: empty strings, as numbers get a slot
                for i in self.kernels[ni].node.inputs:
                    if (i >= 0 and self.buffers[i] is None and self.dtypes[i] is not None
                            and np.dtype(self.dtypes[i]) == OBJECT and i not in self.dyn):
                        self.buffers[i] = _empty(self.shapes[i], OBJECT)
        self._scratch_views.update(scratch_views)
        self._holders.update(holders)
        for ni in nodes:
            p = pos_of[ni]
            if ni in lazy:
                self._lazy.add(ni)
                self.steps[p] = self._lazy_step(ni)
            else:
                self._lazy.discard(ni)
                self.steps[p] = self._bind(ni, scratch_views[ni], holders.get(ni))
        return plan, arena

    def _bind(self, ni: int, scratch: list[np.ndarray], holders: list[DynamicOutput] | None) -> Callable[[], None]:
        node = self.kernels[ni].node
        ins = [self.buffers[i] if i >= 0 else None for i in node.inputs]
        outs: list[Any] = [self.buffers[i] for i in node.outputs]
        if ni in self.hosted:
            return self._bind_host(ni, ins, outs, scratch)
        if not holders:
            return self.kernels[ni].bind(ins, outs, scratch)
        by_tensor = {h.index: h for h in holders}
        outs = [by_tensor.get(o, b) for o, b in zip(node.outputs, outs)]
        step = self.kernels[ni].bind(ins, outs, scratch)

        def dynamic_step() -> None:
            try:
                step()
            except MemoryError as e:  # an output the kernel sized past check_alloc's bounds (or raced)
                raise RuntimeError(f"{node.op_name} (node {node.index}): cannot allocate its output ({e})") from None
            changed = [h for h in holders if h.changed]
            if changed:
                self._dynamic_changed(ni, changed)

        return dynamic_step

    def _bind_host(self, ni: int, ins: list[Any], outs: list[Any], scratch: list[np.ndarray]) -> Callable[[], None]:
        """Bind a node hosting fused epilogues (step 2b): the kernel applies them per tile through
        ``Kernel.fused``, or they follow its step chunk by chunk."""
        k = self.kernels[ni]
        mode, chunk = self._host_plan[ni]
        binds = []
        for ci, slot, ep in self.hosted[ni]:
            if ep.bind is None:
                continue
            cnode = self.kernels[ci].node
            out = self.buffers[cnode.outputs[0]]
            cins = [self.buffers[i] if i >= 0 else None for i in cnode.inputs]
            binds.append((ep.bind(cins, out), cins[slot].reshape(-1), out.reshape(-1)))

        def fused(first: int, end: int, worker: int = 0) -> Callable[[], None] | None:
            steps = [f(first, end, x[first:end], o[first:end]) for f, x, o in binds]
            steps = [s for s in steps if s is not None]
            return chain(*steps) if steps else None

        if mode == "tiles":
            k.fused = fused
            try:
                return k.bind(ins, outs, scratch)
            finally:
                k.fused = None
        step = k.bind(ins, outs, scratch)
        size = binds[0][2].size if binds else 0
        if not size:
            return step
        return chain(step, *(fused(e, min(e + chunk, size)) for e in range(0, size, chunk)))

    def _lazy_step(self, ni: int) -> Callable[[], None]:
        def prepare_now() -> None:
            self._reprepare_from({ni})
            if ni in self.step_nodes:  # else it was folded: its outputs are known now
                self.steps[self.step_nodes.index(ni)]()

        return prepare_now

    def _dynamic_changed(self, ni: int, changed: list[DynamicOutput]) -> None:
        for h in changed:
            h.changed = False
            self.buffers[h.index] = h.value
            self.shapes[h.index] = h.value.shape
        stale = set()
        for h in changed:
            stale.update(self._consumers.get(h.index, ()))
        if stale:
            self._reprepare_from(stale)

    def _reprepare_from(self, roots: set[int]) -> None:
        """Prepare ``roots`` and every node reading their outputs (transitively) again, with the
        current shapes; give their outputs a new arena; bind them (see the module docstring)."""
        todo, seen = sorted(roots), set(roots)
        while todo:
            n = todo.pop()
            for o in self.kernels[n].node.outputs:
                for c in self._consumers.get(o, ()):
                    if c not in seen:
                        seen.add(c)
                        todo.append(c)
        nodes = sorted(seen)
        old_live = set(self.step_nodes)
        live, scratch_specs, holders, _ = self._prepare(nodes, full=False)
        new_live = (old_live - set(nodes)) | set(live)
        if new_live != old_live:  # a node was folded or became live: rebuild the step list
            keep = {n: s for n, s in zip(self.step_nodes, self.steps) if n not in seen}
            self.step_nodes = sorted(new_live)
            self.steps = [keep.get(n) for n in self.step_nodes]  # type: ignore[misc]
            self._restructured = True
        self._place(live, scratch_specs, holders, set(), full=False)  # the views keep the new arena alive
        self._has_dynamic = True

    def rebind_inputs(self, external: dict[int, np.ndarray]) -> None:
        """Bind input tensors to the caller's arrays.  Nothing happens while the arrays are the ones
        bound now; other arrays of the same shapes and dtypes are bound again without preparing
        anything (a kernel's ``bind`` only makes views); other shapes prepare the subgraph again."""
        if self.allocated and all(self.external.get(i) is a for i, a in external.items()):
            return
        if not self.allocated or any(a.shape != self.shapes[i] or a.dtype != np.dtype(self.dtypes[i])
                                     for i, a in external.items()):
            self.allocate({**self.external, **external})
            return
        self.external.update(external)
        for i, a in external.items():
            self.buffers[i] = a
        for p, ni in enumerate(self.step_nodes):
            if ni not in self._lazy:
                self.steps[p] = self._bind(ni, self._scratch_views.get(ni, []), self._holders.get(ni))

    def _fold(self, k: Kernel, ins, outs, ctx: PrepareContext) -> None:
        node = k.node
        in_arrays = [s.value if s is not None else None for s in ins]
        out_arrays = [_empty(s.shape, s.dtype) for s in outs]
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
        if init is not None and init.dtype != buf.dtype:
            raise PrepareError(f"variable tensor {i} '{t.name}' holds {t.type_name} initial values but its ops "
                               f"compute it as {buf.dtype.name}")
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
        if self.runtime.cancel_requested:  # every subgraph entry: each WHILE iteration, each branch
            raise InvokeCancelled(f"invoke() was cancelled (Interpreter.cancel()) before subgraph "
                                  f"{self.subgraph.index} ran")
        if _blas_state[0] != self.num_threads:
            _blas.set_threads(self.num_threads)
            _blas_state[0] = self.num_threads
        if not self._has_dynamic:
            for step in self.steps:
                step()
            return
        pos = 0
        while pos < len(self.steps):
            node = self.step_nodes[pos]
            self.steps[pos]()
            if self._restructured:
                self._restructured = False
                pos = self.step_nodes.index(node) if node in self.step_nodes else self._next_pos(node) - 1
            pos += 1

    def _next_pos(self, node: int) -> int:
        for p, n in enumerate(self.step_nodes):
            if n > node:
                return p
        return len(self.step_nodes)

    def profile(self, runs: int = 1) -> list[tuple[int, float]]:
        """Run ``runs`` invocations timing each step; (node index, seconds per run) rows in run
        order.  A node fused into another (step 2b) follows its host with 0 seconds: its time is
        in the host's."""
        _blas.set_threads(self.num_threads)
        _blas_state[0] = self.num_threads
        acc = [0.0] * len(self.steps)
        pc = time.perf_counter
        with np.errstate(all="ignore"):  # as Interpreter.invoke
            for _ in range(runs):
                for j, step in enumerate(self.steps):
                    t0 = pc()
                    step()
                    acc[j] += pc() - t0
        rows = []
        for ni, t in zip(self.step_nodes, acc):
            rows.append((ni, t / runs))
            rows.extend((c, 0.0) for c, _, _ in self.hosted.get(ni, ()))
        return rows


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


#: arenas above this size are checked against the memory available now (``memory_available``:
#: reading it costs tens of microseconds, too much for every small re-plan)
CHECK_AVAILABLE_BYTES = 64 << 20


def memory_available() -> int:
    """The bytes this process could allocate now: Linux's ``MemAvailable`` (free plus reclaimable
    memory), lowered to what the process's memory cgroup (v2 ``memory.max``, v1
    ``memory.limit_in_bytes``) still allows; physical memory where neither can be read.

    Allocations the OS grants lazily (``np.zeros``) would otherwise succeed and have the process
    killed when first written, the way a loop that doubles a tensor per iteration would."""
    avail = memory_limit()
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file, "rb") as f:
                cap = f.read().strip()
            if cap == b"max":
                continue
            with open(usage_file, "rb") as f:
                used = int(f.read().strip())
            avail = min(avail, max(int(cap) - used, 0))
        except (OSError, ValueError):
            continue
    return avail


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
