"""NON_MAX_SUPPRESSION_V4 / V5 and the TFLite_Detection_PostProcess custom op against LiteRT.

Tolerances: selected indices, counts and classes must be equal.  NMS V5's decayed scores go
through ``expf``; numlite takes ``exp`` in double and rounds, which can differ from glibc's
``expf`` in the last bit, so selected scores are compared with rtol 1e-6 (a few float32 ulps).
The detection op's decoded boxes are computed in double and rounded to float32 by both, but
``exp`` may differ in the last double bit; rtol 1e-6 again.  Detection scores are copied
(or dequantized exactly) and must be equal.

LiteRT's fast-path detection leaves rows past the count uninitialised, so only the rows it
writes are compared (numlite's others must be zero).  LiteRT's regular NMS with several threads
orders equal scores of different classes by thread scheduling; LiteRT's default (and
``num_threads=1``) is the single-threaded order numlite follows.
"""

from __future__ import annotations

import numpy as np
import pytest
from util import Const, In, Out, run_litert, run_numlite, single_op_model

import numlite
from numlite.builder import ModelBuilder
from numlite.custom import detection
from numlite.flex import encode
from numlite.ops import registry
from numlite.ops._nms import first_argmax, partial_argsort, pq_pop, pq_push

V4, V5 = "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5"
DET = "TFLite_Detection_PostProcess"


@pytest.fixture(scope="module", autouse=True)
def _custom_ops():
    """register() adds the op to numlite's global registry; restore the registry afterwards."""
    custom = dict(registry._CUSTOM)
    detection.register()
    yield
    registry._CUSTOM.clear()
    registry._CUSTOM.update(custom)


# --- NON_MAX_SUPPRESSION_V4 / V5 -------------------------------------------------------------
def nms_model(n, mos, soft, iou=0.5, score_thr=0.0, sigma=0.5, dynamic_mos=False, op=None):
    ins = [In((n, 4)), In((n,)), In((), np.int32) if dynamic_mos else Const(np.int32(mos)),
           Const(np.float32(iou)), Const(np.float32(score_thr))]
    size = min(max(mos, 0), 1 << 20)  # the declared shape; numlite and LiteRT compute their own
    outs = [Out((size,), np.int32), Out((), np.int32)]
    if soft:
        ins.append(Const(np.float32(sigma)))
        outs.insert(1, Out((size,)))
    return single_op_model(op or (V5 if soft else V4), ins, outs)


def nms_compare(model, feeds):
    ours, theirs = run_numlite(model, feeds), run_litert(model, feeds)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape and a.dtype == b.dtype
        if a.dtype == np.float32:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=0)
        else:
            np.testing.assert_array_equal(a, b)
    return ours


def nms_case(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 50))
    boxes = rng.random((n, 4)).astype(np.float32)
    if seed % 3 == 0:
        boxes = (np.round(boxes * 4) / 4).astype(np.float32)  # duplicates, zero-area boxes
    scores = rng.random(n).astype(np.float32)
    if seed % 2 == 0:
        scores = (np.round(scores * 5) / 5).astype(np.float32)  # many ties
    return rng, n, boxes, scores


@pytest.mark.parametrize("seed", range(40))
def test_nms_v4_random(seed):
    rng, n, boxes, scores = nms_case(seed)
    mos = int(rng.integers(0, 60))
    m = nms_model(n, mos, False, iou=float(rng.choice([0.2, 0.5, 1.0, 1.5])), score_thr=float(rng.choice([0, 0.3, -1])))
    nms_compare(m, [boxes, scores])


@pytest.mark.parametrize("seed", range(40))
def test_nms_v5_random(seed):
    rng, n, boxes, scores = nms_case(seed + 100)
    mos = int(rng.integers(0, 60))
    m = nms_model(n, mos, True, iou=float(rng.choice([0.3, 0.6, 1.0])), score_thr=float(rng.choice([0, 0.2])),
                  sigma=float(rng.choice([0.0, 0.1, 0.5, 2.0])))
    nms_compare(m, [boxes, scores])


