"""Graph passes over the converter IR (``ir.Graph``), each a function ``pass(g) -> bool`` that
rewrites ``g`` in place and says whether it changed anything.

``optimize(g)`` runs them on each subgraph of the model (the main graph and the children it
calls, each on its own), in this order, the first five repeated until none changes the graph:

1. ``fold_constants``: ops whose inputs are all constants run now, on numlite's own kernels,
   and their outputs become constants (SHAPE / RANK of a tensor of static shape too).
2. ``remove_identities``: RESHAPE to the same signature, identity TRANSPOSE, CAST to the same
   type, ADD / SUB of zero and MUL / DIV by one that broadcast nothing; chains of RESHAPE /
   SQUEEZE / EXPAND_DIMS collapse into one op (or none where they cancel).
3. ``cancel_transposes``: two TRANSPOSEs in a row become one, or none where they cancel.
4. ``fold_scale_shift``: a MUL / ADD / SUB by a per-output-channel constant after a CONV_2D,
   DEPTHWISE_CONV_2D, FULLY_CONNECTED or TRANSPOSE_CONV goes into its weights and bias
   (batch normalization, which the Keras front end writes as MUL and ADD), also through
   reshapes that keep the channels (the last axis).
5. ``remove_dead``: ops whose outputs nothing reads.
6. ``fuse_activations`` (also through one reshape), ``remove_dead`` again, then ``dedupe_constants``.

Every pass keeps the graph's inputs and outputs: a graph output is never made a constant (a
TFLite model's output must be written by an op) and never replaced by a graph input.  Constant
arrays are never modified in place (another op may share them): a changed weight is a new
constant, and the old one is dropped at build if nothing reads it any more.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .ir import Graph, Op

#: a folded op's outputs may be at most this many bytes larger than its inputs (TILE,
#: BROADCAST_TO, FILL and the like would otherwise write large constants into the file)
FOLD_GROWTH_LIMIT = 1 << 20

FUSABLE = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "SUB", "MUL", "CONCATENATION",
           "MAX_POOL_2D", "AVERAGE_POOL_2D", "TRANSPOSE_CONV"}
#: ops whose fused activation needs a newer version than the op has without one
FUSED_ACTIVATION_VERSION = {"TRANSPOSE_CONV": 4}
ACTIVATIONS = {"RELU": "RELU", "RELU6": "RELU6", "RELU_N1_TO_1": "RELU_N1_TO_1"}
RESHAPE_LIKE = {"RESHAPE", "SQUEEZE", "EXPAND_DIMS"}
#: op -> (weights input, bias input, output-channel axis of the weights)
CHANNEL_OPS = {"CONV_2D": (1, 2, 0), "DEPTHWISE_CONV_2D": (1, 2, 3), "FULLY_CONNECTED": (1, 2, 0),
               "TRANSPOSE_CONV": (1, 3, 0)}


# -- helpers ---------------------------------------------------------------------------------------
def _const(g: Graph, t: int) -> np.ndarray | None:
    """The value of constant tensor ``t`` (None for -1, non-constants and variables)."""
    if t < 0:
        return None
    tt = g.tensors[t]
    return None if tt.data is None or tt.variable else tt.data


def _act(o: Op) -> str:
    return str(o.options.get("fused_activation_function", "NONE"))


def _same_shape(g: Graph, a: int, b: int) -> bool:
    ta, tb = g.tensors[a], g.tensors[b]
    return (tuple(ta.signature) == tuple(tb.signature) and tuple(ta.shape) == tuple(tb.shape)
            and np.dtype(ta.dtype) == np.dtype(tb.dtype))


def _rename_inputs(g: Graph, old: int, new: int) -> None:
    for o in g.ops:
        o.inputs = [new if t == old else t for t in o.inputs]


#: ops that read only their input's shape, never its values
SHAPE_READERS = {"SHAPE", "RANK"}


def _value_readers(readers: dict[int, list[Op]], t: int) -> list[Op]:
    """The ops reading ``t``'s values (SHAPE / RANK read only its shape)."""
    return [o for o in readers.get(t, []) if o.name not in SHAPE_READERS]


