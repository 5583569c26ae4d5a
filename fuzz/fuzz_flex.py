"""Fuzz numlite's FlexBuffers decoder (``numlite/flex.py``) and the custom ops that parse
``custom_options``: the decoder directly, and a one-op model around the options, loaded,
prepared (``allocate_tensors``, where options are parsed) and invoked on small inputs.

Input layout: byte 0 picks the target (``TARGETS``: detection post-processing, AudioSpectrogram,
Mfcc, NumericVerify, MediaPipe's FlexBuffers and raw-struct ops, Smart Reply's Predict); the rest
are the custom options.  Seeds: the options the tests use for every target, and random valid
FlexBuffers (nested maps, vectors, typed vectors, blobs, strings, numbers of every width)
written with ``flatbuffers.flexbuffers``.

A finding: ``flex.decode`` raising anything but ``FlexError``, or a custom op raising anything
but numlite's documented errors on any options.
"""

from __future__ import annotations

import random
import struct
from typing import Any

import numpy as np
from _common import fill_inputs, interpreter, invoke_bounded, libfuzzer_or_generic, mutate_bytes, tolerated

from numlite import flex
from numlite.builder import ModelBuilder

NAME = "flex"

F32, I32 = np.float32, np.int32
EYE = np.eye(4, dtype=F32)[None]
POOL_RAW = struct.pack("<6i", 1, 2, 2, 2, 2, 0)

# name -> (custom op, version, inputs [(shape, dtype) or constant array], outputs [(shape, dtype)], option seeds)
TARGETS: list[tuple[str, str, int, list[Any], list[tuple[tuple[int, ...], Any]], list[Any]]] = [
    ("decode", "", 0, [], [], [{"a": 1}]),
    ("detection", "TFLite_Detection_PostProcess", 1, [((1, 6, 4), F32), ((1, 6, 3), F32), ((6, 4), F32)],
     [((), F32)] * 4,
     [dict(max_detections=5, max_classes_per_detection=1, detections_per_class=100, nms_score_threshold=0.0,
           nms_iou_threshold=0.5, num_classes=2, y_scale=10.0, x_scale=10.0, h_scale=5.0, w_scale=5.0,
           use_regular_nms=False),
      dict(max_detections=3, max_classes_per_detection=2, detections_per_class=2, nms_score_threshold=0.1,
           nms_iou_threshold=0.6, num_classes=2, y_scale=1.0, x_scale=1.0, h_scale=1.0, w_scale=1.0,
           use_regular_nms=True)]),
    ("spectrogram", "AudioSpectrogram", 1, [((64, 1), F32)], [((), F32)],
     [dict(window_size=16, stride=8, magnitude_squared=True), dict(window_size=31, stride=5, magnitude_squared=False)]),
    ("mfcc", "Mfcc", 1, [((1, 3, 9), F32), np.array([8000], I32)], [((), F32)],
     [dict(upper_frequency_limit=3000.0, lower_frequency_limit=20.0, filterbank_channel_count=8,
           dct_coefficient_count=5)]),
    ("numeric_verify", "NumericVerify", 1, [((2, 5), np.int8), ((2, 5), F32)], [((2, 5), F32)],
     [dict(tolerance=0.5, log_if_failed=False)]),
    ("transform_landmarks_v1", "TransformLandmarks", 1, [((1, 2, 3, 8), F32), EYE], [((1, 2, 3, 8), F32)],
     [dict(dimensions=2, scale=0.5), {}]),
    ("transform_bilinear", "TransformTensorBilinear", 1, [((1, 4, 4, 2), F32), EYE], [((1, 3, 3, 2), F32)],
     [dict(output_height=3, output_width=3)]),
    ("landmarks_v1", "Landmarks2TransformMatrix", 1, [((1, 1, 1, 60), F32)], [((1, 4, 4), F32)],
     [dict(input_hw=[48, 40], output_hw=[16, 12], dimensions=3, landmarks_range=20, bbox_size_multiplier=1.3,
           left_rotation_idx=3, right_rotation_idx=13, subset=[0, 3, 5, 8, 13, 17, 19])]),
    ("landmarks_v2", "Landmarks2TransformMatrix", 2, [((1, 20, 3), F32)], [((1, 4, 4), F32)],
     [dict(subset_idxs=[0, 3, 5, 8], left_rotation_idx=4, right_rotation_idx=12, target_rotation_radians=0.5,
           output_height=16, output_width=12, scale_x=1.2, scale_y=0.9)]),
    ("max_pool_argmax", "MaxPoolingWithArgmax2D", 1, [((1, 4, 4, 2), F32)], [((1, 2, 2, 2), F32)] * 2, [POOL_RAW]),
    ("max_unpool", "MaxUnpooling2D", 1, [((1, 2, 2, 2), F32), ((1, 2, 2, 2), F32)], [((1, 4, 4, 2), F32)], [POOL_RAW]),
    ("conv_transpose_bias", "Convolution2DTransposeBias", 1,
     [((1, 2, 2, 2), F32), np.ones((3, 2, 2, 2), F32), np.zeros(3, F32)], [((1, 4, 4, 3), F32)], [POOL_RAW[:12]]),
    ("predict", "Predict", 1, [((3,), I32), np.array([1, 2, 3], I32), np.array([[0], [1], [2]], I32),
                               np.ones((3, 1), F32)], [((2,), I32), ((2,), F32)], [struct.pack("<if", 2, 0.1)]),
]