@pytest.mark.parametrize("soft", [False, True])
def test_nms_degenerate_box_repeats_like_litert(soft):
    # a zero-area box has IoU 0 even with itself: LiteRT selects it again and again
    rng = np.random.default_rng(0)
    boxes = rng.random((6, 4)).astype(np.float32)
    boxes[2] = [0.5, 0.5, 0.5, 0.9]
    scores = np.array([0.1, 0.2, 0.9, 0.3, 0.4, 0.5], np.float32)
    out = nms_compare(nms_model(6, 5, soft), [boxes, scores])
    assert list(out[0]) == [2] * 5


def test_nms_nan_and_flipped_corners():
    rng = np.random.default_rng(3)
    boxes = rng.random((10, 4)).astype(np.float32)
    boxes[1] = boxes[1][[2, 3, 0, 1]]  # corners given in the other order
    boxes[4, 0] = np.nan
    scores = rng.random(10).astype(np.float32)
    scores[7] = np.nan
    for soft in (False, True):
        nms_compare(nms_model(10, 8, soft, sigma=0.3), [boxes, scores])


@pytest.mark.parametrize("soft", [False, True])
def test_nms_runtime_max_output_size_is_dynamic(soft):
    _, n, boxes, scores = nms_case(5)
    m = nms_model(n, 1, soft, dynamic_mos=True)
    for mos in (3, 40):  # 40 > the 32 candidates: padded to 40, as LiteRT does
        out = nms_compare(m, [boxes, scores, np.int32(mos)])
        assert out[0].shape == (mos,)
    # LiteRT's Python API cannot read its zero-length dynamic tensor ("Invalid tensor size")
    out = run_numlite(m, [boxes, scores, np.int32(0)])
    assert out[0].shape == (0,) and out[-1] == 0


def test_nms_opcode_follows_input_count():
    # LiteRT's one kernel runs soft NMS with 6 inputs whatever the op code; numlite too
    _, n, boxes, scores = nms_case(8)
    nms_compare(nms_model(n, 10, True, op=V4, sigma=0.5), [boxes, scores])
    nms_compare(nms_model(n, 10, False, op=V5), [boxes, scores])


def test_nms_empty_boxes():
    nms_compare(nms_model(0, 4, True), [np.zeros((0, 4), np.float32), np.zeros(0, np.float32)])


def test_heap_helpers_follow_libstdcxx():
    # std::priority_queue: equal keys pop in heap order, not insertion order
    h: list = []
    for i, s in enumerate([1.0, 1.0, 1.0, 1.0]):
        pq_push(h, [s, i, 0])
    assert [pq_pop(h)[1] for _ in range(4)] == [0, 2, 1, 3]
    assert partial_argsort(np.array([1, 3, 2, 3], np.float32), 2) == [3, 1]
    # measured on LiteRT 2.3 (one anchor, max_classes_per_detection = k): NaNs as libstdc++ leaves them
    assert partial_argsort(np.array([0.5, np.nan, 0.9], np.float32), 3) == [2, 1, 0]
    assert first_argmax(np.array([[np.nan, 0.9, 0.5], [np.nan, np.nan, 0.3], [0.2, 0.9, 0.9]])).tolist() == [1, 2, 1]


