"""TFLite's string tensors: the buffer format, and how numlite holds them.

A STRING tensor's bytes (a constant's buffer, or what LiteRT's C API exchanges) are:

1. ``n``: the number of strings, a little-endian int32;
2. ``n + 1`` little-endian int32 offsets, each counted from the start of the buffer: string
   ``i`` is ``buf[offset[i]:offset[i + 1]]``, and ``offset[n]`` is the end of the data;
3. the strings' bytes, back to back (no terminators, no alignment).

numlite holds a string tensor as a NumPy object array of ``bytes`` (what LiteRT's
``get_tensor`` returns), never in the arena. ``decode`` verifies every count and offset
against the buffer before reading, so a malformed buffer is a :class:`~numlite.ModelError`
naming the tensor, never a read outside the buffer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .errors import ModelError

STRING_DTYPE = np.dtype(object)


def encode(values: Iterable[Any]) -> bytes:
    """The TFLite buffer of ``values`` (``bytes``, or ``str`` encoded as UTF-8), in order."""
    items = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in values]
    n = len(items)
    offsets = np.empty(n + 1, "<i4")
    pos = 4 * (n + 2)
    for i, s in enumerate(items):
        offsets[i] = pos
        pos += len(s)
    offsets[n] = pos
    if pos > np.iinfo(np.int32).max:
        raise ValueError(f"string tensor data of {pos} bytes does not fit TFLite's int32 offsets")
    return np.array([n], "<i4").tobytes() + offsets.tobytes() + b"".join(items)


def decode(buf: Any, count: int, where: str) -> np.ndarray:
    """The ``count`` strings of a TFLite string buffer as a read-only 1-D object array.

    Raises ModelError when the buffer is shorter than its header, holds a number of strings other
    than ``count``, or has offsets that decrease or point outside it."""
    raw = memoryview(buf).cast("B") if not isinstance(buf, (bytes, bytearray)) else memoryview(buf)
    size = len(raw)
    if size < 4:
        raise ModelError(f"corrupt model: {where} is a string tensor whose buffer has {size} bytes, "
                         "fewer than its 4-byte string count")
    n = int(np.frombuffer(raw[:4], "<i4")[0])
    if n != count:
        raise ModelError(f"corrupt model: {where} is a string tensor of {count} elements, but its buffer "
                         f"holds {n} strings")
    header = 4 * (n + 2)
    if size < header:
        raise ModelError(f"corrupt model: {where} string buffer of {size} bytes is shorter than the "
                         f"{header}-byte header its {n} strings need")
    offsets = np.frombuffer(raw[4:header], "<i4").astype(np.int64)
    if offsets.size and (offsets[0] < header or offsets[-1] > size or (np.diff(offsets) < 0).any()):
        raise ModelError(f"corrupt model: {where} string buffer has offsets outside its {size} bytes "
                         f"(or decreasing): first {int(offsets[0])}, last {int(offsets[-1])}")
    data = bytes(raw)
    out = np.empty(n, STRING_DTYPE)
    for i in range(n):
        out[i] = data[offsets[i]:offsets[i + 1]]
    out.flags.writeable = False
    return out


def as_string_array(value: Any, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """``value`` (arrays or nested sequences of ``bytes`` / ``str``, or a NumPy ``S``/``U`` array) as
    an object array of ``bytes``; TypeError for anything else (numbers are not strings)."""
    arr = np.asarray(value, dtype=object) if not isinstance(value, np.ndarray) else value
    if arr.dtype.kind == "S":
        out = np.empty(arr.shape, STRING_DTYPE)
        if arr.size:
            out.reshape(-1)[:] = [bytes(v) for v in arr.reshape(-1)]
        return out
    if arr.dtype.kind not in "OU":
        raise TypeError(f"expected strings (bytes or str), got an array of {arr.dtype.name}")
    flat = arr.reshape(-1)
    out = np.empty(arr.shape, STRING_DTYPE)
    conv = []
    for k, v in enumerate(flat):
        if isinstance(v, bytes):
            conv.append(v)
        elif isinstance(v, str):
            try:
                conv.append(v.encode("utf-8"))
            except UnicodeEncodeError as e:  # lone surrogates (e.g. decoded with surrogateescape)
                # a plain ValueError, as LiteRT's (PyUnicode_AsUTF8AndSize() failed), not UnicodeError
                raise ValueError(f"string element {k} ({v[:20]!r}) cannot be encoded as UTF-8: {e.reason} at "
                                 f"position {e.start}; pass bytes for data that is not text") from None
        elif isinstance(v, (bytearray, np.bytes_)):
            conv.append(bytes(v))
        else:
            raise TypeError(f"expected strings (bytes or str), got an element of type {type(v).__name__}")
    if flat.size:
        out.reshape(-1)[:] = conv
    return out
