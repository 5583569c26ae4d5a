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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import passes
from .passes import ACTIVATIONS, FUSABLE

__all__ = ["ACTIVATIONS", "FUSABLE", "Graph", "Op", "T"]


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
    def __init__(self) -> None:
        self.tensors: list[T] = []
        self.ops: list[Op] = []
        self.inputs: list[int] = []
        self.outputs: list[int] = []
        self._names: set[str] = set()

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
        o = Op(name, list(inputs), list(outputs), options, version)
        self.ops.append(o)
        return o

    def reshape(self, x: int, y: int, name: str) -> Op:
        """RESHAPE ``x`` into ``y``'s shape signature (its free dimensions -1)."""
        target = np.array(self.tensors[y].signature, np.int32)
        return self.op("RESHAPE", [x, self.const(name + "/shape", target, np.int32)], [y],
                       new_shape=[int(d) for d in target])

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
        """Run every pass (``passes.optimize``) on this graph, in place."""
        passes.optimize(self)

    # -- writing -----------------------------------------------------------------------------------
    def build(self, description: str = "numlite converter", signature_names: tuple[list[str], list[str]] | None = None,
              optimize: bool = True) -> bytes:
        """The .tflite bytes of this graph, after the passes (``optimize``: they change the graph
        in place; False writes it as it is, dead ops included)."""
        from ..builder import ModelBuilder

        if optimize:
            self.optimize()
        used = {t for o in self.ops for t in (*o.inputs, *o.outputs)} | set(self.inputs) | set(self.outputs)
        used.discard(-1)
        mb = ModelBuilder(description)
        index: dict[int, int] = {}
        for i, t in enumerate(self.tensors):
            if i not in used:
                continue
            sig = t.signature if t.signature != t.shape else None
            if i in self.inputs:
                index[i] = mb.input(t.name, t.shape, t.dtype, shape_signature=sig)
            elif t.data is not None:
                index[i] = mb.const(t.name, t.data, t.dtype)
            else:
                index[i] = mb.tensor(t.name, t.shape, t.dtype, shape_signature=sig, is_variable=t.variable)
        for o in self.ops:
            mb.op(o.name, [index[t] if t >= 0 else -1 for t in o.inputs], [index[t] for t in o.outputs],
                  version=o.version, **o.options)
        mb.output(*[index[t] for t in self.outputs])
        if signature_names is not None:
            ins, outs = signature_names
            mb.signature("serving_default", {n: index[t] for n, t in zip(ins, self.inputs)},
                         {n: index[t] for n, t in zip(outs, self.outputs)})
        return mb.build()
