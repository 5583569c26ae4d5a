"""Shared pieces of the non-max-suppression ops (NON_MAX_SUPPRESSION_V4 / V5, and the
TFLite_Detection_PostProcess custom op in ``numlite.custom.detection``).

1. **Ordering exactly as LiteRT.**  LiteRT keeps NMS candidates in a ``std::priority_queue``
   and sorts detection classes with ``std::partial_sort``; neither is stable, so for equal
   scores the order comes from the heap layout of libstdc++ (the C++ library the LiteRT wheel
   is built with).  ``pq_push`` / ``pq_pop`` / ``partial_argsort`` re-implement those heap
   routines step by step (sift-up on push; "move the hole to a leaf, then sift the last element
   up" on pop; heap-select then sort-heap for ``partial_sort``), so ties come out in LiteRT's
   order.  They run in Python; callers use them only for the few elements whose order matters.
2. **Box geometry in float32** with C++'s ``std::min``/``std::max`` semantics
   (``min(a, b) = b < a ? b : a``, which differs from ``np.minimum`` when a value is NaN), so
   IoU values, and the decisions taken on them, are those of LiteRT.
3. ``soft_nms`` is the single-class (soft-)NMS of NON_MAX_SUPPRESSION_V4 / V5 (see its
   docstring); ``NmsKernel`` is those two ops' kernel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .base import Kernel, PrepareContext, Step

Less = Callable[[Any, Any], bool]

#: the largest max_output_size numlite pads its outputs to (a hostile model could ask for 2^31)
MAX_OUTPUT_LIMIT = 1 << 24


# --- libstdc++ heap algorithms (std::push_heap / pop_heap / make_heap / partial_sort) ------
def _sift_up(h: list, hole: int, top: int, value: Any, less: Less) -> None:
    parent = (hole - 1) // 2
    while hole > top and less(h[parent], value):
        h[hole] = h[parent]
        hole = parent
        parent = (hole - 1) // 2
    h[hole] = value


def _adjust(h: list, hole: int, length: int, value: Any, less: Less) -> None:
    top = second = hole
    while second < (length - 1) // 2:
        second = 2 * (second + 1)
        if less(h[second], h[second - 1]):
            second -= 1
        h[hole] = h[second]
        hole = second
    if (length & 1) == 0 and second == (length - 2) // 2:
        second = 2 * (second + 1)
        h[hole] = h[second - 1]
        hole = second - 1
    _sift_up(h, hole, top, value, less)


def _by_score(a: list, b: list) -> bool:
    return a[0] < b[0]


def pq_push(h: list, item: list) -> None:
    """``std::priority_queue::push`` with ``a < b`` on ``item[0]`` (the score)."""
    h.append(item)
    _sift_up(h, len(h) - 1, 0, item, _by_score)


def pq_pop(h: list) -> list:
    """``top()`` then ``pop()`` of a ``std::priority_queue`` built by ``pq_push``."""
    top = h[0]
    n = len(h)
    if n > 1:
        value = h[n - 1]
        h[n - 1] = top
        _adjust(h, 0, n - 1, value, _by_score)
    h.pop()
    return top


def partial_argsort(values: np.ndarray, k: int) -> list[int]:
    """The first ``k`` entries of ``std::partial_sort`` over ``iota(n)`` with the comparator
    ``values[i] > values[j]`` (LiteRT's DecreasingPartialArgSort): the ``k`` largest values'
    indices, largest first, ties and NaNs placed exactly as libstdc++ places them."""
    v = [float(x) for x in np.asarray(values).reshape(-1)]
    n = len(v)
    k = min(k, n)
    a = list(range(n))

    def less(i: int, j: int) -> bool:
        return v[i] > v[j]

    if k > 1:  # make_heap
        parent = (k - 2) // 2
        while True:
            _adjust(a, parent, k, a[parent], less)
            if parent == 0:
                break
            parent -= 1
    for i in range(k, n):  # heap-select
        if less(a[i], a[0]):
            value = a[i]
            a[i] = a[0]
            _adjust(a, 0, k, value, less)
    m = k
    while m > 1:  # sort_heap
        m -= 1
        value = a[m]
        a[m] = a[0]
        _adjust(a, 0, m, value, less)
    return a[:k]


def first_argmax(rows: np.ndarray) -> np.ndarray:
    """Per row, LiteRT's ArgMaxVector (its detection op's choice of one class per anchor): the
    first maximum, NaNs skipped wherever they are (measured on LiteRT 2.3: ``[nan, .9, .5]``
    gives 1, ``[nan, nan, .3]`` gives 2); 0 for a row of NaNs."""
    rows = np.asarray(rows)
    return np.argmax(np.where(np.isnan(rows), rows.dtype.type(-np.inf), rows), axis=-1)


# --- float32 box geometry ------------------------------------------------------------------
def cmin(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``std::min(a, b)`` elementwise (keeps ``a`` unless ``b < a``)."""
    return np.where(b < a, b, a)


