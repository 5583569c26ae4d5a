"""FlexBuffers, as custom operators' ``custom_options`` carry them, decoded safely.

TensorFlow's converter, MediaPipe and LiteRT's own custom kernels (TFLite_Detection_PostProcess,
Mfcc, AudioSpectrogram) write a custom op's attributes as a FlexBuffers map.  The ``flatbuffers``
package (a runtime dependency already) parses the format; this module walks what it parses with
limits, because a model file is untrusted: FlexBuffers values refer to each other by offset, so a
few hundred hostile bytes can describe a vector whose elements all point at one vector whose
elements all point at one vector ... - billions of values when expanded naively, as
``flexbuffers.Loads`` would.  Here at most ``MAX_VALUES`` values are produced and nesting stops at
``MAX_DEPTH``; anything the parser rejects, and any such limit, is a :class:`FlexError`.

    >>> from flatbuffers import flexbuffers
    >>> decode_map(bytes(flexbuffers.Dumps({"stride": 2, "mode": "fast"})))
    {'mode': 'fast', 'stride': 2}
"""

from __future__ import annotations

from typing import Any

MAX_VALUES = 100_000
MAX_DEPTH = 32


class FlexError(ValueError):
    """The bytes are not a FlexBuffers value numlite can decode (the message says why)."""


def decode(data: bytes) -> Any:
    """The FlexBuffers value in ``data`` as Python values: dict (map; keys are str), list
    (vectors of any kind), int, float, bool, str (strings and keys), bytes (blobs), None."""
    from flatbuffers import flexbuffers

    budget = [MAX_VALUES]

    def walk(ref: Any, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise FlexError(f"more than {MAX_VALUES} values")
        if ref.IsMap:
            if depth >= MAX_DEPTH:
                raise FlexError(f"nested deeper than {MAX_DEPTH} levels")
            m = ref.AsMap
            keys, values = m.Keys, m.Values
            n = len(keys)
            if n != len(values):
                raise FlexError(f"a map has {n} keys but {len(values)} values")
            if n > budget[0]:
                raise FlexError(f"a map claims {n} entries")
            return {_key(keys[i]): walk(values[i], depth + 1) for i in range(n)}
        if ref.IsVector or ref.IsTypedVector or ref.IsFixedTypedVector:
            if depth >= MAX_DEPTH:
                raise FlexError(f"nested deeper than {MAX_DEPTH} levels")
            v = ref.AsVector if ref.IsVector else ref.AsTypedVector if ref.IsTypedVector else ref.AsFixedTypedVector
            n = len(v)
            if n > budget[0]:
                raise FlexError(f"a vector claims {n} elements")
            return [walk(v[i], depth + 1) for i in range(n)]
        if ref.IsKey:
            return _key(ref)
        if ref.IsString:
            raw = ref.AsStringBytes if hasattr(ref, "AsStringBytes") else None
            return raw.decode("utf-8", "replace") if raw is not None else ref.AsString
        if ref.IsBlob:
            return bytes(ref.AsBlob)
        if ref.IsNull or ref.IsBool or ref.IsInt or ref.IsFloat:
            return ref.Value
        raise FlexError(f"unknown FlexBuffers type {ref._type}")  # noqa: SLF001 - the parser's field

    try:
        return walk(flexbuffers.GetRoot(bytearray(data)), 0)
    except FlexError:
        raise
    except RecursionError:
        raise FlexError("nested too deeply") from None
    except Exception as e:  # noqa: BLE001 - the parser raises many kinds on hostile bytes
        raise FlexError(f"malformed FlexBuffers data ({type(e).__name__}: {e})") from None


def decode_map(data: bytes) -> dict[str, Any]:
    """:func:`decode` for ``custom_options``, which must hold a map."""
    value = decode(data)
    if not isinstance(value, dict):
        raise FlexError(f"expected a FlexBuffers map, found {type(value).__name__}")
    return value


def encode(value: dict[str, Any]) -> bytes:
    """FlexBuffers bytes for ``value`` (for writing custom ops' options: tests, converter)."""
    from flatbuffers import flexbuffers

    return bytes(flexbuffers.Dumps(value))


def _key(ref: Any) -> str:
    return ref.AsKeyBytes.decode("utf-8", "replace")
