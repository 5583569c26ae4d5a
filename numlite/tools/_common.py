"""What every ``numlite`` subcommand shares: exit codes, one-line errors, loading, JSON, extras.

Exit codes (the same for every subcommand, and in ``--help``):

    0  success
    1  the model ran into an error (a node failed to prepare or to run), or an internal error
    2  bad usage (unknown option, bad value: argparse's code)
    3  the model file cannot be used: missing, a directory, unreadable, not a TFLite file,
       truncated or corrupt
    4  the model has operators numlite cannot run (all of them are named)
    5  a given input is wrong: a missing or unreadable file, an image of the wrong kind, a
       wrong shape or dtype for the model's input
    6  an optional dependency (an extra) is missing: the message names the extra to install

A subcommand raises :class:`CLIError` (or lets numlite's own errors through);
:func:`guarded` turns any of them into one line on stderr and the exit code, never a
traceback (``NUMLITE_DEBUG=1`` prints the traceback as well).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

OK, FAILED, USAGE, BAD_MODEL, UNSUPPORTED, BAD_INPUT, MISSING_EXTRA = 0, 1, 2, 3, 4, 5, 6

EXIT_CODES_HELP = """exit codes:
  0  success
  1  the model failed to prepare or run (or an internal error)
  2  bad usage
  3  the model file is missing, a directory, not a TFLite file, truncated or corrupt
  4  the model has operators numlite cannot run
  5  a given input is wrong (missing or unreadable file, wrong image, shape or dtype)
  6  an optional dependency is missing (the message names the extra)"""


class CLIError(Exception):
    """An error to report as one line, with the exit code to return."""

    def __init__(self, message: str, code: int = FAILED):
        super().__init__(message)
        self.code = code


def _one_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).strip().splitlines() if ln.strip()]
    if not lines:
        return "unknown error"
    return lines[0] if len(lines) == 1 else lines[0] + " " + "; ".join(lines[1:])


def classify(e: BaseException) -> tuple[int, str]:
    """(exit code, one-line message) for an exception raised while a subcommand runs."""
    import numlite

    if isinstance(e, CLIError):
        return e.code, _one_line(str(e))
    if isinstance(e, numlite.UnsupportedOpError):
        return UNSUPPORTED, _one_line(str(e))
    if isinstance(e, numlite.ModelError):
        return BAD_MODEL, _one_line(str(e))
    if isinstance(e, numlite.PrepareError):
        return FAILED, _one_line(str(e))
    if isinstance(e, MemoryError):
        return FAILED, "out of memory"
    return FAILED, f"{type(e).__name__}: {_one_line(str(e))}"


def guarded(command: str, func: Callable[[Any], int], args: Any) -> int:
    """Run ``func(args)``; report any error as ``numlite COMMAND: error: ...`` on one line."""
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print(f"numlite {command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `numlite inspect m.tflite | head`
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keep Python quiet at exit
        except OSError:
            pass
        return OK
    except Exception as e:  # noqa: BLE001 - every error becomes one line and an exit code
        code, message = classify(e)
        print(f"numlite {command}: error: {message}", file=sys.stderr)
        if os.environ.get("NUMLITE_DEBUG"):
            traceback.print_exc()
        return code


# -- models ------------------------------------------------------------------------------------
def check_readable_file(path: str, code: int, kind: str) -> None:
    """Fail with ``code`` for a path that is missing, a directory or unreadable (``kind``: what
    the file should have been, for the message)."""
    if not os.path.exists(path):
        raise CLIError(f"{path}: no such file", code)
    if os.path.isdir(path):
        raise CLIError(f"{path}: is a directory, not {kind}", code)
    if not os.access(path, os.R_OK):
        raise CLIError(f"{path}: cannot be read (permission denied)", code)


def check_model_path(path: str) -> None:
    """Fail with BAD_MODEL for a path that cannot be a model file (before numlite reads it)."""
    check_readable_file(path, BAD_MODEL, "a .tflite file")


def load_model(path: str) -> Any:
    """``numlite.load_model`` with the CLI's errors."""
    import numlite

    check_model_path(path)
    try:
        return numlite.load_model(model_path=path)
    except ValueError as e:  # ModelError is a ValueError; so is "Could not open"
        raise CLIError(f"{path}: {_one_line(str(e))}", BAD_MODEL) from None


def make_interpreter(path: str, threads: int = 1, **kwargs: Any) -> Any:
    """A ``numlite.Interpreter`` for ``path`` with the CLI's errors (custom ops of the opt-in
    ``numlite.custom`` modules are enabled: a command line user wants the model to run)."""
    import numlite

    check_model_path(path)
    kwargs.setdefault("custom_ops", optional_custom_ops())
    try:
        return numlite.Interpreter(model_path=path, num_threads=threads, **kwargs)
    except numlite.UnsupportedOpError:
        raise
    except ValueError as e:
        raise CLIError(f"{path}: {_one_line(str(e))}", BAD_MODEL) from None