def test_nms_hostile():
    with pytest.raises(numlite.PrepareError, match=r"NON_MAX_SUPPRESSION_V4 \(node 0\).*max_output_size is -1"):
        run_numlite(nms_model(4, -1, False), [np.zeros((4, 4), np.float32), np.zeros(4, np.float32)])
    with pytest.raises(Exception, match=r"NON_MAX_SUPPRESSION_V5 \(node 0\).*exceeds numlite's limit"):
        run_numlite(nms_model(4, 2**31 - 1, True), [np.zeros((4, 4), np.float32), np.zeros(4, np.float32)])
    with pytest.raises(Exception, match=r"NON_MAX_SUPPRESSION_V5 \(node 0\).*sigma is -1"):
        run_numlite(nms_model(4, 2, True, sigma=-1.0), [np.zeros((4, 4), np.float32), np.zeros(4, np.float32)])
    with pytest.raises(Exception, match=r"NON_MAX_SUPPRESSION_V4 \(node 0\).*max_output_size is -3"):
        run_numlite(nms_model(4, 1, False, dynamic_mos=True),
                    [np.zeros((4, 4), np.float32), np.zeros(4, np.float32), np.int32(-3)])
    bad = single_op_model(V4, [In((4, 3)), In((4,)), Const(np.int32(2)), Const(np.float32(0.5)),
                               Const(np.float32(0))], [Out((2,), np.int32), Out((), np.int32)])
    with pytest.raises(Exception, match=r"NON_MAX_SUPPRESSION_V4 \(node 0\).*boxes"):
        run_numlite(bad, [np.zeros((4, 3), np.float32), np.zeros(4, np.float32)])
    wrong = single_op_model(V4, [In((4, 4), np.int8, quant={"scale": 0.1, "zero_point": 0}), In((4,)),
                                 Const(np.int32(2)), Const(np.float32(0.5)), Const(np.float32(0))],
                            [Out((2,), np.int32), Out((), np.int32)])
    with pytest.raises(Exception, match=r"NON_MAX_SUPPRESSION_V4 \(node 0\).*int8"):
        run_numlite(wrong, [np.zeros((4, 4), np.int8), np.zeros(4, np.float32)])


# --- TFLite_Detection_PostProcess --------------------------------------------------------------
BASE = dict(max_detections=5, max_classes_per_detection=1, detections_per_class=100, nms_score_threshold=0.0,
            nms_iou_threshold=0.5, num_classes=3, y_scale=10.0, x_scale=10.0, h_scale=5.0, w_scale=5.0,
            use_regular_nms=False)
U8_BOX = {"scale": 0.05, "zero_point": 128}
U8_SCORE = {"scale": 1 / 255, "zero_point": 0}
U8_ANCHOR = {"scale": 1 / 255, "zero_point": 0}


def det_model(opts, n, ncwb, dtypes=(np.float32,) * 3, quants=(None,) * 3, anchors=None, raw_options=None):
    mb = ModelBuilder()
    b = mb.input("boxes", (1, n, 4), dtypes[0], quantization=quants[0])
    s = mb.input("scores", (1, n, ncwb), dtypes[1], quantization=quants[1])
    if anchors is None:
        a = mb.input("anchors", (n, 4), dtypes[2], quantization=quants[2])
    else:
        a = mb.const("anchors", anchors, quantization=quants[2])
    outs = [mb.tensor(f"out{i}", (), np.float32) for i in range(4)]
    mb.op(f"custom:{DET}", [b, s, a], outs, custom_options=raw_options if raw_options is not None else encode(opts))
    mb.output(*outs)
    return mb.build()


def det_feeds(n, ncwb, seed=0, ties=False):
    rng = np.random.default_rng(seed)
    boxes = rng.normal(size=(1, n, 4)).astype(np.float32)
    scores = rng.random((1, n, ncwb)).astype(np.float32)
    if ties:
        scores = (np.round(scores * 4) / 4).astype(np.float32)
    anchors = np.concatenate([rng.random((n, 2)), 0.1 + 0.3 * rng.random((n, 2))], 1).astype(np.float32)
    return [boxes, scores, anchors]


