"""Graph partitioning for delegates, as TFLite does it (``graph_info.cc``,
``PartitionGraphIntoIndependentNodeSubsets``, and ``delegates/utils.cc``'s
``GraphPartitionHelper``).

``partition(nodes, n_tensors, graph_outputs, delegated, side_effects)``:

1. Every tensor that no node writes (graph inputs, constants, variables read before any write)
   is always ready; a node's outputs become ready when the node is placed.
2. Node subsets are built one at a time.  A scan over the nodes in execution order places every
   node that is not placed yet, whose inputs are all ready and whose control predecessors are
   all placed, if its kind (delegated or not) is the subset's kind; the first node placed fixes
   the kind.  Greedily, scans repeat until one places nothing, so a subset takes every node of
   its kind that becomes ready (TFLite's worked example: nodes 0 -> 1 -> 2* -> 3* -> 5 and
   1 -> 4 -> 5 with 2 and 3 delegated give {0, 1, 4}, {2, 3}, {5}).  Then the next subset
   starts.  No subset can depend on a later one, so replacing a delegated subset by one node
   never creates a cycle.
3. Nodes that may have side effects (state, resources, random numbers, control flow) keep their
   relative order: each is a control predecessor of the next.
4. A subset's input tensors are those its nodes read from outside it (earlier subsets, graph
   inputs, constants); its output tensors are those later subsets read, and the graph outputs
   it writes.  Both lists are sorted and unique.

``select(subsets, max_partitions, min_nodes)``: the delegated subsets, largest first (stable
for equal sizes), at most ``max_partitions`` of them (0: all), dropping those with fewer than
``min_nodes`` nodes; as TFLite's simple delegate, the nodes of the kept partitions are then
partitioned again (``partition``) to build the final plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

ALWAYS_READY = -2
NOT_READY = -1


@dataclass
class NodeSubset:
    delegated: bool
    nodes: list[int] = field(default_factory=list)
    input_tensors: list[int] = field(default_factory=list)
    output_tensors: list[int] = field(default_factory=list)


def partition(nodes: Sequence[tuple[Sequence[int], Sequence[int]]], n_tensors: int, graph_outputs: Sequence[int],
              delegated: set[int], side_effects: Sequence[int] = (), greedily: bool = True) -> list[NodeSubset]:
    """Steps 1-4.  ``nodes``: (input tensors, output tensors) per node, in execution order (-1
    for an omitted optional input); ``delegated``: the positions of the nodes a delegate takes;
    ``side_effects``: positions of nodes whose relative order must be kept."""
    tensor_epoch = [ALWAYS_READY] * n_tensors
    for _, outs in nodes:
        for t in outs:
            if t >= 0:
                tensor_epoch[t] = NOT_READY
    node_epoch = [NOT_READY] * len(nodes)
    chain = sorted(side_effects) if greedily else []
    preds = {b: a for a, b in zip(chain, chain[1:])}  # node -> the side-effecting node before it
    subsets: list[NodeSubset] = []
    kind: list[bool | None] = []

    def place(i: int) -> bool:
        ins, outs = nodes[i]
        if node_epoch[i] != NOT_READY or any(t >= 0 and tensor_epoch[t] == NOT_READY for t in ins):
            return False
        if i in preds and node_epoch[preds[i]] == NOT_READY:
            return False
        epoch = len(subsets) - 1
        mine = i in delegated
        if kind[epoch] is None:
            kind[epoch] = mine
            subsets[epoch].delegated = mine
        if kind[epoch] != mine:
            return False
        node_epoch[i] = epoch
        cur = subsets[epoch]
        cur.nodes.append(i)
        for t in outs:
            if t >= 0:
                tensor_epoch[t] = epoch
        for t in ins:
            if t >= 0 and tensor_epoch[t] != epoch:
                cur.input_tensors.append(t)
                if tensor_epoch[t] >= 0:
                    subsets[tensor_epoch[t]].output_tensors.append(t)
        return True

    while True:
        subsets.append(NodeSubset(False))
        kind.append(None)
        while True:
            did = False
            for i in range(len(nodes)):
                if place(i):
                    did = True
                elif did and not greedily:
                    break
            if not did or not greedily:
                break
        if not subsets[-1].nodes:
            subsets.pop()
            break
    if any(e == NOT_READY for e in node_epoch):
        raise ValueError("the graph cannot be ordered: a node reads a tensor that no earlier node writes")
    for t in graph_outputs:
        if t >= 0 and tensor_epoch[t] >= 0:
            subsets[tensor_epoch[t]].output_tensors.append(t)
    for s in subsets:
        s.input_tensors = sorted(set(s.input_tensors))
        s.output_tensors = sorted(set(s.output_tensors))
    return subsets


def select(subsets: Sequence[NodeSubset], max_partitions: int = 0, min_nodes: int = 1) -> list[NodeSubset]:
    """The delegated subsets to keep (see the module docstring)."""
    parts = sorted((s for s in subsets if s.delegated), key=lambda s: -len(s.nodes))
    if max_partitions > 0:
        parts = parts[:max_partitions]
    return [s for s in parts if len(s.nodes) >= max(min_nodes, 1)]