def _move_shape_readers(g: Graph, readers: dict[int, list[Op]], old: int, new: int) -> None:
    """SHAPE / RANK ops reading ``old`` read ``new`` (of the same shape) instead."""
    for o in readers.get(old, []):
        if o.name in SHAPE_READERS:
            o.inputs = [new if t == old else t for t in o.inputs]


def bypass(g: Graph, o: Op, x: int) -> bool:
    """Remove op ``o``, whose only output equals its input ``x`` (same values, shape and type).

    1. Its output ``y`` not a graph output: readers of ``y`` read ``x``.
    2. ``y`` a graph output: the op writing ``x`` writes ``y`` instead and readers of ``x`` read
       ``y``, so the output keeps its tensor (name, signature entry).  Impossible, and the op
       is kept (returns False), where ``x`` is a graph input or output, a constant or a variable.
    """
    y = o.outputs[0]
    tx, ty = g.tensors[x], g.tensors[y]
    if tx.variable or ty.variable:
        return False
    if y in g.outputs:
        if x in g.inputs or x in g.outputs or tx.data is not None:
            return False
        src = g.producer().get(x)
        if src is None:
            return False
        src.outputs = [y if t == x else t for t in src.outputs]
        _rename_inputs(g, x, y)
    else:
        _rename_inputs(g, y, x)
    g.ops.remove(o)
    return True


Step = Callable[["Graph", "Op", dict[int, list["Op"]], dict[int, "Op"]], bool]


def _until_stable(g: Graph, step: Step) -> bool:
    """Apply ``step(g, op, readers, producer)`` to the ops in order; after each change (it
    returns True) start again with fresh reader / producer maps.  True if anything changed."""
    changed = False
    while True:
        readers, producer = g.readers(), g.producer()
        for o in list(g.ops):
            if step(g, o, readers, producer):
                changed = True
                break
        else:
            return changed


# -- 1. constant folding ---------------------------------------------------------------------------
def _numeric(dtype: object) -> bool:
    return np.dtype(dtype).kind in "biufc"  # type: ignore[call-overload]


