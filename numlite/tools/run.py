"""``numlite run``: feed a model given inputs (arrays or images) or seeded random ones, summarise
its outputs and, for a classifier, print the top-K classes with their labels.

    numlite run model.tflite                                  # seeded random inputs
    numlite run model.tflite --input image=cat.jpg --top 3    # an image, resized and scaled
    numlite run model.tflite --input a.npy b.npy --save out.npz --json

The same in Python: :func:`run_model` returns the data the command prints::

    from numlite.tools.run import run_model
    r = run_model("model.tflite", ["image=cat.jpg"], labels="labels.txt", top=5, runs=10)
    r["inputs"][0]["preprocessing"], r["outputs"][0]["value"], r["top_k"], r["timings"]["median_ms"]

Inputs (``--input``, repeatable; ``NAME=FILE`` with an input's name or position, or files in
the order of the model's inputs):

1. ``.npy``: the array.  ``.npz``: the array named after the input, or the file's only array;
   a positional ``.npz`` whose arrays are named after inputs feeds each of them.
2. Images (PNG, JPEG, BMP, ... via Pillow, the ``image`` extra): converted to RGB (grayscale
   for a 1-channel input), resized to the input's height and width (bilinear), then scaled:
   with the model's metadata ``NormalizationOptions``, ``(pixel - mean) / std``; without, to
   [0, 1] (``--image-range`` picks another range).  Integer inputs with quantization get the
   quantized image of those float values (round half away from zero, clamped); a uint8 input
   without quantization gets the raw pixels.  The output says what was done.
3. Arrays of another float type are cast, integer arrays checked and cast, float arrays for a
   quantized integer input quantized with its scale and zero point; any other type mismatch is
   a wrong input.  An array whose shape differs only by 1-sized axes is reshaped; any other
   shape resizes the input (a shape the model cannot take is a wrong input).
4. Inputs not given get a seeded random value (``--seed``): positional files must cover every
   input not given by name.

A classifier-like output (the model's only output, or the one with a label file in the
metadata, of shape ``[1, N]`` or ``[N]`` with N >= 2) gets its top-K classes, dequantized, with
labels from ``--labels FILE`` (one per line) or the model's metadata.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._common import (
    BAD_INPUT,
    EXIT_CODES_HELP,
    FAILED,
    USAGE,
    CLIError,
    check_readable_file,
    describe_io,
    image_pixels,
    make_interpreter,
    ms,
    optional_import,
    print_json,
    quant_str,
    random_input,
    stats,
)

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".ppm", ".pgm", ".pbm", ".tif", ".tiff"}
JSON_VALUES_MAX = 64  # --json lists the values of outputs with at most this many elements

EXAMPLES = """examples:
  numlite run model.tflite                                   random inputs (seeded), output summary
  numlite run model.tflite --input image=cat.jpg --top 3     an image input; top-3 classes with labels
  numlite run model.tflite --input a.npy b.npy --save out.npz
  numlite run model.tflite -i photo.jpg --image-range=-1,1 --labels labels.txt --runs 20 --json"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="run a model on given (.npy/.npz/image) or random inputs",
        description="Run a model on given inputs (.npy, .npz or images) or seeded random ones; summarise the "
                    "outputs and, for a classifier, print the top-K classes with labels.",
        epilog=EXAMPLES + "\n\n" + EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="the .tflite file")
    p.add_argument("--input", "-i", nargs="+", action="extend", metavar="[NAME=]FILE",
                   help="an input: NAME=FILE (an input's name or position) or FILE (in the model's input "
                        "order); .npy, .npz or an image")
    p.add_argument("--threads", type=int, default=1, help="threads for the interpreter (default 1)")
    p.add_argument("--labels", metavar="FILE", help="class labels, one per line (default: the model's metadata)")
    p.add_argument("--top", type=int, default=5, metavar="K", help="classes shown for a classifier (0: none)")
    p.add_argument("--image-range", metavar="LO,HI",
                   help="float range image pixels are scaled to when the model has no normalization metadata "
                        "(default 0,1; write --image-range=-1,1 for a negative LO)")
    p.add_argument("--runs", type=int, default=1, help="invocations to time (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    p.add_argument("--save", metavar="OUT.npz", help="save the outputs (output_0, output_1, ...)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    p.set_defaults(func=command)


# -- reading inputs ----------------------------------------------------------------------------
@dataclass
class _Given:
    """One value for one model input: an array, or an image still to fit."""

    pos: int
    value: Any  # np.ndarray or a PIL image
    source: str
    notes: list[str] = field(default_factory=list)


def _sniff(path: str) -> str:
    """'npy', 'npz', 'image' or 'other', from the first bytes (then the extension)."""
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "npz"
    ext = os.path.splitext(path)[1].lower()
    if ext in (".npy", ".npz"):
        raise CLIError(f"{path}: not a {ext} file (no NumPy header)", BAD_INPUT)
    return "image"


def _check_file(path: str) -> None:
    check_readable_file(path, BAD_INPUT, "an input file")


def _load_arrays(path: str, kind: str) -> dict[str, np.ndarray]:
    """The arrays of a .npy ({"": array}) or .npz file (name -> array)."""
    try:
        if kind == "npy":
            return {"": np.load(path, allow_pickle=False)}
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as e:  # noqa: BLE001 - any failure to parse the file is a wrong input
        raise CLIError(f"{path}: not a readable .{kind} file ({type(e).__name__}: {e})", BAD_INPUT) from None


def _load_image(path: str) -> Any:
    pil = optional_import("PIL.Image", "image", "Pillow")
    try:
        img = pil.open(path)
        img.load()
    except Exception as e:  # noqa: BLE001 - UnidentifiedImageError, truncated file, decompression bomb...
        what = "not an image (nor a .npy/.npz file)" if "identify" in str(e) else "unreadable image"
        raise CLIError(f"{path}: {what}: {e}", BAD_INPUT) from None
    return img


def _parse_specs(specs: Sequence[Any], names: list[str],
                 aliases: Mapping[str, int]) -> tuple[list[tuple[int, Any]], list[Any]]:
    """Split ``--input`` items into (input position, value) pairs given by name (or by the
    metadata's name for the input: ``aliases``) and positional values."""
    named: list[tuple[int, Any]] = []
    positional: list[Any] = []
    for spec in specs:
        if isinstance(spec, tuple):
            key, value = spec
        elif isinstance(spec, str) and "=" in spec and not os.path.exists(spec):
            key, value = spec.split("=", 1)
        else:
            positional.append(spec)
            continue
        if isinstance(key, str) and key in names:
            pos = names.index(key)
        elif isinstance(key, str) and key in aliases:
            pos = aliases[key]
        elif isinstance(key, (int, np.integer)) or (isinstance(key, str) and key.lstrip("-").isdigit()):
            pos = int(key)
            if not 0 <= pos < len(names):
                raise CLIError(f"input position {pos} is out of range: the model has {len(names)} input(s)", BAD_INPUT)
        else:
            raise CLIError(f"unknown input {key!r}: the model's inputs are {names} (or their positions "
                           f"0..{len(names) - 1})", BAD_INPUT)
        named.append((pos, value))
    return named, positional


def _gather(specs: Sequence[Any] | Mapping[Any, Any], names: list[str],
            aliases: Mapping[str, int] | None = None) -> list[_Given]:
    """Read every given input (files or arrays) and assign it to a model input position."""
    if isinstance(specs, Mapping):
        specs = list(specs.items())
    named, positional = _parse_specs(specs, names, aliases or {})
    given: dict[int, _Given] = {}

    def put(pos: int, value: Any, source: str) -> None:
        if pos in given:
            raise CLIError(f"input '{names[pos]}' is given twice ({given[pos].source} and {source})", USAGE)
        given[pos] = _Given(pos, value, source)

    def load(value: Any) -> tuple[str, Any]:
        if isinstance(value, np.ndarray) or not isinstance(value, (str, os.PathLike)):
            return "array", np.asarray(value)
        path = os.fspath(value)
        _check_file(path)
        kind = _sniff(path)
        return (kind, _load_image(path)) if kind == "image" else (kind, _load_arrays(path, kind))

    for pos, value in named:
        kind, data = load(value)
        src = str(value) if kind != "array" else "array"
        if kind in ("npy", "npz"):
            if names[pos] in data:
                data = data[names[pos]]
            elif len(data) == 1:
                data = next(iter(data.values()))
            else:
                raise CLIError(f"{value}: no array named '{names[pos]}' (it has {sorted(data)})", BAD_INPUT)
        put(pos, data, src)
    # positional values, expanded: an .npz of several arrays named after inputs (or arr_0, arr_1...)
    flat: list[tuple[Any, str]] = []
    for value in positional:
        kind, data = load(value)
        src = str(value) if kind != "array" else "array"
        if kind not in ("npy", "npz") or len(data) == 1:
            flat.append((next(iter(data.values())) if kind in ("npy", "npz") else data, src))
        elif set(data) <= set(names):
            for key, arr in data.items():
                put(names.index(key), arr, f"{src}[{key}]")
        elif sorted(data) == [f"arr_{k}" for k in range(len(data))]:
            flat.extend((data[f"arr_{k}"], f"{src}[arr_{k}]") for k in range(len(data)))
        else:
            raise CLIError(f"{value}: its arrays {sorted(data)} are not named after the model's inputs {names}",
                           BAD_INPUT)
    free = [p for p in range(len(names)) if p not in given]
    if flat and len(flat) != len(free):
        msg = f"the model has {len(names)} input(s), {len(flat)} --input file(s) given"
        if len(free) != len(names):
            msg += f" in order for the {len(free)} not given by name"
        raise CLIError(msg, USAGE)
    for pos, (data, src) in zip(free, flat):
        put(pos, data, src)
    return [given[p] for p in sorted(given)]


# -- fitting values to inputs ------------------------------------------------------------------
def _quantize(x: np.ndarray, scale: float, zero_point: int, dtype: np.dtype) -> np.ndarray:
    """TFLite's QUANTIZE: round half away from zero, then clamp to the type's range."""
    v = np.asarray(x, np.float64) / scale
    q = np.sign(v) * np.floor(np.abs(v) + 0.5) + zero_point
    info = np.iinfo(dtype)
    return np.clip(q, info.min, info.max).astype(dtype)


def _qparams(d: dict[str, Any]) -> tuple[float, int]:
    scale, zp = d.get("quantization", (0.0, 0))
    return float(scale), int(zp)


def _fit_array(d: dict[str, Any], g: _Given) -> np.ndarray:
    """``g.value`` in the input's dtype (cast, checked or quantized) and, where only 1-sized axes
    differ, its shape; other shapes are left for the caller to resize the input to."""
    arr = np.asarray(g.value)
    dtype = np.dtype(d["dtype"])
    name = d["name"]
    if arr.dtype != dtype:
        scale, zp = _qparams(d)
        if dtype.kind in "iu" and scale and arr.dtype.kind == "f":
            arr = _quantize(arr, scale, zp, dtype)
            g.notes.append(f"{np.asarray(g.value).dtype.name} values quantized with scale={scale:.6g} "
                           f"zero_point={zp}")
        elif dtype.kind == "f" and arr.dtype.kind == "f":
            g.notes.append(f"cast from {arr.dtype.name}")
            arr = arr.astype(dtype)
        elif dtype.kind in "iu" and arr.dtype.kind in "iu":
            info = np.iinfo(dtype)
            if arr.size and (arr.min() < info.min or arr.max() > info.max):
                raise CLIError(f"input '{name}': {g.source} holds {arr.dtype.name} values outside the "
                               f"{dtype.name} range of the input", BAD_INPUT)
            g.notes.append(f"cast from {arr.dtype.name}")
            arr = arr.astype(dtype)
        elif dtype.kind == "S" and arr.dtype.kind in "SU":
            if arr.dtype.kind == "U":
                g.notes.append("strings encoded as UTF-8")
            out = np.empty(arr.shape, object)
            out.reshape(-1)[:] = [v.encode() if isinstance(v, str) else bytes(v) for v in arr.reshape(-1).tolist()]
            arr = out
        else:
            raise CLIError(f"input '{name}': {g.source} holds {arr.dtype.name} values, the input takes "
                           f"{dtype.name}", BAD_INPUT)
    shape = tuple(int(s) for s in d["shape"])
    if arr.shape != shape and arr.size == int(np.prod(shape)) and \
            [s for s in arr.shape if s != 1] == [s for s in shape if s != 1]:
        g.notes.append(f"reshaped from {list(arr.shape)}")
        arr = arr.reshape(shape)
    return arr


def _image_layout(d: dict[str, Any], source: str) -> tuple[int, int, int, bool]:
    """(height, width, channels, has batch axis) of an image input, or a BAD_INPUT error."""
    shape = [int(s) for s in d["shape"]]
    sig = [int(s) for s in d.get("shape_signature", d["shape"])]
    ok = len(shape) in (3, 4) and shape[-1] in (1, 3, 4) and (len(shape) == 3 or shape[0] == 1 or sig[0] == -1)
    if not ok or np.dtype(d["dtype"]).kind not in "fiu":
        raise CLIError(f"input '{d['name']}' {np.dtype(d['dtype']).name}{shape} does not take an image "
                       f"([1, H, W, C] with C = 1 or 3): {source}", BAD_INPUT)
    h, w = shape[-3], shape[-2]
    return (-1 if sig[-3] == -1 else h), (-1 if sig[-2] == -1 else w), shape[-1], len(shape) == 4


def _image_to_input(d: dict[str, Any], g: _Given, tmeta: Any, image_range: tuple[float, float] | None) -> np.ndarray:
    """An image as the input's values: color mode, size, normalization, quantization."""
    img = g.value
    h, w, c, batch = _image_layout(d, g.source)
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[c]
    orig = f"{img.width}x{img.height} {img.mode}"
    h = img.height if h == -1 else h
    w = img.width if w == -1 else w
    pixels = image_pixels(img, w, h, mode)
    g.notes.append(f"image {orig} -> {w}x{h} {mode}")
    dtype = np.dtype(d["dtype"])
    scale, zp = _qparams(d)
    if dtype.kind in "iu" and not scale:  # an integer input without quantization takes raw pixels
        if dtype == np.int8:
            x = pixels - 128.0
            g.notes.append("pixel - 128 (int8 input without quantization)")
        else:
            x = pixels
            g.notes.append(f"raw pixels 0..255 ({dtype.name} input without quantization)")
        arr = np.clip(np.round(x), np.iinfo(dtype).min, np.iinfo(dtype).max).astype(dtype)
    else:
        mean, std = (tmeta.mean, tmeta.std) if tmeta is not None else (None, None)
        if mean and std and len(mean) in (1, c) and len(std) in (1, c) and all(s != 0 for s in std):
            x = (pixels - np.asarray(mean, np.float64)) / np.asarray(std, np.float64)
            g.notes.append(f"(pixel - {_fmt_list(mean)}) / {_fmt_list(std)} (the model's metadata normalization)")
        else:
            lo, hi = image_range or (0.0, 1.0)
            x = lo + pixels * ((hi - lo) / 255.0)
            how = "--image-range" if image_range else "the default; the model has no normalization metadata"
            g.notes.append(f"pixels scaled to [{lo:g}, {hi:g}] ({how})")
        if dtype.kind in "iu":
            arr = _quantize(x, scale, zp, dtype)
            g.notes.append(f"quantized with scale={scale:.6g} zero_point={zp}")
        else:
            arr = x.astype(dtype)
    return arr[None] if batch else arr


def _fmt_list(v: Sequence[float]) -> str:
    return f"{v[0]:g}" if len(v) == 1 else "[" + ", ".join(f"{x:g}" for x in v) + "]"


def _parse_range(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lo, hi = (float(t) for t in text.split(","))
    except ValueError:
        raise CLIError(f"--image-range: expected LO,HI (e.g. -1,1), got {text!r}", USAGE) from None
    if not lo < hi:
        raise CLIError(f"--image-range: LO must be below HI, got {text!r}", USAGE)
    return lo, hi


# -- outputs -----------------------------------------------------------------------------------
def _dequantize(d: dict[str, Any], v: np.ndarray) -> np.ndarray | None:
    scale, zp = _qparams(d)
    if scale and v.dtype.kind in "iu":
        return (v.astype(np.float64) - zp) * scale
    return None


def _classifier_output(outs: list[dict[str, Any]], values: list[np.ndarray], meta: Any) -> int | None:
    """The output to show top-K classes of: the only output, or the one with a label file in the
    metadata, shaped [1, N] or [N] with N >= 2 and numeric."""
    def fits(k: int) -> bool:
        v = values[k]
        return v.dtype.kind in "fiu" and (v.ndim == 1 or (v.ndim == 2 and v.shape[0] == 1)) and v.shape[-1] >= 2

    if len(outs) == 1:
        return 0 if fits(0) else None
    if meta is not None and meta.subgraphs and len(meta.subgraphs[0].outputs) == len(outs):
        for k in range(len(outs)):
            t = meta.tensor("output", k)
            if t is not None and t.files_of_type("TENSOR_AXIS_LABELS") and fits(k):
                try:
                    labels = meta.labels_for_output(k)
                except ValueError:
                    continue
                if labels is not None and len(labels) == values[k].shape[-1]:
                    return k
    return None


def _read_labels_file(path: str) -> list[str]:
    from numlite.metadata import parse_labels

    _check_file(path)
    try:
        with open(path, "rb") as f:
            return parse_labels(f.read())
    except OSError as e:
        raise CLIError(f"{path}: cannot read labels ({e.strerror or e})", BAD_INPUT) from None


def _top_k(d: dict[str, Any], v: np.ndarray, k: int, labels: list[str] | None, label_source: str | None,
           warnings: list[str]) -> dict[str, Any]:
    deq = _dequantize(d, v)
    scores = (deq if deq is not None else v.astype(np.float64)).reshape(-1)
    n = scores.size
    is_prob = bool(np.all(scores >= -1e-6) and np.all(scores <= 1 + 1e-6))
    if labels is not None and len(labels) != n:
        warnings.append(f"{len(labels)} labels ({label_source}) for {n} classes: labels are matched by index")
    idx = np.argsort(-scores, kind="stable")[:k]
    return {
        "output": d["name"], "output_index": int(d["index"]), "classes": n,
        "kind": "probability" if is_prob else "score",
        "dequantized_from": np.dtype(d["dtype"]).name if deq is not None else None,
        "labels": label_source,
        "top": [{"rank": r + 1, "class": int(i), "value": float(scores[i]),
                 "label": labels[i] if labels is not None and i < len(labels) else None}
                for r, i in enumerate(idx)],
    }


def _summary(v: np.ndarray) -> dict[str, Any]:
    if v.size == 0 or v.dtype.kind not in "biuf":
        return {}
    f = v.astype(np.float64)
    return {"min": float(f.min()), "max": float(f.max()), "mean": float(f.mean()), "std": float(f.std())}


# -- the command's function --------------------------------------------------------------------
def run_model(model: str, inputs: Sequence[Any] | Mapping[Any, Any] | None = None, *, threads: int = 1,
              labels: str | Sequence[str] | None = None, top: int = 5, runs: int = 1, seed: int = 0,
              image_range: tuple[float, float] | None = None, save: str | None = None) -> dict[str, Any]:
    """Run ``model`` once per ``runs`` and return what ``numlite run`` prints.

    ``inputs``: ``--input`` items (``"NAME=FILE"`` or ``"FILE"``), ``(name or position, value)``
    pairs, or a mapping name/position -> file path or array.  ``labels``: a labels file or a
    list of labels (default: the model's metadata).  Errors are :class:`CLIError` with the exit
    code (BAD_INPUT for a wrong input).  The result: ``model``, ``metadata`` (summary or None),
    ``inputs`` (name, index, dtype, shape, source, preprocessing, stats, and ``value``),
    ``outputs`` (the same, plus ``dequantized`` stats for quantized outputs), ``top_k`` (or
    None), ``timings`` (ms) and ``warnings``.
    """
    from numlite import PrepareError
    from numlite import metadata as md
    from numlite.errors import ModelError

    if threads < 1:
        raise CLIError("--threads must be >= 1", USAGE)
    if runs < 1:
        raise CLIError("--runs must be >= 1", USAGE)
    if top < 0:
        raise CLIError("--top must be >= 0", USAGE)
    warnings: list[str] = []
    label_list: list[str] | None = None
    label_source = None
    if isinstance(labels, str):
        label_list, label_source = _read_labels_file(labels), labels
    elif labels is not None:
        label_list, label_source = list(labels), "given"

    it = make_interpreter(model, threads)
    try:
        meta = md.read(it.model)
    except ModelError as e:
        meta = None
        warnings.append(f"ignoring the model's metadata: {e}")
    ins = it.get_input_details()
    names = [d["name"] for d in ins]
    aliases = {}  # the metadata's input names, where they describe the model's inputs one to one
    if meta is not None and meta.subgraphs and len(meta.subgraphs[0].inputs) == len(names):
        aliases = {t.name: k for k, t in enumerate(meta.subgraphs[0].inputs) if t.name and t.name not in names}
    given = _gather(inputs or [], names, aliases)

    values: dict[int, np.ndarray] = {}
    resized = []
    for g in given:
        d = ins[g.pos]
        if isinstance(g.value, np.ndarray):
            arr = _fit_array(d, g)
        else:
            arr = _image_to_input(d, g, meta.tensor("input", g.pos) if meta else None, image_range)
        values[g.pos] = arr
        if arr.shape != tuple(int(s) for s in d["shape"]):
            try:
                it.resize_tensor_input(d["index"], list(arr.shape))
            except (ValueError, RuntimeError) as e:
                raise CLIError(f"input '{d['name']}': shape {list(arr.shape)} from {g.source} does not fit the "
                               f"input {[int(s) for s in d['shape']]}: {e}", BAD_INPUT) from None
            resized.append(f"'{d['name']}' {[int(s) for s in d['shape']]} -> {list(arr.shape)}")
            g.notes.append(f"input resized from {[int(s) for s in d['shape']]}")
    try:
        it.allocate_tensors()
    except (PrepareError, ValueError, RuntimeError) as e:
        if not resized:
            raise
        raise CLIError(f"the model cannot take the given input shape(s) ({', '.join(resized)}): "
                       f"{str(e).splitlines()[0] if str(e) else type(e).__name__}", BAD_INPUT) from None
    ins = it.get_input_details()
    rng = np.random.default_rng(seed)
    sources = {g.pos: g for g in given}
    in_report = []
    for pos, d in enumerate(ins):
        g = sources.get(pos)
        if g is None:
            values[pos] = random_input(d, rng)
            g = _Given(pos, None, "random", [f"seeded random values (--seed {seed})"])
        try:
            it.set_tensor(d["index"], values[pos])
        except ValueError as e:
            raise CLIError(f"input '{d['name']}' from {g.source}: {e}", BAD_INPUT) from None
        in_report.append({"index": int(d["index"]), "name": d["name"], "dtype": np.dtype(d["dtype"]).name,
                          "shape": [int(s) for s in d["shape"]], "quantization": quant_str(d),
                          "source": g.source, "preprocessing": g.notes, "stats": _summary(values[pos]),
                          "value": values[pos], "detail": d})
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        it.invoke()
        times.append(time.perf_counter() - t0)
    outs = it.get_output_details()
    out_values = [it.get_tensor(d["index"]) for d in outs]
    out_report = []
    for d, v in zip(outs, out_values):
        deq = _dequantize(d, v)
        out_report.append({"index": int(d["index"]), "name": d["name"], "dtype": v.dtype.name,
                           "shape": list(v.shape), "quantization": quant_str(d), "stats": _summary(v),
                           "dequantized": _summary(deq) if deq is not None else None, "value": v, "detail": d})
    top_k = None
    k = _classifier_output(outs, out_values, meta)
    if k is not None and top > 0:
        lab, src = label_list, label_source
        if lab is None and meta is not None:
            try:
                lab = meta.labels_for_output(k)
            except ModelError as e:
                warnings.append(f"cannot read the model's labels: {e}")
            f = meta.tensor("output", k)
            src = f"the model's metadata ({f.label_file().name})" if lab is not None and f else None
        top_k = _top_k(outs[k], out_values[k], top, lab, src, warnings)
    elif label_list is not None:
        warnings.append("--labels given, but no output looks like a classifier's ([1, N] or [N], N >= 2)")
    if save:
        try:
            np.savez(save, **{f"output_{j}": v for j, v in enumerate(out_values)})
        except OSError as e:
            raise CLIError(f"{save}: cannot write ({e.strerror or e})", FAILED) from None
    meta_summary = None
    if meta is not None:
        meta_summary = {"name": meta.name, "description": meta.description, "version": meta.version,
                        "author": meta.author, "license": meta.license, "files": meta.files}
    return {
        "model": model, "threads": threads, "metadata": meta_summary, "inputs": in_report, "outputs": out_report,
        "top_k": top_k, "saved": save,
        "timings": {"runs": runs, "median_ms": statistics.median(times) * 1e3, "mean_ms": statistics.fmean(times) * 1e3,
                    "min_ms": min(times) * 1e3, "max_ms": max(times) * 1e3, "first_ms": times[0] * 1e3},
        "warnings": warnings, "_times": times,
    }


# -- the command -------------------------------------------------------------------------------
def _json_doc(r: dict[str, Any]) -> dict[str, Any]:
    def tensor(t: dict[str, Any], with_value: bool) -> dict[str, Any]:
        out = {k: v for k, v in t.items() if k not in ("value", "detail")}
        v = t["value"]
        if with_value and v.size <= JSON_VALUES_MAX:
            out["values"] = v.tolist() if v.dtype != object else [bytes(x).decode("utf-8", "replace")
                                                                   for x in v.reshape(-1)]
        return out

    doc = {k: v for k, v in r.items() if not k.startswith("_")}
    doc["inputs"] = [tensor(t, False) for t in r["inputs"]]
    doc["outputs"] = [tensor(t, True) for t in r["outputs"]]
    return doc


def _print_text(r: dict[str, Any]) -> None:
    m = r["metadata"]
    if m:
        extra = ", ".join(f"{k} {m[k]!r}" for k in ("version", "author", "license") if m[k])
        files = f", files: {', '.join(m['files'])}" if m["files"] else ""
        print(f"metadata: {m['name']!r}" + (f" ({extra})" if extra else "") + files)
    for t in r["inputs"]:
        print(f"input  {describe_io(t['detail'])}: {stats(t['value'])}")
        print(f"       <- {t['source']}" + (f": {'; '.join(t['preprocessing'])}" if t["preprocessing"] else ""))
    for t in r["outputs"]:
        v = t["value"]
        line = f"output {describe_io(t['detail'])} -> shape {list(v.shape)} {v.dtype.name}: {stats(v)}"
        if t["dequantized"]:
            dq = t["dequantized"]
            line += f" (dequantized: min={dq['min']:.6g} max={dq['max']:.6g} mean={dq['mean']:.6g})"
        print(line)
    tk = r["top_k"]
    if tk:
        what = "probabilities" if tk["kind"] == "probability" else "scores"
        deq = f", dequantized from {tk['dequantized_from']}" if tk["dequantized_from"] else ""
        lab = f"; labels from {tk['labels']}" if tk["labels"] else "; no labels (--labels FILE)"
        print(f"top-{len(tk['top'])} of output '{tk['output']}' ({tk['classes']} classes, {what}{deq}{lab}):")
        width = len(str(tk["classes"] - 1))
        for e in tk["top"]:
            label = f"  {e['label']}" if e["label"] is not None else ""
            print(f"  {e['rank']:>2}. {e['value']:.4f}  #{e['class']:<{width}}{label}".rstrip())
    t = r["timings"]
    print(f"invoke: median {ms(t['median_ms'] / 1e3)} over {t['runs']} run(s), {r['threads']} thread(s)"
          + (f" (min {ms(t['min_ms'] / 1e3)}, first {ms(t['first_ms'] / 1e3)})" if t["runs"] > 1 else ""))
    if r["saved"]:
        print(f"saved {len(r['outputs'])} output(s) to {r['saved']} (output_0, output_1, ...)")


def command(args: argparse.Namespace) -> int:
    r = run_model(args.model, args.input, threads=args.threads, labels=args.labels, top=args.top, runs=args.runs,
                  seed=args.seed, image_range=_parse_range(getattr(args, "image_range", None)), save=args.save)
    for w in r["warnings"]:
        print(f"numlite run: warning: {w}", file=sys.stderr)
    if args.json:
        print_json(_json_doc(r))
    else:
        _print_text(r)
    return 0