def det_compare(model, feeds, opts, litert_feeds=None):
    ours = run_numlite(model, feeds)
    theirs = run_litert(model, litert_feeds if litert_feeds is not None else feeds)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape and a.dtype == b.dtype == np.float32
    count = int(theirs[3][0])
    assert ours[3][0] == count
    max_cls = max(opts.get("max_classes_per_detection", 0), 1)
    rows = np.arange(ours[1].shape[1])
    if opts.get("use_regular_nms"):
        written = rows < count
    else:
        per_anchor = min(max_cls, opts["num_classes"])
        written = (rows < count * max_cls) & (rows % max_cls < per_anchor)
    np.testing.assert_allclose(ours[0][0][written], theirs[0][0][written], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(ours[1][0][written], theirs[1][0][written])
    np.testing.assert_array_equal(ours[2][0][written], theirs[2][0][written])
    assert not ours[0][0][~written].any() and not ours[1][0][~written].any() and not ours[2][0][~written].any()
    return ours


CASES = [
    dict(),
    dict(use_regular_nms=True),
    dict(use_regular_nms=True, detections_per_class=2, max_detections=7),
    dict(max_classes_per_detection=2),
    dict(max_classes_per_detection=5),  # more than num_classes: LiteRT leaves the extra rows unwritten
    dict(nms_score_threshold=0.6, nms_iou_threshold=0.3),
    dict(nms_iou_threshold=1.0, max_detections=20),
    dict(use_regular_nms=True, nms_score_threshold=0.5, nms_iou_threshold=0.9),
    dict(y_scale=1.0, x_scale=2.0, h_scale=0.5, w_scale=3.0, max_classes_per_detection=3, max_detections=10),
    dict(max_detections=0),
]


@pytest.mark.parametrize("background", [1, 0])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("k", range(len(CASES)))
def test_detection_float(k, ties, background):
    opts = {**BASE, **CASES[k]}
    n = 30
    ncwb = opts["num_classes"] + background
    det_compare(det_model(opts, n, ncwb), det_feeds(n, ncwb, seed=k, ties=ties), opts)


@pytest.mark.parametrize("regular", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_detection_uint8(regular, seed):
    opts = {**BASE, "use_regular_nms": regular, "max_classes_per_detection": 2, "max_detections": 8,
            "nms_score_threshold": 0.3}
    n, ncwb = 40, 4
    rng = np.random.default_rng(seed)
    feeds = [rng.integers(0, 256, (1, n, 4)).astype(np.uint8), rng.integers(0, 256, (1, n, ncwb)).astype(np.uint8),
             rng.integers(20, 256, (n, 4)).astype(np.uint8)]
    m = det_model(opts, n, ncwb, (np.uint8,) * 3, (U8_BOX, U8_SCORE, U8_ANCHOR))
    det_compare(m, feeds, opts)
    # constant anchors, float scores with uint8 boxes
    m2 = det_model(opts, n, ncwb, (np.uint8, np.float32, np.uint8), (U8_BOX, None, U8_ANCHOR), anchors=feeds[2])
    det_compare(m2, [feeds[0], rng.random((1, n, ncwb)).astype(np.float32)], opts)


def _dequant(q, p):
    return ((q.astype(np.float32) - np.float32(p["zero_point"])) * np.float32(p["scale"])).astype(np.float32)


@pytest.mark.parametrize("regular", [False, True])
def test_detection_int8_dequantizes_like_float(regular):
    """LiteRT 2.3 rejects int8 inputs; numlite dequantizes them, so it must equal LiteRT on the
    dequantized float inputs."""
    opts = {**BASE, "use_regular_nms": regular, "max_detections": 6}
    n, ncwb = 25, 4
    qs = ({"scale": 0.05, "zero_point": -3}, {"scale": 1 / 256, "zero_point": -128},
          {"scale": 1 / 255, "zero_point": -128})
    rng = np.random.default_rng(7)
    feeds = [rng.integers(-128, 128, (1, n, 4)).astype(np.int8), rng.integers(-128, 128, (1, n, ncwb)).astype(np.int8),
             rng.integers(-100, 128, (n, 4)).astype(np.int8)]
    ours = run_numlite(det_model(opts, n, ncwb, (np.int8,) * 3, qs), feeds)
    floats = [_dequant(f, q) for f, q in zip(feeds, qs)]
    theirs = run_litert(det_model(opts, n, ncwb), floats)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("regular", [False, True])
@pytest.mark.parametrize("max_cls", [1, 2])
def test_detection_nan_scores(regular, max_cls):
    opts = {**BASE, "use_regular_nms": regular, "max_classes_per_detection": max_cls}
    feeds = det_feeds(20, 4, seed=11)
    feeds[1][0, 3, 2] = np.nan
    feeds[1][0, 5, 1] = np.nan
    feeds[1][0, 6, :] = np.nan
    det_compare(det_model(opts, 20, 4), feeds, opts)


def test_detection_options_as_litert_reads_them():
    # floats for integer options truncate; use_regular_nms and detections_per_class have defaults
    opts = {**BASE, "max_detections": 4.7}
    del opts["use_regular_nms"], opts["detections_per_class"]
    det_compare(det_model(opts, 12, 4), det_feeds(12, 4, seed=2), {**opts, "max_detections": 4})


def _conv_weights(rng, cout, cin):
    w = (0.5 * rng.standard_normal((cout, 3, 3, cin))).astype(np.float32)
    return w, (0.1 * rng.standard_normal(cout)).astype(np.float32)


def ssd_model(regular):
    """A tiny SSD: image [1, 4, 4, 3] -> two 3x3 CONV_2D heads (2 anchors per cell) -> RESHAPE to
    box encodings [1, 32, 4] and logits [1, 32, 4] -> LOGISTIC -> TFLite_Detection_PostProcess
    with 32 constant anchors."""
    rng = np.random.default_rng(42)
    mb = ModelBuilder()
    img = mb.input("image", (1, 4, 4, 3), np.float32)
    heads = []
    for name, per_anchor in (("box", 4), ("cls", 4)):
        w, b = _conv_weights(rng, 2 * per_anchor, 3)
        conv = mb.tensor(f"{name}_conv", (1, 4, 4, 2 * per_anchor), np.float32)
        mb.op("CONV_2D", [img, mb.const(f"{name}_w", w), mb.const(f"{name}_b", b)], [conv], padding="SAME",
              stride_w=1, stride_h=1)
        flat = mb.tensor(f"{name}_flat", (1, 32, per_anchor), np.float32)
        mb.op("RESHAPE", [conv, mb.const(f"{name}_shape", np.array([1, 32, per_anchor], np.int32))], [flat])
        heads.append(flat)
    scores = mb.tensor("scores", (1, 32, 4), np.float32)
    mb.op("LOGISTIC", [heads[1]], [scores])
    cy, cx = np.meshgrid((np.arange(4) + 0.5) / 4, (np.arange(4) + 0.5) / 4, indexing="ij")
    centres = np.repeat(np.stack([cy.ravel(), cx.ravel()], 1), 2, axis=0)
    sizes = np.tile([[0.3, 0.3], [0.4, 0.2]], (16, 1))
    anchors = mb.const("anchors", np.concatenate([centres, sizes], 1).astype(np.float32))
    outs = [mb.tensor(n, (), np.float32) for n in ("det_boxes", "det_classes", "det_scores", "num_det")]
    opts = {**BASE, "use_regular_nms": regular, "max_detections": 6, "nms_score_threshold": 0.3,
            "nms_iou_threshold": 0.45, "detections_per_class": 4}
    mb.op(f"custom:{DET}", [heads[0], scores, anchors], outs, custom_options=encode(opts))
    mb.output(*outs)
    return mb.build(), opts


@pytest.mark.parametrize("regular", [False, True])
def test_ssd_model_end_to_end(regular):
    model, opts = ssd_model(regular)
    image = np.random.default_rng(1).random((1, 4, 4, 3)).astype(np.float32)
    ours = run_numlite(model, [image])
    theirs = run_litert(model, [image])
    assert ours[3][0] == theirs[3][0] > 0
    k = int(theirs[3][0])
    np.testing.assert_array_equal(ours[1][0, :k], theirs[1][0, :k])
    # the convolutions sum in a different order (BLAS vs XNNPACK): float32 rounding only
    np.testing.assert_allclose(ours[0][0, :k], theirs[0][0, :k], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours[2][0, :k], theirs[2][0, :k], rtol=1e-4, atol=1e-6)


def test_custom_ops_dict_per_interpreter():
    opts = dict(BASE)
    m = det_model(opts, 10, 4)
    feeds = det_feeds(10, 4)
    it = numlite.Interpreter(model_content=m, custom_ops=detection.OPS)
    it.allocate_tensors()
    for d, v in zip(it.get_input_details(), feeds):
        it.set_tensor(d["index"], v)
    it.invoke()
    assert it.get_tensor(it.get_output_details()[3]["index"])[0] > 0


HOSTILE = [
    (dict(num_classes=0), r"'num_classes' is 0"),
    (dict(num_classes=1000), r"'num_classes' = 1000 does not fit"),
    (dict(num_classes=1), r"'num_classes' = 1 does not fit"),
    (dict(max_detections=-1), r"'max_detections' = -1 must not be negative"),
    (dict(max_detections=2**31 - 1), r"exceeds numlite's limit"),
    (dict(max_detections=2**40), r"'max_detections' = \d+ does not fit int32"),
    (dict(max_classes_per_detection=0), r"'max_classes_per_detection' is 0"),
    (dict(use_regular_nms=True, max_detections=0), r"regular NMS needs"),
    (dict(nms_iou_threshold=0.0), r"'nms_iou_threshold' is 0.0"),
    (dict(nms_iou_threshold=float("nan")), r"'nms_iou_threshold' is nan"),
    (dict(y_scale="ten"), r"'y_scale' must be a number"),
]


@pytest.mark.parametrize("k", range(len(HOSTILE)))
def test_detection_hostile_options(k):
    change, msg = HOSTILE[k]
    m = det_model({**BASE, **change}, 6, 4)
    with pytest.raises(Exception, match=rf"{DET} \(node 0\).*{msg}"):
        run_numlite(m, det_feeds(6, 4))


def test_detection_hostile_tensors():
    feeds = det_feeds(6, 4)
    mb = ModelBuilder()
    b = mb.input("boxes", (1, 6, 4), np.float32)
    s = mb.input("scores", (1, 6, 4), np.float32)
    a = mb.input("anchors", (5, 4), np.float32)
    outs = [mb.tensor(f"o{i}", (), np.float32) for i in range(4)]
    mb.op(f"custom:{DET}", [b, s, a], outs, custom_options=encode(BASE))
    mb.output(*outs)
    with pytest.raises(Exception, match=rf"{DET} \(node 0\).*anchors .* must have shape \[6, 4\]"):
        run_numlite(mb.build(), [feeds[0], feeds[1], feeds[2][:5]])
    with pytest.raises(Exception, match=rf"{DET} \(node 0\).*without quantization"):
        run_numlite(det_model(BASE, 6, 4, (np.uint8, np.float32, np.float32)), feeds)
    with pytest.raises(Exception, match=rf"{DET} \(node 0\).*custom_options"):
        run_numlite(det_model(BASE, 6, 4, raw_options=b"\x01\x02\x03"), feeds)
    # a negative anchor height decodes to ymin > ymax: LiteRT fails the invoke, so does numlite
    feeds[2][3, 2] = -0.2
    with pytest.raises(Exception, match=rf"{DET} \(node 0\).*decoded box 3"):
        run_numlite(det_model(BASE, 6, 4), feeds)
    with pytest.raises(RuntimeError, match="ValidateBoxes"):
        run_litert(det_model(BASE, 6, 4), feeds)


ROWS = [[np.nan, .5, .9], [.5, np.nan, .9], [np.nan, .9, .5], [np.nan, np.nan, .3], [.3, .3, .3],
        [.1, .3, .3, .2, .3], [np.nan, .2, .3, .9, .1, .9, .5, np.nan, .7], [.2, .2, .9, .9, .9, .1, .9, .2]]


@pytest.mark.parametrize("k", [1, 2, 3])
def test_detection_class_order_ties_and_nan(k):
    """One anchor: the classes reported are LiteRT's ArgMaxVector (k = 1) or libstdc++'s
    partial_sort order (k > 1), ties and NaNs included."""
    for row in ROWS:
        opts = {**BASE, "num_classes": len(row), "max_detections": 1, "max_classes_per_detection": k}
        feeds = [np.zeros((1, 1, 4), np.float32), np.array([[row]], np.float32),
                 np.array([[0.5, 0.5, 0.2, 0.2]], np.float32)]
        det_compare(det_model(opts, 1, len(row)), feeds, opts)


@pytest.mark.parametrize("regular", [False, True])
def test_detection_no_anchors(regular):
    opts = {**BASE, "use_regular_nms": regular}
    feeds = [np.zeros((1, 0, 4), np.float32), np.zeros((1, 0, 4), np.float32), np.zeros((0, 4), np.float32)]
    ours = det_compare(det_model(opts, 0, 4), feeds, opts)
    assert ours[3][0] == 0
