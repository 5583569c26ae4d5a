"""TFLite_Detection_PostProcess: the SSD detection head's box decoding and multi-class NMS,
matching LiteRT 2.3's custom kernel (``tflite/kernels/detection_postprocess.cc``).

Enable it for every ``Interpreter`` with ``numlite.custom.detection.register()``, or for one with
``Interpreter(..., custom_ops=numlite.custom.detection.OPS)``.

1. **Inputs**: box encodings ``[1, N, >= 4]`` (``[ty, tx, th, tw, ...]``; extra key-point
   columns are ignored), class scores ``[1, N, C]`` with ``C = num_classes`` or
   ``num_classes + 1`` (then column 0 is the background and is skipped), anchors ``[N, 4]``
   (``[y_center, x_center, h, w]``).  Each is float32, or uint8 / int8 with per-tensor
   quantization, dequantized first as ``(q - zero_point) * scale`` in float32.  LiteRT reads
   uint8 only (int8 fails there, and it reads uint8 anchors even when they are float); numlite
   dequantizes each input by its own type, which is LiteRT's result wherever LiteRT has one.
2. **Options** (a FlexBuffers map): ``max_detections``, ``max_classes_per_detection``,
   ``detections_per_class`` (default 100), ``nms_score_threshold``, ``nms_iou_threshold``,
   ``num_classes``, ``y_scale``, ``x_scale``, ``h_scale``, ``w_scale``, ``use_regular_nms``
   (default false).  A missing number is 0, as in LiteRT.  Checked at prepare, where LiteRT
   fails at invoke: counts must be int32 and not negative, ``num_classes`` must fit the scores
   (``C - num_classes`` is 0 or 1), ``0 < nms_iou_threshold <= 1``, the fast path needs
   ``max_classes_per_detection > 0`` and the regular one ``min(detections_per_class,
   max_detections) > 0``; ``max_detections * max_classes_per_detection`` above
   ``MAX_DETECTIONS`` (2^20) is refused rather than allocated.
3. **Decoding** (double precision, rounded to float32, as LiteRT):
   ``yc = ty / y_scale * ha + ya``, ``half_h = 0.5 * exp(th / h_scale) * ha`` (x / w alike),
   box ``[yc - half_h, xc - half_w, yc + half_h, xc + half_w]``.  A decoded box with
   ``ymin > ymax`` or ``xmin > xmax`` (a negative anchor size) fails the invoke, as in LiteRT.
4. **Single-class NMS** (both paths): keep boxes with ``score >= nms_score_threshold``, sort by
   score descending (stable: ties by anchor index), then greedily take the best remaining box
   and drop every later one whose IoU with it is ``> nms_iou_threshold``.
5. **Fast path** (``use_regular_nms`` false): NMS over each anchor's best class score, at most
   ``max_detections`` anchors; each selected anchor reports its
   ``min(max_classes_per_detection, num_classes)`` best classes in LiteRT's
   ``std::partial_sort`` order (ties as libstdc++ leaves them) in a block of
   ``max_classes_per_detection`` rows.  Rows LiteRT leaves unwritten (uninitialised memory
   there) are zero here.
6. **Regular path**: NMS per class with ``min(detections_per_class, max_detections)`` boxes per
   class, then all classes' picks merged by score (stable: on ties the lower class first, as
   LiteRT's single-threaded in-place merge; LiteRT's multi-threaded merge may order equal
   scores of different classes otherwise), the best ``max_detections`` kept; unused rows zero.
7. **Outputs** (float32): boxes ``[1, D, 4]``, classes ``[1, D]`` (0-based, background
   excluded), scores ``[1, D]``, count ``[1]``, with ``D = max_detections *
   max_classes_per_detection``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ops._nms import first_argmax, iou_one_to_many, partial_argsort
from ..ops.base import Kernel, PrepareContext, Step
from ..ops.registry import register_op

__all__ = ["DetectionPostProcess", "OPS", "register", "MAX_DETECTIONS"]

BOX_ENCODINGS, CLASS_PREDICTIONS, ANCHORS = 0, 1, 2
OUT_BOXES, OUT_CLASSES, OUT_SCORES, OUT_COUNT = 0, 1, 2, 3
#: the most output rows (max_detections * max_classes_per_detection) numlite allocates
MAX_DETECTIONS = 1 << 20
INPUT_DTYPES = (np.float32, np.uint8, np.int8)
_INT32 = (-(1 << 31), (1 << 31) - 1)


def _number(ctx: PrepareContext, opts: dict[str, Any], key: str, default: float) -> float | int:
    value = opts.get(key)
    if value is None:
        return default
    if isinstance(value, (bool, int, float)):
        return value
    ctx.fail(f"custom option {key!r} must be a number, got {type(value).__name__} {value!r}")


def _int_option(ctx: PrepareContext, opts: dict[str, Any], key: str, default: int = 0) -> int:
    value = _number(ctx, opts, key, default)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            ctx.fail(f"custom option {key!r} is {value}; it must be an integer")
        value = int(value)  # FlexBuffers' AsInt32 truncates a float
    value = int(value)
    if not _INT32[0] <= value <= _INT32[1]:
        ctx.fail(f"custom option {key!r} = {value} does not fit int32")
    if value < 0:
        ctx.fail(f"custom option {key!r} = {value} must not be negative")
    return value


def _float_option(ctx: PrepareContext, opts: dict[str, Any], key: str) -> float:
    return float(np.float32(float(_number(ctx, opts, key, 0.0))))


class DetectionPostProcess(Kernel):
    """TFLite_Detection_PostProcess (see the module docstring for the algorithm and limits)."""

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(3)
        if len(ctx.outputs) != 4:
            ctx.fail(f"expects 4 outputs (boxes, classes, scores, count), got {len(ctx.outputs)}")
        opts = ctx.custom_options()
        self.max_det = _int_option(ctx, opts, "max_detections")
        self.max_cls = _int_option(ctx, opts, "max_classes_per_detection")
        self.per_class = _int_option(ctx, opts, "detections_per_class", 100)
        self.num_classes = _int_option(ctx, opts, "num_classes")
        self.regular = bool(_number(ctx, opts, "use_regular_nms", False))
        self.score_thr = _float_option(ctx, opts, "nms_score_threshold")
        self.iou_thr = _float_option(ctx, opts, "nms_iou_threshold")
        self.scales = tuple(float(_float_option(ctx, opts, k)) for k in ("y_scale", "x_scale", "h_scale", "w_scale"))

        enc, cls, anc = ctx.input(BOX_ENCODINGS), ctx.input(CLASS_PREDICTIONS), ctx.input(ANCHORS)
        for spec, role in ((enc, "box encodings"), (cls, "class predictions"), (anc, "anchors")):
            ctx.expect_dtype(spec, INPUT_DTYPES, role)
            if np.dtype(spec.dtype) != np.float32 and not spec.quantization.is_quantized:
                ctx.fail(f"{role} {spec.describe()} are {np.dtype(spec.dtype).name} without quantization parameters")
        ctx.expect_rank(enc, 3, "box encodings")
        ctx.expect_rank(cls, 3, "class predictions")
        ctx.expect_rank(anc, 2, "anchors")
        if enc.shape[0] != 1 or enc.shape[2] < 4:
            ctx.fail(f"box encodings {enc.describe()} must have shape [1, num_anchors, >= 4]")
        n = enc.shape[1]
        if cls.shape[0] != 1 or cls.shape[1] != n:
            ctx.fail(f"class predictions {cls.describe()} must have shape [1, {n}, num_classes (+1)] to match "
                     f"box encodings {enc.describe()}")
        if anc.shape != (n, 4):
            ctx.fail(f"anchors {anc.describe()} must have shape [{n}, 4], one anchor per box encoding of "
                     f"{enc.describe()}")
        ncwb = cls.shape[2]
        if self.num_classes <= 0:
            ctx.fail(f"custom option 'num_classes' is {self.num_classes}; it must be positive")
        if not 0 <= ncwb - self.num_classes <= 1:
            ctx.fail(f"custom option 'num_classes' = {self.num_classes} does not fit class predictions "
                     f"{cls.describe()} (their last dimension must be num_classes or num_classes + 1)")
        if not 0.0 < self.iou_thr <= 1.0:
            ctx.fail(f"custom option 'nms_iou_threshold' is {self.iou_thr}; it must be in (0, 1]")
        if self.regular:
            if min(self.per_class, self.max_det) <= 0:
                ctx.fail("regular NMS needs min(detections_per_class, max_detections) > 0, got "
                         f"detections_per_class={self.per_class}, max_detections={self.max_det}")
        elif self.max_cls <= 0:
            ctx.fail(f"custom option 'max_classes_per_detection' is {self.max_cls}; it must be positive")
        rows = self.max_det * self.max_cls
        if rows > MAX_DETECTIONS:
            ctx.fail(f"max_detections * max_classes_per_detection = {self.max_det} * {self.max_cls} = {rows} "
                     f"exceeds numlite's limit of {MAX_DETECTIONS} output rows")
        for o in range(4):
            spec = ctx.outputs[o]
            if spec.dtype is not None and np.dtype(spec.dtype) != np.float32:
                ctx.fail(f"output {spec.describe()} must be float32")
        ctx.set_output(OUT_BOXES, (1, rows, 4), np.float32)
        ctx.set_output(OUT_CLASSES, (1, rows), np.float32)
        ctx.set_output(OUT_SCORES, (1, rows), np.float32)
        ctx.set_output(OUT_COUNT, (1,), np.float32)

        self.n, self.ncwb = n, ncwb
        self.offset = ncwb - self.num_classes
        self.deq = [self._dequant_params(s) for s in (enc, cls, anc)]
        self.anchors = None if anc.value is None else self._anchor_terms(np.asarray(anc.value))
        self.where = f"{self.op_name} (node {self.node.index})"

    @staticmethod
    def _dequant_params(spec: Any) -> tuple[np.float32, np.float32] | None:
        if np.dtype(spec.dtype) == np.float32:
            return None
        return np.float32(spec.quantization.zero_point), np.float32(spec.quantization.scale)

    @staticmethod
    def _float(x: np.ndarray, deq: tuple[np.float32, np.float32] | None) -> np.ndarray:
        if deq is None:
            return x
        zp, scale = deq
        return (x.astype(np.float32) - zp) * scale

    def _anchor_terms(self, anchors: np.ndarray) -> tuple[np.ndarray, ...]:
        a = self._float(anchors.reshape(self.n, 4), self.deq[ANCHORS]).astype(np.float64)
        return tuple(np.ascontiguousarray(a[:, k]) for k in range(4))  # y, x, h, w

    # -- the computation ----------------------------------------------------------------
    def decode(self, enc: np.ndarray, anchors: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """(ymin, xmin, ymax, xmax) float32 columns of the decoded boxes."""
        e = self._float(enc.reshape(self.n, enc.shape[-1])[:, :4], self.deq[BOX_ENCODINGS]).astype(np.float64)
        ay, ax, ah, aw = anchors
        ys, xs, hs, ws = self.scales
        with np.errstate(all="ignore"):
            yc = (e[:, 0] / ys * ah + ay).astype(np.float32)
            xc = (e[:, 1] / xs * aw + ax).astype(np.float32)
            hh = (0.5 * np.exp(e[:, 2] / hs) * ah).astype(np.float32)
            hw = (0.5 * np.exp(e[:, 3] / ws) * aw).astype(np.float32)
            return yc - hh, xc - hw, yc + hh, xc + hw

    def single_class(self, geom: tuple[np.ndarray, ...], scores: np.ndarray, limit: int) -> list[int]:
        """Greedy NMS of one score column (module docstring, point 4): selected anchor indices."""
        keep = np.flatnonzero(scores >= np.float32(self.score_thr))
        if keep.size == 0 or limit <= 0:
            return []
        order = keep[np.argsort(-scores[keep], kind="stable")]
        active = np.ones(order.size, bool)
        iou_thr = np.float32(self.iou_thr)
        selected: list[int] = []
        for i in range(order.size):
            if len(selected) >= limit:
                break
            if not active[i]:
                continue
            best = int(order[i])
            selected.append(best)
            rest = i + 1 + np.flatnonzero(active[i + 1:])
            if rest.size:
                ious = iou_one_to_many(*geom, best, order[rest])
                active[rest[ious > iou_thr]] = False
        return selected

    def run(self, enc: np.ndarray, cls: np.ndarray, anc: np.ndarray,
            out_boxes: np.ndarray, out_classes: np.ndarray, out_scores: np.ndarray, out_count: np.ndarray) -> None:
        anchors = self.anchors if self.anchors is not None else self._anchor_terms(anc)
        ymin, xmin, ymax, xmax = self.decode(enc, anchors)
        if (ymin > ymax).any() or (xmin > xmax).any():
            bad = int(np.flatnonzero((ymin > ymax) | (xmin > xmax))[0])
            raise RuntimeError(f"{self.where}: decoded box {bad} has min > max (anchor {bad} has a negative "
                               "height or width)")
        with np.errstate(all="ignore"):
            area = (ymax - ymin) * (xmax - xmin)
        geom = (ymin, xmin, ymax, xmax, area)
        decoded = np.stack([ymin, xmin, ymax, xmax], axis=1)
        scores = self._float(cls.reshape(self.n, self.ncwb), self.deq[CLASS_PREDICTIONS])
        scores = scores[:, self.offset:self.offset + self.num_classes]
        boxes_o, classes_o, scores_o = out_boxes.reshape(-1, 4), out_classes.reshape(-1), out_scores.reshape(-1)
        boxes_o[...] = 0.0
        classes_o[...] = 0.0
        scores_o[...] = 0.0
        if self.regular:
            count = self._regular(geom, decoded, scores, boxes_o, classes_o, scores_o)
        else:
            count = self._fast(geom, decoded, scores, boxes_o, classes_o, scores_o)
        out_count[...] = count

    def _regular(self, geom: tuple, decoded: np.ndarray, scores: np.ndarray, boxes_o: np.ndarray,
                 classes_o: np.ndarray, scores_o: np.ndarray) -> int:
        per_class = min(self.per_class, self.max_det)
        picks_anchor: list[int] = []
        picks_class: list[int] = []
        for c in range(self.num_classes):
            col = np.ascontiguousarray(scores[:, c])
            sel = self.single_class(geom, col, per_class)
            picks_anchor += sel
            picks_class += [c] * len(sel)
        if not picks_anchor:
            return 0
        anchor = np.asarray(picks_anchor, np.intp)
        klass = np.asarray(picks_class, np.intp)
        val = scores[anchor, klass]
        order = np.argsort(-val, kind="stable")[:self.max_det]
        k = order.size
        boxes_o[:k] = decoded[anchor[order]]
        classes_o[:k] = klass[order]
        scores_o[:k] = val[order]
        return k

    def _fast(self, geom: tuple, decoded: np.ndarray, scores: np.ndarray, boxes_o: np.ndarray,
              classes_o: np.ndarray, scores_o: np.ndarray) -> int:
        per_anchor = min(self.max_cls, self.num_classes)
        nan_rows = np.flatnonzero(np.isnan(scores).any(axis=1)) if self.n else np.zeros(0, np.intp)
        with np.errstate(all="ignore"):
            best = scores.max(axis=1) if self.num_classes else np.zeros(self.n, np.float32)
        for r in nan_rows.tolist():  # NaN: the value partial_sort / ArgMaxVector put first
            row = scores[r]
            first = int(first_argmax(row)) if per_anchor == 1 else partial_argsort(row, per_anchor)[0]
            best[r] = row[first]
        selected = self.single_class(geom, np.ascontiguousarray(best, np.float32), self.max_det)
        if not selected:
            return 0
        sel = np.asarray(selected, np.intp)
        if per_anchor == 1:
            top = first_argmax(scores[sel])[:, None]
        else:
            top = np.asarray([partial_argsort(scores[r], per_anchor) for r in selected], np.intp)
        rows = (np.arange(sel.size)[:, None] * self.max_cls + np.arange(per_anchor)[None, :]).reshape(-1)
        boxes_o[rows] = np.repeat(decoded[sel], per_anchor, axis=0)
        classes_o[rows] = top.reshape(-1)
        scores_o[rows] = np.take_along_axis(scores[sel], top, axis=1).reshape(-1)
        return len(selected)

    def bind(self, inputs: list[Any], outputs: list[Any], scratch: list[np.ndarray]) -> Step:
        enc, cls, anc = inputs
        out_boxes, out_classes, out_scores, out_count = outputs
        run = self.run

        def step() -> None:
            run(enc, cls, anc, out_boxes, out_classes, out_scores, out_count)

        return step


OPS: dict[str, type[Kernel]] = {"TFLite_Detection_PostProcess": DetectionPostProcess}


def register() -> None:
    """Register TFLite_Detection_PostProcess for every ``Interpreter`` (idempotent)."""
    for name, cls in OPS.items():
        register_op(name, cls)