def evaluate(g: Graph, o: Op) -> list[np.ndarray] | None:
    """The values of ``o``'s outputs if it can be folded now, else None.

    1. Foldable: every output an intermediate tensor (no graph output, no variable); SHAPE and
       RANK of a tensor whose signature has no free dimension; any other builtin op with at
       least one input and every input a numeric constant, whose numlite kernel is foldable
       (not stateful, random or control flow).
    2. Size rule: the outputs may be at most ``FOLD_GROWTH_LIMIT`` (1 MiB) larger than the
       inputs together, checked on the declared shapes before running and on the results after.
    3. The op runs as a one-op model (``ModelBuilder``) on ``numlite.Interpreter``, so the
       folded values are those of numlite's kernels.  An op numlite cannot run (unsupported
       version, bad shapes) is left to the runtime, which reports it with the model.
    """
    from ..builder import ModelBuilder
    from ..graph import BUILTIN_CODES, load_model
    from ..interpreter import Interpreter
    from ..ops.registry import OpResolver

    outs = [g.tensors[t] for t in o.outputs]
    if not outs or any(t in g.outputs or g.tensors[t].variable for t in o.outputs):
        return None
    if any(not _numeric(t.dtype) for t in outs):
        return None
    ins = [t for t in o.inputs if t >= 0]
    if o.name in ("SHAPE", "RANK") and len(ins) == 1 and len(outs) == 1:
        x = g.tensors[ins[0]]
        if o.name == "RANK":
            return [np.array(len(x.shape), outs[0].dtype)]
        if -1 not in x.signature:
            return [np.array(x.shape, outs[0].dtype)]
        return None
    values = [_const(g, t) for t in ins]
    if not ins or any(v is None or not _numeric(v.dtype) for v in values) or o.name not in BUILTIN_CODES:
        return None
    in_bytes = sum(v.nbytes for v in values if v is not None)
    declared = sum(int(np.prod(t.shape)) * np.dtype(t.dtype).itemsize for t in outs)
    if declared > in_bytes + FOLD_GROWTH_LIMIT:
        return None
    mb = ModelBuilder("fold")
    index = {t: mb.const(g.tensors[t].name, g.tensors[t].data, g.tensors[t].data.dtype) for t in dict.fromkeys(ins)}
    out_index = [mb.tensor(t.name, t.shape, t.dtype) for t in outs]
    try:
        mb.op(o.name, [index[t] if t >= 0 else -1 for t in o.inputs], out_index, version=o.version, **o.options)
        mb.output(*out_index)
        data = mb.build()
        kernel = OpResolver().find(load_model(model_content=data).subgraphs[0].operators[0])
        if kernel is None or not kernel.foldable:
            return None
        it = Interpreter(model_content=data)
        it.allocate_tensors()
        it.invoke()
        results = [np.array(it.get_tensor(i), order="C") for i in out_index]
    except Exception:  # noqa: BLE001 - not folded: the runtime reports the op's error with the model
        return None
    if sum(r.nbytes for r in results) > in_bytes + FOLD_GROWTH_LIMIT:
        return None
    for r, t in zip(results, outs):
        if r.dtype != np.dtype(t.dtype) or r.ndim != len(t.signature) or any(
                s not in (-1, d) for s, d in zip(t.signature, r.shape)):
            return None
    return results


def fold_constants(g: Graph) -> bool:
    """Replace ops whose outputs can be computed now (``evaluate``) by constants, in execution
    order (so chains of them fold in one sweep)."""
    changed = False
    for o in list(g.ops):
        values = evaluate(g, o)
        if values is None:
            continue
        for t, v in zip(o.outputs, values):
            tt = g.tensors[t]
            tt.data, tt.shape, tt.signature = v, tuple(v.shape), tuple(v.shape)
        g.ops.remove(o)
        changed = True
    return changed


# -- 2. identities ---------------------------------------------------------------------------------
_NEUTRAL = {"ADD": (0, True), "SUB": (0, False), "MUL": (1, True), "DIV": (1, False)}


def _identity_input(g: Graph, o: Op) -> int | None:
    """The input ``o`` copies unchanged to its only output, if it is an identity op."""
    if len(o.outputs) != 1 or not o.inputs or o.inputs[0] < 0:
        return None
    x, y = o.inputs[0], o.outputs[0]
    if o.name == "RESHAPE":
        sig = g.tensors[y].signature
        # two free dimensions: the same signature may still split the elements another way
        return x if _same_shape(g, x, y) and list(sig).count(-1) <= 1 else None
    if o.name == "TRANSPOSE":
        perm = _const(g, o.inputs[1]) if len(o.inputs) > 1 else None
        n = len(g.tensors[x].shape)
        ok = perm is not None and np.array_equal(perm.reshape(-1), np.arange(n))
        return x if ok and _same_shape(g, x, y) else None
    if o.name == "CAST":
        return x if _same_shape(g, x, y) else None
    if o.name in _NEUTRAL and len(o.inputs) == 2 and _act(o) == "NONE":
        neutral, commutes = _NEUTRAL[o.name]
        pairs = [(o.inputs[0], o.inputs[1])] + ([(o.inputs[1], o.inputs[0])] if commutes else [])
        for v, c in pairs:
            cv = _const(g, c)
            if (cv is not None and cv.dtype == np.dtype(g.tensors[v].dtype) and np.all(cv == neutral)
                    and _same_shape(g, v, y)):
                return v
    return None


