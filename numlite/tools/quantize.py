"""``numlite quantize MODEL.tflite -o OUT.tflite --mode float16|dynamic|int8|int16x8``: post-training
quantization of a float .tflite file.

Modes: ``float16`` (float32 constants as float16 behind DEQUANTIZE:
``numlite.quantize_weights.quantize_float16``), ``dynamic`` (int8 weights, float activations: the hybrid kernels
of CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED, the LSTM and RNN ops, SVDF, BATCH_MATMUL,
EMBEDDING_LOOKUP, and int8 constants behind DEQUANTIZE for the rest: ``quantize_dynamic_range``;
options ``--min-elements``, ``--per-tensor``, ``--weight-only``), ``int8`` (full-integer) and ``int16x8`` (int16
activations, int8 weights, int64 biases), both calibrated (``numlite.quantize.quantize_model``).

Calibration (``--calibration``, needed by int8 / int16x8 and by ``--report``):

1. ``DATA.npz``: one array per model input, by input name or in input order, first axis =
   samples.
2. A folder of images (PNG / JPEG / BMP, via Pillow: the ``image`` extra), in name order, for a
   one-input image model ``[1, H, W, C]``: converted to RGB (grayscale for C = 1), resized to
   H x W (bilinear), then ``(pixel - mean) / std`` per channel.  The default mean / std are the
   model's metadata NormalizationOptions when it has them, else mean 0, std 255 (pixels scaled
   to [0, 1]); ``--mean`` / ``--std`` (one value, or one per channel) override, e.g.
   ``--mean 127.5 --std 127.5`` for [-1, 1].

``--num-samples N`` takes the first N samples.  A progress bar (tqdm, the ``progress`` extra;
else a counter) runs on stderr while calibrating when stderr is a terminal, unless ``--quiet``.

``--io``: the model's input / output type: int8 (default) | uint8 | float32 for int8, int16
(default) | float32 for int16x8.  ``--float-ops SOFTMAX,12,name``: ops kept in float32 (op
names, node indices, output tensor names); ``--allow-float``: every op the mode cannot quantize
stays float32 instead of being an error.  ``--report`` prints, per tensor, the calibrated range,
scale, zero point and the error against the float model (RMSE, max abs error, SNR) on the
calibration samples, for every subgraph (the tensors of WHILE bodies and IF branches over every
iteration and call; an ``sg`` column and a line naming the subgraphs when the model has more than
one); ``--report-json FILE`` writes the same rows as JSON (each with ``subgraph`` and
``subgraph_name``).

The files are written whole or not at all; a model that is already quantized, an unsupported
op, a calibration set of the wrong shape or dtype, empty or with NaN are one-line errors (exit
code 5 for the calibration data, 2 for options that do not fit the mode, 1 otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from ._common import BAD_INPUT, USAGE, CLIError, check_model_path, image_pixels, optional_import, write_whole

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
IO_CHOICES = {"int8": ("int8", "uint8", "float32"), "int16x8": ("int16", "float32")}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("quantize", help="post-training quantization: float16, dynamic-range, int8 or int16x8",
                       description=__doc__.split("\n\n")[0], epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a float .tflite file")
    p.add_argument("-o", "--output", required=True, help="the .tflite file to write")
    p.add_argument("--mode", choices=["float16", "dynamic", "int8", "int16x8"], default="int8")
    p.add_argument("--calibration", metavar="DATA.npz|DIR",
                   help="representative inputs: an .npz (first axis = samples) or a folder of images")
    p.add_argument("--num-samples", type=int, metavar="N", help="use the first N calibration samples")
    p.add_argument("--mean", type=float, nargs="+", metavar="M",
                   help="images: subtracted from the pixels 0..255 (default: the model's metadata, else 0)")
    p.add_argument("--std", type=float, nargs="+", metavar="S",
                   help="images: the pixels are divided by it after --mean (default: the metadata's, else 255)")
    p.add_argument("--io", choices=["int8", "uint8", "int16", "float32"],
                   help="int8 / int16x8: the model's I/O type (default: int8, int16)")
    p.add_argument("--per-tensor", action="store_true", help="one weight scale per tensor, not per channel")
    p.add_argument("--min-elements", type=int, default=1024,
                   help="dynamic: weights with fewer values stay float (default 1024, as TensorFlow's converter)")
    p.add_argument("--weight-only", choices=["fallback", "none", "all"], default=None,
                   help="dynamic: weights of ops with no hybrid kernel (TRANSPOSE_CONV, GATHER, a recurrent op "
                   "whose weights only partly pass --min-elements) as int8 behind DEQUANTIZE (fallback, the "
                   "default, as TensorFlow's converter), left float32 (none), or every weight that way and no "
                   "hybrid kernel (all)")
    p.add_argument("--float-ops", metavar="LIST",
                   help="int8 / int16x8: ops kept in float32, comma-separated op names, node indices or tensor names")
    p.add_argument("--allow-float", action="store_true",
                   help="int8 / int16x8: keep ops the mode cannot quantize in float32 instead of failing")
    p.add_argument("--report", action="store_true",
                   help="print per-tensor ranges, parameters and errors (every subgraph)")
    p.add_argument("--report-json", metavar="FILE", help="write the per-tensor report as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no notes on stderr")
    p.set_defaults(func=command)


def _check_options(args: argparse.Namespace) -> None:
    full = args.mode in IO_CHOICES
    if args.io is not None and not full:
        raise CLIError(f"--io applies to --mode int8 / int16x8, not {args.mode}", USAGE)
    if full and args.io is not None and args.io not in IO_CHOICES[args.mode]:
        raise CLIError(f"--io {args.io} does not fit --mode {args.mode} (choose {' or '.join(IO_CHOICES[args.mode])})",
                       USAGE)
    if args.weight_only is not None and args.mode != "dynamic":
        raise CLIError(f"--weight-only applies to --mode dynamic, not {args.mode}", USAGE)
    if not full and (args.float_ops or args.allow_float):
        raise CLIError(f"--float-ops / --allow-float apply to --mode int8 / int16x8, not {args.mode}", USAGE)
    if args.num_samples is not None and args.num_samples < 1:
        raise CLIError("--num-samples must be at least 1", USAGE)
    if (full or args.report or args.report_json) and not args.calibration:
        why = f"--mode {args.mode}" if full else "--report"
        raise CLIError(f"{why} needs --calibration DATA.npz or an image folder (representative inputs)", BAD_INPUT)


def command(args: argparse.Namespace) -> int:
    check_model_path(args.model)
    _check_options(args)
    with open(args.model, "rb") as f:
        data = f.read()
    from numlite.quantize import QuantizationError

    samples = None
    if args.calibration:
        samples = calibration_samples(data, args.calibration, num_samples=args.num_samples, mean=args.mean,
                                      std=args.std, quiet=args.quiet)
    try:
        out = quantize_bytes(data, args, samples)
        rows = None
        if args.report or args.report_json:
            from numlite.quantize_report import quantization_report

            rows = quantization_report(data, out, progress(samples, "report", args.quiet))
    except QuantizationError as e:
        raise CLIError(f"cannot quantize {args.model}: {e}") from None
    write_whole(args.output, out)
    if args.report_json:
        from numlite.quantize_report import report_json

        text = json.dumps({"model": args.model, "output": args.output, "mode": args.mode,
                           "samples": len(samples or ()), "tensors": report_json(rows or [])}, indent=1)
        try:
            write_whole(args.report_json, (text + "\n").encode())
        except OSError:
            os.remove(args.output)  # the model and its report, or neither
            raise
    print(f"wrote {args.output}: {args.mode}, {len(data) / 1e6:.2f} MB -> {len(out) / 1e6:.2f} MB")
    if args.report:
        from numlite.quantize_report import format_report

        print(format_report(rows or []))
    return 0


def quantize_bytes(data: bytes, args: argparse.Namespace, samples: list[list[np.ndarray]] | None = None) -> bytes:
    from numlite.quantize_weights import quantize_dynamic_range, quantize_float16

    if args.mode == "float16":
        return quantize_float16(data)
    if args.mode == "dynamic":
        return quantize_dynamic_range(data, min_elements=args.min_elements, per_channel=not args.per_tensor,
                                      weight_only=args.weight_only or "fallback")
    from numlite.quantize import quantize_model

    if samples is None:
        samples = calibration_samples(data, args.calibration)
    float_ops = [int(s) if s.strip().isdigit() else s.strip() for s in (args.float_ops or "").split(",") if s.strip()]
    io = np.dtype(args.io) if args.io else None
    return quantize_model(data, progress(samples, "calibrating", getattr(args, "quiet", True)), mode=args.mode,
                          io_dtype=io, per_channel=not args.per_tensor, float_ops=float_ops,
                          allow_float=args.allow_float)


def progress(items: list[Any], desc: str, quiet: bool) -> Iterable[Any]:
    """``items``, with a progress bar on stderr while they are consumed: tqdm's when it is
    installed, else a ``desc k/n`` counter; none when stderr is not a terminal or ``quiet``."""
    if quiet or not sys.stderr.isatty():
        return items
    try:
        from tqdm import tqdm
    except ImportError:
        return _counter(items, desc)
    return tqdm(items, desc=desc, total=len(items), unit="sample", file=sys.stderr, leave=False)


def _counter(items: list[Any], desc: str) -> Iterator[Any]:
    n = len(items)
    try:
        for k, item in enumerate(items):
            sys.stderr.write(f"\r{desc} {k + 1}/{n}")
            sys.stderr.flush()
            yield item
    finally:
        sys.stderr.write("\r" + " " * (len(desc) + 2 * len(str(n)) + 2) + "\r")
        sys.stderr.flush()


def calibration_samples(model: bytes, path: str | None, *, num_samples: int | None = None,
                        mean: list[float] | None = None, std: list[float] | None = None,
                        quiet: bool = True) -> list[list[np.ndarray]]:
    """The samples of ``path`` (.npz, or a folder of images) for the model's inputs, checked:
    shapes (after the sample axis) and dtypes must be the inputs', at least one sample, no NaN
    or infinity."""
    if not path:
        raise CLIError("--mode int8 needs --calibration DATA.npz (representative inputs)", BAD_INPUT)
    import numlite

    details = numlite.Interpreter(model_content=model).get_input_details()
    if os.path.isdir(path):
        return _image_samples(model, path, details, num_samples, mean, std, quiet)
    if mean is not None or std is not None:
        raise CLIError("--mean / --std apply to a folder of images, not to an .npz", USAGE)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays: dict[str, Any] = {k: z[k] for k in z.files}
    except (OSError, ValueError, AttributeError) as e:
        raise CLIError(f"cannot read calibration data {path}: {e}", BAD_INPUT) from None
    names = [d["name"] for d in details]
    if all(n in arrays for n in names):
        ordered = [arrays[n] for n in names]
    elif len(arrays) == len(details):
        ordered = list(arrays.values())
    else:
        raise CLIError(f"calibration data {path} has arrays {sorted(arrays)}; the model's inputs are {names} "
                       f"(give one array per input, by name or in order)", BAD_INPUT)
    n = None
    whole_batch = []  # per input: each sample is a whole input (batch axis included), else one row
    for d, a in zip(details, ordered):
        sig = [int(s) for s in d["shape_signature"]]
        expected = ", ".join("any" if s < 0 else str(s) for s in sig[1:])

        def fits(dims: tuple[int, ...], sig: list[int] = sig) -> bool:  # free dimensions (-1) take any size
            return len(dims) == len(sig) and all(s < 0 or s == x for s, x in zip(sig, dims))

        row = a.ndim >= 1 and len(sig) >= 1 and fits((1, *a.shape[1:])) and (sig[0] < 0 or sig[0] == 1)
        whole = a.ndim >= 1 and fits(tuple(a.shape[1:]))
        if not (row or whole):
            raise CLIError(f"calibration data for input {d['name']!r}: shape {list(a.shape)}, expected "
                           f"[samples, {expected}] (samples on the first axis)", BAD_INPUT)
        whole_batch.append(whole and not row)
        if np.dtype(a.dtype) != np.dtype(d["dtype"]):
            raise CLIError(f"calibration data for input {d['name']!r}: dtype {a.dtype}, the input is "
                           f"{np.dtype(d['dtype'])}", BAD_INPUT)
        if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
            raise CLIError(f"calibration data for input {d['name']!r} has NaN or infinite values", BAD_INPUT)
        if n is not None and a.shape[0] != n:
            raise CLIError(f"calibration arrays have different sample counts ({n} and {a.shape[0]} for "
                           f"{d['name']!r})", BAD_INPUT)
        n = a.shape[0]
    if not n:
        raise CLIError(f"calibration data {path} has no samples", BAD_INPUT)
    n = min(n, num_samples or n)
    return [[a[k] if whole else a[k][None] for a, whole in zip(ordered, whole_batch)] for k in range(n)]


def _normalization(model: bytes, c: int, mean: list[float] | None, std: list[float] | None
                   ) -> tuple[np.ndarray, np.ndarray, str]:
    """(mean, std, where they come from) for image pixels 0..255."""
    from numlite import metadata

    try:
        meta = metadata.read(model)
        t = meta.subgraphs[0].inputs[0] if meta and meta.subgraphs and meta.subgraphs[0].inputs else None
    except Exception:  # noqa: BLE001 - unreadable metadata: fall back to the default
        t = None
    if t is not None and t.mean and t.std:
        dmean, dstd, how = list(t.mean), list(t.std), "the model's metadata normalization"
    else:
        dmean, dstd, how = [0.0], [255.0], "the default, pixels to [0, 1]: the model has no normalization metadata"
    if mean is not None or std is not None:
        how = "--mean / --std" if mean is not None and std is not None else f"--mean / --std, else {how}"
    mean = mean if mean is not None else dmean
    std = std if std is not None else dstd
    for name, v in (("--mean", mean), ("--std", std)):
        if len(v) not in (1, c):
            raise CLIError(f"{name} takes 1 or {c} values (one per channel), got {len(v)}", USAGE)
    if any(s == 0 for s in std):
        raise CLIError("--std must not be 0", USAGE)
    return np.asarray(mean, np.float64), np.asarray(std, np.float64), how


def _image_samples(model: bytes, folder: str, details: list[dict[str, Any]], num_samples: int | None,
                   mean: list[float] | None, std: list[float] | None, quiet: bool) -> list[list[np.ndarray]]:
    if len(details) != 1:
        raise CLIError(f"a folder of images calibrates a one-input model; this one has {len(details)} inputs "
                       f"(give an .npz)", BAD_INPUT)
    d = details[0]
    shape = [int(s) for s in d["shape"]]
    if len(shape) != 4 or shape[0] != 1 or shape[3] not in (1, 3) or np.dtype(d["dtype"]).kind != "f":
        raise CLIError(f"input {d['name']!r} {np.dtype(d['dtype']).name}{shape} does not take images "
                       "([1, H, W, C] float with C = 1 or 3); give an .npz", BAD_INPUT)
    _, h, w, c = shape
    files = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXTENSIONS))
    if not files:
        raise CLIError(f"calibration folder {folder} has no images ({', '.join(IMAGE_EXTENSIONS)})", BAD_INPUT)
    files = files[:num_samples or len(files)]
    m, s, how = _normalization(model, c, mean, std)
    pil = optional_import("PIL.Image", "image", "Pillow")
    mode = "RGB" if c == 3 else "L"
    samples = []
    for name in files:
        p = os.path.join(folder, name)
        try:
            with pil.open(p) as img:
                pixels = image_pixels(img, w, h, mode)
        except Exception as e:  # noqa: BLE001 - UnidentifiedImageError, truncated file, ...
            raise CLIError(f"calibration image {p}: cannot read it: {e}", BAD_INPUT) from None
        samples.append([((pixels - m) / s).astype(np.dtype(d["dtype"]))[None]])
    if not quiet:
        print(f"calibration: {len(samples)} images from {folder}, resized to {w}x{h} {mode}, "
              f"(pixel - {m.tolist()}) / {s.tolist()} ({how})", file=sys.stderr)
    return samples