def optional_custom_ops() -> dict[str, type]:
    """Every custom op numlite ships (MediaPipe's, Smart Reply's), for the command line."""
    from numlite.tools.ops_table import shipped_custom_ops

    return {name: cls for _, name, cls in shipped_custom_ops()}


# -- output ------------------------------------------------------------------------------------
def to_jsonable(obj: Any) -> Any:
    """NumPy scalars and arrays (and bytes) made JSON-serialisable, recursively."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    if isinstance(obj, type) and issubclass(obj, np.generic):
        return np.dtype(obj).name
    if isinstance(obj, np.dtype):
        return obj.name
    if isinstance(obj, float) and not np.isfinite(obj):
        return None if np.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


def print_json(obj: Any) -> None:
    print(json.dumps(to_jsonable(obj), indent=2, sort_keys=False))


def optional_import(module: str, extra: str, package: str | None = None) -> Any:
    """Import an optional dependency, or fail with MISSING_EXTRA naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise CLIError(f"this needs {package or module}, which is not installed: "
                       f"pip install 'numlite[{extra}]'", MISSING_EXTRA) from None


def quant_str(d: dict[str, Any]) -> str:
    qp = d.get("quantization_parameters") or {}
    scales = qp.get("scales")
    if scales is None or len(scales) == 0:
        return "float" if np.issubdtype(np.dtype(d["dtype"]), np.floating) else "-"
    if len(scales) == 1:
        return f"scale={float(scales[0]):.6g} zero_point={int(qp['zero_points'][0])}"
    return f"per-channel ({len(scales)} scales, axis {qp.get('quantized_dimension', 0)})"


def describe_io(d: dict[str, Any]) -> str:
    shape = list(int(v) for v in d["shape"])
    sig = list(int(v) for v in d.get("shape_signature", d["shape"]))
    dyn = f" signature={sig}" if sig != shape else ""
    return f"#{d['index']} '{d['name']}' {np.dtype(d['dtype']).name}{shape}{dyn} {quant_str(d)}"


def random_input(detail: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    """A seeded random value for one input: floats in [-1, 1], integers over the type's range
    (for quantized inputs: the quantized image of [-1, 1]), booleans half true, strings short
    random lowercase words."""
    dtype = np.dtype(detail["dtype"])
    shape = tuple(int(v) for v in detail["shape"])
    if dtype == np.bool_:
        return rng.random(shape) > 0.5
    if np.issubdtype(dtype, np.floating):
        return rng.uniform(-1.0, 1.0, shape).astype(dtype)
    if np.issubdtype(dtype, np.integer):
        scale, zp = detail.get("quantization", (0.0, 0))
        info = np.iinfo(dtype)
        if scale:
            q = np.round(rng.uniform(-1.0, 1.0, shape) / scale) + zp
            return np.clip(q, info.min, info.max).astype(dtype)
        lo, hi = max(info.min, -100), min(info.max, 100)
        return rng.integers(lo, hi + 1, shape).astype(dtype)
    if dtype.kind in "SO":  # strings: short random lowercase words
        letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", np.uint8)
        words = [bytes(letters[rng.integers(0, 26, rng.integers(1, 9))]) for _ in range(int(np.prod(shape)))]
        out = np.empty(len(words), object)
        out[:] = words
        return out.reshape(shape)
    raise ValueError(f"cannot make a random input of type {dtype}")


def stats(a: np.ndarray) -> str:
    if a.size == 0:
        return "empty"
    if a.dtype == np.bool_:
        return f"true={int(a.sum())}/{a.size}"
    if a.dtype == object:  # strings
        first = ", ".join(repr(v) for v in a.reshape(-1)[:3])
        return f"strings: {first}{', ...' if a.size > 3 else ''}"
    f = a.astype(np.float64)
    return f"min={f.min():.6g} max={f.max():.6g} mean={f.mean():.6g} std={f.std():.6g}"


def top5(probs: np.ndarray) -> list[tuple[int, float]]:
    flat = probs.reshape(-1)
    idx = np.argsort(-flat, kind="stable")[:5]
    return [(int(i), float(flat[i])) for i in idx]


def mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def write_whole(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all: a ``.partial`` file renamed over it."""
    tmp = path + ".partial"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def image_pixels(img: Any, width: int, height: int, mode: str) -> np.ndarray:
    """PIL image ``img`` as float64 pixels 0..255 [height, width, channels]: converted to colour
    ``mode`` ("L", "RGB", "RGBA") and resized bilinearly where it differs (float64: quantizing the
    values afterwards must not move ties)."""
    if img.mode != mode:
        img = img.convert(mode)
    if img.size != (width, height):
        img = img.resize((width, height), optional_import("PIL.Image", "image", "Pillow").BILINEAR)
    return np.asarray(img, np.float64).reshape(height, width, len(mode))