def _squeezed(g: Graph, o: Op) -> list[int] | None:
    """The dimensions SQUEEZE ``o`` drops (None where they depend on run-time sizes)."""
    x = g.tensors[o.inputs[0]]
    dims = list(o.options.get("squeeze_dims") or [])
    if not dims:
        return None if -1 in x.signature else [d for d, n in enumerate(x.shape) if n == 1]
    return sorted({int(d) % len(x.shape) for d in dims})


def _expanded(g: Graph, o: Op) -> int | None:
    """The output dimension EXPAND_DIMS ``o`` inserts (None if its axis is not a constant)."""
    a = _const(g, o.inputs[1]) if len(o.inputs) > 1 else None
    if a is None or a.size != 1:
        return None
    return int(a.reshape(-1)[0]) % len(g.tensors[o.outputs[0]].shape)


def _reshape_chain(g: Graph, o: Op, src: Op) -> bool:
    """Rewrite reshape-like ``o`` reading reshape-like ``src`` to read ``src``'s input."""
    x, y = src.inputs[0], o.outputs[0]
    if o.name == "RESHAPE":  # reshape(reshape(x)) == reshape(x) whatever the first one did
        o.inputs[0] = x
        return True
    pair = (src.name, o.name)
    cancel = ((pair == ("EXPAND_DIMS", "SQUEEZE") and _squeezed(g, o) == [_expanded(g, src)])
              or (pair == ("SQUEEZE", "EXPAND_DIMS") and _squeezed(g, src) == [_expanded(g, o)]))
    if cancel and _same_shape(g, x, y) and bypass(g, o, x):
        return True
    if list(g.tensors[y].signature).count(-1) <= 1 and np.dtype(g.tensors[x].dtype) == np.dtype(g.tensors[y].dtype):
        new = g.reshape(x, y, g.tensors[y].name)
        g.ops.pop()  # g.reshape appended it: it takes o's place in the execution order instead
        g.ops[g.ops.index(o)] = new
        return True
    return False


def remove_identities(g: Graph) -> bool:
    """Drop ops that copy their input (``_identity_input``) with ``bypass``, and collapse a
    RESHAPE / SQUEEZE / EXPAND_DIMS reading another: a RESHAPE reads the first one's input; a
    SQUEEZE undoing an EXPAND_DIMS (or the reverse) goes; another pair becomes one RESHAPE
    where its output has at most one free dimension.  The first op goes with ``remove_dead``
    when nothing else reads it.  (``x + 0`` writes -0.0 as +0.0; without the op -0.0 stays: an
    equal value.)"""

    def step(g: Graph, o: Op, readers: dict, producer: dict) -> bool:
        x = _identity_input(g, o)
        if x is not None and bypass(g, o, x):
            return True
        src = producer.get(o.inputs[0]) if o.name in RESHAPE_LIKE and o.inputs else None
        if src is not None and src.name in RESHAPE_LIKE and src.inputs[0] >= 0:
            return _reshape_chain(g, o, src)
        return False

    return _until_stable(g, step)


# -- 3. transposes ---------------------------------------------------------------------------------
def cancel_transposes(g: Graph) -> bool:
    """TRANSPOSE ``p2`` of TRANSPOSE ``p1`` of ``x`` (constant permutations) is TRANSPOSE
    ``p1[p2]`` of ``x``: removed (``bypass``) where that is the identity, else written as one
    TRANSPOSE when nothing else reads the first one's output (which ``remove_dead`` drops)."""

    def perm(o: Op) -> np.ndarray | None:
        p = _const(g, o.inputs[1]) if o.name == "TRANSPOSE" and len(o.inputs) == 2 else None
        n = len(g.tensors[o.inputs[0]].shape)
        p = None if p is None else p.reshape(-1).astype(np.int64)
        return p if p is not None and np.array_equal(np.sort(p), np.arange(n)) else None

    def step(g: Graph, o: Op, readers: dict, producer: dict) -> bool:
        src = producer.get(o.inputs[0]) if o.name == "TRANSPOSE" else None
        p2 = perm(o) if src is not None else None
        p1 = perm(src) if p2 is not None and src.name == "TRANSPOSE" else None  # type: ignore[union-attr]
        if p1 is None or p2 is None or src is None:
            return False
        composed, x, mid = p1[p2], src.inputs[0], o.inputs[0]
        if np.array_equal(composed, np.arange(composed.size)):
            return _same_shape(g, x, o.outputs[0]) and bypass(g, o, x)
        if len(readers.get(mid, ())) != 1 or mid in g.outputs:
            return False
        o.inputs = [x, g.const(g.tensors[o.outputs[0]].name + "/perm", composed.astype(np.int32), np.int32)]
        return True

    return _until_stable(g, step)


