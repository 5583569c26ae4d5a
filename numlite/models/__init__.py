"""numlite's built-in reference models: float32 MobileNet v1, MobileNet v2 and Inception v3
with the op structure of the official TFLite files and seeded random weights (batch norm
folded, He-style scales: see ``_common``), plus tiny variants for fast tests, and their int8 twins.

    from numlite import models
    data = models.build("mobilenet_v1")          # bytes of a .tflite file, same bytes every call
    data = models.build("mobilenet_v2", alpha=0.5, resolution=128)
    data = models.build("mobilenet_v1_int8_uint8io")
    x = models.sample_input("mobilenet_v1_int8_uint8io")   # the synthetic image, quantized as the input wants
    models.MODELS                                # name -> ModelInfo

Quantized models: for every float model ``NAME`` there are ``NAME_int8`` (int8 inputs and
outputs), ``NAME_int8_uint8io`` (uint8 inputs and outputs, as the converter writes with
``inference_input_type=tf.uint8``) and ``NAME_int8_floatio`` (float32 I/O with QUANTIZE and
DEQUANTIZE at the edges).  Each is built by calibrating the float model on
``calibration_samples`` seeded synthetic images (seeds ``calibration_seed``, +1, ...; disjoint
from the seeds tests feed) and quantizing it with ``numlite.quantize.quantize_model``
(per-channel weights unless ``per_channel=False``).  Other keyword arguments go to the float
model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from . import inception_v3, mobilenet_v1, mobilenet_v2
from ._common import synthetic_image

__all__ = ["MODELS", "QUANTIZED_IO", "ModelInfo", "build", "input_shape", "sample_input", "synthetic_image"]


@dataclass(frozen=True)
class ModelInfo:
    """A named model: the writer, its default arguments and the input it takes."""

    builder: Callable[..., bytes]
    kwargs: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    base: str = ""  # quantized models: the float model they are calibrated from

    def resolution(self, **kw: Any) -> int:
        if self.base:
            return MODELS[self.base].resolution(**kw)
        merged = {**self.kwargs, **kw}
        default = 299 if self.builder is inception_v3.build else 224
        return int(merged.get("resolution", default))


MODELS: dict[str, ModelInfo] = {
    "mobilenet_v1": ModelInfo(mobilenet_v1.build, {}, "MobileNet v1 1.0/224, 31 ops, 4.2M parameters"),
    "mobilenet_v1_tiny": ModelInfo(mobilenet_v1.build, {"alpha": 0.25, "resolution": 96, "logit_gain": 20.0},
                                   "MobileNet v1 0.25/96 (same 31-op structure)"),
    "mobilenet_v2": ModelInfo(mobilenet_v2.build, {}, "MobileNet v2 1.0/224, 66 ops, 3.5M parameters"),
    "mobilenet_v2_tiny": ModelInfo(mobilenet_v2.build, {"alpha": 0.35, "resolution": 96, "logit_gain": 7.5},
                                   "MobileNet v2 0.35/96 (same 66-op structure)"),
    "mobilenet_v2_fc": ModelInfo(mobilenet_v2.build, {"head": "fc"},
                                 "MobileNet v2 1.0/224 with a FULLY_CONNECTED head (as Keras files)"),
    "mobilenet_v2_fc_tiny": ModelInfo(mobilenet_v2.build, {"alpha": 0.35, "resolution": 96, "head": "fc",
                                                               "logit_gain": 7.5},
                                      "MobileNet v2 0.35/96 with a FULLY_CONNECTED head"),
    "inception_v3": ModelInfo(inception_v3.build, {}, "Inception v3 299, 23.9M parameters"),
    "inception_v3_tiny": ModelInfo(inception_v3.build, {"depth_multiplier": 0.125, "min_depth": 8, "logit_gain": 18.0,
                                                        "resolution": 75},
                                   "Inception v3 x0.125 at 75x75 (same op structure)"),
}

# suffix -> model input/output dtype of the quantized twins
QUANTIZED_IO: dict[str, Any] = {"_int8": np.int8, "_int8_uint8io": np.uint8, "_int8_floatio": np.float32}


def _quantized_builder(base: str, io_dtype: Any) -> Callable[..., bytes]:
    def build_quantized(calibration_samples: int = 8, calibration_seed: int = 1000, per_channel: bool = True,
                        **kw: Any) -> bytes:
        from ..quantize import quantize_model

        float_model = build(base, **kw)
        shape = input_shape(base, **kw)
        samples = ([synthetic_image(shape, calibration_seed + k)] for k in range(calibration_samples))
        return quantize_model(float_model, samples, io_dtype=io_dtype, per_channel=per_channel)

    build_quantized.__name__ = f"build_{base}_int8"
    return build_quantized


for _base in list(MODELS):
    for _suffix, _io in QUANTIZED_IO.items():
        MODELS[_base + _suffix] = ModelInfo(
            _quantized_builder(_base, _io), {},
            f"{MODELS[_base].description.split(' (')[0]}: int8 twin, {np.dtype(_io).name} I/O", base=_base)
del _base, _suffix, _io


@lru_cache(maxsize=8)
def _build_cached(name: str, frozen_kw: tuple[tuple[str, Any], ...]) -> bytes:
    info = MODELS[name]
    return info.builder(**{**info.kwargs, **dict(frozen_kw)})


def build(name: str, **kw: Any) -> bytes:
    """The .tflite bytes of a named model; keyword arguments override its defaults
    (``alpha`` / ``depth_multiplier``, ``resolution``, ``num_classes``, ``seed``, ``head``,
    ``batch``, ``logit_gain``: the scale of the last layer, set per model so that the softmax
    is neither one-hot nor uniform; quantized models also ``calibration_samples``,
    ``calibration_seed``, ``per_channel``).  Deterministic: the same arguments give the same
    bytes."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(MODELS)}")
    return _build_cached(name, tuple(sorted(kw.items())))


def input_shape(name: str, **kw: Any) -> tuple[int, int, int, int]:
    """The NHWC input shape of a named model."""
    info = MODELS[name]
    batch = int({**info.kwargs, **kw}.get("batch", 1))
    r = info.resolution(**kw)
    return (batch, r, r, 3)


def sample_input(name: str, seed: int = 0, **kw: Any) -> np.ndarray:
    """``synthetic_image`` for a named model, in the type its input takes: float32 as it is,
    int8/uint8 quantized with the input tensor's scale and zero point (round half away from
    zero, clamped, as TFLite's QUANTIZE does)."""
    x = synthetic_image(input_shape(name, **kw), seed)
    if not MODELS[name].base:
        return x
    from ..graph import load_model

    sg = load_model(model_content=build(name, **kw)).subgraphs[0]
    t = sg.tensors[sg.inputs[0]]
    if t.dtype is np.float32:
        return x
    q = t.quantization
    v = x.astype(np.float64) / np.float64(q.scale)
    v = np.sign(v) * np.floor(np.abs(v) + 0.5) + q.zero_point
    info = np.iinfo(t.dtype)
    return np.clip(v, info.min, info.max).astype(t.dtype)
