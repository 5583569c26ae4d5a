"""Arena memory planner: lifetimes along the execution order, greedy-by-size placement.

Algorithm (after TFLite Micro's ``GreedyMemoryPlanner`` and TFLite's ``ArenaPlanner``):

1. Every buffer has a size and a lifetime ``[first, last]`` in execution steps: a tensor
   lives from the node that writes it to the last node that reads it; graph inputs,
   outputs and variables live throughout; a scratch buffer lives at its node only.
2. Sizes are rounded up to ``alignment`` bytes, so every view starts aligned.
3. Buffers are placed largest first (ties: longer lifetime first, then index).  For each, the
   already placed buffers whose lifetimes overlap it are sorted by offset and the smallest
   gap between them that fits is chosen (best fit); if none fits, it goes above them all.
4. ``no_reuse=True`` gives every buffer its own range (``experimental_preserve_all_tensors``).

Guarantees: two buffers alive at the same step never overlap; the arena is at least the
lower bound (the largest total of sizes alive at any one step) and at most the no-reuse
sum.  Limits: placement is O(n^2) in the number of buffers (a few thousand at most here);
greedy placement is not optimal, the report shows how far it is from the lower bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    offsets: list[int]
    arena_bytes: int
    no_reuse_bytes: int
    lower_bound_bytes: int

    def report(self) -> dict[str, int]:
        return {"arena_bytes": self.arena_bytes, "no_reuse_bytes": self.no_reuse_bytes,
                "lower_bound_bytes": self.lower_bound_bytes}


def _round(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def plan_arena(sizes: Sequence[int], first: Sequence[int], last: Sequence[int],
               alignment: int = 64, no_reuse: bool = False) -> Plan:
    n = len(sizes)
    asz = [_round(int(s), alignment) for s in sizes]
    for i in range(n):
        if first[i] > last[i]:
            raise ValueError(f"buffer {i} has an empty lifetime [{first[i]}, {last[i]}]")
    no_reuse_total = sum(asz)
    # lower bound: the largest live total at any step (sweep over lifetime boundaries)
    events: dict[int, int] = {}
    for i in range(n):
        if asz[i]:
            events[first[i]] = events.get(first[i], 0) + asz[i]
            events[last[i] + 1] = events.get(last[i] + 1, 0) - asz[i]
    live = lower = 0
    for t in sorted(events):
        live += events[t]
        lower = max(lower, live)
    offsets = [0] * n
    if no_reuse:
        pos = 0
        for i in range(n):
            offsets[i] = pos
            pos += asz[i]
        return Plan(offsets, pos, no_reuse_total, lower)
    order = sorted(range(n), key=lambda i: (-asz[i], -(last[i] - first[i]), i))
    placed: list[int] = []
    arena = 0
    for i in order:
        size = asz[i]
        if size == 0:
            continue
        f, la = first[i], last[i]
        overlaps = sorted((offsets[j], offsets[j] + asz[j]) for j in placed
                          if first[j] <= la and f <= last[j])
        best, best_gap, cur = None, None, 0
        for lo, hi in overlaps:
            gap = lo - cur
            if gap >= size and (best_gap is None or gap < best_gap):
                best, best_gap = cur, gap
            cur = max(cur, hi)
        offsets[i] = cur if best is None else best
        arena = max(arena, offsets[i] + size)
        placed.append(i)
    return Plan(offsets, arena, no_reuse_total, lower)