# -- 4. scale and shift into weights ---------------------------------------------------------------
def _per_channel(c: np.ndarray, n: int, rank: int) -> np.ndarray | None:
    """``c`` as a vector of ``n`` output-channel values if it is one broadcast along the last
    axis of a rank-``rank`` tensor (a scalar, or ``[..., 1, n]``), else None."""
    if c.ndim > rank or c.dtype != np.float32:
        return None
    if c.size == 1:
        return np.full(n, c.reshape(-1)[0], np.float32)
    if c.shape[-1] == n and c.size == n:
        return c.reshape(n)
    return None


def _keeps_channels(g: Graph, o: Op, n: int) -> bool:
    """Reshape-like ``o`` leaves the last axis (``n`` channels, static on both sides) as it is,
    so element ``i`` keeps channel ``i % n``: a per-channel constant commutes with it."""
    if o.name not in RESHAPE_LIKE or len(o.outputs) != 1 or not o.inputs:
        return False
    a, b = g.tensors[o.inputs[0]], g.tensors[o.outputs[0]]
    return (bool(a.shape) and bool(b.shape) and a.shape[-1] == b.shape[-1] == n and a.signature[-1] == n
            and b.signature[-1] == n and np.dtype(a.dtype) == np.dtype(b.dtype))


def fold_scale_shift(g: Graph) -> bool:
    """A CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED / TRANSPOSE_CONV ``P`` (float32 constant
    weights and bias or none, fused activation NONE) whose output only a MUL / ADD / SUB ``M``
    reads, with a per-output-channel (or scalar) constant ``c``, absorbs ``M``:

    1. MUL: the weights along their output-channel axis (CONV_2D, TRANSPOSE_CONV and
       FULLY_CONNECTED: 0 of OHWI / [O, I]; DEPTHWISE_CONV_2D: 3 of [1, H, W, O]) and the bias
       are multiplied by ``c``.
    2. ADD / SUB (``y - c`` only): ``c`` is added to (subtracted from) the bias; a bias is made
       where ``P`` has none (TRANSPOSE_CONV: version 3 at least).
    3. ``P`` writes ``M``'s output and takes ``M``'s fused activation (TRANSPOSE_CONV: version 4
       at least where it is not NONE).
    Between ``P`` and ``M`` may stand RESHAPE / SQUEEZE / EXPAND_DIMS ops that keep the last
    axis (the channels, static) as it is (``_keeps_channels``; Conv1D's RESHAPE back to rank 3, a
    Reshape layer after a Dense), each the only reader of what it reads: ``M`` is folded the
    same way and the last of them writes ``M``'s output.
    New weights and bias are new constants: the old ones may be shared with other ops.
    The results agree with the unfolded graph to float32 rounding (``x * (w * c)`` against
    ``(x * w) * c``)."""

    def step(g: Graph, p: Op, readers: dict, producer: dict) -> bool:
        if p.name not in CHANNEL_OPS or _act(p) != "NONE" or len(p.outputs) != 1:
            return False
        wi, bi, axis = CHANNEL_OPS[p.name]
        if p.name == "FULLY_CONNECTED" and (p.options.get("weights_format", "DEFAULT") not in ("DEFAULT", 0)):
            return False
        w = _const(g, p.inputs[wi]) if len(p.inputs) > wi else None
        bias_t = p.inputs[bi] if len(p.inputs) > bi else -1
        b = _const(g, bias_t)
        if w is None or w.dtype != np.float32 or (bias_t >= 0 and (b is None or b.dtype != np.float32)) \
                or w.ndim not in (2, 4):
            return False
        n = w.shape[axis]
        y = p.outputs[0]
        if g.tensors[y].shape[-1] != n:
            return False
        chain: list[Op] = []  # the reshape-like ops between P and M
        t = y
        while True:
            users = _value_readers(readers, t)  # a SHAPE of them (a run-time reshape's) may read them too
            if t in g.outputs or len(users) != 1 or len(users[0].outputs) != 1:
                return False
            if users[0].inputs[0] == t and _keeps_channels(g, users[0], n):
                chain.append(users[0])
                t = users[0].outputs[0]
                continue
            m = users[0]
            break
        if m.name not in ("MUL", "ADD", "SUB") or len(m.inputs) != 2:
            return False
        other = m.inputs[1] if m.inputs[0] == t else m.inputs[0] if m.name != "SUB" else -1
        c = _const(g, other)
        s = _per_channel(c, n, len(g.tensors[t].shape)) if c is not None and other != t else None
        if s is None or not _same_shape(g, t, m.outputs[0]) or g.tensors[t].shape[-1] != n:
            return False
        if _act(m) != "NONE":
            p.version = max(p.version, FUSED_ACTIVATION_VERSION.get(p.name, 1))
        name = g.tensors[t].name
        if m.name == "MUL":
            shape = [1] * w.ndim
            shape[axis] = n
            p.inputs[wi] = g.const(name + "/weights", w * s.reshape(shape))
            new_b = None if b is None else b * s
        else:
            base = b if b is not None else np.zeros(n, np.float32)
            new_b = base + s if m.name == "ADD" else base - s
            if p.name == "TRANSPOSE_CONV":
                p.version = max(p.version, 3)
        if new_b is not None:
            while len(p.inputs) <= bi:
                p.inputs.append(-1)
            p.inputs[bi] = g.const(name + "/bias", new_b.astype(np.float32))
        p.options["fused_activation_function"] = _act(m)  # elementwise: it commutes with the reshapes
        (chain[-1] if chain else p).outputs = [m.outputs[0]]
        _move_shape_readers(g, readers, t, m.outputs[0])  # t is written no more
        g.ops.remove(m)
        return True

    return _until_stable(g, step)


