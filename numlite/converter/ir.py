"""The converter's graph IR; the passes every front end shares are in ``converter.passes``.

A ``Graph`` holds tensors (``T``: name, shape with 1 where the model's dimension is free,
``shape_signature`` with -1 there, dtype, constant data) and ops (``Op``: TFLite op name,
input and output tensor indices, options, version), in execution order.

``Graph.build`` runs the passes (``optimize=False`` writes the graph as it is) and writes the
.tflite file.  Passes, in the order ``passes.optimize`` runs them (the first five repeated
until the graph stops changing):

- ``fold_constants``: ops whose inputs are all constants (not stateful, no variables, no graph
  output, outputs at most 1 MiB larger than inputs) run now on numlite's kernels and become
  constants; SHAPE / RANK of a tensor of static shape too.
- ``remove_identities``: RESHAPE to the same signature, identity TRANSPOSE, CAST to the same
  type, ADD / SUB of zero and MUL / DIV by one that broadcast nothing; consecutive RESHAPE /
  SQUEEZE / EXPAND_DIMS collapse into one op, or none where they cancel.
- ``cancel_transposes``: consecutive TRANSPOSEs compose into one, or none where they cancel.
- ``fold_scale_shift``: a MUL / ADD / SUB by a per-output-channel constant after a CONV_2D,
  DEPTHWISE_CONV_2D, FULLY_CONNECTED or TRANSPOSE_CONV goes into its weights and bias (batch
  normalization, written as MUL and ADD), also through RESHAPE / SQUEEZE / EXPAND_DIMS ops
  that keep the last (channel) axis.
- ``remove_dead``: ops whose outputs nothing reads (and are no graph outputs) go, repeatedly;
  tensors nothing uses are not written.
- ``fuse_activations``: a RELU / RELU6 / RELU_N1_TO_1 whose input is written by an op with a
  ``fused_activation_function`` of NONE (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD,
  SUB, MUL, CONCATENATION, pools, TRANSPOSE_CONV: version 4) and read by nothing else (and no
  graph output) becomes that op's fused activation, as TensorFlow's converter writes it; also
  with one reshape-like op between them.
- ``dedupe_constants``: constants of equal dtype, shape and bytes (zero biases, shape vectors)
  become one tensor with one buffer.

A graph output is never made a constant nor replaced by a graph input: an identity between the
two stays as the copy op the model needs.

Subgraphs (control flow): ``g.subgraph(name)`` makes a child ``Graph`` (its own tensors,
constants, ops, inputs and outputs) written as another subgraph of the same model, in the order
the children were made (the main graph is subgraph 0, a child's children are numbered after it
among all of them).  An op option whose value is a ``Graph`` (``cond_subgraph_index=cond``,
``body_subgraph_index=body`` of a WHILE) is written as that graph's subgraph index; a subgraph
no op calls any more (its WHILE removed as dead) is not written, and the ones after it move up.
The passes run on every subgraph called, each on its own (``passes.optimize``); a subgraph's
inputs and outputs are kept as they are (a WHILE body's outputs are its next loop variables, a cond's output its
condition), even where an output is an input passed through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import passes
from .passes import ACTIVATIONS, FUSABLE

__all__ = ["ACTIVATIONS", "FUSABLE", "Graph", "Op", "ReshapeError", "T", "free_dims"]


class ReshapeError(ValueError):
    """A reshape between two shapes with free dimensions whose sizes cannot be told at run time."""


class OptionError(ValueError):
    """An op option no TFLite kernel takes (a stride, dilation, filter size or depth multiplier
    below 1): the front end names the layer that asked for it."""


#: options every TFLite kernel that has them needs at least 1
POSITIVE_OPTIONS = ("stride_h", "stride_w", "stride_d", "dilation_h_factor", "dilation_w_factor", "dilation_d_factor",
                    "filter_width", "filter_height", "depth_multiplier")


def free_dims(g: Graph, x: int, y: int) -> list[int | tuple[int]]:
    """How to make ``y``'s shape from ``x``'s at run time (``Graph.dynamic_shape``'s ``dims``):
    its static sizes as they are, and for its free dimensions

    1. each the free dimension of ``x`` in the same order, when both have as many and the
       static sizes between (before the first, between two, after the last) multiply to the
       same (``[B, T, 8] -> [B, T, 2, 4]``: each free size is then forced);
    2. else, where ``y`` has two: the batch (dimension 0 of both, free in both; every Keras
       layer keeps it) and -1 for the other (``[B, T, 8] -> [B, 2T, 4]``).
    Anything else raises ``ReshapeError``."""
    xs, ys = g.tensors[x].signature, g.tensors[y].signature

    def segments(sig: tuple[int, ...]) -> tuple[list[int], list[int]]:
        free, seg, acc = [], [], 1
        for k, d in enumerate(sig):
            if d == -1:
                free.append(k)
                seg.append(acc)
                acc = 1
            else:
                acc *= int(d)
        return free, [*seg, acc]

    fx, sx = segments(xs)
    fy, sy = segments(ys)
    if len(fx) == len(fy) and sx == sy:
        take = dict(zip(fy, fx))
        return [(take[k],) if k in take else int(d) for k, d in enumerate(ys)]
    if len(fy) == 2 and fy[0] == 0 and fx and fx[0] == 0:
        return [(0,) if k == 0 else int(d) for k, d in enumerate(ys)]
    raise ReshapeError(f"cannot reshape {g.tensors[x].name!r} of shape {tuple(xs)} into {g.tensors[y].name!r} of "
                       f"shape {tuple(ys)} (-1: free): the free sizes cannot be told apart at run time")


@dataclass(eq=False)
class T:
    name: str
    shape: tuple[int, ...]
    signature: tuple[int, ...]
    dtype: Any = np.float32
    data: np.ndarray | None = None
    #: a variable tensor (recurrent state, carried across invokes)
    variable: bool = False


@dataclass(eq=False)
class Op:
    name: str
    inputs: list[int]
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)
    version: int = 1


class Graph:
    def __init__(self, name: str = "main") -> None:
        self.name = name
        self.tensors: list[T] = []
        self.ops: list[Op] = []
        self.inputs: list[int] = []
        self.outputs: list[int] = []
        self._names: set[str] = set()
        #: what ``dynamic_shape`` made, to reuse: SHAPE per tensor, its slices and shape vectors
        self._shapes: dict[Any, int] = {}
        #: the main graph of the model (``self`` for the main graph)
        self.root: Graph = self
        #: the main graph's list of every child graph, in subgraph order (index + 1)
        self._children: list[Graph] = []

    # -- subgraphs ---------------------------------------------------------------------------------
    def subgraph(self, name: str) -> Graph:
        """A new child graph, written as subgraph ``len(subgraphs)`` of the model (after the ones
        made before it, at any depth).  Its tensor indices are its own; tensor names are unique
        across the model.  Refer to it from an op's options by the graph itself."""
        child = Graph(name)
        child.root = self.root
        child._names = self.root._names  # one name space for the model's tensors
        self.root._children.append(child)
        return child

    @property
    def subgraphs(self) -> list[Graph]:
        """Every graph of the model, the main one first: the subgraphs in the order they are written."""
        return [self.root, *self.root._children]

    def subgraph_index(self, g: Graph) -> int:
        """The subgraph index ``g`` is written at (0: the main graph) where every subgraph is
        written; ``build`` leaves out the ones no op calls (``called_subgraphs``)."""
        for k, sub in enumerate(self.subgraphs):
            if sub is g:
                return k
        raise ValueError(f"graph {g.name!r} is not a subgraph of this model")

    def called_subgraphs(self) -> list[Graph]:
        """The main graph and the subgraphs its ops call (an option naming a ``Graph``), and those
        theirs call, in subgraph order: a subgraph whose calling op was removed (a dead WHILE)
        is left out."""
        seen = {id(self.root)}
        todo = [self.root]
        while todo:
            for o in todo.pop().ops:
                for v in o.options.values():
                    if isinstance(v, Graph) and id(v) not in seen:
                        if v.root is not self.root:
                            raise ValueError(f"op {o.name} calls graph {v.name!r}, which is not a subgraph of "
                                             "this model")
                        seen.add(id(v))
                        todo.append(v)
        return [g for g in self.subgraphs if id(g) in seen]

    def _unique(self, name: str) -> str:
        base, k = name, 1
        while name in self._names:
            k += 1
            name = f"{base}_{k}"
        self._names.add(name)
        return name

    def tensor(self, name: str, shape: Any, dtype: Any = np.float32) -> int:
        """A tensor of Keras shape ``shape`` (None: free, written 1 with -1 in the signature)."""
        dims = tuple(1 if d is None else int(d) for d in shape)
        sig = tuple(-1 if d is None else int(d) for d in shape)
        self.tensors.append(T(self._unique(name), dims, sig, np.dtype(dtype).type))
        return len(self.tensors) - 1

    def const(self, name: str, value: Any, dtype: Any = np.float32) -> int:
        a = np.array(value, dtype, order="C")  # a copy (never the caller's array); a scalar stays 0-D
        self.tensors.append(T(self._unique(name), a.shape, a.shape, np.dtype(dtype).type, a))
        return len(self.tensors) - 1

    def op(self, name: str, inputs: list[int], outputs: list[int], version: int = 1, **options: Any) -> Op:
        for key in POSITIVE_OPTIONS:
            if key in options and int(options[key]) < 1:
                raise OptionError(f"{name} with {key}={int(options[key])} (TFLite's kernels need at least 1)")
        o = Op(name, list(inputs), list(outputs), options, version)
        self.ops.append(o)
        return o

    def reshape(self, x: int, y: int, name: str, like: int | None = None) -> Op:
        """RESHAPE ``x`` into ``y``'s shape signature.

        At most one free dimension: the constant shape (and ``new_shape``) with -1 there.  Two or
        more: SQUEEZE / EXPAND_DIMS where ``y`` is ``x`` less (plus) one axis of size 1; else the
        shape is made at run time (``dynamic_shape``) from ``SHAPE(x)`` (``free_dims``),
        or, given ``like``, from ``SHAPE(like)``: ``y``'s free dimensions are ``like``'s, in order
        (the caller knows they are); the RESHAPE reads it as its shape input (no ``new_shape``:
        LiteRT makes the output dynamic)."""
        sig = list(self.tensors[y].signature)
        if sig.count(-1) <= 1:
            target = np.array(sig, np.int32)
            return self.op("RESHAPE", [x, self.const(name + "/shape", target, np.int32)], [y],
                           new_shape=[int(d) for d in target])
        xs = list(self.tensors[x].signature)
        for k in range(len(xs)):  # one axis of size 1 dropped: SQUEEZE (Conv1D's way back to rank 3)
            if len(sig) == len(xs) - 1 and xs[k] == 1 and xs[:k] + xs[k + 1:] == sig:
                return self.op("SQUEEZE", [x], [y], squeeze_dims=[k])
        for k in range(len(sig)):  # or inserted: EXPAND_DIMS
            if len(sig) == len(xs) + 1 and sig[k] == 1 and sig[:k] + sig[k + 1:] == xs:
                return self.op("EXPAND_DIMS", [x, self.const(name + "/axis", np.array([k], np.int32), np.int32)], [y])
        if like is None:
            return self.op("RESHAPE", [x, self.dynamic_shape(x, free_dims(self, x, y), name)], [y])
        free = [k for k, d in enumerate(self.tensors[like].signature) if d == -1]
        if len(free) != sig.count(-1):
            raise ReshapeError(f"cannot reshape into {self.tensors[y].name!r} of shape {tuple(sig)} (-1: free) with "
                               f"the free sizes of {self.tensors[like].name!r} of shape "
                               f"{tuple(self.tensors[like].signature)}")
        it = iter(free)
        dims: list[int | tuple[int]] = [(next(it),) if d == -1 else int(d) for d in sig]
        return self.op("RESHAPE", [x, self.dynamic_shape(like, dims, name)], [y])

    def dynamic_shape(self, x: int, dims: list[int | tuple[int]], name: str) -> int:
        """An int32 shape vector computed at run time: ``dims`` lists, per dimension, a size (an
        int; -1 at most once, resolved by the op reading it) or ``(k,)``: dimension ``k`` of ``x``.
        SHAPE of ``x``, a STRIDED_SLICE per run of consecutive dimensions of ``x``, constants for
        the sizes between, CONCATENATION of the pieces; each made once per graph and reused."""
        key = (x, tuple(dims))
        if key in self._shapes:
            return self._shapes[key]
        shp = self._shapes.get(x)
        if shp is None:
            shp = self.tensor(self.tensors[x].name + "/shape", (len(self.tensors[x].shape),), np.int32)
            self.op("SHAPE", [x], [shp], out_type="INT32")
            self._shapes[x] = shp
        runs: list[list[int | tuple[int]]] = []
        for d in dims:
            taken = isinstance(d, tuple)
            last = runs[-1][-1] if runs else None
            if runs and taken == isinstance(last, tuple) and (not taken or d[0] == last[0] + 1):  # type: ignore
                runs[-1].append(d)
            else:
                runs.append([d])
        pieces = []
        for k, run in enumerate(runs):
            if not isinstance(run[0], tuple):
                pieces.append(self.const(f"{name}/dims{k}", np.array(run, np.int32), np.int32))
                continue
            begin = run[0][0]  # type: ignore[index]
            if (x, begin, len(run)) in self._shapes:
                pieces.append(self._shapes[(x, begin, len(run))])
                continue
            piece = self.tensor(f"{name}/input_dims{k}", (len(run),), np.int32)
            self._shapes[(x, begin, len(run))] = piece
            self.op("STRIDED_SLICE", [shp, self.const(f"{name}/begin{k}", np.array([begin], np.int32), np.int32),
                                      self.const(f"{name}/end{k}", np.array([begin + len(run)], np.int32), np.int32),
                                      self.const(f"{name}/stride{k}", np.array([1], np.int32), np.int32)], [piece],
                    begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0)
            pieces.append(piece)
        if len(pieces) == 1:
            out = pieces[0]
        else:
            out = self.tensor(name + "/target_shape", (len(dims),), np.int32)
            self.op("CONCATENATION", pieces, [out], axis=0, fused_activation_function="NONE")
        self._shapes[key] = out
        return out

    def readers(self) -> dict[int, list[Op]]:
        out: dict[int, list[Op]] = {}
        for o in self.ops:
            for t in o.inputs:
                if t >= 0:
                    out.setdefault(t, []).append(o)
        return out

    def producer(self) -> dict[int, Op]:
        return {t: o for o in self.ops for t in o.outputs}

    # -- passes (see converter.passes) ------------------------------------------------------------
    def fuse_activations(self) -> bool:
        return passes.fuse_activations(self)

    def remove_dead(self) -> bool:
        return passes.remove_dead(self)

    def dedupe_constants(self) -> bool:
        return passes.dedupe_constants(self)

    def optimize(self) -> None:
        """Run every pass (``passes.optimize``) on this graph and on each of the model's other
        subgraphs, each on its own, in place."""
        passes.optimize(self)

    # -- writing -----------------------------------------------------------------------------------
    def build(self, description: str = "numlite converter", signature_names: tuple[list[str], list[str]] | None = None,
              optimize: bool = True) -> bytes:
        """The .tflite bytes of this model (this graph must be the main one; its children are the
        other subgraphs), after the passes (``optimize``: they change the graphs in place; False
        writes them as they are, dead ops included)."""
        from ..builder import ModelBuilder

        if self is not self.root:
            raise ValueError(f"build the model from its main graph, not from subgraph {self.name!r}")
        if optimize:
            self.optimize()
        mb = ModelBuilder(description)
        graphs = self.called_subgraphs()
        number = {id(sub): k for k, sub in enumerate(graphs)}
        index = self._write(mb, number)
        for sub in graphs[1:]:
            mb.new_subgraph(sub.name)
            sub._write(mb, number)
        if signature_names is not None:
            ins, outs = signature_names
            mb.signature("serving_default", {n: index[t] for n, t in zip(ins, self.inputs)},
                         {n: index[t] for n, t in zip(outs, self.outputs)})
        return mb.build()

    def _write(self, mb: Any, number: dict[int, int]) -> dict[int, int]:
        """Write this graph's tensors and ops into ``mb``'s current subgraph (``number``: the
        subgraph index of each graph written, by ``id``); the map from IR tensor indices to the
        subgraph's."""
        used = {t for o in self.ops for t in (*o.inputs, *o.outputs)} | set(self.inputs) | set(self.outputs)
        used.discard(-1)
        index: dict[int, int] = {}
        for i, t in enumerate(self.tensors):
            if i not in used:
                continue
            sig = t.signature if t.signature != t.shape else None
            if i in self.inputs:
                index[i] = mb.tensor(t.name, t.shape, t.dtype, shape_signature=sig)
            elif t.data is not None:
                index[i] = mb.const(t.name, t.data, t.dtype)
            else:
                index[i] = mb.tensor(t.name, t.shape, t.dtype, shape_signature=sig, is_variable=t.variable)
        for o in self.ops:
            options = {k: number[id(v)] if isinstance(v, Graph) else v for k, v in o.options.items()}
            mb.op(o.name, [index[t] if t >= 0 else -1 for t in o.inputs], [index[t] for t in o.outputs],
                  version=o.version, **options)
        mb.sg["inputs"].extend(index[i] for i in self.inputs)  # in their order (a loop body's variables)
        mb.output(*[index[t] for t in self.outputs])
        return index
