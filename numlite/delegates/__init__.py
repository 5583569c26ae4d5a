"""Delegates: backends that take over the parts of a graph they can run, in TFLite's shape.

A ``Delegate`` (TFLite's ``SimpleDelegateInterface``) says which nodes it supports
(``supports``) and makes one kernel per partition (``kernel_class``: a ``DelegateKernel``, a
numlite ``Kernel`` whose node is the whole partition).  ``Interpreter(experimental_delegates=
[...])`` applies the delegates in order, when the interpreter is built, to every subgraph
(``apply``):

1. Each node still run by numlite's own kernels is offered to the delegate (nodes an earlier
   delegate took are not offered again).
2. The supported nodes are partitioned as TFLite does (``partition.partition``: dependency-ordered
   subsets, no cycles, side-effecting nodes kept in order); the delegate's
   ``max_delegated_partitions`` (0: no limit) largest partitions with at least
   ``min_nodes_per_partition`` nodes are kept (``partition.select``), and the graph is
   partitioned again with only their nodes.
3. Each kept partition becomes one ``DELEGATE`` node of the execution plan (a
   ``DelegateOperator``: inputs are the tensors the partition reads from outside, constants
   included, outputs the tensors read after it and the graph outputs it writes), in the
   position the partitioning gives it; its tensors at the boundary live in numlite's arena like
   any other.  ``Interpreter._get_ops_details()`` lists the original nodes, then the delegate
   nodes (indices from the node count on), as LiteRT does.

``experimental_preserve_all_tensors=True`` turns delegation off (a partition's intermediate
tensors are the delegate's own), so every tensor stays readable.

``load_delegate(name_or_delegate, options)`` mirrors LiteRT's ``load_delegate(library,
options)``: a ``Delegate`` instance or class, a registered name, or ``"module:attribute"``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ..graph import BUILTIN_CODES, Operator, Subgraph
from ..ops.base import Kernel, PrepareContext, TensorSpec
from . import partition as _partition

#: delegates ``load_delegate`` knows by name: name -> "module:attribute"
REGISTERED: dict[str, str] = {"onnxruntime": "numlite.delegates.ort:OnnxRuntimeDelegate"}


class Delegate:
    """Base class of Python delegates.  Subclasses set ``name`` and ``kernel_class`` and
    implement ``supports``.

    Options (``options`` mapping; unknown keys stay in ``self.options`` for the subclass):
    ``max_delegated_partitions`` (int, 0 = no limit) and ``min_nodes_per_partition`` (int,
    default 1), as in TFLite's ``SimpleDelegateInterface::Options``."""

    name: ClassVar[str] = "numlite delegate"
    kernel_class: ClassVar[type[DelegateKernel]]

    def __init__(self, options: Mapping[str, Any] | None = None):
        opts = dict(options or {})
        try:
            self.max_delegated_partitions = int(opts.pop("max_delegated_partitions", 0))
            self.min_nodes_per_partition = int(opts.pop("min_nodes_per_partition", 1))
        except (TypeError, ValueError) as e:
            raise ValueError(f"{self.name}: max_delegated_partitions and min_nodes_per_partition must be "
                             f"integers ({e})") from None
        if self.max_delegated_partitions < 0:
            raise ValueError(f"{self.name}: max_delegated_partitions must be >= 0 (0: no limit)")
        self.options: dict[str, Any] = opts

    def supports(self, op: Operator, subgraph: Subgraph) -> bool:
        """Whether this delegate runs node ``op`` of ``subgraph`` (its op name, version, options,
        and its tensors' dtypes, shapes, quantization and constant data are in the graph)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


@dataclass(eq=False)
class DelegateOperator(Operator):
    """The node that replaces one partition (``op_name`` ``DELEGATE``)."""

    delegate: Delegate | None = None
    #: the partition's original nodes, in execution order
    nodes: tuple[Operator, ...] = ()
    #: the subgraph the partition belongs to
    subgraph: Subgraph | None = None


class DelegateKernel(Kernel):
    """The kernel of one partition (TFLite's ``SimpleDelegateKernelInterface``): ``prepare``
    (the default sets every output's shape and dtype, as ``infer`` finds them) then ``bind``,
    like any numlite kernel.  ``self.delegate``, ``self.nodes`` (the partition's original
    operators) and ``self.subgraph`` describe the partition; ``self.node.inputs`` /
    ``self.node.outputs`` are its boundary tensors, in the order ``bind`` gets their arrays."""

    foldable: ClassVar[bool] = False
    fusion_host: ClassVar[bool] = False
    #: ``prepare`` asks numlite's kernels for shapes only (``infer``'s ``shapes_only``): a
    #: delegate that does not bind them sets it
    shapes_only: ClassVar[bool] = False

    def __init__(self, node: Operator, options: Any):
        super().__init__(node, None)
        assert isinstance(node, DelegateOperator)
        self.delegate = node.delegate
        self.nodes = node.nodes
        self.subgraph = node.subgraph

    def prepare(self, ctx: PrepareContext) -> None:
        """Sets every output's shape and dtype from ``infer``; ``self.specs`` keeps them all."""
        self.specs = self.infer(ctx, self.shapes_only)
        for j, o in enumerate(self.node.outputs):
            ctx.set_output(j, self.specs[o].shape, self.specs[o].dtype)

    def infer(self, ctx: PrepareContext, shapes_only: bool = False) -> dict[int, TensorSpec]:
        """Shapes and dtypes of every tensor of the partition for the current input shapes, by
        preparing numlite's own kernels of its nodes (nothing is bound or run).  Returns
        tensor index -> ``TensorSpec`` (with the value where it is known now); the prepared
        kernels and their contexts stay in ``self.prepared``, in execution order.  With
        ``shapes_only`` (``PrepareContext.shapes_only``) kernels may skip their weight
        re-layouts: they must not be bound then."""
        known: dict[int, TensorSpec] = {s.index: s for s in ctx.inputs if s is not None}
        tensors = self.subgraph.tensors
        self.prepared: list[tuple[Kernel, PrepareContext]] = []
        for op in self.nodes:
            cls = ctx.runtime.resolver.find(op)
            kernel = cls(op, op.options)
            ins = [known.get(i) if i >= 0 else None for i in op.inputs]
            outs = []
            for i in op.outputs:
                t = tensors[i]
                outs.append(TensorSpec(index=i, name=t.name, dtype=t.dtype, shape=t.shape,
                                       quantization=t.quantization, type_name=t.type_name))
            sub = PrepareContext(op, ins, outs, ctx.num_threads, None, ctx.runtime, self.subgraph.index)
            sub.shapes_only = shapes_only
            kernel.prepare(sub)
            self.prepared.append((kernel, sub))
            for j, (i, spec) in enumerate(zip(op.outputs, outs)):
                spec.value = sub.known_outputs.get(j)
                known[i] = spec
        return known


def apply(delegates: Sequence[Delegate], subgraph: Subgraph, operators: list[Operator],
          classes: list[type[Kernel]], first_index: int) -> tuple[list[Operator], list[type[Kernel]],
                                                                  list[DelegateOperator]]:
    """Apply ``delegates`` in order to one subgraph whose execution plan is ``operators`` (with
    their kernel ``classes``); delegate nodes are numbered from ``first_index``.  Returns the new
    plan, its kernel classes and the delegate nodes made (module docstring, steps 1-3)."""
    made: list[DelegateOperator] = []
    for d in delegates:
        # nodes numlite folds at prepare (float16 / sparse weights: DEQUANTIZE, DENSIFY of
        # constants) are constants to the partitioning: they go first in the plan and their
        # outputs are ready from the start, so they never split a partition of their readers
        fold = _constant_nodes(operators, classes, subgraph)
        order = [p for p in range(len(operators)) if p not in fold]
        offered = [p for p in order if not isinstance(operators[p], DelegateOperator)]
        supported = {j for j, p in enumerate(order) if p in offered and d.supports(operators[p], subgraph)}
        if not supported:
            continue
        nodes = [(operators[p].inputs, operators[p].outputs) for p in order]
        n = len(subgraph.tensors)
        effects = [j for j, p in enumerate(order) if _side_effects(operators[p], classes[p], subgraph)]
        first = _partition.partition(nodes, n, subgraph.outputs, supported, effects)
        kept = _partition.select(first, d.max_delegated_partitions, d.min_nodes_per_partition)
        chosen = {j for s in kept for j in s.nodes}
        if not chosen:
            continue
        plan: list[Operator] = [operators[p] for p in sorted(fold)]
        plan_classes: list[type[Kernel]] = [classes[p] for p in sorted(fold)]
        for s in _partition.partition(nodes, n, subgraph.outputs, chosen, effects):
            if not s.delegated:
                plan.extend(operators[order[j]] for j in s.nodes)
                plan_classes.extend(classes[order[j]] for j in s.nodes)
                continue
            op = DelegateOperator(
                index=first_index + len(made), opcode_index=-1, builtin_code=BUILTIN_CODES["DELEGATE"],
                op_name="DELEGATE", custom_code=d.name, version=1, inputs=tuple(s.input_tensors),
                outputs=tuple(s.output_tensors), intermediates=(), options=None, options_type=None,
                custom_options=None, delegate=d, nodes=tuple(operators[order[j]] for j in s.nodes), subgraph=subgraph)
            made.append(op)
            plan.append(op)
            plan_classes.append(d.kernel_class)
        operators, classes = plan, plan_classes
    return operators, classes, made


def _constant_nodes(operators: list[Operator], classes: list[type[Kernel]], subgraph: Subgraph) -> set[int]:
    """Positions of the nodes numlite folds at prepare whatever the input shapes: foldable
    kernels all of whose inputs are constants or outputs of such nodes (none variable)."""
    tensors = subgraph.tensors
    known = {t.index for t in tensors if t.data is not None and not t.is_variable}
    out: set[int] = set()
    for p, (op, cls) in enumerate(zip(operators, classes)):
        ins = [t for t in op.inputs if t >= 0]
        if (cls.foldable and ins and all(t in known for t in ins) and op.outputs
                and not any(tensors[t].is_variable for t in op.outputs)):
            out.add(p)
            known.update(op.outputs)
    return out


def _side_effects(op: Operator, cls: type[Kernel], subgraph: Subgraph) -> bool:
    """Nodes whose order matters beyond their data (TFLite's ``might_have_side_effect``): stateful
    kernels (not foldable: resources, random numbers, control flow, recurrent state, and the
    nodes of earlier delegates) and nodes reading or writing variable tensors."""
    return not cls.foldable or any(t >= 0 and subgraph.tensors[t].is_variable for t in (*op.inputs, *op.outputs))


def load_delegate(name_or_delegate: Any, options: Mapping[str, Any] | None = None) -> Delegate:
    """numlite's ``load_delegate`` (LiteRT: ``load_delegate(library, options)``): a ``Delegate``
    instance (returned as it is; ``options`` must then be empty), a ``Delegate`` subclass
    (instantiated with ``options``), a name registered in ``REGISTERED``, or a
    ``"module:attribute"`` string naming a ``Delegate`` subclass."""
    if isinstance(name_or_delegate, Delegate):
        if options:
            raise ValueError(f"{name_or_delegate!r} is already made; pass options to its class instead")
        return name_or_delegate
    target = name_or_delegate
    if isinstance(target, str):
        spec = REGISTERED.get(target, target)
        if ":" not in spec:
            known = ", ".join(sorted(REGISTERED)) or "none yet"
            raise ValueError(f"unknown delegate {target!r}: give a Delegate instance or class, a registered name "
                             f"({known}) or 'module:attribute'")
        module_name, _, attr = spec.partition(":")
        try:
            target = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as e:
            raise ValueError(f"cannot load delegate {name_or_delegate!r}: {e}") from e
    if isinstance(target, type) and issubclass(target, Delegate):
        return target(options)  # a missing optional dependency raises its ImportError here
    raise ValueError(f"not a numlite delegate: {name_or_delegate!r} (a Delegate instance or subclass is needed; "
                     "LiteRT's shared-library delegates cannot run in numlite)")


__all__ = ["REGISTERED", "Delegate", "DelegateKernel", "DelegateOperator", "apply", "load_delegate"]