# -- 5. the original passes ------------------------------------------------------------------------
def fuse_activations(g: Graph) -> bool:
    """A RELU / RELU6 / RELU_N1_TO_1 whose input is written by an op with a
    ``fused_activation_function`` of NONE (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD,
    SUB, MUL, CONCATENATION, pools, TRANSPOSE_CONV: version 4 at least) and read by nothing else
    (and no graph output) becomes that op's fused activation, as TensorFlow's converter writes it.
    Also through one RESHAPE / SQUEEZE / EXPAND_DIMS between them (Conv1D's RESHAPE back to
    rank 3), itself read only by the activation: the op fuses the activation (elementwise, so it
    commutes with the reshape) and the reshape writes the activation's output."""
    readers, producer = g.readers(), g.producer()

    def only_reader(t: int) -> bool:  # besides SHAPE ops (which read the same shape after the fusion)
        return len(_value_readers(readers, t)) == 1 and t not in g.outputs

    kept = []
    for o in g.ops:
        src = producer.get(o.inputs[0]) if o.name in ACTIVATIONS and o.inputs else None
        via = None
        if (src is not None and src.name in RESHAPE_LIKE and len(src.outputs) == 1 and src.inputs
                and only_reader(o.inputs[0])):
            via, src = src, producer.get(src.inputs[0])
        mid = via.inputs[0] if via is not None else o.inputs[0] if o.inputs else -1
        if src is not None and src.name in FUSABLE and _act(src) == "NONE" and only_reader(mid):
            src.options["fused_activation_function"] = ACTIVATIONS[o.name]
            src.version = max(src.version, FUSED_ACTIVATION_VERSION.get(src.name, 1))
            gone = o.inputs[0]  # written no more: its SHAPE readers read the activation's output
            if via is None:
                src.outputs = [o.outputs[0] if t == mid else t for t in src.outputs]
                producer[o.outputs[0]] = src
            else:
                via.outputs = [o.outputs[0]]
                producer[o.outputs[0]] = via
            _move_shape_readers(g, readers, gone, o.outputs[0])
            continue
        kept.append(o)
    changed = len(kept) != len(g.ops)
    g.ops = kept
    return changed