def _options_bytes(opt: Any) -> bytes:
    return opt if isinstance(opt, bytes) else flex.encode(opt)


def random_flex(rng: random.Random, depth: int = 0) -> Any:
    """A random value FlexBuffers can hold (for ``flexbuffers.Dumps``)."""
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return rng.choice((0, 1, -1, 127, -128, 255, 2**15, 2**31 - 1, -2**31, 2**40, 2**63 - 1, -2**63))
    if kind == 1:
        return rng.choice((0.0, -1.5, 1e-30, 3.4e38, 1e300, float("inf"), float("nan")))
    if kind == 2:
        return rng.random() < 0.5
    if kind == 3:
        return "".join(rng.choice("ab\u00e9\u4f60_ ") for _ in range(rng.randrange(8)))
    if kind == 4:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(8)))
    if kind == 5:
        return None
    if kind == 6:  # typed vectors (all ints / all floats) or mixed vectors
        n = rng.randrange(6)
        if rng.random() < 0.5:
            return [rng.randrange(-300, 300) for _ in range(n)]
        return [random_flex(rng, depth + 1) for _ in range(n)]
    if kind == 7:
        return [rng.random() for _ in range(rng.randrange(5))]
    return {f"k{rng.randrange(20)}": random_flex(rng, depth + 1) for _ in range(rng.randrange(5))}


def seeds() -> list[bytes]:
    from flatbuffers import flexbuffers

    out = []
    for k, (_n, _op, _v, _ins, _outs, opts) in enumerate(TARGETS):
        out += [bytes([k]) + _options_bytes(o) for o in opts]
    rng = random.Random(14)
    for _ in range(40):
        value = random_flex(rng)
        try:
            raw = bytes(flexbuffers.Dumps(value))
        except Exception:  # noqa: BLE001 - a value the encoder refuses
            continue
        out.append(bytes([rng.randrange(len(TARGETS))]) + raw)
    # maps with the keys the ops read, but random values
    for k, (_n, _op, _v, _ins, _outs, opts) in enumerate(TARGETS):
        for o in opts:
            if isinstance(o, dict) and o:
                bad = {key: random_flex(rng, 2) for key in o}
                try:
                    out.append(bytes([k]) + flex.encode(bad))
                except Exception:  # noqa: BLE001
                    pass
    return out


def _model(op: str, version: int, inputs: list[Any], outputs: list[tuple[tuple[int, ...], Any]],
           options: bytes) -> bytes:
    mb = ModelBuilder()
    idx = [mb.const(f"c{k}", s) if isinstance(s, np.ndarray) else mb.input(f"in{k}", s[0], s[1],
                                                                           quantization=_quant(s[1]))
           for k, s in enumerate(inputs)]
    oidx = [mb.tensor(f"out{k}", shape, dt) for k, (shape, dt) in enumerate(outputs)]
    mb.op(f"custom:{op}", idx, oidx, version=version, custom_options=options)
    mb.output(*oidx)
    return mb.build()


def _quant(dtype: Any) -> dict | None:
    return {"scale": 0.1, "zero_point": 0} if np.dtype(dtype) == np.int8 else None


def test_one_input(data: bytes) -> None:
    if not data:
        return
    target, options = data[0] % len(TARGETS), data[1:]
    try:
        flex.decode(options)
    except flex.FlexError:
        pass
    name, op, version, inputs, outputs, _ = TARGETS[target]
    if name == "decode":
        return
    model = _model(op, version, inputs, outputs, options)
    with tolerated():
        it = interpreter(model)
        it.allocate_tensors()
        fill_inputs(it, options)
        if not invoke_bounded(it):
            return
        for d in it.get_output_details():
            it.get_tensor(d["index"])


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    if not data:
        data = b"\0"
    r = rng.random()
    if r < 0.1:  # another target, same options
        return bytes([rng.randrange(len(TARGETS))]) + data[1:]
    if r < 0.2:  # fresh random valid FlexBuffers
        from flatbuffers import flexbuffers

        try:
            return (data[:1] + bytes(flexbuffers.Dumps(random_flex(rng))))[:max_size]
        except Exception:  # noqa: BLE001
            return data
    if r < 0.6:
        return data[:1] + libfuzzer_or_generic(data[1:], max(max_size - 1, 1), seed)
    return data[:1] + mutate_bytes(data[1:], rng, max(max_size - 1, 1))
