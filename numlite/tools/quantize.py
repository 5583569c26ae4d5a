"""``numlite quantize MODEL.tflite -o OUT.tflite --mode float16|dynamic|int8``: post-training
quantization of a float .tflite file.

Modes: ``float16`` (float32 constants as float16 behind DEQUANTIZE:
``numlite.quantize_weights.quantize_float16``), ``dynamic`` (int8 weights of CONV_2D /
DEPTHWISE_CONV_2D / FULLY_CONNECTED, float activations: ``quantize_dynamic_range``; options
``--min-elements``, ``--per-tensor``) and ``int8`` (full-integer, calibrated on
``--calibration data.npz``: one array per model input, in input order or by input name, first
axis = samples; ``--io int8|uint8|float32``: ``numlite.quantize.quantize_model``, which knows
the ops of the conv nets numlite writes).  The file is written whole or not at all; a model
with nothing to quantize (already quantized), a calibration set of the wrong shape or dtype,
empty or with NaN are one-line errors (exit code 5 for the calibration data, 1 otherwise).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ._common import BAD_INPUT, CLIError, check_model_path, write_whole


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("quantize", help="post-training quantization: float16, dynamic-range or int8",
                       description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a float .tflite file")
    p.add_argument("-o", "--output", required=True, help="the .tflite file to write")
    p.add_argument("--mode", choices=["float16", "dynamic", "int8"], default="int8")
    p.add_argument("--calibration", metavar="DATA.npz", help="int8: representative inputs (first axis = samples)")
    p.add_argument("--io", choices=["int8", "uint8", "float32"], default="int8", help="int8: the model's I/O type")
    p.add_argument("--per-tensor", action="store_true", help="one weight scale per tensor, not per channel")
    p.add_argument("--min-elements", type=int, default=1024,
                   help="dynamic: weights with fewer values stay float (default 1024, as TensorFlow's converter)")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    check_model_path(args.model)
    with open(args.model, "rb") as f:
        data = f.read()
    from numlite.quantize import QuantizationError

    try:
        out = quantize_bytes(data, args)
    except QuantizationError as e:
        raise CLIError(f"cannot quantize {args.model}: {e}") from None
    write_whole(args.output, out)
    print(f"wrote {args.output}: {args.mode}, {len(data) / 1e6:.2f} MB -> {len(out) / 1e6:.2f} MB")
    return 0


def quantize_bytes(data: bytes, args: argparse.Namespace) -> bytes:
    from numlite.quantize_weights import quantize_dynamic_range, quantize_float16

    if args.mode == "float16":
        return quantize_float16(data)
    if args.mode == "dynamic":
        return quantize_dynamic_range(data, min_elements=args.min_elements, per_channel=not args.per_tensor)
    from numlite.quantize import quantize_model

    samples = calibration_samples(data, args.calibration)
    return quantize_model(data, samples, io_dtype=np.dtype(args.io), per_channel=not args.per_tensor)


def calibration_samples(model: bytes, path: str | None) -> list[list[np.ndarray]]:
    """The samples of ``path`` (.npz) for the model's inputs, checked: shapes (after the sample
    axis) and dtypes must be the inputs', at least one sample, no NaN or infinity."""
    if not path:
        raise CLIError("--mode int8 needs --calibration DATA.npz (representative inputs)", BAD_INPUT)
    import numlite

    details = numlite.Interpreter(model_content=model).get_input_details()
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays: dict[str, Any] = {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
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
    for d, a in zip(details, ordered):
        want = tuple(int(s) for s in d["shape"][1:]) if len(d["shape"]) else ()
        if a.ndim == 0 or tuple(a.shape[1:]) != want and tuple(a.shape[1:]) != tuple(d["shape"]):
            raise CLIError(f"calibration data for input {d['name']!r}: shape {list(a.shape)}, expected "
                           f"[samples, {', '.join(map(str, d['shape'][1:]))}] (samples on the first axis)", BAD_INPUT)
        if np.dtype(a.dtype) != np.dtype(d["dtype"]):
            raise CLIError(f"calibration data for input {d['name']!r}: dtype {a.dtype}, the input is "
                           f"{np.dtype(d['dtype'])}", BAD_INPUT)
        if not np.all(np.isfinite(a)):
            raise CLIError(f"calibration data for input {d['name']!r} has NaN or infinite values", BAD_INPUT)
        if n is not None and a.shape[0] != n:
            raise CLIError("calibration arrays have different sample counts", BAD_INPUT)
        n = a.shape[0]
    if not n:
        raise CLIError(f"calibration data {path} has no samples", BAD_INPUT)
    return [[a[k].reshape(d["shape"]) for a, d in zip(ordered, details)] for k in range(n)]
