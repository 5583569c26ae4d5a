"""numlite's built-in reference models: float32 MobileNet v1, MobileNet v2 and Inception v3
with the op structure of the official TFLite files and seeded random weights (batch norm
folded, He-style scales: see ``_common``), plus tiny variants for fast tests.

    from numlite import models
    data = models.build("mobilenet_v1")          # bytes of a .tflite file, same bytes every call
    data = models.build("mobilenet_v2", alpha=0.5, resolution=128)
    models.MODELS                                # name -> ModelInfo
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from . import inception_v3, mobilenet_v1, mobilenet_v2
from ._common import synthetic_image

__all__ = ["MODELS", "ModelInfo", "build", "input_shape", "synthetic_image"]


@dataclass(frozen=True)
class ModelInfo:
    """A named model: the writer, its default arguments and the input it takes."""

    builder: Callable[..., bytes]
    kwargs: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def resolution(self, **kw: Any) -> int:
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


@lru_cache(maxsize=4)
def _build_cached(name: str, frozen_kw: tuple[tuple[str, Any], ...]) -> bytes:
    info = MODELS[name]
    return info.builder(**{**info.kwargs, **dict(frozen_kw)})


def build(name: str, **kw: Any) -> bytes:
    """The .tflite bytes of a named model; keyword arguments override its defaults
    (``alpha`` / ``depth_multiplier``, ``resolution``, ``num_classes``, ``seed``, ``head``,
    ``batch``, ``logit_gain``: the scale of the last layer, set per model so that the softmax
    is neither one-hot nor uniform).  Deterministic: the same arguments give the same bytes."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(MODELS)}")
    return _build_cached(name, tuple(sorted(kw.items())))


def input_shape(name: str, **kw: Any) -> tuple[int, int, int, int]:
    """The NHWC input shape of a named model."""
    info = MODELS[name]
    batch = int({**info.kwargs, **kw}.get("batch", 1))
    r = info.resolution(**kw)
    return (batch, r, r, 3)
