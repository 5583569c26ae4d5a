"""The model corpus of the fuzz harnesses: models the tests build, by kind.

Each entry of ``BUILDERS`` is ``name -> (tags, builder)``; a builder returns .tflite bytes (or a
list of them) and uses the builders of tests/*.py (on sys.path through ``_common.add_paths``) or
``numlite.builder`` directly.  ``corpus(*tags)`` runs the builders carrying any of the tags
(``_common.make_seeds``: deterministic, a stale builder is skipped).  Tags: ``vision`` (float and
quantized conv / depthwise / pool / FC), ``quant``, ``sequence`` (LSTM / RNN / SVDF with state),
``dynamic`` (shapes known at invoke), ``strings``, ``control_flow``, ``custom`` (custom ops with
options: detection, MediaPipe, audio), ``sparse``, ``int4``, ``signatures``, ``metadata``, ``misc``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import numpy as np
from _common import add_paths, make_seeds

add_paths()


def _mb() -> Any:
    from numlite.builder import ModelBuilder

    return ModelBuilder()


def _single(op: str, inputs: list, outputs: Any, **kw: Any) -> bytes:
    from util import single_op_model

    return single_op_model(op, inputs, outputs, **kw)


# --- vision / quantized -----------------------------------------------------------------------
def conv_float() -> bytes:
    from util import In, Out

    w = np.random.default_rng(0).standard_normal((4, 3, 3, 2)).astype(np.float32)
    return _single("CONV_2D", [In((1, 5, 5, 2)), w, np.zeros(4, np.float32)], Out((1, 5, 5, 4)),
                   padding="SAME", stride_w=1, stride_h=1, fused_activation_function="RELU6")


def conv_int8() -> bytes:
    from test_conv_2d_quant import qconv

    return qconv((1, 5, 5, 3), (4, 3, 3, 3))[0]


def conv_uint8() -> bytes:
    from test_conv_2d_quant import qconv

    return qconv((1, 4, 4, 2), (3, 2, 2, 2), kind="uint8", per_channel=False, padding="VALID")[0]


def depthwise_float() -> bytes:
    from test_depthwise_conv_2d import dw_model

    got = dw_model((1, 5, 5, 3), m=2)
    return got[0] if isinstance(got, tuple) else got


def depthwise_int8() -> bytes:
    from test_depthwise_quant import qmodel

    got = qmodel(np.int8, (1, 5, 5, 4))
    return got[0] if isinstance(got, tuple) else got


def fc_int8() -> bytes:
    from test_fully_connected_quant import _quant_model

    got = _quant_model("i8pc", 0, (2, 6), 4)
    return got[0] if isinstance(got, tuple) else got


def fc_hybrid() -> bytes:
    from test_fully_connected_quant import _hybrid_model

    got = _hybrid_model(1, (2, 6), 4)
    return got[0] if isinstance(got, tuple) else got


def pools() -> list[bytes]:
    from util import In, Out

    out = []
    for op in ("MAX_POOL_2D", "AVERAGE_POOL_2D", "L2_POOL_2D"):
        out.append(_single(op, [In((1, 6, 6, 2))], Out((1, 3, 3, 2)), padding="VALID", stride_w=2, stride_h=2,
                           filter_width=2, filter_height=2))
    q = {"scale": 0.05, "zero_point": -3}
    out.append(_single("MAX_POOL_2D", [In((1, 4, 4, 2), np.int8, quant=q)], Out((1, 2, 2, 2), np.int8, quant=q),
                       padding="SAME", stride_w=2, stride_h=2, filter_width=3, filter_height=3))
    return out


def small_ops() -> list[bytes]:
    """One model per common op: elementwise, shape, reduction, softmax, resize, gather ..."""
    from util import In, Out

    f = np.float32
    out = [
        _single("ADD", [In((2, 3)), In((1, 3))], Out((2, 3)), fused_activation_function="RELU"),
        _single("MUL", [In((2, 3), np.int32), In((2, 3), np.int32)], Out((2, 3), np.int32)),
        _single("SOFTMAX", [In((2, 5))], Out((2, 5)), beta=1.0),
        _single("CONCATENATION", [In((2, 3)), In((2, 2))], Out((2, 5)), axis=1),
        _single("RESHAPE", [In((2, 6)), np.array([3, 4], np.int32)], Out((3, 4))),
        _single("TRANSPOSE", [In((2, 3, 4)), np.array([2, 0, 1], np.int32)], Out((4, 2, 3))),
        _single("MEAN", [In((2, 3, 4)), np.array([1], np.int32)], Out((2, 1, 4)), keep_dims=True),
        _single("SUM", [In((2, 3, 4), np.int32), np.array([0, 2], np.int32)], Out((3,), np.int32)),
        _single("GATHER", [In((5, 3)), In((4,), np.int32)], Out((4, 3)), axis=0),
        _single("STRIDED_SLICE", [In((4, 5)), np.array([1, 0], np.int32), np.array([4, 5], np.int32),
                                  np.array([2, 2], np.int32)], Out((2, 3))),
        _single("PAD", [In((2, 3)), np.array([[1, 1], [0, 2]], np.int32)], Out((4, 5))),
        _single("RESIZE_BILINEAR", [In((1, 3, 3, 2)), np.array([5, 4], np.int32)], Out((1, 5, 4, 2))),
        _single("TANH", [In((3, 4))], Out((3, 4))),
        _single("CAST", [In((3,))], Out((3,), np.int32)),
        _single("BATCH_MATMUL", [In((2, 3, 4)), In((2, 4, 5))], Out((2, 3, 5))),
        _single("TOPK_V2", [In((3, 6)), np.array(2, np.int32)], [Out((3, 2)), Out((3, 2), np.int32)]),
        _single("SPLIT", [np.array(1, np.int32), In((2, 6))], [Out((2, 3)), Out((2, 3))], num_splits=2),
        _single("ARG_MAX", [In((3, 4)), np.array(1, np.int32)], Out((3,), np.int64), output_type=4),
        _single("FILL", [np.array([2, 3], np.int32), In((), f)], Out((2, 3))),
        _single("RANGE", [In((), np.int32), In((), np.int32), In((), np.int32)], Out((0,), np.int32)),
        _single("TILE", [In((2, 2)), np.array([2, 1], np.int32)], Out((4, 2))),
        _single("EMBEDDING_LOOKUP", [In((3,), np.int32), np.arange(12, dtype=f).reshape(4, 3)], Out((3, 3))),
        _single("SQUARED_DIFFERENCE", [In((2, 2)), In((2, 2))], Out((2, 2))),
        _single("LOG_SOFTMAX", [In((2, 4))], Out((2, 4))),
        _single("CUMSUM", [In((3, 4)), np.array(1, np.int32)], Out((3, 4))),
        _single("DEPTH_TO_SPACE", [In((1, 2, 2, 4))], Out((1, 4, 4, 1)), block_size=2),
        _single("SELECT_V2", [In((2, 3), np.bool_), In((2, 3)), In((1, 3))], Out((2, 3))),
    ]
    q = {"scale": 0.1, "zero_point": 2}
    out.append(_single("ADD", [In((2, 3), np.int8, quant=q), In((2, 3), np.int8, quant=q)],
                       Out((2, 3), np.int8, quant={"scale": 0.2, "zero_point": -1})))
    out.append(_single("QUANTIZE", [In((2, 3))], Out((2, 3), np.int8, quant=q)))
    out.append(_single("DEQUANTIZE", [In((2, 3), np.int8, quant=q)], Out((2, 3))))
    out.append(_single("LOGISTIC", [In((4,), np.int8, quant=q)], Out((4,), np.int8,
                                                                        quant={"scale": 1 / 256, "zero_point": -128})))
    return out


def transpose_conv() -> bytes:
    from test_transpose_conv import tc_model

    return tc_model((1, 3, 3, 2), np.ones((4, 3, 3, 2), np.float32), (1, 6, 6, 4), bias=np.zeros(4, np.float32),
                    padding="SAME", stride_w=2, stride_h=2)


def dynamic_batch() -> list[bytes]:
    from util import In, Out

    w = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    return [_single("FULLY_CONNECTED", [In((1, 4), shape_signature=(-1, 4)), w, None], Out((1, 3))),
            _single("ADD", [In((1, 3), shape_signature=(-1, 3)), In((1, 3), shape_signature=(-1, 3))], Out((1, 3)))]


def dynamic_index_ops() -> list[bytes]:
    from test_index_space_ops import dus_model, unique_model
    from test_segment_ops import segment_model

    return [unique_model(6, np.int32), segment_model((5, 2), 3), dus_model((4, 4), (2, 2), np.float32)]


def complex_random() -> list[bytes]:
    from test_complex_random import multinomial_model, random_model, rfft_model

    return [rfft_model((4, 8), (4, 8)), multinomial_model((2, 5), 3), random_model("RANDOM_UNIFORM", (2, 3), 1, 2)]


# --- sequence models with state ---------------------------------------------------------------
def lstm_models() -> list[bytes]:
    from lstm_util import bidi_model, lstm_weights, uni_model

    w = lstm_weights(3, 4, 4, seed=1)
    wp = lstm_weights(3, 4, 2, peephole=True, projection=True, layer_norm=True, cifg=True, seed=2)
    wb = lstm_weights(3, 4, 4, seed=3)
    return [uni_model((2, 1, 3), w, 4, 4, fused_activation_function="TANH"),
            uni_model((2, 1, 3), wp, 4, 2, fused_activation_function="TANH", cell_clip=0.5, proj_clip=0.2),
            uni_model((1, 3), w, 4, 4, op="LSTM", fused_activation_function="TANH"),
            uni_model((2, 1, 3), w, 4, 4, hybrid=True, fused_activation_function="TANH"),
            bidi_model((2, 1, 3), w, wb, 4, 4, 4, fused_activation_function="TANH")]


def lstm_int() -> bytes:
    from lstm_util import lstm_weights
    from test_lstm_int import int_model

    got = int_model((2, 1, 3), lstm_weights(3, 4, 4, seed=4), 4, 4)
    return got[0] if isinstance(got, tuple) else got


def rnn_svdf() -> list[bytes]:
    from test_quantize_weights_rnn import _rnn_model, _svdf_model

    return [_rnn_model("RNN", 3, 2, "TANH")[0], _rnn_model("UNIDIRECTIONAL_SEQUENCE_RNN", 3, 2, "RELU")[0],
            _svdf_model(1, 3, 2, 1, 3, "NONE")]


# --- strings ----------------------------------------------------------------------------------
def string_models() -> list[bytes]:
    from test_strings import _string_model
    from test_text_ops import lookup_model, lsh_model, skip_gram_model
    from util import In, Out

    s = np.object_
    out = [_string_model(), skip_gram_model((2,), 2, 1, True),
           lookup_model(3, [1, 3, 7], np.array([b"one", b"three", b"seven"], object)),
           lsh_model(np.ones((2, 3), np.float32), (3,), 2),
           skip_gram_model(const=np.array([b"a b c", "\u00e9 x".encode()], object)),
           _single("EQUAL", [In((3,), s), In((3,), s)], Out((3,), np.bool_)),
           _single("GATHER", [In((4,), s), In((2,), np.int32)], Out((2,), s), axis=0),
           _single("CONCATENATION", [In((2,), s), In((1,), s)], Out((3,), s), axis=0),
           _single("TILE", [In((2,), s), np.array([2], np.int32)], Out((4,), s)),
           _single("REVERSE_V2", [In((3,), s), np.array([0], np.int32)], Out((3,), s))]
    mb = _mb()
    x = mb.input("x", (2,), np.object_)
    c = mb.const("c", np.array([b"k\xff\xfe", b"", "\u4f60".encode()], object))
    y = mb.tensor("y", (2,), np.object_)
    mb.op("RESHAPE", [x, mb.const("s", np.array([2], np.int32))], [y])
    mb.output(y, c)
    out.append(mb.build())
    return out


def hashtables() -> list[bytes]:
    from test_control_flow import table_model

    return [table_model(np.object_, np.int64, np.array([b"a", b"bb"], object), np.array([1, 2], np.int64), -1),
            table_model(np.int64, np.object_, np.array([1, 2], np.int64), np.array([b"x", b"y"], object), b"?")]


# --- control flow -----------------------------------------------------------------------------
def control_flow() -> list[bytes]:
    from test_control_flow import _nested_ifs, accumulator, counter_loop, growing_loop, if_model, where_then_add

    return [counter_loop(), counter_loop(swap=True), counter_loop(passthrough=True), growing_loop(), if_model(),
            if_model((4,)), accumulator(), _nested_ifs(3), where_then_add()]


def stablehlo_regions() -> list[bytes]:
    from test_stablehlo import ROWS, case_model, pad_model, rw_model, scatter_model

    return [case_model([1, 2]), case_model([3, 1, 2]),
            scatter_model((4, 3), (2, 1), (2, 3), np.float32, np.int32, "STABLEHLO_ADD", **ROWS),
            rw_model((4, 6), (2, 3), np.float32, "STABLEHLO_ADD", window_dimensions=[2, 2], window_strides=[2, 2]),
            pad_model((2, 3), [1, 0], [0, 2], [1, 1])]


def composite() -> bytes:
    mb = _mb()
    x = mb.input("x", (2, 3), np.float32)
    o = mb.tensor("o", (2, 3), np.float32)
    mb.op("STABLEHLO_COMPOSITE", [x], [o], options_table="StableHLOCompositeOptions", name="odml.double",
          decomposition_subgraph_index=1, composite_attributes=np.zeros(0, np.uint8), version=1)
    mb.output(o)
    mb.new_subgraph("decomposition")
    a = mb.input("a", (2, 3), np.float32)
    b = mb.tensor("b", (2, 3), np.float32)
    mb.op("ADD", [a, a], [b])
    mb.output(b)
    return mb.build()


def lstm_in_control_flow() -> list[bytes]:
    from test_quantize_lstm_control_flow import if_model, time_loop, while_model

    return [if_model(), while_model(), time_loop()]


def quantizer_loops() -> list[bytes]:
    from test_quantize_control_flow import if_model, loop_model, nested_loops

    return [loop_model(), if_model(), nested_loops()]


# --- custom ops -------------------------------------------------------------------------------
def detection() -> list[bytes]:
    from test_detection import BASE, det_model, nms_model, ssd_model

    return [ssd_model(True)[0], ssd_model(False)[0], nms_model(8, 4, True), nms_model(6, 3, False),
            det_model(BASE, 6, 3)]


def mediapipe_ops() -> list[bytes]:
    from flatbuffers import flexbuffers
    from test_mediapipe_ops import custom_model
    from util import In, Out

    raw = struct.pack("<6i", 1, 2, 2, 2, 2, 0)
    m = np.eye(4, dtype=np.float32)[None]
    return [custom_model("MaxPoolingWithArgmax2D", [In((1, 4, 4, 2))], [Out((1, 2, 2, 2)), Out((1, 2, 2, 2))], raw),
            custom_model("MaxUnpooling2D", [In((1, 2, 2, 2)), In((1, 2, 2, 2))], [Out((1, 4, 4, 2))], raw),
            custom_model("Convolution2DTransposeBias", [In((1, 2, 2, 2)), np.ones((3, 2, 2, 2), np.float32),
                                                        np.zeros(3, np.float32)], [Out((1, 4, 4, 3))], raw[:12]),
            custom_model("TransformLandmarks", [In((1, 5, 3)), m], [Out((1, 5, 3))], None, version=2),
            custom_model("TransformTensorBilinear", [In((1, 4, 4, 2)), m], [Out((1, 3, 3, 2))],
                         bytes(flexbuffers.Dumps({"output_height": 3, "output_width": 3}))),
            custom_model("Landmarks2TransformMatrix", [In((1, 6, 3))], [Out((1, 4, 4))], version=2, options=
                         bytes(flexbuffers.Dumps({"left_rotation_idx": 0, "right_rotation_idx": 1,
                                                  "target_rotation_radians": 0.0, "output_height": 8,
                                                  "output_width": 8, "scale_x": 1.0, "scale_y": 1.0,
                                                  "subset_idxs": [0, 1, 2, 3, 4, 5]})))]


def audio_ops() -> list[bytes]:
    from test_audio_ops import mfcc_model, spec_model

    return [spec_model((64, 1), dict(window_size=16, stride=8, magnitude_squared=True)),
            mfcc_model((1, 3, 9), 8000, dict(upper_frequency_limit=3000.0, lower_frequency_limit=20.0,
                                             filterbank_channel_count=8, dct_coefficient_count=5))]


def numeric_verify() -> bytes:
    from test_numeric_verify import model

    got = model(np.int8, {"scale": 0.1, "zero_point": 0})
    return got[0] if isinstance(got, tuple) else got


# --- formats ----------------------------------------------------------------------------------
def sparse() -> list[bytes]:
    from test_densify import CASES, encode, model_with, sparse_weights
    from test_loading import sparse_model

    out = [sparse_model(), sparse_model("Uint8Vector")]
    for case in range(min(3, len(CASES))):
        traversal, formats, block_map, block_size = CASES[case]
        bs = None
        if block_map:
            bs = [1, 1]
            for d, b in zip(block_map, block_size):
                bs[d] = b
        w = sparse_weights((8, 12), np.float32, seed=case, block=bs)
        sp, values = encode(w, traversal, formats, block_map, block_size)
        out.append(model_with("FULLY_CONNECTED", w, sp, values))
    return out


def int4() -> list[bytes]:
    from test_int4_weights import _conv_model

    got = [_conv_model(0, False), _conv_model(1, True)]
    return [g[0] if isinstance(g, tuple) else g for g in got]


def signatures() -> list[bytes]:
    from test_interpreter_api import model_chain, model_signatures, model_variables

    return [model_signatures(), model_variables(), model_chain()]


def metadata() -> bytes:
    import io
    import zipfile

    from test_metadata import LABEL_FILES, full_metadata, softmax_model

    from numlite import metadata as md

    # the associated files as populate() appends them, but with fixed timestamps (deterministic seeds)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in sorted(LABEL_FILES.items()):
            z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return md.populate(softmax_model(), full_metadata()) + buf.getvalue()


def custom_unknown() -> bytes:
    from test_custom_ops import _model

    return _model()


BUILDERS: dict[str, tuple[tuple[str, ...], Callable[[], bytes | list[bytes]]]] = {
    "conv_float": (("vision",), conv_float),
    "conv_int8": (("vision", "quant"), conv_int8),
    "conv_uint8": (("vision", "quant"), conv_uint8),
    "depthwise_float": (("vision",), depthwise_float),
    "depthwise_int8": (("vision", "quant"), depthwise_int8),
    "fc_int8": (("vision", "quant"), fc_int8),
    "fc_hybrid": (("vision", "quant"), fc_hybrid),
    "pools": (("vision", "quant"), pools),
    "small_ops": (("misc", "quant", "dynamic"), small_ops),
    "transpose_conv": (("vision",), transpose_conv),
    "dynamic_batch": (("dynamic",), dynamic_batch),
    "dynamic_index_ops": (("dynamic",), dynamic_index_ops),
    "complex_random": (("misc",), complex_random),
    "lstm": (("sequence",), lstm_models),
    "lstm_int": (("sequence", "quant"), lstm_int),
    "rnn_svdf": (("sequence",), rnn_svdf),
    "strings": (("strings",), string_models),
    "hashtables": (("strings", "control_flow"), hashtables),
    "control_flow": (("control_flow",), control_flow),
    "stablehlo_regions": (("control_flow",), stablehlo_regions),
    "composite": (("control_flow",), composite),
    "lstm_in_control_flow": (("control_flow", "sequence"), lstm_in_control_flow),
    "quantizer_loops": (("control_flow",), quantizer_loops),
    "detection": (("custom",), detection),
    "mediapipe_ops": (("custom",), mediapipe_ops),
    "audio_ops": (("custom",), audio_ops),
    "numeric_verify": (("custom", "quant"), numeric_verify),
    "sparse": (("sparse",), sparse),
    "int4": (("int4", "quant"), int4),
    "signatures": (("signatures",), signatures),
    "metadata": (("metadata",), metadata),
    "custom_unknown": (("custom",), custom_unknown),
}


def corpus(*tags: str, failed: list[str] | None = None) -> list[bytes]:
    """The models of every builder with one of ``tags`` (all builders when none is given)."""
    chosen = {name: fn for name, (t, fn) in BUILDERS.items() if not tags or set(t) & set(tags)}
    return make_seeds(chosen, failed)