def cmax(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``std::max(a, b)`` elementwise (keeps ``a`` unless ``a < b``)."""
    return np.where(a < b, b, a)


_ZERO = np.float32(0.0)


def iou_one_to_many(ymin: np.ndarray, xmin: np.ndarray, ymax: np.ndarray, xmax: np.ndarray,
                    area: np.ndarray, i: int, js: np.ndarray) -> np.ndarray:
    """float32 IoU of box ``i`` with boxes ``js`` (all given as min/max corners and areas), as
    LiteRT computes it: 0 where either area is <= 0, else ``inter / (area_i + area_j - inter)``
    with the intersection's sides clamped at 0 by ``std::max``."""
    ih = cmax(cmin(ymax[i], ymax[js]) - cmax(ymin[i], ymin[js]), _ZERO)
    iw = cmax(cmin(xmax[i], xmax[js]) - cmax(xmin[i], xmin[js]), _ZERO)
    inter = ih * iw
    with np.errstate(all="ignore"):
        iou = inter / ((area[i] + area[js]) - inter)
    degenerate = (area[i] <= 0) | (area[js] <= 0)
    return np.where(degenerate, _ZERO, iou).astype(np.float32, copy=False)


def corner_boxes(boxes: np.ndarray) -> tuple[np.ndarray, ...]:
    """(ymin, xmin, ymax, xmax, area) float32 columns of ``[N, 4]`` boxes given as two opposite
    corners ``[y1, x1, y2, x2]`` in any order (NON_MAX_SUPPRESSION's convention)."""
    y1, x1, y2, x2 = (np.ascontiguousarray(boxes[:, k]) for k in range(4))
    ymin, ymax = cmin(y1, y2), cmax(y1, y2)
    xmin, xmax = cmin(x1, x2), cmax(x1, x2)
    with np.errstate(all="ignore"):
        area = (ymax - ymin) * (xmax - xmin)
    return ymin, xmin, ymax, xmax, area


# --- NON_MAX_SUPPRESSION_V4 / V5 ----------------------------------------------------------------
def soft_nms(boxes: np.ndarray, scores: np.ndarray, max_output_size: int, iou_threshold: float,
             score_threshold: float, sigma: float) -> tuple[list[int], list[float]]:
    """LiteRT's single-class (soft-)NMS; returns (selected indices, their scores).

    1. Candidates are the boxes with ``score > score_threshold`` (NaN never is), pushed in index
       order into a max-priority queue on score (libstdc++'s heap: ties pop in its order).
       At most ``min(#candidates, max_output_size)`` boxes are selected.
    2. Pop the best; walk the boxes selected since it was last examined, newest first: an IoU
       ``>= iou_threshold`` drops it for good (hard suppression); otherwise, with ``sigma > 0``,
       its score is multiplied by ``exp((-0.5 / sigma) * iou * iou)`` (float32), and the walk
       stops once the score is ``<= score_threshold``.
    3. Not dropped: selected if its score did not change; pushed back if its score is still
       above the threshold - a selected box too, as in LiteRT, so it is popped again and then
       meets itself (IoU 1 for a proper box: dropped; a zero-area box has IoU 0 with
       everything, so LiteRT selects it again and again, and so does this function).
    4. The walk is vectorised: the IoUs with the walked boxes, the first hard hit, and the
       running float32 product of the decay factors (``np.multiply.accumulate`` multiplies in
       sequence, rounding as the C++ loop does); ``exp`` is taken in double and rounded, which
       matches glibc's correctly rounded ``expf``.
    """
    scores = np.asarray(scores, np.float32)
    thr = np.float32(score_threshold)
    iou_thr = np.float32(iou_threshold)
    cand = np.flatnonzero(scores > thr)
    out_n = min(int(cand.size), int(max_output_size))
    sel: list[int] = []
    sel_scores: list[float] = []
    if out_n <= 0:
        return sel, sel_scores
    ymin, xmin, ymax, xmax, area = corner_boxes(np.asarray(boxes, np.float32))
    soft = sigma > 0.0
    scale = np.float32(-0.5 / float(sigma)) if soft else np.float32(0.0)
    heap: list[list] = []
    for i in cand.tolist():
        pq_push(heap, [float(scores[i]), i, 0])
    thr_f = float(thr)
    with np.errstate(all="ignore"):
        while len(sel) < out_n and heap:
            item = pq_pop(heap)
            score, idx, begin = item
            original = score
            hard = False
            count = len(sel) - begin
            if count > 0:
                walked = np.asarray(sel[begin:][::-1], np.intp)
                ious = iou_one_to_many(ymin, xmin, ymax, xmax, area, idx, walked)
                hits = ious >= iou_thr
                h = int(np.argmax(hits)) if hits.any() else count
                if soft:
                    t = (scale * ious) * ious
                    f = np.exp(t.astype(np.float64)).astype(np.float32)
                    run = np.multiply.accumulate(np.concatenate(([np.float32(score)], f)), dtype=np.float32)
                    low = run[1:] <= thr
                    b = int(np.argmax(low)) if low.any() else count
                    if h < count and h <= b:
                        hard = True
                    else:
                        score = float(run[min(b, count - 1) + 1])
                elif h < count:
                    hard = True
            item[2] = len(sel)
            if hard:
                continue
            if score == original:
                sel.append(idx)
                sel_scores.append(score)
            if score > thr_f:
                item[0] = score
                pq_push(heap, item)
    return sel, sel_scores


BOXES, SCORES, MAX_OUTPUT_SIZE, IOU_THRESHOLD, SCORE_THRESHOLD, SIGMA = range(6)


class NmsKernel(Kernel):
    """NON_MAX_SUPPRESSION_V4 and V5 (LiteRT runs both with one kernel).

    1. Inputs: boxes float32 ``[N, 4]``, scores float32 ``[N]``, max_output_size int32 scalar,
       iou_threshold and score_threshold float32 scalars, and (6 inputs: soft NMS) sigma
       float32 scalar.  As in LiteRT, the number of inputs decides: 5 inputs give 2 outputs
       (selected indices, count), 6 inputs give 3 (selected indices, selected scores, count),
       whichever of the two op codes the node has.
    2. The outputs have max_output_size elements; slots past the count are 0.  A max_output_size
       known only at invoke makes them dynamic (LiteRT 2.3 resizes and pads them the same way).
       Negative is an error; above ``MAX_OUTPUT_LIMIT`` (2^24) numlite refuses to allocate the
       padded outputs (at prepare, or at invoke for a run-time value).
    3. A negative sigma is an error (at prepare when constant, else at invoke).
    4. The selection is ``soft_nms``.
    """

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(5, 6)
        self.soft = len(ctx.inputs) == 6
        n_out = 3 if self.soft else 2
        if len(ctx.outputs) != n_out:
            ctx.fail(f"with {len(ctx.inputs)} inputs expects {n_out} outputs, got {len(ctx.outputs)}")
        boxes, scores = ctx.input(BOXES), ctx.input(SCORES)
        ctx.expect_dtype(boxes, [np.float32], "boxes")
        ctx.expect_rank(boxes, 2, "boxes")
        if boxes.shape[1] != 4:
            ctx.fail(f"boxes {boxes.describe()} must have shape [num_boxes, 4]")
        ctx.expect_dtype(scores, [np.float32], "scores")
        ctx.expect_rank(scores, 1, "scores")
        if scores.shape[0] != boxes.shape[0]:
            ctx.fail(f"scores {scores.describe()} must have one score per box of {boxes.describe()}")
        mos = ctx.input(MAX_OUTPUT_SIZE)
        ctx.expect_dtype(mos, [np.int32], "max_output_size")
        ctx.expect_rank(mos, 0, "max_output_size")
        roles = [(IOU_THRESHOLD, "iou_threshold"), (SCORE_THRESHOLD, "score_threshold")]
        if self.soft:
            roles.append((SIGMA, "soft_nms_sigma"))
        for slot, role in roles:
            spec = ctx.input(slot)
            ctx.expect_dtype(spec, [np.float32], role)
            ctx.expect_rank(spec, 0, role)
        if self.soft and ctx.input(SIGMA).value is not None:
            sigma = float(np.asarray(ctx.input(SIGMA).value).reshape(-1)[0])
            if sigma < 0:
                ctx.fail(f"soft_nms_sigma is {sigma}; it must not be negative")
        self.where = f"{self.op_name} (node {self.node.index})"
        self.count_slot = n_out - 1
        for o in range(n_out - 1):
            want = np.float32 if (self.soft and o == 1) else np.int32
            spec = ctx.outputs[o]
            if spec.dtype is not None and np.dtype(spec.dtype) != np.dtype(want):
                ctx.fail(f"output {spec.describe()} must be {np.dtype(want).name}")
        count = ctx.outputs[self.count_slot]
        if count.dtype is not None and np.dtype(count.dtype) != np.int32:
            ctx.fail(f"output {count.describe()} must be int32")
        ctx.set_output(self.count_slot, (), np.int32)
        self.padded = mos.value is not None
        if self.padded:
            size = int(np.asarray(mos.value).reshape(-1)[0])
            if size < 0:
                ctx.fail(f"max_output_size is {size}; it must not be negative")
            if size > MAX_OUTPUT_LIMIT:
                ctx.fail(f"max_output_size {size} exceeds numlite's limit of {MAX_OUTPUT_LIMIT} padded outputs")
            self.size = size
            ctx.set_output(0, (size,), np.int32)
            if self.soft:
                ctx.set_output(1, (size,), np.float32)
        else:
            ctx.set_output_dynamic(0, np.int32)
            if self.soft:
                ctx.set_output_dynamic(1, np.float32)

    def bind(self, inputs: list[Any], outputs: list[Any], scratch: list[np.ndarray]) -> Step:
        boxes, scores, mos, iou_t, score_t = inputs[:5]
        sigma_in = inputs[SIGMA] if self.soft else None
        idx_out = outputs[0]
        score_out = outputs[1] if self.soft else None
        count_out = outputs[self.count_slot]
        padded, soft, where = self.padded, self.soft, self.where

        def step() -> None:
            limit = int(mos.reshape(-1)[0])
            if limit < 0:
                raise RuntimeError(f"{where}: max_output_size is {limit}; it must not be negative")
            if limit > MAX_OUTPUT_LIMIT:
                raise RuntimeError(f"{where}: max_output_size {limit} exceeds numlite's limit of "
                                   f"{MAX_OUTPUT_LIMIT} padded outputs")
            sigma = float(sigma_in.reshape(-1)[0]) if soft else 0.0
            if sigma < 0:
                raise RuntimeError(f"{where}: soft_nms_sigma is {sigma}; it must not be negative")
            sel, sel_scores = soft_nms(boxes, scores, limit, float(iou_t.reshape(-1)[0]),
                                       float(score_t.reshape(-1)[0]), sigma)
            k = len(sel)
            count_out[...] = k
            if padded:
                idx_out[:k] = sel
                idx_out[k:] = 0
                if soft:
                    score_out[:k] = sel_scores
                    score_out[k:] = 0.0
            else:
                ids = np.zeros(limit, np.int32)
                ids[:k] = sel
                idx_out.set(ids)
                if soft:
                    vals = np.zeros(limit, np.float32)
                    vals[:k] = sel_scores
                    score_out.set(vals)

        return step