def remove_dead(g: Graph) -> bool:
    """Ops whose outputs nothing reads (and are no graph outputs) go, repeatedly; ops without
    outputs stay (they act on state).  Tensors nothing uses are not written at build."""
    changed = False
    while True:
        read = {t for o in g.ops for t in o.inputs} | set(g.outputs)
        alive = [o for o in g.ops if not o.outputs or any(t in read for t in o.outputs)]
        if len(alive) == len(g.ops):
            return changed
        g.ops = alive
        changed = True


def dedupe_constants(g: Graph) -> bool:
    """Constants of equal dtype, shape and bytes (zero biases, shape vectors) become one tensor
    with one buffer."""
    first: dict[tuple[str, tuple[int, ...], bytes], int] = {}
    alias: dict[int, int] = {}
    for i, t in enumerate(g.tensors):
        if t.data is None or t.variable or i in g.outputs:
            continue
        a = np.asarray(t.data)
        key = (a.dtype.str, a.shape, hashlib.sha256(a.tobytes()).digest())
        j = first.setdefault(key, i)
        if j != i and np.array_equal(g.tensors[j].data, a):
            alias[i] = j
    changed = False
    for o in g.ops:
        new = [alias.get(t, t) for t in o.inputs]
        changed |= new != o.inputs
        o.inputs = new
    return changed


#: the passes repeated until none changes the graph, in this order
FIXED_POINT_PASSES = (fold_constants, remove_identities, cancel_transposes, fold_scale_shift, remove_dead)


def optimize(g: Graph, max_rounds: int = 20) -> None:
    """Optimize ``g`` and, where it is a model's main graph, each of the subgraphs its ops call
    (control flow bodies, conditions), each on its own (``optimize_one``): an op of one subgraph
    reads only that subgraph's tensors, and every pass keeps a subgraph's inputs and outputs.
    A caller first, then what it still calls (``Graph.called_subgraphs``): a subgraph whose
    calling op the passes removed is left alone (and is not written)."""
    if g is not g.root:
        optimize_one(g, max_rounds)
        return
    done: set[int] = set()
    while True:
        todo = [sub for sub in g.called_subgraphs() if id(sub) not in done]
        if not todo:
            return
        optimize_one(todo[0], max_rounds)
        done.add(id(todo[0]))


def optimize_one(g: Graph, max_rounds: int = 20) -> None:
    """Run ``FIXED_POINT_PASSES`` on graph ``g`` alone until it stops changing (at most
    ``max_rounds`` times: each change removes or shortens something, so a few rounds suffice),
    then ``fuse_activations``, ``remove_dead`` and ``dedupe_constants``."""
    for _ in range(max_rounds):
        changed = False
        for p in FIXED_POINT_PASSES:
            changed |= p(g)
        if not changed:
            break
    fuse_activations(g)
    remove_dead(g)
    dedupe_constants(g)
